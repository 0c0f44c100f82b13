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
pub mod sync;
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

/// Whether `err` is lock contention: another writer held the database past the busy timeout (SQLite
/// `SQLITE_BUSY`/`SQLITE_LOCKED`), a PostgreSQL lock or serialization conflict, or no pooled connection became
/// free in time. Such a failure changed nothing and the same request can simply be retried.
pub fn is_busy(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as SqlxError;
    let (DbErr::Conn(RuntimeErr::SqlxError(e))
    | DbErr::Exec(RuntimeErr::SqlxError(e))
    | DbErr::Query(RuntimeErr::SqlxError(e))) = err
    else {
        return matches!(err, DbErr::ConnectionAcquire(_));
    };
    match e.as_ref() {
        SqlxError::PoolTimedOut => true,
        SqlxError::Database(db) => match db.code() {
            // SQLite result codes: the primary code is the low byte (BUSY = 5, LOCKED = 6).
            Some(code) if code.parse::<i64>().is_ok_and(|c| matches!(c & 0xff, 5 | 6)) => true,
            // PostgreSQL: serialization failure, deadlock, lock not available, lock timeout (query canceled
            // by `lock_timeout` reports 55P03).
            Some(code) => matches!(code.as_ref(), "40001" | "40P01" | "55P03"),
            None => false,
        },
        _ => false,
    }
}
