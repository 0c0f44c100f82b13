//! Compiled components, kept in memory and on disk by the SHA-256 of their wasm. Compiling a component
//! takes tens of milliseconds; deserializing a cached one a fraction of one, which is what makes a daemon
//! restart with many plugins fast.

use serde::Serialize;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where a loaded component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadSource {
    /// Compiled from wasm (cold start).
    Compiled,
    /// Deserialized from the on-disk cache (warm start).
    DiskCache,
    /// Already in memory (e.g. a reload with the same hash).
    MemoryCache,
}

/// Counters of how components were obtained; tests and metrics use them to prove warm starts do not compile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    pub compiled: u64,
    pub disk_hits: u64,
    pub memory_hits: u64,
    /// Cache files that could not be written (the component still loads; the next start compiles again).
    pub write_failures: u64,
    /// Cache files that existed but were unusable and were discarded.
    pub discarded: u64,
}

pub(crate) struct ComponentCache {
    dir: PathBuf,
    /// Identifies the engine's compilation settings; artifacts from another engine or version never match.
    engine_tag: String,
    memory: Mutex<HashMap<String, Component>>,
    compiled: AtomicU64,
    disk_hits: AtomicU64,
    memory_hits: AtomicU64,
    write_failures: AtomicU64,
    discarded: AtomicU64,
}

impl ComponentCache {
    pub fn new(dir: PathBuf, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self {
            dir,
            engine_tag: format!("{:016x}", hasher.finish()),
            memory: Mutex::new(HashMap::new()),
            compiled: AtomicU64::new(0),
            disk_hits: AtomicU64::new(0),
            memory_hits: AtomicU64::new(0),
            write_failures: AtomicU64::new(0),
            discarded: AtomicU64::new(0),
        })
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.cwasm", self.engine_tag))
    }

    /// The component for `wasm`, whose verified hash is `sha256`: from memory, from disk, or compiled (and
    /// then written to disk for the next start).
    pub fn get(
        &self,
        engine: &Engine,
        sha256: &str,
        wasm: &[u8],
    ) -> Result<(Component, LoadSource), String> {
        if let Some(c) = self.lock().get(sha256).cloned() {
            self.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Ok((c, LoadSource::MemoryCache));
        }
        let path = self.path(sha256);
        if path.is_file() {
            match deserialize(engine, &path) {
                Ok(c) => {
                    self.disk_hits.fetch_add(1, Ordering::Relaxed);
                    self.lock().insert(sha256.to_owned(), c.clone());
                    return Ok((c, LoadSource::DiskCache));
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), "Discarding unusable compiled-component cache file: {e:#}");
                    self.discarded.fetch_add(1, Ordering::Relaxed);
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let component = Component::new(engine, wasm).map_err(|e| format!("{e:#}"))?;
        self.compiled.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.store(&component, &path) {
            tracing::warn!(path = %path.display(), "Cannot write compiled-component cache: {e}");
            self.write_failures.fetch_add(1, Ordering::Relaxed);
        }
        self.lock().insert(sha256.to_owned(), component.clone());
        Ok((component, LoadSource::Compiled))
    }

    /// Written to a temporary name and renamed, so a crash never leaves a truncated artifact under the
    /// final name.
    fn store(&self, component: &Component, path: &Path) -> std::io::Result<()> {
        let bytes = component
            .serialize()
            .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let unique = NEXT.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp-{}-{unique}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    }

    pub fn clear_memory(&self) {
        self.lock().clear();
    }

    pub fn forget(&self, sha256: &str) {
        self.lock().remove(sha256);
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            compiled: self.compiled.load(Ordering::Relaxed),
            disk_hits: self.disk_hits.load(Ordering::Relaxed),
            memory_hits: self.memory_hits.load(Ordering::Relaxed),
            write_failures: self.write_failures.load(Ordering::Relaxed),
            discarded: self.discarded.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Component>> {
        self.memory.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Loads a compiled artifact from the cache directory.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: `deserialize_file` trusts the file to be an artifact produced by `Component::serialize`.
    // Only this cache writes into the directory (atomically, named by the wasm's SHA-256 and this engine's
    // compatibility hash), and wasmtime itself rejects artifacts from another version or configuration. A
    // party able to replace these files could replace the daemon binary as well.
    unsafe { Component::deserialize_file(engine, path) }
}
