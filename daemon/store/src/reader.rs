//! Read-only SQLite connections on blocking threads, for queries that return many rows.
//!
//! sqlx's SQLite driver runs each connection on a worker thread and hands every result row to the async
//! task separately; a 1,000-row stock list pays that hand-off 1,000 times. Here a whole query runs on one
//! blocking thread with a cached prepared statement and comes back as one `Vec`: one hand-off per query.
//! WAL mode lets these readers run beside the writer. The SQL is the same sea-query statement the
//! PostgreSQL path runs, so both backends answer one query.

use chrono::{DateTime, Utc};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags, Row};
use sea_orm::DbErr;
use sea_orm::sea_query::{SelectStatement, SqliteQueryBuilder, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Idle connections kept for reuse; more may be open while many queries run at once.
const IDLE: usize = 4;

#[derive(Clone)]
pub struct Readers {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("path", &self.path).finish()
    }
}

impl Readers {
    /// Readers for the database file of a `sqlite:` URL; `None` for in-memory databases, which other
    /// connections cannot see.
    pub fn for_url(url: &str, busy_timeout: Duration) -> Option<Self> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path.contains(":memory:") || rest.contains("mode=memory") {
            return None;
        }
        Some(Self {
            path: PathBuf::from(path),
            busy_timeout,
            idle: Arc::default(),
        })
    }

    /// Runs `select` and maps every row with `map`, on a blocking thread.
    pub async fn query<T, F>(&self, select: &SelectStatement, map: F) -> Result<Vec<T>, DbErr>
    where
        T: Send + 'static,
        F: Fn(&Row<'_>) -> rusqlite::Result<T> + Send + 'static,
    {
        let (sql, values) = select.build(SqliteQueryBuilder);
        let params = values
            .0
            .into_iter()
            .map(to_sql)
            .collect::<Result<Vec<_>, _>>()?;
        let readers = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.take()?;
            let result = run(&conn, &sql, &params, &map);
            readers.give_back(conn);
            result.map_err(|e| DbErr::Custom(format!("SQLite read failed: {e}")))
        })
        .await
        .map_err(|e| DbErr::Custom(format!("SQLite read task failed: {e}")))?
    }

    fn take(&self) -> Result<Connection, DbErr> {
        if let Some(conn) = self.lock().pop() {
            return Ok(conn);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|e| DbErr::Custom(format!("cannot open {}: {e}", self.path.display())))?;
        conn.busy_timeout(self.busy_timeout)
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.lock();
        if idle.len() < IDLE {
            idle.push(conn);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // Only whole connections go in and out; a panic elsewhere cannot leave the list half-changed.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn run<T>(
    conn: &Connection,
    sql: &str,
    params: &[SqlValue],
    map: &dyn Fn(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), map)?;
    rows.collect()
}

/// A sea-query parameter as SQLite stores it through sqlx: integers, reals, text, blobs; booleans as 0/1.
fn to_sql(v: Value) -> Result<SqlValue, DbErr> {
    let int = |v: Option<i64>| v.map_or(SqlValue::Null, SqlValue::Integer);
    Ok(match v {
        Value::Bool(b) => int(b.map(i64::from)),
        Value::TinyInt(v) => int(v.map(i64::from)),
        Value::SmallInt(v) => int(v.map(i64::from)),
        Value::Int(v) => int(v.map(i64::from)),
        Value::BigInt(v) => int(v),
        Value::TinyUnsigned(v) => int(v.map(i64::from)),
        Value::SmallUnsigned(v) => int(v.map(i64::from)),
        Value::Unsigned(v) => int(v.map(i64::from)),
        Value::BigUnsigned(v) => match v {
            None => SqlValue::Null,
            Some(v) => SqlValue::Integer(
                i64::try_from(v).map_err(|_| DbErr::Custom(format!("{v} is out of range")))?,
            ),
        },
        Value::Float(v) => v.map_or(SqlValue::Null, |f| SqlValue::Real(f64::from(f))),
        Value::Double(v) => v.map_or(SqlValue::Null, SqlValue::Real),
        Value::String(v) => v.map_or(SqlValue::Null, SqlValue::Text),
        Value::Char(v) => v.map_or(SqlValue::Null, |c| SqlValue::Text(c.to_string())),
        Value::Bytes(v) => v.map_or(SqlValue::Null, SqlValue::Blob),
        other => {
            return Err(DbErr::Custom(format!(
                "the SQLite reader does not bind {other:?}; run this query through sea-orm"
            )));
        }
    })
}

/// A timestamp as sqlx writes it to SQLite (RFC 3339 text).
pub fn timestamp(row: &Row<'_>, column: usize) -> rusqlite::Result<DateTime<Utc>> {
    let text: String = row.get(column)?;
    DateTime::parse_from_rfc3339(&text)
        .or_else(|_| DateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}
