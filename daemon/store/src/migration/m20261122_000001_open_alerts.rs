//! Unresolved alerts are looked up on every stock change (is this alert already active? resolve it), while
//! resolved ones pile up as history. A partial index keeps those lookups proportional to the open alerts.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000001_open_alerts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Same statement on SQLite and PostgreSQL; the builder has no partial indexes.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS idx_alert_events_open \
                 ON alert_events (workspace_id, subject) WHERE resolved_at IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_alert_events_open")
            .await?;
        Ok(())
    }
}
