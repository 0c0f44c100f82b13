//! A simulated shop: its catalog, stock and orders, generated from a seed, and the changes live mode makes.
//! Amounts are integer cents; they become the API's decimal strings only on the wire.

use rand::Rng;
use rand::rngs::StdRng;
use serde::Serialize;
use std::collections::BTreeMap;

pub const WAREHOUSE: &str = "wh-1";

#[derive(Debug, Clone, Serialize)]
pub struct Product {
    pub id: String,
    pub title: String,
    pub status: String,
    pub create_time: i64,
    pub update_time: i64,
    pub skus: Vec<Sku>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sku {
    pub id: String,
    pub seller_sku: String,
    #[serde(skip)]
    pub price_cents: i64,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: String,
    pub status: &'static str,
    pub create_time: i64,
    pub update_time: i64,
    pub paid_time: Option<i64>,
    pub delivery_time: Option<i64>,
    pub cancel_time: Option<i64>,
    pub user_id: String,
    pub shipping_cents: i64,
    pub discount_cents: i64,
    pub tax_cents: i64,
    /// (line id, sku index into the shop's SKU list).
    pub lines: Vec<(String, usize)>,
}

/// Statuses that still hold stock (everything but cancelled).
pub fn holds_stock(status: &str) -> bool {
    status != "CANCELLED"
}

/// One shop's state.
#[derive(Debug, Clone)]
pub struct Shop {
    pub number: u32,
    pub shop_id: String,
    pub cipher: String,
    pub token: String,
    pub token_expired: bool,
    pub currency: String,
    pub products: Vec<Product>,
    /// Flat SKU list: (product index, sku index within the product).
    pub skus: Vec<(usize, usize)>,
    /// Sellable units per seller SKU.
    pub stock: BTreeMap<String, i64>,
    pub orders: BTreeMap<String, Order>,
    pub next_order: u64,
    pub last_time: i64,
}

impl Shop {
    pub fn generate(
        n: u32,
        rng: &mut StdRng,
        skus: u32,
        orders: u32,
        days: u32,
        now: i64,
        currency: &str,
    ) -> Self {
        let start = now - i64::from(days) * 86_400;
        let mut shop = Shop {
            number: n,
            shop_id: format!("sim-shop-{n}"),
            cipher: format!("sim-cipher-{n}"),
            token: format!("sim-token-{n}"),
            token_expired: false,
            currency: currency.to_owned(),
            products: Vec::new(),
            skus: Vec::new(),
            stock: BTreeMap::new(),
            orders: BTreeMap::new(),
            next_order: 1,
            last_time: now,
        };
        let mut made = 0u32;
        while made < skus {
            let p = shop.products.len();
            let count = rng.random_range(1..=3u32).min(skus - made);
            let created = start - rng.random_range(0..30 * 86_400);
            let mut product = Product {
                id: format!("17290{n}{:07}", p + 1),
                title: format!("Product {} of shop {n}", p + 1),
                status: "ACTIVATE".into(),
                create_time: created,
                update_time: created,
                skus: Vec::new(),
            };
            for k in 0..count {
                made += 1;
                let seller_sku = format!("SKU-{made:04}");
                product.skus.push(Sku {
                    id: format!("17300{n}{made:07}"),
                    seller_sku: seller_sku.clone(),
                    price_cents: rng.random_range(5..=60) * 100 - 1,
                });
                shop.stock.insert(seller_sku, rng.random_range(20..=200));
                shop.skus.push((p, k as usize));
            }
            shop.products.push(product);
        }
        let mut times: Vec<i64> = (0..orders).map(|_| rng.random_range(start..now)).collect();
        times.sort_unstable();
        let buyers = (orders / 3).max(1);
        for created in times {
            let age_days = (now - created) / 86_400;
            let status = if age_days > 10 {
                pick(
                    rng,
                    &[("COMPLETED", 80), ("DELIVERED", 10), ("CANCELLED", 10)],
                )
            } else {
                pick(
                    rng,
                    &[
                        ("UNPAID", 5),
                        ("AWAITING_SHIPMENT", 25),
                        ("IN_TRANSIT", 25),
                        ("DELIVERED", 30),
                        ("CANCELLED", 15),
                    ],
                )
            };
            let user = format!("buyer-{n}-{}", rng.random_range(1..=buyers));
            let updated = (created + rng.random_range(60..5 * 86_400))
                .min(now - 1)
                .max(created);
            shop.place(rng, created, updated, status, user);
        }
        shop
    }

    /// Places an order of 1–4 units of SKUs in stock; none when nothing is left.
    pub fn place(
        &mut self,
        rng: &mut StdRng,
        created: i64,
        updated: i64,
        status: &'static str,
        user: String,
    ) -> Option<String> {
        let units = rng.random_range(1..=4);
        let id = format!("576{}{:012}", self.number, self.next_order);
        let mut lines = Vec::new();
        for k in 0..units {
            let sku = rng.random_range(0..self.skus.len());
            let seller = self.seller_sku(sku).to_owned();
            let left = self.stock.get(&seller).copied().unwrap_or(0);
            if left <= 0 {
                continue;
            }
            if holds_stock(status) {
                self.stock.insert(seller, left - 1);
            }
            lines.push((format!("{id}{:02}", k + 1), sku));
        }
        if lines.is_empty() {
            return None;
        }
        self.next_order += 1;
        let subtotal: i64 = lines.iter().map(|(_, s)| self.sku(*s).price_cents).sum();
        let discount = if rng.random_bool(0.2) {
            subtotal / 10
        } else {
            0
        };
        let shipping = if subtotal >= 3_500 { 0 } else { 499 };
        let tax = (subtotal - discount) * 8 / 100;
        let paid = (status != "UNPAID").then_some(created + 30);
        let order = Order {
            id: id.clone(),
            status,
            create_time: created,
            update_time: updated,
            paid_time: paid,
            delivery_time: matches!(status, "DELIVERED" | "COMPLETED").then_some(updated),
            cancel_time: (status == "CANCELLED").then_some(updated),
            user_id: user,
            shipping_cents: shipping,
            discount_cents: discount,
            tax_cents: tax,
            lines,
        };
        self.orders.insert(id.clone(), order);
        Some(id)
    }

    pub fn sku(&self, flat: usize) -> &Sku {
        let (p, k) = self.skus[flat];
        &self.products[p].skus[k]
    }

    pub fn seller_sku(&self, flat: usize) -> &str {
        &self.sku(flat).seller_sku
    }

    /// A time for a change made now: the wall clock in seconds, as the real API stamps `update_time`, never
    /// earlier than the last change. Several changes in one second share it.
    pub fn stamp(&mut self, clock: i64) -> i64 {
        self.last_time = self.last_time.max(clock);
        self.last_time
    }

    /// Cancels an open order and puts its units back.
    pub fn cancel(&mut self, id: &str, at: i64) -> bool {
        let Some(order) = self.orders.get(id) else {
            return false;
        };
        if !matches!(order.status, "UNPAID" | "AWAITING_SHIPMENT") {
            return false;
        }
        let units: Vec<String> = order
            .lines
            .iter()
            .map(|(_, s)| self.seller_sku(*s).to_owned())
            .collect();
        for sku in units {
            *self.stock.entry(sku).or_default() += 1;
        }
        if let Some(order) = self.orders.get_mut(id) {
            order.status = "CANCELLED";
            order.cancel_time = Some(at);
            order.update_time = at;
        }
        true
    }

    /// Sets a SKU's sellable units; returns false for an unknown SKU.
    pub fn set_stock(&mut self, seller_sku: &str, quantity: i64, at: i64) -> bool {
        let Some(slot) = self.stock.get_mut(seller_sku) else {
            return false;
        };
        *slot = quantity;
        if let Some(p) = self
            .products
            .iter_mut()
            .find(|p| p.skus.iter().any(|s| s.seller_sku == seller_sku))
        {
            p.update_time = at;
        }
        true
    }

    pub fn money(&self, cents: i64) -> String {
        format!("{}.{:02}", cents / 100, cents % 100)
    }

    /// The order as the API returns it.
    pub fn order_json(&self, o: &Order) -> serde_json::Value {
        let subtotal: i64 = o.lines.iter().map(|(_, s)| self.sku(*s).price_cents).sum();
        let total = subtotal + o.shipping_cents + o.tax_cents - o.discount_cents;
        let lines: Vec<serde_json::Value> = o
            .lines
            .iter()
            .map(|(line_id, s)| {
                let (p, _) = self.skus[*s];
                let sku = self.sku(*s);
                serde_json::json!({
                    "id": line_id,
                    "sku_id": sku.id,
                    "seller_sku": sku.seller_sku,
                    "product_id": self.products[p].id,
                    "product_name": self.products[p].title,
                    "sku_name": sku.seller_sku,
                    "sale_price": self.money(sku.price_cents),
                    "original_price": self.money(sku.price_cents),
                    "seller_discount": "0.00",
                    "currency": self.currency,
                    "display_status": o.status,
                    "is_gift": false,
                })
            })
            .collect();
        let mut v = serde_json::json!({
            "id": o.id,
            "status": o.status,
            "create_time": o.create_time,
            "update_time": o.update_time,
            "user_id": o.user_id,
            "buyer_email": format!("{}@example.com", o.user_id),
            "recipient_address": {"name": o.user_id, "region_code": "US"},
            "payment": {
                "currency": self.currency,
                "sub_total": self.money(subtotal),
                "shipping_fee": self.money(o.shipping_cents),
                "seller_discount": self.money(o.discount_cents),
                "platform_discount": "0.00",
                "tax": self.money(o.tax_cents),
                "total_amount": self.money(total),
            },
            "line_items": lines,
        });
        for (key, value) in [
            ("paid_time", o.paid_time),
            ("delivery_time", o.delivery_time),
            ("cancel_time", o.cancel_time),
        ] {
            if let (Some(t), Some(map)) = (value, v.as_object_mut()) {
                map.insert(key.into(), t.into());
            }
        }
        v
    }

    /// The product as the API returns it, with its SKUs' prices and stock.
    pub fn product_json(&self, p: &Product) -> serde_json::Value {
        let skus: Vec<serde_json::Value> = p
            .skus
            .iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.id,
                    "seller_sku": s.seller_sku,
                    "price": {"currency": self.currency, "sale_price": self.money(s.price_cents)},
                    "inventory": [{"warehouse_id": WAREHOUSE, "quantity": self.stock.get(&s.seller_sku).copied().unwrap_or(0)}],
                })
            })
            .collect();
        serde_json::json!({
            "id": p.id,
            "title": p.title,
            "status": p.status,
            "create_time": p.create_time,
            "update_time": p.update_time,
            "skus": skus,
        })
    }
}

fn pick(rng: &mut StdRng, weights: &[(&'static str, u32)]) -> &'static str {
    let total: u32 = weights.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for (name, w) in weights {
        if roll < *w {
            return name;
        }
        roll -= w;
    }
    weights[0].0
}
