//! Schema migrations, written with the sea-query builder so the same code runs on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

mod m20261121_000001_domain;
mod m20261122_000001_open_alerts;
mod m20261205_000001_page_indexes;
mod m20261206_000001_sync;
pub(crate) mod m20261207_000001_analytics;
pub use m20261207_000001_analytics::REBUILD_ROLLUPS;
pub(crate) mod m20261208_000001_forecasts;

/// Applies every migration of this crate in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_domain::Migration),
            Box::new(m20261122_000001_open_alerts::Migration),
            Box::new(m20261205_000001_page_indexes::Migration),
            Box::new(m20261206_000001_sync::Migration),
            Box::new(m20261207_000001_analytics::Migration),
            Box::new(m20261208_000001_forecasts::Migration),
        ]
    }
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests {
    use super::Migrator;
    use super::test_support::{on_postgres, on_sqlite};
    use sea_orm::DatabaseConnection;
    use sea_orm_migration::{MigratorTrait, SchemaManager};

    async fn down_and_up_again(db: DatabaseConnection) {
        let manager = SchemaManager::new(&db);
        assert!(manager.has_table("orders").await.expect("inspect"));
        Migrator::down(&db, None).await.expect("migrate down");
        for table in [
            "workspaces",
            "orders",
            "plugins",
            "ingest_events",
            "webhook_deliveries",
            "maintenance_tasks",
            "forecasts",
        ] {
            assert!(!manager.has_table(table).await.expect("inspect"), "{table}");
        }
        Migrator::up(&db, None).await.expect("migrate up again");
        assert!(manager.has_table("orders").await.expect("inspect"));
        let pending = Migrator::get_pending_migrations(&db).await.expect("status");
        assert!(pending.is_empty());
    }

    #[tokio::test]
    async fn down_and_up_again_on_sqlite() {
        on_sqlite(down_and_up_again).await;
    }

    #[tokio::test]
    async fn down_and_up_again_on_postgres() {
        on_postgres(down_and_up_again).await;
    }
}
