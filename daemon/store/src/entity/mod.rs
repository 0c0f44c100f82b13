//! sea-orm entities, one module per table. They mirror `crate::migration` column for column.

pub mod ad_campaign;
pub mod ad_spend_daily;
pub mod alert_event;
pub mod alert_rule;
pub mod api_token;
pub mod api_token_workspace;
pub mod brand;
pub mod connection;
pub mod content_item;
pub mod content_metrics_daily;
pub mod customer;
pub mod customer_identity;
pub mod forecast;
pub mod funnel_event;
pub mod ingest_event;
pub mod inventory_ledger;
pub mod inventory_level;
pub mod location;
pub mod maintenance_task;
pub mod order;
pub mod order_line;
pub mod orders_hourly;
pub mod plugin;
pub mod plugin_grant;
pub mod product;
pub mod refund;
pub mod refund_line;
pub mod sales_hourly;
pub mod shipment;
pub mod sync_cursor;
pub mod sync_run;
pub mod variant;
pub mod webhook_delivery;
pub mod workspace;
pub mod workspace_setting;

#[cfg(test)]
mod tests;
