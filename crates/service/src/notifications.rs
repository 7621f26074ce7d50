//! The caller's notifications (`/me/notifications`): ids and metadata only.

use chrono::Utc;
use mentorat_domain::{Caller, PageLimit};
use mentorat_persistence::{
    Db, Page,
    notifications::{self, Notification},
    people,
};
use uuid::Uuid;

use crate::error::ServiceError;

pub async fn list(
    db: &Db,
    caller: &Caller,
    before: Option<Uuid>,
    limit: PageLimit,
) -> Result<Page<Notification>, ServiceError> {
    let Some(person) = people::find_by_external_id(db.conn(), &caller.subject).await? else {
        return Ok(Page {
            items: Vec::new(),
            next: None,
        });
    };
    Ok(notifications::list(db.conn(), person.id, before, limit.get()).await?)
}

/// Mark one of the caller's notifications read; another person's does not exist.
pub async fn mark_read(db: &Db, caller: &Caller, id: Uuid) -> Result<Notification, ServiceError> {
    let person = people::find_by_external_id(db.conn(), &caller.subject)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !notifications::mark_read(db.conn(), person.id, id, Utc::now()).await? {
        return Err(ServiceError::NotFound);
    }
    notifications::find(db.conn(), person.id, id)
        .await?
        .ok_or(ServiceError::NotFound)
}
