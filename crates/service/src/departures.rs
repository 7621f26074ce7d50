//! R11 Departures: what happens when the HRIS deactivates a person. Called in the same
//! transaction as the write that deactivates them, from every path that can (single upsert
//! and batch import alike).

use mentorat_persistence::{ConnectionTrait, StoreError};
use uuid::Uuid;

/// People who were active and no longer are. Their pairs are to become `suspended` and be
/// flagged for the coordinators; pairs arrive with the matching issue, which fills this in.
/// Until then the departure is logged (ids only).
pub async fn people_deactivated(
    _conn: &impl ConnectionTrait,
    person_ids: &[Uuid],
) -> Result<(), StoreError> {
    for id in person_ids {
        tracing::info!(person_id = %id, "person deactivated (R11)");
    }
    Ok(())
}
