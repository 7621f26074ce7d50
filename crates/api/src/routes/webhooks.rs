//! `/api/v1/webhooks` (admins): where Mentorat announces what happens — ids and metadata,
//! never content — signed after the Standard Webhooks scheme.

use actix_web::{HttpResponse, delete, get, http::header, post, web};
use chrono::{DateTime, Utc};
use mentorat_domain::{
    network::TargetPolicy,
    webhook::{self, DeliveryOutcome},
};
use mentorat_persistence::webhooks::{DeliveryState, Webhook};
use mentorat_service::webhooks as use_case;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::{
    auth::{Authorized, op},
    json::ValidJson,
    problem::ApiError,
    unit::RequestDb,
};

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://rh.chu.example/mentorat/events",
    "events": ["pair.activated", "pair.ended", "meeting.cancelled"]
}))]
pub struct NewWebhook {
    /// An `http://` or `https://` address, without credentials or spaces.
    #[validate(length(min = 1, max = 2048))]
    #[schema(min_length = 1, max_length = 2048, pattern = "^https?://")]
    pub url: String,
    /// Event kinds to receive; all of them when empty or absent: `person.deactivated`,
    /// `pair.proposed`, `pair.activated`, `pair.ended`, `pair.suspended`,
    /// `meeting.scheduled`, `meeting.cancelled`, `meeting.rescheduled`, `meeting.upcoming`,
    /// `objective.agreed`, `concern.raised`.
    #[serde(default)]
    #[schema(schema_with = crate::vocabulary::event_kinds)]
    pub events: Vec<String>,
}

/// How a delivery's last attempt went (`webhook::DeliveryOutcome`).
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcomeDto {
    Delivered,
    Rejected,
    TimedOut,
    Unreachable,
    Forbidden,
    Failed,
}

impl From<DeliveryOutcome> for DeliveryOutcomeDto {
    fn from(o: DeliveryOutcome) -> Self {
        match o {
            DeliveryOutcome::Delivered => Self::Delivered,
            DeliveryOutcome::Rejected => Self::Rejected,
            DeliveryOutcome::TimedOut => Self::TimedOut,
            DeliveryOutcome::Unreachable => Self::Unreachable,
            DeliveryOutcome::Forbidden => Self::Forbidden,
            DeliveryOutcome::Failed => Self::Failed,
        }
    }
}

/// A delivery's state.
#[derive(Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: Uuid,
    pub event_id: Uuid,
    #[schema(schema_with = crate::vocabulary::event_kind)]
    pub kind: String,
    pub attempts: i32,
    /// The class of the endpoint's last HTTP status (`200`, `300`, `400`, `500`), if it
    /// answered — never the exact code.
    pub last_status: Option<i16>,
    /// How the last attempt went: `delivered`, `rejected` (an answer other than 2xx;
    /// redirects are not followed), `timed_out`, `unreachable`, `forbidden` (the address, or
    /// every address its name resolves to, is off-limits), `failed`; absent before the first
    /// attempt.
    pub last_outcome: Option<DeliveryOutcomeDto>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub next_attempt_at: DateTime<Utc>,
}

impl From<DeliveryState> for DeliveryDto {
    fn from(d: DeliveryState) -> Self {
        let last_outcome = outcome(&d).map(DeliveryOutcomeDto::from);
        Self {
            id: d.id,
            event_id: d.event_id,
            kind: d.kind,
            attempts: d.attempts,
            last_status: d
                .last_status
                .and_then(|s| u16::try_from(s).ok())
                .and_then(|s| i16::try_from(webhook::status_class(s)).ok()),
            last_outcome,
            delivered_at: d.delivered_at,
            next_attempt_at: d.next_attempt_at,
        }
    }
}

/// What the last attempt came to (rows written before outcomes were recorded: by status).
fn outcome(d: &DeliveryState) -> Option<DeliveryOutcome> {
    if d.delivered_at.is_some() {
        return Some(DeliveryOutcome::Delivered);
    }
    if d.attempts == 0 {
        return None;
    }
    d.last_error
        .as_deref()
        .and_then(DeliveryOutcome::parse)
        .or(Some(if d.last_status.is_some() {
            DeliveryOutcome::Rejected
        } else {
            DeliveryOutcome::Unreachable
        }))
}

/// A registered endpoint (its secret is shown once, when it is created).
#[derive(Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: Uuid,
    pub url: String,
    /// The event kinds it receives.
    #[schema(schema_with = crate::vocabulary::event_kinds)]
    pub events: Vec<String>,
    /// Only in the answer that creates it: verify each request's `webhook-signature` with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The latest deliveries (in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent_deliveries: Option<Vec<DeliveryDto>>,
}

fn dto(w: Webhook, with_secret: bool, recent: Option<Vec<DeliveryState>>) -> WebhookDto {
    WebhookDto {
        id: w.id,
        url: w.url,
        events: w.events,
        secret: with_secret.then_some(w.secret),
        created_by: w.created_by,
        created_at: w.created_at,
        recent_deliveries: recent.map(|r| r.into_iter().map(Into::into).collect()),
    }
}

/// Register an endpoint (admins). Each event is POSTed as `{"type", "timestamp", "data"}`
/// with `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of
/// "{id}.{timestamp}.{body}" under the secret>`; at least once, retried with backoff (30 s
/// doubling, up to 6 h, 12 attempts) until the endpoint answers 2xx; redirects are not
/// followed.
///
/// The address must lead to the public Internet: loopback, link-local, private, shared,
/// multicast, broadcast, unspecified, documentation and other special-use addresses (IPv4 and
/// IPv6, in any numeric spelling, IPv4-mapped included), `localhost` names and addresses
/// carrying control characters are refused with `422 webhook_target_forbidden`, unless the
/// operator allowed the network (`MENTORAT_WEBHOOK_ALLOWED_NETWORKS`). A name is checked again
/// at every delivery, against each address it resolves to; the request goes only to an
/// address that passed.
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    request_body = NewWebhook,
    responses(
        (status = 201, body = WebhookDto),
        (status = 422, description = "Fields break a rule (`validation_failed`), or the address leads to a network webhooks may not reach (`webhook_target_forbidden`)", body = crate::problem::Problem, content_type = "application/problem+json")
    )
)]
#[post("/webhooks")]
pub async fn create_webhook(
    auth: Authorized<op::ManageWebhooks>,
    db: RequestDb,
    policy: web::Data<TargetPolicy>,
    ValidJson(body): ValidJson<NewWebhook>,
) -> Result<HttpResponse, ApiError> {
    let hook = use_case::register(&db, &auth.caller, &policy, &body.url, body.events).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(dto(hook, true, None)))
}

/// The registered endpoints with their latest deliveries (admins).
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    responses((status = 200, body = crate::pagination::Paginated<WebhookDto>))
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    _auth: Authorized<op::ManageWebhooks>,
    db: RequestDb,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let items: Vec<WebhookDto> = use_case::list(&db)
        .await?
        .into_iter()
        .map(|(w, recent)| dto(w, false, Some(recent)))
        .collect();
    Ok(crate::pagination::page_response(&req, items, None))
}

/// Remove an endpoint and its pending deliveries (admins).
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses((status = 204, description = "Removed"))
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(
    auth: Authorized<op::ManageWebhooks>,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    use_case::remove(&db, &auth.caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn outcomes_are_spelled_as_the_domain_spells_them() {
        for o in DeliveryOutcome::ALL {
            assert_eq!(
                serde_json::to_value(DeliveryOutcomeDto::from(o)).unwrap(),
                o.as_str()
            );
        }
    }
}
