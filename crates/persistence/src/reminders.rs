//! What the meeting-reminder task reads and writes: the meetings whose reminder may be due,
//! claimed for the caller's transaction, and the mark that they were reminded.

use chrono::{DateTime, Duration, Utc};
use mentorat_domain::{meeting::MeetingStatus, pair::PairStatus, reminder::ReminderFacts};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use uuid::Uuid;

use crate::{error::StoreError, sql::statement};

/// A meeting whose reminder may be due, with what the reminder names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub meeting_id: Uuid,
    pub pair_id: Uuid,
    pub program_id: Uuid,
    pub mentor_person_id: Uuid,
    pub mentee_person_id: Uuid,
    pub facts: ReminderFacts,
}

/// SQLite has one writer at a time and no row locks: the task's transaction takes the write
/// lock with its first statement, waiting its turn under the busy timeout (as `BEGIN
/// IMMEDIATE` would), rather than read first and be refused the upgrade when another
/// replica on the same file wrote meanwhile (see `erasure::is_erased`). A no-op on
/// PostgreSQL, where the rows are claimed one by one (`SKIP LOCKED`).
pub async fn begin_claim(conn: &impl ConnectionTrait) -> Result<(), StoreError> {
    let backend = conn.get_database_backend();
    if backend != DbBackend::Postgres {
        conn.execute_raw(Statement::from_string(
            backend,
            "UPDATE meetings SET reminded_for = reminded_for WHERE 0 = 1",
        ))
        .await?;
    }
    Ok(())
}

/// The lead times programs use (hours, each above zero).
pub async fn lead_times(conn: &impl ConnectionTrait) -> Result<Vec<i32>, StoreError> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT DISTINCT reminder_hours FROM programs WHERE reminder_hours > 0 \
             ORDER BY reminder_hours",
        ))
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("", "reminder_hours"))
        .collect::<Result<_, _>>()?)
}

/// The scheduled meetings of active pairs, in programs whose lead time is `hours`, that start
/// after `now` and at most `hours` after it and were not reminded for their start time: at
/// most `limit`, soonest first, locked for the transaction. On PostgreSQL rows another
/// replica holds (its own claim, or a member moving or cancelling the meeting) are skipped
/// (`SKIP LOCKED`): replicas share the work, none waits, and a meeting is never claimed by two.
pub async fn claim(
    conn: &impl ConnectionTrait,
    hours: i32,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Candidate>, StoreError> {
    let backend = conn.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE OF m SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "SELECT m.id AS meeting_id, m.pair_id AS pair_id, m.starts_at AS starts_at, \
                m.status AS status, m.reminded_for AS reminded_for, p.program_id AS program_id, \
                p.status AS pair_status, p.mentor_person_id AS mentor_person_id, \
                p.mentee_person_id AS mentee_person_id, g.reminder_hours AS reminder_hours \
         FROM meetings m JOIN pairs p ON p.id = m.pair_id JOIN programs g ON g.id = p.program_id \
         WHERE m.status = $1 AND p.status = $2 AND g.reminder_hours = $3 \
           AND m.starts_at > $4 AND m.starts_at <= $5 \
           AND (m.reminded_for IS NULL OR m.reminded_for <> m.starts_at) \
         ORDER BY m.starts_at, m.id LIMIT {limit}{lock}"
    );
    let values: Vec<Value> = vec![
        MeetingStatus::Scheduled.as_str().into(),
        PairStatus::Active.as_str().into(),
        hours.into(),
        now.into(),
        (now + Duration::hours(i64::from(hours))).into(),
    ];
    let rows = conn.query_all_raw(statement(backend, &sql, values)).await?;
    rows.iter()
        .map(|r| {
            let status: String = r.try_get("", "status")?;
            let pair_status: String = r.try_get("", "pair_status")?;
            let meeting_id: Uuid = r.try_get("", "meeting_id")?;
            Ok(Candidate {
                meeting_id,
                pair_id: r.try_get("", "pair_id")?,
                program_id: r.try_get("", "program_id")?,
                mentor_person_id: r.try_get("", "mentor_person_id")?,
                mentee_person_id: r.try_get("", "mentee_person_id")?,
                facts: ReminderFacts {
                    starts_at: r.try_get("", "starts_at")?,
                    status: MeetingStatus::parse(&status).ok_or_else(|| {
                        StoreError::Corrupt(format!("meeting {meeting_id} has status {status:?}"))
                    })?,
                    pair_status: PairStatus::parse(&pair_status).ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "the pair of meeting {meeting_id} has status {pair_status:?}"
                        ))
                    })?,
                    reminder_hours: r.try_get("", "reminder_hours")?,
                    reminded_for: r.try_get("", "reminded_for")?,
                },
            })
        })
        .collect()
}

/// Mark the meetings reminded for the start time they have now (the stored value itself is
/// copied, so the comparison of [`claim`] is exact on both engines).
pub async fn mark_reminded(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let backend = conn.get_database_backend();
    let list = (1..=ids.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    conn.execute_raw(statement(
        backend,
        &format!("UPDATE meetings SET reminded_for = starts_at WHERE id IN ({list})"),
        ids.iter().map(|id| Value::from(*id)).collect(),
    ))
    .await?;
    Ok(())
}
