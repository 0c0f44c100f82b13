//! The one table of stable error codes. Every error the API returns maps to exactly one of these; clients
//! match on the code, people read the hint. Codes never change meaning once released.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    InvalidCursor,
    Conflict,
    Rejected,
    PluginRejected,
    PluginFailed,
    CsrfRefused,
    QueryTooDeep,
    QueryTooComplex,
    GraphqlParseFailed,
    GraphqlValidationFailed,
    Unavailable,
    Busy,
    SubscriptionLagged,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 18] = [
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::BadUserInput,
        ErrorCode::InvalidCursor,
        ErrorCode::Conflict,
        ErrorCode::Rejected,
        ErrorCode::PluginRejected,
        ErrorCode::PluginFailed,
        ErrorCode::CsrfRefused,
        ErrorCode::QueryTooDeep,
        ErrorCode::QueryTooComplex,
        ErrorCode::GraphqlParseFailed,
        ErrorCode::GraphqlValidationFailed,
        ErrorCode::Unavailable,
        ErrorCode::Busy,
        ErrorCode::SubscriptionLagged,
        ErrorCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::InvalidCursor => "INVALID_CURSOR",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::Rejected => "REJECTED",
            ErrorCode::PluginRejected => "PLUGIN_REJECTED",
            ErrorCode::PluginFailed => "PLUGIN_FAILED",
            ErrorCode::CsrfRefused => "CSRF_REFUSED",
            ErrorCode::QueryTooDeep => "QUERY_TOO_DEEP",
            ErrorCode::QueryTooComplex => "QUERY_TOO_COMPLEX",
            ErrorCode::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            ErrorCode::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Busy => "BUSY",
            ErrorCode::SubscriptionLagged => "SUBSCRIPTION_LAGGED",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// What the caller can do about it.
    pub fn hint(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => {
                "Send `Authorization: Bearer <token>`; create a token with `creatorflow token create`, or use the one in <data-dir>/admin.token."
            }
            ErrorCode::Forbidden => {
                "The token's role or workspaces do not allow this; ask an admin for a token with the right role and workspace."
            }
            ErrorCode::NotFound => {
                "No such object in the workspaces this token can see; check the id or slug."
            }
            ErrorCode::BadUserInput => {
                "An argument is invalid; the message names it and what is expected."
            }
            ErrorCode::InvalidCursor => {
                "Pass back a cursor exactly as returned by `pageInfo.endCursor`, with the same filters."
            }
            ErrorCode::Conflict => {
                "The object already exists or changed meanwhile; read it again and retry."
            }
            ErrorCode::Rejected => {
                "A rule of the workspace or of the data refused the change (e.g. stock below zero); nothing was changed."
            }
            ErrorCode::PluginRejected => {
                "The plugin package was refused before anything ran (manifest, sha256, API version or grant); the message says which check failed."
            }
            ErrorCode::PluginFailed => {
                "The plugin's call failed; `extensions.pluginError` names the cause (limit, trap, invalid output, breaker open). Nothing was written; see the plugin's breaker in `plugins`."
            }
            ErrorCode::CsrfRefused => {
                "Send mutations with POST and `Content-Type: application/json`."
            }
            ErrorCode::QueryTooDeep => {
                "Nest fewer selections, or raise `graphql.max_depth` in the daemon's configuration."
            }
            ErrorCode::QueryTooComplex => {
                "Select fewer fields or smaller pages, or raise `graphql.max_complexity` in the daemon's configuration."
            }
            ErrorCode::GraphqlParseFailed => {
                "The document is not valid GraphQL syntax; see the location in the message."
            }
            ErrorCode::GraphqlValidationFailed => {
                "The document does not match the schema; see `schema/schema.graphql`."
            }
            ErrorCode::Unavailable => "The daemon is starting or shutting down; retry shortly.",
            ErrorCode::Busy => {
                "Another writer (e.g. an import) held the database; nothing was changed. Retry in a moment; a retry with the same idempotency key is never applied twice."
            }
            ErrorCode::SubscriptionLagged => {
                "The subscription fell too far behind and events were dropped; re-read the current state, then subscribe again."
            }
            ErrorCode::Internal => {
                "An unexpected failure; the daemon's log has details under the request id."
            }
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_match_serde() {
        let mut seen = HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {c}");
            let json = serde_json_like(c);
            assert_eq!(json, c.as_str());
            assert!(!c.hint().is_empty());
        }
    }

    fn serde_json_like(c: ErrorCode) -> String {
        // The serde name must equal the stable string, so logs and GraphQL agree.
        format!("{c:?}")
            .chars()
            .enumerate()
            .flat_map(|(i, ch)| {
                let sep = (i > 0 && ch.is_ascii_uppercase()).then_some('_');
                sep.into_iter()
                    .chain(std::iter::once(ch.to_ascii_uppercase()))
            })
            .collect()
    }
}
