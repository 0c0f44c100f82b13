//! Orders drive stock. An order holds one of three stock states — none, reserved, deducted — and each event
//! moves it toward the state its status implies. Because effects follow from (stored state → target state),
//! a redelivered or replayed event changes nothing, and an older update never overrides a newer one.

use crate::apply::Ctx;

use crate::inventory::{LedgerReason, Move, move_stock, velocity_alerts, write_off};
use crate::rollup::{self, OrderContribution, SalesDelta};
use crate::settings::ReserveOn;
use crate::{IngestError, Outcome};
use chrono::{DateTime, Utc};
use creatorflow_core::ingest::{
    CustomerRef, OrderStatus, OrderStatusChange, OrderUpsert, RefundRecord, ShipmentRecord,
};
use creatorflow_core::{DomainEvent, OrderId};
use creatorflow_store::entity::{
    customer, customer_identity, order, order_line, refund, refund_line, shipment,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StockState {
    None,
    Reserved,
    Deducted,
}

impl StockState {
    fn parse(s: &str) -> Self {
        match s {
            "reserved" => StockState::Reserved,
            "deducted" => StockState::Deducted,
            _ => StockState::None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            StockState::None => "none",
            StockState::Reserved => "reserved",
            StockState::Deducted => "deducted",
        }
    }
}

/// The stock an order should hold for its status. Stock once shipped only comes back through a return.
fn target(status: OrderStatus, current: StockState, reserve_on: ReserveOn) -> StockState {
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

fn email_hash(email: &str) -> String {
    hex::encode(Sha256::digest(email.trim().to_lowercase().as_bytes()))
}

/// Finds the buyer by their id on this connection, then by e-mail across channels, else creates them.
async fn resolve_customer(
    ctx: &Ctx<'_>,
    c: &CustomerRef,
    currency: &str,
) -> Result<i64, IngestError> {
    if let Some(ident) = customer_identity::Entity::find()
        .filter(customer_identity::Column::ConnectionId.eq(ctx.connection_id))
        .filter(customer_identity::Column::ExternalId.eq(c.external_id.as_str()))
        .one(ctx.txn)
        .await?
    {
        return Ok(ident.customer_id);
    }
    let hash = c
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .map(email_hash);
    let matched = match &hash {
        Some(h) => customer::Entity::find()
            .filter(customer::Column::WorkspaceId.eq(ctx.workspace_id))
            .filter(customer::Column::EmailHash.eq(h.as_str()))
            .one(ctx.txn)
            .await?
            .map(|c| c.id),
        None => None,
    };
    let customer_id = match matched {
        Some(id) => id,
        None => {
            customer::ActiveModel {
                workspace_id: Set(ctx.workspace_id),
                email_hash: Set(hash),
                display_name: Set(c.display_name.clone()),
                first_order_at: Set(None),
                last_order_at: Set(None),
                orders_count: Set(0),
                total_spent_minor: Set(0),
                currency: Set(currency.to_ascii_uppercase()),
                created_at: Set(ctx.now),
                updated_at: Set(ctx.now),
                ..Default::default()
            }
            .insert(ctx.txn)
            .await?
            .id
        }
    };
    customer_identity::Entity::insert(customer_identity::ActiveModel {
        workspace_id: Set(ctx.workspace_id),
        customer_id: Set(customer_id),
        connection_id: Set(ctx.connection_id),
        external_id: Set(c.external_id.clone()),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([
        customer_identity::Column::ConnectionId,
        customer_identity::Column::ExternalId,
    ])
    .exec_without_returning(ctx.txn)
    .await?;
    Ok(customer_id)
}

pub(crate) async fn upsert(ctx: &mut Ctx<'_>, o: &OrderUpsert) -> Result<Outcome, IngestError> {
    let existing = find_order(ctx, &o.external_id).await?;
    if let Some(e) = &existing
        && e.source_updated_at.is_some_and(|t| t > o.updated_at)
    {
        return Ok(Outcome::Stale);
    }
    let currency = o.currency.to_ascii_uppercase();
    let customer_id = match &o.customer {
        Some(c) => Some(resolve_customer(ctx, c, &currency).await?),
        None => existing.as_ref().and_then(|e| e.customer_id),
    };
    let loc = match (&existing, &o.location) {
        (Some(e), None) if e.location_id.is_some() => None,
        _ => Some(ctx.location(o.location.as_deref()).await?),
    };
    let state = existing
        .as_ref()
        .map_or(StockState::None, |e| StockState::parse(&e.stock_state));
    let mut am = match &existing {
        Some(e) => e.clone().into(),
        None => order::ActiveModel {
            workspace_id: Set(ctx.workspace_id),
            connection_id: Set(ctx.connection_id),
            external_id: Set(o.external_id.clone()),
            refunded_minor: Set(0),
            stock_state: Set(StockState::None.as_str().into()),
            created_at: Set(ctx.now),
            ..Default::default()
        },
    };
    am.customer_id = Set(customer_id);
    am.status = Set(o.status.as_str().into());
    am.currency = Set(currency.clone());
    am.subtotal_minor = Set(o.subtotal_minor);
    am.discount_minor = Set(o.discount_minor);
    am.shipping_charged_minor = Set(o.shipping_charged_minor);
    am.tax_minor = Set(o.tax_minor);
    am.total_minor = Set(o.total_minor);
    am.fees_minor = Set(o.fees_minor);
    am.placed_at = Set(o.placed_at);
    am.paid_at = Set(o.paid_at);
    am.fulfilled_at = Set(o.fulfilled_at);
    am.delivered_at = Set(o.delivered_at);
    am.cancelled_at = Set(o.cancelled_at);
    am.source_updated_at = Set(Some(o.updated_at));
    if let Some(l) = &loc {
        am.location_id = Set(Some(l.id));
    }
    am.updated_at = Set(ctx.now);
    let saved = match &existing {
        Some(_) => am.update(ctx.txn).await?,
        None => am.insert(ctx.txn).await?,
    };
    // Lines are replaced only while the order holds no stock; once it does, they are what the stock
    // effects were computed from and must stay.
    let old_lines = match &existing {
        Some(e) => lines_of(ctx.txn, e.id).await?,
        None => Vec::new(),
    };
    let lines = if state == StockState::None {
        if let Some(e) = &existing {
            rollup::apply_order(
                ctx.txn,
                ctx.workspace_id,
                &OrderContribution::of(e),
                &old_lines,
                -1,
            )
            .await?;
            order_line::Entity::delete_many()
                .filter(order_line::Column::OrderId.eq(e.id))
                .exec(ctx.txn)
                .await?;
        }
        insert_lines(ctx, &saved, o).await?
    } else {
        if let Some(e) = &existing {
            rollup::apply_order(
                ctx.txn,
                ctx.workspace_id,
                &OrderContribution::of(e),
                &old_lines,
                -1,
            )
            .await?;
        }
        old_lines
    };
    rollup::apply_order(
        ctx.txn,
        ctx.workspace_id,
        &OrderContribution::of(&saved),
        &lines,
        1,
    )
    .await?;
    if let Some(cid) = saved.customer_id {
        let old = existing.as_ref().filter(|e| e.customer_id == Some(cid));
        let (n, spent) = rollup::customer_delta(old, &saved);
        rollup::apply_customer(ctx.txn, cid, n, spent, saved.placed_at).await?;
    }
    let saved = move_to(ctx, saved, &lines, o.status).await?;
    publish_order(ctx, &saved);
    Ok(Outcome::Applied)
}

async fn insert_lines(
    ctx: &mut Ctx<'_>,
    order: &order::Model,
    o: &OrderUpsert,
) -> Result<Vec<order_line::Model>, IngestError> {
    let mut out = Vec::with_capacity(o.lines.len());
    for l in &o.lines {
        let v = ctx.variant_by_sku(&l.sku).await?;
        let row = order_line::ActiveModel {
            workspace_id: Set(ctx.workspace_id),
            order_id: Set(order.id),
            variant_id: Set(v.as_ref().map(|v| v.id)),
            external_id: Set(l.external_id.clone()),
            sku: Set(l.sku.clone()),
            title: Set(l.title.clone()),
            quantity: Set(l.quantity),
            unit_price_minor: Set(l.unit_price_minor),
            discount_minor: Set(l.discount_minor),
            unit_cost_minor: Set(v.as_ref().and_then(|v| v.unit_cost_minor)),
            currency: Set(order.currency.clone()),
            ..Default::default()
        }
        .insert(ctx.txn)
        .await?;
        out.push(row);
    }
    Ok(out)
}

/// Moves the order's stock to what `status` implies and stores the new stock state.
async fn move_to(
    ctx: &mut Ctx<'_>,
    order: order::Model,
    lines: &[order_line::Model],
    status: OrderStatus,
) -> Result<order::Model, IngestError> {
    let from = StockState::parse(&order.stock_state);
    let to = target(status, from, ctx.settings.reserve_on);
    if from == to {
        return Ok(order);
    }
    let (d_on_hand, d_committed, reason) = match (from, to) {
        (StockState::None, StockState::Reserved) => (0, 1, LedgerReason::OrderReserved),
        (StockState::None, StockState::Deducted) => (-1, 0, LedgerReason::OrderFulfilled),
        (StockState::Reserved, StockState::Deducted) => (-1, -1, LedgerReason::OrderFulfilled),
        (StockState::Reserved, StockState::None) => (0, -1, LedgerReason::OrderReleased),
        _ => return Ok(order),
    };
    let loc = ctx.location_or_default(order.location_id).await?;
    for line in lines {
        let Some(variant_id) = line.variant_id else {
            continue; // A SKU we do not stock (e.g. a gift card) moves no inventory.
        };
        let Some(v) = ctx.variant_by_id(variant_id).await? else {
            continue;
        };
        let after = move_stock(
            ctx,
            Move {
                variant: &v,
                location: &loc,
                on_hand: d_on_hand * line.quantity,
                committed: d_committed * line.quantity,
                incoming: 0,
                reason,
                note: None,
            },
        )
        .await?;
        if reason != LedgerReason::OrderReleased {
            velocity_alerts(ctx, &v, &loc, &after).await?;
        }
    }
    let mut am: order::ActiveModel = order.into();
    am.stock_state = Set(to.as_str().into());
    Ok(am.update(ctx.txn).await?)
}

fn publish_order(ctx: &mut Ctx<'_>, o: &order::Model) {
    ctx.published.push(DomainEvent::OrderChanged {
        workspace_id: ctx.ws(),
        order_id: OrderId(o.id),
        external_id: o.external_id.clone(),
        status: o.status.clone(),
    });
}

pub(crate) async fn status_changed(
    ctx: &mut Ctx<'_>,
    s: &OrderStatusChange,
) -> Result<Outcome, IngestError> {
    let existing = require_order(ctx, &s.external_id).await?;
    if existing.source_updated_at.is_some_and(|t| t > s.updated_at) {
        return Ok(Outcome::Stale);
    }
    let lines = lines_of(ctx.txn, existing.id).await?;
    let mut am: order::ActiveModel = existing.clone().into();
    am.status = Set(s.status.as_str().into());
    set_status_time(&mut am, &existing, s.status, s.at);
    am.source_updated_at = Set(Some(s.updated_at));
    am.updated_at = Set(ctx.now);
    let saved = am.update(ctx.txn).await?;
    let (old, new) = (
        OrderContribution::of(&existing),
        OrderContribution::of(&saved),
    );
    if old != new {
        rollup::apply_order(ctx.txn, ctx.workspace_id, &old, &lines, -1).await?;
        rollup::apply_order(ctx.txn, ctx.workspace_id, &new, &lines, 1).await?;
    }
    if let Some(cid) = saved.customer_id {
        let (n, spent) = rollup::customer_delta(Some(&existing), &saved);
        if n != 0 || spent != 0 {
            rollup::apply_customer(ctx.txn, cid, n, spent, saved.placed_at).await?;
        }
    }
    let saved = move_to(ctx, saved, &lines, s.status).await?;
    publish_order(ctx, &saved);
    Ok(Outcome::Applied)
}

fn set_status_time(
    am: &mut order::ActiveModel,
    o: &order::Model,
    status: OrderStatus,
    at: DateTime<Utc>,
) {
    match status {
        OrderStatus::Paid if o.paid_at.is_none() => am.paid_at = Set(Some(at)),
        OrderStatus::Fulfilled if o.fulfilled_at.is_none() => am.fulfilled_at = Set(Some(at)),
        OrderStatus::Delivered if o.delivered_at.is_none() => am.delivered_at = Set(Some(at)),
        OrderStatus::Cancelled if o.cancelled_at.is_none() => am.cancelled_at = Set(Some(at)),
        _ => {}
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
        rollup::add_sales(
            ctx.txn,
            ctx.workspace_id,
            &contribution,
            line,
            SalesDelta {
                units: 0,
                gross: 0,
                discount: 0,
                cogs: 0,
                returned: rl.quantity,
            },
        )
        .await?;
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
    publish_order(ctx, &saved);
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

pub(crate) async fn shipment(
    ctx: &mut Ctx<'_>,
    s: &ShipmentRecord,
) -> Result<Outcome, IngestError> {
    let order = require_order(ctx, &s.order_external_id).await?;
    let existing = match &s.external_id {
        Some(ext) => {
            shipment::Entity::find()
                .filter(shipment::Column::ConnectionId.eq(ctx.connection_id))
                .filter(shipment::Column::ExternalId.eq(ext.as_str()))
                .one(ctx.txn)
                .await?
        }
        None => None,
    };
    let mut am: shipment::ActiveModel = match existing {
        Some(e) => e.into(),
        None => shipment::ActiveModel {
            workspace_id: Set(ctx.workspace_id),
            order_id: Set(order.id),
            connection_id: Set(ctx.connection_id),
            external_id: Set(s.external_id.clone()),
            created_at: Set(ctx.now),
            ..Default::default()
        },
    };
    am.carrier = Set(s.carrier.clone());
    am.tracking_number = Set(s.tracking_number.clone());
    am.status = Set(s.status.clone());
    am.cost_minor = Set(s.cost_minor);
    am.currency = Set(s.currency.to_ascii_uppercase());
    am.shipped_at = Set(s.shipped_at);
    am.delivered_at = Set(s.delivered_at);
    am.save(ctx.txn).await?;
    Ok(Outcome::Applied)
}
