//! Mutations that change commerce data. Each builds a domain event and hands it to the one ingest pipeline,
//! exactly like connectors and imports do; an optional idempotency key makes retries safe.

use super::stock::{StockLevel, level_of};
use crate::auth::{Need, principal, workspace_for};
use crate::error::{from_ingest, gql_error};
use async_graphql::{Context, Enum, ErrorExtensions, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use creatorflow_core::bounds;
use creatorflow_core::ingest::*;
use creatorflow_core::{Currency, ErrorCode, WorkspaceId};
use creatorflow_ingest::{Ingest, IngestError, Outcome, ReserveOn, Settings};
use creatorflow_store::Store;
use creatorflow_store::entity::workspace;
use rust_decimal::Decimal;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum EventOutcome {
    /// Applied now.
    Applied,
    /// Already applied earlier under the same idempotency key or source id; nothing changed.
    Duplicate,
    /// Older than the stored state (an out-of-order update); nothing changed.
    Stale,
}

impl From<Outcome> for EventOutcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Applied => EventOutcome::Applied,
            Outcome::Duplicate => EventOutcome::Duplicate,
            Outcome::Stale => EventOutcome::Stale,
        }
    }
}

/// Result of a stock mutation: what happened and the level afterwards.
#[derive(SimpleObject)]
pub struct StockResult {
    pub outcome: EventOutcome,
    pub level: Option<StockLevel>,
}

#[derive(SimpleObject)]
pub struct EventResult {
    pub outcome: EventOutcome,
}

/// Per-item result of a batch: either an outcome or an error with a stable code.
#[derive(SimpleObject)]
pub struct BatchItemResult {
    pub index: i32,
    pub outcome: Option<EventOutcome>,
    pub error_code: Option<String>,
    pub error: Option<String>,
}

fn batch_results(results: Vec<Result<Outcome, IngestError>>) -> Vec<BatchItemResult> {
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let index = i32::try_from(i).unwrap_or(i32::MAX);
            match r {
                Ok(o) => BatchItemResult {
                    index,
                    outcome: Some(o.into()),
                    error_code: None,
                    error: None,
                },
                Err(e) => {
                    let code = match &e {
                        IngestError::Invalid { .. } => ErrorCode::BadUserInput,
                        IngestError::NotFound(_) => ErrorCode::NotFound,
                        IngestError::Rejected(_) => ErrorCode::Rejected,
                        e if e.is_busy() => ErrorCode::Busy,
                        IngestError::Busy(_) | IngestError::Db(_) => ErrorCode::Internal,
                    };
                    BatchItemResult {
                        index,
                        outcome: None,
                        error_code: Some(code.as_str().into()),
                        error: Some(e.to_string()),
                    }
                }
            }
        })
        .collect()
}

/// Builds the event for a mutation. The idempotency key, when given, is the source id, so a retried request
/// is recognised; without one every request is new.
fn event(
    ctx: &Context<'_>,
    ws: &workspace::Model,
    key: Option<String>,
    payload: Payload,
) -> Result<IngestEvent> {
    let who = principal(ctx)?;
    let source_event_id = match key {
        Some(k) if k.trim().is_empty() || k.len() > 200 => {
            return Err(gql_error(
                ErrorCode::BadUserInput,
                "`idempotencyKey` must be 1–200 characters",
            ));
        }
        Some(k) => format!("key:{k}"),
        None => format!("req:{}", uuid::Uuid::now_v7()),
    };
    Ok(IngestEvent {
        workspace_id: WorkspaceId(ws.id),
        source: Source::Manual,
        source_event_id,
        actor: format!("token:{}", who.token_id),
        occurred_at: Utc::now(),
        payload,
    })
}

async fn apply(ctx: &Context<'_>, ev: IngestEvent) -> Result<Outcome> {
    ctx.data::<Ingest>()?.apply(ev).await.map_err(from_ingest)
}

/// Converts a decimal amount into minor units of the currency, refusing more decimals than it has and
/// anything beyond the money limit of [`bounds`].
fn minor(field: &str, amount: Decimal, currency: &str) -> Result<i64> {
    let cur = Currency::parse(currency)
        .map_err(|e| gql_error(ErrorCode::BadUserInput, format!("`currency`: {e}")))?;
    bounds::minor_units(field, amount, cur).map_err(out_of_bounds)
}

/// `BAD_USER_INPUT` naming the field, like a refused event.
fn out_of_bounds(e: bounds::OutOfBounds) -> async_graphql::Error {
    from_ingest(IngestError::Invalid {
        field: e.field,
        message: e.message,
    })
}

/// A manual order names SKUs of the catalog: an unknown one is most likely a typo, so it is `NOT_FOUND`.
/// (Marketplace events may sell a SKU not yet in the catalog and are accepted.)
async fn require_skus(store: &Store, ws: i64, skus: &[&str]) -> Result<()> {
    use creatorflow_store::entity::variant;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    let known: Vec<String> = variant::Entity::find()
        .select_only()
        .column(variant::Column::Sku)
        .filter(variant::Column::WorkspaceId.eq(ws))
        .filter(variant::Column::Sku.is_in(skus.iter().copied()))
        .into_tuple()
        .all(store.db())
        .await
        .map_err(crate::error::internal)?;
    match skus.iter().position(|s| !known.iter().any(|k| k == s)) {
        Some(i) => Err(gql_error(
            ErrorCode::NotFound,
            format!("lines[{i}].sku: no variant with SKU {:?}", skus[i]),
        )
        .extend_with(|_, e| e.set("field", format!("lines[{i}].sku")))),
        None => Ok(()),
    }
}

#[derive(InputObject)]
pub struct AdjustStockInput {
    pub workspace: String,
    pub sku: String,
    /// Location name; the default location when omitted.
    pub location: Option<String>,
    /// Units to add (positive) or remove (negative).
    pub delta: i64,
    /// Why: damaged, found, received…
    pub reason: String,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct SetStockInput {
    pub workspace: String,
    pub sku: String,
    pub location: Option<String>,
    /// The counted quantity on hand.
    pub on_hand: i64,
    pub reason: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct StockCountInput {
    pub sku: String,
    pub location: Option<String>,
    pub on_hand: i64,
}

#[derive(InputObject)]
pub struct TransferStockInput {
    pub workspace: String,
    pub sku: String,
    pub from_location: String,
    pub to_location: String,
    pub quantity: i64,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct StockPolicyInput {
    pub workspace: String,
    pub sku: String,
    pub location: Option<String>,
    pub safety_stock: Option<i64>,
    pub reorder_point: Option<i64>,
    pub lead_time_days: Option<i32>,
    pub incoming: Option<i64>,
}

#[derive(InputObject)]
pub struct VariantInput {
    pub sku: String,
    pub title: String,
    pub condition: Option<String>,
    pub barcode: Option<String>,
    pub price: Decimal,
    pub unit_cost: Option<Decimal>,
}

#[derive(InputObject)]
pub struct UpsertProductInput {
    pub workspace: String,
    pub external_id: Option<String>,
    pub title: String,
    pub brand: Option<String>,
    pub category: Option<String>,
    /// active, draft or archived. Defaults to active.
    pub status: Option<String>,
    /// Defaults to the workspace currency.
    pub currency: Option<String>,
    pub variants: Vec<VariantInput>,
    pub idempotency_key: Option<String>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrderStatusInput {
    Pending,
    Paid,
    Fulfilled,
    Delivered,
    Cancelled,
    Refunded,
}

impl From<OrderStatusInput> for OrderStatus {
    fn from(s: OrderStatusInput) -> Self {
        match s {
            OrderStatusInput::Pending => OrderStatus::Pending,
            OrderStatusInput::Paid => OrderStatus::Paid,
            OrderStatusInput::Fulfilled => OrderStatus::Fulfilled,
            OrderStatusInput::Delivered => OrderStatus::Delivered,
            OrderStatusInput::Cancelled => OrderStatus::Cancelled,
            OrderStatusInput::Refunded => OrderStatus::Refunded,
        }
    }
}

#[derive(InputObject)]
pub struct OrderLineInput {
    pub sku: String,
    pub title: Option<String>,
    pub quantity: i64,
    pub unit_price: Decimal,
    pub discount: Option<Decimal>,
}

#[derive(InputObject)]
pub struct ManualOrderInput {
    pub workspace: String,
    /// Your own order number; unique among manual orders.
    pub external_id: String,
    pub status: OrderStatusInput,
    /// Defaults to now.
    pub placed_at: Option<DateTime<Utc>>,
    pub currency: Option<String>,
    pub lines: Vec<OrderLineInput>,
    pub discount: Option<Decimal>,
    pub shipping: Option<Decimal>,
    pub tax: Option<Decimal>,
    pub fees: Option<Decimal>,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub location: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct OrderStatusUpdateInput {
    pub workspace: String,
    pub external_id: String,
    pub status: OrderStatusInput,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct ReturnLineInput {
    pub sku: String,
    pub quantity: i64,
    pub sellable: bool,
}

#[derive(InputObject)]
pub struct ManualReturnInput {
    pub workspace: String,
    pub order_external_id: String,
    pub amount: Decimal,
    pub reason: Option<String>,
    pub lines: Vec<ReturnLineInput>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct WorkspaceSettingsInput {
    /// PLACED or PAID: when orders start holding stock.
    pub reserve_on: Option<ReserveOnInput>,
    pub forbid_negative_manual: Option<bool>,
    /// Conditions a sellable return may go back to stock as; empty list = any.
    pub restock_conditions: Option<Vec<String>>,
    pub velocity_spike_factor: Option<i64>,
    pub velocity_min_units: Option<i64>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ReserveOnInput {
    Placed,
    Paid,
}

#[derive(SimpleObject)]
pub struct WorkspaceSettings {
    pub reserve_on: ReserveOnInput,
    pub forbid_negative_manual: bool,
    pub restock_conditions: Vec<String>,
    pub velocity_spike_factor: i64,
    pub velocity_min_units: i64,
}

impl From<Settings> for WorkspaceSettings {
    fn from(s: Settings) -> Self {
        WorkspaceSettings {
            reserve_on: match s.reserve_on {
                ReserveOn::Placed => ReserveOnInput::Placed,
                ReserveOn::Paid => ReserveOnInput::Paid,
            },
            forbid_negative_manual: s.forbid_negative_manual,
            restock_conditions: s.restock_conditions,
            velocity_spike_factor: s.velocity_spike_factor,
            velocity_min_units: s.velocity_min_units,
        }
    }
}

async fn stock_result(
    ctx: &Context<'_>,
    ws: &workspace::Model,
    outcome: Outcome,
    sku: &str,
    location: Option<&str>,
) -> Result<StockResult> {
    let store = ctx.data::<Store>()?;
    let level = level_of(
        store,
        ws.id,
        sku,
        location.unwrap_or(creatorflow_ingest::DEFAULT_LOCATION),
    )
    .await?;
    Ok(StockResult {
        outcome: outcome.into(),
        level,
    })
}

#[derive(Default)]
pub struct IngestMutation;

#[Object]
impl IngestMutation {
    /// Adds or removes units (ingest or admin role).
    async fn adjust_stock(
        &self,
        ctx: &Context<'_>,
        input: AdjustStockInput,
    ) -> Result<StockResult> {
        let ws = workspace_for(ctx, &input.workspace, Need::WriteData).await?;
        let payload = Payload::InventoryAdjusted(InventoryAdjust {
            sku: input.sku.clone(),
            location: input.location.clone(),
            delta: input.delta,
            reason: input.reason,
        });
        let outcome = apply(ctx, event(ctx, &ws, input.idempotency_key, payload)?).await?;
        stock_result(ctx, &ws, outcome, &input.sku, input.location.as_deref()).await
    }

    /// Records a stock count: on hand becomes `onHand`, the difference goes to the ledger.
    async fn set_stock(&self, ctx: &Context<'_>, input: SetStockInput) -> Result<StockResult> {
        let ws = workspace_for(ctx, &input.workspace, Need::WriteData).await?;
        let payload = Payload::InventorySet(InventorySet {
            sku: input.sku.clone(),
            location: input.location.clone(),
            on_hand: input.on_hand,
            reason: input.reason,
        });
        let outcome = apply(ctx, event(ctx, &ws, input.idempotency_key, payload)?).await?;
        stock_result(ctx, &ws, outcome, &input.sku, input.location.as_deref()).await
    }

    /// Many stock counts in one transaction, with a result per item. Item `i` of a keyed batch uses the key
    /// `<idempotencyKey>#i`, so a retried batch is recognised item by item.
    async fn set_stock_batch(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        items: Vec<StockCountInput>,
        idempotency_key: Option<String>,
    ) -> Result<Vec<BatchItemResult>> {
        let ws = workspace_for(ctx, &workspace, Need::WriteData).await?;
        if items.len() > 10_000 {
            return Err(gql_error(
                ErrorCode::BadUserInput,
                "at most 10000 items per batch",
            ));
        }
        let events = items
            .into_iter()
            .enumerate()
            .map(|(i, it)| {
                let key = idempotency_key.as_ref().map(|k| format!("{k}#{i}"));
                event(
                    ctx,
                    &ws,
                    key,
                    Payload::InventorySet(InventorySet {
                        sku: it.sku,
                        location: it.location,
                        on_hand: it.on_hand,
                        reason: None,
                    }),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let results = ctx
            .data::<Ingest>()?
            .apply_batch(&events)
            .await
            .map_err(from_ingest)?;
        Ok(batch_results(results))
    }

    /// Moves units between two locations.
    async fn transfer_stock(
        &self,
        ctx: &Context<'_>,
        input: TransferStockInput,
    ) -> Result<StockResult> {
        let ws = workspace_for(ctx, &input.workspace, Need::WriteData).await?;
        let payload = Payload::InventoryTransferred(InventoryTransfer {
            sku: input.sku.clone(),
            from_location: input.from_location,
            to_location: input.to_location.clone(),
            quantity: input.quantity,
        });
        let outcome = apply(ctx, event(ctx, &ws, input.idempotency_key, payload)?).await?;
        stock_result(ctx, &ws, outcome, &input.sku, Some(&input.to_location)).await
    }

    /// Sets safety stock, reorder point, lead time or incoming units of a SKU at a location.
    async fn set_stock_policy(
        &self,
        ctx: &Context<'_>,
        input: StockPolicyInput,
    ) -> Result<StockResult> {
        let ws = workspace_for(ctx, &input.workspace, Need::WriteData).await?;
        let payload = Payload::InventoryPolicySet(InventoryPolicy {
            sku: input.sku.clone(),
            location: input.location.clone(),
            safety_stock: input.safety_stock,
            reorder_point: input.reorder_point,
            lead_time_days: input.lead_time_days,
            incoming: input.incoming,
        });
        let outcome = apply(ctx, event(ctx, &ws, None, payload)?).await?;
        stock_result(ctx, &ws, outcome, &input.sku, input.location.as_deref()).await
    }

    /// Creates or updates a product and its variants.
    async fn upsert_product(
        &self,
        ctx: &Context<'_>,
        input: UpsertProductInput,
    ) -> Result<EventResult> {
        let ws = workspace_for(ctx, &input.workspace, Need::WriteData).await?;
        let currency = input.currency.unwrap_or_else(|| ws.currency.clone());
        let variants = input
            .variants
            .into_iter()
            .map(|v| {
                Ok(VariantUpsert {
                    price_minor: minor("price", v.price, &currency)?,
                    unit_cost_minor: v
                        .unit_cost
                        .map(|c| minor("unitCost", c, &currency))
                        .transpose()?,
                    sku: v.sku,
                    external_id: None,
                    title: v.title,
                    condition: v.condition,
                    barcode: v.barcode,
                    currency: currency.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let payload = Payload::ProductUpserted(ProductUpsert {
            external_id: input.external_id,
            title: input.title,
            brand: input.brand,
            category: input.category,
            status: input.status.unwrap_or_else(|| "active".into()),
            variants,
        });
        let outcome = apply(ctx, event(ctx, &ws, input.idempotency_key, payload)?).await?;
        Ok(EventResult {
            outcome: outcome.into(),
        })
    }

    /// Records an order of the manual channel (sales outside a marketplace).
    async fn record_order(
        &self,
        ctx: &Context<'_>,
        input: ManualOrderInput,
    ) -> Result<EventResult> {
        let ws = workspace_for(ctx, &input.workspace, Need::WriteData).await?;
        let currency = input.currency.unwrap_or_else(|| ws.currency.clone());
        let mut lines = Vec::with_capacity(input.lines.len());
        let mut subtotal: i64 = 0;
        if let Some(t) = input.placed_at {
            bounds::timestamp("placedAt", t).map_err(out_of_bounds)?;
        }
        for (i, l) in input.lines.iter().enumerate() {
            bounds::text(&format!("lines[{i}].sku"), &l.sku, 64).map_err(out_of_bounds)?;
            bounds::quantity(&format!("lines[{i}].quantity"), l.quantity).map_err(out_of_bounds)?;
        }
        let skus: Vec<&str> = input.lines.iter().map(|l| l.sku.as_str()).collect();
        require_skus(ctx.data::<Store>()?, ws.id, &skus).await?;
        for (i, l) in input.lines.into_iter().enumerate() {
            let unit = minor(&format!("lines[{i}].unitPrice"), l.unit_price, &currency)?;
            let amount = bounds::line_amount(&format!("lines[{i}].quantity"), l.quantity, unit)
                .map_err(out_of_bounds)?;
            subtotal = bounds::money_sum("lines", [subtotal, amount]).map_err(out_of_bounds)?;
            lines.push(OrderLineIn {
                external_id: None,
                title: l.title.unwrap_or_else(|| l.sku.clone()),
                sku: l.sku,
                quantity: l.quantity,
                unit_price_minor: unit,
                discount_minor: l
                    .discount
                    .map(|d| minor(&format!("lines[{i}].discount"), d, &currency))
                    .transpose()?
                    .unwrap_or(0),
            });
        }
        let amount = |field: &str, v: Option<Decimal>| {
            v.map(|d| minor(field, d, &currency))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let discount = amount("discount", input.discount)?;
        let shipping = amount("shipping", input.shipping)?;
        let tax = amount("tax", input.tax)?;
        let fees = amount("fees", input.fees)?;
        // Each part is at most the money limit; the total must be too.
        let total = subtotal
            .checked_sub(discount)
            .and_then(|v| v.checked_add(shipping))
            .and_then(|v| v.checked_add(tax))
            .ok_or_else(|| gql_error(ErrorCode::BadUserInput, "`total`: out of range"))?;
        bounds::money("total", total).map_err(out_of_bounds)?;
        let now = Utc::now();
        let placed = input.placed_at.unwrap_or(now);
        let status: OrderStatus = input.status.into();
        let paid_at = matches!(
            status,
            OrderStatus::Paid | OrderStatus::Fulfilled | OrderStatus::Delivered
        )
        .then_some(placed);
        let customer = input
            .customer_email
            .as_ref()
            .or(input.customer_name.as_ref())
            .map(|key| CustomerRef {
                external_id: key.trim().to_lowercase(),
                email: input.customer_email.clone(),
                display_name: input.customer_name.clone(),
            });
        let payload = Payload::OrderUpserted(OrderUpsert {
            external_id: input.external_id,
            status,
            currency,
            placed_at: placed,
            paid_at,
            fulfilled_at: matches!(status, OrderStatus::Fulfilled | OrderStatus::Delivered)
                .then_some(now),
            delivered_at: matches!(status, OrderStatus::Delivered).then_some(now),
            cancelled_at: matches!(status, OrderStatus::Cancelled).then_some(now),
            updated_at: now,
            customer,
            subtotal_minor: subtotal,
            discount_minor: discount,
            shipping_charged_minor: shipping,
            tax_minor: tax,
            total_minor: total,
            fees_minor: fees,
            location: input.location,
            lines,
        });
        let outcome = apply(ctx, event(ctx, &ws, input.idempotency_key, payload)?).await?;
        Ok(EventResult {
            outcome: outcome.into(),
        })
    }

    /// Moves a manual order to a new status (paid, fulfilled, delivered, cancelled…).
    async fn update_order_status(
        &self,
        ctx: &Context<'_>,
        input: OrderStatusUpdateInput,
    ) -> Result<EventResult> {
        let ws = workspace_for(ctx, &input.workspace, Need::WriteData).await?;
        let now = Utc::now();
        let payload = Payload::OrderStatusChanged(OrderStatusChange {
            external_id: input.external_id,
            status: input.status.into(),
            at: now,
            updated_at: now,
        });
        let outcome = apply(ctx, event(ctx, &ws, input.idempotency_key, payload)?).await?;
        Ok(EventResult {
            outcome: outcome.into(),
        })
    }

    /// Records a return of a manual order; sellable items go back to stock.
    async fn record_return(
        &self,
        ctx: &Context<'_>,
        input: ManualReturnInput,
    ) -> Result<EventResult> {
        let ws = workspace_for(ctx, &input.workspace, Need::WriteData).await?;
        let payload = Payload::RefundRecorded(RefundRecord {
            order_external_id: input.order_external_id,
            external_id: input.idempotency_key.clone(),
            kind: if input.lines.is_empty() {
                "refund".into()
            } else {
                "return".into()
            },
            amount_minor: minor("amount", input.amount, &ws.currency)?,
            currency: ws.currency.clone(),
            reason: input.reason,
            lines: input
                .lines
                .into_iter()
                .map(|l| ReturnLine {
                    sku: l.sku,
                    quantity: l.quantity,
                    sellable: l.sellable,
                })
                .collect(),
        });
        let outcome = apply(ctx, event(ctx, &ws, input.idempotency_key, payload)?).await?;
        Ok(EventResult {
            outcome: outcome.into(),
        })
    }

    /// Applies many domain events (the JSON form of the ingest event payloads, each with a `sourceEventId`)
    /// in one transaction with a result per event. For connectors and scripts.
    async fn ingest_events(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        events: Vec<async_graphql::Json<serde_json::Value>>,
    ) -> Result<Vec<BatchItemResult>> {
        let ws = workspace_for(ctx, &workspace, Need::WriteData).await?;
        if events.len() > 10_000 {
            return Err(gql_error(
                ErrorCode::BadUserInput,
                "at most 10000 events per batch",
            ));
        }
        let mut parsed = Vec::with_capacity(events.len());
        for (i, raw) in events.into_iter().enumerate() {
            let mut obj = raw.0;
            let id = obj
                .as_object_mut()
                .and_then(|o| o.remove("sourceEventId"))
                .and_then(|v| v.as_str().map(str::to_owned))
                .ok_or_else(|| {
                    gql_error(
                        ErrorCode::BadUserInput,
                        format!("events[{i}].sourceEventId is required"),
                    )
                })?;
            let payload: Payload = serde_json::from_value(obj)
                .map_err(|e| gql_error(ErrorCode::BadUserInput, format!("events[{i}]: {e}")))?;
            parsed.push(event(ctx, &ws, Some(id), payload)?);
        }
        let results = ctx
            .data::<Ingest>()?
            .apply_batch(&parsed)
            .await
            .map_err(from_ingest)?;
        Ok(batch_results(results))
    }

    /// Changes how the write path behaves for a workspace (admin).
    async fn update_workspace_settings(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        input: WorkspaceSettingsInput,
    ) -> Result<WorkspaceSettings> {
        let ws = workspace_for(ctx, &workspace, Need::Administer).await?;
        let store = ctx.data::<Store>()?;
        let mut s = creatorflow_ingest::load_settings(store.db(), ws.id)
            .await
            .map_err(from_ingest)?;
        if let Some(r) = input.reserve_on {
            s.reserve_on = match r {
                ReserveOnInput::Placed => ReserveOn::Placed,
                ReserveOnInput::Paid => ReserveOn::Paid,
            };
        }
        if let Some(f) = input.forbid_negative_manual {
            s.forbid_negative_manual = f;
        }
        if let Some(c) = input.restock_conditions {
            s.restock_conditions = c;
        }
        if let Some(v) = input.velocity_spike_factor {
            s.velocity_spike_factor =
                bounds::count("velocitySpikeFactor", v).map_err(out_of_bounds)?;
        }
        if let Some(v) = input.velocity_min_units {
            s.velocity_min_units = bounds::count("velocityMinUnits", v).map_err(out_of_bounds)?;
        }
        creatorflow_ingest::save_settings(store.db(), ws.id, &s)
            .await
            .map_err(from_ingest)?;
        Ok(s.into())
    }
}
