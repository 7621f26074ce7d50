//! Matching and pairs (R1, R3, R9, R10, R11). A pair's answer carries members, status,
//! dates and flags — never content: for anyone not a member and not a coordinator, the pair
//! does not exist.

use actix_web::{HttpRequest, HttpResponse, get, http::header, post, web};
use chrono::{DateTime, Utc};
use mentorat_domain::pair::PairFilter;
use mentorat_domain::{
    health,
    objective::ObjectiveStatus,
    pair::{EndReason, Pair, PairStatus},
};
use mentorat_service::pairs::{self as use_case, PairContext, Suggestion};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::{
    auth::{Authorized, op},
    json::ValidJson,
    pagination::{page_params, page_response},
    problem::ApiError,
    tagged,
    unit::RequestDb,
};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PairStatusDto {
    Proposed,
    Active,
    Completed,
    Ended,
    Suspended,
}

impl From<PairStatus> for PairStatusDto {
    fn from(s: PairStatus) -> Self {
        match s {
            PairStatus::Proposed => Self::Proposed,
            PairStatus::Active => Self::Active,
            PairStatus::Completed => Self::Completed,
            PairStatus::Ended => Self::Ended,
            PairStatus::Suspended => Self::Suspended,
        }
    }
}

impl From<PairStatusDto> for PairStatus {
    fn from(s: PairStatusDto) -> Self {
        match s {
            PairStatusDto::Proposed => Self::Proposed,
            PairStatusDto::Active => Self::Active,
            PairStatusDto::Completed => Self::Completed,
            PairStatusDto::Ended => Self::Ended,
            PairStatusDto::Suspended => Self::Suspended,
        }
    }
}

/// R9: why a pair ended; the category is visible to coordinators.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EndReasonDto {
    GoalsReached,
    NotAvailable,
    Mismatch,
    CharterBreach,
    LeftOrganization,
    Other,
    /// A proposed pair withdrawn with one of its enrollments (the person left the program).
    EnrollmentWithdrawn,
}

impl From<EndReasonDto> for EndReason {
    fn from(r: EndReasonDto) -> Self {
        match r {
            EndReasonDto::GoalsReached => Self::GoalsReached,
            EndReasonDto::NotAvailable => Self::NotAvailable,
            EndReasonDto::Mismatch => Self::Mismatch,
            EndReasonDto::CharterBreach => Self::CharterBreach,
            EndReasonDto::LeftOrganization => Self::LeftOrganization,
            EndReasonDto::Other => Self::Other,
            EndReasonDto::EnrollmentWithdrawn => Self::EnrollmentWithdrawn,
        }
    }
}

impl From<EndReason> for EndReasonDto {
    fn from(r: EndReason) -> Self {
        match r {
            EndReason::GoalsReached => Self::GoalsReached,
            EndReason::NotAvailable => Self::NotAvailable,
            EndReason::Mismatch => Self::Mismatch,
            EndReason::CharterBreach => Self::CharterBreach,
            EndReason::LeftOrganization => Self::LeftOrganization,
            EndReason::Other => Self::Other,
            EndReason::EnrollmentWithdrawn => Self::EnrollmentWithdrawn,
        }
    }
}

/// A health flag of a pair, computed from facts (R1, R3, R4, R7, R8, R11).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PairFlag {
    /// R1 over time: an HRIS change put one member in the other's management chain.
    HierarchyConflict,
    /// R11: a member was deactivated.
    Suspended,
    /// R3: a member has not accepted the program's current charter.
    CharterPending,
    /// R7: a cancelled meeting has not been made up for yet.
    RescheduleOwed,
    /// R8: no meeting held or scheduled within the program's cadence.
    Overdue,
    /// R4: the first meeting was held with no agreed objective.
    ObjectivesMissing,
}

impl From<health::PairFlag> for PairFlag {
    fn from(f: health::PairFlag) -> Self {
        match f {
            health::PairFlag::HierarchyConflict => Self::HierarchyConflict,
            health::PairFlag::Suspended => Self::Suspended,
            health::PairFlag::CharterPending => Self::CharterPending,
            health::PairFlag::RescheduleOwed => Self::RescheduleOwed,
            health::PairFlag::Overdue => Self::Overdue,
            health::PairFlag::ObjectivesMissing => Self::ObjectivesMissing,
        }
    }
}

/// A pair's objectives, counted by status (no titles: those are the members').
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ObjectiveCountsDto {
    pub proposed: i64,
    pub in_progress: i64,
    pub achieved: i64,
    pub abandoned: i64,
}

/// A pair's meetings, counted by status (R7: late cancellations and misses are counted).
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct MeetingCountsDto {
    pub scheduled: i64,
    pub held: i64,
    pub cancelled: i64,
    /// Cancellations inside the program's notice window.
    pub cancelled_late: i64,
    pub missed: i64,
}

/// One member of a pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberDto {
    pub enrollment_id: Uuid,
    pub person_id: Uuid,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// Whether this member accepted the proposal.
    pub accepted: bool,
}

/// A pair: members, status, dates and flags — no content.
#[derive(Serialize, ToSchema)]
pub struct PairDto {
    pub id: Uuid,
    pub program_id: Uuid,
    pub mentor: MemberDto,
    pub mentee: MemberDto,
    pub status: PairStatusDto,
    pub flags: Vec<PairFlag>,
    pub objectives: ObjectiveCountsDto,
    pub meetings: MeetingCountsDto,
    /// When the next scheduled meeting starts.
    pub next_meeting_at: Option<DateTime<Utc>>,
    pub activated_at: Option<DateTime<Utc>>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// R9: the category, visible to coordinators.
    pub end_reason: Option<EndReasonDto>,
    /// R9: the members' own words — present only when a member asks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason_text: Option<String>,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn member(ctx: &PairContext, enrollment_id: Uuid, person_id: Uuid, accepted: bool) -> MemberDto {
    let person = ctx.people.get(&person_id);
    MemberDto {
        enrollment_id,
        person_id,
        given_name: person.map(|p| p.given_name.clone()),
        family_name: person.map(|p| p.family_name.clone()),
        accepted,
    }
}

/// `as_member`: the caller is one of the two (their own words of R9 are theirs to read).
pub(crate) fn dto(pair: Pair, ctx: &PairContext, as_member: bool) -> PairDto {
    let flags = ctx.flags(&pair).into_iter().map(Into::into).collect();
    let counts = ctx.objectives.get(&pair.id);
    let count = |status| counts.and_then(|c| c.get(&status)).copied().unwrap_or(0);
    let objectives = ObjectiveCountsDto {
        proposed: count(ObjectiveStatus::Proposed),
        in_progress: count(ObjectiveStatus::InProgress),
        achieved: count(ObjectiveStatus::Achieved),
        abandoned: count(ObjectiveStatus::Abandoned),
    };
    let m = ctx.meetings.get(&pair.id).cloned().unwrap_or_default();
    let meetings = MeetingCountsDto {
        scheduled: m.scheduled,
        held: m.held,
        cancelled: m.cancelled,
        cancelled_late: m.late,
        missed: m.missed,
    };
    PairDto {
        id: pair.id,
        program_id: pair.program_id,
        mentor: member(
            ctx,
            pair.mentor_enrollment_id,
            pair.mentor_person_id,
            pair.mentor_accepted_at.is_some(),
        ),
        mentee: member(
            ctx,
            pair.mentee_enrollment_id,
            pair.mentee_person_id,
            pair.mentee_accepted_at.is_some(),
        ),
        status: pair.status.into(),
        flags,
        objectives,
        meetings,
        next_meeting_at: m.next_meeting_at,
        activated_at: pair.activated_at,
        suspended_at: pair.suspended_at,
        ended_at: pair.ended_at,
        end_reason: pair.end_reason.map(Into::into),
        end_reason_text: if as_member {
            ctx.end_reason_texts.get(&pair.id).cloned()
        } else {
            None
        },
        revision: pair.revision,
        created_at: pair.created_at,
        updated_at: pair.updated_at,
    }
}

async fn render(
    db: &RequestDb,
    pair: Pair,
    as_member: bool,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ApiError> {
    let viewer = use_case::Viewer::member_if(as_member);
    let ctx = use_case::context(db, std::slice::from_ref(&pair), viewer).await?;
    let revision = pair.revision;
    tagged::content(status, revision, &dto(pair, &ctx, as_member))
}

/// A new pair.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "mentor_enrollment_id": "01935c1e-7f2a-7c3e-9a51-0b6f4d2e8a10",
    "mentee_enrollment_id": "01935c1e-8b3c-7d4e-8f62-1c7a5e3f9b21"
}))]
pub struct NewPair {
    pub mentor_enrollment_id: Uuid,
    pub mentee_enrollment_id: Uuid,
}

/// Ending a pair (R9).
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason_category": "goals_reached", "reason_text": "Nous avons fait le tour."}))]
pub struct EndPair {
    pub reason_category: EndReasonDto,
    /// The members' own words; never shown to coordinators. Up to 2,000 characters.
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub reason_text: Option<String>,
}

/// Propose a pair (coordinator, admin) → `proposed`, and a notification to both members.
/// Refusals: `422 hierarchical_pair` (R1), `409 mentor_at_capacity` (R10), `409 pair_exists`,
/// `422 role_mismatch`.
#[utoipa::path(
    tag = "pairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id")),
    request_body = NewPair,
    responses((status = 201, body = PairDto, headers(("Location" = String), ("ETag" = String))))
)]
#[post("/programs/{id}/pairs")]
pub async fn propose_pair(
    auth: Authorized<op::ProposePair>,
    db: RequestDb,
    id: web::Path<Uuid>,
    ValidJson(body): ValidJson<NewPair>,
) -> Result<HttpResponse, ApiError> {
    let pair = use_case::propose(
        &db,
        &auth.caller,
        id.into_inner(),
        body.mentor_enrollment_id,
        body.mentee_enrollment_id,
    )
    .await?;
    let location = format!("/api/v1/pairs/{}", pair.id);
    let mut response = render(&db, pair, false, actix_web::http::StatusCode::CREATED).await?;
    if let Ok(v) = header::HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListPairsQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
    pub program_id: Option<Uuid>,
    pub status: Option<PairStatusDto>,
    /// Only the pairs showing this flag (the other flags show on each pair, and are filtered
    /// by the program's pair health).
    pub flag: Option<PairFlagFilter>,
}

/// The flags `GET /pairs` filters by.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PairFlagFilter {
    /// R1 over time: an HRIS change put one member in the other's management chain.
    HierarchyConflict,
    /// R11: a member was deactivated.
    Suspended,
}

/// Pairs: all of them for coordinators and admins (filters `program_id`, `status`, `flag`);
/// a participant's own otherwise.
#[utoipa::path(
    tag = "pairs",
    security(("bearer" = [])),
    params(ListPairsQuery),
    responses((status = 200, body = crate::pagination::Paginated<PairDto>))
)]
#[get("/pairs")]
pub async fn list_pairs(
    auth: Authorized<op::ListPairs>,
    db: RequestDb,
    req: HttpRequest,
    query: web::Query<ListPairsQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (limit, after) = page_params(query.limit, query.cursor.as_deref())?;
    let mut filter = PairFilter {
        program_id: query.program_id,
        status: query.status.map(Into::into),
        ..Default::default()
    };
    match query.flag {
        Some(PairFlagFilter::HierarchyConflict) => filter.hierarchy_conflict = Some(true),
        Some(PairFlagFilter::Suspended) => filter.status = Some(PairStatus::Suspended),
        None => {}
    }
    let (page, ctx) = use_case::list(&db, &auth.caller, auth.scope, filter, after, limit).await?;
    let items: Vec<PairDto> = page
        .items
        .into_iter()
        .map(|(p, as_member)| dto(p, &ctx, as_member))
        .collect();
    Ok(page_response(&req, items, page.next))
}

/// One pair (coordinators, admins, its two members; 404 for anyone else).
#[utoipa::path(
    tag = "pairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id")),
    responses(
        (status = 200, body = PairDto, headers(("ETag" = String, description = "Changes whenever the answer does (counts and flags included): `\"r{revision}-{digest}\"`"))),
        (status = 304, description = "Unchanged since the `If-None-Match` tag"),
    )
)]
#[get("/pairs/{id}")]
pub async fn get_pair(
    auth: Authorized<op::ReadPair>,
    db: RequestDb,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (view, ctx) = use_case::read(&db, &auth.caller, auth.scope, id.into_inner()).await?;
    let as_member = view.is_member();
    let pair = view.into_pair();
    let revision = pair.revision;
    tagged::read_content(&req, revision, &dto(pair, &ctx, as_member))
}

/// Accept a proposed pair (a member). Active once both accepted and both hold the current
/// charter (R3); otherwise `409 charter_not_accepted` and it stays proposed.
#[utoipa::path(
    tag = "pairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id")),
    responses((status = 200, body = PairDto))
)]
#[post("/pairs/{id}/accept")]
pub async fn accept_pair(
    auth: Authorized<op::AcceptPair>,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let pair = use_case::accept(&db, &auth.caller, id.into_inner()).await?;
    render(&db, pair, true, actix_web::http::StatusCode::OK).await
}

/// End a pair (either member, R9): a reason category for the coordinators, and optional
/// words kept for the members only.
#[utoipa::path(
    tag = "pairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id")),
    request_body = EndPair,
    responses((status = 200, body = PairDto))
)]
#[post("/pairs/{id}/end")]
pub async fn end_pair(
    auth: Authorized<op::EndPair>,
    db: RequestDb,
    id: web::Path<Uuid>,
    ValidJson(body): ValidJson<EndPair>,
) -> Result<HttpResponse, ApiError> {
    let text = body
        .reason_text
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let pair = use_case::end(
        &db,
        &auth.caller,
        id.into_inner(),
        body.reason_category.into(),
        text,
    )
    .await?;
    render(&db, pair, true, actix_web::http::StatusCode::OK).await
}

/// One reason of a suggestion's score.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonDto {
    /// `topic_overlap`, `shared_language`, `other_department`, `same_site`, `available`.
    pub code: String,
    pub points: u32,
    pub detail: String,
}

/// A mentor suggested for a mentee.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionDto {
    pub enrollment_id: Uuid,
    pub person_id: Uuid,
    pub given_name: String,
    pub family_name: String,
    pub department: Option<String>,
    pub site: Option<String>,
    pub topics: Vec<String>,
    pub languages: Vec<String>,
    pub remaining_capacity: i64,
    /// The sum of the reasons' points.
    pub score: u32,
    pub reasons: Vec<ReasonDto>,
}

impl From<Suggestion> for SuggestionDto {
    fn from(s: Suggestion) -> Self {
        Self {
            enrollment_id: s.enrollment.id,
            person_id: s.person.id,
            given_name: s.person.record.given_name,
            family_name: s.person.record.family_name,
            department: s.person.record.department,
            site: s.person.record.site,
            topics: s.enrollment.terms.topics,
            languages: s.enrollment.terms.languages,
            remaining_capacity: s.remaining_capacity,
            score: s.score.total,
            reasons: s
                .score
                .reasons
                .into_iter()
                .map(|r| ReasonDto {
                    code: r.code.to_owned(),
                    points: r.points,
                    detail: r.detail,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionsDto {
    pub items: Vec<SuggestionDto>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestionsQuery {
    /// How many mentors, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Mentors for a mentee, ranked by an explainable score (coordinators, admins, that mentee).
/// Hard rules filter, never merely rank: R1 (the mentee's management chain, up and down, at
/// any depth), R10 (no place left), inactive people, mentors already paired with this mentee.
#[utoipa::path(
    tag = "pairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id"), ("enrollment_id" = Uuid, Path, description = "The mentee's enrollment"), SuggestionsQuery),
    responses((status = 200, body = SuggestionsDto))
)]
#[get("/programs/{id}/enrollments/{enrollment_id}/suggestions")]
pub async fn suggestions(
    auth: Authorized<op::SuggestMentors>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
    query: web::Query<SuggestionsQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = match query.limit {
        None => 20,
        Some(n @ 1..=100) => n as usize,
        Some(n) => {
            return Err(ApiError::validation(vec![crate::problem::FieldProblem {
                pointer: "/limit".into(),
                detail: format!("limit must be between 1 and 100, got {n}"),
            }]));
        }
    };
    let (program_id, enrollment_id) = path.into_inner();
    let ranked = use_case::suggestions(
        &db,
        &auth.caller,
        auth.scope,
        program_id,
        enrollment_id,
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(SuggestionsDto {
        items: ranked.into_iter().map(Into::into).collect(),
    }))
}
