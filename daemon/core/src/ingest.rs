//! The events every write enters through: connectors, webhooks, CSV imports and GraphQL mutations all produce
//! an [`IngestEvent`]; the ingest pipeline validates, deduplicates and applies it in one transaction.

use crate::id::{ConnectionId, WorkspaceId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Where an event came from; part of its deduplication key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Source {
    /// A marketplace connection (sync page or webhook).
    Connection(ConnectionId),
    /// A person through GraphQL.
    Manual,
    /// A CSV import.
    Csv,
}

impl Source {
    /// The stable text stored with ledger entries and dedupe keys.
    pub fn key(&self) -> String {
        match self {
            Source::Connection(id) => format!("connection:{id}"),
            Source::Manual => "manual".into(),
            Source::Csv => "csv".into(),
        }
    }
}

/// One change to apply. `source_event_id` makes redelivery harmless: the same (workspace, source, id) is
/// applied at most once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestEvent {
    pub workspace_id: WorkspaceId,
    pub source: Source,
    pub source_event_id: String,
    /// Who caused it: `token:<id>`, `connection:<id>`, `cli`.
    pub actor: String,
    /// When it happened at the source (ledger time); defaults to receipt time when the source has none.
    pub occurred_at: DateTime<Utc>,
    pub payload: Payload,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Payload {
    ProductUpserted(ProductUpsert),
    OrderUpserted(OrderUpsert),
    OrderStatusChanged(OrderStatusChange),
    RefundRecorded(RefundRecord),
    ShipmentRecorded(ShipmentRecord),
    InventorySet(InventorySet),
    InventoryAdjusted(InventoryAdjust),
    InventoryTransferred(InventoryTransfer),
    InventoryPolicySet(InventoryPolicy),
    AdSpendRecorded(AdSpend),
    ContentMetricsRecorded(ContentMetrics),
    FunnelEventRecorded(FunnelEvent),
}

impl Payload {
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::ProductUpserted(_) => "product_upserted",
            Payload::OrderUpserted(_) => "order_upserted",
            Payload::OrderStatusChanged(_) => "order_status_changed",
            Payload::RefundRecorded(_) => "refund_recorded",
            Payload::ShipmentRecorded(_) => "shipment_recorded",
            Payload::InventorySet(_) => "inventory_set",
            Payload::InventoryAdjusted(_) => "inventory_adjusted",
            Payload::InventoryTransferred(_) => "inventory_transferred",
            Payload::InventoryPolicySet(_) => "inventory_policy_set",
            Payload::AdSpendRecorded(_) => "ad_spend_recorded",
            Payload::ContentMetricsRecorded(_) => "content_metrics_recorded",
            Payload::FunnelEventRecorded(_) => "funnel_event_recorded",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductUpsert {
    /// The product's id at the source; `None` for manual products keyed by their first SKU.
    pub external_id: Option<String>,
    pub title: String,
    pub brand: Option<String>,
    pub category: Option<String>,
    /// active, draft or archived.
    pub status: String,
    pub variants: Vec<VariantUpsert>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantUpsert {
    pub sku: String,
    pub external_id: Option<String>,
    pub title: String,
    /// Resale grade (S/A/B…) or new/used.
    pub condition: Option<String>,
    pub barcode: Option<String>,
    pub currency: String,
    pub price_minor: i64,
    pub unit_cost_minor: Option<i64>,
}

/// Where an order stands. Marketplace statuses map onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed, not paid yet.
    Pending,
    Paid,
    /// Handed to the carrier (shipped).
    Fulfilled,
    Delivered,
    Cancelled,
    /// Fully refunded after payment.
    Refunded,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 6] = [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::Fulfilled,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Fulfilled => "fulfilled",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderUpsert {
    pub external_id: String,
    pub status: OrderStatus,
    pub currency: String,
    pub placed_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// The source's last-modified time; an update older than what is stored is ignored.
    pub updated_at: DateTime<Utc>,
    pub customer: Option<CustomerRef>,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub shipping_charged_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub fees_minor: i64,
    /// Stock location the order ships from; the workspace's default location when `None`.
    pub location: Option<String>,
    pub lines: Vec<OrderLineIn>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerRef {
    pub external_id: String,
    /// Hashed before storage; used to match the same buyer across channels.
    pub email: Option<String>,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLineIn {
    pub external_id: Option<String>,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub discount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderStatusChange {
    pub external_id: String,
    pub status: OrderStatus,
    /// When the transition happened.
    pub at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundRecord {
    pub order_external_id: String,
    pub external_id: Option<String>,
    /// `return` (items come back) or `refund` (money only).
    pub kind: String,
    pub amount_minor: i64,
    pub currency: String,
    pub reason: Option<String>,
    pub lines: Vec<ReturnLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnLine {
    pub sku: String,
    pub quantity: i64,
    /// Whether the item can be sold again; unsellable items are written off.
    pub sellable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipmentRecord {
    pub order_external_id: String,
    pub external_id: Option<String>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub status: String,
    pub cost_minor: i64,
    pub currency: String,
    pub shipped_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A stock count: sets on-hand to `on_hand`, recording the difference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventorySet {
    pub sku: String,
    pub location: Option<String>,
    pub on_hand: i64,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryAdjust {
    pub sku: String,
    pub location: Option<String>,
    pub delta: i64,
    /// Why (damaged, found, received…); required so the ledger explains every change.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryTransfer {
    pub sku: String,
    pub from_location: String,
    pub to_location: String,
    pub quantity: i64,
}

/// Reorder settings of one SKU at one location; `None` leaves a value unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryPolicy {
    pub sku: String,
    pub location: Option<String>,
    pub safety_stock: Option<i64>,
    pub reorder_point: Option<i64>,
    pub lead_time_days: Option<i32>,
    pub incoming: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdSpend {
    pub campaign_external_id: String,
    pub campaign_name: String,
    pub day: NaiveDate,
    pub spend_minor: i64,
    pub currency: String,
    pub impressions: i64,
    pub clicks: i64,
    pub conversions: i64,
    pub attributed_revenue_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentMetrics {
    pub content_external_id: String,
    /// video or live.
    pub kind: String,
    pub title: Option<String>,
    pub url: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub day: NaiveDate,
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub product_clicks: i64,
}

/// One step of the conversion funnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunnelEvent {
    pub external_id: Option<String>,
    /// video_view, product_view, add_to_cart, checkout, paid or fulfilled.
    pub stage: String,
    pub session_key: Option<String>,
    pub content_external_id: Option<String>,
    pub sku: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

pub const FUNNEL_STAGES: [&str; 6] = [
    "video_view",
    "product_view",
    "add_to_cart",
    "checkout",
    "paid",
    "fulfilled",
];
