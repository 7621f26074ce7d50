//! Requests by mentees (issue 17): `/programs/{id}/enrollments/{enrollment_id}/requests` and
//! `/programs/{id}/requests/{request_id}` (`accept`, `decline`, `withdraw`).

use actix_web::{HttpRequest, HttpResponse, get, http::header, post, web};
use chrono::{DateTime, Utc};
use mentorat_domain::request::{MESSAGE_MAX_CHARS, RequestAction, RequestStatus};
use mentorat_service::requests::{self as use_case, SeenRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::{
    auth::{Authorized, op},
    json::ValidJson,
    pagination::{page_params, page_response},
    problem::ApiError,
    routes::enrollments::PageQuery,
    unit::RequestDb,
};

/// Where a request stands: `pending → accepted | declined | withdrawn | void` (`void`: another
/// request of the mentee was accepted, or one of the two left the program).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatusDto {
    Pending,
    Accepted,
    Declined,
    Withdrawn,
    Void,
}

impl From<RequestStatus> for RequestStatusDto {
    fn from(s: RequestStatus) -> Self {
        match s {
            RequestStatus::Pending => Self::Pending,
            RequestStatus::Accepted => Self::Accepted,
            RequestStatus::Declined => Self::Declined,
            RequestStatus::Withdrawn => Self::Withdrawn,
            RequestStatus::Void => Self::Void,
        }
    }
}

/// A mentee's request to a mentor. `message` is the mentee's words: present for the mentee
/// and the mentor only (absent for coordinators and admins, and when none was written).
#[derive(Debug, Serialize, ToSchema)]
pub struct MenteeRequestDto {
    pub id: Uuid,
    pub program_id: Uuid,
    pub mentee_enrollment_id: Uuid,
    pub mentor_enrollment_id: Uuid,
    pub status: RequestStatusDto,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Whether the request carries a message (for everyone, coordinators included).
    pub has_message: bool,
    /// The pair proposed when the mentor accepted.
    pub pair_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<SeenRequest> for MenteeRequestDto {
    fn from(s: SeenRequest) -> Self {
        let has_message = s.has_message;
        let r = s.request;
        Self {
            id: r.id,
            program_id: r.program_id,
            mentee_enrollment_id: r.mentee_enrollment_id,
            mentor_enrollment_id: r.mentor_enrollment_id,
            status: r.status.into(),
            has_message,
            message: r.message.map(|m| m.into_inner()),
            pair_id: r.pair_id,
            created_at: r.created_at,
            decided_at: r.decided_at,
        }
    }
}

/// A new request.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"mentor_enrollment_id": "0193f7a2-6c1e-7cc1-9d0e-3b2f1a4c5d6e",
    "message": "Bonjour, j'aimerais travailler la prise de parole en réunion."}))]
pub struct NewMenteeRequest {
    /// One of the mentee's eligible mentors (R1, R10, active, never paired with them).
    pub mentor_enrollment_id: Uuid,
    /// The mentee's words to the mentor (up to 2,000 characters): sealed at rest, read by
    /// the mentor and the mentee only.
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub message: Option<String>,
}

const _: () = assert!(MESSAGE_MAX_CHARS == 2000);

/// Ask a mentor (that mentee only), when the program's `matching_mode` is `self` or `both`.
/// The mentor must be among the mentee's eligible mentors — the hard rules of a proposal:
/// R1 at any depth, R10 (a place left), active people, roles, no pair of the two that exists
/// or existed; at most 3 pending requests per mentee, one per mentor. Both are notified
/// (`request.sent`).
#[utoipa::path(
    tag = "pairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id"),
        ("enrollment_id" = Uuid, Path, description = "The mentee's enrollment")),
    request_body = NewMenteeRequest,
    responses((status = 201, body = MenteeRequestDto, headers(("Location" = String))))
)]
#[post("/programs/{id}/enrollments/{enrollment_id}/requests")]
pub async fn send_request(
    auth: Authorized<op::RequestMentor>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
    ValidJson(body): ValidJson<NewMenteeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (program_id, enrollment_id) = path.into_inner();
    let created = use_case::create(
        &db,
        &auth.caller,
        auth.scope,
        program_id,
        enrollment_id,
        body.mentor_enrollment_id,
        body.message,
    )
    .await?;
    let location = format!("/api/v1/programs/{program_id}/requests/{}", created.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(MenteeRequestDto::from(SeenRequest::party(created))))
}

/// The requests an enrollment sent (a mentee's) or received (a mentor's), oldest first: for
/// that person with their messages; coordinators and admins see them without.
#[utoipa::path(
    tag = "pairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id"),
        ("enrollment_id" = Uuid, Path, description = "Enrollment id"), PageQuery),
    responses((status = 200, body = crate::pagination::Paginated<MenteeRequestDto>))
)]
#[get("/programs/{id}/enrollments/{enrollment_id}/requests")]
pub async fn list_requests(
    auth: Authorized<op::ListRequests>,
    db: RequestDb,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (program_id, enrollment_id) = path.into_inner();
    let query = query.into_inner();
    let (limit, after) = page_params(query.limit, query.cursor.as_deref())?;
    let page = use_case::list(
        &db,
        &auth.caller,
        auth.scope,
        program_id,
        enrollment_id,
        after,
        limit,
    )
    .await?;
    let items: Vec<MenteeRequestDto> = page.items.into_iter().map(Into::into).collect();
    Ok(page_response(&req, items, page.next))
}

/// One request: its mentee and mentor read it whole; coordinators and admins without the
/// message.
#[utoipa::path(
    tag = "pairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id"),
        ("request_id" = Uuid, Path, description = "Request id")),
    responses((status = 200, body = MenteeRequestDto))
)]
#[get("/programs/{id}/requests/{request_id}")]
pub async fn get_request(
    auth: Authorized<op::ReadRequest>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (program_id, id) = path.into_inner();
    let seen = use_case::get(&db, &auth.caller, auth.scope, program_id, id).await?;
    Ok(HttpResponse::Ok().json(MenteeRequestDto::from(seen)))
}

async fn decide(
    caller: &mentorat_domain::Caller,
    scope: mentorat_domain::Scope,
    db: &RequestDb,
    path: web::Path<(Uuid, Uuid)>,
    action: RequestAction,
) -> Result<HttpResponse, ApiError> {
    let (program_id, id) = path.into_inner();
    let seen = use_case::decide(db, caller, scope, program_id, id, action).await?;
    Ok(HttpResponse::Ok().json(MenteeRequestDto::from(seen)))
}

/// Accept a request (that mentor): the pair is **proposed**, every rule of a proposal checked
/// again in one unit of work (R1, R10, active people, an open pair); it becomes active when
/// both members accept it and hold the charter (R3, `POST /pairs/{id}/accept`). The mentee's
/// other pending requests become `void`.
#[utoipa::path(
    tag = "pairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id"),
        ("request_id" = Uuid, Path, description = "Request id")),
    responses((status = 200, body = MenteeRequestDto))
)]
#[post("/programs/{id}/requests/{request_id}/accept")]
pub async fn accept_request(
    auth: Authorized<op::AnswerRequest>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    decide(&auth.caller, auth.scope, &db, path, RequestAction::Accept).await
}

/// Decline a request (that mentor).
#[utoipa::path(
    tag = "pairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id"),
        ("request_id" = Uuid, Path, description = "Request id")),
    responses((status = 200, body = MenteeRequestDto))
)]
#[post("/programs/{id}/requests/{request_id}/decline")]
pub async fn decline_request(
    auth: Authorized<op::AnswerRequest>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    decide(&auth.caller, auth.scope, &db, path, RequestAction::Decline).await
}

/// Withdraw a request (that mentee).
#[utoipa::path(
    tag = "pairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id"),
        ("request_id" = Uuid, Path, description = "Request id")),
    responses((status = 200, body = MenteeRequestDto))
)]
#[post("/programs/{id}/requests/{request_id}/withdraw")]
pub async fn withdraw_request(
    auth: Authorized<op::WithdrawRequest>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    decide(&auth.caller, auth.scope, &db, path, RequestAction::Withdraw).await
}
