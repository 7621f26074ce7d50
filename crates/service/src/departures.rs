//! R11 Departures: what happens when the HRIS deactivates a person. Called in the same
//! transaction as the write that deactivates them, from every path that can (single upsert
//! and batch import alike).

use chrono::Utc;
use mentorat_persistence::{ConnectionTrait, StoreError, notifications, outbox, pairs};
use uuid::Uuid;

/// People who were active and no longer are: their active pairs become `suspended` (the
/// coordinators see the status), and the other member is told.
pub async fn people_deactivated(
    conn: &impl ConnectionTrait,
    person_ids: &[Uuid],
) -> Result<(), StoreError> {
    if person_ids.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let suspended = pairs::suspend_pairs_of(conn, person_ids, now).await?;
    // Nobody will come to the meetings ahead: off every calendar.
    let ids: Vec<Uuid> = suspended.iter().map(|p| p.id).collect();
    mentorat_persistence::tallies::record_pair_status(conn, &ids).await?;
    crate::working_life::cancel_ahead_of_pairs(conn, &ids, None, now).await?;
    for pair in &suspended {
        let others: Vec<Uuid> = [pair.mentor_person_id, pair.mentee_person_id]
            .into_iter()
            .filter(|p| !person_ids.contains(p))
            .collect();
        notifications::notify(
            conn,
            &others,
            "pair.suspended",
            Some(pair.program_id),
            Some(pair.id),
            now,
        )
        .await?;
        outbox::record(
            conn,
            "pair.suspended",
            serde_json::json!({"pair_id": pair.id, "program_id": pair.program_id}),
            now,
        )
        .await?;
    }
    for id in person_ids {
        outbox::record(
            conn,
            "person.deactivated",
            serde_json::json!({"person_id": id}),
            now,
        )
        .await?;
        tracing::info!(person_id = %id, pairs_suspended = suspended.len(), "person deactivated (R11)");
    }
    Ok(())
}
