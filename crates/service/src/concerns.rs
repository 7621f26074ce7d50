//! Concerns (R12): the one path by which a pair's content reaches the coordinators — by a
//! member's own choice. Raising one notifies the coordinators' desk and writes a
//! `concern.raised` event (ids only) in the same transaction.

use chrono::Utc;
use mentorat_domain::{
    Caller, DomainError, FieldError, PageLimit,
    concern::{ConcernFollowUp, follow_up as judge},
};
use mentorat_persistence::{
    Db, Page, StoreError, TransactionTrait,
    concerns::{self, Concern},
    notifications::{self, COORDINATORS},
    outbox, programs,
};
use serde_json::json;
use uuid::Uuid;

use crate::{error::ServiceError, working_life::membership};

pub const TEXT_MAX_CHARS: usize = 10_000;

fn store(e: impl Into<StoreError>) -> ServiceError {
    ServiceError::from(e.into())
}

pub async fn raise(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    text: Option<String>,
) -> Result<Concern, ServiceError> {
    let m = membership(db, caller, pair_id).await?;
    let text = text.map(|t| t.trim().to_owned()).unwrap_or_default();
    let n = text.chars().count();
    if n == 0 || n > TEXT_MAX_CHARS {
        return Err(DomainError::Invalid(vec![FieldError::new(
            "/text",
            format!("say what worries you, in 1 to {TEXT_MAX_CHARS} characters"),
        )])
        .into());
    }
    let now = Utc::now();
    let txn = db.conn().begin().await.map_err(store)?;
    let concern = concerns::insert(
        &txn,
        db.keys(),
        pair_id,
        m.pair.program_id,
        m.me.id,
        &text,
        now,
    )
    .await?;
    outbox::record(
        &txn,
        "concern.raised",
        json!({"concern_id": concern.id, "pair_id": pair_id, "program_id": m.pair.program_id}),
        now,
    )
    .await?;
    notifications::notify_about(
        &txn,
        &[COORDINATORS],
        "concern.raised",
        Some(m.pair.program_id),
        Some(pair_id),
        Some(concern.id),
        now,
    )
    .await?;
    txn.commit().await.map_err(store)?;
    tracing::info!(pair_id = %pair_id, concern_id = %concern.id, "concern raised");
    Ok(concern)
}

/// A program's concerns (coordinators, admins).
pub async fn list(
    db: &Db,
    program_id: Uuid,
    after: Option<Uuid>,
    limit: PageLimit,
) -> Result<Page<Concern>, ServiceError> {
    programs::find(db.conn(), program_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok(concerns::list(db.conn(), db.keys(), program_id, after, limit.get()).await?)
}

/// One concern of a program (coordinators, admins; R12: its purpose is to reach them). The
/// read is audited as every read of a pair's words.
pub async fn get(db: &Db, program_id: Uuid, concern_id: Uuid) -> Result<Concern, ServiceError> {
    concerns::find(db.conn(), db.keys(), program_id, concern_id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// A coordinator follows a concern up: a step of `open → acknowledged → resolved` (the
/// domain's [`judge`]) and/or a response to its author. The author is notified of each
/// status reached, and integrations get `concern.acknowledged` / `concern.resolved` (ids
/// only), in the same transaction. Preconditions (`If-Match`) are judged after the change's
/// own rules; without `If-Match` the change applies to the concern as it is then.
pub async fn follow_up(
    db: &Db,
    caller: &Caller,
    program_id: Uuid,
    concern_id: Uuid,
    if_match: Option<i32>,
    change: ConcernFollowUp,
) -> Result<Concern, ServiceError> {
    const ATTEMPTS: usize = 3;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = get(db, program_id, concern_id).await?;
        let decision = judge(current.status, current.response.as_deref(), change.clone())?;
        if if_match.is_some_and(|rev| rev != current.revision) {
            return Err(ServiceError::PreconditionFailed);
        }
        if !decision.changes_anything() {
            return Ok(current);
        }
        let now = Utc::now();
        let txn = db.conn().begin().await.map_err(store)?;
        match concerns::follow_up(
            &txn,
            db.keys(),
            &current,
            decision.status,
            decision.response.as_deref(),
            now,
        )
        .await
        {
            Ok(()) => {}
            Err(StoreError::StaleRevision) if if_match.is_none() && attempt < ATTEMPTS => {
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        if let Some(event) = decision.reached.and_then(|s| s.event()) {
            notifications::notify_about(
                &txn,
                &[current.author_id],
                event,
                Some(program_id),
                Some(current.pair_id),
                Some(current.id),
                now,
            )
            .await?;
            outbox::record(
                &txn,
                event,
                json!({"concern_id": current.id, "pair_id": current.pair_id, "program_id": program_id}),
                now,
            )
            .await?;
        }
        txn.commit().await.map_err(store)?;
        tracing::info!(concern_id = %concern_id, status = %decision.status, by = %caller.subject, "concern followed up");
        return get(db, program_id, concern_id).await;
    }
}

/// The concerns the calling member raised in this pair, with their status and the
/// coordinators' response: the author's own only — the other member never sees them.
pub async fn list_own(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    after: Option<Uuid>,
    limit: PageLimit,
) -> Result<Page<Concern>, ServiceError> {
    let m = membership(db, caller, pair_id).await?;
    Ok(
        concerns::of_pair_author(db.conn(), db.keys(), pair_id, m.me.id, after, limit.get())
            .await?,
    )
}
