//! `connections`: A configured data source (TikTok Shop, Shopify, CSV import, manual entry, …).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connections")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workspace_id: i64,
    /// `tiktok_shop`, `shopify`, `csv`, `manual`, …
    pub kind: String,
    pub name: String,
    pub external_shop_id: Option<String>,
    pub status: String,
    /// Encrypted at rest; never decrypted by read queries.
    #[sea_orm(column_type = "Blob")]
    pub credentials_ciphertext: Option<Vec<u8>>,
    /// Non-secret settings handed to the connector (a JSON object of strings: shop id, region, base URL…).
    #[sea_orm(column_type = "Text")]
    pub config: String,
    /// Why the last sync or push failed; cleared by the next success.
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// Overrides `sync.interval_secs` for this connection.
    pub sync_interval_secs: Option<i64>,
    pub created_at: DateTimeUtc,
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
