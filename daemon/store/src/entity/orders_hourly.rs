//! `orders_hourly`: order counts and order-level money per workspace × UTC hour × connection × currency.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders_hourly")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workspace_id: i64,
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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
