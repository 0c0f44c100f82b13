//! TikTok Shop 202309 payloads and their mapping to the SDK's records.

use crate::money::{self, money, parse_minor, parse_opt};
use creatorflow_plugin_sdk::prelude::*;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct ApiPayment {
    pub currency: String,
    #[serde(default)]
    pub sub_total: Option<String>,
    #[serde(default)]
    pub shipping_fee: Option<String>,
    #[serde(default)]
    pub seller_discount: Option<String>,
    #[serde(default)]
    pub platform_discount: Option<String>,
    #[serde(default)]
    pub tax: Option<String>,
    pub total_amount: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiLineItem {
    pub id: String,
    #[serde(default)]
    pub sku_id: Option<String>,
    #[serde(default)]
    pub seller_sku: Option<String>,
    #[serde(default)]
    pub product_id: Option<String>,
    #[serde(default)]
    pub product_name: Option<String>,
    #[serde(default)]
    pub sku_name: Option<String>,
    pub sale_price: String,
    #[serde(default)]
    pub seller_discount: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiOrder {
    pub id: String,
    pub status: String,
    pub create_time: i64,
    pub update_time: i64,
    #[serde(default)]
    pub user_id: Option<String>,
    pub payment: ApiPayment,
    pub line_items: Vec<ApiLineItem>,
}

#[derive(Debug, Deserialize)]
pub struct OrderSearchData {
    pub orders: Vec<ApiOrder>,
    /// Required: a response without it is not a complete page.
    pub next_page_token: String,
}

#[derive(Debug, Deserialize)]
pub struct OrderDetailData {
    #[serde(default)]
    pub orders: Vec<ApiOrder>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiPrice {
    pub currency: String,
    pub sale_price: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiInventory {
    pub warehouse_id: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiSku {
    pub id: String,
    #[serde(default)]
    pub seller_sku: Option<String>,
    pub price: ApiPrice,
    #[serde(default)]
    pub inventory: Vec<ApiInventory>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiProduct {
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub create_time: Option<i64>,
    pub update_time: i64,
    #[serde(default)]
    pub skus: Vec<ApiSku>,
}

#[derive(Debug, Deserialize)]
pub struct ProductSearchData {
    pub products: Vec<ApiProduct>,
    pub next_page_token: String,
}

pub fn ms(field: &str, secs: i64) -> Result<Timestamp, PluginError> {
    secs.checked_mul(1000)
        .ok_or_else(|| PluginError::Upstream(format!("{field}: timestamp {secs} out of range")))
}

pub fn status(raw: &str) -> OrderStatus {
    match raw {
        "UNPAID" => OrderStatus::Unpaid,
        "ON_HOLD" => OrderStatus::OnHold,
        "AWAITING_SHIPMENT" => OrderStatus::AwaitingShipment,
        "PARTIALLY_SHIPPING" => OrderStatus::PartiallyShipped,
        "AWAITING_COLLECTION" => OrderStatus::AwaitingCollection,
        "IN_TRANSIT" => OrderStatus::InTransit,
        "DELIVERED" => OrderStatus::Delivered,
        "COMPLETED" => OrderStatus::Completed,
        "CANCELLED" => OrderStatus::Cancelled,
        _ => OrderStatus::Other,
    }
}

/// The SKU a line item or variant is known by: the seller's SKU, or TikTok's SKU id when it has none.
fn sku_key(seller_sku: Option<&str>, sku_id: Option<&str>) -> Option<String> {
    seller_sku
        .filter(|s| !s.is_empty())
        .or(sku_id.filter(|s| !s.is_empty()))
        .map(str::to_owned)
}

fn nonempty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Maps one order. TikTok sends one line item per unit; items are sorted by id and grouped by seller SKU
/// (and unit price, so a differently priced unit of the same SKU — a gift, a price change — gets its own line
/// and totals stay exact) into one order line whose quantity is the number of units, whose external id is the
/// first item's id and whose discount is the sum of the items' seller discounts.
///
/// The order-level discount is `seller_discount + platform_discount`; the subtotal is the sum of the lines,
/// which must equal `payment.sub_total`, and `total_amount` must equal subtotal − discount + shipping + tax:
/// an order that breaks this is refused with an error naming it rather than stored with wrong money.
pub fn to_order(o: ApiOrder) -> Result<Order, PluginError> {
    let id = o.id.clone();
    let field = |name: &str| format!("order {id} {name}");
    let cur = money::currency(&field("payment.currency"), &o.payment.currency)?;

    let mut items = o.line_items;
    items.sort_by(|a, b| a.id.cmp(&b.id));
    if items.is_empty() {
        return Err(PluginError::Upstream(format!(
            "order {id}: no line items; cannot map an order without lines"
        )));
    }

    struct Group {
        line: OrderLine,
    }
    let mut groups: Vec<Group> = Vec::new();
    for item in &items {
        let f = |name: &str| format!("order {id} line item {} {name}", item.id);
        if let Some(c) = item.currency.as_deref().filter(|c| !c.is_empty())
            && c != cur
        {
            return Err(PluginError::Upstream(format!(
                "{}: {c} differs from the order's {cur}",
                f("currency")
            )));
        }
        let Some(sku) = sku_key(item.seller_sku.as_deref(), item.sku_id.as_deref()) else {
            return Err(PluginError::Upstream(format!(
                "{}: line item has neither seller_sku nor sku_id",
                f("seller_sku")
            )));
        };
        let unit = parse_minor(&f("sale_price"), &item.sale_price, &cur)?;
        let discount = parse_opt(&f("seller_discount"), item.seller_discount.as_deref(), &cur)?;
        if let Some(g) = groups
            .iter_mut()
            .find(|g| g.line.sku == sku && g.line.unit_price.minor == unit)
        {
            g.line.quantity += 1;
            g.line.discount.minor = g
                .line
                .discount
                .minor
                .checked_add(discount)
                .ok_or_else(|| PluginError::Upstream(format!("{}: overflow", f("discount"))))?;
            continue;
        }
        let title = match (
            nonempty(item.product_name.as_deref()),
            nonempty(item.sku_name.as_deref()),
        ) {
            (Some(p), Some(s)) => format!("{p} - {s}"),
            (Some(p), None) => p,
            (None, Some(s)) => s,
            (None, None) => sku.clone(),
        };
        groups.push(Group {
            line: OrderLine {
                external_id: item.id.clone(),
                sku,
                product_id: nonempty(item.product_id.as_deref()),
                variant_id: nonempty(item.sku_id.as_deref()),
                title,
                quantity: 1,
                unit_price: money(unit, &cur),
                discount: money(discount, &cur),
                tax: money(0, &cur),
                condition: None,
            },
        });
    }
    let lines: Vec<OrderLine> = groups.into_iter().map(|g| g.line).collect();

    let overflow = |what: &str| PluginError::Upstream(format!("{}: overflow", field(what)));
    let mut subtotal: i64 = 0;
    for l in &lines {
        let amount = l
            .quantity
            .checked_mul(l.unit_price.minor)
            .ok_or_else(|| overflow("line amount"))?;
        subtotal = subtotal
            .checked_add(amount)
            .ok_or_else(|| overflow("subtotal"))?;
    }
    let p = &o.payment;
    if let Some(raw) = p.sub_total.as_deref() {
        let stated = parse_minor(&field("payment.sub_total"), raw, &cur)?;
        if stated != subtotal {
            return Err(PluginError::Upstream(format!(
                "{}: {raw} but the line items add up to {subtotal} minor units",
                field("payment.sub_total")
            )));
        }
    }
    let seller_discount = parse_opt(
        &field("payment.seller_discount"),
        p.seller_discount.as_deref(),
        &cur,
    )?;
    let platform_discount = parse_opt(
        &field("payment.platform_discount"),
        p.platform_discount.as_deref(),
        &cur,
    )?;
    let discount = seller_discount
        .checked_add(platform_discount)
        .ok_or_else(|| overflow("discount"))?;
    let shipping = parse_opt(
        &field("payment.shipping_fee"),
        p.shipping_fee.as_deref(),
        &cur,
    )?;
    let tax = parse_opt(&field("payment.tax"), p.tax.as_deref(), &cur)?;
    let total = parse_minor(&field("payment.total_amount"), &p.total_amount, &cur)?;
    let expected = subtotal
        .checked_sub(discount)
        .and_then(|v| v.checked_add(shipping))
        .and_then(|v| v.checked_add(tax))
        .ok_or_else(|| overflow("total"))?;
    if expected != total {
        return Err(PluginError::Upstream(format!(
            "{}: {} but sub_total − discounts + shipping + tax = {expected} minor units",
            field("payment.total_amount"),
            p.total_amount
        )));
    }

    Ok(Order {
        external_id: o.id.clone(),
        status: status(&o.status),
        raw_status: o.status.clone(),
        customer_id: nonempty(o.user_id.as_deref()),
        created_at: ms(&field("create_time"), o.create_time)?,
        updated_at: ms(&field("update_time"), o.update_time)?,
        currency: cur.clone(),
        lines,
        subtotal: money(subtotal, &cur),
        discount: money(discount, &cur),
        shipping: money(shipping, &cur),
        tax: money(tax, &cur),
        fees: money(0, &cur),
        total: money(total, &cur),
    })
}

fn product_status(raw: &str) -> String {
    match raw {
        "ACTIVATE" => "active".to_owned(),
        "DRAFT" => "draft".to_owned(),
        "DELETED" => "deleted".to_owned(),
        other => other.to_ascii_lowercase(),
    }
}

/// A product and one variant per SKU.
pub fn product_records(p: &ApiProduct) -> Result<Vec<SyncRecord>, PluginError> {
    let field = |name: &str| format!("product {} {name}", p.id);
    let updated_at = ms(&field("update_time"), p.update_time)?;
    let created_at = match p.create_time {
        Some(t) => Some(ms(&field("create_time"), t)?),
        None => None,
    };
    let title = if p.title.is_empty() {
        p.id.clone()
    } else {
        p.title.clone()
    };
    let mut out = Vec::with_capacity(p.skus.len() + 1);
    out.push(SyncRecord::Product(Product {
        external_id: p.id.clone(),
        title: title.clone(),
        status: product_status(&p.status),
        vendor: None,
        created_at,
        updated_at,
    }));
    for s in &p.skus {
        let f = |name: &str| format!("product {} sku {} {name}", p.id, s.id);
        let cur = money::currency(&f("price.currency"), &s.price.currency)?;
        let price = parse_minor(&f("price.sale_price"), &s.price.sale_price, &cur)?;
        let Some(sku) = sku_key(s.seller_sku.as_deref(), Some(&s.id)) else {
            return Err(PluginError::Upstream(format!("{}: empty sku id", f("id"))));
        };
        out.push(SyncRecord::ProductVariant(ProductVariant {
            external_id: s.id.clone(),
            product_id: p.id.clone(),
            title: format!("{title} - {sku}"),
            sku,
            price: money(price, &cur),
            cost: None,
            condition: None,
            barcode: None,
            updated_at,
        }));
    }
    Ok(out)
}

/// One stock level per SKU and warehouse.
/// Stock of every SKU per warehouse; the main warehouse is reported without a location (the daemon's
/// default location, where orders take stock from).
pub fn stock_records(
    p: &ApiProduct,
    observed_at: Timestamp,
    main_warehouse: &str,
) -> Vec<SyncRecord> {
    let mut out = Vec::new();
    for s in &p.skus {
        let Some(sku) = sku_key(s.seller_sku.as_deref(), Some(&s.id)) else {
            continue;
        };
        for inv in &s.inventory {
            out.push(SyncRecord::Stock(StockLevel {
                sku: sku.clone(),
                location: (inv.warehouse_id != main_warehouse).then(|| inv.warehouse_id.clone()),
                available: inv.quantity,
                on_hand: None,
                observed_at,
            }));
        }
    }
    out
}

/// Where a seller SKU lives at TikTok, for stock pushes.
#[derive(Debug, Clone)]
pub struct SkuLocation {
    pub product_id: String,
    pub sku_id: String,
    pub inventory: Vec<(String, i64)>,
}

pub fn sku_locations(p: &ApiProduct) -> Vec<(String, SkuLocation)> {
    p.skus
        .iter()
        .filter_map(|s| {
            let sku = sku_key(s.seller_sku.as_deref(), Some(&s.id))?;
            Some((
                sku,
                SkuLocation {
                    product_id: p.id.clone(),
                    sku_id: s.id.clone(),
                    inventory: s
                        .inventory
                        .iter()
                        .map(|i| (i.warehouse_id.clone(), i.quantity))
                        .collect(),
                },
            ))
        })
        .collect()
}
