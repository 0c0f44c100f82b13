//! Products and brands: top SKUs by revenue, units or profit with margins, brand profitability, stock
//! health (days of cover, sell-through, dead stock, aging) and the resale view by condition grade. Sales
//! come from the SKU rollup; stock from the current levels.

use crate::{AnalyticsError, Query};
use chrono::{DateTime, Utc};
use creatorflow_store::entity::{brand, inventory_level, product, sales_hourly, variant};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
};
use std::collections::{BTreeMap, HashMap};

/// One SKU's sales in the period and its stock now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkuStats {
    pub sku: String,
    pub currency: String,
    pub title: Option<String>,
    pub brand: Option<String>,
    pub category: Option<String>,
    pub condition: Option<String>,
    pub units: i64,
    pub returned_units: i64,
    /// Units × unit price, minus line discounts.
    pub net_sales: i64,
    pub cogs: i64,
    /// Whether every sold line had a unit cost (otherwise the margin is not known).
    pub on_hand: i64,
    pub available: i64,
    pub listed_at: Option<DateTime<Utc>>,
    pub last_sold_at: Option<DateTime<Utc>>,
}

impl SkuStats {
    pub fn profit(&self) -> i64 {
        self.net_sales - self.cogs
    }
}

#[derive(FromQueryResult)]
struct SalesRow {
    sku: String,
    currency: String,
    units: Option<i64>,
    returned_units: Option<i64>,
    gross: Option<i64>,
    discount: Option<i64>,
    cogs: Option<i64>,
    last: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
struct VariantRow {
    sku: String,
    title: String,
    condition: Option<String>,
    category: Option<String>,
    brand: Option<String>,
    created_at: DateTime<Utc>,
    on_hand: Option<i64>,
    committed: Option<i64>,
}

fn sum(col: impl sea_orm::sea_query::IntoColumnRef) -> Expr {
    Func::cast_as(Func::sum(Expr::col(col)), Alias::new("BIGINT")).into()
}

/// Every SKU of the workspace that sold in the period or has stock, with the query's filters applied.
pub async fn sku_stats(
    db: &impl ConnectionTrait,
    q: &Query,
) -> Result<Vec<SkuStats>, AnalyticsError> {
    use sales_hourly::Column as S;
    let range = q.period.bounds(q.tz);
    let mut sales = sales_hourly::Entity::find()
        .select_only()
        .column(S::Sku)
        .column(S::Currency)
        .column_as(sum(S::Units), "units")
        .column_as(sum(S::ReturnedUnits), "returned_units")
        .column_as(sum(S::GrossMinor), "gross")
        .column_as(sum(S::DiscountMinor), "discount")
        .column_as(sum(S::CogsMinor), "cogs")
        .column_as(Expr::from(Func::max(Expr::col(S::Hour))), "last")
        .filter(S::WorkspaceId.eq(q.workspace_id))
        .filter(S::Hour.gte(range.0))
        .filter(S::Hour.lt(range.1));
    if !q.filters.connections.is_empty() {
        sales = sales.filter(S::ConnectionId.is_in(q.filters.connections.clone()));
    }
    let sales = sales
        .group_by(S::Sku)
        .group_by(S::Currency)
        .into_model::<SalesRow>()
        .all(db)
        .await?;

    use variant::Column as V;
    let variants = variant::Entity::find()
        .select_only()
        .column(V::Sku)
        .column_as(Expr::col((variant::Entity, V::Title)), "title")
        .column(V::Condition)
        .column_as(
            Expr::col((product::Entity, product::Column::Category)),
            "category",
        )
        .column_as(Expr::col((brand::Entity, brand::Column::Name)), "brand")
        .column_as(Expr::col((variant::Entity, V::CreatedAt)), "created_at")
        .column_as(
            sum((inventory_level::Entity, inventory_level::Column::OnHand)),
            "on_hand",
        )
        .column_as(
            sum((inventory_level::Entity, inventory_level::Column::Committed)),
            "committed",
        )
        .join(sea_orm::JoinType::InnerJoin, variant_product())
        .join(sea_orm::JoinType::LeftJoin, product_brand())
        .join(sea_orm::JoinType::LeftJoin, variant_levels())
        .filter(Expr::col((variant::Entity, V::WorkspaceId)).eq(q.workspace_id))
        .group_by(Expr::col((variant::Entity, V::Id)))
        .group_by(Expr::col((variant::Entity, V::Sku)))
        .group_by(Expr::col((variant::Entity, V::Title)))
        .group_by(Expr::col((variant::Entity, V::Condition)))
        .group_by(Expr::col((product::Entity, product::Column::Category)))
        .group_by(Expr::col((brand::Entity, brand::Column::Name)))
        .group_by(Expr::col((variant::Entity, V::CreatedAt)))
        .into_model::<VariantRow>()
        .all(db)
        .await?;
    let catalog: HashMap<String, VariantRow> =
        variants.into_iter().map(|v| (v.sku.clone(), v)).collect();
    let brand_ids: HashMap<String, i64> = if q.filters.brands.is_empty() {
        HashMap::new()
    } else {
        brand::Entity::find()
            .filter(brand::Column::WorkspaceId.eq(q.workspace_id))
            .all(db)
            .await?
            .into_iter()
            .map(|b| (b.name, b.id))
            .collect()
    };
    let keep = |sku: &str| -> bool {
        let f = &q.filters;
        let v = catalog.get(sku);
        (f.skus.is_empty() || f.skus.iter().any(|s| s == sku))
            && (f.conditions.is_empty()
                || v.and_then(|v| v.condition.as_ref())
                    .is_some_and(|c| f.conditions.contains(c)))
            && (f.categories.is_empty()
                || v.and_then(|v| v.category.as_ref())
                    .is_some_and(|c| f.categories.contains(c)))
            && (f.brands.is_empty()
                || v.and_then(|v| v.brand.as_ref())
                    .and_then(|b| brand_ids.get(b))
                    .is_some_and(|id| f.brands.contains(id)))
    };
    let mut out: BTreeMap<(String, String), SkuStats> = BTreeMap::new();
    for r in sales.into_iter().filter(|r| keep(&r.sku)) {
        let s = out.entry((r.sku.clone(), r.currency.clone())).or_default();
        s.sku = r.sku;
        s.currency = r.currency;
        s.units += r.units.unwrap_or(0);
        s.returned_units += r.returned_units.unwrap_or(0);
        s.net_sales += r.gross.unwrap_or(0) - r.discount.unwrap_or(0);
        s.cogs += r.cogs.unwrap_or(0);
        s.last_sold_at = r.last;
    }
    // SKUs with stock but no sale in the period still matter (dead stock, aging).
    for (sku, v) in &catalog {
        if v.on_hand.unwrap_or(0) > 0 && !out.keys().any(|(s, _)| s == sku) && keep(sku) {
            out.insert(
                (sku.clone(), String::new()),
                SkuStats {
                    sku: sku.clone(),
                    ..SkuStats::default()
                },
            );
        }
    }
    Ok(out
        .into_values()
        .map(|mut s| {
            if let Some(v) = catalog.get(&s.sku) {
                s.title = Some(v.title.clone());
                s.brand = v.brand.clone();
                s.category = v.category.clone();
                s.condition = v.condition.clone();
                s.on_hand = v.on_hand.unwrap_or(0);
                s.available = v.on_hand.unwrap_or(0) - v.committed.unwrap_or(0);
                s.listed_at = Some(v.created_at);
            }
            s
        })
        .collect())
}

fn variant_product() -> sea_orm::RelationDef {
    use sea_orm::RelationTrait;
    variant::Relation::Product.def()
}

fn product_brand() -> sea_orm::RelationDef {
    use sea_orm::RelationTrait;
    product::Relation::Brand.def()
}

fn variant_levels() -> sea_orm::RelationDef {
    use sea_orm::RelationTrait;
    inventory_level::Relation::Variant.def().rev()
}

/// Which order SKUs are ranked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    Revenue,
    Units,
    Profit,
}

pub fn top(mut stats: Vec<SkuStats>, by: Rank, limit: usize) -> Vec<SkuStats> {
    stats.retain(|s| s.units > 0);
    let key = |s: &SkuStats| match by {
        Rank::Revenue => s.net_sales,
        Rank::Units => s.units,
        Rank::Profit => s.profit(),
    };
    stats.sort_by(|a, b| key(b).cmp(&key(a)).then(a.sku.cmp(&b.sku)));
    stats.truncate(limit);
    stats
}

/// Sales, cost and profit per brand and currency (SKUs without a brand under "").
pub fn brands(stats: &[SkuStats]) -> Vec<(String, String, i64, i64, i64)> {
    let mut by: BTreeMap<(String, String), (i64, i64, i64)> = BTreeMap::new();
    for s in stats.iter().filter(|s| s.units > 0) {
        let e = by
            .entry((s.brand.clone().unwrap_or_default(), s.currency.clone()))
            .or_default();
        e.0 += s.units;
        e.1 += s.net_sales;
        e.2 += s.cogs;
    }
    by.into_iter()
        .map(|((b, c), (u, n, cogs))| (b, c, u, n, cogs))
        .collect()
}

/// Sell-through in basis points: units sold ÷ (units sold + on hand now).
pub fn sell_through_bp(units: i64, on_hand: i64) -> Option<i64> {
    let den = units + Ord::max(on_hand, 0);
    (den > 0).then(|| units * 10_000 / den)
}

/// Days of cover: available units ÷ average units sold per day over the period.
pub fn days_of_cover(available: i64, units: i64, days: i64) -> Option<i64> {
    (units > 0 && days > 0).then(|| Ord::max(available, 0) * days / units)
}

/// Stock age buckets (0–30, 31–60, 61–90, 90+ days since listing) of SKUs on hand: (SKUs, units).
pub fn aging(stats: &[SkuStats], now: DateTime<Utc>) -> [(i64, i64); 4] {
    let mut out = [(0, 0); 4];
    for s in stats.iter().filter(|s| s.on_hand > 0) {
        let Some(listed) = s.listed_at else { continue };
        let days = (now - listed).num_days();
        let i = match days {
            ..=30 => 0,
            31..=60 => 1,
            61..=90 => 2,
            _ => 3,
        };
        out[i].0 += 1;
        out[i].1 += s.on_hand;
    }
    out
}
