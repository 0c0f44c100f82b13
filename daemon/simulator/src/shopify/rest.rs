//! Webhook payloads, REST-shaped as Shopify sends them: numeric ids, snake_case keys, amounts with two
//! decimals and times in the shop's time zone.

use super::shop::{Fulfillment, Order, Product, Refund, ShopifyShop};
use super::{gid, iso_local, rest_amount};
use serde_json::{Value, json};

fn money_set(cents: i64, currency: &str) -> Value {
    let money = json!({"amount": rest_amount(cents), "currency_code": currency});
    json!({"shop_money": money, "presentment_money": money})
}

impl ShopifyShop {
    fn rest_line(&self, o: &Order, line_id: u64) -> Value {
        let Some(l) = o.lines.iter().find(|l| l.id == line_id) else {
            return Value::Null;
        };
        let v = self.variant(l.variant);
        let (p, _) = self.variants[l.variant];
        let c = &self.currency;
        json!({
            "id": l.id,
            "admin_graphql_api_id": gid("LineItem", l.id),
            "variant_id": v.id,
            "product_id": self.products[p].id,
            "sku": v.sku,
            "name": self.line_name(l.variant),
            "title": self.products[p].title,
            "variant_title": if v.title == "Default Title" { Value::Null } else { json!(v.title) },
            "vendor": self.products[p].vendor,
            "quantity": l.quantity,
            "current_quantity": l.quantity,
            "price": rest_amount(l.unit_cents),
            "price_set": money_set(l.unit_cents, c),
            "total_discount": rest_amount(l.discount_cents),
            "total_discount_set": money_set(l.discount_cents, c),
            "requires_shipping": true,
            "taxable": true,
            "fulfillable_quantity": if o.fulfilled() || o.cancelled_at.is_some() { 0 } else { l.quantity },
            "fulfillment_status": if o.fulfilled() { json!("fulfilled") } else { Value::Null },
        })
    }

    pub fn rest_refund(&self, o: &Order, r: &Refund) -> Value {
        let c = &self.currency;
        let lines: Vec<Value> = r
            .lines
            .iter()
            .map(|rl| {
                json!({
                    "id": rl.id,
                    "line_item_id": rl.line_id,
                    "quantity": rl.quantity,
                    "restock_type": rl.restock_type.to_ascii_lowercase(),
                    "location_id": (rl.restock_type != "NO_RESTOCK").then_some(self.location_id),
                    "subtotal": rest_amount(rl.subtotal_cents),
                    "subtotal_set": money_set(rl.subtotal_cents, c),
                    "total_tax": "0.00",
                    "total_tax_set": money_set(0, c),
                    "line_item": self.rest_line(o, rl.line_id),
                })
            })
            .collect();
        json!({
            "id": r.id,
            "admin_graphql_api_id": gid("Refund", r.id),
            "order_id": o.id,
            "created_at": iso_local(r.created_at),
            "processed_at": iso_local(r.created_at),
            "note": r.note,
            "restock": r.lines.iter().any(|l| l.restock_type != "NO_RESTOCK"),
            "user_id": null,
            "refund_line_items": lines,
            "transactions": [{
                "id": r.transaction_id,
                "admin_graphql_api_id": gid("OrderTransaction", r.transaction_id),
                "order_id": o.id,
                "kind": "refund",
                "gateway": "manual",
                "status": "success",
                "amount": rest_amount(r.amount_cents),
                "currency": c,
                "created_at": iso_local(r.created_at),
                "processed_at": iso_local(r.created_at),
            }],
            "order_adjustments": [],
        })
    }

    pub fn rest_fulfillment(&self, o: &Order, f: &Fulfillment) -> Value {
        let lines: Vec<Value> = f
            .lines
            .iter()
            .map(|(_, line_id, q)| {
                let mut line = self.rest_line(o, *line_id);
                if let Some(map) = line.as_object_mut() {
                    map.insert("quantity".into(), json!(q));
                }
                line
            })
            .collect();
        json!({
            "id": f.id,
            "admin_graphql_api_id": gid("Fulfillment", f.id),
            "order_id": o.id,
            "status": "success",
            "created_at": iso_local(f.created_at),
            "updated_at": iso_local(f.updated_at),
            "service": "manual",
            "location_id": self.location_id,
            "name": format!("#{}.{}", o.number, o.fulfillments.iter().position(|x| x.id == f.id).map_or(1, |i| i + 1)),
            "shipment_status": if f.delivered_at.is_some() { "delivered" } else { "in_transit" },
            "tracking_company": f.tracking_company,
            "tracking_number": f.tracking_number,
            "tracking_numbers": [f.tracking_number],
            "tracking_url": format!("https://tracking.example.com/{}", f.tracking_number),
            "tracking_urls": [format!("https://tracking.example.com/{}", f.tracking_number)],
            "line_items": lines,
        })
    }

    pub fn rest_order(&self, o: &Order) -> Value {
        let c = &self.currency;
        let customer = o.customer.and_then(|k| self.customers.get(k)).map(|cu| {
            json!({
                "id": cu.id,
                "admin_graphql_api_id": gid("Customer", cu.id),
                "email": cu.email,
                "first_name": cu.first,
                "last_name": cu.last,
            })
        });
        let fulfillment_status = if o.fulfilled() {
            json!("fulfilled")
        } else {
            Value::Null
        };
        json!({
            "id": o.id,
            "admin_graphql_api_id": gid("Order", o.id),
            "name": format!("#{}", o.number),
            "order_number": o.number,
            "email": customer.as_ref().and_then(|cu| cu.get("email").cloned()),
            "created_at": iso_local(o.created_at),
            "updated_at": iso_local(o.updated_at),
            "processed_at": iso_local(o.created_at),
            "cancelled_at": o.cancelled_at.map(iso_local),
            "cancel_reason": o.cancelled_at.map(|_| "customer"),
            "closed_at": null,
            "test": false,
            "confirmed": true,
            "currency": c,
            "presentment_currency": c,
            "financial_status": o.financial_status().to_ascii_lowercase(),
            "fulfillment_status": fulfillment_status,
            "taxes_included": false,
            "total_line_items_price": rest_amount(o.gross_cents()),
            "subtotal_price": rest_amount(o.subtotal_cents()),
            "total_discounts": rest_amount(o.discount_cents()),
            "total_tax": rest_amount(o.tax_cents),
            "total_price": rest_amount(o.total_cents()),
            "subtotal_price_set": money_set(o.subtotal_cents(), c),
            "total_discounts_set": money_set(o.discount_cents(), c),
            "total_shipping_price_set": money_set(o.shipping_cents, c),
            "total_tax_set": money_set(o.tax_cents, c),
            "total_price_set": money_set(o.total_cents(), c),
            "customer": customer,
            "line_items": o.lines.iter().map(|l| self.rest_line(o, l.id)).collect::<Vec<_>>(),
            "shipping_lines": [{
                "title": "Standard",
                "price": rest_amount(o.shipping_cents),
                "price_set": money_set(o.shipping_cents, c),
            }],
            "refunds": o.refunds.iter().map(|r| self.rest_refund(o, r)).collect::<Vec<_>>(),
            "fulfillments": o.fulfillments.iter().map(|f| self.rest_fulfillment(o, f)).collect::<Vec<_>>(),
        })
    }

    pub fn rest_product(&self, p: &Product) -> Value {
        let variants: Vec<Value> = p
            .variants
            .iter()
            .enumerate()
            .map(|(i, v)| {
                json!({
                    "id": v.id,
                    "admin_graphql_api_id": gid("ProductVariant", v.id),
                    "product_id": p.id,
                    "title": v.title,
                    "sku": v.sku,
                    "price": rest_amount(v.price_cents),
                    "compare_at_price": null,
                    "position": i + 1,
                    "barcode": null,
                    "inventory_item_id": v.item_id,
                    "inventory_quantity": self.levels.get(&v.item_id).map_or(0, |l| l.available),
                    "created_at": iso_local(v.created_at),
                    "updated_at": iso_local(v.updated_at),
                })
            })
            .collect();
        json!({
            "id": p.id,
            "admin_graphql_api_id": gid("Product", p.id),
            "title": p.title,
            "handle": p.handle,
            "vendor": p.vendor,
            "product_type": "",
            "status": p.status.to_ascii_lowercase(),
            "created_at": iso_local(p.created_at),
            "updated_at": iso_local(p.updated_at),
            "variants": variants,
        })
    }

    pub fn rest_inventory_level(&self, item: u64) -> Value {
        let level = self.levels.get(&item).cloned().unwrap_or_default();
        json!({
            "inventory_item_id": item,
            "location_id": self.location_id,
            "available": level.available,
            "updated_at": iso_local(level.updated_at),
            "admin_graphql_api_id": format!("gid://shopify/InventoryLevel/{}?inventory_item_id={item}", self.location_id),
        })
    }
}
