//! Proofs that derived state matches its source: levels against the ledger fold, rollups and customer
//! aggregates against raw orders. The same computations rebuild them.

use crate::IngestError;
use crate::rollup::{
    self, OrderContribution, OrdersKey, SalesKey, add_orders_rows, add_sales_rows, line_sums,
    orders_row, sales_row, sum_i64,
};
use chrono::{DateTime, Utc};
use creatorflow_store::entity::{
    customer, inventory_ledger, inventory_level, order, order_line, orders_hourly, refund_line,
    sales_hourly,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use std::collections::{BTreeMap, HashMap};

/// A level that disagrees with the fold of its ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub workspace_id: i64,
    pub variant_id: i64,
    pub location_id: i64,
    /// (on_hand, committed, incoming) stored on the level.
    pub level: (i64, i64, i64),
    /// (on_hand, committed, incoming) folded from the ledger.
    pub ledger: (i64, i64, i64),
}

#[derive(FromQueryResult)]
struct Fold {
    variant_id: i64,
    location_id: i64,
    on_hand: Option<i64>,
    committed: Option<i64>,
    incoming: Option<i64>,
}

async fn folds(
    db: &impl ConnectionTrait,
) -> Result<HashMap<(i64, i64), (i64, i64, i64)>, IngestError> {
    use inventory_ledger::Column as L;
    let rows = inventory_ledger::Entity::find()
        .select_only()
        .column(L::VariantId)
        .column(L::LocationId)
        .column_as(sum_i64(L::DeltaOnHand), "on_hand")
        .column_as(sum_i64(L::DeltaCommitted), "committed")
        .column_as(sum_i64(L::DeltaIncoming), "incoming")
        .group_by(L::VariantId)
        .group_by(L::LocationId)
        .into_model::<Fold>()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|f| {
            let sums = (
                f.on_hand.unwrap_or(0),
                f.committed.unwrap_or(0),
                f.incoming.unwrap_or(0),
            );
            ((f.variant_id, f.location_id), sums)
        })
        .collect())
}

pub(crate) async fn inventory(db: &DatabaseConnection) -> Result<Vec<Drift>, IngestError> {
    let folded = folds(db).await?;
    let levels = inventory_level::Entity::find().all(db).await?;
    let mut drifts = Vec::new();
    for l in &levels {
        let ledger = folded
            .get(&(l.variant_id, l.location_id))
            .copied()
            .unwrap_or((0, 0, 0));
        let level = (l.on_hand, l.committed, l.incoming);
        if ledger != level {
            drifts.push(Drift {
                workspace_id: l.workspace_id,
                variant_id: l.variant_id,
                location_id: l.location_id,
                level,
                ledger,
            });
        }
    }
    for (&(variant_id, location_id), &ledger) in &folded {
        if !levels
            .iter()
            .any(|l| l.variant_id == variant_id && l.location_id == location_id)
        {
            drifts.push(Drift {
                workspace_id: 0,
                variant_id,
                location_id,
                level: (0, 0, 0),
                ledger,
            });
        }
    }
    Ok(drifts)
}

pub(crate) async fn rebuild_inventory(db: &DatabaseConnection) -> Result<usize, IngestError> {
    let txn = db.begin().await?;
    let folded = folds(&txn).await?;
    let mut changed = 0;
    for l in inventory_level::Entity::find().all(&txn).await? {
        let (on_hand, committed, incoming) = folded
            .get(&(l.variant_id, l.location_id))
            .copied()
            .unwrap_or((0, 0, 0));
        if (on_hand, committed, incoming) != (l.on_hand, l.committed, l.incoming) {
            let mut am: inventory_level::ActiveModel = l.into();
            am.on_hand = Set(on_hand);
            am.committed = Set(committed);
            am.incoming = Set(incoming);
            am.updated_at = Set(Utc::now());
            sea_orm::ActiveModelTrait::update(am, &txn).await?;
            changed += 1;
        }
    }
    txn.commit().await?;
    Ok(changed)
}

/// A rollup cell or customer aggregate that disagrees with what the raw rows give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupDrift {
    pub table: &'static str,
    pub key: String,
    pub stored: String,
    pub expected: String,
}

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
struct OrderSums(rollup::OrderSums);
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
struct SalesSums([i64; 5]);
#[derive(Default, Debug, Clone, PartialEq, Eq)]
struct CustomerAgg {
    orders: i64,
    spent: i64,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
}

struct Expected {
    orders: BTreeMap<OrdersKey, OrderSums>,
    sales: BTreeMap<SalesKey, (Option<i64>, SalesSums)>,
    customers: HashMap<i64, CustomerAgg>,
}

/// Recomputes everything the write path maintains incrementally, streaming orders in id order.
async fn expected(db: &impl ConnectionTrait) -> Result<Expected, IngestError> {
    let mut out = Expected {
        orders: BTreeMap::new(),
        sales: BTreeMap::new(),
        customers: HashMap::new(),
    };
    let mut returned: HashMap<i64, i64> = HashMap::new();
    for rl in refund_line::Entity::find().all(db).await? {
        *returned.entry(rl.order_line_id).or_default() += rl.quantity;
    }
    let mut after = 0i64;
    loop {
        let batch = order::Entity::find()
            .filter(order::Column::Id.gt(after))
            .order_by_asc(order::Column::Id)
            .limit(5000)
            .all(db)
            .await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        let ids: Vec<i64> = batch.iter().map(|o| o.id).collect();
        let mut lines: HashMap<i64, Vec<order_line::Model>> = HashMap::new();
        for l in order_line::Entity::find()
            .filter(order_line::Column::OrderId.is_in(ids))
            .all(db)
            .await?
        {
            lines.entry(l.order_id).or_default().push(l);
        }
        for o in &batch {
            let c = OrderContribution::of(o);
            let s = &mut out
                .orders
                .entry((o.workspace_id, c.hour, c.connection_id, c.currency.clone()))
                .or_default()
                .0;
            for (a, b) in s.iter_mut().zip(c.sums()) {
                *a += b;
            }
            for l in lines.get(&o.id).map(Vec::as_slice).unwrap_or(&[]) {
                let key = c.sales_key(o.workspace_id, l);
                let entry = out
                    .sales
                    .entry(key)
                    .or_insert((l.variant_id, SalesSums::default()));
                let mut add = if c.cancelled { [0; 5] } else { line_sums(l) };
                add[4] = returned.get(&l.id).copied().unwrap_or(0);
                for (a, b) in entry.1.0.iter_mut().zip(add) {
                    *a += b;
                }
            }
            if let Some(cid) = o.customer_id {
                let agg = out.customers.entry(cid).or_default();
                if !c.cancelled {
                    agg.orders += 1;
                    agg.spent += o.total_minor;
                }
                agg.first = Some(agg.first.map_or(o.placed_at, |f| Ord::min(f, o.placed_at)));
                agg.last = Some(agg.last.map_or(o.placed_at, |l| Ord::max(l, o.placed_at)));
            }
        }
    }
    Ok(out)
}

pub(crate) async fn rollups(db: &DatabaseConnection) -> Result<Vec<RollupDrift>, IngestError> {
    let exp = expected(db).await?;
    let mut drifts = Vec::new();
    let mut stored_orders: BTreeMap<OrdersKey, OrderSums> = BTreeMap::new();
    for r in orders_hourly::Entity::find().all(db).await? {
        let sums = OrderSums([
            r.orders,
            r.cancelled_orders,
            r.subtotal_minor,
            r.discount_minor,
            r.shipping_charged_minor,
            r.tax_minor,
            r.total_minor,
            r.fees_minor,
            r.refunded_minor,
            r.fulfilled_orders,
            r.delivered_orders,
            r.refunded_orders,
            r.ship_secs,
            r.deliver_secs,
        ]);
        if sums != OrderSums::default() {
            stored_orders.insert((r.workspace_id, r.hour, r.connection_id, r.currency), sums);
        }
    }
    diff("orders_hourly", &stored_orders, &exp.orders, &mut drifts);
    let mut stored_sales: BTreeMap<SalesKey, SalesSums> = BTreeMap::new();
    for r in sales_hourly::Entity::find().all(db).await? {
        let sums = SalesSums([
            r.units,
            r.gross_minor,
            r.discount_minor,
            r.cogs_minor,
            r.returned_units,
        ]);
        if sums != SalesSums::default() {
            stored_sales.insert(
                (r.workspace_id, r.hour, r.connection_id, r.sku, r.currency),
                sums,
            );
        }
    }
    let exp_sales: BTreeMap<SalesKey, SalesSums> = exp
        .sales
        .iter()
        .filter(|(_, (_, s))| *s != SalesSums::default())
        .map(|(k, (_, s))| (k.clone(), *s))
        .collect();
    diff("sales_hourly", &stored_sales, &exp_sales, &mut drifts);
    for c in customer::Entity::find().all(db).await? {
        let want = exp.customers.get(&c.id).cloned().unwrap_or_default();
        let have = CustomerAgg {
            orders: c.orders_count,
            spent: c.total_spent_minor,
            first: c.first_order_at,
            last: c.last_order_at,
        };
        if want != have {
            drifts.push(RollupDrift {
                table: "customers",
                key: c.id.to_string(),
                stored: format!("{have:?}"),
                expected: format!("{want:?}"),
            });
        }
    }
    Ok(drifts)
}

fn diff<K: Ord + std::fmt::Debug, V: PartialEq + Default + std::fmt::Debug>(
    table: &'static str,
    stored: &BTreeMap<K, V>,
    expected: &BTreeMap<K, V>,
    out: &mut Vec<RollupDrift>,
) {
    let empty = V::default();
    for (k, v) in stored {
        let e = expected.get(k).unwrap_or(&empty);
        if e != v {
            out.push(RollupDrift {
                table,
                key: format!("{k:?}"),
                stored: format!("{v:?}"),
                expected: format!("{e:?}"),
            });
        }
    }
    for (k, e) in expected {
        if !stored.contains_key(k) && *e != empty {
            out.push(RollupDrift {
                table,
                key: format!("{k:?}"),
                stored: format!("{empty:?}"),
                expected: format!("{e:?}"),
            });
        }
    }
}

pub(crate) async fn rebuild_rollups(db: &DatabaseConnection) -> Result<(), IngestError> {
    let txn = db.begin().await?;
    let exp = expected(&txn).await?;
    orders_hourly::Entity::delete_many().exec(&txn).await?;
    sales_hourly::Entity::delete_many().exec(&txn).await?;
    let order_rows = exp.orders.into_iter();
    add_orders_rows(&txn, order_rows.map(|(k, s)| orders_row(k, s.0)).collect()).await?;
    let sales_rows = exp.sales.into_iter();
    add_sales_rows(
        &txn,
        sales_rows.map(|(k, (v, s))| sales_row(k, v, s.0)).collect(),
    )
    .await?;
    for c in customer::Entity::find().all(&txn).await? {
        let want = exp.customers.get(&c.id).cloned().unwrap_or_default();
        customer::Entity::update_many()
            .col_expr(customer::Column::OrdersCount, Expr::value(want.orders))
            .col_expr(customer::Column::TotalSpentMinor, Expr::value(want.spent))
            .col_expr(customer::Column::FirstOrderAt, Expr::value(want.first))
            .col_expr(customer::Column::LastOrderAt, Expr::value(want.last))
            .filter(customer::Column::Id.eq(c.id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}
