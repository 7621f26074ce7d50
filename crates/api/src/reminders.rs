//! Meeting reminders: the reminder task. Every replica runs it
//! (`MENTORAT_REMINDER_EVERY_SECONDS`, every minute by default): it writes a `meeting.upcoming`
//! notification to both members and the `meeting.upcoming` event for each scheduled meeting
//! of an active pair whose program's `reminder_hours` has come, once per meeting and start
//! time. Batches of 200 meetings a transaction; on PostgreSQL each batch claims its meetings
//! with `SKIP LOCKED`, so replicas running at once share the work and none reminds twice.
//! What it wrote is counted in `mentorat_reminders_sent_total`.

use std::time::Duration;

use chrono::Utc;
use mentorat_persistence::Db;

use crate::telemetry::Metrics;

pub const DEFAULT_EVERY_SECONDS: u64 = 60;
/// Meetings a transaction (per lead time).
pub const BATCH: u64 = 200;

/// One run: batches until none reminds anything. Returns how many reminders were written.
pub async fn run_once(db: &Db, metrics: &Metrics) -> Result<u64, mentorat_service::ServiceError> {
    let mut sent = 0;
    loop {
        let (claimed, reminded) =
            mentorat_service::reminders::remind_batch(db, Utc::now(), BATCH).await?;
        sent += reminded;
        metrics.reminders_sent(reminded);
        // A full batch may have more behind it; a batch that reminded nothing of what it
        // claimed would only claim the same again.
        if claimed < BATCH || reminded == 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    if sent > 0 {
        tracing::info!(sent, "meeting reminders written");
    }
    Ok(sent)
}

/// Run every `every`, for as long as the process runs.
pub fn keep_running(db: Db, every: Duration, metrics: Metrics) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(err) = run_once(&db, &metrics).await {
                tracing::warn!(error = %err, "reminder run failed; the next one retries");
            }
        }
    })
}
