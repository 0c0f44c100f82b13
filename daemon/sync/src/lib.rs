//! Marketplace sync. A connection's connector plugin is driven page by page; each page's events and its new
//! cursor commit in one transaction through the ingest pipeline, so a failed page never advances the cursor
//! and a restart resumes from the last committed page. Webhooks take the same path one delivery at a time.

pub mod map;
mod push;
mod schedule;
mod webhook;

pub use webhook::{Delivery, WebhookReply};

use chrono::Utc;
use creatorflow_core::{ConnectionId, WorkspaceId};
use creatorflow_ingest::Ingest;
use creatorflow_plugin_host::model::{Entity, Page};
use creatorflow_plugin_host::{
    CallContext, ConnectorHandle, ErrorKind, PluginError, PluginHost, SecretValue, Secrets,
};
use creatorflow_store::entity::{connection, sync_run};
use creatorflow_store::sync::{NewRun, record_page, save_cursor};
use creatorflow_store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Settings of the sync engine (the `[sync]` section of the daemon's configuration).
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// How far back the first sync of a connection reaches.
    pub backfill_days: u32,
    /// Attempts per page before a run fails (rate limits, upstream errors, timeouts).
    pub max_attempts: u32,
    /// First retry delay; doubled on each further attempt.
    pub retry_base: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            backfill_days: 90,
            max_attempts: 6,
            retry_base: Duration::from_millis(250),
        }
    }
}

/// Why a sync or webhook could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("connection {0} not found")]
    NotFound(ConnectionId),
    #[error("connection {id} is {status}; resume it first")]
    Inactive { id: ConnectionId, status: String },
    #[error("connection {id} has malformed settings: {message}")]
    Config { id: ConnectionId, message: String },
    #[error("{0}")]
    Plugin(#[from] PluginError),
    #[error("{0}")]
    Record(#[from] map::MapError),
    #[error("page refused: event {index}: {message}")]
    Refused { index: usize, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run: sync_run::Model,
    pub pages: u64,
    pub records: u64,
    pub applied: u64,
}

/// A run's kind, stored with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Backfill,
    Incremental,
    Webhook,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Backfill => "backfill",
            RunKind::Incremental => "incremental",
            RunKind::Webhook => "webhook",
        }
    }
}

/// Progress of a run after each committed page.
pub type Progress = Arc<dyn Fn(&RunProgress) + Send + Sync>;

#[derive(Debug, Clone)]
pub struct RunProgress {
    pub connection_id: ConnectionId,
    pub entity: Entity,
    pub pages: u64,
    pub records: u64,
}

/// Held while a run of one (connection, entity) is under way.
type RunSlot = Arc<tokio::sync::Mutex<()>>;

/// The sync engine, shared by the scheduler, webhooks, GraphQL and the CLI.
#[derive(Clone)]
pub struct SyncEngine {
    ingest: Ingest,
    host: PluginHost,
    settings: SyncSettings,
    /// One run per (connection, entity) at a time; a second caller waits and then runs from the newer cursor.
    running: Arc<Mutex<HashMap<(i64, Entity), RunSlot>>>,
}

/// A connection ready for calls.
pub(crate) struct Opened {
    pub model: connection::Model,
    pub handle: ConnectorHandle,
    pub call: CallContext,
    pub target: map::Target,
}

impl SyncEngine {
    pub fn new(ingest: Ingest, host: PluginHost, settings: SyncSettings) -> Self {
        Self {
            ingest,
            host,
            settings,
            running: Arc::default(),
        }
    }

    pub fn store(&self) -> &Store {
        self.ingest.store()
    }

    /// The plugin that serves a connection: its `plugin` setting, else its kind (`tiktok_shop` →
    /// `tiktok-shop`).
    pub fn plugin_id(model: &connection::Model) -> String {
        settings(model)
            .ok()
            .and_then(|s| s.get("plugin").cloned())
            .unwrap_or_else(|| model.kind.replace('_', "-"))
    }

    pub(crate) async fn open(&self, id: ConnectionId) -> Result<Opened, SyncError> {
        let model = self
            .store()
            .connection_by_id(id)
            .await?
            .ok_or(SyncError::NotFound(id))?;
        let handle = self.host.connector(&Self::plugin_id(&model))?;
        let mut config = settings(&model).map_err(|message| SyncError::Config { id, message })?;
        config.entry("since".into()).or_insert_with(|| {
            let since = Utc::now() - chrono::Duration::days(i64::from(self.settings.backfill_days));
            since.timestamp().to_string()
        });
        let secrets = match self.store().connection_credentials(&model)? {
            Some(plain) => secrets(&plain).map_err(|message| SyncError::Config { id, message })?,
            None => Secrets::default(),
        };
        Ok(Opened {
            target: map::Target {
                workspace_id: WorkspaceId(model.workspace_id),
                connection_id: id,
            },
            call: CallContext {
                connection: format!("connection:{}", model.id),
                config: config.into_iter().collect(),
                secrets,
            },
            model,
            handle,
        })
    }

    /// Syncs one entity of a connection from its stored cursor until the connector has no more pages.
    #[tracing::instrument(name = "sync.run", skip(self, progress), fields(connection = %id, entity = ?entity))]
    pub async fn run(
        &self,
        id: ConnectionId,
        entity: Entity,
        kind: RunKind,
        progress: Option<Progress>,
    ) -> Result<RunReport, SyncError> {
        let slot = {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            running.entry((id.0, entity)).or_default().clone()
        };
        let _running = slot.lock().await;
        let opened = self.open(id).await?;
        if opened.model.status != "active" {
            return Err(SyncError::Inactive {
                id,
                status: opened.model.status.clone(),
            });
        }
        let name = entity_name(entity);
        let mut cursor = self.store().cursor(id, name).await?;
        // The first sync of an entity is a backfill, however it was started.
        let kind = match (&cursor, kind) {
            (None, RunKind::Incremental) => RunKind::Backfill,
            _ => kind,
        };
        let run = self
            .store()
            .start_run(NewRun {
                workspace_id: opened.target.workspace_id,
                connection_id: id,
                entity: name,
                kind: kind.as_str(),
                cursor_before: cursor.clone(),
            })
            .await?;
        let mut report = RunReport {
            run: run.clone(),
            pages: 0,
            records: 0,
            applied: 0,
        };
        // Units held by open orders, read once per stock run rather than once per page (a stock run over a
        // large catalogue has many pages).
        let reserved = if entity == Entity::Stock {
            self.reserved(opened.target.workspace_id).await?
        } else {
            map::Reserved::new()
        };
        let outcome = async {
            loop {
                let page = self.page(&opened, entity, cursor.as_deref()).await?;
                let applied = self.commit(&opened, &run, entity, &page, &reserved).await?;
                report.pages += 1;
                report.records += page.records.len() as u64;
                report.applied += applied;
                metrics::counter!("creatorflow_sync_records_total", "entity" => name)
                    .increment(page.records.len() as u64);
                if let Some(progress) = &progress {
                    progress(&RunProgress {
                        connection_id: id,
                        entity,
                        pages: report.pages,
                        records: report.records,
                    });
                }
                if page.next_cursor.is_some() {
                    cursor.clone_from(&page.next_cursor);
                }
                if !page.has_more {
                    return Ok::<(), SyncError>(());
                }
            }
        }
        .await;
        let error = outcome.as_ref().err().map(ToString::to_string);
        report.run = self.store().finish_run(&run, error.as_deref()).await?;
        metrics::counter!(
            "creatorflow_sync_runs_total",
            "outcome" => if error.is_some() { "failed" } else { "succeeded" }
        )
        .increment(1);
        outcome.map(|()| report)
    }

    /// Entities a connection's connector can sync, in the order a full sync takes them: catalog first so
    /// orders find their SKUs, stock last so it counts the orders already stored.
    pub async fn entities(&self, id: ConnectionId) -> Result<Vec<Entity>, SyncError> {
        let opened = self.open(id).await?;
        let info = opened.handle.describe().await?;
        let order = [
            Entity::Products,
            Entity::Variants,
            Entity::Customers,
            Entity::Orders,
            Entity::Shipments,
            Entity::Refunds,
            Entity::AdSpend,
            Entity::ContentMetrics,
            Entity::Stock,
        ];
        Ok(order
            .into_iter()
            .filter(|e| info.entities.contains(e))
            .collect())
    }

    /// Every entity of a connection, one run each; the first failure stops the sync and is returned.
    pub async fn sync_all(
        &self,
        id: ConnectionId,
        kind: RunKind,
        progress: Option<Progress>,
    ) -> Result<Vec<RunReport>, SyncError> {
        let mut reports = Vec::new();
        for entity in self.entities(id).await? {
            reports.push(self.run(id, entity, kind, progress.clone()).await?);
        }
        Ok(reports)
    }

    /// One page, retried on what retrying can fix: throttling (after the delay the channel asked for),
    /// upstream failures, timeouts and a busy host (with exponential backoff).
    async fn page(
        &self,
        opened: &Opened,
        entity: Entity,
        cursor: Option<&str>,
    ) -> Result<Page, SyncError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match opened.handle.sync_page(&opened.call, entity, cursor).await {
                Ok(page) => return Ok(page),
                Err(e) => e,
            };
            let Some(wait) = self.retry_delay(&error.kind, attempt) else {
                return Err(error.into());
            };
            tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, error = %error, "Page failed; retrying");
            metrics::counter!("creatorflow_sync_retries_total", "code" => error.kind.code())
                .increment(1);
            tokio::time::sleep(wait).await;
        }
    }

    fn retry_delay(&self, kind: &ErrorKind, attempt: u32) -> Option<Duration> {
        use creatorflow_plugin_host::model::ReportedError as R;
        if attempt >= self.settings.max_attempts {
            return None;
        }
        let backoff = self
            .settings
            .retry_base
            .saturating_mul(1 << (attempt - 1).min(10));
        match kind {
            ErrorKind::Reported(R::RateLimited(ms)) => Some(
                ms.map_or(backoff, Duration::from_millis)
                    .min(Duration::from_secs(60)),
            ),
            ErrorKind::Reported(R::Upstream(_))
            | ErrorKind::WallTimeout { .. }
            | ErrorKind::Busy { .. } => Some(backoff),
            ErrorKind::CircuitOpen { retry_in_ms, .. } => Some(Duration::from_millis(*retry_in_ms)),
            _ => None,
        }
    }

    /// Stores a page and its cursor in one transaction; returns how many events changed something.
    async fn commit(
        &self,
        opened: &Opened,
        run: &sync_run::Model,
        entity: Entity,
        page: &Page,
        reserved: &map::Reserved,
    ) -> Result<u64, SyncError> {
        let events = map::events(opened.target, &page.records, reserved)?;
        let target = opened.target;
        let name = entity_name(entity);
        let next = page.next_cursor.clone();
        let run_id = run.id;
        let records = page.records.len() as i64;
        let outcomes = self
            .ingest
            .apply_page(&events, move |txn| {
                Box::pin(async move {
                    if let Some(cursor) = &next {
                        save_cursor(txn, target.workspace_id, target.connection_id, name, cursor)
                            .await?;
                    }
                    record_page(txn, run_id, records, next.as_deref()).await
                })
            })
            .await
            .map_err(|(index, e)| SyncError::Refused {
                index,
                message: e.to_string(),
            })?;
        Ok(outcomes
            .iter()
            .filter(|o| **o == creatorflow_ingest::Outcome::Applied)
            .count() as u64)
    }

    /// Units held by open orders per (SKU, location): a channel reports what is left to sell, the ledger
    /// counts what is on the shelf.
    async fn reserved(&self, ws: WorkspaceId) -> Result<map::Reserved, SyncError> {
        let rows = creatorflow_store::stock::all_stock(self.store(), ws.0)
            .await
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let location =
                    (r.location != creatorflow_ingest::DEFAULT_LOCATION).then_some(r.location);
                ((r.sku, location), r.level.committed)
            })
            .collect())
    }
}

/// The stable name of an entity in cursors and runs.
pub fn entity_name(entity: Entity) -> &'static str {
    match entity {
        Entity::Orders => "orders",
        Entity::Products => "products",
        Entity::Variants => "variants",
        Entity::Stock => "stock",
        Entity::Customers => "customers",
        Entity::Shipments => "shipments",
        Entity::Refunds => "refunds",
        Entity::AdSpend => "ad_spend",
        Entity::ContentMetrics => "content_metrics",
    }
}

pub fn parse_entity(name: &str) -> Option<Entity> {
    [
        Entity::Orders,
        Entity::Products,
        Entity::Variants,
        Entity::Stock,
        Entity::Customers,
        Entity::Shipments,
        Entity::Refunds,
        Entity::AdSpend,
        Entity::ContentMetrics,
    ]
    .into_iter()
    .find(|e| entity_name(*e) == name)
}

/// A connection's settings: a JSON object whose values are strings (numbers and booleans are accepted and
/// passed on as text).
fn settings(
    model: &connection::Model,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let value: serde_json::Value =
        serde_json::from_str(&model.config).map_err(|e| format!("config is not JSON: {e}"))?;
    let serde_json::Value::Object(map) = value else {
        return Err("config must be a JSON object".into());
    };
    map.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            serde_json::Value::Number(n) => Ok((k, n.to_string())),
            serde_json::Value::Bool(b) => Ok((k, b.to_string())),
            _ => Err(format!("config `{k}` must be a string")),
        })
        .collect()
}

/// Credentials are a JSON object of named secrets (`{"app_secret": "…", "access_token": "…"}`).
fn secrets(plain: &[u8]) -> Result<Secrets, String> {
    let map: HashMap<String, serde_json::Value> = serde_json::from_slice(plain)
        .map_err(|_| "credentials must be a JSON object of strings".to_owned())?;
    map.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, SecretValue::new(s))),
            _ => Err(format!("credential `{k}` must be a string")),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Secrets::new)
}
