//! Stock files: one row per SKU and location, with a count (`on_hand`) and/or reorder settings.

use crate::cell::{self, MAX_SKU_CHARS};
use crate::columns::Mapping;
use crate::event_id::EventId;
use crate::read::RawRow;
use crate::report::{ImportReport, RowError};
use crate::row::RowCells;
use crate::{ImportKind, ImportOptions};
use creatorflow_core::ingest::{IngestEvent, InventoryPolicy, InventorySet, Payload};
use std::collections::HashMap;

const MAX_LOCATION: usize = 64;
const MAX_REASON: usize = 255;

const ORDER: &[&str] = &[
    "sku",
    "location",
    "on_hand",
    "safety_stock",
    "reorder_point",
    "lead_time_days",
    "incoming",
    "reason",
];

const POLICY_COLUMNS: [&str; 4] = [
    "safety_stock",
    "reorder_point",
    "lead_time_days",
    "incoming",
];

struct Line {
    row: usize,
    set: Option<InventorySet>,
    policy: Option<InventoryPolicy>,
}

pub(crate) fn plan(
    rows: &[RawRow],
    mapping: &Mapping,
    opts: &ImportOptions,
) -> (Vec<IngestEvent>, ImportReport) {
    let mut report = ImportReport {
        rows_read: rows.len(),
        ..ImportReport::default()
    };
    let mut lines = Vec::new();
    let mut seen: HashMap<(String, Option<String>), usize> = HashMap::new();
    for raw in rows {
        let mut cells = RowCells::new(raw, mapping);
        let line = parse_row(&mut cells, &mut seen);
        let errors = cells.finish(ORDER);
        if errors.is_empty() {
            if let Some(line) = line {
                lines.push(line);
                report.rows_accepted += 1;
            }
        } else {
            report.errors.extend(errors);
        }
    }
    let mut events = Vec::new();
    for line in lines {
        // Reorder settings first: alerts evaluated when the count lands should already see the new thresholds.
        if let Some(policy) = line.policy {
            let mut id = EventId::new(ImportKind::Stock, "inventory_policy_set");
            id.row(line.row)
                .str(&policy.sku)
                .opt_str(policy.location.as_deref())
                .opt_int(policy.safety_stock)
                .opt_int(policy.reorder_point)
                .opt_int(policy.lead_time_days.map(i64::from))
                .opt_int(policy.incoming);
            events.push(event(
                opts,
                id.finish(),
                Payload::InventoryPolicySet(policy),
            ));
        }
        if let Some(set) = line.set {
            let mut id = EventId::new(ImportKind::Stock, "inventory_set");
            id.row(line.row)
                .str(&set.sku)
                .opt_str(set.location.as_deref())
                .int(set.on_hand)
                .opt_str(set.reason.as_deref());
            events.push(event(opts, id.finish(), Payload::InventorySet(set)));
        }
    }
    (events, report)
}

fn event(opts: &ImportOptions, source_event_id: String, payload: Payload) -> IngestEvent {
    IngestEvent {
        workspace_id: opts.workspace_id,
        source: opts.source.clone(),
        source_event_id,
        actor: opts.actor.clone(),
        occurred_at: opts.now,
        payload,
    }
}

fn parse_row(
    cells: &mut RowCells<'_>,
    seen: &mut HashMap<(String, Option<String>), usize>,
) -> Option<Line> {
    let sku = cells.required("sku", "the SKU is empty; every row needs one", |v| {
        cell::code(v, MAX_SKU_CHARS)
    });
    let location = cells.optional("location", |v| cell::text(v, MAX_LOCATION));
    if let (Some(sku), Some(location)) = (&sku, &location) {
        let key = (sku.clone(), location.clone());
        if let Some(first) = seen.get(&key) {
            let raw = cells.get("sku");
            let at = location
                .as_ref()
                .map(|l| format!(" at location {}", cell::q(l)))
                .unwrap_or_default();
            cells.fail(
                "sku",
                raw,
                format!("{sku}{at} already appears on row {first}; each SKU and location can be listed once"),
            );
        } else {
            seen.insert(key, cells.row());
        }
    }
    // A count sheet with a blank count is more likely an oversight than a wish to leave the count alone, so an
    // on_hand column needs a value on every row; reorder settings may be left blank to keep them unchanged.
    let on_hand = if cells.has_column("on_hand") {
        cells
            .required(
                "on_hand",
                "the count is empty; write 0 when none are left",
                cell::quantity,
            )
            .map(Some)
    } else {
        Some(None)
    };
    let safety_stock = cells.optional("safety_stock", cell::quantity);
    let reorder_point = cells.optional("reorder_point", cell::quantity);
    let lead_time_days = cells.optional("lead_time_days", cell::lead_time_days);
    let incoming = cells.optional("incoming", cell::quantity);
    let reason = cells.optional("reason", |v| cell::text(v, MAX_REASON));

    let policy_given = POLICY_COLUMNS.iter().any(|c| !cells.get(c).is_empty());
    if !cells.has_column("on_hand") && !policy_given {
        let present: Vec<&str> = POLICY_COLUMNS
            .iter()
            .copied()
            .filter(|c| cells.has_column(c))
            .collect();
        cells.errors.push(RowError {
            row: cells.row(),
            column: None,
            value: None,
            reason: format!(
                "nothing to import; fill at least one of {}",
                present.join(", ")
            ),
        });
    }

    let sku = sku?;
    let location = location?;
    let (safety_stock, reorder_point, lead_time_days, incoming) =
        (safety_stock?, reorder_point?, lead_time_days?, incoming?);
    let policy = (safety_stock.is_some()
        || reorder_point.is_some()
        || lead_time_days.is_some()
        || incoming.is_some())
    .then(|| InventoryPolicy {
        sku: sku.clone(),
        location: location.clone(),
        safety_stock,
        reorder_point,
        lead_time_days,
        incoming,
    });
    let reason = reason?;
    let set = on_hand?.map(|on_hand| InventorySet {
        sku,
        location,
        on_hand,
        reason,
    });
    Some(Line {
        row: cells.row(),
        set,
        policy,
    })
}
