//! Meetings of a pair (R2, R3, R7): members only. Coordinators and admins get
//! `403 confidential`, anyone else `404` (R5).

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use mentorat_domain::{
    Content,
    meeting::{LocationDraft, LocationKind, Meeting, MeetingDraft, MeetingMode, MeetingStatus},
};
use mentorat_service::meetings::{self as use_case, MeetingChanges};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::{
    auth::{Authorized, op},
    etag::IfMatch,
    json::{OptionalJson, ValidJson},
    pagination::{page_params, page_response},
    problem::ApiError,
    routes::enrollments::PageQuery,
    tagged,
    unit::RequestDb,
};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MeetingModeDto {
    InPerson,
    Video,
    Phone,
}

impl From<MeetingModeDto> for MeetingMode {
    fn from(m: MeetingModeDto) -> Self {
        match m {
            MeetingModeDto::InPerson => Self::InPerson,
            MeetingModeDto::Video => Self::Video,
            MeetingModeDto::Phone => Self::Phone,
        }
    }
}

impl From<MeetingMode> for MeetingModeDto {
    fn from(m: MeetingMode) -> Self {
        match m {
            MeetingMode::InPerson => Self::InPerson,
            MeetingMode::Video => Self::Video,
            MeetingMode::Phone => Self::Phone,
        }
    }
}

/// R2: in person only at a workplace or a public place; `private_residence` is refused.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LocationKindDto {
    Workplace,
    PublicPlace,
    PrivateResidence,
}

impl From<LocationKindDto> for LocationKind {
    fn from(k: LocationKindDto) -> Self {
        match k {
            LocationKindDto::Workplace => Self::Workplace,
            LocationKindDto::PublicPlace => Self::PublicPlace,
            LocationKindDto::PrivateResidence => Self::PrivateResidence,
        }
    }
}

impl From<LocationKind> for LocationKindDto {
    fn from(k: LocationKind) -> Self {
        match k {
            LocationKind::Workplace => Self::Workplace,
            LocationKind::PublicPlace => Self::PublicPlace,
            LocationKind::PrivateResidence => Self::PrivateResidence,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStatusDto {
    Scheduled,
    Held,
    Cancelled,
    Missed,
}

impl From<MeetingStatus> for MeetingStatusDto {
    fn from(s: MeetingStatus) -> Self {
        match s {
            MeetingStatus::Scheduled => Self::Scheduled,
            MeetingStatus::Held => Self::Held,
            MeetingStatus::Cancelled => Self::Cancelled,
            MeetingStatus::Missed => Self::Missed,
        }
    }
}

/// Where an in-person meeting takes place.
#[derive(Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationDto {
    pub kind: LocationKindDto,
    /// A room, a building, a café.
    #[validate(length(min = 1, max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        example = "Salle 3, bâtiment B",
        pattern = "[^\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub label: String,
}

impl From<LocationDto> for LocationDraft {
    fn from(l: LocationDto) -> Self {
        Self {
            kind: Some(l.kind.into()),
            label: Some(l.label),
        }
    }
}

/// A meeting of the pair — time, mode and status; place, agenda, summary and the reason of a
/// cancellation are content, the members' only.
#[derive(Serialize, ToSchema)]
pub struct MeetingDto {
    pub id: Uuid,
    pub pair_id: Uuid,
    /// The member (person id) who scheduled it.
    pub scheduled_by: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub mode: MeetingModeDto,
    pub location: Option<LocationDto>,
    pub agenda: Option<String>,
    pub status: MeetingStatusDto,
    /// The cancelled meeting this one makes up for (R7).
    pub reschedules: Option<Uuid>,
    pub summary: Option<String>,
    pub cancelled_by: Option<Uuid>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    /// R7: cancelled inside the program's notice window.
    pub late: bool,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Meeting> for MeetingDto {
    fn from(m: Meeting) -> Self {
        Self {
            id: m.id,
            pair_id: m.pair_id,
            scheduled_by: m.scheduled_by,
            starts_at: m.plan.starts_at,
            ends_at: m.plan.ends_at(),
            duration_minutes: m.plan.duration_minutes,
            mode: m.plan.mode.into(),
            location: m.plan.location.map(|l| LocationDto {
                kind: l.kind.into(),
                label: l.label.into_inner(),
            }),
            agenda: m.plan.agenda.map(Content::into_inner),
            status: m.status.into(),
            reschedules: m.reschedules,
            summary: m.summary.map(Content::into_inner),
            cancelled_by: m.cancelled_by,
            cancelled_at: m.cancelled_at,
            cancel_reason: m.cancel_reason.map(Content::into_inner),
            late: m.late,
            revision: m.revision,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A new meeting. In person needs a `location` (`422 location_required`), never a
/// `private_residence` (`422 private_location`, R2). 15 to 240 minutes, not in the past, not
/// overlapping another meeting of the pair (`409 meeting_overlap`).
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "starts_at": "2027-03-04T14:00:00Z",
    "duration_minutes": 60,
    "mode": "in_person",
    "location": {"kind": "workplace", "label": "Salle 3, bâtiment B"},
    "agenda": "Préparer l'entretien annuel"
}))]
pub struct NewMeeting {
    pub starts_at: DateTime<Utc>,
    #[validate(range(min = 15, max = 240))]
    #[schema(minimum = 15, maximum = 240)]
    #[serde(deserialize_with = "crate::json::required_whole_number")]
    pub duration_minutes: i64,
    pub mode: MeetingModeDto,
    #[validate(nested)]
    pub location: Option<LocationDto>,
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub agenda: Option<String>,
    /// The cancelled meeting this one makes up for (R7): the pair no longer owes it.
    pub reschedules: Option<Uuid>,
}

/// A change to a scheduled meeting: only the fields present change; `null` clears.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"starts_at": "2027-03-05T14:00:00Z"}))]
pub struct UpdateMeeting {
    pub starts_at: Option<DateTime<Utc>>,
    #[validate(range(min = 15, max = 240))]
    #[schema(minimum = 15, maximum = 240)]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub duration_minutes: Option<i64>,
    pub mode: Option<MeetingModeDto>,
    #[serde(default, deserialize_with = "crate::json::present")]
    #[schema(value_type = Option<LocationDto>)]
    pub location: Option<Option<LocationDto>>,
    #[serde(default, deserialize_with = "crate::json::present")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub agenda: Option<Option<String>>,
}

/// Why a meeting is cancelled (R7) — shown to the other member only.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Garde de nuit imprévue"}))]
pub struct CancelMeeting {
    #[validate(length(min = 1, max = 1000))]
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = "[^\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub reason: String,
}

/// What was said, for the two members (optional).
#[derive(Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"summary": "Plan d'action pour l'entretien"}))]
pub struct HeldMeeting {
    #[validate(length(max = 20000))]
    #[schema(max_length = 20000)]
    pub summary: Option<String>,
}

/// The pair's meetings, in the order they were scheduled (members only).
#[utoipa::path(
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id"), PageQuery),
    responses((status = 200, body = crate::pagination::Paginated<MeetingDto>))
)]
#[get("/pairs/{id}/meetings")]
pub async fn list_meetings(
    auth: Authorized<op::ListMeetings>,
    db: RequestDb,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (limit, after) = page_params(query.limit, query.cursor.as_deref())?;
    let page = use_case::list(&db, &auth.caller, id.into_inner(), after, limit).await?;
    let items: Vec<MeetingDto> = page.items.into_iter().map(Into::into).collect();
    Ok(page_response(&req, items, page.next))
}

/// Schedule a meeting (either member of an active pair whose members both hold the current
/// charter: `409 charter_not_accepted` otherwise, R3). The other member is notified and a
/// `meeting.scheduled` event (`meeting.rescheduled` with `reschedules`) is written.
#[utoipa::path(
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id")),
    request_body = NewMeeting,
    responses((status = 201, body = MeetingDto, headers(("Location" = String), ("ETag" = String))))
)]
#[post("/pairs/{id}/meetings")]
pub async fn schedule_meeting(
    auth: Authorized<op::ScheduleMeeting>,
    db: RequestDb,
    id: web::Path<Uuid>,
    ValidJson(body): ValidJson<NewMeeting>,
) -> Result<HttpResponse, ApiError> {
    let pair_id = id.into_inner();
    let draft = MeetingDraft {
        starts_at: Some(body.starts_at),
        duration_minutes: Some(body.duration_minutes),
        mode: Some(body.mode.into()),
        location: body.location.map(Into::into),
        agenda: body.agenda,
    };
    let created = use_case::schedule(&db, &auth.caller, pair_id, draft, body.reschedules).await?;
    let location = format!("/api/v1/pairs/{pair_id}/meetings/{}", created.id);
    Ok(tagged::created(
        location,
        created.revision,
        MeetingDto::from(created),
    ))
}

/// One meeting (members only).
#[utoipa::path(
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id"), ("meeting_id" = Uuid, Path, description = "Meeting id")),
    responses((status = 200, body = MeetingDto, headers(("ETag" = String))), (status = 304, description = "Not modified"))
)]
#[get("/pairs/{id}/meetings/{meeting_id}")]
pub async fn get_meeting(
    auth: Authorized<op::ReadMeeting>,
    db: RequestDb,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (pair_id, id) = path.into_inner();
    let m = use_case::get(&db, &auth.caller, pair_id, id).await?;
    Ok(tagged::read(&req, m.revision, MeetingDto::from(m)))
}

/// Change a scheduled meeting (either member; `If-Match` → `412` when stale). A new time is
/// checked like a new meeting, and announced as `meeting.rescheduled`.
#[utoipa::path(
    tag = "meetings",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Pair id"),
        ("meeting_id" = Uuid, Path, description = "Meeting id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on"),
    ),
    request_body = UpdateMeeting,
    responses((status = 200, body = MeetingDto, headers(("ETag" = String))))
)]
#[patch("/pairs/{id}/meetings/{meeting_id}")]
pub async fn update_meeting(
    auth: Authorized<op::UpdateMeeting>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    ValidJson(body): ValidJson<UpdateMeeting>,
) -> Result<HttpResponse, ApiError> {
    let (pair_id, id) = path.into_inner();
    let changes = MeetingChanges {
        starts_at: body.starts_at,
        duration_minutes: body.duration_minutes,
        mode: body.mode.map(Into::into),
        location: body.location.map(|l| l.map(Into::into)),
        agenda: body.agenda,
    };
    let m = use_case::update(
        &db,
        &auth.caller,
        pair_id,
        id,
        if_match.expected_revision(),
        changes,
    )
    .await?;
    Ok(tagged::ok(m.revision, MeetingDto::from(m)))
}

/// Cancel a meeting that has not started (either member, R7), with a reason. The answer says
/// whether it was `late` (inside the program's `notice_hours`); the other member is notified,
/// a `meeting.cancelled` event is written, and the pair shows `reschedule_owed` until a
/// meeting names this one in `reschedules`.
#[utoipa::path(
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id"), ("meeting_id" = Uuid, Path, description = "Meeting id")),
    request_body = CancelMeeting,
    responses((status = 200, body = MeetingDto, headers(("ETag" = String))))
)]
#[post("/pairs/{id}/meetings/{meeting_id}/cancel")]
pub async fn cancel_meeting(
    auth: Authorized<op::CancelMeeting>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
    ValidJson(body): ValidJson<CancelMeeting>,
) -> Result<HttpResponse, ApiError> {
    let (pair_id, id) = path.into_inner();
    let m = use_case::cancel(&db, &auth.caller, pair_id, id, Some(body.reason)).await?;
    Ok(tagged::ok(m.revision, MeetingDto::from(m)))
}

/// The meeting took place (either member; from its start time on), with an optional summary
/// for the two members.
#[utoipa::path(
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id"), ("meeting_id" = Uuid, Path, description = "Meeting id")),
    request_body(content = Option<HeldMeeting>, description = "Optional: no body, or `null`, is a meeting held without a summary"),
    responses((status = 200, body = MeetingDto, headers(("ETag" = String))))
)]
#[post("/pairs/{id}/meetings/{meeting_id}/held")]
pub async fn meeting_held(
    auth: Authorized<op::CloseMeeting>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
    OptionalJson(body): OptionalJson<HeldMeeting>,
) -> Result<HttpResponse, ApiError> {
    let (pair_id, id) = path.into_inner();
    let summary = body.and_then(|b| b.summary);
    let m = use_case::close(&db, &auth.caller, pair_id, id, MeetingStatus::Held, summary).await?;
    Ok(tagged::ok(m.revision, MeetingDto::from(m)))
}

/// The meeting did not take place (either member; from its start time on). Counted (R7).
#[utoipa::path(
    tag = "meetings",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id"), ("meeting_id" = Uuid, Path, description = "Meeting id")),
    responses((status = 200, body = MeetingDto, headers(("ETag" = String))))
)]
#[post("/pairs/{id}/meetings/{meeting_id}/missed")]
pub async fn meeting_missed(
    auth: Authorized<op::CloseMeeting>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (pair_id, id) = path.into_inner();
    let m = use_case::close(&db, &auth.caller, pair_id, id, MeetingStatus::Missed, None).await?;
    Ok(tagged::ok(m.revision, MeetingDto::from(m)))
}
