//! `workspaces`: A tenant: every domain row belongs to exactly one workspace.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workspaces")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Stable, URL-safe handle used by API clients.
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    /// IANA zone name; day boundaries of reports are computed in it.
    pub timezone: String,
    /// Reporting currency (ISO 4217).
    #[sea_orm(column_type = "String(StringLen::N(3))")]
    pub currency: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
