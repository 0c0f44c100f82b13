use super::*;
use chrono::{Datelike, Timelike};
use creatorflow_core::ingest::{OrderStatus, OrderUpsert};
use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hasher};
use std::sync::OnceLock;

fn usd() -> Currency {
    Currency::parse("USD").expect("USD is known")
}

fn spec(orders: usize, skus: usize, days: u32, seed: u64) -> DemoSpec {
    DemoSpec {
        workspace_id: WorkspaceId(1),
        channels: vec![
            (ConnectionId(11), ChannelKind::TiktokShop),
            (ConnectionId(12), ChannelKind::Shopify),
            (ConnectionId(13), ChannelKind::Whatnot),
            (ConnectionId(14), ChannelKind::Manual),
        ],
        skus,
        orders,
        seed,
        start: Utc
            .with_ymd_and_hms(2025, 3, 3, 0, 0, 0)
            .single()
            .expect("valid date"),
        days,
        currency: usd(),
    }
}

fn digest(demo: &Demo) -> (u64, usize) {
    let mut hasher = DefaultHasher::new();
    let mut count = 0;
    for event in demo.events() {
        hasher.write(&serde_json::to_vec(&event).expect("events serialize"));
        count += 1;
    }
    (hasher.finish(), count)
}

#[test]
fn the_same_spec_gives_the_same_bytes_and_another_seed_does_not() {
    let a = digest(&Demo::new(spec(20_000, 800, 45, 42)));
    let b = digest(&Demo::new(spec(20_000, 800, 45, 42)));
    assert_eq!(a, b);
    assert!(a.1 > 20_000 * 4, "{} events", a.1);
    let c = digest(&Demo::new(spec(20_000, 800, 45, 43)));
    assert_ne!(a.0, c.0);
}

#[test]
fn counts_are_exact_and_nothing_without_channels() {
    let demo = Demo::new(spec(3_000, 257, 20, 5));
    let skus: usize = demo
        .catalog()
        .map(|e| match e.payload {
            Payload::ProductUpserted(p) => p.variants.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(skus, 257);
    assert_eq!(demo.opening_stock().count(), 2 * 257);
    let orders = demo
        .activity()
        .filter(|e| matches!(e.payload, Payload::OrderUpserted(_)))
        .count();
    assert_eq!(orders, 3_000);

    let mut empty = spec(3_000, 50, 20, 5);
    empty.channels.clear();
    let demo = Demo::new(empty);
    assert_eq!(demo.activity().count(), 0);
    assert_eq!(demo.catalog().flat_map(|e| product_skus(&e)).count(), 50);
}

fn product_skus(e: &IngestEvent) -> Vec<String> {
    match &e.payload {
        Payload::ProductUpserted(p) => p.variants.iter().map(|v| v.sku.clone()).collect(),
        _ => Vec::new(),
    }
}

/// What one pass over a 50K-order demo found; each test below checks one property.
#[derive(Debug, Default)]
struct Stats {
    problems: HashMap<&'static str, Vec<String>>,
    orders: usize,
    cancelled: usize,
    delivered: HashSet<String>,
    returned: HashSet<String>,
    by_hour_of_day: [u64; 24],
    by_weekday: [u64; 7],
    /// SKU → hour index → units.
    hourly_units: HashMap<String, HashMap<i64, i64>>,
    orders_per_customer: HashMap<String, u32>,
    oversold_skus: usize,
    resale_conditions: HashSet<String>,
    restocks: usize,
    ad_events: usize,
    content_events: usize,
    funnel_events: usize,
    shipments: usize,
    spike_skus: Vec<String>,
    start: i64,
    days: i64,
}

impl Stats {
    fn problem(&mut self, check: &'static str, detail: String) {
        let list = self.problems.entry(check).or_default();
        if list.len() < 5 {
            list.push(detail);
        } else {
            list.push(String::new());
        }
    }

    fn assert_clean(&self, check: &str) {
        let found = self.problems.get(check).map_or(0, Vec::len);
        assert_eq!(found, 0, "{check}: {:?}", self.problems.get(check));
    }
}

#[derive(Debug)]
struct Track {
    last_updated: DateTime<Utc>,
    placed: DateTime<Utc>,
    paid: Option<DateTime<Utc>>,
    fulfilled: Option<DateTime<Utc>>,
    delivered: Option<DateTime<Utc>>,
    status: OrderStatus,
}

fn check_totals(stats: &mut Stats, o: &OrderUpsert) {
    let subtotal: i64 = o
        .lines
        .iter()
        .map(|l| l.quantity * l.unit_price_minor)
        .sum();
    let line_discounts: i64 = o.lines.iter().map(|l| l.discount_minor).sum();
    if o.subtotal_minor != subtotal
        || o.discount_minor != line_discounts
        || o.total_minor
            != o.subtotal_minor - o.discount_minor + o.shipping_charged_minor + o.tax_minor
        || o.lines.iter().any(|l| {
            l.quantity < 1
                || l.discount_minor < 0
                || l.discount_minor > l.quantity * l.unit_price_minor
        })
        || o.fees_minor < 0
        || o.tax_minor < 0
    {
        stats.problem("totals", format!("{o:?}"));
    }
}

fn stats() -> &'static Stats {
    static STATS: OnceLock<Stats> = OnceLock::new();
    STATS.get_or_init(|| {
        let demo = Demo::new(spec(50_000, 2_000, 60, 42));
        let mut s = Stats {
            start: demo.spec().start.timestamp(),
            days: 60,
            spike_skus: demo.viral_spikes().iter().map(|v| v.sku.clone()).collect(),
            ..Stats::default()
        };
        let mut ids = HashSet::new();
        let mut catalog = HashSet::new();
        let mut resale = HashSet::new();
        for e in demo.catalog() {
            if let Payload::ProductUpserted(p) = &e.payload {
                for v in &p.variants {
                    catalog.insert(v.sku.clone());
                    if let Some(c) = &v.condition
                        && c != "new"
                    {
                        resale.insert(c.clone());
                    }
                    if v.price_minor <= 0
                        || v.unit_cost_minor
                            .is_none_or(|c| c <= 0 || c >= v.price_minor)
                    {
                        s.problem("catalog", format!("{v:?}"));
                    }
                }
            }
            ids.insert(e.source_event_id.clone());
        }
        s.resale_conditions = resale;
        let mut free: HashMap<String, i64> = HashMap::new();
        for e in demo.opening_stock() {
            if let Payload::InventorySet(i) = &e.payload {
                free.insert(i.sku.clone(), i.on_hand);
            }
            ids.insert(e.source_event_id.clone());
        }
        let mut orders: HashMap<String, Track> = HashMap::new();
        let mut lines_of: HashMap<String, Vec<(String, i64)>> = HashMap::new();
        let mut oversold = HashSet::new();
        let mut last_at = None;
        for e in demo.activity() {
            if !ids.insert(e.source_event_id.clone()) {
                s.problem("unique ids", e.source_event_id.clone());
            }
            if last_at.is_some_and(|t| e.occurred_at < t) {
                s.problem("chronological", e.source_event_id.clone());
            }
            last_at = Some(e.occurred_at);
            match &e.payload {
                Payload::OrderUpserted(o) => {
                    s.orders += 1;
                    check_totals(&mut s, o);
                    if o.paid_at.is_some_and(|p| p < o.placed_at) || o.updated_at < o.placed_at {
                        s.problem("monotonic", format!("{o:?}"));
                    }
                    let placed = o.placed_at;
                    s.by_hour_of_day[placed.hour() as usize] += 1;
                    s.by_weekday[placed.weekday().num_days_from_monday() as usize] += 1;
                    let hour = (placed.timestamp() - s.start).div_euclid(3_600);
                    for l in &o.lines {
                        if !catalog.contains(&l.sku) {
                            s.problem("known skus", l.sku.clone());
                        }
                        *s.hourly_units
                            .entry(l.sku.clone())
                            .or_default()
                            .entry(hour)
                            .or_default() += l.quantity;
                        let f = free.entry(l.sku.clone()).or_default();
                        *f -= l.quantity;
                        if *f < 0 {
                            oversold.insert(l.sku.clone());
                        }
                    }
                    lines_of.insert(
                        o.external_id.clone(),
                        o.lines
                            .iter()
                            .map(|l| (l.sku.clone(), l.quantity))
                            .collect(),
                    );
                    if let Some(c) = &o.customer {
                        let key = c.email.clone().unwrap_or_else(|| c.external_id.clone());
                        *s.orders_per_customer.entry(key).or_default() += 1;
                    }
                    if orders.contains_key(&o.external_id) {
                        s.problem("unique orders", o.external_id.clone());
                    }
                    orders.insert(
                        o.external_id.clone(),
                        Track {
                            last_updated: o.updated_at,
                            placed: o.placed_at,
                            paid: o.paid_at,
                            fulfilled: None,
                            delivered: None,
                            status: o.status,
                        },
                    );
                }
                Payload::OrderStatusChanged(c) => {
                    let Some(t) = orders.get_mut(&c.external_id) else {
                        s.problem("upserted first", c.external_id.clone());
                        continue;
                    };
                    let before = t.last_updated;
                    let ok_order = match c.status {
                        OrderStatus::Paid => t.status == OrderStatus::Pending && c.at >= t.placed,
                        OrderStatus::Fulfilled => {
                            t.status == OrderStatus::Paid && t.paid.is_some_and(|p| c.at >= p)
                        }
                        OrderStatus::Delivered => {
                            t.status == OrderStatus::Fulfilled
                                && t.fulfilled.is_some_and(|f| c.at >= f)
                        }
                        OrderStatus::Cancelled => {
                            matches!(t.status, OrderStatus::Pending | OrderStatus::Paid)
                        }
                        OrderStatus::Refunded => {
                            matches!(t.status, OrderStatus::Delivered | OrderStatus::Fulfilled)
                        }
                        OrderStatus::Pending => false,
                    };
                    if c.updated_at <= before || c.at <= before || !ok_order {
                        s.problem("monotonic", format!("{c:?} after {t:?}"));
                    }
                    t.last_updated = c.updated_at;
                    t.status = c.status;
                    match c.status {
                        OrderStatus::Paid => t.paid = Some(c.at),
                        OrderStatus::Fulfilled => t.fulfilled = Some(c.at),
                        OrderStatus::Delivered => {
                            t.delivered = Some(c.at);
                            s.delivered.insert(c.external_id.clone());
                        }
                        OrderStatus::Cancelled => {
                            s.cancelled += 1;
                            if t.fulfilled.is_some() {
                                s.problem("cancel before fulfilment", c.external_id.clone());
                            }
                            for (sku, q) in lines_of.get(&c.external_id).into_iter().flatten() {
                                *free.entry(sku.clone()).or_default() += q;
                            }
                        }
                        _ => {}
                    }
                }
                Payload::RefundRecorded(r) => {
                    let Some(t) = orders.get(&r.order_external_id) else {
                        s.problem("upserted first", r.order_external_id.clone());
                        continue;
                    };
                    if r.kind == "return" && t.delivered.is_some() {
                        s.returned.insert(r.order_external_id.clone());
                    }
                    if r.amount_minor <= 0 {
                        s.problem("refund amount", format!("{r:?}"));
                    }
                    for l in &r.lines {
                        let bought = lines_of
                            .get(&r.order_external_id)
                            .and_then(|ls| ls.iter().find(|(sku, _)| *sku == l.sku))
                            .map_or(0, |x| x.1);
                        if l.quantity < 1 || l.quantity > bought {
                            s.problem("refund lines", format!("{r:?}"));
                        }
                        if l.sellable {
                            *free.entry(l.sku.clone()).or_default() += l.quantity;
                        }
                    }
                }
                Payload::ShipmentRecorded(sh) => {
                    s.shipments += 1;
                    if !orders.contains_key(&sh.order_external_id) {
                        s.problem("upserted first", sh.order_external_id.clone());
                    }
                    if sh.cost_minor <= 0 {
                        s.problem("shipment cost", format!("{sh:?}"));
                    }
                }
                Payload::InventoryAdjusted(a) => {
                    s.restocks += 1;
                    if !catalog.contains(&a.sku) || a.delta <= 0 {
                        s.problem("known skus", a.sku.clone());
                    }
                    *free.entry(a.sku.clone()).or_default() += a.delta;
                }
                Payload::AdSpendRecorded(a) => {
                    s.ad_events += 1;
                    if a.spend_minor <= 0 || a.clicks < a.conversions || a.impressions < a.clicks {
                        s.problem("ads", format!("{a:?}"));
                    }
                }
                Payload::ContentMetricsRecorded(c) => {
                    s.content_events += 1;
                    if c.views < c.product_clicks || c.views < c.likes {
                        s.problem("content", format!("{c:?}"));
                    }
                }
                Payload::FunnelEventRecorded(f) => {
                    s.funnel_events += 1;
                    if !creatorflow_core::ingest::FUNNEL_STAGES.contains(&f.stage.as_str()) {
                        s.problem("funnel", format!("{f:?}"));
                    }
                }
                _ => {}
            }
        }
        s.oversold_skus = oversold.len();
        s
    })
}

#[test]
fn order_totals_add_up() {
    let s = stats();
    assert_eq!(s.orders, 50_000);
    s.assert_clean("totals");
    s.assert_clean("catalog");
}

#[test]
fn lifecycle_timestamps_only_move_forward() {
    let s = stats();
    s.assert_clean("monotonic");
    s.assert_clean("cancel before fulfilment");
    s.assert_clean("chronological");
}

#[test]
fn later_events_refer_to_orders_upserted_earlier() {
    let s = stats();
    s.assert_clean("upserted first");
    s.assert_clean("unique orders");
    s.assert_clean("unique ids");
}

#[test]
fn every_sku_sold_or_restocked_is_in_the_catalog() {
    let s = stats();
    s.assert_clean("known skus");
    s.assert_clean("refund lines");
    assert!(s.restocks > 0);
    // Sold-out items are replaced by others; overselling stays a rare exception.
    assert!(s.oversold_skus <= 20, "{} SKUs oversold", s.oversold_skus);
    let grades: HashSet<&str> = s.resale_conditions.iter().map(String::as_str).collect();
    assert!(
        grades.is_superset(&HashSet::from(["S", "A", "B", "C"])),
        "{grades:?}"
    );
}

#[test]
fn cancellation_and_return_rates_stay_in_bounds() {
    let s = stats();
    let cancel = s.cancelled as f64 / s.orders as f64;
    assert!(
        (CANCEL_RATE_BOUNDS.0..=CANCEL_RATE_BOUNDS.1).contains(&cancel),
        "cancellation rate {cancel}"
    );
    let returns = s.returned.len() as f64 / s.delivered.len() as f64;
    assert!(
        (RETURN_RATE_BOUNDS.0..=RETURN_RATE_BOUNDS.1).contains(&returns),
        "return rate {returns}"
    );
    s.assert_clean("refund amount");
}

#[test]
fn evenings_and_weekends_are_busier() {
    let s = stats();
    let evening: u64 = s.by_hour_of_day[19..=21].iter().sum();
    let early: u64 = s.by_hour_of_day[3..=5].iter().sum();
    assert!(
        evening > 5 * early,
        "evening {evening} vs early morning {early}"
    );
    // 60 days from a Monday: every weekday occurs a whole number of times (8 or 9).
    let mut days_per_weekday = [0_u64; 7];
    for d in 0..s.days {
        let wd = Utc
            .timestamp_opt(s.start + d * 86_400, 0)
            .single()
            .expect("valid")
            .weekday();
        days_per_weekday[wd.num_days_from_monday() as usize] += 1;
    }
    let per_day = |i: usize| s.by_weekday[i] as f64 / days_per_weekday[i] as f64;
    let weekend = (per_day(5) + per_day(6)) / 2.0;
    let midweek = (per_day(1) + per_day(2)) / 2.0;
    assert!(
        weekend > 1.15 * midweek,
        "weekend {weekend} vs midweek {midweek}"
    );
}

#[test]
fn a_viral_spike_sells_far_above_its_usual_rate() {
    let s = stats();
    assert!(!s.spike_skus.is_empty());
    let mut best = (String::new(), 0.0);
    for (sku, hours) in &s.hourly_units {
        let mut daily = vec![0_i64; s.days as usize];
        for (h, units) in hours {
            if let Some(d) = daily.get_mut((*h / 24) as usize) {
                *d += units;
            }
        }
        daily.sort_unstable();
        let median_hourly = daily[daily.len() / 2] as f64 / 24.0;
        let peak = hours.values().copied().max().unwrap_or(0) as f64;
        if peak >= 5.0 && median_hourly > 0.0 && peak / median_hourly > best.1 {
            best = (sku.clone(), peak / median_hourly);
        }
    }
    assert!(best.1 > 10.0, "best spike {best:?}");
    assert!(
        s.spike_skus.contains(&best.0),
        "{best:?} not among {:?}",
        s.spike_skus
    );
}

#[test]
fn a_fair_share_of_customers_come_back() {
    let s = stats();
    let customers = s.orders_per_customer.len() as f64;
    let repeat = s.orders_per_customer.values().filter(|n| **n >= 2).count() as f64 / customers;
    assert!(
        (0.15..=0.60).contains(&repeat),
        "repeat-customer share {repeat}"
    );
    // Power law: the most loyal buyers order many times.
    let top = s.orders_per_customer.values().copied().max().unwrap_or(0);
    assert!(top >= 8, "top customer has {top} orders");
}

#[test]
fn marketing_streams_are_present_and_sane() {
    let s = stats();
    assert!(s.ad_events >= 60, "{} ad events", s.ad_events);
    assert!(
        s.content_events >= 60 * 3,
        "{} content events",
        s.content_events
    );
    assert!(s.funnel_events > 500, "{} funnel events", s.funnel_events);
    assert!(s.shipments > s.orders, "{} shipments", s.shipments);
    s.assert_clean("ads");
    s.assert_clean("content");
    s.assert_clean("funnel");
}

#[test]
fn out_of_range_shapes_are_clamped() {
    let shape = Shape {
        cancel_rate: 0.5,
        return_rate: f64::NAN,
        ..Shape::default()
    };
    let demo = Demo::with_shape(spec(10, 10, 2, 1), shape);
    assert_eq!(demo.shape().cancel_rate, CANCEL_RATE_BOUNDS.1);
    assert_eq!(demo.shape().return_rate, Shape::default().return_rate);
}

#[test]
fn other_currencies_get_local_prices_and_no_sales_tax() {
    let mut s = spec(500, 100, 10, 9);
    s.currency = Currency::parse("JPY").expect("known");
    let demo = Demo::new(s);
    let prices: Vec<i64> = demo
        .catalog()
        .flat_map(|e| match e.payload {
            Payload::ProductUpserted(p) => p.variants.into_iter().map(|v| v.price_minor).collect(),
            _ => Vec::new(),
        })
        .collect();
    assert!(prices.iter().all(|p| *p >= 100), "{prices:?}");
    for e in demo.activity() {
        if let Payload::OrderUpserted(o) = e.payload {
            assert_eq!(o.tax_minor, 0);
            assert_eq!(o.currency, "JPY");
        }
    }
}
