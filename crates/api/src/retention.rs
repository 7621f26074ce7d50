//! R14 storage limitation: the retention task. Every replica runs it
//! (`MENTORAT_RETENTION_EVERY_SECONDS`, hourly by default): it destroys the words of the
//! pairs that ended or completed `MENTORAT_RETENTION_DAYS` ago (365 by default) or whose
//! program closed that long ago, 500 pairs a transaction, so requests are never held for long;
//! each batch locks its pairs with `SKIP LOCKED` on PostgreSQL, so replicas running at once
//! share the work and none waits for another. Metadata (pairs, dates, statuses, meetings'
//! times, objectives' status, feedback scores) and report tallies stay. Each run that
//! destroyed something is written to the audit log (`retention_run`, actor
//! `mentorat:retention`), every run is counted in `mentorat_retention_runs_total` and what it
//! destroyed in `mentorat_retention_destroyed_total{kind}`.

use std::time::Duration;

use chrono::Utc;
use mentorat_domain::erasure::Destroyed;
use mentorat_persistence::{Db, audit};
use uuid::Uuid;

use crate::telemetry::Metrics;

pub const DEFAULT_DAYS: u32 = 365;
/// Pairs a transaction.
pub const BATCH: u64 = 500;

/// One run: batches until no expired pair is left. Returns the pairs done and what went.
pub async fn run_once(
    db: &Db,
    days: u32,
    metrics: &Metrics,
) -> Result<(u64, Destroyed), mentorat_service::ServiceError> {
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(days));
    let mut pairs = 0;
    let mut destroyed = mentorat_service::erasure::retention_programs(db, cutoff).await?;
    loop {
        let (n, d) = mentorat_service::erasure::retention_batch(db, cutoff, BATCH).await?;
        if n == 0 {
            break;
        }
        pairs += n;
        destroyed.merge(&d);
        // Let requests have the database between batches.
        tokio::task::yield_now().await;
    }
    metrics.retention_run(&destroyed);
    if pairs > 0 || destroyed.total() > 0 {
        // What went leaves the database's files too (SQLite's WAL; R14).
        crate::unit::scrub(db).await;
        audit::append(
            db.conn(),
            audit::AuditEvent {
                id: Uuid::now_v7(),
                at: Utc::now(),
                actor: "mentorat:retention".to_owned(),
                roles: String::new(),
                action: "retention_run".to_owned(),
                method: "TASK".to_owned(),
                route: "retention".to_owned(),
                resource_id: None,
                pair_id: None,
                status: 200,
                outcome: "allowed".to_owned(),
                request_id: None,
            },
        )
        .await?;
        tracing::info!(
            pairs,
            destroyed = destroyed.total(),
            days,
            "retention: the words of pairs past their retention destroyed (R14)"
        );
    }
    Ok((pairs, destroyed))
}

/// Run every `every`, for as long as the process runs.
pub fn keep_running(
    db: Db,
    days: u32,
    every: Duration,
    metrics: Metrics,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(err) = run_once(&db, days, &metrics).await {
                tracing::warn!(error = %err, "retention run failed; the next one retries");
            }
        }
    })
}
