//! Requests by mentees (issue 17): a mentee asks one of their eligible mentors; the mentor
//! accepts (the pair is proposed, every rule of a proposal checked again in the same unit of
//! work) or declines; the mentee may withdraw. The message is the mentee's words: handed to
//! the two people only — a coordinator sees that requests exist and their states.
//!
//! Lock order, as a proposal's: the program (shared), the two enrollments (in id order), then
//! the request's row. The cap of pending requests is counted under the mentee enrollment's
//! lock, so concurrent requests of one mentee take turns; the partial unique index of
//! pending requests backs the one-pending-per-mentor rule.

use chrono::Utc;
use mentorat_domain::{
    Caller, DomainError, ErrorCode, PageLimit, Scope,
    request::{self, MenteeRequest, RequestAction, RequestFacts, RequestStatus},
};
use mentorat_persistence::{
    ConnectionTrait, DatabaseTransaction, Db, Page, StoreError, TransactionTrait, enrollments,
    mentee_requests::{self, NewRequest},
    notifications, outbox, pairs, people, programs,
};
use uuid::Uuid;

use crate::error::ServiceError;

fn store(e: impl Into<StoreError>) -> ServiceError {
    ServiceError::from(e.into())
}

/// A request as the caller sees it: one of its two people reads the message; a coordinator
/// or admin who is neither sees it without (`message` is `None`).
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub request: MenteeRequest,
    pub party: bool,
    /// Whether the request carries a message (what a coordinator may know of it).
    pub has_message: bool,
}

impl SeenRequest {
    fn new(mut request: MenteeRequest, party: bool) -> Self {
        let has_message = request.message.as_ref().is_some_and(|m| m.chars() > 0);
        if !party {
            request.message = None;
        }
        Self {
            request,
            party,
            has_message,
        }
    }

    /// As one of its two people sees it (the mentee who just sent it).
    pub fn party(request: MenteeRequest) -> Self {
        Self::new(request, true)
    }
}

async fn caller_person_id(db: &Db, caller: &Caller) -> Result<Option<Uuid>, ServiceError> {
    Ok(people::find_by_external_id(db.conn(), &caller.subject)
        .await?
        .map(|p| p.id))
}

/// A mentee asks a mentor (that mentee only).
pub async fn create(
    db: &Db,
    caller: &Caller,
    scope: Scope,
    program_id: Uuid,
    mentee_enrollment_id: Uuid,
    mentor_enrollment_id: Uuid,
    message: Option<String>,
) -> Result<MenteeRequest, ServiceError> {
    let me = caller_person_id(db, caller).await?;
    let seen = enrollments::find(db.conn(), program_id, mentee_enrollment_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if Some(seen.person_id) != me {
        // Only the mentee asks; a coordinator sees the enrollment but does not ask for them.
        return Err(match scope {
            Scope::Everything => ServiceError::Forbidden,
            Scope::OwnEnrollments => ServiceError::NotFound,
        });
    }
    let message = request::message(message)?;
    let txn = db.conn().begin().await.map_err(store)?;
    programs::lock_shared(&txn, program_id).await?;
    enrollments::lock(&txn, &[mentee_enrollment_id, mentor_enrollment_id]).await?;
    let program = programs::find(&txn, program_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if program.status == mentorat_domain::program::ProgramStatus::Closed {
        return Err(DomainError::ProgramClosed.into());
    }
    let mentee = enrollments::find(&txn, program_id, mentee_enrollment_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let mentor = enrollments::find(&txn, program_id, mentor_enrollment_id)
        .await?
        .ok_or_else(|| {
            ServiceError::Unprocessable(
                ErrorCode::UnknownEnrollment,
                format!(
                    "mentor_enrollment_id {mentor_enrollment_id} is not an enrollment of this program"
                ),
            )
        })?;
    if mentor.withdrawn_at.is_some() || mentee.withdrawn_at.is_some() {
        return Err(DomainError::EnrollmentWithdrawn.into());
    }
    let (proposal, mentor_person, mentee_person) =
        crate::pairs::proposal_facts(&txn, &program, &mentor, &mentee).await?;
    request::check_request(RequestFacts {
        mode: program.settings.matching_mode,
        proposal,
        pair_existed: pairs::ever_paired(&txn, mentor.id, mentee.id).await?,
        pending_to_mentor: mentee_requests::pending_between(&txn, mentee.id, mentor.id).await?,
        pending_of_mentee: mentee_requests::pending_of_mentee(&txn, mentee.id).await?,
    })?;
    let now = Utc::now();
    let created = mentee_requests::insert(
        &txn,
        db.keys(),
        &NewRequest {
            program_id,
            mentee_enrollment_id: mentee.id,
            mentor_enrollment_id: mentor.id,
            mentee_person_id: mentee_person.id,
            mentor_person_id: mentor_person.id,
            message: message.as_deref(),
        },
        now,
    )
    .await
    .map_err(|e| match e {
        StoreError::Duplicate => ServiceError::from(DomainError::RequestExists),
        other => other.into(),
    })?;
    announce(&txn, &created, "request.sent").await?;
    txn.commit().await.map_err(store)?;
    tracing::info!(request_id = %created.id, program_id = %program_id, "mentee request sent");
    Ok(created)
}

/// Both people are notified; the event names ids only (never the message).
async fn announce(
    conn: &impl ConnectionTrait,
    r: &MenteeRequest,
    kind: &str,
) -> Result<(), ServiceError> {
    let now = Utc::now();
    notifications::notify_about(
        conn,
        &[r.mentee_person_id, r.mentor_person_id],
        kind,
        Some(r.program_id),
        None,
        Some(r.id),
        now,
    )
    .await?;
    outbox::record(
        conn,
        kind,
        serde_json::json!({
            "request_id": r.id,
            "program_id": r.program_id,
            "mentee_enrollment_id": r.mentee_enrollment_id,
            "mentor_enrollment_id": r.mentor_enrollment_id,
            "pair_id": r.pair_id,
        }),
        now,
    )
    .await?;
    Ok(())
}

/// The requests an enrollment sent (a mentee's) or received (a mentor's): for that person,
/// with messages; for coordinators and admins, without.
pub async fn list(
    db: &Db,
    caller: &Caller,
    scope: Scope,
    program_id: Uuid,
    enrollment_id: Uuid,
    after: Option<Uuid>,
    limit: PageLimit,
) -> Result<Page<SeenRequest>, ServiceError> {
    let me = caller_person_id(db, caller).await?;
    let enrollment = enrollments::find(db.conn(), program_id, enrollment_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let party = Some(enrollment.person_id) == me;
    if !party && scope != Scope::Everything {
        return Err(ServiceError::NotFound);
    }
    let page =
        mentee_requests::of_enrollment(db.conn(), db.keys(), enrollment_id, after, limit.get())
            .await?;
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(|r| SeenRequest::new(r, party))
            .collect(),
        next: page.next,
    })
}

/// One request: its two people read it whole; coordinators and admins without the message.
pub async fn get(
    db: &Db,
    caller: &Caller,
    scope: Scope,
    program_id: Uuid,
    id: Uuid,
) -> Result<SeenRequest, ServiceError> {
    let me = caller_person_id(db, caller).await?;
    let found = mentee_requests::find(db.conn(), db.keys(), program_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let party = me.is_some_and(|me| me == found.mentee_person_id || me == found.mentor_person_id);
    if !party && scope != Scope::Everything {
        return Err(ServiceError::NotFound);
    }
    Ok(SeenRequest::new(found, party))
}

/// The mentor accepts (the pair is proposed), the mentor declines, or the mentee withdraws.
pub async fn decide(
    db: &Db,
    caller: &Caller,
    scope: Scope,
    program_id: Uuid,
    id: Uuid,
    action: RequestAction,
) -> Result<SeenRequest, ServiceError> {
    let me = caller_person_id(db, caller).await?;
    let seen = mentee_requests::find(db.conn(), db.keys(), program_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let party = me.is_some_and(|me| me == seen.mentee_person_id || me == seen.mentor_person_id);
    let allowed = match action {
        RequestAction::Accept | RequestAction::Decline => me == Some(seen.mentor_person_id),
        RequestAction::Withdraw => me == Some(seen.mentee_person_id),
        RequestAction::Void => false,
    };
    if !allowed {
        // The other person, or a coordinator, sees the request but may not answer it.
        return Err(if party || scope == Scope::Everything {
            ServiceError::Forbidden
        } else {
            ServiceError::NotFound
        });
    }
    let txn = db.conn().begin().await.map_err(store)?;
    if action == RequestAction::Accept {
        programs::lock_shared(&txn, program_id).await?;
        enrollments::lock(
            &txn,
            &[seen.mentor_enrollment_id, seen.mentee_enrollment_id],
        )
        .await?;
    }
    mentee_requests::lock(&txn, id).await?;
    let current = mentee_requests::find(&txn, db.keys(), program_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let to = request::transition(current.status, action)?;
    let now = Utc::now();
    let pair_id = if action == RequestAction::Accept {
        // R1, R10, active people, an open pair, a withdrawn enrollment, a closed program:
        // checked again by the proposal itself, in this unit of work.
        let pair = crate::pairs::propose_locked(
            &txn,
            caller,
            program_id,
            current.mentor_enrollment_id,
            current.mentee_enrollment_id,
        )
        .await?;
        Some(pair.id)
    } else {
        None
    };
    if !mentee_requests::decide(&txn, id, to, pair_id, now).await? {
        return Err(ServiceError::Store(StoreError::Corrupt(format!(
            "request {id} moved under its lock"
        ))));
    }
    let decided = mentee_requests::find(&txn, db.keys(), program_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    announce(&txn, &decided, event_of(to)).await?;
    if action == RequestAction::Accept {
        // The mentee has a mentor now: their other pending requests are void.
        void_pending(&txn, db, program_id, current.mentee_enrollment_id).await?;
    }
    txn.commit().await.map_err(store)?;
    tracing::info!(request_id = %id, program_id = %program_id, status = to.as_str(), "mentee request answered");
    Ok(SeenRequest::new(decided, true))
}

fn event_of(status: RequestStatus) -> &'static str {
    match status {
        RequestStatus::Pending => "request.sent",
        RequestStatus::Accepted => "request.accepted",
        RequestStatus::Declined => "request.declined",
        RequestStatus::Withdrawn => "request.withdrawn",
        RequestStatus::Void => "request.void",
    }
}

/// Void the pending requests an enrollment sent or received (another request of the mentee
/// was accepted, or the enrollment was withdrawn); both people of each are notified.
pub(crate) async fn void_pending(
    txn: &DatabaseTransaction,
    db: &Db,
    program_id: Uuid,
    enrollment_id: Uuid,
) -> Result<u64, ServiceError> {
    let now = Utc::now();
    let mut voided = 0;
    for (id, _, _) in mentee_requests::pending_of_enrollment(txn, enrollment_id).await? {
        let to = request::transition(RequestStatus::Pending, RequestAction::Void)?;
        if mentee_requests::decide(txn, id, to, None, now).await?
            && let Some(r) = mentee_requests::find(txn, db.keys(), program_id, id).await?
        {
            announce(txn, &r, event_of(to)).await?;
            voided += 1;
        }
    }
    Ok(voided)
}
