//! Reading the audit log (admins): newest first, a page at a time.

use mentorat_domain::{
    PageLimit,
    audit::{AuditEvent, AuditFilter},
};
use mentorat_persistence::{Db, Page, audit};
use uuid::Uuid;

use crate::error::ServiceError;

/// The events that pass `filter`, newest first, from before `before`.
pub async fn list(
    db: &Db,
    filter: &AuditFilter,
    before: Option<Uuid>,
    limit: PageLimit,
) -> Result<Page<AuditEvent>, ServiceError> {
    Ok(audit::list(db.conn(), filter, before, limit.get()).await?)
}
