//! Turns typed failures into GraphQL errors carrying a stable `extensions.code` and a hint.

use async_graphql::{Error, ErrorExtensions};
use creatorflow_core::ErrorCode;
use creatorflow_store::StoreError;
use creatorflow_store::catalog::CatalogError;

/// A GraphQL error with the code, its hint and a message specific to this failure.
pub fn gql_error(code: ErrorCode, message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, e| {
        e.set("code", code.as_str());
        e.set("hint", code.hint());
    })
}

pub fn internal(err: impl std::fmt::Display) -> Error {
    tracing::error!(error = %err, "Internal error while resolving a GraphQL field");
    gql_error(ErrorCode::Internal, "internal error")
}

pub fn from_store(err: StoreError) -> Error {
    match err {
        StoreError::NotFound { what } => {
            gql_error(ErrorCode::NotFound, format!("{what} not found"))
        }
        StoreError::Conflict(m) => gql_error(ErrorCode::Conflict, m),
        StoreError::Invalid(m) => gql_error(ErrorCode::BadUserInput, m),
        StoreError::Db(e) if creatorflow_store::is_busy(&e) => gql_error(
            ErrorCode::Busy,
            "the database is locked by another writer (e.g. an import); nothing was changed",
        ),
        other => internal(other),
    }
}

pub fn from_catalog(err: CatalogError) -> Error {
    match err {
        CatalogError::InvalidCursor => gql_error(ErrorCode::InvalidCursor, "invalid cursor"),
        other => internal(other),
    }
}

/// Codes for errors raised by the GraphQL engine itself (parsing, validation, limits), which carry none.
pub fn classify_engine_error(message: &str) -> ErrorCode {
    if message.contains("nested too deep") {
        ErrorCode::QueryTooDeep
    } else if message.contains("too complex") {
        ErrorCode::QueryTooComplex
    } else {
        ErrorCode::GraphqlValidationFailed
    }
}

pub fn from_ingest(err: creatorflow_ingest::IngestError) -> Error {
    use creatorflow_ingest::IngestError;
    match err {
        IngestError::Invalid { field, message } => {
            gql_error(ErrorCode::BadUserInput, format!("{field}: {message}"))
                .extend_with(|_, e| e.set("field", field))
        }
        IngestError::NotFound(m) => gql_error(ErrorCode::NotFound, m),
        IngestError::Rejected(m) => gql_error(ErrorCode::Rejected, m),
        e if e.is_busy() => gql_error(
            ErrorCode::Busy,
            "the database is locked by another writer (e.g. an import); nothing was changed",
        ),
        other => internal(other),
    }
}
