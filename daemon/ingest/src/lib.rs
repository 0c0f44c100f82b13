//! The one write path. Every event — from a connector, a webhook, a CSV import or a GraphQL mutation — is
//! validated, deduplicated on its source id and applied with all its effects (rows, ledger entries, levels,
//! customer aggregates, rollups, alerts) in one transaction. Subscribers hear about it only after commit.

mod apply;
mod catalog;
mod inventory;
mod marketing;
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
use sea_orm::{DbErr, TransactionTrait};
use std::sync::Arc;

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
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

impl IngestError {
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
}

impl Ingest {
    pub fn new(store: Store, bus: EventBus) -> Self {
        let write_lock = match store.backend() {
            Backend::Sqlite => Some(Arc::new(tokio::sync::Mutex::new(()))),
            Backend::Postgres => None,
        };
        Self {
            store,
            bus,
            write_lock,
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
        let _guard = self.lock().await;
        let txn = self.store.db().begin().await?;
        let mut published = Vec::new();
        let mut cache = apply::Cache::default();
        let outcome = apply::one(&txn, &event, &mut published, &mut cache).await?;
        txn.commit().await?;
        self.publish(published);
        Ok(outcome)
    }

    /// Applies many events in ONE transaction, each in its own savepoint: an invalid event is refused alone
    /// while the others commit together. The outer `Err` means nothing at all was committed.
    #[tracing::instrument(name = "ingest.batch", skip_all, fields(events = events.len()))]
    pub async fn apply_batch(
        &self,
        events: &[IngestEvent],
    ) -> Result<Vec<Result<Outcome, IngestError>>, IngestError> {
        let _guard = self.lock().await;
        let txn = self.store.db().begin().await?;
        let mut published = Vec::new();
        let mut cache = apply::Cache::default();
        let mut results = Vec::with_capacity(events.len());
        for event in events {
            if let Err(e) = validate::event(event) {
                results.push(Err(e));
                continue;
            }
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
        txn.commit().await?;
        self.publish(published);
        Ok(results)
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
        let txn = self.store.db().begin().await.map_err(|e| (0, e.into()))?;
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
}
