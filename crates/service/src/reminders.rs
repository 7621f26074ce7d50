//! Meeting reminders (API.md "Reminders"): a program's `reminder_hours` before a scheduled
//! meeting, both members get a `meeting.upcoming` notification and integrations the
//! `meeting.upcoming` event (ids and time only, R5). One batch is one transaction: the
//! meetings claimed (`SKIP LOCKED` on PostgreSQL, the write lock on SQLite), the domain's
//! decision for each, and for those due the mark, the notifications and the outbox event
//! together — so a reminder is written once per meeting and start time however many replicas
//! run the task, and a meeting moved or cancelled meanwhile is judged as it now is.

use chrono::{DateTime, Utc};
use mentorat_domain::reminder;
use mentorat_persistence::{Db, StoreError, TransactionTrait, notifications, outbox, reminders};
use serde_json::json;

use crate::error::ServiceError;

fn store(e: impl Into<StoreError>) -> ServiceError {
    ServiceError::from(e.into())
}

/// One batch at `now`, in a transaction of its own: at most `limit` meetings per lead time
/// claimed. Returns how many were claimed and how many reminded.
pub async fn remind_batch(
    db: &Db,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<(u64, u64), ServiceError> {
    let txn = db.conn().begin().await.map_err(store)?;
    reminders::begin_claim(&txn).await?;
    let mut claimed = 0;
    let mut due = Vec::new();
    for hours in reminders::lead_times(&txn).await? {
        let candidates = reminders::claim(&txn, hours, now, limit).await?;
        claimed += candidates.len() as u64;
        due.extend(
            candidates
                .into_iter()
                .filter(|c| reminder::is_due(&c.facts, now)),
        );
    }
    let ids: Vec<_> = due.iter().map(|c| c.meeting_id).collect();
    reminders::mark_reminded(&txn, &ids).await?;
    for c in &due {
        notifications::notify_about(
            &txn,
            &[c.mentor_person_id, c.mentee_person_id],
            reminder::KIND,
            Some(c.program_id),
            Some(c.pair_id),
            Some(c.meeting_id),
            now,
        )
        .await?;
        outbox::record(
            &txn,
            reminder::KIND,
            json!({
                "meeting_id": c.meeting_id,
                "pair_id": c.pair_id,
                "program_id": c.program_id,
                "starts_at": c.facts.starts_at,
                "reminder_hours": c.facts.reminder_hours,
            }),
            now,
        )
        .await?;
    }
    txn.commit().await.map_err(store)?;
    for c in &due {
        tracing::info!(meeting_id = %c.meeting_id, pair_id = %c.pair_id, "meeting reminder written");
    }
    Ok((claimed, due.len() as u64))
}
