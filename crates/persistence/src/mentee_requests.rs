//! Requests by mentees (issue 17): the message sealed at rest, bound to its row and to the
//! two people who may read it (the mentee who wrote it, the mentor it was sent to).

use chrono::{DateTime, Utc};
use mentorat_domain::request::{MenteeRequest, RequestStatus};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    Page,
    crypto::{Aad, Keyring},
    entity::mentee_request::{self, Column, Entity as Requests},
    error::StoreError,
};

fn aad(id: Uuid, mentee_person_id: Uuid, mentor_person_id: Uuid) -> Aad<'static> {
    Aad::row("mentee_requests", "message", id)
        .and("mentee_person_id", mentee_person_id)
        .and("mentor_person_id", mentor_person_id)
}

/// A new pending request.
#[derive(Debug, Clone)]
pub struct NewRequest<'a> {
    pub program_id: Uuid,
    pub mentee_enrollment_id: Uuid,
    pub mentor_enrollment_id: Uuid,
    pub mentee_person_id: Uuid,
    pub mentor_person_id: Uuid,
    pub message: Option<&'a str>,
}

/// Insert a pending request; `StoreError::Duplicate` when one is pending between the two
/// already (the partial unique index).
pub async fn insert(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    new: &NewRequest<'_>,
    now: DateTime<Utc>,
) -> Result<MenteeRequest, StoreError> {
    let id = Uuid::now_v7();
    Requests::insert(mentee_request::ActiveModel {
        id: Set(id),
        program_id: Set(new.program_id),
        mentee_enrollment_id: Set(new.mentee_enrollment_id),
        mentor_enrollment_id: Set(new.mentor_enrollment_id),
        mentee_person_id: Set(new.mentee_person_id),
        mentor_person_id: Set(new.mentor_person_id),
        status: Set(RequestStatus::Pending.as_str().to_owned()),
        message: Set(keys.seal_opt(
            new.message,
            &aad(id, new.mentee_person_id, new.mentor_person_id),
        )?),
        pair_id: Set(None),
        created_at: Set(now),
        decided_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    find(conn, keys, new.program_id, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("request {id} vanished after insert")))
}

pub async fn find(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    program_id: Uuid,
    id: Uuid,
) -> Result<Option<MenteeRequest>, StoreError> {
    Requests::find_by_id(id)
        .filter(Column::ProgramId.eq(program_id))
        .one(conn)
        .await?
        .map(|row| to_domain(row, keys))
        .transpose()
}

/// Take the request's row lock until the transaction ends.
pub async fn lock(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    Requests::update_many()
        .col_expr(Column::Status, Expr::col(Column::Status))
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// The mentee's pending requests (counted under the mentee enrollment's lock).
pub async fn pending_of_mentee(
    conn: &impl ConnectionTrait,
    mentee_enrollment_id: Uuid,
) -> Result<i64, StoreError> {
    let n = Requests::find()
        .filter(Column::MenteeEnrollmentId.eq(mentee_enrollment_id))
        .filter(Column::Status.eq(RequestStatus::Pending.as_str()))
        .count(conn)
        .await?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Is a request of this mentee to this mentor pending?
pub async fn pending_between(
    conn: &impl ConnectionTrait,
    mentee_enrollment_id: Uuid,
    mentor_enrollment_id: Uuid,
) -> Result<bool, StoreError> {
    let n = Requests::find()
        .filter(Column::MenteeEnrollmentId.eq(mentee_enrollment_id))
        .filter(Column::MentorEnrollmentId.eq(mentor_enrollment_id))
        .filter(Column::Status.eq(RequestStatus::Pending.as_str()))
        .count(conn)
        .await?;
    Ok(n > 0)
}

/// The requests an enrollment sent (a mentee's) or received (a mentor's), oldest first.
pub async fn of_enrollment(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    enrollment_id: Uuid,
    after: Option<Uuid>,
    limit: u16,
) -> Result<Page<MenteeRequest>, StoreError> {
    let mut query = Requests::find()
        .filter(
            Condition::any()
                .add(Column::MenteeEnrollmentId.eq(enrollment_id))
                .add(Column::MentorEnrollmentId.eq(enrollment_id)),
        )
        .order_by_asc(Column::Id);
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    let rows = query.limit(u64::from(limit) + 1).all(conn).await?;
    let (rows, next) = crate::cut(rows, limit, |r| r.id);
    let items = rows
        .into_iter()
        .map(|row| to_domain(row, keys))
        .collect::<Result<_, _>>()?;
    Ok(Page { items, next })
}

/// Every request a person sent as a mentee (their data export).
pub async fn of_mentee_person(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    person_id: Uuid,
) -> Result<Vec<MenteeRequest>, StoreError> {
    Requests::find()
        .filter(Column::MenteePersonId.eq(person_id))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|row| to_domain(row, keys))
        .collect()
}

/// Move a pending request to `status` (and name the pair it proposed); `false` when it was
/// no longer pending.
pub async fn decide(
    conn: &impl ConnectionTrait,
    id: Uuid,
    status: RequestStatus,
    pair_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = Requests::update_many()
        .col_expr(Column::Status, Expr::value(status.as_str()))
        .col_expr(Column::PairId, Expr::value(pair_id))
        .col_expr(Column::DecidedAt, Expr::value(Some(now)))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(RequestStatus::Pending.as_str()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// The pending requests an enrollment sent or received (to void them), without their
/// messages: `(id, mentee person, mentor person)`.
pub async fn pending_of_enrollment(
    conn: &impl ConnectionTrait,
    enrollment_id: Uuid,
) -> Result<Vec<(Uuid, Uuid, Uuid)>, StoreError> {
    Ok(Requests::find()
        .select_only()
        .column(Column::Id)
        .column(Column::MenteePersonId)
        .column(Column::MentorPersonId)
        .filter(
            Condition::any()
                .add(Column::MenteeEnrollmentId.eq(enrollment_id))
                .add(Column::MentorEnrollmentId.eq(enrollment_id)),
        )
        .filter(Column::Status.eq(RequestStatus::Pending.as_str()))
        .order_by_asc(Column::Id)
        .into_tuple()
        .all(conn)
        .await?)
}

fn to_domain(row: mentee_request::Model, keys: &Keyring) -> Result<MenteeRequest, StoreError> {
    let status = RequestStatus::parse(&row.status).ok_or_else(|| {
        StoreError::Corrupt(format!("request {} has status {:?}", row.id, row.status))
    })?;
    let message = keys.open_content_opt(
        row.message.as_deref(),
        &aad(row.id, row.mentee_person_id, row.mentor_person_id),
    )?;
    Ok(MenteeRequest {
        id: row.id,
        program_id: row.program_id,
        mentee_enrollment_id: row.mentee_enrollment_id,
        mentor_enrollment_id: row.mentor_enrollment_id,
        mentee_person_id: row.mentee_person_id,
        mentor_person_id: row.mentor_person_id,
        status,
        message,
        pair_id: row.pair_id,
        created_at: row.created_at,
        decided_at: row.decided_at,
    })
}
