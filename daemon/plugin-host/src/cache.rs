//! Compiled components, kept in memory and on disk by the SHA-256 of their wasm. Compiling a component
//! takes tens of milliseconds; deserializing a cached one a fraction of one, which is what makes a daemon
//! restart with many plugins fast.
//!
//! A compiled artifact is native code the daemon will run, so it is only trusted when it carries a MAC,
//! keyed with a random key kept beside the cache (`cache.key`), over the component's SHA-256, the engine's
//! compatibility tag and the artifact itself. A file swapped for another component's artifact, copied from
//! another machine, truncated or edited fails the check and is recompiled from the verified wasm.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
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

const MAC_LEN: usize = 32;
const KEY_FILE: &str = "cache.key";

pub(crate) struct ComponentCache {
    dir: PathBuf,
    /// Keys the MAC that binds each artifact to its component and engine.
    key: [u8; 32],
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
        let key = load_or_create_key(&dir.join(KEY_FILE))?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self {
            dir,
            key,
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
            match self.read_verified(engine, sha256, &path) {
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
        if let Err(e) = self.store(&component, sha256, &path) {
            tracing::warn!(path = %path.display(), "Cannot write compiled-component cache: {e}");
            self.write_failures.fetch_add(1, Ordering::Relaxed);
        }
        self.lock().insert(sha256.to_owned(), component.clone());
        Ok((component, LoadSource::Compiled))
    }

    /// Written to a temporary name and renamed, so a crash never leaves a truncated artifact under the
    /// final name.
    fn store(&self, component: &Component, sha256: &str, path: &Path) -> std::io::Result<()> {
        let body = component
            .serialize()
            .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
        let mut bytes = self.mac(sha256, &body).to_vec();
        bytes.extend_from_slice(&body);
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let unique = NEXT.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp-{}-{unique}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    }

    fn mac(&self, sha256: &str, body: &[u8]) -> [u8; MAC_LEN] {
        self.mac_state(sha256, body).finalize().into_bytes().into()
    }

    fn mac_state(&self, sha256: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"creatorflow compiled component\0");
        mac.update(sha256.as_bytes());
        mac.update(b"\0");
        mac.update(self.engine_tag.as_bytes());
        mac.update(b"\0");
        mac.update(body);
        mac
    }

    /// The artifact at `path` if its MAC proves this cache wrote it for the component `sha256`.
    fn read_verified(
        &self,
        engine: &Engine,
        sha256: &str,
        path: &Path,
    ) -> Result<Component, String> {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        if bytes.len() <= MAC_LEN {
            return Err("shorter than its MAC".into());
        }
        let (tag, body) = bytes.split_at(MAC_LEN);
        self.mac_state(sha256, body)
            .verify_slice(tag)
            .map_err(|_| "its MAC does not match this component and engine".to_owned())?;
        deserialize(engine, body).map_err(|e| format!("{e:#}"))
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

/// Turns verified artifact bytes back into a component.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, body: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `deserialize` trusts the bytes to be an artifact produced by `Component::serialize`. They
    // are: the caller checked their MAC, keyed with this cache's secret key, over the component's hash,
    // this engine's compatibility tag and the bytes themselves, and wasmtime still rejects artifacts of
    // another version or configuration.
    unsafe { Component::deserialize(engine, body) }
}

/// The cache's MAC key: read, or created (mode 0600) on first use. A key of the wrong length is replaced,
/// which simply invalidates every artifact. Hosts that start together (in one process or several) agree on
/// one key: each writes its candidate under a name of its own and links it into place only if no key is
/// there yet; a loser reads the winner's key.
fn load_or_create_key(path: &Path) -> std::io::Result<[u8; 32]> {
    let read = || -> Option<[u8; 32]> {
        let bytes = std::fs::read(path).ok()?;
        <[u8; 32]>::try_from(bytes.as_slice()).ok()
    };
    if let Some(key) = read() {
        return Ok(key);
    }
    let key: [u8; 32] = rand::random();
    let tmp = path.with_extension(format!(
        "tmp-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(&key)?;
        file.sync_all()?;
    }
    let linked = std::fs::hard_link(&tmp, path);
    let outcome = match linked {
        Ok(()) => Ok(key),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => match read() {
            Some(winner) => Ok(winner),
            // A key of the wrong length sits there: replace it with ours.
            None => std::fs::rename(&tmp, path).map(|()| key),
        },
        Err(error) => Err(error),
    };
    let _ = std::fs::remove_file(&tmp);
    outcome
}

#[cfg(test)]
mod tests {
    use super::load_or_create_key;

    /// Many hosts opening one fresh cache at once must all succeed and agree on one key.
    #[test]
    fn concurrent_first_opens_agree_on_one_key() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join(super::KEY_FILE);
            let keys: Vec<[u8; 32]> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..8)
                    .map(|_| scope.spawn(|| load_or_create_key(&path)))
                    .collect();
                handles
                    .into_iter()
                    .map(|handle| handle.join().expect("thread").expect("key"))
                    .collect()
            });
            assert!(
                keys.iter().all(|key| *key == keys[0]),
                "hosts disagree on the key"
            );
            let leftovers = std::fs::read_dir(dir.path()).expect("read dir").count();
            assert_eq!(leftovers, 1, "temporary key files were left behind");
        }
    }
}
