//! What is waiting to leave: outbox events not yet dispatched to the webhook deliveries, and
//! deliveries not yet accepted by their endpoint (`/metrics`). Two aggregate statements over
//! the partial state the delivery loop reads by index (`delivered_at IS NULL`).

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use crate::{error::StoreError, sql::statement};

/// The backlog of events and deliveries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Outbox events not yet dispatched to the deliveries.
    pub outbox_pending: i64,
    /// When the oldest of them was written.
    pub outbox_oldest: Option<DateTime<Utc>>,
    /// Deliveries never attempted yet.
    pub deliveries_pending: i64,
    /// Deliveries refused at least once, to be attempted again.
    pub deliveries_retrying: i64,
    /// Deliveries given up after their window (`failed`, dead letters).
    pub deliveries_failed: i64,
    /// When the oldest delivery still to be attempted (pending or retrying) was created.
    pub deliveries_oldest: Option<DateTime<Utc>>,
}

pub async fn read(conn: &impl ConnectionTrait) -> Result<Backlog, StoreError> {
    let backend = conn.get_database_backend();
    let outbox = conn
        .query_one_raw(statement(
            backend,
            "SELECT COUNT(*) AS pending, MIN(created_at) AS oldest \
             FROM outbox_events WHERE delivered_at IS NULL",
            Vec::new(),
        ))
        .await?;
    let deliveries = conn
        .query_one_raw(statement(
            backend,
            "SELECT COALESCE(SUM(CASE WHEN attempts = 0 AND failed_at IS NULL THEN 1 ELSE 0 END), 0) \
                        AS pending, \
                    COALESCE(SUM(CASE WHEN attempts > 0 AND failed_at IS NULL THEN 1 ELSE 0 END), 0) \
                        AS retrying, \
                    COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS failed, \
                    MIN(CASE WHEN failed_at IS NULL THEN created_at END) AS oldest \
             FROM webhook_deliveries WHERE delivered_at IS NULL",
            Vec::new(),
        ))
        .await?;
    let mut backlog = Backlog::default();
    if let Some(row) = outbox {
        backlog.outbox_pending = row.try_get("", "pending")?;
        backlog.outbox_oldest = row.try_get("", "oldest")?;
    }
    if let Some(row) = deliveries {
        backlog.deliveries_pending = row.try_get("", "pending")?;
        backlog.deliveries_retrying = row.try_get("", "retrying")?;
        backlog.deliveries_failed = row.try_get("", "failed")?;
        backlog.deliveries_oldest = row.try_get("", "oldest")?;
    }
    Ok(backlog)
}
