//! Stock push: when the sellable count of a SKU changes here, from any source, every active connection whose
//! connector pushes stock is told the new count, debounced so a burst of changes becomes one call per
//! connection. The ledger wins: a channel that holds a different count than expected (compare-and-swap
//! conflict) is overwritten with ours and the divergence is logged and counted. Oversold stock pushes 0.

use crate::SyncEngine;
use creatorflow_core::{DomainEvent, EventBus};
use creatorflow_plugin_host::model::{InventoryUpdate, PushOutcome};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Most SKUs pushed to one connection in one call.
const MAX_PUSH_BATCH: usize = 200;

/// What changed for one (SKU, location) since the last flush: the count the channel was last told, as far
/// as the ledger knows, and the count now.
#[derive(Debug, Clone, Copy)]
struct Pending {
    before: i64,
    now: i64,
}

impl SyncEngine {
    /// Starts pushing stock changes heard on `bus`; changes are gathered for `debounce` before each push.
    pub fn spawn_stock_push(
        &self,
        bus: &EventBus,
        debounce: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        let mut events = bus.subscribe();
        tokio::spawn(async move {
            // workspace → (sku, location) → pending change.
            let mut pending: HashMap<i64, BTreeMap<(String, Option<String>), Pending>> =
                HashMap::new();
            loop {
                let first = if pending.is_empty() {
                    events.recv().await
                } else {
                    match tokio::time::timeout(debounce, events.recv()).await {
                        Ok(event) => event,
                        Err(_) => {
                            for (ws, changes) in pending.drain() {
                                engine.push_changes(ws, changes).await;
                            }
                            continue;
                        }
                    }
                };
                match first {
                    Ok(DomainEvent::InventoryChanged(c)) => {
                        let location = (c.location != creatorflow_ingest::DEFAULT_LOCATION)
                            .then_some(c.location);
                        let before = c.available - (c.delta_on_hand - c.delta_committed);
                        pending
                            .entry(c.workspace_id.0)
                            .or_default()
                            .entry((c.sku, location))
                            .and_modify(|p| p.now = c.available)
                            .or_insert(Pending {
                                before,
                                now: c.available,
                            });
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(missed)) => {
                        // Changes were missed: the next stock sync of each connection reconciles them.
                        tracing::warn!(missed, "Stock push fell behind the event bus");
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        })
    }

    /// Pushes one workspace's changes to each of its active connections that push stock.
    async fn push_changes(&self, ws: i64, changes: BTreeMap<(String, Option<String>), Pending>) {
        let changes: Vec<_> = changes
            .into_iter()
            .filter(|(_, p)| p.before != p.now)
            .collect();
        if changes.is_empty() {
            return;
        }
        let connections = match self.store().active_connections().await {
            Ok(all) => all
                .into_iter()
                .filter(|c| c.workspace_id == ws)
                .collect::<Vec<_>>(),
            Err(e) => {
                tracing::warn!(error = %e, "Stock push cannot list connections");
                return;
            }
        };
        for model in connections {
            let id = creatorflow_core::ConnectionId(model.id);
            // Until a connection's stock has been read once, the ledger does not know the channel's count
            // yet: pushing would overwrite the shop with a half-imported number.
            if !matches!(
                self.store()
                    .cursor(
                        id,
                        crate::entity_name(creatorflow_plugin_host::model::Entity::Stock)
                    )
                    .await,
                Ok(Some(_))
            ) {
                continue;
            }
            let Ok(opened) = self.open(id).await else {
                continue;
            };
            let setting = |key: &str| {
                opened
                    .call
                    .config
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            };
            if setting("push_stock").as_deref() == Some("false") {
                continue;
            }
            let buffer: i64 = setting("stock_buffer")
                .and_then(|b| b.parse().ok())
                .unwrap_or(0)
                .max(0);
            let shown = |n: i64| (n - buffer).max(0);
            for batch in changes.chunks(MAX_PUSH_BATCH) {
                let updates: Vec<InventoryUpdate> = batch
                    .iter()
                    .map(|((sku, location), p)| InventoryUpdate {
                        sku: sku.clone(),
                        location: location.clone(),
                        quantity: shown(p.now),
                        expected_previous: Some(shown(p.before)),
                    })
                    .collect();
                self.push_batch(&opened, updates).await;
            }
        }
    }

    async fn push_batch(&self, opened: &crate::Opened, updates: Vec<InventoryUpdate>) {
        let results = match opened.handle.push_inventory(&opened.call, &updates).await {
            Ok(results) => results,
            Err(e) => {
                // Connectors that cannot push (read-only ones) say so; that is not a failure.
                if !matches!(
                    &e.kind,
                    creatorflow_plugin_host::ErrorKind::Reported(
                        creatorflow_plugin_host::model::ReportedError::Unsupported(_)
                    )
                ) {
                    tracing::warn!(connection = opened.model.id, error = %e, "Stock push failed");
                    metrics::counter!("creatorflow_stock_push_total", "outcome" => "failed")
                        .increment(updates.len() as u64);
                }
                return;
            }
        };
        let mut overwrite = Vec::new();
        for (update, result) in updates.iter().zip(results) {
            let outcome = match result.outcome {
                PushOutcome::Applied(_) => "applied",
                PushOutcome::NotFound => "not_found",
                PushOutcome::Rejected(reason) => {
                    tracing::warn!(connection = opened.model.id, sku = %update.sku, reason = %reason, "Channel refused a stock push");
                    "rejected"
                }
                // The channel already holds what the ledger says (e.g. it reported this very count):
                // nothing to overwrite and nothing diverged.
                PushOutcome::Conflict(actual) if actual == update.quantity => "in_sync",
                PushOutcome::Conflict(actual) => {
                    tracing::warn!(
                        connection = opened.model.id,
                        sku = %update.sku,
                        channel = actual,
                        ours = update.quantity,
                        "Channel stock diverged from the ledger; the ledger wins"
                    );
                    overwrite.push(InventoryUpdate {
                        expected_previous: Some(actual),
                        ..update.clone()
                    });
                    "conflict"
                }
            };
            metrics::counter!("creatorflow_stock_push_total", "outcome" => outcome).increment(1);
        }
        if !overwrite.is_empty()
            && let Err(e) = opened.handle.push_inventory(&opened.call, &overwrite).await
        {
            tracing::warn!(connection = opened.model.id, error = %e, "Overwriting diverged channel stock failed");
        }
    }
}
