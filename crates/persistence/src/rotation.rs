//! Key rotation: re-seal every content value under the current key, in batches, while the
//! service runs — and bound to its row, column and the row's fields that decide who reads it
//! (`enc:v3:`): a value in an older format (`enc:v1:` without associated data, `enc:v2:`
//! bound to its row only) is re-sealed even under the current key. Each value
//! is rewritten only if it is still the one read (a concurrent write, already sealed under
//! the current key, is left alone). Values written before
//! encryption existed are sealed too. The key check is re-sealed last, once the content no
//! longer needs the old keys.

use sea_orm::{ConnectionTrait, QueryResult, Value};
use uuid::Uuid;

use crate::{
    crypto::{Aad, ERASED, Keyring, V3},
    error::StoreError,
    sql::statement,
};

const BATCH: u64 = 500;

enum Pk {
    Id,
    SubjectKey,
}

/// The type of a bound field, to read it from its row.
#[derive(Clone, Copy)]
enum Kind {
    Uuid,
    Text,
    Int,
}

/// The fields of a row a sealed value is bound to besides its place (what decides who may
/// read it, and its revision where every write re-seals): the same names, in the same order,
/// as the repositories pass to [`Aad::and`].
type Bound = &'static [(&'static str, Kind)];

const NOTE: Bound = &[
    ("pair_id", Kind::Uuid),
    ("author_id", Kind::Uuid),
    ("visibility", Kind::Text),
    ("revision", Kind::Int),
];
const OBJECTIVE: Bound = &[("pair_id", Kind::Uuid), ("revision", Kind::Int)];
const OBJECTIVE_REVISION: Bound = &[("objective_id", Kind::Uuid), ("revision", Kind::Int)];
const MEETING: Bound = &[("pair_id", Kind::Uuid), ("words_revision", Kind::Int)];
const CONCERN: Bound = &[
    ("pair_id", Kind::Uuid),
    ("program_id", Kind::Uuid),
    ("author_id", Kind::Uuid),
];
const FEEDBACK: Bound = &[("pair_id", Kind::Uuid), ("author_id", Kind::Uuid)];
const MENTEE_REQUEST: Bound = &[
    ("mentee_person_id", Kind::Uuid),
    ("mentor_person_id", Kind::Uuid),
];

/// Every content column, by table, with the fields its values are bound to.
const SEALED: &[(&str, Pk, &[&str], Bound)] = &[
    (
        "objectives",
        Pk::Id,
        &["title", "description", "success_criteria"],
        OBJECTIVE,
    ),
    (
        "objective_revisions",
        Pk::Id,
        &["changes", "comment"],
        OBJECTIVE_REVISION,
    ),
    (
        "meetings",
        Pk::Id,
        &["location_label", "agenda", "summary", "cancel_reason"],
        MEETING,
    ),
    ("pairs", Pk::Id, &["end_reason_text"], &[]),
    ("notes", Pk::Id, &["body"], NOTE),
    ("concerns", Pk::Id, &["text", "response"], CONCERN),
    ("feedback", Pk::Id, &["comment"], FEEDBACK),
    ("mentee_requests", Pk::Id, &["message"], MENTEE_REQUEST),
    ("webhooks", Pk::Id, &["secret", "previous_secret"], &[]),
    ("idempotency_keys", Pk::SubjectKey, &["response_body"], &[]),
];

/// Every content column, as `(table, column, the columns to select to bind a value: its
/// primary key's and its bound fields')`.
pub(crate) fn sealed_columns() -> impl Iterator<Item = (&'static str, &'static str, String)> {
    SEALED.iter().flat_map(|(table, pk, columns, bound)| {
        columns
            .iter()
            .map(move |column| (*table, *column, select_columns(pk, bound)))
    })
}

fn key_columns(pk: &Pk) -> &'static str {
    match pk {
        Pk::Id => "id",
        Pk::SubjectKey => "subject, key",
    }
}

fn select_columns(pk: &Pk, bound: Bound) -> String {
    let mut out = key_columns(pk).to_owned();
    for (field, _) in bound {
        out.push_str(", ");
        out.push_str(field);
    }
    out
}

fn bound_of(table: &str) -> Bound {
    SEALED
        .iter()
        .find(|(t, ..)| *t == table)
        .map(|(.., bound)| *bound)
        .unwrap_or(&[])
}

/// What binds a value to its row, read with [`sealed_columns`]' columns: its primary key
/// and its bound fields, as text.
pub(crate) struct RowKey {
    key: Key,
    bound: Vec<(&'static str, String)>,
}

enum Key {
    Id(Uuid),
    Keyed(String, String),
}

impl RowKey {
    pub(crate) fn read(
        table: &str,
        select_columns: &str,
        row: &QueryResult,
    ) -> Result<Self, StoreError> {
        let key = if select_columns.starts_with("id") {
            Key::Id(row.try_get("", "id")?)
        } else {
            Key::Keyed(row.try_get("", "subject")?, row.try_get("", "key")?)
        };
        let mut bound = Vec::new();
        for (field, kind) in bound_of(table) {
            let text = match kind {
                Kind::Uuid => row.try_get::<Uuid>("", field)?.to_string(),
                Kind::Text => row.try_get::<String>("", field)?,
                Kind::Int => row.try_get::<i32>("", field)?.to_string(),
            };
            bound.push((*field, text));
        }
        Ok(Self { key, bound })
    }

    pub(crate) fn aad<'a>(&'a self, table: &'a str, column: &'a str) -> Aad<'a> {
        let aad = match &self.key {
            Key::Id(id) => Aad::row(table, column, *id),
            Key::Keyed(subject, key) => Aad::keyed(table, column, subject, key),
        };
        self.bound
            .iter()
            .fold(aad, |aad, (field, text)| aad.and(field, text))
    }
}

/// The content columns that hold a value in an older format than the current one
/// (`enc:v1:`, `enc:v2:` or a plaintext), as `table.column`: what `serve` would refuse to
/// read, and `mentorat migrate` re-seals. One query per column (a scan where none remains).
pub async fn old_formats(conn: &impl ConnectionTrait) -> Result<Vec<String>, StoreError> {
    let backend = conn.get_database_backend();
    let mut found = Vec::new();
    for (table, _, columns, _) in SEALED {
        for column in *columns {
            let sql = format!(
                "SELECT 1 AS one FROM {table} WHERE {column} IS NOT NULL AND {column} NOT LIKE $1 \
                 AND {column} <> '{ERASED}' LIMIT 1"
            );
            let row = conn
                .query_one_raw(statement(backend, &sql, vec![format!("{V3}%").into()]))
                .await?;
            if row.is_some() {
                found.push(format!("{table}.{column}"));
            }
        }
    }
    // A meeting whose words were sealed before migration 000025 (not bound to their revision).
    let sql = format!(
        "SELECT 1 AS one FROM meetings WHERE words_revision IS NULL AND ({UNBOUND_WORDS}) LIMIT 1"
    );
    if conn
        .query_one_raw(statement(backend, &sql, vec![]))
        .await?
        .is_some()
    {
        found.push("meetings.words_revision".to_owned());
    }
    Ok(found)
}

const MEETING_WORDS: [&str; 4] = ["location_label", "agenda", "summary", "cancel_reason"];
const UNBOUND_WORDS: &str = "location_label IS NOT NULL OR agenda IS NOT NULL \
     OR summary IS NOT NULL OR cancel_reason IS NOT NULL";

/// Meetings whose words were sealed before migration 000025, bound to their row, column and
/// pair only: opened as they were sealed and re-sealed together at the meeting's revision
/// (`words_revision`), in batches. Each row is rewritten only if nobody wrote its words
/// meanwhile (they would be bound already). How many meetings were re-sealed.
async fn bind_meeting_words(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
) -> Result<u64, StoreError> {
    let backend = conn.get_database_backend();
    let select = format!(
        "SELECT id, pair_id, revision, location_label, agenda, summary, cancel_reason \
         FROM meetings WHERE words_revision IS NULL AND ({UNBOUND_WORDS}) LIMIT {BATCH}"
    );
    let mut done = 0u64;
    loop {
        let rows = conn
            .query_all_raw(statement(backend, &select, vec![]))
            .await?;
        if rows.is_empty() {
            return Ok(done);
        }
        for row in &rows {
            let id: Uuid = row.try_get("", "id")?;
            let pair_id: Uuid = row.try_get("", "pair_id")?;
            let revision: i32 = row.try_get("", "revision")?;
            let mut values: Vec<Value> = Vec::new();
            for column in MEETING_WORDS {
                let old: Option<String> = row.try_get("", column)?;
                let new = match old {
                    // Destroyed (R14): left the marker, never sealed again.
                    Some(old) if old == ERASED => Some(old),
                    Some(old) => {
                        let words = keys.open_to_reseal(
                            &old,
                            &crate::meetings::unbound_aad(column, id, pair_id),
                        )?;
                        let aad = Aad::row("meetings", column, id)
                            .and("pair_id", pair_id)
                            .and("words_revision", revision);
                        Some(keys.seal(&words, &aad)?)
                    }
                    None => None,
                };
                values.push(new.into());
            }
            values.extend([revision.into(), id.into()]);
            conn.execute_raw(statement(
                backend,
                "UPDATE meetings SET location_label = $1, agenda = $2, summary = $3, \
                   cancel_reason = $4, words_revision = $5 \
                 WHERE id = $6 AND words_revision IS NULL",
                values,
            ))
            .await?;
            done += 1;
        }
    }
}

/// How many values were re-sealed, by table.
pub async fn rotate(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
) -> Result<Vec<(&'static str, u64)>, StoreError> {
    let backend = conn.get_database_backend();
    let current = format!("{V3}{}:%", keys.current_id());
    let mut report = vec![(
        "meetings (bound to their words' revision)",
        bind_meeting_words(conn, keys).await?,
    )];
    for (table, pk, columns, bound) in SEALED {
        let mut done = 0u64;
        for column in *columns {
            let key_cols = select_columns(pk, bound);
            let select = format!(
                "SELECT {key_cols}, {column} AS value FROM {table} \
                 WHERE {column} IS NOT NULL AND {column} NOT LIKE $1 AND {column} <> '{ERASED}' \
                 LIMIT {BATCH}"
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
                    let place = RowKey::read(table, &key_cols, row)?;
                    let aad = place.aad(table, column);
                    let new = keys.seal(&keys.open_to_reseal(&old, &aad)?, &aad)?;
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

/// Every sealed value of the database opened with `keys` where it is stored, as
/// `(table, column, plaintext)` — for the tests and audits that must show what the
/// database still says (R14: after an erasure, none of the person's words). Erased values
/// open as empty texts.
pub async fn open_all(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
) -> Result<Vec<(&'static str, &'static str, String)>, StoreError> {
    let backend = conn.get_database_backend();
    let mut out = Vec::new();
    for (table, pk, columns, bound) in SEALED {
        let key_cols = select_columns(pk, bound);
        for column in *columns {
            let sql = format!(
                "SELECT {key_cols}, {column} AS value FROM {table} WHERE {column} IS NOT NULL"
            );
            for row in conn
                .query_all_raw(statement(backend, &sql, Vec::new()))
                .await?
            {
                let value: String = row.try_get("", "value")?;
                let place = RowKey::read(table, &key_cols, &row)?;
                out.push((
                    *table,
                    *column,
                    keys.open_to_reseal(&value, &place.aad(table, column))?,
                ));
            }
        }
    }
    Ok(out)
}
