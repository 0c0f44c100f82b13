//! Stored forecasts: each series' latest forecast with the model that won its backtest, its errors and the
//! data version it was computed from, so reading a forecast never fits a model.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000001_forecasts"
    }
}

/// The `forecasts` table.
pub(crate) fn forecasts() -> TableCreateStatement {
    let id = |n: &str| Alias::new(n);
    Table::create()
        .table(id("forecasts"))
        .col(
            ColumnDef::new(id("id"))
                .big_integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        )
        .col(ColumnDef::new(id("workspace_id")).big_integer().not_null())
        .col(ColumnDef::new(id("metric")).string().not_null())
        .col(ColumnDef::new(id("subject")).string().not_null())
        .col(ColumnDef::new(id("currency")).string().not_null())
        .col(ColumnDef::new(id("model")).string().not_null())
        .col(ColumnDef::new(id("smape")).double().null())
        .col(ColumnDef::new(id("mase")).double().null())
        .col(ColumnDef::new(id("coverage80")).double().null())
        .col(ColumnDef::new(id("coverage95")).double().null())
        .col(ColumnDef::new(id("first_day")).date().not_null())
        .col(ColumnDef::new(id("points")).text().not_null())
        .col(ColumnDef::new(id("available")).big_integer().null())
        .col(ColumnDef::new(id("stockout_day")).date().null())
        .col(ColumnDef::new(id("days_of_cover")).double().null())
        .col(ColumnDef::new(id("safety_stock")).double().null())
        .col(ColumnDef::new(id("reorder_point")).double().null())
        .col(ColumnDef::new(id("reorder_quantity")).big_integer().null())
        .col(ColumnDef::new(id("data_version")).big_integer().not_null())
        .col(
            ColumnDef::new(id("created_at"))
                .timestamp_with_time_zone()
                .not_null(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_forecasts_workspace_id")
                .from(id("forecasts"), id("workspace_id"))
                .to(id("workspaces"), id("id"))
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(forecasts()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_forecasts_series")
                    .table(Alias::new("forecasts"))
                    .col(Alias::new("workspace_id"))
                    .col(Alias::new("metric"))
                    .col(Alias::new("subject"))
                    .col(Alias::new("currency"))
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Alias::new("forecasts")).to_owned())
            .await
    }
}
