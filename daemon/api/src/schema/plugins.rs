//! Plugins in the API: administration (global admins) and custom metrics computed by metric plugins over a
//! workspace's data (any reader of the workspace).

use super::types::Money;
use crate::auth::{principal, require_global_admin};
use crate::error::gql_error;
use async_graphql::{Context, Enum, ErrorExtensions, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use creatorflow_core::ErrorCode;
use creatorflow_plugin_host::model::{
    Batch, Column, ColumnData, ColumnType, InputSpec, MetricInfo, Scalar, Unit,
};
use creatorflow_plugin_host::{
    BreakerState, Grant, LoadError, LoadState, PluginError, PluginKind as HostKind, PluginManager,
    PluginView, RegistryError,
};
use creatorflow_store::Store;
use creatorflow_store::metric_inputs::{self as inputs, ColumnKind, Grain, InputTable, Values};
use std::path::PathBuf;

/// Rows per batch handed to a metric plugin: large enough to amortise the call, small enough to stay well
/// inside the plugin's memory limit.
const BATCH_ROWS: usize = 4096;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PluginKind {
    Connector,
    Metric,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PluginState {
    /// Loaded and callable.
    Loaded,
    /// Installed, switched off.
    Disabled,
    /// Enabled but not loadable; see `loadError`.
    Failed,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CircuitState {
    /// Calls go through.
    Closed,
    /// Calls fail fast until `openUntil`.
    Open,
    /// One trial call decides whether the plugin is healthy again.
    HalfOpen,
}

/// The per-plugin circuit breaker: repeated faults pause the plugin with a doubling backoff.
#[derive(SimpleObject)]
pub struct PluginBreaker {
    pub state: CircuitState,
    pub consecutive_failures: u32,
    /// Times the breaker opened since the last success.
    pub trips: u32,
    pub open_until: Option<DateTime<Utc>>,
    pub retry_in_ms: Option<u64>,
    pub last_error: Option<String>,
}

/// Limits in force for a loaded plugin: its manifest's, capped by the daemon's configuration.
#[derive(SimpleObject)]
pub struct PluginLimits {
    pub memory_mib: u64,
    pub cpu_ms: u64,
    pub wall_ms: u64,
    pub max_requests: u32,
    pub max_response_bytes: u64,
    pub max_output_records: u32,
    pub max_output_bytes: u64,
}

pub struct Plugin(PluginView);

#[Object]
impl Plugin {
    async fn id(&self) -> &str {
        self.0.installed.id()
    }
    async fn kind(&self) -> PluginKind {
        match self.0.installed.manifest.kind {
            HostKind::Connector => PluginKind::Connector,
            HostKind::Metric => PluginKind::Metric,
        }
    }
    async fn version(&self) -> &str {
        &self.0.installed.manifest.version
    }
    /// Plugin API version the component was built for.
    async fn api_version(&self) -> &str {
        &self.0.installed.manifest.api
    }
    async fn sha256(&self) -> &str {
        &self.0.installed.sha256
    }
    async fn enabled(&self) -> bool {
        self.0.installed.enabled
    }
    async fn state(&self) -> PluginState {
        match self.0.state {
            LoadState::Loaded => PluginState::Loaded,
            LoadState::Disabled => PluginState::Disabled,
            LoadState::Failed(_) => PluginState::Failed,
        }
    }
    /// Why an enabled plugin is not loaded.
    async fn load_error(&self) -> Option<&str> {
        match &self.0.state {
            LoadState::Failed(m) => Some(m),
            _ => None,
        }
    }
    /// Origins the manifest asks to fetch; effective only once granted.
    async fn requested_hosts(&self) -> &[String] {
        &self.0.installed.manifest.capabilities.hosts
    }
    async fn requested_secrets(&self) -> &[String] {
        &self.0.installed.manifest.capabilities.secrets
    }
    async fn granted_hosts(&self) -> Vec<&str> {
        self.grants(|g| match g {
            Grant::Host(h) => Some(h),
            Grant::Secret(_) => None,
        })
    }
    async fn granted_secrets(&self) -> Vec<&str> {
        self.grants(|g| match g {
            Grant::Secret(s) => Some(s),
            Grant::Host(_) => None,
        })
    }
    /// Limits in force, while loaded.
    async fn limits(&self) -> Option<PluginLimits> {
        self.0.status.as_ref().map(|s| PluginLimits {
            memory_mib: s.limits.memory_mib,
            cpu_ms: s.limits.cpu_ms,
            wall_ms: s.limits.wall_ms,
            max_requests: s.limits.max_requests,
            max_response_bytes: s.limits.max_response_bytes,
            max_output_records: s.limits.max_output_records,
            max_output_bytes: s.limits.max_output_bytes,
        })
    }
    /// Calls since the plugin was loaded.
    async fn calls(&self) -> u64 {
        self.0.status.as_ref().map_or(0, |s| s.calls)
    }
    async fn failures(&self) -> u64 {
        self.0.status.as_ref().map_or(0, |s| s.failures)
    }
    async fn breaker(&self) -> Option<PluginBreaker> {
        self.0.status.as_ref().map(|s| {
            let b = &s.breaker;
            PluginBreaker {
                state: match b.state {
                    BreakerState::Closed => CircuitState::Closed,
                    BreakerState::Open => CircuitState::Open,
                    BreakerState::HalfOpen => CircuitState::HalfOpen,
                },
                consecutive_failures: b.consecutive_failures,
                trips: b.trips,
                open_until: b.open_until,
                retry_in_ms: b.retry_in_ms,
                last_error: b.last_error.clone(),
            }
        })
    }
    /// What a loaded metric plugin computes and needs.
    async fn metric(&self) -> Option<CustomMetricInfo> {
        self.0.metric.clone().map(CustomMetricInfo)
    }
    async fn installed_at(&self) -> DateTime<Utc> {
        self.0.installed.installed_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.installed.updated_at
    }
}

impl Plugin {
    fn grants<'a>(&'a self, pick: impl Fn(&'a Grant) -> Option<&'a String>) -> Vec<&'a str> {
        self.0
            .installed
            .grants
            .iter()
            .filter_map(pick)
            .map(String::as_str)
            .collect()
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum MetricUnit {
    Count,
    Ratio,
    Percent,
    Money,
    Seconds,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum InputType {
    Int64,
    Float64,
    Text,
    Boolean,
}

/// The rows a custom metric is fed: one per local day (and currency), per variant, or per order.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum MetricGrain {
    Day,
    Variant,
    Order,
}

impl From<MetricGrain> for Grain {
    fn from(g: MetricGrain) -> Self {
        match g {
            MetricGrain::Day => Grain::Day,
            MetricGrain::Variant => Grain::Variant,
            MetricGrain::Order => Grain::Order,
        }
    }
}

impl From<Grain> for MetricGrain {
    fn from(g: Grain) -> Self {
        match g {
            Grain::Day => MetricGrain::Day,
            Grain::Variant => MetricGrain::Variant,
            Grain::Order => MetricGrain::Order,
        }
    }
}

#[derive(SimpleObject)]
pub struct MetricInput {
    pub name: String,
    #[graphql(name = "type")]
    pub kind: InputType,
    pub required: bool,
    pub description: String,
}

/// A metric plugin as a user picks it.
pub struct CustomMetricInfo(MetricInfo);

#[Object]
impl CustomMetricInfo {
    /// Plugin id; pass it as `plugin` to `customMetric`.
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn version(&self) -> &str {
        &self.0.version
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn unit(&self) -> MetricUnit {
        unit(self.0.unit)
    }
    async fn inputs(&self) -> Vec<MetricInput> {
        self.0
            .inputs
            .iter()
            .map(|i| MetricInput {
                name: i.name.clone(),
                kind: match i.kind {
                    ColumnType::Int64 => InputType::Int64,
                    ColumnType::Float64 => InputType::Float64,
                    ColumnType::Text => InputType::Text,
                    ColumnType::Boolean => InputType::Boolean,
                },
                required: i.required,
                description: i.description.clone(),
            })
            .collect()
    }
    /// Grains whose rows carry every required input, best first; the first is the default.
    async fn grains(&self) -> Vec<MetricGrain> {
        feasible_grains(&self.0.inputs)
            .into_iter()
            .map(MetricGrain::from)
            .collect()
    }
}

fn unit(u: Unit) -> MetricUnit {
    match u {
        Unit::Count => MetricUnit::Count,
        Unit::Ratio => MetricUnit::Ratio,
        Unit::Percent => MetricUnit::Percent,
        Unit::Money => MetricUnit::Money,
        Unit::Seconds => MetricUnit::Seconds,
        Unit::Other => MetricUnit::Other,
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum MetricValueKind {
    /// No value (e.g. nothing to compute over).
    Empty,
    Integer,
    Number,
    Money,
}

/// One value a metric produced. Money is exact; `number` is for ratios and other non-money quantities.
#[derive(SimpleObject)]
pub struct MetricValue {
    pub kind: MetricValueKind,
    pub integer: Option<i64>,
    pub number: Option<f64>,
    pub money: Option<Money>,
    /// The value as text, for display.
    pub text: String,
}

impl From<&Scalar> for MetricValue {
    fn from(s: &Scalar) -> Self {
        let empty = MetricValue {
            kind: MetricValueKind::Empty,
            integer: None,
            number: None,
            money: None,
            text: String::new(),
        };
        match s {
            Scalar::Empty => empty,
            Scalar::Int64(v) => MetricValue {
                kind: MetricValueKind::Integer,
                integer: Some(*v),
                text: v.to_string(),
                ..empty
            },
            Scalar::Float64(v) => MetricValue {
                kind: MetricValueKind::Number,
                number: Some(*v),
                text: v.to_string(),
                ..empty
            },
            Scalar::Money(m) => MetricValue {
                kind: MetricValueKind::Money,
                text: m.to_string(),
                money: Some(Money::from_minor(m.minor, m.currency.code())),
                ..empty
            },
        }
    }
}

#[derive(SimpleObject)]
pub struct MetricPart {
    pub label: String,
    pub value: MetricValue,
}

#[derive(SimpleObject)]
pub struct CustomMetricResult {
    pub plugin: String,
    pub version: String,
    pub name: String,
    pub unit: MetricUnit,
    pub grain: MetricGrain,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Rows fed to the plugin.
    pub rows: u64,
    pub value: MetricValue,
    pub breakdown: Vec<MetricPart>,
}

#[derive(InputObject)]
pub struct MetricParamInput {
    pub name: String,
    pub value: String,
}

/// The custom-metric fields of `Workspace`.
pub fn list_metrics(ctx: &Context<'_>) -> Result<Vec<CustomMetricInfo>> {
    let manager = ctx.data::<PluginManager>()?;
    Ok(manager
        .metrics()
        .into_iter()
        .map(CustomMetricInfo)
        .collect())
}

pub struct MetricRequest {
    pub workspace_id: i64,
    pub timezone: String,
    pub plugin: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub grain: Option<MetricGrain>,
    pub params: Vec<MetricParamInput>,
}

/// Loads the rows of the chosen grain and feeds them to the plugin. Reads only: a failing plugin changes
/// nothing.
pub async fn evaluate(ctx: &Context<'_>, req: MetricRequest) -> Result<CustomMetricResult> {
    // Far-off dates (year -262143) cannot be converted to a time zone: refuse them before any conversion.
    for (field, t) in [("from", req.from), ("to", req.to)] {
        creatorflow_core::bounds::timestamp(field, t).map_err(|e| {
            gql_error(ErrorCode::BadUserInput, format!("`{field}`: {}", e.message))
                .extend_with(|_, ext| ext.set("field", field))
        })?;
    }
    if req.from >= req.to {
        return Err(gql_error(
            ErrorCode::BadUserInput,
            "`from` must be before `to`",
        ));
    }
    let manager = ctx.data::<PluginManager>()?;
    let info = manager.metric_info(&req.plugin).ok_or_else(|| {
        gql_error(
            ErrorCode::NotFound,
            format!(
                "no loaded metric plugin `{}`; see `customMetrics` for the available ones",
                req.plugin
            ),
        )
    })?;
    let grain = choose_grain(&info, req.grain.map(Grain::from))?;
    let tz = creatorflow_core::Timezone::parse(&req.timezone).map_err(crate::error::internal)?;
    let store = ctx.data::<Store>()?;
    let range = inputs::Range {
        from: req.from,
        to: req.to,
    };
    let params: Vec<(String, String)> = req.params.into_iter().map(|p| (p.name, p.value)).collect();
    let metric = manager.host().metric(&req.plugin).map_err(from_plugin)?;
    // Rows are read a page at a time and handed to the plugin while it runs: memory stays at a few batches
    // whatever the range, and a range beyond `MAX_METRIC_ROWS` is refused instead of read.
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let loader = tokio::spawn(feed_inputs(
        store.db().clone(),
        req.workspace_id,
        tz,
        range,
        grain,
        info.inputs.clone(),
        tx,
    ));
    let value = metric
        .evaluate_stream(&req.workspace_id.to_string(), &params, rx)
        .await;
    let rows = match loader.await.map_err(crate::error::internal)? {
        Ok(rows) => rows,
        Err(FeedError::TooManyRows) => {
            return Err(gql_error(
                ErrorCode::BadUserInput,
                format!(
                    "more than {MAX_METRIC_ROWS} rows per {} in this range; narrow `from`/`to` or choose a coarser `grain`",
                    grain.as_str()
                ),
            ));
        }
        Err(FeedError::Db(e)) => return Err(crate::error::internal(e)),
    };
    let value = value.map_err(from_plugin)?;
    Ok(CustomMetricResult {
        plugin: info.id.clone(),
        version: info.version.clone(),
        name: info.name.clone(),
        unit: unit(info.unit),
        grain: grain.into(),
        from: req.from,
        to: req.to,
        rows,
        value: MetricValue::from(&value.value),
        breakdown: value
            .breakdown
            .iter()
            .map(|(label, v)| MetricPart {
                label: label.clone(),
                value: v.into(),
            })
            .collect(),
    })
}

fn kind_matches(want: ColumnType, have: ColumnKind) -> bool {
    matches!(
        (want, have),
        (ColumnType::Int64, ColumnKind::Int64)
            | (ColumnType::Text, ColumnKind::Text)
            | (ColumnType::Boolean, ColumnKind::Boolean)
    )
}

fn provides(grain: Grain, input: &InputSpec) -> bool {
    inputs::columns(grain)
        .iter()
        .any(|c| c.name == input.name && kind_matches(input.kind, c.kind))
}

/// Grains that carry every required input, ordered by how many optional inputs they also carry; ties keep
/// the order day, variant, order.
fn feasible_grains(wanted: &[InputSpec]) -> Vec<Grain> {
    let mut scored: Vec<(usize, Grain)> = Grain::ALL
        .into_iter()
        .filter(|g| {
            wanted
                .iter()
                .filter(|i| i.required)
                .all(|i| provides(*g, i))
        })
        .map(|g| (wanted.iter().filter(|i| provides(g, i)).count(), g))
        .collect();
    scored.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    scored.into_iter().map(|(_, g)| g).collect()
}

fn choose_grain(info: &MetricInfo, asked: Option<Grain>) -> Result<Grain> {
    let feasible = feasible_grains(&info.inputs);
    let missing = |g: Grain| -> Vec<String> {
        info.inputs
            .iter()
            .filter(|i| i.required && !provides(g, i))
            .map(|i| format!("{} ({:?})", i.name, i.kind))
            .collect()
    };
    match asked {
        Some(g) if feasible.contains(&g) => Ok(g),
        Some(g) => Err(gql_error(
            ErrorCode::BadUserInput,
            format!(
                "rows per {} lack the required input(s) {} of `{}`; grains that can feed it: {}",
                g.as_str(),
                missing(g).join(", "),
                info.id,
                names(&feasible)
            ),
        )),
        None => feasible.first().copied().ok_or_else(|| {
            gql_error(
                ErrorCode::BadUserInput,
                format!(
                    "no grain provides every required input of `{}` (missing per day: {}; per variant: {}; per order: {})",
                    info.id,
                    missing(Grain::Day).join(", "),
                    missing(Grain::Variant).join(", "),
                    missing(Grain::Order).join(", ")
                ),
            )
        }),
    }
}

fn names(grains: &[Grain]) -> String {
    if grains.is_empty() {
        return "none".into();
    }
    grains
        .iter()
        .map(|g| g.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Keeps the columns the plugin declared and cuts the rows into batches.
/// Most rows one `customMetric` call reads (a few years of a large shop's orders).
pub const MAX_METRIC_ROWS: u64 = 5_000_000;
/// Rows read from the database per page.
const PAGE_ROWS: u64 = 20_000;

enum FeedError {
    TooManyRows,
    Db(sea_orm::DbErr),
}

/// Reads the inputs page by page and sends them as batches; stops early when the plugin stopped listening.
async fn feed_inputs(
    db: sea_orm::DatabaseConnection,
    workspace_id: i64,
    tz: creatorflow_core::Timezone,
    range: inputs::Range,
    grain: Grain,
    wanted: Vec<InputSpec>,
    tx: tokio::sync::mpsc::Sender<Batch>,
) -> Result<u64, FeedError> {
    let mut after = None;
    let mut rows = 0u64;
    loop {
        let (table, next) =
            inputs::load_page(&db, workspace_id, tz, range, grain, after, PAGE_ROWS)
                .await
                .map_err(FeedError::Db)?;
        rows += table.rows as u64;
        if rows > MAX_METRIC_ROWS {
            return Err(FeedError::TooManyRows);
        }
        for batch in to_batches(&wanted, table) {
            if tx.send(batch).await.is_err() {
                return Ok(rows);
            }
        }
        match next {
            Some(key) => after = Some(key),
            None => return Ok(rows),
        }
    }
}

fn to_batches(wanted: &[InputSpec], table: InputTable) -> Vec<Batch> {
    let columns: Vec<(String, Values)> = table
        .columns
        .into_iter()
        .filter(|(name, _)| wanted.iter().any(|i| i.name == *name))
        .map(|(name, values)| (name.to_owned(), values))
        .collect();
    let mut batches = Vec::new();
    let mut start = 0;
    while start < table.rows {
        let end = (start + BATCH_ROWS).min(table.rows);
        let cols = columns
            .iter()
            .map(|(name, values)| {
                let data = match values {
                    Values::Int64(v) => ColumnData::Int64(v[start..end].to_vec()),
                    Values::Text(v) => ColumnData::Text(v[start..end].to_vec()),
                    Values::Boolean(v) => ColumnData::Boolean(v[start..end].to_vec()),
                };
                Column::new(name.clone(), data)
            })
            .collect();
        batches.push(Batch {
            rows: u32::try_from(end - start).unwrap_or(u32::MAX),
            columns: cols,
        });
        start = end;
    }
    batches
}

/// A failed plugin call: `PLUGIN_FAILED` with the cause's own code, the plugin and its version.
pub fn from_plugin(e: PluginError) -> async_graphql::Error {
    use async_graphql::ErrorExtensions;
    let cause = e.kind.code();
    let plugin = e.plugin.clone();
    let version = e.version.clone();
    gql_error(ErrorCode::PluginFailed, e.to_string()).extend_with(move |_, ext| {
        ext.set("pluginError", cause);
        ext.set("plugin", plugin.as_str());
        ext.set("pluginVersion", version.as_str());
    })
}

fn from_registry(e: RegistryError) -> async_graphql::Error {
    match e {
        RegistryError::NotInstalled(id) => gql_error(
            ErrorCode::NotFound,
            format!("plugin `{id}` is not installed"),
        ),
        RegistryError::Load(LoadError::Io { path, source }) => gql_error(
            ErrorCode::BadUserInput,
            format!("cannot read {}: {source}", path.display()),
        ),
        RegistryError::Load(e) => gql_error(ErrorCode::PluginRejected, e.to_string()),
        e @ (RegistryError::InvalidGrant(_) | RegistryError::NotRequested { .. }) => {
            gql_error(ErrorCode::PluginRejected, e.to_string())
        }
        other => crate::error::internal(other),
    }
}

#[derive(Default)]
pub struct PluginQuery;

#[Object]
impl PluginQuery {
    /// Installed plugins with their state, grants and circuit breaker (global admin).
    async fn plugins(&self, ctx: &Context<'_>) -> Result<Vec<Plugin>> {
        require_global_admin(principal(ctx)?)?;
        let manager = ctx.data::<PluginManager>()?;
        let views = manager.overview().await.map_err(from_registry)?;
        Ok(views.into_iter().map(Plugin).collect())
    }

    async fn plugin(&self, ctx: &Context<'_>, id: String) -> Result<Plugin> {
        require_global_admin(principal(ctx)?)?;
        let manager = ctx.data::<PluginManager>()?;
        manager.get(&id).await.map(Plugin).map_err(from_registry)
    }
}

#[derive(Default)]
pub struct PluginMutation;

#[Object]
impl PluginMutation {
    /// Installs or upgrades a packaged plugin from a directory (or `plugin.toml`) on the daemon's machine.
    /// The manifest, sha256 and API version are checked before anything is stored; a new plugin starts
    /// enabled with nothing granted (global admin).
    async fn install_plugin(&self, ctx: &Context<'_>, path: String) -> Result<Plugin> {
        let manager = admin(ctx)?;
        let installed = manager
            .registry()
            .install(&PathBuf::from(path))
            .await
            .map_err(from_registry)?;
        settle(manager, installed.id()).await
    }

    /// Installs or upgrades a plugin sent with the request: the packaged `plugin.toml` (with its sha256)
    /// and the component as base64. Checked exactly like `installPlugin` (global admin).
    async fn install_plugin_package(
        &self,
        ctx: &Context<'_>,
        manifest: String,
        component_base64: String,
    ) -> Result<Plugin> {
        use base64::Engine as _;
        let manager = admin(ctx)?;
        let parsed = creatorflow_plugin_host::Manifest::parse(&manifest)
            .map_err(|e| gql_error(ErrorCode::PluginRejected, format!("invalid manifest: {e}")))?;
        let wasm = base64::engine::general_purpose::STANDARD
            .decode(component_base64.trim())
            .map_err(|e| {
                gql_error(
                    ErrorCode::BadUserInput,
                    format!("`componentBase64` is not base64: {e}"),
                )
            })?;
        let wasm_name = parsed.wasm.clone();
        let staged = tokio::task::spawn_blocking(move || {
            let staged = tempfile::tempdir()?;
            std::fs::write(staged.path().join("plugin.toml"), &manifest)?;
            std::fs::write(staged.path().join(wasm_name), &wasm)?;
            Ok::<_, std::io::Error>(staged)
        })
        .await
        .map_err(crate::error::internal)?
        .map_err(crate::error::internal)?;
        let installed = manager
            .registry()
            .install(staged.path())
            .await
            .map_err(from_registry)?;
        settle(manager, installed.id()).await
    }

    async fn enable_plugin(&self, ctx: &Context<'_>, id: String) -> Result<Plugin> {
        switch(ctx, &id, true).await
    }

    /// Stops running the plugin; installed files and grants stay.
    async fn disable_plugin(&self, ctx: &Context<'_>, id: String) -> Result<Plugin> {
        switch(ctx, &id, false).await
    }

    /// Removes the plugin, its grants and its files. Returns the removed id.
    async fn remove_plugin(&self, ctx: &Context<'_>, id: String) -> Result<String> {
        let manager = admin(ctx)?;
        manager
            .registry()
            .remove(&id)
            .await
            .map_err(from_registry)?;
        manager.reconcile().await.map_err(from_registry)?;
        Ok(id)
    }

    /// Grants capabilities the manifest asks for: origins (`https://api.example.com`) and secret names.
    /// All are checked before any is stored. The plugin reloads with the new grants.
    async fn grant_plugin(
        &self,
        ctx: &Context<'_>,
        id: String,
        #[graphql(default)] hosts: Vec<String>,
        #[graphql(default)] secrets: Vec<String>,
    ) -> Result<Plugin> {
        let manager = admin(ctx)?;
        let grants = parse_grants(&hosts, &secrets)?;
        let installed = manager.registry().get(&id).await.map_err(from_registry)?;
        for g in &grants {
            manager
                .registry()
                .check_requested(&installed, g)
                .map_err(from_registry)?;
        }
        for g in grants {
            manager
                .registry()
                .grant(&id, g)
                .await
                .map_err(from_registry)?;
        }
        settle(manager, &id).await
    }

    /// Withdraws grants; the plugin reloads without them.
    async fn revoke_plugin_grant(
        &self,
        ctx: &Context<'_>,
        id: String,
        #[graphql(default)] hosts: Vec<String>,
        #[graphql(default)] secrets: Vec<String>,
    ) -> Result<Plugin> {
        let manager = admin(ctx)?;
        let grants = parse_grants(&hosts, &secrets)?;
        manager.registry().get(&id).await.map_err(from_registry)?;
        for g in &grants {
            manager
                .registry()
                .revoke(&id, g)
                .await
                .map_err(from_registry)?;
        }
        settle(manager, &id).await
    }
}

async fn switch(ctx: &Context<'_>, id: &str, enabled: bool) -> Result<Plugin> {
    let manager = admin(ctx)?;
    manager
        .registry()
        .set_enabled(id, enabled)
        .await
        .map_err(from_registry)?;
    settle(manager, id).await
}

fn admin<'a>(ctx: &Context<'a>) -> Result<&'a PluginManager> {
    require_global_admin(principal(ctx)?)?;
    ctx.data::<PluginManager>()
}

fn parse_grants(hosts: &[String], secrets: &[String]) -> Result<Vec<Grant>> {
    if hosts.is_empty() && secrets.is_empty() {
        return Err(gql_error(
            ErrorCode::BadUserInput,
            "give at least one of `hosts` or `secrets`",
        ));
    }
    hosts
        .iter()
        .map(|h| Grant::host(h))
        .chain(secrets.iter().map(|s| Grant::secret(s)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(from_registry)
}

/// Applies the registry's new state to the running host and returns the plugin as it now stands.
async fn settle(manager: &PluginManager, id: &str) -> Result<Plugin> {
    manager.reconcile().await.map_err(from_registry)?;
    manager.get(id).await.map(Plugin).map_err(from_registry)
}
