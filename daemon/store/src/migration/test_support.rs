//! Throw-away, migrated databases for tests: always SQLite, plus PostgreSQL when `CREATORFLOW_TEST_PG_URL`
//! names a server (trust auth; a fresh database is created on it and dropped afterwards).

use super::Migrator;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::task::Poll;

pub(crate) const PG_URL_VAR: &str = "CREATORFLOW_TEST_PG_URL";

/// Runs `checks` against a fresh, migrated SQLite database file.
pub(crate) async fn on_sqlite<F, Fut>(checks: F)
where
    F: FnOnce(DatabaseConnection) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("store.db").display()
    );
    let db = Database::connect(&url).await.expect("open sqlite");
    Migrator::up(&db, None).await.expect("migrate sqlite");
    checks(db.clone()).await;
    db.close().await.expect("close sqlite");
}

/// Runs `checks` against a fresh, migrated PostgreSQL database, or does nothing when no server is configured.
/// The database is dropped even when the checks panic; the panic is then resumed.
pub(crate) async fn on_postgres<F, Fut>(checks: F)
where
    F: FnOnce(DatabaseConnection) -> Fut,
    Fut: Future<Output = ()>,
{
    let Ok(server_url) = std::env::var(PG_URL_VAR) else {
        eprintln!("{PG_URL_VAR} is not set; skipping the PostgreSQL run");
        return;
    };
    let admin = Database::connect(&server_url)
        .await
        .expect("connect to the PostgreSQL server");
    let name = format!("creatorflow_test_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    record_pg_run(&name);

    let db = Database::connect(&with_database(&server_url, &name))
        .await
        .expect("connect to the test database");
    let migrated = Migrator::up(&db, None).await;
    let outcome = match &migrated {
        Ok(()) => Some(catch_unwind(checks(db.clone())).await),
        Err(_) => None,
    };
    let _ = db.close().await;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .expect("drop test database");
    let _ = admin.close().await;
    migrated.expect("migrate postgres");
    if let Some(Err(panic)) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Runs a future to completion, turning a panic into `Err` so cleanup can run before it is resumed.
async fn catch_unwind<F: Future>(fut: F) -> std::thread::Result<F::Output> {
    let mut fut = pin!(fut);
    poll_fn(
        |cx| match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Err(panic) => Poll::Ready(Err(panic)),
        },
    )
    .await
}

/// Replaces the database name in a `postgres://user@host:port/db?params` URL.
fn with_database(server_url: &str, name: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server_url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &base[..authority_end])
}

#[test]
fn database_name_is_replaced() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
}

/// Appends one line to the file named by `TEST_PG_RUNS_FILE` (set by CI) for every PostgreSQL database a test
/// creates, so CI can prove the PostgreSQL suite really ran on PostgreSQL.
fn record_pg_run(what: &str) {
    use std::io::Write;
    if let Ok(path) = std::env::var("TEST_PG_RUNS_FILE")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        let _ = writeln!(f, "{what}");
    }
}
