//! Orders drive stock. An order holds one of three stock states — none, reserved, deducted — and each event
//! moves it toward the state its status implies. Because effects follow from (stored state → target state),
//! a redelivered or replayed event changes nothing, and an older update never overrides a newer one.

use crate::apply::Ctx;

use crate::inventory::{LedgerReason, Move, move_stock, write_off};
use crate::rollup::{self, OrderContribution};
use crate::settings::ReserveOn;
use crate::{IngestError, Outcome};
use chrono::{DateTime, Utc};
use creatorflow_core::ingest::{OrderStatus, RefundRecord};
use creatorflow_core::{DomainEvent, OrderId, WorkspaceId};
use creatorflow_store::entity::{order, order_line, refund, refund_line};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StockState {
    None,
    Reserved,
    Deducted,
}

impl StockState {
    pub fn parse(s: &str) -> Self {
        match s {
            "reserved" => StockState::Reserved,
            "deducted" => StockState::Deducted,
            _ => StockState::None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StockState::None => "none",
            StockState::Reserved => "reserved",
            StockState::Deducted => "deducted",
        }
    }
}

/// The stock an order should hold for its status. Stock once shipped only comes back through a return.
pub(crate) fn target(
    status: OrderStatus,
    current: StockState,
    reserve_on: ReserveOn,
) -> StockState {
    if current == StockState::Deducted {
        return StockState::Deducted;
    }
    match status {
        OrderStatus::Pending if reserve_on == ReserveOn::Placed => StockState::Reserved,
        OrderStatus::Pending => StockState::None,
        OrderStatus::Paid => StockState::Reserved,
        OrderStatus::Fulfilled | OrderStatus::Delivered => StockState::Deducted,
        OrderStatus::Cancelled | OrderStatus::Refunded => StockState::None,
    }
}

async fn find_order(ctx: &Ctx<'_>, external_id: &str) -> Result<Option<order::Model>, IngestError> {
    Ok(order::Entity::find()
        .filter(order::Column::ConnectionId.eq(ctx.connection_id))
        .filter(order::Column::ExternalId.eq(external_id))
        .one(ctx.txn)
        .await?)
}

async fn require_order(ctx: &Ctx<'_>, external_id: &str) -> Result<order::Model, IngestError> {
    find_order(ctx, external_id).await?.ok_or_else(|| {
        IngestError::NotFound(format!(
            "order {external_id} is unknown for this source; send the order itself first"
        ))
    })
}

async fn lines_of(
    db: &impl ConnectionTrait,
    order_id: i64,
) -> Result<Vec<order_line::Model>, IngestError> {
    Ok(order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order_id))
        .order_by_asc(order_line::Column::Id)
        .all(db)
        .await?)
}

pub(crate) fn email_hash(email: &str) -> String {
    hex::encode(Sha256::digest(email.trim().to_lowercase().as_bytes()))
}

pub(crate) fn publish_order(published: &mut Vec<DomainEvent>, o: &order::Model) {
    published.push(DomainEvent::OrderChanged {
        workspace_id: WorkspaceId(o.workspace_id),
        order_id: OrderId(o.id),
        external_id: o.external_id.clone(),
        status: o.status.clone(),
    });
}

/// Records when the order reached `status`, unless the source already said.
pub(crate) fn set_status_time(o: &mut order::Model, status: OrderStatus, at: DateTime<Utc>) {
    let slot = match status {
        OrderStatus::Paid => &mut o.paid_at,
        OrderStatus::Fulfilled => &mut o.fulfilled_at,
        OrderStatus::Delivered => &mut o.delivered_at,
        OrderStatus::Cancelled => &mut o.cancelled_at,
        _ => return,
    };
    if slot.is_none() {
        *slot = Some(at);
    }
}

pub(crate) async fn refund(ctx: &mut Ctx<'_>, r: &RefundRecord) -> Result<Outcome, IngestError> {
    let order = require_order(ctx, &r.order_external_id).await?;
    if !r.currency.eq_ignore_ascii_case(&order.currency) {
        return Err(IngestError::invalid(
            "refund.currency",
            format!(
                "{} differs from the order's currency {}",
                r.currency, order.currency
            ),
        ));
    }
    if let Some(ext) = &r.external_id
        && refund::Entity::find()
            .filter(refund::Column::ConnectionId.eq(ctx.connection_id))
            .filter(refund::Column::ExternalId.eq(ext.as_str()))
            .one(ctx.txn)
            .await?
            .is_some()
    {
        return Ok(Outcome::Duplicate);
    }
    if order.refunded_minor + r.amount_minor > order.total_minor {
        return Err(IngestError::Rejected(format!(
            "refunding {} would exceed the order total {} (already refunded {})",
            r.amount_minor, order.total_minor, order.refunded_minor
        )));
    }
    let lines = lines_of(ctx.txn, order.id).await?;
    let row = refund::ActiveModel {
        workspace_id: Set(ctx.workspace_id),
        order_id: Set(order.id),
        connection_id: Set(ctx.connection_id),
        external_id: Set(r.external_id.clone()),
        kind: Set(r.kind.clone()),
        status: Set("completed".into()),
        reason: Set(r.reason.clone()),
        amount_minor: Set(r.amount_minor),
        currency: Set(order.currency.clone()),
        created_at: Set(ctx.event.occurred_at),
        ..Default::default()
    }
    .insert(ctx.txn)
    .await?;
    let contribution = OrderContribution::of(&order);
    let loc = ctx.location_or_default(order.location_id).await?;
    for (i, rl) in r.lines.iter().enumerate() {
        let Some(line) = lines.iter().find(|l| l.sku == rl.sku) else {
            return Err(IngestError::invalid(
                format!("refund.lines[{i}].sku"),
                format!("{} is not on order {}", rl.sku, order.external_id),
            ));
        };
        let ordered: i64 = lines
            .iter()
            .filter(|l| l.sku == rl.sku)
            .map(|l| l.quantity)
            .sum();
        let returned = returned_units(ctx, order.id, &rl.sku).await?;
        if returned + rl.quantity > ordered {
            return Err(IngestError::Rejected(format!(
                "returning {} of {} exceeds what was ordered ({ordered}, {returned} already returned)",
                rl.quantity, rl.sku
            )));
        }
        refund_line::ActiveModel {
            workspace_id: Set(ctx.workspace_id),
            refund_id: Set(row.id),
            order_line_id: Set(line.id),
            quantity: Set(rl.quantity),
            sellable: Set(rl.sellable),
            ..Default::default()
        }
        .insert(ctx.txn)
        .await?;
        rollup::add_returned(ctx.txn, ctx.workspace_id, &contribution, line, rl.quantity).await?;
        // Only shipped items physically come back; a return of unshipped items is a cancellation.
        if order.stock_state != "deducted" {
            continue;
        }
        let v = ctx.require_variant(&rl.sku).await?;
        if rl.sellable && ctx.settings.restockable(v.condition.as_deref()) {
            move_stock(
                ctx,
                Move {
                    variant: &v,
                    location: &loc,
                    on_hand: rl.quantity,
                    committed: 0,
                    incoming: 0,
                    reason: LedgerReason::ReturnRestocked,
                    note: None,
                },
            )
            .await?;
        } else {
            write_off(ctx, &v, &loc, rl.quantity).await?;
        }
    }
    let mut am: order::ActiveModel = order.clone().into();
    am.refunded_minor = Set(order.refunded_minor + r.amount_minor);
    am.updated_at = Set(ctx.now);
    let saved = am.update(ctx.txn).await?;
    rollup::apply_order(ctx.txn, ctx.workspace_id, &contribution, &[], -1).await?;
    rollup::apply_order(
        ctx.txn,
        ctx.workspace_id,
        &OrderContribution::of(&saved),
        &[],
        1,
    )
    .await?;
    publish_order(ctx.published, &saved);
    Ok(Outcome::Applied)
}

async fn returned_units(ctx: &Ctx<'_>, order_id: i64, sku: &str) -> Result<i64, IngestError> {
    let line_ids: Vec<i64> = order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order_id))
        .filter(order_line::Column::Sku.eq(sku))
        .all(ctx.txn)
        .await?
        .into_iter()
        .map(|l| l.id)
        .collect();
    Ok(refund_line::Entity::find()
        .filter(refund_line::Column::OrderLineId.is_in(line_ids))
        .all(ctx.txn)
        .await?
        .iter()
        .map(|l| l.quantity)
        .sum())
}
