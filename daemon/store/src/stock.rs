//! Read queries over stock: levels with their SKU, product and location, the ledger history of a SKU, and
//! alert events. Same rules as `catalog`: workspace-scoped everywhere, keyset pagination.

use crate::Store;
use crate::catalog::{
    CatalogError, Page, PageArgs, contains_pattern, decode_cursor, encode_cursor, into_page,
    lower_like, page_size,
};
use crate::entity::{
    alert_event, brand, inventory_ledger, inventory_level, location, product, variant,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, JoinType, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, RelationTrait,
};
use std::collections::HashMap;

const STOCK_TAG: &str = "s";
const LEDGER_TAG: &str = "l";
const ALERT_TAG: &str = "a";

#[derive(Debug, Clone, Default)]
pub struct StockFilter {
    /// Available at or below the reorder point.
    pub low_stock: bool,
    /// Nothing available (or oversold).
    pub out_of_stock: bool,
    pub location: Option<String>,
    pub brand: Option<String>,
    pub category: Option<String>,
    pub condition: Option<String>,
    /// Case-insensitive substring of the SKU or product title.
    pub search: Option<String>,
    pub sku: Option<String>,
}

/// A level with what a person needs to recognise it.
#[derive(Debug, Clone)]
pub struct StockRow {
    pub level: inventory_level::Model,
    pub sku: String,
    pub variant_title: String,
    pub product_title: String,
    pub condition: Option<String>,
    pub brand: Option<String>,
    pub category: Option<String>,
    pub location: String,
}

impl StockRow {
    pub fn available(&self) -> i64 {
        self.level.on_hand - self.level.committed - self.level.safety_stock
    }
}

fn available_expr() -> Expr {
    use inventory_level::Column as C;
    Expr::col((inventory_level::Entity, C::OnHand))
        .sub(Expr::col((inventory_level::Entity, C::Committed)))
        .sub(Expr::col((inventory_level::Entity, C::SafetyStock)))
}

fn stock_condition(ws: i64, f: &StockFilter) -> Condition {
    use inventory_level::Column as C;
    let mut cond = Condition::all().add(C::WorkspaceId.eq(ws));
    if f.low_stock {
        cond = cond
            .add(C::ReorderPoint.is_not_null())
            .add(available_expr().lte(Expr::col((inventory_level::Entity, C::ReorderPoint))));
    }
    if f.out_of_stock {
        cond = cond.add(available_expr().lte(0));
    }
    if let Some(name) = &f.location {
        let locs = location::Entity::find()
            .select_only()
            .column(location::Column::Id)
            .filter(location::Column::WorkspaceId.eq(ws))
            .filter(location::Column::Name.eq(name.as_str()))
            .into_query();
        cond = cond.add(C::LocationId.in_subquery(locs));
    }
    let mut variants = Condition::all().add(variant::Column::WorkspaceId.eq(ws));
    let mut narrowed = false;
    if let Some(c) = &f.condition {
        variants = variants.add(variant::Column::Condition.eq(c.as_str()));
        narrowed = true;
    }
    if let Some(sku) = &f.sku {
        variants = variants.add(variant::Column::Sku.eq(sku.as_str()));
        narrowed = true;
    }
    let mut products = Condition::all().add(product::Column::WorkspaceId.eq(ws));
    let mut by_product = false;
    if let Some(name) = &f.brand {
        let brands = brand::Entity::find()
            .select_only()
            .column(brand::Column::Id)
            .filter(brand::Column::WorkspaceId.eq(ws))
            .filter(brand::Column::Name.eq(name.as_str()))
            .into_query();
        products = products.add(product::Column::BrandId.in_subquery(brands));
        by_product = true;
    }
    if let Some(cat) = &f.category {
        products = products.add(product::Column::Category.eq(cat.as_str()));
        by_product = true;
    }
    if by_product {
        let ids = product::Entity::find()
            .select_only()
            .column(product::Column::Id)
            .filter(products)
            .into_query();
        variants = variants.add(variant::Column::ProductId.in_subquery(ids));
        narrowed = true;
    }
    if let Some(pattern) = f.search.as_deref().and_then(contains_pattern) {
        let titled = product::Entity::find()
            .select_only()
            .column(product::Column::Id)
            .filter(product::Column::WorkspaceId.eq(ws))
            .filter(lower_like(product::Column::Title, &pattern))
            .into_query();
        variants = variants.add(
            Condition::any()
                .add(lower_like(variant::Column::Sku, &pattern))
                .add(variant::Column::ProductId.in_subquery(titled)),
        );
        narrowed = true;
    }
    if narrowed {
        let ids = variant::Entity::find()
            .select_only()
            .column(variant::Column::Id)
            .filter(variants)
            .into_query();
        cond = cond.add(C::VariantId.in_subquery(ids));
    }
    cond
}

/// One level joined with its SKU, product, brand and location, read in a single query.
#[derive(FromQueryResult)]
struct JoinedRow {
    id: i64,
    workspace_id: i64,
    variant_id: i64,
    location_id: i64,
    on_hand: i64,
    committed: i64,
    incoming: i64,
    safety_stock: i64,
    reorder_point: Option<i64>,
    lead_time_days: Option<i32>,
    version: i64,
    updated_at: chrono::DateTime<chrono::Utc>,
    sku: String,
    variant_title: String,
    condition: Option<String>,
    product_title: String,
    category: Option<String>,
    brand: Option<String>,
    location: String,
}

impl From<JoinedRow> for StockRow {
    fn from(r: JoinedRow) -> Self {
        StockRow {
            level: inventory_level::Model {
                id: r.id,
                workspace_id: r.workspace_id,
                variant_id: r.variant_id,
                location_id: r.location_id,
                on_hand: r.on_hand,
                committed: r.committed,
                incoming: r.incoming,
                safety_stock: r.safety_stock,
                reorder_point: r.reorder_point,
                lead_time_days: r.lead_time_days,
                version: r.version,
                updated_at: r.updated_at,
            },
            sku: r.sku,
            variant_title: r.variant_title,
            product_title: r.product_title,
            condition: r.condition,
            brand: r.brand,
            category: r.category,
            location: r.location,
        }
    }
}

/// Levels with everything a person needs to recognise them, in level id order. On SQLite the query runs on
/// a bulk reader (see `reader`); the statement is the same on both backends.
async fn joined(
    store: &Store,
    cond: Condition,
    limit: Option<u64>,
) -> Result<Vec<StockRow>, CatalogError> {
    let mut q = inventory_level::Entity::find()
        .filter(cond)
        .join(
            JoinType::InnerJoin,
            inventory_level::Relation::Variant.def(),
        )
        .join(JoinType::InnerJoin, variant::Relation::Product.def())
        .join(JoinType::LeftJoin, product::Relation::Brand.def())
        .join(
            JoinType::InnerJoin,
            inventory_level::Relation::Location.def(),
        )
        .column_as(variant::Column::Sku, "sku")
        .column_as(variant::Column::Title, "variant_title")
        .column_as(variant::Column::Condition, "condition")
        .column_as(product::Column::Title, "product_title")
        .column_as(product::Column::Category, "category")
        .column_as(brand::Column::Name, "brand")
        .column_as(location::Column::Name, "location")
        .order_by_asc(inventory_level::Column::Id);
    if let Some(limit) = limit {
        q = q.limit(limit);
    }
    let rows = match &store.readers {
        Some(readers) => readers.query(&q.into_query(), read_joined).await?,
        None => q.into_model::<JoinedRow>().all(store.db()).await?,
    };
    Ok(rows.into_iter().map(StockRow::from).collect())
}

/// Columns by position: the level's own in entity order, then the seven aliases in `joined`'s order
/// (looking them up by name costs more than the rest of the row). The bulk-reader test compares every
/// field with the pool's result.
fn read_joined(row: &rusqlite::Row<'_>) -> rusqlite::Result<JoinedRow> {
    Ok(JoinedRow {
        id: row.get(0)?,
        workspace_id: row.get(1)?,
        variant_id: row.get(2)?,
        location_id: row.get(3)?,
        on_hand: row.get(4)?,
        committed: row.get(5)?,
        incoming: row.get(6)?,
        safety_stock: row.get(7)?,
        reorder_point: row.get(8)?,
        lead_time_days: row.get(9)?,
        version: row.get(10)?,
        updated_at: crate::reader::timestamp(row, 11)?,
        sku: row.get(12)?,
        variant_title: row.get(13)?,
        condition: row.get(14)?,
        product_title: row.get(15)?,
        category: row.get(16)?,
        brand: row.get(17)?,
        location: row.get(18)?,
    })
}

/// Stock levels matching the filter, in level id order.
pub async fn list_stock(
    store: &Store,
    ws: i64,
    filter: &StockFilter,
    page: &PageArgs,
) -> Result<Page<StockRow>, CatalogError> {
    let mut cond = stock_condition(ws, filter);
    if let Some(after) = &page.after {
        let [id] = decode_cursor(after, STOCK_TAG)?;
        cond = cond.add(inventory_level::Column::Id.gt(id));
    }
    let first = page_size(page);
    let rows = joined(store, cond, Some(first + 1)).await?;
    Ok(into_page(rows, first, |r| {
        encode_cursor(STOCK_TAG, &[r.level.id])
    }))
}

/// Every level of a workspace (for exports), in SKU order.
pub async fn all_stock(store: &Store, ws: i64) -> Result<Vec<StockRow>, CatalogError> {
    let mut rows = joined(
        store,
        Condition::all().add(inventory_level::Column::WorkspaceId.eq(ws)),
        None,
    )
    .await?;
    rows.sort_by(|a, b| a.sku.cmp(&b.sku).then(a.location.cmp(&b.location)));
    Ok(rows)
}

/// Ledger entries of one SKU (optionally one location), newest first.
pub async fn ledger(
    db: &impl ConnectionTrait,
    ws: i64,
    sku: &str,
    location_name: Option<&str>,
    page: &PageArgs,
) -> Result<Page<(inventory_ledger::Model, String)>, CatalogError> {
    use inventory_ledger::Column as L;
    let Some(v) = variant::Entity::find()
        .filter(variant::Column::WorkspaceId.eq(ws))
        .filter(variant::Column::Sku.eq(sku))
        .one(db)
        .await?
    else {
        return Ok(Page {
            items: Vec::new(),
            has_next_page: false,
        });
    };
    let locations: HashMap<i64, String> = location::Entity::find()
        .filter(location::Column::WorkspaceId.eq(ws))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l.name))
        .collect();
    let mut cond = Condition::all()
        .add(L::WorkspaceId.eq(ws))
        .add(L::VariantId.eq(v.id));
    if let Some(name) = location_name {
        let ids: Vec<i64> = locations
            .iter()
            .filter(|(_, n)| n.as_str() == name)
            .map(|(id, _)| *id)
            .collect();
        cond = cond.add(L::LocationId.is_in(ids));
    }
    if let Some(after) = &page.after {
        let [id] = decode_cursor(after, LEDGER_TAG)?;
        cond = cond.add(L::Id.lt(id));
    }
    let first = page_size(page);
    let rows = inventory_ledger::Entity::find()
        .filter(cond)
        .order_by_desc(L::Id)
        .limit(first + 1)
        .all(db)
        .await?
        .into_iter()
        .map(|e| {
            let name = locations.get(&e.location_id).cloned().unwrap_or_default();
            (e, name)
        })
        .collect();
    Ok(into_page(rows, first, |(e, _)| {
        encode_cursor(LEDGER_TAG, &[e.id])
    }))
}

#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub kind: Option<String>,
    /// Only alerts not resolved yet.
    pub active: bool,
}

/// Alert events, newest first.
pub async fn alerts(
    db: &impl ConnectionTrait,
    ws: i64,
    filter: &AlertFilter,
    page: &PageArgs,
) -> Result<Page<alert_event::Model>, CatalogError> {
    use alert_event::Column as A;
    let mut cond = Condition::all().add(A::WorkspaceId.eq(ws));
    if let Some(kind) = &filter.kind {
        cond = cond.add(A::Kind.eq(kind.as_str()));
    }
    if filter.active {
        cond = cond.add(A::ResolvedAt.is_null());
    }
    if let Some(after) = &page.after {
        let [id] = decode_cursor(after, ALERT_TAG)?;
        cond = cond.add(A::Id.lt(id));
    }
    let first = page_size(page);
    let rows = alert_event::Entity::find()
        .filter(cond)
        .order_by_desc(A::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(into_page(rows, first, |a| {
        encode_cursor(ALERT_TAG, &[a.id])
    }))
}
