//! `/api/v1/webhooks` (admins): where Mentorat announces what happens — ids and metadata,
//! never content — signed after the Standard Webhooks scheme.

use actix_web::{HttpRequest, HttpResponse, delete, get, http::header, patch, post, web};
use chrono::{DateTime, Utc};
use mentorat_domain::{
    network::TargetPolicy,
    webhook::{self, DeliveryOutcome, DeliveryStatus},
};
use mentorat_persistence::webhooks::{DeliveryState, Webhook};
use mentorat_service::webhooks as use_case;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::{
    auth::{Authorized, op},
    json::ValidJson,
    pagination::{page_params, page_response},
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

/// Where a delivery stands (`webhook::DeliveryStatus`).
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatusDto {
    /// To be attempted (again) at `next_attempt_at`.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Kept failing for the whole window (3 days by default): no more attempts unless
    /// retried.
    Failed,
}

impl From<DeliveryStatus> for DeliveryStatusDto {
    fn from(s: DeliveryStatus) -> Self {
        match s {
            DeliveryStatus::Pending => Self::Pending,
            DeliveryStatus::Delivered => Self::Delivered,
            DeliveryStatus::Failed => Self::Failed,
        }
    }
}

/// A delivery's state.
#[derive(Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: Uuid,
    pub event_id: Uuid,
    /// The event's kind.
    #[schema(schema_with = crate::vocabulary::event_kind)]
    pub kind: String,
    pub status: DeliveryStatusDto,
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
    /// When it was given up (`failed`).
    pub failed_at: Option<DateTime<Utc>>,
    /// When it is attempted next (while `pending`; a paused endpoint's deliveries wait).
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl From<DeliveryState> for DeliveryDto {
    fn from(d: DeliveryState) -> Self {
        let last_outcome = outcome(&d).map(DeliveryOutcomeDto::from);
        Self {
            id: d.id,
            event_id: d.event_id,
            kind: d.kind,
            status: DeliveryStatus::of(d.delivered_at.is_some(), d.failed_at.is_some()).into(),
            attempts: d.attempts,
            last_status: d
                .last_status
                .and_then(|s| u16::try_from(s).ok())
                .and_then(|s| i16::try_from(webhook::status_class(s)).ok()),
            last_outcome,
            delivered_at: d.delivered_at,
            failed_at: d.failed_at,
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
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
    /// Only in the answers that create it or rotate its secret: verify each request's
    /// `webhook-signature` with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// `false` while paused by an admin or after the service disabled it for failing
    /// everything for 5 days (`disabled_at`); its deliveries then wait, and what happens
    /// meanwhile is not queued for it.
    pub enabled: bool,
    /// When the service disabled it for failing everything (the admins were notified,
    /// `webhook.disabled`); `null` otherwise.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Since when every attempt has failed; `null` while it answers.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the secret rotated out last keeps signing beside the current one;
    /// `null` when there is none (or it has expired).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
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
        enabled: w.enabled,
        disabled_at: w.disabled_at,
        failing_since: w.failing_since,
        previous_secret_expires_at: w
            .previous_secret
            .map(|(_, until)| until)
            .filter(|until| *until > Utc::now()),
        recent_deliveries: recent.map(|r| r.into_iter().map(Into::into).collect()),
    }
}

/// Register an endpoint (admins). Each event is POSTed as `{"type", "timestamp", "data"}`
/// with `User-Agent: Mentorat/<version>`, `webhook-id`, `webhook-timestamp` and
/// `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" under the secret>`
/// (after a rotation, one such signature per secret, space-separated); at least once, retried
/// with a jittered backoff (30 s doubling, up to 6 h) until the endpoint answers 2xx, for 3
/// days (then the delivery is `failed`); an endpoint failing everything for 5 days is disabled
/// and the admins are notified. Redirects are not followed.
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

/// One endpoint (admins), without its secret.
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookDto))
)]
#[get("/webhooks/{id}")]
pub async fn get_webhook(
    _auth: Authorized<op::ManageWebhooks>,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let hook = use_case::get(&db, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(dto(hook, false, None)))
}

/// A change to an endpoint: only the fields present change.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": false}))]
pub struct UpdateWebhook {
    /// A new address, judged as at registration (`webhook_target_forbidden`).
    #[validate(length(min = 1, max = 2048))]
    #[schema(min_length = 1, max_length = 2048, pattern = "^https?://")]
    pub url: Option<String>,
    /// The event kinds to receive from now on; all of them when empty.
    #[schema(schema_with = crate::vocabulary::event_kinds, required = false)]
    pub events: Option<Vec<String>>,
    /// `false` pauses the endpoint; `true` enables it again (also after the service disabled
    /// it), with its failures forgotten.
    pub enabled: Option<bool>,
}

/// Change an endpoint (admins): its address (judged by the same rules as at registration),
/// its events, or whether it is enabled. Pausing it keeps its pending deliveries for when it
/// is enabled again; events that happen while it is paused are not queued for it.
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Webhook id")),
    request_body = UpdateWebhook,
    responses(
        (status = 200, body = WebhookDto),
        (status = 422, description = "Fields break a rule (`validation_failed`), or the new address leads to a network webhooks may not reach (`webhook_target_forbidden`)", body = crate::problem::Problem, content_type = "application/problem+json")
    )
)]
#[patch("/webhooks/{id}")]
pub async fn update_webhook(
    auth: Authorized<op::ManageWebhooks>,
    db: RequestDb,
    policy: web::Data<TargetPolicy>,
    id: web::Path<Uuid>,
    ValidJson(body): ValidJson<UpdateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let change = use_case::Change {
        url: body.url,
        events: body.events,
        enabled: body.enabled,
    };
    let hook = use_case::update(&db, &auth.caller, &policy, id.into_inner(), change).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(dto(hook, false, None)))
}

/// Rotate the signing secret (admins): the answer carries the new secret, shown this once.
/// For 24 hours (`previous_secret_expires_at`) every request carries two signatures in
/// `webhook-signature`, space-separated — `v1,<under the new secret> v1,<under the old>` —
/// so a receiver can switch secrets without losing a message; then the new one alone.
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookDto))
)]
#[post("/webhooks/{id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    auth: Authorized<op::ManageWebhooks>,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let hook = use_case::rotate_secret(&db, &auth.caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(dto(hook, true, None)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
}

/// An endpoint's deliveries, newest first (admins): one per event it subscribed to, with its
/// status (`pending`, `delivered`, `failed`), attempts, the class of the last answer and the
/// next attempt.
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Webhook id"), DeliveriesQuery),
    responses((status = 200, body = crate::pagination::Paginated<DeliveryDto>))
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_webhook_deliveries(
    _auth: Authorized<op::ManageWebhooks>,
    db: RequestDb,
    id: web::Path<Uuid>,
    req: HttpRequest,
    query: web::Query<DeliveriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, before) = page_params(query.limit, query.cursor.as_deref())?;
    let page = use_case::deliveries(&db, id.into_inner(), before, limit).await?;
    let items: Vec<DeliveryDto> = page.items.into_iter().map(Into::into).collect();
    Ok(page_response(&req, items, page.next))
}

/// Attempt a delivery again now (admins), whatever its status: a `failed` one gets a new
/// 3-day window, a `delivered` one is sent again (same `webhook-id`: receivers deduplicate).
/// The delivery loop sends it within seconds (not before its endpoint is enabled).
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Webhook id"),
        ("delivery_id" = Uuid, Path, description = "Delivery id"),
    ),
    responses((status = 202, body = DeliveryDto, description = "Due now"))
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/retry")]
pub async fn retry_webhook_delivery(
    auth: Authorized<op::ManageWebhooks>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery_id) = path.into_inner();
    let delivery = use_case::retry(&db, &auth.caller, id, delivery_id).await?;
    Ok(HttpResponse::Accepted().json(DeliveryDto::from(delivery)))
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
        for st in DeliveryStatus::ALL {
            assert_eq!(
                serde_json::to_value(DeliveryStatusDto::from(st)).unwrap(),
                st.as_str()
            );
        }
    }
}
