//! SCIM 2.0 provisioning (RFC 7644): a SCIM User **is** a person. Every write goes through
//! [`crate::people::import`], the path of `PUT /people/by-external-id` and of the CSV import,
//! so the same rules hold: R1 re-checked when a manager link changes, R11 when `active`
//! turns false (pairs suspended; the API locks the person's tokens out), a manager named
//! before they are provisioned linked when they arrive. `DELETE` deactivates, never erases:
//! the person stays, and SCIM answers `404` for them (RFC 7644 §3.6) until they are
//! provisioned again.

use std::collections::HashMap;

use mentorat_domain::{
    Caller, DomainError, ExternalId, FieldError,
    person::{Person, PersonDraft},
    scim::{Filter, FilterAttribute},
};
use mentorat_persistence::{
    people,
    scim::{self as store},
};
use uuid::Uuid;

use crate::{error::ServiceError, people::import};
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
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<mentorat_persistence::StoreError> for Refusal {
    fn from(err: mentorat_persistence::StoreError) -> Self {
        Self::Service(err.into())
    }
}

/// What a write is meant to do.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// `POST /Users`: a new user (or a deactivated one provisioned again).
    Create,
    /// `PUT` / `PATCH /Users/{id}`: this user, replaced whole.
    Replace(Uuid),
}

/// A write's result: the user, whether it was created, and the R11 activity changes the
/// API must apply to its set of leavers.
#[derive(Debug)]
pub struct Provisioned {
    pub user: ScimUser,
    pub created: bool,
    pub activity_changes: Vec<(ExternalId, bool)>,
}

/// `manager.value` names a person by SCIM id (their person id); a value that is no known
/// person's id is taken as the HRIS id of a manager not provisioned yet.
async fn manager_external_id(
    db: &Db,
    value: Option<String>,
) -> Result<Option<String>, ServiceError> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if let Ok(id) = Uuid::parse_str(&value)
        && let Some(manager) = people::find(db.conn(), id).await?
    {
        return Ok(Some(manager.record.external_id.to_string()));
    }
    Ok(Some(value))
}

/// Create or replace a user. `draft.manager_external_id` holds `manager.value` as sent.
pub async fn provision(
    db: &Db,
    caller: &Caller,
    target: Target,
    mut draft: PersonDraft,
    external_id: Option<String>,
) -> Result<Provisioned, Refusal> {
    draft.external_id = draft.external_id.trim().to_owned();
    let existing = match target {
        Target::Create => {
            let existing = crate::people::by_external_id(db, &draft.external_id).await?;
            let deleted = match &existing {
                Some(p) => store::deprovisioned_among(db.conn(), &[p.id])
                    .await?
                    .contains(&p.id),
                None => false,
            };
            // Provisioned again after a deactivation or a SCIM deletion: reactivated.
            if existing.as_ref().is_some_and(|p| p.record.active) && !deleted {
                return Err(Refusal::Uniqueness(format!(
                    "a user with userName {} exists",
                    draft.external_id
                )));
            }
            existing
        }
        Target::Replace(id) => {
            let current = shown(db, id).await?;
            if current.record.external_id.as_str() != draft.external_id {
                return Err(Refusal::Mutability(format!(
                    "userName is the person's HRIS id ({}) and cannot change",
                    current.record.external_id
                )));
            }
            Some(current)
        }
    };
    draft.manager_external_id = manager_external_id(db, draft.manager_external_id).await?;
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
    let person = crate::people::by_external_id(db, &draft.external_id)
        .await?
        .ok_or_else(|| ServiceError::Internal("a provisioned person is missing".into()))?;
    let external_id = external_id
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty());
    store::provisioned(db.conn(), person.id, external_id.as_deref()).await?;
    let user = enrich(db, vec![person]).await?.pop().ok_or_else(|| {
        ServiceError::Internal("a provisioned person could not be read back".into())
    })?;
    Ok(Provisioned {
        user,
        created: existing.is_none(),
        activity_changes: std::mem::take(&mut report.activity_changes),
    })
}

/// A person SCIM shows: one that exists and was not deleted through SCIM.
async fn shown(db: &Db, id: Uuid) -> Result<Person, ServiceError> {
    let person = people::find(db.conn(), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if store::deprovisioned_among(db.conn(), &[id])
        .await?
        .contains(&id)
    {
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
    let current = shown(db, id).await?;
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

/// A list: `offset` 0-based, at most `count` users, and the total that match.
pub async fn list(
    db: &Db,
    _caller: &Caller,
    filter: Option<&Filter>,
    offset: u64,
    count: u64,
) -> Result<(u64, Vec<ScimUser>), ServiceError> {
    let (total, people) = match filter {
        None => store::page(db.conn(), offset, count).await?,
        Some(filter) => {
            let all: Vec<Person> = match filter.attribute {
                FilterAttribute::UserName => crate::people::by_external_id(db, &filter.value)
                    .await?
                    .into_iter()
                    .collect(),
                FilterAttribute::Id => match Uuid::parse_str(&filter.value) {
                    Ok(id) => people::find(db.conn(), id).await?.into_iter().collect(),
                    Err(_) => Vec::new(),
                },
                FilterAttribute::ExternalId => {
                    let ids = store::people_with_external_id(db.conn(), &filter.value).await?;
                    store::people(db.conn(), &ids).await?
                }
            };
            let ids: Vec<Uuid> = all.iter().map(|p| p.id).collect();
            let deleted = store::deprovisioned_among(db.conn(), &ids).await?;
            let all: Vec<Person> = all
                .into_iter()
                .filter(|p| !deleted.contains(&p.id))
                .collect();
            let total = all.len() as u64;
            let start = usize::try_from(offset).unwrap_or(usize::MAX);
            let take = usize::try_from(count).unwrap_or(usize::MAX);
            (total, all.into_iter().skip(start).take(take).collect())
        }
    };
    Ok((total, enrich(db, people).await?))
}

/// Add each person's `externalId` and their manager's SCIM id.
async fn enrich(db: &Db, people: Vec<Person>) -> Result<Vec<ScimUser>, ServiceError> {
    let ids: Vec<Uuid> = people.iter().map(|p| p.id).collect();
    let mut states = store::states(db.conn(), &ids).await?;
    let manager_ids: Vec<&str> = people
        .iter()
        .filter_map(|p| {
            p.record
                .manager_external_id
                .as_ref()
                .map(ExternalId::as_str)
        })
        .collect();
    let managers: HashMap<String, Uuid> = people::find_by_external_ids(db.conn(), &manager_ids)
        .await?
        .into_iter()
        .map(|m| (m.record.external_id.to_string(), m.id))
        .collect();
    Ok(people
        .into_iter()
        .map(|person| {
            let manager = person.record.manager_external_id.as_ref().map(|m| {
                managers
                    .get(m.as_str())
                    .map_or_else(|| m.to_string(), Uuid::to_string)
            });
            ScimUser {
                external_id: states.remove(&person.id).and_then(|s| s.external_id),
                manager,
                person,
            }
        })
        .collect())
}
