//! Webhook deliveries: the connector verifies and parses, the events go through the ingest pipeline, and the
//! answer is 2xx only once they are committed. Every delivery is recorded with its outcome and latency.

use crate::{RunKind, SyncEngine, SyncError, map};
use chrono::{DateTime, Utc};
use creatorflow_core::ConnectionId;
use creatorflow_ingest::Outcome;
use creatorflow_plugin_host::ErrorKind;
use creatorflow_plugin_host::model::{
    DomainChange, Record, ReportedError, WebhookEvent, WebhookRequest, WebhookVerdict,
};
use creatorflow_store::sync::NewDelivery;
use std::time::Instant;

/// One webhook request as the HTTP layer received it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub connection_id: ConnectionId,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub received_at: DateTime<Utc>,
}

/// What to answer the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookReply {
    pub status: u16,
    /// applied, duplicate, unauthorized, malformed, unknown_connection, paused, failed.
    pub outcome: &'static str,
    pub message: String,
}

impl WebhookReply {
    fn new(status: u16, outcome: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            outcome,
            message: message.into(),
        }
    }
}

impl SyncEngine {
    /// Handles one delivery end to end and records it.
    #[tracing::instrument(name = "sync.webhook", skip_all, fields(connection = %delivery.connection_id))]
    pub async fn webhook(&self, delivery: Delivery) -> WebhookReply {
        let started = Instant::now();
        let id = delivery.connection_id;
        let mut parsed: Option<(String, String)> = None;
        let mut records = 0i64;
        let mut workspace = None;
        let reply = self
            .handle_webhook(&delivery, &mut workspace, &mut parsed, &mut records)
            .await;
        metrics::counter!("creatorflow_webhooks_total", "outcome" => reply.outcome).increment(1);
        if let Some(workspace_id) = workspace {
            let (delivery_id, topic) = parsed.unzip();
            let recorded = self
                .store()
                .record_delivery(NewDelivery {
                    workspace_id,
                    connection_id: id,
                    delivery_id,
                    topic,
                    outcome: reply.outcome.to_owned(),
                    status_code: reply.status,
                    records,
                    latency_us: i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX),
                    error: (reply.status >= 300).then(|| reply.message.clone()),
                    received_at: delivery.received_at,
                })
                .await;
            if let Err(e) = recorded {
                tracing::warn!(error = %e, "Could not record a webhook delivery");
            }
        }
        reply
    }

    async fn handle_webhook(
        &self,
        delivery: &Delivery,
        workspace: &mut Option<creatorflow_core::WorkspaceId>,
        parsed: &mut Option<(String, String)>,
        records: &mut i64,
    ) -> WebhookReply {
        let opened = match self.open(delivery.connection_id).await {
            Ok(opened) => opened,
            Err(SyncError::NotFound(_)) => {
                return WebhookReply::new(404, "unknown_connection", "no such connection");
            }
            Err(e) => {
                // The connection exists but cannot be served (plugin not loaded, bad settings): still recorded.
                if let Ok(Some(model)) = self.store().connection_by_id(delivery.connection_id).await
                {
                    *workspace = Some(creatorflow_core::WorkspaceId(model.workspace_id));
                }
                return WebhookReply::new(503, "failed", e.to_string());
            }
        };
        *workspace = Some(opened.target.workspace_id);
        if opened.model.status != "active" {
            return WebhookReply::new(409, "paused", "the connection is paused");
        }
        let request = WebhookRequest {
            headers: delivery.headers.clone(),
            body: delivery.body.clone(),
            received_at: delivery.received_at,
        };
        match opened.handle.verify_webhook(&opened.call, &request).await {
            Ok(WebhookVerdict::Accepted) => {}
            Ok(WebhookVerdict::Rejected(reason)) => {
                return WebhookReply::new(401, "unauthorized", reason);
            }
            Err(e) => {
                return WebhookReply::new(
                    malformed_or(&e.kind, 503),
                    outcome(&e.kind),
                    e.to_string(),
                );
            }
        }
        let event: WebhookEvent = match opened.handle.parse_webhook(&opened.call, &request).await {
            Ok(event) => event,
            Err(e) => {
                return WebhookReply::new(
                    malformed_or(&e.kind, 503),
                    outcome(&e.kind),
                    e.to_string(),
                );
            }
        };
        *parsed = Some((event.delivery_id.clone(), event.topic.clone()));
        let mut upserts = Vec::new();
        let mut refetch = Vec::new();
        for change in event.changes {
            match change {
                DomainChange::Upsert(record) => upserts.push(record),
                DomainChange::Refetch(r) => refetch.push(r.entity),
                DomainChange::Deleted(_) => {}
            }
        }
        // A stock record sets on-hand from the channel's available count, which excludes units held by open
        // orders: those are read only when the delivery carries stock.
        let reserved = if upserts.iter().any(|r| matches!(r, Record::Stock(_))) {
            match self.reserved(opened.target.workspace_id).await {
                Ok(r) => r,
                Err(e) => return WebhookReply::new(503, "failed", e.to_string()),
            }
        } else {
            map::Reserved::new()
        };
        let events = match map::events(opened.target, &upserts, &reserved) {
            Ok(events) => events,
            Err(e) => return WebhookReply::new(400, "malformed", e.to_string()),
        };
        *records = events.len() as i64;
        let outcomes = match self
            .ingest
            .apply_page(&events, |_| Box::pin(async { Ok(()) }))
            .await
        {
            Ok(outcomes) => outcomes,
            Err((_, e)) if e.is_busy() => return WebhookReply::new(503, "failed", e.to_string()),
            Err((index, e)) => {
                return WebhookReply::new(422, "refused", format!("change {index}: {e}"));
            }
        };
        // A webhook that only names what changed: the polling path fetches it, in the background, so the
        // channel is answered in time. Losing this is harmless: the next scheduled sync covers it.
        refetch.sort_by_key(|e| crate::entity_name(*e));
        refetch.dedup();
        for entity in refetch {
            let engine = self.clone();
            let id = delivery.connection_id;
            tokio::spawn(async move {
                if let Err(e) = engine.run(id, entity, RunKind::Webhook, None).await {
                    tracing::warn!(error = %e, "Refetch after a webhook failed");
                }
            });
        }
        let applied = outcomes.contains(&Outcome::Applied);
        if outcomes.is_empty() || applied {
            WebhookReply::new(200, "applied", "ok")
        } else {
            WebhookReply::new(200, "duplicate", "already applied")
        }
    }
}

/// Bad input from the channel is its problem (4xx, no retry helps); anything else is ours (5xx, retry).
fn malformed_or(kind: &ErrorKind, otherwise: u16) -> u16 {
    match kind {
        ErrorKind::InvalidInput { .. } | ErrorKind::Reported(ReportedError::InvalidInput(_)) => 400,
        ErrorKind::Reported(ReportedError::Unauthorized(_)) => 401,
        _ => otherwise,
    }
}

fn outcome(kind: &ErrorKind) -> &'static str {
    match malformed_or(kind, 503) {
        400 => "malformed",
        401 => "unauthorized",
        _ => "failed",
    }
}
