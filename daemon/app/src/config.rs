//! Typed daemon configuration.
//!
//! Layers, lowest to highest precedence: built-in defaults, the TOML file given with `--config`,
//! `CREATORFLOW_<SECTION>__<KEY>` environment variables, command-line flags. Loading collects every
//! problem before giving up and names where each bad value came from (file, exact environment
//! variable or flag), so an operator can fix everything in one pass.

use base64::Engine;
use figment::error::{Actual, Kind};
use figment::value::{Dict, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The documented default configuration file, shipped so operators can start from it.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

/// Environment variables with this prefix are configuration; anything else is ignored.
pub const ENV_PREFIX: &str = "CREATORFLOW_";

/// Separates section and key in environment variable names (`CREATORFLOW_SERVER__LISTEN`).
const ENV_SEPARATOR: &str = "__";

/// Origin named for values nobody set.
const DEFAULTS_ORIGIN: &str = "defaults";

/// Top-level sections, in the order errors are reported.
const SECTIONS: &[&str] = &[
    "server", "database", "graphql", "auth", "log", "security", "plugins", "sync",
];

/// Keys whose values must never be echoed back in error messages.
const SECRET_KEYS: &[&str] = &["database.url", "security.credentials_key"];

/// The whole daemon configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// HTTP listener and process lifecycle.
    pub server: ServerConfig,
    /// Where data lives and how connections are pooled.
    pub database: DatabaseConfig,
    /// Limits that keep the GraphQL API safe from expensive queries.
    pub graphql: GraphqlConfig,
    /// First-start access so a fresh install is usable.
    pub auth: AuthConfig,
    /// What gets logged and how it is formatted.
    pub log: LogConfig,
    /// Encryption of stored marketplace credentials.
    pub security: SecurityConfig,
    /// WASM connector and metric plugins run by the daemon.
    pub plugins: PluginsConfig,
    /// Marketplace sync: schedules, backfill depth, retries and webhooks.
    pub sync: SyncConfig,
}

/// HTTP listener and process lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Bind address; loopback by default so nothing is exposed until the operator decides.
    pub listen: SocketAddr,
    /// Holds the SQLite database, credentials key and admin token.
    pub data_dir: PathBuf,
    /// Seconds in-flight requests get to finish after a shutdown signal.
    pub shutdown_grace_secs: u64,
    /// Seconds before a request is aborted, so stuck clients cannot pin resources.
    pub request_timeout_secs: u64,
    /// Development conveniences; must stay off in production.
    pub dev_mode: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 7420)),
            data_dir: PathBuf::from("data"),
            shutdown_grace_secs: 10,
            request_timeout_secs: 30,
            dev_mode: false,
        }
    }
}

/// Where data lives and how connections are pooled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Connection URL; unset means SQLite inside the data directory (see [`Config::database_url`]).
    pub url: Option<String>,
    /// SQLite durability versus write speed.
    pub synchronous: Synchronous,
    /// Milliseconds a SQLite writer waits for a lock instead of failing at once.
    pub busy_timeout_ms: u64,
    /// Pool ceiling; bounds load on the database server.
    pub max_connections: u32,
    /// Connections kept warm to avoid connect latency on bursts.
    pub min_connections: u32,
    /// Seconds to wait for a connection before reporting the database unreachable.
    pub connect_timeout_secs: u64,
    /// Apply pending migrations at startup so the schema always matches the binary.
    pub migrate_on_start: bool,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            synchronous: Synchronous::Normal,
            busy_timeout_ms: 5000,
            max_connections: 8,
            min_connections: 1,
            connect_timeout_secs: 10,
            migrate_on_start: true,
        }
    }
}

/// SQLite `PRAGMA synchronous`: how often commits are flushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// Fastest; a power loss can corrupt the database.
    Off,
    /// Safe with WAL; a power loss may drop the last commits.
    #[default]
    Normal,
    /// Every commit survives a power loss.
    Full,
    /// Like `Full`, also syncing the directory after journal changes.
    Extra,
}

/// Limits that keep the GraphQL API safe from expensive queries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GraphqlConfig {
    /// Deepest allowed query nesting; stops recursive abuse early.
    pub max_depth: usize,
    /// Highest allowed complexity score; rejects queries too costly to run.
    pub max_complexity: usize,
    /// Most root fields (aliases included) one mutation may select.
    pub max_root_fields: usize,
    /// Page size used when a query does not ask for one.
    pub default_page_size: u64,
    /// Largest page a query may request, bounding memory per request.
    pub max_page_size: u64,
    /// Schema introspection, needed by GraphiQL and code generators.
    pub introspection: bool,
    /// "Did you mean" hints in errors; helpful, but they reveal schema names.
    pub suggestions: bool,
    /// Serve the in-browser GraphiQL playground.
    pub graphiql: bool,
    /// Largest request body accepted, in bytes; bigger ones are refused before they are read whole.
    pub max_body_bytes: u64,
    /// Most WebSockets open at once; further upgrades get 503.
    pub max_websockets: usize,
    /// Most operations running at once on one WebSocket.
    pub max_operations_per_socket: usize,
    /// Seconds a new WebSocket has to authenticate with `connection_init` before it is closed (4408).
    pub websocket_init_timeout_secs: u64,
    /// Seconds between checks of a WebSocket's token; a revoked token is cut off (4403) within this time.
    pub websocket_token_recheck_secs: u64,
}

impl Default for GraphqlConfig {
    fn default() -> Self {
        Self {
            max_depth: 32,
            max_complexity: 2000,
            max_root_fields: 50,
            default_page_size: 50,
            max_page_size: 500,
            introspection: true,
            suggestions: true,
            graphiql: true,
            max_body_bytes: 16 << 20,
            max_websockets: 1024,
            max_operations_per_socket: 100,
            websocket_init_timeout_secs: 10,
            websocket_token_recheck_secs: 5,
        }
    }
}

/// First-start access so a fresh install is usable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Write `<data_dir>/admin.token` on a first start with no tokens, so the operator can log in.
    pub bootstrap_admin_token: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            bootstrap_admin_token: true,
        }
    }
}

/// What gets logged and how it is formatted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Human-readable or machine-readable output.
    pub format: LogFormat,
    /// `tracing` filter directives such as `info` or `info,creatorflow=debug`.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Auto,
            filter: "info".to_owned(),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Pretty on a terminal, JSON otherwise, so both humans and collectors get what they need.
    #[default]
    Auto,
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Encryption of stored marketplace credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Key file location; unset means `<data_dir>/credentials.key` (see [`Config::credentials_key_path`]).
    pub credentials_key_file: Option<PathBuf>,
    /// The key itself (base64 of 32 bytes) for deployments without a writable key file; wins over the file.
    pub credentials_key: Option<String>,
}

/// WASM connector and metric plugins run by the daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// First-party plugins installed or upgraded at start; unset means `plugins/` beside the executable,
    /// which is where the run command packages them.
    pub bundled_dir: Option<PathBuf>,
    /// Seconds between checks for changes made with `creatorflow plugin …` while the daemon runs.
    pub reload_interval_secs: u64,
    /// Pre-reserved instance slots (pooling allocator): plugin calls that can run at once.
    pub max_instances: u32,
    /// Ceiling on any manifest's memory limit, in MiB.
    pub max_memory_mib: u64,
    /// Ceiling on any manifest's CPU time per call, in milliseconds.
    pub max_cpu_ms: u64,
    /// Ceiling on any manifest's wall time per call, in milliseconds.
    pub max_wall_ms: u64,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            bundled_dir: None,
            reload_interval_secs: 10,
            max_instances: 64,
            max_memory_mib: 512,
            max_cpu_ms: 30_000,
            max_wall_ms: 300_000,
        }
    }
}

/// Marketplace sync: schedules, backfill depth, retries and webhooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// Whether the daemon syncs active connections on a schedule (manual runs and webhooks work either way).
    pub scheduled: bool,
    /// Seconds between incremental syncs of a connection; a connection's own interval wins.
    pub interval_secs: u64,
    /// Days of history the first sync of a connection fetches.
    pub backfill_days: u32,
    /// Attempts per page before a run fails (throttling, upstream errors, timeouts).
    pub max_attempts: u32,
    /// Milliseconds before the first retry of a page; doubled on each further attempt.
    pub retry_base_ms: u64,
    /// Largest webhook body accepted, in bytes.
    pub webhook_max_body_bytes: u64,
    /// Whether stock changes are pushed to every connected channel that pushes stock.
    pub push_stock: bool,
    /// Milliseconds stock changes are gathered before one push per connection.
    pub push_debounce_ms: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            scheduled: true,
            interval_secs: 300,
            backfill_days: 90,
            max_attempts: 6,
            retry_base_ms: 250,
            webhook_max_body_bytes: 1 << 20,
            push_stock: true,
            push_debounce_ms: 500,
        }
    }
}

impl Config {
    /// The database URL to connect to: the configured one, or SQLite inside the data directory
    /// (`mode=rwc` so a fresh install creates it).
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.server.data_dir.join("creatorflow.db").display()
            ),
        }
    }

    /// Where the credentials key file lives (used unless `credentials_key` is set).
    pub fn credentials_key_path(&self) -> PathBuf {
        match &self.security.credentials_key_file {
            Some(path) => path.clone(),
            None => self.server.data_dir.join("credentials.key"),
        }
    }
}

/// Command-line flags; they beat every other layer.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen`: bind elsewhere for one run without editing the file.
    pub listen: Option<SocketAddr>,
    /// `--data-dir`: point one run at another data directory (tests, migrations, recovery).
    pub data_dir: Option<PathBuf>,
}

/// One problem found while loading the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Where the value came from: file path, environment variable name, flag, or `defaults`.
    pub origin: String,
    /// Dotted key path such as `server.listen`; empty when the problem has no key (syntax errors).
    pub key: String,
    /// What is wrong, phrased for the operator.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.origin, self.message)
        } else {
            write!(f, "{}: `{}`: {}", self.origin, self.key, self.message)
        }
    }
}

/// Every problem found while loading; the daemon must not start with any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigIssue>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for issue in &self.0 {
            writeln!(f, "{issue}")?;
        }
        let n = self.0.len();
        let plural = if n == 1 { "" } else { "s" };
        write!(f, "{n} configuration error{plural}; nothing was started.")
    }
}

impl std::error::Error for ConfigErrors {}

/// Loads the configuration from the process environment, the optional file and the flags.
pub fn load_from_process(
    file: Option<&Path>,
    overrides: &Overrides,
) -> Result<Config, ConfigErrors> {
    let mut env = Vec::new();
    let mut issues = Vec::new();
    for (name, value) in std::env::vars_os() {
        let name_text = name.to_string_lossy();
        if !has_env_prefix(&name_text) {
            continue;
        }
        match (name.to_str(), value.into_string()) {
            (Some(name), Ok(value)) => env.push((name.to_owned(), value)),
            _ => issues.push(ConfigIssue {
                origin: name_text.into_owned(),
                key: String::new(),
                message: "the variable's name or value is not valid UTF-8".to_owned(),
            }),
        }
    }
    match load(file, &env, overrides) {
        Ok(config) if issues.is_empty() => Ok(config),
        Ok(_) => Err(ConfigErrors(issues)),
        Err(ConfigErrors(more)) => {
            issues.extend(more);
            Err(ConfigErrors(issues))
        }
    }
}

/// Loads the configuration: defaults < `file` < `env` (only `CREATORFLOW_*` pairs are used) <
/// `overrides`. Returns every problem found, not just the first.
pub fn load(
    file: Option<&Path>,
    env: &[(String, String)],
    overrides: &Overrides,
) -> Result<Config, ConfigErrors> {
    let mut issues = Vec::new();
    let mut layers = Layers(Vec::new());
    if let Some(layer) = file.and_then(|path| file_layer(path, &mut issues)) {
        layers.0.push(layer);
    }
    layers.0.push(env_layer(env, &mut issues));
    layers.0.push(overrides_layer(overrides));

    let merged = layers.merged();
    for (name, _) in merged
        .iter()
        .filter(|(name, _)| !SECTIONS.contains(&name.as_str()))
    {
        layers.report_unknown_section(name, &mut issues);
    }

    let mut failed = BTreeSet::new();
    let mut config = Config {
        server: section(&merged, "server", &layers, &mut failed, &mut issues),
        database: section(&merged, "database", &layers, &mut failed, &mut issues),
        graphql: section(&merged, "graphql", &layers, &mut failed, &mut issues),
        auth: section(&merged, "auth", &layers, &mut failed, &mut issues),
        log: section(&merged, "log", &layers, &mut failed, &mut issues),
        security: section(&merged, "security", &layers, &mut failed, &mut issues),
        plugins: section(&merged, "plugins", &layers, &mut failed, &mut issues),
        sync: section(&merged, "sync", &layers, &mut failed, &mut issues),
    };
    if let Some(listen) = overrides.listen {
        config.server.listen = listen;
    }
    if let Some(data_dir) = &overrides.data_dir {
        config.server.data_dir = data_dir.clone();
    }

    Validator {
        layers: &layers,
        failed: &failed,
        issues: &mut issues,
    }
    .run(&config);

    if issues.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(issues))
    }
}

/// Values from one source plus which origin set each of them.
struct Layer {
    values: Dict,
    /// Key path prefix and the origin that set it; later entries win. An empty path covers the
    /// whole layer (a file).
    origins: Vec<(Vec<String>, String)>,
}

impl Layer {
    fn contains(&self, path: &[String]) -> bool {
        let Some((first, rest)) = path.split_first() else {
            return !self.values.is_empty();
        };
        let mut current = self.values.get(first);
        for key in rest {
            current = match current {
                Some(Value::Dict(_, dict)) => dict.get(key),
                _ => None,
            };
        }
        current.is_some()
    }

    fn origin_of(&self, path: &[String]) -> Option<&str> {
        self.origins
            .iter()
            .rev()
            .find(|(prefix, _)| path.starts_with(prefix) || prefix.starts_with(path))
            .map(|(_, origin)| origin.as_str())
    }
}

/// The layers in precedence order, lowest first (defaults are implicit).
struct Layers(Vec<Layer>);

impl Layers {
    fn merged(&self) -> Dict {
        let mut merged = Dict::new();
        for layer in &self.0 {
            merge_into(&mut merged, &layer.values);
        }
        merged
    }

    /// The origin of the value that wins at `path`.
    fn origin(&self, path: &[String]) -> String {
        self.0
            .iter()
            .rev()
            .filter(|layer| layer.contains(path))
            .find_map(|layer| layer.origin_of(path))
            .unwrap_or(DEFAULTS_ORIGIN)
            .to_owned()
    }

    fn is_set(&self, path: &[&str]) -> bool {
        self.origin(&owned(path)) != DEFAULTS_ORIGIN
    }

    fn issue(&self, path: &[String], message: String) -> ConfigIssue {
        ConfigIssue {
            origin: self.origin(path),
            key: path.join("."),
            message,
        }
    }

    /// One issue per origin that mentions the unknown section, so every culprit is named.
    fn report_unknown_section(&self, name: &str, issues: &mut Vec<ConfigIssue>) {
        let message = format!(
            "unknown section `{name}`, expected one of {}{}",
            one_of(SECTIONS),
            did_you_mean(name, SECTIONS)
        );
        for layer in &self.0 {
            if !layer.values.contains_key(name) {
                continue;
            }
            for (prefix, origin) in &layer.origins {
                let key = match prefix.first() {
                    None => name.to_owned(),
                    Some(first) if first == name => prefix.join("."),
                    Some(_) => continue,
                };
                let issue = ConfigIssue {
                    origin: origin.clone(),
                    key,
                    message: message.clone(),
                };
                if !issues.contains(&issue) {
                    issues.push(issue);
                }
            }
        }
    }
}

fn merge_into(into: &mut Dict, from: &Dict) {
    for (key, value) in from {
        match (into.get_mut(key), value) {
            (Some(Value::Dict(_, existing)), Value::Dict(_, incoming)) => {
                merge_into(existing, incoming)
            }
            _ => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}

fn owned(path: &[&str]) -> Vec<String> {
    path.iter().map(|s| (*s).to_owned()).collect()
}

fn file_layer(path: &Path, issues: &mut Vec<ConfigIssue>) -> Option<Layer> {
    let origin = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            let reason = match e.kind() {
                std::io::ErrorKind::NotFound => "the file does not exist".to_owned(),
                std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
                std::io::ErrorKind::InvalidData => "the file is not valid UTF-8 text".to_owned(),
                _ => e.to_string(),
            };
            issues.push(ConfigIssue {
                origin,
                key: String::new(),
                message: format!("cannot read the configuration file: {reason}"),
            });
            return None;
        }
    };
    match toml::from_str::<toml::Table>(&text) {
        Ok(table) => Some(Layer {
            values: table
                .into_iter()
                .map(|(k, v)| (k, toml_to_value(v)))
                .collect(),
            origins: vec![(Vec::new(), origin)],
        }),
        Err(e) => {
            let (line, column) = e
                .span()
                .map_or((1, 1), |span| line_column(&text, span.start));
            let detail = e.message().trim().replace('\n', "; ");
            let hint = text
                .lines()
                .nth(line - 1)
                .and_then(unquoted_text_hint)
                .unwrap_or_default();
            issues.push(ConfigIssue {
                origin,
                key: String::new(),
                message: format!("invalid TOML at line {line}, column {column}: {detail}{hint}"),
            });
            None
        }
    }
}

/// The most common syntax slip is unquoted text (`listen = 0.0.0.0:8080`); spell out the fix.
fn unquoted_text_hint(line: &str) -> Option<String> {
    let (key, value) = line.split_once('=')?;
    let value = value.split('#').next().unwrap_or_default().trim();
    let key = key.trim();
    let parses =
        |candidate: &str| toml::from_str::<toml::Table>(&format!("v = {candidate}")).is_ok();
    if key.is_empty()
        || value.is_empty()
        || value.contains(['"', '\''])
        || parses(value)
        || !parses(&format!("\"{value}\""))
    {
        return None;
    }
    let shown = if key.contains("key") || key.contains("url") {
        "..."
    } else {
        value
    };
    Some(format!(" (text must be quoted: {key} = \"{shown}\")"))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

fn toml_to_value(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::from(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::from(b),
        toml::Value::Datetime(d) => Value::from(d.to_string()),
        toml::Value::Array(items) => {
            Value::from(items.into_iter().map(toml_to_value).collect::<Vec<_>>())
        }
        toml::Value::Table(table) => Value::from(
            table
                .into_iter()
                .map(|(k, v)| (k, toml_to_value(v)))
                .collect::<Dict>(),
        ),
    }
}

fn has_env_prefix(name: &str) -> bool {
    name.get(..ENV_PREFIX.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(ENV_PREFIX))
}

fn env_layer(env: &[(String, String)], issues: &mut Vec<ConfigIssue>) -> Layer {
    // Defaults tell which keys hold text: those keep the raw value, so `CREATORFLOW_LOG__FILTER=1`
    // stays a string while `CREATORFLOW_GRAPHQL__MAX_DEPTH=20` becomes a number.
    let defaults = serde_json::to_value(Config::default()).ok();
    let mut layer = Layer {
        values: Dict::new(),
        origins: Vec::new(),
    };
    for (name, raw) in env {
        if !has_env_prefix(name) {
            continue;
        }
        let rest = name.get(ENV_PREFIX.len()..).unwrap_or_default();
        let path: Vec<String> = rest
            .split(ENV_SEPARATOR)
            .map(str::to_ascii_lowercase)
            .collect();
        if let Some(message) = env_name_problem(&path) {
            issues.push(ConfigIssue {
                origin: name.clone(),
                key: String::new(),
                message,
            });
            continue;
        }
        let is_text = defaults
            .as_ref()
            .and_then(|d| path.iter().try_fold(d, |v, key| v.get(key)))
            .is_some_and(|v| v.is_string() || v.is_null());
        let mut value = if is_text {
            Value::from(raw.clone())
        } else {
            let Ok(parsed) = raw.parse::<Value>();
            parsed
        };
        for key in path.iter().skip(1).rev() {
            let mut dict = Dict::new();
            dict.insert(key.clone(), value);
            value = Value::from(dict);
        }
        let mut top = Dict::new();
        if let Some(first) = path.first() {
            top.insert(first.clone(), value);
        }
        merge_into(&mut layer.values, &top);
        layer.origins.push((path, name.clone()));
    }
    layer
}

/// Explains an environment variable name that cannot name a setting.
fn env_name_problem(path: &[String]) -> Option<String> {
    let example = "CREATORFLOW_<SECTION>__<KEY>, e.g. CREATORFLOW_SERVER__LISTEN";
    if path.iter().any(String::is_empty) {
        return Some(format!("not a valid setting name; expected {example}"));
    }
    if path.len() != 1 {
        return None;
    }
    let word = &path[0];
    if SECTIONS.contains(&word.as_str()) {
        return Some(format!(
            "names a whole section; set one key instead, as CREATORFLOW_{}__<KEY>",
            word.to_ascii_uppercase()
        ));
    }
    if let Some((section, key)) = SECTIONS
        .iter()
        .find_map(|s| word.strip_prefix(&format!("{s}_")).map(|k| (*s, k)))
    {
        return Some(format!(
            "section and key must be separated by a double underscore: CREATORFLOW_{}__{}",
            section.to_ascii_uppercase(),
            key.to_ascii_uppercase()
        ));
    }
    Some(format!("not a setting; expected {example}"))
}

fn overrides_layer(overrides: &Overrides) -> Layer {
    let mut server = Dict::new();
    let mut origins = Vec::new();
    if let Some(listen) = overrides.listen {
        server.insert("listen".to_owned(), Value::from(listen.to_string()));
        origins.push((owned(&["server", "listen"]), "--listen".to_owned()));
    }
    if let Some(data_dir) = &overrides.data_dir {
        // Only masks lower layers; the typed path is applied after deserializing.
        server.insert(
            "data_dir".to_owned(),
            Value::from(data_dir.to_string_lossy().into_owned()),
        );
        origins.push((owned(&["server", "data_dir"]), "--data-dir".to_owned()));
    }
    let mut values = Dict::new();
    if !server.is_empty() {
        values.insert("server".to_owned(), Value::from(server));
    }
    Layer { values, origins }
}

/// Deserializes one section, reporting every bad key: after each error the offending key is
/// dropped (falling back to its default) and deserialization is retried.
fn section<T: DeserializeOwned + Default>(
    merged: &Dict,
    name: &str,
    layers: &Layers,
    failed: &mut BTreeSet<String>,
    issues: &mut Vec<ConfigIssue>,
) -> T {
    let Some(value) = merged.get(name) else {
        return T::default();
    };
    let Value::Dict(_, dict) = value else {
        failed.insert(name.to_owned());
        issues.push(layers.issue(
            &[name.to_owned()],
            format!(
                "expected a table of settings ([{name}]), found {}",
                describe(value, false)
            ),
        ));
        return T::default();
    };
    let mut dict = dict.clone();
    // Each round removes one key, so this ends after at most `len + 1` rounds.
    for _ in 0..=dict.len() {
        let err = match T::deserialize(&Value::from(dict.clone())) {
            Ok(parsed) => return parsed,
            Err(err) => err,
        };
        let mut path = vec![name.to_owned()];
        path.extend(err.path.iter().cloned());
        let secret = SECRET_KEYS.contains(&path.join(".").as_str());
        let key = err.path.first().cloned().unwrap_or_default();
        let message = describe_error::<T>(&err.kind, &key, dict.get(&key), secret);
        issues.push(layers.issue(&path, message));
        if dict.remove(&key).is_none() {
            break;
        }
        failed.insert(format!("{name}.{key}"));
    }
    failed.insert(name.to_owned());
    T::default()
}

/// Turns a deserialization error into a sentence an operator can act on.
fn describe_error<T: DeserializeOwned>(
    kind: &Kind,
    key: &str,
    found: Option<&Value>,
    secret: bool,
) -> String {
    let found_text = |actual: &Actual| match found {
        Some(value) => describe(value, secret),
        None => describe_actual(actual, secret),
    };
    match kind {
        Kind::UnknownField(field, expected) => format!(
            "unknown key `{field}`, expected one of {}{}",
            one_of(expected),
            did_you_mean(field, expected)
        ),
        Kind::UnknownVariant(variant, expected) => format!(
            "expected one of {}, found {}",
            one_of(expected),
            found.map_or_else(|| format!("{variant:?}"), |v| describe(v, secret))
        ),
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            let wanted = match variants_of::<T>(key) {
                Some(variants) => format!("one of {}", one_of(variants)),
                None => describe_expected(expected),
            };
            let hint = match found {
                Some(Value::String(_, s)) if !secret && unquoting_fits(s, expected) => {
                    " (write it without quotes)"
                }
                _ => "",
            };
            format!("expected {wanted}, found {}{hint}", found_text(actual))
        }
        Kind::Message(message) if message.contains("socket address") => format!(
            "expected {}, found {}",
            describe_expected("socket address"),
            found_text(&Actual::Other("an invalid address".to_owned()))
        ),
        Kind::Message(message) => match found {
            Some(value) => format!("invalid value {}: {message}", describe(value, secret)),
            None => message.clone(),
        },
        other => other.to_string(),
    }
}

/// The variants of an enum-typed key, learned by feeding it a value no variant can match.
fn variants_of<T: DeserializeOwned>(key: &str) -> Option<&'static [&'static str]> {
    let mut probe = Dict::new();
    probe.insert(key.to_owned(), Value::from("\u{0}"));
    match T::deserialize(&Value::from(probe)) {
        Err(err) => match err.kind {
            Kind::UnknownVariant(_, variants) => Some(variants),
            _ => None,
        },
        Ok(_) => None,
    }
}

/// Translates serde's type names into the words an operator uses.
fn describe_expected(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" => {
            let max = match expected {
                "u8" => u64::from(u8::MAX),
                "u16" => u64::from(u16::MAX),
                _ => u64::from(u32::MAX),
            };
            format!("a whole number from 0 to {max}")
        }
        "u64" | "usize" | "u128" => "a whole number (0 or more)".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "isize" | "i128" => "a whole number".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a boolean" => "true or false".to_owned(),
        "a string" => "a string".to_owned(),
        "path string" => "a path (a string)".to_owned(),
        "socket address" => "a socket address such as 127.0.0.1:7420".to_owned(),
        other if other.starts_with("struct ") => "a table of settings".to_owned(),
        other => other.to_owned(),
    }
}

/// Whether a quoted value would have been right without its quotes.
fn unquoting_fits(text: &str, expected: &str) -> bool {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" | "u128" => text.trim().parse::<u64>().is_ok(),
        "a boolean" => matches!(text.trim(), "true" | "false"),
        _ => false,
    }
}

fn describe(value: &Value, secret: bool) -> String {
    match value {
        Value::String(_, s) if secret => format!("a string of {} characters", s.chars().count()),
        Value::String(_, s) => format!("{s:?}"),
        Value::Char(..) if secret => "a character".to_owned(),
        Value::Char(_, c) => format!("{c:?}"),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(_, n) if secret => describe_actual(&n.to_actual(), true),
        Value::Num(_, n) => describe_actual(&n.to_actual(), false),
        Value::Empty(..) => "no value".to_owned(),
        Value::Dict(..) => "a table".to_owned(),
        Value::Array(..) => "an array".to_owned(),
    }
}

fn describe_actual(actual: &Actual, secret: bool) -> String {
    match actual {
        Actual::Unsigned(_) | Actual::Signed(_) if secret => "a number".to_owned(),
        Actual::Float(_) if secret => "a number".to_owned(),
        Actual::Str(_) if secret => "a string".to_owned(),
        Actual::Bool(b) => b.to_string(),
        Actual::Unsigned(n) => n.to_string(),
        Actual::Signed(n) => n.to_string(),
        Actual::Float(n) => n.to_string(),
        Actual::Str(s) => format!("{s:?}"),
        Actual::Map => "a table".to_owned(),
        Actual::Seq => "an array".to_owned(),
        Actual::Unit | Actual::Option => "no value".to_owned(),
        other => other.to_string(),
    }
}

fn one_of(items: &[&str]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Suggests the closest valid name for a likely typo.
fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(distance, c)| *distance <= (c.len() / 3).max(1))
        .min()
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Checks that need the whole typed configuration (ranges, cross-field rules, formats).
struct Validator<'a> {
    layers: &'a Layers,
    /// Keys (and whole sections) that already failed to parse; rules on them would only repeat the news.
    failed: &'a BTreeSet<String>,
    issues: &'a mut Vec<ConfigIssue>,
}

impl Validator<'_> {
    fn usable(&self, keys: &[&str]) -> bool {
        keys.iter().all(|key| {
            let section = key.split('.').next().unwrap_or(key);
            !self.failed.contains(*key) && !self.failed.contains(section)
        })
    }

    fn report(&mut self, key: &str, message: String) {
        let path: Vec<String> = key.split('.').map(str::to_owned).collect();
        self.issues.push(self.layers.issue(&path, message));
    }

    /// Blames whichever of two related keys the operator actually set, preferring the first.
    fn blame<'k>(&self, first: &'k str, second: &'k str) -> &'k str {
        let split = |k: &'k str| k.split('.').collect::<Vec<_>>();
        if !self.layers.is_set(&split(first)) && self.layers.is_set(&split(second)) {
            second
        } else {
            first
        }
    }

    fn at_least_one(&mut self, key: &str, value: u64) {
        if value == 0 && self.usable(&[key]) {
            self.report(key, "must be at least 1, found 0".to_owned());
        }
    }

    fn run(mut self, config: &Config) {
        if let Some(url) = &config.database.url
            && self.usable(&["database.url"])
            && let Some(message) = database_url_problem(url)
        {
            self.report("database.url", message);
        }

        let db = &config.database;
        self.at_least_one("database.max_connections", u64::from(db.max_connections));
        if db.max_connections > 0
            && db.min_connections > db.max_connections
            && self.usable(&["database.min_connections", "database.max_connections"])
        {
            let key = self.blame("database.min_connections", "database.max_connections");
            self.report(
                key,
                format!(
                    "`min_connections` ({}) must not be larger than `max_connections` ({})",
                    db.min_connections, db.max_connections
                ),
            );
        }

        let gql = &config.graphql;
        self.at_least_one("graphql.max_depth", gql.max_depth as u64);
        self.at_least_one("graphql.max_complexity", gql.max_complexity as u64);
        self.at_least_one("graphql.max_root_fields", gql.max_root_fields as u64);
        self.at_least_one("graphql.max_websockets", gql.max_websockets as u64);
        self.at_least_one(
            "graphql.max_operations_per_socket",
            gql.max_operations_per_socket as u64,
        );
        self.at_least_one(
            "graphql.websocket_init_timeout_secs",
            gql.websocket_init_timeout_secs,
        );
        self.at_least_one(
            "graphql.websocket_token_recheck_secs",
            gql.websocket_token_recheck_secs,
        );
        self.at_least_one("graphql.max_page_size", gql.max_page_size);
        if gql.max_page_size > creatorflow_store::catalog::MAX_PAGE_SIZE
            && self.usable(&["graphql.max_page_size"])
        {
            self.report(
                "graphql.max_page_size",
                format!(
                    "at most {} (the largest page the store returns), found {}",
                    creatorflow_store::catalog::MAX_PAGE_SIZE,
                    gql.max_page_size
                ),
            );
        }
        self.at_least_one("graphql.default_page_size", gql.default_page_size);
        self.at_least_one("graphql.max_body_bytes", gql.max_body_bytes);
        if gql.max_page_size > 0
            && gql.default_page_size > gql.max_page_size
            && self.usable(&["graphql.default_page_size", "graphql.max_page_size"])
        {
            let key = self.blame("graphql.default_page_size", "graphql.max_page_size");
            self.report(
                key,
                format!(
                    "`default_page_size` ({}) must not be larger than `max_page_size` ({})",
                    gql.default_page_size, gql.max_page_size
                ),
            );
        }

        if config.server.data_dir.as_os_str().is_empty() && self.usable(&["server.data_dir"]) {
            self.report(
                "server.data_dir",
                "must not be empty; use `.` for the working directory".to_owned(),
            );
        }
        if let Some(path) = &config.security.credentials_key_file
            && path.as_os_str().is_empty()
            && self.usable(&["security.credentials_key_file"])
        {
            self.report(
                "security.credentials_key_file",
                "must not be empty; remove it to use credentials.key in the data directory"
                    .to_owned(),
            );
        }

        let plugins = &config.plugins;
        self.at_least_one("plugins.reload_interval_secs", plugins.reload_interval_secs);
        self.at_least_one("plugins.max_instances", u64::from(plugins.max_instances));
        self.at_least_one("plugins.max_memory_mib", plugins.max_memory_mib);
        self.at_least_one("plugins.max_cpu_ms", plugins.max_cpu_ms);
        self.at_least_one("plugins.max_wall_ms", plugins.max_wall_ms);
        let sync = &config.sync;
        self.at_least_one("sync.interval_secs", sync.interval_secs);
        self.at_least_one("sync.backfill_days", u64::from(sync.backfill_days));
        self.at_least_one("sync.max_attempts", u64::from(sync.max_attempts));
        self.at_least_one("sync.webhook_max_body_bytes", sync.webhook_max_body_bytes);

        if self.usable(&["log.filter"])
            && let Some(message) = log_filter_problem(&config.log.filter)
        {
            self.report("log.filter", message);
        }

        if let Some(key) = &config.security.credentials_key
            && self.usable(&["security.credentials_key"])
            && let Some(message) = credentials_key_problem(key)
        {
            self.report("security.credentials_key", message);
        }
    }
}

/// Only the scheme is ever echoed: the rest of a URL may hold a password.
fn database_url_problem(url: &str) -> Option<String> {
    const ACCEPTED: &str = "a URL starting with `sqlite:`, `postgres://` or `postgresql://`";
    if ["sqlite:", "postgres://", "postgresql://"]
        .iter()
        .any(|p| url.starts_with(p))
    {
        return None;
    }
    if url.trim().is_empty() {
        return Some(format!(
            "expected {ACCEPTED}, found an empty value (remove the setting to use SQLite in the data directory)"
        ));
    }
    let scheme = url.split_once(':').map(|(scheme, _)| scheme).filter(|s| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    Some(match scheme {
        Some(scheme) => format!("expected {ACCEPTED}, found one starting with `{scheme}:`"),
        None => format!("expected {ACCEPTED}, found a value without a scheme"),
    })
}

/// Checked here rather than when logging starts, so a typo is reported with its origin.
fn log_filter_problem(filter: &str) -> Option<String> {
    let example = "use a level such as `info`, or directives such as `info,creatorflow=debug`";
    if filter.trim().is_empty() {
        return Some(format!("must not be empty; {example}"));
    }
    tracing_subscriber::EnvFilter::try_new(filter)
        .err()
        .map(|e| {
            format!(
                "expected a log filter such as `info` or `info,creatorflow=debug`, found {filter:?} ({e})"
            )
        })
}

/// Never echoes the key; says only what is wrong with it.
fn credentials_key_problem(key: &str) -> Option<String> {
    let how = "generate one with `openssl rand -base64 32`";
    match base64::engine::general_purpose::STANDARD.decode(key.trim()) {
        Ok(bytes) if bytes.len() == 32 => None,
        Ok(bytes) => Some(format!(
            "must be base64 of exactly 32 bytes, found {} bytes; {how}",
            bytes.len()
        )),
        Err(_) => Some(format!("is not valid base64; {how}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn no_env() -> Vec<(String, String)> {
        Vec::new()
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn write_file(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let path = dir.path().join("creatorflow.toml");
        std::fs::write(&path, text).expect("write config");
        path
    }

    fn errors(result: Result<Config, ConfigErrors>) -> ConfigErrors {
        match result {
            Ok(config) => panic!("expected errors, got {config:?}"),
            Err(errors) => errors,
        }
    }

    #[test]
    fn default_toml_is_exactly_the_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_file(&dir, DEFAULT_TOML);
        let config =
            load(Some(&path), &no_env(), &Overrides::default()).expect("default.toml loads");
        assert_eq!(config, Config::default());
    }

    /// `(section, key)` pairs.
    type Keys = BTreeSet<(String, String)>;

    /// Keys documented in default.toml, split into live and commented-out lines.
    fn documented_keys() -> (Keys, Keys) {
        let mut live = BTreeSet::new();
        let mut commented = BTreeSet::new();
        let mut section: Option<String> = None;
        for line in DEFAULT_TOML.lines().map(str::trim) {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = Some(name.to_owned());
                continue;
            }
            let (text, set) = match line.strip_prefix('#') {
                Some(rest) => (rest.trim(), &mut commented),
                None => (line, &mut live),
            };
            let Some((key, _)) = text.split_once('=') else {
                continue;
            };
            let key = key.trim();
            if key.is_empty()
                || !key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                continue;
            }
            let section = section
                .clone()
                .unwrap_or_else(|| panic!("key `{key}` appears before any [section]"));
            assert!(
                set.insert((section, key.to_owned())),
                "`{key}` documented twice"
            );
        }
        (live, commented)
    }

    #[test]
    fn default_toml_documents_every_key_and_nothing_else() {
        let defaults = serde_json::to_value(Config::default()).expect("serialize defaults");
        let mut live = BTreeSet::new();
        let mut unset = BTreeSet::new();
        let sections = defaults.as_object().expect("config is a table");
        for (section, keys) in sections {
            for (key, value) in keys.as_object().expect("section is a table") {
                let entry = (section.clone(), key.clone());
                if value.is_null() {
                    unset.insert(entry);
                } else {
                    live.insert(entry);
                }
            }
        }
        let (documented_live, documented_commented) = documented_keys();
        assert_eq!(
            documented_live, live,
            "live `key =` lines in config/default.toml must match Config::default()"
        );
        assert_eq!(
            documented_commented, unset,
            "commented-out `# key =` lines in config/default.toml must be exactly the unset (None) keys"
        );
        let mut names: Vec<&str> = sections.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut expected: Vec<&str> = SECTIONS.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected, "SECTIONS must list every Config section");
    }

    #[test]
    fn default_toml_comments_every_key() {
        let mut previous = "";
        for line in DEFAULT_TOML.lines().map(str::trim) {
            let text = line.trim_start_matches('#').trim();
            let is_key = text.split_once(" = ").is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            });
            if is_key && !line.starts_with('#') {
                assert!(
                    previous.starts_with('#'),
                    "`{line}` needs a comment line above it"
                );
            }
            previous = line;
        }
    }

    #[test]
    fn precedence_is_file_then_env_then_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_file(
            &dir,
            "[server]\nlisten = \"127.0.0.1:1001\"\ndata_dir = \"from-file\"\n[graphql]\nmax_depth = 10\n",
        );
        let file_only = load(Some(&path), &no_env(), &Overrides::default()).expect("file loads");
        assert_eq!(
            file_only.server.listen,
            SocketAddr::from(([127, 0, 0, 1], 1001))
        );
        assert_eq!(file_only.server.data_dir, PathBuf::from("from-file"));
        assert_eq!(file_only.graphql.max_depth, 10);
        assert_eq!(
            file_only.graphql.max_complexity, 2000,
            "untouched keys keep their defaults"
        );

        let vars = env(&[
            ("CREATORFLOW_SERVER__LISTEN", "127.0.0.1:2002"),
            ("CREATORFLOW_SERVER__DATA_DIR", "from-env"),
            ("CREATORFLOW_GRAPHQL__MAX_DEPTH", "20"),
            ("CREATORFLOW_GRAPHQL__INTROSPECTION", "false"),
            ("CREATORFLOW_LOG__FILTER", "debug"),
            ("UNRELATED", "ignored"),
        ]);
        let with_env = load(Some(&path), &vars, &Overrides::default()).expect("env loads");
        assert_eq!(
            with_env.server.listen,
            SocketAddr::from(([127, 0, 0, 1], 2002))
        );
        assert_eq!(with_env.server.data_dir, PathBuf::from("from-env"));
        assert_eq!(with_env.graphql.max_depth, 20);
        assert!(!with_env.graphql.introspection);
        assert_eq!(with_env.log.filter, "debug");

        let flags = Overrides {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 3003))),
            data_dir: Some(PathBuf::from("from-flag")),
        };
        let with_flags = load(Some(&path), &vars, &flags).expect("flags load");
        assert_eq!(
            with_flags.server.listen,
            SocketAddr::from(([127, 0, 0, 1], 3003))
        );
        assert_eq!(with_flags.server.data_dir, PathBuf::from("from-flag"));
        assert_eq!(
            with_flags.graphql.max_depth, 20,
            "flags leave other keys alone"
        );
    }

    #[test]
    fn overridden_bad_values_are_not_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_file(&dir, "[server]\nlisten = \"nonsense\"\n");
        let vars = env(&[("CREATORFLOW_SERVER__LISTEN", "0.0.0.0:8080")]);
        let config = load(Some(&path), &vars, &Overrides::default()).expect("env masks the file");
        assert_eq!(config.server.listen, SocketAddr::from(([0, 0, 0, 0], 8080)));
    }

    #[test]
    fn text_keys_keep_numeric_looking_env_values() {
        let vars = env(&[
            ("CREATORFLOW_LOG__FILTER", "1"),
            ("CREATORFLOW_SERVER__DATA_DIR", "2024"),
        ]);
        let config = load(None, &vars, &Overrides::default()).expect("loads");
        assert_eq!(config.log.filter, "1");
        assert_eq!(config.server.data_dir, PathBuf::from("2024"));
    }

    #[test]
    fn missing_file_is_named() {
        let err = errors(load(
            Some(Path::new("/nonexistent/creatorflow.toml")),
            &no_env(),
            &Overrides::default(),
        ));
        assert_eq!(
            err.to_string(),
            "/nonexistent/creatorflow.toml: cannot read the configuration file: the file does not exist\n\
             1 configuration error; nothing was started."
        );
    }

    #[test]
    fn helpers_resolve_paths_inside_data_dir() {
        let mut config = Config::default();
        config.server.data_dir = PathBuf::from("/var/lib/creatorflow");
        assert_eq!(
            config.database_url(),
            "sqlite:///var/lib/creatorflow/creatorflow.db?mode=rwc"
        );
        assert_eq!(
            config.credentials_key_path(),
            PathBuf::from("/var/lib/creatorflow/credentials.key")
        );
        config.database.url = Some("postgres://cf@db/cf".to_owned());
        config.security.credentials_key_file = Some(PathBuf::from("/etc/cf.key"));
        assert_eq!(config.database_url(), "postgres://cf@db/cf");
        assert_eq!(config.credentials_key_path(), PathBuf::from("/etc/cf.key"));
        assert_eq!(
            Config::default().database_url(),
            "sqlite://data/creatorflow.db?mode=rwc"
        );
    }

    #[test]
    fn valid_credentials_key_is_accepted() {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let vars = env(&[("CREATORFLOW_SECURITY__CREDENTIALS_KEY", key.as_str())]);
        let config = load(None, &vars, &Overrides::default()).expect("loads");
        assert_eq!(config.security.credentials_key, Some(key));
    }

    fn fixture_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config")
    }

    fn read_env_fixture(path: &Path) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(path).expect("read env fixture");
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (k, v) = l
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{}: `{l}` is not KEY=VALUE", path.display()));
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    #[test]
    fn golden_config_errors() {
        let dir = fixture_dir();
        let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
        let mut cases: BTreeMap<String, (Option<PathBuf>, Option<PathBuf>)> = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).expect("read tests/config") {
            let path = entry.expect("dir entry").path();
            let (Some(stem), Some(ext)) = (path.file_stem(), path.extension()) else {
                continue;
            };
            let case = cases
                .entry(stem.to_string_lossy().into_owned())
                .or_default();
            match ext.to_str() {
                Some("toml") => case.0 = Some(path.clone()),
                Some("env") => case.1 = Some(path.clone()),
                _ => {}
            }
        }
        cases.retain(|_, (toml, env)| toml.is_some() || env.is_some());
        assert!(
            cases.len() >= 8,
            "expected at least 8 fixtures in {}",
            dir.display()
        );

        let mut mismatches = Vec::new();
        for (name, (toml, env_file)) in &cases {
            let vars = env_file
                .as_deref()
                .map(read_env_fixture)
                .unwrap_or_default();
            let result = load(toml.as_deref(), &vars, &Overrides::default());
            let Err(errors) = result else {
                mismatches.push(format!(
                    "{name}: loaded without errors, but fixtures must fail"
                ));
                continue;
            };
            let mut actual = errors.to_string();
            if let Some(toml) = toml {
                actual = actual.replace(&toml.display().to_string(), "FILE");
            }
            actual.push('\n');
            let expected_path = dir.join(format!("{name}.expected"));
            if update {
                std::fs::write(&expected_path, &actual).expect("write golden");
                continue;
            }
            let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
            if expected != actual {
                mismatches.push(format!(
                    "--- {name}.expected\n{expected}+++ actual\n{actual}"
                ));
            }
        }
        assert!(
            mismatches.is_empty(),
            "golden mismatches (rerun with UPDATE_GOLDEN=1 to accept):\n{}",
            mismatches.join("\n")
        );
    }
}
