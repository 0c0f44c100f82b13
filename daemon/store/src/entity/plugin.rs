//! `plugins`: An installed plugin. Installation is global; grants decide what it may touch.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plugins")]
pub struct Model {
    /// The plugin's own identifier from its manifest.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: String,
    pub version: String,
    pub api_version: String,
    /// Digest of the installed artifact, checked before loading.
    pub sha256: String,
    #[sea_orm(column_type = "Text")]
    pub manifest: String,
    pub enabled: bool,
    pub installed_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::plugin_grant::Entity")]
    PluginGrant,
}

impl Related<super::plugin_grant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PluginGrant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
