//! The daemon: open storage, make sure an operator can get in, serve the API, stop cleanly on a signal.

use crate::config::{Config, LogFormat, Synchronous};
use anyhow::Context as _;
use creatorflow_api::{ApiState, PageLimits, SchemaOptions};
use creatorflow_core::{EventBus, Role};
use creatorflow_ingest::Ingest;
use creatorflow_plugin_host::{HostConfig, PluginHost, PluginManager, PluginRegistry};
use creatorflow_store::{CredentialCipher, DbOptions, Store, TokenScope};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::web::{LocalAddr, RemoteAddr};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Operator commands log only warnings unless the filter was configured: their output is the result.
pub fn init_cli_tracing(config: &Config) {
    let quiet = config.log.filter == crate::config::LogConfig::default().filter;
    init_tracing_with(config, if quiet { "warn" } else { &config.log.filter });
}

pub fn init_tracing(config: &Config) {
    init_tracing_with(config, &config.log.filter);
}

fn init_tracing_with(config: &Config, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = match config.log.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests, repeated commands) is harmless.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.with_target(false).try_init()
    };
}

/// Opens the database with the configured options, creating the data directory and the credentials key.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&config.server.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.server.data_dir.display()
        )
    })?;
    let cipher = match &config.security.credentials_key {
        Some(key) => CredentialCipher::from_base64(key)?,
        None => CredentialCipher::load_or_create(&config.credentials_key_path())?,
    };
    let db = &config.database;
    let opts = DbOptions {
        url: config.database_url(),
        synchronous: match db.synchronous {
            Synchronous::Off => creatorflow_store::Synchronous::Off,
            Synchronous::Normal => creatorflow_store::Synchronous::Normal,
            Synchronous::Full => creatorflow_store::Synchronous::Full,
            Synchronous::Extra => creatorflow_store::Synchronous::Extra,
        },
        busy_timeout: Duration::from_millis(db.busy_timeout_ms),
        max_connections: db.max_connections,
        min_connections: db.min_connections,
        connect_timeout: Duration::from_secs(db.connect_timeout_secs),
    };
    let store = Store::connect(&opts, cipher)
        .await
        .with_context(|| format!("cannot open the database at {}", redact(&opts.url)))?;
    Ok(store)
}

/// Hides a password in a database URL before it reaches a log or an error message.
/// The URL with every credential masked: the password of the userinfo and the value of any query parameter
/// that carries one (`password`, `sslpassword`, `passfile`, `sslkey`, `token`, `secret`, …).
fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = match (base.find("://"), base.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &base[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &base[..s + 3], &base[at..]),
                None => base.to_owned(),
            }
        }
        _ => base.to_owned(),
    };
    let Some(query) = query else { return base };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if is_secret_param(key) => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", masked.join("&"))
}

fn is_secret_param(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["pass", "pwd", "secret", "token", "sslkey", "key"]
        .iter()
        .any(|word| key.contains(word))
}

/// On a first start with no usable token, writes a global admin token to `<data-dir>/admin.token` so a
/// local operator is never locked out. The secret goes to that 0600 file only, never to the log.
async fn bootstrap(config: &Config, store: &Store) -> anyhow::Result<()> {
    if store.count_active_tokens().await? == 0 && config.auth.bootstrap_admin_token {
        let path = config.server.data_dir.join("admin.token");
        let token = store
            .create_token("bootstrap-admin", Role::Admin, &TokenScope::Global)
            .await?;
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot replace the stale {}", path.display()))?;
        }
        creatorflow_store::crypto::write_private_file(
            &path,
            format!("{}\n", token.secret).as_bytes(),
        )
        .with_context(|| format!("cannot write {}", path.display()))?;
        tracing::info!(path = %path.display(), token_id = %token.id, "Wrote a global admin token");
    }
    ensure_default_workspace(store).await
}

/// A fresh install starts with one workspace so every command is useful before any setup.
async fn ensure_default_workspace(store: &Store) -> anyhow::Result<()> {
    if store.list_workspace_count().await? == 0 {
        store.create_default_workspace().await?;
        tracing::info!(slug = "default", "Created the default workspace");
    }
    Ok(())
}

/// Storage ready for an operator command: logging, database open, migrations applied, default workspace.
pub async fn prepare_store(config: &Config) -> anyhow::Result<Store> {
    init_cli_tracing(config);
    let store = open_store(config).await?;
    store.migrate().await.context("migrations failed")?;
    run_maintenance(&Ingest::new(store.clone(), EventBus::default())).await?;
    ensure_default_workspace(&store).await?;
    Ok(store)
}

/// Work migrations left for the write path (e.g. rebuilding rollups whose shape changed), before serving.
pub async fn run_maintenance(ingest: &Ingest) -> anyhow::Result<()> {
    let started = Instant::now();
    let done = ingest
        .run_maintenance()
        .await
        .context("maintenance after migration failed")?;
    for task in done {
        tracing::info!(
            task,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Maintenance task done"
        );
    }
    Ok(())
}

fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets(&[
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ])?
        .install_recorder()?;
    metrics::gauge!("creatorflow_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(handle)
}

pub async fn run(config: Config) -> anyhow::Result<()> {
    let started = Instant::now();
    init_tracing(&config);
    let store = open_store(&config).await?;
    if config.database.migrate_on_start {
        store.migrate().await.context("migrations failed")?;
    }
    let pending = store.pending_migrations().await?;
    match pending {
        0 => bootstrap(&config, &store).await?,
        pending => tracing::warn!(
            pending,
            "Migrations are pending and database.migrate_on_start is off; /readyz reports not ready until `creatorflow migrate` runs"
        ),
    }
    let metrics = install_metrics()?;
    let bus = EventBus::default();
    let g = &config.graphql;
    let bus_for_push = bus.clone();
    let ingest = Ingest::new(store.clone(), bus);
    if pending == 0 {
        run_maintenance(&ingest).await?;
    }
    if store.backend() == creatorflow_store::Backend::Sqlite {
        spawn_checkpointer(store.clone());
    }
    if pending == 0 {
        spawn_forecaster(store.clone());
    }
    let plugins = start_plugins(&config, &store)?;
    let options = SchemaOptions {
        max_depth: g.max_depth,
        max_complexity: g.max_complexity,
        max_root_fields: g.max_root_fields,
        page: PageLimits {
            default: g.default_page_size,
            max: g.max_page_size,
        },
        introspection: g.introspection,
        suggestions: g.suggestions,
    };
    let sync = creatorflow_sync::SyncEngine::new(
        ingest.clone(),
        plugins.host().clone(),
        sync_settings(&config),
    );
    match store.close_interrupted_runs().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            runs = n,
            "Sync runs interrupted by the last stop; they resume from their cursors"
        ),
        Err(e) => tracing::warn!(error = %e, "Cannot close interrupted sync runs"),
    }
    if config.sync.push_stock {
        sync.spawn_stock_push(
            &bus_for_push,
            Duration::from_millis(config.sync.push_debounce_ms),
        );
    }
    if config.sync.scheduled {
        sync.spawn_scheduler(
            Duration::from_secs(config.sync.interval_secs),
            Duration::from_secs(config.sync.interval_secs.clamp(1, 5)),
        );
    }
    let schema = creatorflow_api::build_schema(ingest, plugins, sync.clone(), &options);
    let state = Arc::new(ApiState {
        schema,
        store: store.clone(),
        metrics,
        graphiql: g.graphiql,
        request_timeout: Duration::from_secs(config.server.request_timeout_secs.max(1)),
        max_body_bytes: usize::try_from(g.max_body_bytes).unwrap_or(usize::MAX),
        document_limits: options.document_limits(),
        ws: creatorflow_api::WsLimits {
            sockets: Arc::new(tokio::sync::Semaphore::new(g.max_websockets)),
            max_operations: g.max_operations_per_socket,
            init_timeout: Duration::from_secs(g.websocket_init_timeout_secs),
            token_recheck: Duration::from_secs(g.websocket_token_recheck_secs),
            max_message_bytes: usize::try_from(g.max_body_bytes).unwrap_or(usize::MAX),
        },
        sync,
        max_webhook_bytes: usize::try_from(config.sync.webhook_max_body_bytes)
            .unwrap_or(usize::MAX),
    });
    // Watch the signals before announcing readiness, so a supervisor's early SIGTERM is never lost.
    let stop = shutdown_signal()?;
    let acceptor = TcpListener::bind(config.server.listen)
        .into_acceptor()
        .await
        .map(NoDelay)
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    let addr = acceptor
        .local_addr()
        .into_iter()
        .find_map(|a| a.as_socket_addr().copied())
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(
        addr = %addr,
        backend = store.backend().as_str(),
        data_dir = %config.server.data_dir.display(),
        startup_ms = started.elapsed().as_millis() as u64,
        "Listening"
    );
    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    poem::Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(creatorflow_api::routes(state), stop, Some(grace))
        .await?;
    tracing::info!("Stopped accepting; closing the database");
    store.close().await?;
    tracing::info!("Shut down cleanly");
    Ok(())
}

/// The sync engine's settings from the `[sync]` section.
pub fn sync_settings(config: &Config) -> creatorflow_sync::SyncSettings {
    creatorflow_sync::SyncSettings {
        backfill_days: config.sync.backfill_days,
        max_attempts: config.sync.max_attempts,
        retry_base: Duration::from_millis(config.sync.retry_base_ms),
    }
}

/// Accepts TCP connections with Nagle's algorithm off, so a response or subscription message goes out when
/// written instead of waiting for the peer's delayed acknowledgement of the previous one (up to 40 ms on
/// Linux).
struct NoDelay(TcpAcceptor);

impl Acceptor for NoDelay {
    type Io = tokio::net::TcpStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.0.local_addr()
    }

    async fn accept(
        &mut self,
    ) -> std::io::Result<(Self::Io, LocalAddr, RemoteAddr, poem::http::uri::Scheme)> {
        let (io, local, remote, scheme) = self.0.accept().await?;
        if let Err(e) = io.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot switch off Nagle's algorithm on a connection");
        }
        Ok((io, local, remote, scheme))
    }
}

/// Checkpoints the SQLite WAL every second in the background, so commits do not stall on it, and refreshes
/// the planner's statistics every hour as the data grows.
/// Keeps every workspace's stored forecasts current: each hour, forecasts a day old, or made before the data
/// last changed and at least an hour old, are made again.
fn spawn_forecaster(store: Store) {
    tokio::spawn(async move {
        let analytics = creatorflow_analytics::Analytics::new(store.db().clone());
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Ok(workspaces) = store.all_workspaces().await else {
                continue;
            };
            for ws in workspaces {
                let Ok(tz) = creatorflow_core::Timezone::parse(&ws.timezone) else {
                    continue;
                };
                let started = Instant::now();
                match creatorflow_analytics::forecasts::refresh_if_due(&analytics, ws.id, tz.tz())
                    .await
                {
                    Ok(Some(r)) => tracing::info!(
                        workspace = %ws.slug,
                        series = r.series,
                        failed = r.failed,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "Forecasts refreshed"
                    ),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(workspace = %ws.slug, error = %e, "Forecast refresh failed")
                    }
                }
            }
        }
    });
}

fn spawn_checkpointer(store: Store) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ticks: u64 = 0;
        loop {
            tick.tick().await;
            ticks = ticks.wrapping_add(1);
            if let Err(e) = store.checkpoint_wal().await {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
            if ticks.is_multiple_of(3600)
                && let Err(e) = store.optimize().await
            {
                tracing::warn!(error = %e, "Refreshing planner statistics failed");
            }
        }
    });
}

/// The plugin host and registry of the daemon. Bundled first-party plugins are installed and every enabled
/// plugin loaded in the background, so a slow first compile never delays readiness; the API shows each
/// plugin's state meanwhile.
fn start_plugins(config: &Config, store: &Store) -> anyhow::Result<PluginManager> {
    let manager = plugin_manager(config, store)?;
    let bundled = config
        .plugins
        .bundled_dir
        .clone()
        .or_else(|| Some(std::env::current_exe().ok()?.parent()?.join("plugins")));
    let every = Duration::from_secs(config.plugins.reload_interval_secs.max(1));
    let m = manager.clone();
    tokio::spawn(async move {
        if let Some(dir) = bundled {
            m.install_bundled(&dir).await;
        }
        if let Err(e) = m.reconcile().await {
            tracing::error!(error = %e, "Plugins could not be loaded");
        }
        m.spawn_reconcile_loop(every);
    });
    Ok(manager)
}

/// A plugin host configured from `[plugins]`, with components under `<data-dir>/plugins` and compiled
/// code cached in `<data-dir>/plugin-cache`.
pub fn plugin_manager(config: &Config, store: &Store) -> anyhow::Result<PluginManager> {
    let p = &config.plugins;
    let data = &config.server.data_dir;
    let mut host_config = HostConfig {
        cache_dir: data.join("plugin-cache"),
        dev_mode: config.server.dev_mode,
        max_instances: p.max_instances,
        ..HostConfig::default()
    };
    host_config.caps.memory_mib = p.max_memory_mib;
    host_config.caps.cpu_ms = p.max_cpu_ms;
    host_config.caps.wall_ms = p.max_wall_ms;
    let d = &mut host_config.defaults;
    d.memory_mib = d.memory_mib.min(p.max_memory_mib);
    d.cpu_ms = d.cpu_ms.min(p.max_cpu_ms);
    d.wall_ms = d.wall_ms.min(p.max_wall_ms);
    let host = PluginHost::new(host_config).context("cannot start the plugin host")?;
    let registry = PluginRegistry::new(store.db().clone(), data.join("plugins"));
    Ok(PluginManager::new(registry, host))
}

fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!(signal = "SIGTERM", "Shutting down"),
            _ = int.recv() => tracing::info!(signal = "SIGINT", "Shutting down"),
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            super::redact("postgres://cf:hunter2@db:5432/cf"),
            "postgres://cf:***@db:5432/cf"
        );
        assert_eq!(super::redact("postgres://cf@db/cf"), "postgres://cf@db/cf");
        assert_eq!(super::redact("sqlite://data/x.db"), "sqlite://data/x.db");
        for (url, shown) in [
            (
                "postgres://cf@db/cf?password=hunter2",
                "postgres://cf@db/cf?password=***",
            ),
            (
                "postgres://db/cf?user=cf&PASSWORD=hunter2&sslmode=require",
                "postgres://db/cf?user=cf&PASSWORD=***&sslmode=require",
            ),
            (
                "postgres://cf:pw@db/cf?sslpassword=k3y&sslkey=/k.pem&application_name=x",
                "postgres://cf:***@db/cf?sslpassword=***&sslkey=***&application_name=x",
            ),
            ("sqlite://data/x.db?mode=rwc", "sqlite://data/x.db?mode=rwc"),
        ] {
            let out = super::redact(url);
            assert_eq!(out, shown);
            assert!(!out.contains("hunter2") && !out.contains("k3y"));
        }
    }
}
