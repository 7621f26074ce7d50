//! `/api/v1/programs` — the first resource, and the worked example later resources copy:
//! authorization declared in the signature, a validated body, a use case, a DTO, an ETag.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use mentorat_domain::program::ProgramFilter;
use mentorat_domain::{
    program::{Program, ProgramChanges, ProgramDraft, ProgramStatus},
    request::MatchingMode,
};
use mentorat_service::programs as use_case;
use serde::{Deserialize, Serialize};
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

/// Where a program stands: `draft → open → running → closed`, one step at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProgramStatusDto {
    Draft,
    Open,
    Running,
    Closed,
}

impl From<ProgramStatus> for ProgramStatusDto {
    fn from(s: ProgramStatus) -> Self {
        match s {
            ProgramStatus::Draft => Self::Draft,
            ProgramStatus::Open => Self::Open,
            ProgramStatus::Running => Self::Running,
            ProgramStatus::Closed => Self::Closed,
        }
    }
}

impl From<ProgramStatusDto> for ProgramStatus {
    fn from(s: ProgramStatusDto) -> Self {
        match s {
            ProgramStatusDto::Draft => Self::Draft,
            ProgramStatusDto::Open => Self::Open,
            ProgramStatusDto::Running => Self::Running,
            ProgramStatusDto::Closed => Self::Closed,
        }
    }
}

/// Who proposes a program's pairs: `coordinator` (the default: only the coordinators, by
/// hand or by a matching run), `self` (the mentees ask their mentors by requests) or `both`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchingModeDto {
    Coordinator,
    #[serde(rename = "self")]
    #[schema(rename = "self")]
    SelfService,
    Both,
}

impl From<MatchingMode> for MatchingModeDto {
    fn from(m: MatchingMode) -> Self {
        match m {
            MatchingMode::Coordinator => Self::Coordinator,
            MatchingMode::SelfService => Self::SelfService,
            MatchingMode::Both => Self::Both,
        }
    }
}

impl From<MatchingModeDto> for MatchingMode {
    fn from(m: MatchingModeDto) -> Self {
        match m {
            MatchingModeDto::Coordinator => Self::Coordinator,
            MatchingModeDto::SelfService => Self::SelfService,
            MatchingModeDto::Both => Self::Both,
        }
    }
}

/// A mentoring program.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgramDto {
    pub id: Uuid,
    #[schema(example = "Mentorat 2027, CHU")]
    pub name: String,
    pub description: String,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub status: ProgramStatusDto,
    /// R8: a pair with no meeting held or scheduled within this many days is `overdue`.
    #[schema(example = 28)]
    pub cadence_days: i32,
    /// R7: a cancellation within this many hours of the meeting is `late`.
    #[schema(example = 24)]
    pub notice_hours: i32,
    /// R10: how many active or proposed pairs a mentor may have, unless their enrollment says otherwise.
    #[schema(example = 2)]
    pub default_mentor_capacity: i32,
    /// How many hours before a scheduled meeting both members are reminded of it
    /// (`meeting.upcoming` notification and webhook event); `0`: no reminders.
    #[schema(example = 24, minimum = 0, maximum = 336)]
    pub reminder_hours: i32,
    /// Who proposes pairs: `coordinator` (default), `self` (mentees' requests) or `both`.
    pub matching_mode: MatchingModeDto,
    /// The points of each reason of a suggestion's or a matching run's score.
    pub matching_weights: MatchingWeightsDto,
    /// Bumped on every change; the `ETag` header is `"r{revision}"`.
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The points of each reason of a score (issue 17). The default is the score as it always
/// was: `{"topic_overlap": 10, "shared_language": 15, "other_department": 20, "same_site": 10,
/// "available": 1}`. A weight of 0 leaves its reason out.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"topic_overlap": 10, "shared_language": 15, "other_department": 20, "same_site": 10, "available": 1}))]
pub struct MatchingWeightsDto {
    /// Points for each of the mentor's topics found in the mentee's topics or goals (four topics count at most).
    pub topic_overlap: u32,
    /// Points for speaking one of the mentee's languages.
    pub shared_language: u32,
    /// Points for working in another department than the mentee (the program opens people to other trades).
    pub other_department: u32,
    /// Points for working on the mentee's site (in-person meetings).
    pub same_site: u32,
    /// Points for each place the mentor has left (five places count at most).
    pub available: u32,
}

impl From<mentorat_domain::matching::MatchingWeights> for MatchingWeightsDto {
    fn from(w: mentorat_domain::matching::MatchingWeights) -> Self {
        Self {
            topic_overlap: w.topic_overlap,
            shared_language: w.shared_language,
            other_department: w.other_department,
            same_site: w.same_site,
            available: w.available,
        }
    }
}

/// A change of the matching weights: each weight present changes (0 to 100), the others stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"same_site": 30, "available": 0}))]
pub struct MatchingWeightsChange {
    #[schema(minimum = 0, maximum = 100)]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub topic_overlap: Option<i64>,
    #[schema(minimum = 0, maximum = 100)]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub shared_language: Option<i64>,
    #[schema(minimum = 0, maximum = 100)]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub other_department: Option<i64>,
    #[schema(minimum = 0, maximum = 100)]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub same_site: Option<i64>,
    #[schema(minimum = 0, maximum = 100)]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub available: Option<i64>,
}

impl From<Program> for ProgramDto {
    fn from(p: Program) -> Self {
        Self {
            id: p.id,
            name: p.settings.name,
            description: p.settings.description,
            starts_on: p.settings.starts_on,
            ends_on: p.settings.ends_on,
            status: p.status.into(),
            cadence_days: p.settings.cadence_days,
            notice_hours: p.settings.notice_hours,
            default_mentor_capacity: p.settings.default_mentor_capacity,
            reminder_hours: p.settings.reminder_hours,
            matching_mode: p.settings.matching_mode.into(),
            matching_weights: p.matching_weights.into(),
            revision: p.revision,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A new program; it starts in `draft`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Mentorat 2027, CHU",
    "description": "Mentoring across trades for the hospital's staff.",
    "starts_on": "2027-01-04",
    "ends_on": "2027-12-17",
    "cadence_days": 28,
    "notice_hours": 24,
    "default_mentor_capacity": 2,
    "reminder_hours": 24
}))]
pub struct CreateProgram {
    #[validate(length(min = 1, max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "[^\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub name: String,
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    pub starts_on: Option<NaiveDate>,
    /// On or after `starts_on`.
    pub ends_on: Option<NaiveDate>,
    /// Default 28.
    #[validate(range(min = 1, max = 365))]
    #[schema(minimum = 1, maximum = 365)]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub cadence_days: Option<i32>,
    /// Default 24.
    #[validate(range(min = 0, max = 720))]
    #[schema(minimum = 0, maximum = 720)]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub notice_hours: Option<i32>,
    /// Default 2.
    #[validate(range(min = 1, max = 50))]
    #[schema(minimum = 1, maximum = 50)]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub default_mentor_capacity: Option<i32>,
    /// Hours before a scheduled meeting both members are reminded of it, 0 to 336 (two
    /// weeks); `0`: no reminders. Default 24.
    #[validate(range(min = 0, max = 336))]
    #[schema(minimum = 0, maximum = 336, example = 24)]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub reminder_hours: Option<i32>,
    /// Who proposes pairs: `coordinator` (default), `self` (mentees ask their mentors) or
    /// `both`.
    pub matching_mode: Option<MatchingModeDto>,
}

/// A change to a program: only the fields present change; `null` clears a date.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "open", "cadence_days": 21}))]
pub struct UpdateProgram {
    #[validate(length(min = 1, max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "[^\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub name: Option<String>,
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::json::present")]
    #[schema(value_type = Option<NaiveDate>)]
    pub starts_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "crate::json::present")]
    #[schema(value_type = Option<NaiveDate>)]
    pub ends_on: Option<Option<NaiveDate>>,
    /// One step forward at a time: `draft → open → running → closed`.
    pub status: Option<ProgramStatusDto>,
    #[validate(range(min = 1, max = 365))]
    #[schema(minimum = 1, maximum = 365)]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub cadence_days: Option<i32>,
    #[validate(range(min = 0, max = 720))]
    #[schema(minimum = 0, maximum = 720)]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub notice_hours: Option<i32>,
    #[validate(range(min = 1, max = 50))]
    #[schema(minimum = 1, maximum = 50)]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub default_mentor_capacity: Option<i32>,
    /// Hours before a scheduled meeting both members are reminded of it, 0 to 336; `0`:
    /// no reminders. A meeting already reminded is not reminded again for a new lead time.
    #[validate(range(min = 0, max = 336))]
    #[schema(minimum = 0, maximum = 336, example = 48)]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub reminder_hours: Option<i32>,
    /// Who proposes pairs: `coordinator`, `self` (mentees ask their mentors) or `both`.
    pub matching_mode: Option<MatchingModeDto>,
    /// The points of each reason of a score; the weights left out keep their value.
    #[serde(default, deserialize_with = "crate::json::object_only")]
    pub matching_weights: Option<MatchingWeightsChange>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListProgramsQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
    /// Only programs in this status.
    pub status: Option<ProgramStatusDto>,
}

/// Create a program (coordinator, admin). It starts in `draft`.
#[utoipa::path(
    tag = "programs",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
        description = "Makes a retry replay the first answer instead of creating twice (1-255 printable ASCII characters)")),
    request_body = CreateProgram,
    responses(
        (status = 201, description = "Created; `Location` names it, `ETag` tags it", body = ProgramDto,
            headers(("Location" = String), ("ETag" = String))),
    )
)]
#[post("/programs")]
pub async fn create_program(
    auth: Authorized<op::CreateProgram>,
    db: RequestDb,
    ValidJson(body): ValidJson<CreateProgram>,
) -> Result<HttpResponse, ApiError> {
    let draft = ProgramDraft {
        name: body.name,
        description: body.description,
        starts_on: body.starts_on,
        ends_on: body.ends_on,
        cadence_days: body.cadence_days,
        notice_hours: body.notice_hours,
        default_mentor_capacity: body.default_mentor_capacity,
        reminder_hours: body.reminder_hours,
        matching_mode: body.matching_mode.map(Into::into),
    };
    let program = use_case::create(&db, &auth.caller, draft).await?;
    let location = format!("/api/v1/programs/{}", program.id);
    Ok(tagged::created(
        location,
        program.revision,
        ProgramDto::from(program),
    ))
}

/// List programs, oldest first, a page at a time: all of them for coordinators and admins,
/// the ones they are enrolled in for participants.
#[utoipa::path(
    tag = "programs",
    security(("bearer" = [])),
    params(ListProgramsQuery),
    responses(
        (status = 200, description = "A page of programs; `Link: <…>; rel=\"next\"` when there is more", body = crate::pagination::Paginated<ProgramDto>),
    )
)]
#[get("/programs")]
pub async fn list_programs(
    auth: Authorized<op::ListPrograms>,
    db: RequestDb,
    req: HttpRequest,
    query: web::Query<ListProgramsQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (limit, after) = page_params(query.limit, query.cursor.as_deref())?;
    let filter = ProgramFilter {
        status: query.status.map(Into::into),
        enrolled_person: None,
    };
    let page = use_case::list(&db, &auth.caller, auth.scope, filter, after, limit).await?;
    let items: Vec<ProgramDto> = page.items.into_iter().map(Into::into).collect();
    Ok(page_response(&req, items, page.next))
}

/// Read a program (coordinators, admins; participants: a program they are enrolled in,
/// otherwise 404). Honours `If-None-Match` with `304`.
#[utoipa::path(
    tag = "programs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id")),
    responses(
        (status = 200, body = ProgramDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the `If-None-Match` tag"),
    )
)]
#[get("/programs/{id}")]
pub async fn get_program(
    auth: Authorized<op::ReadProgram>,
    db: RequestDb,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let program = use_case::get(&db, &auth.caller, auth.scope, id.into_inner()).await?;
    Ok(tagged::read(
        &req,
        program.revision,
        ProgramDto::from(program),
    ))
}

/// Change a program (coordinator, admin). Send `If-Match` with the `ETag` you read so that
/// a concurrent change is refused (`412`) rather than overwritten.
#[utoipa::path(
    tag = "programs",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Program id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on"),
    ),
    request_body = UpdateProgram,
    responses(
        (status = 200, body = ProgramDto, headers(("ETag" = String))),
    )
)]
#[patch("/programs/{id}")]
pub async fn update_program(
    auth: Authorized<op::UpdateProgram>,
    db: RequestDb,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    ValidJson(body): ValidJson<UpdateProgram>,
) -> Result<HttpResponse, ApiError> {
    let changes = ProgramChanges {
        name: body.name,
        description: body.description,
        starts_on: body.starts_on,
        ends_on: body.ends_on,
        status: body.status.map(Into::into),
        cadence_days: body.cadence_days,
        notice_hours: body.notice_hours,
        default_mentor_capacity: body.default_mentor_capacity,
        reminder_hours: body.reminder_hours,
        matching_mode: body.matching_mode.map(Into::into),
        matching_weights: body.matching_weights.map(|w| {
            [
                w.topic_overlap,
                w.shared_language,
                w.other_department,
                w.same_site,
                w.available,
            ]
        }),
    };
    let program = use_case::update(
        &db,
        &auth.caller,
        id.into_inner(),
        if_match.expected_revision(),
        changes,
    )
    .await?;
    Ok(tagged::ok(program.revision, ProgramDto::from(program)))
}
