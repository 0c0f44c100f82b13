//! WASM plugins in the running daemon: bundled first-party plugins are installed and loaded at start,
//! custom metrics are computed over GraphQL from the workspace's data, administration is for global admins,
//! and hostile plugins fail their own calls (with their specific error) while the daemon keeps serving.

use crate::harness::{Daemon, Opts, code, daemon_bin, repo_root};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Builds the plugins workspace for wasm32-wasip2 once per test run; returns the directory of `.wasm` files.
pub(crate) fn built() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target = repo_root().join("target/wasm");
        let status = Command::new("rustup")
            .args(["target", "add", "wasm32-wasip2"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(status, "rustup target add wasm32-wasip2 failed");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            .arg("--manifest-path")
            .arg(repo_root().join("plugins/Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTC_WRAPPER")
            .output()
            .expect("run cargo build for the plugins workspace");
        assert!(
            out.status.success(),
            "building plugins failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target.join("wasm32-wasip2/release")
    })
}

/// Packages `plugins/<source>` with its built component into `out/<source>` with `creatorflow plugin package`.
pub(crate) fn package(source: &str, out: &Path) -> PathBuf {
    let crate_name = Path::new(source)
        .file_name()
        .and_then(|n| n.to_str())
        .expect("plugin directory name");
    let crate_name = if source.starts_with("fixtures/") {
        format!("fixture_{}", crate_name.replace('-', "_"))
    } else {
        crate_name.replace('-', "_")
    };
    let dir = out.join(source.replace('/', "-"));
    let output = Command::new(daemon_bin())
        .args(["plugin", "package"])
        .arg(repo_root().join("plugins").join(source))
        .arg("--wasm")
        .arg(built().join(format!("{crate_name}.wasm")))
        .arg("--out")
        .arg(&dir)
        .output()
        .expect("run creatorflow plugin package");
    assert!(
        output.status.success(),
        "package {source}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    dir
}

const PLUGINS: &str = r#"{ plugins { id kind version state loadError enabled sha256 calls failures
  grantedHosts requestedHosts
  breaker { state consecutiveFailures trips lastError retryInMs }
  metric { name unit grains inputs { name type required } } } }"#;

/// Waits until every plugin in `ids` reports `state`.
pub(crate) async fn wait_state(d: &Daemon, token: &str, ids: &[&str], state: &str) -> Value {
    let started = Instant::now();
    loop {
        let data = d.ok(token, PLUGINS, json!({})).await;
        let all = data["plugins"].as_array().cloned().unwrap_or_default();
        let ready = ids
            .iter()
            .all(|id| all.iter().any(|p| p["id"] == *id && p["state"] == state));
        if ready {
            return data;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "plugins {ids:?} not {state}: {data}\n{}",
            d.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const METRIC: &str = r#"query($plugin: String!, $from: DateTime!, $to: DateTime!, $grain: MetricGrain, $params: [MetricParamInput!]) {
  workspace(slug: "default") {
    customMetric(plugin: $plugin, from: $from, to: $to, grain: $grain, params: $params) {
      plugin version grain rows unit
      value { kind integer number money { amount currency } text }
      breakdown { label value { kind number money { amount } } }
    }
  }
}"#;

/// Two products graded S and B, stock counts, two paid orders on different days and one cancelled.
async fn seed_sales(d: &Daemon, token: &str) {
    d.ok(
        token,
        r#"mutation { upsertProduct(input: {workspace: "default", title: "Jacket", brand: "Acme",
            variants: [{sku: "J-S", title: "S", condition: "S", price: "100.00", unitCost: "40.00"},
                       {sku: "J-B", title: "B", condition: "B", price: "60.00", unitCost: "20.00"}]}) { outcome } }"#,
        json!({}),
    )
    .await;
    for (sku, n) in [("J-S", 10), ("J-B", 4)] {
        d.ok(
            token,
            r#"mutation($sku: String!, $n: Int!) { setStock(input: {workspace: "default", sku: $sku, onHand: $n}) { outcome } }"#,
            json!({"sku": sku, "n": n}),
        )
        .await;
    }
    let now = chrono::Utc::now();
    let orders = [
        (
            "o1",
            "J-S",
            2,
            "100.00",
            "5.00",
            now - chrono::Duration::days(2),
        ),
        (
            "o2",
            "J-B",
            3,
            "60.00",
            "3.00",
            now - chrono::Duration::days(1),
        ),
        (
            "o3",
            "J-S",
            1,
            "100.00",
            "2.00",
            now - chrono::Duration::days(1),
        ),
    ];
    for (id, sku, qty, price, fees, at) in orders {
        let data = d
            .ok(
                token,
                r#"mutation($id: String!, $sku: String!, $qty: Int!, $price: Decimal!, $fees: Decimal!, $at: DateTime!) {
                  recordOrder(input: {workspace: "default", externalId: $id, status: PAID, placedAt: $at, fees: $fees,
                                      lines: [{sku: $sku, quantity: $qty, unitPrice: $price}]}) { outcome } }"#,
                json!({"id": id, "sku": sku, "qty": qty, "price": price, "fees": fees, "at": at.to_rfc3339()}),
            )
            .await;
        assert_eq!(data["recordOrder"]["outcome"], "APPLIED", "{data}");
    }
    d.ok(
        token,
        r#"mutation { updateOrderStatus(input: {workspace: "default", externalId: "o3", status: CANCELLED}) { outcome } }"#,
        json!({}),
    )
    .await;
}

fn range() -> Value {
    let now = chrono::Utc::now();
    json!({
        "from": (now - chrono::Duration::days(3)).to_rfc3339(),
        "to": (now + chrono::Duration::hours(1)).to_rfc3339(),
    })
}

fn vars(plugin: &str, extra: Value) -> Value {
    let mut v = range();
    v["plugin"] = json!(plugin);
    if let (Some(v), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
        v.extend(extra.clone());
    }
    v
}

fn part<'a>(result: &'a Value, label: &str) -> &'a Value {
    result["breakdown"]
        .as_array()
        .and_then(|parts| parts.iter().find(|p| p["label"] == label))
        .map(|p| &p["value"])
        .unwrap_or_else(|| panic!("no breakdown part {label}: {result}"))
}

#[tokio::test]
async fn bundled_plugins_load_at_start_and_compute_custom_metrics() {
    let bundle = tempfile::tempdir().expect("tempdir");
    package("contribution-margin", bundle.path());
    package("sell-through-by-condition", bundle.path());
    let d = Daemon::start_with(Opts {
        env: vec![(
            "CREATORFLOW_PLUGINS__BUNDLED_DIR".into(),
            bundle.path().display().to_string(),
        )],
        ..Opts::default()
    });
    let admin = d.admin_token();
    let ids = ["contribution-margin", "sell-through-by-condition"];
    let data = wait_state(&d, &admin, &ids, "LOADED").await;
    let cm = data["plugins"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["id"] == "contribution-margin"))
        .cloned()
        .expect("contribution-margin listed");
    assert_eq!(cm["kind"], "METRIC");
    assert_eq!(cm["metric"]["unit"], "MONEY");
    assert_eq!(cm["metric"]["grains"][0], "DAY", "{cm}");
    assert_eq!(cm["breaker"]["state"], "CLOSED");

    seed_sales(&d, &admin).await;
    let analyst = d.token("analyst", &["default"]);

    // Contribution margin per day: revenue 2×100 + 3×60 = 380.00 (the cancelled order counts for
    // nothing), COGS 2×40 + 3×20 = 140.00, fees 5 + 3 = 8.00 → 232.00, margin 61.05 %.
    let data = d
        .ok(&analyst, METRIC, vars("contribution-margin", json!({})))
        .await;
    let r = &data["workspace"]["customMetric"];
    assert_eq!(r["grain"], "DAY");
    assert_eq!(r["rows"], 2, "{r}");
    assert_eq!(r["value"]["kind"], "MONEY");
    assert_eq!(r["value"]["money"]["amount"], "232.00");
    assert_eq!(r["value"]["money"]["currency"], "USD");
    assert_eq!(part(r, "revenue")["money"]["amount"], "380.00");
    assert_eq!(part(r, "cogs")["money"]["amount"], "140.00");
    assert_eq!(part(r, "fees")["money"]["amount"], "8.00");
    assert_eq!(part(r, "margin_percent")["number"], 61.05);

    // The same plugin beside the built-in metrics: over an analytics period, whole and per local day.
    let today = chrono::Utc::now().date_naive();
    let data = d
        .ok(
            &analyst,
            r#"query($from: NaiveDate!, $to: NaiveDate!) { workspace(slug: "default") { analytics(from: $from, to: $to) {
                 customMetric(plugin: "contribution-margin", series: true) {
                   total { value { money { amount } } } series { label value { kind money { amount } } } } } } }"#,
            json!({"from": (today - chrono::Duration::days(6)).to_string(), "to": today.to_string()}),
        )
        .await;
    let c = &data["workspace"]["analytics"]["customMetric"];
    assert_eq!(c["total"]["value"]["money"]["amount"], "232.00", "{c}");
    let series = c["series"].as_array().expect("series");
    assert_eq!(series.len(), 7, "{c}");
    let cents: i64 = series
        .iter()
        .filter_map(|p| p["value"]["money"]["amount"].as_str())
        .map(|a| a.replace('.', "").parse::<i64>().expect("amount"))
        .sum();
    assert_eq!(cents, 23_200, "the days add up to the whole: {c}");

    // The same metric per order agrees; parameters reach the plugin and bad ones are its own error.
    let data = d
        .ok(
            &analyst,
            METRIC,
            vars(
                "contribution-margin",
                json!({"grain": "ORDER", "params": [{"name": "ad_spend", "value": "exclude"}]}),
            ),
        )
        .await;
    let r = &data["workspace"]["customMetric"];
    assert_eq!(r["grain"], "ORDER");
    assert_eq!(
        r["rows"], 3,
        "every order placed in the range is a row: {r}"
    );
    assert_eq!(
        r["value"]["money"]["amount"], "232.00",
        "the cancelled order adds nothing"
    );
    let (_, body) = d
        .gql(
            Some(&analyst),
            METRIC,
            vars(
                "contribution-margin",
                json!({"params": [{"name": "ad_spend", "value": "sometimes"}]}),
            ),
        )
        .await;
    assert_eq!(code(&body), "PLUGIN_FAILED", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["pluginError"],
        "PLUGIN_REPORTED_ERROR"
    );

    // Sell-through per variant: S sold 2 with 10 on hand, B sold 3 with 4 on hand.
    let data = d
        .ok(
            &analyst,
            METRIC,
            vars("sell-through-by-condition", json!({})),
        )
        .await;
    let r = &data["workspace"]["customMetric"];
    assert_eq!(r["grain"], "VARIANT");
    assert_eq!(r["rows"], 2);
    let close = |v: &Value, want: f64| {
        let got = v["number"].as_f64().unwrap_or(f64::NAN);
        assert!((got - want).abs() < 1e-9, "{got} vs {want}: {r}");
    };
    close(&r["value"], 5.0 / 19.0);
    close(part(r, "S"), 2.0 / 12.0);
    close(part(r, "B"), 3.0 / 7.0);

    // A grain that lacks required inputs, and an empty range, are refused with the reason.
    let (_, body) = d
        .gql(
            Some(&analyst),
            METRIC,
            vars("sell-through-by-condition", json!({"grain": "DAY"})),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let msg = body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("condition") && msg.contains("variant"),
        "{msg}"
    );
    let mut backwards = vars("contribution-margin", json!({}));
    backwards["to"] = backwards["from"].clone();
    let (_, body) = d.gql(Some(&analyst), METRIC, backwards).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");

    // Readers see the catalogue of metrics; only global admins see and manage plugins.
    let data = d
        .ok(
            &analyst,
            r#"{ workspace(slug: "default") { customMetrics { id name unit grains inputs { name required } } } }"#,
            json!({}),
        )
        .await;
    let listed: Vec<&str> = data["workspace"]["customMetrics"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(listed, ids);
    let (_, body) = d.gql(Some(&analyst), PLUGINS, json!({})).await;
    assert_eq!(code(&body), "FORBIDDEN");
    let scoped_admin = d.token("admin", &["default"]);
    let (_, body) = d
        .gql(
            Some(&scoped_admin),
            r#"mutation { disablePlugin(id: "contribution-margin") { state } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");

    // Disabling stops the metric at once; enabling brings it back.
    let data = d
        .ok(
            &admin,
            r#"mutation { disablePlugin(id: "contribution-margin") { state enabled } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["disablePlugin"]["state"], "DISABLED");
    let (_, body) = d
        .gql(
            Some(&analyst),
            METRIC,
            vars("contribution-margin", json!({})),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let data = d
        .ok(
            &admin,
            r#"mutation { enablePlugin(id: "contribution-margin") { state } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["enablePlugin"]["state"], "LOADED");
    d.ok(&analyst, METRIC, vars("contribution-margin", json!({})))
        .await;

    // A change made with the CLI reaches the running daemon at its next reconcile.
    let out = d.cli(&["plugin", "disable", "sell-through-by-condition"]);
    assert!(out.status.success(), "{out:?}");
    wait_state(&d, &admin, &["sell-through-by-condition"], "DISABLED").await;

    // A restart keeps what is installed (no re-install of an unchanged bundle) and the operator's disable.
    let before = d.ok(&admin, PLUGINS, json!({})).await;
    let mut d = d;
    d.stop();
    d.spawn();
    let after = wait_state(&d, &admin, &["contribution-margin"], "LOADED").await;
    let sha = |v: &Value, id: &str| {
        v["plugins"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["id"] == id))
            .map(|p| (p["sha256"].clone(), p["enabled"].clone()))
    };
    assert_eq!(
        sha(&before, "sell-through-by-condition"),
        sha(&after, "sell-through-by-condition")
    );
    assert_eq!(
        sha(&after, "sell-through-by-condition").map(|(_, e)| e),
        Some(json!(false))
    );
}

#[tokio::test]
async fn hostile_plugins_fail_their_own_calls_while_the_daemon_serves() {
    let packages = tempfile::tempdir().expect("tempdir");
    let spin = package("fixtures/metric-spin", packages.path());
    let nan = package("fixtures/nan-metric", packages.path());
    let wrong_api = package("fixtures/wrong-api-version", packages.path());
    let d = Daemon::start();
    let admin = d.admin_token();
    seed_sales(&d, &admin).await;
    let install =
        r#"mutation($path: String!) { installPlugin(path: $path) { id state loadError enabled } }"#;

    // Refused before anything is stored: a component that is not the one the manifest describes, and one
    // built for another plugin API version.
    let tampered = packages.path().join("tampered");
    std::fs::create_dir_all(&tampered).expect("mkdir");
    for entry in std::fs::read_dir(&nan).expect("read package") {
        let path = entry.expect("entry").path();
        let to = tampered.join(path.file_name().expect("name"));
        std::fs::copy(&path, &to).expect("copy");
    }
    let manifest = tampered.join("plugin.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let text = regex_free_replace_sha(&text);
    std::fs::write(&manifest, text).expect("write manifest");
    let (_, body) = d
        .gql(
            Some(&admin),
            install,
            json!({"path": tampered.display().to_string()}),
        )
        .await;
    assert_eq!(code(&body), "PLUGIN_REJECTED", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("sha256")),
        "{body}"
    );
    let (_, body) = d
        .gql(
            Some(&admin),
            install,
            json!({"path": wrong_api.display().to_string()}),
        )
        .await;
    assert_eq!(code(&body), "PLUGIN_REJECTED", "{body}");
    let msg = body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(msg.contains("2.0.0") && msg.contains("1.0.x"), "{msg}");
    let data = d.ok(&admin, PLUGINS, json!({})).await;
    assert_eq!(data["plugins"], json!([]), "nothing was installed");

    // A package sent with the request is checked the same way: a component that does not match its
    // manifest is refused, the real one installs.
    let upload = r#"mutation($m: String!, $c: String!) {
      installPluginPackage(manifest: $m, componentBase64: $c) { id state } }"#;
    let nan_manifest = std::fs::read_to_string(nan.join("plugin.toml")).expect("manifest");
    let nan_wasm = std::fs::read(nan.join("fixture_nan_metric.wasm")).expect("component");
    let b64 = |bytes: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let mut flipped = nan_wasm.clone();
    if let Some(last) = flipped.last_mut() {
        *last ^= 1;
    }
    let (_, body) = d
        .gql(
            Some(&admin),
            upload,
            json!({"m": nan_manifest, "c": b64(&flipped)}),
        )
        .await;
    assert_eq!(code(&body), "PLUGIN_REJECTED", "{body}");
    let (_, body) = d
        .gql(
            Some(&admin),
            upload,
            json!({"m": nan_manifest, "c": "not base64!"}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let data = d.ok(&admin, PLUGINS, json!({})).await;
    assert_eq!(data["plugins"], json!([]), "nothing was installed");

    // A metric that answers NaN: its value is refused, the query fails with the cause.
    let data = d
        .ok(
            &admin,
            upload,
            json!({"m": nan_manifest, "c": b64(&nan_wasm)}),
        )
        .await;
    assert_eq!(data["installPluginPackage"]["state"], "LOADED", "{data}");
    let (_, body) = d
        .gql(Some(&admin), METRIC, vars("fixture-nan-metric", json!({})))
        .await;
    assert_eq!(code(&body), "PLUGIN_FAILED", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["pluginError"],
        "PLUGIN_INVALID_OUTPUT"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["plugin"],
        "fixture-nan-metric"
    );

    // Grants are limited to what the manifest asks for.
    let (_, body) = d
        .gql(
            Some(&admin),
            r#"mutation { grantPlugin(id: "fixture-nan-metric", hosts: ["https://evil.example"]) { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "PLUGIN_REJECTED", "{body}");

    // A metric that spins forever: each query fails on the CPU limit, then the breaker opens and calls
    // fail fast. The daemon answers other queries all along.
    let data = d
        .ok(&admin, install, json!({"path": spin.display().to_string()}))
        .await;
    assert_eq!(data["installPlugin"]["state"], "LOADED", "{data}");
    let mut causes = Vec::new();
    for _ in 0..6 {
        let (status, body) = d
            .gql(Some(&admin), METRIC, vars("fixture-metric-spin", json!({})))
            .await;
        assert_eq!(status, 200);
        assert_eq!(code(&body), "PLUGIN_FAILED", "{body}");
        causes.push(
            body["errors"][0]["extensions"]["pluginError"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        );
        let viewer = d.ok(&admin, "{ viewer { role } }", json!({})).await;
        assert_eq!(viewer["viewer"]["role"], "admin");
    }
    assert_eq!(causes[..5], ["PLUGIN_CPU_LIMIT"; 5], "{causes:?}");
    assert_eq!(causes[5], "PLUGIN_CIRCUIT_OPEN", "{causes:?}");
    let data = d.ok(&admin, PLUGINS, json!({})).await;
    let spin_view = data["plugins"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["id"] == "fixture-metric-spin"))
        .cloned()
        .expect("spin listed");
    assert_eq!(spin_view["breaker"]["state"], "OPEN", "{spin_view}");
    assert_eq!(spin_view["breaker"]["trips"], 1);
    assert!(
        spin_view["breaker"]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("CPU")),
        "{spin_view}"
    );
    assert_eq!(spin_view["failures"], 5);

    // Nothing a plugin did changed the data: stock and orders are as seeded.
    let data = d
        .ok(
            &admin,
            r#"{ workspace(slug: "default") { stock { edges { node { sku onHand committed } } } } }"#,
            json!({}),
        )
        .await;
    let mut stock: Vec<(String, i64, i64)> = data["workspace"]["stock"]["edges"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    let n = &e["node"];
                    (
                        n["sku"].as_str().unwrap_or("").to_owned(),
                        n["onHand"].as_i64().unwrap_or(-1),
                        n["committed"].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    stock.sort();
    assert_eq!(stock, [("J-B".to_owned(), 4, 3), ("J-S".to_owned(), 10, 2)]);

    // Removing a plugin unloads it.
    let data = d
        .ok(
            &admin,
            r#"mutation { removePlugin(id: "fixture-metric-spin") }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["removePlugin"], "fixture-metric-spin");
    let (_, body) = d
        .gql(Some(&admin), METRIC, vars("fixture-metric-spin", json!({})))
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
}

/// The manifest with its sha256 replaced by another valid-looking hash.
fn regex_free_replace_sha(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.trim_start().starts_with("sha256") {
                format!("sha256 = \"{}\"", "0".repeat(64))
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
