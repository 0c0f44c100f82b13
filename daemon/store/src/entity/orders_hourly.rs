//! `orders_hourly`: order counts and order-level money per workspace × quarter hour (UTC) of placement ×
//! connection × currency. Quarter hours, because every zone in use is offset from UTC by a multiple of 15
//! minutes, so local hours and days are exact unions of buckets. Cancelled orders add to `orders` and
//! `cancelled_orders` only: every money column is about the orders that count.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders_hourly")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workspace_id: i64,
    /// Start of the quarter hour (UTC).
    pub hour: DateTimeUtc,
    pub connection_id: i64,
    #[sea_orm(column_type = "String(StringLen::N(3))")]
    pub currency: String,
    pub orders: i64,
    pub cancelled_orders: i64,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub shipping_charged_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub fees_minor: i64,
    pub refunded_minor: i64,
    /// Orders (not cancelled) handed to the carrier, and delivered.
    pub fulfilled_orders: i64,
    pub delivered_orders: i64,
    /// Orders (not cancelled) with money refunded.
    pub refunded_orders: i64,
    /// Sum over fulfilled orders of seconds from placement to fulfilment; over delivered ones, to delivery.
    pub ship_secs: i64,
    pub deliver_secs: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
