//! Sync bookkeeping: where each entity of a connection resumes (cursors), what each run did, and every
//! webhook delivery. Cursor writes take the caller's transaction so a page and its cursor commit together.

use crate::entity::{connection, sync_cursor, sync_run, webhook_delivery};
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use creatorflow_core::{ConnectionId, WorkspaceId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

/// A run as it starts.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub workspace_id: WorkspaceId,
    pub connection_id: ConnectionId,
    pub entity: &'a str,
    /// backfill, incremental, reconcile or webhook.
    pub kind: &'a str,
    pub cursor_before: Option<String>,
}

/// One webhook request and what became of it.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub workspace_id: WorkspaceId,
    pub connection_id: ConnectionId,
    pub delivery_id: Option<String>,
    pub topic: Option<String>,
    pub outcome: String,
    pub status_code: u16,
    pub records: i64,
    pub latency_us: i64,
    pub error: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// Writes the cursor of `entity` inside the caller's transaction.
pub async fn save_cursor(
    db: &impl ConnectionTrait,
    workspace_id: WorkspaceId,
    connection_id: ConnectionId,
    entity: &str,
    cursor: &str,
) -> Result<(), sea_orm::DbErr> {
    sync_cursor::Entity::insert(sync_cursor::ActiveModel {
        workspace_id: Set(workspace_id.0),
        connection_id: Set(connection_id.0),
        entity: Set(entity.to_owned()),
        cursor: Set(cursor.to_owned()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            sync_cursor::Column::ConnectionId,
            sync_cursor::Column::Entity,
        ])
        .update_columns([sync_cursor::Column::Cursor, sync_cursor::Column::UpdatedAt])
        .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// Counts a committed page against its run, inside the page's transaction.
pub async fn record_page(
    db: &impl ConnectionTrait,
    run_id: i64,
    records: i64,
    cursor_after: Option<&str>,
) -> Result<(), sea_orm::DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let mut update = sync_run::Entity::update_many()
        .col_expr(
            sync_run::Column::Pages,
            Expr::col(sync_run::Column::Pages).add(1),
        )
        .col_expr(
            sync_run::Column::Records,
            Expr::col(sync_run::Column::Records).add(records),
        );
    if let Some(cursor) = cursor_after {
        update = update.col_expr(sync_run::Column::CursorAfter, Expr::value(cursor));
    }
    update
        .filter(sync_run::Column::Id.eq(run_id))
        .exec(db)
        .await?;
    Ok(())
}

impl Store {
    /// Any connection by id, whatever its workspace: webhooks and jobs address connections directly.
    pub async fn connection_by_id(
        &self,
        id: ConnectionId,
    ) -> Result<Option<connection::Model>, StoreError> {
        Ok(connection::Entity::find_by_id(id.0).one(self.db()).await?)
    }

    /// Active connections of every workspace, for the scheduler.
    pub async fn active_connections(&self) -> Result<Vec<connection::Model>, StoreError> {
        Ok(connection::Entity::find()
            .filter(connection::Column::Status.eq("active"))
            .order_by_asc(connection::Column::Id)
            .all(self.db())
            .await?)
    }

    /// Pauses or resumes a connection.
    pub async fn set_connection_status(
        &self,
        id: ConnectionId,
        status: &str,
    ) -> Result<connection::Model, StoreError> {
        let row = connection::Entity::find_by_id(id.0)
            .one(self.db())
            .await?
            .ok_or_else(|| StoreError::not_found(format!("connection {id}")))?;
        let mut active: connection::ActiveModel = row.into();
        active.status = Set(status.to_owned());
        active.updated_at = Set(Utc::now());
        Ok(active.update(self.db()).await?)
    }

    pub async fn cursor(
        &self,
        connection_id: ConnectionId,
        entity: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(sync_cursor::Entity::find()
            .filter(sync_cursor::Column::ConnectionId.eq(connection_id.0))
            .filter(sync_cursor::Column::Entity.eq(entity))
            .one(self.db())
            .await?
            .map(|c| c.cursor))
    }

    pub async fn cursors(
        &self,
        connection_id: ConnectionId,
    ) -> Result<Vec<sync_cursor::Model>, StoreError> {
        Ok(sync_cursor::Entity::find()
            .filter(sync_cursor::Column::ConnectionId.eq(connection_id.0))
            .order_by_asc(sync_cursor::Column::Entity)
            .all(self.db())
            .await?)
    }

    pub async fn start_run(&self, new: NewRun<'_>) -> Result<sync_run::Model, StoreError> {
        Ok(sync_run::ActiveModel {
            workspace_id: Set(new.workspace_id.0),
            connection_id: Set(new.connection_id.0),
            entity: Set(new.entity.to_owned()),
            status: Set("running".into()),
            started_at: Set(Utc::now()),
            finished_at: Set(None),
            records: Set(0),
            error: Set(None),
            kind: Set(new.kind.to_owned()),
            pages: Set(0),
            cursor_before: Set(new.cursor_before),
            cursor_after: Set(None),
            ..Default::default()
        }
        .insert(self.db())
        .await?)
    }

    /// Ends a run (`succeeded` or `failed`) and sets or clears the connection's last error with it.
    pub async fn finish_run(
        &self,
        run: &sync_run::Model,
        error: Option<&str>,
    ) -> Result<sync_run::Model, StoreError> {
        use sea_orm::TransactionTrait;
        let txn = self.db().begin().await?;
        let current = sync_run::Entity::find_by_id(run.id)
            .one(&txn)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("sync run {}", run.id)))?;
        let mut active: sync_run::ActiveModel = current.into();
        active.status = Set(if error.is_some() {
            "failed"
        } else {
            "succeeded"
        }
        .into());
        active.finished_at = Set(Some(Utc::now()));
        active.error = Set(error.map(str::to_owned));
        let finished = active.update(&txn).await?;
        connection::Entity::update_many()
            .col_expr(
                connection::Column::LastError,
                sea_orm::sea_query::Expr::value(error.map(str::to_owned)),
            )
            .filter(connection::Column::Id.eq(run.connection_id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(finished)
    }

    /// Runs of a connection, newest first.
    pub async fn sync_runs(
        &self,
        connection_id: ConnectionId,
        limit: u64,
    ) -> Result<Vec<sync_run::Model>, StoreError> {
        Ok(sync_run::Entity::find()
            .filter(sync_run::Column::ConnectionId.eq(connection_id.0))
            .order_by_desc(sync_run::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?)
    }

    /// Runs left `running` by a daemon that stopped mid-run; they are closed as interrupted at start.
    pub async fn close_interrupted_runs(&self) -> Result<u64, StoreError> {
        use sea_orm::sea_query::Expr;
        let result = sync_run::Entity::update_many()
            .col_expr(sync_run::Column::Status, Expr::value("interrupted"))
            .col_expr(sync_run::Column::FinishedAt, Expr::value(Utc::now()))
            .filter(sync_run::Column::Status.eq("running"))
            .exec(self.db())
            .await?;
        Ok(result.rows_affected)
    }

    pub async fn record_delivery(
        &self,
        new: NewDelivery,
    ) -> Result<webhook_delivery::Model, StoreError> {
        Ok(webhook_delivery::ActiveModel {
            workspace_id: Set(new.workspace_id.0),
            connection_id: Set(new.connection_id.0),
            delivery_id: Set(new.delivery_id),
            topic: Set(new.topic),
            outcome: Set(new.outcome),
            status_code: Set(i32::from(new.status_code)),
            records: Set(new.records),
            latency_us: Set(new.latency_us),
            error: Set(new.error),
            received_at: Set(new.received_at),
            ..Default::default()
        }
        .insert(self.db())
        .await?)
    }

    /// Deliveries of a connection, newest first.
    pub async fn webhook_deliveries(
        &self,
        connection_id: ConnectionId,
        limit: u64,
    ) -> Result<Vec<webhook_delivery::Model>, StoreError> {
        Ok(webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::ConnectionId.eq(connection_id.0))
            .order_by_desc(webhook_delivery::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?)
    }
}
