//! The plugin host: one wasmtime engine, the loaded plugins, and the call path every job goes through
//! (circuit breaker → fresh store → call under limits → validated output).

use crate::bindings::{self, ApiVersion, SUPPORTED_API, v1};
use crate::breaker::{Breaker, BreakerStatus};
use crate::cache::{CacheStats, ComponentCache, LoadSource};
use crate::config::{BreakerConfig, HostConfig, LimitValues};
use crate::error::{ErrorKind, HostError, LoadError, PluginError};
use crate::http::{self, NetPolicy, RateBuckets};
use crate::job::{self, CallContext, HostShared, JobState, PluginShared};
use crate::manifest::{Manifest, OriginPattern, PluginKind, RateBudget};
use crate::model;
use crate::registry::Grant;
use crate::section;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::time::Instant;
use tracing::instrument;
use wasmtime::component::Linker;
use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

/// Extra time the outer timeout grants beyond a job's wall limit, so the inner timeouts around host I/O
/// fire first and can say what the plugin was waiting for.
const WALL_GRACE: Duration = Duration::from_millis(200);

/// Everything needed to load one plugin: its verified manifest, where its component is, and what the
/// operator granted.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub manifest: Manifest,
    pub wasm_path: PathBuf,
    pub grants: Vec<Grant>,
}

/// How a load went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadReport {
    pub id: String,
    pub version: String,
    pub api: String,
    pub source: LoadSource,
}

/// What the API and CLI show for a loaded plugin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PluginStatus {
    pub id: String,
    pub version: String,
    pub kind: PluginKind,
    pub api: String,
    pub loaded_from: LoadSource,
    pub limits: LimitValues,
    pub calls: u64,
    pub failures: u64,
    pub breaker: BreakerStatus,
}

enum Pre {
    V1Connector(v1::ConnectorPre),
    V1Metric(v1::MetricPre),
}

struct Loaded {
    shared: Arc<PluginShared>,
    sha256: String,
    api: String,
    source: LoadSource,
    pre: Pre,
    breaker_config: BreakerConfig,
    /// One breaker per tenant (connection or workspace), so one tenant's faults never deny the others.
    breakers: Mutex<HashMap<String, Breaker>>,
    calls: AtomicU64,
    failures: AtomicU64,
}

struct Inner {
    engine: Engine,
    pooling: bool,
    /// Instance slots: a call waits here (up to its wall-time budget) instead of being refused by the
    /// allocator, and the on-demand fallback gets the same cap as the pool.
    instances: Arc<tokio::sync::Semaphore>,
    max_instances: u32,
    cache: ComponentCache,
    shared: Arc<HostShared>,
    connector_linker: Linker<JobState>,
    metric_linker: Linker<JobState>,
    plugins: RwLock<HashMap<String, Arc<Loaded>>>,
}

/// Runs plugins. Cheap to clone; clones share engine, cache and loaded plugins.
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

impl PluginHost {
    /// Builds the engine (pooling allocator when the machine allows it), starts the epoch ticker and opens
    /// the compiled-component cache.
    pub fn new(config: HostConfig) -> Result<Self, HostError> {
        let (engine, pooling) = build_engine(&config)?;
        start_ticker(&engine, Duration::from_millis(config.epoch_tick_ms.max(1)))?;
        let cache = ComponentCache::new(config.cache_dir.clone(), &engine).map_err(|source| {
            HostError::Cache {
                path: config.cache_dir.clone(),
                source,
            }
        })?;
        let client =
            http::build_client(config.dev_mode).map_err(|e| HostError::Http(e.to_string()))?;
        let mut connector_linker = Linker::new(&engine);
        let mut metric_linker = Linker::new(&engine);
        for (linker, add) in [
            (
                &mut connector_linker,
                v1::connector_linker as fn(&mut Linker<JobState>) -> _,
            ),
            (&mut metric_linker, v1::metric_linker),
        ] {
            wasmtime_wasi::p2::add_to_linker_async(linker)
                .and_then(|()| add(linker))
                .map_err(|e| HostError::Engine(format!("{e:#}")))?;
        }
        let max_instances = config.max_instances.max(1);
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                pooling,
                instances: Arc::new(tokio::sync::Semaphore::new(max_instances as usize)),
                max_instances,
                cache,
                shared: Arc::new(HostShared {
                    config,
                    client,
                    buckets: RateBuckets::default(),
                }),
                connector_linker,
                metric_linker,
                plugins: RwLock::new(HashMap::new()),
            }),
        })
    }

    /// Whether the pooling allocator is in use (false after a fallback to on-demand allocation).
    pub fn uses_pooling(&self) -> bool {
        self.inner.pooling
    }

    pub fn config(&self) -> &HostConfig {
        &self.inner.shared.config
    }

    /// Verifies, compiles (or takes from cache) and prepares a plugin; replaces an already loaded one with
    /// the same id. Compiling is CPU-bound: async callers should prefer [`PluginHost::load`].
    pub fn load_blocking(&self, spec: &LoadSpec) -> Result<LoadReport, LoadError> {
        let manifest = &spec.manifest;
        let wasm = std::fs::read(&spec.wasm_path).map_err(|source| LoadError::Io {
            path: spec.wasm_path.clone(),
            source,
        })?;
        let (api_version, sha256) = verify_component(manifest, &wasm, &spec.wasm_path)?;
        let id = manifest.id.to_string();
        let version = manifest.version.clone();
        let (component, source) = self
            .inner
            .cache
            .get(&self.inner.engine, &sha256, &wasm)
            .map_err(|message| LoadError::Compile {
                plugin: id.clone(),
                version: version.clone(),
                message,
            })?;
        let world_err = |world: &str, e: wasmtime::Error| LoadError::WorldMismatch {
            plugin: id.clone(),
            version: version.clone(),
            world: world.to_owned(),
            message: format!("{e:#}"),
        };
        let pre = match (api_version, manifest.kind) {
            (ApiVersion::V1, PluginKind::Connector) => {
                let pre = self
                    .inner
                    .connector_linker
                    .instantiate_pre(&component)
                    .and_then(v1::ConnectorPre::new)
                    .map_err(|e| world_err("connector", e))?;
                Pre::V1Connector(pre)
            }
            (ApiVersion::V1, PluginKind::Metric) => {
                let pre = self
                    .inner
                    .metric_linker
                    .instantiate_pre(&component)
                    .and_then(v1::MetricPre::new)
                    .map_err(|e| world_err("metric", e))?;
                Pre::V1Metric(pre)
            }
        };
        let config = &self.inner.shared.config;
        let limits = LimitValues::effective(&manifest.limits, &config.defaults, &config.caps);
        let policy = net_policy(manifest, &spec.grants, config);
        self.inner.shared.buckets.forget(&id);
        let loaded = Arc::new(Loaded {
            shared: Arc::new(PluginShared {
                id: id.clone(),
                version: version.clone(),
                kind: manifest.kind,
                limits,
                policy,
            }),
            sha256,
            api: manifest.api.clone(),
            source,
            pre,
            breaker_config: config.breaker,
            breakers: Mutex::new(HashMap::new()),
            calls: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        });
        tracing::info!(plugin = %id, version = %version, source = ?source, "Plugin loaded");
        self.write().insert(id.clone(), loaded);
        Ok(LoadReport {
            id,
            version,
            api: manifest.api.clone(),
            source,
        })
    }

    /// [`PluginHost::load_blocking`] on the blocking pool.
    pub async fn load(&self, spec: LoadSpec) -> Result<LoadReport, LoadError> {
        let host = self.clone();
        let path = spec.wasm_path.clone();
        tokio::task::spawn_blocking(move || host.load_blocking(&spec))
            .await
            .unwrap_or_else(|e| {
                Err(LoadError::Io {
                    path,
                    source: std::io::Error::other(format!("load task failed: {e}")),
                })
            })
    }

    /// Stops serving a plugin. Jobs already running finish on their own store.
    pub fn unload(&self, id: &str) -> bool {
        let removed = self.write().remove(id);
        self.inner.shared.buckets.forget(id);
        if let Some(loaded) = &removed {
            self.inner.cache.forget(&loaded.sha256);
        }
        removed.is_some()
    }

    /// Drops compiled components kept in memory, so the next load of the same wasm reads the disk cache.
    pub fn clear_memory_cache(&self) {
        self.inner.cache.clear_memory();
    }

    pub fn cache_stats(&self) -> CacheStats {
        self.inner.cache.stats()
    }

    pub fn connector(&self, id: &str) -> Result<ConnectorHandle, PluginError> {
        let loaded = self.get(id, PluginKind::Connector)?;
        Ok(ConnectorHandle {
            host: self.clone(),
            plugin: loaded,
        })
    }

    pub fn metric(&self, id: &str) -> Result<MetricHandle, PluginError> {
        let loaded = self.get(id, PluginKind::Metric)?;
        Ok(MetricHandle {
            host: self.clone(),
            plugin: loaded,
        })
    }

    pub fn status(&self, id: &str) -> Option<PluginStatus> {
        self.read().get(id).map(|l| status_of(l))
    }

    fn get(&self, id: &str, kind: PluginKind) -> Result<Arc<Loaded>, PluginError> {
        let Some(loaded) = self.read().get(id).cloned() else {
            return Err(PluginError::new(id, "-", ErrorKind::NotLoaded));
        };
        if loaded.shared.kind != kind {
            return Err(PluginError::new(
                id,
                loaded.shared.version.clone(),
                ErrorKind::WrongKind {
                    expected: kind,
                    actual: loaded.shared.kind,
                },
            ));
        }
        Ok(loaded)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Loaded>>> {
        self.inner.plugins.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Loaded>>> {
        self.inner
            .plugins
            .write()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn new_store(&self, plugin: &Loaded, call: CallContext) -> Store<JobState> {
        let deadline = Instant::now() + plugin.shared.limits.wall();
        job::new_store(
            &self.inner.engine,
            plugin.shared.clone(),
            self.inner.shared.clone(),
            call,
            deadline,
        )
    }
}

fn status_of(l: &Loaded) -> PluginStatus {
    PluginStatus {
        id: l.shared.id.clone(),
        version: l.shared.version.clone(),
        kind: l.shared.kind,
        api: l.api.clone(),
        loaded_from: l.source,
        limits: l.shared.limits,
        calls: l.calls.load(Ordering::Relaxed),
        failures: l.failures.load(Ordering::Relaxed),
        breaker: worst_breaker(l, Instant::now()),
    }
}

/// Checks a component against its manifest before anything compiles it: the hash must match, and the API
/// version in its custom section must be one this host has bindings for and agree with the manifest.
pub(crate) fn verify_component(
    manifest: &Manifest,
    wasm: &[u8],
    path: &std::path::Path,
) -> Result<(ApiVersion, String), LoadError> {
    let plugin = manifest.id.to_string();
    let version = manifest.version.clone();
    let Some(expected) = manifest.sha256.clone() else {
        return Err(LoadError::MissingHash { plugin, version });
    };
    let actual = hex::encode(Sha256::digest(wasm));
    if actual != expected {
        return Err(LoadError::HashMismatch {
            plugin,
            version,
            file: path.display().to_string(),
            expected,
            actual,
        });
    }
    let found = match section::read_api_version(wasm) {
        Ok(Some(v)) => v,
        Ok(None) => return Err(LoadError::MissingApiSection { plugin, version }),
        Err(message) => {
            return Err(LoadError::Compile {
                plugin,
                version,
                message,
            });
        }
    };
    let Some(api) = bindings::resolve(&found) else {
        return Err(LoadError::UnsupportedApi {
            plugin,
            version,
            found,
            supported: SUPPORTED_API.to_owned(),
        });
    };
    if found != manifest.api {
        return Err(LoadError::ApiMismatch {
            plugin,
            version,
            manifest: manifest.api.clone(),
            component: found,
        });
    }
    Ok((api, actual))
}

fn net_policy(manifest: &Manifest, grants: &[Grant], config: &HostConfig) -> NetPolicy {
    let requested = manifest.capabilities.rate.unwrap_or(config.default_rate);
    NetPolicy {
        plugin: manifest.id.to_string(),
        manifest_hosts: manifest.host_patterns(),
        granted_hosts: grants
            .iter()
            .filter_map(|g| match g {
                Grant::Host(h) => OriginPattern::parse(h).ok(),
                Grant::Secret(_) => None,
            })
            .collect(),
        manifest_secrets: manifest.capabilities.secrets.iter().cloned().collect(),
        granted_secrets: grants
            .iter()
            .filter_map(|g| match g {
                Grant::Secret(s) => Some(s.clone()),
                Grant::Host(_) => None,
            })
            .collect(),
        rate: RateBudget {
            requests_per_second: requested
                .requests_per_second
                .min(config.max_requests_per_second),
            burst: requested.burst.max(1),
        },
        dev_mode: config.dev_mode,
    }
}

fn build_engine(config: &HostConfig) -> Result<(Engine, bool), HostError> {
    let mut c = wasmtime::Config::new();
    c.wasm_component_model(true)
        .epoch_interruption(true)
        .max_wasm_stack(512 << 10)
        .async_stack_size(2 << 20)
        .parallel_compilation(true);
    if config.pooling {
        let n = config.max_instances.max(1);
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(8))
            .total_memories(n.saturating_mul(2))
            .total_tables(n.saturating_mul(8))
            .total_stacks(n)
            .max_memory_size(config.caps.memory_bytes());
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        match Engine::new(&c) {
            Ok(engine) => return Ok((engine, true)),
            Err(e) => {
                tracing::warn!(
                    "Pooling allocator unavailable, falling back to on-demand allocation: {e:#}"
                );
            }
        }
        c.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    }
    Engine::new(&c)
        .map(|e| (e, false))
        .map_err(|e| HostError::Engine(format!("{e:#}")))
}

/// Advances the engine's epoch every `tick` so CPU limits and cooperative yields work. The thread holds
/// only a weak reference and ends with the engine.
fn start_ticker(engine: &Engine, tick: Duration) -> Result<(), HostError> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("plugin-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(tick);
            }
        })
        .map(|_| ())
        .map_err(|e| HostError::Engine(format!("cannot start the epoch ticker: {e}")))
}

/// Maps a finished guest call to a value or the most specific error.
fn outcome<T>(
    store: &mut Store<JobState>,
    result: wasmtime::Result<
        Result<T, v1::connector_world::creatorflow::plugin::types::PluginError>,
    >,
) -> Result<T, ErrorKind> {
    match result {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(reported)) => Err(ErrorKind::Reported(v1::reported(reported))),
        Err(e) => Err(store.data_mut().classify(&e)),
    }
}

fn plain<T>(store: &mut Store<JobState>, result: wasmtime::Result<T>) -> Result<T, ErrorKind> {
    result.map_err(|e| store.data_mut().classify(&e))
}

fn output_limits(plugin: &Loaded) -> v1::OutputLimits {
    v1::OutputLimits {
        max_records: plugin.shared.limits.max_output_records,
        max_bytes: plugin.shared.limits.max_output_bytes,
    }
}

/// Runs one call of `plugin` for `tenant` (a connection or workspace; empty for calls that belong to no
/// tenant) through an instance slot, the tenant's circuit breaker and the wall-time limit, and accounts for
/// the result.
#[instrument(name = "plugin.call", skip_all, fields(plugin = %plugin.shared.id, version = %plugin.shared.version, op = op, tenant = tenant))]
async fn guarded<T>(
    host: &PluginHost,
    plugin: &Loaded,
    tenant: &str,
    op: &'static str,
    call: impl Future<Output = Result<T, ErrorKind>>,
) -> Result<T, PluginError> {
    let shared = &plugin.shared;
    let fail = |kind| PluginError::new(shared.id.clone(), shared.version.clone(), kind);
    let queued = Instant::now();
    let slots = host.inner.instances.clone();
    let _slot = match tokio::time::timeout(shared.limits.wall(), slots.acquire_owned()).await {
        Ok(Ok(slot)) => slot,
        Ok(Err(_)) | Err(_) => {
            return Err(fail(ErrorKind::Busy {
                max_instances: host.inner.max_instances,
                waited_ms: u64::try_from(queued.elapsed().as_millis()).unwrap_or(u64::MAX),
            }));
        }
    };
    let admitted = plugin
        .breakers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(tenant.to_owned())
        .or_insert_with(|| Breaker::new(plugin.breaker_config))
        .admit(Instant::now());
    if let Err(rejected) = admitted {
        return Err(fail(ErrorKind::CircuitOpen {
            failures: rejected.failures,
            retry_in_ms: u64::try_from(rejected.retry_in.as_millis()).unwrap_or(u64::MAX),
        }));
    }
    plugin.calls.fetch_add(1, Ordering::Relaxed);
    let started = std::time::Instant::now();
    let result = match tokio::time::timeout(shared.limits.wall() + WALL_GRACE, call).await {
        Ok(r) => r,
        Err(_) => Err(ErrorKind::WallTimeout {
            limit_ms: shared.limits.wall_ms,
            during: "running plugin code".into(),
        }),
    };
    let mut breakers = plugin.breakers.lock().unwrap_or_else(|p| p.into_inner());
    let breaker = breakers
        .entry(tenant.to_owned())
        .or_insert_with(|| Breaker::new(plugin.breaker_config));
    match &result {
        Ok(_) => breaker.on_success(),
        Err(kind) if kind.is_fault() => {
            plugin.failures.fetch_add(1, Ordering::Relaxed);
            breaker.on_failure(Instant::now(), kind.to_string());
            tracing::warn!(
                code = kind.code(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "Plugin call failed: {kind}"
            );
        }
        Err(_) => breaker.on_neutral(),
    }
    // Healthy tenants keep no entry, so the map only holds tenants with a recent fault.
    if breaker.is_pristine() {
        breakers.remove(tenant);
    }
    drop(breakers);
    result.map_err(fail)
}

/// The status of the plugin's most troubled tenant: open before half-open before closed, then the most
/// consecutive failures.
fn worst_breaker(plugin: &Loaded, now: Instant) -> BreakerStatus {
    let breakers = plugin.breakers.lock().unwrap_or_else(|p| p.into_inner());
    breakers
        .values()
        .map(|b| b.status(now))
        .max_by_key(|s| (s.state.severity(), s.consecutive_failures))
        .unwrap_or_else(|| Breaker::new(plugin.breaker_config).status(now))
}

/// A loaded connector, ready for calls. Each call runs in a fresh instance.
#[derive(Clone)]
pub struct ConnectorHandle {
    host: PluginHost,
    plugin: Arc<Loaded>,
}

impl ConnectorHandle {
    async fn start(
        &self,
        call: CallContext,
    ) -> Result<(Store<JobState>, v1::ConnectorInstance), ErrorKind> {
        let mut store = self.host.new_store(&self.plugin, call);
        let Pre::V1Connector(pre) = &self.plugin.pre else {
            return Err(ErrorKind::NotLoaded);
        };
        match pre.instantiate_async(&mut store).await {
            Ok(instance) => Ok((store, instance)),
            Err(e) => {
                let kind = store.data_mut().classify(&e);
                Err(match kind {
                    ErrorKind::Trap { message } => ErrorKind::Instantiate { message },
                    other => other,
                })
            }
        }
    }

    pub async fn describe(&self) -> Result<model::ConnectorInfo, PluginError> {
        guarded(&self.host, &self.plugin, "", "describe", async {
            let (mut store, instance) = self.start(CallContext::default()).await?;
            let r = instance
                .creatorflow_plugin_connector_api()
                .call_describe(&mut store)
                .await;
            plain(&mut store, r).map(v1::connector_info_from_wit)
        })
        .await
    }

    /// One page of `entity` after `cursor`; records are validated before they are returned.
    pub async fn sync_page(
        &self,
        ctx: &CallContext,
        entity: model::Entity,
        cursor: Option<&str>,
    ) -> Result<model::Page, PluginError> {
        let limits = output_limits(&self.plugin);
        guarded(
            &self.host,
            &self.plugin,
            &ctx.connection,
            "sync_page",
            async {
                let config = v1::config_to_wit(&ctx.config);
                let (mut store, instance) = self.start(ctx.clone()).await?;
                let r = instance
                    .creatorflow_plugin_connector_api()
                    .call_sync_page(&mut store, v1::entity_to_wit(entity), cursor, &config)
                    .await;
                let page = outcome(&mut store, r)?;
                v1::page_from_wit(page, limits)
            },
        )
        .await
    }

    pub async fn verify_webhook(
        &self,
        ctx: &CallContext,
        request: &model::WebhookRequest,
    ) -> Result<model::WebhookVerdict, PluginError> {
        guarded(
            &self.host,
            &self.plugin,
            &ctx.connection,
            "verify_webhook",
            async {
                let config = v1::config_to_wit(&ctx.config);
                let (mut store, instance) = self.start(ctx.clone()).await?;
                let r = instance
                    .creatorflow_plugin_connector_api()
                    .call_verify_webhook(&mut store, &v1::webhook_to_wit(request), &config)
                    .await;
                outcome(&mut store, r).map(v1::verdict_from_wit)
            },
        )
        .await
    }

    pub async fn parse_webhook(
        &self,
        ctx: &CallContext,
        request: &model::WebhookRequest,
    ) -> Result<model::WebhookEvent, PluginError> {
        let limits = output_limits(&self.plugin);
        guarded(
            &self.host,
            &self.plugin,
            &ctx.connection,
            "parse_webhook",
            async {
                let config = v1::config_to_wit(&ctx.config);
                let (mut store, instance) = self.start(ctx.clone()).await?;
                let r = instance
                    .creatorflow_plugin_connector_api()
                    .call_parse_webhook(&mut store, &v1::webhook_to_wit(request), &config)
                    .await;
                let event = outcome(&mut store, r)?;
                v1::event_from_wit(event, limits)
            },
        )
        .await
    }

    pub async fn push_inventory(
        &self,
        ctx: &CallContext,
        updates: &[model::InventoryUpdate],
    ) -> Result<Vec<model::PushResult>, PluginError> {
        guarded(
            &self.host,
            &self.plugin,
            &ctx.connection,
            "push_inventory",
            async {
                let config = v1::config_to_wit(&ctx.config);
                let (mut store, instance) = self.start(ctx.clone()).await?;
                let r = instance
                    .creatorflow_plugin_connector_api()
                    .call_push_inventory(&mut store, &v1::updates_to_wit(updates), &config)
                    .await;
                let results = outcome(&mut store, r)?;
                v1::push_results_from_wit(results, updates)
            },
        )
        .await
    }
}

/// Per-job costs measured inside one job, for the benchmark example.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct JobTimings {
    /// Fresh store (WASI context, limits) plus instantiation from the `InstancePre`.
    pub instantiate: Duration,
    /// Calls of `update` with the probe batch on one accumulator: the cost of crossing the boundary.
    pub empty_calls: Vec<Duration>,
}

/// A loaded metric plugin, ready for evaluations. Each evaluation runs in a fresh instance.
#[derive(Clone)]
pub struct MetricHandle {
    host: PluginHost,
    plugin: Arc<Loaded>,
}

impl MetricHandle {
    async fn start(&self) -> Result<(Store<JobState>, v1::MetricInstance), ErrorKind> {
        let mut store = self.host.new_store(&self.plugin, CallContext::default());
        let Pre::V1Metric(pre) = &self.plugin.pre else {
            return Err(ErrorKind::NotLoaded);
        };
        match pre.instantiate_async(&mut store).await {
            Ok(instance) => Ok((store, instance)),
            Err(e) => Err(ErrorKind::Instantiate {
                message: store.data_mut().classify(&e).to_string(),
            }),
        }
    }

    /// Measures one job's instantiation and `calls` calls of `update(probe)` (pass a batch with zero rows
    /// for the boundary cost). Only for the benchmark example.
    #[doc(hidden)]
    pub async fn bench_job(
        &self,
        calls: usize,
        probe: &model::Batch,
    ) -> Result<JobTimings, PluginError> {
        guarded(&self.host, &self.plugin, "", "bench", async {
            let started = std::time::Instant::now();
            let (mut store, instance) = self.start().await?;
            let instantiate = started.elapsed();
            let api = instance.creatorflow_plugin_metric_api();
            let r = api.call_start(&mut store, &[]).await;
            let accumulator = outcome(&mut store, r)?;
            let empty = v1::batch_to_wit(probe)?;
            let mut empty_calls = Vec::with_capacity(calls);
            for _ in 0..calls {
                let t = std::time::Instant::now();
                let r = api
                    .accumulator()
                    .call_update(&mut store, accumulator, &empty)
                    .await;
                outcome(&mut store, r)?;
                empty_calls.push(t.elapsed());
            }
            Ok(JobTimings {
                instantiate,
                empty_calls,
            })
        })
        .await
    }

    pub async fn describe(&self) -> Result<model::MetricInfo, PluginError> {
        guarded(&self.host, &self.plugin, "", "describe", async {
            let (mut store, instance) = self.start().await?;
            let r = instance
                .creatorflow_plugin_metric_api()
                .call_describe(&mut store)
                .await;
            plain(&mut store, r).map(v1::metric_info_from_wit)
        })
        .await
    }

    /// Feeds `batches` to a fresh accumulator and returns its value. Batches are checked first (lengths,
    /// unique names, finite floats) and the value after (finite, known currencies).
    /// `tenant` (the workspace) has its own circuit breaker.
    pub async fn evaluate(
        &self,
        tenant: &str,
        params: &[(String, String)],
        batches: &[model::Batch],
    ) -> Result<model::MetricValue, PluginError> {
        self.run(tenant, params, Batches::Slice(batches.iter()))
            .await
    }

    /// [`MetricHandle::evaluate`] over batches that arrive while the plugin runs, so the caller never holds
    /// more than the channel's few batches in memory. The value is computed when the sender is dropped; a
    /// caller whose producer failed must discard it.
    pub async fn evaluate_stream(
        &self,
        tenant: &str,
        params: &[(String, String)],
        batches: tokio::sync::mpsc::Receiver<model::Batch>,
    ) -> Result<model::MetricValue, PluginError> {
        self.run(tenant, params, Batches::Channel(batches)).await
    }

    async fn run(
        &self,
        tenant: &str,
        params: &[(String, String)],
        mut batches: Batches<'_>,
    ) -> Result<model::MetricValue, PluginError> {
        guarded(&self.host, &self.plugin, tenant, "evaluate", async {
            let (mut store, instance) = self.start().await?;
            let api = instance.creatorflow_plugin_metric_api();
            let r = api.call_start(&mut store, &v1::config_to_wit(params)).await;
            let accumulator = outcome(&mut store, r)?;
            while let Some(batch) = batches.next().await {
                let batch = v1::batch_to_wit(&batch)?;
                let r = api
                    .accumulator()
                    .call_update(&mut store, accumulator, &batch)
                    .await;
                outcome(&mut store, r)?;
            }
            let r = api.accumulator().call_finish(&mut store, accumulator).await;
            let value = outcome(&mut store, r)?;
            // The store is dropped right after; a failing destructor changes nothing.
            let _ = accumulator.resource_drop_async(&mut store).await;
            v1::metric_value_from_wit(value)
        })
        .await
    }
}

/// Where a metric evaluation's batches come from.
enum Batches<'a> {
    Slice(std::slice::Iter<'a, model::Batch>),
    Channel(tokio::sync::mpsc::Receiver<model::Batch>),
}

impl Batches<'_> {
    async fn next(&mut self) -> Option<std::borrow::Cow<'_, model::Batch>> {
        match self {
            Batches::Slice(it) => it.next().map(std::borrow::Cow::Borrowed),
            Batches::Channel(rx) => rx.recv().await.map(std::borrow::Cow::Owned),
        }
    }
}
