//! The in-process event bus. Writers publish only after their transaction committed. Each workspace has its
//! own bounded channel, so a burst in one workspace (a 10K-line import) can never push another workspace's
//! events out of a subscriber's queue; a subscriber that falls behind its own workspace's channel lags and
//! is told so (`RecvError::Lagged`). Nothing here ever blocks a writer.

use crate::id::{ConnectionId, OrderId, VariantId, WorkspaceId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Something that changed, after it was durably stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    WorkspaceCreated {
        workspace_id: WorkspaceId,
    },
    ConnectionChanged {
        workspace_id: WorkspaceId,
        connection_id: ConnectionId,
        status: String,
    },
    /// A stock level changed; carries the levels after the change.
    InventoryChanged(InventoryChange),
    OrderChanged {
        workspace_id: WorkspaceId,
        order_id: OrderId,
        external_id: String,
        status: String,
    },
    AlertRaised(AlertNotice),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryChange {
    pub workspace_id: WorkspaceId,
    pub variant_id: VariantId,
    pub location_id: i64,
    pub sku: String,
    pub location: String,
    pub ledger_id: i64,
    pub reason: String,
    pub delta_on_hand: i64,
    pub delta_committed: i64,
    pub on_hand: i64,
    pub committed: i64,
    pub available: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertNotice {
    pub workspace_id: WorkspaceId,
    pub alert_id: i64,
    pub kind: String,
    pub severity: String,
    pub subject: String,
    pub message: String,
}

impl DomainEvent {
    pub fn workspace_id(&self) -> WorkspaceId {
        match self {
            DomainEvent::WorkspaceCreated { workspace_id }
            | DomainEvent::ConnectionChanged { workspace_id, .. }
            | DomainEvent::OrderChanged { workspace_id, .. } => *workspace_id,
            DomainEvent::InventoryChanged(c) => c.workspace_id,
            DomainEvent::AlertRaised(a) => a.workspace_id,
        }
    }
}

#[derive(Debug, Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    capacity: usize,
    /// Every event, for in-process consumers that watch all workspaces.
    all: broadcast::Sender<DomainEvent>,
    /// One channel per workspace that has (or had) a subscriber.
    workspaces: Mutex<HashMap<WorkspaceId, broadcast::Sender<DomainEvent>>>,
}

impl EventBus {
    /// `capacity` events can queue per channel before its slowest subscriber lags.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(16);
        let (all, _) = broadcast::channel(capacity);
        Self {
            inner: Arc::new(Inner {
                capacity,
                all,
                workspaces: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Publishes a committed change; having no subscriber is normal.
    pub fn publish(&self, event: DomainEvent) {
        let ws = event.workspace_id();
        {
            let mut channels = self.channels();
            if let Some(tx) = channels.get(&ws) {
                if tx.receiver_count() == 0 {
                    // Nobody listens any more: drop the channel instead of keeping it forever.
                    channels.remove(&ws);
                } else {
                    let _ = tx.send(event.clone());
                }
            }
        }
        let _ = self.inner.all.send(event);
    }

    /// Every workspace's events.
    pub fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.inner.all.subscribe()
    }

    /// One workspace's events, on that workspace's own channel.
    pub fn subscribe_workspace(&self, workspace: WorkspaceId) -> broadcast::Receiver<DomainEvent> {
        self.channels()
            .entry(workspace)
            .or_insert_with(|| broadcast::channel(self.inner.capacity).0)
            .subscribe()
    }

    fn channels(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<WorkspaceId, broadcast::Sender<DomainEvent>>> {
        self.inner
            .workspaces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(4096)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::broadcast::error::TryRecvError;

    fn created(ws: i64) -> DomainEvent {
        DomainEvent::WorkspaceCreated {
            workspace_id: WorkspaceId(ws),
        }
    }

    #[test]
    fn a_burst_in_one_workspace_leaves_another_workspaces_subscriber_whole() {
        let bus = EventBus::new(16);
        let mut quiet = bus.subscribe_workspace(WorkspaceId(2));
        let mut busy = bus.subscribe_workspace(WorkspaceId(1));
        bus.publish(created(2));
        for _ in 0..1000 {
            bus.publish(created(1));
        }
        bus.publish(created(2));
        assert_eq!(quiet.try_recv(), Ok(created(2)));
        assert_eq!(quiet.try_recv(), Ok(created(2)));
        assert_eq!(quiet.try_recv(), Err(TryRecvError::Empty));
        // The busy workspace's own slow subscriber is told it lagged.
        assert!(matches!(busy.try_recv(), Err(TryRecvError::Lagged(_))));
    }

    #[test]
    fn channels_without_subscribers_are_dropped() {
        let bus = EventBus::new(16);
        drop(bus.subscribe_workspace(WorkspaceId(7)));
        bus.publish(created(7));
        assert!(bus.channels().is_empty());
    }
}
