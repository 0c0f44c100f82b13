//! Live changes. A subscription checks the token once at start and then only forwards events of the
//! workspace it was opened for; events are published after commit, so nothing uncommitted is ever seen.

use crate::auth::{Need, workspace_for};
use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use creatorflow_core::{DomainEvent, EventBus};
use futures_util::Stream;
use futures_util::stream::unfold;
use tokio::sync::broadcast::error::RecvError;

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
    ) -> Result<impl Stream<Item = ConnectionEvent> + use<>> {
        let ws = workspace_for(ctx, &workspace, Need::Read).await?;
        let rx = ctx.data::<EventBus>()?.subscribe();
        Ok(unfold(rx, move |mut rx| {
            let slug = ws.slug.clone();
            let ws_id = ws.id;
            async move {
                loop {
                    match rx.recv().await {
                        Ok(DomainEvent::ConnectionChanged {
                            workspace_id,
                            connection_id,
                            status,
                        }) if workspace_id.0 == ws_id => {
                            let event = ConnectionEvent {
                                workspace: slug,
                                connection_id: ID(connection_id.to_string()),
                                status,
                            };
                            return Some((event, rx));
                        }
                        Ok(_) => {}
                        Err(RecvError::Lagged(n)) => {
                            tracing::warn!(skipped = n, "Subscriber lagged behind the event bus");
                        }
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        }))
    }
}
