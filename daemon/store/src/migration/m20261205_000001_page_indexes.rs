//! Indexes that match how pages are read. An order page loads its lines by `(workspace, order ids)`; with only
//! `(order_id)` and `(workspace_id, sku)` to choose from, SQLite took the SKU index (more columns on the
//! equality) and walked every line of the workspace. Orders of one customer are listed newest first; with only
//! `(workspace_id, placed_at)` the planner walked the workspace's orders by date looking for that customer.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000001_page_indexes"
    }
}

const INDEXES: [(&str, &str); 2] = [
    (
        "idx_order_lines_workspace_order",
        "order_lines (workspace_id, order_id, id)",
    ),
    (
        "idx_orders_workspace_customer_placed",
        "orders (workspace_id, customer_id, placed_at, id)",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, on) in INDEXES {
            db.execute_unprepared(&format!("CREATE INDEX IF NOT EXISTS {name} ON {on}"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        Ok(())
    }
}
