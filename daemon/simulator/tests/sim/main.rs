//! The simulator over real HTTP: signed calls page through exactly its truth, bad signatures, stale
//! timestamps and wrong tokens are refused with TikTok's codes, live changes send correctly signed
//! webhooks, and faults come when asked for.

use creatorflow_sim::{APP_KEY, APP_SECRET, Faults, SimConfig, SimHandle, Simulator, Tick, sign};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::BTreeMap;

mod shopify;

async fn start(config: SimConfig) -> SimHandle {
    Simulator::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("simulator starts")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// A signed call as the connector makes it.
async fn call(
    sim: &SimHandle,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
    body: Option<Value>,
    tweak: impl FnOnce(&mut BTreeMap<String, String>, &mut Vec<u8>),
) -> (u16, Value) {
    let mut params: BTreeMap<String, String> = [
        ("app_key", APP_KEY.to_owned()),
        ("timestamp", now().to_string()),
        ("shop_cipher", "sim-cipher-1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .chain(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    )
    .collect();
    let mut bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let signature = sign(APP_SECRET, path, &params, &bytes);
    params.insert("sign".into(), signature);
    tweak(&mut params, &mut bytes);
    let url =
        reqwest::Url::parse_with_params(&format!("{}{path}", sim.base_url), &params).expect("url");
    let client = reqwest::Client::new();
    let request = if method == "GET" {
        client.get(url)
    } else {
        client.post(url).body(bytes)
    };
    let response = request
        .header("x-tts-access-token", "sim-token-1")
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn signature_matches_a_vector_computed_by_openssl() {
    // printf '%s' 'sim-app-secret/order/202309/ordersapp_keysim-app-keyids1timestamp1700000000sim-app-secret' | openssl dgst -sha256 -hmac sim-app-secret
    let params: BTreeMap<String, String> = [
        ("app_key", "sim-app-key"),
        ("timestamp", "1700000000"),
        ("ids", "1"),
        ("sign", "x"),
        ("access_token", "t"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(
        sign(APP_SECRET, "/order/202309/orders", &params, b""),
        include_str!("vector.txt").trim()
    );
}

#[tokio::test]
async fn signed_search_pages_through_exactly_the_truth() {
    let sim = start(SimConfig {
        orders: 120,
        skus: 20,
        ..SimConfig::default()
    })
    .await;
    let truth = sim.truth("sim-shop-1").expect("truth");
    let mut seen: Vec<(i64, String)> = Vec::new();
    let mut token = String::new();
    loop {
        let mut extra = vec![("page_size", "7")];
        if !token.is_empty() {
            extra.push(("page_token", token.as_str()));
        }
        let (status, body) = call(
            &sim,
            "POST",
            "/order/202309/orders/search",
            &extra,
            Some(json!({})),
            |_, _| {},
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["code"], 0);
        for o in body["data"]["orders"].as_array().expect("orders") {
            seen.push((
                o["update_time"].as_i64().expect("time"),
                o["id"].as_str().expect("id").to_owned(),
            ));
        }
        token = body["data"]["next_page_token"]
            .as_str()
            .expect("token")
            .to_owned();
        if token.is_empty() {
            break;
        }
    }
    let mut expected: Vec<(i64, String)> = truth
        .orders
        .iter()
        .map(|o| {
            (
                o["update_time"].as_i64().expect("time"),
                o["id"].as_str().expect("id").to_owned(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(
        seen, expected,
        "every order once, in (update_time, id) order"
    );

    // A window returns exactly the orders updated inside it.
    let (lo, hi) = (expected[10].0, expected[40].0);
    let (_, body) = call(
        &sim,
        "POST",
        "/order/202309/orders/search",
        &[("page_size", "100")],
        Some(json!({"update_time_ge": lo, "update_time_lt": hi})),
        |_, _| {},
    )
    .await;
    let n = body["data"]["orders"].as_array().expect("orders").len();
    assert_eq!(
        n,
        expected.iter().filter(|(t, _)| *t >= lo && *t < hi).count()
    );

    // Money identity on every order.
    for o in &truth.orders {
        let cents = |v: &Value| -> i64 {
            let s = v.as_str().expect("money string");
            let (a, b) = s.split_once('.').expect("two decimals");
            a.parse::<i64>().expect("units") * 100 + b.parse::<i64>().expect("cents")
        };
        let p = &o["payment"];
        let lines: i64 = o["line_items"]
            .as_array()
            .expect("lines")
            .iter()
            .map(|l| cents(&l["sale_price"]))
            .sum();
        assert_eq!(cents(&p["sub_total"]), lines);
        assert_eq!(
            cents(&p["total_amount"]),
            cents(&p["sub_total"]) + cents(&p["shipping_fee"]) + cents(&p["tax"])
                - cents(&p["seller_discount"])
                - cents(&p["platform_discount"])
        );
    }
}

#[tokio::test]
async fn bad_signatures_stale_timestamps_and_wrong_tokens_are_refused() {
    let sim = start(SimConfig {
        orders: 10,
        ..SimConfig::default()
    })
    .await;
    let path = "/order/202309/orders/search";
    let (status, body) = call(&sim, "POST", path, &[], Some(json!({})), |p, _| {
        p.insert("sign".into(), "0".repeat(64));
    })
    .await;
    assert_eq!((status, body["code"].as_i64()), (401, Some(106001)));
    let (status, body) = call(
        &sim,
        "POST",
        path,
        &[],
        Some(json!({"update_time_ge": 1})),
        |_, b| {
            let last = b.len() - 2;
            b[last] ^= 1;
        },
    )
    .await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (401, Some(106001)),
        "one flipped body byte"
    );
    let mut stale = BTreeMap::new();
    stale.insert("app_key".to_owned(), APP_KEY.to_owned());
    stale.insert("timestamp".to_owned(), (now() - 3_600).to_string());
    stale.insert("shop_cipher".to_owned(), "sim-cipher-1".to_owned());
    let (status, body) = call(&sim, "POST", path, &[], None, |p, _| {
        p.insert("timestamp".into(), stale["timestamp"].clone());
        let s = sign(APP_SECRET, path, &stale, b"");
        p.insert("sign".into(), s);
    })
    .await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (401, Some(106002)),
        "{body}"
    );
    let url = format!("{}/_sim/expire-token", sim.base_url);
    reqwest::Client::new()
        .post(url)
        .body(r#"{"shop":"sim-shop-1"}"#)
        .send()
        .await
        .expect("expire");
    let (status, body) = call(&sim, "POST", path, &[], Some(json!({})), |_, _| {}).await;
    assert_eq!((status, body["code"].as_i64()), (401, Some(105002)));
}

#[tokio::test]
async fn same_seed_same_shop_other_seed_other_shop() {
    let config = SimConfig {
        orders: 50,
        now: Some(1_780_000_000),
        ..SimConfig::default()
    };
    let a = start(config.clone()).await.truth("sim-shop-1");
    let b = start(config.clone()).await.truth("sim-shop-1");
    let c = start(SimConfig { seed: 2, ..config })
        .await
        .truth("sim-shop-1");
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[tokio::test]
async fn inventory_updates_change_the_truth_and_faults_come_on_demand() {
    let sim = start(SimConfig {
        orders: 5,
        skus: 3,
        ..SimConfig::default()
    })
    .await;
    let (_, body) = call(
        &sim,
        "POST",
        "/product/202309/products/search",
        &[("page_size", "100")],
        Some(json!({})),
        |_, _| {},
    )
    .await;
    let product = &body["data"]["products"][0];
    let sku = &product["skus"][0];
    let path = format!(
        "/product/202309/products/{}/inventory/update",
        product["id"].as_str().expect("id")
    );
    let update = json!({"skus": [{"id": sku["id"], "inventory": [{"warehouse_id": "wh-1", "quantity": 77}]}]});
    let (status, body) = call(&sim, "POST", &path, &[], Some(update), |_, _| {}).await;
    assert_eq!(status, 200, "{body}");
    let seller = sku["seller_sku"].as_str().expect("sku");
    assert_eq!(sim.truth("sim-shop-1").expect("truth").stock[seller], 77);
    let negative = json!({"skus": [{"id": sku["id"], "inventory": [{"warehouse_id": "wh-1", "quantity": -1}]}]});
    let (status, body) = call(&sim, "POST", &path, &[], Some(negative), |_, _| {}).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(12052230)));

    sim.set_faults(Faults {
        rate_429: 1.0,
        ..Faults::default()
    });
    let (status, body) = call(
        &sim,
        "POST",
        "/order/202309/orders/search",
        &[],
        Some(json!({})),
        |_, _| {},
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (429, Some(36009004)));
}

#[tokio::test]
async fn live_changes_send_webhooks_signed_with_the_app_secret() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Vec<u8>)>();
    let app = poem::endpoint::make(move |mut req: poem::Request| {
        let tx = tx.clone();
        async move {
            let sig = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let body = req.take_body().into_vec().await.unwrap_or_default();
            let _ = tx.send((sig, body));
            Ok::<_, poem::Error>("ok")
        }
    });
    tokio::spawn(async move {
        let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).expect("acceptor");
        let _ = poem::Server::new_with_acceptor(acceptor).run(app).await;
    });
    let sim = start(SimConfig {
        orders: 5,
        ..SimConfig::default()
    })
    .await;
    sim.set_webhook_target(Some(format!("http://{addr}/hook")));
    let changed = sim
        .tick(Tick {
            orders: 2,
            ..Tick::default()
        })
        .await;
    assert_eq!(changed.len(), 2);
    for _ in 0..2 {
        let (sig, body) = rx.recv().await.expect("webhook");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(APP_SECRET.as_bytes()).expect("key");
        mac.update(APP_KEY.as_bytes());
        mac.update(&body);
        assert_eq!(sig, hex::encode(mac.finalize().into_bytes()));
        let v: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["type"], 1);
        assert_eq!(v["shop_id"], "sim-shop-1");
        assert!(changed.contains(&v["data"]["order_id"].as_str().expect("id").to_owned()));
    }
}

#[tokio::test]
async fn fault_rates_are_drawn_per_call() {
    let sim = start(SimConfig {
        orders: 5,
        ..SimConfig::default()
    })
    .await;
    sim.set_faults(Faults {
        rate_500: 0.5,
        ..Faults::default()
    });
    let mut failed = 0;
    for _ in 0..40 {
        let (status, _) = call(
            &sim,
            "POST",
            "/order/202309/orders/search",
            &[],
            Some(json!({})),
            |_, _| {},
        )
        .await;
        if status == 500 {
            failed += 1;
        }
    }
    assert!(
        (8..=32).contains(&failed),
        "{failed} of 40 failed at a rate of 0.5"
    );
}
