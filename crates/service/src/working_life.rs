//! What every use case of a pair's working life starts with: the pair, the caller's side of
//! it, and the refusal for anyone else (R5: `confidential` to coordinators and admins, `404`
//! to everyone else).

use chrono::{DateTime, Utc};
use mentorat_domain::{
    Caller, DomainError,
    confidentiality::{Actor, Decision, PairResource, Relationship, pair_access},
    enrollment::CharterStatus,
    pair::{Pair, PairStatus, Side},
    person::Person,
};
use mentorat_persistence::{
    ConnectionTrait, Db, StoreError, charters, enrollments, meetings, pairs, pairs::PairsOf,
    people, tallies,
};
use uuid::Uuid;

use crate::error::ServiceError;

/// The caller, as one of the two members of a pair.
#[derive(Debug, Clone)]
pub struct Membership {
    pub pair: Pair,
    pub side: Side,
    pub me: Person,
}

impl Membership {
    /// The other member's person id.
    pub fn other(&self) -> Uuid {
        match self.side {
            Side::Mentor => self.pair.mentee_person_id,
            Side::Mentee => self.pair.mentor_person_id,
        }
    }

    /// Objectives and meetings are written in an active pair only.
    pub fn require_active(&self) -> Result<(), ServiceError> {
        active(self.pair.status)
    }
}

/// Inside a write's transaction: take the pair's lock, then check again that it is still
/// active — it may have ended, been suspended or completed between the first read and the
/// lock, and nothing would cancel what we write now.
pub async fn lock_active(
    conn: &impl mentorat_persistence::ConnectionTrait,
    pair_id: Uuid,
) -> Result<(), ServiceError> {
    pairs::lock(conn, pair_id).await?;
    let pair = pairs::find(conn, pair_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    active(pair.status)
}

fn active(status: PairStatus) -> Result<(), ServiceError> {
    if status == PairStatus::Active {
        Ok(())
    } else {
        Err(DomainError::PairNotActive { status }.into())
    }
}

/// The refusal the policy's decision (anything but `Allow`) stands for.
pub fn refusal(decision: Decision) -> ServiceError {
    match decision {
        Decision::Confidential => ServiceError::Confidential,
        Decision::Forbidden => ServiceError::Forbidden,
        Decision::NotFound | Decision::Allow => ServiceError::NotFound,
    }
}

/// The pair's content is the two members' only: anyone else gets `confidential`
/// (coordinators, admins) or `not_found` (everyone else, and a pair that does not exist).
pub async fn membership(
    db: &Db,
    caller: &Caller,
    pair_id: Uuid,
) -> Result<Membership, ServiceError> {
    let refusal = || {
        refusal(pair_access(
            Actor::of(caller),
            Relationship::Outsider,
            PairResource::ObjectiveContent,
        ))
    };
    let pair = pairs::find(db.conn(), pair_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let Some(me) = people::find_by_external_id(db.conn(), &caller.subject).await? else {
        return Err(refusal());
    };
    match pair.side_of(me.id) {
        Some(side) => Ok(Membership { pair, side, me }),
        None => Err(refusal()),
    }
}

/// R3: does either member still have to accept the program's current charter?
pub async fn charter_pending(db: &Db, pair: &Pair) -> Result<bool, ServiceError> {
    let current = charters::current_version(db.conn(), pair.program_id).await?;
    let both = enrollments::find_many(
        db.conn(),
        &[pair.mentor_enrollment_id, pair.mentee_enrollment_id],
    )
    .await?;
    Ok(both
        .iter()
        .any(|e| CharterStatus::of(e.accepted_charter_version, current) == CharterStatus::Pending))
}

/// When pairs end, are suspended (R11) or complete with their program, the meetings they
/// still had ahead are cancelled, so no calendar keeps showing them: the pairs locked, the
/// meetings cancelled, the pairs' meeting facts refreshed — and, when a member did it
/// (`by`), their cancellations counted in the report (those the service makes when a person
/// leaves or a program closes say nothing of how a pair kept its appointments, R7). Inside
/// the caller's transaction. Returns how many were cancelled.
pub async fn cancel_ahead(
    conn: &impl ConnectionTrait,
    pairs_: PairsOf,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    pairs::lock_all(conn, pairs_).await?;
    let cancelled = meetings::cancel_scheduled_after(conn, pairs_, by, now).await?;
    if by.is_some() {
        tallies::count_meetings(conn, &cancelled).await?;
    }
    tallies::refresh_meeting_facts(conn, pairs_).await?;
    Ok(cancelled.len() as u64)
}

/// [`cancel_ahead`] for several pairs (a departure suspends every pair of the person who
/// left), one pair after another in id order, so two departures at once never take the same
/// pairs in opposite orders.
pub async fn cancel_ahead_of_pairs(
    conn: &impl ConnectionTrait,
    pair_ids: &[Uuid],
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut ids = pair_ids.to_vec();
    ids.sort_unstable();
    let mut n = 0;
    for id in ids {
        n += cancel_ahead(conn, PairsOf::One(id), by, now).await?;
    }
    Ok(n)
}

/// After a meeting write, inside its transaction and under the pair's lock: the meetings
/// that left `scheduled` by a member's hand (`counted`) go into the report's tallies, a
/// rescheduling records the delay (R7), and the pair's meeting facts are recomputed.
pub async fn meetings_changed(
    conn: &impl ConnectionTrait,
    pair_id: Uuid,
    counted: &[Uuid],
    rescheduled: Option<(Uuid, DateTime<Utc>)>,
) -> Result<(), StoreError> {
    if !counted.is_empty() {
        tallies::count_meetings(conn, counted).await?;
    }
    if let Some((cancelled, at)) = rescheduled {
        tallies::record_reschedule(conn, cancelled, at).await?;
    }
    tallies::refresh_meeting_facts(conn, PairsOf::One(pair_id)).await
}
