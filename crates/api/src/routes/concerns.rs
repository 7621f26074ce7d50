//! Concerns of a pair (R12): a member raises one to the program's coordinators, who read it,
//! acknowledge and resolve it, and answer its author; the author reads what became of their
//! own concerns. The other member never sees them.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use mentorat_domain::concern::{Concern, ConcernFollowUp, ConcernStatus, RESPONSE_MAX_CHARS};
use mentorat_service::concerns as use_case;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::{
    auth::{Authorized, op},
    etag::IfMatch,
    json::ValidJson,
    pagination::{page_params, page_response},
    problem::ApiError,
    routes::enrollments::PageQuery,
    tagged,
    unit::RequestDb,
};

/// Where the coordinators stand with a concern: `open → acknowledged → resolved` (or `open →
/// resolved` at once); `resolved` is final.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConcernStatusDto {
    Open,
    Acknowledged,
    Resolved,
}

impl From<ConcernStatus> for ConcernStatusDto {
    fn from(s: ConcernStatus) -> Self {
        match s {
            ConcernStatus::Open => Self::Open,
            ConcernStatus::Acknowledged => Self::Acknowledged,
            ConcernStatus::Resolved => Self::Resolved,
        }
    }
}

/// A member's concern, for the program's coordinators and its author (R12).
#[derive(Serialize, ToSchema)]
pub struct ConcernDto {
    pub id: Uuid,
    pub pair_id: Uuid,
    pub program_id: Uuid,
    /// The member (person id) who raised it.
    pub author_id: Uuid,
    /// The author's words (empty once erased, R14).
    pub text: String,
    pub status: ConcernStatusDto,
    /// The coordinators' response to the author; `null` until they write one.
    pub response: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Concern> for ConcernDto {
    fn from(c: Concern) -> Self {
        Self {
            id: c.id,
            pair_id: c.pair_id,
            program_id: c.program_id,
            author_id: c.author_id,
            text: c.text,
            status: c.status.into(),
            response: c.response,
            acknowledged_at: c.acknowledged_at,
            resolved_at: c.resolved_at,
            revision: c.revision,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "Nos rendez-vous sont sans cesse annulés ; je souhaite arrêter."}))]
pub struct NewConcern {
    #[validate(length(min = 1, max = 10000))]
    #[schema(
        min_length = 1,
        max_length = 10000,
        pattern = "[^\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub text: String,
}

/// Raise a concern to the program's coordinators (a member, R12): the one path by which a
/// pair's words reach them, by the member's own choice. The coordinators are notified and a
/// `concern.raised` event is written.
#[utoipa::path(
    tag = "concerns",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id")),
    request_body = NewConcern,
    responses((status = 201, body = ConcernDto))
)]
#[post("/pairs/{id}/concerns")]
pub async fn raise_concern(
    auth: Authorized<op::RaiseConcern>,
    db: RequestDb,
    id: web::Path<Uuid>,
    ValidJson(body): ValidJson<NewConcern>,
) -> Result<HttpResponse, ApiError> {
    let c = use_case::raise(&db, &auth.caller, id.into_inner(), Some(body.text)).await?;
    let location = format!("/api/v1/programs/{}/concerns/{}", c.program_id, c.id);
    Ok(tagged::created(location, c.revision, ConcernDto::from(c)))
}

/// The concerns raised in a program (coordinators, admins).
#[utoipa::path(
    tag = "concerns",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id"), PageQuery),
    responses((status = 200, body = crate::pagination::Paginated<ConcernDto>))
)]
#[get("/programs/{id}/concerns")]
pub async fn list_concerns(
    _auth: Authorized<op::ListConcerns>,
    db: RequestDb,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (limit, after) = page_params(query.limit, query.cursor.as_deref())?;
    let page = use_case::list(&db, id.into_inner(), after, limit).await?;
    let items: Vec<ConcernDto> = page.items.into_iter().map(Into::into).collect();
    Ok(page_response(&req, items, page.next))
}

/// The statuses a coordinator moves a concern to (`open` is where it starts).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConcernStepDto {
    Acknowledged,
    Resolved,
}

/// A follow-up: a step (`open → acknowledged → resolved`, or `open → resolved`), a response
/// to the author, or both. A resolved concern is closed.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "acknowledged", "response": "Merci de nous avoir alertés ; nous vous proposons un entretien cette semaine."}))]
pub struct ConcernFollowUpDto {
    pub status: Option<ConcernStepDto>,
    /// To the author (their words stay theirs; this is the coordinators'), 1 to 10,000
    /// characters. It replaces any earlier response.
    #[validate(length(min = 1, max = 10000))]
    #[schema(
        min_length = 1,
        max_length = 10000,
        pattern = "[^\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub response: Option<String>,
}

const _: () = assert!(RESPONSE_MAX_CHARS == 10_000);

/// One concern of a program (coordinators, admins), with its follow-up. The read is in the
/// audit log.
#[utoipa::path(
    tag = "concerns",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Program id"),
        ("concern_id" = Uuid, Path, description = "Concern id"),
    ),
    responses(
        (status = 200, body = ConcernDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the `If-None-Match` tag"),
    )
)]
#[get("/programs/{id}/concerns/{concern_id}")]
pub async fn get_concern(
    _auth: Authorized<op::ReadConcern>,
    db: RequestDb,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (program_id, concern_id) = path.into_inner();
    let c = use_case::get(&db, program_id, concern_id).await?;
    tagged::read_content(&req, c.revision, &ConcernDto::from(c))
}

/// Follow a concern up (coordinators, admins): acknowledge it, resolve it, answer its author.
/// The author is notified of each status reached (`concern.acknowledged`,
/// `concern.resolved`) and integrations get the same events, ids only. Any other step is
/// `409 illegal_status_transition`. Send `If-Match` to refuse a concurrent follow-up (`412`,
/// judged after the change's own rules).
#[utoipa::path(
    tag = "concerns",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Program id"),
        ("concern_id" = Uuid, Path, description = "Concern id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on"),
    ),
    request_body = ConcernFollowUpDto,
    responses((status = 200, body = ConcernDto, headers(("ETag" = String))))
)]
#[patch("/programs/{id}/concerns/{concern_id}")]
pub async fn update_concern(
    auth: Authorized<op::UpdateConcern>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    ValidJson(body): ValidJson<ConcernFollowUpDto>,
) -> Result<HttpResponse, ApiError> {
    let (program_id, concern_id) = path.into_inner();
    let change = ConcernFollowUp {
        status: body.status.map(|s| match s {
            ConcernStepDto::Acknowledged => ConcernStatus::Acknowledged,
            ConcernStepDto::Resolved => ConcernStatus::Resolved,
        }),
        response: body.response,
    };
    let c = use_case::follow_up(
        &db,
        &auth.caller,
        program_id,
        concern_id,
        if_match.expected_revision(),
        change,
    )
    .await?;
    tagged::content(
        actix_web::http::StatusCode::OK,
        c.revision,
        &ConcernDto::from(c),
    )
}

/// The concerns the caller raised in this pair (a member), with their status and the
/// coordinators' response. Only the caller's own: the other member never sees them.
#[utoipa::path(
    tag = "concerns",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id"), PageQuery),
    responses((status = 200, body = crate::pagination::Paginated<ConcernDto>))
)]
#[get("/pairs/{id}/concerns")]
pub async fn list_own_concerns(
    auth: Authorized<op::ListOwnConcerns>,
    db: RequestDb,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (limit, after) = page_params(query.limit, query.cursor.as_deref())?;
    let page = use_case::list_own(&db, &auth.caller, id.into_inner(), after, limit).await?;
    let items: Vec<ConcernDto> = page.items.into_iter().map(Into::into).collect();
    Ok(page_response(&req, items, page.next))
}
