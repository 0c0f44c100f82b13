//! The in-process event bus. Writers publish only after their transaction committed; subscribers (GraphQL
//! subscriptions, jobs) filter by workspace. A slow subscriber lags and is told so; it never blocks writers.

use crate::id::{ConnectionId, OrderId, VariantId, WorkspaceId};
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
    tx: broadcast::Sender<DomainEvent>,
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(16));
        Self { tx }
    }

    /// Publishes a committed change; having no subscriber is normal.
    pub fn publish(&self, event: DomainEvent) {
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.tx.subscribe()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(4096)
    }
}
