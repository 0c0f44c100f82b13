//! Who is calling and what they may do. The API resolves a bearer token into a [`Principal`] once per request;
//! every resolver asks it, so a forgotten check fails closed.

use crate::id::{TokenId, WorkspaceId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// What a token may do inside the workspaces it is scoped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including tokens, connections and plugins.
    Admin,
    /// Reads everything and manages analysis objects (alert rules, reports), but not tokens or connections.
    Analyst,
    /// Writes domain events (connectors, imports, scripts) and reads what it needs for that.
    Ingest,
    /// Reads only.
    ReadOnly,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Analyst, Role::Ingest, Role::ReadOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Ingest => "ingest",
            Role::ReadOnly => "read_only",
        }
    }

    /// May this role change domain data (orders, products, stock)?
    pub fn can_write_data(self) -> bool {
        matches!(self, Role::Admin | Role::Ingest)
    }

    /// May this role change workspace settings, connections and tokens?
    pub fn can_administer(self) -> bool {
        matches!(self, Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}; expected one of admin, analyst, ingest, read_only")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// The workspaces a token reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkspaceScope {
    /// Every workspace, present and future (only admins may hold this).
    Global,
    /// Exactly these workspaces.
    Only(BTreeSet<WorkspaceId>),
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: TokenId,
    pub role: Role,
    pub scope: WorkspaceScope,
}

impl Principal {
    pub fn can_see(&self, workspace: WorkspaceId) -> bool {
        match &self.scope {
            WorkspaceScope::Global => true,
            WorkspaceScope::Only(set) => set.contains(&workspace),
        }
    }

    pub fn is_global(&self) -> bool {
        matches!(self.scope, WorkspaceScope::Global)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_reject_unknown() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert_eq!("root".parse::<Role>(), Err(UnknownRole("root".into())));
    }

    #[test]
    fn scope_limits_visibility() {
        let p = Principal {
            token_id: TokenId(1),
            role: Role::ReadOnly,
            scope: WorkspaceScope::Only([WorkspaceId(1)].into()),
        };
        assert!(p.can_see(WorkspaceId(1)));
        assert!(!p.can_see(WorkspaceId(2)));
        assert!(!p.role.can_write_data());
    }
}
