//! `alert_rules`: A condition the daemon evaluates periodically.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alert_rules")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workspace_id: i64,
    pub name: String,
    pub kind: String,
    pub metric: Option<String>,
    /// JSON, interpreted according to `kind`.
    #[sea_orm(column_type = "Text")]
    pub params: String,
    pub enabled: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::workspace::Entity",
        from = "Column::WorkspaceId",
        to = "super::workspace::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Workspace,
    #[sea_orm(has_many = "super::alert_event::Entity")]
    AlertEvent,
}

impl Related<super::workspace::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Workspace.def()
    }
}

impl Related<super::alert_event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AlertEvent.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
