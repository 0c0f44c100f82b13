//! End-to-end tests of planning imports and exporting, plus the golden reports under `tests/golden/`.
//!
//! Golden files: every `*.csv` there is planned as the kind its name contains ("stock", "orders", "refunds",
//! "ad_spend", "content"; products otherwise), once refusing and once skipping invalid rows, and the rendered
//! reports plus the planned events are compared with the `.expected` file next to it.
//! `UPDATE_GOLDEN=1 cargo test -p creatorflow-import` rewrites them; review the diff.
//!
//! The history kinds (orders, refunds, ad spend, content) have their tests in `import/history.rs`, including
//! ones that apply the events through the write path on a temporary SQLite database.

#[path = "import/history.rs"]
mod history;

use chrono::{DateTime, TimeZone, Utc};
use creatorflow_core::ingest::{
    IngestEvent, InventoryPolicy, InventorySet, Payload, ProductUpsert, Source, VariantUpsert,
};
use creatorflow_core::{Currency, Timezone, WorkspaceId};
use creatorflow_import::{
    HeaderProblem, ImportError, ImportKind, ImportOptions, ImportPlan, ProductRow, StockRow,
    export_products, export_stock, plan_import, product_rows,
};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
        .single()
        .expect("valid time")
}

fn opts(skip_invalid: bool) -> ImportOptions {
    ImportOptions {
        workspace_id: WorkspaceId(7),
        default_currency: Currency::parse("USD").expect("known"),
        timezone: Timezone::parse("America/New_York").expect("known"),
        source: Source::Csv,
        actor: "cli".into(),
        skip_invalid,
        now: now(),
    }
}

fn planned(kind: ImportKind, csv: &str) -> ImportPlan {
    plan_import(kind, csv.as_bytes(), &opts(false)).expect("plannable")
}

fn plan_skipping(kind: ImportKind, csv: &str) -> ImportPlan {
    plan_import(kind, csv.as_bytes(), &opts(true)).expect("plannable")
}

fn header_problems(kind: ImportKind, csv: &str) -> Vec<HeaderProblem> {
    match plan_import(kind, csv.as_bytes(), &opts(false)) {
        Err(ImportError::Header { problems, .. }) => problems,
        other => panic!("expected a header error, got {other:?}"),
    }
}

fn payloads(plan: &ImportPlan) -> Vec<Payload> {
    plan.events.iter().map(|e| e.payload.clone()).collect()
}

fn ids(plan: &ImportPlan) -> Vec<String> {
    plan.events
        .iter()
        .map(|e| e.source_event_id.clone())
        .collect()
}

fn variant(
    sku: &str,
    title: &str,
    condition: Option<&str>,
    currency: &str,
    price: i64,
) -> VariantUpsert {
    VariantUpsert {
        sku: sku.into(),
        external_id: None,
        title: title.into(),
        condition: condition.map(Into::into),
        barcode: None,
        currency: currency.into(),
        price_minor: price,
        unit_cost_minor: None,
    }
}

const VALID_PRODUCTS: &str = "\
product_id,sku,title,variant_title,brand,category,condition,barcode,currency,price,cost,status
LV-SPEEDY-30,LV-SP30-S,Louis Vuitton Speedy 30,Speedy 30 grade S,Louis Vuitton,Bags,S,,JPY,128000,90000,active
LV-SPEEDY-30,LV-SP30-A,Louis Vuitton Speedy 30,Speedy 30 grade A,Louis Vuitton,Bags,A,,jpy,98000,70000,Active
LV-SPEEDY-30,LV-SP30-B,Louis Vuitton Speedy 30,,Louis Vuitton,Bags, B ,,JPY,1999,,active
,CH-WOC-1,Chanel Wallet on Chain,,Chanel,Wallets,used,4901234567894,USD,19.99,12.5,draft
,TEE-1,Creator Tee,,,Apparel,new,,,25,,
";

#[test]
fn valid_products_become_exact_events() {
    let plan = planned(ImportKind::Products, VALID_PRODUCTS);
    assert_eq!(plan.report.rows_read, 5);
    assert_eq!(plan.report.rows_accepted, 5);
    assert!(plan.report.errors.is_empty(), "{}", plan.report);
    assert_eq!(plan.events.len(), 3);
    for e in &plan.events {
        assert_eq!(e.workspace_id, WorkspaceId(7));
        assert_eq!(e.source, Source::Csv);
        assert_eq!(e.actor, "cli");
        assert_eq!(e.occurred_at, now());
        assert!(
            e.source_event_id.starts_with("csv:products:"),
            "{}",
            e.source_event_id
        );
    }
    let mut unique = ids(&plan);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3);

    let speedy = ProductUpsert {
        external_id: Some("LV-SPEEDY-30".into()),
        title: "Louis Vuitton Speedy 30".into(),
        brand: Some("Louis Vuitton".into()),
        category: Some("Bags".into()),
        status: "active".into(),
        variants: vec![
            VariantUpsert {
                unit_cost_minor: Some(90_000),
                ..variant("LV-SP30-S", "Speedy 30 grade S", Some("S"), "JPY", 128_000)
            },
            VariantUpsert {
                unit_cost_minor: Some(70_000),
                ..variant("LV-SP30-A", "Speedy 30 grade A", Some("A"), "JPY", 98_000)
            },
            // No variant title: the product's title; "1999" JPY is 1999 minor units.
            variant(
                "LV-SP30-B",
                "Louis Vuitton Speedy 30",
                Some("B"),
                "JPY",
                1999,
            ),
        ],
    };
    let woc = ProductUpsert {
        external_id: None,
        title: "Chanel Wallet on Chain".into(),
        brand: Some("Chanel".into()),
        category: Some("Wallets".into()),
        status: "draft".into(),
        variants: vec![VariantUpsert {
            barcode: Some("4901234567894".into()),
            // "19.99" USD is 1999 cents, "12.5" is 1250.
            unit_cost_minor: Some(1250),
            ..variant(
                "CH-WOC-1",
                "Chanel Wallet on Chain",
                Some("used"),
                "USD",
                1999,
            )
        }],
    };
    let tee = ProductUpsert {
        external_id: None,
        title: "Creator Tee".into(),
        brand: None,
        category: Some("Apparel".into()),
        status: "active".into(),
        // Empty currency: the default (USD).
        variants: vec![variant("TEE-1", "Creator Tee", Some("new"), "USD", 2500)],
    };
    assert_eq!(
        payloads(&plan),
        vec![
            Payload::ProductUpserted(speedy),
            Payload::ProductUpserted(woc),
            Payload::ProductUpserted(tee),
        ]
    );
    assert_eq!(
        plan.report.render("products.csv"),
        "products.csv: all 5 rows are valid."
    );
}

#[test]
fn header_names_are_case_insensitive_and_trimmed() {
    let plan = planned(
        ImportKind::Products,
        " SKU , Title ,PRICE, Product ID ,Variant Title\nA-1,Thing,10,P,Red\n",
    );
    let Some(Payload::ProductUpserted(p)) = payloads(&plan).into_iter().next() else {
        panic!("one product expected: {}", plan.report);
    };
    assert_eq!(p.external_id.as_deref(), Some("P"));
    assert_eq!(p.variants.first().map(|v| v.title.as_str()), Some("Red"));
}

fn bad_products() -> String {
    std::fs::read_to_string(golden_dir().join("bad_products.csv")).expect("golden file")
}

#[test]
fn a_bad_file_is_refused_as_a_whole_with_every_problem_listed() {
    let plan = planned(ImportKind::Products, &bad_products());
    assert!(plan.events.is_empty());
    assert_eq!(plan.report.rows_read, 21);
    assert_eq!(plan.report.rows_accepted, 4);
    // Every bad row is reported, not just the first.
    let mut rows: Vec<usize> = plan.report.errors.iter().map(|e| e.row).collect();
    rows.dedup();
    assert_eq!(
        rows,
        vec![3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 17, 18, 19, 20, 22]
    );
    let price = plan.report.errors.first().expect("an error");
    assert_eq!(price.row, 3);
    assert_eq!(price.column.as_deref(), Some("price"));
    assert_eq!(price.value.as_deref(), Some("12,50"));
    let dup = plan.report.errors.get(1).expect("an error");
    assert_eq!(
        dup.to_string(),
        "row 4, column sku: SKU-001 already appears on row 2; each SKU can be listed once"
    );
}

#[test]
fn skip_invalid_plans_only_the_valid_rows_and_reports_the_same_errors() {
    let strict = planned(ImportKind::Products, &bad_products());
    let skipping = plan_skipping(ImportKind::Products, &bad_products());
    assert_eq!(skipping.report.errors, strict.report.errors);
    assert_eq!(skipping.report.rows_accepted, 4);
    let skus: Vec<Vec<String>> = payloads(&skipping)
        .into_iter()
        .map(|p| match p {
            Payload::ProductUpserted(p) => p.variants.into_iter().map(|v| v.sku).collect(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    // P-1's second row disagrees on the brand, so P-1 keeps only its valid first row.
    assert_eq!(
        skus,
        vec![
            vec!["SKU-001"],
            vec!["SKU-012"],
            vec!["SKU-014"],
            vec!["SKU-022"]
        ]
    );
    assert!(skipping.report.render("products.csv").starts_with(
        "products.csv: 17 of 21 rows are invalid and were skipped; the 4 valid rows were imported."
    ));
}

#[test]
fn header_missing_sku() {
    let problems = header_problems(ImportKind::Products, "title,price\nThing,10\n");
    assert_eq!(
        problems,
        vec![HeaderProblem::Missing {
            column: "sku".into()
        }]
    );
    let err = plan_import(
        ImportKind::Products,
        "title,price\nThing,10\n".as_bytes(),
        &opts(false),
    )
    .expect_err("refused")
    .to_string();
    assert!(
        err.contains("the required column \"sku\" is missing"),
        "{err}"
    );
    assert!(
        err.contains("required: sku, title, price; optional: product_id"),
        "{err}"
    );
}

#[test]
fn header_unknown_column_suggests_the_likely_one() {
    let problems = header_problems(ImportKind::Products, "sku,title,prise\nA-1,Thing,10\n");
    assert_eq!(
        problems,
        vec![
            HeaderProblem::Unknown {
                column: "prise".into(),
                suggestion: Some("price".into()),
                other_kind: None,
            },
            HeaderProblem::Missing {
                column: "price".into()
            },
        ]
    );
    assert_eq!(
        problems.first().map(ToString::to_string).as_deref(),
        Some("column \"prise\" is not a known column; did you mean \"price\"?")
    );
}

#[test]
fn header_duplicate_column() {
    let problems = header_problems(
        ImportKind::Products,
        "sku,title,price,SKU\nA-1,Thing,10,A-2\n",
    );
    assert_eq!(
        problems,
        vec![HeaderProblem::Duplicate {
            column: "sku".into(),
            first: "A".into(),
            second: "D".into(),
        }]
    );
}

#[test]
fn header_of_the_other_kind_of_file_is_named() {
    let problems = header_problems(ImportKind::Products, "sku,on_hand\nA-1,3\n");
    assert!(problems.contains(&HeaderProblem::Unknown {
        column: "on_hand".into(),
        suggestion: None,
        other_kind: Some(ImportKind::Stock),
    }));
    let problems = header_problems(ImportKind::Stock, "sku,location\nA-1,tokyo\n");
    assert_eq!(problems, vec![HeaderProblem::NoStockValue]);
}

#[test]
fn empty_and_header_only_files() {
    assert!(matches!(
        plan_import(ImportKind::Products, "".as_bytes(), &opts(false)),
        Err(ImportError::Empty { .. })
    ));
    assert!(matches!(
        plan_import(ImportKind::Products, "\r\n,,\r\n".as_bytes(), &opts(false)),
        Err(ImportError::Empty { .. })
    ));
    let plan = planned(ImportKind::Products, "sku,title,price\n");
    assert!(plan.events.is_empty());
    assert_eq!(
        plan.report.render("p.csv"),
        "p.csv: there are no rows below the header; nothing to import."
    );
}

#[test]
fn files_in_a_legacy_encoding_are_refused_with_the_line() {
    // "バッグ" in Shift-JIS on line 3.
    let mut bytes = b"sku,title,price\nA-1,Bag,10\nA-2,".to_vec();
    bytes.extend_from_slice(&[0x83, 0x6F, 0x83, 0x62, 0x83, 0x4F]);
    bytes.extend_from_slice(b",10\n");
    match plan_import(ImportKind::Products, bytes.as_slice(), &opts(false)) {
        Err(e @ ImportError::NotUtf8 { line: 3 }) => {
            assert!(e.to_string().contains("CSV UTF-8"), "{e}");
        }
        other => panic!("expected NotUtf8 on line 3, got {other:?}"),
    }
}

const STOCK: &str = "\
sku,location,on_hand,safety_stock,reorder_point,lead_time_days,incoming,reason
LV-SP30-S,tokyo,3,1,2,14,5,monthly count
LV-SP30-S,osaka,0,,,,,
TEE-1,,120,,,,,
CH-WOC-1,,,,,30,,
";

#[test]
fn stock_files_give_counts_and_reorder_settings() {
    // CH-WOC-1 has no count: blank on_hand is an error while the column exists.
    let plan = planned(ImportKind::Stock, STOCK);
    assert_eq!(plan.report.rows_accepted, 3);
    assert_eq!(
        plan.report
            .errors
            .first()
            .map(ToString::to_string)
            .as_deref(),
        Some("row 5, column on_hand: the count is empty; write 0 when none are left")
    );
    assert!(plan.events.is_empty());

    let fixed = STOCK.replace("CH-WOC-1,,,", "CH-WOC-1,,1,");
    let plan = plan_import(ImportKind::Stock, fixed.as_bytes(), &opts(false)).expect("plannable");
    assert!(plan.report.errors.is_empty(), "{}", plan.report);
    let set = |sku: &str, location: Option<&str>, on_hand: i64, reason: Option<&str>| {
        Payload::InventorySet(InventorySet {
            sku: sku.into(),
            location: location.map(Into::into),
            on_hand,
            reason: reason.map(Into::into),
        })
    };
    assert_eq!(
        payloads(&plan),
        vec![
            Payload::InventoryPolicySet(InventoryPolicy {
                sku: "LV-SP30-S".into(),
                location: Some("tokyo".into()),
                safety_stock: Some(1),
                reorder_point: Some(2),
                lead_time_days: Some(14),
                incoming: Some(5),
            }),
            set("LV-SP30-S", Some("tokyo"), 3, Some("monthly count")),
            set("LV-SP30-S", Some("osaka"), 0, None),
            set("TEE-1", None, 120, None),
            Payload::InventoryPolicySet(InventoryPolicy {
                sku: "CH-WOC-1".into(),
                location: None,
                safety_stock: None,
                reorder_point: None,
                lead_time_days: Some(30),
                incoming: None,
            }),
            set("CH-WOC-1", None, 1, None),
        ]
    );
    let mut unique = ids(&plan);
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        6,
        "the two events of one row have different ids"
    );

    // Without an on_hand column only reorder settings change; a blank cell leaves a setting as it is.
    let plan = planned(
        ImportKind::Stock,
        "sku,safety_stock,lead_time_days\nA-1,2,\nA-2,,7\nA-3,,\n",
    );
    assert_eq!(plan.report.rows_accepted, 2);
    assert_eq!(
        plan.report
            .errors
            .first()
            .map(ToString::to_string)
            .as_deref(),
        Some("row 4: nothing to import; fill at least one of safety_stock, lead_time_days")
    );
}

#[test]
fn bad_quantities_are_rejected() {
    let plan = planned(
        ImportKind::Stock,
        "sku,on_hand,lead_time_days\nA,1.5,\nB,-3,\nC,abc,\nD,,\nE,1,366\nF,2,-1\nG,3,365\n",
    );
    let lines: Vec<String> = plan.report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        vec![
            "row 2, column on_hand: \"1.5\" is not a whole number",
            "row 3, column on_hand: \"-3\" is negative; quantities must be 0 or more",
            "row 4, column on_hand: \"abc\" is not a number",
            "row 5, column on_hand: the count is empty; write 0 when none are left",
            "row 6, column lead_time_days: \"366\" is out of range; a lead time is 0 to 365 days",
            "row 7, column lead_time_days: \"-1\" is out of range; a lead time is 0 to 365 days",
        ]
    );
    assert_eq!(plan.report.rows_accepted, 1);
    assert!(plan.events.is_empty());
}

#[test]
fn exported_stock_imports_as_the_same_counts() {
    let rows = vec![
        StockRow {
            sku: "LV-SP30-S".into(),
            title: "Louis Vuitton Speedy 30, grade \"S\"".into(),
            location: Some("tokyo".into()),
            on_hand: 3,
            committed: 1,
            available: 1,
            incoming: 5,
            safety_stock: 1,
            reorder_point: Some(2),
            lead_time_days: Some(14),
        },
        StockRow {
            sku: "TEE-1".into(),
            title: "=HYPERLINK(\"http://evil\")".into(),
            location: None,
            on_hand: 0,
            committed: 2,
            available: -2,
            incoming: 0,
            safety_stock: 0,
            reorder_point: None,
            lead_time_days: None,
        },
    ];
    let file = tempfile::NamedTempFile::new().expect("temp file");
    export_stock(&rows, file.as_file()).expect("exported");
    let text = std::fs::read_to_string(file.path()).expect("readable");
    assert!(text.starts_with("\u{feff}sku,title,location,on_hand,committed,available,incoming,"));
    assert!(text.contains("\r\n"));
    // A formula in a title is neutralised for spreadsheets.
    assert!(text.contains("'=HYPERLINK"), "{text}");

    let reopened = std::fs::File::open(file.path()).expect("readable");
    let plan = plan_import(ImportKind::Stock, reopened, &opts(false)).expect("plannable");
    assert!(plan.report.errors.is_empty(), "{}", plan.report);
    assert_eq!(
        plan.report.ignored_columns,
        vec!["title", "committed", "available"]
    );
    let counts: Vec<(String, Option<String>, i64)> = payloads(&plan)
        .into_iter()
        .filter_map(|p| match p {
            Payload::InventorySet(s) => Some((s.sku, s.location, s.on_hand)),
            _ => None,
        })
        .collect();
    let exported: Vec<(String, Option<String>, i64)> = rows
        .iter()
        .map(|r| (r.sku.clone(), r.location.clone(), r.on_hand))
        .collect();
    assert_eq!(counts, exported);
    let policy = payloads(&plan).into_iter().find_map(|p| match p {
        Payload::InventoryPolicySet(p) => Some(p),
        _ => None,
    });
    assert_eq!(
        policy,
        Some(InventoryPolicy {
            sku: "LV-SP30-S".into(),
            location: Some("tokyo".into()),
            safety_stock: Some(1),
            reorder_point: Some(2),
            lead_time_days: Some(14),
            incoming: Some(5),
        })
    );
    assert!(
        plan.report
            .render("stock.csv")
            .ends_with("note: columns title, committed, available are shown for reference only; changes there are not imported.")
    );
}

#[test]
fn exported_products_import_as_the_same_products() {
    let tricky = "\
product_id,sku,title,variant_title,brand,category,condition,barcode,currency,price,cost,status
,=SUM-1,\"=1+1 \"\"quoted\"\", comma\",,-dash brand,@cat,'apostrophe,,KWD,1.5,0.001,archived
";
    let source = format!(
        "{VALID_PRODUCTS}{}",
        tricky.lines().nth(1).unwrap_or_default()
    );
    let first = planned(ImportKind::Products, &source);
    assert!(first.report.errors.is_empty(), "{}", first.report);
    assert_eq!(first.events.len(), 4);

    let rows: Vec<ProductRow> = payloads(&first)
        .iter()
        .flat_map(|p| match p {
            Payload::ProductUpserted(p) => product_rows(p).expect("known currencies"),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let mut out = Vec::new();
    export_products(&rows, &mut out).expect("exported");

    let again = plan_import(ImportKind::Products, out.as_slice(), &opts(false)).expect("plannable");
    assert!(again.report.errors.is_empty(), "{}", again.report);
    assert_eq!(payloads(&again), payloads(&first));
    let Some(Payload::ProductUpserted(tricky)) = payloads(&again).pop() else {
        panic!("products expected");
    };
    assert_eq!(tricky.title, "=1+1 \"quoted\", comma");
    assert_eq!(tricky.brand.as_deref(), Some("-dash brand"));
    assert_eq!(
        tricky.variants.first().map(|v| v.sku.as_str()),
        Some("=SUM-1")
    );
    assert_eq!(
        tricky.variants.first().and_then(|v| v.condition.as_deref()),
        Some("'apostrophe")
    );
    assert_eq!(tricky.variants.first().map(|v| v.price_minor), Some(1500));
}

#[test]
fn the_same_file_gives_the_same_ids_and_one_changed_cell_changes_one_id() {
    let a = planned(ImportKind::Products, VALID_PRODUCTS);
    let b = planned(ImportKind::Products, VALID_PRODUCTS);
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(a, b);

    // Change the price of TEE-1 (the third product).
    let edited = VALID_PRODUCTS.replace("Apparel,new,,,25,,", "Apparel,new,,,26,,");
    assert_ne!(edited, VALID_PRODUCTS);
    let c = planned(ImportKind::Products, &edited);
    let (old, new) = (ids(&a), ids(&c));
    assert_eq!(old.get(..2), new.get(..2));
    assert_ne!(old.get(2), new.get(2));

    // A cell of a multi-variant product changes that product's id only.
    let edited = VALID_PRODUCTS.replace("Speedy 30 grade A", "Speedy 30 grade A+");
    let d = planned(ImportKind::Products, &edited);
    let new = ids(&d);
    assert_ne!(old.first(), new.first());
    assert_eq!(old.get(1..), new.get(1..));

    // Stock: one count changed, one id changed.
    let fixed = STOCK.replace("CH-WOC-1,,,", "CH-WOC-1,,1,");
    let s1 = planned(ImportKind::Stock, &fixed);
    let s2 = planned(
        ImportKind::Stock,
        &fixed.replace("TEE-1,,120", "TEE-1,,119"),
    );
    let changed: Vec<usize> = ids(&s1)
        .iter()
        .zip(ids(&s2))
        .enumerate()
        .filter(|(_, (x, y))| **x != *y)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(changed, vec![3]);

    // The same values under another workspace default that changes nothing keep their ids; a default that
    // changes an event changes its id.
    let mut jpy = opts(false);
    jpy.default_currency = Currency::parse("JPY").expect("known");
    let e = plan_import(ImportKind::Products, VALID_PRODUCTS.as_bytes(), &jpy).expect("plannable");
    assert_eq!(ids(&a).get(..2), ids(&e).get(..2));
    assert_ne!(ids(&a).get(2), ids(&e).get(2));
}

#[test]
fn excel_style_files_are_accepted() {
    let excel = format!(
        "\u{feff}{}\r\n\r\n,,,,,,,,,,,\r\n\r\n",
        VALID_PRODUCTS.trim_end().replace('\n', "\r\n")
    );
    let plain = planned(ImportKind::Products, VALID_PRODUCTS);
    let from_excel = planned(ImportKind::Products, &excel);
    assert!(from_excel.report.errors.is_empty(), "{}", from_excel.report);
    assert_eq!(from_excel.report.rows_read, 5);
    // Formatting is not content: the same events, with the same ids.
    assert_eq!(from_excel, plain);
}

#[test]
fn rows_are_numbered_like_the_spreadsheet() {
    // Row 3's title spans two lines inside quotes; a blank line is row 5.
    let csv = "sku,title,price\nA-1,One,1\nA-2,\"Two\nlines\",2\nA-3,Three,x\n\nA-4,Four,y\n";
    let plan = planned(ImportKind::Products, csv);
    let rows: Vec<usize> = plan.report.errors.iter().map(|e| e.row).collect();
    assert_eq!(rows, vec![3, 4, 6]);
}

#[test]
fn short_rows_and_stray_cells() {
    // A short row reads as empty cells; a value beyond the header is reported with its column letter.
    let plan = planned(
        ImportKind::Products,
        "sku,title,price,brand,\nA-1,One,1\nA-2,Two,2,,,note\n",
    );
    let lines: Vec<String> = plan.report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        vec![
            "row 3, column F: \"note\" is in a column without a name in the header row; name the column or clear the \
             cell"
        ]
    );
    assert_eq!(plan.report.rows_accepted, 1);
}

#[test]
fn product_level_columns_must_agree() {
    let plan = planned(
        ImportKind::Products,
        "product_id,sku,title,price,status\nP,A-1,Bag,1,active\nP,A-2,Bag,1,\nP,A-3,Bag,1,draft\nP,A-4,Purse,1,active\n",
    );
    let lines: Vec<String> = plan.report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        vec![
            "row 4, column status: \"draft\" differs from \"active\" on row 2 of the same product P; every row of a \
             product needs the same status",
            "row 5, column title: \"Purse\" differs from \"Bag\" on row 2 of the same product P; every row of a \
             product needs the same title",
        ]
    );
}

// ---- golden reports ----

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn golden_output(name: &str, content: &[u8]) -> String {
    let kind = [
        ("stock", ImportKind::Stock),
        ("orders", ImportKind::Orders),
        ("refunds", ImportKind::Refunds),
        ("ad_spend", ImportKind::AdSpend),
        ("content", ImportKind::Content),
    ]
    .into_iter()
    .find(|(part, _)| name.contains(part))
    .map_or(ImportKind::Products, |(_, kind)| kind);
    let mut out = String::new();
    for skip in [false, true] {
        let _ = writeln!(out, "== plan_import({kind}), skip_invalid = {skip}");
        match plan_import(kind, content, &opts(skip)) {
            Err(e) => {
                let _ = writeln!(out, "error: {e}");
            }
            Ok(plan) => {
                let _ = writeln!(out, "{}", plan.report.render(name));
                let _ = writeln!(out, "events: {}", plan.events.len());
                for IngestEvent {
                    source_event_id,
                    payload,
                    ..
                } in &plan.events
                {
                    let _ = writeln!(out, "  {source_event_id}\n    {payload:?}");
                }
            }
        }
        out.push('\n');
    }
    out
}

#[test]
fn golden_reports() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut files: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("golden directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "golden files missing");
    let mut mismatched = Vec::new();
    for csv in files {
        let name = csv
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name")
            .to_owned();
        let content = std::fs::read(&csv).expect("readable");
        let actual = golden_output(&name, &content);
        let expected_path = csv.with_extension("expected");
        if update {
            std::fs::write(&expected_path, &actual).expect("writable");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            mismatched.push(format!(
                "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
                expected_path.display()
            ));
        }
    }
    assert!(
        mismatched.is_empty(),
        "golden files differ (rerun with UPDATE_GOLDEN=1 and review the diff):\n{}",
        mismatched.join("\n")
    );
}
