//! Analytics through the real daemon over HTTP: orders recorded with GraphQL come back as the dictionary's
//! numbers in one dashboard query, in the workspace's zone, per currency, with a comparison; a scoped
//! token sees only its workspace; bad arguments name the field.

use crate::harness::{Daemon, code};
use crate::stock::product_with_stock;
use serde_json::{Value, json};

const ORDER: &str = r#"mutation($id: String!, $at: DateTime!, $status: OrderStatusInput!, $cur: String!,
                                $price: Decimal!, $qty: Int!, $email: String) {
  recordOrder(input: {workspace: "default", externalId: $id, status: $status, placedAt: $at, currency: $cur,
                      discount: "1.00", shipping: "4.00", customerEmail: $email,
                      lines: [{sku: "TEE-1", quantity: $qty, unitPrice: $price}]}) { outcome }
}"#;

const DASHBOARD: &str = r#"query($from: NaiveDate!, $to: NaiveDate!, $tz: String, $g: Granularity) {
  workspace(slug: "default") {
    analytics(from: $from, to: $to, timezone: $tz, granularity: $g, compare: PREVIOUS_PERIOD) {
      dashboard(top: 5) {
        kpis { currency tiles { metric value previous change changePercent money { amount currency } }
               series { label values { metric value } } }
        topProducts { sku units netSales { amount currency } }
        topCustomers { orders revenue { amount } sharePercent }
        lowStock { sku available }
        openAlerts { kind }
      }
      customers { customers top20RevenuePercent segments { segment customers } cohorts { month customers active }
                  lifetimeModel { error params { name } } predicted { customerId } }
      timing { heatmap { weekday hour orders } bestLiveSlots { weekday hour orders } }
      kpisCsv(metrics: ["net_sales", "orders"])
    }
  }
}"#;

fn tile<'a>(report: &'a Value, currency: &str, metric: &str) -> &'a Value {
    report["kpis"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["currency"] == currency))
        .and_then(|c| c["tiles"].as_array())
        .and_then(|t| t.iter().find(|t| t["metric"] == metric))
        .unwrap_or_else(|| panic!("no {metric} tile in {currency}: {report}"))
}

#[tokio::test]
async fn the_dashboard_answers_the_dictionary_numbers_in_one_query() {
    let d = Daemon::start();
    let admin = d.admin_token();
    product_with_stock(&d, &admin, "default", "TEE-1", 3).await;
    // 2 USD orders on the 1st (one at 23:30 in Kolkata is still the 1st there), one EUR, one cancelled,
    // one in the previous period for the comparison.
    for (id, at, status, cur, price, qty, email) in [
        (
            "A",
            "2026-03-01T18:00:00Z",
            "PAID",
            "USD",
            "10.00",
            2,
            Some("a@example.com"),
        ),
        (
            "B",
            "2026-03-01T05:00:00Z",
            "FULFILLED",
            "USD",
            "20.00",
            1,
            Some("b@example.com"),
        ),
        ("C", "2026-03-02T10:00:00Z", "PAID", "EUR", "7.50", 1, None),
        (
            "D",
            "2026-03-02T11:00:00Z",
            "CANCELLED",
            "USD",
            "99.00",
            1,
            Some("a@example.com"),
        ),
        (
            "E",
            "2026-02-28T10:00:00Z",
            "PAID",
            "USD",
            "5.00",
            1,
            Some("a@example.com"),
        ),
    ] {
        let data = d
            .ok(
                &admin,
                ORDER,
                json!({"id": id, "at": at, "status": status, "cur": cur, "price": price, "qty": qty, "email": email}),
            )
            .await;
        assert_eq!(data["recordOrder"]["outcome"], "APPLIED", "{id}");
    }
    let data = d
        .ok(
            &admin,
            DASHBOARD,
            json!({"from": "2026-03-01", "to": "2026-03-02", "tz": "Asia/Kolkata", "g": "DAY"}),
        )
        .await;
    let a = &data["workspace"]["analytics"];
    let dash = &a["dashboard"];
    // USD: A = 20.00 − 1.00, B = 20.00 − 1.00 → net sales 38.00; D is cancelled.
    assert_eq!(tile(dash, "USD", "net_sales")["value"], "38.00");
    assert_eq!(tile(dash, "USD", "net_sales")["money"]["amount"], "38.00");
    assert_eq!(tile(dash, "USD", "orders")["value"], "2");
    assert_eq!(tile(dash, "USD", "aov")["value"], "19.00");
    assert_eq!(tile(dash, "USD", "cancellation_rate")["value"], "33.33");
    // Previous period (28 February in Kolkata): E = 5.00 − 1.00.
    assert_eq!(tile(dash, "USD", "net_sales")["previous"], "4.00");
    assert_eq!(tile(dash, "USD", "net_sales")["change"], "34.00");
    assert_eq!(tile(dash, "USD", "net_sales")["changePercent"], "850");
    assert_eq!(tile(dash, "EUR", "net_sales")["value"], "6.50");
    // Two local days in the series, each with its own numbers.
    let usd = dash["kpis"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["currency"] == "USD"))
        .expect("USD");
    let labels: Vec<&str> = usd["series"]
        .as_array()
        .expect("series")
        .iter()
        .filter_map(|p| p["label"].as_str())
        .collect();
    assert_eq!(
        labels,
        ["2026-03-01T00:00:00+05:30", "2026-03-02T00:00:00+05:30"]
    );
    assert_eq!(dash["topProducts"][0]["sku"], "TEE-1");
    assert_eq!(dash["topProducts"][0]["units"], 3);
    // Stock 3 with 3 sold: the SKU is low.
    assert_eq!(dash["lowStock"][0]["sku"], "TEE-1");
    assert_eq!(dash["topCustomers"][0]["orders"], 1);
    assert_eq!(a["customers"]["customers"], 2);
    // Two customers are too few to fit the lifetime model: the report says so instead of failing.
    let model = &a["customers"]["lifetimeModel"];
    assert!(
        model["error"]
            .as_str()
            .is_some_and(|e| e.contains("customers")),
        "{model}"
    );
    assert_eq!(a["customers"]["predicted"], json!([]));
    let csv = a["kpisCsv"].as_str().expect("csv");
    assert!(
        csv.starts_with("bucket_start,label,currency,net_sales,orders\n"),
        "{csv}"
    );
    assert!(csv.contains(",2026-03-01T00:00:00+05:30,USD,"), "{csv}");
    // The dictionary lists every metric with its description.
    let m = d
        .ok(
            &admin,
            "{ metrics { key name unit description } }",
            json!({}),
        )
        .await;
    assert!(m["metrics"].as_array().expect("metrics").len() >= 30);
    // Bad arguments name the field and change nothing.
    let (_, body) = d
        .gql(
            Some(&admin),
            r#"{ workspace(slug: "default") { analytics(from: "2026-03-02", to: "2026-03-01") { kpis { currency } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "to", "{body}");
    let (_, body) = d
        .gql(
            Some(&admin),
            r#"{ workspace(slug: "default") { analytics(from: "2026-03-01", to: "2026-03-02") { kpis(metrics: ["revenu"]) { currency } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    // A token of another workspace cannot read these analytics.
    d.ok(
        &admin,
        r#"mutation { createWorkspace(input: {slug: "other", name: "Other"}) { id } }"#,
        json!({}),
    )
    .await;
    let other = d.token("analyst", &["other"]);
    let (_, body) = d
        .gql(
            Some(&other),
            r#"{ workspace(slug: "default") { analytics(from: "2026-03-01", to: "2026-03-02") { kpis { currency } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
}

fn orders_today(msg: &Value) -> Option<String> {
    msg["payload"]["data"]["kpiTicker"]["kpis"]
        .as_array()?
        .iter()
        .find(|c| c["currency"] == "USD")?["tiles"]
        .as_array()?
        .iter()
        .find(|t| t["metric"] == "orders")?["value"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn the_kpi_ticker_pushes_todays_tiles_after_each_committed_order() {
    let d = Daemon::start();
    let admin = d.admin_token();
    product_with_stock(&d, &admin, "default", "TEE-1", 10).await;
    let mut ws = d
        .ws_subscribe(
            &admin,
            r#"subscription { kpiTicker(workspace: "default", metrics: ["orders", "net_sales"]) { day kpis { currency tiles { metric value } } } }"#,
        )
        .await;
    let first = crate::harness::ws_next(&mut ws, std::time::Duration::from_secs(5))
        .await
        .expect("the first tick");
    assert_eq!(first["type"], "next", "{first}");
    assert_eq!(orders_today(&first), None, "no USD order yet: {first}");
    let now = chrono::Utc::now().to_rfc3339();
    for (i, id) in ["T1", "T2"].iter().enumerate() {
        let data = d
            .ok(
                &admin,
                ORDER,
                json!({"id": id, "at": now, "status": "PAID", "cur": "USD", "price": "10.00", "qty": 1, "email": null}),
            )
            .await;
        assert_eq!(data["recordOrder"]["outcome"], "APPLIED");
        let tick = crate::harness::ws_next(&mut ws, std::time::Duration::from_secs(5))
            .await
            .expect("a tick after the order");
        assert_eq!(orders_today(&tick), Some((i + 1).to_string()), "{tick}");
    }
}

#[tokio::test]
async fn marketing_attribution_and_insights_come_with_their_numbers() {
    let d = Daemon::start();
    let admin = d.admin_token();
    product_with_stock(&d, &admin, "default", "TEE-1", 2).await;
    let data = d
        .ok(
            &admin,
            ORDER,
            json!({"id": "M1", "at": "2026-03-03T10:00:00Z", "status": "PAID", "cur": "USD", "price": "30.00", "qty": 2, "email": "m@example.com"}),
        )
        .await;
    assert_eq!(data["recordOrder"]["outcome"], "APPLIED");
    let ev = |id: &str, kind: &str, body: Value| {
        let mut e = body;
        e["sourceEventId"] = json!(id);
        e["type"] = json!(kind);
        e
    };
    let events = json!([
        ev(
            "ad-1",
            "ad_spend_recorded",
            json!({"campaign_external_id": "c1", "campaign_name": "Spring",
            "day": "2026-03-03", "spend_minor": 2000, "currency": "USD", "impressions": 1000, "clicks": 50,
            "conversions": 2, "attributed_revenue_minor": 6000})
        ),
        ev(
            "cm-1",
            "content_metrics_recorded",
            json!({"content_external_id": "v1", "kind": "video",
            "title": "Try-on", "url": null, "published_at": "2026-03-02T12:00:00Z", "day": "2026-03-03",
            "views": 400, "likes": 40, "comments": 4, "shares": 2, "product_clicks": 20})
        ),
        ev(
            "f-1",
            "funnel_event_recorded",
            json!({"external_id": "f1", "stage": "video_view", "session_key": "s1",
            "content_external_id": "v1", "sku": null, "occurred_at": "2026-03-03T09:00:00Z"})
        ),
        ev(
            "f-2",
            "funnel_event_recorded",
            json!({"external_id": "f2", "stage": "product_view", "session_key": "s1",
            "content_external_id": null, "sku": "TEE-1", "occurred_at": "2026-03-03T09:05:00Z"})
        ),
        ev(
            "f-3",
            "funnel_event_recorded",
            json!({"external_id": "f3", "stage": "paid", "session_key": "s1",
            "content_external_id": null, "sku": "TEE-1", "occurred_at": "2026-03-03T10:00:00Z"})
        ),
        ev(
            "f-4",
            "funnel_event_recorded",
            json!({"external_id": "f4", "stage": "video_view", "session_key": "s2",
            "content_external_id": "v1", "sku": null, "occurred_at": "2026-03-03T11:00:00Z"})
        ),
    ]);
    let data = d
        .ok(
            &admin,
            r#"mutation($e: [JSON!]!) { ingestEvents(workspace: "default", events: $e) { index outcome error } }"#,
            json!({"e": events}),
        )
        .await;
    for item in data["ingestEvents"].as_array().expect("items") {
        assert_eq!(item["outcome"], "APPLIED", "{data}");
    }
    let data = d
        .ok(
            &admin,
            r#"{ workspace(slug: "default") { analytics(from: "2026-03-01", to: "2026-03-07") {
                 marketing { campaigns { name spend { amount } roas costPerConversion { amount } }
                             channels { spend { amount } netSales { amount } mer cac { amount } newCustomers }
                             funnel { stage sessions conversionPercent dropOffPercent }
                             attribution { firstTouch lastTouch linear timeDecay } unattributedConversions
                             content { title views clickThroughPercent attributedConversions } }
                 insights { kind priority message subject numbers { name value } } } } }"#,
            json!({}),
        )
        .await;
    let m = &data["workspace"]["analytics"]["marketing"];
    assert_eq!(m["campaigns"][0]["name"], "Spring", "{m}");
    assert_eq!(m["campaigns"][0]["spend"]["amount"], "20.00");
    assert_eq!(m["campaigns"][0]["roas"], "3");
    assert_eq!(m["campaigns"][0]["costPerConversion"]["amount"], "10.00");
    let funnel: Vec<i64> = m["funnel"]
        .as_array()
        .expect("funnel")
        .iter()
        .filter_map(|s| s["sessions"].as_i64())
        .collect();
    assert_eq!(funnel, [2, 1, 0, 0, 1, 0], "{m}");
    assert_eq!(m["funnel"][1]["conversionPercent"], "50", "{m}");
    assert_eq!(m["attribution"][0]["lastTouch"], "1", "{m}");
    assert_eq!(m["unattributedConversions"], 0);
    assert_eq!(m["content"][0]["title"], "Try-on");
    assert_eq!(m["content"][0]["clickThroughPercent"], "5", "{m}");
    let insights = data["workspace"]["analytics"]["insights"]
        .as_array()
        .expect("insights");
    let restock = insights
        .iter()
        .find(|i| i["kind"] == "restock")
        .unwrap_or_else(|| panic!("no restock insight: {insights:?}"));
    assert_eq!(restock["subject"], "TEE-1");
    assert_eq!(restock["priority"], 1);
    assert!(
        restock["numbers"].as_array().is_some_and(|n| n
            .iter()
            .any(|x| x["name"] == "available" && x["value"] == 0)),
        "{restock}"
    );
}

#[test]
fn forecast_backtest_scores_a_users_csv_and_names_a_bad_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Two years of daily sales with a strong weekly pattern: a seasonal model must win the backtest.
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
    let mut csv = String::from("date,value\n");
    for i in 0..730i64 {
        let day = start + chrono::Duration::days(i);
        let weekly = [10, 12, 11, 13, 30, 45, 40][(i % 7) as usize];
        csv.push_str(&format!("{day},{}\n", weekly + i % 3));
    }
    let good = dir.path().join("sales.csv");
    std::fs::write(&good, csv).expect("write");
    let out = std::process::Command::new(crate::harness::daemon_bin())
        .args(["forecast", "backtest", "--csv"])
        .arg(&good)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("730 periods"), "{text}");
    let chosen = text
        .lines()
        .find(|l| l.ends_with(" *"))
        .unwrap_or_else(|| panic!("no chosen model: {text}"));
    assert!(
        !chosen.starts_with("naive "),
        "a weekly pattern beats naive: {text}"
    );
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "date,value\n2026-01-01,3\n2026-13-02,4\n").expect("write");
    let out = std::process::Command::new(crate::harness::daemon_bin())
        .args(["forecast", "backtest", "--csv"])
        .arg(&bad)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3"), "{err}");
}

#[tokio::test]
async fn stored_forecasts_plan_stock_and_turn_stale_when_data_changes() {
    let d = Daemon::start();
    let admin = d.admin_token();
    product_with_stock(&d, &admin, "default", "TEE-1", 200).await;
    // Three units a day for the last 90 days: 200 − 270 sold… keep stock positive by counting after.
    let now = chrono::Utc::now();
    for day in 1..=90 {
        let at = (now - chrono::Duration::days(day)).to_rfc3339();
        let data = d
            .ok(
                &admin,
                ORDER,
                json!({"id": format!("F{day}"), "at": at, "status": "DELIVERED", "cur": "USD", "price": "10.00", "qty": 3, "email": null}),
            )
            .await;
        assert_eq!(data["recordOrder"]["outcome"], "APPLIED");
    }
    d.ok(
        &admin,
        r#"mutation { setStock(input: {workspace: "default", sku: "TEE-1", onHand: 30}) { outcome } }"#,
        json!({}),
    )
    .await;
    let data = d
        .ok(
            &admin,
            r#"mutation { refreshForecasts(workspace: "default") { series failed dataVersion } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["refreshForecasts"]["series"], 2, "{data}");
    const READ: &str = r#"{ workspace(slug: "default") { forecasts { metric sku currency model smape
        points { day value lower80 upper80 lower95 upper95 } available stockoutDay daysOfCover reorderQuantity stale } } }"#;
    let data = d.ok(&admin, READ, json!({})).await;
    let list = data["workspace"]["forecasts"]
        .as_array()
        .expect("forecasts");
    let sales = list
        .iter()
        .find(|f| f["metric"] == "net_sales")
        .expect("net sales");
    assert_eq!(sales["currency"], "USD");
    assert_eq!(sales["points"].as_array().map(Vec::len), Some(28));
    let units = list.iter().find(|f| f["sku"] == "TEE-1").expect("TEE-1");
    assert_eq!(units["available"], 30);
    // About three a day against 30 available: out of stock in about ten days, and more must be ordered.
    let cover = units["daysOfCover"].as_f64().expect("cover");
    assert!((7.0..=14.0).contains(&cover), "{units}");
    assert!(units["stockoutDay"].is_string(), "{units}");
    assert!(
        units["reorderQuantity"].as_i64().is_some_and(|q| q > 0),
        "{units}"
    );
    let p = &units["points"][0];
    let (lo, v, hi) = (
        p["lower95"].as_f64().expect("lo"),
        p["value"].as_f64().expect("v"),
        p["upper95"].as_f64().expect("hi"),
    );
    assert!(lo <= v && v <= hi && (2.0..=4.0).contains(&v), "{p}");
    assert_eq!(units["stale"], false);
    // New data makes the stored forecasts stale; reading them does not refit.
    d.ok(
        &admin,
        ORDER,
        json!({"id": "F-new", "at": now.to_rfc3339(), "status": "PAID", "cur": "USD", "price": "10.00", "qty": 1, "email": null}),
    )
    .await;
    let data = d.ok(&admin, READ, json!({})).await;
    assert!(
        data["workspace"]["forecasts"]
            .as_array()
            .is_some_and(|l| l.iter().all(|f| f["stale"] == true)),
        "{data}"
    );
}
