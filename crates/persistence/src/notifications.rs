//! Notifications: what happened to a person's pairs, ids and metadata only (R5).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    Page,
    entity::notification::{self, Column, Entity as Notifications},
    error::StoreError,
};

pub use mentorat_domain::notification::Notification;

/// Notify each of `people` of `kind` about a pair, in one statement.
pub async fn notify(
    conn: &impl ConnectionTrait,
    people: &[Uuid],
    kind: &str,
    program_id: Option<Uuid>,
    pair_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    notify_about(conn, people, kind, program_id, pair_id, None, now).await
}

/// Notify each of `people` of `kind` about something inside a pair (`subject_id`: a meeting,
/// an objective), in one statement.
pub async fn notify_about(
    conn: &impl ConnectionTrait,
    people: &[Uuid],
    kind: &str,
    program_id: Option<Uuid>,
    pair_id: Option<Uuid>,
    subject_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if people.is_empty() {
        return Ok(());
    }
    let rows = people.iter().map(|person| notification::ActiveModel {
        id: Set(Uuid::now_v7()),
        person_id: Set(*person),
        kind: Set(kind.to_owned()),
        program_id: Set(program_id),
        pair_id: Set(pair_id),
        subject_id: Set(subject_id),
        created_at: Set(now),
        read_at: Set(None),
    });
    Notifications::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The coordinators' desk: notifications for every coordinator and admin (a concern raised,
/// R12), since coordinators are known by their token's role, not as people.
pub const COORDINATORS: Uuid = Uuid::nil();

/// The admins' desk: what only admins act on (a webhook disabled for failing).
pub const ADMINS: Uuid = Uuid::max();

/// The notifications of these recipients (a person, and the desk for coordinators), newest
/// first.
pub async fn list(
    conn: &impl ConnectionTrait,
    recipients: &[Uuid],
    before: Option<Uuid>,
    limit: u16,
) -> Result<Page<Notification>, StoreError> {
    let mut query = Notifications::find()
        .filter(Column::PersonId.is_in(recipients.iter().copied()))
        .order_by_desc(Column::Id);
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    let rows = query.limit(u64::from(limit) + 1).all(conn).await?;
    let (rows, next) = crate::cut(rows, limit, |r| r.id);
    Ok(Page {
        items: rows.into_iter().map(to_domain).collect(),
        next,
    })
}

/// Mark one of the recipients' notifications read; `false` when it is not theirs.
pub async fn mark_read(
    conn: &impl ConnectionTrait,
    recipients: &[Uuid],
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let found = Notifications::find_by_id(id)
        .filter(Column::PersonId.is_in(recipients.iter().copied()))
        .one(conn)
        .await?;
    let Some(found) = found else {
        return Ok(false);
    };
    if found.read_at.is_none() {
        Notifications::update_many()
            .col_expr(Column::ReadAt, Expr::value(now))
            .filter(Column::Id.eq(id))
            .exec(conn)
            .await?;
    }
    Ok(true)
}

pub async fn find(
    conn: &impl ConnectionTrait,
    recipients: &[Uuid],
    id: Uuid,
) -> Result<Option<Notification>, StoreError> {
    Ok(Notifications::find_by_id(id)
        .filter(Column::PersonId.is_in(recipients.iter().copied()))
        .one(conn)
        .await?
        .map(to_domain))
}

fn to_domain(row: notification::Model) -> Notification {
    Notification {
        id: row.id,
        person_id: row.person_id,
        kind: row.kind,
        program_id: row.program_id,
        pair_id: row.pair_id,
        subject_id: row.subject_id,
        created_at: row.created_at,
        read_at: row.read_at,
    }
}
