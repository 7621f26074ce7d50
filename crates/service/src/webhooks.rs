//! Webhooks (API.md Integrations): admins register endpoints; a delivery loop on every
//! replica dispatches the transactional outbox to them, signed after the Standard Webhooks
//! scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<HMAC-SHA256>`), at least
//! once, retrying failures with backoff. Payloads carry ids and metadata, never content (R5).

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use chrono::{Duration, Utc};
use hmac::{Hmac, Mac};
use mentorat_domain::{Caller, webhook};
use mentorat_persistence::{
    Db,
    webhooks::{self, DeliveryState, Webhook},
};
use sha2::Sha256;
use uuid::Uuid;

use crate::error::ServiceError;

/// Register an endpoint; the answer carries its signing secret, shown this once.
pub async fn register(
    db: &Db,
    caller: &Caller,
    url: &str,
    events: Vec<String>,
) -> Result<Webhook, ServiceError> {
    let subscription = webhook::validate(url, events)?;
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| ServiceError::Internal(format!("no randomness for a webhook secret: {e}")))?;
    let secret = format!("whsec_{}", STANDARD.encode(bytes));
    let hook = webhooks::insert(
        db.conn(),
        db.keys(),
        &subscription.url,
        &subscription.events,
        &secret,
        caller.subject.as_str(),
        Utc::now(),
    )
    .await?;
    tracing::info!(webhook_id = %hook.id, by = %caller.subject, "webhook registered");
    Ok(hook)
}

pub async fn list(db: &Db) -> Result<Vec<(Webhook, Vec<DeliveryState>)>, ServiceError> {
    let mut out = Vec::new();
    for hook in webhooks::list(db.conn(), db.keys()).await? {
        let recent = webhooks::deliveries(db.conn(), hook.id, 20).await?;
        out.push((hook, recent));
    }
    Ok(out)
}

pub async fn remove(db: &Db, caller: &Caller, id: Uuid) -> Result<(), ServiceError> {
    if webhooks::delete(db.conn(), id).await? {
        tracing::info!(webhook_id = %id, by = %caller.subject, "webhook removed");
        Ok(())
    } else {
        Err(ServiceError::NotFound)
    }
}

/// The Standard Webhooks signature of a message.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// What one round of delivery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub dispatched: usize,
    pub delivered: usize,
    pub failed: usize,
}

/// One round: dispatch new outbox events to the subscribed endpoints, then attempt every due
/// delivery once.
pub async fn deliver_once(db: &Db, client: &reqwest::Client) -> Result<Round, ServiceError> {
    let now = Utc::now();
    let mut round = Round {
        dispatched: webhooks::fan_out(db.conn(), db.keys(), now, 200).await?,
        ..Round::default()
    };
    let due = webhooks::claim_due(
        db.conn(),
        now,
        Duration::seconds(60),
        webhook::MAX_ATTEMPTS,
        50,
    )
    .await?;
    if due.is_empty() {
        return Ok(round);
    }
    let hooks: std::collections::HashMap<Uuid, Webhook> = webhooks::list(db.conn(), db.keys())
        .await?
        .into_iter()
        .map(|h| (h.id, h))
        .collect();
    for d in due {
        let Some(hook) = hooks.get(&d.webhook_id) else {
            continue;
        };
        let message_id = format!("msg_{}", URL_SAFE_NO_PAD.encode(d.event_id.as_bytes()));
        let body = serde_json::json!({
            "type": d.kind,
            "timestamp": d.event_at,
            "data": d.payload,
        })
        .to_string();
        let timestamp = Utc::now().timestamp();
        let Some(signature) = sign(&hook.secret, &message_id, timestamp, &body) else {
            webhooks::failed(db.conn(), d.id, None, "unusable secret", Utc::now()).await?;
            round.failed += 1;
            continue;
        };
        let sent = client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header("webhook-id", &message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let now = Utc::now();
        match sent {
            Ok(r) if r.status().is_success() => {
                webhooks::delivered(db.conn(), d.id, r.status().as_u16(), now).await?;
                round.delivered += 1;
            }
            Ok(r) => {
                let next = now + webhook::backoff(d.attempts + 1);
                webhooks::failed(
                    db.conn(),
                    d.id,
                    Some(r.status().as_u16()),
                    "the endpoint did not answer 2xx",
                    next,
                )
                .await?;
                tracing::warn!(webhook_id = %hook.id, status = r.status().as_u16(), attempts = d.attempts + 1, "webhook delivery failed");
                round.failed += 1;
            }
            Err(e) => {
                let next = now + webhook::backoff(d.attempts + 1);
                let reason = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "request failed"
                };
                webhooks::failed(db.conn(), d.id, None, reason, next).await?;
                tracing::warn!(webhook_id = %hook.id, reason, attempts = d.attempts + 1, "webhook delivery failed");
                round.failed += 1;
            }
        }
    }
    Ok(round)
}

/// An HTTP client for deliveries: short timeouts, no redirects.
pub fn client() -> Result<reqwest::Client, ServiceError> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .connect_timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ServiceError::Internal(format!("webhook client: {e}")))
}
