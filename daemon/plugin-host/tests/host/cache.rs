//! The compiled-component cache: a warm start deserializes, it does not compile.

use crate::common::*;
use creatorflow_plugin_host::LoadSource;

#[tokio::test]
async fn a_second_load_deserializes_instead_of_compiling() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache_path = dir.path().to_path_buf();
    let first = host_in(dir);
    let report = load(&first, "contribution-margin", "contribution-margin", |_| {});
    assert_eq!(report.source, LoadSource::Compiled);
    assert_eq!(first.cache_stats().compiled, 1);
    let artifacts = artifacts(&cache_path).len();
    assert_eq!(artifacts, 1, "one compiled artifact on disk");

    // Same host, memory cache dropped: read back from disk.
    first.unload("contribution-margin");
    first.clear_memory_cache();
    let report = load(&first, "contribution-margin", "contribution-margin", |_| {});
    assert_eq!(report.source, LoadSource::DiskCache);

    // A new host (a daemon restart) on the same directory: no compile at all.
    let second = creatorflow_plugin_host::PluginHost::new(creatorflow_plugin_host::HostConfig {
        cache_dir: cache_path.clone(),
        ..test_config()
    })
    .expect("host");
    let report = load(
        &second,
        "contribution-margin",
        "contribution-margin",
        |_| {},
    );
    assert_eq!(report.source, LoadSource::DiskCache);
    let stats = second.cache_stats();
    assert_eq!((stats.compiled, stats.disk_hits), (0, 1));
    assert_eq!(
        second
            .status("contribution-margin")
            .expect("loaded")
            .loaded_from,
        LoadSource::DiskCache
    );

    // Reloading an already compiled component in the same host uses memory.
    let report = load(
        &second,
        "contribution-margin",
        "contribution-margin",
        |_| {},
    );
    assert_eq!(report.source, LoadSource::MemoryCache);
}

#[tokio::test]
async fn a_corrupt_cache_file_is_discarded_and_recompiled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache_path = dir.path().to_path_buf();
    let first = host_in(dir);
    load(&first, "template-metric", "template-metric", |_| {});
    for artifact in artifacts(&cache_path) {
        std::fs::write(artifact, b"not a compiled component").expect("corrupt");
    }
    let second = creatorflow_plugin_host::PluginHost::new(creatorflow_plugin_host::HostConfig {
        cache_dir: cache_path,
        ..test_config()
    })
    .expect("host");
    let report = load(&second, "template-metric", "template-metric", |_| {});
    assert_eq!(report.source, LoadSource::Compiled);
    assert_eq!(second.cache_stats().discarded, 1);
    assert_healthy(&second).await;
}

fn artifacts(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .expect("cache dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn an_artifact_swapped_for_another_components_is_refused_and_recompiled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache_path = dir.path().to_path_buf();
    let first = host_in(dir);
    load(&first, "template-metric", "template-metric", |_| {});
    let template = artifacts(&cache_path);
    load(&first, "contribution-margin", "contribution-margin", |_| {});
    let margin: Vec<_> = artifacts(&cache_path)
        .into_iter()
        .filter(|p| !template.contains(p))
        .collect();
    assert_eq!((template.len(), margin.len()), (1, 1));
    // Someone with write access to the cache puts the contribution-margin artifact under the template's
    // name: a valid artifact of this very engine, for another component.
    std::fs::copy(&margin[0], &template[0]).expect("swap");
    let second = creatorflow_plugin_host::PluginHost::new(creatorflow_plugin_host::HostConfig {
        cache_dir: cache_path,
        ..test_config()
    })
    .expect("host");
    let report = load(&second, "template-metric", "template-metric", |_| {});
    assert_eq!(report.source, LoadSource::Compiled);
    assert_eq!(second.cache_stats().discarded, 1);
    let info = second
        .metric("template-metric")
        .expect("loaded")
        .describe()
        .await
        .expect("describe");
    assert_eq!(info.id, "template-metric", "the template's own code runs");
}
