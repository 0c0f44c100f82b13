//! Shopify payloads and their mapping to the SDK's records.
//!
//! Orders, products and refunds arrive in two shapes: GraphQL nodes when syncing and REST-shaped JSON in
//! webhooks. Both are read into one neutral form first (`OrderIn`, `ProductIn`, `RefundIn`, …) and only
//! that form is mapped to records, so the same state read either way is the same record, which the daemon
//! then recognises as a duplicate.

use crate::api::numeric_id;
use crate::money::{self, money, parse_minor};
use crate::time::parse_ms;
use creatorflow_plugin_sdk::prelude::*;
use serde::Deserialize;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------------------
// GraphQL shapes.

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GMoney {
    pub amount: String,
    #[serde(default)]
    pub currency_code: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GSet {
    pub shop_money: GMoney,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GId {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GPageInfo {
    pub has_next_page: bool,
    #[serde(default)]
    pub end_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GEdge<T> {
    pub node: T,
}

/// A connection; `pageInfo` is required, so an answer without it is not taken for a complete page.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GConn<T> {
    pub edges: Vec<GEdge<T>>,
    pub page_info: GPageInfo,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GLineRef {
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub variant: Option<GId>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GLine {
    pub id: String,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub name: String,
    pub quantity: i64,
    #[serde(default)]
    pub variant: Option<GId>,
    pub original_unit_price_set: GSet,
    pub total_discount_set: GSet,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GRefundLine {
    pub quantity: i64,
    #[serde(default)]
    pub restock_type: String,
    pub line_item: GLineRef,
    pub subtotal_set: GSet,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GRefund {
    pub id: String,
    pub created_at: String,
    #[serde(default)]
    pub note: Option<String>,
    pub total_refunded_set: GSet,
    pub refund_line_items: GConn<GRefundLine>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GTracking {
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub number: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GFulfillmentLine {
    pub quantity: i64,
    pub line_item: GLineRef,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GFulfillment {
    pub id: String,
    pub created_at: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub display_status: Option<String>,
    #[serde(default)]
    pub delivered_at: Option<String>,
    #[serde(default)]
    pub tracking_info: Vec<GTracking>,
    pub fulfillment_line_items: GConn<GFulfillmentLine>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GCustomer {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GOrder {
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub cancelled_at: Option<String>,
    #[serde(default)]
    pub display_financial_status: Option<String>,
    #[serde(default)]
    pub display_fulfillment_status: String,
    pub currency_code: String,
    #[serde(default)]
    pub taxes_included: bool,
    pub total_discounts_set: GSet,
    pub total_shipping_price_set: GSet,
    pub total_tax_set: GSet,
    pub total_price_set: GSet,
    #[serde(default)]
    pub customer: Option<GCustomer>,
    pub line_items: GConn<GLine>,
    #[serde(default)]
    pub refunds: Vec<GRefund>,
    #[serde(default)]
    pub fulfillments: Vec<GFulfillment>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GVariant {
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub sku: Option<String>,
    pub price: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GProduct {
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    pub updated_at: String,
    pub variants: GConn<GVariant>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GQuantity {
    pub name: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GLevel {
    pub location: GId,
    pub quantities: Vec<GQuantity>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GItem {
    pub id: String,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default = "yes")]
    pub tracked: bool,
    #[serde(default)]
    pub variant: Option<GId>,
    pub inventory_levels: GConn<GLevel>,
}

fn yes() -> bool {
    true
}

// ---------------------------------------------------------------------------------------------------------
// The neutral form both shapes are read into.

#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    pub raw: String,
    pub currency: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LineIn {
    pub id: String,
    pub sku: Option<String>,
    pub variant_id: Option<String>,
    pub title: String,
    pub quantity: i64,
    pub unit: Amount,
    pub discount: Amount,
}

#[derive(Debug, Clone)]
pub struct RefundLineIn {
    pub sku: Option<String>,
    pub variant_id: Option<String>,
    pub quantity: i64,
    /// Upper case: RETURN, LEGACY_RESTOCK, CANCEL, NO_RESTOCK.
    pub restock_type: String,
    pub subtotal: Amount,
}

#[derive(Debug, Clone)]
pub struct RefundIn {
    pub id: String,
    pub order_id: String,
    pub created_at: String,
    pub note: Option<String>,
    pub amount: Amount,
    pub lines: Vec<RefundLineIn>,
}

#[derive(Debug, Clone)]
pub struct FulfillmentIn {
    pub id: String,
    pub order_id: String,
    pub created_at: String,
    pub delivered_at: Option<String>,
    /// Upper case: SUCCESS, CANCELLED, …
    pub status: String,
    /// Lower case: in_transit, delivered, fulfilled, …
    pub shipment_status: String,
    pub company: Option<String>,
    pub number: Option<String>,
    /// (sku, variant id, quantity).
    pub lines: Vec<(Option<String>, Option<String>, i64)>,
}

#[derive(Debug, Clone)]
pub struct OrderIn {
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    pub cancelled: bool,
    /// Upper case, as GraphQL writes it.
    pub financial: String,
    pub fulfillment: String,
    pub currency: String,
    pub taxes_included: bool,
    pub discounts: Amount,
    pub shipping: Amount,
    pub tax: Amount,
    pub total: Amount,
    pub customer_id: Option<String>,
    pub lines: Vec<LineIn>,
    pub refunds: Vec<RefundIn>,
    pub fulfillments: Vec<FulfillmentIn>,
}

#[derive(Debug, Clone)]
pub struct VariantIn {
    pub id: String,
    pub title: String,
    pub sku: Option<String>,
    pub price: String,
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub struct ProductIn {
    pub id: String,
    pub title: String,
    pub status: String,
    pub vendor: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: String,
    pub variants: Vec<VariantIn>,
}

fn num(field: &str, raw: &str) -> Result<String, PluginError> {
    numeric_id(raw)
        .ok_or_else(|| PluginError::Upstream(format!("{field}: {raw:?} is not a Shopify id")))
}

fn opt_num(raw: Option<&str>) -> Option<String> {
    raw.and_then(numeric_id)
}

fn gset(s: &GSet) -> Amount {
    Amount {
        raw: s.shop_money.amount.clone(),
        currency: s.shop_money.currency_code.clone(),
    }
}

impl GOrder {
    pub fn into_neutral(self) -> Result<OrderIn, PluginError> {
        let id = num("order id", &self.id)?;
        let lines = self
            .line_items
            .edges
            .into_iter()
            .map(|e| {
                let l = e.node;
                Ok(LineIn {
                    id: num(&format!("order {id} line item id"), &l.id)?,
                    sku: l.sku,
                    variant_id: opt_num(l.variant.as_ref().map(|v| v.id.as_str())),
                    title: l.name,
                    quantity: l.quantity,
                    unit: gset(&l.original_unit_price_set),
                    discount: gset(&l.total_discount_set),
                })
            })
            .collect::<Result<Vec<_>, PluginError>>()?;
        let refunds = self
            .refunds
            .into_iter()
            .map(|r| {
                Ok(RefundIn {
                    id: num(&format!("order {id} refund id"), &r.id)?,
                    order_id: id.clone(),
                    created_at: r.created_at,
                    note: r.note,
                    amount: gset(&r.total_refunded_set),
                    lines: r
                        .refund_line_items
                        .edges
                        .into_iter()
                        .map(|e| RefundLineIn {
                            sku: e.node.line_item.sku,
                            variant_id: opt_num(
                                e.node.line_item.variant.as_ref().map(|v| v.id.as_str()),
                            ),
                            quantity: e.node.quantity,
                            restock_type: e.node.restock_type.to_ascii_uppercase(),
                            subtotal: gset(&e.node.subtotal_set),
                        })
                        .collect(),
                })
            })
            .collect::<Result<Vec<_>, PluginError>>()?;
        let fulfillments = self
            .fulfillments
            .into_iter()
            .map(|f| {
                let tracking = f.tracking_info.into_iter().next();
                Ok(FulfillmentIn {
                    id: num(&format!("order {id} fulfillment id"), &f.id)?,
                    order_id: id.clone(),
                    created_at: f.created_at,
                    delivered_at: f.delivered_at,
                    shipment_status: match f.display_status {
                        Some(d) if !d.is_empty() => d.to_ascii_lowercase(),
                        _ if f.status.eq_ignore_ascii_case("SUCCESS") => "fulfilled".to_owned(),
                        _ => f.status.to_ascii_lowercase(),
                    },
                    status: f.status.to_ascii_uppercase(),
                    company: tracking.as_ref().and_then(|t| t.company.clone()),
                    number: tracking.and_then(|t| t.number),
                    lines: f
                        .fulfillment_line_items
                        .edges
                        .into_iter()
                        .map(|e| {
                            (
                                e.node.line_item.sku,
                                opt_num(e.node.line_item.variant.as_ref().map(|v| v.id.as_str())),
                                e.node.quantity,
                            )
                        })
                        .collect(),
                })
            })
            .collect::<Result<Vec<_>, PluginError>>()?;
        Ok(OrderIn {
            customer_id: opt_num(self.customer.as_ref().map(|c| c.id.as_str())),
            created_at: self.created_at,
            updated_at: self.updated_at,
            cancelled: self.cancelled_at.is_some(),
            financial: self
                .display_financial_status
                .unwrap_or_default()
                .to_ascii_uppercase(),
            fulfillment: self.display_fulfillment_status.to_ascii_uppercase(),
            currency: self.currency_code,
            taxes_included: self.taxes_included,
            discounts: gset(&self.total_discounts_set),
            shipping: gset(&self.total_shipping_price_set),
            tax: gset(&self.total_tax_set),
            total: gset(&self.total_price_set),
            id,
            lines,
            refunds,
            fulfillments,
        })
    }
}

impl GProduct {
    pub fn into_neutral(self) -> Result<ProductIn, PluginError> {
        let id = num("product id", &self.id)?;
        let variants = self
            .variants
            .edges
            .into_iter()
            .map(|e| {
                Ok(VariantIn {
                    id: num(&format!("product {id} variant id"), &e.node.id)?,
                    title: e.node.title,
                    sku: e.node.sku,
                    price: e.node.price,
                    updated_at: e.node.updated_at,
                })
            })
            .collect::<Result<Vec<_>, PluginError>>()?;
        Ok(ProductIn {
            id,
            title: self.title,
            status: self.status.to_ascii_lowercase(),
            vendor: self.vendor.filter(|v| !v.is_empty()),
            created_at: self.created_at,
            updated_at: self.updated_at,
            variants,
        })
    }
}

// ---------------------------------------------------------------------------------------------------------
// REST shapes (webhooks).

/// An id that may arrive as a JSON number or string.
pub fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => numeric_id(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RMoney {
    pub amount: String,
    #[serde(default)]
    pub currency_code: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RSet {
    pub shop_money: RMoney,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RLine {
    pub id: Value,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    pub quantity: i64,
    #[serde(default)]
    pub price: Option<String>,
    #[serde(default)]
    pub total_discount: Option<String>,
    #[serde(default)]
    pub variant_id: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RRefundLine {
    pub quantity: i64,
    #[serde(default)]
    pub restock_type: Option<String>,
    #[serde(default)]
    pub subtotal: Option<String>,
    #[serde(default)]
    pub subtotal_set: Option<RSet>,
    #[serde(default)]
    pub line_item: Option<RLine>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RTransaction {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub status: Option<String>,
    pub amount: String,
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RRefund {
    pub id: Value,
    pub order_id: Value,
    pub created_at: String,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub refund_line_items: Vec<RRefundLine>,
    #[serde(default)]
    pub transactions: Vec<RTransaction>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RFulfillment {
    pub id: Value,
    pub order_id: Value,
    #[serde(default)]
    pub status: Option<String>,
    pub created_at: String,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub shipment_status: Option<String>,
    #[serde(default)]
    pub tracking_company: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub line_items: Vec<RLine>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RCustomer {
    pub id: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ROrder {
    pub id: Value,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub cancelled_at: Option<String>,
    #[serde(default)]
    pub financial_status: Option<String>,
    #[serde(default)]
    pub fulfillment_status: Option<String>,
    pub currency: String,
    #[serde(default)]
    pub taxes_included: Option<bool>,
    pub total_discounts: String,
    pub total_tax: String,
    pub total_price: String,
    #[serde(default)]
    pub total_shipping_price_set: Option<RSet>,
    #[serde(default)]
    pub customer: Option<RCustomer>,
    pub line_items: Vec<RLine>,
    #[serde(default)]
    pub refunds: Vec<RRefund>,
    #[serde(default)]
    pub fulfillments: Vec<RFulfillment>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RVariant {
    pub id: Value,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub sku: Option<String>,
    pub price: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RProduct {
    pub id: Value,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    pub updated_at: String,
    #[serde(default)]
    pub variants: Vec<RVariant>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RInventoryLevel {
    pub inventory_item_id: Value,
}

fn rid(field: &str, v: &Value) -> Result<String, PluginError> {
    id_of(Some(v)).ok_or_else(|| PluginError::InvalidInput(format!("{field}: {v} is not an id")))
}

fn amount(raw: &str, currency: Option<&str>) -> Amount {
    Amount {
        raw: raw.to_owned(),
        currency: currency.map(str::to_owned),
    }
}

impl RRefund {
    pub fn into_neutral(self, currency: Option<&str>) -> Result<RefundIn, PluginError> {
        let id = rid("refund id", &self.id)?;
        let order_id = rid(&format!("refund {id} order_id"), &self.order_id)?;
        // The money refunded is what the successful refund transactions moved.
        let mut total = 0i64;
        let mut cur: Option<String> = currency.map(str::to_owned);
        let mut parts = Vec::new();
        for t in &self.transactions {
            if t.kind != "refund" || t.status.as_deref().is_some_and(|s| s != "success") {
                continue;
            }
            if cur.is_none() {
                cur.clone_from(&t.currency);
            }
            parts.push(t.amount.clone());
        }
        let lines: Vec<RefundLineIn> = self
            .refund_line_items
            .into_iter()
            .map(|l| {
                if cur.is_none() {
                    cur = l
                        .subtotal_set
                        .as_ref()
                        .and_then(|s| s.shop_money.currency_code.clone());
                }
                RefundLineIn {
                    sku: l.line_item.as_ref().and_then(|li| li.sku.clone()),
                    variant_id: l
                        .line_item
                        .as_ref()
                        .and_then(|li| id_of(li.variant_id.as_ref())),
                    quantity: l.quantity,
                    restock_type: l.restock_type.unwrap_or_default().to_ascii_uppercase(),
                    subtotal: amount(
                        l.subtotal.as_deref().unwrap_or("0"),
                        l.subtotal_set
                            .as_ref()
                            .and_then(|s| s.shop_money.currency_code.as_deref()),
                    ),
                }
            })
            .collect();
        let currency = cur.ok_or_else(|| {
            PluginError::InvalidInput(format!("refund {id}: no currency in the payload"))
        })?;
        for p in &parts {
            total = total
                .checked_add(parse_minor(
                    &format!("refund {id} transaction amount"),
                    p,
                    &currency,
                )?)
                .ok_or_else(|| {
                    PluginError::InvalidInput(format!("refund {id}: amount overflows"))
                })?;
        }
        Ok(RefundIn {
            id,
            order_id,
            created_at: self.created_at,
            note: self.note,
            amount: Amount {
                raw: minor_to_decimal(total, &currency),
                currency: Some(currency),
            },
            lines,
        })
    }
}

/// Minor units back to a decimal string in `currency` (for amounts the connector adds up itself).
fn minor_to_decimal(minor: i64, currency: &str) -> String {
    let exp = money::exponent(currency);
    if exp == 0 {
        return minor.to_string();
    }
    let div = 10i64.pow(exp);
    let sign = if minor < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:0width$}",
        minor.abs() / div,
        minor.abs() % div,
        width = exp as usize
    )
}

impl RFulfillment {
    pub fn into_neutral(self) -> Result<FulfillmentIn, PluginError> {
        let id = rid("fulfillment id", &self.id)?;
        let status = self.status.unwrap_or_default().to_ascii_uppercase();
        let shipment_status = match self.shipment_status.as_deref() {
            Some(s) if !s.is_empty() => s.to_ascii_lowercase(),
            _ if status == "SUCCESS" => "fulfilled".to_owned(),
            _ => status.to_ascii_lowercase(),
        };
        Ok(FulfillmentIn {
            order_id: rid(&format!("fulfillment {id} order_id"), &self.order_id)?,
            created_at: self.created_at,
            delivered_at: (shipment_status == "delivered")
                .then_some(self.updated_at)
                .flatten(),
            status,
            shipment_status,
            company: self.tracking_company,
            number: self.tracking_number,
            lines: self
                .line_items
                .into_iter()
                .map(|l| (l.sku, id_of(l.variant_id.as_ref()), l.quantity))
                .collect(),
            id,
        })
    }
}

/// REST's lower-case statuses in GraphQL's words.
fn rest_fulfillment_status(raw: Option<&str>) -> String {
    match raw {
        None | Some("") | Some("null") => "UNFULFILLED".to_owned(),
        Some("partial") => "PARTIALLY_FULFILLED".to_owned(),
        Some(other) => other.to_ascii_uppercase(),
    }
}

impl ROrder {
    pub fn into_neutral(self) -> Result<OrderIn, PluginError> {
        let id = rid("order id", &self.id)?;
        let cur = self.currency.clone();
        let lines = self
            .line_items
            .into_iter()
            .map(|l| {
                Ok(LineIn {
                    id: rid(&format!("order {id} line item id"), &l.id)?,
                    sku: l.sku,
                    variant_id: id_of(l.variant_id.as_ref()),
                    title: l.name.or(l.title).unwrap_or_default(),
                    quantity: l.quantity,
                    unit: amount(l.price.as_deref().unwrap_or("0"), Some(&cur)),
                    discount: amount(l.total_discount.as_deref().unwrap_or("0"), Some(&cur)),
                })
            })
            .collect::<Result<Vec<_>, PluginError>>()?;
        let refunds = self
            .refunds
            .into_iter()
            .map(|r| r.into_neutral(Some(&cur)))
            .collect::<Result<Vec<_>, _>>()?;
        let fulfillments = self
            .fulfillments
            .into_iter()
            .map(RFulfillment::into_neutral)
            .collect::<Result<Vec<_>, _>>()?;
        let shipping = self.total_shipping_price_set.as_ref().map_or_else(
            || amount("0", Some(&cur)),
            |s| amount(&s.shop_money.amount, s.shop_money.currency_code.as_deref()),
        );
        Ok(OrderIn {
            customer_id: self.customer.as_ref().and_then(|c| id_of(Some(&c.id))),
            created_at: self.created_at,
            updated_at: self.updated_at,
            cancelled: self.cancelled_at.is_some(),
            financial: self
                .financial_status
                .unwrap_or_default()
                .to_ascii_uppercase(),
            fulfillment: rest_fulfillment_status(self.fulfillment_status.as_deref()),
            taxes_included: self.taxes_included.unwrap_or(false),
            discounts: amount(&self.total_discounts, Some(&cur)),
            shipping,
            tax: amount(&self.total_tax, Some(&cur)),
            total: amount(&self.total_price, Some(&cur)),
            currency: cur,
            id,
            lines,
            refunds,
            fulfillments,
        })
    }
}

impl RProduct {
    pub fn into_neutral(self) -> Result<ProductIn, PluginError> {
        let id = rid("product id", &self.id)?;
        let variants = self
            .variants
            .into_iter()
            .map(|v| {
                Ok(VariantIn {
                    id: rid(&format!("product {id} variant id"), &v.id)?,
                    title: v.title,
                    sku: v.sku,
                    price: v.price,
                    updated_at: v.updated_at,
                })
            })
            .collect::<Result<Vec<_>, PluginError>>()?;
        Ok(ProductIn {
            id,
            title: self.title,
            status: self.status.to_ascii_lowercase(),
            vendor: self.vendor.filter(|v| !v.is_empty()),
            created_at: self.created_at,
            updated_at: self.updated_at,
            variants,
        })
    }
}

// ---------------------------------------------------------------------------------------------------------
// Records.

/// The SKU a line or variant is known by: its SKU, or the variant's id when it has none.
pub fn sku_key(sku: Option<&str>, variant_id: Option<&str>) -> Option<String> {
    sku.map(str::trim)
        .filter(|s| !s.is_empty())
        .or(variant_id.filter(|v| !v.is_empty()))
        .map(str::to_owned)
}

fn minor(field: &str, a: &Amount, currency: &str) -> Result<i64, PluginError> {
    if let Some(c) = a.currency.as_deref().filter(|c| !c.is_empty())
        && c != currency
    {
        return Err(PluginError::Upstream(format!(
            "{field}: {c} differs from the order's {currency}"
        )));
    }
    parse_minor(field, &a.raw, currency)
}

/// Where an order stands. A cancellation wins; then shipping decides (delivered once every successful
/// fulfilment is delivered); an unshipped order is unpaid while its payment is pending.
pub fn status(o: &OrderIn) -> OrderStatus {
    if o.cancelled {
        return OrderStatus::Cancelled;
    }
    match o.fulfillment.as_str() {
        "FULFILLED" => {
            let shipped: Vec<&FulfillmentIn> = o
                .fulfillments
                .iter()
                .filter(|f| f.status == "SUCCESS")
                .collect();
            if !shipped.is_empty() && shipped.iter().all(|f| f.shipment_status == "delivered") {
                OrderStatus::Delivered
            } else {
                OrderStatus::InTransit
            }
        }
        "PARTIALLY_FULFILLED" => OrderStatus::PartiallyShipped,
        "ON_HOLD" => OrderStatus::OnHold,
        _ => match o.financial.as_str() {
            "PENDING" | "EXPIRED" | "VOIDED" | "" => OrderStatus::Unpaid,
            _ => OrderStatus::AwaitingShipment,
        },
    }
}

fn raw_status(o: &OrderIn) -> String {
    let both = format!("{}/{}", o.financial, o.fulfillment);
    if o.cancelled {
        format!("CANCELLED/{both}")
    } else {
        both
    }
}

/// The order, then its shipments and refunds (which the daemon stores against the order, so they follow it).
///
/// The subtotal is the sum of the lines before discounts; the discount is Shopify's `totalDiscounts`
/// (line and order discounts, shipping discounts included), and
/// `total = subtotal − discount + shipping + tax` must hold exactly, or the order is refused naming it.
/// When the shop's prices include tax, the tax is inside the line prices and is recorded as 0 here.
pub fn order_records(o: &OrderIn) -> Result<Vec<SyncRecord>, PluginError> {
    let id = &o.id;
    let field = |name: &str| format!("order {id} {name}");
    let cur = money::currency(&field("currencyCode"), &o.currency)?;
    if o.lines.is_empty() {
        return Err(PluginError::Upstream(format!(
            "order {id}: no line items; cannot map an order without lines"
        )));
    }
    let overflow = |what: &str| PluginError::Upstream(format!("{}: overflow", field(what)));
    let mut lines = Vec::with_capacity(o.lines.len());
    let mut subtotal: i64 = 0;
    for l in &o.lines {
        let f = |name: &str| format!("order {id} line item {} {name}", l.id);
        let Some(sku) = sku_key(l.sku.as_deref(), l.variant_id.as_deref()) else {
            return Err(PluginError::Upstream(format!(
                "{}: a custom line item without SKU or variant cannot be mapped to stock",
                f("sku")
            )));
        };
        let unit = minor(&f("originalUnitPrice"), &l.unit, &cur)?;
        let discount = minor(&f("totalDiscount"), &l.discount, &cur)?;
        subtotal = l
            .quantity
            .checked_mul(unit)
            .and_then(|a| subtotal.checked_add(a))
            .ok_or_else(|| overflow("subtotal"))?;
        lines.push(OrderLine {
            external_id: l.id.clone(),
            sku,
            product_id: None,
            variant_id: l.variant_id.clone(),
            title: if l.title.is_empty() {
                l.id.clone()
            } else {
                l.title.clone()
            },
            quantity: l.quantity,
            unit_price: money(unit, &cur),
            discount: money(discount, &cur),
            tax: money(0, &cur),
            condition: None,
        });
    }
    let discount = minor(&field("totalDiscounts"), &o.discounts, &cur)?;
    let shipping = minor(&field("totalShippingPrice"), &o.shipping, &cur)?;
    let tax = if o.taxes_included {
        0
    } else {
        minor(&field("totalTax"), &o.tax, &cur)?
    };
    let total = minor(&field("totalPrice"), &o.total, &cur)?;
    let expected = subtotal
        .checked_sub(discount)
        .and_then(|v| v.checked_add(shipping))
        .and_then(|v| v.checked_add(tax))
        .ok_or_else(|| overflow("total"))?;
    if expected != total {
        return Err(PluginError::Upstream(format!(
            "{}: {} but line items − discounts + shipping + tax = {expected} minor units",
            field("totalPrice"),
            o.total.raw
        )));
    }
    let mut out = vec![SyncRecord::Order(Order {
        external_id: id.clone(),
        status: status(o),
        raw_status: raw_status(o),
        customer_id: o.customer_id.clone(),
        created_at: parse_ms(&field("createdAt"), &o.created_at)?,
        updated_at: parse_ms(&field("updatedAt"), &o.updated_at)?,
        currency: cur.clone(),
        lines,
        subtotal: money(subtotal, &cur),
        discount: money(discount, &cur),
        shipping: money(shipping, &cur),
        tax: money(tax, &cur),
        fees: money(0, &cur),
        total: money(total, &cur),
    })];
    for f in &o.fulfillments {
        out.push(SyncRecord::Shipment(shipment(f)?));
    }
    for r in &o.refunds {
        if let Some(refund) = refund(r, &cur)? {
            out.push(SyncRecord::Refund(refund));
        }
    }
    Ok(out)
}

pub fn shipment(f: &FulfillmentIn) -> Result<Shipment, PluginError> {
    let field = |name: &str| format!("fulfillment {} {name}", f.id);
    let lines = f
        .lines
        .iter()
        .filter_map(|(sku, variant, q)| {
            sku_key(sku.as_deref(), variant.as_deref())
                .map(|sku| ShipmentLine { sku, quantity: *q })
        })
        .collect();
    Ok(Shipment {
        external_id: f.id.clone(),
        order_id: f.order_id.clone(),
        carrier: f.company.clone().filter(|c| !c.is_empty()),
        tracking_number: f.number.clone().filter(|n| !n.is_empty()),
        status: f.shipment_status.clone(),
        shipped_at: Some(parse_ms(&field("createdAt"), &f.created_at)?),
        delivered_at: match &f.delivered_at {
            Some(t) => Some(parse_ms(&field("deliveredAt"), t)?),
            None => None,
        },
        cost: None,
        lines,
    })
}

/// A refund: its money, plus the units that came back to stock (`RETURN` lines). Units refunded without
/// coming back (`NO_RESTOCK`) or never shipped (`CANCEL`, an order cancelled before shipping) are money
/// only, since the daemon books every line of a refund as returned or none. A refund of neither money nor
/// units records nothing.
pub fn refund(r: &RefundIn, order_currency: &str) -> Result<Option<Refund>, PluginError> {
    let field = |name: &str| format!("refund {} {name}", r.id);
    let amount = minor(&field("totalRefunded"), &r.amount, order_currency)?;
    let mut lines: Vec<RefundLine> = Vec::new();
    for l in &r.lines {
        if !matches!(l.restock_type.as_str(), "RETURN" | "LEGACY_RESTOCK") || l.quantity <= 0 {
            continue;
        }
        let Some(sku) = sku_key(l.sku.as_deref(), l.variant_id.as_deref()) else {
            continue;
        };
        let subtotal = minor(&field("line subtotal"), &l.subtotal, order_currency)?;
        match lines.iter_mut().find(|x| x.sku == sku) {
            Some(x) => {
                x.quantity += l.quantity;
                x.amount.minor += subtotal;
            }
            None => lines.push(RefundLine {
                sku,
                quantity: l.quantity,
                amount: money(subtotal, order_currency),
            }),
        }
    }
    if amount == 0 && lines.is_empty() {
        return Ok(None);
    }
    Ok(Some(Refund {
        external_id: r.id.clone(),
        order_id: r.order_id.clone(),
        created_at: parse_ms(&field("createdAt"), &r.created_at)?,
        amount: money(amount, order_currency),
        reason: r.note.clone().filter(|n| !n.is_empty()),
        restock: !lines.is_empty(),
        lines,
    }))
}

/// A product and one variant per Shopify variant. Variant prices are in the shop's currency.
pub fn product_records(p: &ProductIn, currency: &str) -> Result<Vec<SyncRecord>, PluginError> {
    let field = |name: &str| format!("product {} {name}", p.id);
    let cur = money::currency("shop currencyCode", currency)?;
    let updated_at = parse_ms(&field("updatedAt"), &p.updated_at)?;
    let created_at = match &p.created_at {
        Some(t) => Some(parse_ms(&field("createdAt"), t)?),
        None => None,
    };
    let title = if p.title.is_empty() {
        p.id.clone()
    } else {
        p.title.clone()
    };
    let mut out = Vec::with_capacity(p.variants.len() + 1);
    out.push(SyncRecord::Product(Product {
        external_id: p.id.clone(),
        title: title.clone(),
        status: p.status.clone(),
        vendor: p.vendor.clone(),
        created_at,
        updated_at,
    }));
    for v in &p.variants {
        let f = |name: &str| format!("product {} variant {} {name}", p.id, v.id);
        let Some(sku) = sku_key(v.sku.as_deref(), Some(&v.id)) else {
            return Err(PluginError::Upstream(format!(
                "{}: empty variant id",
                f("id")
            )));
        };
        out.push(SyncRecord::ProductVariant(ProductVariant {
            external_id: v.id.clone(),
            product_id: p.id.clone(),
            title: if v.title.is_empty() || v.title == "Default Title" {
                title.clone()
            } else {
                format!("{title} - {}", v.title)
            },
            sku,
            price: money(parse_minor(&f("price"), &v.price, &cur)?, &cur),
            cost: None,
            condition: None,
            barcode: None,
            updated_at: parse_ms(&f("updatedAt"), &v.updated_at)?,
        }));
    }
    Ok(out)
}

/// Stock levels of one inventory item, one per location; the main location is reported without a location
/// (the daemon's default location, where orders take stock from). Untracked items have no stock to report.
pub fn stock_records(item: &GItem, main_location: &str, observed_at: Timestamp) -> Vec<SyncRecord> {
    if !item.tracked {
        return Vec::new();
    }
    let variant = item.variant.as_ref().and_then(|v| numeric_id(&v.id));
    let Some(sku) = sku_key(item.sku.as_deref(), variant.as_deref()) else {
        return Vec::new();
    };
    let main = numeric_id(main_location);
    item.inventory_levels
        .edges
        .iter()
        .map(|e| {
            let q = |name: &str| {
                e.node
                    .quantities
                    .iter()
                    .find(|x| x.name == name)
                    .map(|x| x.quantity)
            };
            let location = numeric_id(&e.node.location.id);
            SyncRecord::Stock(StockLevel {
                sku: sku.clone(),
                location: if location == main { None } else { location },
                available: q("available").unwrap_or(0),
                on_hand: q("on_hand").filter(|n| *n >= 0),
                observed_at,
            })
        })
        .collect()
}
