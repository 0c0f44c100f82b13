//! `webhook_deliveries`: One webhook request a connection received, whatever became of it.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workspace_id: i64,
    pub connection_id: i64,
    /// The channel's delivery id, once the body could be parsed.
    pub delivery_id: Option<String>,
    pub topic: Option<String>,
    /// applied, duplicate, unauthorized, malformed, failed.
    pub outcome: String,
    /// The HTTP status the daemon answered with.
    pub status_code: i32,
    /// Events the delivery produced.
    pub records: i64,
    /// Receipt to answer, in microseconds.
    pub latency_us: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub received_at: DateTimeUtc,
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
        belongs_to = "super::connection::Entity",
        from = "Column::ConnectionId",
        to = "super::connection::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Connection,
}

impl Related<super::workspace::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Workspace.def()
    }
}

impl Related<super::connection::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Connection.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
