//! Creator analytics, read-only: the metrics dictionary ([`dictionary`]) and the queries the API, exports
//! and jobs ask — KPIs with series and comparisons, the dashboard, customers, timing, products. Sales totals
//! come from the rollups the write path keeps; customer analyses from a per-workspace book of compact facts
//! cached by data version (the workspace's newest ingest event), so a write invalidates exactly its
//! workspace's cache.

pub mod book;
pub mod customers;
pub mod dictionary;
pub mod forecasts;
pub mod insights;
pub mod kpi;
pub mod marketing;
pub mod period;
pub mod products;
pub mod timing;
pub mod totals;

use book::CustomerBook;
use chrono_tz::Tz;
use creatorflow_store::entity::ingest_event;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use dictionary::{METRICS, Metric, Unit, Value};
pub use period::{Comparison, Granularity, Period};

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// A parameter is out of range; `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("storage: {0}")]
    Db(#[from] DbErr),
}

impl AnalyticsError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AnalyticsError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What a query is narrowed to. Sales metrics honour connections and the product filters (brand, category,
/// SKU, condition); ad metrics honour connections and campaigns; content analyses honour content items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filters {
    pub connections: Vec<i64>,
    pub brands: Vec<i64>,
    pub categories: Vec<String>,
    pub skus: Vec<String>,
    pub conditions: Vec<String>,
    pub campaigns: Vec<i64>,
    pub content_items: Vec<i64>,
}

impl Filters {
    pub fn has_product_filter(&self) -> bool {
        !(self.brands.is_empty()
            && self.categories.is_empty()
            && self.skus.is_empty()
            && self.conditions.is_empty())
    }
}

/// One analytics question: a workspace, a period of local days in a zone, a granularity, filters and an
/// optional comparison.
#[derive(Debug, Clone)]
pub struct Query {
    pub workspace_id: i64,
    pub period: Period,
    pub tz: Tz,
    pub granularity: Granularity,
    pub filters: Filters,
    pub compare: Option<Comparison>,
}

/// Customer books by workspace, each with the data version it was read at.
type Books = Arc<Mutex<HashMap<i64, (i64, Arc<CustomerBook>)>>>;
/// A lifetime-value fit and its predictions.
pub type Fitted = Arc<(customers::ClvFit, Vec<customers::Prediction>)>;
/// Fits by (workspace, currency, connections, as of), each with the data version it was made at.
type Fits = Arc<Mutex<HashMap<(i64, String, Vec<i64>, i64), (i64, Fitted)>>>;

/// The engine: a database handle and the cache of customer books.
#[derive(Clone)]
pub struct Analytics {
    db: DatabaseConnection,
    books: Books,
    fits: Fits,
}

impl Analytics {
    pub fn new(db: DatabaseConnection) -> Self {
        Analytics {
            db,
            books: Arc::default(),
            fits: Arc::default(),
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The workspace's data version: its newest ingest event, one index probe. Every accepted write records
    /// one, so a cached result older than this is stale.
    pub async fn data_version(&self, workspace_id: i64) -> Result<i64, AnalyticsError> {
        let newest = ingest_event::Entity::find()
            .select_only()
            .column(ingest_event::Column::Id)
            .filter(ingest_event::Column::WorkspaceId.eq(workspace_id))
            .order_by_desc(ingest_event::Column::Id)
            .limit(1)
            .into_tuple::<i64>()
            .one(&self.db)
            .await?;
        Ok(newest.unwrap_or(0))
    }

    /// The workspace's customer book, loaded again only when the data version moved.
    pub async fn book(&self, workspace_id: i64) -> Result<Arc<CustomerBook>, AnalyticsError> {
        let version = self.data_version(workspace_id).await?;
        if let Some((v, book)) = self.cached(workspace_id)
            && v == version
        {
            return Ok(book);
        }
        let book = Arc::new(CustomerBook::load(&self.db, workspace_id).await?);
        if let Ok(mut books) = self.books.lock() {
            books.insert(workspace_id, (version, book.clone()));
        }
        Ok(book)
    }

    /// The lifetime-value model fitted on the customers' histories before `at`, cached until the workspace's
    /// data changes; the fit runs on a blocking thread.
    pub async fn lifetime_values(
        &self,
        workspace_id: i64,
        currency: &str,
        connections: &[i64],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Fitted, AnalyticsError> {
        let version = self.data_version(workspace_id).await?;
        let key = (
            workspace_id,
            currency.to_owned(),
            connections.to_vec(),
            at.timestamp(),
        );
        if let Some((v, fit)) = self.fits.lock().ok().and_then(|f| f.get(&key).cloned())
            && v == version
        {
            return Ok(fit);
        }
        let book = self.book(workspace_id).await?;
        let (cur, conns) = (currency.to_owned(), connections.to_vec());
        let fit = tokio::task::spawn_blocking(move || customers::predict(&book, &cur, &conns, at))
            .await
            .map_err(|e| AnalyticsError::invalid("lifetimeValue", e.to_string()))??;
        let fit: Fitted = Arc::new(fit);
        if let Ok(mut fits) = self.fits.lock() {
            fits.insert(key, (version, fit.clone()));
        }
        Ok(fit)
    }

    fn cached(&self, workspace_id: i64) -> Option<(i64, Arc<CustomerBook>)> {
        self.books.lock().ok()?.get(&workspace_id).cloned()
    }
}
