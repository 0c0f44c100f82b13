//! The engine against an independent reference: a seeded multi-channel event stream (cancellations, late
//! and reordered updates, partial refunds, returns, three currencies, orders at 23:30 local across DST
//! changes and at the edges of Asia/Kolkata days) goes through the real write path into a real database;
//! every total is then recomputed straight from the raw rows with plain SQL and simple Rust written apart
//! from the engine, and must equal the engine's for every granularity, zone and filter, to the minor unit.
//! SQLite always; PostgreSQL too when `CREATORFLOW_TEST_PG_URL` names a server.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use creatorflow_analytics::kpi::{self, breakdown};
use creatorflow_analytics::totals::Totals;
use creatorflow_analytics::{Analytics, Comparison, Filters, Granularity, Period, Query, Value};
use creatorflow_core::ingest::*;
use creatorflow_core::{Currency, EventBus, Slug, Timezone, WorkspaceId};
use creatorflow_ingest::Ingest;
use creatorflow_store::{CredentialCipher, DbOptions, NewWorkspace, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, Statement};
use std::collections::{BTreeMap, HashMap, HashSet};

struct Db {
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
    url: String,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            psql(
                admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

fn psql(url: &str, sql: &str) {
    let out = std::process::Command::new("psql")
        .args([url, "-qc", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn backends() -> Vec<Db> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
    let mut v = vec![Db {
        _dir: dir,
        pg: None,
        url,
    }];
    if let Ok(admin) = std::env::var("CREATORFLOW_TEST_PG_URL")
        && !admin.is_empty()
    {
        let name = format!(
            "cf_analytics_{}_{}",
            std::process::id(),
            Utc::now().timestamp_micros()
        );
        psql(&admin, &format!("CREATE DATABASE {name}"));
        if let Ok(path) = std::env::var("TEST_PG_RUNS_FILE") {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(f, "{name}");
            }
        }
        let base = admin.rsplit_once('/').map(|(b, _)| b).expect("url");
        v.push(Db {
            _dir: tempfile::tempdir().expect("tempdir"),
            url: format!("{base}/{name}"),
            pg: Some((admin, name)),
        });
    }
    v
}

struct Env {
    ingest: Ingest,
    ws: i64,
    seq: u64,
}

impl Env {
    async fn apply(&mut self, source: Source, payload: Payload, at: DateTime<Utc>) {
        self.seq += 1;
        let e = IngestEvent {
            workspace_id: WorkspaceId(self.ws),
            source,
            source_event_id: format!("ev-{}", self.seq),
            actor: "test".into(),
            occurred_at: at,
            payload,
        };
        self.ingest
            .apply(e.clone())
            .await
            .unwrap_or_else(|err| panic!("event {} refused: {err}: {e:?}", self.seq));
    }
}

/// (SKU, brand, category, condition, unit cost).
type Sku = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<i64>,
);

const SKUS: [Sku; 6] = [
    ("TEE-S", "Acme", "tops", Some("new"), Some(800)),
    ("TEE-M", "Acme", "tops", Some("new"), Some(900)),
    ("BAG-1", "Luxx", "bags", Some("S"), Some(15000)),
    ("BAG-2", "Luxx", "bags", Some("A"), None),
    ("CAP", "Acme", "hats", None, Some(300)),
    ("RING", "Luxx", "jewelry", Some("B"), Some(4000)),
];

fn instant(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("instant")
        .with_timezone(&Utc)
}

/// Orders the edges must get right: 23:30 New York on both sides of both DST changes, the repeated 01:30 of
/// the fall-back, and a quarter hour either side of midnight in Kolkata.
const EDGES: [&str; 8] = [
    "2026-03-07T23:30:00-05:00",
    "2026-03-08T23:30:00-04:00",
    "2026-10-31T23:30:00-04:00",
    "2026-11-01T01:30:00-04:00",
    "2026-11-01T01:30:00-05:00",
    "2026-11-01T23:30:00-05:00",
    "2026-03-01T23:45:00+05:30",
    "2026-03-02T00:15:00+05:30",
];

async fn seed(env: &mut Env, rng: &mut StdRng) {
    let t0 = instant("2026-01-01T00:00:00Z");
    for (sku, brand, category, condition, cost) in SKUS {
        env.apply(
            Source::Manual,
            Payload::ProductUpserted(ProductUpsert {
                external_id: None,
                title: format!("Product {sku}"),
                brand: Some(brand.into()),
                category: Some(category.into()),
                status: "active".into(),
                variants: vec![VariantUpsert {
                    sku: sku.into(),
                    external_id: None,
                    title: sku.into(),
                    condition: condition.map(str::to_owned),
                    barcode: None,
                    currency: "USD".into(),
                    price_minor: 2500,
                    unit_cost_minor: cost,
                }],
            }),
            t0,
        )
        .await;
        env.apply(
            Source::Manual,
            Payload::InventorySet(InventorySet {
                sku: sku.into(),
                location: None,
                on_hand: 100_000,
                reason: Some("count".into()),
            }),
            t0,
        )
        .await;
    }
    // Placement times: the edges, then random instants over two windows around the DST changes.
    let mut times: Vec<DateTime<Utc>> = EDGES.iter().map(|s| instant(s)).collect();
    let windows = [
        (instant("2026-02-20T00:00:00Z"), 30 * 86_400),
        (instant("2026-10-20T00:00:00Z"), 25 * 86_400),
    ];
    for i in 0..260 {
        let (start, span) = windows[i % 2];
        times.push(start + Duration::seconds(rng.random_range(0..span)));
    }
    let mut later: Vec<(Source, Payload, DateTime<Utc>)> = Vec::new();
    for (n, placed) in times.into_iter().enumerate() {
        let ext = format!("o-{n}");
        let source = if n % 3 == 0 {
            Source::Csv
        } else {
            Source::Manual
        };
        let currency = match rng.random_range(0..20) {
            0..=14 => "USD",
            15..=18 => "EUR",
            _ => "JPY",
        };
        let lines: Vec<OrderLineIn> = (0..rng.random_range(1..=3))
            .map(|_| {
                let sku = SKUS[rng.random_range(0..SKUS.len())].0;
                OrderLineIn {
                    external_id: None,
                    sku: sku.into(),
                    title: sku.into(),
                    quantity: rng.random_range(1..=3),
                    unit_price_minor: rng.random_range(500..20_000),
                    discount_minor: rng.random_range(0..300),
                }
            })
            .collect();
        let subtotal: i64 = lines.iter().map(|l| l.quantity * l.unit_price_minor).sum();
        let discount = rng.random_range(0..500);
        let shipping = rng.random_range(0..900);
        let tax = rng.random_range(0..700);
        let fees = rng.random_range(0..400);
        let status = match rng.random_range(0..10) {
            0 => OrderStatus::Pending,
            1..=3 => OrderStatus::Paid,
            4..=6 => OrderStatus::Fulfilled,
            7..=8 => OrderStatus::Delivered,
            _ => OrderStatus::Cancelled,
        };
        let fulfilled_at = matches!(status, OrderStatus::Fulfilled | OrderStatus::Delivered)
            .then(|| placed + Duration::minutes(rng.random_range(30..5000)));
        let delivered_at = (status == OrderStatus::Delivered)
            .then(|| placed + Duration::minutes(rng.random_range(5000..20_000)));
        let customer = (rng.random_range(0..10) < 8).then(|| {
            let c = rng.random_range(0..40);
            CustomerRef {
                external_id: format!("buyer-{c}"),
                email: Some(format!("buyer{c}@example.com")),
                display_name: None,
            }
        });
        let order = OrderUpsert {
            external_id: ext.clone(),
            status,
            currency: currency.into(),
            placed_at: placed,
            paid_at: Some(placed),
            fulfilled_at,
            delivered_at,
            cancelled_at: (status == OrderStatus::Cancelled).then_some(placed),
            updated_at: placed,
            customer,
            subtotal_minor: subtotal,
            discount_minor: discount,
            shipping_charged_minor: shipping,
            tax_minor: tax,
            total_minor: subtotal - discount + shipping + tax,
            fees_minor: fees,
            location: None,
            lines: lines.clone(),
        };
        env.apply(
            source.clone(),
            Payload::OrderUpserted(order.clone()),
            placed,
        )
        .await;
        if let Some(at) = fulfilled_at {
            env.apply(
                source.clone(),
                Payload::ShipmentRecorded(ShipmentRecord {
                    order_external_id: ext.clone(),
                    external_id: Some(format!("s-{n}")),
                    carrier: None,
                    tracking_number: None,
                    status: "shipped".into(),
                    cost_minor: rng.random_range(100..800),
                    currency: currency.into(),
                    shipped_at: Some(at),
                    delivered_at,
                }),
                at,
            )
            .await;
        }
        let counted = status != OrderStatus::Cancelled && status != OrderStatus::Pending;
        match rng.random_range(0..12) {
            // A late cancellation, delivered after other orders.
            0 if counted => later.push((
                source.clone(),
                Payload::OrderStatusChanged(OrderStatusChange {
                    external_id: ext.clone(),
                    status: OrderStatus::Cancelled,
                    at: placed + Duration::hours(2),
                    updated_at: placed + Duration::hours(2),
                }),
                placed + Duration::hours(2),
            )),
            // A partial refund, money only.
            1 | 2 if counted => later.push((
                source.clone(),
                Payload::RefundRecorded(RefundRecord {
                    order_external_id: ext.clone(),
                    external_id: Some(format!("r-{n}")),
                    kind: "refund".into(),
                    amount_minor: (subtotal - discount) / 3,
                    currency: currency.into(),
                    reason: None,
                    lines: vec![],
                }),
                placed + Duration::days(3),
            )),
            // A return of one unit of the first line.
            3 if counted && fulfilled_at.is_some() => later.push((
                source.clone(),
                Payload::RefundRecorded(RefundRecord {
                    order_external_id: ext.clone(),
                    external_id: Some(format!("ret-{n}")),
                    kind: "return".into(),
                    amount_minor: lines[0].unit_price_minor.min(subtotal - discount),
                    currency: currency.into(),
                    reason: Some("size".into()),
                    lines: vec![ReturnLine {
                        sku: lines[0].sku.clone(),
                        quantity: 1,
                        sellable: true,
                    }],
                }),
                placed + Duration::days(5),
            )),
            // A later edit of the same order: more discount, a newer source time.
            4 => {
                let mut edited = order.clone();
                edited.discount_minor += 100;
                edited.total_minor -= 100;
                edited.updated_at = placed + Duration::minutes(10);
                later.push((source.clone(), Payload::OrderUpserted(edited), placed));
            }
            _ => {}
        }
    }
    // Late events arrive shuffled, and the stale original of an edited order once more at the end.
    for i in (1..later.len()).rev() {
        let j = rng.random_range(0..=i);
        later.swap(i, j);
    }
    for (source, payload, at) in later {
        env.apply(source, payload, at).await;
    }
    for (day, campaign, currency, spend) in [
        ("2026-03-01", "c1", "USD", 12_345),
        ("2026-03-08", "c1", "USD", 5_000),
        ("2026-03-08", "c2", "EUR", 7_000),
        ("2026-11-01", "c1", "USD", 9_999),
    ] {
        let d: NaiveDate = day.parse().expect("day");
        env.apply(
            Source::Manual,
            Payload::AdSpendRecorded(AdSpend {
                campaign_external_id: campaign.into(),
                campaign_name: campaign.into(),
                day: d,
                spend_minor: spend,
                currency: currency.into(),
                impressions: 100,
                clicks: 10,
                conversions: 1,
                attributed_revenue_minor: spend * 3,
            }),
            t0,
        )
        .await;
    }
}

// ---- the reference: raw rows, plain SQL, simple Rust ---------------------------------------------------

struct RawOrder {
    id: i64,
    connection: i64,
    customer: Option<i64>,
    status: String,
    currency: String,
    subtotal: i64,
    discount: i64,
    shipping: i64,
    tax: i64,
    fees: i64,
    refunded: i64,
    placed: DateTime<Utc>,
    fulfilled: Option<DateTime<Utc>>,
    delivered: Option<DateTime<Utc>>,
}

struct RawLine {
    id: i64,
    order: i64,
    sku: String,
    quantity: i64,
    price: i64,
    discount: i64,
    cost: Option<i64>,
}

struct Raw {
    orders: Vec<RawOrder>,
    lines: Vec<RawLine>,
    returned: HashMap<i64, i64>,
    shipping: Vec<(i64, String, i64)>,
    ads: Vec<(NaiveDate, String, i64, i64)>,
    sku_brand: HashMap<String, (String, String, Option<String>)>,
}

async fn raw(db: &impl ConnectionTrait, ws: i64) -> Raw {
    let rows = |sql: String| async move {
        db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .expect("raw query")
    };
    let ts = |r: &sea_orm::QueryResult, c: &str| -> Option<DateTime<Utc>> {
        r.try_get::<Option<DateTime<Utc>>>("", c).expect(c)
    };
    let orders = rows(format!(
        "SELECT id, connection_id, customer_id, status, currency, subtotal_minor, discount_minor, \
         shipping_charged_minor, tax_minor, fees_minor, refunded_minor, placed_at, fulfilled_at, \
         delivered_at FROM orders WHERE workspace_id = {ws}"
    ))
    .await
    .iter()
    .map(|r| RawOrder {
        id: r.try_get("", "id").expect("id"),
        connection: r.try_get("", "connection_id").expect("connection"),
        customer: r.try_get("", "customer_id").expect("customer"),
        status: r.try_get("", "status").expect("status"),
        currency: r.try_get("", "currency").expect("currency"),
        subtotal: r.try_get("", "subtotal_minor").expect("subtotal"),
        discount: r.try_get("", "discount_minor").expect("discount"),
        shipping: r.try_get("", "shipping_charged_minor").expect("shipping"),
        tax: r.try_get("", "tax_minor").expect("tax"),
        fees: r.try_get("", "fees_minor").expect("fees"),
        refunded: r.try_get("", "refunded_minor").expect("refunded"),
        placed: ts(r, "placed_at").expect("placed"),
        fulfilled: ts(r, "fulfilled_at"),
        delivered: ts(r, "delivered_at"),
    })
    .collect();
    let lines = rows(format!(
        "SELECT id, order_id, sku, quantity, unit_price_minor, discount_minor, unit_cost_minor \
         FROM order_lines WHERE workspace_id = {ws}"
    ))
    .await
    .iter()
    .map(|r| RawLine {
        id: r.try_get("", "id").expect("id"),
        order: r.try_get("", "order_id").expect("order"),
        sku: r.try_get("", "sku").expect("sku"),
        quantity: r.try_get("", "quantity").expect("qty"),
        price: r.try_get("", "unit_price_minor").expect("price"),
        discount: r.try_get("", "discount_minor").expect("discount"),
        cost: r.try_get("", "unit_cost_minor").expect("cost"),
    })
    .collect();
    let mut returned = HashMap::new();
    for r in rows(format!(
        "SELECT order_line_id, quantity FROM refund_lines WHERE workspace_id = {ws}"
    ))
    .await
    {
        let id: i64 = r.try_get("", "order_line_id").expect("line");
        let q: i64 = r.try_get("", "quantity").expect("qty");
        *returned.entry(id).or_insert(0) += q;
    }
    let shipping = rows(format!(
        "SELECT order_id, currency, cost_minor FROM shipments WHERE workspace_id = {ws}"
    ))
    .await
    .iter()
    .map(|r| {
        (
            r.try_get("", "order_id").expect("order"),
            r.try_get("", "currency").expect("currency"),
            r.try_get("", "cost_minor").expect("cost"),
        )
    })
    .collect();
    let ads = rows(format!(
        "SELECT day, currency, spend_minor, attributed_revenue_minor FROM ad_spend_daily WHERE workspace_id = {ws}"
    ))
    .await
    .iter()
    .map(|r| {
        (
            r.try_get("", "day").expect("day"),
            r.try_get("", "currency").expect("currency"),
            r.try_get("", "spend_minor").expect("spend"),
            r.try_get("", "attributed_revenue_minor").expect("attributed"),
        )
    })
    .collect();
    let sku_brand = rows(format!(
        "SELECT v.sku, b.name AS brand, p.category, v.condition FROM variants v \
         JOIN products p ON p.id = v.product_id LEFT JOIN brands b ON b.id = p.brand_id \
         WHERE v.workspace_id = {ws}"
    ))
    .await
    .iter()
    .map(|r| {
        (
            r.try_get::<String>("", "sku").expect("sku"),
            (
                r.try_get::<Option<String>>("", "brand")
                    .expect("brand")
                    .unwrap_or_default(),
                r.try_get::<Option<String>>("", "category")
                    .expect("category")
                    .unwrap_or_default(),
                r.try_get::<Option<String>>("", "condition")
                    .expect("condition"),
            ),
        )
    })
    .collect();
    Raw {
        orders,
        lines,
        returned,
        shipping,
        ads,
        sku_brand,
    }
}

/// The local calendar key of a bucket, computed without the engine: (date of its first day, local hour
/// label for hourly buckets).
fn key(t: DateTime<Utc>, tz: Tz, g: Granularity) -> String {
    let l = t.with_timezone(&tz);
    match g {
        Granularity::Hour => format!("{}", l.format("%Y-%m-%dT%H:00%:z")),
        Granularity::Day => l.date_naive().to_string(),
        Granularity::Week => (l.date_naive()
            - Duration::days(i64::from(l.weekday().num_days_from_monday())))
        .to_string(),
        Granularity::Month => format!("{}-{:02}", l.year(), l.month()),
    }
}

fn ad_key(d: NaiveDate, g: Granularity, tz: Tz) -> String {
    match g {
        Granularity::Hour => {
            // The first local hour of the day.
            let mut local = d.and_hms_opt(0, 0, 0).expect("midnight");
            loop {
                if let Some(t) = tz.from_local_datetime(&local).earliest() {
                    return key(t.with_timezone(&Utc), tz, g);
                }
                local += Duration::minutes(15);
            }
        }
        Granularity::Day => d.to_string(),
        Granularity::Week => {
            (d - Duration::days(i64::from(d.weekday().num_days_from_monday()))).to_string()
        }
        Granularity::Month => format!("{}-{:02}", d.year(), d.month()),
    }
}

type Expected = (BTreeMap<String, Totals>, BTreeMap<(String, String), Totals>);

fn reference(raw: &Raw, q: &Query) -> Expected {
    let tz = q.tz;
    let g = q.granularity;
    let f = &q.filters;
    let in_period = |t: DateTime<Utc>| {
        let d = t.with_timezone(&tz).date_naive();
        d >= q.period.from && d <= q.period.to
    };
    let conn_ok = |c: i64| f.connections.is_empty() || f.connections.contains(&c);
    let line_ok = |sku: &str| {
        let (brand, category, condition) = raw.sku_brand.get(sku).cloned().unwrap_or_default();
        (f.skus.is_empty() || f.skus.iter().any(|s| s == sku))
            && (f.categories.is_empty() || f.categories.contains(&category))
            && (f.conditions.is_empty() || condition.is_some_and(|c| f.conditions.contains(&c)))
            && (f.brands.is_empty() || f.brands.contains(&brand_id(&brand)))
    };
    let mut whole: BTreeMap<String, Totals> = BTreeMap::new();
    let mut per: BTreeMap<(String, String), Totals> = BTreeMap::new();
    let mut add = |cur: &str, k: String, apply: &dyn Fn(&mut Totals)| {
        apply(whole.entry(cur.to_owned()).or_default());
        apply(per.entry((cur.to_owned(), k)).or_default());
    };
    let by_id: HashMap<i64, &RawOrder> = raw.orders.iter().map(|o| (o.id, o)).collect();
    let product_filter = f.has_product_filter();
    for o in &raw.orders {
        if !in_period(o.placed) || !conn_ok(o.connection) {
            continue;
        }
        let k = key(o.placed, tz, g);
        if o.status == "cancelled" {
            if !product_filter {
                add(&o.currency, k, &|t| t.cancelled_orders += 1);
            }
            continue;
        }
        let lines: Vec<&RawLine> = raw
            .lines
            .iter()
            .filter(|l| l.order == o.id && (!product_filter || line_ok(&l.sku)))
            .collect();
        if product_filter {
            if lines.is_empty() {
                continue;
            }
            let units: i64 = lines.iter().map(|l| l.quantity).sum();
            let gross: i64 = lines.iter().map(|l| l.quantity * l.price).sum();
            let disc: i64 = lines.iter().map(|l| l.discount).sum();
            let cogs: i64 = lines.iter().map(|l| l.quantity * l.cost.unwrap_or(0)).sum();
            let ret: i64 = lines
                .iter()
                .map(|l| raw.returned.get(&l.id).copied().unwrap_or(0))
                .sum();
            add(&o.currency, k, &|t| {
                t.orders += 1;
                t.units += units;
                t.gross += gross;
                t.discounts += disc;
                t.cogs += cogs;
                t.returned_units += ret;
            });
            continue;
        }
        let units: i64 = lines.iter().map(|l| l.quantity).sum();
        let cogs: i64 = lines.iter().map(|l| l.quantity * l.cost.unwrap_or(0)).sum();
        let ret: i64 = lines
            .iter()
            .map(|l| raw.returned.get(&l.id).copied().unwrap_or(0))
            .sum();
        add(&o.currency, k, &|t| {
            t.orders += 1;
            t.gross += o.subtotal;
            t.discounts += o.discount;
            t.shipping_charged += o.shipping;
            t.taxes += o.tax;
            t.fees += o.fees;
            t.refunds += o.refunded;
            t.units += units;
            t.cogs += cogs;
            t.returned_units += ret;
            if let Some(at) = o.fulfilled {
                t.fulfilled += 1;
                t.ship_secs += (at - o.placed).num_seconds();
            }
            if let Some(at) = o.delivered {
                t.delivered += 1;
                t.deliver_secs += (at - o.placed).num_seconds();
            }
            t.refunded_orders += i64::from(o.refunded > 0);
        });
    }
    if !product_filter {
        for (order_id, currency, cost) in &raw.shipping {
            let o = by_id[order_id];
            if o.status == "cancelled"
                || !in_period(o.placed)
                || !conn_ok(o.connection)
                || *cost == 0
            {
                continue;
            }
            add(currency, key(o.placed, tz, g), &|t| t.shipping_cost += cost);
        }
    }
    for (day, currency, spend, attributed) in &raw.ads {
        if *day < q.period.from || *day > q.period.to {
            continue;
        }
        add(currency, ad_key(*day, g, tz), &|t| {
            t.ad_spend += spend;
            t.attributed_revenue += attributed;
        });
    }
    if !product_filter {
        // Customers: each one's orders that count, on the filtered connections, in time order.
        let mut by_customer: BTreeMap<(String, i64), Vec<&RawOrder>> = BTreeMap::new();
        for o in &raw.orders {
            if let Some(c) = o.customer
                && o.status != "cancelled"
                && conn_ok(o.connection)
            {
                by_customer
                    .entry((o.currency.clone(), c))
                    .or_default()
                    .push(o);
            }
        }
        for ((currency, _), mut orders) in by_customer {
            orders.sort_by_key(|o| o.placed);
            let net = |o: &RawOrder| o.subtotal - o.discount - o.refunded;
            let first = orders[0].placed;
            // Whole period.
            let span: Vec<(usize, &&RawOrder)> = orders
                .iter()
                .enumerate()
                .filter(|(_, o)| in_period(o.placed))
                .collect();
            if let Some((last, _)) = span.last() {
                let t = whole.entry(currency.clone()).or_default();
                let new = in_period(first);
                t.customers += 1;
                t.new_customers += i64::from(new);
                t.repeat_customers += i64::from(*last >= 1);
                let revenue: i64 = span.iter().map(|(_, o)| net(o)).sum();
                if new {
                    t.new_customer_revenue += revenue;
                } else {
                    t.returning_customer_revenue += revenue;
                }
            }
            // Each bucket.
            let mut buckets: BTreeMap<String, (usize, i64)> = BTreeMap::new();
            for (i, o) in &span {
                let e = buckets.entry(key(o.placed, tz, g)).or_insert((*i, 0));
                e.0 = *i;
                e.1 += net(o);
            }
            for (k, (last, revenue)) in buckets {
                let new = key(first, tz, g) == k;
                let t = per.entry((currency.clone(), k)).or_default();
                t.customers += 1;
                t.new_customers += i64::from(new);
                t.repeat_customers += i64::from(last >= 1);
                if new {
                    t.new_customer_revenue += revenue;
                } else {
                    t.returning_customer_revenue += revenue;
                }
            }
        }
    }
    (whole, per)
}

fn brand_id(name: &str) -> i64 {
    BRAND_IDS.with(|m| m.borrow().get(name).copied().unwrap_or(-1))
}

thread_local! {
    static BRAND_IDS: std::cell::RefCell<HashMap<String, i64>> = std::cell::RefCell::new(HashMap::new());
}

async fn check(a: &Analytics, raw: &Raw, q: &Query) -> usize {
    let (got, _) = breakdown(a, q, q.period).await.expect("engine");
    let (whole, per) = reference(raw, q);
    let what = format!("{:?} {} {:?}", q.granularity, q.tz, q.filters);
    // Empty totals are absent on one side and zero on the other; compare what is non-zero.
    let zero = Totals::default();
    let currencies: HashSet<&String> = whole.keys().chain(got.whole.keys()).collect();
    for c in currencies {
        assert_eq!(
            got.whole.get(c).unwrap_or(&zero),
            whole.get(c).unwrap_or(&zero),
            "whole period, {c}, {what}"
        );
    }
    let mut got_per: BTreeMap<(String, String), Totals> = BTreeMap::new();
    for (c, buckets) in &got.buckets {
        for (start, t) in buckets {
            if t != &zero {
                got_per.insert((c.clone(), key(*start, q.tz, q.granularity)), t.clone());
            }
        }
    }
    let per: BTreeMap<(String, String), Totals> =
        per.into_iter().filter(|(_, t)| t != &zero).collect();
    assert_eq!(
        got_per.keys().collect::<Vec<_>>(),
        per.keys().collect::<Vec<_>>(),
        "{what}"
    );
    for (k, t) in &per {
        assert_eq!(&got_per[k], t, "bucket {k:?}, {what}");
    }
    per.len()
}

#[tokio::test]
async fn every_total_equals_the_raw_rows_for_every_granularity_zone_and_filter() {
    for db in backends() {
        let mut opts = DbOptions::new(db.url.clone());
        opts.max_connections = 4;
        let store = Store::connect(
            &opts,
            CredentialCipher::from_key_bytes(&[7u8; 32]).expect("key"),
        )
        .await
        .expect("connect");
        store.migrate().await.expect("migrate");
        let ws = store
            .create_workspace(&NewWorkspace {
                slug: Slug::parse("ref").expect("slug"),
                name: "Ref".into(),
                timezone: Timezone::parse("America/New_York").expect("tz"),
                currency: Currency::parse("USD").expect("currency"),
            })
            .await
            .expect("workspace");
        let mut env = Env {
            ingest: Ingest::new(store.clone(), EventBus::default()),
            ws: ws.id,
            seq: 0,
        };
        let mut rng = StdRng::seed_from_u64(20_261_205);
        seed(&mut env, &mut rng).await;
        assert!(
            env.ingest
                .verify_rollups()
                .await
                .expect("verify")
                .is_empty(),
            "incremental rollups equal rebuilt ones"
        );
        let raw = raw(store.db(), ws.id).await;
        let brands = raw_brands(store.db(), ws.id).await;
        BRAND_IDS.with(|m| *m.borrow_mut() = brands.clone());
        let a = Analytics::new(store.db().clone());
        let manual = raw
            .orders
            .iter()
            .map(|o| o.connection)
            .min()
            .expect("orders");
        let filters = [
            Filters::default(),
            Filters {
                connections: vec![manual],
                ..Filters::default()
            },
            Filters {
                skus: vec!["BAG-1".into(), "CAP".into()],
                ..Filters::default()
            },
            Filters {
                brands: vec![brands["Luxx"]],
                ..Filters::default()
            },
            Filters {
                conditions: vec!["S".into(), "new".into()],
                categories: vec!["tops".into(), "bags".into()],
                ..Filters::default()
            },
        ];
        let periods = [
            ("2026-02-20", "2026-03-21"),
            ("2026-10-20", "2026-11-14"),
            ("2026-03-01", "2026-03-02"),
        ];
        let mut buckets = 0;
        for tz in ["America/New_York", "Asia/Kolkata", "UTC"] {
            let tz: Tz = tz.parse().expect("zone");
            for (from, to) in periods {
                for granularity in [
                    Granularity::Hour,
                    Granularity::Day,
                    Granularity::Week,
                    Granularity::Month,
                ] {
                    for filters in &filters {
                        let q = Query {
                            workspace_id: ws.id,
                            period: Period::new(
                                from.parse().expect("from"),
                                to.parse().expect("to"),
                            )
                            .expect("period"),
                            tz,
                            granularity,
                            filters: filters.clone(),
                            compare: None,
                        };
                        buckets += check(&a, &raw, &q).await;
                    }
                }
            }
        }
        assert!(buckets > 2000, "compared {buckets} buckets");
        tiles_and_comparison(&a, ws.id).await;
    }
}

async fn raw_brands(db: &impl ConnectionTrait, ws: i64) -> HashMap<String, i64> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        format!("SELECT id, name FROM brands WHERE workspace_id = {ws}"),
    ))
    .await
    .expect("brands")
    .iter()
    .map(|r| {
        (
            r.try_get("", "name").expect("name"),
            r.try_get("", "id").expect("id"),
        )
    })
    .collect()
}

/// Tiles carry the dictionary's formulas, per currency, and the comparison's change.
async fn tiles_and_comparison(a: &Analytics, ws: i64) {
    let q = Query {
        workspace_id: ws,
        period: Period::new(
            "2026-11-01".parse().expect("d"),
            "2026-11-07".parse().expect("d"),
        )
        .expect("period"),
        tz: "America/New_York".parse().expect("zone"),
        granularity: Granularity::Day,
        filters: Filters::default(),
        compare: Some(Comparison::PreviousPeriod),
    };
    let metrics = kpi::resolve(&[]).expect("all metrics");
    let r = kpi::kpis(a, &q, &metrics, true).await.expect("kpis");
    let (now, _) = breakdown(a, &q, q.period).await.expect("now");
    let prev_period = q.period.compared(Comparison::PreviousPeriod);
    assert_eq!(r.compared, Some(prev_period));
    let (before, _) = breakdown(a, &q, prev_period).await.expect("before");
    let usd = r
        .currencies
        .iter()
        .find(|c| c.currency == "USD")
        .expect("USD");
    assert_eq!(usd.series.len(), 7);
    let t = &now.whole["USD"];
    let p = &before.whole["USD"];
    let tile = |k: &str| usd.tiles.iter().find(|x| x.metric.key == k).expect(k);
    assert_eq!(
        tile("net_sales").value,
        Some(Value::Minor(t.gross - t.discounts - t.refunds))
    );
    let aov = (t.gross - t.discounts) as f64 / t.orders as f64;
    assert_eq!(tile("aov").value, Some(Value::Minor(aov.round() as i64)));
    let change = (t.gross - t.discounts - t.refunds) - (p.gross - p.discounts - p.refunds);
    assert_eq!(tile("net_sales").change, Some(change.into()));
    assert!(usd.tiles.len() == metrics.len());
    assert!(r.currencies.iter().any(|c| c.currency == "EUR"));
}
