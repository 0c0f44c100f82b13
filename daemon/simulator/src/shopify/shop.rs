//! A simulated Shopify shop: its catalogue, the stock of its one location, and orders with fulfilments and
//! refunds, generated from a seed, plus the changes live mode makes. Amounts are integer cents; they become
//! decimal strings only on the wire (GraphQL nodes here, REST-shaped webhook payloads in `rest.rs`).

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Buckets of a shop's query-cost budget (points) and its restore rate (points per second).
#[derive(Debug, Clone)]
pub struct Bucket {
    pub maximum: f64,
    pub restore_rate: f64,
    pub available: f64,
    pub refilled: std::time::Instant,
}

impl Bucket {
    pub fn new(maximum: u32, restore_rate: u32) -> Self {
        Self {
            maximum: f64::from(maximum),
            restore_rate: f64::from(restore_rate),
            available: f64::from(maximum),
            refilled: std::time::Instant::now(),
        }
    }

    /// Adds what the restore rate gave back since the last look.
    pub fn refill(&mut self) {
        let now = std::time::Instant::now();
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.available = (self.available + elapsed * self.restore_rate).min(self.maximum);
        self.refilled = now;
    }

    pub fn status(&self) -> Value {
        json!({
            "maximumAvailable": self.maximum.floor() as i64,
            "currentlyAvailable": self.available.floor() as i64,
            "restoreRate": self.restore_rate.floor() as i64,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub id: u64,
    pub sku: String,
    pub title: String,
    pub price_cents: i64,
    pub item_id: u64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: u64,
    pub title: String,
    pub handle: String,
    pub vendor: String,
    pub status: &'static str,
    pub created_at: i64,
    pub updated_at: i64,
    pub variants: Vec<Variant>,
}

/// Quantities of one inventory item at the shop's location. `on_hand = available + committed`.
#[derive(Debug, Clone, Default)]
pub struct Level {
    pub available: i64,
    pub committed: i64,
    pub on_hand: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: u64,
    pub first: String,
    pub last: String,
    pub email: String,
}

#[derive(Debug, Clone)]
pub struct Line {
    pub id: u64,
    /// Index into the shop's flat variant list.
    pub variant: usize,
    pub quantity: i64,
    pub unit_cents: i64,
    /// This line's share of the order's discount.
    pub discount_cents: i64,
}

#[derive(Debug, Clone)]
pub struct RefundLine {
    pub id: u64,
    pub line_id: u64,
    pub quantity: i64,
    /// `RETURN` (units back in stock), `CANCEL` (never shipped) or `NO_RESTOCK`.
    pub restock_type: &'static str,
    pub subtotal_cents: i64,
}

#[derive(Debug, Clone)]
pub struct Refund {
    pub id: u64,
    pub transaction_id: u64,
    pub created_at: i64,
    pub note: Option<String>,
    pub lines: Vec<RefundLine>,
    pub amount_cents: i64,
}

#[derive(Debug, Clone)]
pub struct Fulfillment {
    pub id: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub delivered_at: Option<i64>,
    pub tracking_company: String,
    pub tracking_number: String,
    /// (fulfilment line id, order line id, quantity).
    pub lines: Vec<(u64, u64, i64)>,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: u64,
    pub number: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub cancelled_at: Option<i64>,
    pub paid: bool,
    pub customer: Option<usize>,
    pub lines: Vec<Line>,
    pub shipping_cents: i64,
    pub tax_cents: i64,
    pub refunds: Vec<Refund>,
    pub fulfillments: Vec<Fulfillment>,
}

impl Order {
    pub fn gross_cents(&self) -> i64 {
        self.lines.iter().map(|l| l.unit_cents * l.quantity).sum()
    }

    pub fn discount_cents(&self) -> i64 {
        self.lines.iter().map(|l| l.discount_cents).sum()
    }

    /// Line items after discounts, before shipping and tax (Shopify's `subtotalPrice`).
    pub fn subtotal_cents(&self) -> i64 {
        self.gross_cents() - self.discount_cents()
    }

    pub fn total_cents(&self) -> i64 {
        self.subtotal_cents() + self.shipping_cents + self.tax_cents
    }

    pub fn refunded_cents(&self) -> i64 {
        self.refunds.iter().map(|r| r.amount_cents).sum()
    }

    pub fn fulfilled(&self) -> bool {
        !self.fulfillments.is_empty()
    }

    /// Open: not cancelled and not shipped, so it still commits stock.
    pub fn open(&self) -> bool {
        self.cancelled_at.is_none() && !self.fulfilled()
    }

    pub fn financial_status(&self) -> &'static str {
        if !self.paid {
            return if self.cancelled_at.is_some() {
                "VOIDED"
            } else {
                "PENDING"
            };
        }
        let refunded = self.refunded_cents();
        if refunded == 0 {
            "PAID"
        } else if refunded >= self.total_cents() {
            "REFUNDED"
        } else {
            "PARTIALLY_REFUNDED"
        }
    }

    pub fn fulfillment_status(&self) -> &'static str {
        if self.fulfilled() {
            "FULFILLED"
        } else {
            "UNFULFILLED"
        }
    }

    /// Units of `line_id` returned so far.
    pub fn returned(&self, line_id: u64) -> i64 {
        self.refunds
            .iter()
            .flat_map(|r| &r.lines)
            .filter(|l| l.line_id == line_id && l.restock_type == "RETURN")
            .map(|l| l.quantity)
            .sum()
    }
}

/// What a generated order ends as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Pending,
    Paid,
    InTransit,
    Delivered,
    /// Delivered, then one unit returned and restocked.
    Returned,
    /// Delivered, then part of the money refunded without a return.
    Goodwill,
    Cancelled,
}

/// One shop's state.
#[derive(Debug, Clone)]
pub struct ShopifyShop {
    pub number: u32,
    pub domain: String,
    pub token: String,
    pub token_expired: bool,
    pub currency: String,
    pub location_id: u64,
    pub products: Vec<Product>,
    /// Flat variant list: (product index, variant index within the product).
    pub variants: Vec<(usize, usize)>,
    /// Quantities at the location, by inventory item id.
    pub levels: BTreeMap<u64, Level>,
    pub customers: Vec<Customer>,
    pub orders: BTreeMap<u64, Order>,
    pub next_id: u64,
    pub next_number: u64,
    pub last_time: i64,
    pub bucket: Bucket,
}

const TRACKING_COMPANIES: &[&str] = &["USPS", "UPS", "FedEx", "DHL Express"];
const SIZES: &[&str] = &["S", "M", "L"];

impl ShopifyShop {
    #[allow(clippy::too_many_arguments)]
    pub fn generate(
        n: u32,
        rng: &mut StdRng,
        skus: u32,
        orders: u32,
        days: u32,
        now: i64,
        currency: &str,
        bucket: (u32, u32),
    ) -> Self {
        let start = now - i64::from(days) * 86_400;
        let mut shop = ShopifyShop {
            number: n,
            domain: super::shop_domain(n),
            token: super::token(n),
            token_expired: false,
            currency: currency.to_owned(),
            location_id: 0,
            products: Vec::new(),
            variants: Vec::new(),
            levels: BTreeMap::new(),
            customers: Vec::new(),
            orders: BTreeMap::new(),
            // Ids of every kind come from one counter per shop, as Shopify's are unique across a shop.
            next_id: 7_000_000_000_000 + u64::from(n) * 10_000_000_000,
            next_number: 1001,
            last_time: now,
            bucket: Bucket::new(bucket.0, bucket.1),
        };
        shop.location_id = shop.id();
        let mut made = 0u32;
        while made < skus {
            let p = shop.products.len();
            let count = rng.random_range(1..=3u32).min(skus - made);
            let created = start - rng.random_range(0..30 * 86_400);
            let id = shop.id();
            let mut product = Product {
                id,
                title: format!("Product {} of shop {n}", p + 1),
                handle: format!("product-{}", p + 1),
                vendor: format!("Vendor {}", rng.random_range(1..=4)),
                status: "ACTIVE",
                created_at: created,
                updated_at: created,
                variants: Vec::new(),
            };
            for k in 0..count {
                made += 1;
                let variant_id = shop.id();
                let item_id = shop.id();
                let available = rng.random_range(20..=200);
                product.variants.push(Variant {
                    id: variant_id,
                    sku: format!("SHP-{made:04}"),
                    title: if count == 1 {
                        "Default Title".into()
                    } else {
                        SIZES[k as usize].into()
                    },
                    price_cents: rng.random_range(5..=60) * 100 - 1,
                    item_id,
                    created_at: created,
                    updated_at: created,
                });
                shop.levels.insert(
                    item_id,
                    Level {
                        available,
                        committed: 0,
                        on_hand: available,
                        updated_at: created,
                    },
                );
                shop.variants.push((p, k as usize));
            }
            shop.products.push(product);
        }
        for k in 1..=(orders / 3).max(1) {
            let id = shop.id();
            shop.customers.push(Customer {
                id,
                first: "Buyer".into(),
                last: format!("{n}-{k}"),
                email: format!("buyer-{n}-{k}@example.com"),
            });
        }
        let mut times: Vec<i64> = (0..orders).map(|_| rng.random_range(start..now)).collect();
        times.sort_unstable();
        for created in times {
            let age_days = (now - created) / 86_400;
            let fate = if age_days > 10 {
                pick(
                    rng,
                    &[
                        (Fate::Delivered, 78),
                        (Fate::Returned, 7),
                        (Fate::Goodwill, 5),
                        (Fate::Cancelled, 10),
                    ],
                )
            } else {
                pick(
                    rng,
                    &[
                        (Fate::Pending, 5),
                        (Fate::Paid, 25),
                        (Fate::InTransit, 25),
                        (Fate::Delivered, 30),
                        (Fate::Cancelled, 15),
                    ],
                )
            };
            let updated = (created + rng.random_range(3_600..5 * 86_400))
                .min(now - 1)
                .max(created);
            let customer =
                (!rng.random_bool(0.05)).then(|| rng.random_range(0..shop.customers.len()));
            shop.place(rng, created, updated, fate, customer);
        }
        shop
    }

    pub fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn variant(&self, flat: usize) -> &Variant {
        let (p, k) = self.variants[flat];
        &self.products[p].variants[k]
    }

    pub fn level_mut(&mut self, flat: usize) -> &mut Level {
        let item = self.variant(flat).item_id;
        self.levels.entry(item).or_default()
    }

    /// A time for a change made now: the wall clock in whole seconds, never earlier than the last change.
    pub fn stamp(&mut self, clock: i64) -> i64 {
        self.last_time = self.last_time.max(clock);
        self.last_time
    }

    /// Places an order of 1–3 distinct variants (1–2 units each) that are in stock and plays it forward to
    /// `fate`; none when nothing is left to sell.
    pub fn place(
        &mut self,
        rng: &mut StdRng,
        created: i64,
        updated: i64,
        fate: Fate,
        customer: Option<usize>,
    ) -> Option<u64> {
        let wanted = rng.random_range(1..=3);
        let mut lines: Vec<Line> = Vec::new();
        for _ in 0..wanted {
            let flat = rng.random_range(0..self.variants.len());
            let quantity = rng.random_range(1..=2);
            if lines.iter().any(|l| l.variant == flat) || self.level_mut(flat).available < quantity
            {
                continue;
            }
            let id = self.id();
            lines.push(Line {
                id,
                variant: flat,
                quantity,
                unit_cents: self.variant(flat).price_cents,
                discount_cents: 0,
            });
        }
        if lines.is_empty() {
            return None;
        }
        let gross: i64 = lines.iter().map(|l| l.unit_cents * l.quantity).sum();
        if rng.random_bool(0.2) {
            // 10 % off the order, allocated to the lines in proportion, the rounding rest on the last one.
            let discount = gross / 10;
            let mut given = 0;
            let last = lines.len() - 1;
            for (i, l) in lines.iter_mut().enumerate() {
                l.discount_cents = if i == last {
                    discount - given
                } else {
                    l.unit_cents * l.quantity * discount / gross
                };
                given += l.discount_cents;
            }
        }
        let discount: i64 = lines.iter().map(|l| l.discount_cents).sum();
        let id = self.id();
        let number = self.next_number;
        self.next_number += 1;
        let order = Order {
            id,
            number,
            created_at: created,
            updated_at: created,
            cancelled_at: None,
            paid: fate != Fate::Pending,
            customer,
            shipping_cents: if gross >= 3_500 { 0 } else { 499 },
            tax_cents: (gross - discount) * 8 / 100,
            lines,
            refunds: Vec::new(),
            fulfillments: Vec::new(),
        };
        // Selling commits the units; what follows moves them as Shopify would.
        for l in &order.lines {
            let level = self.level_mut(l.variant);
            level.available -= l.quantity;
            level.committed += l.quantity;
            level.updated_at = created;
        }
        self.orders.insert(id, order);
        match fate {
            Fate::Pending | Fate::Paid => {}
            Fate::Cancelled => {
                self.cancel(id, updated);
            }
            Fate::InTransit | Fate::Delivered | Fate::Returned | Fate::Goodwill => {
                let shipped = (created + rng.random_range(600..86_400)).min(updated);
                self.fulfill(rng, id, shipped);
                let delivered = fate != Fate::InTransit;
                if let Some(o) = self.orders.get_mut(&id) {
                    for f in &mut o.fulfillments {
                        if delivered {
                            f.delivered_at = Some(updated);
                        }
                        f.updated_at = updated;
                    }
                    o.updated_at = updated;
                }
                match fate {
                    Fate::Returned => {
                        self.return_one(id, updated);
                    }
                    Fate::Goodwill => {
                        self.goodwill(id, updated);
                    }
                    _ => {}
                }
            }
        }
        Some(id)
    }

    /// Cancels an open order: its units go back to stock and a paid order is refunded in full.
    pub fn cancel(&mut self, id: u64, at: i64) -> bool {
        let Some(order) = self.orders.get(&id).filter(|o| o.open()).cloned() else {
            return false;
        };
        for l in &order.lines {
            let level = self.level_mut(l.variant);
            level.available += l.quantity;
            level.committed -= l.quantity;
            level.updated_at = at;
        }
        let refund = if order.paid {
            let refund_id = self.id();
            let transaction_id = self.id();
            let mut lines = Vec::new();
            for l in &order.lines {
                let line_id = self.id();
                lines.push(RefundLine {
                    id: line_id,
                    line_id: l.id,
                    quantity: l.quantity,
                    restock_type: "CANCEL",
                    subtotal_cents: l.unit_cents * l.quantity - l.discount_cents,
                });
            }
            Some(Refund {
                id: refund_id,
                transaction_id,
                created_at: at,
                note: Some("Order cancelled".into()),
                lines,
                amount_cents: order.total_cents(),
            })
        } else {
            None
        };
        if let Some(o) = self.orders.get_mut(&id) {
            o.cancelled_at = Some(at);
            o.updated_at = at;
            o.refunds.extend(refund);
        }
        true
    }

    /// Ships every unit of an open, paid order: committed units leave the shelf.
    pub fn fulfill(&mut self, rng: &mut StdRng, id: u64, at: i64) -> Option<u64> {
        let order = self
            .orders
            .get(&id)
            .filter(|o| o.open() && o.paid)
            .cloned()?;
        for l in &order.lines {
            let level = self.level_mut(l.variant);
            level.committed -= l.quantity;
            level.on_hand -= l.quantity;
            level.updated_at = at;
        }
        let fulfillment_id = self.id();
        let mut lines = Vec::new();
        for l in &order.lines {
            let fli = self.id();
            lines.push((fli, l.id, l.quantity));
        }
        let company = TRACKING_COMPANIES[rng.random_range(0..TRACKING_COMPANIES.len())];
        let fulfillment = Fulfillment {
            id: fulfillment_id,
            created_at: at,
            updated_at: at,
            delivered_at: None,
            tracking_company: company.into(),
            tracking_number: format!("1Z{:016}", rng.random_range(0..10_000_000_000_000_000u64)),
            lines,
        };
        if let Some(o) = self.orders.get_mut(&id) {
            o.fulfillments.push(fulfillment);
            o.updated_at = at;
        }
        Some(fulfillment_id)
    }

    /// Refunds one unit of the first line of a shipped order that has units left to return; the unit goes
    /// back to stock.
    pub fn return_one(&mut self, id: u64, at: i64) -> Option<u64> {
        let order = self
            .orders
            .get(&id)
            .filter(|o| o.fulfilled() && o.cancelled_at.is_none())
            .cloned()?;
        let line = order
            .lines
            .iter()
            .find(|l| order.returned(l.id) < l.quantity)?;
        // The unit's price net of its share of the discount, never more than is left to refund.
        let net = (line.unit_cents * line.quantity - line.discount_cents) / line.quantity;
        let amount = net.min(order.total_cents() - order.refunded_cents());
        if amount <= 0 {
            return None;
        }
        let level = self.level_mut(line.variant);
        level.available += 1;
        level.on_hand += 1;
        level.updated_at = at;
        let refund_id = self.id();
        let transaction_id = self.id();
        let refund_line = self.id();
        let refund = Refund {
            id: refund_id,
            transaction_id,
            created_at: at,
            note: Some("Returned".into()),
            lines: vec![RefundLine {
                id: refund_line,
                line_id: line.id,
                quantity: 1,
                restock_type: "RETURN",
                subtotal_cents: amount,
            }],
            amount_cents: amount,
        };
        if let Some(o) = self.orders.get_mut(&id) {
            o.refunds.push(refund);
            o.updated_at = at;
        }
        Some(refund_id)
    }

    /// Refunds part of the money of a shipped order without a return.
    pub fn goodwill(&mut self, id: u64, at: i64) -> Option<u64> {
        let order = self.orders.get(&id)?.clone();
        let amount = 500.min(order.total_cents() - order.refunded_cents());
        if amount <= 0 || order.cancelled_at.is_some() {
            return None;
        }
        let refund_id = self.id();
        let transaction_id = self.id();
        if let Some(o) = self.orders.get_mut(&id) {
            o.refunds.push(Refund {
                id: refund_id,
                transaction_id,
                created_at: at,
                note: Some("Goodwill".into()),
                lines: Vec::new(),
                amount_cents: amount,
            });
            o.updated_at = at;
        }
        Some(refund_id)
    }

    /// Adds units to a variant's available stock.
    pub fn restock(&mut self, flat: usize, units: i64, at: i64) {
        let level = self.level_mut(flat);
        level.available += units;
        level.on_hand += units;
        level.updated_at = at;
    }

    /// Sets a quantity of an inventory item (`available` or `on_hand`); the other follows by the same delta.
    pub fn set_quantity(&mut self, item: u64, name: &str, quantity: i64, at: i64) -> Option<i64> {
        let level = self.levels.get_mut(&item)?;
        let delta = match name {
            "on_hand" => quantity - level.on_hand,
            _ => quantity - level.available,
        };
        level.available += delta;
        level.on_hand += delta;
        level.updated_at = at;
        Some(delta)
    }

    /// Raises the price of a product's first variant by one unit of currency.
    pub fn reprice(&mut self, p: usize, at: i64) -> Option<u64> {
        let product = self.products.get_mut(p)?;
        let variant = product.variants.first_mut()?;
        variant.price_cents += 100;
        variant.updated_at = at;
        product.updated_at = at;
        Some(product.id)
    }

    /// Which variant (flat index) an inventory item belongs to.
    pub fn variant_of_item(&self, item: u64) -> Option<usize> {
        (0..self.variants.len()).find(|&k| self.variant(k).item_id == item)
    }

    /// Available units per SKU.
    pub fn stock(&self) -> BTreeMap<String, i64> {
        self.sku_levels(|l| l.available)
    }

    pub fn on_hand(&self) -> BTreeMap<String, i64> {
        self.sku_levels(|l| l.on_hand)
    }

    fn sku_levels(&self, f: impl Fn(&Level) -> i64) -> BTreeMap<String, i64> {
        (0..self.variants.len())
            .map(|k| {
                let v = self.variant(k);
                (v.sku.clone(), self.levels.get(&v.item_id).map_or(0, &f))
            })
            .collect()
    }
}

fn pick<T: Copy>(rng: &mut StdRng, weights: &[(T, u32)]) -> T {
    let total: u32 = weights.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for (value, w) in weights {
        if roll < *w {
            return *value;
        }
        roll -= w;
    }
    weights[0].0
}
