//! Integration tests of the plugin host, run against real components built from `plugins/` (templates,
//! first-party metrics and hostile fixtures). One binary, one shared harness.

mod common;

mod breaker;
mod cache;
mod fetch;
mod hostile;
mod metrics;
mod registry;
