//! The in-process event bus. Writers publish only after their transaction committed; subscribers (GraphQL
//! subscriptions, jobs) filter by workspace. A slow subscriber lags and is told so; it never blocks writers.

use crate::id::{ConnectionId, WorkspaceId};
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
}

impl DomainEvent {
    pub fn workspace_id(&self) -> WorkspaceId {
        match self {
            DomainEvent::WorkspaceCreated { workspace_id }
            | DomainEvent::ConnectionChanged { workspace_id, .. } => *workspace_id,
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
