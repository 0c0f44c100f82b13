//! Metric plugin inputs read back from what the pipeline wrote, in a workspace on Tokyo time (UTC+9), with
//! every expected number worked out by hand from the events below.

use super::{Db, backends};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use creatorflow_core::ingest::*;
use creatorflow_core::{Currency, EventBus, Slug, Timezone, WorkspaceId};
use creatorflow_ingest::{Ingest, Outcome};
use creatorflow_store::metric_inputs::{self, Grain, InputTable, Range, Values, columns};
use creatorflow_store::{CredentialCipher, DbOptions, NewWorkspace, Store};

struct Shop {
    ingest: Ingest,
    ws: WorkspaceId,
    tz: Timezone,
    seq: std::cell::Cell<u64>,
}

fn tokyo() -> Timezone {
    Timezone::parse("Asia/Tokyo").expect("tz")
}

/// A Tokyo wall-clock time in 2026.
fn jst(month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    tokyo()
        .tz()
        .with_ymd_and_hms(2026, month, day, hour, minute, 0)
        .single()
        .expect("local time")
        .with_timezone(&Utc)
}

async fn open(db: &Db) -> (Store, Timezone) {
    let mut opts = DbOptions::new(db.url.clone());
    opts.max_connections = 4;
    let store = Store::connect(
        &opts,
        CredentialCipher::from_key_bytes(&[7u8; 32]).expect("key"),
    )
    .await
    .expect("connect");
    store.migrate().await.expect("migrate");
    (store, tokyo())
}

async fn workspace(store: &Store, slug: &str, tz: Timezone) -> WorkspaceId {
    let ws = store
        .create_workspace(&NewWorkspace {
            slug: Slug::parse(slug).expect("slug"),
            name: slug.into(),
            timezone: tz,
            currency: Currency::parse("USD").expect("cur"),
        })
        .await
        .expect("workspace");
    assert_eq!(ws.timezone, "Asia/Tokyo");
    WorkspaceId(ws.id)
}

impl Shop {
    async fn at(&self, occurred_at: DateTime<Utc>, payload: Payload) {
        let n = self.seq.get() + 1;
        self.seq.set(n);
        let ev = IngestEvent {
            workspace_id: self.ws,
            source: Source::Manual,
            source_event_id: format!("mi-{n}"),
            actor: "test".into(),
            occurred_at,
            payload,
        };
        assert_eq!(
            self.ingest.apply(ev).await.expect("applied"),
            Outcome::Applied
        );
    }

    async fn load(&self, range: Range, grain: Grain) -> InputTable {
        metric_inputs::load(self.ingest.store().db(), self.ws.0, self.tz, range, grain)
            .await
            .expect("load")
    }
}

struct Item {
    sku: &'static str,
    title: &'static str,
    condition: Option<&'static str>,
    brand: Option<&'static str>,
    category: Option<&'static str>,
    price: i64,
    cost: Option<i64>,
}

fn product(i: &Item) -> Payload {
    Payload::ProductUpserted(ProductUpsert {
        external_id: None,
        title: i.title.into(),
        brand: i.brand.map(str::to_owned),
        category: i.category.map(str::to_owned),
        status: "active".into(),
        variants: vec![VariantUpsert {
            sku: i.sku.into(),
            external_id: None,
            title: "Default".into(),
            condition: i.condition.map(str::to_owned),
            barcode: None,
            currency: "USD".into(),
            price_minor: i.price,
            unit_cost_minor: i.cost,
        }],
    })
}

/// Order-level amounts besides the lines: (discount, shipping charged, tax, fees).
type Extras = (i64, i64, i64, i64);

fn order(
    ext: &str,
    status: OrderStatus,
    currency: &str,
    placed_at: DateTime<Utc>,
    lines: &[(&str, i64, i64, i64)],
    (discount, shipping, tax, fees): Extras,
) -> Payload {
    let subtotal: i64 = lines.iter().map(|l| l.1 * l.2).sum();
    Payload::OrderUpserted(OrderUpsert {
        external_id: ext.into(),
        status,
        currency: currency.into(),
        placed_at,
        paid_at: None,
        fulfilled_at: None,
        delivered_at: None,
        cancelled_at: None,
        updated_at: placed_at,
        customer: None,
        subtotal_minor: subtotal,
        discount_minor: discount,
        shipping_charged_minor: shipping,
        tax_minor: tax,
        total_minor: subtotal - discount + shipping + tax,
        fees_minor: fees,
        location: None,
        lines: lines
            .iter()
            .map(|&(sku, quantity, price, line_discount)| OrderLineIn {
                external_id: None,
                sku: sku.into(),
                title: sku.into(),
                quantity,
                unit_price_minor: price,
                discount_minor: line_discount,
            })
            .collect(),
    })
}

fn shipment(ext: &str, cost: i64, shipped_at: Option<DateTime<Utc>>) -> Payload {
    Payload::ShipmentRecorded(ShipmentRecord {
        order_external_id: ext.into(),
        external_id: Some(format!("ship-{ext}")),
        carrier: Some("yamato".into()),
        tracking_number: None,
        status: "shipped".into(),
        cost_minor: cost,
        currency: "USD".into(),
        shipped_at,
        delivered_at: None,
    })
}

fn ad(day: u32, month: u32, spend: i64) -> Payload {
    Payload::AdSpendRecorded(AdSpend {
        campaign_external_id: "c1".into(),
        campaign_name: "Launch".into(),
        day: NaiveDate::from_ymd_opt(2026, month, day).expect("day"),
        spend_minor: spend,
        currency: "USD".into(),
        impressions: 1000,
        clicks: 10,
        conversions: 1,
        attributed_revenue_minor: 0,
    })
}

fn stock(sku: &str, on_hand: i64) -> Payload {
    Payload::InventorySet(InventorySet {
        sku: sku.into(),
        location: None,
        on_hand,
        reason: Some("opening count".into()),
    })
}

/// The story, in Tokyo time. The range is the local days 1 and 2 November.
///
/// - o0, 31 Oct 23:00: 1 MUG-N, shipped the same evening (before the range).
/// - o1, 1 Nov 01:10: 2 TEE-S (line discount 200) + 1 CAP-A (no known cost), shipped at 11:00 for 700.
/// - o2, 1 Nov 23:30: 3 CAP-A, paid; its parcel is recorded later without a ship time.
/// - o3, 2 Nov 00:20: 1 TEE-S, paid, refunded 3000 in full, then cancelled.
/// - o4, 2 Nov 12:00: 4 TEE-S (line discount 1000), one returned sellable for 2250, shipped 23:59 for 650.
/// - o6, 2 Nov 14:00: 1 CAP-A in EUR.
/// - o5, 3 Nov 01:00: 1 CAP-A, shipped (after the range).
/// - 5 Nov: 7 TEE-S received (after the range).
async fn story(shop: &Shop) {
    let early = jst(10, 30, 9, 0);
    for item in ITEMS {
        shop.at(early, product(&item)).await;
    }
    shop.at(early, stock("TEE-S", 20)).await;
    shop.at(early, stock("CAP-A", 10)).await;
    shop.at(early, stock("MUG-N", 5)).await;

    use OrderStatus::*;
    let o0 = jst(10, 31, 23, 0);
    shop.at(
        o0,
        order(
            "o0",
            Fulfilled,
            "USD",
            o0,
            &[("MUG-N", 1, 900, 0)],
            (0, 0, 0, 0),
        ),
    )
    .await;
    shop.at(o0, shipment("o0", 400, Some(jst(10, 31, 23, 30))))
        .await;

    let o1 = jst(11, 1, 1, 10);
    shop.at(
        o1,
        order(
            "o1",
            Fulfilled,
            "USD",
            o1,
            &[("TEE-S", 2, 2500, 200), ("CAP-A", 1, 1200, 0)],
            (200, 500, 300, 400),
        ),
    )
    .await;
    shop.at(o1, shipment("o1", 700, Some(jst(11, 1, 11, 0))))
        .await;

    let o2 = jst(11, 1, 23, 30);
    shop.at(
        o2,
        order(
            "o2",
            Paid,
            "USD",
            o2,
            &[("CAP-A", 3, 1200, 0)],
            (0, 0, 0, 150),
        ),
    )
    .await;

    let o3 = jst(11, 2, 0, 20);
    shop.at(
        o3,
        order(
            "o3",
            Paid,
            "USD",
            o3,
            &[("TEE-S", 1, 2500, 0)],
            (0, 500, 0, 100),
        ),
    )
    .await;
    shop.at(
        o3 + Duration::minutes(10),
        Payload::RefundRecorded(RefundRecord {
            order_external_id: "o3".into(),
            external_id: Some("r-o3".into()),
            kind: "refund".into(),
            amount_minor: 3000,
            currency: "USD".into(),
            reason: Some("buyer cancelled".into()),
            lines: vec![],
        }),
    )
    .await;
    let cancelled_at = o3 + Duration::minutes(20);
    shop.at(
        cancelled_at,
        Payload::OrderStatusChanged(OrderStatusChange {
            external_id: "o3".into(),
            status: Cancelled,
            at: cancelled_at,
            updated_at: cancelled_at,
        }),
    )
    .await;

    let o4 = jst(11, 2, 12, 0);
    shop.at(
        o4,
        order(
            "o4",
            Fulfilled,
            "USD",
            o4,
            &[("TEE-S", 4, 2500, 1000)],
            (1000, 0, 800, 600),
        ),
    )
    .await;
    shop.at(
        jst(11, 2, 19, 0),
        Payload::RefundRecorded(RefundRecord {
            order_external_id: "o4".into(),
            external_id: Some("r-o4".into()),
            kind: "return".into(),
            amount_minor: 2250,
            currency: "USD".into(),
            reason: None,
            lines: vec![ReturnLine {
                sku: "TEE-S".into(),
                quantity: 1,
                sellable: true,
            }],
        }),
    )
    .await;
    shop.at(o4, shipment("o4", 650, Some(jst(11, 2, 23, 59))))
        .await;

    let o6 = jst(11, 2, 14, 0);
    shop.at(
        o6,
        order(
            "o6",
            Paid,
            "EUR",
            o6,
            &[("CAP-A", 1, 1100, 0)],
            (0, 0, 0, 50),
        ),
    )
    .await;

    let o5 = jst(11, 3, 1, 0);
    shop.at(
        o5,
        order(
            "o5",
            Fulfilled,
            "USD",
            o5,
            &[("CAP-A", 1, 1200, 0)],
            (0, 0, 0, 0),
        ),
    )
    .await;
    shop.at(
        jst(11, 5, 10, 0),
        Payload::InventoryAdjusted(InventoryAdjust {
            sku: "TEE-S".into(),
            location: None,
            delta: 7,
            reason: "received".into(),
        }),
    )
    .await;

    for (day, month, spend) in [(31, 10, 999), (1, 11, 1500), (2, 11, 800), (3, 11, 777)] {
        shop.at(early, ad(day, month, spend)).await;
    }
}

const ITEMS: [Item; 3] = [
    Item {
        sku: "TEE-S",
        title: "Tee",
        condition: Some("S"),
        brand: Some("Acme"),
        category: Some("tops"),
        price: 2500,
        cost: Some(1000),
    },
    Item {
        sku: "CAP-A",
        title: "Cap",
        condition: Some("A"),
        brand: None,
        category: None,
        price: 1200,
        cost: None,
    },
    Item {
        sku: "MUG-N",
        title: "Mug",
        condition: None,
        brand: Some("Homeware"),
        category: Some("home"),
        price: 900,
        cost: Some(300),
    },
];

fn texts<const N: usize>(v: [&str; N]) -> Values {
    Values::Text(v.iter().map(|s| (*s).to_owned()).collect())
}

fn ints<const N: usize>(v: [i64; N]) -> Values {
    Values::Int64(v.to_vec())
}

fn table(grain: Grain, rows: usize, cols: Vec<(&'static str, Values)>) -> InputTable {
    InputTable {
        grain,
        rows,
        columns: cols,
    }
}

fn names(t: &InputTable) -> Vec<&'static str> {
    t.columns.iter().map(|(n, _)| *n).collect()
}

fn spec_names(grain: Grain) -> Vec<&'static str> {
    columns(grain).iter().map(|c| c.name).collect()
}

/// Every column present with `rows` values of its declared kind.
fn assert_shape(t: &InputTable) {
    assert_eq!(names(t), spec_names(t.grain), "{:?}", t.grain);
    for ((name, values), spec) in t.columns.iter().zip(columns(t.grain)) {
        assert_eq!(values.kind(), spec.kind, "{name}");
        assert_eq!(values.len(), t.rows, "{name}");
    }
}

#[tokio::test]
async fn metric_inputs_at_every_grain() {
    for db in backends() {
        let (store, tz) = open(&db).await;
        let ws = workspace(&store, "tokyo", tz).await;
        let empty_ws = workspace(&store, "empty", tz).await;
        let shop = Shop {
            ingest: Ingest::new(store, EventBus::default()),
            ws,
            tz,
            seq: std::cell::Cell::new(0),
        };
        story(&shop).await;
        let range = Range {
            from: jst(11, 1, 0, 0),
            to: jst(11, 3, 0, 0),
        };

        // Day: 1 Nov has o1 and o2; 2 Nov has o3 (cancelled: counted, money left out), o4 and o6 (EUR).
        // Revenue = gross − line discounts − refunds: 9800 − 200 − 0 and 10000 − 1000 − 2250.
        let day = shop.load(range, Grain::Day).await;
        assert_shape(&day);
        assert_eq!(
            day,
            table(
                Grain::Day,
                3,
                vec![
                    ("day", texts(["2026-11-01", "2026-11-02", "2026-11-02"])),
                    ("currency", texts(["USD", "EUR", "USD"])),
                    ("orders", ints([2, 1, 1])),
                    ("cancelled_orders", ints([0, 0, 1])),
                    ("units", ints([6, 1, 4])),
                    ("returned_units", ints([0, 0, 1])),
                    ("gross_minor", ints([9800, 1100, 10000])),
                    ("discount_minor", ints([200, 0, 1000])),
                    ("revenue_minor", ints([9600, 1100, 6750])),
                    ("refunded_minor", ints([0, 0, 2250])),
                    ("cogs_minor", ints([2000, 0, 4000])),
                    ("fees_minor", ints([550, 50, 600])),
                    ("shipping_charged_minor", ints([500, 0, 0])),
                    ("tax_minor", ints([300, 0, 800])),
                    ("shipping_minor", ints([700, 0, 650])),
                    ("ad_spend_minor", ints([1500, 0, 800])),
                ]
            )
        );

        // Variant: every SKU, in SKU order, MUG-N unsold. On hand at the end of the range: TEE-S 20 − 2 − 4 + 1
        // = 15 (22 now, after the 7 received), CAP-A 10 − 1 = 9 (8 now, after o5). CAP-A sold 5 units, one of
        // them in EUR, which stays out of the USD money.
        let variant = shop.load(range, Grain::Variant).await;
        assert_shape(&variant);
        assert_eq!(
            variant,
            table(
                Grain::Variant,
                3,
                vec![
                    ("sku", texts(["CAP-A", "MUG-N", "TEE-S"])),
                    ("title", texts(["Cap", "Mug", "Tee"])),
                    ("condition", texts(["A", "", "S"])),
                    ("brand", texts(["", "Homeware", "Acme"])),
                    ("category", texts(["", "home", "tops"])),
                    ("currency", texts(["USD", "USD", "USD"])),
                    ("units_sold", ints([5, 0, 6])),
                    ("returned_units", ints([0, 0, 1])),
                    ("revenue_minor", ints([4800, 0, 13800])),
                    ("cogs_minor", ints([0, 0, 6000])),
                    ("on_hand", ints([9, 4, 15])),
                    ("price_minor", ints([1200, 900, 2500])),
                    ("unit_cost_minor", ints([0, 300, 1000])),
                ]
            )
        );

        // Order: the five orders placed in the range, by placement time; the cancelled one (o3) keeps its face
        // value (gross, total) but earned and cost nothing.
        let orders = shop.load(range, Grain::Order).await;
        assert_shape(&orders);
        assert_eq!(
            orders,
            table(
                Grain::Order,
                5,
                vec![
                    ("order_id", texts(["o1", "o2", "o3", "o4", "o6"])),
                    ("channel", texts(["manual"; 5])),
                    (
                        "status",
                        texts(["fulfilled", "paid", "cancelled", "fulfilled", "paid"])
                    ),
                    ("currency", texts(["USD", "USD", "USD", "USD", "EUR"])),
                    (
                        "cancelled",
                        Values::Boolean(vec![false, false, true, false, false])
                    ),
                    ("units", ints([3, 3, 1, 4, 1])),
                    ("gross_minor", ints([6200, 3600, 2500, 10000, 1100])),
                    ("discount_minor", ints([200, 0, 0, 1000, 0])),
                    ("refunded_minor", ints([0, 0, 0, 2250, 0])),
                    ("revenue_minor", ints([6000, 3600, 0, 6750, 1100])),
                    ("cogs_minor", ints([2000, 0, 0, 4000, 0])),
                    ("fees_minor", ints([400, 150, 0, 600, 50])),
                    ("tax_minor", ints([300, 0, 0, 800, 0])),
                    ("shipping_charged_minor", ints([500, 0, 0, 0, 0])),
                    ("shipping_minor", ints([700, 0, 0, 650, 0])),
                    ("total_minor", ints([6800, 3600, 3000, 9800, 1100])),
                ]
            )
        );

        // A parcel without a ship time counts on the day it was recorded.
        let before = Utc::now();
        shop.at(jst(11, 2, 0, 0), shipment("o2", 333, None)).await;
        let now = Range {
            from: before,
            to: Utc::now() + Duration::seconds(1),
        };
        let recorded = shop.load(now, Grain::Day).await;
        assert_shape(&recorded);
        assert_eq!(recorded.rows, 1);
        assert_eq!(recorded.column("shipping_minor"), Some(&ints([333])));
        assert_eq!(recorded.column("orders"), Some(&ints([0])));
        assert_eq!(
            shop.load(range, Grain::Day).await,
            day,
            "it shipped after the range"
        );

        // Nothing in the range: no day or order rows, and variants still listed with today's stock.
        let later = Range {
            from: jst(12, 1, 0, 0),
            to: jst(12, 2, 0, 0),
        };
        for grain in [Grain::Day, Grain::Order] {
            let t = shop.load(later, grain).await;
            assert_shape(&t);
            assert_eq!(t.rows, 0, "{grain:?}");
        }
        let stock_now = shop.load(later, Grain::Variant).await;
        assert_eq!(stock_now.column("on_hand"), Some(&ints([8, 4, 22])));
        assert_eq!(stock_now.column("units_sold"), Some(&ints([0, 0, 0])));

        // Order rows read in pages of two give exactly the rows read at once, in the same order.
        let whole = shop.load(range, Grain::Order).await;
        let mut paged: Vec<InputTable> = Vec::new();
        let mut after = None;
        loop {
            let (page, next) = metric_inputs::load_page(
                shop.ingest.store().db(),
                shop.ws.0,
                tz,
                range,
                Grain::Order,
                after,
                2,
            )
            .await
            .expect("page");
            assert!(page.rows <= 2);
            paged.push(page);
            match next {
                Some(key) => after = Some(key),
                None => break,
            }
        }
        assert!(paged.len() >= 2, "several pages");
        assert_eq!(paged.iter().map(|p| p.rows).sum::<usize>(), whole.rows);
        for (name, values) in &whole.columns {
            let joined: Vec<String> = paged
                .iter()
                .flat_map(|p| {
                    let v = p.column(name).expect("column");
                    (0..p.rows).map(move |i| format!("{:?}", value_at(v, i)))
                })
                .collect();
            let expected: Vec<String> = (0..whole.rows)
                .map(|i| format!("{:?}", value_at(values, i)))
                .collect();
            assert_eq!(joined, expected, "{name}");
        }

        // A workspace with no data at all gives empty tables with every column, at every grain.
        for grain in Grain::ALL {
            let t = metric_inputs::load(shop.ingest.store().db(), empty_ws.0, tz, range, grain)
                .await
                .expect("load");
            assert_shape(&t);
            assert_eq!((t.grain, t.rows), (grain, 0));
            assert_eq!(Grain::parse(grain.as_str()), Some(grain));
        }
    }
}

#[test]
fn column_specs_are_unique_and_described() {
    for grain in Grain::ALL {
        let names = spec_names(grain);
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{grain:?}");
        assert!(columns(grain).iter().all(|c| !c.description.is_empty()));
        assert!(names.contains(&"currency"), "{grain:?}");
    }
}

fn value_at(v: &Values, i: usize) -> String {
    match v {
        Values::Int64(v) => v[i].to_string(),
        Values::Text(v) => v[i].clone(),
        Values::Boolean(v) => v[i].to_string(),
    }
}
