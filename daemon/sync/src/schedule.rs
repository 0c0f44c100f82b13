//! The schedule: every active connection served by a loaded connector syncs every entity its connector
//! offers, one connection at a time per connection, at the connection's interval (or the default one). The
//! first sync of an entity (no cursor yet) is recorded as a backfill.

use crate::{RunKind, SyncEngine};
use creatorflow_core::ConnectionId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl SyncEngine {
    /// Starts the scheduler; it checks which connections are due every `tick`.
    pub fn spawn_scheduler(
        &self,
        default_interval: Duration,
        tick: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut next_due: HashMap<i64, Instant> = HashMap::new();
            let busy: Arc<std::sync::Mutex<std::collections::HashSet<i64>>> = Arc::default();
            let mut timer = tokio::time::interval(tick);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                timer.tick().await;
                let connections = match engine.store().active_connections().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "Scheduler cannot list connections");
                        continue;
                    }
                };
                let now = Instant::now();
                for model in connections {
                    if engine.host.connector(&Self::plugin_id(&model)).is_err() {
                        continue;
                    }
                    if next_due.get(&model.id).is_some_and(|due| *due > now) {
                        continue;
                    }
                    if !busy
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(model.id)
                    {
                        continue;
                    }
                    let every = model
                        .sync_interval_secs
                        .and_then(|s| u64::try_from(s).ok())
                        .filter(|s| *s > 0)
                        .map_or(default_interval, Duration::from_secs);
                    next_due.insert(model.id, now + every);
                    let engine = engine.clone();
                    let busy = busy.clone();
                    tokio::spawn(async move {
                        let id = ConnectionId(model.id);
                        if let Err(e) = engine.scheduled(id).await {
                            tracing::warn!(connection = model.id, error = %e, "Scheduled sync failed");
                        }
                        busy.lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&model.id);
                    });
                }
            }
        })
    }

    /// One scheduled sync of every entity: a backfill for entities without a cursor, incremental otherwise.
    async fn scheduled(&self, id: ConnectionId) -> Result<(), crate::SyncError> {
        for entity in self.entities(id).await? {
            let kind = match self.store().cursor(id, crate::entity_name(entity)).await? {
                Some(_) => RunKind::Incremental,
                None => RunKind::Backfill,
            };
            self.run(id, entity, kind, None).await?;
        }
        Ok(())
    }
}
