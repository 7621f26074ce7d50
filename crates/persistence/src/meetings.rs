//! Meetings of a pair (R2, R7) and the facts the pair's flags are computed from.

use chrono::{DateTime, Utc};
use mentorat_domain::{
    Content,
    meeting::{Location, LocationKind, Meeting, MeetingMode, MeetingPlan, MeetingStatus},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Value, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    Page,
    crypto::{Aad, Keyring},
    entity::meeting::{self, Column, Entity as Meetings},
    error::StoreError,
    locks::PairsOf,
    sql::statement,
};

pub struct NewMeeting {
    pub pair_id: Uuid,
    pub scheduled_by: Uuid,
    pub plan: MeetingPlan,
    pub reschedules: Option<Uuid>,
}

/// Where a meeting's words live: their row and column, its pair, and the revision they were
/// sealed at (`words_revision`). Every write of any of a meeting's words re-seals all of them
/// at the meeting's new revision, so an older sealed agenda put back over the current one no
/// longer opens. Not the meeting's `revision` itself: [`cancel_scheduled_after`] bumps it in
/// one statement for many meetings, without their words.
fn aad(column: &'static str, id: Uuid, pair_id: Uuid, words_revision: i32) -> Aad<'static> {
    Aad::row("meetings", column, id)
        .and("pair_id", pair_id)
        .and("words_revision", words_revision)
}

/// How the version before migration 000025 bound a meeting's words (no words' revision):
/// only [`crate::rotation`] opens it, to re-seal.
pub(crate) fn unbound_aad(column: &'static str, id: Uuid, pair_id: Uuid) -> Aad<'static> {
    Aad::row("meetings", column, id).and("pair_id", pair_id)
}

/// Every sealed word of a meeting, re-sealed at `words_revision`: a write of any of them
/// writes all of them.
struct Sealed {
    location_label: Option<String>,
    agenda: Option<String>,
    summary: Option<String>,
    cancel_reason: Option<String>,
}

fn seal_all(
    keys: &Keyring,
    id: Uuid,
    pair_id: Uuid,
    words_revision: i32,
    plan: &MeetingPlan,
    summary: Option<&str>,
    cancel_reason: Option<&str>,
) -> Result<Sealed, StoreError> {
    let at = |column| aad(column, id, pair_id, words_revision);
    Ok(Sealed {
        location_label: keys.seal_opt(
            plan.location.as_ref().map(|l| l.label.expose()),
            &at("location_label"),
        )?,
        agenda: keys.seal_opt(plan.agenda.as_ref().map(Content::expose), &at("agenda"))?,
        summary: keys.seal_opt(summary, &at("summary"))?,
        cancel_reason: keys.seal_opt(cancel_reason, &at("cancel_reason"))?,
    })
}

impl Sealed {
    fn set(
        self,
        update: sea_orm::UpdateMany<Meetings>,
        words_revision: i32,
    ) -> sea_orm::UpdateMany<Meetings> {
        update
            .col_expr(Column::LocationLabel, Expr::value(self.location_label))
            .col_expr(Column::Agenda, Expr::value(self.agenda))
            .col_expr(Column::Summary, Expr::value(self.summary))
            .col_expr(Column::CancelReason, Expr::value(self.cancel_reason))
            .col_expr(Column::WordsRevision, Expr::value(words_revision))
    }
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    new: NewMeeting,
    now: DateTime<Utc>,
) -> Result<Meeting, StoreError> {
    let id = Uuid::now_v7();
    let plan = new.plan;
    Meetings::insert(meeting::ActiveModel {
        id: Set(id),
        pair_id: Set(new.pair_id),
        scheduled_by: Set(new.scheduled_by),
        starts_at: Set(plan.starts_at),
        ends_at: Set(plan.ends_at()),
        duration_minutes: Set(plan.duration_minutes),
        mode: Set(plan.mode.as_str().to_owned()),
        location_kind: Set(plan.location.as_ref().map(|l| l.kind.as_str().to_owned())),
        location_label: Set(keys.seal_opt(
            plan.location.as_ref().map(|l| l.label.expose()),
            &aad("location_label", id, new.pair_id, 1),
        )?),
        agenda: Set(keys.seal_opt(
            plan.agenda.as_ref().map(Content::expose),
            &aad("agenda", id, new.pair_id, 1),
        )?),
        summary: Set(None),
        status: Set(MeetingStatus::Scheduled.as_str().to_owned()),
        reschedules: Set(new.reschedules),
        cancelled_by: Set(None),
        cancelled_at: Set(None),
        cancel_reason: Set(None),
        late: Set(false),
        closed_at: Set(None),
        revision: Set(1),
        words_revision: Set(Some(1)),
        reminded_for: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    find(conn, keys, new.pair_id, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("meeting {id} vanished after insert")))
}

pub async fn find(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    pair_id: Uuid,
    id: Uuid,
) -> Result<Option<Meeting>, StoreError> {
    Meetings::find_by_id(id)
        .filter(Column::PairId.eq(pair_id))
        .one(conn)
        .await?
        .map(|row| to_domain(row, keys))
        .transpose()
}

/// A pair's meetings, in the order they were scheduled.
pub async fn list(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    pair_id: Uuid,
    after: Option<Uuid>,
    limit: u16,
) -> Result<Page<Meeting>, StoreError> {
    let query = Meetings::find().filter(Column::PairId.eq(pair_id));
    crate::page_by_id(
        conn,
        query,
        Column::Id,
        after,
        limit,
        |r| r.id,
        |row| to_domain(row, keys),
    )
    .await
}

/// The meetings of the people's pairs (a calendar feed), newest first, at most `limit`.
pub async fn of_pairs(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    pair_ids: &[Uuid],
    limit: u64,
) -> Result<Vec<Meeting>, StoreError> {
    if pair_ids.is_empty() {
        return Ok(Vec::new());
    }
    Meetings::find()
        .filter(Column::PairId.is_in(pair_ids.iter().copied()))
        .order_by_desc(Column::StartsAt)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|row| to_domain(row, keys))
        .collect()
}

/// The time taken by the pair's other meetings (scheduled or held), for the overlap rule.
pub async fn busy(
    conn: &impl ConnectionTrait,
    pair_id: Uuid,
    except: Option<Uuid>,
) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>, StoreError> {
    let mut query = Meetings::find()
        .select_only()
        .column(Column::StartsAt)
        .column(Column::EndsAt)
        .filter(Column::PairId.eq(pair_id))
        .filter(Column::Status.is_in([
            MeetingStatus::Scheduled.as_str(),
            MeetingStatus::Held.as_str(),
        ]));
    if let Some(id) = except {
        query = query.filter(Column::Id.ne(id));
    }
    Ok(query.into_tuple().all(conn).await?)
}

/// Has a meeting already been scheduled in place of this cancelled one (R7)?
pub async fn is_made_up(conn: &impl ConnectionTrait, cancelled: Uuid) -> Result<bool, StoreError> {
    Ok(Meetings::find()
        .filter(Column::Reschedules.eq(cancelled))
        .one(conn)
        .await?
        .is_some())
}

fn guarded(
    meeting: &Meeting,
) -> impl Fn(sea_orm::UpdateMany<Meetings>) -> sea_orm::UpdateMany<Meetings> {
    let (id, revision) = (meeting.id, meeting.revision);
    move |update| {
        update
            .col_expr(Column::Revision, Expr::value(revision + 1))
            .filter(Column::Id.eq(id))
            .filter(Column::Revision.eq(revision))
    }
}

fn applied(rows: u64) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::StaleRevision)
    } else {
        Ok(())
    }
}

/// A new plan for a scheduled meeting (`PATCH`).
pub async fn update_plan(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    meeting: &Meeting,
    plan: &MeetingPlan,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let words = meeting.revision + 1;
    let sealed = seal_all(
        keys,
        meeting.id,
        meeting.pair_id,
        words,
        plan,
        meeting.summary.as_ref().map(Content::expose),
        meeting.cancel_reason.as_ref().map(Content::expose),
    )?;
    let update = Meetings::update_many()
        .col_expr(Column::StartsAt, Expr::value(plan.starts_at))
        .col_expr(Column::EndsAt, Expr::value(plan.ends_at()))
        .col_expr(Column::DurationMinutes, Expr::value(plan.duration_minutes))
        .col_expr(Column::Mode, Expr::value(plan.mode.as_str()))
        .col_expr(
            Column::LocationKind,
            Expr::value(plan.location.as_ref().map(|l| l.kind.as_str().to_owned())),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now));
    let update = sealed.set(update, words);
    applied(guarded(meeting)(update).exec(conn).await?.rows_affected)
}

/// R7: cancelled by a member, with a reason; `late` inside the notice window.
pub async fn cancel(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    meeting: &Meeting,
    by: Uuid,
    reason: &str,
    late: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let words = meeting.revision + 1;
    let sealed = seal_all(
        keys,
        meeting.id,
        meeting.pair_id,
        words,
        &meeting.plan,
        meeting.summary.as_ref().map(Content::expose),
        Some(reason),
    )?;
    let update = Meetings::update_many()
        .col_expr(
            Column::Status,
            Expr::value(MeetingStatus::Cancelled.as_str()),
        )
        .col_expr(Column::CancelledBy, Expr::value(by))
        .col_expr(Column::CancelledAt, Expr::value(now))
        .col_expr(Column::Late, Expr::value(late))
        .col_expr(Column::UpdatedAt, Expr::value(now));
    let update = sealed.set(update, words);
    applied(guarded(meeting)(update).exec(conn).await?.rows_affected)
}

/// The pairs' meetings still scheduled after `now`, cancelled — when a pair ends, is
/// suspended (R11) or completes with its program (no reason: the pair's change says why;
/// `by` the member who ended it, none when the service did). Their ids, for the tallies
/// (`service::working_life::cancel_ahead`).
pub async fn cancel_scheduled_after(
    conn: &impl ConnectionTrait,
    pairs: PairsOf,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, StoreError> {
    let sql = format!(
        "UPDATE meetings SET status = 'cancelled', cancelled_by = $1, cancelled_at = $2, \
           revision = revision + 1, updated_at = $3 \
         WHERE status = 'scheduled' AND starts_at > $4 AND {} RETURNING id",
        pairs.condition("pair_id", 5)
    );
    crate::query_ids(
        conn,
        &sql,
        vec![
            by.into(),
            now.into(),
            now.into(),
            now.into(),
            pairs.id().into(),
        ],
    )
    .await
}

/// `held` (with an optional summary) or `missed`.
pub async fn close(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    meeting: &Meeting,
    status: MeetingStatus,
    summary: Option<Content>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let words = meeting.revision + 1;
    let sealed = seal_all(
        keys,
        meeting.id,
        meeting.pair_id,
        words,
        &meeting.plan,
        summary.as_ref().map(Content::expose),
        meeting.cancel_reason.as_ref().map(Content::expose),
    )?;
    let update = Meetings::update_many()
        .col_expr(Column::Status, Expr::value(status.as_str()))
        .col_expr(Column::ClosedAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now));
    let update = sealed.set(update, words);
    applied(guarded(meeting)(update).exec(conn).await?.rows_affected)
}

/// What a pair's answer and flags need to know of its meetings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeetingStats {
    pub scheduled: i64,
    pub held: i64,
    pub cancelled: i64,
    pub missed: i64,
    /// Cancellations inside the notice window (R7).
    pub late: i64,
    /// Cancellations no meeting has made up for yet (R7).
    pub owed: i64,
    pub first_held_at: Option<DateTime<Utc>>,
    /// The latest start, up to now, of a meeting held or still scheduled.
    pub last_meeting_at: Option<DateTime<Utc>>,
    /// The next start, after now, of a scheduled meeting.
    pub next_meeting_at: Option<DateTime<Utc>>,
}

/// `(the latest start up to now of a meeting held or still scheduled, the next start after
/// now of a scheduled one)`.
pub(crate) type Around = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The latest start up to `now` of a meeting held or still scheduled, and the next start
/// after `now` of a scheduled one, of each of these pairs that has meetings, in one grouped
/// statement: what a pair's row cannot tell when a meeting still scheduled has started while
/// another is ahead (`pairs::read_one`).
pub(crate) async fn around(
    conn: &impl ConnectionTrait,
    pair_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<std::collections::HashMap<Uuid, Around>, StoreError> {
    let mut values: Vec<Value> = vec![now.into(), now.into()];
    let placeholders: Vec<String> = (0..pair_ids.len()).map(|i| format!("${}", i + 3)).collect();
    values.extend(pair_ids.iter().map(|id| Value::from(*id)));
    let sql = format!(
        "SELECT m.pair_id AS pair_id, \
           MAX(CASE WHEN m.status IN ('held', 'scheduled') AND m.starts_at <= $1 \
             THEN m.starts_at END) AS last_meeting_at, \
           MIN(CASE WHEN m.status = 'scheduled' AND m.starts_at > $2 \
             THEN m.starts_at END) AS next_meeting_at \
         FROM meetings m WHERE m.pair_id IN ({}) GROUP BY m.pair_id",
        placeholders.join(", ")
    );
    let rows = conn
        .query_all_raw(statement(conn.get_database_backend(), &sql, values))
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok((
                row.try_get::<Uuid>("", "pair_id")?,
                (
                    row.try_get("", "last_meeting_at")?,
                    row.try_get("", "next_meeting_at")?,
                ),
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(StoreError::from)
}

fn to_domain(row: meeting::Model, keys: &Keyring) -> Result<Meeting, StoreError> {
    let corrupt = |what: &str, raw: &str| {
        StoreError::Corrupt(format!("meeting {} has {what} {raw:?}", row.id))
    };
    let status = MeetingStatus::parse(&row.status).ok_or_else(|| corrupt("status", &row.status))?;
    let mode = MeetingMode::parse(&row.mode).ok_or_else(|| corrupt("mode", &row.mode))?;
    let has_words = row.location_label.is_some()
        || row.agenda.is_some()
        || row.summary.is_some()
        || row.cancel_reason.is_some();
    // Words sealed without their revision (before migration 000025, or a revision cleared
    // in the database): never opened by `serve`; `mentorat migrate` re-seals them.
    let words = match row.words_revision {
        Some(words) => words,
        None if !has_words => 0,
        None => {
            tracing::error!(
                place = %format!("meetings of row {}", row.id),
                "a meeting's words are not bound to their revision: refused (run `mentorat migrate` to re-seal values written by an older version)"
            );
            return Err(StoreError::Corrupt(format!(
                "meeting {} has words sealed without their revision, refused",
                row.id
            )));
        }
    };
    let at = |column| aad(column, row.id, row.pair_id, words);
    let location = match (&row.location_kind, &row.location_label) {
        (Some(kind), Some(label)) => Some(Location {
            kind: LocationKind::parse(kind).ok_or_else(|| corrupt("location kind", kind))?,
            label: keys.open_content(label, &at("location_label"))?,
        }),
        _ => None,
    };
    Ok(Meeting {
        id: row.id,
        pair_id: row.pair_id,
        scheduled_by: row.scheduled_by,
        plan: MeetingPlan {
            starts_at: row.starts_at,
            duration_minutes: row.duration_minutes,
            mode,
            location,
            agenda: keys.open_content_opt(row.agenda.as_deref(), &at("agenda"))?,
        },
        status,
        reschedules: row.reschedules,
        summary: keys.open_content_opt(row.summary.as_deref(), &at("summary"))?,
        cancelled_by: row.cancelled_by,
        cancelled_at: row.cancelled_at,
        cancel_reason: keys.open_content_opt(row.cancel_reason.as_deref(), &at("cancel_reason"))?,
        late: row.late,
        closed_at: row.closed_at,
        revision: row.revision,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
