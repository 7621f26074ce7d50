//! The running counts a program report reads (see migration 000010), kept in the same
//! transaction as the change they count — so a report never reads 500,000 meetings, and a
//! rolled-back change is never counted. Each use case that writes a counted fact calls one
//! function here, in its transaction, after the repository's write (repositories run SQL and
//! nothing else):
//!
//! | fact | kept by |
//! |---|---|
//! | a pair's report group (mentee's department and site when the pair formed), cross-department | [`stamp_pair`] after `pairs::insert` (`service::pairs::propose`) |
//! | a pair has an agreed / an achieved objective — and the month it first had one, in `report_pair_events` | [`refresh_objectives`] after every objective write |
//! | a pair entered a status (proposed, active, completed, ended, suspended), in the month it did | [`record_pair_status`] after `pairs::{insert (and stamp_pair), record_acceptance, end, suspend_pairs_of, complete_program}` |
//! | a meeting held, missed, cancelled or late (UTC day it was recorded) — by program and group — and its pair's mentee in the month's meeting cell | [`count_meetings`] after `meetings::{cancel, close, cancel_scheduled_after}` by a member |
//! | a cancellation made up for, and the days it took | [`record_reschedule`] after `meetings::insert` of a rescheduling |
//! | feedback scores by program, day, group, dimension; the feedback's program and group | [`count_feedback`] after `feedback::insert` |
//! | a pair's meetings by status, owed reschedules, first and latest held start, earliest and latest scheduled start, latest held or scheduled start (what its answer shows, pair health's candidates) | [`refresh_meeting_facts`] after every meeting write |
//! | a pair's objectives by status | [`refresh_objectives`] after every objective write (proposal included) |
//! | a pair's charter standing (members' accepted versions, the program's current one) and cadence | [`refresh_standing`] after `pairs::insert`, `enrollments::accept_charter`, `charters::add`, a cadence change in `programs::update` |

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Value};
use uuid::Uuid;

use crate::{error::StoreError, locks::PairsOf, sql::statement};

/// The UTC calendar day of a timestamp column, `YYYY-MM-DD` on both databases.
pub(crate) fn day(backend: DbBackend, col: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        _ => format!("date({col})"),
    }
}

async fn exec(
    conn: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<(), StoreError> {
    conn.execute_raw(statement(conn.get_database_backend(), sql, values))
        .await?;
    Ok(())
}

/// A new pair's report group, frozen: a later move of the mentee does not move the pair's
/// history from one group of a report to another.
pub async fn stamp_pair(conn: &impl ConnectionTrait, pair_id: Uuid) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE pairs SET \
           report_department = COALESCE((SELECT department FROM people \
             WHERE people.id = pairs.mentee_person_id), '(none)'), \
           report_site = COALESCE((SELECT site FROM people \
             WHERE people.id = pairs.mentee_person_id), '(none)'), \
           cross_department = COALESCE((SELECT mr.department <> me.department \
             FROM people mr, people me \
             WHERE mr.id = pairs.mentor_person_id AND me.id = pairs.mentee_person_id), false) \
         WHERE id = $1",
        vec![pair_id.into()],
    )
    .await
}

/// Whether the pair has an agreed objective and an achieved one, and its objectives by
/// status (what its answer shows), recounted after any objective write (the use case holds
/// the pair's lock).
pub async fn refresh_objectives(
    conn: &impl ConnectionTrait,
    pair_id: Uuid,
) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE pairs SET \
           objectives_agreed = EXISTS (SELECT 1 FROM objectives o \
             WHERE o.pair_id = pairs.id AND o.agreed_at IS NOT NULL), \
           objectives_achieved = EXISTS (SELECT 1 FROM objectives o \
             WHERE o.pair_id = pairs.id AND o.status = 'achieved'), \
           objective_count_proposed = (SELECT COUNT(*) FROM objectives o \
             WHERE o.pair_id = pairs.id AND o.status = 'proposed'), \
           objective_count_in_progress = (SELECT COUNT(*) FROM objectives o \
             WHERE o.pair_id = pairs.id AND o.status = 'in_progress'), \
           objective_count_achieved = (SELECT COUNT(*) FROM objectives o \
             WHERE o.pair_id = pairs.id AND o.status = 'achieved'), \
           objective_count_abandoned = (SELECT COUNT(*) FROM objectives o \
             WHERE o.pair_id = pairs.id AND o.status = 'abandoned') \
         WHERE id = $1",
        vec![pair_id.into()],
    )
    .await?;
    // The first month the pair had an agreed (an achieved) objective: counted once, in the
    // month it happened (R13: a closed month never changes).
    exec(
        conn,
        "INSERT INTO report_pair_events \
           (pair_id, kind, program_id, month, department, site, mentee_id) \
         SELECT p.id, k.kind, p.program_id, $1, p.report_department, p.report_site, \
           p.mentee_person_id \
         FROM pairs p, (SELECT 'objectives_agreed' AS kind \
                        UNION ALL SELECT 'objectives_achieved') k \
         WHERE p.id = $2 AND ((k.kind = 'objectives_agreed' AND p.objectives_agreed) \
           OR (k.kind = 'objectives_achieved' AND p.objectives_achieved)) \
         ON CONFLICT (pair_id, kind) DO NOTHING",
        vec![this_month().into(), pair_id.into()],
    )
    .await
}

/// The running month (UTC), `YYYY-MM`: the month a change is counted in.
fn this_month() -> String {
    Utc::now().format("%Y-%m").to_string()
}

/// These pairs entered their current status: each counted once per status, in the running
/// month, in its report group (R13: a report counts what changed in each month, so a closed
/// month's figures never move when a pair moves on; see migration 000018).
pub async fn record_pair_status(
    conn: &impl ConnectionTrait,
    pair_ids: &[Uuid],
) -> Result<(), StoreError> {
    for chunk in pair_ids.chunks(500) {
        let placeholders: Vec<String> = (2..chunk.len() + 2).map(|n| format!("${n}")).collect();
        let sql = format!(
            "INSERT INTO report_pair_events \
               (pair_id, kind, program_id, month, department, site, mentee_id) \
             SELECT id, status, program_id, $1, report_department, report_site, \
               mentee_person_id \
             FROM pairs WHERE id IN ({}) \
             ON CONFLICT (pair_id, kind) DO NOTHING",
            placeholders.join(", ")
        );
        let mut values = vec![Value::from(this_month())];
        values.extend(chunk.iter().map(|id| Value::from(*id)));
        exec(conn, &sql, values).await?;
    }
    Ok(())
}

/// Adds meetings that just left `scheduled` by a member's hand to their program's tallies, in
/// their pair's group, on the day this is recorded (UTC) — held, missed, cancelled (and late)
/// — and their pairs' mentees to the month's meeting cell (R13: a month's cells never change
/// once it has closed, so a closed month's figures read the same at every request). Closed
/// and cancelled meetings never change status again, so each is counted once.
pub async fn count_meetings(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), StoreError> {
    let today = Utc::now().date_naive();
    let day = today.format("%Y-%m-%d").to_string();
    let month = today.format("%Y-%m").to_string();
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (2..chunk.len() + 2).map(|n| format!("${n}")).collect();
        let placeholders = placeholders.join(", ");
        let sql = format!(
            "INSERT INTO meeting_tallies \
               (program_id, day, department, site, held, cancelled, late, missed) \
             SELECT pr.program_id, $1, pr.report_department, pr.report_site, \
               SUM(CASE WHEN m.status = 'held' THEN 1 ELSE 0 END), \
               SUM(CASE WHEN m.status = 'cancelled' THEN 1 ELSE 0 END), \
               SUM(CASE WHEN m.status = 'cancelled' AND m.late THEN 1 ELSE 0 END), \
               SUM(CASE WHEN m.status = 'missed' THEN 1 ELSE 0 END) \
             FROM meetings m JOIN pairs pr ON pr.id = m.pair_id \
             WHERE m.id IN ({placeholders}) AND m.status IN ('held', 'cancelled', 'missed') \
             GROUP BY pr.program_id, pr.report_department, pr.report_site \
             ORDER BY pr.program_id, pr.report_department, pr.report_site \
             ON CONFLICT (program_id, day, department, site) DO UPDATE SET \
               held = meeting_tallies.held + excluded.held, \
               cancelled = meeting_tallies.cancelled + excluded.cancelled, \
               late = meeting_tallies.late + excluded.late, \
               missed = meeting_tallies.missed + excluded.missed"
        );
        let mut values = vec![Value::from(day.clone())];
        values.extend(chunk.iter().map(|id| Value::from(*id)));
        exec(conn, &sql, values).await?;
        let sql = format!(
            "INSERT INTO report_meeting_members (program_id, month, department, site, mentee_id) \
             SELECT DISTINCT pr.program_id, $1, pr.report_department, pr.report_site, \
               pr.mentee_person_id \
             FROM meetings m JOIN pairs pr ON pr.id = m.pair_id \
             WHERE m.id IN ({placeholders}) AND m.status IN ('held', 'cancelled', 'missed') \
             ON CONFLICT (program_id, month, department, site, mentee_id) DO NOTHING"
        );
        let mut values = vec![Value::from(month.clone())];
        values.extend(chunk.iter().map(|id| Value::from(*id)));
        exec(conn, &sql, values).await?;
    }
    Ok(())
}

/// A cancelled meeting made up for by a meeting scheduled at `at`: the days between the
/// cancellation and the new meeting's scheduling, for the report's median (R7), counted on
/// the day it is recorded (the day of `at`).
pub async fn record_reschedule(
    conn: &impl ConnectionTrait,
    cancelled_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let days = match conn.get_database_backend() {
        DbBackend::Postgres => {
            "CAST(EXTRACT(EPOCH FROM (CAST($1 AS TIMESTAMPTZ) - c.cancelled_at)) / 86400.0 \
             AS DOUBLE PRECISION)"
        }
        _ => "CAST(julianday($1) - julianday(c.cancelled_at) AS DOUBLE PRECISION)",
    };
    let sql = format!(
        "INSERT INTO report_reschedules \
           (cancelled_id, program_id, pair_id, department, site, cancelled_at, days, \
            recorded_day) \
         SELECT c.id, pr.program_id, pr.id, pr.report_department, pr.report_site, \
           c.cancelled_at, {days}, $2 \
         FROM meetings c JOIN pairs pr ON pr.id = c.pair_id \
         WHERE c.id = $3 AND c.cancelled_at IS NOT NULL \
         ON CONFLICT (cancelled_id) DO NOTHING"
    );
    exec(
        conn,
        &sql,
        vec![
            at.into(),
            at.format("%Y-%m-%d").to_string().into(),
            cancelled_id.into(),
        ],
    )
    .await
}

/// A new feedback's program and group, and its scores added to the day's tallies.
pub async fn count_feedback(
    conn: &impl ConnectionTrait,
    feedback_id: Uuid,
) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE feedback SET \
           program_id = (SELECT program_id FROM pairs WHERE pairs.id = feedback.pair_id), \
           report_department = (SELECT report_department FROM pairs \
             WHERE pairs.id = feedback.pair_id), \
           report_site = (SELECT report_site FROM pairs WHERE pairs.id = feedback.pair_id) \
         WHERE id = $1",
        vec![feedback_id.into()],
    )
    .await?;
    let score_day = day(conn.get_database_backend(), "s.created_at");
    let sql = format!(
        "INSERT INTO feedback_tallies \
           (program_id, day, department, site, dimension, total, answers) \
         SELECT f.program_id, {score_day}, f.report_department, f.report_site, s.dimension, \
           SUM(s.score), COUNT(*) \
         FROM feedback_scores s JOIN feedback f ON f.id = s.feedback_id \
         WHERE f.id = $1 \
         GROUP BY f.program_id, {score_day}, f.report_department, f.report_site, s.dimension \
         ON CONFLICT (program_id, day, department, site, dimension) DO UPDATE SET \
           total = feedback_tallies.total + excluded.total, \
           answers = feedback_tallies.answers + excluded.answers"
    );
    exec(conn, &sql, vec![feedback_id.into()]).await
}

/// Everything a pair's answer shows of its meetings, kept on the pair (migrations 000011 and
/// 000020) and recomputed from its meetings after any of them changes — a recount, never an
/// increment, so the facts cannot drift: the meetings by status, the cancellations not made
/// up for yet (R7), the first and latest held start, the earliest and latest start still
/// scheduled (the read tells "next after now" from them and the clock), and the latest start
/// of a meeting held or still scheduled (R8, pair health's candidates). The use case holds the
/// pairs' locks (`locks::lock_all`), so the recount sees every committed change and two
/// writers of one pair go one after the other.
pub async fn refresh_meeting_facts(
    conn: &impl ConnectionTrait,
    pairs: PairsOf,
) -> Result<(), StoreError> {
    let of = |what: &str, status: &str| {
        format!("(SELECT {what} FROM meetings m WHERE m.pair_id = pairs.id AND {status})")
    };
    let sql = format!(
        "UPDATE pairs SET \
           owed_reschedules = (SELECT COUNT(*) FROM meetings c \
             WHERE c.pair_id = pairs.id AND c.status = 'cancelled' \
             AND NOT EXISTS (SELECT 1 FROM meetings r WHERE r.reschedules = c.id)), \
           latest_meeting_at = {latest}, \
           meetings_scheduled = {scheduled}, meetings_held = {held}, \
           meetings_cancelled = {cancelled}, meetings_cancelled_late = {late}, \
           meetings_missed = {missed}, first_held_at = {first_held}, \
           last_held_at = {last_held}, next_meeting_at = {next}, \
           last_scheduled_at = {last_scheduled} \
         WHERE {which}",
        latest = of("MAX(m.starts_at)", "m.status IN ('held', 'scheduled')"),
        scheduled = of("COUNT(*)", "m.status = 'scheduled'"),
        held = of("COUNT(*)", "m.status = 'held'"),
        cancelled = of("COUNT(*)", "m.status = 'cancelled'"),
        late = of("COUNT(*)", "m.status = 'cancelled' AND m.late"),
        missed = of("COUNT(*)", "m.status = 'missed'"),
        first_held = of("MIN(m.starts_at)", "m.status = 'held'"),
        last_held = of("MAX(m.starts_at)", "m.status = 'held'"),
        next = of("MIN(m.starts_at)", "m.status = 'scheduled'"),
        last_scheduled = of("MAX(m.starts_at)", "m.status = 'scheduled'"),
        which = pairs.condition("id", 1)
    );
    exec(conn, &sql, vec![pairs.id().into()]).await
}

/// Whose charter standing and cadence to recompute ([`refresh_standing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StandingOf {
    /// A new pair.
    Pair(Uuid),
    /// The pairs of an enrollment whose holder accepted a charter version.
    Enrollment(Uuid),
    /// The pairs of a program that has a new charter version or a new cadence.
    Program(Uuid),
}

/// The charter standing of pairs — both members' accepted versions and their program's
/// current one (R3) — and their program's cadence (R8), copied onto the pairs (migration
/// 000020) in the transaction that changed one of them, after that change. The pairs are
/// locked first (in id order on PostgreSQL, so two of these never deadlock), and the copy is
/// read by the next statement: whichever writer copies last sees every committed change
/// (PostgreSQL evaluates a statement that waited on a row lock with the snapshot it started
/// with, so the lock must come before, not inside, the copying statement).
pub async fn refresh_standing(
    conn: &impl ConnectionTrait,
    which: StandingOf,
) -> Result<(), StoreError> {
    let (condition, values): (&str, Vec<Value>) = match which {
        StandingOf::Pair(id) => ("id = $1", vec![id.into()]),
        StandingOf::Enrollment(id) => (
            "(mentor_enrollment_id = $1 OR mentee_enrollment_id = $2)",
            vec![id.into(), id.into()],
        ),
        StandingOf::Program(id) => ("program_id = $1", vec![id.into()]),
    };
    if conn.get_database_backend() == DbBackend::Postgres {
        // SQLite has one writer at a time: the transaction's earlier write holds it.
        let lock = format!("SELECT id FROM pairs WHERE {condition} ORDER BY id FOR UPDATE");
        conn.query_all_raw(statement(DbBackend::Postgres, &lock, values.clone()))
            .await?;
    }
    let sql = format!(
        "UPDATE pairs SET \
           mentor_charter_version = (SELECT e.accepted_charter_version FROM enrollments e \
             WHERE e.id = pairs.mentor_enrollment_id), \
           mentee_charter_version = (SELECT e.accepted_charter_version FROM enrollments e \
             WHERE e.id = pairs.mentee_enrollment_id), \
           program_charter_version = (SELECT MAX(cv.version) FROM charter_versions cv \
             WHERE cv.program_id = pairs.program_id), \
           cadence_days = COALESCE((SELECT pr.cadence_days FROM programs pr \
             WHERE pr.id = pairs.program_id), cadence_days) \
         WHERE {condition}"
    );
    exec(conn, &sql, values).await
}
