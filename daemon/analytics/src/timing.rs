//! Timing analytics.
