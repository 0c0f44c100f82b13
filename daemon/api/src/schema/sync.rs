//! Marketplace sync over GraphQL: what each connection last did (runs, cursors, deliveries) and the
//! mutations that start a sync or pause a connection.

use super::catalog::Connection;
use super::types::row_id;
use crate::auth::{Need, workspace_for};
use crate::error::{from_store, gql_error};
use async_graphql::{Context, ErrorExtensions, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use creatorflow_core::{ConnectionId, DomainEvent, ErrorCode, EventBus, WorkspaceId};
use creatorflow_store::Store;
use creatorflow_store::entity::{connection, sync_cursor, sync_run, webhook_delivery};
use creatorflow_sync::{RunKind, SyncEngine, parse_entity};

/// Most rows a history field returns.
const MAX_HISTORY: u64 = 200;

/// One execution of a sync of one entity.
#[derive(SimpleObject)]
pub struct SyncRun {
    pub id: ID,
    pub entity: String,
    /// backfill, incremental or webhook.
    pub kind: String,
    /// running, succeeded, failed or interrupted (the daemon stopped; the next run resumes from the cursor).
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub pages: i64,
    pub records: i64,
    pub error: Option<String>,
    pub cursor_before: Option<String>,
    pub cursor_after: Option<String>,
}

impl From<sync_run::Model> for SyncRun {
    fn from(r: sync_run::Model) -> Self {
        Self {
            id: ID(r.id.to_string()),
            entity: r.entity,
            kind: r.kind,
            status: r.status,
            started_at: r.started_at,
            finished_at: r.finished_at,
            pages: r.pages,
            records: r.records,
            error: r.error,
            cursor_before: r.cursor_before,
            cursor_after: r.cursor_after,
        }
    }
}

/// Where the next sync of one entity resumes.
#[derive(SimpleObject)]
pub struct SyncCursor {
    pub entity: String,
    /// Opaque to the daemon; meaningful to the connector.
    pub cursor: String,
    pub updated_at: DateTime<Utc>,
}

impl From<sync_cursor::Model> for SyncCursor {
    fn from(c: sync_cursor::Model) -> Self {
        Self {
            entity: c.entity,
            cursor: c.cursor,
            updated_at: c.updated_at,
        }
    }
}

/// One webhook request and its outcome.
#[derive(SimpleObject)]
pub struct WebhookDelivery {
    pub id: ID,
    pub delivery_id: Option<String>,
    pub topic: Option<String>,
    /// applied, duplicate, unauthorized, malformed, refused, paused or failed.
    pub outcome: String,
    pub status_code: i32,
    pub records: i64,
    pub latency_micros: i64,
    pub error: Option<String>,
    pub received_at: DateTime<Utc>,
}

impl From<webhook_delivery::Model> for WebhookDelivery {
    fn from(d: webhook_delivery::Model) -> Self {
        Self {
            id: ID(d.id.to_string()),
            delivery_id: d.delivery_id,
            topic: d.topic,
            outcome: d.outcome,
            status_code: d.status_code,
            records: d.records,
            latency_micros: d.latency_us,
            error: d.error,
            received_at: d.received_at,
        }
    }
}

/// Sync fields of a connection (resolved on [`Connection`]).
pub(crate) async fn runs(
    ctx: &Context<'_>,
    c: &connection::Model,
    first: Option<i32>,
) -> Result<Vec<SyncRun>> {
    let limit = history_limit(first);
    let store = ctx.data::<Store>()?;
    Ok(store
        .sync_runs(ConnectionId(c.id), limit)
        .await
        .map_err(from_store)?
        .into_iter()
        .map(SyncRun::from)
        .collect())
}

pub(crate) async fn cursors(ctx: &Context<'_>, c: &connection::Model) -> Result<Vec<SyncCursor>> {
    let store = ctx.data::<Store>()?;
    Ok(store
        .cursors(ConnectionId(c.id))
        .await
        .map_err(from_store)?
        .into_iter()
        .map(SyncCursor::from)
        .collect())
}

pub(crate) async fn deliveries(
    ctx: &Context<'_>,
    c: &connection::Model,
    first: Option<i32>,
) -> Result<Vec<WebhookDelivery>> {
    let limit = history_limit(first);
    let store = ctx.data::<Store>()?;
    Ok(store
        .webhook_deliveries(ConnectionId(c.id), limit)
        .await
        .map_err(from_store)?
        .into_iter()
        .map(WebhookDelivery::from)
        .collect())
}

fn history_limit(first: Option<i32>) -> u64 {
    first
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(20)
        .clamp(1, MAX_HISTORY)
}

/// A connection of a workspace the caller may use with `need`.
async fn connection_for(
    ctx: &Context<'_>,
    workspace: &str,
    id: &ID,
    need: Need,
) -> Result<connection::Model> {
    let ws = workspace_for(ctx, workspace, need).await?;
    let id = row_id(id)?;
    let store = ctx.data::<Store>()?;
    creatorflow_store::catalog::get_connection(store.db(), ws.id, id)
        .await
        .map_err(crate::error::from_catalog)?
        .ok_or_else(|| gql_error(ErrorCode::NotFound, format!("connection {id} not found")))
}

#[derive(Default)]
pub struct SyncMutation;

#[Object]
impl SyncMutation {
    /// Syncs a connection now: one entity (`orders`, `products`, `stock`, …) or every entity its connector
    /// offers. With `wait`, answers when the runs end (within the request timeout) and returns them;
    /// otherwise starts them in the background and returns at once (see `syncRuns`).
    async fn trigger_sync(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        connection: ID,
        entity: Option<String>,
        #[graphql(default = false)] wait: bool,
    ) -> Result<Vec<SyncRun>> {
        let model = connection_for(ctx, &workspace, &connection, Need::WriteData).await?;
        let id = ConnectionId(model.id);
        let entity = match entity.as_deref() {
            Some(name) => Some(parse_entity(name).ok_or_else(|| {
                gql_error(
                    ErrorCode::BadUserInput,
                    format!("`entity`: unknown entity `{name}`"),
                )
                .extend_with(|_, e| e.set("field", "entity"))
            })?),
            None => None,
        };
        let engine = ctx.data::<SyncEngine>()?.clone();
        let job = async move {
            match entity {
                Some(entity) => engine
                    .run(id, entity, RunKind::Incremental, None)
                    .await
                    .map(|r| vec![r]),
                None => engine.sync_all(id, RunKind::Incremental, None).await,
            }
        };
        if !wait {
            tokio::spawn(async move {
                if let Err(e) = job.await {
                    tracing::warn!(connection = id.0, error = %e, "Triggered sync failed");
                }
            });
            return Ok(Vec::new());
        }
        match job.await {
            Ok(reports) => Ok(reports.into_iter().map(|r| SyncRun::from(r.run)).collect()),
            Err(e) => Err(sync_error(e)),
        }
    }

    /// Pauses (`paused`) or resumes (`active`) a connection: a paused one is neither scheduled nor accepts
    /// webhooks (they are answered 409 so the channel retries later).
    async fn set_connection_status(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        connection: ID,
        status: String,
    ) -> Result<Connection> {
        if !matches!(status.as_str(), "active" | "paused") {
            return Err(gql_error(
                ErrorCode::BadUserInput,
                "`status`: must be `active` or `paused`",
            )
            .extend_with(|_, e| e.set("field", "status")));
        }
        let model = connection_for(ctx, &workspace, &connection, Need::Administer).await?;
        let store = ctx.data::<Store>()?;
        let row = store
            .set_connection_status(ConnectionId(model.id), &status)
            .await
            .map_err(from_store)?;
        ctx.data::<EventBus>()?
            .publish(DomainEvent::ConnectionChanged {
                workspace_id: WorkspaceId(row.workspace_id),
                connection_id: ConnectionId(row.id),
                status: row.status.clone(),
            });
        Ok(Connection(row))
    }
}

/// A failed sync as a GraphQL error with a stable code.
fn sync_error(e: creatorflow_sync::SyncError) -> async_graphql::Error {
    use creatorflow_sync::SyncError as E;
    let code = match &e {
        E::NotFound(_) => ErrorCode::NotFound,
        E::Inactive { .. } => ErrorCode::Conflict,
        E::Config { .. } => ErrorCode::BadUserInput,
        E::Plugin(p) if p.kind.code() == "PLUGIN_NOT_LOADED" => ErrorCode::NotFound,
        E::Plugin(_) => ErrorCode::PluginFailed,
        // The marketplace sent something the daemon refuses to store; the run names the record.
        E::Record(_) | E::Refused { .. } => ErrorCode::Rejected,
        E::Store(creatorflow_store::StoreError::Db(d)) if creatorflow_store::is_busy(d) => {
            ErrorCode::Busy
        }
        _ => ErrorCode::Internal,
    };
    gql_error(code, e.to_string())
}
