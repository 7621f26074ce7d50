//! Feedback (DOMAIN.md "Feedback dimensions"): a member's check-in after a held meeting, and
//! their final evaluation once the pair has ended. The answers are their author's (R5);
//! coordinators and analysts only ever see averages over at least k people (R13).

use chrono::Utc;
use mentorat_domain::ErrorCode;
use mentorat_domain::{
    Caller, DomainError, FieldError,
    feedback::{self, FeedbackDraft, FeedbackKind},
};
use mentorat_persistence::{
    Db, StoreError, TransactionTrait,
    feedback::{self as store_feedback, StoredFeedback},
    meetings,
};
use uuid::Uuid;

use crate::{error::ServiceError, working_life::membership};

pub async fn give(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    draft: FeedbackDraft,
) -> Result<StoredFeedback, ServiceError> {
    let m = membership(db, caller, pair_id).await?;
    let valid = draft.validate()?;
    match (valid.kind, valid.meeting_id) {
        (FeedbackKind::CheckIn, Some(meeting_id)) => {
            let meeting = meetings::find(db.conn(), db.keys(), pair_id, meeting_id)
                .await?
                .ok_or_else(|| {
                    DomainError::Invalid(vec![FieldError::new(
                        "/meeting_id",
                        "names no meeting of this pair",
                    )])
                })?;
            feedback::check_check_in(meeting.status)?;
        }
        _ => feedback::check_final(m.pair.status)?,
    }
    let now = Utc::now();
    let txn = db.conn().begin().await.map_err(StoreError::from)?;
    let id = store_feedback::insert(&txn, db.keys(), pair_id, m.me.id, &valid, now)
        .await
        .map_err(|e| match e {
            StoreError::Duplicate => ServiceError::Conflict(
                ErrorCode::FeedbackExists,
                match valid.kind {
                    FeedbackKind::CheckIn => {
                        "you already checked in for this meeting: one check-in per meeting".into()
                    }
                    FeedbackKind::Final => "you already gave your final evaluation".into(),
                },
            ),
            other => other.into(),
        })?;
    mentorat_persistence::tallies::count_feedback(&txn, id).await?;
    txn.commit().await.map_err(StoreError::from)?;
    tracing::info!(pair_id = %pair_id, feedback_id = %id, kind = valid.kind.as_str(), "feedback given");
    Ok(StoredFeedback {
        id,
        pair_id,
        author_id: m.me.id,
        feedback: valid,
        created_at: now,
    })
}

/// The caller's own feedback in a pair.
pub async fn mine(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
) -> Result<Vec<StoredFeedback>, ServiceError> {
    let m = membership(db, caller, pair_id).await?;
    Ok(store_feedback::of_author(db.conn(), db.keys(), pair_id, m.me.id).await?)
}
