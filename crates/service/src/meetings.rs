//! Meetings (R2, R3, R6, R7): either member schedules, changes, cancels (with a reason, `late`
//! inside the notice window), makes up for a cancellation, and closes a meeting as held or
//! missed. Members only (R5). Scheduling and cancelling write an outbox event and notify the
//! other member in the same transaction.

use chrono::{DateTime, Utc};
use mentorat_domain::ErrorCode;
use mentorat_domain::{
    Caller, DomainError, PageLimit,
    meeting::{self, Meeting, MeetingDraft, MeetingStatus},
};
use mentorat_persistence::{
    Db, Page, StoreError, TransactionTrait,
    meetings::{self, NewMeeting},
    notifications, outbox, pairs, programs,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    error::ServiceError,
    working_life::{Membership, charter_pending, lock_active, meetings_changed, membership},
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
) -> Result<Page<Meeting>, ServiceError> {
    membership(db, caller, pair_id).await?;
    Ok(meetings::list(db.conn(), db.keys(), pair_id, after, limit.get()).await?)
}

pub async fn get(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    id: Uuid,
) -> Result<Meeting, ServiceError> {
    membership(db, caller, pair_id).await?;
    find(db, pair_id, id).await
}

async fn find(db: &Db, pair_id: Uuid, id: Uuid) -> Result<Meeting, ServiceError> {
    meetings::find(db.conn(), db.keys(), pair_id, id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// An active pair whose members both hold the current charter (R3) may schedule.
async fn may_schedule(db: &Db, m: &Membership) -> Result<(), ServiceError> {
    m.require_active()?;
    if charter_pending(db, &m.pair).await? {
        return Err(DomainError::CharterNotAccepted.into());
    }
    Ok(())
}

fn event(m: &Membership, meeting: &Meeting) -> serde_json::Value {
    json!({
        "meeting_id": meeting.id,
        "pair_id": m.pair.id,
        "program_id": m.pair.program_id,
        "starts_at": meeting.plan.starts_at,
        "duration_minutes": meeting.plan.duration_minutes,
        "mode": meeting.plan.mode.as_str(),
        "status": meeting.status.as_str(),
    })
}

/// Schedule a meeting; `reschedules` names the cancelled meeting it makes up for (R7).
pub async fn schedule(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    draft: MeetingDraft,
    reschedules: Option<Uuid>,
) -> Result<Meeting, ServiceError> {
    let m = membership(db, caller, pair_id).await?;
    may_schedule(db, &m).await?;
    let now = Utc::now();
    let plan = draft.validate(now, true)?;
    if let Some(cancelled) = reschedules {
        let target = meetings::find(db.conn(), db.keys(), pair_id, cancelled).await?;
        let made_up = meetings::is_made_up(db.conn(), cancelled).await?;
        meeting::check_reschedules(target.as_ref(), pair_id, made_up)?;
    }
    let txn = db.conn().begin().await.map_err(store)?;
    lock_active(&txn, pair_id).await?;
    meeting::check_no_overlap(&plan, &meetings::busy(&txn, pair_id, None).await?)?;
    let created = meetings::insert(
        &txn,
        db.keys(),
        NewMeeting {
            pair_id,
            scheduled_by: m.me.id,
            plan,
            reschedules,
        },
        now,
    )
    .await
    .map_err(|e| match e {
        StoreError::Duplicate => ServiceError::Conflict(
            ErrorCode::MeetingAlreadyRescheduled,
            "that cancelled meeting was rescheduled at the same moment; reload the meetings".into(),
        ),
        other => other.into(),
    })?;
    meetings_changed(&txn, pair_id, &[], reschedules.map(|c| (c, now))).await?;
    let kind = if reschedules.is_some() {
        "meeting.rescheduled"
    } else {
        "meeting.scheduled"
    };
    let mut payload = event(&m, &created);
    payload["reschedules"] = json!(reschedules);
    outbox::record(&txn, kind, payload, now).await?;
    notifications::notify_about(
        &txn,
        &[m.other()],
        kind,
        Some(m.pair.program_id),
        Some(pair_id),
        Some(created.id),
        now,
    )
    .await?;
    txn.commit().await.map_err(store)?;
    tracing::info!(pair_id = %pair_id, meeting_id = %created.id, kind, "meeting scheduled");
    Ok(created)
}

/// What a `PATCH` may change: absent fields stay; `Some(None)` clears. No `Debug`: it holds
/// the words.
#[derive(Clone, Default)]
pub struct MeetingChanges {
    pub starts_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i64>,
    pub mode: Option<meeting::MeetingMode>,
    pub location: Option<Option<meeting::LocationDraft>>,
    pub agenda: Option<Option<String>>,
}

/// Change a scheduled meeting (`If-Match` optional, `412` when stale). A new time is checked
/// as a new meeting is: not in the past, no overlap, R2 and R3.
pub async fn update(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    id: Uuid,
    if_match: Option<i32>,
    changes: MeetingChanges,
) -> Result<Meeting, ServiceError> {
    let m = membership(db, caller, pair_id).await?;
    may_schedule(db, &m).await?;
    // Read under the pair's lock: without If-Match the change applies to the meeting as it
    // is when this request gets its turn, never a 412.
    let txn = db.conn().begin().await.map_err(store)?;
    lock_active(&txn, pair_id).await?;
    let current = meetings::find(&txn, db.keys(), pair_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if current.status != MeetingStatus::Scheduled {
        return Err(DomainError::MeetingNotScheduled {
            status: current.status,
        }
        .into());
    }
    let now = Utc::now();
    let moved = changes
        .starts_at
        .is_some_and(|t| t != current.plan.starts_at);
    let old = &current.plan;
    let draft = MeetingDraft {
        starts_at: Some(changes.starts_at.unwrap_or(old.starts_at)),
        duration_minutes: Some(
            changes
                .duration_minutes
                .unwrap_or(i64::from(old.duration_minutes)),
        ),
        mode: Some(changes.mode.unwrap_or(old.mode)),
        location: match changes.location {
            Some(l) => l,
            None => old.location.as_ref().map(|l| meeting::LocationDraft {
                kind: Some(l.kind),
                label: Some(l.label.expose().to_owned()),
            }),
        },
        agenda: match changes.agenda {
            Some(a) => a,
            None => old.agenda.as_ref().map(|a| a.expose().to_owned()),
        },
    };
    let plan = draft.validate(now, moved)?;
    if if_match.is_some_and(|r| r != current.revision) {
        return Err(ServiceError::PreconditionFailed);
    }
    if plan == current.plan {
        return Ok(current);
    }
    meeting::check_no_overlap(&plan, &meetings::busy(&txn, pair_id, Some(id)).await?)?;
    meetings::update_plan(&txn, db.keys(), &current, &plan, now).await?;
    meetings_changed(&txn, pair_id, &[], None).await?;
    let updated = meetings::find(&txn, db.keys(), pair_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if moved || plan.duration_minutes != current.plan.duration_minutes {
        let mut payload = event(&m, &updated);
        payload["previous_starts_at"] = json!(current.plan.starts_at);
        outbox::record(&txn, "meeting.rescheduled", payload, now).await?;
        notifications::notify_about(
            &txn,
            &[m.other()],
            "meeting.rescheduled",
            Some(m.pair.program_id),
            Some(pair_id),
            Some(id),
            now,
        )
        .await?;
    }
    txn.commit().await.map_err(store)?;
    tracing::info!(pair_id = %pair_id, meeting_id = %id, moved, "meeting changed");
    Ok(updated)
}

/// R7: a member cancels, with a reason. The other member is notified, a `meeting.cancelled`
/// event is written in the same transaction, and the pair owes a meeting.
pub async fn cancel(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    id: Uuid,
    reason: Option<String>,
) -> Result<Meeting, ServiceError> {
    let m = membership(db, caller, pair_id).await?;
    let program = programs::find(db.conn(), m.pair.program_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    // Checked under the pair's lock: when both members cancel (or one cancels while the
    // other closes it) at once, the later one is refused for what the meeting has become
    // (`409 meeting_not_scheduled`), never with a `412` it did not ask for.
    let txn = db.conn().begin().await.map_err(store)?;
    pairs::lock(&txn, pair_id).await?;
    let current = meetings::find(&txn, db.keys(), pair_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let now = Utc::now();
    let (reason, late) =
        meeting::check_cancel(&current, reason, program.settings.notice_hours, now)?;
    meetings::cancel(&txn, db.keys(), &current, m.me.id, &reason, late, now).await?;
    meetings_changed(&txn, pair_id, &[id], None).await?;
    let cancelled = meetings::find(&txn, db.keys(), pair_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let mut payload = event(&m, &cancelled);
    payload["late"] = json!(late);
    payload["cancelled_by"] = json!(m.me.id);
    outbox::record(&txn, "meeting.cancelled", payload, now).await?;
    notifications::notify_about(
        &txn,
        &[m.other()],
        "meeting.cancelled",
        Some(m.pair.program_id),
        Some(pair_id),
        Some(id),
        now,
    )
    .await?;
    txn.commit().await.map_err(store)?;
    tracing::info!(pair_id = %pair_id, meeting_id = %id, late, "meeting cancelled");
    Ok(cancelled)
}

/// `held` (with an optional summary) or `missed`: a scheduled meeting that has started.
pub async fn close(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
    id: Uuid,
    status: MeetingStatus,
    summary: Option<String>,
) -> Result<Meeting, ServiceError> {
    let m = membership(db, caller, pair_id).await?;
    let summary = meeting::summary(summary)?;
    // Checked under the pair's lock (see `cancel`); the meeting and its program's tallies
    // change together.
    let txn = db.conn().begin().await.map_err(store)?;
    pairs::lock(&txn, pair_id).await?;
    let current = meetings::find(&txn, db.keys(), pair_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let now = Utc::now();
    meeting::check_close(&current, now)?;
    meetings::close(&txn, db.keys(), &current, status, summary, now).await?;
    meetings_changed(&txn, pair_id, &[id], None).await?;
    txn.commit().await.map_err(store)?;
    tracing::info!(pair_id = %m.pair.id, meeting_id = %id, status = status.as_str(), "meeting closed");
    find(db, pair_id, id).await
}
