//! Typed identifiers: a `WorkspaceId` can never be passed where an `OrderId` is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(v: i64) -> Self {
                Self(v)
            }
        }
    };
}

row_id!(
    /// A creator's business or an agency client; every domain row belongs to exactly one.
    WorkspaceId
);
row_id!(
    /// An API token row (never the secret itself).
    TokenId
);
row_id!(
    /// A link between a workspace and one shop on one channel.
    ConnectionId
);
row_id!(ProductId);
row_id!(VariantId);
row_id!(OrderId);
row_id!(CustomerId);

/// A workspace slug: lower-case ASCII letters, digits and `-`, 1–63 characters, starting with a letter or digit.
/// Checked once at the edge so the rest of the code can use it in URLs and file names without escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

/// Why a slug was refused, phrased for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("a slug cannot be empty")]
    Empty,
    #[error("a slug has at most 63 characters, found {0}")]
    TooLong(usize),
    #[error("a slug must start with a lower-case letter or digit, found {0:?}")]
    BadStart(char),
    #[error("a slug may only contain lower-case letters, digits and '-', found {0:?}")]
    BadChar(char),
}

impl Slug {
    pub fn parse(s: &str) -> Result<Self, SlugError> {
        let first = s.chars().next().ok_or(SlugError::Empty)?;
        if s.len() > 63 {
            return Err(SlugError::TooLong(s.len()));
        }
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(SlugError::BadStart(first));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(SlugError::BadChar(c));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = SlugError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Slug> for String {
    fn from(s: Slug) -> Self {
        s.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_checked() {
        assert!(Slug::parse("shop-1").is_ok());
        assert_eq!(Slug::parse(""), Err(SlugError::Empty));
        assert_eq!(Slug::parse("-a"), Err(SlugError::BadStart('-')));
        assert_eq!(Slug::parse("Shop"), Err(SlugError::BadStart('S')));
        assert_eq!(Slug::parse("a b"), Err(SlugError::BadChar(' ')));
        assert_eq!(Slug::parse(&"a".repeat(64)), Err(SlugError::TooLong(64)));
    }
}
