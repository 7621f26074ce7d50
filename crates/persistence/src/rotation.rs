//! Key rotation: re-seal every content value under the current key, in batches, while the
//! service runs — and bound to its row and column (`enc:v2:`): a value sealed before issue 12
//! without associated data (`enc:v1:`) is re-sealed even under the current key. Each value
//! is rewritten only if it is still the one read (a concurrent write, already sealed under
//! the current key, is left alone). Values written before
//! encryption existed are sealed too. The key check is re-sealed last, once the content no
//! longer needs the old keys.

use sea_orm::{ConnectionTrait, QueryResult, Value};
use uuid::Uuid;

use crate::{
    crypto::{Aad, Keyring, V2},
    error::StoreError,
    sql::statement,
};

const BATCH: u64 = 500;

enum Pk {
    Id,
    SubjectKey,
}

/// Every content column, by table.
const SEALED: &[(&str, Pk, &[&str])] = &[
    (
        "objectives",
        Pk::Id,
        &["title", "description", "success_criteria"],
    ),
    ("objective_revisions", Pk::Id, &["changes", "comment"]),
    (
        "meetings",
        Pk::Id,
        &["location_label", "agenda", "summary", "cancel_reason"],
    ),
    ("pairs", Pk::Id, &["end_reason_text"]),
    ("notes", Pk::Id, &["body"]),
    ("concerns", Pk::Id, &["text"]),
    ("feedback", Pk::Id, &["comment"]),
    ("webhooks", Pk::Id, &["secret"]),
    ("idempotency_keys", Pk::SubjectKey, &["response_body"]),
];

/// Every content column, as `(table, column, its primary key's columns)`.
pub(crate) fn sealed_columns() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    SEALED.iter().flat_map(|(table, pk, columns)| {
        columns
            .iter()
            .map(move |column| (*table, *column, key_columns(pk)))
    })
}

fn key_columns(pk: &Pk) -> &'static str {
    match pk {
        Pk::Id => "id",
        Pk::SubjectKey => "subject, key",
    }
}

/// The primary key of a row read with [`sealed_columns`]' key columns: what binds a value
/// to its row.
pub(crate) enum RowKey {
    Id(Uuid),
    Keyed(String, String),
}

impl RowKey {
    pub(crate) fn read(key_columns: &str, row: &QueryResult) -> Result<Self, StoreError> {
        Ok(if key_columns == "id" {
            RowKey::Id(row.try_get("", "id")?)
        } else {
            RowKey::Keyed(row.try_get("", "subject")?, row.try_get("", "key")?)
        })
    }

    pub(crate) fn aad<'a>(&'a self, table: &'a str, column: &'a str) -> Aad<'a> {
        match self {
            RowKey::Id(id) => Aad::row(table, column, *id),
            RowKey::Keyed(subject, key) => Aad::keyed(table, column, subject, key),
        }
    }
}

/// How many values were re-sealed, by table.
pub async fn rotate(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
) -> Result<Vec<(&'static str, u64)>, StoreError> {
    let backend = conn.get_database_backend();
    let current = format!("{V2}{}:%", keys.current_id());
    let mut report = Vec::new();
    for (table, pk, columns) in SEALED {
        let mut done = 0u64;
        for column in *columns {
            let key_cols = key_columns(pk);
            let select = format!(
                "SELECT {key_cols}, {column} AS value FROM {table} \
                 WHERE {column} IS NOT NULL AND {column} NOT LIKE $1 LIMIT {BATCH}"
            );
            loop {
                let rows = conn
                    .query_all_raw(statement(backend, &select, vec![current.clone().into()]))
                    .await?;
                if rows.is_empty() {
                    break;
                }
                for row in &rows {
                    let old: String = row.try_get("", "value")?;
                    let place = RowKey::read(key_cols, row)?;
                    let aad = place.aad(table, column);
                    let new = keys.seal(&keys.open(&old, &aad)?, &aad)?;
                    let (sql, mut values): (String, Vec<Value>) = match pk {
                        Pk::Id => (
                            format!(
                                "UPDATE {table} SET {column} = $1 WHERE id = $2 AND {column} = $3"
                            ),
                            vec![new.into(), row.try_get::<Uuid>("", "id")?.into()],
                        ),
                        Pk::SubjectKey => (
                            format!(
                                "UPDATE {table} SET {column} = $1 WHERE subject = $2 AND key = $3 AND {column} = $4"
                            ),
                            vec![
                                new.into(),
                                row.try_get::<String>("", "subject")?.into(),
                                row.try_get::<String>("", "key")?.into(),
                            ],
                        ),
                    };
                    values.push(old.into());
                    conn.execute_raw(statement(backend, &sql, values)).await?;
                    done += 1;
                }
            }
        }
        report.push((*table, done));
    }
    report.push(("key_check", crate::key_check::reseal(conn, keys).await?));
    Ok(report)
}
