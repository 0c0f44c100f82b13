//! End-to-end tests: every test drives the real daemon process through its public interfaces.

mod audit;
mod config_cli;
mod foundation;
mod harness;
mod scoping;
mod subscriptions;
