//! The one write path. Every event — from a connector, a webhook, a CSV import or a GraphQL mutation — is
//! validated, deduplicated on its source id and applied with all its effects (rows, ledger entries, levels,
//! customer aggregates, rollups, alerts) in one transaction. Subscribers hear about it only after commit.

mod apply;
mod catalog;
mod inventory;
mod marketing;
mod order_batch;
mod orders;
mod rollup;
mod settings;
mod validate;
mod verify;

pub use catalog::DEFAULT_LOCATION;
pub use inventory::LedgerReason;
pub use settings::{ReserveOn, Settings, load as load_settings, save as save_settings};
pub use verify::{Drift, RollupDrift};

use creatorflow_core::ingest::IngestEvent;
use creatorflow_core::{DomainEvent, EventBus};
use creatorflow_store::{Backend, Store};
use sea_orm::{
    DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// What happened to an accepted event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Applied now.
    Applied,
    /// Seen before under the same source id; nothing changed.
    Duplicate,
    /// Older than what is stored (an out-of-order update); recorded as seen, nothing changed.
    Stale,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Stale => "stale",
        }
    }
}

/// Why an event was refused. A refused event changes nothing and is not remembered, so it can be retried.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The event is malformed; `field` names the offending part.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// It refers to something that does not exist (yet), e.g. a status change for an unknown order.
    #[error("{0}")]
    NotFound(String),
    /// A business rule forbids it, e.g. a manual adjustment below zero when the workspace forbids that.
    #[error("{0}")]
    Rejected(String),
    /// Another writer held the database for longer than the busy timeout; nothing changed, retry later.
    #[error("{0}")]
    Busy(String),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

impl IngestError {
    /// Lock contention rather than a fault: the same request can be retried unchanged.
    pub fn is_busy(&self) -> bool {
        match self {
            IngestError::Busy(_) => true,
            IngestError::Db(e) => creatorflow_store::is_busy(e),
            _ => false,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        IngestError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The pipeline. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Ingest {
    store: Store,
    bus: EventBus,
    /// SQLite has one writer: queueing writers here avoids busy-waiting on the file lock.
    write_lock: Option<Arc<tokio::sync::Mutex<()>>>,
    /// SQLite only: single events that arrive together share one transaction (group commit).
    group: Option<Arc<OnceLock<mpsc::Sender<Pending>>>>,
}

/// A single event waiting for the group committer, and where its result goes.
struct Pending {
    event: IngestEvent,
    reply: oneshot::Sender<Result<Outcome, IngestError>>,
}

/// Most single events committed together. Bounds the latency one group adds to the first event in it.
const MAX_GROUP: usize = 256;

impl Ingest {
    pub fn new(store: Store, bus: EventBus) -> Self {
        let write_lock = match store.backend() {
            Backend::Sqlite => Some(Arc::new(tokio::sync::Mutex::new(()))),
            Backend::Postgres => None,
        };
        let group = write_lock.as_ref().map(|_| Arc::new(OnceLock::new()));
        Self {
            store,
            bus,
            write_lock,
            group,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// Applies one event in its own transaction; durable when this returns `Ok`.
    #[tracing::instrument(name = "ingest.apply", skip_all, fields(kind = event.payload.kind(), source = %event.source.key()))]
    pub async fn apply(&self, event: IngestEvent) -> Result<Outcome, IngestError> {
        validate::event(&event)?;
        if let Some(group) = &self.group {
            return self.apply_grouped(group, event).await;
        }
        self.apply_alone(&event).await
    }

    /// One event, one transaction.
    async fn apply_alone(&self, event: &IngestEvent) -> Result<Outcome, IngestError> {
        let _guard = self.lock().await;
        let txn = self.begin().await?;
        let mut published = Vec::new();
        let mut cache = apply::Cache::default();
        let outcome = apply::one(&txn, event, &mut published, &mut cache).await?;
        txn.commit().await?;
        self.publish(published);
        Ok(outcome)
    }

    /// Hands the event to the group committer and waits until its group is durable. With SQLite every write
    /// is serialised anyway; committing the events that queued meanwhile together pays BEGIN, COMMIT and the
    /// lookups once per group instead of once per event, so more single events fit through per second.
    async fn apply_grouped(
        &self,
        group: &OnceLock<mpsc::Sender<Pending>>,
        event: IngestEvent,
    ) -> Result<Outcome, IngestError> {
        let sender = group.get_or_init(|| {
            let (tx, rx) = mpsc::channel(MAX_GROUP * 4);
            tokio::spawn(self.clone().commit_groups(rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        sender
            .send(Pending { event, reply })
            .await
            .map_err(|_| IngestError::Db(DbErr::Custom("the write path has stopped".into())))?;
        answer.await.map_err(|_| {
            IngestError::Db(DbErr::Custom(
                "the write path failed while applying this event; retry it (a retry with the same source id is never applied twice)".into(),
            ))
        })?
    }

    /// The group committer: takes whatever single events are queued (up to [`MAX_GROUP`]) and commits them in
    /// one transaction, each in its own savepoint so a refused event is refused alone.
    async fn commit_groups(self, mut rx: mpsc::Receiver<Pending>) {
        let mut group = Vec::with_capacity(MAX_GROUP);
        while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
            let pending = std::mem::take(&mut group);
            // Each group runs as its own task: should applying it panic, its callers get an error (their
            // reply channels close) and the committer goes on serving the next group.
            let ingest = self.clone();
            if let Err(e) = tokio::spawn(async move { ingest.commit_group(pending).await }).await {
                tracing::error!(error = %e, "A group of events failed to apply");
            }
        }
    }

    async fn commit_group(&self, pending: Vec<Pending>) {
        if let [_] = pending.as_slice() {
            for p in pending {
                let result = self.apply_alone(&p.event).await;
                let _ = p.reply.send(result);
            }
            return;
        }
        tracing::debug!(
            events = pending.len(),
            "Committing a group of single events"
        );
        // A caller that gave up (its request timed out and dropped the answer) is not applied behind its back.
        let (events, replies): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .filter(|p| !p.reply.is_closed())
            .map(|p| (p.event, p.reply))
            .unzip();
        if events.is_empty() {
            return;
        }
        let busy = || {
            IngestError::Busy(
                "the database is locked by another writer (e.g. an import); nothing was changed"
                    .into(),
            )
        };
        match self.apply_checked(events.iter().map(Ok).collect()).await {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            // Lock contention: every event of the group would wait the busy timeout again, one after the
            // other, stalling the write path for minutes. All of them get BUSY at once instead.
            Err(e) if e.is_busy() => {
                for reply in replies {
                    let _ = reply.send(Err(busy()));
                }
            }
            // Another database failure rolled the whole group back: each event gets its own transaction, so
            // one event's failure never becomes another's, until one of them meets lock contention.
            Err(_) => {
                let mut contended = false;
                for (event, reply) in events.iter().zip(replies) {
                    if contended || reply.is_closed() {
                        let _ = reply.send(Err(busy()));
                        continue;
                    }
                    let result = self.apply_alone(event).await;
                    contended = result.as_ref().is_err_and(IngestError::is_busy);
                    let _ = reply.send(result);
                }
            }
        }
    }

    /// Applies many events in ONE transaction, each in its own savepoint: an invalid event is refused alone
    /// while the others commit together. The outer `Err` means nothing at all was committed.
    #[tracing::instrument(name = "ingest.batch", skip_all, fields(events = events.len()))]
    pub async fn apply_batch(
        &self,
        events: &[IngestEvent],
    ) -> Result<Vec<Result<Outcome, IngestError>>, IngestError> {
        let checked: Vec<_> = events
            .iter()
            .map(|e| validate::event(e).map(|()| e))
            .collect();
        self.apply_checked(checked).await
    }

    /// The body of [`Ingest::apply_batch`] for events already validated (`Ok`) or refused (`Err`), so the
    /// group committer does not validate twice.
    async fn apply_checked(
        &self,
        events: Vec<Result<&IngestEvent, IngestError>>,
    ) -> Result<Vec<Result<Outcome, IngestError>>, IngestError> {
        let _guard = self.lock().await;
        let txn = self.begin().await?;
        let mut published = Vec::new();
        let results = self.apply_in(&txn, events, &mut published).await?;
        txn.commit().await?;
        self.publish(published);
        Ok(results)
    }

    /// Applies events inside `txn`: runs of orders in bulk, every other event alone under a savepoint so a
    /// refused one leaves the rest intact. Only a database error fails the whole call.
    async fn apply_in(
        &self,
        txn: &DatabaseTransaction,
        events: Vec<Result<&IngestEvent, IngestError>>,
        published: &mut Vec<DomainEvent>,
    ) -> Result<Vec<Result<Outcome, IngestError>>, IngestError> {
        let mut cache = apply::Cache::default();
        let mut results = Vec::with_capacity(events.len());
        let mut run = Vec::new();
        for event in events {
            if let Ok(e) = event
                && order_batch::handles(e)
            {
                run.push(e);
                continue;
            }
            if !run.is_empty() {
                let applied = order_batch::apply(txn, &run, published, &mut cache).await?;
                results.extend(applied);
                run.clear();
            }
            let event = match event {
                Ok(event) => event,
                Err(e) => {
                    results.push(Err(e));
                    continue;
                }
            };
            let sp = txn.begin().await?;
            let mut local = Vec::new();
            match apply::one(&sp, event, &mut local, &mut cache).await {
                Ok(outcome) => {
                    sp.commit().await?;
                    published.append(&mut local);
                    results.push(Ok(outcome));
                }
                Err(IngestError::Db(e)) => return Err(IngestError::Db(e)),
                Err(e) => {
                    sp.rollback().await?;
                    cache = apply::Cache::default();
                    results.push(Err(e));
                }
            }
        }
        if !run.is_empty() {
            results.extend(order_batch::apply(txn, &run, published, &mut cache).await?);
        }
        Ok(results)
    }

    /// Applies one page of a sync, all or nothing, and runs `commit_with` in the same transaction before it
    /// commits (the page's cursor goes there), so a cursor never runs ahead of the data it stands for. The
    /// first refused event rolls the page back and is returned with its index. Orders go through the same
    /// batched path as [`Ingest::apply_batch`].
    #[tracing::instrument(name = "ingest.page", skip_all, fields(events = events.len()))]
    pub async fn apply_page<F>(
        &self,
        events: &[IngestEvent],
        commit_with: F,
    ) -> Result<Vec<Outcome>, (usize, IngestError)>
    where
        F: for<'t> FnOnce(
            &'t DatabaseTransaction,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<(), DbErr>> + Send + 't>,
        >,
    {
        for (i, event) in events.iter().enumerate() {
            validate::event(event).map_err(|e| (i, e))?;
        }
        let _guard = self.lock().await;
        let txn = self.begin().await.map_err(|e| (0, e.into()))?;
        let mut published = Vec::new();
        let results = self
            .apply_in(&txn, events.iter().map(Ok).collect(), &mut published)
            .await
            .map_err(|e| (0, e))?;
        let mut outcomes = Vec::with_capacity(results.len());
        for (i, result) in results.into_iter().enumerate() {
            outcomes.push(result.map_err(|e| (i, e))?);
        }
        commit_with(&txn)
            .await
            .map_err(|e| (events.len(), e.into()))?;
        txn.commit().await.map_err(|e| (events.len(), e.into()))?;
        self.publish(published);
        Ok(outcomes)
    }

    /// A write transaction. On SQLite it takes the write lock at BEGIN, so a writer in another process makes
    /// it wait (busy timeout) instead of failing later on a read-to-write upgrade.
    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        match self.store.backend() {
            Backend::Sqlite => {
                self.store
                    .db()
                    .begin_with_options(TransactionOptions {
                        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                        ..Default::default()
                    })
                    .await
            }
            Backend::Postgres => self.store.db().begin().await,
        }
    }

    /// Applies events in one transaction, all or nothing: the first refused event rolls everything back and is
    /// returned with its index. For imports, where a half-applied file is worse than none.
    #[tracing::instrument(name = "ingest.all_or_nothing", skip_all, fields(events = events.len()))]
    pub async fn apply_all(
        &self,
        events: &[IngestEvent],
    ) -> Result<Vec<Outcome>, (usize, IngestError)> {
        for (i, event) in events.iter().enumerate() {
            validate::event(event).map_err(|e| (i, e))?;
        }
        let _guard = self.lock().await;
        let txn = self.begin().await.map_err(|e| (0, e.into()))?;
        let mut published = Vec::new();
        let mut outcomes = Vec::with_capacity(events.len());
        let mut cache = apply::Cache::default();
        for (i, event) in events.iter().enumerate() {
            outcomes.push(
                apply::one(&txn, event, &mut published, &mut cache)
                    .await
                    .map_err(|e| (i, e))?,
            );
        }
        txn.commit().await.map_err(|e| (events.len(), e.into()))?;
        self.publish(published);
        Ok(outcomes)
    }

    async fn lock(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(m) => Some(m.lock().await),
            None => None,
        }
    }

    fn publish(&self, events: Vec<DomainEvent>) {
        for e in events {
            self.bus.publish(e);
        }
    }

    /// Re-folds the ledger and compares it with the stored levels.
    pub async fn verify_inventory(&self) -> Result<Vec<Drift>, IngestError> {
        verify::inventory(self.store.db()).await
    }

    /// Rebuilds every level's quantities from the ledger; returns how many levels changed.
    pub async fn rebuild_inventory(&self) -> Result<usize, IngestError> {
        let _guard = self.lock().await;
        verify::rebuild_inventory(self.store.db()).await
    }

    /// Recomputes the rollups and customer aggregates from raw rows and compares them with the stored ones.
    pub async fn verify_rollups(&self) -> Result<Vec<RollupDrift>, IngestError> {
        verify::rollups(self.store.db()).await
    }

    /// Replaces the rollups and customer aggregates with ones recomputed from raw rows.
    pub async fn rebuild_rollups(&self) -> Result<(), IngestError> {
        let _guard = self.lock().await;
        verify::rebuild_rollups(self.store.db()).await
    }

    /// Runs the tasks migrations left for the write path (e.g. a rollup rebuild after the rollups changed
    /// shape) and returns their names. A task is removed only once it has run, so a stop halfway reruns it.
    pub async fn run_maintenance(&self) -> Result<Vec<String>, IngestError> {
        use creatorflow_store::entity::maintenance_task;
        use sea_orm::{EntityTrait, ModelTrait};
        let tasks = maintenance_task::Entity::find()
            .all(self.store.db())
            .await?;
        let mut done = Vec::new();
        for task in tasks {
            match task.name.as_str() {
                creatorflow_store::migration::REBUILD_ROLLUPS => self.rebuild_rollups().await?,
                other => {
                    tracing::warn!(task = other, "Unknown maintenance task left as it is");
                    continue;
                }
            }
            done.push(task.name.clone());
            task.delete(self.store.db()).await?;
        }
        Ok(done)
    }
}

/// Decodes `data` as an `ingestEvents` item's payload and validates the event, as the API does before anything
/// is stored. For the fuzz target and its corpus replay; panics are the only failure.
pub fn fuzz_event_json(data: &[u8]) {
    if let Ok(payload) = serde_json::from_slice::<creatorflow_core::ingest::Payload>(data) {
        let event = IngestEvent {
            workspace_id: creatorflow_core::WorkspaceId(1),
            source: creatorflow_core::ingest::Source::Manual,
            source_event_id: "fuzz".into(),
            actor: "fuzz".into(),
            occurred_at: chrono::DateTime::UNIX_EPOCH,
            payload,
        };
        let _ = validate::event(&event);
    }
}
