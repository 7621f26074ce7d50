//! Charters and enrollments (R3): coordinators add charter versions and enroll people;
//! the enrolled person accepts the current charter themself.

use chrono::Utc;
use mentorat_domain::{
    Caller, PageLimit, Scope,
    enrollment::{
        CharterVersion, Enrollment, EnrollmentChanges, EnrollmentDraft, EnrollmentRole,
        charter_text, check_capacity, check_charter_acceptance, check_enrollable, check_withdrawal,
    },
    pair::EndReason,
    program::{Program, ProgramStatus},
};
use mentorat_domain::{DomainError, ErrorCode};
use mentorat_persistence::{
    Db, Page, StoreError, TransactionTrait, charters, enrollments, notifications, outbox, pairs,
    people, programs,
    tallies::{self, StandingOf},
};
use uuid::Uuid;

use crate::error::ServiceError;

/// The program, if the caller may see it: everyone's for coordinators, only the programs a
/// participant is enrolled in otherwise (anything else does not exist for them).
pub async fn visible_program(
    db: &Db,
    caller: &Caller,
    scope: Scope,
    program_id: Uuid,
) -> Result<Program, ServiceError> {
    let program = programs::find(db.conn(), program_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if scope == Scope::OwnEnrollments && own_enrollment(db, caller, program_id).await?.is_none() {
        return Err(ServiceError::NotFound);
    }
    Ok(program)
}

/// The caller's own enrollment in a program, if any.
pub async fn own_enrollment(
    db: &Db,
    caller: &Caller,
    program_id: Uuid,
) -> Result<Option<Enrollment>, ServiceError> {
    let Some(person) = people::find_by_external_id(db.conn(), &caller.subject).await? else {
        return Ok(None);
    };
    Ok(enrollments::find_by_person(db.conn(), program_id, person.id).await?)
}

pub async fn add_charter_version(
    db: &Db,
    caller: &Caller,
    program_id: Uuid,
    text: String,
) -> Result<CharterVersion, ServiceError> {
    let text = charter_text(text)?;
    // The program's lock makes concurrent additions take turns: each reads the number the
    // one before it committed and writes the next (the key on (program, version) backs it).
    let txn = db.conn().begin().await.map_err(StoreError::from)?;
    programs::lock(&txn, program_id).await?;
    programs::find(&txn, program_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let version =
        charters::add(&txn, program_id, &text, caller.subject.as_str(), Utc::now()).await?;
    // Every pair of the program now stands against this version.
    tallies::refresh_standing(&txn, StandingOf::Program(program_id)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    tracing::info!(program_id = %program_id, version = version.version, by = %caller.subject, "charter version added");
    Ok(version)
}

pub async fn current_charter(
    db: &Db,
    caller: &Caller,
    scope: Scope,
    program_id: Uuid,
) -> Result<CharterVersion, ServiceError> {
    visible_program(db, caller, scope, program_id).await?;
    charters::current(db.conn(), program_id)
        .await?
        .ok_or(ServiceError::NotFound)
}

pub async fn enroll(
    db: &Db,
    caller: &Caller,
    program_id: Uuid,
    person_id: Uuid,
    draft: EnrollmentDraft,
) -> Result<Enrollment, ServiceError> {
    let terms = draft.validate()?;
    let program = programs::find(db.conn(), program_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let person = people::find(db.conn(), person_id).await?.ok_or_else(|| {
        ServiceError::Unprocessable(
            ErrorCode::UnknownPerson,
            format!("no person has id {person_id}"),
        )
    })?;
    check_enrollable(
        person.record.active,
        program.status == ProgramStatus::Closed,
    )?;
    let enrollment = enrollments::insert(
        db.conn(),
        Uuid::now_v7(),
        program_id,
        person_id,
        &terms,
        Utc::now(),
    )
    .await
    .map_err(|e| match e {
        StoreError::Duplicate => ServiceError::Conflict(
            ErrorCode::AlreadyEnrolled,
            "this person is already enrolled in this program".into(),
        ),
        other => other.into(),
    })?;
    tracing::info!(program_id = %program_id, enrollment_id = %enrollment.id, role = %terms.role, by = %caller.subject, "person enrolled");
    Ok(enrollment)
}

pub async fn list(
    db: &Db,
    caller: &Caller,
    scope: Scope,
    program_id: Uuid,
    after: Option<Uuid>,
    limit: PageLimit,
) -> Result<Page<Enrollment>, ServiceError> {
    visible_program(db, caller, scope, program_id).await?;
    let only = match scope {
        Scope::Everything => None,
        Scope::OwnEnrollments => {
            match people::find_by_external_id(db.conn(), &caller.subject).await? {
                Some(person) => Some(person.id),
                None => {
                    return Ok(Page {
                        items: Vec::new(),
                        next: None,
                    });
                }
            }
        }
    };
    Ok(enrollments::list(db.conn(), program_id, only, after, limit.get()).await?)
}

pub async fn get(
    db: &Db,
    caller: &Caller,
    scope: Scope,
    program_id: Uuid,
    enrollment_id: Uuid,
) -> Result<Enrollment, ServiceError> {
    let enrollment = enrollments::find(db.conn(), program_id, enrollment_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if scope == Scope::OwnEnrollments && !is_own(db, caller, &enrollment).await? {
        return Err(ServiceError::NotFound);
    }
    Ok(enrollment)
}

async fn is_own(db: &Db, caller: &Caller, enrollment: &Enrollment) -> Result<bool, ServiceError> {
    Ok(people::find_by_external_id(db.conn(), &caller.subject)
        .await?
        .is_some_and(|p| p.id == enrollment.person_id))
}

/// R3: the enrolled person accepts the program's current charter version. For anyone else
/// the enrollment does not exist (404).
pub async fn accept_charter(
    db: &Db,
    caller: &Caller,
    program_id: Uuid,
    enrollment_id: Uuid,
    version: i32,
) -> Result<Enrollment, ServiceError> {
    let enrollment = enrollments::find(db.conn(), program_id, enrollment_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !is_own(db, caller, &enrollment).await? {
        return Err(ServiceError::NotFound);
    }
    if enrollment.withdrawn_at.is_some() {
        return Err(DomainError::EnrollmentWithdrawn.into());
    }
    // Under the program's shared lock: a new version cannot come between the check and the
    // acceptance, and the standing copied onto the enrollment's pairs is the one committed.
    let txn = db.conn().begin().await.map_err(StoreError::from)?;
    programs::lock_shared(&txn, program_id).await?;
    let current = charters::current_version(&txn, program_id).await?;
    check_charter_acceptance(version, current)?;
    enrollments::accept_charter(&txn, enrollment_id, version, Utc::now()).await?;
    tallies::refresh_standing(&txn, StandingOf::Enrollment(enrollment_id)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    tracing::info!(enrollment_id = %enrollment_id, version, "charter accepted");
    enrollments::find(db.conn(), program_id, enrollment_id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The current charter version of a program (to tell `charter_pending`).
pub async fn current_charter_version(
    db: &Db,
    program_id: Uuid,
) -> Result<Option<i32>, ServiceError> {
    Ok(charters::current_version(db.conn(), program_id).await?)
}

/// Change an enrollment's terms (`PATCH`): `capacity` by a coordinator (R10: never below the
/// mentor's active and proposed pairs), `topics`, `languages`, `goals` by a coordinator or the
/// enrolled person. For anyone else the enrollment does not exist.
///
/// Lock order is R10's (`pairs::propose`): the program (shared), then the enrollment's row. A
/// proposal for this mentor waits for the change (or the change for it), so the pairs counted
/// are the ones committed and a lowered capacity never lets a mentor end up over it. The
/// change's own rules are judged first, then `If-Match`.
pub async fn update(
    db: &Db,
    caller: &Caller,
    scope: Scope,
    program_id: Uuid,
    enrollment_id: Uuid,
    if_match: Option<i32>,
    changes: EnrollmentChanges,
) -> Result<Enrollment, ServiceError> {
    let seen = get(db, caller, scope, program_id, enrollment_id).await?;
    if scope == Scope::OwnEnrollments && changes.needs_coordinator() {
        // R10 is the coordinators' to run: the person sees their enrollment, not its capacity.
        return Err(ServiceError::Forbidden);
    }
    let txn = db.conn().begin().await.map_err(StoreError::from)?;
    programs::lock_shared(&txn, program_id).await?;
    enrollments::lock(&txn, &[seen.id]).await?;
    let program = programs::find(&txn, program_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let current = enrollments::find(&txn, program_id, enrollment_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if current.withdrawn_at.is_some() {
        return Err(DomainError::EnrollmentWithdrawn.into());
    }
    let capacity_changed = changes.capacity.is_some();
    let terms = changes.apply(&current.terms)?;
    if capacity_changed && terms.role == EnrollmentRole::Mentor {
        let open = pairs::mentor_load(&txn, current.id).await?;
        check_capacity(
            terms.capacity,
            program.settings.default_mentor_capacity,
            open,
        )?;
    }
    if if_match.is_some_and(|rev| rev != current.revision) {
        return Err(ServiceError::PreconditionFailed);
    }
    if terms == current.terms {
        return Ok(current);
    }
    let now = Utc::now();
    enrollments::update_terms(&txn, current.id, current.revision, &terms, now).await?;
    outbox::record(
        &txn,
        "enrollment.updated",
        serde_json::json!({"enrollment_id": current.id, "program_id": program_id, "person_id": current.person_id}),
        now,
    )
    .await?;
    txn.commit().await.map_err(StoreError::from)?;
    tracing::info!(enrollment_id = %enrollment_id, by = %caller.subject, "enrollment changed");
    enrollments::find(db.conn(), program_id, enrollment_id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Leave a program (a coordinator, or the enrolled person): the enrollment's proposed pairs
/// are withdrawn (ended, reason `enrollment_withdrawn`; both members notified with
/// `pair.withdrawn`), and `409 enrollment_has_active_pair` while an active or suspended pair
/// remains — its members end it first (R9). Repeating it is harmless. The person may be
/// enrolled again afterwards.
///
/// Locks: the program (shared), the enrollment, then each proposed pair — R10's order — so a
/// concurrent proposal naming this enrollment waits and then finds it withdrawn, and a pair
/// accepted meanwhile is seen active under its lock.
pub async fn withdraw(
    db: &Db,
    caller: &Caller,
    scope: Scope,
    program_id: Uuid,
    enrollment_id: Uuid,
) -> Result<Enrollment, ServiceError> {
    let seen = get(db, caller, scope, program_id, enrollment_id).await?;
    let txn = db.conn().begin().await.map_err(StoreError::from)?;
    programs::lock_shared(&txn, program_id).await?;
    enrollments::lock(&txn, &[seen.id]).await?;
    let current = enrollments::find(&txn, program_id, enrollment_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if current.withdrawn_at.is_some() {
        return Ok(current);
    }
    check_withdrawal(pairs::active_of_enrollment(&txn, current.id).await?)?;
    let proposed = pairs::proposed_of_enrollment(&txn, current.id).await?;
    for p in &proposed {
        pairs::lock(&txn, p.id).await?;
    }
    // Under the pairs' locks: one accepted meanwhile is active now.
    check_withdrawal(pairs::active_of_enrollment(&txn, current.id).await?)?;
    let now = Utc::now();
    let mut withdrawn = Vec::new();
    for p in proposed {
        let Some(pair) = pairs::find(&txn, p.id).await? else {
            continue;
        };
        if pair.status != mentorat_domain::pair::PairStatus::Proposed {
            continue;
        }
        pairs::end(
            &txn,
            db.keys(),
            &pair,
            EndReason::EnrollmentWithdrawn,
            None,
            now,
        )
        .await?;
        notifications::notify(
            &txn,
            &[pair.mentor_person_id, pair.mentee_person_id],
            "pair.withdrawn",
            Some(program_id),
            Some(pair.id),
            now,
        )
        .await?;
        outbox::record(
            &txn,
            "pair.ended",
            serde_json::json!({
                "pair_id": pair.id,
                "program_id": program_id,
                "reason_category": EndReason::EnrollmentWithdrawn.as_str(),
            }),
            now,
        )
        .await?;
        withdrawn.push(pair.id);
    }
    mentorat_persistence::tallies::record_pair_status(&txn, &withdrawn).await?;
    enrollments::withdraw(&txn, current.id, now).await?;
    // Issue 17: the requests it sent or received can no longer be answered.
    crate::requests::void_pending(&txn, db, program_id, current.id).await?;
    outbox::record(
        &txn,
        "enrollment.withdrawn",
        serde_json::json!({"enrollment_id": current.id, "program_id": program_id, "person_id": current.person_id}),
        now,
    )
    .await?;
    txn.commit().await.map_err(StoreError::from)?;
    tracing::info!(enrollment_id = %enrollment_id, pairs_withdrawn = withdrawn.len(), by = %caller.subject, "enrollment withdrawn");
    enrollments::find(db.conn(), program_id, enrollment_id)
        .await?
        .ok_or(ServiceError::NotFound)
}
