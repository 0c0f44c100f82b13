//! Dispatch of one event inside an open transaction: dedupe first, then the payload's effects.

use crate::{IngestError, Outcome, catalog, inventory, marketing, orders, settings};
use chrono::{DateTime, Utc};
use creatorflow_core::ingest::{IngestEvent, Payload, Source};
use creatorflow_core::{DomainEvent, WorkspaceId};
use creatorflow_store::entity::{connection, ingest_event};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set,
    TryInsertResult,
};

/// What every effect of one event needs to know.
pub(crate) struct Ctx<'a> {
    pub txn: &'a DatabaseTransaction,
    pub event: &'a IngestEvent,
    pub workspace_id: i64,
    pub connection_id: i64,
    pub settings: settings::Settings,
    pub now: DateTime<Utc>,
    pub published: &'a mut Vec<DomainEvent>,
}

impl Ctx<'_> {
    pub fn ws(&self) -> WorkspaceId {
        WorkspaceId(self.workspace_id)
    }
}

pub(crate) async fn one(
    txn: &DatabaseTransaction,
    event: &IngestEvent,
    published: &mut Vec<DomainEvent>,
) -> Result<Outcome, IngestError> {
    let ws = event.workspace_id.0;
    // Writing the dedupe row first also takes SQLite's write lock at the start of the transaction, so a
    // concurrent writer waits instead of failing on a read-to-write upgrade.
    if !remember(txn, event).await? {
        return Ok(Outcome::Duplicate);
    }
    let connection_id = connection_for(txn, ws, &event.source).await?;
    let settings = settings::load(txn, ws).await?;
    let mut ctx = Ctx {
        txn,
        event,
        workspace_id: ws,
        connection_id,
        settings,
        now: Utc::now(),
        published,
    };
    match &event.payload {
        Payload::ProductUpserted(p) => catalog::upsert_product(&mut ctx, p).await,
        Payload::OrderUpserted(o) => orders::upsert(&mut ctx, o).await,
        Payload::OrderStatusChanged(s) => orders::status_changed(&mut ctx, s).await,
        Payload::RefundRecorded(r) => orders::refund(&mut ctx, r).await,
        Payload::ShipmentRecorded(s) => orders::shipment(&mut ctx, s).await,
        Payload::InventorySet(s) => inventory::set(&mut ctx, s).await,
        Payload::InventoryAdjusted(a) => inventory::adjust(&mut ctx, a).await,
        Payload::InventoryTransferred(t) => inventory::transfer(&mut ctx, t).await,
        Payload::InventoryPolicySet(p) => inventory::policy(&mut ctx, p).await,
        Payload::AdSpendRecorded(a) => marketing::ad_spend(&mut ctx, a).await,
        Payload::ContentMetricsRecorded(c) => marketing::content(&mut ctx, c).await,
        Payload::FunnelEventRecorded(f) => marketing::funnel(&mut ctx, f).await,
    }
}

/// Records the event's source id; `false` when it was already there.
async fn remember(txn: &DatabaseTransaction, event: &IngestEvent) -> Result<bool, IngestError> {
    let row = ingest_event::ActiveModel {
        workspace_id: Set(event.workspace_id.0),
        source: Set(event.source.key()),
        source_event_id: Set(event.source_event_id.clone()),
        kind: Set(event.payload.kind().to_owned()),
        received_at: Set(Utc::now()),
        ..Default::default()
    };
    let res = ingest_event::Entity::insert(row)
        .on_conflict_do_nothing_on([
            ingest_event::Column::WorkspaceId,
            ingest_event::Column::Source,
            ingest_event::Column::SourceEventId,
        ])
        .exec_without_returning(txn)
        .await;
    match res {
        Ok(TryInsertResult::Inserted(n)) => Ok(n > 0),
        Ok(TryInsertResult::Conflicted) => Ok(false),
        Ok(TryInsertResult::Empty) => Ok(false),
        Err(e) if is_fk_violation(&e) => Err(IngestError::NotFound(format!(
            "workspace {} does not exist",
            event.workspace_id
        ))),
        Err(e) => Err(e.into()),
    }
}

fn is_fk_violation(e: &sea_orm::DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
    )
}

/// The connection rows of an event belong to. Manual and CSV input get one connection per workspace, so
/// every order still has a `(connection, external id)` key.
async fn connection_for(
    txn: &impl ConnectionTrait,
    ws: i64,
    source: &Source,
) -> Result<i64, IngestError> {
    let (kind, name) = match source {
        Source::Connection(id) => {
            let c = connection::Entity::find_by_id(id.0)
                .one(txn)
                .await?
                .filter(|c| c.workspace_id == ws)
                .ok_or_else(|| {
                    IngestError::NotFound(format!("connection {id} not found in this workspace"))
                })?;
            return Ok(c.id);
        }
        Source::Manual => ("manual", "Manual entry"),
        Source::Csv => ("csv", "CSV import"),
    };
    let find = || {
        connection::Entity::find()
            .filter(connection::Column::WorkspaceId.eq(ws))
            .filter(connection::Column::Kind.eq(kind))
            .filter(connection::Column::ExternalShopId.eq(kind))
            .one(txn)
    };
    if let Some(c) = find().await? {
        return Ok(c.id);
    }
    let now = Utc::now();
    connection::Entity::insert(connection::ActiveModel {
        workspace_id: Set(ws),
        kind: Set(kind.into()),
        name: Set(name.into()),
        external_shop_id: Set(Some(kind.into())),
        status: Set("active".into()),
        credentials_ciphertext: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([
        connection::Column::WorkspaceId,
        connection::Column::Kind,
        connection::Column::ExternalShopId,
    ])
    .exec_without_returning(txn)
    .await?;
    find()
        .await?
        .map(|c| c.id)
        .ok_or_else(|| IngestError::Rejected(format!("could not create the {kind} connection")))
}
