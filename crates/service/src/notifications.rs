//! The caller's notifications (`/me/notifications`): ids and metadata only. Coordinators and
//! admins also read the coordinators' desk (concerns raised, R12); admins also their own
//! (`webhook.disabled`).

use chrono::Utc;
use mentorat_domain::{Caller, PageLimit, Role};
use mentorat_persistence::{
    Db, Page,
    notifications::{self, ADMINS, COORDINATORS, Notification},
    people,
};
use uuid::Uuid;

use crate::error::ServiceError;

/// Whose notifications the caller reads: their own as a person, and the desk if they run
/// programs.
async fn recipients(db: &Db, caller: &Caller) -> Result<Vec<Uuid>, ServiceError> {
    let mut out = Vec::new();
    if let Some(person) = people::find_by_external_id(db.conn(), &caller.subject).await? {
        out.push(person.id);
    }
    if caller.has(Role::Coordinator) || caller.has(Role::Admin) {
        out.push(COORDINATORS);
    }
    if caller.has(Role::Admin) {
        out.push(ADMINS);
    }
    Ok(out)
}

pub async fn list(
    db: &Db,
    caller: &Caller,
    before: Option<Uuid>,
    limit: PageLimit,
) -> Result<Page<Notification>, ServiceError> {
    let recipients = recipients(db, caller).await?;
    if recipients.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            next: None,
        });
    }
    Ok(notifications::list(db.conn(), &recipients, before, limit.get()).await?)
}

/// Mark one of the caller's notifications read; another person's does not exist.
pub async fn mark_read(db: &Db, caller: &Caller, id: Uuid) -> Result<Notification, ServiceError> {
    let recipients = recipients(db, caller).await?;
    if !notifications::mark_read(db.conn(), &recipients, id, Utc::now()).await? {
        return Err(ServiceError::NotFound);
    }
    notifications::find(db.conn(), &recipients, id)
        .await?
        .ok_or(ServiceError::NotFound)
}
