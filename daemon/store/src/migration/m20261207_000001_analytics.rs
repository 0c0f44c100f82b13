//! What the analytics engine needs from the write path: fulfilment, delivery and refund counts in the order
//! rollup, a queue of maintenance tasks the daemon runs at start (here: rebuilding the rollups, whose buckets
//! became quarter hours so zones offset by 30 or 45 minutes bucket exactly), and an index that makes a
//! workspace's data version (its newest ingest event) a single index probe.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000001_analytics"
    }
}

/// The task that rebuilds the rollups and customer aggregates from raw rows.
pub const REBUILD_ROLLUPS: &str = "rebuild_rollups";

/// Columns added to existing tables: (table, column, definition).
pub(crate) fn added_columns() -> Vec<(&'static str, ColumnDef)> {
    [
        "fulfilled_orders",
        "delivered_orders",
        "refunded_orders",
        "ship_secs",
        "deliver_secs",
    ]
    .into_iter()
    .map(|name| {
        (
            "orders_hourly",
            ColumnDef::new(Alias::new(name))
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
        )
    })
    .collect()
}

/// The `maintenance_tasks` table: one row per task still to run.
pub(crate) fn maintenance_tasks() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("maintenance_tasks"))
        .col(
            ColumnDef::new(Alias::new("name"))
                .string()
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(Alias::new("requested_at"))
                .timestamp_with_time_zone()
                .not_null(),
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
        manager.create_table(maintenance_tasks()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ingest_events_workspace_id_id")
                    .table(Alias::new("ingest_events"))
                    .col(Alias::new("workspace_id"))
                    .col(Alias::new("id"))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Alias::new("maintenance_tasks"))
                    .columns([Alias::new("name"), Alias::new("requested_at")])
                    .values_panic([REBUILD_ROLLUPS.into(), Expr::current_timestamp()])
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_ingest_events_workspace_id_id")
                    .table(Alias::new("ingest_events"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("maintenance_tasks"))
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
