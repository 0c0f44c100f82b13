//! End-to-end tests: every test drives the real daemon process through its public interfaces.

mod analytics;
mod audit;
mod bounds;
mod busy;
mod config_cli;
mod crash;
mod foundation;
mod fuzz_corpus;
mod harness;
mod import_orders;
mod limits;
mod pages;
mod plugins;
mod roles;
mod scoping;
mod shopify;
mod stock;
mod subscriptions;
mod surface;
mod sync;
mod websocket;
