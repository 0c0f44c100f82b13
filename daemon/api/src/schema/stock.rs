//! Stock: levels, ledger history, alerts, and their live subscriptions.

use super::types::{page_args, relay};
use crate::auth::{Need, workspace_for};
use crate::error::{from_catalog, gql_error};
use async_graphql::connection::Connection as RelayConnection;
use async_graphql::{Context, ID, InputObject, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use creatorflow_core::{DomainEvent, ErrorCode, EventBus};
use creatorflow_store::Store;
use creatorflow_store::entity::{alert_event, inventory_ledger};
use creatorflow_store::stock::{self as q, StockRow};
use futures_util::Stream;
use futures_util::stream::unfold;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// Stock of one SKU at one location.
#[derive(SimpleObject, Clone)]
pub struct StockLevel {
    pub sku: String,
    pub title: String,
    pub variant_title: String,
    pub condition: Option<String>,
    pub brand: Option<String>,
    pub category: Option<String>,
    pub location: String,
    pub on_hand: i64,
    /// Reserved by open orders.
    pub committed: i64,
    /// on hand − committed − safety stock; negative when oversold.
    pub available: i64,
    pub incoming: i64,
    pub safety_stock: i64,
    pub reorder_point: Option<i64>,
    pub lead_time_days: Option<i32>,
    pub updated_at: DateTime<Utc>,
}

impl From<StockRow> for StockLevel {
    fn from(r: StockRow) -> Self {
        StockLevel {
            available: r.available(),
            sku: r.sku,
            title: r.product_title,
            variant_title: r.variant_title,
            condition: r.condition,
            brand: r.brand,
            category: r.category,
            location: r.location,
            on_hand: r.level.on_hand,
            committed: r.level.committed,
            incoming: r.level.incoming,
            safety_stock: r.level.safety_stock,
            reorder_point: r.level.reorder_point,
            lead_time_days: r.level.lead_time_days,
            updated_at: r.level.updated_at,
        }
    }
}

#[derive(InputObject, Default)]
pub struct StockFilter {
    /// Available at or below the reorder point.
    #[graphql(default)]
    pub low_stock: bool,
    /// Nothing available, or oversold.
    #[graphql(default)]
    pub out_of_stock: bool,
    pub location: Option<String>,
    pub brand: Option<String>,
    pub category: Option<String>,
    /// Resale grade or new/used.
    pub condition: Option<String>,
    /// Substring of the SKU or product title.
    pub search: Option<String>,
    pub sku: Option<String>,
}

impl From<StockFilter> for q::StockFilter {
    fn from(f: StockFilter) -> Self {
        q::StockFilter {
            low_stock: f.low_stock,
            out_of_stock: f.out_of_stock,
            location: f.location,
            brand: f.brand,
            category: f.category,
            condition: f.condition,
            search: f.search,
            sku: f.sku,
        }
    }
}

pub type StockPage = RelayConnection<String, StockLevel>;
pub type LedgerPage = RelayConnection<String, LedgerEntry>;
pub type AlertPage = RelayConnection<String, Alert>;

pub async fn stock_page(
    ctx: &Context<'_>,
    ws: i64,
    first: Option<i32>,
    after: Option<String>,
    filter: StockFilter,
) -> Result<StockPage> {
    let args = page_args(ctx, first, after)?;
    let store = ctx.data::<Store>()?;
    let page = q::list_stock(store, ws, &filter.into(), &args)
        .await
        .map_err(from_catalog)?;
    Ok(relay(page, args.after.is_some(), StockLevel::from))
}

/// One stock level of a SKU at a location, as it is now.
pub async fn level_of(
    store: &Store,
    ws: i64,
    sku: &str,
    location: &str,
) -> Result<Option<StockLevel>> {
    let filter = q::StockFilter {
        sku: Some(sku.to_owned()),
        location: Some(location.to_owned()),
        ..Default::default()
    };
    let page = q::list_stock(
        store,
        ws,
        &filter,
        &creatorflow_store::catalog::PageArgs {
            first: 1,
            after: None,
        },
    )
    .await
    .map_err(from_catalog)?;
    Ok(page.items.into_iter().next().map(|(_, r)| r.into()))
}

/// One append-only change of stock.
#[derive(SimpleObject, Clone)]
pub struct LedgerEntry {
    pub id: ID,
    pub location: String,
    pub delta_on_hand: i64,
    pub delta_committed: i64,
    pub delta_incoming: i64,
    pub reason: String,
    /// `manual`, `csv` or `connection:<id>`.
    pub source: String,
    pub source_event_id: String,
    /// `token:<id>`, `connection:<id>` or `cli`.
    pub actor: String,
    pub on_hand_after: i64,
    pub committed_after: i64,
    pub incoming_after: i64,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

impl LedgerEntry {
    fn from_row((e, location): (inventory_ledger::Model, String)) -> Self {
        LedgerEntry {
            id: ID(e.id.to_string()),
            location,
            delta_on_hand: e.delta_on_hand,
            delta_committed: e.delta_committed,
            delta_incoming: e.delta_incoming,
            reason: e.reason,
            source: e.source,
            source_event_id: e.source_event_id,
            actor: e.actor,
            on_hand_after: e.on_hand_after,
            committed_after: e.committed_after,
            incoming_after: e.incoming_after,
            occurred_at: e.occurred_at,
            recorded_at: e.recorded_at,
        }
    }
}

pub async fn ledger_page(
    ctx: &Context<'_>,
    ws: i64,
    sku: String,
    location: Option<String>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<LedgerPage> {
    let args = page_args(ctx, first, after)?;
    let store = ctx.data::<Store>()?;
    let page = q::ledger(store.db(), ws, &sku, location.as_deref(), &args)
        .await
        .map_err(from_catalog)?;
    Ok(relay(page, args.after.is_some(), LedgerEntry::from_row))
}

/// A raised alert; `resolvedAt` is set when its condition stopped holding.
#[derive(SimpleObject, Clone)]
pub struct Alert {
    pub id: ID,
    /// low_stock, out_of_stock, oversold, velocity_spike, days_of_cover…
    pub kind: String,
    pub severity: String,
    /// What it is about, e.g. `SKU@Location`.
    pub subject: String,
    pub message: String,
    pub data: async_graphql::Json<serde_json::Value>,
    pub raised_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl From<alert_event::Model> for Alert {
    fn from(a: alert_event::Model) -> Self {
        Alert {
            id: ID(a.id.to_string()),
            kind: a.kind,
            severity: a.severity,
            subject: a.subject,
            message: a.message,
            data: async_graphql::Json(
                serde_json::from_str(&a.data).unwrap_or(serde_json::Value::Null),
            ),
            raised_at: a.raised_at,
            resolved_at: a.resolved_at,
        }
    }
}

pub async fn alert_page(
    ctx: &Context<'_>,
    ws: i64,
    kind: Option<String>,
    active: bool,
    first: Option<i32>,
    after: Option<String>,
) -> Result<AlertPage> {
    let args = page_args(ctx, first, after)?;
    let store = ctx.data::<Store>()?;
    let page = q::alerts(store.db(), ws, &q::AlertFilter { kind, active }, &args)
        .await
        .map_err(from_catalog)?;
    Ok(relay(page, args.after.is_some(), Alert::from))
}

/// A committed stock change.
#[derive(SimpleObject, Clone)]
pub struct InventoryEvent {
    pub workspace: String,
    pub sku: String,
    pub location: String,
    pub ledger_id: ID,
    pub reason: String,
    pub delta_on_hand: i64,
    pub delta_committed: i64,
    pub on_hand: i64,
    pub committed: i64,
    pub available: i64,
}

#[derive(SimpleObject, Clone)]
pub struct OrderEvent {
    pub workspace: String,
    pub order_id: ID,
    pub external_id: String,
    pub status: String,
}

#[derive(SimpleObject, Clone)]
pub struct AlertEvent {
    pub workspace: String,
    pub alert_id: ID,
    pub kind: String,
    pub severity: String,
    pub subject: String,
    pub message: String,
}

/// Forwards the bus events of one workspace that `pick` maps to a message. A subscriber that falls so far
/// behind that events were dropped gets one `SUBSCRIPTION_LAGGED` error and the stream ends: it must re-read
/// and subscribe again rather than go on believing it saw everything.
pub(super) fn events_of<T: Send + 'static>(
    bus: &EventBus,
    ws: i64,
    pick: Arc<dyn Fn(DomainEvent) -> Option<T> + Send + Sync>,
) -> impl Stream<Item = Result<T>> + use<T> {
    let rx = bus.subscribe_workspace(creatorflow_core::WorkspaceId(ws));
    unfold(Some(rx), move |rx| {
        let pick = pick.clone();
        async move {
            let mut rx = rx?;
            loop {
                match rx.recv().await {
                    Ok(ev) if ev.workspace_id().0 == ws => {
                        if let Some(item) = pick(ev) {
                            return Some((Ok(item), Some(rx)));
                        }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(
                            skipped = n,
                            workspace = ws,
                            "Subscriber lagged behind the event bus; ending its stream"
                        );
                        let error = gql_error(
                            ErrorCode::SubscriptionLagged,
                            format!("{n} events were dropped because this subscriber fell behind"),
                        );
                        return Some((Err(error), None));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    })
}

#[derive(Default)]
pub struct StockSubscription;

#[Subscription]
impl StockSubscription {
    /// Committed stock changes of a workspace, optionally of one SKU and/or location.
    async fn inventory_changed(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        sku: Option<String>,
        location: Option<String>,
    ) -> Result<impl Stream<Item = Result<InventoryEvent>> + use<>> {
        let ws = workspace_for(ctx, &workspace, Need::Read).await?;
        let slug = ws.slug.clone();
        Ok(events_of(
            ctx.data::<EventBus>()?,
            ws.id,
            Arc::new(move |ev| match ev {
                DomainEvent::InventoryChanged(c)
                    if sku.as_ref().is_none_or(|s| *s == c.sku)
                        && location.as_ref().is_none_or(|l| *l == c.location) =>
                {
                    Some(InventoryEvent {
                        workspace: slug.clone(),
                        sku: c.sku,
                        location: c.location,
                        ledger_id: ID(c.ledger_id.to_string()),
                        reason: c.reason,
                        delta_on_hand: c.delta_on_hand,
                        delta_committed: c.delta_committed,
                        on_hand: c.on_hand,
                        committed: c.committed,
                        available: c.available,
                    })
                }
                _ => None,
            }),
        ))
    }

    /// Orders created or changed in a workspace.
    async fn order_changed(
        &self,
        ctx: &Context<'_>,
        workspace: String,
    ) -> Result<impl Stream<Item = Result<OrderEvent>> + use<>> {
        let ws = workspace_for(ctx, &workspace, Need::Read).await?;
        let slug = ws.slug.clone();
        Ok(events_of(
            ctx.data::<EventBus>()?,
            ws.id,
            Arc::new(move |ev| match ev {
                DomainEvent::OrderChanged {
                    order_id,
                    external_id,
                    status,
                    ..
                } => Some(OrderEvent {
                    workspace: slug.clone(),
                    order_id: ID(order_id.to_string()),
                    external_id,
                    status,
                }),
                _ => None,
            }),
        ))
    }

    /// Alerts as they are raised.
    async fn alert_raised(
        &self,
        ctx: &Context<'_>,
        workspace: String,
    ) -> Result<impl Stream<Item = Result<AlertEvent>> + use<>> {
        let ws = workspace_for(ctx, &workspace, Need::Read).await?;
        let slug = ws.slug.clone();
        Ok(events_of(
            ctx.data::<EventBus>()?,
            ws.id,
            Arc::new(move |ev| match ev {
                DomainEvent::AlertRaised(a) => Some(AlertEvent {
                    workspace: slug.clone(),
                    alert_id: ID(a.alert_id.to_string()),
                    kind: a.kind,
                    severity: a.severity,
                    subject: a.subject,
                    message: a.message,
                }),
                _ => None,
            }),
        ))
    }
}
