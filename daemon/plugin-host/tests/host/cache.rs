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
    let artifacts = std::fs::read_dir(&cache_path).expect("cache dir").count();
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
    for entry in std::fs::read_dir(&cache_path).expect("dir") {
        std::fs::write(entry.expect("entry").path(), b"not a compiled component").expect("corrupt");
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
