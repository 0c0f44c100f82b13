//! Dispatch of one event inside an open transaction: dedupe first, then the payload's effects.

use crate::{IngestError, Outcome, catalog, inventory, marketing, order_batch, orders, settings};
use chrono::{DateTime, Utc};
use creatorflow_core::ingest::{IngestEvent, Payload, Source};
use creatorflow_core::{DomainEvent, WorkspaceId};
use creatorflow_store::bulk;
use creatorflow_store::entity::{alert_event, connection, ingest_event, location, variant};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, Set,
    TryInsertResult,
};
use std::collections::{HashMap, HashSet};

/// Lookups that repeat across the events of one transaction. Only rows read or written inside that
/// transaction are kept, and the whole cache is dropped when a savepoint rolls back, so it never serves a row
/// the database does not hold.
#[derive(Default)]
pub(crate) struct Cache {
    pub settings: HashMap<i64, settings::Settings>,
    pub connections: HashMap<(i64, String), i64>,
    pub locations: HashMap<(i64, String), location::Model>,
    pub locations_by_id: HashMap<i64, location::Model>,
    pub variants: HashMap<(i64, String), variant::Model>,
    pub variants_by_id: HashMap<i64, variant::Model>,
    pub levels: HashSet<(i64, i64)>,
    /// Kinds of unresolved alerts per (workspace, subject), loaded per subject on first use, so threshold
    /// checks query once per subject and transaction.
    pub open_alerts: HashMap<(i64, String), HashSet<String>>,
}

impl Cache {
    /// Variant rows change when a product is upserted.
    pub fn forget_variants(&mut self) {
        self.variants.clear();
        self.variants_by_id.clear();
    }

    pub fn remember_variant(&mut self, v: variant::Model) {
        self.variants_by_id.insert(v.id, v.clone());
        self.variants.insert((v.workspace_id, v.sku.clone()), v);
    }

    /// The workspace's stock location by name (created on first use); `None` means the default location.
    pub async fn location(
        &mut self,
        txn: &DatabaseTransaction,
        ws: i64,
        name: Option<&str>,
    ) -> Result<location::Model, IngestError> {
        let key = (ws, catalog::location_name(name).to_owned());
        if let Some(l) = self.locations.get(&key) {
            return Ok(l.clone());
        }
        let l = catalog::location(txn, ws, Some(&key.1)).await?;
        self.locations_by_id.insert(l.id, l.clone());
        self.locations.insert(key, l.clone());
        Ok(l)
    }

    /// The kinds of the subject's unresolved alerts.
    pub async fn open_alerts(
        &mut self,
        txn: &DatabaseTransaction,
        ws: i64,
        subject: &str,
    ) -> Result<&mut HashSet<String>, IngestError> {
        let key = (ws, subject.to_owned());
        if !self.open_alerts.contains_key(&key) {
            self.load_open_alerts(txn, ws, vec![subject.to_owned()])
                .await?;
        }
        Ok(self.open_alerts.entry(key).or_default())
    }

    /// Loads the unresolved alerts of every subject not known yet, with `IN` queries.
    pub async fn load_open_alerts(
        &mut self,
        txn: &DatabaseTransaction,
        ws: i64,
        subjects: Vec<String>,
    ) -> Result<(), IngestError> {
        use alert_event::Column as A;
        let missing: Vec<String> = subjects
            .into_iter()
            .filter(|s| !self.open_alerts.contains_key(&(ws, s.clone())))
            .collect();
        for chunk in missing.chunks(2000) {
            for s in chunk {
                self.open_alerts.insert((ws, s.clone()), HashSet::new());
            }
            let rows = alert_event::Entity::find()
                .select_only()
                .column(A::Subject)
                .column(A::Kind)
                .filter(A::WorkspaceId.eq(ws))
                .filter(bulk::is_in(txn.get_database_backend(), A::Subject, chunk)?)
                .filter(A::ResolvedAt.is_null())
                .into_tuple::<(String, String)>()
                .all(txn)
                .await?;
            for (subject, kind) in rows {
                self.open_alerts
                    .entry((ws, subject))
                    .or_default()
                    .insert(kind);
            }
        }
        Ok(())
    }
}

/// What every effect of one event needs to know.
pub(crate) struct Ctx<'a> {
    pub txn: &'a DatabaseTransaction,
    pub event: &'a IngestEvent,
    pub workspace_id: i64,
    pub connection_id: i64,
    pub settings: settings::Settings,
    pub now: DateTime<Utc>,
    pub published: &'a mut Vec<DomainEvent>,
    pub cache: &'a mut Cache,
}

impl Ctx<'_> {
    pub fn ws(&self) -> WorkspaceId {
        WorkspaceId(self.workspace_id)
    }

    /// The workspace's stock location by name (created on first use); `None` means the default location.
    pub async fn location(&mut self, name: Option<&str>) -> Result<location::Model, IngestError> {
        self.cache.location(self.txn, self.workspace_id, name).await
    }

    /// The location an order ships from, or the default one.
    pub async fn location_or_default(
        &mut self,
        id: Option<i64>,
    ) -> Result<location::Model, IngestError> {
        if let Some(id) = id {
            if let Some(l) = self.cache.locations_by_id.get(&id) {
                return Ok(l.clone());
            }
            if let Some(l) = location::Entity::find_by_id(id)
                .one(self.txn)
                .await?
                .filter(|l| l.workspace_id == self.workspace_id)
            {
                self.cache.locations_by_id.insert(id, l.clone());
                return Ok(l);
            }
        }
        self.location(None).await
    }

    pub async fn variant_by_sku(
        &mut self,
        sku: &str,
    ) -> Result<Option<variant::Model>, IngestError> {
        let key = (self.workspace_id, sku.to_owned());
        if let Some(v) = self.cache.variants.get(&key) {
            return Ok(Some(v.clone()));
        }
        let v = catalog::variant_by_sku(self.txn, self.workspace_id, sku).await?;
        if let Some(v) = &v {
            self.cache.remember_variant(v.clone());
        }
        Ok(v)
    }

    pub async fn require_variant(&mut self, sku: &str) -> Result<variant::Model, IngestError> {
        self.variant_by_sku(sku).await?.ok_or_else(|| {
            IngestError::NotFound(format!("unknown SKU {sku}; create the product first"))
        })
    }

    /// Whether the level row is known to exist in this transaction; records that it now does.
    pub fn level_known(&mut self, variant_id: i64, location_id: i64) -> bool {
        !self.cache.levels.insert((variant_id, location_id))
    }

    pub async fn open_alerts(
        &mut self,
        subject: &str,
    ) -> Result<&mut HashSet<String>, IngestError> {
        self.cache
            .open_alerts(self.txn, self.workspace_id, subject)
            .await
    }
}

pub(crate) async fn one(
    txn: &DatabaseTransaction,
    event: &IngestEvent,
    published: &mut Vec<DomainEvent>,
    cache: &mut Cache,
) -> Result<Outcome, IngestError> {
    if order_batch::handles(event) {
        let mut results = order_batch::apply(txn, &[event], published, cache).await?;
        return results.pop().unwrap_or_else(|| {
            Err(IngestError::Rejected(
                "the order event produced no result".into(),
            ))
        });
    }
    let ws = event.workspace_id.0;
    // Writing the dedupe row first also takes SQLite's write lock at the start of the transaction, so a
    // concurrent writer waits instead of failing on a read-to-write upgrade.
    if !remember(txn, event).await? {
        return Ok(Outcome::Duplicate);
    }
    let source_key = (ws, event.source.key());
    let connection_id = match cache.connections.get(&source_key) {
        Some(id) => *id,
        None => {
            let id = connection_for(txn, ws, &event.source).await?;
            cache.connections.insert(source_key, id);
            id
        }
    };
    let settings = match cache.settings.get(&ws) {
        Some(s) => s.clone(),
        None => {
            let s = settings::load(txn, ws).await?;
            cache.settings.insert(ws, s.clone());
            s
        }
    };
    let mut ctx = Ctx {
        txn,
        event,
        workspace_id: ws,
        connection_id,
        settings,
        now: Utc::now(),
        published,
        cache,
    };
    match &event.payload {
        Payload::ProductUpserted(p) => catalog::upsert_product(&mut ctx, p).await,
        Payload::OrderUpserted(_)
        | Payload::OrderStatusChanged(_)
        | Payload::ShipmentRecorded(_) => Err(IngestError::invalid(
            "payload",
            "order events are applied in runs",
        )),
        Payload::RefundRecorded(r) => orders::refund(&mut ctx, r).await,
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

/// The connection an event's rows belong to, if it exists. A connection id must belong to the workspace.
pub(crate) async fn find_connection(
    txn: &impl ConnectionTrait,
    ws: i64,
    source: &Source,
) -> Result<Option<i64>, IngestError> {
    let kind = match source {
        Source::Connection(id) => {
            return Ok(connection::Entity::find_by_id(id.0)
                .one(txn)
                .await?
                .filter(|c| c.workspace_id == ws)
                .map(|c| c.id));
        }
        Source::Manual => "manual",
        Source::Csv => "csv",
    };
    Ok(connection::Entity::find()
        .filter(connection::Column::WorkspaceId.eq(ws))
        .filter(connection::Column::Kind.eq(kind))
        .filter(connection::Column::ExternalShopId.eq(kind))
        .one(txn)
        .await?
        .map(|c| c.id))
}

/// The connection rows of an event belong to. Manual and CSV input get one connection per workspace, so
/// every order still has a `(connection, external id)` key.
pub(crate) async fn connection_for(
    txn: &impl ConnectionTrait,
    ws: i64,
    source: &Source,
) -> Result<i64, IngestError> {
    if let Some(id) = find_connection(txn, ws, source).await? {
        return Ok(id);
    }
    let (kind, name) = match source {
        Source::Connection(id) => {
            return Err(IngestError::NotFound(format!(
                "connection {id} not found in this workspace"
            )));
        }
        Source::Manual => ("manual", "Manual entry"),
        Source::Csv => ("csv", "CSV import"),
    };
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
    find_connection(txn, ws, source)
        .await?
        .ok_or_else(|| IngestError::Rejected(format!("could not create the {kind} connection")))
}
