//! Order events in bulk. A run of order upserts, status changes and shipments is applied in three steps: what the run
//! will read is loaded with a few `IN` queries (rows locked on PostgreSQL), each event is applied in memory in
//! order with the per-event semantics (dedupe, out-of-order safety, stock states, ledger, levels, customer
//! aggregates, rollups, alerts), and the outcome is written with multi-row statements. An order event is
//! refused before it changes anything, so the run needs no savepoints. A single event is a run of one.

use crate::apply::{Cache, connection_for, find_connection};
use crate::inventory::{
    LedgerReason, Move, VelocityWindows, alert_data, change_notice, cover_message, ensure_level,
    reason_text, short_cover, spike_message, spiking, thresholds,
};
use crate::orders::{StockState, email_hash, publish_order, set_status_time, target};
use crate::rollup::{
    OrderContribution, OrderSums, OrdersKey, SalesKey, add_orders_rows, add_sales_rows, add_signed,
    checked_line_sums, customer_delta, orders_row, overflow, sales_row, sum_i64,
};
use crate::settings::Settings;
use crate::{IngestError, Outcome, catalog, settings};
use chrono::{DateTime, Utc};
use creatorflow_core::bus::AlertNotice;
use creatorflow_core::ingest::{
    CustomerRef, IngestEvent, OrderStatusChange, OrderUpsert, Payload, ShipmentRecord, Source,
};
use creatorflow_core::{DomainEvent, WorkspaceId};
use creatorflow_store::bulk;
use creatorflow_store::entity::{
    alert_event, customer, customer_identity, ingest_event, inventory_ledger, inventory_level,
    location, order, order_line, sales_hourly, shipment, variant, workspace,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, FromQueryResult, IdenStatic, Iterable, QueryFilter, QueryOrder, QuerySelect, Set,
    Statement,
};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Whether an event is applied by this module.
pub(crate) fn handles(event: &IngestEvent) -> bool {
    matches!(
        event.payload,
        Payload::OrderUpserted(_) | Payload::OrderStatusChanged(_) | Payload::ShipmentRecorded(_)
    )
}

/// Applies a run of order events inside `txn`; one result per event, in order. `Err` is a database failure:
/// the caller must roll back.
pub(crate) async fn apply(
    txn: &DatabaseTransaction,
    events: &[&IngestEvent],
    published: &mut Vec<DomainEvent>,
    cache: &mut Cache,
) -> Result<Vec<Result<Outcome, IngestError>>, IngestError> {
    let mut run = Run::new(txn, cache, published);
    run.load(events).await?;
    let mut results = Vec::with_capacity(events.len());
    for event in events {
        match run.one(event).await {
            Err(IngestError::Db(e)) => return Err(IngestError::Db(e)),
            Err(e) => {
                run.forget(event);
                results.push(Err(e));
            }
            Ok(outcome) => results.push(Ok(outcome)),
        }
    }
    run.flush().await?;
    Ok(results)
}

/// An arithmetic overflow met after the event began changing the run's state: it fails the whole run, which
/// the caller rolls back, so no wrapped or partial number is ever stored.
fn abort(e: IngestError) -> IngestError {
    IngestError::Db(sea_orm::DbErr::Custom(e.to_string()))
}

/// Most values bound to one `IN` list.
const IN_CHUNK: usize = 2000;
/// Source ids recorded per statement on PostgreSQL (six values each).
const PG_ROWS: usize = 5000;

/// (connection id, external id)
type SourceKey = (i64, String);
/// (workspace, source, source event id)
type EventKey = (i64, String, String);

struct OrderSlot {
    order: order::Model,
    lines: Vec<order_line::Model>,
    /// Needs writing.
    dirty: bool,
    /// `lines` are not stored yet.
    new_lines: bool,
    /// The stored lines were replaced and must be deleted.
    delete_stored_lines: bool,
}

struct Row<M> {
    model: M,
    dirty: bool,
}

struct Run<'a> {
    txn: &'a DatabaseTransaction,
    cache: &'a mut Cache,
    published: &'a mut Vec<DomainEvent>,
    workspaces: HashSet<i64>,
    /// Source ids this run recorded and has not handed to an applied event; those left at flush belong to
    /// refused events and are deleted, so the events can be retried.
    fresh: HashSet<EventKey>,
    orders: HashMap<SourceKey, OrderSlot>,
    /// Shipments by (connection, external id), loaded or new; those without an external id are always new.
    shipments: HashMap<SourceKey, Row<shipment::Model>>,
    new_shipments: Vec<shipment::Model>,
    identities: HashMap<SourceKey, i64>,
    by_email: HashMap<(i64, String), i64>,
    customers: HashMap<i64, Row<customer::Model>>,
    levels: HashMap<(i64, i64), Row<inventory_level::Model>>,
    /// Units sold per (workspace, SKU, hour): stored sums over the run's velocity windows plus this run's changes.
    units: BTreeMap<(i64, String, DateTime<Utc>), i64>,
    new_identities: Vec<customer_identity::ActiveModel>,
    ledger: Vec<inventory_ledger::Model>,
    alerts: Vec<alert_event::Model>,
    /// Stored alerts resolved by this run: (workspace, kind, subject, at).
    resolves: Vec<(i64, String, String, DateTime<Utc>)>,
    orders_hourly: HashMap<OrdersKey, OrderSums>,
    sales_hourly: HashMap<SalesKey, (Option<i64>, [i64; 5])>,
    ids: Ids,
}

impl<'a> Run<'a> {
    fn new(
        txn: &'a DatabaseTransaction,
        cache: &'a mut Cache,
        published: &'a mut Vec<DomainEvent>,
    ) -> Self {
        Self {
            txn,
            cache,
            published,
            workspaces: HashSet::new(),
            fresh: HashSet::new(),
            orders: HashMap::new(),
            shipments: HashMap::new(),
            new_shipments: Vec::new(),
            identities: HashMap::new(),
            by_email: HashMap::new(),
            customers: HashMap::new(),
            levels: HashMap::new(),
            units: BTreeMap::new(),
            new_identities: Vec::new(),
            ledger: Vec::new(),
            alerts: Vec::new(),
            resolves: Vec::new(),
            orders_hourly: HashMap::new(),
            sales_hourly: HashMap::new(),
            ids: Ids::new(txn.get_database_backend()),
        }
    }

    // ---- loading ----------------------------------------------------------------------------------------

    async fn load(&mut self, events: &[&IngestEvent]) -> Result<(), IngestError> {
        let backend = self.txn.get_database_backend();
        let ws_ids: Vec<i64> = distinct(events.iter().map(|e| e.workspace_id.0));
        for chunk in ws_ids.chunks(IN_CHUNK) {
            let found = workspace::Entity::find()
                .filter(bulk::is_in(backend, workspace::Column::Id, chunk)?)
                .all(self.txn)
                .await?;
            self.workspaces.extend(found.into_iter().map(|w| w.id));
        }
        let events: Vec<&IngestEvent> = events
            .iter()
            .copied()
            .filter(|e| self.workspaces.contains(&e.workspace_id.0))
            .collect();
        self.remember(&events).await?;

        // The connection each source maps to, where it already exists.
        let mut hints: HashMap<(i64, String), Option<i64>> = HashMap::new();
        for e in &events {
            let key = (e.workspace_id.0, e.source.key());
            if hints.contains_key(&key) {
                continue;
            }
            let hint = match (&e.source, self.cache.connections.get(&key)) {
                (_, Some(id)) => Some(*id),
                (Source::Connection(id), None) => Some(id.0),
                (source, None) => find_connection(self.txn, key.0, source).await?,
            };
            hints.insert(key, hint);
        }
        let hint = |e: &IngestEvent| hints[&(e.workspace_id.0, e.source.key())];

        // Orders and their lines.
        let mut wanted: HashMap<i64, Vec<String>> = HashMap::new();
        for e in &events {
            let Some(conn) = hint(e) else { continue };
            let ext = match &e.payload {
                Payload::OrderUpserted(o) => &o.external_id,
                Payload::OrderStatusChanged(s) => &s.external_id,
                Payload::ShipmentRecorded(s) => &s.order_external_id,
                _ => continue,
            };
            wanted.entry(conn).or_default().push(ext.clone());
        }
        let mut loaded = Vec::new();
        for (conn, exts) in wanted {
            let exts = distinct(exts);
            for chunk in exts.chunks(IN_CHUNK) {
                loaded.extend(
                    order::Entity::find()
                        .filter(order::Column::ConnectionId.eq(conn))
                        .filter(bulk::is_in(backend, order::Column::ExternalId, chunk)?)
                        .lock_exclusive()
                        .all(self.txn)
                        .await?,
                );
            }
        }
        let mut lines: HashMap<i64, Vec<order_line::Model>> = HashMap::new();
        let order_ids: Vec<i64> = loaded.iter().map(|o| o.id).collect();
        for chunk in order_ids.chunks(IN_CHUNK) {
            for l in order_line::Entity::find()
                .filter(bulk::is_in(backend, order_line::Column::OrderId, chunk)?)
                .order_by_asc(order_line::Column::Id)
                .all(self.txn)
                .await?
            {
                lines.entry(l.order_id).or_default().push(l);
            }
        }
        let mut customer_ids: Vec<i64> = loaded.iter().filter_map(|o| o.customer_id).collect();
        let location_ids: Vec<i64> = loaded.iter().filter_map(|o| o.location_id).collect();
        for o in loaded {
            let lines = lines.remove(&o.id).unwrap_or_default();
            self.orders.insert(
                (o.connection_id, o.external_id.clone()),
                OrderSlot {
                    order: o,
                    lines,
                    dirty: false,
                    new_lines: false,
                    delete_stored_lines: false,
                },
            );
        }

        // Shipments the run updates.
        let mut wanted: HashMap<i64, Vec<String>> = HashMap::new();
        for e in &events {
            if let (Some(conn), Payload::ShipmentRecorded(s)) = (hint(e), &e.payload)
                && let Some(ext) = &s.external_id
            {
                wanted.entry(conn).or_default().push(ext.clone());
            }
        }
        for (conn, exts) in wanted {
            for chunk in distinct(exts).chunks(IN_CHUNK) {
                for row in shipment::Entity::find()
                    .filter(shipment::Column::ConnectionId.eq(conn))
                    .filter(bulk::is_in(backend, shipment::Column::ExternalId, chunk)?)
                    .lock_exclusive()
                    .all(self.txn)
                    .await?
                {
                    if let Some(ext) = row.external_id.clone() {
                        self.shipments.insert(
                            (row.connection_id, ext),
                            Row {
                                model: row,
                                dirty: false,
                            },
                        );
                    }
                }
            }
        }

        // Variants, by the SKUs of incoming lines and by the ids on stored lines.
        let mut skus: HashMap<i64, Vec<String>> = HashMap::new();
        for e in &events {
            if let Payload::OrderUpserted(o) = &e.payload {
                let ws = e.workspace_id.0;
                skus.entry(ws).or_default().extend(
                    o.lines
                        .iter()
                        .filter(|l| !self.cache.variants.contains_key(&(ws, l.sku.clone())))
                        .map(|l| l.sku.clone()),
                );
            }
        }
        for (ws, list) in skus {
            for chunk in distinct(list).chunks(IN_CHUNK) {
                let found = variant::Entity::find()
                    .filter(variant::Column::WorkspaceId.eq(ws))
                    .filter(bulk::is_in(backend, variant::Column::Sku, chunk)?)
                    .all(self.txn)
                    .await?;
                for v in found {
                    self.cache.remember_variant(v);
                }
            }
        }
        let missing: Vec<i64> = distinct(
            self.orders
                .values()
                .flat_map(|s| s.lines.iter().filter_map(|l| l.variant_id))
                .filter(|id| !self.cache.variants_by_id.contains_key(id)),
        );
        for chunk in missing.chunks(IN_CHUNK) {
            for v in variant::Entity::find()
                .filter(bulk::is_in(backend, variant::Column::Id, chunk)?)
                .all(self.txn)
                .await?
            {
                self.cache.remember_variant(v);
            }
        }
        let missing: Vec<i64> = distinct(
            location_ids
                .into_iter()
                .filter(|id| !self.cache.locations_by_id.contains_key(id)),
        );
        for chunk in missing.chunks(IN_CHUNK) {
            for l in location::Entity::find()
                .filter(bulk::is_in(backend, location::Column::Id, chunk)?)
                .all(self.txn)
                .await?
            {
                self.cache.locations_by_id.insert(l.id, l);
            }
        }

        // Stock levels of every variant the run may move, at any location.
        let mut variant_ids: Vec<i64> = self
            .orders
            .values()
            .flat_map(|s| s.lines.iter().filter_map(|l| l.variant_id))
            .collect();
        let mut sku_set: HashMap<i64, HashSet<String>> = HashMap::new();
        for e in &events {
            let ws = e.workspace_id.0;
            if let Payload::OrderUpserted(o) = &e.payload {
                for l in &o.lines {
                    if let Some(v) = self.cache.variants.get(&(ws, l.sku.clone())) {
                        variant_ids.push(v.id);
                    }
                    sku_set.entry(ws).or_default().insert(l.sku.clone());
                }
            }
        }
        for s in self.orders.values() {
            sku_set
                .entry(s.order.workspace_id)
                .or_default()
                .extend(s.lines.iter().map(|l| l.sku.clone()));
        }
        for chunk in distinct(variant_ids).chunks(IN_CHUNK) {
            for l in inventory_level::Entity::find()
                .filter(bulk::is_in(
                    backend,
                    inventory_level::Column::VariantId,
                    chunk,
                )?)
                .lock_exclusive()
                .all(self.txn)
                .await?
            {
                self.levels.insert(
                    (l.variant_id, l.location_id),
                    Row {
                        model: l,
                        dirty: false,
                    },
                );
            }
        }

        // Customers: by their id on the connection, by e-mail across channels, and those of stored orders.
        let mut idents: HashMap<i64, Vec<String>> = HashMap::new();
        let mut emails: HashMap<i64, Vec<String>> = HashMap::new();
        for e in &events {
            if let Payload::OrderUpserted(OrderUpsert {
                customer: Some(c), ..
            }) = &e.payload
            {
                if let Some(conn) = hint(e) {
                    idents.entry(conn).or_default().push(c.external_id.clone());
                }
                if let Some(h) = customer_email_hash(c) {
                    emails.entry(e.workspace_id.0).or_default().push(h);
                }
            }
        }
        for (conn, exts) in idents {
            for chunk in distinct(exts).chunks(IN_CHUNK) {
                for i in customer_identity::Entity::find()
                    .filter(customer_identity::Column::ConnectionId.eq(conn))
                    .filter(bulk::is_in(
                        backend,
                        customer_identity::Column::ExternalId,
                        chunk,
                    )?)
                    .all(self.txn)
                    .await?
                {
                    customer_ids.push(i.customer_id);
                    self.identities
                        .insert((i.connection_id, i.external_id), i.customer_id);
                }
            }
        }
        let mut by_email_rows = Vec::new();
        for (ws, hashes) in emails {
            for chunk in distinct(hashes).chunks(IN_CHUNK) {
                for c in customer::Entity::find()
                    .filter(customer::Column::WorkspaceId.eq(ws))
                    .filter(bulk::is_in(backend, customer::Column::EmailHash, chunk)?)
                    .order_by_asc(customer::Column::Id)
                    .all(self.txn)
                    .await?
                {
                    if let Some(h) = &c.email_hash {
                        self.by_email.entry((ws, h.clone())).or_insert(c.id);
                    }
                    by_email_rows.push(c);
                }
            }
        }
        // Rows read by e-mail are locked below with the others only on PostgreSQL, where it matters.
        let locking = self.txn.get_database_backend() == DbBackend::Postgres;
        for c in by_email_rows {
            if locking {
                customer_ids.push(c.id);
            } else {
                self.customers.insert(
                    c.id,
                    Row {
                        model: c,
                        dirty: false,
                    },
                );
            }
        }
        let customer_ids: Vec<i64> = distinct(customer_ids)
            .into_iter()
            .filter(|id| !self.customers.contains_key(id))
            .collect();
        for chunk in customer_ids.chunks(IN_CHUNK) {
            for c in customer::Entity::find()
                .filter(bulk::is_in(backend, customer::Column::Id, chunk)?)
                .lock_exclusive()
                .all(self.txn)
                .await?
            {
                self.customers.insert(
                    c.id,
                    Row {
                        model: c,
                        dirty: false,
                    },
                );
            }
        }

        let alert_skus = sku_set.clone();
        // Units sold over every velocity window of the run.
        let times = events.iter().map(|e| e.occurred_at);
        if let (Some(first), Some(last)) = (times.clone().min(), times.max()) {
            let from = VelocityWindows::at(first).week_before.0;
            let to = VelocityWindows::at(last).recent.1;
            for (ws, set) in sku_set {
                let list: Vec<String> = set.into_iter().collect();
                for chunk in list.chunks(IN_CHUNK) {
                    self.load_units(ws, chunk, from, to).await?;
                }
            }
        }
        // Open alerts of every SKU of the run at every location of its workspace.
        for (ws, skus) in alert_skus {
            let names: Vec<String> = location::Entity::find()
                .filter(location::Column::WorkspaceId.eq(ws))
                .all(self.txn)
                .await?
                .into_iter()
                .map(|l| l.name)
                .collect();
            let subjects = skus
                .iter()
                .flat_map(|sku| names.iter().map(move |n| format!("{sku}@{n}")))
                .collect();
            self.cache.load_open_alerts(self.txn, ws, subjects).await?;
        }
        Ok(())
    }

    /// Records the source ids of the run (taking the write lock first, and waiting on PostgreSQL for a
    /// concurrent transaction holding the same id). Ids this insert did not store are duplicates.
    async fn remember(&mut self, events: &[&IngestEvent]) -> Result<(), IngestError> {
        use ingest_event::Column as C;
        let now = Utc::now();
        let mut rows = Vec::new();
        let mut keys = HashSet::new();
        for e in events {
            let key = event_key(e);
            if keys.insert(key.clone()) {
                rows.push(ingest_event::ActiveModel {
                    workspace_id: Set(key.0),
                    source: Set(key.1),
                    source_event_id: Set(key.2),
                    kind: Set(e.payload.kind().to_owned()),
                    received_at: Set(now),
                    ..Default::default()
                });
            }
        }
        let on_conflict = OnConflict::columns([C::WorkspaceId, C::Source, C::SourceEventId])
            .do_nothing()
            .to_owned();
        if self.txn.get_database_backend() == DbBackend::Postgres {
            // Concurrent writers: only the rows this insert returns are ours.
            for chunk in rows.chunks(PG_ROWS) {
                let res = ingest_event::Entity::insert_many(chunk.to_vec())
                    .on_conflict(on_conflict.clone())
                    .exec_with_returning(self.txn)
                    .await;
                let stored = match res {
                    Ok(rows) => rows,
                    Err(DbErr::RecordNotInserted) => Vec::new(),
                    Err(e) => return Err(e.into()),
                };
                self.fresh.extend(
                    stored
                        .into_iter()
                        .map(|r| (r.workspace_id, r.source, r.source_event_id)),
                );
            }
            return Ok(());
        }
        // SQLite: this transaction is the only writer, so the rows above the previous highest id are ours,
        // and when every row went in there is nothing to look up.
        let before = self
            .txn
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT COALESCE(MAX(id), 0) FROM ingest_events",
            ))
            .await?
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0);
        let inserted = bulk::insert(self.txn, rows, Some(on_conflict)).await?;
        if inserted == keys.len() as u64 {
            self.fresh = keys;
            return Ok(());
        }
        let stored = ingest_event::Entity::find()
            .filter(C::Id.gt(before))
            .all(self.txn)
            .await?;
        self.fresh.extend(
            stored
                .into_iter()
                .map(|r| (r.workspace_id, r.source, r.source_event_id)),
        );
        Ok(())
    }

    async fn load_units(
        &mut self,
        ws: i64,
        skus: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<(), IngestError> {
        #[derive(FromQueryResult)]
        struct Units {
            sku: String,
            hour: DateTime<Utc>,
            units: Option<i64>,
        }
        use sales_hourly::Column as S;
        let backend = self.txn.get_database_backend();
        let rows = sales_hourly::Entity::find()
            .select_only()
            .column(S::Sku)
            .column(S::Hour)
            .column_as(sum_i64(S::Units), "units")
            .filter(S::WorkspaceId.eq(ws))
            .filter(bulk::is_in(backend, S::Sku, skus)?)
            .filter(S::Hour.gte(from))
            .filter(S::Hour.lt(to))
            .group_by(S::Sku)
            .group_by(S::Hour)
            .into_model::<Units>()
            .all(self.txn)
            .await?;
        for r in rows {
            *self.units.entry((ws, r.sku, r.hour)).or_default() += r.units.unwrap_or(0);
        }
        Ok(())
    }

    // ---- applying ---------------------------------------------------------------------------------------

    async fn one(&mut self, e: &IngestEvent) -> Result<Outcome, IngestError> {
        let ws = e.workspace_id.0;
        if !self.workspaces.contains(&ws) {
            return Err(IngestError::NotFound(format!(
                "workspace {} does not exist",
                e.workspace_id
            )));
        }
        if !self.fresh.remove(&event_key(e)) {
            return Ok(Outcome::Duplicate);
        }
        let conn = self.connection(ws, &e.source).await?;
        let settings = self.settings(ws).await?;
        match &e.payload {
            Payload::OrderUpserted(o) => self.upsert(e, conn, &settings, o).await,
            Payload::OrderStatusChanged(s) => self.status(e, conn, &settings, s).await,
            Payload::ShipmentRecorded(s) => self.shipment(e, conn, s).await,
            other => Err(IngestError::invalid(
                "payload",
                format!("{} is not an order event", other.kind()),
            )),
        }
    }

    /// A refused event is not remembered: a later copy in the run is treated as new, and the recorded id is
    /// deleted at flush unless that copy is applied.
    fn forget(&mut self, e: &IngestEvent) {
        if self.workspaces.contains(&e.workspace_id.0) {
            self.fresh.insert(event_key(e));
        }
    }

    async fn connection(&mut self, ws: i64, source: &Source) -> Result<i64, IngestError> {
        let key = (ws, source.key());
        if let Some(id) = self.cache.connections.get(&key) {
            return Ok(*id);
        }
        let id = connection_for(self.txn, ws, source).await?;
        self.cache.connections.insert(key, id);
        Ok(id)
    }

    async fn settings(&mut self, ws: i64) -> Result<Settings, IngestError> {
        if let Some(s) = self.cache.settings.get(&ws) {
            return Ok(s.clone());
        }
        let s = settings::load(self.txn, ws).await?;
        self.cache.settings.insert(ws, s.clone());
        Ok(s)
    }

    async fn upsert(
        &mut self,
        e: &IngestEvent,
        conn: i64,
        settings: &Settings,
        o: &OrderUpsert,
    ) -> Result<Outcome, IngestError> {
        let ws = e.workspace_id.0;
        let now = Utc::now();
        let key = (conn, o.external_id.clone());
        let existing = self
            .orders
            .get(&key)
            .map(|s| (s.order.clone(), s.lines.clone()));
        if let Some((old, _)) = &existing
            && old.source_updated_at.is_some_and(|t| t > o.updated_at)
        {
            return Ok(Outcome::Stale);
        }
        // The cost of goods (quantity × the variant's unit cost) must fit before anything changes.
        for (i, l) in o.lines.iter().enumerate() {
            let cost = self
                .variant_by_sku(ws, &l.sku)
                .await?
                .and_then(|v| v.unit_cost_minor)
                .unwrap_or(0);
            if l.quantity.checked_mul(cost).is_none() {
                return Err(IngestError::invalid(
                    format!("order.lines[{i}].quantity"),
                    format!(
                        "{} × unit cost {cost} exceeds the range of a 64-bit integer",
                        l.quantity
                    ),
                ));
            }
        }
        let currency = o.currency.to_ascii_uppercase();
        let customer_id = match &o.customer {
            Some(c) => Some(self.resolve_customer(ws, conn, c, &currency).await?),
            None => existing.as_ref().and_then(|(old, _)| old.customer_id),
        };
        let loc = match (&existing, &o.location) {
            (Some((old, _)), None) if old.location_id.is_some() => None,
            _ => Some(self.location(ws, o.location.as_deref()).await?),
        };
        let state = existing.as_ref().map_or(StockState::None, |(old, _)| {
            StockState::parse(&old.stock_state)
        });
        let mut saved = match &existing {
            Some((old, _)) => old.clone(),
            None => order::Model {
                id: self.ids.next(self.txn, "orders").await?,
                workspace_id: ws,
                connection_id: conn,
                external_id: o.external_id.clone(),
                customer_id: None,
                status: String::new(),
                currency: String::new(),
                subtotal_minor: 0,
                discount_minor: 0,
                shipping_charged_minor: 0,
                tax_minor: 0,
                total_minor: 0,
                fees_minor: 0,
                refunded_minor: 0,
                placed_at: o.placed_at,
                paid_at: None,
                fulfilled_at: None,
                delivered_at: None,
                cancelled_at: None,
                source_updated_at: None,
                stock_state: StockState::None.as_str().into(),
                location_id: None,
                created_at: now,
                updated_at: now,
            },
        };
        saved.customer_id = customer_id;
        saved.status = o.status.as_str().into();
        saved.currency = currency;
        saved.subtotal_minor = o.subtotal_minor;
        saved.discount_minor = o.discount_minor;
        saved.shipping_charged_minor = o.shipping_charged_minor;
        saved.tax_minor = o.tax_minor;
        saved.total_minor = o.total_minor;
        saved.fees_minor = o.fees_minor;
        saved.placed_at = o.placed_at;
        saved.paid_at = o.paid_at;
        saved.fulfilled_at = o.fulfilled_at;
        saved.delivered_at = o.delivered_at;
        saved.cancelled_at = o.cancelled_at;
        saved.source_updated_at = Some(o.updated_at);
        if let Some(l) = &loc {
            saved.location_id = Some(l.id);
        }
        saved.updated_at = now;
        if let Some((old, old_lines)) = &existing {
            self.rollup_order(ws, &OrderContribution::of(old), old_lines, -1)?;
        }
        // An edited order comes out as if it had arrived in its final form: its lines are replaced, and if
        // it already held stock, the old lines' effect is undone before the new lines' is applied.
        let fresh = self.new_lines(ws, &saved, o).await?;
        let replace = match &existing {
            Some((_, old_lines)) => !same_lines(old_lines, &fresh),
            None => true,
        };
        let lines = match &existing {
            Some((_, old_lines)) if !replace => old_lines.clone(),
            _ => fresh,
        };
        if replace
            && state != StockState::None
            && let Some((_, old_lines)) = &existing
        {
            saved = self.undo_stock(e, saved, old_lines).await?;
        }
        self.rollup_order(ws, &OrderContribution::of(&saved), &lines, 1)?;
        // A buyer who no longer owns the order gives back what it added to them.
        if let Some((old, _)) = &existing
            && let Some(previous) = old.customer_id
            && old.customer_id != saved.customer_id
        {
            let (n, spent) = customer_delta(Some(old), &uncounted(old)).map_err(abort)?;
            self.add_to_customer(previous, n, spent, old.placed_at)
                .await?;
            self.refresh_order_dates(previous, old.id).await?;
        }
        if let Some(cid) = saved.customer_id {
            let old = existing
                .as_ref()
                .map(|(old, _)| old)
                .filter(|old| old.customer_id == Some(cid));
            let (n, spent) = customer_delta(old, &saved).map_err(abort)?;
            self.add_to_customer(cid, n, spent, saved.placed_at).await?;
        }
        let saved = self.move_to(e, settings, saved, &lines, o.status).await?;
        publish_order(self.published, &saved);
        let slot = self.orders.entry(key).or_insert_with(|| OrderSlot {
            order: saved.clone(),
            lines: Vec::new(),
            dirty: true,
            new_lines: true,
            delete_stored_lines: false,
        });
        if replace {
            if !slot.new_lines {
                slot.delete_stored_lines = true;
            }
            slot.new_lines = true;
            slot.lines = lines;
        }
        slot.order = saved;
        slot.dirty = true;
        Ok(Outcome::Applied)
    }

    /// Takes back the stock effect of `lines` (what the order held: a reservation or a deduction) and leaves
    /// the order holding nothing, so its new lines can be applied from scratch.
    async fn undo_stock(
        &mut self,
        e: &IngestEvent,
        mut order: order::Model,
        lines: &[order_line::Model],
    ) -> Result<order::Model, IngestError> {
        let (d_on_hand, d_committed): (i64, i64) = match StockState::parse(&order.stock_state) {
            StockState::Reserved => (0, -1),
            StockState::Deducted => (1, 0),
            StockState::None => return Ok(order),
        };
        self.move_lines(
            e,
            &order,
            lines,
            (d_on_hand, d_committed),
            LedgerReason::OrderEdited,
            None,
        )
        .await?;
        order.stock_state = StockState::None.as_str().into();
        Ok(order)
    }

    async fn new_lines(
        &mut self,
        ws: i64,
        order: &order::Model,
        o: &OrderUpsert,
    ) -> Result<Vec<order_line::Model>, IngestError> {
        let mut out = Vec::with_capacity(o.lines.len());
        for l in &o.lines {
            let v = self.variant_by_sku(ws, &l.sku).await?;
            out.push(order_line::Model {
                id: self.ids.next(self.txn, "order_lines").await?,
                workspace_id: ws,
                order_id: order.id,
                variant_id: v.as_ref().map(|v| v.id),
                external_id: l.external_id.clone(),
                sku: l.sku.clone(),
                title: l.title.clone(),
                quantity: l.quantity,
                unit_price_minor: l.unit_price_minor,
                discount_minor: l.discount_minor,
                unit_cost_minor: v.as_ref().and_then(|v| v.unit_cost_minor),
                currency: order.currency.clone(),
            });
        }
        Ok(out)
    }

    async fn status(
        &mut self,
        e: &IngestEvent,
        conn: i64,
        settings: &Settings,
        s: &OrderStatusChange,
    ) -> Result<Outcome, IngestError> {
        let ws = e.workspace_id.0;
        let key = (conn, s.external_id.clone());
        let Some(slot) = self.orders.get(&key) else {
            return Err(IngestError::NotFound(format!(
                "order {} is unknown for this source; send the order itself first",
                s.external_id
            )));
        };
        let (existing, lines) = (slot.order.clone(), slot.lines.clone());
        if existing.source_updated_at.is_some_and(|t| t > s.updated_at) {
            return Ok(Outcome::Stale);
        }
        let mut saved = existing.clone();
        saved.status = s.status.as_str().into();
        set_status_time(&mut saved, s.status, s.at);
        saved.source_updated_at = Some(s.updated_at);
        saved.updated_at = Utc::now();
        let (old, new) = (
            OrderContribution::of(&existing),
            OrderContribution::of(&saved),
        );
        if old != new {
            self.rollup_order(ws, &old, &lines, -1)?;
            self.rollup_order(ws, &new, &lines, 1)?;
        }
        if let Some(cid) = saved.customer_id {
            let (n, spent) = customer_delta(Some(&existing), &saved).map_err(abort)?;
            if n != 0 || spent != 0 {
                self.add_to_customer(cid, n, spent, saved.placed_at).await?;
            }
        }
        let saved = self.move_to(e, settings, saved, &lines, s.status).await?;
        publish_order(self.published, &saved);
        if let Some(slot) = self.orders.get_mut(&key) {
            slot.order = saved;
            slot.dirty = true;
        }
        Ok(Outcome::Applied)
    }

    /// Records a shipment of a known order, updating it when the source sends the same shipment again.
    async fn shipment(
        &mut self,
        e: &IngestEvent,
        conn: i64,
        s: &ShipmentRecord,
    ) -> Result<Outcome, IngestError> {
        let Some(slot) = self.orders.get(&(conn, s.order_external_id.clone())) else {
            return Err(IngestError::NotFound(format!(
                "order {} is unknown for this source; send the order itself first",
                s.order_external_id
            )));
        };
        let order_id = slot.order.id;
        let fill = |m: &mut shipment::Model| {
            m.carrier = s.carrier.clone();
            m.tracking_number = s.tracking_number.clone();
            m.status = s.status.clone();
            m.cost_minor = s.cost_minor;
            m.currency = s.currency.to_ascii_uppercase();
            m.shipped_at = s.shipped_at;
            m.delivered_at = s.delivered_at;
        };
        if let Some(ext) = &s.external_id
            && let Some(row) = self.shipments.get_mut(&(conn, ext.clone()))
        {
            fill(&mut row.model);
            row.dirty = true;
            return Ok(Outcome::Applied);
        }
        let mut row = shipment::Model {
            id: self.ids.next(self.txn, "shipments").await?,
            workspace_id: e.workspace_id.0,
            order_id,
            connection_id: conn,
            external_id: s.external_id.clone(),
            carrier: None,
            tracking_number: None,
            status: String::new(),
            cost_minor: 0,
            currency: String::new(),
            shipped_at: None,
            delivered_at: None,
            created_at: Utc::now(),
        };
        fill(&mut row);
        match &s.external_id {
            Some(ext) => {
                self.shipments.insert(
                    (conn, ext.clone()),
                    Row {
                        model: row,
                        dirty: true,
                    },
                );
            }
            None => self.new_shipments.push(row),
        }
        Ok(Outcome::Applied)
    }

    /// Moves the order's stock to what `status` implies and records the new stock state.
    async fn move_to(
        &mut self,
        e: &IngestEvent,
        settings: &Settings,
        mut order: order::Model,
        lines: &[order_line::Model],
        status: creatorflow_core::ingest::OrderStatus,
    ) -> Result<order::Model, IngestError> {
        let from = StockState::parse(&order.stock_state);
        let to = target(status, from, settings.reserve_on);
        let (d_on_hand, d_committed, reason): (i64, i64, _) = match (from, to) {
            (StockState::None, StockState::Reserved) => (0, 1, LedgerReason::OrderReserved),
            (StockState::None, StockState::Deducted) => (-1, 0, LedgerReason::OrderFulfilled),
            (StockState::Reserved, StockState::Deducted) => (-1, -1, LedgerReason::OrderFulfilled),
            (StockState::Reserved, StockState::None) => (0, -1, LedgerReason::OrderReleased),
            _ => return Ok(order),
        };
        // Releasing a reservation is not a sale: it never feeds the velocity alerts.
        let velocity = (reason != LedgerReason::OrderReleased).then_some(settings);
        self.move_lines(e, &order, lines, (d_on_hand, d_committed), reason, velocity)
            .await?;
        order.stock_state = to.as_str().into();
        Ok(order)
    }

    /// Moves `deltas` (on hand, committed) × each line's quantity at the order's location, one ledger entry
    /// per stocked line; with `velocity`, each sale is also checked against the velocity alerts.
    async fn move_lines(
        &mut self,
        e: &IngestEvent,
        order: &order::Model,
        lines: &[order_line::Model],
        (d_on_hand, d_committed): (i64, i64),
        reason: LedgerReason,
        velocity: Option<&Settings>,
    ) -> Result<(), IngestError> {
        let loc = self
            .location_or_default(order.workspace_id, order.location_id)
            .await?;
        for line in lines {
            let Some(variant_id) = line.variant_id else {
                continue; // A SKU we do not stock (e.g. a gift card) moves no inventory.
            };
            let Some(v) = self.variant_by_id(variant_id).await? else {
                continue;
            };
            let m = Move {
                variant: &v,
                location: &loc,
                on_hand: d_on_hand
                    .checked_mul(line.quantity)
                    .ok_or_else(|| abort(overflow("a stock move")))?,
                committed: d_committed
                    .checked_mul(line.quantity)
                    .ok_or_else(|| abort(overflow("a stock move")))?,
                incoming: 0,
                reason,
                note: None,
            };
            let after = self.move_stock(e, m).await?;
            if let Some(settings) = velocity {
                self.velocity(e, settings, &v, &loc, &after).await?;
            }
        }
        Ok(())
    }

    /// Applies a move to the level in memory and stages its ledger entry; returns the level after it.
    async fn move_stock(
        &mut self,
        e: &IngestEvent,
        m: Move<'_>,
    ) -> Result<inventory_level::Model, IngestError> {
        let now = Utc::now();
        let level = self
            .level(m.variant.workspace_id, m.variant.id, m.location.id, now)
            .await?;
        let before = level.model.clone();
        let mut stock = [
            level.model.on_hand,
            level.model.committed,
            level.model.incoming,
        ];
        add_signed(
            &mut stock,
            [m.on_hand, m.committed, m.incoming],
            1,
            "a stock level",
        )
        .map_err(abort)?;
        [
            level.model.on_hand,
            level.model.committed,
            level.model.incoming,
        ] = stock;
        level.model.version += 1;
        level.model.updated_at = now;
        level.dirty = true;
        let after = level.model.clone();
        let reason = reason_text(m.reason, m.note);
        let id = self.ids.next(self.txn, "inventory_ledger").await?;
        self.ledger.push(inventory_ledger::Model {
            id,
            workspace_id: m.variant.workspace_id,
            variant_id: m.variant.id,
            location_id: m.location.id,
            delta_on_hand: m.on_hand,
            delta_committed: m.committed,
            delta_incoming: m.incoming,
            reason: reason.clone(),
            source: e.source.key(),
            source_event_id: e.source_event_id.clone(),
            actor: e.actor.clone(),
            on_hand_after: after.on_hand,
            committed_after: after.committed,
            incoming_after: after.incoming,
            occurred_at: e.occurred_at,
            recorded_at: now,
        });
        self.published.push(change_notice(&m, id, reason, &after));
        let subject = format!("{}@{}", m.variant.sku, m.location.name);
        for t in thresholds(&subject, &before, &after) {
            if t.raise {
                let alert = Alert {
                    kind: t.kind,
                    severity: t.severity,
                    subject: &subject,
                    message: t.message,
                };
                self.raise(e, alert, m.variant, m.location, &after).await?;
            } else if t.clear {
                self.resolve(e, m.variant.workspace_id, t.kind, &subject)
                    .await?;
            }
        }
        Ok(after)
    }

    /// Sales-velocity alerts for a SKU that just sold, evaluated at the event's time.
    async fn velocity(
        &mut self,
        e: &IngestEvent,
        settings: &Settings,
        v: &variant::Model,
        loc: &location::Model,
        after: &inventory_level::Model,
    ) -> Result<(), IngestError> {
        let ws = v.workspace_id;
        let w = VelocityWindows::at(e.occurred_at);
        let recent = self.units_in(ws, &v.sku, w.recent);
        let subject = format!("{}@{}", v.sku, loc.name);
        let week = (recent >= settings.velocity_min_units)
            .then(|| self.units_in(ws, &v.sku, w.week_before))
            .filter(|week| spiking(settings, recent, *week));
        match week {
            Some(week) => {
                let alert = Alert {
                    kind: "velocity_spike",
                    severity: "warning",
                    subject: &subject,
                    message: spike_message(&v.sku, recent, week),
                };
                self.raise(e, alert, v, loc, after).await?;
            }
            None => self.resolve(e, ws, "velocity_spike", &subject).await?,
        }
        let cover = after.lead_time_days.and_then(|lead| {
            let week_units = self.units_in(ws, &v.sku, w.cover_week);
            short_cover(after, lead, week_units).then_some((lead, week_units))
        });
        match cover {
            Some((lead, week_units)) => {
                let alert = Alert {
                    kind: "days_of_cover",
                    severity: "warning",
                    subject: &subject,
                    message: cover_message(&subject, lead, after, week_units),
                };
                self.raise(e, alert, v, loc, after).await?;
            }
            None => self.resolve(e, ws, "days_of_cover", &subject).await?,
        }
        Ok(())
    }

    fn units_in(&self, ws: i64, sku: &str, (from, to): (DateTime<Utc>, DateTime<Utc>)) -> i64 {
        self.units
            .range((ws, sku.to_owned(), from)..(ws, sku.to_owned(), to))
            .map(|(_, u)| *u)
            .sum()
    }

    /// Raises an alert unless it is already active.
    async fn raise(
        &mut self,
        e: &IngestEvent,
        alert: Alert<'_>,
        v: &variant::Model,
        loc: &location::Model,
        level: &inventory_level::Model,
    ) -> Result<(), IngestError> {
        let ws = v.workspace_id;
        let open = self.cache.open_alerts(self.txn, ws, alert.subject).await?;
        if !open.insert(alert.kind.to_owned()) {
            return Ok(());
        }
        let id = self.ids.next(self.txn, "alert_events").await?;
        self.alerts.push(alert_event::Model {
            id,
            workspace_id: ws,
            rule_id: None,
            kind: alert.kind.to_owned(),
            severity: alert.severity.to_owned(),
            subject: alert.subject.to_owned(),
            message: alert.message.clone(),
            data: alert_data(v, loc, level, &e.source_event_id),
            raised_at: e.occurred_at,
            resolved_at: None,
        });
        self.published.push(DomainEvent::AlertRaised(AlertNotice {
            workspace_id: WorkspaceId(ws),
            alert_id: id,
            kind: alert.kind.to_owned(),
            severity: alert.severity.to_owned(),
            subject: alert.subject.to_owned(),
            message: alert.message,
        }));
        Ok(())
    }

    async fn resolve(
        &mut self,
        e: &IngestEvent,
        ws: i64,
        kind: &str,
        subject: &str,
    ) -> Result<(), IngestError> {
        let open = self.cache.open_alerts(self.txn, ws, subject).await?;
        if !open.remove(kind) {
            return Ok(());
        }
        let staged = self.alerts.iter_mut().rev().find(|a| {
            a.workspace_id == ws
                && a.kind == kind
                && a.subject == subject
                && a.resolved_at.is_none()
        });
        match staged {
            Some(a) => a.resolved_at = Some(e.occurred_at),
            None => self
                .resolves
                .push((ws, kind.to_owned(), subject.to_owned(), e.occurred_at)),
        }
        Ok(())
    }

    /// Adds `sign` × the order's contribution (and its lines') to the hourly rollups. A sum leaving i64 fails
    /// the run (rolled back, nothing stored) rather than wrap: the per-field input limits make it unreachable
    /// short of millions of maximal orders in one hour.
    fn rollup_order(
        &mut self,
        ws: i64,
        c: &OrderContribution,
        lines: &[order_line::Model],
        sign: i64,
    ) -> Result<(), IngestError> {
        let sums = self.orders_hourly.entry(c.key(ws)).or_default();
        add_signed(sums, c.sums(), sign, "an hourly order total").map_err(abort)?;
        if !c.lines_count() {
            return Ok(());
        }
        for l in lines {
            let (variant_id, sums) = self
                .sales_hourly
                .entry(c.sales_key(ws, l))
                .or_insert((l.variant_id, [0; 5]));
            if variant_id.is_none() {
                *variant_id = l.variant_id;
            }
            let add = checked_line_sums(l).map_err(abort)?;
            add_signed(sums, add, sign, "an hourly sales total").map_err(abort)?;
            let units = self.units.entry((ws, l.sku.clone(), c.hour)).or_default();
            let mut one = [*units];
            add_signed(&mut one, [l.quantity], sign, "hourly units").map_err(abort)?;
            *units = one[0];
        }
        Ok(())
    }

    /// Finds the buyer by their id on this connection, then by e-mail across channels, else creates them.
    async fn resolve_customer(
        &mut self,
        ws: i64,
        conn: i64,
        c: &CustomerRef,
        currency: &str,
    ) -> Result<i64, IngestError> {
        let key = (conn, c.external_id.clone());
        if let Some(id) = self.identities.get(&key) {
            return Ok(*id);
        }
        let hash = customer_email_hash(c);
        let matched = hash
            .as_ref()
            .and_then(|h| self.by_email.get(&(ws, h.clone())).copied());
        let id = match matched {
            Some(id) => id,
            None => {
                let id = self.ids.next(self.txn, "customers").await?;
                let now = Utc::now();
                if let Some(h) = &hash {
                    self.by_email.insert((ws, h.clone()), id);
                }
                self.customers.insert(
                    id,
                    Row {
                        model: customer::Model {
                            id,
                            workspace_id: ws,
                            email_hash: hash,
                            display_name: c.display_name.clone(),
                            first_order_at: None,
                            last_order_at: None,
                            orders_count: 0,
                            total_spent_minor: 0,
                            currency: currency.to_ascii_uppercase(),
                            created_at: now,
                            updated_at: now,
                        },
                        dirty: true,
                    },
                );
                id
            }
        };
        self.identities.insert(key, id);
        self.new_identities.push(customer_identity::ActiveModel {
            workspace_id: Set(ws),
            customer_id: Set(id),
            connection_id: Set(conn),
            external_id: Set(c.external_id.clone()),
            ..Default::default()
        });
        Ok(id)
    }

    async fn add_to_customer(
        &mut self,
        id: i64,
        orders: i64,
        spent: i64,
        placed_at: DateTime<Utc>,
    ) -> Result<(), IngestError> {
        if !self.customers.contains_key(&id) {
            let Some(c) = customer::Entity::find_by_id(id)
                .lock_exclusive()
                .one(self.txn)
                .await?
            else {
                return Ok(()); // Deleted meanwhile: nothing to add to.
            };
            self.customers.insert(
                id,
                Row {
                    model: c,
                    dirty: false,
                },
            );
        }
        if let Some(row) = self.customers.get_mut(&id) {
            let c = &mut row.model;
            let mut agg = [c.orders_count, c.total_spent_minor];
            add_signed(&mut agg, [orders, spent], 1, "a customer's spend").map_err(abort)?;
            [c.orders_count, c.total_spent_minor] = agg;
            c.first_order_at = Some(c.first_order_at.map_or(placed_at, |t| t.min(placed_at)));
            c.last_order_at = Some(c.last_order_at.map_or(placed_at, |t| t.max(placed_at)));
            c.updated_at = Utc::now();
            row.dirty = true;
        }
        Ok(())
    }

    /// Sets a buyer's first and last order dates from the orders they still own, leaving `except` out (an
    /// order that just moved to another buyer). Orders of this run are read from memory, the rest from the
    /// database.
    async fn refresh_order_dates(&mut self, id: i64, except: i64) -> Result<(), IngestError> {
        let in_run: HashSet<i64> = self.orders.values().map(|s| s.order.id).collect();
        let stored: Vec<(i64, DateTime<Utc>)> = order::Entity::find()
            .select_only()
            .column(order::Column::Id)
            .column(order::Column::PlacedAt)
            .filter(order::Column::CustomerId.eq(id))
            .into_tuple()
            .all(self.txn)
            .await?;
        let mut dates: Vec<DateTime<Utc>> = stored
            .into_iter()
            .filter(|(order_id, _)| *order_id != except && !in_run.contains(order_id))
            .map(|(_, at)| at)
            .collect();
        dates.extend(
            self.orders
                .values()
                .filter(|s| s.order.customer_id == Some(id) && s.order.id != except)
                .map(|s| s.order.placed_at),
        );
        if let Some(row) = self.customers.get_mut(&id) {
            row.model.first_order_at = dates.iter().min().copied();
            row.model.last_order_at = dates.iter().max().copied();
            row.dirty = true;
        }
        Ok(())
    }

    async fn level(
        &mut self,
        ws: i64,
        variant_id: i64,
        location_id: i64,
        now: DateTime<Utc>,
    ) -> Result<&mut Row<inventory_level::Model>, IngestError> {
        let key = (variant_id, location_id);
        if !self.levels.contains_key(&key) {
            ensure_level(self.txn, ws, variant_id, location_id, now).await?;
            let model = inventory_level::Entity::find()
                .filter(inventory_level::Column::VariantId.eq(variant_id))
                .filter(inventory_level::Column::LocationId.eq(location_id))
                .lock_exclusive()
                .one(self.txn)
                .await?
                .ok_or_else(|| IngestError::Rejected("stock level vanished".into()))?;
            self.levels.insert(
                key,
                Row {
                    model,
                    dirty: false,
                },
            );
        }
        self.levels
            .get_mut(&key)
            .ok_or_else(|| IngestError::Rejected("stock level vanished".into()))
    }

    async fn location(
        &mut self,
        ws: i64,
        name: Option<&str>,
    ) -> Result<location::Model, IngestError> {
        self.cache.location(self.txn, ws, name).await
    }

    async fn location_or_default(
        &mut self,
        ws: i64,
        id: Option<i64>,
    ) -> Result<location::Model, IngestError> {
        if let Some(l) = id.and_then(|id| self.cache.locations_by_id.get(&id)) {
            return Ok(l.clone());
        }
        if let Some(id) = id
            && let Some(l) = location::Entity::find_by_id(id)
                .one(self.txn)
                .await?
                .filter(|l| l.workspace_id == ws)
        {
            self.cache.locations_by_id.insert(id, l.clone());
            return Ok(l);
        }
        self.location(ws, None).await
    }

    async fn variant_by_sku(
        &mut self,
        ws: i64,
        sku: &str,
    ) -> Result<Option<variant::Model>, IngestError> {
        if let Some(v) = self.cache.variants.get(&(ws, sku.to_owned())) {
            return Ok(Some(v.clone()));
        }
        let v = catalog::variant_by_sku(self.txn, ws, sku).await?;
        if let Some(v) = &v {
            self.cache.remember_variant(v.clone());
        }
        Ok(v)
    }

    async fn variant_by_id(&mut self, id: i64) -> Result<Option<variant::Model>, IngestError> {
        if let Some(v) = self.cache.variants_by_id.get(&id) {
            return Ok(Some(v.clone()));
        }
        let v = variant::Entity::find_by_id(id).one(self.txn).await?;
        if let Some(v) = &v {
            self.cache.remember_variant(v.clone());
        }
        Ok(v)
    }

    // ---- writing ----------------------------------------------------------------------------------------

    /// Writes the run in dependency order: customers before the orders that name them, orders before their
    /// lines, levels with their ledger entries, then alerts and rollups.
    async fn flush(self) -> Result<(), IngestError> {
        let txn = self.txn;
        let backend = txn.get_database_backend();
        for (ws, source, id) in &self.fresh {
            ingest_event::Entity::delete_many()
                .filter(ingest_event::Column::WorkspaceId.eq(*ws))
                .filter(ingest_event::Column::Source.eq(source.as_str()))
                .filter(ingest_event::Column::SourceEventId.eq(id.as_str()))
                .exec(txn)
                .await?;
        }
        let customers: Vec<customer::ActiveModel> = dirty(self.customers.into_values());
        upsert_by_id(
            txn,
            customers,
            &[
                "workspace_id",
                "email_hash",
                "display_name",
                "currency",
                "created_at",
            ],
        )
        .await?;
        // A concurrent transaction may have recorded the same buyer meanwhile (PostgreSQL): keep theirs.
        use customer_identity::Column as I;
        let keep = OnConflict::columns([I::ConnectionId, I::ExternalId])
            .do_nothing()
            .to_owned();
        bulk::insert(txn, self.new_identities, Some(keep)).await?;
        let mut delete_lines = Vec::new();
        let mut new_lines = Vec::new();
        let mut orders = Vec::new();
        for slot in self.orders.into_values() {
            if slot.delete_stored_lines {
                delete_lines.push(slot.order.id);
            }
            if slot.new_lines {
                new_lines.extend(slot.lines.into_iter().map(order_line::ActiveModel::from));
            }
            if slot.dirty {
                orders.push(order::ActiveModel::from(slot.order));
            }
        }
        upsert_by_id(
            txn,
            orders,
            &["workspace_id", "connection_id", "external_id", "created_at"],
        )
        .await?;
        for chunk in delete_lines.chunks(IN_CHUNK) {
            order_line::Entity::delete_many()
                .filter(bulk::is_in(backend, order_line::Column::OrderId, chunk)?)
                .exec(txn)
                .await?;
        }
        bulk::insert(txn, new_lines, None).await?;
        let mut shipments: Vec<shipment::ActiveModel> = dirty(self.shipments.into_values());
        shipments.extend(
            self.new_shipments
                .into_iter()
                .map(shipment::ActiveModel::from),
        );
        upsert_by_id(
            txn,
            shipments,
            &[
                "workspace_id",
                "order_id",
                "connection_id",
                "external_id",
                "created_at",
            ],
        )
        .await?;
        let levels: Vec<inventory_level::ActiveModel> = dirty(self.levels.into_values());
        upsert_by_id(txn, levels, &["workspace_id", "variant_id", "location_id"]).await?;
        let ledger = self.ledger.into_iter();
        bulk::insert(
            txn,
            ledger.map(inventory_ledger::ActiveModel::from).collect(),
            None,
        )
        .await?;
        for (ws, kind, subject, at) in self.resolves {
            alert_event::Entity::update_many()
                .col_expr(alert_event::Column::ResolvedAt, Expr::value(at))
                .filter(alert_event::Column::WorkspaceId.eq(ws))
                .filter(alert_event::Column::Kind.eq(kind))
                .filter(alert_event::Column::Subject.eq(subject))
                .filter(alert_event::Column::ResolvedAt.is_null())
                .exec(txn)
                .await?;
        }
        let alerts = self.alerts.into_iter();
        bulk::insert(
            txn,
            alerts.map(alert_event::ActiveModel::from).collect(),
            None,
        )
        .await?;
        let orders_rows = self.orders_hourly.into_iter();
        add_orders_rows(txn, orders_rows.map(|(k, s)| orders_row(k, s)).collect()).await?;
        let sales_rows = self.sales_hourly.into_iter();
        add_sales_rows(
            txn,
            sales_rows.map(|(k, (v, s))| sales_row(k, v, s)).collect(),
        )
        .await?;
        Ok(())
    }
}

struct Alert<'s> {
    kind: &'static str,
    severity: &'static str,
    subject: &'s str,
    message: String,
}

fn event_key(e: &IngestEvent) -> EventKey {
    (e.workspace_id.0, e.source.key(), e.source_event_id.clone())
}

fn customer_email_hash(c: &CustomerRef) -> Option<String> {
    c.email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .map(email_hash)
}

fn distinct<T: std::hash::Hash + Eq + Clone>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|i| seen.insert(i.clone()))
        .collect()
}

fn dirty<M, A>(rows: impl Iterator<Item = Row<M>>) -> Vec<A>
where
    A: From<M>,
{
    rows.filter(|r| r.dirty).map(|r| A::from(r.model)).collect()
}

/// Writes rows by primary key: inserts the new ones, overwrites the stored ones (which this transaction has
/// locked) except for the `fixed` columns, which never change once written and so spare their indexes.
async fn upsert_by_id<E, A>(
    txn: &DatabaseTransaction,
    rows: Vec<A>,
    fixed: &[&str],
) -> Result<(), IngestError>
where
    E: EntityTrait,
    A: ActiveModelTrait<Entity = E> + Send,
{
    let (ids, rest): (Vec<E::Column>, Vec<E::Column>) =
        E::Column::iter().partition(|c| c.as_str() == "id");
    let rest = rest.into_iter().filter(|c| !fixed.contains(&c.as_str()));
    let on_conflict = OnConflict::columns(ids).update_columns(rest).to_owned();
    bulk::insert(txn, rows, Some(on_conflict)).await?;
    Ok(())
}

/// Primary keys handed out before the rows are written, so a run can link rows (orders → lines, ledger ids in
/// notifications) without a round trip per row. SQLite has one writer, which this transaction is: ids
/// continue from the table's highest. PostgreSQL draws them from the table's sequence in blocks.
struct Ids {
    backend: DbBackend,
    /// PostgreSQL: ids drawn and not yet used.
    free: HashMap<&'static str, std::collections::VecDeque<i64>>,
    /// SQLite: the next id per table.
    next: HashMap<&'static str, i64>,
    /// PostgreSQL: how many ids the next draw takes; doubles per draw.
    block: HashMap<&'static str, usize>,
}

impl Ids {
    fn new(backend: DbBackend) -> Self {
        Self {
            backend,
            free: HashMap::new(),
            next: HashMap::new(),
            block: HashMap::new(),
        }
    }

    async fn next(&mut self, db: &impl ConnectionTrait, table: &'static str) -> Result<i64, DbErr> {
        if self.backend == DbBackend::Postgres {
            if let Some(id) = self.free.get_mut(table).and_then(|f| f.pop_front()) {
                return Ok(id);
            }
            let n = self.block.entry(table).or_insert(16);
            let sql = format!(
                "SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, {n})"
            );
            *n = (*n * 2).min(4096);
            let rows = db
                .query_all_raw(Statement::from_string(self.backend, sql))
                .await?;
            let free = self.free.entry(table).or_default();
            for r in rows {
                free.push_back(r.try_get_by_index::<i64>(0)?);
            }
            return free
                .pop_front()
                .ok_or_else(|| DbErr::Custom(format!("no id drawn for {table}")));
        }
        if let Some(next) = self.next.get_mut(table) {
            *next += 1;
            return Ok(*next - 1);
        }
        let sql = format!(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0), \
             COALESCE((SELECT MAX(id) FROM \"{table}\"), 0))"
        );
        let row = db
            .query_one_raw(Statement::from_string(self.backend, sql))
            .await?
            .ok_or_else(|| DbErr::Custom(format!("no id for {table}")))?;
        let id = row.try_get_by_index::<i64>(0)? + 1;
        self.next.insert(table, id + 1);
        Ok(id)
    }
}

/// Whether two versions of an order's lines are the same sale (ids and storage details aside).
fn same_lines(old: &[order_line::Model], new: &[order_line::Model]) -> bool {
    let key = |l: &order_line::Model| {
        (
            l.sku.clone(),
            l.variant_id,
            l.external_id.clone(),
            l.title.clone(),
            l.quantity,
            l.unit_price_minor,
            l.discount_minor,
            l.unit_cost_minor,
            l.currency.clone(),
        )
    };
    old.len() == new.len() && old.iter().map(key).eq(new.iter().map(key))
}

/// The order as if cancelled: what it contributes to its buyer is then nothing.
fn uncounted(order: &order::Model) -> order::Model {
    let mut o = order.clone();
    o.status = "cancelled".into();
    o
}
