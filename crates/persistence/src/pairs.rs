//! The pairs repository, and the management-chain walks of R1 — in SQL (recursive CTEs on
//! both databases), never by loading the organization into memory.

use chrono::{DateTime, Utc};
use mentorat_domain::pair::{EndReason, Pair, PairStatus};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Value, sea_query::Expr,
};
use uuid::Uuid;

pub use crate::locks::{PairsOf, lock, lock_all};
use crate::sql::statement;
use crate::{
    Page,
    entity::pair::{self, Column, Entity as Pairs},
    error::StoreError,
};

/// Deeper than any real organization; a bound so a corrupt (cyclic) chain cannot loop.
const MAX_DEPTH: i32 = 64;

pub use mentorat_domain::pair::PairFilter;

/// Is `ancestor` in `person`'s management chain, at any depth? (by external id)
pub async fn in_chain(
    conn: &impl ConnectionTrait,
    person: &str,
    ancestor: &str,
) -> Result<bool, StoreError> {
    let sql = format!(
        "WITH RECURSIVE chain(ext, depth) AS ( \
            SELECT manager_external_id, 1 FROM people WHERE external_id = $1 \
            UNION ALL \
            SELECT p.manager_external_id, c.depth + 1 FROM people p JOIN chain c ON p.external_id = c.ext \
            WHERE c.ext IS NOT NULL AND c.depth < {MAX_DEPTH} \
        ) SELECT COUNT(*) AS n FROM chain WHERE ext = $2"
    );
    let row = conn
        .query_one_raw(statement(
            conn.get_database_backend(),
            &sql,
            vec![person.into(), ancestor.into()],
        ))
        .await?;
    let n: i64 = match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(n > 0)
}

/// R1 both ways: is either person in the other's chain?
pub async fn hierarchical(
    conn: &impl ConnectionTrait,
    a: &str,
    b: &str,
) -> Result<bool, StoreError> {
    Ok(in_chain(conn, a, b).await? || in_chain(conn, b, a).await?)
}

/// The external ids in `person`'s management chain (above) and of everyone whose chain
/// contains `person` (below): the people R1 keeps away from them.
pub async fn chain_both_ways(
    conn: &impl ConnectionTrait,
    person: &str,
) -> Result<Vec<String>, StoreError> {
    let sql = format!(
        "WITH RECURSIVE up(ext, depth) AS ( \
            SELECT manager_external_id, 1 FROM people WHERE external_id = $1 \
            UNION ALL \
            SELECT p.manager_external_id, u.depth + 1 FROM people p JOIN up u ON p.external_id = u.ext \
            WHERE u.ext IS NOT NULL AND u.depth < {MAX_DEPTH} \
        ), down(ext, depth) AS ( \
            SELECT external_id, 1 FROM people WHERE manager_external_id = $2 \
            UNION ALL \
            SELECT p.external_id, d.depth + 1 FROM people p JOIN down d ON p.manager_external_id = d.ext \
            WHERE d.depth < {MAX_DEPTH} \
        ) SELECT ext FROM up WHERE ext IS NOT NULL UNION SELECT ext FROM down"
    );
    let rows = conn
        .query_all_raw(statement(
            conn.get_database_backend(),
            &sql,
            vec![person.into(), person.into()],
        ))
        .await?;
    rows.into_iter()
        .map(|r| r.try_get::<String>("", "ext").map_err(StoreError::from))
        .collect()
}

/// R1 over time: flag every active or proposed pair in which one member is now in the other's chain.
/// One statement for the whole organization. Returns how many pairs were newly flagged.
pub async fn flag_hierarchy_conflicts(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let sql = format!(
        "WITH RECURSIVE up(pair_id, target, ext, depth) AS ( \
            SELECT s.pair_id, s.target, s.ext, 1 FROM ( \
                SELECT pr.id AS pair_id, mr.external_id AS target, me.manager_external_id AS ext \
                FROM pairs pr JOIN people me ON me.id = pr.mentee_person_id JOIN people mr ON mr.id = pr.mentor_person_id \
                WHERE pr.status IN ('active', 'proposed') AND NOT pr.hierarchy_conflict \
                UNION ALL \
                SELECT pr.id, me.external_id, mr.manager_external_id \
                FROM pairs pr JOIN people me ON me.id = pr.mentee_person_id JOIN people mr ON mr.id = pr.mentor_person_id \
                WHERE pr.status IN ('active', 'proposed') AND NOT pr.hierarchy_conflict \
            ) s WHERE s.ext IS NOT NULL \
            UNION ALL \
            SELECT u.pair_id, u.target, p.manager_external_id, u.depth + 1 \
            FROM up u JOIN people p ON p.external_id = u.ext \
            WHERE p.manager_external_id IS NOT NULL AND u.ext <> u.target AND u.depth < {MAX_DEPTH} \
        ) UPDATE pairs SET hierarchy_conflict = TRUE, revision = revision + 1, updated_at = $1 \
          WHERE id IN (SELECT pair_id FROM up WHERE ext = target)"
    );
    let result = conn
        .execute_raw(statement(
            conn.get_database_backend(),
            &sql,
            vec![now.into()],
        ))
        .await?;
    Ok(result.rows_affected())
}

pub struct NewPair {
    pub id: Uuid,
    pub program_id: Uuid,
    pub mentor_enrollment_id: Uuid,
    pub mentee_enrollment_id: Uuid,
    pub mentor_person_id: Uuid,
    pub mentee_person_id: Uuid,
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    new: NewPair,
    now: DateTime<Utc>,
) -> Result<Pair, StoreError> {
    let id = new.id;
    let row = pair::ActiveModel {
        id: Set(new.id),
        program_id: Set(new.program_id),
        mentor_enrollment_id: Set(new.mentor_enrollment_id),
        mentee_enrollment_id: Set(new.mentee_enrollment_id),
        mentor_person_id: Set(new.mentor_person_id),
        mentee_person_id: Set(new.mentee_person_id),
        status: Set(PairStatus::Proposed.as_str().to_owned()),
        mentor_accepted_at: Set(None),
        mentee_accepted_at: Set(None),
        activated_at: Set(None),
        ended_at: Set(None),
        end_reason: Set(None),
        end_reason_text: Set(None),
        hierarchy_conflict: Set(false),
        suspended_at: Set(None),
        revision: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Pairs::insert(row).exec_without_returning(conn).await?;
    find(conn, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("pair {id} vanished after insert")))
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Pair>, StoreError> {
    Pairs::find_by_id(id)
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

/// R10: the mentor enrollment's active and proposed pairs.
pub async fn mentor_load(
    conn: &impl ConnectionTrait,
    mentor_enrollment_id: Uuid,
) -> Result<i64, StoreError> {
    let n = Pairs::find()
        .filter(Column::MentorEnrollmentId.eq(mentor_enrollment_id))
        .filter(Column::Status.is_in([PairStatus::Proposed.as_str(), PairStatus::Active.as_str()]))
        .count(conn)
        .await?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

/// An enrollment's pairs that hold a withdrawal back: active or suspended, on either side.
pub async fn active_of_enrollment(
    conn: &impl ConnectionTrait,
    enrollment_id: Uuid,
) -> Result<i64, StoreError> {
    let n = Pairs::find()
        .filter(
            sea_orm::Condition::any()
                .add(Column::MentorEnrollmentId.eq(enrollment_id))
                .add(Column::MenteeEnrollmentId.eq(enrollment_id)),
        )
        .filter(Column::Status.is_in([PairStatus::Active.as_str(), PairStatus::Suspended.as_str()]))
        .count(conn)
        .await?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

/// An enrollment's proposed pairs, on either side.
pub async fn proposed_of_enrollment(
    conn: &impl ConnectionTrait,
    enrollment_id: Uuid,
) -> Result<Vec<Pair>, StoreError> {
    Pairs::find()
        .filter(
            sea_orm::Condition::any()
                .add(Column::MentorEnrollmentId.eq(enrollment_id))
                .add(Column::MenteeEnrollmentId.eq(enrollment_id)),
        )
        .filter(Column::Status.eq(PairStatus::Proposed.as_str()))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// Is there an open pair (proposed, active, suspended) of these two enrollments?
pub async fn open_pair_exists(
    conn: &impl ConnectionTrait,
    mentor_enrollment_id: Uuid,
    mentee_enrollment_id: Uuid,
) -> Result<bool, StoreError> {
    let n = Pairs::find()
        .filter(Column::MentorEnrollmentId.eq(mentor_enrollment_id))
        .filter(Column::MenteeEnrollmentId.eq(mentee_enrollment_id))
        .filter(Column::Status.is_in(open_statuses()))
        .count(conn)
        .await?;
    Ok(n > 0)
}

fn open_statuses() -> [&'static str; 3] {
    [
        PairStatus::Proposed.as_str(),
        PairStatus::Active.as_str(),
        PairStatus::Suspended.as_str(),
    ]
}

pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &PairFilter,
    after: Option<Uuid>,
    limit: u16,
) -> Result<Page<Pair>, StoreError> {
    let mut query = Pairs::find().order_by_asc(Column::Id);
    if let Some(p) = filter.program_id {
        query = query.filter(Column::ProgramId.eq(p));
    }
    if let Some(s) = filter.status {
        query = query.filter(Column::Status.eq(s.as_str()));
    }
    if let Some(h) = filter.hierarchy_conflict {
        query = query.filter(Column::HierarchyConflict.eq(h));
    }
    if let Some(m) = filter.member {
        query = query.filter(
            Condition::any()
                .add(Column::MentorPersonId.eq(m))
                .add(Column::MenteePersonId.eq(m)),
        );
    }
    if let Some(external_id) = &filter.member_external_id {
        let person = sea_orm::sea_query::Query::select()
            .column(crate::entity::person::Column::Id)
            .from(crate::entity::person::Entity)
            .and_where(crate::entity::person::Column::ExternalId.eq(external_id.as_str()))
            .to_owned();
        query = query.filter(
            Condition::any()
                .add(Column::MentorPersonId.in_subquery(person.clone()))
                .add(Column::MenteePersonId.in_subquery(person)),
        );
    }
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    let rows = query.limit(u64::from(limit) + 1).all(conn).await?;
    let (rows, next) = crate::cut(rows, limit, |r| r.id);
    let items = rows.into_iter().map(to_domain).collect::<Result<_, _>>()?;
    Ok(Page { items, next })
}

/// What SQL can tell cheaply of a pair that may show a health flag: a necessary condition,
/// never the rule itself — the domain decides from the pair's facts (`health::flags`), so a
/// page filtered by flag reads a handful of candidate pairs instead of the whole program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MayShow {
    HierarchyConflict,
    Suspended,
    /// A proposed or active pair with a member who has not accepted `current`, the
    /// program's current charter version (R3).
    CharterPending {
        current: i32,
    },
    /// An active pair with a cancelled meeting nothing names in `reschedules` (R7).
    RescheduleOwed,
    /// An active pair, active for longer than the cadence, with nothing held or scheduled
    /// in `(now - cadence, now + cadence]` (R8).
    Overdue {
        now: DateTime<Utc>,
        cadence_days: i32,
    },
    /// An active pair with a held meeting and no agreed objective (R4).
    ObjectivesMissing,
}

/// A page of the program's pairs that may show a flag, in id order after `after`.
pub async fn may_show(
    conn: &impl ConnectionTrait,
    program_id: Uuid,
    may: MayShow,
    after: Option<Uuid>,
    limit: u16,
) -> Result<Page<Pair>, StoreError> {
    let mut values: Vec<Value> = vec![program_id.into(), after.unwrap_or(Uuid::nil()).into()];
    let predicate = match may {
        MayShow::HierarchyConflict => "hierarchy_conflict".to_owned(),
        MayShow::Suspended => "status = 'suspended'".to_owned(),
        MayShow::CharterPending { current } => {
            values.push(current.into());
            "status IN ('proposed', 'active') AND EXISTS (SELECT 1 FROM enrollments e \
             WHERE (e.id = pairs.mentor_enrollment_id OR e.id = pairs.mentee_enrollment_id) \
             AND (e.accepted_charter_version IS NULL OR e.accepted_charter_version <> $3))"
                .to_owned()
        }
        // The count kept on the pair (`tallies::refresh_meeting_facts`), by a partial index.
        MayShow::RescheduleOwed => "owed_reschedules > 0 AND status = 'active'".to_owned(),
        MayShow::Overdue { now, cadence_days } => {
            let cadence = chrono::Duration::days(i64::from(Ord::max(cadence_days, 1)));
            let (early, late) = (now - cadence, now + cadence);
            values.extend([early, early, late, early, late].map(Value::from));
            // The latest held or scheduled start inside the window rules a pair out without
            // looking at its meetings; only pairs whose latest is beyond it are probed.
            "status = 'active' AND (activated_at IS NULL OR activated_at < $3) \
             AND (latest_meeting_at IS NULL OR latest_meeting_at <= $4 \
                  OR latest_meeting_at > $5) \
             AND NOT EXISTS (SELECT 1 FROM meetings m WHERE m.pair_id = pairs.id \
               AND m.status IN ('held', 'scheduled') AND m.starts_at > $6 AND m.starts_at <= $7)"
                .to_owned()
        }
        MayShow::ObjectivesMissing => "status = 'active' AND NOT objectives_agreed \
             AND EXISTS (SELECT 1 FROM meetings m WHERE m.pair_id = pairs.id \
               AND m.status = 'held')"
            .to_owned(),
    };
    let sql = format!(
        "SELECT id FROM pairs WHERE program_id = $1 AND id > $2 AND {predicate} \
         ORDER BY id LIMIT {}",
        u64::from(limit) + 1
    );
    let ids = crate::query_ids(conn, &sql, values).await?;
    let (items, next) = crate::cut(find_in_order(conn, ids).await?, limit, |p| p.id);
    Ok(Page { items, next })
}

/// These pairs, in id order.
async fn find_in_order(
    conn: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<Vec<Pair>, StoreError> {
    Pairs::find()
        .filter(Column::Id.is_in(ids))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// The ids of the mentee enrollment's open pairs' mentors (to leave them out of suggestions).
pub async fn open_mentor_enrollments_of(
    conn: &impl ConnectionTrait,
    mentee_enrollment_id: Uuid,
) -> Result<Vec<Uuid>, StoreError> {
    Ok(Pairs::find()
        .select_only()
        .column(Column::MentorEnrollmentId)
        .filter(Column::MenteeEnrollmentId.eq(mentee_enrollment_id))
        .filter(Column::Status.is_in(open_statuses()))
        .into_tuple()
        .all(conn)
        .await?)
}

/// The number of active and proposed pairs of each mentor enrollment of a program, in one
/// grouped query.
pub async fn loads_in_program(
    conn: &impl ConnectionTrait,
    program_id: Uuid,
) -> Result<Vec<(Uuid, i64)>, StoreError> {
    Ok(Pairs::find()
        .select_only()
        .column(Column::MentorEnrollmentId)
        .column_as(Column::Id.count(), "n")
        .filter(Column::ProgramId.eq(program_id))
        .filter(Column::Status.is_in([PairStatus::Proposed.as_str(), PairStatus::Active.as_str()]))
        .group_by(Column::MentorEnrollmentId)
        .into_tuple()
        .all(conn)
        .await?)
}

/// Record a member's acceptance, and the activation when it completes the pair. Only
/// applies to a pair still at `revision` (a concurrent change makes it `StaleRevision`).
pub async fn record_acceptance(
    conn: &impl ConnectionTrait,
    pair: &Pair,
    mentor_side: bool,
    activate: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut update = Pairs::update_many()
        .col_expr(
            if mentor_side {
                Column::MentorAcceptedAt
            } else {
                Column::MenteeAcceptedAt
            },
            Expr::value(now),
        )
        .col_expr(Column::Revision, Expr::value(pair.revision + 1))
        .col_expr(Column::UpdatedAt, Expr::value(now));
    if activate {
        update = update
            .col_expr(Column::Status, Expr::value(PairStatus::Active.as_str()))
            .col_expr(Column::ActivatedAt, Expr::value(now));
    }
    let result = update
        .filter(Column::Id.eq(pair.id))
        .filter(Column::Revision.eq(pair.revision))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(StoreError::StaleRevision);
    }
    Ok(())
}

pub async fn end(
    conn: &impl ConnectionTrait,
    keys: &crate::crypto::Keyring,
    pair: &Pair,
    reason: EndReason,
    text: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let result = Pairs::update_many()
        .col_expr(Column::Status, Expr::value(PairStatus::Ended.as_str()))
        .col_expr(Column::EndedAt, Expr::value(now))
        .col_expr(Column::EndReason, Expr::value(reason.as_str()))
        .col_expr(
            Column::EndReasonText,
            Expr::value(keys.seal_opt(
                text,
                &crate::crypto::Aad::row("pairs", "end_reason_text", pair.id),
            )?),
        )
        .col_expr(Column::Revision, Expr::value(pair.revision + 1))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(pair.id))
        .filter(Column::Revision.eq(pair.revision))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(StoreError::StaleRevision);
    }
    Ok(())
}

/// R9: the members' own words on why their pairs ended (content: sealed at rest, opened for
/// the members only).
pub async fn end_reason_texts(
    conn: &impl ConnectionTrait,
    keys: &crate::crypto::Keyring,
    pair_ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, String>, StoreError> {
    if pair_ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let rows: Vec<(Uuid, Option<String>)> = Pairs::find()
        .select_only()
        .column(Column::Id)
        .column(Column::EndReasonText)
        .filter(Column::Id.is_in(pair_ids.iter().copied()))
        .filter(Column::EndReasonText.is_not_null())
        .into_tuple()
        .all(conn)
        .await?;
    rows.into_iter()
        .filter_map(|(id, text)| text.map(|t| (id, t)))
        .map(|(id, t)| {
            Ok((
                id,
                keys.open(&t, &crate::crypto::Aad::row("pairs", "end_reason_text", id))?,
            ))
        })
        .collect()
}

/// R11: the active pairs of these people become suspended. Returns the pairs suspended.
pub async fn suspend_pairs_of(
    conn: &impl ConnectionTrait,
    person_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<Pair>, StoreError> {
    if person_ids.is_empty() {
        return Ok(Vec::new());
    }
    // One statement decides and returns which pairs it suspended: a pair that ends or
    // completes meanwhile is neither suspended nor announced as suspended.
    let members: Vec<String> = (0..person_ids.len())
        .map(|i| format!("${}", i + 4))
        .collect();
    let members = members.join(", ");
    let again: Vec<String> = (0..person_ids.len())
        .map(|i| format!("${}", i + 4 + person_ids.len()))
        .collect();
    let sql = format!(
        "UPDATE pairs SET status = 'suspended', suspended_at = $1, revision = revision + 1, \
           updated_at = $2 \
         WHERE status = $3 AND (mentor_person_id IN ({members}) \
           OR mentee_person_id IN ({})) RETURNING id",
        again.join(", ")
    );
    let mut values: Vec<Value> = vec![now.into(), now.into(), PairStatus::Active.as_str().into()];
    values.extend(person_ids.iter().map(|id| Value::from(*id)));
    values.extend(person_ids.iter().map(|id| Value::from(*id)));
    let ids = crate::query_ids(conn, &sql, values).await?;
    find_in_order(conn, ids).await
}

/// When a program closes, its active pairs are completed.
pub async fn complete_program(
    conn: &impl ConnectionTrait,
    program_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Completed>, StoreError> {
    let rows = conn
        .query_all_raw(statement(
            conn.get_database_backend(),
            "UPDATE pairs SET status = $1, ended_at = $2, revision = revision + 1, \
               updated_at = $3 \
             WHERE program_id = $4 AND status = $5 \
             RETURNING id, mentor_person_id, mentee_person_id",
            vec![
                PairStatus::Completed.as_str().into(),
                now.into(),
                now.into(),
                program_id.into(),
                PairStatus::Active.as_str().into(),
            ],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Completed {
                pair_id: r.try_get("", "id")?,
                members: [
                    r.try_get("", "mentor_person_id")?,
                    r.try_get("", "mentee_person_id")?,
                ],
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(StoreError::from)
}

/// A pair completed with its program, and its two members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    pub pair_id: Uuid,
    pub members: [Uuid; 2],
}

fn to_domain(row: pair::Model) -> Result<Pair, StoreError> {
    let status = PairStatus::parse(&row.status).ok_or_else(|| {
        StoreError::Corrupt(format!("pair {} has status {:?}", row.id, row.status))
    })?;
    let end_reason =
        match row.end_reason.as_deref() {
            None => None,
            Some(r) => Some(EndReason::parse(r).ok_or_else(|| {
                StoreError::Corrupt(format!("pair {} has end reason {r:?}", row.id))
            })?),
        };
    Ok(Pair {
        id: row.id,
        program_id: row.program_id,
        mentor_enrollment_id: row.mentor_enrollment_id,
        mentee_enrollment_id: row.mentee_enrollment_id,
        mentor_person_id: row.mentor_person_id,
        mentee_person_id: row.mentee_person_id,
        status,
        mentor_accepted_at: row.mentor_accepted_at,
        mentee_accepted_at: row.mentee_accepted_at,
        activated_at: row.activated_at,
        ended_at: row.ended_at,
        end_reason,

        hierarchy_conflict: row.hierarchy_conflict,
        suspended_at: row.suspended_at,
        revision: row.revision,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// What a pair's answer shows and its flags need besides the pair and its members' names:
/// both members' accepted charter versions, the program's current version and cadence, the
/// meetings counted, the objectives counted — all kept **on the pair row** (migration 000020,
/// `tallies`), so a read takes them with the pair.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadFacts {
    pub mentor_accepted_charter: Option<i32>,
    pub mentee_accepted_charter: Option<i32>,
    pub current_charter: Option<i32>,
    pub cadence_days: i32,
    pub meetings: crate::meetings::MeetingStats,
    /// Objectives by status (every status, zeros included).
    pub objectives: Vec<(mentorat_domain::objective::ObjectiveStatus, i64)>,
    /// Has an objective ever been agreed (R4)?
    pub agreed: bool,
}

/// The pair row's meeting times that depend on the clock: "the latest start up to now" and
/// "the next start after now" are told from them and `now`, except when a meeting still
/// scheduled has started while another is ahead (a meeting not closed yet) — then the
/// pair's meetings are read ([`crate::meetings::around`]).
#[derive(Debug, Clone, Copy, Default)]
struct Around {
    last_held: Option<DateTime<Utc>>,
    earliest_scheduled: Option<DateTime<Utc>>,
    latest_scheduled: Option<DateTime<Utc>>,
}

impl Around {
    /// `(latest start up to now of a meeting held or scheduled, next scheduled start after
    /// now)`, or `None` when the row cannot tell.
    fn resolve(self, now: DateTime<Utc>) -> Option<crate::meetings::Around> {
        if self.last_held.is_some_and(|t| t > now) {
            return None; // a meeting is held only once started: not seen, but not assumed
        }
        match (self.earliest_scheduled, self.latest_scheduled) {
            (Some(first), _) if first > now => Some((self.last_held, Some(first))),
            (Some(_), Some(last)) if last <= now => Some((self.last_held.max(Some(last)), None)),
            (Some(_), _) => None,
            (None, _) => Some((self.last_held, None)),
        }
    }
}

/// The facts of a row that selected the pair's columns (`p.*` or `*`).
fn facts_of(row: &sea_orm::QueryResult) -> Result<(ReadFacts, Around), sea_orm::DbErr> {
    use mentorat_domain::objective::ObjectiveStatus;
    let count = |col: &str| row.try_get::<i32>("", col).map(i64::from);
    let objectives = ObjectiveStatus::ALL
        .iter()
        .map(|s| Ok((*s, count(&format!("objective_count_{}", s.as_str()))?)))
        .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
    let around = Around {
        last_held: row.try_get("", "last_held_at")?,
        earliest_scheduled: row.try_get("", "next_meeting_at")?,
        latest_scheduled: row.try_get("", "last_scheduled_at")?,
    };
    let facts = ReadFacts {
        mentor_accepted_charter: row.try_get("", "mentor_charter_version")?,
        mentee_accepted_charter: row.try_get("", "mentee_charter_version")?,
        current_charter: row.try_get("", "program_charter_version")?,
        cadence_days: row.try_get("", "cadence_days")?,
        meetings: crate::meetings::MeetingStats {
            scheduled: count("meetings_scheduled")?,
            held: count("meetings_held")?,
            cancelled: count("meetings_cancelled")?,
            missed: count("meetings_missed")?,
            late: count("meetings_cancelled_late")?,
            owed: count("owed_reschedules")?,
            first_held_at: row.try_get("", "first_held_at")?,
            last_meeting_at: None,
            next_meeting_at: None,
        },
        objectives,
        agreed: row.try_get("", "objectives_agreed")?,
    };
    Ok((facts, around))
}

/// Fill in the clock's meeting times of these facts: from the rows, and for the pairs whose
/// row cannot tell ([`Around::resolve`]), from their meetings in one more statement.
async fn resolve_times(
    conn: &impl ConnectionTrait,
    facts: &mut [(Uuid, &mut ReadFacts, Around)],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut unknown = Vec::new();
    for (id, f, around) in facts.iter_mut() {
        match around.resolve(now) {
            Some((last, next)) => {
                f.meetings.last_meeting_at = last;
                f.meetings.next_meeting_at = next;
            }
            None => unknown.push(*id),
        }
    }
    if unknown.is_empty() {
        return Ok(());
    }
    let found = crate::meetings::around(conn, &unknown, now).await?;
    for (id, f, _) in facts.iter_mut() {
        if let Some((last, next)) = found.get(id) {
            f.meetings.last_meeting_at = *last;
            f.meetings.next_meeting_at = *next;
        }
    }
    Ok(())
}

/// `$from, $from+1, …` for `n` values.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// [`ReadFacts`] of these pairs (absent ones are left out), with meeting facts as of `now`:
/// the pair rows by primary key.
pub async fn read_facts(
    conn: &impl ConnectionTrait,
    pair_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, ReadFacts)>, StoreError> {
    if pair_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT * FROM pairs WHERE id IN ({})",
        placeholders(1, pair_ids.len())
    );
    let values: Vec<Value> = pair_ids.iter().map(|id| Value::from(*id)).collect();
    let rows = conn
        .query_all_raw(statement(conn.get_database_backend(), &sql, values))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut arounds = Vec::with_capacity(rows.len());
    for row in &rows {
        let (facts, around) = facts_of(row)?;
        out.push((row.try_get::<Uuid>("", "id")?, facts));
        arounds.push(around);
    }
    let mut view: Vec<(Uuid, &mut ReadFacts, Around)> = out
        .iter_mut()
        .zip(arounds)
        .map(|((id, f), a)| (*id, f, a))
        .collect();
    resolve_times(conn, &mut view, now).await?;
    Ok(out)
}

/// A member's name, as a pair's answer shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberName {
    pub given_name: String,
    pub family_name: String,
}

/// A pair as a read shows it — the pair, its members' names, whether the caller is one of
/// them — from one row of one statement.
#[derive(Debug, Clone)]
pub struct PairRow {
    pub pair: Pair,
    pub caller_is_member: bool,
    pub mentor: MemberName,
    pub mentee: MemberName,
    /// R9: the members' own words, still sealed (open them for a member only).
    pub sealed_end_reason_text: Option<String>,
    /// Everything else the answer shows, from the same row.
    pub facts: ReadFacts,
}

/// The select list of a [`PairRow`]; the caller's external id is bound at `$caller` and
/// `$caller + 1`.
fn row_columns(caller: usize) -> String {
    format!(
        "p.*, mp.given_name AS mentor_given_name, mp.family_name AS mentor_family_name, \
         ep.given_name AS mentee_given_name, ep.family_name AS mentee_family_name, \
         (mp.external_id = ${caller} OR ep.external_id = ${next}) AS caller_is_member",
        next = caller + 1
    )
}

const ROW_FROM: &str = "pairs p JOIN people mp ON mp.id = p.mentor_person_id \
     JOIN people ep ON ep.id = p.mentee_person_id";

fn row_of(row: &sea_orm::QueryResult) -> Result<(PairRow, Around), StoreError> {
    let model = <pair::Model as sea_orm::FromQueryResult>::from_query_result(row, "")?;
    let sealed_end_reason_text = model.end_reason_text.clone();
    let (facts, around) = facts_of(row)?;
    let row = PairRow {
        pair: to_domain(model)?,
        caller_is_member: row.try_get("", "caller_is_member")?,
        mentor: MemberName {
            given_name: row.try_get("", "mentor_given_name")?,
            family_name: row.try_get("", "mentor_family_name")?,
        },
        mentee: MemberName {
            given_name: row.try_get("", "mentee_given_name")?,
            family_name: row.try_get("", "mentee_family_name")?,
        },
        sealed_end_reason_text,
        facts,
    };
    Ok((row, around))
}

/// Rows read by [`row_of`], their clock's meeting times as of `now`.
async fn resolved(
    conn: &impl ConnectionTrait,
    rows: Vec<(PairRow, Around)>,
    now: DateTime<Utc>,
) -> Result<Vec<PairRow>, StoreError> {
    let (mut out, arounds): (Vec<PairRow>, Vec<Around>) = rows.into_iter().unzip();
    let mut view: Vec<(Uuid, &mut ReadFacts, Around)> = out
        .iter_mut()
        .zip(arounds)
        .map(|(r, a)| (r.pair.id, &mut r.facts, a))
        .collect();
    resolve_times(conn, &mut view, now).await?;
    Ok(out)
}

/// `GET /pairs/{id}` in **one** statement — the pair (its facts on its row), its members'
/// names, whether the person of `external_id` is one of them: three relations by primary
/// key — and one more only when a meeting still scheduled has started while another is
/// ahead ([`Around::resolve`]).
pub async fn read_one(
    conn: &impl ConnectionTrait,
    id: Uuid,
    external_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<PairRow>, StoreError> {
    let sql = format!(
        "SELECT {columns} FROM {ROW_FROM} WHERE p.id = $3",
        columns = row_columns(1),
    );
    let values: Vec<Value> = vec![external_id.into(), external_id.into(), id.into()];
    let Some(row) = conn
        .query_one_raw(statement(conn.get_database_backend(), &sql, values))
        .await?
    else {
        return Ok(None);
    };
    Ok(resolved(conn, vec![row_of(&row)?], now).await?.pop())
}

/// A page of [`PairRow`]s in id order after `after` (`GET /pairs`, `/me`): one statement
/// (see [`read_one`] for when there is a second), facts as of `now`. `external_id` is the
/// caller's, for [`PairRow::caller_is_member`].
pub async fn list_rows(
    conn: &impl ConnectionTrait,
    filter: &PairFilter,
    external_id: &str,
    after: Option<Uuid>,
    limit: u16,
    now: DateTime<Utc>,
) -> Result<Page<PairRow>, StoreError> {
    let mut values: Vec<Value> = vec![external_id.into(), external_id.into()];
    let mut conditions: Vec<String> = Vec::new();
    let bind = |values: &mut Vec<Value>, v: Value| {
        values.push(v);
        format!("${}", values.len())
    };
    if let Some(p) = filter.program_id {
        conditions.push(format!("p.program_id = {}", bind(&mut values, p.into())));
    }
    if let Some(s) = filter.status {
        conditions.push(format!(
            "p.status = {}",
            bind(&mut values, s.as_str().into())
        ));
    }
    if let Some(h) = filter.hierarchy_conflict {
        conditions.push(format!(
            "p.hierarchy_conflict = {}",
            bind(&mut values, h.into())
        ));
    }
    if let Some(m) = filter.member {
        let a = bind(&mut values, m.into());
        let b = bind(&mut values, m.into());
        conditions.push(format!(
            "(p.mentor_person_id = {a} OR p.mentee_person_id = {b})"
        ));
    }
    if let Some(external_id) = &filter.member_external_id {
        let a = bind(&mut values, external_id.as_str().into());
        let b = bind(&mut values, external_id.as_str().into());
        conditions.push(format!("(mp.external_id = {a} OR ep.external_id = {b})"));
    }
    if let Some(after) = after {
        conditions.push(format!("p.id > {}", bind(&mut values, after.into())));
    }
    let fetch = bind(&mut values, i64::from(limit).saturating_add(1).into());
    let wh = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT {columns} FROM {ROW_FROM} {wh} ORDER BY p.id LIMIT {fetch}",
        columns = row_columns(1),
    );
    let rows = conn
        .query_all_raw(statement(conn.get_database_backend(), &sql, values))
        .await?;
    let rows = rows.iter().map(row_of).collect::<Result<Vec<_>, _>>()?;
    let (rows, next) = crate::cut(rows, limit, |(r, _)| r.pair.id);
    let items = resolved(conn, rows, now).await?;
    Ok(Page { items, next })
}

/// The pair, and whether the person whose `external_id` this is is one of its members, in
/// one statement.
pub async fn find_seen_by(
    conn: &impl ConnectionTrait,
    id: Uuid,
    external_id: &str,
) -> Result<Option<(Pair, bool)>, StoreError> {
    let sql = "SELECT p.*, (u.id IS NOT NULL) AS caller_is_member FROM pairs p \
         LEFT JOIN people u ON u.external_id = $1 \
           AND (u.id = p.mentor_person_id OR u.id = p.mentee_person_id) \
         WHERE p.id = $2";
    let Some(row) = conn
        .query_one_raw(statement(
            conn.get_database_backend(),
            sql,
            vec![external_id.into(), id.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let member: bool = row.try_get("", "caller_is_member")?;
    let model = <pair::Model as sea_orm::FromQueryResult>::from_query_result(&row, "")?;
    Ok(Some((to_domain(model)?, member)))
}

/// Every pair of a program, whatever its status, as `(id, mentor enrollment, mentee
/// enrollment, status, revision)` in id order: what a matching run reads (a couple that was
/// ever paired is not paired again by a run; R10 counts the active and proposed ones).
pub async fn couples_in_program(
    conn: &impl ConnectionTrait,
    program_id: Uuid,
) -> Result<Vec<(Uuid, Uuid, Uuid, PairStatus, i32)>, StoreError> {
    let rows: Vec<(Uuid, Uuid, Uuid, String, i32)> = Pairs::find()
        .select_only()
        .column(Column::Id)
        .column(Column::MentorEnrollmentId)
        .column(Column::MenteeEnrollmentId)
        .column(Column::Status)
        .column(Column::Revision)
        .filter(Column::ProgramId.eq(program_id))
        .order_by_asc(Column::Id)
        .into_tuple()
        .all(conn)
        .await?;
    rows.into_iter()
        .map(|(id, mentor, mentee, status, revision)| {
            let status = PairStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("pair {id} has status {status:?}")))?;
            Ok((id, mentor, mentee, status, revision))
        })
        .collect()
}

/// Has there ever been a pair of these two enrollments, whatever its status (issue 17: a
/// request, like a matching run, never pairs two people again)?
pub async fn ever_paired(
    conn: &impl ConnectionTrait,
    mentor_enrollment_id: Uuid,
    mentee_enrollment_id: Uuid,
) -> Result<bool, StoreError> {
    let n = Pairs::find()
        .filter(Column::MentorEnrollmentId.eq(mentor_enrollment_id))
        .filter(Column::MenteeEnrollmentId.eq(mentee_enrollment_id))
        .count(conn)
        .await?;
    Ok(n > 0)
}
