//! Repeated faults open a per-plugin circuit breaker with exponential backoff; its state is queryable.

use crate::common::*;
use creatorflow_plugin_host::model::Entity;
use creatorflow_plugin_host::{BreakerConfig, BreakerState, ErrorKind};
use std::time::{Duration, Instant};

#[tokio::test]
async fn repeated_faults_open_the_breaker_and_backoff_doubles() {
    let host = host_with(|c| {
        c.breaker = BreakerConfig {
            failure_threshold: 2,
            base_backoff_ms: 300,
            max_backoff_ms: 10_000,
        }
    });
    load_fixture(&host, "panic", |_| {});
    let call = || async {
        host.connector("fixture-panic")
            .expect("loaded")
            .sync_page(&ctx("c", &[], &[]), Entity::Orders, None)
            .await
            .expect_err("fails")
    };
    assert!(matches!(call().await.kind, ErrorKind::Panic { .. }));
    assert_eq!(
        host.status("fixture-panic").expect("status").breaker.state,
        BreakerState::Closed
    );
    assert!(matches!(call().await.kind, ErrorKind::Panic { .. }));

    // Open: the next call fails fast without running the plugin.
    let started = Instant::now();
    let err = call().await;
    assert!(
        matches!(err.kind, ErrorKind::CircuitOpen { failures: 2, .. }),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    let status = host.status("fixture-panic").expect("status");
    assert_eq!(status.breaker.state, BreakerState::Open);
    assert_eq!(status.breaker.trips, 1);
    assert!(status.breaker.retry_in_ms.is_some_and(|ms| ms <= 300));
    assert!(
        status
            .breaker
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("fixture panic"))
    );
    assert_eq!((status.calls, status.failures), (2, 2));
    let json = serde_json::to_value(&status).expect("serialisable");
    assert_eq!(json["breaker"]["state"], "open");

    // Other plugins are unaffected meanwhile.
    assert_healthy(&host).await;

    // After the pause one trial runs; it fails again, so the pause doubles.
    tokio::time::sleep(Duration::from_millis(320)).await;
    assert!(matches!(call().await.kind, ErrorKind::Panic { .. }));
    let status = host.status("fixture-panic").expect("status");
    assert_eq!(status.breaker.state, BreakerState::Open);
    assert_eq!(status.breaker.trips, 2);
    assert!(
        status
            .breaker
            .retry_in_ms
            .is_some_and(|ms| ms > 300 && ms <= 600),
        "{:?}",
        status.breaker
    );
    assert!(matches!(call().await.kind, ErrorKind::CircuitOpen { .. }));
}

#[tokio::test]
async fn reported_errors_do_not_trip_the_breaker() {
    let host = host_with(|c| c.breaker.failure_threshold = 1);
    // The template connector without base_url reports invalid config: the plugin works, the input is wrong.
    load_template(&host, "http://127.0.0.1:9", |_| {});
    for _ in 0..3 {
        let err = host
            .connector("template-connector")
            .expect("loaded")
            .sync_page(&ctx("c", &[], &[]), Entity::Orders, None)
            .await
            .expect_err("invalid config");
        assert!(matches!(&err.kind, ErrorKind::Reported(_)), "{err}");
    }
    let status = host.status("template-connector").expect("status");
    assert_eq!(status.breaker.state, BreakerState::Closed);
    assert_eq!(status.failures, 0);
}

#[tokio::test]
async fn one_tenants_faults_do_not_open_the_breaker_for_another() {
    let market = marketplace().await;
    let host = host_with(|c| {
        c.breaker = BreakerConfig {
            failure_threshold: 2,
            base_backoff_ms: 60_000,
            max_backoff_ms: 60_000,
        }
    });
    let spec = spec(
        "fixtures/slow-upstream",
        "fixture-slow-upstream",
        vec![creatorflow_plugin_host::Grant::host(&market.origin).expect("origin")],
        |m| {
            m.capabilities.hosts = vec![market.origin.clone()];
            m.limits.wall_ms = Some(300);
        },
    );
    host.load_blocking(&spec).expect("loads");
    let connector = host.connector("fixture-slow-upstream").expect("loaded");
    // The hostile tenant's upstream hangs: every call is a wall-time fault, and its breaker opens.
    let hostile = ctx("hostile", &[("base_url", &market.origin)], &[]);
    for _ in 0..2 {
        let err = connector
            .sync_page(&hostile, Entity::Orders, None)
            .await
            .expect_err("times out");
        assert!(matches!(err.kind, ErrorKind::WallTimeout { .. }), "{err}");
    }
    let err = connector
        .sync_page(&hostile, Entity::Orders, None)
        .await
        .expect_err("refused");
    assert!(matches!(err.kind, ErrorKind::CircuitOpen { .. }), "{err}");
    assert_eq!(
        host.status("fixture-slow-upstream")
            .expect("status")
            .breaker
            .state,
        BreakerState::Open
    );
    // Another tenant still reaches the plugin: its upstream answers, and the plugin runs and reports.
    let other = ctx(
        "other",
        &[("base_url", &format!("{}/fast", market.origin))],
        &[],
    );
    let err = connector
        .sync_page(&other, Entity::Orders, None)
        .await
        .expect_err("the fixture always reports");
    assert!(
        matches!(&err.kind, ErrorKind::Reported(_)),
        "the other tenant ran the plugin: {err}"
    );
}

#[tokio::test]
async fn calls_beyond_the_instance_slots_queue_instead_of_failing() {
    let host = host_with(|c| {
        c.max_instances = 2;
        c.breaker.failure_threshold = 1;
    });
    let market = marketplace().await;
    load_template(&host, &market.origin, |_| {});
    let connector = host.connector("template-connector").expect("loaded");
    // Sixteen concurrent calls on two slots, from one tenant: all are served, none is a fault.
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..16 {
        let connector = connector.clone();
        let base = market.base("");
        calls.spawn(async move {
            connector
                .sync_page(
                    &template_ctx(&base, &format!("shop-{i}")),
                    Entity::Orders,
                    None,
                )
                .await
        });
    }
    while let Some(r) = calls.join_next().await {
        let r = r.expect("joined");
        assert!(r.is_ok(), "{:?}", r.err());
    }
    let status = host.status("template-connector").expect("status");
    assert_eq!(status.failures, 0);
    assert_eq!(status.breaker.state, BreakerState::Closed);
}
