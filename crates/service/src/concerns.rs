//! Concerns (R12): the one path by which a pair's content reaches the coordinators — by a
//! member's own choice. Raising one notifies the coordinators' desk and writes a
//! `concern.raised` event (ids only) in the same transaction.

use chrono::Utc;
use mentorat_domain::{Caller, DomainError, FieldError, PageLimit};
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
