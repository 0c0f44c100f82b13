//! Stock levels and the append-only ledger. Every quantity change is one atomic `UPDATE … RETURNING` on the
//! level plus one ledger row with the resulting levels, in the caller's transaction — so levels always equal
//! the ledger fold and concurrent events never lose an update. Alerts fire once per threshold crossing.

use crate::apply::Ctx;
use crate::{IngestError, Outcome};
use chrono::{DateTime, Duration, DurationRound, Utc};
use creatorflow_core::bus::{AlertNotice, InventoryChange};
use creatorflow_core::ingest::{
    InventoryAdjust, InventoryPolicy, InventorySet, InventoryTransfer, Source,
};
use creatorflow_core::{DomainEvent, VariantId};
use creatorflow_store::entity::{
    alert_event, inventory_ledger, inventory_level, location, sales_hourly, variant,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, Set,
};

/// Why stock moved; stored in the ledger so every change explains itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerReason {
    OrderReserved,
    OrderFulfilled,
    OrderReleased,
    ReturnRestocked,
    ReturnWrittenOff,
    Count,
    Adjustment,
    TransferOut,
    TransferIn,
    IncomingChanged,
}

impl LedgerReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerReason::OrderReserved => "order_reserved",
            LedgerReason::OrderFulfilled => "order_fulfilled",
            LedgerReason::OrderReleased => "order_released",
            LedgerReason::ReturnRestocked => "return_restocked",
            LedgerReason::ReturnWrittenOff => "return_written_off",
            LedgerReason::Count => "count",
            LedgerReason::Adjustment => "adjustment",
            LedgerReason::TransferOut => "transfer_out",
            LedgerReason::TransferIn => "transfer_in",
            LedgerReason::IncomingChanged => "incoming_changed",
        }
    }
}

/// One quantity change at one variant × location.
pub(crate) struct Move<'a> {
    pub variant: &'a variant::Model,
    pub location: &'a location::Model,
    pub on_hand: i64,
    pub committed: i64,
    pub incoming: i64,
    pub reason: LedgerReason,
    /// Free text from a person (adjustment reason), appended to the ledger reason.
    pub note: Option<&'a str>,
}

/// Ensures the level row exists so the atomic update below always has a row to change.
async fn ensure_level(
    db: &impl ConnectionTrait,
    ws: i64,
    variant_id: i64,
    location_id: i64,
    now: DateTime<Utc>,
) -> Result<(), IngestError> {
    inventory_level::Entity::insert(inventory_level::ActiveModel {
        workspace_id: Set(ws),
        variant_id: Set(variant_id),
        location_id: Set(location_id),
        on_hand: Set(0),
        committed: Set(0),
        incoming: Set(0),
        safety_stock: Set(0),
        reorder_point: Set(None),
        lead_time_days: Set(None),
        version: Set(0),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([
        inventory_level::Column::VariantId,
        inventory_level::Column::LocationId,
    ])
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub(crate) fn available(l: &inventory_level::Model) -> i64 {
    l.on_hand - l.committed - l.safety_stock
}

/// Applies a move and writes its ledger entry; returns the level after it.
pub(crate) async fn move_stock(
    ctx: &mut Ctx<'_>,
    m: Move<'_>,
) -> Result<inventory_level::Model, IngestError> {
    use inventory_level::Column as C;
    if !ctx.level_known(m.variant.id, m.location.id) {
        ensure_level(
            ctx.txn,
            ctx.workspace_id,
            m.variant.id,
            m.location.id,
            ctx.now,
        )
        .await?;
    }
    let after = inventory_level::Entity::update_many()
        .col_expr(C::OnHand, Expr::col(C::OnHand).add(m.on_hand))
        .col_expr(C::Committed, Expr::col(C::Committed).add(m.committed))
        .col_expr(C::Incoming, Expr::col(C::Incoming).add(m.incoming))
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .col_expr(C::UpdatedAt, Expr::value(ctx.now))
        .filter(C::VariantId.eq(m.variant.id))
        .filter(C::LocationId.eq(m.location.id))
        .exec_with_returning(ctx.txn)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| IngestError::Rejected("stock level vanished during the update".into()))?;
    let reason = match m.note {
        Some(note) => format!("{}: {note}", m.reason.as_str()),
        None => m.reason.as_str().to_owned(),
    };
    let entry = inventory_ledger::ActiveModel {
        workspace_id: Set(ctx.workspace_id),
        variant_id: Set(m.variant.id),
        location_id: Set(m.location.id),
        delta_on_hand: Set(m.on_hand),
        delta_committed: Set(m.committed),
        delta_incoming: Set(m.incoming),
        reason: Set(reason.clone()),
        source: Set(ctx.event.source.key()),
        source_event_id: Set(ctx.event.source_event_id.clone()),
        actor: Set(ctx.event.actor.clone()),
        on_hand_after: Set(after.on_hand),
        committed_after: Set(after.committed),
        incoming_after: Set(after.incoming),
        occurred_at: Set(ctx.event.occurred_at),
        recorded_at: Set(ctx.now),
        ..Default::default()
    }
    .insert(ctx.txn)
    .await?;
    let mut before = after.clone();
    before.on_hand -= m.on_hand;
    before.committed -= m.committed;
    ctx.published
        .push(DomainEvent::InventoryChanged(InventoryChange {
            workspace_id: ctx.ws(),
            variant_id: VariantId(m.variant.id),
            location_id: m.location.id,
            sku: m.variant.sku.clone(),
            location: m.location.name.clone(),
            ledger_id: entry.id,
            reason,
            delta_on_hand: m.on_hand,
            delta_committed: m.committed,
            on_hand: after.on_hand,
            committed: after.committed,
            available: available(&after),
        }));
    stock_alerts(ctx, m.variant, m.location, &before, &after).await?;
    Ok(after)
}

/// Records a returned item that cannot be sold again: no quantity moves, but the ledger says what happened.
pub(crate) async fn write_off(
    ctx: &mut Ctx<'_>,
    variant: &variant::Model,
    loc: &location::Model,
    quantity: i64,
) -> Result<(), IngestError> {
    move_stock(
        ctx,
        Move {
            variant,
            location: loc,
            on_hand: 0,
            committed: 0,
            incoming: 0,
            reason: LedgerReason::ReturnWrittenOff,
            note: Some(&format!("{quantity} unit(s) not sellable")),
        },
    )
    .await
    .map(|_| ())
}

fn is_manual(source: &Source) -> bool {
    matches!(source, Source::Manual | Source::Csv)
}

pub(crate) async fn set(ctx: &mut Ctx<'_>, s: &InventorySet) -> Result<Outcome, IngestError> {
    let variant = ctx.require_variant(&s.sku).await?;
    let loc = ctx.location(s.location.as_deref()).await?;
    ensure_level(ctx.txn, ctx.workspace_id, variant.id, loc.id, ctx.now).await?;
    let current = level(ctx.txn, variant.id, loc.id).await?;
    let delta = s.on_hand - current.map_or(0, |l| l.on_hand);
    if delta != 0 {
        move_stock(
            ctx,
            Move {
                variant: &variant,
                location: &loc,
                on_hand: delta,
                committed: 0,
                incoming: 0,
                reason: LedgerReason::Count,
                note: s.reason.as_deref(),
            },
        )
        .await?;
    }
    Ok(Outcome::Applied)
}

pub(crate) async fn adjust(ctx: &mut Ctx<'_>, a: &InventoryAdjust) -> Result<Outcome, IngestError> {
    let variant = ctx.require_variant(&a.sku).await?;
    let loc = ctx.location(a.location.as_deref()).await?;
    let after = move_stock(
        ctx,
        Move {
            variant: &variant,
            location: &loc,
            on_hand: a.delta,
            committed: 0,
            incoming: 0,
            reason: LedgerReason::Adjustment,
            note: Some(&a.reason),
        },
    )
    .await?;
    if after.on_hand < 0 && ctx.settings.forbid_negative_manual && is_manual(&ctx.event.source) {
        return Err(IngestError::Rejected(format!(
            "adjusting {} by {} would leave {} on hand at {}; this workspace forbids manual adjustments below zero",
            a.sku, a.delta, after.on_hand, loc.name
        )));
    }
    Ok(Outcome::Applied)
}

pub(crate) async fn transfer(
    ctx: &mut Ctx<'_>,
    t: &InventoryTransfer,
) -> Result<Outcome, IngestError> {
    let variant = ctx.require_variant(&t.sku).await?;
    let from = ctx.location(Some(&t.from_location)).await?;
    let to = ctx.location(Some(&t.to_location)).await?;
    let out = move_stock(
        ctx,
        Move {
            variant: &variant,
            location: &from,
            on_hand: -t.quantity,
            committed: 0,
            incoming: 0,
            reason: LedgerReason::TransferOut,
            note: Some(&format!("to {}", to.name)),
        },
    )
    .await?;
    if out.on_hand < 0 {
        return Err(IngestError::Rejected(format!(
            "cannot transfer {} of {} from {}: only {} on hand",
            t.quantity,
            t.sku,
            from.name,
            out.on_hand + t.quantity
        )));
    }
    move_stock(
        ctx,
        Move {
            variant: &variant,
            location: &to,
            on_hand: t.quantity,
            committed: 0,
            incoming: 0,
            reason: LedgerReason::TransferIn,
            note: Some(&format!("from {}", from.name)),
        },
    )
    .await?;
    Ok(Outcome::Applied)
}

pub(crate) async fn policy(ctx: &mut Ctx<'_>, p: &InventoryPolicy) -> Result<Outcome, IngestError> {
    let variant = ctx.require_variant(&p.sku).await?;
    let loc = ctx.location(p.location.as_deref()).await?;
    ensure_level(ctx.txn, ctx.workspace_id, variant.id, loc.id, ctx.now).await?;
    let before = level(ctx.txn, variant.id, loc.id)
        .await?
        .ok_or_else(|| IngestError::Rejected("stock level vanished".into()))?;
    if let Some(incoming) = p.incoming
        && incoming != before.incoming
    {
        move_stock(
            ctx,
            Move {
                variant: &variant,
                location: &loc,
                on_hand: 0,
                committed: 0,
                incoming: incoming - before.incoming,
                reason: LedgerReason::IncomingChanged,
                note: None,
            },
        )
        .await?;
    }
    let current = level(ctx.txn, variant.id, loc.id)
        .await?
        .ok_or_else(|| IngestError::Rejected("stock level vanished".into()))?;
    let mut am: inventory_level::ActiveModel = current.clone().into();
    if let Some(s) = p.safety_stock {
        am.safety_stock = Set(s);
    }
    if let Some(r) = p.reorder_point {
        am.reorder_point = Set(Some(r));
    }
    if let Some(d) = p.lead_time_days {
        am.lead_time_days = Set(Some(d));
    }
    am.updated_at = Set(ctx.now);
    let after = am.update(ctx.txn).await?;
    stock_alerts(ctx, &variant, &loc, &current, &after).await?;
    Ok(Outcome::Applied)
}

pub(crate) async fn level(
    db: &impl ConnectionTrait,
    variant_id: i64,
    location_id: i64,
) -> Result<Option<inventory_level::Model>, IngestError> {
    Ok(inventory_level::Entity::find()
        .filter(inventory_level::Column::VariantId.eq(variant_id))
        .filter(inventory_level::Column::LocationId.eq(location_id))
        .one(db)
        .await?)
}

/// Threshold alerts on one level. Each raises when its condition starts holding and resolves when it stops.
async fn stock_alerts(
    ctx: &mut Ctx<'_>,
    variant: &variant::Model,
    loc: &location::Model,
    before: &inventory_level::Model,
    after: &inventory_level::Model,
) -> Result<(), IngestError> {
    let (a0, a1) = (available(before), available(after));
    let subject = format!("{}@{}", variant.sku, loc.name);
    let low = |l: &inventory_level::Model| {
        l.reorder_point
            .is_some_and(|rp| available(l) <= rp && available(l) > 0)
    };
    let checks = [
        (
            "oversold",
            "critical",
            a0 >= 0 && a1 < 0,
            a0 < 0 && a1 >= 0,
            format!("{subject} is oversold: {a1} available"),
        ),
        (
            "out_of_stock",
            "warning",
            a0 > 0 && a1 <= 0,
            a0 <= 0 && a1 > 0,
            format!("{subject} is out of stock"),
        ),
        (
            "low_stock",
            "info",
            !low(before) && low(after),
            low(before) && !low(after),
            format!(
                "{subject} is low: {a1} available, reorder point {}",
                after.reorder_point.unwrap_or(0)
            ),
        ),
    ];
    for (kind, severity, raise_now, clear_now, message) in checks {
        if raise_now {
            raise(ctx, kind, severity, &subject, &message, variant, loc, after).await?;
        } else if clear_now {
            resolve(ctx, kind, &subject).await?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn raise(
    ctx: &mut Ctx<'_>,
    kind: &str,
    severity: &str,
    subject: &str,
    message: &str,
    variant: &variant::Model,
    loc: &location::Model,
    level: &inventory_level::Model,
) -> Result<(), IngestError> {
    if !ctx
        .active_alerts()
        .await?
        .insert((kind.to_owned(), subject.to_owned()))
    {
        return Ok(());
    }
    let data = serde_json::json!({
        "variantId": variant.id, "sku": variant.sku, "locationId": loc.id, "location": loc.name,
        "onHand": level.on_hand, "committed": level.committed, "available": available(level),
        "reorderPoint": level.reorder_point, "leadTimeDays": level.lead_time_days,
        "sourceEventId": ctx.event.source_event_id,
    });
    let row = alert_event::ActiveModel {
        workspace_id: Set(ctx.workspace_id),
        rule_id: Set(None),
        kind: Set(kind.to_owned()),
        severity: Set(severity.to_owned()),
        subject: Set(subject.to_owned()),
        message: Set(message.to_owned()),
        data: Set(data.to_string()),
        raised_at: Set(ctx.event.occurred_at),
        resolved_at: Set(None),
        ..Default::default()
    }
    .insert(ctx.txn)
    .await?;
    ctx.published.push(DomainEvent::AlertRaised(AlertNotice {
        workspace_id: ctx.ws(),
        alert_id: row.id,
        kind: kind.to_owned(),
        severity: severity.to_owned(),
        subject: subject.to_owned(),
        message: message.to_owned(),
    }));
    Ok(())
}

async fn resolve(ctx: &mut Ctx<'_>, kind: &str, subject: &str) -> Result<(), IngestError> {
    if !ctx
        .active_alerts()
        .await?
        .remove(&(kind.to_owned(), subject.to_owned()))
    {
        return Ok(());
    }
    alert_event::Entity::update_many()
        .col_expr(
            alert_event::Column::ResolvedAt,
            Expr::value(ctx.event.occurred_at),
        )
        .filter(alert_event::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(alert_event::Column::Kind.eq(kind))
        .filter(alert_event::Column::Subject.eq(subject))
        .filter(alert_event::Column::ResolvedAt.is_null())
        .exec(ctx.txn)
        .await?;
    Ok(())
}

#[derive(FromQueryResult)]
struct Units {
    units: Option<i64>,
}

async fn units_between(
    db: &impl ConnectionTrait,
    ws: i64,
    sku: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64, IngestError> {
    let row = sales_hourly::Entity::find()
        .select_only()
        .column_as(crate::rollup::sum_i64(sales_hourly::Column::Units), "units")
        .filter(sales_hourly::Column::WorkspaceId.eq(ws))
        .filter(sales_hourly::Column::Sku.eq(sku))
        .filter(sales_hourly::Column::Hour.gte(from))
        .filter(sales_hourly::Column::Hour.lt(to))
        .into_model::<Units>()
        .one(db)
        .await?;
    Ok(row.and_then(|r| r.units).unwrap_or(0))
}

/// Sales-velocity alerts for a SKU that just sold: a spike against its own trailing week, and stock that will
/// not last until a reorder could arrive. Evaluated at the event's time, so replayed history behaves alike.
/// Each check queries only when its condition can hold, so the common sale costs one small aggregate.
pub(crate) async fn velocity_alerts(
    ctx: &mut Ctx<'_>,
    variant: &variant::Model,
    loc: &location::Model,
    after: &inventory_level::Model,
) -> Result<(), IngestError> {
    let at = ctx.event.occurred_at;
    let hour = at.duration_trunc(Duration::hours(1)).unwrap_or(at);
    let next_hour = hour + Duration::hours(1);
    let sku = variant.sku.as_str();
    // The current and previous hour buckets approximate "the last hour" with hourly rollups.
    let recent = units_between(
        ctx.txn,
        ctx.workspace_id,
        sku,
        hour - Duration::hours(1),
        next_hour,
    )
    .await?;
    let subject = format!("{sku}@{}", loc.name);
    let spiking = if recent >= ctx.settings.velocity_min_units {
        let week = units_between(
            ctx.txn,
            ctx.workspace_id,
            sku,
            hour - Duration::days(7),
            hour - Duration::hours(1),
        )
        .await?;
        // recent/2 per hour ≥ factor × week/(7·24−1) per hour, kept in integers.
        (recent * (7 * 24 - 1) >= 2 * ctx.settings.velocity_spike_factor * week).then_some(week)
    } else {
        None
    };
    match spiking {
        Some(week) => {
            let message = format!(
                "{sku} is selling fast: {recent} units in the last two hours vs {week} in the week before"
            );
            raise(
                ctx,
                "velocity_spike",
                "warning",
                &subject,
                &message,
                variant,
                loc,
                after,
            )
            .await?;
        }
        None => resolve(ctx, "velocity_spike", &subject).await?,
    }
    let cover = match after.lead_time_days {
        Some(lead) => {
            let week_units = units_between(
                ctx.txn,
                ctx.workspace_id,
                sku,
                next_hour - Duration::days(7),
                next_hour,
            )
            .await?;
            (week_units > 0 && available(after) * 7 < i64::from(lead) * week_units)
                .then_some((lead, week_units))
        }
        None => None,
    };
    match cover {
        Some((lead, week_units)) => {
            let message = format!(
                "{subject} covers fewer days than its {lead}-day lead time: {} available at {week_units} units/week",
                available(after)
            );
            raise(
                ctx,
                "days_of_cover",
                "warning",
                &subject,
                &message,
                variant,
                loc,
                after,
            )
            .await?;
        }
        None => resolve(ctx, "days_of_cover", &subject).await?,
    }
    Ok(())
}
