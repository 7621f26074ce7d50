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

fn row_to_webhook(row: &sea_orm::QueryResult, keys: &Keyring) -> Result<Webhook, StoreError> {
    let events: String = row.try_get("", "events")?;
    let secret: String = row.try_get("", "secret")?;
    let id: uuid::Uuid = row.try_get("", "id")?;
    Ok(Webhook {
        id,
        url: row.try_get("", "url")?,
        events: serde_json::from_str(&events)
            .map_err(|e| StoreError::Corrupt(format!("webhook events: {e}")))?,
        secret: keys.open(&secret, &Aad::row("webhooks", "secret", id))?,
        created_by: row.try_get("", "created_by")?,
        created_at: row.try_get("", "created_at")?,
    })
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
            serde_json::to_string(events)
                .unwrap_or_else(|_| "[]".into())
                .into(),
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
    })
}

pub async fn list(conn: &impl ConnectionTrait, keys: &Keyring) -> Result<Vec<Webhook>, StoreError> {
    let rows = conn
        .query_all_raw(statement(
            conn.get_database_backend(),
            "SELECT id, url, events, secret, created_by, created_at FROM webhooks ORDER BY id",
            vec![],
        ))
        .await?;
    rows.iter().map(|r| row_to_webhook(r, keys)).collect()
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
        for hook in hooks
            .iter()
            .filter(|h| h.events.is_empty() || h.events.contains(&event.kind))
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
}

/// Claim up to `limit` due deliveries for `lease` (another replica will not take them
/// meanwhile).
pub async fn claim_due(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease: Duration,
    max_attempts: i32,
    limit: u64,
) -> Result<Vec<Due>, StoreError> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(statement(
            backend,
            &format!(
                "SELECT d.id AS id, d.webhook_id AS webhook_id, d.event_id AS event_id, \
                        d.attempts AS attempts, d.next_attempt_at AS next_attempt_at, \
                        e.kind AS kind, e.payload AS payload, e.created_at AS event_at \
                 FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id \
                 WHERE d.delivered_at IS NULL AND d.next_attempt_at <= $1 AND d.attempts < $2 \
                 ORDER BY d.next_attempt_at LIMIT {limit}"
            ),
            vec![now.into(), max_attempts.into()],
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

pub async fn failed(
    conn: &impl ConnectionTrait,
    id: Uuid,
    status: Option<u16>,
    error: &str,
    next_attempt_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let error: String = error.chars().take(255).collect();
    conn.execute_raw(statement(
        conn.get_database_backend(),
        "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1, \
         last_status = $2, last_error = $3 WHERE id = $4",
        vec![
            next_attempt_at.into(),
            Value::SmallInt(status.map(|s| i16::try_from(s).unwrap_or(i16::MAX))),
            error.into(),
            id.into(),
        ],
    ))
    .await?;
    Ok(())
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
    pub next_attempt_at: DateTime<Utc>,
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
                "SELECT d.id AS id, d.event_id AS event_id, e.kind AS kind, d.attempts AS attempts, \
                        d.last_status AS last_status, d.last_error AS last_error, \
                        d.delivered_at AS delivered_at, \
                        d.next_attempt_at AS next_attempt_at \
                 FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id \
                 WHERE d.webhook_id = $1 ORDER BY d.id DESC LIMIT {limit}"
            ),
            vec![webhook_id.into()],
        ))
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(DeliveryState {
                id: r.try_get("", "id")?,
                event_id: r.try_get("", "event_id")?,
                kind: r.try_get("", "kind")?,
                attempts: r.try_get("", "attempts")?,
                last_status: r.try_get("", "last_status")?,
                last_error: r.try_get("", "last_error")?,
                delivered_at: r.try_get("", "delivered_at")?,
                next_attempt_at: r.try_get("", "next_attempt_at")?,
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(StoreError::from)
}
