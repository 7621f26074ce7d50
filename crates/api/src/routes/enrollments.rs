//! A program's charter versions and enrollments (R3): coordinators write the charter and
//! enroll people; each enrolled person accepts the current charter themself.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use mentorat_domain::enrollment::{
    CharterStatus, CharterVersion, Enrollment, EnrollmentChanges, EnrollmentDraft, EnrollmentRole,
};
use mentorat_service::enrollments as use_case;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::{
    auth::{Authorized, op},
    etag::IfMatch,
    json::ValidJson,
    pagination::{page_params, page_response},
    problem::ApiError,
    tagged,
    unit::RequestDb,
};

/// A version of a program's charter of good practice and ethics (Markdown).
#[derive(Debug, Serialize, ToSchema)]
pub struct CharterVersionDto {
    pub program_id: Uuid,
    /// 1, 2, …; the highest is current.
    pub version: i32,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

impl From<CharterVersion> for CharterVersionDto {
    fn from(c: CharterVersion) -> Self {
        Self {
            program_id: c.program_id,
            version: c.version,
            text: c.text,
            created_at: c.created_at,
        }
    }
}

/// A new charter version; it becomes current, and every enrolled person must accept it again (R3).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "# Charte du mentorat\n\nConfidentialité, bienveillance, …"}))]
pub struct NewCharterVersion {
    /// Markdown, up to 100 KiB.
    #[validate(length(min = 1, max = 102400))]
    #[schema(
        min_length = 1,
        max_length = 102400,
        pattern = "[^\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub text: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RoleDto {
    Mentor,
    Mentee,
}

impl From<EnrollmentRole> for RoleDto {
    fn from(r: EnrollmentRole) -> Self {
        match r {
            EnrollmentRole::Mentor => Self::Mentor,
            EnrollmentRole::Mentee => Self::Mentee,
        }
    }
}

impl From<RoleDto> for EnrollmentRole {
    fn from(r: RoleDto) -> Self {
        match r {
            RoleDto::Mentor => Self::Mentor,
            RoleDto::Mentee => Self::Mentee,
        }
    }
}

/// Where the enrolled person stands with the charter (R3).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CharterStatusDto {
    /// The program has no charter yet.
    NoCharter,
    /// The current version is accepted.
    Accepted,
    /// The current version is not accepted yet: the person's pairs cannot schedule meetings.
    CharterPending,
}

impl From<CharterStatus> for CharterStatusDto {
    fn from(s: CharterStatus) -> Self {
        match s {
            CharterStatus::NoCharter => Self::NoCharter,
            CharterStatus::Accepted => Self::Accepted,
            CharterStatus::Pending => Self::CharterPending,
        }
    }
}

/// Whether the person still takes part: a `withdrawn` enrollment takes no pairs and no
/// changes (the person may be enrolled again).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentStatusDto {
    Active,
    Withdrawn,
}

/// A person's enrollment in a program.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentDto {
    pub id: Uuid,
    pub program_id: Uuid,
    pub person_id: Uuid,
    pub role: RoleDto,
    /// Mentors: the most active or proposed pairs (R10); `null` means the program's default.
    pub capacity: Option<i32>,
    pub topics: Vec<String>,
    pub languages: Vec<String>,
    /// Mentees: what they hope to gain.
    pub goals: Option<String>,
    pub charter_status: CharterStatusDto,
    pub accepted_charter_version: Option<i32>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status: EnrollmentStatusDto,
    /// When the person left the program (`POST …/withdraw`).
    pub withdrawn_at: Option<DateTime<Utc>>,
}

pub(crate) fn dto(e: Enrollment, current: Option<i32>) -> EnrollmentDto {
    EnrollmentDto {
        id: e.id,
        program_id: e.program_id,
        person_id: e.person_id,
        role: e.terms.role.into(),
        capacity: e.terms.capacity,
        topics: e.terms.topics,
        languages: e.terms.languages,
        goals: e.terms.goals,
        charter_status: CharterStatus::of(e.accepted_charter_version, current).into(),
        accepted_charter_version: e.accepted_charter_version,
        accepted_at: e.accepted_at,
        revision: e.revision,
        created_at: e.created_at,
        updated_at: e.updated_at,
        status: if e.withdrawn_at.is_some() {
            EnrollmentStatusDto::Withdrawn
        } else {
            EnrollmentStatusDto::Active
        },
        withdrawn_at: e.withdrawn_at,
    }
}

/// Enroll a person as mentor or mentee.
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewEnrollment {
    pub person_id: Uuid,
    pub role: RoleDto,
    /// Mentors only, 1 to 50.
    #[validate(range(min = 1, max = 50))]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub capacity: Option<i32>,
    /// Up to 20, each 1 to 100 characters.
    #[serde(default)]
    #[validate(length(max = 20))]
    pub topics: Vec<String>,
    /// Up to 10 (e.g. `fr`, `en`).
    #[serde(default)]
    #[validate(length(max = 10))]
    pub languages: Vec<String>,
    /// Mentees only, up to 2,000 characters.
    #[validate(length(max = 2000))]
    pub goals: Option<String>,
}

/// The body's rules depend on its `role` (`EnrollmentDraft::validate`): a mentor has a
/// capacity and no goals, a mentee goals and no capacity; one object schema per role.
impl utoipa::PartialSchema for NewEnrollment {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use mentorat_domain::enrollment::bounds;
        // Each label is trimmed, then 1 to N characters; duplicates (any case) count once.
        let labels = |max_items: usize, max_chars: usize, what: &str| {
            json!({
                "type": "array",
                "maxItems": max_items,
                "description": what,
                "items": {"type": "string", "minLength": 1, "maxLength": max_chars, "pattern": crate::vocabulary::NOT_BLANK},
            })
        };
        let variant = |role: &str| {
            let (capacity, goals) = if role == "mentor" {
                (
                    json!({"type": ["integer", "null"], "minimum": bounds::CAPACITY.0, "maximum": bounds::CAPACITY.1,
                        "description": "How many pairs at once (default: the program's)"}),
                    json!({"type": ["string", "null"], "pattern": "^\\s*$", "maxLength": bounds::GOALS_MAX_CHARS,
                        "description": "Goals are a mentee's: none (a mentor offers topics)"}),
                )
            } else {
                (
                    json!({"type": "null", "description": "Only mentors have a capacity"}),
                    json!({"type": ["string", "null"], "maxLength": bounds::GOALS_MAX_CHARS,
                        "description": "What the mentee hopes to work on"}),
                )
            };
            json!({
                "title": role,
                "type": "object",
                "additionalProperties": false,
                "required": ["person_id", "role"],
                "properties": {
                    "person_id": {"type": "string", "format": "uuid"},
                    "role": {"type": "string", "enum": [role]},
                    "capacity": capacity,
                    "topics": labels(bounds::TOPICS_MAX, bounds::TOPIC_MAX_CHARS, "Up to 20, each 1 to 100 characters"),
                    "languages": labels(bounds::LANGUAGES_MAX, bounds::LANGUAGE_MAX_CHARS, "Up to 10 (e.g. `fr`, `en`)"),
                    "goals": goals,
                },
            })
        };
        crate::vocabulary::from_json(json!({
            "description": "Enroll a person as mentor or mentee",
            "oneOf": [variant("mentor"), variant("mentee")],
            "example": {"person_id": "0193a5c2-7e1f-7c3a-9b2d-4e5f6a7b8c9d", "role": "mentor",
                "capacity": 3, "topics": ["management", "éthique du soin"], "languages": ["fr", "en"]},
        }))
    }
}

impl utoipa::ToSchema for NewEnrollment {}

/// The charter version being accepted: it must be the current one.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"version": 1}))]
pub struct CharterAcceptance {
    #[validate(range(min = 1))]
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "crate::json::required_whole_number")]
    pub version: i32,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
}

/// Add a charter version (coordinator, admin): version n+1 becomes current.
#[utoipa::path(
    tag = "charters",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id")),
    request_body = NewCharterVersion,
    responses((status = 201, body = CharterVersionDto))
)]
#[post("/programs/{id}/charter-versions")]
pub async fn add_charter_version(
    auth: Authorized<op::AddCharterVersion>,
    db: RequestDb,
    id: web::Path<Uuid>,
    ValidJson(body): ValidJson<NewCharterVersion>,
) -> Result<HttpResponse, ApiError> {
    let version =
        use_case::add_charter_version(&db, &auth.caller, id.into_inner(), body.text).await?;
    Ok(HttpResponse::Created().json(CharterVersionDto::from(version)))
}

/// The current charter (coordinators, admins; participants of the program). 404 when the
/// program has none yet.
#[utoipa::path(
    tag = "charters",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id")),
    responses((status = 200, body = CharterVersionDto))
)]
#[get("/programs/{id}/charter-versions/current")]
pub async fn current_charter(
    auth: Authorized<op::ReadCurrentCharter>,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let version = use_case::current_charter(&db, &auth.caller, auth.scope, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(CharterVersionDto::from(version)))
}

/// Enroll an active person (coordinator, admin), once per program.
#[utoipa::path(
    tag = "enrollments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id")),
    request_body = NewEnrollment,
    responses((status = 201, body = EnrollmentDto, headers(("Location" = String), ("ETag" = String))))
)]
#[post("/programs/{id}/enrollments")]
pub async fn enroll(
    auth: Authorized<op::Enroll>,
    db: RequestDb,
    id: web::Path<Uuid>,
    ValidJson(body): ValidJson<NewEnrollment>,
) -> Result<HttpResponse, ApiError> {
    let program_id = id.into_inner();
    let draft = EnrollmentDraft {
        role: Some(body.role.into()),
        capacity: body.capacity,
        topics: body.topics,
        languages: body.languages,
        goals: body.goals,
    };
    let enrollment = use_case::enroll(&db, &auth.caller, program_id, body.person_id, draft).await?;
    let current = use_case::current_charter_version(&db, program_id).await?;
    let location = format!(
        "/api/v1/programs/{program_id}/enrollments/{}",
        enrollment.id
    );
    let revision = enrollment.revision;
    Ok(tagged::created(
        location,
        revision,
        dto(enrollment, current),
    ))
}

/// A program's enrollments (coordinators, admins: all; a participant: their own).
#[utoipa::path(
    tag = "enrollments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id"), PageQuery),
    responses((status = 200, body = crate::pagination::Paginated<EnrollmentDto>))
)]
#[get("/programs/{id}/enrollments")]
pub async fn list_enrollments(
    auth: Authorized<op::ListEnrollments>,
    db: RequestDb,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let program_id = id.into_inner();
    let (limit, after) = page_params(query.limit, query.cursor.as_deref())?;
    let page = use_case::list(&db, &auth.caller, auth.scope, program_id, after, limit).await?;
    let current = use_case::current_charter_version(&db, program_id).await?;
    let items: Vec<EnrollmentDto> = page.items.into_iter().map(|e| dto(e, current)).collect();
    Ok(page_response(&req, items, page.next))
}

/// One enrollment (coordinators, admins; the enrolled person).
#[utoipa::path(
    tag = "enrollments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id"), ("enrollment_id" = Uuid, Path, description = "Enrollment id")),
    responses(
        (status = 200, body = EnrollmentDto, headers(("ETag" = String, description = "Changes whenever the answer does (the charter standing included)"))),
        (status = 304, description = "Unchanged since the `If-None-Match` tag"),
    )
)]
#[get("/programs/{id}/enrollments/{enrollment_id}")]
pub async fn get_enrollment(
    auth: Authorized<op::ReadEnrollment>,
    db: RequestDb,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (program_id, enrollment_id) = path.into_inner();
    let enrollment =
        use_case::get(&db, &auth.caller, auth.scope, program_id, enrollment_id).await?;
    let current = use_case::current_charter_version(&db, program_id).await?;
    let revision = enrollment.revision;
    tagged::read_content(&req, revision, &dto(enrollment, current))
}

/// Accept the program's current charter (the enrolled person only; for anyone else the
/// enrollment does not exist). `409 charter_version_outdated` for any other version.
#[utoipa::path(
    tag = "enrollments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id"), ("enrollment_id" = Uuid, Path, description = "Enrollment id")),
    request_body = CharterAcceptance,
    responses((status = 200, body = EnrollmentDto))
)]
#[post("/programs/{id}/enrollments/{enrollment_id}/charter-acceptance")]
pub async fn accept_charter(
    auth: Authorized<op::AcceptCharter>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
    ValidJson(body): ValidJson<CharterAcceptance>,
) -> Result<HttpResponse, ApiError> {
    let (program_id, enrollment_id) = path.into_inner();
    let enrollment =
        use_case::accept_charter(&db, &auth.caller, program_id, enrollment_id, body.version)
            .await?;
    let current = use_case::current_charter_version(&db, program_id).await?;
    Ok(tagged::ok(enrollment.revision, dto(enrollment, current)))
}

/// A change of an enrollment: only the fields present change. `capacity` (mentors, 1 to 50)
/// is the coordinators'; `topics`, `languages` and `goals` (mentees; `null` clears) are also
/// the enrolled person's. The role never changes: withdraw and enroll again.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"capacity": 3, "topics": ["management", "qualité des soins"]}))]
pub struct UpdateEnrollment {
    /// Mentors only, 1 to 50; never below the mentor's active and proposed pairs
    /// (`409 capacity_below_open_pairs`).
    #[validate(range(min = 1, max = 50))]
    #[schema(minimum = 1, maximum = 50)]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub capacity: Option<i32>,
    /// Up to 20, each 1 to 100 characters; replaces the list.
    #[validate(length(max = 20))]
    #[schema(max_items = 20)]
    pub topics: Option<Vec<String>>,
    /// Up to 10 (e.g. `fr`, `en`); replaces the list.
    #[validate(length(max = 10))]
    #[schema(max_items = 10)]
    pub languages: Option<Vec<String>>,
    /// Mentees only, up to 2,000 characters; `null` clears.
    #[serde(default, deserialize_with = "crate::json::present")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub goals: Option<Option<String>>,
}

/// Change an enrollment (coordinators, admins; the enrolled person for `topics`, `languages`
/// and `goals` — `capacity` is `403 forbidden` to them). R10: a capacity below the mentor's
/// active and proposed pairs is `409 capacity_below_open_pairs`, checked under the lock
/// proposals take. Send `If-Match` to refuse a concurrent change (`412`, judged after the
/// change's own rules). For anyone else the enrollment does not exist.
#[utoipa::path(
    tag = "enrollments",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Program id"),
        ("enrollment_id" = Uuid, Path, description = "Enrollment id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on"),
    ),
    request_body = UpdateEnrollment,
    responses((status = 200, body = EnrollmentDto, headers(("ETag" = String))))
)]
#[patch("/programs/{id}/enrollments/{enrollment_id}")]
pub async fn update_enrollment(
    auth: Authorized<op::UpdateEnrollment>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    ValidJson(body): ValidJson<UpdateEnrollment>,
) -> Result<HttpResponse, ApiError> {
    let (program_id, enrollment_id) = path.into_inner();
    let changes = EnrollmentChanges {
        capacity: body.capacity,
        topics: body.topics,
        languages: body.languages,
        goals: body.goals,
    };
    let enrollment = use_case::update(
        &db,
        &auth.caller,
        auth.scope,
        program_id,
        enrollment_id,
        if_match.expected_revision(),
        changes,
    )
    .await?;
    let current = use_case::current_charter_version(&db, program_id).await?;
    let revision = enrollment.revision;
    tagged::content(
        actix_web::http::StatusCode::OK,
        revision,
        &dto(enrollment, current),
    )
}

/// Leave the program (coordinators, admins; the enrolled person). The enrollment's proposed
/// pairs are withdrawn (ended with reason `enrollment_withdrawn`; both members are notified
/// with `pair.withdrawn`); `409 enrollment_has_active_pair` while an active or suspended pair
/// remains — its members end it first (R9). Repeating it is harmless; the person may then be
/// enrolled again. For anyone else the enrollment does not exist.
#[utoipa::path(
    tag = "enrollments",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Program id"),
        ("enrollment_id" = Uuid, Path, description = "Enrollment id"),
    ),
    responses((status = 200, body = EnrollmentDto, headers(("ETag" = String))))
)]
#[post("/programs/{id}/enrollments/{enrollment_id}/withdraw")]
pub async fn withdraw_enrollment(
    auth: Authorized<op::WithdrawEnrollment>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (program_id, enrollment_id) = path.into_inner();
    let enrollment =
        use_case::withdraw(&db, &auth.caller, auth.scope, program_id, enrollment_id).await?;
    let current = use_case::current_charter_version(&db, program_id).await?;
    let revision = enrollment.revision;
    tagged::content(
        actix_web::http::StatusCode::OK,
        revision,
        &dto(enrollment, current),
    )
}
