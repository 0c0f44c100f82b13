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
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, RelationTrait,
};

/// Largest page any list query returns. Configuration refuses a larger `graphql.max_page_size`, so the
/// caller's own limit is always the one that applies; this is only a safety net under it.
pub const MAX_PAGE_SIZE: u64 = 10_000;

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
    let first = page_size(page);
    let rows = products_query(workspace_id, filter, page)?.all(db).await?;
    Ok(into_page(rows, first, |p| {
        encode_cursor(PRODUCT_TAG, &[p.id])
    }))
}

/// The query behind [`list_products`].
pub(crate) fn products_query(
    workspace_id: i64,
    filter: &ProductFilter,
    page: &PageArgs,
) -> Result<sea_orm::Select<product::Entity>, CatalogError> {
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
    Ok(product::Entity::find()
        .filter(cond)
        .order_by_asc(product::Column::Id)
        .limit(page_size(page) + 1))
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
    let first = page_size(page);
    let rows = orders_query(workspace_id, filter, page)?.all(db).await?;
    Ok(into_page(rows, first, |o| {
        // Full precision: a truncated timestamp would skip or repeat rows that share a millisecond.
        let at = o.placed_at;
        encode_cursor(
            ORDER_TAG,
            &[at.timestamp(), i64::from(at.timestamp_subsec_nanos()), o.id],
        )
    }))
}

/// How many orders match `filter` in the workspace (for a page's `totalCount`).
pub async fn count_orders(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    filter: &OrderFilter,
) -> Result<u64, CatalogError> {
    Ok(orders_query(workspace_id, filter, &PageArgs::default())?
        .limit(None)
        .count(db)
        .await?)
}

/// How many products match `filter` in the workspace.
pub async fn count_products(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    filter: &ProductFilter,
) -> Result<u64, CatalogError> {
    Ok(products_query(workspace_id, filter, &PageArgs::default())?
        .limit(None)
        .count(db)
        .await?)
}

/// How many customers match `filter` in the workspace.
pub async fn count_customers(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    filter: &CustomerFilter,
) -> Result<u64, CatalogError> {
    Ok(customers_query(workspace_id, filter, &PageArgs::default())?
        .limit(None)
        .count(db)
        .await?)
}

/// The query behind [`list_orders`] (one row more than the page, to tell whether another page follows).
pub(crate) fn orders_query(
    workspace_id: i64,
    filter: &OrderFilter,
    page: &PageArgs,
) -> Result<sea_orm::Select<order::Entity>, CatalogError> {
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
    Ok(order::Entity::find()
        .filter(cond)
        .order_by_desc(order::Column::PlacedAt)
        .order_by_desc(order::Column::Id)
        .limit(page_size(page) + 1))
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
    Ok(lines_query(workspace_id, order_ids).all(db).await?)
}

pub(crate) fn lines_query(
    workspace_id: i64,
    order_ids: &[i64],
) -> sea_orm::Select<order_line::Entity> {
    order_line::Entity::find()
        .filter(order_line::Column::WorkspaceId.eq(workspace_id))
        .filter(order_line::Column::OrderId.is_in(order_ids.iter().copied()))
        .order_by_asc(order_line::Column::OrderId)
        .order_by_asc(order_line::Column::Id)
}

/// Customers by lifetime spend, highest first, ties broken by id descending.
pub async fn list_customers(
    db: &impl ConnectionTrait,
    workspace_id: i64,
    filter: &CustomerFilter,
    page: &PageArgs,
) -> Result<Page<customer::Model>, CatalogError> {
    let first = page_size(page);
    let rows = customers_query(workspace_id, filter, page)?.all(db).await?;
    Ok(into_page(rows, first, |c| {
        encode_cursor(CUSTOMER_TAG, &[c.total_spent_minor, c.id])
    }))
}

/// The query behind [`list_customers`].
pub(crate) fn customers_query(
    workspace_id: i64,
    filter: &CustomerFilter,
    page: &PageArgs,
) -> Result<sea_orm::Select<customer::Entity>, CatalogError> {
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
    Ok(customer::Entity::find()
        .filter(cond)
        .order_by_desc(customer::Column::TotalSpentMinor)
        .order_by_desc(customer::Column::Id)
        .limit(page_size(page) + 1))
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

pub(crate) fn encode_cursor(tag: &str, parts: &[i64]) -> String {
    let mut raw = String::from(tag);
    for part in parts {
        raw.push(':');
        raw.push_str(&part.to_string());
    }
    URL_SAFE_NO_PAD.encode(raw)
}

pub(crate) fn decode_cursor<const N: usize>(
    cursor: &str,
    tag: &str,
) -> Result<[i64; N], CatalogError> {
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

pub(crate) fn page_size(page: &PageArgs) -> u64 {
    page.first.min(MAX_PAGE_SIZE)
}

/// Turns `first + 1` fetched rows into a page; the extra row only signals that more exist.
pub(crate) fn into_page<T>(mut rows: Vec<T>, first: u64, cursor: impl Fn(&T) -> String) -> Page<T> {
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
pub(crate) fn contains_pattern(search: &str) -> Option<String> {
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
pub(crate) fn lower_like(col: impl ColumnTrait, pattern: &str) -> Expr {
    // Scoped here: in module scope its blanket methods (`min`, `eq`, …) would shadow std and sea-orm ones.
    use sea_orm::sea_query::ExprTrait;
    let lowered: Expr = Func::lower(col.into_expr()).into();
    lowered.like(LikeExpr::new(pattern).escape('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::workspace;
    use crate::migration::test_support::{on_postgres, on_sqlite};
    use chrono::Duration;
    use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
    use std::collections::HashSet;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).expect("valid timestamp") // 2026-01-01T00:00:00Z
    }

    fn hours(h: i64) -> DateTime<Utc> {
        t0() + Duration::hours(h)
    }

    async fn add_workspace(db: &DatabaseConnection, slug: &str) -> i64 {
        workspace::ActiveModel {
            slug: Set(slug.into()),
            name: Set(slug.into()),
            timezone: Set("UTC".into()),
            currency: Set("USD".into()),
            created_at: Set(t0()),
            updated_at: Set(t0()),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("insert workspace")
        .id
    }

    async fn add_connection(db: &DatabaseConnection, ws: i64, kind: &str) -> i64 {
        connection::ActiveModel {
            workspace_id: Set(ws),
            kind: Set(kind.into()),
            name: Set(format!("{kind} shop")),
            external_shop_id: Set(Some(format!("{kind}-{ws}"))),
            status: Set("active".into()),
            credentials_ciphertext: Set(None),
            created_at: Set(t0()),
            updated_at: Set(t0()),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("insert connection")
        .id
    }

    async fn add_brand(db: &DatabaseConnection, ws: i64, name: &str) -> i64 {
        brand::ActiveModel {
            workspace_id: Set(ws),
            name: Set(name.into()),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("insert brand")
        .id
    }

    /// A product with one variant per SKU; returns the product id and the variant ids.
    async fn add_product(
        db: &DatabaseConnection,
        ws: i64,
        title: &str,
        brand: Option<i64>,
        category: Option<&str>,
        conn: Option<i64>,
        skus: &[&str],
    ) -> (i64, Vec<i64>) {
        let product = product::ActiveModel {
            workspace_id: Set(ws),
            connection_id: Set(conn),
            external_id: Set(None),
            title: Set(title.into()),
            brand_id: Set(brand),
            category: Set(category.map(Into::into)),
            status: Set("active".into()),
            created_at: Set(t0()),
            updated_at: Set(t0()),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("insert product");
        let mut variants = Vec::new();
        for sku in skus {
            let v = variant::ActiveModel {
                workspace_id: Set(ws),
                product_id: Set(product.id),
                connection_id: Set(None),
                external_id: Set(None),
                sku: Set((*sku).into()),
                title: Set(format!("{title} {sku}")),
                condition: Set(None),
                barcode: Set(None),
                currency: Set("USD".into()),
                price_minor: Set(1_000),
                unit_cost_minor: Set(None),
                created_at: Set(t0()),
                updated_at: Set(t0()),
                ..Default::default()
            }
            .insert(db)
            .await
            .expect("insert variant");
            variants.push(v.id);
        }
        (product.id, variants)
    }

    async fn add_customer(
        db: &DatabaseConnection,
        ws: i64,
        label: &str,
        name: Option<&str>,
        orders: i64,
        spent: i64,
        last_order: Option<DateTime<Utc>>,
    ) -> i64 {
        customer::ActiveModel {
            workspace_id: Set(ws),
            email_hash: Set(Some(label.into())),
            display_name: Set(name.map(Into::into)),
            first_order_at: Set(last_order),
            last_order_at: Set(last_order),
            orders_count: Set(orders),
            total_spent_minor: Set(spent),
            currency: Set("USD".into()),
            created_at: Set(t0()),
            updated_at: Set(t0()),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("insert customer")
        .id
    }

    struct NewOrder<'a> {
        label: &'a str,
        conn: i64,
        placed_at: DateTime<Utc>,
        status: &'a str,
        customer: Option<i64>,
        /// (sku, variant)
        lines: Vec<(&'a str, Option<i64>)>,
    }

    async fn add_order(db: &DatabaseConnection, ws: i64, o: NewOrder<'_>) -> i64 {
        let order = order::ActiveModel {
            workspace_id: Set(ws),
            connection_id: Set(o.conn),
            external_id: Set(o.label.into()),
            customer_id: Set(o.customer),
            status: Set(o.status.into()),
            currency: Set("USD".into()),
            subtotal_minor: Set(1_000),
            discount_minor: Set(0),
            shipping_charged_minor: Set(0),
            tax_minor: Set(0),
            total_minor: Set(1_000),
            fees_minor: Set(0),
            refunded_minor: Set(0),
            placed_at: Set(o.placed_at),
            paid_at: Set(None),
            fulfilled_at: Set(None),
            delivered_at: Set(None),
            cancelled_at: Set(None),
            source_updated_at: Set(None),
            stock_state: Set("none".into()),
            location_id: Set(None),
            created_at: Set(t0()),
            updated_at: Set(t0()),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("insert order");
        for (sku, variant_id) in o.lines {
            order_line::ActiveModel {
                workspace_id: Set(ws),
                order_id: Set(order.id),
                variant_id: Set(variant_id),
                external_id: Set(None),
                sku: Set(sku.into()),
                title: Set(sku.into()),
                quantity: Set(1),
                unit_price_minor: Set(1_000),
                discount_minor: Set(0),
                unit_cost_minor: Set(None),
                currency: Set("USD".into()),
                ..Default::default()
            }
            .insert(db)
            .await
            .expect("insert order line");
        }
        order.id
    }

    /// Follows `after` cursors to the end with pages of `first`, checking the page contract on the way.
    async fn walk<T>(
        first: u64,
        mut fetch: impl AsyncFnMut(PageArgs) -> Result<Page<T>, CatalogError>,
    ) -> Vec<T> {
        let mut after = None;
        let mut rows = Vec::new();
        for _ in 0..100 {
            let page = fetch(PageArgs { first, after }).await.expect("page");
            assert!(page.items.len() as u64 <= first, "page larger than first");
            if page.has_next_page {
                assert_eq!(page.items.len() as u64, first, "short page before the end");
            }
            after = page.items.last().map(|(cursor, _)| cursor.clone());
            rows.extend(page.items.into_iter().map(|(_, row)| row));
            if !page.has_next_page {
                return rows;
            }
        }
        panic!("pagination did not terminate");
    }

    async fn products(db: &DatabaseConnection, ws: i64, f: ProductFilter) -> Vec<String> {
        products_paged(db, ws, &f, 2).await
    }

    async fn products_paged(
        db: &DatabaseConnection,
        ws: i64,
        f: &ProductFilter,
        first: u64,
    ) -> Vec<String> {
        walk(first, async |p| list_products(db, ws, f, &p).await)
            .await
            .into_iter()
            .map(|p| p.title)
            .collect()
    }

    async fn orders(db: &DatabaseConnection, ws: i64, f: OrderFilter) -> Vec<String> {
        orders_paged(db, ws, &f, 2).await
    }

    async fn orders_paged(
        db: &DatabaseConnection,
        ws: i64,
        f: &OrderFilter,
        first: u64,
    ) -> Vec<String> {
        walk(first, async |p| list_orders(db, ws, f, &p).await)
            .await
            .into_iter()
            .map(|o| o.external_id)
            .collect()
    }

    async fn customers(db: &DatabaseConnection, ws: i64, f: CustomerFilter) -> Vec<String> {
        customers_paged(db, ws, &f, 2).await
    }

    async fn customers_paged(
        db: &DatabaseConnection,
        ws: i64,
        f: &CustomerFilter,
        first: u64,
    ) -> Vec<String> {
        walk(first, async |p| list_customers(db, ws, f, &p).await)
            .await
            .into_iter()
            .filter_map(|c| c.email_hash)
            .collect()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    async fn catalog_queries(db: DatabaseConnection) {
        let db = &db;
        let a = add_workspace(db, "a").await;
        let b = add_workspace(db, "b").await;
        let tt = add_connection(db, a, "tiktok_shop").await;
        let sh = add_connection(db, a, "shopify").await;
        let b_tt = add_connection(db, b, "tiktok_shop").await;
        let acme = add_brand(db, a, "Acme").await;
        let zeta = add_brand(db, a, "Zeta").await;
        // Same brand name in the other workspace: name filters must not cross over.
        let b_acme = add_brand(db, b, "Acme").await;

        let apparel = Some("apparel");
        let (p1, v1) = add_product(
            db,
            a,
            "Red Shirt",
            Some(acme),
            apparel,
            Some(tt),
            &["RS-S", "RS-M"],
        )
        .await;
        let (p2, v2) = add_product(
            db,
            a,
            "Blue Shirt",
            Some(acme),
            apparel,
            Some(sh),
            &["BS-1"],
        )
        .await;
        // Products of B interleave with A's so ids of one workspace are not contiguous.
        let (b_p1, b_v1) = add_product(
            db,
            b,
            "Red Shirt",
            Some(b_acme),
            apparel,
            Some(b_tt),
            &["RS-S"],
        )
        .await;
        let (_, v3) = add_product(
            db,
            a,
            "Green Hat",
            Some(zeta),
            Some("hats"),
            Some(tt),
            &["GH-1"],
        )
        .await;
        let (_, v4) = add_product(
            db,
            a,
            "Coffee Mug",
            None,
            Some("kitchen"),
            None,
            &["MUG-RED"],
        )
        .await;
        add_product(db, a, "Poster 100%", None, None, Some(sh), &["POS_1"]).await;
        let (_, v6) = add_product(
            db,
            a,
            "Wool Scarf",
            Some(zeta),
            apparel,
            Some(tt),
            &["WS-1"],
        )
        .await;
        let (_, b_v2) = add_product(db, b, "Green Hat", None, None, Some(b_tt), &["GH-1"]).await;
        let (_, v7) =
            add_product(db, a, "RED Socks", Some(acme), apparel, Some(tt), &["SO-1"]).await;

        let c1 = add_customer(db, a, "c1", Some("Alice Smith"), 3, 5_000, Some(hours(120))).await;
        let c2 = add_customer(db, a, "c2", Some("Bob Stone"), 1, 2_000, Some(hours(24))).await;
        let b_c1 = add_customer(db, b, "b1", Some("Alice B"), 9, 10_000, Some(hours(100))).await;
        let c3 = add_customer(db, a, "c3", Some("alice cooper"), 2, 5_000, Some(hours(72))).await;
        let c4 = add_customer(db, a, "c4", Some("Carol"), 5, 9_000, Some(hours(240))).await;
        add_customer(db, a, "c5", None, 0, 0, None).await;

        let ms = Duration::milliseconds;
        let order = |label, conn, placed_at, status, customer, lines| NewOrder {
            label,
            conn,
            placed_at,
            status,
            customer,
            lines,
        };
        let o = [
            order(
                "A1",
                tt,
                hours(1),
                "paid",
                Some(c1),
                vec![("RS-S", Some(v1[0]))],
            ),
            order(
                "A2",
                sh,
                hours(2),
                "fulfilled",
                Some(c2),
                vec![("BS-1", Some(v2[0]))],
            ),
            order(
                "A3",
                tt,
                hours(3),
                "paid",
                Some(c3),
                vec![("GH-1", Some(v3[0]))],
            ),
            order(
                "A4",
                tt,
                hours(3),
                "cancelled",
                None,
                vec![("RS-M", Some(v1[1])), ("GH-1", Some(v3[0]))],
            ),
            order(
                "A5",
                sh,
                hours(5) + ms(250),
                "paid",
                Some(c4),
                vec![("MUG-RED", Some(v4[0]))],
            ),
            order(
                "A6",
                tt,
                hours(5) + ms(250),
                "delivered",
                Some(c4),
                vec![("WS-1", Some(v6[0]))],
            ),
            order(
                "A7",
                tt,
                hours(24),
                "refunded",
                Some(c1),
                vec![("SO-1", Some(v7[0]))],
            ),
            order("A8", sh, hours(48), "paid", None, vec![("GONE-1", None)]),
            order(
                "A9",
                tt,
                hours(72),
                "pending",
                Some(c4),
                vec![("RS-S", Some(v1[0])), ("SO-1", Some(v7[0]))],
            ),
            order("A10", tt, hours(72) + ms(1), "paid", Some(c3), vec![]),
        ];
        let mut ids = std::collections::HashMap::new();
        for (i, new) in o.into_iter().enumerate() {
            let label = new.label;
            ids.insert(label, add_order(db, a, new).await);
            if i == 2 {
                let b1 = order(
                    "B1",
                    b_tt,
                    hours(2),
                    "paid",
                    Some(b_c1),
                    vec![("RS-S", Some(b_v1[0]))],
                );
                ids.insert("B1", add_order(db, b, b1).await);
                let b2 = order(
                    "B2",
                    b_tt,
                    hours(3),
                    "paid",
                    None,
                    vec![("GH-1", Some(b_v2[0]))],
                );
                ids.insert("B2", add_order(db, b, b2).await);
            }
        }
        let id = |label: &str| ids[label];

        // --- products ---
        let all_a = s(&[
            "Red Shirt",
            "Blue Shirt",
            "Green Hat",
            "Coffee Mug",
            "Poster 100%",
            "Wool Scarf",
            "RED Socks",
        ]);
        for first in 1..=8 {
            let got = products_paged(db, a, &ProductFilter::default(), first).await;
            assert_eq!(got, all_a, "products, pages of {first}");
        }
        let walked = walk(3, async |p| {
            list_products(db, a, &ProductFilter::default(), &p).await
        })
        .await;
        let walked_ids: Vec<i64> = walked.iter().map(|p| p.id).collect();
        let mut sorted = walked_ids.clone();
        sorted.sort_unstable();
        assert_eq!(walked_ids, sorted, "products in id order");
        assert_eq!(walked_ids.iter().collect::<HashSet<_>>().len(), 7);
        assert!(walked.iter().all(|p| p.workspace_id == a));

        let search = |q: &str| ProductFilter {
            search: Some(q.into()),
            ..Default::default()
        };
        assert_eq!(
            products(db, a, search("red")).await,
            s(&["Red Shirt", "Coffee Mug", "RED Socks"]),
            "title or SKU, any case"
        );
        assert_eq!(products(db, a, search("rs-m")).await, s(&["Red Shirt"]));
        assert_eq!(
            products(db, a, search("  SHIRT ")).await,
            s(&["Red Shirt", "Blue Shirt"])
        );
        assert_eq!(products(db, a, search("100%")).await, s(&["Poster 100%"]));
        assert_eq!(
            products(db, a, search("_")).await,
            s(&["Poster 100%"]),
            "wildcards are literal"
        );
        assert_eq!(products(db, a, search("%")).await, s(&["Poster 100%"]));
        assert_eq!(products(db, a, search("nothing")).await, s(&[]));
        assert_eq!(
            products(db, a, search("")).await,
            all_a,
            "blank search is no filter"
        );
        let brand_is = |name: &str| ProductFilter {
            brand: Some(name.into()),
            ..Default::default()
        };
        assert_eq!(
            products(db, a, brand_is("Acme")).await,
            s(&["Red Shirt", "Blue Shirt", "RED Socks"])
        );
        assert_eq!(
            products(db, a, brand_is("Zeta")).await,
            s(&["Green Hat", "Wool Scarf"])
        );
        assert_eq!(products(db, a, brand_is("Nope")).await, s(&[]));
        assert_eq!(
            products(
                db,
                a,
                ProductFilter {
                    category: Some("apparel".into()),
                    ..Default::default()
                }
            )
            .await,
            s(&["Red Shirt", "Blue Shirt", "Wool Scarf", "RED Socks"])
        );
        assert_eq!(
            products(
                db,
                a,
                ProductFilter {
                    connection_id: Some(tt),
                    ..Default::default()
                }
            )
            .await,
            s(&["Red Shirt", "Green Hat", "Wool Scarf", "RED Socks"])
        );
        assert_eq!(
            products(
                db,
                a,
                ProductFilter {
                    search: Some("s".into()),
                    brand: Some("Acme".into()),
                    category: Some("apparel".into()),
                    connection_id: Some(tt),
                }
            )
            .await,
            s(&["Red Shirt", "RED Socks"])
        );
        assert_eq!(products(db, b, search("red")).await, s(&["Red Shirt"]));
        assert_eq!(products(db, b, brand_is("Zeta")).await, s(&[]));
        assert_eq!(
            products(
                db,
                a,
                ProductFilter {
                    connection_id: Some(b_tt),
                    ..Default::default()
                }
            )
            .await,
            s(&[])
        );

        assert_eq!(
            get_product(db, a, p1).await.expect("get").map(|p| p.id),
            Some(p1)
        );
        assert_eq!(get_product(db, a, b_p1).await.expect("get"), None);
        assert_eq!(get_product(db, b, p1).await.expect("get"), None);
        assert_eq!(get_product(db, a, i64::MAX).await.expect("get"), None);

        let variants = variants_of_products(db, a, &[p2, p1, b_p1])
            .await
            .expect("variants");
        let skus: Vec<_> = variants
            .iter()
            .map(|v| (v.product_id, v.sku.as_str()))
            .collect();
        assert_eq!(skus, vec![(p1, "RS-S"), (p1, "RS-M"), (p2, "BS-1")]);
        assert!(
            variants_of_products(db, a, &[])
                .await
                .expect("variants")
                .is_empty()
        );
        assert!(
            variants_of_products(db, b, &[p1])
                .await
                .expect("variants")
                .is_empty()
        );

        let brands = brands_by_ids(db, a, &[zeta, b_acme, acme])
            .await
            .expect("brands");
        assert_eq!(
            brands.iter().map(|b| b.id).collect::<Vec<_>>(),
            vec![acme, zeta]
        );
        assert!(brands_by_ids(db, a, &[]).await.expect("brands").is_empty());

        // --- orders ---
        let all_orders = s(&["A10", "A9", "A8", "A7", "A6", "A5", "A4", "A3", "A2", "A1"]);
        for first in 1..=11 {
            let got = orders_paged(db, a, &OrderFilter::default(), first).await;
            assert_eq!(got, all_orders, "orders, pages of {first}");
        }
        let page = list_orders(
            db,
            a,
            &OrderFilter::default(),
            &PageArgs {
                first: 0,
                after: None,
            },
        )
        .await
        .expect("empty page");
        assert!(page.items.is_empty() && page.has_next_page);

        assert_eq!(
            orders(
                db,
                a,
                OrderFilter {
                    placed_from: Some(hours(3)),
                    placed_to: Some(hours(48)),
                    ..Default::default()
                }
            )
            .await,
            s(&["A7", "A6", "A5", "A4", "A3"]),
            "from is inclusive, to is exclusive"
        );
        assert_eq!(
            orders(
                db,
                a,
                OrderFilter {
                    placed_from: Some(hours(5) + ms(250)),
                    placed_to: Some(hours(72) + ms(1)),
                    ..Default::default()
                }
            )
            .await,
            s(&["A9", "A8", "A7", "A6", "A5"]),
            "sub-second bounds"
        );
        let channel = |kind: &str| OrderFilter {
            channel: Some(kind.into()),
            ..Default::default()
        };
        assert_eq!(
            orders(db, a, channel("shopify")).await,
            s(&["A8", "A5", "A2"])
        );
        assert_eq!(
            orders(db, a, channel("tiktok_shop")).await,
            s(&["A10", "A9", "A7", "A6", "A4", "A3", "A1"])
        );
        assert_eq!(orders(db, a, channel("etsy")).await, s(&[]));
        assert_eq!(
            orders(
                db,
                a,
                OrderFilter {
                    connection_id: Some(sh),
                    ..Default::default()
                }
            )
            .await,
            s(&["A8", "A5", "A2"])
        );
        assert_eq!(
            orders(
                db,
                a,
                OrderFilter {
                    connection_id: Some(b_tt),
                    ..Default::default()
                }
            )
            .await,
            s(&[])
        );
        assert_eq!(
            orders(
                db,
                a,
                OrderFilter {
                    status: Some("paid".into()),
                    ..Default::default()
                }
            )
            .await,
            s(&["A10", "A8", "A5", "A3", "A1"])
        );
        let sku = |sku: &str| OrderFilter {
            sku: Some(sku.into()),
            ..Default::default()
        };
        assert_eq!(orders(db, a, sku("RS-S")).await, s(&["A9", "A1"]));
        assert_eq!(orders(db, a, sku("GH-1")).await, s(&["A4", "A3"]));
        assert_eq!(orders(db, a, sku("GONE-1")).await, s(&["A8"]));
        assert_eq!(
            orders(db, a, sku("rs-s")).await,
            s(&[]),
            "SKUs match exactly"
        );
        let brand = |name: &str| OrderFilter {
            brand: Some(name.into()),
            ..Default::default()
        };
        assert_eq!(
            orders(db, a, brand("Acme")).await,
            s(&["A9", "A7", "A4", "A2", "A1"]),
            "an order with two matching lines appears once"
        );
        assert_eq!(orders(db, a, brand("Zeta")).await, s(&["A6", "A4", "A3"]));
        assert_eq!(orders(db, a, brand("Nope")).await, s(&[]));
        assert_eq!(
            orders(
                db,
                a,
                OrderFilter {
                    customer_id: Some(c4),
                    ..Default::default()
                }
            )
            .await,
            s(&["A9", "A6", "A5"])
        );
        assert_eq!(
            orders(
                db,
                a,
                OrderFilter {
                    channel: Some("tiktok_shop".into()),
                    status: Some("paid".into()),
                    placed_from: Some(hours(2)),
                    ..Default::default()
                }
            )
            .await,
            s(&["A10", "A3"])
        );
        assert_eq!(
            orders(
                db,
                a,
                OrderFilter {
                    brand: Some("Acme".into()),
                    placed_to: Some(hours(24)),
                    ..Default::default()
                }
            )
            .await,
            s(&["A4", "A2", "A1"])
        );
        assert_eq!(
            orders(db, b, OrderFilter::default()).await,
            s(&["B2", "B1"])
        );
        assert_eq!(orders(db, b, sku("RS-S")).await, s(&["B1"]));
        assert_eq!(orders(db, b, brand("Acme")).await, s(&["B1"]));
        assert_eq!(orders(db, b, channel("shopify")).await, s(&[]));

        let got = get_order(db, a, id("A5"))
            .await
            .expect("get")
            .map(|o| o.external_id);
        assert_eq!(got.as_deref(), Some("A5"));
        assert_eq!(get_order(db, a, id("B1")).await.expect("get"), None);
        assert_eq!(get_order(db, b, id("A1")).await.expect("get"), None);
        assert!(get_order(db, b, id("B1")).await.expect("get").is_some());

        let lines = lines_of_orders(db, a, &[id("A9"), id("B1"), id("A4")])
            .await
            .expect("lines");
        let got: Vec<_> = lines.iter().map(|l| (l.order_id, l.sku.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (id("A4"), "RS-M"),
                (id("A4"), "GH-1"),
                (id("A9"), "RS-S"),
                (id("A9"), "SO-1")
            ]
        );
        assert!(lines_of_orders(db, a, &[]).await.expect("lines").is_empty());

        // --- customers ---
        let all_customers = s(&["c4", "c3", "c1", "c2", "c5"]);
        for first in 1..=6 {
            let got = customers_paged(db, a, &CustomerFilter::default(), first).await;
            assert_eq!(got, all_customers, "customers, pages of {first}");
        }
        assert_eq!(
            customers(
                db,
                a,
                CustomerFilter {
                    search: Some("ALICE".into()),
                    ..Default::default()
                }
            )
            .await,
            s(&["c3", "c1"])
        );
        assert_eq!(
            customers(
                db,
                a,
                CustomerFilter {
                    min_orders: Some(2),
                    ..Default::default()
                }
            )
            .await,
            s(&["c4", "c3", "c1"])
        );
        assert_eq!(
            customers(
                db,
                a,
                CustomerFilter {
                    last_order_from: Some(hours(72)),
                    last_order_to: Some(hours(240)),
                    ..Default::default()
                }
            )
            .await,
            s(&["c3", "c1"])
        );
        assert_eq!(
            customers(
                db,
                b,
                CustomerFilter {
                    search: Some("alice".into()),
                    ..Default::default()
                }
            )
            .await,
            s(&["b1"])
        );
        assert!(get_customer(db, a, c2).await.expect("get").is_some());
        assert_eq!(get_customer(db, a, b_c1).await.expect("get"), None);

        // --- connections ---
        let conns = list_connections(db, a).await.expect("connections");
        assert_eq!(conns.iter().map(|c| c.id).collect::<Vec<_>>(), vec![tt, sh]);
        let conns = list_connections(db, b).await.expect("connections");
        assert_eq!(conns.iter().map(|c| c.id).collect::<Vec<_>>(), vec![b_tt]);
        assert!(get_connection(db, a, sh).await.expect("get").is_some());
        assert_eq!(get_connection(db, a, b_tt).await.expect("get"), None);
        let conns = connections_by_ids(db, a, &[b_tt, sh, tt])
            .await
            .expect("connections");
        assert_eq!(conns.iter().map(|c| c.id).collect::<Vec<_>>(), vec![tt, sh]);
        assert!(
            connections_by_ids(db, a, &[])
                .await
                .expect("connections")
                .is_empty()
        );

        // --- cursors ---
        let order_cursor = list_orders(
            db,
            a,
            &OrderFilter::default(),
            &PageArgs {
                first: 1,
                after: None,
            },
        )
        .await
        .expect("page")
        .items
        .remove(0)
        .0;
        let product_cursor = list_products(
            db,
            a,
            &ProductFilter::default(),
            &PageArgs {
                first: 1,
                after: None,
            },
        )
        .await
        .expect("page")
        .items
        .remove(0)
        .0;
        let raw = |s: &str| URL_SAFE_NO_PAD.encode(s);
        let garbage = [
            String::new(),
            "garbage!!".into(),
            "%%%".into(),
            "x".repeat(10_000),
            URL_SAFE_NO_PAD.encode([0xff, 0xfe, 0x00]),
            raw("o"),
            raw("o:1:2"),
            raw("o:1:2:3:4"),
            raw("o:a:0:1"),
            raw("o:1:1000000000:1"),
            raw("o:1:-1:1"),
            raw("o:9223372036854775807:0:1"),
            raw("o:1:0:99999999999999999999"),
            raw("p:1"),
            product_cursor.clone(),
        ];
        for cursor in &garbage {
            let args = PageArgs {
                first: 2,
                after: Some(cursor.clone()),
            };
            let res = list_orders(db, a, &OrderFilter::default(), &args).await;
            assert!(
                matches!(res, Err(CatalogError::InvalidCursor)),
                "orders accepted {cursor:?}"
            );
        }
        for cursor in [
            order_cursor.clone(),
            raw("p:"),
            raw("p:1:2"),
            raw("c:1:1"),
            "garbage".into(),
        ] {
            let args = PageArgs {
                first: 2,
                after: Some(cursor.clone()),
            };
            let res = list_products(db, a, &ProductFilter::default(), &args).await;
            assert!(
                matches!(res, Err(CatalogError::InvalidCursor)),
                "products accepted {cursor:?}"
            );
        }
        for cursor in [order_cursor, product_cursor, raw("c:x:1"), "garbage".into()] {
            let args = PageArgs {
                first: 2,
                after: Some(cursor.clone()),
            };
            let res = list_customers(db, a, &CustomerFilter::default(), &args).await;
            assert!(
                matches!(res, Err(CatalogError::InvalidCursor)),
                "customers accepted {cursor:?}"
            );
        }
    }

    #[tokio::test]
    async fn catalog_queries_on_sqlite() {
        on_sqlite(catalog_queries).await;
    }

    #[tokio::test]
    async fn catalog_queries_on_postgres() {
        on_postgres(catalog_queries).await;
    }

    #[test]
    fn cursors_round_trip() {
        let c = encode_cursor(ORDER_TAG, &[-5, 999_999_999, i64::MAX]);
        assert!(
            c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(
            decode_cursor::<3>(&c, ORDER_TAG).expect("decodes"),
            [-5, 999_999_999, i64::MAX]
        );
        assert!(decode_cursor::<3>(&c, PRODUCT_TAG).is_err());
        assert!(decode_cursor::<2>(&c, ORDER_TAG).is_err());
    }

    #[test]
    fn search_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("  "), None);
        assert_eq!(contains_pattern(" Ab ").as_deref(), Some("%ab%"));
        assert_eq!(contains_pattern(r"5%_\").as_deref(), Some(r"%5\%\_\\%"));
    }
}

/// The planner's choices for the list queries: a page of one workspace must be found through an index on
/// that workspace, never by walking the whole table (SQLite; PostgreSQL decides from its own statistics).
#[cfg(test)]
mod plans {
    use super::*;
    use crate::migration::test_support::on_sqlite;
    use sea_orm::{DatabaseConnection, DbBackend, QueryTrait, Statement};

    async fn plan(db: &DatabaseConnection, stmt: sea_orm::Statement) -> Vec<String> {
        let explain = Statement::from_sql_and_values(
            DbBackend::Sqlite,
            format!("EXPLAIN QUERY PLAN {}", stmt.sql),
            stmt.values.map(|v| v.0).unwrap_or_default(),
        );
        db.query_all_raw(explain)
            .await
            .expect("explain")
            .iter()
            .map(|row| row.try_get::<String>("", "detail").expect("detail"))
            .collect()
    }

    /// Every step that reads `table` searches an index (or the rowid) instead of scanning.
    fn assert_searches(plan: &[String], table: &str, index: Option<&str>) {
        let steps: Vec<_> = plan
            .iter()
            .filter(|d| d.split_whitespace().nth(1) == Some(table))
            .collect();
        assert!(!steps.is_empty(), "{table} not in {plan:?}");
        for step in &steps {
            assert!(step.starts_with("SEARCH"), "{table} is scanned: {plan:?}");
        }
        if let Some(index) = index {
            assert!(
                steps.iter().any(|s| s.contains(index)),
                "{table} not read through {index}: {plan:?}"
            );
        }
    }

    fn page() -> PageArgs {
        PageArgs {
            first: 50,
            after: None,
        }
    }

    #[tokio::test]
    async fn list_queries_search_an_index_of_the_workspace() {
        on_sqlite(|db| async move {
            crate::Store::optimize_connection(&db).await;
            let b = DbBackend::Sqlite;
            let lines = lines_query(1, &[10, 11, 12]).build(b);
            assert_searches(
                &plan(&db, lines).await,
                "order_lines",
                Some("idx_order_lines_workspace_order"),
            );
            let by_customer = OrderFilter {
                customer_id: Some(7),
                ..OrderFilter::default()
            };
            let q = orders_query(1, &by_customer, &page())
                .expect("query")
                .build(b);
            assert_searches(
                &plan(&db, q).await,
                "orders",
                Some("idx_orders_workspace_customer_placed"),
            );
            for filter in [
                OrderFilter::default(),
                OrderFilter {
                    status: Some("paid".into()),
                    ..OrderFilter::default()
                },
                OrderFilter {
                    sku: Some("SKU-1".into()),
                    ..OrderFilter::default()
                },
                OrderFilter {
                    placed_from: DateTime::from_timestamp(0, 0),
                    connection_id: Some(3),
                    ..OrderFilter::default()
                },
            ] {
                let q = orders_query(1, &filter, &page()).expect("query").build(b);
                assert_searches(&plan(&db, q).await, "orders", None);
            }
            let q = customers_query(1, &CustomerFilter::default(), &page())
                .expect("query")
                .build(b);
            assert_searches(&plan(&db, q).await, "customers", None);
            let q = products_query(1, &ProductFilter::default(), &page())
                .expect("query")
                .build(b);
            assert_searches(&plan(&db, q).await, "products", None);
        })
        .await;
    }
}
