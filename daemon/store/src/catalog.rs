//! Read queries behind the GraphQL API.
//!
//! Every function is scoped to one workspace, including inside subqueries, so a row of another workspace can
//! never leak through a filter. Lists use keyset pagination: a cursor names the last row seen, which keeps
//! pages stable while rows are inserted and costs the same on page 1000 as on page 1.

use crate::entity::{brand, connection, customer, order, order_line, product, variant};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, RelationTrait,
};

/// Safety net under the caller's own clamp: `first + 1` must fit the drivers' signed LIMIT.
const MAX_PAGE_SIZE: u64 = 10_000;

/// Longer input cannot be one of our cursors; rejecting it early bounds the work done on hostile input.
const MAX_CURSOR_LEN: usize = 128;

#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    /// Page size, already clamped by the caller.
    pub first: u64,
    /// Cursor of the last row of the previous page.
    pub after: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    /// Rows with the opaque cursor that resumes right after each of them.
    pub items: Vec<(String, T)>,
    pub has_next_page: bool,
}

#[derive(thiserror::Error, Debug)]
pub enum CatalogError {
    #[error("invalid cursor")]
    InvalidCursor,
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    /// Case-insensitive substring of the title or of any variant's SKU.
    pub search: Option<String>,
    /// Exact brand name.
    pub brand: Option<String>,
    pub category: Option<String>,
    pub connection_id: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// Inclusive.
    pub placed_from: Option<DateTime<Utc>>,
    /// Exclusive, so consecutive ranges never count an order twice.
    pub placed_to: Option<DateTime<Utc>>,
    pub connection_id: Option<i64>,
    /// A connection kind such as `tiktok_shop`.
    pub channel: Option<String>,
    pub status: Option<String>,
    /// Orders with at least one line of this SKU.
    pub sku: Option<String>,
    /// Orders with at least one line whose variant's product has this brand name.
    pub brand: Option<String>,
    pub customer_id: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// Case-insensitive substring of the display name.
    pub search: Option<String>,
    pub min_orders: Option<i64>,
    /// Inclusive.
    pub last_order_from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub last_order_to: Option<DateTime<Utc>>,
}

/// Products ordered by id.
pub async fn list_products(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    filter: &ProductFilter,
    page: &PageArgs,
) -> Result<Page<product::Model>, CatalogError> {
    let mut cond = Condition::all().add(product::Column::WorkspaceId.eq(workspace_id));
    if let Some(pattern) = filter.search.as_deref().and_then(contains_pattern) {
        let by_sku = variant::Entity::find()
            .select_only()
            .column(variant::Column::ProductId)
            .filter(variant::Column::WorkspaceId.eq(workspace_id))
            .filter(lower_like(variant::Column::Sku, &pattern))
            .into_query();
        cond = cond.add(
            Condition::any()
                .add(lower_like(product::Column::Title, &pattern))
                .add(product::Column::Id.in_subquery(by_sku)),
        );
    }
    if let Some(name) = &filter.brand {
        let brands = brand::Entity::find()
            .select_only()
            .column(brand::Column::Id)
            .filter(brand::Column::WorkspaceId.eq(workspace_id))
            .filter(brand::Column::Name.eq(name.as_str()))
            .into_query();
        cond = cond.add(product::Column::BrandId.in_subquery(brands));
    }
    if let Some(category) = &filter.category {
        cond = cond.add(product::Column::Category.eq(category.as_str()));
    }
    if let Some(connection_id) = filter.connection_id {
        cond = cond.add(product::Column::ConnectionId.eq(connection_id));
    }
    if let Some(after) = &page.after {
        let [id] = decode_cursor(after, PRODUCT_TAG)?;
        cond = cond.add(product::Column::Id.gt(id));
    }
    let first = page_size(page);
    let rows = product::Entity::find()
        .filter(cond)
        .order_by_asc(product::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(into_page(rows, first, |p| {
        encode_cursor(PRODUCT_TAG, &[p.id])
    }))
}

pub async fn get_product(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    id: i64,
) -> Result<Option<product::Model>, CatalogError> {
    Ok(product::Entity::find_by_id(id)
        .filter(product::Column::WorkspaceId.eq(workspace_id))
        .one(db)
        .await?)
}

/// Variants of many products in one query, ordered by product then id, for a dataloader.
pub async fn variants_of_products(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    product_ids: &[i64],
) -> Result<Vec<variant::Model>, CatalogError> {
    if product_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(variant::Entity::find()
        .filter(variant::Column::WorkspaceId.eq(workspace_id))
        .filter(variant::Column::ProductId.is_in(product_ids.iter().copied()))
        .order_by_asc(variant::Column::ProductId)
        .order_by_asc(variant::Column::Id)
        .all(db)
        .await?)
}

pub async fn brands_by_ids(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    ids: &[i64],
) -> Result<Vec<brand::Model>, CatalogError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(brand::Entity::find()
        .filter(brand::Column::WorkspaceId.eq(workspace_id))
        .filter(brand::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(brand::Column::Id)
        .all(db)
        .await?)
}

/// Orders newest first: by `placed_at` descending, ties broken by id descending.
pub async fn list_orders(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    filter: &OrderFilter,
    page: &PageArgs,
) -> Result<Page<order::Model>, CatalogError> {
    let mut cond = Condition::all().add(order::Column::WorkspaceId.eq(workspace_id));
    if let Some(from) = filter.placed_from {
        cond = cond.add(order::Column::PlacedAt.gte(from));
    }
    if let Some(to) = filter.placed_to {
        cond = cond.add(order::Column::PlacedAt.lt(to));
    }
    if let Some(connection_id) = filter.connection_id {
        cond = cond.add(order::Column::ConnectionId.eq(connection_id));
    }
    if let Some(kind) = &filter.channel {
        let connections = connection::Entity::find()
            .select_only()
            .column(connection::Column::Id)
            .filter(connection::Column::WorkspaceId.eq(workspace_id))
            .filter(connection::Column::Kind.eq(kind.as_str()))
            .into_query();
        cond = cond.add(order::Column::ConnectionId.in_subquery(connections));
    }
    if let Some(status) = &filter.status {
        cond = cond.add(order::Column::Status.eq(status.as_str()));
    }
    if let Some(sku) = &filter.sku {
        let orders = order_line::Entity::find()
            .select_only()
            .column(order_line::Column::OrderId)
            .filter(order_line::Column::WorkspaceId.eq(workspace_id))
            .filter(order_line::Column::Sku.eq(sku.as_str()))
            .into_query();
        cond = cond.add(order::Column::Id.in_subquery(orders));
    }
    if let Some(name) = &filter.brand {
        let orders = order_line::Entity::find()
            .select_only()
            .column(order_line::Column::OrderId)
            .join(JoinType::InnerJoin, order_line::Relation::Variant.def())
            .join(JoinType::InnerJoin, variant::Relation::Product.def())
            .join(JoinType::InnerJoin, product::Relation::Brand.def())
            .filter(order_line::Column::WorkspaceId.eq(workspace_id))
            .filter(brand::Column::WorkspaceId.eq(workspace_id))
            .filter(brand::Column::Name.eq(name.as_str()))
            .into_query();
        cond = cond.add(order::Column::Id.in_subquery(orders));
    }
    if let Some(customer_id) = filter.customer_id {
        cond = cond.add(order::Column::CustomerId.eq(customer_id));
    }
    if let Some(after) = &page.after {
        let [secs, nanos, id] = decode_cursor(after, ORDER_TAG)?;
        let placed_at = u32::try_from(nanos)
            .ok()
            .filter(|n| *n < 1_000_000_000)
            .and_then(|n| DateTime::from_timestamp(secs, n))
            .ok_or(CatalogError::InvalidCursor)?;
        cond = cond.add(
            Condition::any()
                .add(order::Column::PlacedAt.lt(placed_at))
                .add(
                    Condition::all()
                        .add(order::Column::PlacedAt.eq(placed_at))
                        .add(order::Column::Id.lt(id)),
                ),
        );
    }
    let first = page_size(page);
    let rows = order::Entity::find()
        .filter(cond)
        .order_by_desc(order::Column::PlacedAt)
        .order_by_desc(order::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(into_page(rows, first, |o| {
        // Full precision: a truncated timestamp would skip or repeat rows that share a millisecond.
        let at = o.placed_at;
        encode_cursor(
            ORDER_TAG,
            &[at.timestamp(), i64::from(at.timestamp_subsec_nanos()), o.id],
        )
    }))
}

pub async fn get_order(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    id: i64,
) -> Result<Option<order::Model>, CatalogError> {
    Ok(order::Entity::find_by_id(id)
        .filter(order::Column::WorkspaceId.eq(workspace_id))
        .one(db)
        .await?)
}

/// Lines of many orders in one query, ordered by order then id, for a dataloader.
pub async fn lines_of_orders(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    order_ids: &[i64],
) -> Result<Vec<order_line::Model>, CatalogError> {
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(order_line::Entity::find()
        .filter(order_line::Column::WorkspaceId.eq(workspace_id))
        .filter(order_line::Column::OrderId.is_in(order_ids.iter().copied()))
        .order_by_asc(order_line::Column::OrderId)
        .order_by_asc(order_line::Column::Id)
        .all(db)
        .await?)
}

/// Customers by lifetime spend, highest first, ties broken by id descending.
pub async fn list_customers(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    filter: &CustomerFilter,
    page: &PageArgs,
) -> Result<Page<customer::Model>, CatalogError> {
    let mut cond = Condition::all().add(customer::Column::WorkspaceId.eq(workspace_id));
    if let Some(pattern) = filter.search.as_deref().and_then(contains_pattern) {
        cond = cond.add(lower_like(customer::Column::DisplayName, &pattern));
    }
    if let Some(min) = filter.min_orders {
        cond = cond.add(customer::Column::OrdersCount.gte(min));
    }
    if let Some(from) = filter.last_order_from {
        cond = cond.add(customer::Column::LastOrderAt.gte(from));
    }
    if let Some(to) = filter.last_order_to {
        cond = cond.add(customer::Column::LastOrderAt.lt(to));
    }
    if let Some(after) = &page.after {
        let [spent, id] = decode_cursor(after, CUSTOMER_TAG)?;
        cond = cond.add(
            Condition::any()
                .add(customer::Column::TotalSpentMinor.lt(spent))
                .add(
                    Condition::all()
                        .add(customer::Column::TotalSpentMinor.eq(spent))
                        .add(customer::Column::Id.lt(id)),
                ),
        );
    }
    let first = page_size(page);
    let rows = customer::Entity::find()
        .filter(cond)
        .order_by_desc(customer::Column::TotalSpentMinor)
        .order_by_desc(customer::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(into_page(rows, first, |c| {
        encode_cursor(CUSTOMER_TAG, &[c.total_spent_minor, c.id])
    }))
}

pub async fn get_customer(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    id: i64,
) -> Result<Option<customer::Model>, CatalogError> {
    Ok(customer::Entity::find_by_id(id)
        .filter(customer::Column::WorkspaceId.eq(workspace_id))
        .one(db)
        .await?)
}

/// All connections of a workspace by id; a workspace has few, so no pagination.
pub async fn list_connections(
    db: &impl ConnectionTrait,
    workspace_id: i64,
) -> Result<Vec<connection::Model>, CatalogError> {
    Ok(connection::Entity::find()
        .filter(connection::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(connection::Column::Id)
        .all(db)
        .await?)
}

pub async fn get_connection(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    id: i64,
) -> Result<Option<connection::Model>, CatalogError> {
    Ok(connection::Entity::find_by_id(id)
        .filter(connection::Column::WorkspaceId.eq(workspace_id))
        .one(db)
        .await?)
}

pub async fn connections_by_ids(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    ids: &[i64],
) -> Result<Vec<connection::Model>, CatalogError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(connection::Entity::find()
        .filter(connection::Column::WorkspaceId.eq(workspace_id))
        .filter(connection::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(connection::Column::Id)
        .all(db)
        .await?)
}

// Each list has its own tag so a cursor of one list is rejected by another instead of misread.
const PRODUCT_TAG: &str = "p";
const ORDER_TAG: &str = "o";
const CUSTOMER_TAG: &str = "c";

fn encode_cursor(tag: &str, parts: &[i64]) -> String {
    let mut raw = String::from(tag);
    for part in parts {
        raw.push(':');
        raw.push_str(&part.to_string());
    }
    URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor<const N: usize>(cursor: &str, tag: &str) -> Result<[i64; N], CatalogError> {
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(CatalogError::InvalidCursor);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| CatalogError::InvalidCursor)?;
    let raw = String::from_utf8(bytes).map_err(|_| CatalogError::InvalidCursor)?;
    let mut fields = raw.split(':');
    if fields.next() != Some(tag) {
        return Err(CatalogError::InvalidCursor);
    }
    let mut out = [0i64; N];
    for slot in &mut out {
        *slot = fields
            .next()
            .and_then(|f| f.parse().ok())
            .ok_or(CatalogError::InvalidCursor)?;
    }
    if fields.next().is_some() {
        return Err(CatalogError::InvalidCursor);
    }
    Ok(out)
}

fn page_size(page: &PageArgs) -> u64 {
    page.first.min(MAX_PAGE_SIZE)
}

/// Turns `first + 1` fetched rows into a page; the extra row only signals that more exist.
fn into_page<T>(mut rows: Vec<T>, first: u64, cursor: impl Fn(&T) -> String) -> Page<T> {
    let keep = usize::try_from(first).unwrap_or(usize::MAX);
    let has_next_page = rows.len() > keep;
    rows.truncate(keep);
    Page {
        items: rows.into_iter().map(|row| (cursor(&row), row)).collect(),
        has_next_page,
    }
}

/// `%needle%` in lower case with LIKE wildcards escaped, so user input only ever matches literally.
/// `None` for blank input, which means "no filter".
fn contains_pattern(search: &str) -> Option<String> {
    let needle = search.trim();
    if needle.is_empty() {
        return None;
    }
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    Some(pattern)
}

/// `lower(col) LIKE pattern`: portable case-insensitive matching, since PostgreSQL's LIKE is case-sensitive
/// and ILIKE does not exist in SQLite. (SQLite's `lower` folds ASCII only.)
fn lower_like(col: impl ColumnTrait, pattern: &str) -> Expr {
    // Scoped here: in module scope its blanket methods (`min`, `eq`, …) would shadow std and sea-orm ones.
    use sea_orm::sea_query::ExprTrait;
    let lowered: Expr = Func::lower(col.into_expr()).into();
    lowered.like(LikeExpr::new(pattern).escape('\\'))
}
