//! `GET /api/v1/audit-events` (admins): the audit log, newest first.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use mentorat_domain::audit::{AuditEvent, AuditFilter};
use mentorat_service::audit as use_case;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{Authorized, op},
    pagination::{page_params, page_response},
    problem::ApiError,
    unit::RequestDb,
};

/// Who did what, to which resource, when, and how it ended — never any content.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventDto {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// The caller's subject (external id).
    pub actor: String,
    /// The caller's roles.
    #[schema(schema_with = crate::vocabulary::roles)]
    pub roles: Vec<String>,
    /// The operation: `read_objective`, `propose_pair`, …
    pub action: String,
    pub method: String,
    /// The route pattern.
    #[schema(example = "/api/v1/pairs/{id}/objectives/{objective_id}")]
    pub route: String,
    pub resource_id: Option<Uuid>,
    pub pair_id: Option<Uuid>,
    pub status: i16,
    /// `allowed`, `denied` (401, 403, 404), `refused` (another 4xx) or `failed` (5xx).
    #[schema(value_type = AuditOutcomeDto)]
    pub outcome: String,
    pub request_id: Option<String>,
}

impl From<AuditEvent> for AuditEventDto {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor: e.actor,
            roles: e
                .roles
                .split(',')
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
            action: e.action,
            method: e.method,
            route: e.route,
            resource_id: e.resource_id,
            pair_id: e.pair_id,
            status: e.status,
            outcome: e.outcome,
            request_id: e.request_id,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
    /// Only this caller's events (a subject).
    pub actor: Option<String>,
    pub resource_id: Option<Uuid>,
    pub pair_id: Option<Uuid>,
    pub outcome: Option<AuditOutcomeDto>,
}

/// How a request went, as the audit log records it (`crate::audit::outcome`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcomeDto {
    /// 2xx or 3xx.
    Allowed,
    /// 401, 403 or 404.
    Denied,
    /// Another 4xx.
    Refused,
    /// 5xx.
    Failed,
}

impl AuditOutcomeDto {
    pub const ALL: [AuditOutcomeDto; 4] =
        [Self::Allowed, Self::Denied, Self::Refused, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

/// The audit log, newest first (admins): every read or write of a pair's content, every
/// action of a coordinator or admin, every denied access. Append-only.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, body = crate::pagination::Paginated<AuditEventDto>))
)]
#[get("/audit-events")]
pub async fn list_audit_events(
    _auth: Authorized<op::ListAuditEvents>,
    db: RequestDb,
    log: web::Data<crate::audit::AuditLog>,
    req: HttpRequest,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    // What this replica has answered is in the log before it is read.
    log.flush().await;
    let query = query.into_inner();
    let (limit, before) = page_params(query.limit, query.cursor.as_deref())?;
    let filter = AuditFilter {
        actor: query.actor,
        resource_id: query.resource_id,
        pair_id: query.pair_id,
        outcome: query.outcome.map(|o| o.as_str().to_owned()),
    };
    let page = use_case::list(&db, &filter, before, limit).await?;
    let items: Vec<AuditEventDto> = page.items.into_iter().map(Into::into).collect();
    Ok(page_response(&req, items, page.next))
}
