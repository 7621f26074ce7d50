//! Notes (R5, R6): a member's journal of the pair — `private` (the author only) or `shared`
//! (both members). Only the author changes or deletes a note; the other member's private
//! note does not exist for them.

use chrono::Utc;
use mentorat_domain::{
    Caller, PageLimit,
    confidentiality::{Actor, Decision, pair_access},
    note::{self, Note, Visibility},
};
use mentorat_persistence::{ConnectionTrait, Db, Page, StoreError, TransactionTrait, notes, pairs};
use uuid::Uuid;

use crate::{
    error::ServiceError,
    working_life::{Membership, membership, refusal},
};

pub async fn list(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    after: Option<Uuid>,
    limit: PageLimit,
) -> Result<Page<Note>, ServiceError> {
    let m = membership(db, caller, pair_id).await?;
    Ok(notes::list(db.conn(), db.keys(), pair_id, m.me.id, after, limit.get()).await?)
}

pub async fn create(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    visibility: Visibility,
    body: Option<String>,
) -> Result<Note, ServiceError> {
    let m = membership(db, caller, pair_id).await?;
    m.require_active()?;
    let body = note::body(body)?;
    let created = notes::insert(
        db.conn(),
        db.keys(),
        pair_id,
        m.me.id,
        visibility,
        &body,
        Utc::now(),
    )
    .await?;
    tracing::info!(pair_id = %pair_id, note_id = %created.id, visibility = visibility.as_str(), "note written");
    Ok(created)
}

/// A note the caller may see, with what they are to it.
async fn visible(
    conn: &impl ConnectionTrait,
    db: &Db,
    caller: &Caller,
    m: &Membership,
    id: Uuid,
) -> Result<Note, ServiceError> {
    let found = notes::find(conn, db.keys(), m.pair.id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    match pair_access(
        Actor::of(caller),
        found.relationship(m.me.id),
        found.visibility.resource(),
    ) {
        Decision::Allow => Ok(found),
        other => Err(refusal(other)),
    }
}

pub async fn get(db: &Db, caller: &Caller, pair_id: Uuid, id: Uuid) -> Result<Note, ServiceError> {
    let m = membership(db, caller, pair_id).await?;
    visible(db.conn(), db, caller, &m, id).await
}

/// The author changes the body or the visibility (`If-Match` → `412` when stale).
pub async fn update(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    id: Uuid,
    if_match: Option<i32>,
    visibility: Option<Visibility>,
    body: Option<String>,
) -> Result<Note, ServiceError> {
    let m = membership(db, caller, pair_id).await?;
    // Read under the pair's lock: without If-Match the change applies to the note as it is
    // when this request gets its turn, never a 412.
    let txn = db
        .conn()
        .begin()
        .await
        .map_err(|e| ServiceError::from(StoreError::from(e)))?;
    pairs::lock(&txn, pair_id).await?;
    let current = visible(&txn, db, caller, &m, id).await?;
    note::check_author(&current, m.me.id)?;
    let body = match body {
        Some(b) => note::body(Some(b))?,
        None => current.body.expose().to_owned(),
    };
    if if_match.is_some_and(|r| r != current.revision) {
        return Err(ServiceError::PreconditionFailed);
    }
    let visibility = visibility.unwrap_or(current.visibility);
    if body == current.body.expose() && visibility == current.visibility {
        return Ok(current);
    }
    notes::update(&txn, db.keys(), &current, visibility, &body, Utc::now()).await?;
    let updated = notes::find(&txn, db.keys(), pair_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    txn.commit()
        .await
        .map_err(|e| ServiceError::from(StoreError::from(e)))?;
    tracing::info!(pair_id = %pair_id, note_id = %id, "note changed");
    Ok(updated)
}

pub async fn delete(db: &Db, caller: &Caller, pair_id: Uuid, id: Uuid) -> Result<(), ServiceError> {
    let m = membership(db, caller, pair_id).await?;
    let current = visible(db.conn(), db, caller, &m, id).await?;
    note::check_author(&current, m.me.id)?;
    notes::delete(db.conn(), id).await?;
    tracing::info!(pair_id = %pair_id, note_id = %id, "note deleted");
    Ok(())
}
