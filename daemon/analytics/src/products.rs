//! Products analytics.
