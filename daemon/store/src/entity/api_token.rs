//! `api_tokens`: A bearer credential. Only a hash is stored, so a database leak does not leak tokens.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// `admin`, `analyst`, `ingest` or `read_only`.
    pub role: String,
    /// Global tokens see every workspace; others only those in `api_token_workspaces`.
    pub is_global: bool,
    /// Hex SHA-256 of the secret.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// Leading characters of the secret, for display.
    pub token_prefix: String,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::api_token_workspace::Entity")]
    ApiTokenWorkspace,
}

impl Related<super::api_token_workspace::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiTokenWorkspace.def()
    }
}

impl Related<super::workspace::Entity> for Entity {
    fn to() -> RelationDef {
        super::api_token_workspace::Relation::Workspace.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::api_token_workspace::Relation::ApiToken.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
