//! Webhooks (API.md Integrations): admins register endpoints; a delivery loop on every
//! replica dispatches the transactional outbox to them, signed after the Standard Webhooks
//! scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<HMAC-SHA256>`), at least
//! once, retrying failures with backoff. Payloads carry ids and metadata, never content (R5).

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use chrono::{Duration, SubsecRound, Utc};
use hmac::{Hmac, Mac};
use mentorat_domain::{
    Caller, PageLimit,
    network::TargetPolicy,
    webhook::{self, DeliveryOutcome, Subscription, TargetError, Windows},
};
use mentorat_persistence::{
    Db, Page, StoreError, TransactionTrait,
    notifications::{self, ADMINS},
    webhooks::{self, DeliveryState, Webhook},
};
use sha2::Sha256;
use std::{net::SocketAddr, sync::Arc};
use uuid::Uuid;

use crate::error::ServiceError;

/// Register an endpoint; the answer carries its signing secret, shown this once. An address
/// the policy forbids is refused here, and again at each delivery (names are resolved then).
pub async fn register(
    db: &Db,
    caller: &Caller,
    policy: &TargetPolicy,
    url: &str,
    events: Vec<String>,
) -> Result<Webhook, ServiceError> {
    let subscription = webhook::validate(url, events, policy)?;
    let secret = new_secret()?;
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

/// A fresh signing secret: 24 random bytes, `whsec_` and base64 (Standard Webhooks).
fn new_secret() -> Result<String, ServiceError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| ServiceError::Internal(format!("no randomness for a webhook secret: {e}")))?;
    Ok(format!("whsec_{}", STANDARD.encode(bytes)))
}

fn store(e: impl Into<StoreError>) -> ServiceError {
    ServiceError::from(e.into())
}

pub async fn get(db: &Db, id: Uuid) -> Result<Webhook, ServiceError> {
    webhooks::find(db.conn(), db.keys(), id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// What a `PATCH` may change.
#[derive(Debug, Default)]
pub struct Change {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// Change an endpoint: a new address is judged by the SSRF rules as at registration;
/// enabling it again forgets its failures (it gets a fresh window), pausing it stops its
/// deliveries (they stay pending) and what happens meanwhile is not queued for it.
pub async fn update(
    db: &Db,
    caller: &Caller,
    policy: &TargetPolicy,
    id: Uuid,
    change: Change,
) -> Result<Webhook, ServiceError> {
    let mut hook = get(db, id).await?;
    let current = Subscription {
        url: hook.url.clone(),
        events: hook.events.clone(),
    };
    let changed = webhook::change(&current, change.url.as_deref(), change.events, policy)?;
    hook.url = changed.url;
    hook.events = changed.events;
    match change.enabled {
        Some(true) if !hook.enabled => {
            hook.enabled = true;
            hook.failing_since = None;
            hook.disabled_at = None;
        }
        Some(false) if hook.enabled => {
            hook.enabled = false;
        }
        _ => {}
    }
    webhooks::save_settings(db.conn(), &hook).await?;
    tracing::info!(webhook_id = %hook.id, enabled = hook.enabled, by = %caller.subject, "webhook changed");
    Ok(hook)
}

/// Rotate the signing secret: the answer carries the new one, shown this once; the one it
/// replaces keeps signing beside it for [`webhook::ROTATION_OVERLAP_HOURS`].
pub async fn rotate_secret(db: &Db, caller: &Caller, id: Uuid) -> Result<Webhook, ServiceError> {
    let mut hook = get(db, id).await?;
    let secret = new_secret()?;
    // To the microsecond, as PostgreSQL keeps it: the answer says what a read will.
    let until = (Utc::now() + Duration::hours(webhook::ROTATION_OVERLAP_HOURS)).trunc_subsecs(6);
    webhooks::rotate_secret(db.conn(), db.keys(), id, &secret, &hook.secret, until).await?;
    let previous = std::mem::replace(&mut hook.secret, secret);
    hook.previous_secret = Some((previous, until));
    tracing::info!(webhook_id = %hook.id, by = %caller.subject, "webhook secret rotated");
    Ok(hook)
}

/// An endpoint's deliveries, newest first.
pub async fn deliveries(
    db: &Db,
    id: Uuid,
    before: Option<Uuid>,
    limit: PageLimit,
) -> Result<Page<DeliveryState>, ServiceError> {
    get(db, id).await?;
    Ok(webhooks::deliveries_page(db.conn(), id, before, limit.get()).await?)
}

/// Try a delivery again now, whatever its state (a delivered one is sent again), with a new
/// window before it is given up.
pub async fn retry(
    db: &Db,
    caller: &Caller,
    id: Uuid,
    delivery_id: Uuid,
) -> Result<DeliveryState, ServiceError> {
    if !webhooks::retry(db.conn(), id, delivery_id, Utc::now()).await? {
        return Err(ServiceError::NotFound);
    }
    tracing::info!(webhook_id = %id, delivery_id = %delivery_id, by = %caller.subject, "webhook delivery retried");
    webhooks::find_delivery(db.conn(), id, delivery_id)
        .await?
        .ok_or(ServiceError::NotFound)
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

/// The `webhook-signature` header: one `v1,<sig>` per secret signing now, space-separated.
pub fn signatures(hook: &Webhook, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let previous = hook
        .previous_secret
        .as_ref()
        .map(|(s, until)| (s.as_str(), *until));
    let all: Option<Vec<String>> = webhook::signing_secrets(&hook.secret, previous, Utc::now())
        .into_iter()
        .map(|secret| sign(secret, id, timestamp, body))
        .collect();
    all.map(|a| a.join(" "))
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
pub async fn deliver_once(db: &Db, courier: &Courier) -> Result<Round, ServiceError> {
    let now = Utc::now();
    let mut round = Round {
        dispatched: webhooks::fan_out(db.conn(), db.keys(), now, 200).await?,
        ..Round::default()
    };
    let due = webhooks::claim_due(db.conn(), now, Duration::seconds(60), 50).await?;
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
        let Some(signature) = signatures(hook, &message_id, timestamp, &body) else {
            let outcome = DeliveryOutcome::Failed;
            failure(db, courier, hook, &d, None, outcome).await?;
            round.failed += 1;
            continue;
        };
        // The address is judged again under today's policy (the operator may have narrowed
        // it); a name is judged by the resolver, address by address, as it connects.
        let sent = match webhook::target(&hook.url, &courier.policy) {
            Ok(url) => courier
                .http
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", &message_id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(body)
                .send()
                .await
                .map_err(|e| outcome_of(&e)),
            Err(TargetError::Forbidden(_) | TargetError::Malformed(_)) => {
                Err(DeliveryOutcome::Forbidden)
            }
        };
        match sent {
            Ok(r) if r.status().is_success() => {
                webhooks::delivered(db.conn(), d.id, r.status().as_u16(), Utc::now()).await?;
                webhooks::endpoint_answered(db.conn(), hook.id).await?;
                round.delivered += 1;
            }
            Ok(r) => {
                let status = r.status().as_u16();
                failure(
                    db,
                    courier,
                    hook,
                    &d,
                    Some(status),
                    DeliveryOutcome::Rejected,
                )
                .await?;
                tracing::warn!(webhook_id = %hook.id, status, attempts = d.attempts + 1, "webhook delivery failed");
                round.failed += 1;
            }
            Err(outcome) => {
                failure(db, courier, hook, &d, None, outcome).await?;
                tracing::warn!(webhook_id = %hook.id, outcome = outcome.as_str(), attempts = d.attempts + 1, "webhook delivery failed");
                round.failed += 1;
            }
        }
    }
    Ok(round)
}

/// Record a failed attempt: the next one after a jittered backoff, or given up when its
/// window has passed; the endpoint failing for its own window is disabled and the admins are
/// told — once, whichever replica sees it first.
async fn failure(
    db: &Db,
    courier: &Courier,
    hook: &Webhook,
    d: &webhooks::Due,
    status: Option<u16>,
    outcome: DeliveryOutcome,
) -> Result<(), ServiceError> {
    let now = Utc::now();
    let next = now + webhook::backoff_with_jitter(d.attempts + 1, random_unit());
    let gave_up = courier.windows.gives_up(d.window_from, now).then_some(now);
    webhooks::failed(db.conn(), d.id, status, outcome.as_str(), next, gave_up).await?;
    if gave_up.is_some() {
        tracing::warn!(webhook_id = %hook.id, delivery_id = %d.id, "webhook delivery given up");
    }
    let Some(since) = webhooks::endpoint_failed(db.conn(), hook.id, now).await? else {
        return Ok(());
    };
    if !courier.windows.disables(since, now) {
        return Ok(());
    }
    let txn = db.conn().begin().await.map_err(store)?;
    if webhooks::disable_failing(&txn, hook.id, since, now).await? {
        notifications::notify_about(
            &txn,
            &[ADMINS],
            "webhook.disabled",
            None,
            None,
            Some(hook.id),
            now,
        )
        .await?;
        txn.commit().await.map_err(store)?;
        tracing::warn!(webhook_id = %hook.id, failing_since = %since, "webhook disabled: it failed everything for its window");
    }
    Ok(())
}

/// A number in `[0, 1)` for the backoff's jitter (the middle of the range without
/// randomness: jitter is a courtesy, not a rule).
fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    #[allow(clippy::cast_precision_loss)]
    let unit = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
    unit
}

fn outcome_of(e: &reqwest::Error) -> DeliveryOutcome {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<TargetForbidden>() {
            return DeliveryOutcome::Forbidden;
        }
        source = err.source();
    }
    if e.is_timeout() {
        DeliveryOutcome::TimedOut
    } else {
        DeliveryOutcome::Unreachable
    }
}

/// What delivers: an HTTP client whose every connection goes to an address the policy
/// permits — names are resolved by [`CheckedResolver`], which hands the client only the
/// permitted addresses, so a name cannot be re-pointed (DNS rebinding) between the check and
/// the connection; no redirect is followed and no proxy is used (a proxy would resolve and
/// connect where the policy cannot see).
#[derive(Clone)]
pub struct Courier {
    http: reqwest::Client,
    policy: Arc<TargetPolicy>,
    windows: Windows,
}

impl Courier {
    /// How long failures are borne (defaults: 3 days a delivery, 5 days an endpoint).
    #[must_use]
    pub fn with_windows(mut self, windows: Windows) -> Self {
        self.windows = windows;
        self
    }
}

/// What every delivery says it comes from.
pub const USER_AGENT: &str = concat!("Mentorat/", env!("CARGO_PKG_VERSION"));

/// Build the courier of a policy: short timeouts, no redirects, no proxy, checked addresses.
pub fn client(policy: TargetPolicy) -> Result<Courier, ServiceError> {
    let policy = Arc::new(policy);
    let http = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(std::time::Duration::from_secs(10))
        .connect_timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(CheckedResolver {
            policy: policy.clone(),
        }))
        .build()
        .map_err(|e| ServiceError::Internal(format!("webhook client: {e}")))?;
    Ok(Courier {
        http,
        policy,
        windows: Windows::default(),
    })
}

/// Every address a name resolves to is a forbidden one.
#[derive(Debug, thiserror::Error)]
#[error("every address of the name is off-limits to webhooks")]
struct TargetForbidden;

/// The system resolver, keeping only the addresses the policy permits.
struct CheckedResolver {
    policy: Arc<TargetPolicy>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let permitted: Vec<SocketAddr> = resolved.filter(|a| policy.permits(a.ip())).collect();
            if permitted.is_empty() {
                tracing::warn!(host = %host, "webhook delivery refused: the name resolves to off-limits addresses only");
                return Err(Box::new(TargetForbidden) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use reqwest::dns::Resolve;

    use super::*;

    /// The resolver is what a name goes through whatever it is called: `localhost` stands for
    /// any name that resolves (or is re-pointed) to an off-limits address.
    #[tokio::test]
    async fn the_resolver_hands_out_permitted_addresses_only() {
        let strict = CheckedResolver {
            policy: Arc::new(TargetPolicy::public_only()),
        };
        let err = match strict.resolve("localhost".parse().unwrap()).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e,
        };
        assert!(err.is::<TargetForbidden>());
        let loopback = CheckedResolver {
            policy: Arc::new(TargetPolicy::parse("127.0.0.0/8,::1/128").unwrap()),
        };
        let addrs: Vec<SocketAddr> = loopback
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()));
        // Through the client: the refusal is told apart from an unreachable endpoint.
        let courier = client(TargetPolicy::public_only()).unwrap();
        let e = courier
            .http
            .post("http://localhost:9/hook")
            .send()
            .await
            .unwrap_err();
        assert_eq!(outcome_of(&e), DeliveryOutcome::Forbidden);
        let open = client(TargetPolicy::parse("127.0.0.0/8,::1/128").unwrap()).unwrap();
        let e = open
            .http
            .post("http://localhost:9/hook")
            .send()
            .await
            .unwrap_err();
        assert_eq!(outcome_of(&e), DeliveryOutcome::Unreachable);
        let only_v6 = CheckedResolver {
            policy: Arc::new(TargetPolicy::parse("::1/128").unwrap()),
        };
        if let Ok(addrs) = only_v6.resolve("localhost".parse().unwrap()).await {
            assert!(addrs.into_iter().all(|a| a.ip().is_ipv6()));
        }
    }
}
