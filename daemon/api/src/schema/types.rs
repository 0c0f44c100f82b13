//! Shared GraphQL value types and pagination plumbing.

use crate::error::gql_error;
use async_graphql::connection::{Connection as RelayConnection, Edge};
use async_graphql::{Context, Result, SimpleObject};
use creatorflow_core::{Currency, ErrorCode};
use creatorflow_store::catalog::{Page, PageArgs};
use rust_decimal::Decimal;

/// Page-size limits from the daemon's configuration.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    pub default: u64,
    pub max: u64,
}

/// Validates `first` against the configured limits; a request above the maximum is an error, not silently cut.
/// The page size a list field's complexity assumes when `first` is not given: `graphql.default_page_size`.
/// The engine calls complexity functions without access to schema data, so the value set at schema build
/// is kept here.
static UNSPECIFIED_FIRST: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(50);

pub(crate) fn set_unspecified_first(n: u64) {
    UNSPECIFIED_FIRST.store(
        usize::try_from(n).unwrap_or(usize::MAX),
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// `first` as a list field's complexity counts it.
pub(crate) fn first_for_complexity(first: Option<i32>) -> usize {
    match first {
        Some(n) => usize::try_from(n.max(0)).unwrap_or(0),
        None => UNSPECIFIED_FIRST.load(std::sync::atomic::Ordering::Relaxed),
    }
}

pub fn page_args(ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> Result<PageArgs> {
    let limits = ctx.data::<PageLimits>()?;
    let first = match first {
        None => limits.default,
        Some(n) if n < 0 => {
            return Err(gql_error(
                ErrorCode::BadUserInput,
                "`first` cannot be negative",
            ));
        }
        Some(n) if n as u64 > limits.max => {
            return Err(gql_error(
                ErrorCode::BadUserInput,
                format!("`first` is at most {} (graphql.max_page_size)", limits.max),
            ));
        }
        Some(n) => n as u64,
    };
    Ok(PageArgs { first, after })
}

/// An exact amount of money; `amount` is a decimal string, never a float.
#[derive(SimpleObject, Clone, Debug)]
pub struct Money {
    pub amount: Decimal,
    pub currency: String,
}

impl Money {
    pub fn from_minor(minor: i64, currency: &str) -> Self {
        let exponent = Currency::parse(currency).map(|c| c.exponent()).unwrap_or(2);
        Money {
            amount: Decimal::new(minor, u32::from(exponent)),
            currency: currency.to_owned(),
        }
    }
}

/// Parses a GraphQL ID that must be one of our numeric row ids.
pub fn row_id(id: &async_graphql::ID) -> Result<i64> {
    id.parse::<i64>().map_err(|_| {
        gql_error(
            ErrorCode::BadUserInput,
            format!("`{}` is not a valid id", id.as_str()),
        )
    })
}

/// A store page as a Relay connection; `had_cursor` tells whether earlier pages exist.
pub fn relay<T, U: async_graphql::OutputType>(
    page: Page<T>,
    had_cursor: bool,
    wrap: impl Fn(T) -> U,
) -> RelayConnection<String, U> {
    let mut conn = RelayConnection::new(had_cursor, page.has_next_page);
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|(cursor, row)| Edge::new(cursor, wrap(row))),
    );
    conn
}

/// [`relay`] with extra connection fields (e.g. `totalCount`).
pub fn relay_with<T, U: async_graphql::OutputType, F: async_graphql::ObjectType>(
    page: Page<T>,
    had_cursor: bool,
    wrap: impl Fn(T) -> U,
    fields: F,
) -> RelayConnection<String, U, F> {
    let mut conn = RelayConnection::with_additional_fields(had_cursor, page.has_next_page, fields);
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|(cursor, row)| Edge::new(cursor, wrap(row))),
    );
    conn
}
