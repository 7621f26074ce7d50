//! R14: the erasers. One per column of words of the domain's registry
//! ([`mentorat_domain::erasure::WORDS`]), run for a person ([`erase_person`]) or for the
//! pairs whose retention has run out ([`retention_batch`]). A destroyed sealed value is left
//! as [`ERASED`] — no ciphertext, so no key opens it — and a plain column as `NULL`. The
//! stored answers of `Idempotency-Key` requests that could carry the words are destroyed
//! whole (the person's own are deleted; others' that name one of their pairs, enrollments
//! or themselves lose their body, a replay is then `409`), their notifications and calendar
//! feed are deleted, and their identity is blanked to a pseudonym.
//!
//! Complete by construction: the test below fails when a sealed column of
//! [`crate::rotation`]'s list (which `rotate-key` must reach, so every sealed column is
//! there) has no entry in the domain's registry; the black-box tests scan every table
//! of the database for sealed values in columns the registry does not know.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use mentorat_domain::erasure::{
    Blank, Destroyed, Kind, PairOf, WORDS, Whose, Words, erased_identity, pseudonym,
};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{crypto::ERASED, error::StoreError};

/// The pseudonym an erased person's external id becomes.
pub fn pseudonym_of(external_id: &str) -> String {
    pseudonym(&Sha256::digest(external_id.as_bytes()))
}

/// A statement written with `$1, $2, …`, each number usable several times.
fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => sql.to_owned(),
        _ => {
            let mut out = sql.to_owned();
            for n in (1..=values.len()).rev() {
                out = out.replace(&format!("${n}"), &format!("?{n}"));
            }
            out
        }
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// The person's rows of a column, with their id in `$1`.
fn of_person(whose: Whose) -> String {
    match whose {
        Whose::Author(col) => format!("{col} = $1"),
        Whose::ObjectiveTouchedBy(col) => format!(
            "{col} IN (SELECT id FROM objectives WHERE proposed_by = $1 \
             UNION SELECT objective_id FROM objective_revisions \
             WHERE changed_by = $1 AND action IN ('proposed', 'edited'))"
        ),
        Whose::Joint(col) => format!(
            "{col} IN (SELECT id FROM pairs WHERE mentor_person_id = $1 OR mentee_person_id = $1)"
        ),
    }
}

/// The rows of a column in the pairs `$1 … $n`, if it belongs to pairs.
fn of_pairs(pair: PairOf, n: usize) -> Option<String> {
    let list = (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    match pair {
        PairOf::Column(col) => Some(format!("{col} IN ({list})")),
        PairOf::Objective(col) => Some(format!(
            "{col} IN (SELECT id FROM objectives WHERE pair_id IN ({list}))"
        )),
        PairOf::Program(_) => None,
    }
}

/// Destroy the values of `words` in the rows `condition` names; the ids of the rows changed.
async fn erase_column(
    conn: &impl ConnectionTrait,
    words: &Words,
    condition: &str,
    values: Vec<Value>,
) -> Result<Vec<Uuid>, StoreError> {
    let (table, column) = (words.table, words.column);
    let set = match words.blank {
        Blank::Sealed => format!("'{ERASED}'"),
        Blank::Null => "NULL".to_owned(),
    };
    let untouched = match words.blank {
        Blank::Sealed => format!(" AND {column} <> '{ERASED}'"),
        Blank::Null => String::new(),
    };
    let sql = format!(
        "UPDATE {table} SET {column} = {set} \
         WHERE {column} IS NOT NULL{untouched} AND {condition} RETURNING id"
    );
    let rows = conn
        .query_all_raw(stmt(conn.get_database_backend(), &sql, values))
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("", "id"))
        .collect::<Result<_, _>>()?)
}

/// Run every eraser of the registry over the rows `condition_of` names; counted by kind,
/// a row once whatever the number of its columns destroyed.
async fn erase_words(
    conn: &impl ConnectionTrait,
    condition_of: impl Fn(&Words) -> Option<String>,
    values: &[Value],
) -> Result<Destroyed, StoreError> {
    let mut rows: std::collections::BTreeMap<(Kind, &str), HashSet<Uuid>> = Default::default();
    for words in WORDS {
        let Some(condition) = condition_of(words) else {
            continue;
        };
        let ids = erase_column(conn, words, &condition, values.to_vec()).await?;
        rows.entry((words.kind, words.table))
            .or_default()
            .extend(ids);
    }
    let mut destroyed = Destroyed::default();
    for ((kind, _), ids) in rows {
        destroyed.add(kind, ids.len() as u64);
    }
    Ok(destroyed)
}

/// What an erasure found of the person before it began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasable {
    pub external_id: String,
    pub erased_at: Option<DateTime<Utc>>,
}

/// Lock the person's row for the rest of the transaction (every write by them checks it
/// before it commits, [`still_there`]) and read what the erasure needs. `None`: no such person.
pub async fn lock_person(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<Erasable>, StoreError> {
    let backend = conn.get_database_backend();
    // An update takes the row's write lock on both engines (SQLite: the database's).
    conn.execute_raw(stmt(
        backend,
        "UPDATE people SET revision = revision WHERE id = $1",
        vec![id.into()],
    ))
    .await?;
    let row = conn
        .query_one_raw(stmt(
            backend,
            "SELECT external_id, erased_at FROM people WHERE id = $1",
            vec![id.into()],
        ))
        .await?;
    row.map(|r| {
        Ok(Erasable {
            external_id: r.try_get("", "external_id")?,
            erased_at: r.try_get("", "erased_at")?,
        })
    })
    .transpose()
}

/// Before a write by `external_id` commits: has that person been erased (or is being
/// erased by a transaction that commits first)? Takes a share lock on their row, so that an
/// erasure that began first is waited for, and one that begins later waits for this write
/// to commit — and then destroys its words. No person of that id: `false`.
pub async fn is_erased(conn: &impl ConnectionTrait, external_id: &str) -> Result<bool, StoreError> {
    let backend = conn.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR SHARE"
    } else {
        // SQLite has no row locks and one writer at a time. This read is the first statement
        // of a write's unit: left a plain read, the unit would hold a read snapshot and then
        // try to upgrade it to a write, which SQLite refuses at once (SQLITE_BUSY, no waiting)
        // when another connection — another replica on the same file — wrote meanwhile. A
        // write that changes nothing takes the write lock first, waiting its turn under the
        // busy timeout, as `BEGIN IMMEDIATE` would; the erasure then waits for it, or it for
        // the erasure.
        conn.execute_raw(Statement::from_string(
            backend,
            "UPDATE people SET erased_at = erased_at WHERE 0 = 1",
        ))
        .await?;
        ""
    };
    let sql = format!("SELECT erased_at FROM people WHERE external_id IN ($1, $2){lock}");
    let rows = conn
        .query_all_raw(stmt(
            backend,
            &sql,
            vec![external_id.into(), pseudonym_of(external_id).into()],
        ))
        .await?;
    for row in rows {
        if row
            .try_get::<Option<DateTime<Utc>>>("", "erased_at")?
            .is_some()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// R14, a re-import: the external ids `created` are new people whose derived pseudonym an
/// erased record holds (the caller found it with its look-up of the existing rows) (an HRIS `PUT`, a CSV row, a
/// SCIM `POST`), in the caller's transaction. An erased person once known by one of them
/// keeps their row (their pairs, counts and tallies) but not the pseudonym derived from it:
/// it becomes a random one, so the newcomer is not linked to the erased record by anything
/// computable from their external id, and the erased person's lock-out (which recognises
/// their old tokens by that derived pseudonym) no longer refuses the newcomer. Returns the
/// external ids and derived pseudonyms released, for this replica's set of leavers.
pub async fn unlink_reimported(
    conn: &impl ConnectionTrait,
    created: &[&str],
) -> Result<Vec<String>, StoreError> {
    let backend = conn.get_database_backend();
    let mut released = Vec::new();
    for external_id in created {
        let derived = pseudonym_of(external_id);
        let random = pseudonym(Uuid::new_v4().as_bytes());
        let n = conn
            .execute_raw(stmt(
                backend,
                "UPDATE people SET external_id = $2 WHERE external_id = $1 AND erased_at IS NOT NULL",
                vec![derived.clone().into(), random.clone().into()],
            ))
            .await?
            .rows_affected();
        if n > 0 {
            conn.execute_raw(stmt(
                backend,
                "UPDATE people SET manager_external_id = $2 WHERE manager_external_id = $1",
                vec![derived.clone().into(), random.into()],
            ))
            .await?;
            released.push((*external_id).to_owned());
            released.push(derived);
        }
    }
    Ok(released)
}

/// Destroy every word the person `id` wrote, their stored answers, notifications and
/// calendar feed, and blank their identity to the pseudonym of `external_id` — in the
/// caller's transaction, after [`lock_person`]. A second time destroys nothing more.
pub async fn erase_person(
    conn: &impl ConnectionTrait,
    id: Uuid,
    external_id: &str,
    now: DateTime<Utc>,
) -> Result<Destroyed, StoreError> {
    let backend = conn.get_database_backend();
    let mut destroyed = erase_words(conn, |w| Some(of_person(w.whose)), &[id.into()]).await?;

    // Stored answers: the person's own, deleted; any other that names one of their pairs,
    // their enrollments or themselves, its body destroyed (a replay is then `409`).
    let own = conn
        .execute_raw(stmt(
            backend,
            "DELETE FROM idempotency_keys WHERE subject = $1 OR subject = $2",
            vec![external_id.into(), pseudonym_of(external_id).into()],
        ))
        .await?
        .rows_affected();
    let mut named: Vec<Uuid> = vec![id];
    for sql in [
        "SELECT id FROM pairs WHERE mentor_person_id = $1 OR mentee_person_id = $1",
        "SELECT id FROM enrollments WHERE person_id = $1",
    ] {
        for row in conn
            .query_all_raw(stmt(backend, sql, vec![id.into()]))
            .await?
        {
            named.push(row.try_get("", "id")?);
        }
    }
    let mut others = 0;
    for chunk in named.chunks(200) {
        let like = (1..=chunk.len())
            .map(|i| format!("resource LIKE ${i}"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let sql = format!(
            "UPDATE idempotency_keys SET response_body = NULL \
             WHERE response_body IS NOT NULL AND ({like})"
        );
        let values = chunk
            .iter()
            .map(|u| Value::from(format!("%{}%", u.hyphenated())))
            .collect();
        others += conn
            .execute_raw(stmt(backend, &sql, values))
            .await?
            .rows_affected();
    }
    destroyed.add(Kind::StoredAnswers, own + others);

    // What SCIM kept of them (the identity provider's id for them, their e-mail addresses
    // and phone numbers as sent): identity, blanked with the rest; a SCIM `POST` of the same
    // user later is a new person.
    conn.execute_raw(stmt(
        backend,
        "DELETE FROM scim_users WHERE person_id = $1",
        vec![id.into()],
    ))
    .await?;

    for (kind, table) in [
        (Kind::Notifications, "notifications"),
        (Kind::CalendarFeeds, "calendar_feeds"),
    ] {
        let n = conn
            .execute_raw(stmt(
                backend,
                &format!("DELETE FROM {table} WHERE person_id = $1"),
                vec![id.into()],
            ))
            .await?
            .rows_affected();
        destroyed.add(kind, n);
    }

    // Identity: a pseudonym, nothing else. Who named them as their manager now names the
    // pseudonym (the hierarchy, R-conflicts, is kept; the id is not).
    let identity = erased_identity(
        if external_id.starts_with(mentorat_domain::erasure::PSEUDONYM_PREFIX) {
            external_id.to_owned()
        } else {
            pseudonym_of(external_id)
        },
    );
    conn.execute_raw(stmt(
        backend,
        "UPDATE people SET external_id = $2, given_name = $3, family_name = $4, email = $5, \
         department = NULL, job_title = NULL, site = NULL, manager_external_id = NULL, \
         active = FALSE, erased_at = COALESCE(erased_at, $6), \
         revision = CASE WHEN erased_at IS NULL THEN revision + 1 ELSE revision END, \
         updated_at = CASE WHEN erased_at IS NULL THEN $6 ELSE updated_at END \
         WHERE id = $1",
        vec![
            id.into(),
            identity.external_id.clone().into(),
            identity.given_name.into(),
            identity.family_name.into(),
            identity.email.into(),
            now.into(),
        ],
    ))
    .await?;
    if identity.external_id != external_id {
        conn.execute_raw(stmt(
            backend,
            "UPDATE people SET manager_external_id = $2 WHERE manager_external_id = $1",
            vec![external_id.into(), identity.external_id.into()],
        ))
        .await?;
    }
    Ok(destroyed)
}

/// A pair `p` of program `g` whose retention has run out at the cutoff `$1`: ended or
/// completed before it, or of a program closed before it.
const EXPIRED: &str = "((p.status IN ('ended', 'completed') AND p.ended_at < $1) \
     OR (g.status = 'closed' AND g.updated_at < $1))";

fn ids(rows: &[sea_orm::QueryResult]) -> Result<Vec<Uuid>, StoreError> {
    Ok(rows
        .iter()
        .map(|r| r.try_get("", "id"))
        .collect::<Result<_, _>>()?)
}

/// The pairs whose words the retention task may destroy now: expired ([`EXPIRED`]) and not
/// done yet. At most `limit`, locked for the transaction; on PostgreSQL rows another
/// replica holds are skipped (`SKIP LOCKED`), so several replicas share the work and none
/// waits.
async fn expired_pairs(
    conn: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Uuid>, StoreError> {
    let backend = conn.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE OF p SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "SELECT p.id AS id FROM pairs p JOIN programs g ON g.id = p.program_id \
         WHERE NOT EXISTS (SELECT 1 FROM pair_words_destroyed d WHERE d.pair_id = p.id) \
         AND {EXPIRED} ORDER BY p.id LIMIT {limit}{lock}"
    );
    let rows = conn
        .query_all_raw(stmt(backend, &sql, vec![cutoff.into()]))
        .await?;
    ids(&rows)
}

/// Pairs already done that hold words again: written after their run (the final
/// evaluation's comments come after the end; a concern may be raised on an ended pair; an
/// active pair of a program closed long ago keeps being written). Found by what the
/// database holds — any value of a column of the registry, in a done pair still expired,
/// that is not destroyed — rather than by when it was written, so that no writer can be
/// forgotten. At most `limit`, locked as [`expired_pairs`] locks them.
async fn rewritten_pairs(
    conn: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Uuid>, StoreError> {
    let backend = conn.get_database_backend();
    let mut found = std::collections::BTreeSet::new();
    for words in WORDS {
        if found.len() as u64 >= limit {
            break;
        }
        let column = words.column;
        let live = match words.blank {
            Blank::Sealed => format!("t.{column} IS NOT NULL AND t.{column} <> '{ERASED}'"),
            Blank::Null => format!("t.{column} IS NOT NULL"),
        };
        let (pair, via) = match words.pair {
            PairOf::Column(col) => (format!("t.{col}"), String::new()),
            PairOf::Objective(col) => (
                "o.pair_id".to_owned(),
                format!(" JOIN objectives o ON o.id = t.{col}"),
            ),
            PairOf::Program(_) => continue,
        };
        let sql = format!(
            "SELECT DISTINCT {pair} AS id FROM {table} t{via} \
             JOIN pair_words_destroyed d ON d.pair_id = {pair} \
             JOIN pairs p ON p.id = d.pair_id JOIN programs g ON g.id = p.program_id \
             WHERE {live} AND {EXPIRED} LIMIT {limit}",
            table = words.table,
        );
        let rows = conn
            .query_all_raw(stmt(backend, &sql, vec![cutoff.into()]))
            .await?;
        found.extend(ids(&rows)?);
    }
    let found: Vec<Uuid> = found.into_iter().take(limit as usize).collect();
    if found.is_empty() || backend != DbBackend::Postgres {
        return Ok(found);
    }
    let list = (1..=found.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = conn
        .query_all_raw(stmt(
            backend,
            &format!(
                "SELECT id FROM pairs WHERE id IN ({list}) ORDER BY id FOR UPDATE SKIP LOCKED"
            ),
            found.into_iter().map(Value::from).collect(),
        ))
        .await?;
    ids(&rows)
}

/// One batch of the retention task, in the caller's transaction: the words of up to
/// `limit` expired pairs destroyed — pairs not done yet, then done pairs written to since —
/// the pairs marked done (with the time of their latest run). Returns how many pairs, and
/// what.
pub async fn retention_batch(
    conn: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<(u64, Destroyed), StoreError> {
    let mut pairs = expired_pairs(conn, cutoff, limit).await?;
    if (pairs.len() as u64) < limit {
        pairs.extend(rewritten_pairs(conn, cutoff, limit - pairs.len() as u64).await?);
    }
    if pairs.is_empty() {
        return Ok((0, Destroyed::default()));
    }
    let values: Vec<Value> = pairs.iter().map(|id| Value::from(*id)).collect();
    let destroyed = erase_words(conn, |w| of_pairs(w.pair, pairs.len()), &values).await?;
    let backend = conn.get_database_backend();
    let rows = (0..pairs.len())
        .map(|i| format!("(${}, ${})", i + 1, pairs.len() + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let mut done = values;
    done.push(now.into());
    conn.execute_raw(stmt(
        backend,
        &format!(
            "INSERT INTO pair_words_destroyed (pair_id, destroyed_at) VALUES {rows} \
             ON CONFLICT (pair_id) DO UPDATE SET destroyed_at = excluded.destroyed_at"
        ),
        done,
    ))
    .await?;
    Ok((pairs.len() as u64, destroyed))
}

/// Of the retention task: the words kept by program rather than by pair (enrollments'
/// goals) of the programs closed before `cutoff`, destroyed. One statement a column; a
/// value destroyed is `NULL`, so a later run finds nothing more (and goals written after
/// the close, when a closed program takes no enrollment, would be found again).
pub async fn retention_programs(
    conn: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
) -> Result<Destroyed, StoreError> {
    erase_words(
        conn,
        |w| match w.pair {
            PairOf::Program(col) => Some(format!(
                "{col} IN (SELECT id FROM programs WHERE status = 'closed' AND updated_at < $1)"
            )),
            _ => None,
        },
        &[cutoff.into()],
    )
    .await
}

#[cfg(test)]
mod tests {
    use mentorat_domain::erasure::{NOT_WORDS, words_of};

    /// Every sealed column (`rotate-key` re-seals them all, so its list is complete: a
    /// column it missed would stop opening after a rotation) is either words with an
    /// eraser, or listed as holding none. A new column of words without an eraser fails here.
    #[test]
    fn every_sealed_column_has_an_eraser() {
        for (table, column, _) in crate::rotation::sealed_columns() {
            assert!(
                words_of(table, column).is_some() || NOT_WORDS.contains(&(table, column)),
                "{table}.{column} is sealed but has no eraser in mentorat_domain::erasure::WORDS"
            );
        }
    }

    /// …and every eraser's sealed column is one `rotate-key` knows (no typo erasing nothing).
    #[test]
    fn every_sealed_eraser_names_a_sealed_column() {
        let sealed: Vec<_> = crate::rotation::sealed_columns()
            .map(|(t, c, _)| (t, c))
            .collect();
        for w in mentorat_domain::erasure::WORDS {
            if w.blank == mentorat_domain::erasure::Blank::Sealed {
                assert!(
                    sealed.contains(&(w.table, w.column)),
                    "{}.{}",
                    w.table,
                    w.column
                );
            }
        }
    }
}
