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
use creatorflow_core::{DomainEvent, VariantId, WorkspaceId};
use creatorflow_store::entity::{
    alert_event, inventory_ledger, inventory_level, location, variant,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

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
    /// An order that already held stock arrived with other lines: the old lines' stock effect is undone
    /// before the new lines' is applied.
    OrderEdited,
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
            LedgerReason::OrderEdited => "order_edited",
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
pub(crate) async fn ensure_level(
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

/// The ledger's reason: the reason code, with a person's note appended.
pub(crate) fn reason_text(reason: LedgerReason, note: Option<&str>) -> String {
    match note {
        Some(note) => format!("{}: {note}", reason.as_str()),
        None => reason.as_str().to_owned(),
    }
}

/// What subscribers of `inventoryChanged` hear about one ledger entry.
pub(crate) fn change_notice(
    m: &Move<'_>,
    ledger_id: i64,
    reason: String,
    after: &inventory_level::Model,
) -> DomainEvent {
    DomainEvent::InventoryChanged(InventoryChange {
        workspace_id: WorkspaceId(m.variant.workspace_id),
        variant_id: VariantId(m.variant.id),
        location_id: m.location.id,
        sku: m.variant.sku.clone(),
        location: m.location.name.clone(),
        ledger_id,
        reason,
        delta_on_hand: m.on_hand,
        delta_committed: m.committed,
        on_hand: after.on_hand,
        committed: after.committed,
        available: available(after),
    })
}

/// One threshold alert's verdict for a level change.
pub(crate) struct Threshold {
    pub kind: &'static str,
    pub severity: &'static str,
    pub raise: bool,
    pub clear: bool,
    pub message: String,
}

/// Oversold, out of stock and low stock: each raises when its condition starts holding and clears when it
/// stops, so an alert fires once per crossing.
pub(crate) fn thresholds(
    subject: &str,
    before: &inventory_level::Model,
    after: &inventory_level::Model,
) -> [Threshold; 3] {
    let (a0, a1) = (available(before), available(after));
    let low = |l: &inventory_level::Model| {
        l.reorder_point
            .is_some_and(|rp| available(l) <= rp && available(l) > 0)
    };
    [
        Threshold {
            kind: "oversold",
            severity: "critical",
            raise: a0 >= 0 && a1 < 0,
            clear: a0 < 0 && a1 >= 0,
            message: format!("{subject} is oversold: {a1} available"),
        },
        Threshold {
            kind: "out_of_stock",
            severity: "warning",
            raise: a0 > 0 && a1 <= 0,
            clear: a0 <= 0 && a1 > 0,
            message: format!("{subject} is out of stock"),
        },
        Threshold {
            kind: "low_stock",
            severity: "info",
            raise: !low(before) && low(after),
            clear: low(before) && !low(after),
            message: format!(
                "{subject} is low: {a1} available, reorder point {}",
                after.reorder_point.unwrap_or(0)
            ),
        },
    ]
}

/// The alert's JSON details for the UI.
pub(crate) fn alert_data(
    variant: &variant::Model,
    loc: &location::Model,
    level: &inventory_level::Model,
    source_event_id: &str,
) -> String {
    serde_json::json!({
        "variantId": variant.id, "sku": variant.sku, "locationId": loc.id, "location": loc.name,
        "onHand": level.on_hand, "committed": level.committed, "available": available(level),
        "reorderPoint": level.reorder_point, "leadTimeDays": level.lead_time_days,
        "sourceEventId": source_event_id,
    })
    .to_string()
}

/// The hour windows the velocity checks sum sales over, for a sale at `at`: the current and previous hour
/// approximate "the last hour" with hourly rollups.
pub(crate) struct VelocityWindows {
    pub recent: (DateTime<Utc>, DateTime<Utc>),
    pub week_before: (DateTime<Utc>, DateTime<Utc>),
    pub cover_week: (DateTime<Utc>, DateTime<Utc>),
}

impl VelocityWindows {
    pub fn at(at: DateTime<Utc>) -> Self {
        let hour = at.duration_trunc(Duration::hours(1)).unwrap_or(at);
        let next_hour = hour + Duration::hours(1);
        Self {
            recent: (hour - Duration::hours(1), next_hour),
            week_before: (hour - Duration::days(7), hour - Duration::hours(1)),
            cover_week: (next_hour - Duration::days(7), next_hour),
        }
    }
}

/// recent/2 per hour ≥ factor × week/(7·24−1) per hour, kept in integers.
pub(crate) fn spiking(settings: &crate::Settings, recent: i64, week: i64) -> bool {
    recent * (7 * 24 - 1) >= 2 * settings.velocity_spike_factor * week
}

pub(crate) fn spike_message(sku: &str, recent: i64, week: i64) -> String {
    format!(
        "{sku} is selling fast: {recent} units in the last two hours vs {week} in the week before"
    )
}

/// Stock that will not last until a reorder could arrive, at the last week's pace.
pub(crate) fn short_cover(after: &inventory_level::Model, lead: i32, week_units: i64) -> bool {
    week_units > 0 && available(after) * 7 < i64::from(lead) * week_units
}

pub(crate) fn cover_message(
    subject: &str,
    lead: i32,
    after: &inventory_level::Model,
    week_units: i64,
) -> String {
    format!(
        "{subject} covers fewer days than its {lead}-day lead time: {} available at {week_units} units/week",
        available(after)
    )
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
    let reason = reason_text(m.reason, m.note);
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
        .push(change_notice(&m, entry.id, reason, &after));
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
    let subject = format!("{}@{}", variant.sku, loc.name);
    for t in thresholds(&subject, before, after) {
        if t.raise {
            raise(
                ctx, t.kind, t.severity, &subject, &t.message, variant, loc, after,
            )
            .await?;
        } else if t.clear {
            resolve(ctx, t.kind, &subject).await?;
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
    if !ctx.open_alerts(subject).await?.insert(kind.to_owned()) {
        return Ok(());
    }
    let row = alert_event::ActiveModel {
        workspace_id: Set(ctx.workspace_id),
        rule_id: Set(None),
        kind: Set(kind.to_owned()),
        severity: Set(severity.to_owned()),
        subject: Set(subject.to_owned()),
        message: Set(message.to_owned()),
        data: Set(alert_data(variant, loc, level, &ctx.event.source_event_id)),
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
    if !ctx.open_alerts(subject).await?.remove(kind) {
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
