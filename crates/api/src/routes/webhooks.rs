//! `/api/v1/webhooks` (admins): where Mentorat announces what happens — ids and metadata,
//! never content — signed after the Standard Webhooks scheme.

use actix_web::{HttpResponse, delete, get, http::header, post, web};
use chrono::{DateTime, Utc};
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
    #[validate(length(min = 1, max = 2048))]
    #[schema(min_length = 1, max_length = 2048)]
    pub url: String,
    /// Event kinds to receive; all of them when empty or absent: `person.deactivated`,
    /// `pair.proposed`, `pair.activated`, `pair.ended`, `pair.suspended`,
    /// `meeting.scheduled`, `meeting.cancelled`, `meeting.rescheduled`, `objective.agreed`,
    /// `concern.raised`.
    #[serde(default)]
    pub events: Vec<String>,
}

/// A delivery's state.
#[derive(Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: Uuid,
    pub event_id: Uuid,
    #[schema(example = "pair.activated")]
    pub kind: String,
    pub attempts: i32,
    /// The endpoint's last HTTP status, if it answered.
    pub last_status: Option<i16>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub next_attempt_at: DateTime<Utc>,
}

impl From<DeliveryState> for DeliveryDto {
    fn from(d: DeliveryState) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            kind: d.kind,
            attempts: d.attempts,
            last_status: d.last_status,
            delivered_at: d.delivered_at,
            next_attempt_at: d.next_attempt_at,
        }
    }
}

/// A registered endpoint (its secret is shown once, when it is created).
#[derive(Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: Uuid,
    pub url: String,
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
/// doubling, up to 6 h, 12 attempts) until the endpoint answers 2xx.
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    request_body = NewWebhook,
    responses((status = 201, body = WebhookDto))
)]
#[post("/webhooks")]
pub async fn create_webhook(
    auth: Authorized<op::ManageWebhooks>,
    db: RequestDb,
    ValidJson(body): ValidJson<NewWebhook>,
) -> Result<HttpResponse, ApiError> {
    let hook = use_case::register(&db, &auth.caller, &body.url, body.events).await?;
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
