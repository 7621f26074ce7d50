//! Webhook endpoints and their deliveries. Delivery is claimed row by row with a lease (an
//! update that only one replica can win), so several replicas deliver without sending twice
//! at once; "at least once" covers a crash between sending and recording.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, Value};
use uuid::Uuid;

use crate::{
    crypto::{Aad, Keyring},
    error::StoreError,
    sql::statement,
};

#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    /// The signing secret (`whsec_…`), opened for signing only.
    pub secret: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Paused by an admin, or disabled after failing everything for the window.
    pub enabled: bool,
    /// The secret rotated out, signing beside the current one until the instant given.
    pub previous_secret: Option<(String, DateTime<Utc>)>,
    /// Since when every attempt has failed (`None` after a success).
    pub failing_since: Option<DateTime<Utc>>,
    /// When the service disabled it for failing (`None` when paused by hand or enabled).
    pub disabled_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "id, url, events, secret, created_by, created_at, enabled, \
     previous_secret, previous_secret_until, failing_since, disabled_at";

fn row_to_webhook(row: &sea_orm::QueryResult, keys: &Keyring) -> Result<Webhook, StoreError> {
    let events: String = row.try_get("", "events")?;
    let secret: String = row.try_get("", "secret")?;
    let id: uuid::Uuid = row.try_get("", "id")?;
    let previous: Option<String> = row.try_get("", "previous_secret")?;
    let until: Option<DateTime<Utc>> = row.try_get("", "previous_secret_until")?;
    let previous_secret = match (previous, until) {
        (Some(sealed), Some(until)) => Some((
            keys.open(&sealed, &Aad::row("webhooks", "previous_secret", id))?,
            until,
        )),
        _ => None,
    };
    Ok(Webhook {
        id,
        url: row.try_get("", "url")?,
        events: serde_json::from_str(&events)
            .map_err(|e| StoreError::Corrupt(format!("webhook events: {e}")))?,
        secret: keys.open(&secret, &Aad::row("webhooks", "secret", id))?,
        created_by: row.try_get("", "created_by")?,
        created_at: row.try_get("", "created_at")?,
        enabled: row.try_get("", "enabled")?,
        previous_secret,
        failing_since: row.try_get("", "failing_since")?,
        disabled_at: row.try_get("", "disabled_at")?,
    })
}

fn events_json(events: &[String]) -> String {
    serde_json::to_string(events).unwrap_or_else(|_| "[]".into())
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    url: &str,
    events: &[String],
    secret: &str,
    created_by: &str,
    now: DateTime<Utc>,
) -> Result<Webhook, StoreError> {
    let id = Uuid::now_v7();
    conn.execute_raw(statement(
        conn.get_database_backend(),
        "INSERT INTO webhooks (id, url, events, secret, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        vec![
            id.into(),
            url.into(),
            events_json(events).into(),
            keys.seal(secret, &Aad::row("webhooks", "secret", id))?
                .into(),
            created_by.into(),
            now.into(),
        ],
    ))
    .await?;
    Ok(Webhook {
        id,
        url: url.to_owned(),
        events: events.to_vec(),
        secret: secret.to_owned(),
        created_by: created_by.to_owned(),
        created_at: now,
        enabled: true,
        previous_secret: None,
        failing_since: None,
        disabled_at: None,
    })
}

pub async fn list(conn: &impl ConnectionTrait, keys: &Keyring) -> Result<Vec<Webhook>, StoreError> {
    let rows = conn
        .query_all_raw(statement(
            conn.get_database_backend(),
            &format!("SELECT {COLUMNS} FROM webhooks ORDER BY id"),
            vec![],
        ))
        .await?;
    rows.iter().map(|r| row_to_webhook(r, keys)).collect()
}

pub async fn find(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    id: Uuid,
) -> Result<Option<Webhook>, StoreError> {
    let row = conn
        .query_one_raw(statement(
            conn.get_database_backend(),
            &format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1"),
            vec![id.into()],
        ))
        .await?;
    row.map(|r| row_to_webhook(&r, keys)).transpose()
}

/// Write an endpoint's settings (address, events, enabled and its failure bookkeeping).
pub async fn save_settings(conn: &impl ConnectionTrait, hook: &Webhook) -> Result<(), StoreError> {
    conn.execute_raw(statement(
        conn.get_database_backend(),
        "UPDATE webhooks SET url = $1, events = $2, enabled = $3, failing_since = $4, \
         disabled_at = $5 WHERE id = $6",
        vec![
            hook.url.clone().into(),
            events_json(&hook.events).into(),
            hook.enabled.into(),
            hook.failing_since.into(),
            hook.disabled_at.into(),
            hook.id.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Replace the signing secret; the one it replaces keeps signing until `until`.
pub async fn rotate_secret(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    id: Uuid,
    secret: &str,
    previous: &str,
    until: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.execute_raw(statement(
        conn.get_database_backend(),
        "UPDATE webhooks SET secret = $1, previous_secret = $2, previous_secret_until = $3 \
         WHERE id = $4",
        vec![
            keys.seal(secret, &Aad::row("webhooks", "secret", id))?
                .into(),
            keys.seal(previous, &Aad::row("webhooks", "previous_secret", id))?
                .into(),
            until.into(),
            id.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// An attempt got through: the endpoint is no longer failing.
pub async fn endpoint_answered(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    conn.execute_raw(statement(
        conn.get_database_backend(),
        "UPDATE webhooks SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL",
        vec![id.into()],
    ))
    .await?;
    Ok(())
}

/// An attempt failed: the endpoint is failing since now, unless it already was. Returns
/// since when it has been failing.
pub async fn endpoint_failed(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let backend = conn.get_database_backend();
    conn.execute_raw(statement(
        backend,
        "UPDATE webhooks SET failing_since = $1 WHERE id = $2 AND failing_since IS NULL",
        vec![now.into(), id.into()],
    ))
    .await?;
    let row = conn
        .query_one_raw(statement(
            backend,
            "SELECT failing_since FROM webhooks WHERE id = $1",
            vec![id.into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get("", "failing_since")?,
        None => None,
    })
}

/// Disable an endpoint failing since `failing_since`; `true` for the one caller that did it
/// (several replicas may decide at once: only one update matches).
pub async fn disable_failing(
    conn: &impl ConnectionTrait,
    id: Uuid,
    failing_since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = conn
        .execute_raw(statement(
            conn.get_database_backend(),
            "UPDATE webhooks SET enabled = $1, disabled_at = $2 \
             WHERE id = $3 AND enabled = $4 AND failing_since = $5",
            vec![
                false.into(),
                now.into(),
                id.into(),
                true.into(),
                failing_since.into(),
            ],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(conn: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    let backend = conn.get_database_backend();
    conn.execute_raw(statement(
        backend,
        "DELETE FROM webhook_deliveries WHERE webhook_id = $1",
        vec![id.into()],
    ))
    .await?;
    let done = conn
        .execute_raw(statement(
            backend,
            "DELETE FROM webhooks WHERE id = $1",
            vec![id.into()],
        ))
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Turn undelivered outbox events into one delivery per subscribed endpoint, and mark the
/// events dispatched. Returns how many events were dispatched.
pub async fn fan_out(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    now: DateTime<Utc>,
    batch: u64,
) -> Result<usize, StoreError> {
    let backend = conn.get_database_backend();
    let events = crate::outbox::undelivered(conn, batch).await?;
    if events.is_empty() {
        return Ok(0);
    }
    let hooks = list(conn, keys).await?;
    for event in &events {
        // A paused or disabled endpoint is not sent what happens meanwhile.
        for hook in hooks
            .iter()
            .filter(|h| h.enabled && (h.events.is_empty() || h.events.contains(&event.kind)))
        {
            let insert = match backend {
                sea_orm::DbBackend::Postgres => {
                    "INSERT INTO webhook_deliveries (id, webhook_id, event_id, attempts, \
                     next_attempt_at, created_at) VALUES ($1, $2, $3, 0, $4, $5) \
                     ON CONFLICT DO NOTHING"
                }
                _ => {
                    "INSERT OR IGNORE INTO webhook_deliveries (id, webhook_id, event_id, attempts, \
                     next_attempt_at, created_at) VALUES ($1, $2, $3, 0, $4, $5)"
                }
            };
            conn.execute_raw(statement(
                backend,
                insert,
                vec![
                    Uuid::now_v7().into(),
                    hook.id.into(),
                    event.id.into(),
                    now.into(),
                    now.into(),
                ],
            ))
            .await?;
        }
        conn.execute_raw(statement(
            backend,
            "UPDATE outbox_events SET delivered_at = $1 WHERE id = $2",
            vec![now.into(), event.id.into()],
        ))
        .await?;
    }
    Ok(events.len())
}

/// A delivery to attempt now.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub kind: String,
    pub payload: serde_json::Value,
    pub event_at: DateTime<Utc>,
    pub attempts: i32,
    /// Since when this delivery has been tried (its creation, or its last manual retry).
    pub window_from: DateTime<Utc>,
}

/// Claim up to `limit` due deliveries of enabled endpoints for `lease` (another replica will
/// not take them meanwhile): given-up deliveries (`failed_at`) wait for a manual retry.
pub async fn claim_due(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
) -> Result<Vec<Due>, StoreError> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(statement(
            backend,
            &format!(
                "SELECT d.id AS id, d.webhook_id AS webhook_id, d.event_id AS event_id, \
                        d.attempts AS attempts, d.next_attempt_at AS next_attempt_at, \
                        COALESCE(d.window_from, d.created_at) AS window_from, \
                        e.kind AS kind, e.payload AS payload, e.created_at AS event_at \
                 FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id \
                 JOIN webhooks w ON w.id = d.webhook_id \
                 WHERE d.delivered_at IS NULL AND d.failed_at IS NULL \
                   AND d.next_attempt_at <= $1 AND w.enabled = $2 \
                 ORDER BY d.next_attempt_at LIMIT {limit}"
            ),
            vec![now.into(), true.into()],
        ))
        .await?;
    let mut claimed = Vec::new();
    for row in rows {
        let id: Uuid = row.try_get("", "id")?;
        let was: DateTime<Utc> = row.try_get("", "next_attempt_at")?;
        let won = conn
            .execute_raw(statement(
                backend,
                "UPDATE webhook_deliveries SET next_attempt_at = $1 \
                 WHERE id = $2 AND next_attempt_at = $3 AND delivered_at IS NULL",
                vec![(now + lease).into(), id.into(), was.into()],
            ))
            .await?
            .rows_affected()
            == 1;
        if !won {
            continue;
        }
        let payload: String = row.try_get("", "payload")?;
        claimed.push(Due {
            id,
            webhook_id: row.try_get("", "webhook_id")?,
            event_id: row.try_get("", "event_id")?,
            kind: row.try_get("", "kind")?,
            payload: serde_json::from_str(&payload)
                .map_err(|e| StoreError::Corrupt(format!("outbox payload: {e}")))?,
            event_at: row.try_get("", "event_at")?,
            attempts: row.try_get("", "attempts")?,
            window_from: row.try_get("", "window_from")?,
        });
    }
    Ok(claimed)
}

pub async fn delivered(
    conn: &impl ConnectionTrait,
    id: Uuid,
    status: u16,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.execute_raw(statement(
        conn.get_database_backend(),
        "UPDATE webhook_deliveries SET delivered_at = $1, attempts = attempts + 1, \
         last_status = $2, last_error = NULL WHERE id = $3",
        vec![
            now.into(),
            Value::SmallInt(Some(i16::try_from(status).unwrap_or(i16::MAX))),
            id.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// An attempt failed: tried again at `next_attempt_at`, or given up (`gave_up`: a dead
/// letter, kept for the admins and a manual retry).
pub async fn failed(
    conn: &impl ConnectionTrait,
    id: Uuid,
    status: Option<u16>,
    error: &str,
    next_attempt_at: DateTime<Utc>,
    gave_up: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let error: String = error.chars().take(255).collect();
    conn.execute_raw(statement(
        conn.get_database_backend(),
        "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1, \
         last_status = $2, last_error = $3, failed_at = $4 WHERE id = $5",
        vec![
            next_attempt_at.into(),
            Value::SmallInt(status.map(|s| i16::try_from(s).unwrap_or(i16::MAX))),
            error.into(),
            gave_up.into(),
            id.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Make a delivery due now, with a new window (a manual retry; a delivered one is sent
/// again). `false` when the endpoint has no such delivery.
pub async fn retry(
    conn: &impl ConnectionTrait,
    webhook_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = conn
        .execute_raw(statement(
            conn.get_database_backend(),
            "UPDATE webhook_deliveries SET delivered_at = NULL, failed_at = NULL, \
             next_attempt_at = $1, window_from = $2 WHERE id = $3 AND webhook_id = $4",
            vec![now.into(), now.into(), id.into(), webhook_id.into()],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A delivery's state, for an admin.
#[derive(Debug, Clone)]
pub struct DeliveryState {
    pub id: Uuid,
    pub event_id: Uuid,
    pub kind: String,
    pub attempts: i32,
    pub last_status: Option<i16>,
    /// What the last failed attempt came to (a `webhook::DeliveryOutcome` word).
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was given up (a dead letter).
    pub failed_at: Option<DateTime<Utc>>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

const DELIVERY_COLUMNS: &str = "d.id AS id, d.event_id AS event_id, e.kind AS kind, \
     d.attempts AS attempts, d.last_status AS last_status, d.last_error AS last_error, \
     d.delivered_at AS delivered_at, d.failed_at AS failed_at, \
     d.next_attempt_at AS next_attempt_at, d.created_at AS created_at";

fn row_to_delivery(r: &sea_orm::QueryResult) -> Result<DeliveryState, sea_orm::DbErr> {
    Ok(DeliveryState {
        id: r.try_get("", "id")?,
        event_id: r.try_get("", "event_id")?,
        kind: r.try_get("", "kind")?,
        attempts: r.try_get("", "attempts")?,
        last_status: r.try_get("", "last_status")?,
        last_error: r.try_get("", "last_error")?,
        delivered_at: r.try_get("", "delivered_at")?,
        failed_at: r.try_get("", "failed_at")?,
        next_attempt_at: r.try_get("", "next_attempt_at")?,
        created_at: r.try_get("", "created_at")?,
    })
}

/// An endpoint's deliveries, newest first, a page at a time (`before`: the last id seen).
pub async fn deliveries_page(
    conn: &impl ConnectionTrait,
    webhook_id: Uuid,
    before: Option<Uuid>,
    limit: u16,
) -> Result<crate::Page<DeliveryState>, StoreError> {
    let mut values: Vec<Value> = vec![webhook_id.into()];
    let mut filter = String::new();
    if let Some(before) = before {
        filter = " AND d.id < $2".into();
        values.push(before.into());
    }
    let rows = conn
        .query_all_raw(statement(
            conn.get_database_backend(),
            &format!(
                "SELECT {DELIVERY_COLUMNS} \
                 FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id \
                 WHERE d.webhook_id = $1{filter} ORDER BY d.id DESC LIMIT {}",
                u64::from(limit) + 1
            ),
            values,
        ))
        .await?;
    let rows = rows
        .iter()
        .map(row_to_delivery)
        .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
    let (items, next) = crate::cut(rows, limit, |d| d.id);
    Ok(crate::Page { items, next })
}

pub async fn find_delivery(
    conn: &impl ConnectionTrait,
    webhook_id: Uuid,
    id: Uuid,
) -> Result<Option<DeliveryState>, StoreError> {
    let row = conn
        .query_one_raw(statement(
            conn.get_database_backend(),
            &format!(
                "SELECT {DELIVERY_COLUMNS} \
                 FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id \
                 WHERE d.webhook_id = $1 AND d.id = $2"
            ),
            vec![webhook_id.into(), id.into()],
        ))
        .await?;
    Ok(row.as_ref().map(row_to_delivery).transpose()?)
}

pub async fn deliveries(
    conn: &impl ConnectionTrait,
    webhook_id: Uuid,
    limit: u64,
) -> Result<Vec<DeliveryState>, StoreError> {
    let rows = conn
        .query_all_raw(statement(
            conn.get_database_backend(),
            &format!(
                "SELECT {DELIVERY_COLUMNS} \
                 FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id \
                 WHERE d.webhook_id = $1 ORDER BY d.id DESC LIMIT {limit}"
            ),
            vec![webhook_id.into()],
        ))
        .await?;
    rows.iter()
        .map(row_to_delivery)
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(StoreError::from)
}
