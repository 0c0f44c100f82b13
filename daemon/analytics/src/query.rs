//! The vocabulary every analytics question shares: a half-open UTC period, a bucket size, the zone buckets are
//! cut in, filters and an optional comparison period.

use chrono::{DateTime, Datelike, Duration, Months, Utc};
use creatorflow_core::{ConnectionId, Timezone, WorkspaceId};

/// `[from, to)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Period {
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Self, AnalyticsError> {
        if to <= from {
            return Err(AnalyticsError::invalid(
                "to",
                "must be later than `from` (the period is [from, to))",
            ));
        }
        Ok(Self { from, to })
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from <= t && t < self.to
    }

    /// The period a comparison is made against.
    pub fn compared(&self, compare: Compare) -> Option<Period> {
        match compare {
            Compare::PreviousPeriod => {
                let len = self.to - self.from;
                Some(Period {
                    from: self.from - len,
                    to: self.from,
                })
            }
            Compare::PreviousYear => Some(Period {
                from: self.from.checked_sub_months(Months::new(12))?,
                to: self.to.checked_sub_months(Months::new(12))?,
            }),
        }
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days()
    }

    /// Same length, ending where this one starts.
    pub fn before(&self, len: Duration) -> Period {
        Period {
            from: self.from - len,
            to: self.from,
        }
    }

    pub fn year(&self) -> i32 {
        self.from.year()
    }
}

/// Bucket size of a series; buckets are cut at local midnight / local week start (Monday) / local month start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    Hour,
    Day,
    Week,
    Month,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    PreviousPeriod,
    /// The same dates one year earlier.
    PreviousYear,
}

/// Narrows the rows a question looks at. Empty lists mean "all".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub connections: Vec<ConnectionId>,
    /// Channel kinds (`tiktok_shop`, `shopify`, `manual`, …).
    pub channels: Vec<String>,
    pub skus: Vec<String>,
    pub brands: Vec<String>,
    pub categories: Vec<String>,
    /// Condition grades of resale items (`S`, `A`, `B`, …).
    pub conditions: Vec<String>,
    pub campaigns: Vec<String>,
    pub content_items: Vec<String>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        *self == Filters::default()
    }
}

/// One analytics question.
#[derive(Debug, Clone)]
pub struct Scope {
    pub workspace: WorkspaceId,
    pub period: Period,
    pub granularity: Granularity,
    /// The workspace zone unless the query overrides it.
    pub zone: Timezone,
    pub filters: Filters,
    pub compare: Option<Compare>,
}

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("{0}")]
    Internal(String),
}

impl AnalyticsError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
