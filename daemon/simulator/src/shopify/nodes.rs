//! Records as GraphQL Admin API nodes: every field the simulator serves, nested connections included. A
//! query's selection is projected out of these (see `graphql.rs`), so a node may carry more than was asked.

use super::shop::{Fulfillment, Level, Order, Product, Refund, ShopifyShop, Variant};
use super::{gid, gql_amount, iso_utc};
use serde_json::{Value, json};

/// A connection over `items` (cursor, node), all of them; `first`/`after` arguments narrow it later.
pub fn connection(items: Vec<(String, Value)>, has_next: bool, has_previous: bool) -> Value {
    let start = items.first().map(|(c, _)| c.clone());
    let end = items.last().map(|(c, _)| c.clone());
    let nodes: Vec<Value> = items.iter().map(|(_, n)| n.clone()).collect();
    let edges: Vec<Value> = items
        .into_iter()
        .map(|(cursor, node)| json!({"cursor": cursor, "node": node}))
        .collect();
    json!({
        "edges": edges,
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": start,
            "endCursor": end,
        },
    })
}

/// The cursor of a nested connection's item: Shopify's shape, base64 JSON of the last id.
pub fn nested_cursor(id: u64) -> String {
    super::encode_cursor(&json!({"last_id": id, "last_value": id}))
}

fn nested(items: Vec<(u64, Value)>) -> Value {
    connection(
        items
            .into_iter()
            .map(|(id, v)| (nested_cursor(id), v))
            .collect(),
        false,
        false,
    )
}

fn money_set(cents: i64, currency: &str) -> Value {
    let money = json!({"amount": gql_amount(cents), "currencyCode": currency});
    json!({"shopMoney": money, "presentmentMoney": money})
}

impl ShopifyShop {
    pub fn location_node(&self) -> Value {
        json!({
            "__typename": "Location",
            "id": gid("Location", self.location_id),
            "legacyResourceId": self.location_id.to_string(),
            "name": "Main warehouse",
            "isActive": true,
            "fulfillsOnlineOrders": true,
        })
    }

    fn variant_ref(&self, v: &Variant) -> Value {
        json!({"__typename": "ProductVariant", "id": gid("ProductVariant", v.id), "sku": v.sku,
               "title": v.title, "legacyResourceId": v.id.to_string()})
    }

    fn product_of(&self, variant_id: u64) -> Option<&Product> {
        self.products
            .iter()
            .find(|p| p.variants.iter().any(|v| v.id == variant_id))
    }

    pub fn level_node(&self, v: &Variant, level: &Level) -> Value {
        let quantities: Vec<Value> = [
            ("available", level.available),
            ("committed", level.committed),
            ("damaged", 0),
            ("incoming", 0),
            ("on_hand", level.on_hand),
            ("quality_control", 0),
            ("reserved", 0),
            ("safety_stock", 0),
        ]
        .into_iter()
        .map(|(name, q)| json!({"name": name, "quantity": q, "updatedAt": iso_utc(level.updated_at)}))
        .collect();
        json!({
            "__typename": "InventoryLevel",
            "id": format!("gid://shopify/InventoryLevel/{}?inventory_item_id={}", self.location_id, v.item_id),
            "location": self.location_node(),
            "item": {"__typename": "InventoryItem", "id": gid("InventoryItem", v.item_id), "sku": v.sku},
            "updatedAt": iso_utc(level.updated_at),
            "quantities": quantities,
        })
    }

    pub fn item_node(&self, v: &Variant) -> Value {
        let level = self.levels.get(&v.item_id).cloned().unwrap_or_default();
        let product = self.product_of(v.id);
        json!({
            "__typename": "InventoryItem",
            "id": gid("InventoryItem", v.item_id),
            "legacyResourceId": v.item_id.to_string(),
            "sku": v.sku,
            "tracked": true,
            "requiresShipping": true,
            "createdAt": iso_utc(v.created_at),
            "updatedAt": iso_utc(v.updated_at.max(level.updated_at)),
            "unitCost": null,
            "variant": {
                "__typename": "ProductVariant",
                "id": gid("ProductVariant", v.id),
                "sku": v.sku,
                "title": v.title,
                "price": gql_amount(v.price_cents),
                "product": product.map(|p| json!({"id": gid("Product", p.id), "title": p.title})),
            },
            "inventoryLevels": nested(vec![(v.item_id, self.level_node(v, &level))]),
        })
    }

    pub fn variant_node(&self, v: &Variant) -> Value {
        let available = self.levels.get(&v.item_id).map_or(0, |l| l.available);
        let product = self.product_of(v.id);
        json!({
            "__typename": "ProductVariant",
            "id": gid("ProductVariant", v.id),
            "legacyResourceId": v.id.to_string(),
            "title": v.title,
            "displayName": product.map(|p| format!("{} - {}", p.title, v.title)),
            "sku": v.sku,
            "barcode": null,
            "price": gql_amount(v.price_cents),
            "compareAtPrice": null,
            "createdAt": iso_utc(v.created_at),
            "updatedAt": iso_utc(v.updated_at),
            "inventoryQuantity": available,
            "product": product.map(|p| json!({"__typename": "Product", "id": gid("Product", p.id), "title": p.title})),
            "inventoryItem": self.item_node(v),
        })
    }

    pub fn product_node(&self, p: &Product) -> Value {
        let total: i64 = p
            .variants
            .iter()
            .map(|v| self.levels.get(&v.item_id).map_or(0, |l| l.available))
            .sum();
        json!({
            "__typename": "Product",
            "id": gid("Product", p.id),
            "legacyResourceId": p.id.to_string(),
            "title": p.title,
            "handle": p.handle,
            "vendor": p.vendor,
            "productType": "",
            "status": p.status,
            "createdAt": iso_utc(p.created_at),
            "updatedAt": iso_utc(p.updated_at),
            "totalInventory": total,
            "hasOnlyDefaultVariant": p.variants.len() == 1 && p.variants[0].title == "Default Title",
            "variants": nested(p.variants.iter().map(|v| (v.id, self.variant_node(v))).collect()),
        })
    }

    fn line_ref(&self, o: &Order, line_id: u64) -> Value {
        o.lines
            .iter()
            .find(|l| l.id == line_id)
            .map_or(Value::Null, |l| {
                let v = self.variant(l.variant);
                json!({"__typename": "LineItem", "id": gid("LineItem", l.id), "sku": v.sku,
                       "name": self.line_name(l.variant), "quantity": l.quantity,
                       "variant": self.variant_ref(v)})
            })
    }

    /// A line's name as Shopify shows it: the product title, plus the variant title unless it is the default.
    pub fn line_name(&self, flat: usize) -> String {
        let (p, _) = self.variants[flat];
        let v = self.variant(flat);
        if v.title == "Default Title" {
            self.products[p].title.clone()
        } else {
            format!("{} - {}", self.products[p].title, v.title)
        }
    }

    pub fn refund_node(&self, o: &Order, r: &Refund) -> Value {
        let c = &self.currency;
        let lines = r
            .lines
            .iter()
            .map(|rl| {
                (
                    rl.id,
                    json!({
                        "__typename": "RefundLineItem",
                        "id": gid("RefundLineItem", rl.id),
                        "quantity": rl.quantity,
                        "restockType": rl.restock_type,
                        "restocked": rl.restock_type != "NO_RESTOCK",
                        "location": (rl.restock_type != "NO_RESTOCK").then(|| self.location_node()),
                        "lineItem": self.line_ref(o, rl.line_id),
                        "subtotalSet": money_set(rl.subtotal_cents, c),
                        "totalTaxSet": money_set(0, c),
                    }),
                )
            })
            .collect();
        json!({
            "__typename": "Refund",
            "id": gid("Refund", r.id),
            "legacyResourceId": r.id.to_string(),
            "createdAt": iso_utc(r.created_at),
            "updatedAt": iso_utc(r.created_at),
            "note": r.note,
            "order": {"id": gid("Order", o.id)},
            "totalRefundedSet": money_set(r.amount_cents, c),
            "refundLineItems": nested(lines),
            "transactions": nested(vec![(r.transaction_id, json!({
                "id": gid("OrderTransaction", r.transaction_id), "kind": "REFUND", "status": "SUCCESS",
                "gateway": "manual", "amountSet": money_set(r.amount_cents, c),
                "processedAt": iso_utc(r.created_at),
            }))]),
        })
    }

    pub fn fulfillment_display_status(f: &Fulfillment) -> &'static str {
        if f.delivered_at.is_some() {
            "DELIVERED"
        } else {
            "IN_TRANSIT"
        }
    }

    pub fn fulfillment_node(&self, o: &Order, f: &Fulfillment) -> Value {
        let lines = f
            .lines
            .iter()
            .map(|(id, line_id, q)| {
                (
                    *id,
                    json!({"__typename": "FulfillmentLineItem", "id": gid("FulfillmentLineItem", *id),
                           "quantity": q, "lineItem": self.line_ref(o, *line_id)}),
                )
            })
            .collect();
        json!({
            "__typename": "Fulfillment",
            "id": gid("Fulfillment", f.id),
            "legacyResourceId": f.id.to_string(),
            "name": format!("#{}-F{}", o.number, o.fulfillments.iter().position(|x| x.id == f.id).map_or(1, |i| i + 1)),
            "createdAt": iso_utc(f.created_at),
            "updatedAt": iso_utc(f.updated_at),
            "inTransitAt": iso_utc(f.created_at),
            "deliveredAt": f.delivered_at.map(iso_utc),
            "status": "SUCCESS",
            "displayStatus": Self::fulfillment_display_status(f),
            "order": {"id": gid("Order", o.id)},
            "location": self.location_node(),
            "trackingInfo": [{
                "company": f.tracking_company,
                "number": f.tracking_number,
                "url": format!("https://tracking.example.com/{}", f.tracking_number),
            }],
            "fulfillmentLineItems": nested(lines),
        })
    }

    pub fn order_node(&self, o: &Order) -> Value {
        let c = &self.currency;
        let customer = o.customer.and_then(|k| self.customers.get(k)).map(|cu| {
            json!({
                "__typename": "Customer",
                "id": gid("Customer", cu.id),
                "legacyResourceId": cu.id.to_string(),
                "email": cu.email,
                "firstName": cu.first,
                "lastName": cu.last,
                "displayName": format!("{} {}", cu.first, cu.last),
            })
        });
        let lines = o
            .lines
            .iter()
            .map(|l| {
                let v = self.variant(l.variant);
                let (p, _) = self.variants[l.variant];
                let current = l.quantity
                    - o.refunds
                        .iter()
                        .flat_map(|r| &r.lines)
                        .filter(|rl| rl.line_id == l.id)
                        .map(|rl| rl.quantity)
                        .sum::<i64>();
                (
                    l.id,
                    json!({
                        "__typename": "LineItem",
                        "id": gid("LineItem", l.id),
                        "sku": v.sku,
                        "name": self.line_name(l.variant),
                        "title": self.products[p].title,
                        "variantTitle": (v.title != "Default Title").then(|| v.title.clone()),
                        "vendor": self.products[p].vendor,
                        "quantity": l.quantity,
                        "currentQuantity": current,
                        "requiresShipping": true,
                        "taxable": true,
                        "variant": self.variant_ref(v),
                        "product": {"__typename": "Product", "id": gid("Product", self.products[p].id)},
                        "originalUnitPriceSet": money_set(l.unit_cents, c),
                        "discountedUnitPriceSet": money_set(
                            (l.unit_cents * l.quantity - l.discount_cents) / l.quantity, c),
                        "originalTotalSet": money_set(l.unit_cents * l.quantity, c),
                        "totalDiscountSet": money_set(l.discount_cents, c),
                    }),
                )
            })
            .collect();
        json!({
            "__typename": "Order",
            "id": gid("Order", o.id),
            "legacyResourceId": o.id.to_string(),
            "name": format!("#{}", o.number),
            "createdAt": iso_utc(o.created_at),
            "updatedAt": iso_utc(o.updated_at),
            "processedAt": iso_utc(o.created_at),
            "cancelledAt": o.cancelled_at.map(iso_utc),
            "cancelReason": o.cancelled_at.map(|_| "CUSTOMER"),
            "closed": o.cancelled_at.is_some() || o.fulfillments.iter().any(|f| f.delivered_at.is_some()),
            "test": false,
            "confirmed": true,
            "email": customer.as_ref().and_then(|cu| cu.get("email").cloned()),
            "displayFinancialStatus": o.financial_status(),
            "displayFulfillmentStatus": o.fulfillment_status(),
            "currencyCode": c,
            "presentmentCurrencyCode": c,
            "taxesIncluded": false,
            "subtotalPriceSet": money_set(o.subtotal_cents(), c),
            "totalDiscountsSet": money_set(o.discount_cents(), c),
            "totalShippingPriceSet": money_set(o.shipping_cents, c),
            "totalTaxSet": money_set(o.tax_cents, c),
            "totalPriceSet": money_set(o.total_cents(), c),
            "totalRefundedSet": money_set(o.refunded_cents(), c),
            "currentTotalPriceSet": money_set(o.total_cents() - o.refunded_cents(), c),
            "customer": customer,
            "lineItems": nested(lines),
            "refunds": o.refunds.iter().map(|r| self.refund_node(o, r)).collect::<Vec<_>>(),
            "fulfillments": o.fulfillments.iter().map(|f| self.fulfillment_node(o, f)).collect::<Vec<_>>(),
        })
    }
}
