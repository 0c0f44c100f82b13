//! Storage: sea-orm entities and migrations for SQLite and PostgreSQL, and the repositories the rest of the
//! daemon uses. Only this crate knows table and column names.

pub mod bulk;
pub mod catalog;
pub mod crypto;
mod db;
pub mod entity;
pub mod metric_inputs;
pub mod migration;
mod reader;
pub mod stock;
mod tokens;
mod workspaces;

pub use crypto::{CredentialCipher, CryptoError};
pub use db::{Backend, DbOptions, Store, Synchronous};
pub use tokens::{NewToken, TokenInfo, TokenScope};
pub use workspaces::{NewConnection, NewWorkspace};

pub use sea_orm::{DatabaseConnection, DbErr};

/// Failures of the repositories, typed so the API can map each to a stable error code.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

impl StoreError {
    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        StoreError::NotFound { what: what.into() }
    }
}

/// Maps a unique-constraint violation to `Conflict` with a message a user can act on; other errors pass through.
pub(crate) fn conflict_or(err: DbErr, message: impl FnOnce() -> String) -> StoreError {
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict(message()),
        _ => StoreError::Db(err),
    }
}
