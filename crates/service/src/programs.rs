//! Programs: create, read, list, change (coordinators and admins; the API checks the role).

use chrono::Utc;
use mentorat_domain::{
    Caller, DomainError, PageLimit, Scope,
    program::{Program, ProgramChanges, ProgramDraft, ProgramStatus},
};
use mentorat_persistence::{
    Db, Page, StoreError, TransactionTrait, people,
    programs::{self, ProgramFilter},
};
use uuid::Uuid;

use crate::error::ServiceError;

pub async fn create(
    db: &Db,
    caller: &Caller,
    draft: ProgramDraft,
) -> Result<Program, ServiceError> {
    let settings = draft.validate()?;
    let program = programs::insert(
        db.conn(),
        Uuid::now_v7(),
        &settings,
        ProgramStatus::Draft,
        Utc::now(),
    )
    .await?;
    tracing::info!(program_id = %program.id, by = %caller.subject, "program created");
    Ok(program)
}

/// A program; a participant sees only the programs they are enrolled in.
pub async fn get(
    db: &Db,
    caller: &Caller,
    scope: Scope,
    id: Uuid,
) -> Result<Program, ServiceError> {
    crate::enrollments::visible_program(db, caller, scope, id).await
}

pub async fn list(
    db: &Db,
    caller: &Caller,
    scope: Scope,
    filter: ProgramFilter,
    after: Option<Uuid>,
    limit: PageLimit,
) -> Result<Page<Program>, ServiceError> {
    let filter = match scope {
        Scope::Everything => filter,
        Scope::OwnEnrollments => {
            match people::find_by_external_id(db.conn(), &caller.subject).await? {
                Some(person) => ProgramFilter {
                    enrolled_person: Some(person.id),
                    ..filter
                },
                None => {
                    return Ok(Page {
                        items: Vec::new(),
                        next: None,
                    });
                }
            }
        }
    };
    Ok(programs::list(db.conn(), &filter, after, limit.get()).await?)
}

/// Apply `changes` to a program. With `if_match`, the change is refused unless the program
/// is still at that revision; without it, the change applies to whatever is current (re-read
/// and re-checked if another writer got in between).
pub async fn update(
    db: &Db,
    caller: &Caller,
    id: Uuid,
    if_match: Option<i32>,
    changes: ProgramChanges,
) -> Result<Program, ServiceError> {
    const ATTEMPTS: usize = 3;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = programs::find(db.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let weights = changes.matching_weights.map(|given| {
            mentorat_domain::matching::MatchingWeights::validate(current.matching_weights, given)
        });
        let (settings, status) = match (
            changes.clone().apply(&current.settings, current.status),
            weights.clone(),
        ) {
            (Err(DomainError::Invalid(mut a)), Some(Err(DomainError::Invalid(b)))) => {
                a.extend(b);
                return Err(DomainError::Invalid(a).into());
            }
            (Err(e), _) | (Ok(_), Some(Err(e))) => return Err(e.into()),
            (Ok(done), _) => done,
        };
        let weights = weights.and_then(Result::ok);
        if if_match.is_some_and(|rev| rev != current.revision) {
            return Err(ServiceError::PreconditionFailed);
        }
        // The revision check in the UPDATE closes the window between our read and our write.
        let closing = status == ProgramStatus::Closed && current.status != ProgramStatus::Closed;
        let now = Utc::now();
        let txn = db.conn().begin().await.map_err(StoreError::from)?;
        if let Some(w) = &weights
            && *w != current.matching_weights
        {
            // Rolled back with the transaction if the revision below is stale.
            programs::set_matching_weights(&txn, id, w).await?;
        }
        match programs::update(&txn, id, current.revision, &settings, status, now).await {
            Ok(program) => {
                if settings.cadence_days != current.settings.cadence_days {
                    // The cadence is kept on each pair (what its flags read, R8).
                    mentorat_persistence::tallies::refresh_standing(
                        &txn,
                        mentorat_persistence::tallies::StandingOf::Program(id),
                    )
                    .await?;
                }
                if closing {
                    // When a program closes, its active pairs are completed and the meetings
                    // they still had ahead cancelled.
                    crate::working_life::cancel_ahead(
                        &txn,
                        mentorat_persistence::pairs::PairsOf::ActiveOfProgram(id),
                        None,
                        now,
                    )
                    .await?;
                    let completed =
                        mentorat_persistence::pairs::complete_program(&txn, id, now).await?;
                    let ids: Vec<Uuid> = completed.iter().map(|p| p.pair_id).collect();
                    mentorat_persistence::tallies::record_pair_status(&txn, &ids).await?;
                    // Each member is told, and the integrations: a completed pair has ended
                    // (`pair.ended`, status `completed`) and so have the meetings it had ahead.
                    for pair in &completed {
                        mentorat_persistence::notifications::notify(
                            &txn,
                            &pair.members,
                            "pair.completed",
                            Some(id),
                            Some(pair.pair_id),
                            now,
                        )
                        .await?;
                        mentorat_persistence::outbox::record(
                            &txn,
                            "pair.ended",
                            serde_json::json!({
                                "pair_id": pair.pair_id,
                                "program_id": id,
                                "status": "completed",
                            }),
                            now,
                        )
                        .await?;
                    }
                    tracing::info!(program_id = %id, pairs_completed = completed.len(), "program closed");
                }
                txn.commit().await.map_err(StoreError::from)?;
                tracing::info!(program_id = %id, by = %caller.subject, revision = program.revision, "program updated");
                return Ok(program);
            }
            Err(StoreError::StaleRevision) if if_match.is_none() && attempt < ATTEMPTS => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
