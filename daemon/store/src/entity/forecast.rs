//! `forecasts`: the latest forecast of one series (a workspace's net sales in a currency, or a SKU's
//! units), with the model its backtest chose, that model's errors, the stock plan for SKUs, and the data
//! version it came from. Model estimates, not booked money: points are decimals in a JSON array.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "forecasts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workspace_id: i64,
    /// `net_sales` or `units`.
    pub metric: String,
    /// The SKU, or empty for the whole workspace.
    pub subject: String,
    /// Currency of a money series; empty for units.
    pub currency: String,
    pub model: String,
    pub smape: Option<f64>,
    pub mase: Option<f64>,
    pub coverage80: Option<f64>,
    pub coverage95: Option<f64>,
    /// Local day of the first point.
    pub first_day: Date,
    /// `[[point, lower80, upper80, lower95, upper95], …]`, one per day, in the series' unit.
    #[sea_orm(column_type = "Text")]
    pub points: String,
    pub available: Option<i64>,
    pub stockout_day: Option<Date>,
    pub days_of_cover: Option<f64>,
    pub safety_stock: Option<f64>,
    pub reorder_point: Option<f64>,
    pub reorder_quantity: Option<i64>,
    pub data_version: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
