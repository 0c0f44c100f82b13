//! Order histories, refunds, ad spend and content metrics: the exact events each fixture becomes, layout
//! detection, grouping of scattered rows, streaming in batches, and the write path applying a file once.

use super::{opts, payloads};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use creatorflow_core::ingest::{
    AdSpend, ContentMetrics, CustomerRef, IngestEvent, OrderLineIn, OrderStatus, OrderUpsert,
    Payload, RefundRecord, ReturnLine,
};
use creatorflow_core::{Currency, EventBus, Slug, Timezone, WorkspaceId};
use creatorflow_import::{
    ImportError, ImportKind, ImportOptions, ImportPlan, check_import, plan_import, stream_import,
};
use creatorflow_ingest::{Ingest, Outcome};
use creatorflow_store::entity::{customer, order, order_line, refund};
use creatorflow_store::{CredentialCipher, DbOptions, NewWorkspace, Store};
use sea_orm::{EntityTrait, PaginatorTrait};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture")
}

fn planned(kind: ImportKind, name: &str) -> ImportPlan {
    plan_import(kind, read(name).as_slice(), &opts(false)).expect("plannable")
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("valid time")
}

fn sha(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn line(sku: &str, title: &str, quantity: i64, unit: i64, discount: i64) -> OrderLineIn {
    OrderLineIn {
        external_id: None,
        sku: sku.into(),
        title: title.into(),
        quantity,
        unit_price_minor: unit,
        discount_minor: discount,
    }
}

fn orders(plan: &ImportPlan) -> Vec<OrderUpsert> {
    payloads(plan)
        .into_iter()
        .map(|p| match p {
            Payload::OrderUpserted(o) => o,
            other => panic!("an order expected, got {other:?}"),
        })
        .collect()
}

#[test]
fn the_creatorflow_layout_imports_exactly() {
    let plan = planned(ImportKind::Orders, "orders_own.csv");
    assert!(plan.report.errors.is_empty(), "{}", plan.report);
    assert_eq!(plan.report.rows_read, 4);
    assert_eq!(plan.report.rows_accepted, 4);
    let ana = CustomerRef {
        external_id: format!("email:{}", sha("ana@example.com")),
        email: Some("Ana@Example.com".into()),
        display_name: Some("Ana Silva".into()),
    };
    let expected = vec![
        OrderUpsert {
            external_id: "M-1001".into(),
            status: OrderStatus::Delivered,
            currency: "USD".into(),
            // Written without an offset: New York time (the workspace's), EST in early March.
            placed_at: utc(2026, 3, 1, 15, 15, 0),
            paid_at: Some(utc(2026, 3, 1, 15, 16, 0)),
            fulfilled_at: Some(utc(2026, 3, 2, 14, 0, 0)),
            delivered_at: Some(utc(2026, 3, 4, 20, 30, 0)),
            cancelled_at: None,
            updated_at: utc(2026, 3, 4, 20, 30, 0),
            customer: Some(ana.clone()),
            subtotal_minor: 133_000,
            discount_minor: 5_000,
            shipping_charged_minor: 1_500,
            tax_minor: 9_840,
            total_minor: 139_340,
            fees_minor: 0,
            location: None,
            lines: vec![
                line("LV-SP30-S", "Speedy 30 grade S", 1, 128_000, 5_000),
                line("TEE-1", "Creator Tee", 2, 2_500, 0),
            ],
        },
        OrderUpsert {
            external_id: "M-1002".into(),
            // No status and no dates past placing: a sale that was paid.
            status: OrderStatus::Paid,
            currency: "USD".into(),
            placed_at: utc(2026, 3, 2, 18, 0, 0),
            paid_at: None,
            fulfilled_at: None,
            delivered_at: None,
            cancelled_at: None,
            updated_at: utc(2026, 3, 2, 18, 0, 0),
            // The same buyer as M-1001 whatever the case of the address.
            customer: Some(CustomerRef {
                email: Some("ana@example.com".into()),
                display_name: None,
                ..ana
            }),
            subtotal_minor: 2_500,
            // No order discount: the lines' discounts.
            discount_minor: 500,
            shipping_charged_minor: 499,
            tax_minor: 0,
            total_minor: 2_499,
            fees_minor: 0,
            location: None,
            lines: vec![line("TEE-1", "Creator Tee", 1, 2_500, 500)],
        },
        OrderUpsert {
            external_id: "M-1003".into(),
            status: OrderStatus::Cancelled,
            currency: "JPY".into(),
            placed_at: utc(2026, 3, 3, 0, 0, 0),
            paid_at: None,
            fulfilled_at: None,
            delivered_at: None,
            cancelled_at: Some(utc(2026, 3, 3, 3, 0, 0)),
            updated_at: utc(2026, 3, 3, 3, 0, 0),
            customer: Some(CustomerRef {
                external_id: format!("name:{}", sha("yuki")),
                email: None,
                display_name: Some("Yuki".into()),
            }),
            subtotal_minor: 98_000,
            discount_minor: 0,
            shipping_charged_minor: 0,
            tax_minor: 0,
            total_minor: 98_000,
            fees_minor: 0,
            location: None,
            lines: vec![line("LV-SP30-A", "LV-SP30-A", 1, 98_000, 0)],
        },
    ];
    assert_eq!(orders(&plan), expected);
    for e in &plan.events {
        assert!(
            e.source_event_id.starts_with("csv:orders:"),
            "{}",
            e.source_event_id
        );
        assert_eq!(e.workspace_id, WorkspaceId(7));
        assert_eq!(e.actor, "cli");
    }
    // The ledger time of an order is its latest state.
    let times: Vec<DateTime<Utc>> = plan.events.iter().map(|e| e.occurred_at).collect();
    assert_eq!(
        times,
        vec![
            utc(2026, 3, 4, 20, 30, 0),
            utc(2026, 3, 2, 18, 0, 0),
            utc(2026, 3, 3, 3, 0, 0)
        ]
    );
}

#[test]
fn a_shopify_export_is_detected_and_imports_exactly() {
    let bytes = read("orders_shopify.csv");
    let checked = check_import(
        ImportKind::Orders,
        || Ok(bytes.as_slice()),
        &opts(false),
        &mut |_| {},
    )
    .expect("checked");
    assert_eq!(checked.layout, "Shopify order export");
    let plan = planned(ImportKind::Orders, "orders_shopify.csv");
    assert!(plan.report.errors.is_empty(), "{}", plan.report);
    let got = orders(&plan);
    assert_eq!(got.len(), 3);
    assert_eq!(
        got.first(),
        Some(&OrderUpsert {
            external_id: "#1001".into(),
            status: OrderStatus::Fulfilled,
            currency: "USD".into(),
            placed_at: utc(2024, 3, 10, 16, 50, 0),
            paid_at: Some(utc(2024, 3, 10, 16, 52, 7)),
            fulfilled_at: Some(utc(2024, 3, 11, 14, 0, 0)),
            delivered_at: None,
            cancelled_at: None,
            updated_at: utc(2024, 3, 11, 14, 0, 0),
            customer: Some(CustomerRef {
                external_id: format!("email:{}", sha("jane@example.com")),
                email: Some("jane@example.com".into()),
                display_name: Some("Jane Doe".into()),
            }),
            // Lines 2 × 20.00 + 10.00, less the 5.00 discount, plus 5.00 shipping and 4.50 tax: 54.50.
            subtotal_minor: 5_000,
            discount_minor: 500,
            shipping_charged_minor: 500,
            tax_minor: 450,
            total_minor: 5_450,
            fees_minor: 0,
            location: None,
            // The second line repeats none of the order's columns, as Shopify writes it.
            lines: vec![
                line("BAG-RED", "Bag - Red", 2, 2_000, 500),
                line("STRAP-1", "Strap", 1, 1_000, 0),
            ],
        })
    );
    let refunded = got.get(1).expect("#1002");
    assert_eq!(refunded.status, OrderStatus::Refunded);
    assert_eq!(
        (refunded.total_minor, refunded.placed_at),
        (3_000, utc(2024, 3, 12, 12, 59, 0))
    );
    // Prices including tax: Total = lines + shipping, so the tax is not added on top again.
    let eur = got.get(2).expect("#1003");
    assert_eq!(
        (
            eur.currency.as_str(),
            eur.status,
            eur.subtotal_minor,
            eur.shipping_charged_minor,
            eur.tax_minor,
            eur.total_minor
        ),
        ("EUR", OrderStatus::Pending, 1_990, 490, 0, 2_480)
    );
    assert_eq!(
        eur.customer.as_ref().map(|c| c.external_id.clone()),
        Some(format!("name:{}", sha("eva lind")))
    );
    assert_eq!(plan.report.notes.len(), 1, "{}", plan.report);
    assert!(
        plan.report.render("orders_export.csv").contains(
            "note: 1 order shows a refunded amount (Refunded Amount); an order file records the orders, not their \
             refunds"
        ),
        "{}",
        plan.report
    );
}

#[test]
fn a_tiktok_export_is_detected_and_imports_exactly() {
    let bytes = read("orders_tiktok.csv");
    let checked = check_import(
        ImportKind::Orders,
        || Ok(bytes.as_slice()),
        &opts(false),
        &mut |_| {},
    )
    .expect("checked");
    assert_eq!(checked.layout, "TikTok Shop order export");
    let plan = planned(ImportKind::Orders, "orders_tiktok.csv");
    assert!(plan.report.errors.is_empty(), "{}", plan.report);
    let luna = CustomerRef {
        external_id: format!("name:{}", sha("luna_fan_22")),
        email: None,
        display_name: Some("luna_fan_22".into()),
    };
    assert_eq!(
        orders(&plan),
        vec![
            OrderUpsert {
                // The tab TikTok appends to keep spreadsheets from rounding the id is not part of it.
                external_id: "576461413041234567".into(),
                status: OrderStatus::Delivered,
                currency: "USD".into(),
                // 10/03/2024 11:52:07 AM: month first, New York time (EDT in October).
                placed_at: utc(2024, 10, 3, 15, 52, 7),
                paid_at: Some(utc(2024, 10, 3, 15, 52, 30)),
                fulfilled_at: Some(utc(2024, 10, 4, 21, 30, 0)),
                delivered_at: Some(utc(2024, 10, 8, 18, 15, 0)),
                cancelled_at: None,
                updated_at: utc(2024, 10, 8, 18, 15, 0),
                customer: Some(luna),
                subtotal_minor: 5_498,
                // Platform 2.00 + seller 4.00.
                discount_minor: 600,
                shipping_charged_minor: 599,
                tax_minor: 272,
                total_minor: 5_769,
                fees_minor: 0,
                location: None,
                lines: vec![
                    line("LUNA-TEE-M", "Luna Tee - Black, M", 2, 1_999, 600),
                    // No Seller SKU: TikTok's SKU ID, as the TikTok Shop connector does.
                    line("1729384757", "Luna Cap", 1, 1_500, 0),
                ],
            },
            OrderUpsert {
                external_id: "576461413049999999".into(),
                status: OrderStatus::Cancelled,
                currency: "USD".into(),
                placed_at: utc(2024, 10, 6, 0, 0, 0),
                paid_at: Some(utc(2024, 10, 6, 0, 1, 0)),
                fulfilled_at: None,
                delivered_at: None,
                cancelled_at: Some(utc(2024, 10, 6, 1, 30, 0)),
                updated_at: utc(2024, 10, 6, 1, 30, 0),
                customer: Some(CustomerRef {
                    external_id: format!("name:{}", sha("night_owl")),
                    email: None,
                    display_name: Some("night_owl".into()),
                }),
                subtotal_minor: 1_999,
                discount_minor: 0,
                shipping_charged_minor: 0,
                tax_minor: 0,
                total_minor: 1_999,
                fees_minor: 0,
                location: None,
                lines: vec![line("LUNA-TEE-M", "Luna Tee - Black, M", 1, 1_999, 0)],
            },
        ]
    );
    assert!(
        plan.report
            .render("t.csv")
            .contains("note: 1 order shows a refunded amount (Order Refund Amount)"),
        "{}",
        plan.report
    );
}

#[test]
fn an_unknown_header_names_the_layouts_it_knows() {
    let err = plan_import(
        ImportKind::Orders,
        "Date,Item,Amount\n2026-03-01,Bag,10\n".as_bytes(),
        &opts(false),
    )
    .expect_err("refused");
    assert!(
        matches!(
            err,
            ImportError::UnknownLayout {
                kind: ImportKind::Orders,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    for layout in [
        "CreatorFlow orders",
        "Shopify order export",
        "TikTok Shop order export",
    ] {
        assert!(text.contains(layout), "{text}");
    }
    // A CreatorFlow header with a typo gets the usual header report, not a layout guess.
    let err = plan_import(
        ImportKind::Orders,
        "order_id,placed_at,sku,quantity,unit_prise\nM-1,2026-03-01,A,1,10\n".as_bytes(),
        &opts(false),
    )
    .expect_err("refused")
    .to_string();
    assert!(
        err.contains("column \"unit_prise\" is not a known column; did you mean \"unit_price\"?"),
        "{err}"
    );
    // A Shopify export missing a column it needs.
    let err = plan_import(
        ImportKind::Orders,
        "Name,Currency,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price\n"
            .as_bytes(),
        &opts(false),
    )
    .expect_err("refused")
    .to_string();
    assert!(
        err.contains("the required column \"Lineitem sku\" is missing"),
        "{err}"
    );
    assert!(
        err.contains("this looks like a Shopify order export"),
        "{err}"
    );
}

#[test]
fn rows_of_one_order_spread_over_the_file_make_one_order() {
    let csv = "\
order_id,placed_at,sku,quantity,unit_price,total
A,2026-03-01 10:00,S-1,1,1.00,3.50
B,2026-03-01 11:00,S-1,1,2.00,2.00
A,2026-03-01 10:00,S-2,1,2.50,
C,2026-03-01 12:00,S-3,2,1.00,
A,,S-3,1,0,
";
    let plan = plan_import(ImportKind::Orders, csv.as_bytes(), &opts(false)).expect("plannable");
    assert!(plan.report.errors.is_empty(), "{}", plan.report);
    let got = orders(&plan);
    let ids: Vec<&str> = got.iter().map(|o| o.external_id.as_str()).collect();
    // Orders whose rows are together come out as they close; the scattered one at the end, whole.
    assert_eq!(ids, vec!["B", "C", "A"]);
    let a = got.last().expect("A");
    assert_eq!(
        a.lines,
        vec![
            line("S-1", "S-1", 1, 100, 0),
            line("S-2", "S-2", 1, 250, 0),
            line("S-3", "S-3", 1, 0, 0)
        ]
    );
    assert_eq!(a.total_minor, 350);
}

#[test]
fn streaming_in_small_batches_gives_the_same_events_as_one_plan() {
    let bytes = read("orders_own.csv");
    let whole = planned(ImportKind::Orders, "orders_own.csv");
    let o = opts(false);
    let mut seen = Vec::new();
    let checked = check_import(ImportKind::Orders, || Ok(bytes.as_slice()), &o, &mut |p| {
        seen.push(p)
    })
    .expect("checked");
    assert_eq!(checked.events, 3);
    let last = seen.last().copied().expect("progress reported");
    assert_eq!(last.rows, 4);
    assert_eq!(last.bytes, bytes.len() as u64);
    let batches: Vec<_> = stream_import(bytes.as_slice(), &checked, &o, 1)
        .expect("stream")
        .map(|b| b.expect("batch"))
        .collect();
    // A batch ends after the order that reaches the row count: M-1001 (2 rows), M-1002, M-1003.
    let sizes: Vec<(usize, usize)> = batches.iter().map(|b| (b.events.len(), b.rows)).collect();
    assert_eq!(sizes, vec![(1, 2), (1, 1), (1, 1)]);
    let streamed: Vec<IngestEvent> = batches.into_iter().flat_map(|b| b.events).collect();
    assert_eq!(streamed, whole.events);
}

#[test]
fn a_bad_order_file_imports_nothing_or_only_its_valid_orders() {
    let bytes = std::fs::read(super::golden_dir().join("bad_orders.csv")).expect("golden");
    let strict =
        plan_import(ImportKind::Orders, bytes.as_slice(), &opts(false)).expect("plannable");
    assert!(strict.events.is_empty());
    assert_eq!(strict.report.rows_read, 17);
    // B-1 (two rows, apart) and B-14 are the valid orders.
    assert_eq!(strict.report.rows_accepted, 3);
    let lenient =
        plan_import(ImportKind::Orders, bytes.as_slice(), &opts(true)).expect("plannable");
    assert_eq!(lenient.report.errors, strict.report.errors);
    let ids: Vec<String> = orders(&lenient)
        .into_iter()
        .map(|o| o.external_id)
        .collect();
    assert_eq!(ids, vec!["B-14", "B-1"]);
    let too_many = strict
        .report
        .errors
        .iter()
        .find(|e| e.row == 3)
        .expect("row 3");
    assert_eq!(
        too_many.to_string(),
        "row 3, column unit_price: \"19.999\" has 3 decimals, but USD allows at most 2"
    );
}

#[test]
fn refunds_ad_spend_and_content_import_exactly() {
    let plan = planned(ImportKind::Refunds, "refunds.csv");
    assert!(plan.report.errors.is_empty(), "{}", plan.report);
    assert_eq!(
        payloads(&plan),
        vec![
            Payload::RefundRecorded(RefundRecord {
                order_external_id: "M-1001".into(),
                external_id: Some("R-1".into()),
                kind: "return".into(),
                amount_minor: 133_000,
                currency: "USD".into(),
                reason: Some("Changed mind".into()),
                lines: vec![
                    ReturnLine {
                        sku: "LV-SP30-S".into(),
                        quantity: 1,
                        sellable: true
                    },
                    ReturnLine {
                        sku: "TEE-1".into(),
                        quantity: 2,
                        sellable: false
                    },
                ],
            }),
            Payload::RefundRecorded(RefundRecord {
                order_external_id: "M-1002".into(),
                external_id: Some("R-2".into()),
                kind: "refund".into(),
                amount_minor: 500,
                currency: "USD".into(),
                reason: Some("Late delivery".into()),
                lines: vec![],
            }),
        ]
    );
    assert_eq!(
        plan.events.first().map(|e| e.occurred_at),
        Some(utc(2026, 3, 10, 16, 0, 0))
    );

    let plan = planned(ImportKind::AdSpend, "ad_spend.csv");
    assert!(plan.report.errors.is_empty(), "{}", plan.report);
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 3, d).expect("day");
    assert_eq!(
        payloads(&plan),
        vec![
            Payload::AdSpendRecorded(AdSpend {
                campaign_external_id: "C-1".into(),
                campaign_name: "Spring launch".into(),
                day: day(1),
                spend_minor: 12_050,
                currency: "USD".into(),
                impressions: 15_000,
                clicks: 420,
                conversions: 12,
                attributed_revenue_minor: 98_000,
            }),
            Payload::AdSpendRecorded(AdSpend {
                campaign_external_id: "C-1".into(),
                campaign_name: "Spring launch".into(),
                day: day(2),
                spend_minor: 9_999,
                currency: "USD".into(),
                impressions: 14_000,
                clicks: 390,
                conversions: 9,
                attributed_revenue_minor: 0,
            }),
            Payload::AdSpendRecorded(AdSpend {
                campaign_external_id: "C-2".into(),
                campaign_name: "C-2".into(),
                day: day(1),
                spend_minor: 1_000,
                currency: "USD".into(),
                impressions: 0,
                clicks: 0,
                conversions: 0,
                attributed_revenue_minor: 0,
            }),
        ]
    );

    let plan = planned(ImportKind::Content, "content.csv");
    assert!(plan.report.errors.is_empty(), "{}", plan.report);
    assert_eq!(
        payloads(&plan),
        vec![
            Payload::ContentMetricsRecorded(ContentMetrics {
                content_external_id: "V-1".into(),
                kind: "video".into(),
                title: Some("Unboxing the Speedy".into()),
                url: Some("https://example.com/v/1".into()),
                published_at: Some(utc(2026, 3, 1, 1, 0, 0)),
                day: day(1),
                views: 15_230,
                likes: 1_200,
                comments: 85,
                shares: 40,
                product_clicks: 310,
            }),
            Payload::ContentMetricsRecorded(ContentMetrics {
                content_external_id: "V-1".into(),
                kind: "video".into(),
                title: None,
                url: None,
                published_at: None,
                day: day(2),
                views: 18_000,
                likes: 1_350,
                comments: 90,
                shares: 41,
                product_clicks: 355,
            }),
            Payload::ContentMetricsRecorded(ContentMetrics {
                content_external_id: "L-7".into(),
                kind: "live".into(),
                title: Some("Sunday live".into()),
                url: None,
                published_at: None,
                day: day(1),
                views: 900,
                likes: 80,
                comments: 30,
                shares: 2,
                product_clicks: 45,
            }),
        ]
    );
}

#[test]
fn the_same_order_file_gives_the_same_ids_and_an_edit_changes_one() {
    let a = planned(ImportKind::Orders, "orders_own.csv");
    let b = planned(ImportKind::Orders, "orders_own.csv");
    assert_eq!(a, b);
    let text = String::from_utf8(read("orders_own.csv")).expect("utf-8");
    let edited = text.replace(
        "M-1002,2026-03-02T18:00:00Z,,,",
        "M-1002,2026-03-02T18:00:00Z,fulfilled,,",
    );
    assert_ne!(edited, text);
    let c = plan_import(ImportKind::Orders, edited.as_bytes(), &opts(false)).expect("plannable");
    let ids = |p: &ImportPlan| -> Vec<String> {
        p.events.iter().map(|e| e.source_event_id.clone()).collect()
    };
    let (old, new) = (ids(&a), ids(&c));
    assert_eq!(old.first(), new.first());
    assert_ne!(old.get(1), new.get(1));
    assert_eq!(old.get(2), new.get(2));
}

// ---- through the write path ----

async fn store() -> (tempfile::TempDir, Store, ImportOptions) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(
        &DbOptions::new(url),
        CredentialCipher::from_key_bytes(&[7u8; 32]).expect("key"),
    )
    .await
    .expect("store");
    store.migrate().await.expect("migrations");
    let ws = store
        .create_workspace(&NewWorkspace {
            slug: Slug::parse("luna").expect("slug"),
            name: "Luna".into(),
            timezone: Timezone::parse("America/New_York").expect("zone"),
            currency: Currency::parse("USD").expect("currency"),
        })
        .await
        .expect("workspace");
    let mut o = opts(false);
    o.workspace_id = WorkspaceId(ws.id);
    (dir, store, o)
}

/// Checks and streams a fixture through the write path in batches of `batch_rows`, each all or nothing, as the
/// CLI does.
async fn import(ingest: &Ingest, kind: ImportKind, name: &str, o: &ImportOptions) -> Vec<Outcome> {
    let path = fixture(name);
    let checked =
        check_import(kind, || std::fs::File::open(&path), o, &mut |_| {}).expect("checked");
    assert!(checked.report.errors.is_empty(), "{}", checked.report);
    let file = std::fs::File::open(&path).expect("fixture");
    let mut outcomes = Vec::new();
    for batch in stream_import(file, &checked, o, 2).expect("stream") {
        let batch = batch.expect("batch");
        let applied = ingest
            .apply_page(&batch.events, |_| Box::pin(async { Ok(()) }))
            .await
            .map_err(|(i, e)| format!("{name}: event {i} ({:?}): {e}", batch.origins.get(i)))
            .expect("applied");
        outcomes.extend(applied);
    }
    outcomes
}

#[tokio::test]
async fn every_layout_goes_through_the_write_path_once() {
    let (_dir, store, o) = store().await;
    let ingest = Ingest::new(store.clone(), EventBus::default());
    // Returned items must be known products.
    let products = plan_import(
        ImportKind::Products,
        "sku,title,price\nLV-SP30-S,Speedy 30,1280\nTEE-1,Creator Tee,25\n".as_bytes(),
        &o,
    )
    .expect("plannable");
    ingest.apply_all(&products.events).await.expect("products");

    let files = [
        (ImportKind::Orders, "orders_own.csv", 3),
        (ImportKind::Orders, "orders_shopify.csv", 3),
        (ImportKind::Orders, "orders_tiktok.csv", 2),
        (ImportKind::Refunds, "refunds.csv", 2),
        (ImportKind::AdSpend, "ad_spend.csv", 3),
        (ImportKind::Content, "content.csv", 3),
    ];
    for (kind, name, events) in files {
        let outcomes = import(&ingest, kind, name, &o).await;
        assert_eq!(outcomes, vec![Outcome::Applied; events], "{name}");
    }
    let db = store.db();
    let counts = async || {
        (
            order::Entity::find().count(db).await.expect("orders"),
            order_line::Entity::find().count(db).await.expect("lines"),
            customer::Entity::find().count(db).await.expect("customers"),
            refund::Entity::find().count(db).await.expect("refunds"),
        )
    };
    // Customers: Ana (two orders, one e-mail), Yuki, Jane, Bob, Eva, luna_fan_22, night_owl.
    let before = counts().await;
    assert_eq!(before, (8, 11, 7, 2));
    let stored = order::Entity::find().all(db).await.expect("orders");
    let total = |currency: &str| -> i64 {
        stored
            .iter()
            .filter(|o| o.currency == currency)
            .map(|o| o.total_minor)
            .sum()
    };
    // To the cent: 1393.40 + 24.99 + 54.50 + 30.00 + 57.69 + 19.99 USD, 24.80 EUR, 98000 JPY.
    assert_eq!(
        total("USD"),
        139_340 + 2_499 + 5_450 + 3_000 + 5_769 + 1_999
    );
    assert_eq!(total("EUR"), 2_480);
    assert_eq!(total("JPY"), 98_000);
    let m1001 = stored
        .iter()
        .find(|o| o.external_id == "M-1001")
        .expect("M-1001");
    assert_eq!(m1001.refunded_minor, 133_000);
    let ana = customer::Entity::find()
        .all(db)
        .await
        .expect("customers")
        .into_iter()
        .find(|c| c.email_hash.as_deref() == Some(sha("ana@example.com").as_str()))
        .expect("Ana by her e-mail's hash");
    assert_eq!(ana.orders_count, 2);

    // The same files again change nothing.
    for (kind, name, events) in files {
        let outcomes = import(&ingest, kind, name, &o).await;
        assert_eq!(outcomes, vec![Outcome::Duplicate; events], "{name}");
    }
    assert_eq!(counts().await, before);
    let again = order::Entity::find().all(db).await.expect("orders");
    assert_eq!(
        again
            .iter()
            .map(|o| (o.id, o.total_minor, o.refunded_minor, o.status.clone()))
            .collect::<Vec<_>>(),
        stored
            .iter()
            .map(|o| (o.id, o.total_minor, o.refunded_minor, o.status.clone()))
            .collect::<Vec<_>>()
    );
}
