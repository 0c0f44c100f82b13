use crate::crypto::CredentialCipher;
use crate::migration::Migrator;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};
use sea_orm_migration::MigratorTrait;
use std::sync::Arc;
use std::time::Duration;

/// SQLite's durability/speed trade-off. `Normal` in WAL mode can lose the last transactions on power loss
/// (never on a process crash); `Full` fsyncs every commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    Off,
    Normal,
    Full,
    Extra,
}

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub url: String,
    pub synchronous: Synchronous,
    pub busy_timeout: Duration,
    pub max_connections: u32,
    pub min_connections: u32,
    pub connect_timeout: Duration,
}

impl DbOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            synchronous: Synchronous::Normal,
            busy_timeout: Duration::from_secs(5),
            max_connections: 8,
            min_connections: 1,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The database handle plus what every repository needs (the credential cipher).
#[derive(Clone)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
    pub(crate) cipher: Arc<CredentialCipher>,
    /// Bulk readers beside the pool, for SQLite files.
    pub(crate) readers: Option<crate::reader::Readers>,
}

impl Store {
    pub async fn connect(opts: &DbOptions, cipher: CredentialCipher) -> Result<Self, DbErr> {
        let mut co = ConnectOptions::new(opts.url.clone());
        co.max_connections(opts.max_connections.max(1))
            .min_connections(opts.min_connections.min(opts.max_connections.max(1)))
            .connect_timeout(opts.connect_timeout)
            .acquire_timeout(opts.connect_timeout)
            .sqlx_logging(false);
        let sync = match opts.synchronous {
            Synchronous::Off => SqliteSynchronous::Off,
            Synchronous::Normal => SqliteSynchronous::Normal,
            Synchronous::Full => SqliteSynchronous::Full,
            Synchronous::Extra => SqliteSynchronous::Extra,
        };
        let busy = opts.busy_timeout;
        co.map_sqlx_sqlite_opts(move |o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // Checkpoints normally run inside a committing writer and stall it; `checkpoint_wal` does
                // them off the write path. This threshold is only the safety net if it cannot keep up.
                .pragma("wal_autocheckpoint", "10000")
                .pragma("cache_size", "-65536")
                .synchronous(sync)
                .foreign_keys(true)
                .busy_timeout(busy)
        });
        let db = Database::connect(co).await?;
        let readers = match db.get_database_backend() {
            DbBackend::Sqlite => crate::reader::Readers::for_url(&opts.url, busy),
            _ => None,
        };
        Ok(Self {
            db,
            cipher: Arc::new(cipher),
            readers,
        })
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// This store with every query going through the pool, as on PostgreSQL: what the bulk readers must
    /// agree with.
    pub fn pool_only(&self) -> Store {
        Store {
            readers: None,
            ..self.clone()
        }
    }

    /// Copies committed WAL pages into the SQLite file without waiting for (or blocking) readers and writers.
    /// Run periodically by the daemon, so a commit never pays for a checkpoint. A no-op on PostgreSQL.
    pub async fn checkpoint_wal(&self) -> Result<(), DbErr> {
        if self.backend() == Backend::Sqlite {
            self.db
                .execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
                .await?;
        }
        Ok(())
    }

    /// Whether large SQLite reads run on the bulk readers.
    pub fn has_bulk_readers(&self) -> bool {
        self.readers.is_some()
    }

    pub fn backend(&self) -> Backend {
        match self.db.get_database_backend() {
            DbBackend::Postgres => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }

    pub fn cipher(&self) -> &CredentialCipher {
        &self.cipher
    }

    /// Applies pending migrations, then re-seals any connection credentials stored before they were bound
    /// to their row.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.db, None).await?;
        let resealed = self
            .reseal_legacy_credentials()
            .await
            .map_err(|e| DbErr::Custom(format!("re-sealing connection credentials: {e}")))?;
        if resealed > 0 {
            tracing::info!(
                resealed,
                "Connection credentials re-sealed, bound to their rows"
            );
        }
        self.optimize().await
    }

    /// Refreshes the query planner's statistics where they are missing or stale, so it picks the indexes the
    /// list queries need (SQLite `PRAGMA optimize`; PostgreSQL's autovacuum analyzes on its own).
    pub async fn optimize(&self) -> Result<(), DbErr> {
        if self.backend() == Backend::Sqlite {
            // 0x10002: analyze every table that needs it, even on a connection that ran no queries yet.
            self.db
                .execute_unprepared("PRAGMA optimize=0x10002")
                .await?;
        }
        Ok(())
    }

    /// [`Store::optimize`] on a bare connection, for tests of query plans.
    #[cfg(test)]
    pub(crate) async fn optimize_connection(db: &DatabaseConnection) {
        let _ = db.execute_unprepared("PRAGMA optimize=0x10002").await;
    }

    /// Migrations known to this binary but not applied to the database.
    pub async fn pending_migrations(&self) -> Result<usize, DbErr> {
        Ok(Migrator::get_pending_migrations(&self.db).await?.len())
    }

    pub async fn ping(&self) -> Result<(), DbErr> {
        self.db.ping().await
    }

    /// Connections held open and idle, for `/metrics`.
    pub fn pool_stats(&self) -> (u32, usize) {
        match self.backend() {
            Backend::Sqlite => {
                let p = self.db.get_sqlite_connection_pool();
                (p.size(), p.num_idle())
            }
            Backend::Postgres => {
                let p = self.db.get_postgres_connection_pool();
                (p.size(), p.num_idle())
            }
        }
    }

    pub async fn close(self) -> Result<(), DbErr> {
        self.db.close().await
    }

    /// Runs a statement that returns nothing; used by operators' commands and tests.
    pub async fn execute_unprepared(&self, sql: &str) -> Result<(), DbErr> {
        self.db.execute_unprepared(sql).await.map(|_| ())
    }
}
