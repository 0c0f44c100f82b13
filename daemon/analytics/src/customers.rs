//! Customers analytics.
