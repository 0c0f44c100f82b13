//! `sales_hourly`: units and line revenue per workspace × quarter hour (UTC) of the order's placement ×
//! connection × SKU × currency, maintained by the write path and rebuildable from orders.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sales_hourly")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workspace_id: i64,
    /// Start of the quarter hour (UTC).
    pub hour: DateTimeUtc,
    pub connection_id: i64,
    pub sku: String,
    pub variant_id: Option<i64>,
    #[sea_orm(column_type = "String(StringLen::N(3))")]
    pub currency: String,
    pub units: i64,
    pub gross_minor: i64,
    pub discount_minor: i64,
    pub cogs_minor: i64,
    pub returned_units: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
