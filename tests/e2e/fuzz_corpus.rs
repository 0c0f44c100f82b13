//! Replays the committed fuzzing corpora (`fuzz/corpus/<target>/`) through the same entry points the fuzz
//! targets call, so every input that once found a crash, and every seed, stays covered by the suite.

use crate::harness::repo_root;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = repo_root().join("fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} has no inputs", dir.display());
    // A fuzzer running on the same directory may replace inputs meanwhile: one that vanished is skipped.
    files
        .into_iter()
        .filter_map(|p| {
            std::fs::read(&p)
                .ok()
                .map(|bytes| (p.display().to_string(), bytes))
        })
        .collect()
}

#[test]
fn graphql_documents_replay() {
    for (_, bytes) in corpus("graphql_document") {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            creatorflow_api::limits::fuzz_document(text);
        }
    }
}

#[test]
fn csv_imports_replay() {
    for (_, bytes) in corpus("csv_import") {
        creatorflow_import::fuzz_plan(&bytes);
    }
}

#[test]
fn ingest_events_replay() {
    for (_, bytes) in corpus("ingest_event") {
        creatorflow_ingest::fuzz_event_json(&bytes);
    }
}

#[test]
fn plugin_manifests_replay() {
    let mut parsed = 0;
    for (_, bytes) in corpus("plugin_manifest") {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            parsed += usize::from(creatorflow_plugin_host::Manifest::parse(text).is_ok());
        }
    }
    assert!(parsed > 0, "the seed manifests parse");
}
