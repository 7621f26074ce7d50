//! `/api/v1/programs/{id}/matching-runs` (issue 17): matching a cohort.

use actix_web::{HttpResponse, get, http::header, post, web};
use chrono::{DateTime, Utc};
use mentorat_domain::matching::Objective;
use mentorat_service::matching::{self as use_case, MatchingRun};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::{
    auth::{Authorized, op},
    json::ValidJson,
    problem::ApiError,
    routes::programs::MatchingWeightsDto,
    unit::RequestDb,
};

/// What a run maximizes: `most_matched` (the most mentees matched, then the highest total
/// score among those assignments; the default) or `best_score` (the highest total score, then
/// the most mentees matched).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchingObjectiveDto {
    MostMatched,
    BestScore,
}

impl From<MatchingObjectiveDto> for Objective {
    fn from(o: MatchingObjectiveDto) -> Self {
        match o {
            MatchingObjectiveDto::MostMatched => Objective::MostMatched,
            MatchingObjectiveDto::BestScore => Objective::BestScore,
        }
    }
}

impl From<Objective> for MatchingObjectiveDto {
    fn from(o: Objective) -> Self {
        match o {
            Objective::MostMatched => MatchingObjectiveDto::MostMatched,
            Objective::BestScore => MatchingObjectiveDto::BestScore,
        }
    }
}

/// A new run.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"objective": "most_matched"}))]
pub struct NewMatchingRun {
    /// Default `most_matched`.
    pub objective: Option<MatchingObjectiveDto>,
    /// Only these mentees' enrollments (default: every unpaired mentee of the program). Up to
    /// 10,000.
    #[validate(length(max = 10000))]
    #[schema(max_items = 10000)]
    pub mentee_enrollment_ids: Option<Vec<Uuid>>,
}

/// Applying a run.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"exclude": []}))]
pub struct ApplyMatchingRun {
    /// Mentees' enrollments whose line is left out (not proposed).
    #[validate(length(max = 10000))]
    #[schema(max_items = 10000)]
    pub exclude: Option<Vec<Uuid>>,
}

/// One reason of a line's score, with the points it gave under the program's weights.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunReasonDto {
    #[schema(example = "topic_overlap")]
    pub code: String,
    #[schema(example = 20)]
    pub points: u32,
    #[schema(example = "offers management, leadership")]
    pub detail: String,
}

/// A pair the run proposes.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunLineDto {
    pub mentee_enrollment_id: Uuid,
    pub mentor_enrollment_id: Uuid,
    /// The sum of the reasons' points.
    pub score: u32,
    pub reasons: Vec<RunReasonDto>,
}

/// Why a mentee got no mentor.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnmatchedWhyDto {
    /// The hard rules leave no mentor (R1 at any depth, inactive mentors, a past or open pair of the two).
    NoEligibleMentor,
    /// Every eligible mentor had no place left before the run (R10).
    EligibleMentorsFull,
    /// The eligible mentors' places went to other mentees in the optimal assignment.
    PlacesTakenByOthers,
    /// The mentee's person is inactive (R11).
    MenteeInactive,
    /// Listed in `mentee_enrollment_ids`, but the mentee already has an open pair.
    AlreadyPaired,
}

/// A mentee the run leaves without a mentor, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunUnmatchedDto {
    pub mentee_enrollment_id: Uuid,
    pub why: UnmatchedWhyDto,
}

/// A matching run: the optimal assignment it proposes, the mentees it leaves unmatched and
/// why, who ran it, when, with which objective and weights, and whether it was applied.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchingRunDto {
    pub id: Uuid,
    pub program_id: Uuid,
    pub objective: MatchingObjectiveDto,
    pub matching_weights: MatchingWeightsDto,
    /// The mentees the run was asked for; absent: every unpaired mentee.
    pub mentee_enrollment_ids: Option<Vec<Uuid>>,
    pub matched: usize,
    pub total_score: u64,
    pub lines: Vec<RunLineDto>,
    pub unmatched: Vec<RunUnmatchedDto>,
    /// The caller who ran it (their external id).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub applied_by: Option<String>,
    pub applied_at: Option<DateTime<Utc>>,
}

impl From<MatchingRun> for MatchingRunDto {
    fn from(r: MatchingRun) -> Self {
        use mentorat_domain::matching::Unmatched;
        use mentorat_service::matching::Why;
        Self {
            id: r.id,
            program_id: r.program_id,
            objective: r.objective.into(),
            matching_weights: r.weights.into(),
            mentee_enrollment_ids: r.mentee_enrollment_ids,
            matched: r.lines.len(),
            total_score: r.total_score,
            lines: r
                .lines
                .into_iter()
                .map(|l| RunLineDto {
                    mentee_enrollment_id: l.mentee_enrollment_id,
                    mentor_enrollment_id: l.mentor_enrollment_id,
                    score: l.score,
                    reasons: l
                        .reasons
                        .into_iter()
                        .map(|x| RunReasonDto {
                            code: x.code,
                            points: x.points,
                            detail: x.detail,
                        })
                        .collect(),
                })
                .collect(),
            unmatched: r
                .unmatched
                .into_iter()
                .map(|u| RunUnmatchedDto {
                    mentee_enrollment_id: u.mentee_enrollment_id,
                    why: match u.why {
                        Why::Solver(Unmatched::NoEligibleMentor) => {
                            UnmatchedWhyDto::NoEligibleMentor
                        }
                        Why::Solver(Unmatched::EligibleMentorsFull) => {
                            UnmatchedWhyDto::EligibleMentorsFull
                        }
                        Why::Solver(Unmatched::PlacesTakenByOthers) => {
                            UnmatchedWhyDto::PlacesTakenByOthers
                        }
                        Why::MenteeInactive => UnmatchedWhyDto::MenteeInactive,
                        Why::AlreadyPaired => UnmatchedWhyDto::AlreadyPaired,
                    },
                })
                .collect(),
            created_by: r.created_by,
            created_at: r.created_at,
            applied_by: r.applied_by,
            applied_at: r.applied_at,
        }
    }
}

/// A program's runs, newest first (the last 100).
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchingRunsDto {
    pub items: Vec<MatchingRunDto>,
}

/// An applied run: the run and the ids of the pairs it proposed.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedRunDto {
    pub run: MatchingRunDto,
    pub pair_ids: Vec<Uuid>,
}

/// Compute a matching run (coordinator, admin): the assignment of the program's unpaired
/// mentees (or those listed) to its mentors' remaining places that is optimal for the
/// objective — exact (the Hungarian algorithm), not a greedy pass. Hard rules filter and are
/// never traded for score: R1 at any depth, R10 (remaining places), inactive people, a pair
/// that exists or existed between the two. Scores use the program's `matching_weights`. The
/// run is kept; nothing is proposed until it is applied.
#[utoipa::path(
    tag = "pairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id")),
    request_body = NewMatchingRun,
    responses((status = 201, body = MatchingRunDto, headers(("Location" = String))))
)]
#[post("/programs/{id}/matching-runs")]
pub async fn create_matching_run(
    auth: Authorized<op::RunMatching>,
    db: RequestDb,
    id: web::Path<Uuid>,
    ValidJson(body): ValidJson<NewMatchingRun>,
) -> Result<HttpResponse, ApiError> {
    let program_id = id.into_inner();
    let run = use_case::create(
        &db,
        &auth.caller,
        program_id,
        body.objective
            .map(Into::into)
            .unwrap_or(Objective::MostMatched),
        body.mentee_enrollment_ids,
    )
    .await?;
    let location = format!("/api/v1/programs/{program_id}/matching-runs/{}", run.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(MatchingRunDto::from(run)))
}

/// A program's matching runs, newest first (coordinator, admin).
#[utoipa::path(
    tag = "pairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id")),
    responses((status = 200, body = MatchingRunsDto))
)]
#[get("/programs/{id}/matching-runs")]
pub async fn list_matching_runs(
    _auth: Authorized<op::RunMatching>,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let runs = use_case::list(&db, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(MatchingRunsDto {
        items: runs.into_iter().map(Into::into).collect(),
    }))
}

/// Read a matching run (coordinator, admin).
#[utoipa::path(
    tag = "pairs",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Program id"),
        ("run_id" = Uuid, Path, description = "Matching run id"),
    ),
    responses((status = 200, body = MatchingRunDto))
)]
#[get("/programs/{id}/matching-runs/{run_id}")]
pub async fn get_matching_run(
    _auth: Authorized<op::RunMatching>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (program_id, run_id) = path.into_inner();
    let run = use_case::get(&db, program_id, run_id).await?;
    Ok(HttpResponse::Ok().json(MatchingRunDto::from(run)))
}

/// Apply a run (coordinator, admin): propose its pairs (less `exclude`) in one transaction,
/// all or nothing, under the locks a single proposal takes, every rule checked again (R1,
/// R10, roles, inactive people, an open pair of the two). `409 matching_run_stale` when the
/// program's enrollments, pairs or people changed since the run (compute a new one); `409
/// matching_run_applied` the second time.
#[utoipa::path(
    tag = "pairs",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Program id"),
        ("run_id" = Uuid, Path, description = "Matching run id"),
    ),
    request_body = ApplyMatchingRun,
    responses((status = 200, body = AppliedRunDto))
)]
#[post("/programs/{id}/matching-runs/{run_id}/apply")]
pub async fn apply_matching_run(
    auth: Authorized<op::ApplyMatchingRun>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
    ValidJson(body): ValidJson<ApplyMatchingRun>,
) -> Result<HttpResponse, ApiError> {
    let (program_id, run_id) = path.into_inner();
    let (run, pairs) = use_case::apply(
        &db,
        &auth.caller,
        program_id,
        run_id,
        body.exclude.as_deref().unwrap_or_default(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(AppliedRunDto {
        run: run.into(),
        pair_ids: pairs.into_iter().map(|p| p.id).collect(),
    }))
}
