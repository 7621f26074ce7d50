//! SCIM 2.0 provisioning (RFC 7644): a SCIM User **is** a person. Every write goes through
//! [`crate::people::import`], the path of `PUT /people/by-external-id` and of the CSV import,
//! so the same rules hold: R1 re-checked when a manager link changes, R11 when `active`
//! turns false (pairs suspended; the API locks the person's tokens out), a manager named
//! before they are provisioned linked when they arrive. `DELETE` deactivates, never erases:
//! the person stays, and SCIM answers `404` for them (RFC 7644 §3.6) until they are
//! provisioned again.
//!
//! A write reads the user, applies the request (`mentorat_domain::scim::user`, pure) and
//! writes it back in the request's transaction, the person's row locked first
//! ([`store::lock_person`]): two PATCHes of one user go one after the other, neither loses
//! the other's change. Two `POST`s of one new `userName` meet at the unique index on the
//! people's `external_id`: the second waits for the first to commit, finds the person it
//! did not create, and is refused `409 uniqueness` (its transaction rolled back).

use std::collections::HashMap;

use mentorat_domain::{
    Caller, DomainError, ExternalId, FieldError,
    person::{Person, PersonDraft},
    scim::{Candidate, Filter, FilterAttribute, ScimFault, UserFields},
};
use mentorat_persistence::{
    people,
    scim::{self as store, PersonKey},
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    error::ServiceError,
    people::{RowOutcome, import},
};
use mentorat_persistence::Db;

/// A person as SCIM shows them.
#[derive(Debug, Clone)]
pub struct ScimUser {
    pub person: Person,
    /// The identity provider's own id for the user (`externalId`).
    pub external_id: Option<String>,
    /// `manager.value`: the manager's SCIM id (their person id) once they are known, else
    /// the HRIS id the link names (they will be linked when they arrive).
    pub manager: Option<String>,
    /// Every attribute as SCIM shows it (the multi-valued ones as sent).
    pub fields: UserFields,
}

/// Why SCIM refuses a write, beyond the refusals every use case has.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// An active user has this `userName` (`409 uniqueness`).
    #[error("{0}")]
    Uniqueness(String),
    /// `userName` is the person's HRIS id and cannot change (`400 mutability`).
    #[error("{0}")]
    Mutability(String),
    /// A manager link that would make someone manage themself (`400 invalidValue`).
    #[error("{0}")]
    ManagerCycle(String),
    /// The request itself (`400` with its `scimType`).
    #[error(transparent)]
    Fault(#[from] ScimFault),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<mentorat_persistence::StoreError> for Refusal {
    fn from(err: mentorat_persistence::StoreError) -> Self {
        Self::Service(err.into())
    }
}

/// A write's result: the user, whether it was created, and the R11 activity changes the
/// API must apply to its set of leavers.
#[derive(Debug)]
pub struct Provisioned {
    pub user: ScimUser,
    pub created: bool,
    pub activity_changes: Vec<(ExternalId, bool)>,
}

fn log_ignored(ignored: &[String]) {
    for attribute in ignored {
        tracing::debug!(attribute = %attribute, "an unknown SCIM attribute ignored");
    }
}

/// `manager.value` names a person by SCIM id (their person id); a value that is no known
/// person's id is taken as the HRIS id of a manager not provisioned yet.
/// Also returns the manager's HRIS id and person id when they were found, so the answer
/// needs not look them up again.
async fn manager_external_id(
    db: &Db,
    value: Option<String>,
) -> Result<(Option<String>, HashMap<String, Uuid>), ServiceError> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok((None, HashMap::new()));
    };
    if let Ok(id) = Uuid::parse_str(&value)
        && let Some(manager) = people::find(db.conn(), id).await?
    {
        let external_id = manager.record.external_id.to_string();
        return Ok((
            Some(external_id.clone()),
            HashMap::from([(external_id, id)]),
        ));
    }
    Ok((Some(value), HashMap::new()))
}

/// `POST /Users`: a new user, or a deactivated (or SCIM-deleted) one provisioned again.
pub async fn create(
    db: &Db,
    caller: &Caller,
    fields: UserFields,
    ignored: &[String],
) -> Result<Provisioned, Refusal> {
    log_ignored(ignored);
    let user_name = fields
        .user_name
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    // The person of this userName, if any, locked: a concurrent write of them waits.
    let existing = if store::lock_person(db.conn(), PersonKey::ExternalId(&user_name)).await? {
        crate::people::by_external_id(db, &user_name).await?
    } else {
        None
    };
    if let Some(p) = &existing {
        let deleted = store::deprovisioned_among(db.conn(), &[p.id])
            .await?
            .contains(&p.id);
        if p.record.active && !deleted {
            return Err(Refusal::Uniqueness(format!(
                "a user with userName {user_name} exists"
            )));
        }
    }
    write(db, caller, fields, existing).await
}

/// `PUT /Users/{id}`: the user replaced whole; `userName` left out is kept.
pub async fn replace(
    db: &Db,
    caller: &Caller,
    id: Uuid,
    mut fields: UserFields,
    ignored: &[String],
) -> Result<Provisioned, Refusal> {
    log_ignored(ignored);
    let current = locked(db, id).await?;
    if fields.user_name.is_none() {
        fields.user_name = Some(current.record.external_id.to_string());
    }
    write(db, caller, fields, Some(current)).await
}

/// `PATCH /Users/{id}`: the PatchOp message applied to the user as it is now.
pub async fn patch(
    db: &Db,
    caller: &Caller,
    id: Uuid,
    message: &Value,
) -> Result<Provisioned, Refusal> {
    let current = locked(db, id).await?;
    let mut fields = enrich(db, vec![current.clone()])
        .await?
        .pop()
        .ok_or(ServiceError::NotFound)?
        .fields;
    let ignored = fields.apply_patch(message)?;
    log_ignored(&ignored);
    write(db, caller, fields, Some(current)).await
}

/// A user SCIM shows, its row locked until the request's transaction ends.
async fn locked(db: &Db, id: Uuid) -> Result<Person, ServiceError> {
    if !store::lock_person(db.conn(), PersonKey::Id(id)).await? {
        return Err(ServiceError::NotFound);
    }
    shown(db, id).await
}

/// Write the user: `existing` is the person it replaces (locked), `None` for a new one.
async fn write(
    db: &Db,
    caller: &Caller,
    fields: UserFields,
    existing: Option<Person>,
) -> Result<Provisioned, Refusal> {
    let (mut draft, kept): (PersonDraft, _) = fields.into_draft()?;
    draft.external_id = draft.external_id.trim().to_owned();
    if let Some(current) = &existing
        && current.record.external_id.as_str() != draft.external_id
    {
        return Err(Refusal::Mutability(format!(
            "userName is the person's HRIS id ({}) and cannot change",
            current.record.external_id
        )));
    }
    let (manager, known_managers) = manager_external_id(db, draft.manager_external_id).await?;
    draft.manager_external_id = manager;
    let mut report = import(db, caller, vec![(1, Ok(draft.clone()))]).await?;
    if let Some(problem) = report.errors.into_iter().next() {
        return Err(match problem.code {
            "manager_cycle" => Refusal::ManagerCycle(problem.detail),
            _ => Refusal::Service(ServiceError::Domain(DomainError::Invalid(
                if problem.fields.is_empty() {
                    vec![FieldError::new("", problem.detail)]
                } else {
                    problem.fields
                },
            ))),
        });
    }
    let person = match report.written.take() {
        Some(person) => person,
        None => crate::people::by_external_id(db, &draft.external_id)
            .await?
            .ok_or_else(|| ServiceError::Internal("a provisioned person is missing".into()))?,
    };
    // A POST that meant to create the person but met one created meanwhile by a concurrent
    // POST (found committed by the import, or met at the unique index, its insert then an
    // update of theirs): refused, and the request's transaction, this write with it, rolled
    // back.
    if existing.is_none()
        && !report
            .outcomes
            .iter()
            .any(|(_, o)| matches!(o, RowOutcome::Created(id) if *id == person.id))
    {
        return Err(Refusal::Uniqueness(format!(
            "a user with userName {} was created at the same time",
            draft.external_id
        )));
    }
    let external_id = kept
        .external_id
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty());
    let person_id = person.id;
    store::provisioned(
        db.conn(),
        person_id,
        external_id.as_deref(),
        &kept.attributes,
    )
    .await?;
    // What SCIM keeps of the person is what was just written: not read back.
    let state = store::ScimState {
        external_id,
        deprovisioned: false,
        attributes: kept.attributes,
    };
    let user = assemble(
        db,
        vec![person],
        HashMap::from([(person_id, state)]),
        known_managers,
    )
    .await?
    .pop()
    .ok_or_else(|| ServiceError::Internal("a provisioned person could not be read back".into()))?;
    Ok(Provisioned {
        user,
        created: existing.is_none(),
        activity_changes: std::mem::take(&mut report.activity_changes),
    })
}

/// A person SCIM shows: one that exists, was not deleted through SCIM and was not erased.
async fn shown(db: &Db, id: Uuid) -> Result<Person, ServiceError> {
    let person = people::find(db.conn(), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if store::hidden_among(db.conn(), &[id]).await?.contains(&id) {
        return Err(ServiceError::NotFound);
    }
    Ok(person)
}

/// `DELETE /Users/{id}`: the person is deactivated (R11), never erased; SCIM shows them no
/// more until they are provisioned again.
pub async fn deprovision(
    db: &Db,
    caller: &Caller,
    id: Uuid,
) -> Result<Vec<(ExternalId, bool)>, ServiceError> {
    let current = locked(db, id).await?;
    let r = current.record;
    let draft = PersonDraft {
        external_id: r.external_id.to_string(),
        given_name: r.given_name,
        family_name: r.family_name,
        email: r.email,
        department: r.department,
        job_title: r.job_title,
        site: r.site,
        manager_external_id: r.manager_external_id.map(|m| m.to_string()),
        active: Some(false),
    };
    let report = import(db, caller, vec![(1, Ok(draft))]).await?;
    store::deprovisioned(db.conn(), id).await?;
    Ok(report.activity_changes)
}

pub async fn get(db: &Db, _caller: &Caller, id: Uuid) -> Result<ScimUser, ServiceError> {
    let person = shown(db, id).await?;
    enrich(db, vec![person])
        .await?
        .pop()
        .ok_or(ServiceError::NotFound)
}

/// Users read at a time when a filter is matched one user after another.
const SCAN_PAGE: u64 = 500;

/// A list: `offset` 0-based, at most `count` users, and the total that match. `eq` on
/// `userName`, `externalId` or `id` is a lookup by index; any other filter is matched
/// against every user, read `SCAN_PAGE` at a time.
pub async fn list(
    db: &Db,
    _caller: &Caller,
    filter: Option<&Filter>,
    offset: u64,
    count: u64,
) -> Result<(u64, Vec<ScimUser>), ServiceError> {
    let Some(filter) = filter else {
        let (total, people) = store::page(db.conn(), offset, count).await?;
        return Ok((total, enrich(db, people).await?));
    };
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let take = usize::try_from(count).unwrap_or(usize::MAX);
    let matched: Vec<ScimUser> = match filter.lookup() {
        Some((attribute, value)) => {
            let all: Vec<Person> = match attribute {
                FilterAttribute::UserName => crate::people::by_external_id(db, value)
                    .await?
                    .into_iter()
                    .collect(),
                FilterAttribute::Id => match Uuid::parse_str(value) {
                    Ok(id) => people::find(db.conn(), id).await?.into_iter().collect(),
                    Err(_) => Vec::new(),
                },
                _ => {
                    let ids = store::people_with_external_id(db.conn(), value).await?;
                    store::people(db.conn(), &ids).await?
                }
            };
            let ids: Vec<Uuid> = all.iter().map(|p| p.id).collect();
            let deleted = store::hidden_among(db.conn(), &ids).await?;
            let all = all
                .into_iter()
                .filter(|p| !deleted.contains(&p.id))
                .collect();
            enrich(db, all).await?
        }
        None => {
            let mut matched = Vec::new();
            let mut at = 0;
            loop {
                let (_, people) = store::page(db.conn(), at, SCAN_PAGE).await?;
                let read = people.len() as u64;
                for user in enrich(db, people).await? {
                    let emails: Vec<String> = user
                        .fields
                        .emails
                        .iter()
                        .filter_map(|e| e.get("value").and_then(Value::as_str))
                        .map(str::to_owned)
                        .collect();
                    let id = user.person.id.to_string();
                    let candidate = Candidate {
                        id: &id,
                        user_name: user.person.record.external_id.as_str(),
                        external_id: user.external_id.as_deref(),
                        active: user.person.record.active,
                        emails: &emails,
                    };
                    if filter.matches(&candidate) {
                        matched.push(user);
                    }
                }
                if read < SCAN_PAGE {
                    break;
                }
                at += SCAN_PAGE;
            }
            matched
        }
    };
    let total = matched.len() as u64;
    Ok((total, matched.into_iter().skip(start).take(take).collect()))
}

/// Add each person's `externalId`, their manager's SCIM id and what SCIM keeps of them.
async fn enrich(db: &Db, people: Vec<Person>) -> Result<Vec<ScimUser>, ServiceError> {
    let ids: Vec<Uuid> = people.iter().map(|p| p.id).collect();
    let states = store::states(db.conn(), &ids).await?;
    assemble(db, people, states, HashMap::new()).await
}

/// The users of `people` with what SCIM keeps of each (`states`) and their managers' SCIM
/// ids (one statement, none when nobody has a manager).
async fn assemble(
    db: &Db,
    people: Vec<Person>,
    mut states: HashMap<Uuid, store::ScimState>,
    mut managers: HashMap<String, Uuid>,
) -> Result<Vec<ScimUser>, ServiceError> {
    let manager_ids: Vec<&str> = people
        .iter()
        .filter_map(|p| {
            p.record
                .manager_external_id
                .as_ref()
                .map(ExternalId::as_str)
        })
        .filter(|m| !managers.contains_key(*m))
        .collect();
    managers.extend(
        people::find_by_external_ids(db.conn(), &manager_ids)
            .await?
            .into_iter()
            .map(|m| (m.record.external_id.to_string(), m.id)),
    );
    Ok(people
        .into_iter()
        .map(|person| {
            let manager = person.record.manager_external_id.as_ref().map(|m| {
                managers
                    .get(m.as_str())
                    .map_or_else(|| m.to_string(), Uuid::to_string)
            });
            let state = states.remove(&person.id).unwrap_or_default();
            let fields = UserFields::current(
                &person.record,
                state.external_id.clone(),
                manager.clone(),
                &state.attributes,
            );
            ScimUser {
                external_id: state.external_id,
                manager,
                fields,
                person,
            }
        })
        .collect())
}
