//! `fetch` through the host against a loopback marketplace: allow-list, grants, secrets, limits, pacing.

use crate::common::*;
use creatorflow_plugin_host::model::{Entity, Record};
use creatorflow_plugin_host::{DenyRule, ErrorKind, Grant, HostConfig, PluginError};
use std::time::{Duration, Instant};

async fn sync_orders(
    host: &creatorflow_plugin_host::PluginHost,
    base: &str,
    connection: &str,
) -> Result<Vec<Record>, PluginError> {
    host.connector("template-connector")
        .expect("loaded")
        .sync_page(&template_ctx(base, connection), Entity::Orders, None)
        .await
        .map(|p| p.records)
}

fn denial(err: &PluginError) -> &creatorflow_plugin_host::Denial {
    match &err.kind {
        ErrorKind::Denied(d) => d,
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[tokio::test]
async fn an_allowed_host_works_and_secrets_are_injected_by_the_host() {
    let market = marketplace().await;
    let host = host();
    load_template(&host, &market.origin, |_| {});
    let records = sync_orders(&host, &market.base(""), "shop-1")
        .await
        .expect("page");
    // page_size 2 and upstream pages of 2: one host page, one upstream request.
    assert_eq!(records.len(), 2);
    let Record::Order(order) = &records[0] else {
        panic!("an order")
    };
    assert_eq!(order.external_id, "o1-1");
    assert_eq!(order.total.minor, 2_500 + 400);

    let seen = market.seen();
    assert_eq!(seen.len(), 1);
    // The marketplace received the token and a valid HMAC signature made with the app secret…
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(format!("Bearer {ACCESS_TOKEN}").as_str())
    );
    assert!(seen[0].signature_ok, "the host signed with the app secret");
    // …while nothing the plugin produced contains either secret.
    let output = serde_json::to_string(&records).expect("json");
    assert!(!output.contains(ACCESS_TOKEN) && !output.contains(APP_SECRET));
}

#[tokio::test]
async fn hosts_outside_the_manifest_or_not_granted_are_denied_with_the_fix() {
    let market = marketplace().await;
    let host = host();
    // In the manifest, not granted.
    let spec = spec(
        "template-connector",
        "template-connector",
        vec![
            Grant::secret("access_token").expect("n"),
            Grant::secret("app_secret").expect("n"),
        ],
        |m| {
            m.capabilities.hosts = vec![market.origin.clone()];
        },
    );
    host.load_blocking(&spec).expect("loads");
    let err = sync_orders(&host, &market.base(""), "shop-1")
        .await
        .expect_err("denied");
    let d = denial(&err);
    assert_eq!(d.rule, DenyRule::NotGranted);
    assert!(
        err.to_string().contains(&format!(
            "creatorflow plugin grant template-connector --host {}",
            market.origin
        )),
        "{err}"
    );

    // Granted origin, but the request goes to another port: not in the manifest.
    load_template(&host, &market.origin, |_| {});
    let elsewhere = "http://127.0.0.1:9";
    let err = sync_orders(&host, elsewhere, "shop-1")
        .await
        .expect_err("denied");
    assert_eq!(denial(&err).rule, DenyRule::NotInManifest);
    assert!(err.to_string().contains("http://127.0.0.1:9"), "{err}");
    assert!(
        market.seen().is_empty(),
        "no request may leave for a denied host"
    );
    assert_healthy(&host).await;
}

#[tokio::test]
async fn host_and_authorization_headers_cannot_be_set_by_the_plugin() {
    let market = marketplace().await;
    let host = host();
    for header in ["Host", "Authorization"] {
        let spec = spec(
            "fixtures/header-override",
            "fixture-header-override",
            vec![Grant::host(&market.origin).expect("o")],
            |m| {
                m.capabilities.hosts = vec![market.origin.clone()];
            },
        );
        host.load_blocking(&spec).expect("loads");
        let err = host
            .connector("fixture-header-override")
            .expect("loaded")
            .sync_page(
                &ctx(
                    "c",
                    &[("base_url", &market.origin), ("header", header)],
                    &[],
                ),
                Entity::Orders,
                None,
            )
            .await
            .expect_err("refused");
        let d = denial(&err);
        assert_eq!(d.rule, DenyRule::ForbiddenHeader, "{header}");
        assert!(d.target.contains(header), "{d}");
    }
    assert!(market.seen().is_empty(), "the request never left the host");
    assert_healthy(&host).await;
}

#[tokio::test]
async fn a_slow_upstream_hits_the_wall_time_limit() {
    let market = marketplace().await;
    let host = host();
    let spec = spec(
        "fixtures/slow-upstream",
        "fixture-slow-upstream",
        vec![Grant::host(&market.origin).expect("o")],
        |m| {
            m.capabilities.hosts = vec![market.origin.clone()];
            m.limits.wall_ms = Some(600);
        },
    );
    host.load_blocking(&spec).expect("loads");
    let started = Instant::now();
    let err = host
        .connector("fixture-slow-upstream")
        .expect("loaded")
        .sync_page(
            &ctx("c", &[("base_url", &market.origin)], &[]),
            Entity::Orders,
            None,
        )
        .await
        .expect_err("times out");
    match &err.kind {
        ErrorKind::WallTimeout { limit_ms, during } => {
            assert_eq!(*limit_ms, 600);
            assert!(
                during.contains("GET") && during.contains("/slow"),
                "{during}"
            );
        }
        other => panic!("expected a wall timeout, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_healthy(&host).await;
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let market = marketplace().await;
    let host = host();
    load_template(&host, &market.origin, |_| {});
    let records = sync_orders(&host, &market.base("/throttle"), "shop-1")
        .await
        .expect("page after waiting");
    assert_eq!(records.len(), 2);
    let seen = market.seen();
    assert_eq!(seen.len(), 2, "one throttled request, one retry");
    assert!(
        seen.iter()
            .all(|s| s.path == "/throttle/orders" && s.query == "limit=2"),
        "{seen:?}"
    );
    let gap = seen[1].at - seen[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "retried after {gap:?}, before Retry-After: 1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_budget_is_shared_by_jobs_on_one_connection() {
    let market = marketplace().await;
    let host = host();
    load_template(&host, &market.origin, |m| {
        m.capabilities.rate = Some(creatorflow_plugin_host::manifest::RateBudget {
            requests_per_second: 5.0,
            burst: 1,
        });
    });
    // Two jobs at once on the same shop, each fetching two upstream pages (page_size 4, upstream pages of 2).
    let job = |host: creatorflow_plugin_host::PluginHost, base: String| async move {
        let mut ctx = template_ctx(&base, "shop-1");
        ctx.config = vec![
            ("base_url".into(), base.clone()),
            ("page_size".into(), "4".into()),
        ];
        host.connector("template-connector")
            .expect("loaded")
            .sync_page(&ctx, Entity::Orders, None)
            .await
            .map(|p| p.records.len())
    };
    let (a, b) = tokio::join!(
        job(host.host.clone(), market.base("/a")),
        job(host.host.clone(), market.base("/b"))
    );
    assert_eq!((a.expect("a"), b.expect("b")), (4, 4));
    let mut times: Vec<Instant> = market.seen().iter().map(|s| s.at).collect();
    times.sort();
    assert_eq!(times.len(), 4);
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(180),
            "requests {gap:?} apart at 5 req/s"
        );
    }
}

#[tokio::test]
async fn plain_http_and_private_addresses_need_dev_mode() {
    let market = marketplace().await;
    let host = host_with(|c: &mut HostConfig| c.dev_mode = false);
    load_template(&host, &market.origin, |_| {});
    let err = sync_orders(&host, &market.base(""), "shop-1")
        .await
        .expect_err("http refused");
    assert_eq!(denial(&err).rule, DenyRule::HttpsOnly);

    // https to a loopback literal or a name resolving to loopback: refused before any connection.
    let port = market.origin.rsplit(':').next().expect("port");
    for origin in [
        format!("https://127.0.0.1:{port}"),
        format!("https://localhost:{port}"),
    ] {
        host.unload("template-connector");
        load_template(&host, &origin, |_| {});
        let err = sync_orders(&host, &origin, "shop-1")
            .await
            .expect_err("private refused");
        assert_eq!(
            denial(&err).rule,
            DenyRule::PrivateAddress,
            "{origin}: {err}"
        );
    }
    assert!(market.seen().is_empty());
}

#[tokio::test]
async fn request_and_response_size_limits_end_the_call() {
    let market = marketplace().await;
    let host = host();
    load_template(&host, &market.origin, |m| m.limits.max_requests = Some(2));
    let mut ctx = template_ctx(&market.base(""), "shop-1");
    ctx.config = vec![
        ("base_url".into(), market.base("")),
        ("page_size".into(), "100".into()),
    ];
    let err = host
        .connector("template-connector")
        .expect("loaded")
        .sync_page(&ctx, Entity::Orders, None)
        .await
        .expect_err("third request refused");
    assert_eq!(err.kind, ErrorKind::RequestLimit { limit: 2 });
    assert_eq!(market.seen().len(), 2);

    load_template(&host, &market.origin, |m| {
        m.limits.max_response_bytes = Some(1024)
    });
    let err = sync_orders(&host, &market.base("/big"), "shop-1")
        .await
        .expect_err("too large");
    assert!(
        matches!(&err.kind, ErrorKind::ResponseTooLarge { limit: 1024, url } if url.contains("/big/orders")),
        "{err}"
    );
    assert_healthy(&host).await;
}

#[tokio::test]
async fn a_response_body_cut_short_is_a_fetch_error_not_a_success() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // An upstream that promises 4 KiB, sends the start of a valid page and hangs up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = vec![0u8; 8192];
            let _ = socket.read(&mut request).await;
            let _ = socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4096\r\n\r\n{\"orders\": [",
                )
                .await;
            let _ = socket.shutdown().await;
        }
    });
    let host = host();
    load_template(&host, &origin, |_| {});
    let err = sync_orders(&host, &origin, "shop-1")
        .await
        .expect_err("a truncated page is not a page");
    let message = err.to_string();
    assert!(
        message.contains("connection:") && message.contains("cut short"),
        "the plugin saw a transport failure, not a short body: {message}"
    );
}

#[tokio::test]
async fn redirects_are_returned_to_the_plugin_never_followed() {
    let market = marketplace().await;
    let host = host();
    load_template(&host, &market.origin, |_| {});
    let err = sync_orders(&host, &market.base("/moved"), "shop-1")
        .await
        .expect_err("a 302 is not a page");
    assert!(err.to_string().contains("302"), "{err}");
    let seen = market.seen();
    assert_eq!(
        seen.len(),
        1,
        "only the first request was sent: {:?}",
        seen.iter().map(|s| &s.path).collect::<Vec<_>>()
    );
    assert_eq!(seen[0].path, "/moved/orders");
}
