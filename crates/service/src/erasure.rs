//! R14 erasure (GDPR art. 17): `POST /people/{id}/erasure` [admin]. One transaction: the
//! person's row is locked first (every write by them takes a share lock on it before its
//! work, `mentorat_api::auth`, so a write that began first is waited for and then erased, and
//! one that begins later is refused), then every eraser of the domain's registry runs, their
//! stored answers, notifications and calendar feed go, and their identity becomes a pseudonym.
//! A second erasure of the same person destroys nothing more and answers the same person,
//! pseudonym and time, with zero counts.

use chrono::{DateTime, SubsecRound, Utc};
use mentorat_domain::{Caller, ExternalId, Role, erasure::Destroyed};
use mentorat_persistence::{Db, StoreError, TransactionTrait, erasure, outbox};
use uuid::Uuid;

use crate::error::ServiceError;

/// What an erasure did.
#[derive(Debug, Clone)]
pub struct Erasure {
    pub person_id: Uuid,
    pub pseudonym: String,
    /// When the person was first erased.
    pub erased_at: DateTime<Utc>,
    /// Whether this call erased them (false: they already were).
    pub first: bool,
    pub destroyed: Destroyed,
    /// The external id their tokens name, to refuse at once on this replica (R11's set).
    pub locked_out: Option<ExternalId>,
}

fn store(e: impl Into<StoreError>) -> ServiceError {
    ServiceError::from(e.into())
}

pub async fn erase(db: &Db, caller: &Caller, id: Uuid) -> Result<Erasure, ServiceError> {
    if !caller.has(Role::Admin) {
        return Err(ServiceError::Forbidden);
    }
    // Both databases keep microseconds: the time answered is the time stored.
    let now = Utc::now().trunc_subsecs(6);
    let txn = db.conn().begin().await.map_err(store)?;
    let found = erasure::lock_person(&txn, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let destroyed = erasure::erase_person(&txn, id, &found.external_id, now).await?;
    let first = found.erased_at.is_none();
    let pseudonym = if first {
        erasure::pseudonym_of(&found.external_id)
    } else {
        found.external_id.clone()
    };
    if first {
        outbox::record(
            &txn,
            "person.erased",
            serde_json::json!({"person_id": id}),
            now,
        )
        .await?;
    }
    txn.commit().await.map_err(store)?;
    let erased_at = found.erased_at.unwrap_or(now);
    tracing::info!(person_id = %id, first, destroyed = destroyed.total(), "person erased (R14)");
    Ok(Erasure {
        person_id: id,
        pseudonym,
        erased_at,
        first,
        locked_out: if first {
            ExternalId::parse(&found.external_id).ok()
        } else {
            None
        },
        destroyed,
    })
}

/// Of the retention task: one batch, in a transaction of its own.
pub async fn retention_batch(
    db: &Db,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<(u64, Destroyed), ServiceError> {
    let txn = db.conn().begin().await.map_err(store)?;
    let done = erasure::retention_batch(&txn, cutoff, Utc::now(), limit).await?;
    txn.commit().await.map_err(store)?;
    Ok(done)
}

/// Of the retention task: the words kept by program (enrollments' goals) of the programs
/// closed before `cutoff`, in a transaction of its own.
pub async fn retention_programs(db: &Db, cutoff: DateTime<Utc>) -> Result<Destroyed, ServiceError> {
    let txn = db.conn().begin().await.map_err(store)?;
    let destroyed = erasure::retention_programs(&txn, cutoff).await?;
    txn.commit().await.map_err(store)?;
    Ok(destroyed)
}
