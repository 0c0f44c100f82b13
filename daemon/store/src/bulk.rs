//! Many rows in one statement.
//!
//! On SQLite the rows travel as one JSON array bound to a statement that never changes
//! (`INSERT … SELECT value ->> 0, … FROM jsonb_each(?)`), so it is prepared once and then served from the
//! connection's statement cache. A multi-row `VALUES` list instead is a new statement for every row count:
//! SQLite parses thousands of placeholders anew and every value crosses sea-query, sqlx and SQLite one by
//! one. Values are written as the text sqlx would bind (RFC 3339 timestamps, 0/1 booleans), so rows read
//! back the same whichever way they were written (checked for every table by the entity round-trip test).
//! PostgreSQL takes multi-row `VALUES` statements.

use chrono::SecondsFormat;
use sea_orm::sea_query::{Alias, Expr, Func, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityName, EntityTrait,
    IdenStatic, Iterable, Value,
};
use std::io::Write as _;

/// Most values bound to one multi-row statement (SQLite allows 32,766, PostgreSQL 65,535).
const MAX_PARAMS: usize = 30_000;
/// Most rows in one JSON document, to bound the memory one statement holds.
const JSON_ROWS: usize = 50_000;

/// Inserts `rows` (all setting the same columns) with an optional conflict clause; the number of rows
/// inserted or updated.
pub async fn insert<A>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
    on_conflict: Option<OnConflict>,
) -> Result<u64, DbErr>
where
    A: ActiveModelTrait + Send,
{
    let Some(first) = rows.first() else {
        return Ok(0);
    };
    let columns: Vec<<A::Entity as EntityTrait>::Column> =
        <A::Entity as EntityTrait>::Column::iter()
            .filter(|c| !first.get(*c).is_not_set())
            .collect();
    if db.get_database_backend() != DbBackend::Sqlite {
        return insert_values(db, rows, on_conflict, columns.len()).await;
    }
    let mut affected = 0;
    for chunk in rows.chunks(JSON_ROWS) {
        let json = json_rows(chunk, &columns)?;
        let mut select = Query::select();
        for (i, c) in columns.iter().enumerate() {
            // JSON has no bytes: they travel as hex.
            select.expr(Expr::cust(match first.get(*c).into_value() {
                Some(Value::Bytes(_)) => format!("unhex(value ->> {i})"),
                _ => format!("value ->> {i}"),
            }));
        }
        select
            .from_function(Func::cust("jsonb_each").arg(json), Alias::new("row"))
            // SQLite needs a WHERE before an upsert clause on INSERT … SELECT.
            .and_where(Expr::cust("true"));
        let mut insert = Query::insert();
        insert
            .into_table(A::Entity::default().table_ref())
            .columns(columns.iter().copied())
            .select_from(select)
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        if let Some(oc) = &on_conflict {
            insert.on_conflict(oc.clone());
        }
        affected += db.execute(&insert).await?.rows_affected();
    }
    Ok(affected)
}

async fn insert_values<A>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
    on_conflict: Option<OnConflict>,
    width: usize,
) -> Result<u64, DbErr>
where
    A: ActiveModelTrait + Send,
{
    let mut affected = 0;
    for chunk in rows.chunks((MAX_PARAMS / width.max(1)).max(1)) {
        let mut insert = <A::Entity as EntityTrait>::insert_many(chunk.to_vec());
        if let Some(oc) = &on_conflict {
            insert = insert.on_conflict(oc.clone());
        }
        affected += match insert.exec_without_returning(db).await {
            Ok(n) => n,
            Err(DbErr::RecordNotInserted) => 0,
            Err(e) => return Err(e),
        };
    }
    Ok(affected)
}

/// `[[v, …], …]`: one array per row, the values of `columns` in order.
fn json_rows<A>(rows: &[A], columns: &[<A::Entity as EntityTrait>::Column]) -> Result<String, DbErr>
where
    A: ActiveModelTrait,
{
    let mut out = Vec::with_capacity(rows.len() * columns.len() * 12);
    out.push(b'[');
    for (r, row) in rows.iter().enumerate() {
        out.extend_from_slice(if r == 0 { b"[" } else { b",[" });
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let Some(value) = row.get(*c).into_value() else {
                return Err(DbErr::Custom(format!(
                    "bulk insert: column {} is not set in every row",
                    c.as_str()
                )));
            };
            push_json(&mut out, value, c.as_str()).map_err(|e| DbErr::Custom(e.to_string()))?;
        }
        out.push(b']');
    }
    out.push(b']');
    String::from_utf8(out).map_err(|e| DbErr::Custom(e.to_string()))
}

/// Appends one value as JSON; an error for value kinds no table uses.
fn push_json(out: &mut Vec<u8>, value: Value, column: &str) -> std::io::Result<()> {
    let text =
        |out: &mut Vec<u8>, s: &str| serde_json::to_writer(out, s).map_err(std::io::Error::from);
    match value {
        Value::Bool(Some(b)) => write!(out, "{}", i64::from(b)),
        Value::TinyInt(Some(n)) => write!(out, "{n}"),
        Value::SmallInt(Some(n)) => write!(out, "{n}"),
        Value::Int(Some(n)) => write!(out, "{n}"),
        Value::BigInt(Some(n)) => write!(out, "{n}"),
        Value::TinyUnsigned(Some(n)) => write!(out, "{n}"),
        Value::SmallUnsigned(Some(n)) => write!(out, "{n}"),
        Value::Unsigned(Some(n)) => write!(out, "{n}"),
        Value::String(Some(s)) => text(out, &s),
        Value::ChronoDateTimeUtc(Some(t)) => {
            text(out, &t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
        }
        Value::ChronoDate(Some(d)) => write!(out, "\"{}\"", d.format("%F")),
        Value::Bytes(Some(b)) => {
            out.push(b'"');
            for byte in b {
                write!(out, "{byte:02x}")?;
            }
            out.push(b'"');
            Ok(())
        }
        Value::Bool(None)
        | Value::TinyInt(None)
        | Value::SmallInt(None)
        | Value::Int(None)
        | Value::BigInt(None)
        | Value::TinyUnsigned(None)
        | Value::SmallUnsigned(None)
        | Value::Unsigned(None)
        | Value::String(None)
        | Value::ChronoDateTimeUtc(None)
        | Value::ChronoDate(None)
        | Value::Bytes(None) => out.write_all(b"null"),
        other => Err(std::io::Error::other(format!(
            "bulk insert: column {column} holds {other:?}, which is not written as JSON"
        ))),
    }
}

/// `column IN (values)`. On SQLite the values are one bound JSON array (`IN (SELECT value FROM
/// json_each(?))`), so the statement stays the same for any number of values and is prepared once; other
/// backends get a plain list.
pub fn is_in<C, V>(backend: DbBackend, column: C, values: &[V]) -> Result<Expr, DbErr>
where
    C: ColumnTrait,
    V: Into<Value> + serde::Serialize + Clone,
{
    if backend != DbBackend::Sqlite {
        return Ok(column.is_in(values.iter().cloned()));
    }
    let json = serde_json::to_string(values).map_err(|e| DbErr::Custom(e.to_string()))?;
    let list = Query::select()
        .column(Alias::new("value"))
        .from_function(Func::cust("json_each").arg(json), Alias::new("list"))
        .to_owned();
    Ok(column.in_subquery(list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::workspace;
    use crate::migration::test_support::{on_postgres, on_sqlite};
    use chrono::{DateTime, Utc};
    use sea_orm::{DatabaseConnection, QueryFilter, QueryOrder, Set};

    /// Names JSON and SQL both have to escape.
    const NAMES: [&str; 5] = ["plain", "it's", "say \"hi\"", "back\\slash", "naïve ✓"];
    /// Some SQLite builds cut JSON text off at a NUL character; the bundled one must not.
    const NUL: &str = "nul\0inside";

    fn row(i: usize, name: &str) -> workspace::ActiveModel {
        let at = DateTime::<Utc>::from_timestamp(1_772_600_000 + i as i64, 1_000).expect("time");
        workspace::ActiveModel {
            slug: Set(format!("ws-{i}")),
            name: Set(name.to_owned()),
            timezone: Set("UTC".into()),
            currency: Set("EUR".into()),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        }
    }

    async fn names(db: &DatabaseConnection, filter: Expr) -> Vec<(i64, String)> {
        workspace::Entity::find()
            .filter(filter)
            .order_by_asc(workspace::Column::Id)
            .all(db)
            .await
            .expect("select")
            .into_iter()
            .map(|w| (w.id, w.name))
            .collect()
    }

    async fn inserts_upserts_and_filters(db: DatabaseConnection) {
        let backend = db.get_database_backend();
        let rows: Vec<_> = NAMES.iter().enumerate().map(|(i, n)| row(i, n)).collect();
        assert_eq!(insert(&db, rows, None).await.expect("insert"), 5);

        // Two rows collide with stored slugs and are skipped; the third is new.
        let keep = OnConflict::column(workspace::Column::Slug)
            .do_nothing()
            .to_owned();
        let again = vec![row(0, "other"), row(1, "other"), row(7, "new")];
        assert_eq!(insert(&db, again, Some(keep)).await.expect("do nothing"), 1);
        // An update on conflict overwrites only the named column.
        let rename = OnConflict::column(workspace::Column::Slug)
            .update_column(workspace::Column::Name)
            .to_owned();
        let renamed = vec![row(0, "renamed")];
        assert_eq!(insert(&db, renamed, Some(rename)).await.expect("update"), 1);

        let stored = names(&db, workspace::Column::Id.gt(0)).await;
        let expected: Vec<&str> = vec!["renamed", NAMES[1], NAMES[2], NAMES[3], NAMES[4], "new"];
        assert_eq!(
            stored.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(),
            expected
        );

        // The JSON list selects exactly what a plain IN list selects, for text and for integers.
        let wanted: Vec<String> = vec![
            NAMES[1].into(),
            NAMES[2].into(),
            NAMES[4].into(),
            "x".into(),
        ];
        let by_json = names(
            &db,
            is_in(backend, workspace::Column::Name, &wanted).expect("in"),
        )
        .await;
        let plain = names(&db, workspace::Column::Name.is_in(wanted.clone())).await;
        assert_eq!(by_json, plain);
        assert_eq!(by_json.len(), 3);
        let ids: Vec<i64> = vec![stored[0].0, stored[5].0, 999];
        let by_json = names(
            &db,
            is_in(backend, workspace::Column::Id, &ids).expect("in"),
        )
        .await;
        assert_eq!(by_json, vec![stored[0].clone(), stored[5].clone()]);
        let none: Vec<i64> = Vec::new();
        let by_json = names(
            &db,
            is_in(backend, workspace::Column::Id, &none).expect("in"),
        )
        .await;
        assert!(by_json.is_empty());

        // A NUL character is kept whole on SQLite, written and looked up. PostgreSQL refuses it in text
        // (ingest validation refuses it before any write).
        let rows = vec![row(8, NUL), row(9, "after")];
        if backend != DbBackend::Sqlite {
            assert!(insert(&db, rows, None).await.is_err());
            return;
        }
        assert_eq!(insert(&db, rows, None).await.expect("insert NUL"), 2);
        let wanted = vec![NUL.to_owned()];
        let found = names(
            &db,
            is_in(backend, workspace::Column::Name, &wanted).expect("in"),
        )
        .await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1, NUL);
    }

    #[tokio::test]
    async fn inserts_upserts_and_filters_on_sqlite() {
        on_sqlite(inserts_upserts_and_filters).await;
    }

    #[tokio::test]
    async fn inserts_upserts_and_filters_on_postgres() {
        on_postgres(inserts_upserts_and_filters).await;
    }
}
