//! Each hostile fixture fails its own call with its specific error, and the host keeps serving others.

use crate::common::*;
use creatorflow_plugin_host::model::{Batch, Column, ColumnData, Entity};
use creatorflow_plugin_host::{DenyRule, ErrorKind, LoadError, PluginError};
use std::time::{Duration, Instant};

async fn sync(
    host: &creatorflow_plugin_host::PluginHost,
    id: &str,
    config: &[(&str, &str)],
) -> PluginError {
    let result = host
        .connector(id)
        .expect("loaded")
        .sync_page(&ctx("conn-1", config, &[]), Entity::Orders, None)
        .await;
    match result {
        Ok(page) => panic!("{id} should fail, returned {} records", page.records.len()),
        Err(e) => e,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loop_hits_the_cpu_limit_while_others_keep_running() {
    let host = host();
    load_fixture(&host, "infinite-loop", |m| m.limits.cpu_ms = Some(300));
    load(&host, "template-metric", "template-metric", |_| {});
    let started = Instant::now();
    let spinning = {
        let host = host.host.clone();
        tokio::spawn(async move { sync(&host, "fixture-infinite-loop", &[]).await })
    };
    // While the loop spins, a healthy plugin answers promptly: the loop yields every epoch tick.
    assert_healthy(&host).await;
    let err = spinning.await.expect("task");
    assert_eq!(err.kind, ErrorKind::CpuLimit { limit_ms: 300 }, "{err}");
    assert_eq!(err.plugin, "fixture-infinite-loop");
    assert_eq!(err.version, "0.1.0");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_healthy(&host).await;
}

#[tokio::test]
async fn memory_bomb_hits_the_memory_limit() {
    let host = host();
    load_fixture(&host, "memory-bomb", |m| m.limits.memory_mib = Some(16));
    let err = sync(&host, "fixture-memory-bomb", &[]).await;
    assert_eq!(err.kind, ErrorKind::MemoryLimit { limit_mib: 16 }, "{err}");
    assert!(err.to_string().contains("limits.memory_mib"), "{err}");
    assert_healthy(&host).await;
}

#[tokio::test]
async fn deep_recursion_overflows_the_stack() {
    let host = host();
    load_fixture(&host, "deep-recursion", |_| {});
    let err = sync(&host, "fixture-deep-recursion", &[]).await;
    assert_eq!(err.kind, ErrorKind::StackOverflow, "{err}");
    assert_healthy(&host).await;
}

#[tokio::test]
async fn panic_is_reported_with_its_message() {
    let host = host();
    load_fixture(&host, "panic", |_| {});
    let err = sync(&host, "fixture-panic", &[]).await;
    match &err.kind {
        ErrorKind::Panic { message } => assert!(
            message.contains("fixture panic: the marketplace sent something impossible"),
            "{message}"
        ),
        other => panic!("expected a panic, got {other:?}"),
    }
    assert_healthy(&host).await;
}

#[tokio::test]
async fn trap_mid_page_returns_nothing_and_the_next_call_starts_fresh() {
    let host = host();
    load_fixture(&host, "trap-mid-page", |_| {});
    for _ in 0..2 {
        // The same error each time: every call gets a fresh instance, never one poisoned by the last trap.
        let err = sync(&host, "fixture-trap-mid-page", &[]).await;
        match &err.kind {
            ErrorKind::Trap { message } => assert!(message.contains("unreachable"), "{message}"),
            other => panic!("expected a trap, got {other:?}"),
        }
    }
    assert_healthy(&host).await;
}

#[tokio::test]
async fn enormous_output_is_refused() {
    let host = host();
    load_fixture(&host, "enormous-output", |m| m.limits.memory_mib = Some(64));
    let err = sync(&host, "fixture-enormous-output", &[]).await;
    match &err.kind {
        ErrorKind::OutputLimit { detail } => {
            assert!(detail.contains("50000 records"), "{detail}");
            assert!(detail.contains("limits.max_output_records"), "{detail}");
        }
        other => panic!("expected an output limit, got {other:?}"),
    }
    assert_healthy(&host).await;
}

#[tokio::test]
async fn fetch_to_a_host_not_allowed_is_denied_even_if_the_plugin_ignores_the_error() {
    let host = host();
    load_fixture(&host, "fetch-denied", |_| {});
    let err = sync(&host, "fixture-fetch-denied", &[]).await;
    let ErrorKind::Denied(denial) = &err.kind else {
        panic!("expected a denial, got {err}");
    };
    assert_eq!(denial.rule, DenyRule::NotInManifest);
    let text = err.to_string();
    assert!(text.contains("https://evil.example.com"), "{text}");
    assert!(
        text.contains(
            "creatorflow plugin grant fixture-fetch-denied --host https://evil.example.com"
        ),
        "{text}"
    );
    assert_healthy(&host).await;
}

#[tokio::test]
async fn records_with_invalid_values_are_refused_with_the_field_named() {
    let host = host();
    load_fixture(&host, "invalid-records", |_| {});
    for (case, path, why) in [
        (
            "negative-quantity",
            "records[1].order.lines[0].quantity",
            "negative quantity -3",
        ),
        (
            "unknown-currency",
            "records[1].order.currency",
            "unknown currency \"XXQ\"",
        ),
        ("missing-id", "records[1].order.external_id", "missing id"),
        (
            "nan",
            "records[1].content_metric.avg_watch_seconds",
            "NaN is not a finite number",
        ),
    ] {
        let err = sync(&host, "fixture-invalid-records", &[("case", case)]).await;
        match &err.kind {
            ErrorKind::InvalidOutput { detail } => {
                assert!(detail.starts_with(path), "{case}: {detail}");
                assert!(detail.contains(why), "{case}: {detail}");
            }
            other => panic!("{case}: expected invalid output, got {other:?}"),
        }
    }
    assert_healthy(&host).await;
}

#[tokio::test]
async fn wrong_api_version_is_refused_before_compiling() {
    let host = host();
    let before = host.cache_stats();
    let err = host
        .load_blocking(&spec(
            "fixtures/wrong-api-version",
            "fixture-wrong-api-version",
            vec![],
            |_| {},
        ))
        .expect_err("refused");
    match &err {
        LoadError::UnsupportedApi {
            found, supported, ..
        } => {
            assert_eq!(found, "2.0.0");
            assert_eq!(supported, "1.0.x");
        }
        other => panic!("expected an unsupported API, got {other}"),
    }
    let text = err.to_string();
    assert!(text.contains("2.0.0") && text.contains("1.0.x"), "{text}");
    assert_eq!(
        host.cache_stats(),
        before,
        "nothing may be compiled for a refused plugin"
    );
    assert!(host.status("fixture-wrong-api-version").is_none());
    assert_healthy(&host).await;
}

#[tokio::test]
async fn a_manifest_claiming_another_api_than_the_component_is_refused() {
    let host = host();
    let err = host
        .load_blocking(&spec("template-metric", "template-metric", vec![], |m| {
            m.api = "1.0.1".into()
        }))
        .expect_err("refused");
    assert!(matches!(err, LoadError::ApiMismatch { .. }), "{err}");
}

#[tokio::test]
async fn wrong_sha256_is_refused_with_both_hashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        repo_root().join("plugins/fixtures/wrong-sha256/plugin.toml"),
        dir.path().join("plugin.toml"),
    )
    .expect("copy manifest");
    let wasm = wasm("template-metric");
    std::fs::copy(&wasm, dir.path().join("template_metric.wasm")).expect("copy wasm");
    let actual = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        std::fs::read(&wasm).expect("wasm"),
    ));

    let registry = crate::registry::registry().await;
    let err = registry.0.install(dir.path()).await.expect_err("refused");
    let text = err.to_string();
    assert!(text.contains(&"0".repeat(64)), "{text}");
    assert!(text.contains(&actual), "{text}");
    assert!(
        registry.0.list().await.expect("list").is_empty(),
        "nothing was installed"
    );

    // The same check guards loading directly.
    let host = host();
    let mut spec = spec("template-metric", "template-metric", vec![], |_| {});
    spec.manifest.sha256 = Some("0".repeat(64));
    assert!(matches!(
        host.load_blocking(&spec),
        Err(LoadError::HashMismatch { .. })
    ));
    assert_healthy(&host).await;
}

#[tokio::test]
async fn nan_in_metric_output_or_input_is_refused() {
    let host = host();
    load(&host, "fixtures/nan-metric", "fixture-nan-metric", |_| {});
    let err = host
        .metric("fixture-nan-metric")
        .expect("loaded")
        .evaluate("w1", &[], &[])
        .await
        .expect_err("NaN refused");
    assert!(
        matches!(&err.kind, ErrorKind::InvalidOutput { detail } if detail.contains("value: NaN")),
        "{err}"
    );

    load(&host, "template-metric", "template-metric", |_| {});
    let with_nan = Batch::new(vec![
        Column::new("revenue_minor", ColumnData::Int64(vec![1, 2])),
        Column::new("share", ColumnData::Float64(vec![0.5, f64::NAN])),
    ]);
    let err = host
        .metric("template-metric")
        .expect("loaded")
        .evaluate("w1", &[], &[with_nan])
        .await
        .expect_err("NaN input refused");
    assert!(
        matches!(&err.kind, ErrorKind::InvalidInput { detail } if detail.contains("`share` row 1 is NaN")),
        "{err}"
    );
    assert_healthy(&host).await;
}

#[tokio::test]
async fn the_sandbox_denies_files_directories_environment_and_sockets() {
    let host = host();
    load_fixture(&host, "sandbox-probe", |_| {});
    let err = host
        .connector("fixture-sandbox-probe")
        .expect("loaded")
        .sync_page(&ctx("c", &[], &[]), Entity::Orders, None)
        .await
        .expect_err("the probe reports");
    let report = err.to_string();
    for denied in [
        "file=denied",
        "dir=denied",
        "cwd=denied",
        "write=denied",
        "env=0",
        "socket=denied",
    ] {
        assert!(report.contains(denied), "{denied} missing in: {report}");
    }
    assert!(!report.contains("OPEN"), "{report}");
}
