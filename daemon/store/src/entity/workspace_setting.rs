//! `workspace_settings`: how the write path behaves for one workspace. No row means the defaults.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workspace_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: i64,
    /// `placed` or `paid`: when an order starts holding stock.
    pub reserve_on: String,
    /// Refuse manual adjustments that would take on-hand below zero.
    pub forbid_negative_manual: bool,
    /// Comma-separated conditions a sellable return may go back to stock as; empty means any.
    pub restock_conditions: Option<String>,
    /// A velocity spike is units in the last hour ≥ this × the trailing 7-day hourly average.
    pub velocity_spike_factor: i64,
    /// Ignore spikes below this many units in the hour, so one sale of a slow SKU is not "viral".
    pub velocity_min_units: i64,
    pub updated_at: DateTimeUtc,
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
}

impl Related<super::workspace::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Workspace.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
