//! What marketplace sync needs beyond the first schema: a connection's non-secret settings and last error,
//! richer sync runs (kind, pages, cursor before and after) and a record of every webhook delivery.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000001_sync"
    }
}

/// Columns added to existing tables: (table, column, definition).
pub(crate) fn added_columns() -> Vec<(&'static str, ColumnDef)> {
    vec![
        (
            "connections",
            ColumnDef::new(Alias::new("config"))
                .text()
                .not_null()
                .default("{}")
                .to_owned(),
        ),
        (
            "connections",
            ColumnDef::new(Alias::new("last_error"))
                .text()
                .null()
                .to_owned(),
        ),
        (
            "connections",
            ColumnDef::new(Alias::new("sync_interval_secs"))
                .big_integer()
                .null()
                .to_owned(),
        ),
        (
            "sync_runs",
            ColumnDef::new(Alias::new("kind"))
                .string()
                .not_null()
                .default("incremental")
                .to_owned(),
        ),
        (
            "sync_runs",
            ColumnDef::new(Alias::new("pages"))
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
        ),
        (
            "sync_runs",
            ColumnDef::new(Alias::new("cursor_before"))
                .text()
                .null()
                .to_owned(),
        ),
        (
            "sync_runs",
            ColumnDef::new(Alias::new("cursor_after"))
                .text()
                .null()
                .to_owned(),
        ),
    ]
}

/// The `webhook_deliveries` table.
pub(crate) fn webhook_deliveries() -> TableCreateStatement {
    let id = |name: &str| Alias::new(name);
    Table::create()
        .table(id("webhook_deliveries"))
        .col(
            ColumnDef::new(id("id"))
                .big_integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        )
        .col(ColumnDef::new(id("workspace_id")).big_integer().not_null())
        .col(ColumnDef::new(id("connection_id")).big_integer().not_null())
        .col(ColumnDef::new(id("delivery_id")).string().null())
        .col(ColumnDef::new(id("topic")).string().null())
        .col(ColumnDef::new(id("outcome")).string().not_null())
        .col(ColumnDef::new(id("status_code")).integer().not_null())
        .col(ColumnDef::new(id("records")).big_integer().not_null())
        .col(ColumnDef::new(id("latency_us")).big_integer().not_null())
        .col(ColumnDef::new(id("error")).text().null())
        .col(
            ColumnDef::new(id("received_at"))
                .timestamp_with_time_zone()
                .not_null(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_webhook_deliveries_workspace_id")
                .from(id("webhook_deliveries"), id("workspace_id"))
                .to(id("workspaces"), id("id"))
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_webhook_deliveries_connection_id")
                .from(id("webhook_deliveries"), id("connection_id"))
                .to(id("connections"), id("id"))
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, mut column) in added_columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager.create_table(webhook_deliveries()).await?;
        let id = |name: &str| Alias::new(name);
        for (name, cols) in [
            (
                "idx_webhook_deliveries_connection_received",
                ["connection_id", "received_at"],
            ),
            (
                "idx_webhook_deliveries_workspace_received",
                ["workspace_id", "received_at"],
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(id("webhook_deliveries"))
                        .col(id(cols[0]))
                        .col(id(cols[1]))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("webhook_deliveries"))
                    .to_owned(),
            )
            .await?;
        for (table, column) in added_columns().into_iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .drop_column(column.get_column_name())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
