//! Schema migrations, written with the sea-query builder so the same code runs on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

mod m20261121_000001_domain;

/// Applies every migration of this crate in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261121_000001_domain::Migration)]
    }
}

#[cfg(test)]
pub(crate) mod test_support;
