//! Host-neutral data the daemon exchanges with plugins. These types do not change when a new WIT version
//! is added: each `bindings::vN` module converts its generated types into these, validating on the way, so
//! the rest of the daemon never sees wasmtime or WIT types.

use chrono::{DateTime, Utc};
use creatorflow_core::Money;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Orders,
    Products,
    Variants,
    Stock,
    Customers,
    Shipments,
    Refunds,
    AdSpend,
    ContentMetrics,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Unpaid,
    OnHold,
    AwaitingShipment,
    PartiallyShipped,
    AwaitingCollection,
    InTransit,
    Delivered,
    Completed,
    Cancelled,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    pub external_id: String,
    pub sku: String,
    pub product_id: Option<String>,
    pub variant_id: Option<String>,
    pub title: String,
    pub quantity: i64,
    pub unit_price: Money,
    pub discount: Money,
    pub tax: Money,
    pub condition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub external_id: String,
    pub status: OrderStatus,
    pub raw_status: String,
    pub customer_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub lines: Vec<OrderLine>,
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    pub tax: Money,
    pub fees: Money,
    pub total: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub external_id: String,
    pub title: String,
    pub status: String,
    pub vendor: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductVariant {
    pub external_id: String,
    pub product_id: String,
    pub sku: String,
    pub title: String,
    pub price: Money,
    pub cost: Option<Money>,
    pub condition: Option<String>,
    pub barcode: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockLevel {
    pub sku: String,
    pub location: Option<String>,
    /// May be negative when the channel oversold.
    pub available: i64,
    pub on_hand: Option<i64>,
    pub observed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub external_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub country: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipmentLine {
    pub sku: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    pub external_id: String,
    pub order_id: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub status: String,
    pub shipped_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub cost: Option<Money>,
    pub lines: Vec<ShipmentLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundLine {
    pub sku: String,
    pub quantity: i64,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    pub external_id: String,
    pub order_id: String,
    pub created_at: DateTime<Utc>,
    pub amount: Money,
    pub reason: Option<String>,
    pub restock: bool,
    pub lines: Vec<RefundLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdSpend {
    pub external_id: String,
    pub campaign_id: String,
    pub campaign_name: Option<String>,
    pub day: DateTime<Utc>,
    pub spend: Money,
    pub impressions: Option<u64>,
    pub clicks: Option<u64>,
    pub conversions: Option<u64>,
    pub attributed_revenue: Option<Money>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentKind {
    Video,
    Live,
    Post,
    Story,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentMetric {
    pub external_id: String,
    pub content_id: String,
    pub kind: ContentKind,
    pub observed_at: DateTime<Utc>,
    pub views: u64,
    pub likes: u64,
    pub comments: u64,
    pub shares: u64,
    pub avg_watch_seconds: Option<f64>,
    pub orders: Option<u64>,
    pub gmv: Option<Money>,
}

/// One validated record from a connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Order(Order),
    Product(Product),
    ProductVariant(ProductVariant),
    Stock(StockLevel),
    Customer(Customer),
    Shipment(Shipment),
    Refund(Refund),
    AdSpend(AdSpend),
    ContentMetric(ContentMetric),
}

/// A validated page: stored with its cursor in one transaction by the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub records: Vec<Record>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRequest {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookVerdict {
    Accepted,
    Rejected(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityRef {
    pub entity: Entity,
    pub external_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainChange {
    Upsert(Record),
    Deleted(EntityRef),
    Refetch(EntityRef),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    pub delivery_id: String,
    pub topic: String,
    pub changes: Vec<DomainChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryUpdate {
    pub sku: String,
    pub location: Option<String>,
    pub quantity: i64,
    pub expected_previous: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushOutcome {
    Applied(i64),
    Conflict(i64),
    NotFound,
    Rejected(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResult {
    pub sku: String,
    pub outcome: PushOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorInfo {
    pub id: String,
    pub version: String,
    pub entities: Vec<Entity>,
    pub webhook_topics: Vec<String>,
    pub hosts: Vec<String>,
    pub secrets: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Int64,
    Float64,
    Text,
    Boolean,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSpec {
    pub name: String,
    pub kind: ColumnType,
    pub required: bool,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Count,
    Ratio,
    Percent,
    Money,
    Seconds,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricInfo {
    pub id: String,
    pub version: String,
    pub name: String,
    pub description: String,
    pub unit: Unit,
    pub inputs: Vec<InputSpec>,
}

/// Every value of one input for the rows of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnData {
    Int64(Vec<i64>),
    Float64(Vec<f64>),
    Text(Vec<String>),
    Boolean(Vec<bool>),
}

impl ColumnData {
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Int64(v) => v.len(),
            ColumnData::Float64(v) => v.len(),
            ColumnData::Text(v) => v.len(),
            ColumnData::Boolean(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub data: ColumnData,
}

impl Column {
    pub fn new(name: impl Into<String>, data: ColumnData) -> Self {
        Self {
            name: name.into(),
            data,
        }
    }
}

/// Column-major rows for a metric: every column holds `rows` values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub rows: u32,
    pub columns: Vec<Column>,
}

impl Batch {
    /// Builds a batch; `rows` comes from the first column. Lengths are checked when the batch is sent.
    pub fn new(columns: Vec<Column>) -> Self {
        let rows = columns.first().map_or(0, |c| c.data.len());
        Self {
            rows: u32::try_from(rows).unwrap_or(u32::MAX),
            columns,
        }
    }

    /// Total values across columns: the unit of metric throughput.
    pub fn values(&self) -> usize {
        self.columns.iter().map(|c| c.data.len()).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scalar {
    Empty,
    Int64(i64),
    Float64(f64),
    Money(Money),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    pub value: Scalar,
    pub breakdown: Vec<(String, Scalar)>,
}

impl MetricValue {
    /// The breakdown entry labelled `label`.
    pub fn part(&self, label: &str) -> Option<&Scalar> {
        self.breakdown
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v)
    }
}

/// An error a plugin returned on purpose (as opposed to a trap or a limit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum ReportedError {
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("rate limited{}", .0.map(|ms| format!(", retry after {ms} ms")).unwrap_or_default())]
    RateLimited(Option<u64>),
    #[error("upstream error: {0}")]
    Upstream(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("{0}")]
    Internal(String),
}
