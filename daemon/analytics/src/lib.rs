//! Read-only analytics: one definition per metric, readers of the rollups the write path keeps, and the
//! customer, product, timing and marketing analyses built on compact aggregates.

pub mod customers;
pub mod products;
pub mod query;
pub mod timing;

pub use query::{AnalyticsError, Compare, Filters, Granularity, Period, Scope};
