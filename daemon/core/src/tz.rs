//! A workspace's IANA time zone: storage is UTC, and hour heatmaps and day buckets are computed in this zone.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timezone(chrono_tz::Tz);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown time zone {0:?}; expected an IANA name such as UTC, America/New_York or Asia/Bangkok"
)]
pub struct UnknownTimezone(pub String);

impl Timezone {
    pub fn parse(name: &str) -> Result<Self, UnknownTimezone> {
        name.parse::<chrono_tz::Tz>()
            .map(Self)
            .map_err(|_| UnknownTimezone(name.to_owned()))
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl TryFrom<String> for Timezone {
    type Error = UnknownTimezone;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Timezone> for String {
    fn from(t: Timezone) -> Self {
        t.name().to_owned()
    }
}

impl fmt::Display for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
