//! Objectives (R4, R6): either member proposes, the other agrees, both follow the progress;
//! every change is a revision. Members only (R5).

use chrono::Utc;
use mentorat_domain::{
    Caller, PageLimit,
    objective::{self, Objective, ObjectiveChanges, ObjectiveDraft},
};
use mentorat_persistence::{
    Db, Page, StoreError, TransactionTrait, notifications, objectives,
    objectives::ObjectiveRevision, outbox, tallies,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    error::ServiceError,
    working_life::{lock_active, membership},
};

fn store(e: impl Into<StoreError>) -> ServiceError {
    ServiceError::from(e.into())
}

pub async fn list(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    after: Option<Uuid>,
    limit: PageLimit,
) -> Result<Page<Objective>, ServiceError> {
    membership(db, caller, pair_id).await?;
    Ok(objectives::list(db.conn(), db.keys(), pair_id, after, limit.get()).await?)
}

pub async fn get(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    id: Uuid,
) -> Result<Objective, ServiceError> {
    membership(db, caller, pair_id).await?;
    objectives::find(db.conn(), db.keys(), pair_id, id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// R4: proposed by either member; the other is notified that an objective awaits them.
pub async fn propose(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    draft: ObjectiveDraft,
) -> Result<Objective, ServiceError> {
    let m = membership(db, caller, pair_id).await?;
    m.require_active()?;
    let text = draft.validate()?;
    let now = Utc::now();
    let txn = db.conn().begin().await.map_err(store)?;
    lock_active(&txn, pair_id).await?;
    let created = objectives::insert(&txn, db.keys(), pair_id, m.me.id, text, now).await?;
    tallies::refresh_objectives(&txn, pair_id).await?;
    notifications::notify_about(
        &txn,
        &[m.other()],
        "objective.proposed",
        Some(m.pair.program_id),
        Some(pair_id),
        Some(created.id),
        now,
    )
    .await?;
    txn.commit().await.map_err(store)?;
    tracing::info!(pair_id = %pair_id, objective_id = %created.id, "objective proposed");
    Ok(created)
}

/// A member's change; `if_match` (the revision the client read) makes a concurrent change a
/// `412`; without it the change applies to the current state.
pub async fn update(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    id: Uuid,
    if_match: Option<i32>,
    changes: ObjectiveChanges,
) -> Result<Objective, ServiceError> {
    let m = membership(db, caller, pair_id).await?;
    m.require_active()?;
    // Read under the pair's lock: without If-Match the edit applies to the objective as it
    // is when this request gets its turn, never a 412.
    let txn = db.conn().begin().await.map_err(store)?;
    lock_active(&txn, pair_id).await?;
    let current = objectives::find(&txn, db.keys(), pair_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let edit = objective::edit(&current, changes, m.me.id)?;
    if if_match.is_some_and(|r| r != current.revision) {
        return Err(ServiceError::PreconditionFailed);
    }
    if edit.is_empty() {
        return Ok(current);
    }
    let now = Utc::now();
    objectives::update(&txn, db.keys(), &current, edit, m.me.id, now).await?;
    tallies::refresh_objectives(&txn, pair_id).await?;
    let updated = objectives::find(&txn, db.keys(), pair_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    txn.commit().await.map_err(store)?;
    tracing::info!(pair_id = %pair_id, objective_id = %id, "objective changed");
    Ok(updated)
}

/// R4: the other member agrees; an `objective.agreed` event goes to the outbox.
pub async fn agree(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    id: Uuid,
) -> Result<Objective, ServiceError> {
    let m = membership(db, caller, pair_id).await?;
    m.require_active()?;
    let txn = db.conn().begin().await.map_err(store)?;
    lock_active(&txn, pair_id).await?;
    let current = objectives::find(&txn, db.keys(), pair_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    objective::check_agreement(&current, m.me.id)?;
    let now = Utc::now();
    objectives::agree(&txn, db.keys(), &current, m.me.id, now).await?;
    tallies::refresh_objectives(&txn, pair_id).await?;
    outbox::record(
        &txn,
        "objective.agreed",
        json!({
            "objective_id": id,
            "pair_id": pair_id,
            "program_id": m.pair.program_id,
            "agreed_by": m.me.id,
            "agreed_at": now,
        }),
        now,
    )
    .await?;
    notifications::notify_about(
        &txn,
        &[current.proposed_by],
        "objective.agreed",
        Some(m.pair.program_id),
        Some(pair_id),
        Some(id),
        now,
    )
    .await?;
    let agreed = objectives::find(&txn, db.keys(), pair_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    txn.commit().await.map_err(store)?;
    tracing::info!(pair_id = %pair_id, objective_id = %id, "objective agreed");
    Ok(agreed)
}

pub async fn revisions(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    id: Uuid,
    after: Option<Uuid>,
    limit: PageLimit,
) -> Result<Page<ObjectiveRevision>, ServiceError> {
    membership(db, caller, pair_id).await?;
    objectives::find(db.conn(), db.keys(), pair_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok(objectives::revisions(db.conn(), db.keys(), id, after, limit.get()).await?)
}
