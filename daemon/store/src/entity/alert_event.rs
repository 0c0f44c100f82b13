//! `alert_events`: A raised alert; kept after resolution for history.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alert_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workspace_id: i64,
    /// `None` for built-in alerts or after the rule was deleted.
    pub rule_id: Option<i64>,
    pub kind: String,
    pub severity: String,
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub message: String,
    /// JSON details for the UI.
    #[sea_orm(column_type = "Text")]
    pub data: String,
    pub raised_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
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
    #[sea_orm(
        belongs_to = "super::alert_rule::Entity",
        from = "Column::RuleId",
        to = "super::alert_rule::Column::Id",
        on_update = "NoAction",
        on_delete = "SetNull"
    )]
    AlertRule,
}

impl Related<super::workspace::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Workspace.def()
    }
}

impl Related<super::alert_rule::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AlertRule.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
