//! Live changes. A subscription checks the token once at start and then only forwards events of the
//! workspace it was opened for; events are published after commit, so nothing uncommitted is ever seen.

use super::stock::events_of;
use crate::auth::{Need, workspace_for};
use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use creatorflow_core::{DomainEvent, EventBus};
use futures_util::Stream;
use std::sync::Arc;

#[derive(SimpleObject, Clone)]
pub struct ConnectionEvent {
    pub workspace: String,
    pub connection_id: ID,
    pub status: String,
}

#[derive(Default)]
pub struct WorkspaceSubscription;

#[Subscription]
impl WorkspaceSubscription {
    /// Connections created or changing status in a workspace.
    async fn connection_changed(
        &self,
        ctx: &Context<'_>,
        workspace: String,
    ) -> Result<impl Stream<Item = Result<ConnectionEvent>> + use<>> {
        let ws = workspace_for(ctx, &workspace, Need::Read).await?;
        let slug = ws.slug.clone();
        Ok(events_of(
            ctx.data::<EventBus>()?,
            ws.id,
            Arc::new(move |ev| match ev {
                DomainEvent::ConnectionChanged {
                    connection_id,
                    status,
                    ..
                } => Some(ConnectionEvent {
                    workspace: slug.clone(),
                    connection_id: ID(connection_id.to_string()),
                    status,
                }),
                _ => None,
            }),
        ))
    }
}
