//! Feedback (a member's own), pair health (coordinators) and program reports (coordinators
//! and analysts, R13).

use mentorat_domain::ErrorCode;
use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, get, http::header, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use mentorat_domain::anonymity;
use mentorat_domain::{
    Content,
    feedback::{FeedbackDraft, FeedbackKind},
    health,
};
use mentorat_persistence::{feedback::StoredFeedback, report::GroupBy};
use mentorat_service::{
    feedback as feedback_use_case,
    report::{self as use_case, Figures, Report},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::{
    auth::{Authorized, op},
    json::ValidJson,
    pagination::{page_params, page_response},
    problem::{ApiError, FieldProblem},
    routes::pairs::{MeetingCountsDto, ObjectiveCountsDto, PairFlag, PairStatusDto},
    unit::RequestDb,
};

/// R13's k (`MENTORAT_K_ANONYMITY`).
#[derive(Debug, Clone, Copy)]
pub struct Anonymity(pub u32);

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKindDto {
    CheckIn,
    Final,
}

impl From<FeedbackKindDto> for FeedbackKind {
    fn from(k: FeedbackKindDto) -> Self {
        match k {
            FeedbackKindDto::CheckIn => Self::CheckIn,
            FeedbackKindDto::Final => Self::Final,
        }
    }
}

impl From<FeedbackKind> for FeedbackKindDto {
    fn from(k: FeedbackKind) -> Self {
        match k {
            FeedbackKind::CheckIn => Self::CheckIn,
            FeedbackKind::Final => Self::Final,
        }
    }
}

/// A check-in after a held meeting (`usefulness`, `atmosphere`) or the final evaluation of
/// an ended pair (`valued`, `regular_space`, `autonomy`, `communication`,
/// `management_insight`, `solidarity`, `collective_intelligence`, `open_environment`),
/// each scored 1 to 5.
#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewFeedback {
    pub kind: FeedbackKindDto,
    pub meeting_id: Option<Uuid>,
    pub scores: BTreeMap<String, serde_json::Number>,
    #[validate(length(max = 5000))]
    pub comment: Option<String>,
}

/// The body's rules depend on its `kind` (`FeedbackDraft::validate`): one object schema per
/// kind, its dimensions (`FeedbackKind::dimensions`) each required and scored 1 to 5, nothing
/// else; a check-in names its meeting, a final evaluation does not.
impl utoipa::PartialSchema for NewFeedback {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let variant = |kind: FeedbackKind| {
            let dims = kind.dimensions();
            let scores: serde_json::Map<String, serde_json::Value> = dims
                .iter()
                .map(|d| {
                    (
                        (*d).to_owned(),
                        json!({"type": "integer", "minimum": 1, "maximum": 5}),
                    )
                })
                .collect();
            let meeting_id = match kind {
                FeedbackKind::CheckIn => {
                    json!({"type": "string", "format": "uuid", "description": "The held meeting it is about"})
                }
                FeedbackKind::Final => {
                    json!({"type": "null", "description": "A final evaluation is about the whole pair"})
                }
            };
            let mut required = vec!["kind", "scores"];
            if kind == FeedbackKind::CheckIn {
                required.push("meeting_id");
            }
            json!({
                "title": kind.as_str(),
                "type": "object",
                "additionalProperties": false,
                "required": required,
                "properties": {
                    "kind": {"type": "string", "enum": [kind.as_str()]},
                    "meeting_id": meeting_id,
                    "scores": {
                        "type": "object",
                        "description": "Every dimension of the kind, a whole number 1 to 5",
                        "additionalProperties": false,
                        "required": dims,
                        "properties": scores,
                    },
                    "comment": {
                        "type": ["string", "null"],
                        "maxLength": mentorat_domain::feedback::COMMENT_MAX_CHARS,
                        "description": "Its author's only (R5)",
                    },
                },
            })
        };
        crate::vocabulary::from_json(json!({
            "description": "A check-in after a held meeting or the final evaluation of an ended pair, each dimension scored 1 to 5",
            "oneOf": [variant(FeedbackKind::CheckIn), variant(FeedbackKind::Final)],
            "example": {
                "kind": "check_in",
                "meeting_id": "01935c1e-7f2a-7c3e-9a51-0b6f4d2e8a10",
                "scores": {"usefulness": 4, "atmosphere": 5},
                "comment": "Un échange qui m'a aidé"
            },
        }))
    }
}

impl utoipa::ToSchema for NewFeedback {}

/// A member's own feedback (nobody else reads the answers: coordinators and analysts see
/// averages over at least k people).
#[derive(Serialize, ToSchema)]
pub struct FeedbackDto {
    pub id: Uuid,
    pub pair_id: Uuid,
    pub kind: FeedbackKindDto,
    pub meeting_id: Option<Uuid>,
    pub scores: BTreeMap<String, i32>,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<StoredFeedback> for FeedbackDto {
    fn from(f: StoredFeedback) -> Self {
        Self {
            id: f.id,
            pair_id: f.pair_id,
            kind: f.feedback.kind.into(),
            meeting_id: f.feedback.meeting_id,
            scores: f
                .feedback
                .scores
                .iter()
                .map(|(d, s)| ((*d).to_owned(), *s))
                .collect(),
            comment: f.feedback.comment.map(Content::into_inner),
            created_at: f.created_at,
        }
    }
}

/// Give feedback (a member): one check-in per held meeting, one final evaluation once the
/// pair has ended (`409 feedback_exists`, `409 meeting_not_held`, `409 pair_not_finished`).
#[utoipa::path(
    tag = "feedback",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id")),
    request_body = NewFeedback,
    responses((status = 201, body = FeedbackDto))
)]
#[post("/pairs/{id}/feedback")]
pub async fn give_feedback(
    auth: Authorized<op::GiveFeedback>,
    db: RequestDb,
    id: web::Path<Uuid>,
    ValidJson(body): ValidJson<NewFeedback>,
) -> Result<HttpResponse, ApiError> {
    let mut scores = BTreeMap::new();
    let mut problems = Vec::new();
    for (dim, n) in body.scores {
        match n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e6)
                .map(|f| f as i64)
        }) {
            Some(v) => {
                scores.insert(dim, v);
            }
            None => problems.push(FieldProblem {
                pointer: format!("/scores/{dim}"),
                detail: format!("a score is a whole number 1 to 5, got {n}"),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    let draft = FeedbackDraft {
        kind: body.kind.into(),
        meeting_id: body.meeting_id,
        scores,
        comment: body.comment,
    };
    let given = feedback_use_case::give(&db, &auth.caller, id.into_inner(), draft).await?;
    Ok(HttpResponse::Created().json(FeedbackDto::from(given)))
}

/// The caller's own feedback in a pair (a member).
#[utoipa::path(
    tag = "feedback",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id")),
    responses((status = 200, body = crate::pagination::Paginated<FeedbackDto>))
)]
#[get("/pairs/{id}/feedback")]
pub async fn list_feedback(
    auth: Authorized<op::ListFeedback>,
    db: RequestDb,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mine = feedback_use_case::mine(&db, &auth.caller, id.into_inner()).await?;
    let items: Vec<FeedbackDto> = mine.into_iter().map(Into::into).collect();
    Ok(page_response(&req, items, None))
}

/// One pair's health, for its coordinators: flags and counts, no content.
#[derive(Serialize, ToSchema)]
pub struct PairHealthDto {
    pub pair_id: Uuid,
    pub status: PairStatusDto,
    pub mentor_person_id: Uuid,
    pub mentee_person_id: Uuid,
    pub flags: Vec<PairFlag>,
    /// Whole days since the last meeting held or scheduled before now; `null` if none.
    pub days_since_last_meeting: Option<i64>,
    pub next_meeting_at: Option<DateTime<Utc>>,
    pub objectives: ObjectiveCountsDto,
    pub meetings: MeetingCountsDto,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HealthQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
    /// Only pairs showing this flag.
    pub flag: Option<PairFlag>,
}

fn domain_flag(f: PairFlag) -> health::PairFlag {
    match f {
        PairFlag::HierarchyConflict => health::PairFlag::HierarchyConflict,
        PairFlag::Suspended => health::PairFlag::Suspended,
        PairFlag::CharterPending => health::PairFlag::CharterPending,
        PairFlag::RescheduleOwed => health::PairFlag::RescheduleOwed,
        PairFlag::Overdue => health::PairFlag::Overdue,
        PairFlag::ObjectivesMissing => health::PairFlag::ObjectivesMissing,
    }
}

/// Every pair of a program with its flags (`reschedule_owed`, `overdue`,
/// `objectives_missing`, `charter_pending`, `hierarchy_conflict`, `suspended`), days since
/// its last meeting and its counts — no content (coordinators, admins).
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id"), HealthQuery),
    responses((status = 200, body = crate::pagination::Paginated<PairHealthDto>))
)]
#[get("/programs/{id}/pair-health")]
pub async fn pair_health(
    _auth: Authorized<op::ReadPairHealth>,
    db: RequestDb,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: web::Query<HealthQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (limit, after) = page_params(query.limit, query.cursor.as_deref())?;
    let page = use_case::pair_health(
        &db,
        id.into_inner(),
        query.flag.map(domain_flag),
        after,
        limit,
    )
    .await?;
    let ctx = &page.context;
    let items: Vec<PairHealthDto> = page
        .pairs
        .into_iter()
        .map(|p| {
            let m = ctx.meetings.get(&p.id).cloned().unwrap_or_default();
            let counts = ctx.objectives.get(&p.id);
            let count = |s| counts.and_then(|c| c.get(&s)).copied().unwrap_or(0);
            use mentorat_domain::objective::ObjectiveStatus as O;
            PairHealthDto {
                pair_id: p.id,
                status: p.status.into(),
                mentor_person_id: p.mentor_person_id,
                mentee_person_id: p.mentee_person_id,
                flags: ctx.flags(&p).into_iter().map(Into::into).collect(),
                days_since_last_meeting: m.last_meeting_at.map(|t| (ctx.now - t).num_days()),
                next_meeting_at: m.next_meeting_at,
                objectives: ObjectiveCountsDto {
                    proposed: count(O::Proposed),
                    in_progress: count(O::InProgress),
                    achieved: count(O::Achieved),
                    abandoned: count(O::Abandoned),
                },
                meetings: MeetingCountsDto {
                    scheduled: m.scheduled,
                    held: m.held,
                    cancelled: m.cancelled,
                    cancelled_late: m.late,
                    missed: m.missed,
                },
            }
        })
        .collect();
    Ok(page_response(&req, items, page.next))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GroupByDto {
    Department,
    Site,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day counted, widened to the first day of its month (default: 12 months before
    /// `to`). The answer's `from` is the window actually covered. When both are given,
    /// `from` comes before `to` (`from < to`, else `422 validation_failed` at `/from`); a
    /// year from 1970 to 9999.
    #[param(pattern = "^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub from: Option<NaiveDate>,
    /// Day after the last one counted, widened to the first day of the next month unless it
    /// is a first already, and cut at the first day of the running month: a month is shown
    /// once it has closed (default: the first day of the running month). The answer's `to` is
    /// the window actually covered. After `from` when both are given; a year from 1970 to
    /// 9999.
    #[param(pattern = "^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub to: Option<NaiveDate>,
    /// Group by the mentee's department or site when the pair was formed (a later move
    /// does not carry a pair's history to another group).
    pub group_by: Option<GroupByDto>,
}

/// Figures of one group, or of the whole program; every figure is `null` when suppressed.
#[derive(Serialize, ToSchema)]
pub struct FiguresDto {
    /// The group (the mentee's department or site when the pair was formed); absent for
    /// the total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// No figure is shown: no department × site × month cell of at least k people in the
    /// window (R13). Only the total can be suppressed: a group is listed only when it shows a
    /// figure — a group whose cells are all under k is not listed, as one with no cell is
    /// not, so that a group's name never says someone of it took part.
    pub suppressed: bool,
    /// Withdrawn, always `null`: it counted the cells left out for being under k, and
    /// differenced across groupings and windows it said that a small cell had someone in it
    /// (a department known to have one mentee, one cell left out: that mentee took part).
    /// Cells under k leave no trace in a report (R13).
    #[schema(deprecated, value_type = Option<i64>)]
    pub cells_left_out: Option<i64>,
    /// The mentees of the pairs formed in the window (a mentee counted once per department ×
    /// site × month cell).
    pub people: Option<i64>,
    /// Pairs formed in the window.
    pub pairs: Option<i64>,
    /// Pairs that entered each status in the window (`proposed`: formed in it), each change
    /// counted in the month it happened (R13: a closed month's figures never change, so two
    /// reports of it, a day or a year apart, cannot be differenced to follow one pair).
    pub pairs_by_status: BTreeMap<String, Option<i64>>,
    /// Pairs whose first objective was agreed in the window.
    pub pairs_with_objectives_agreed: Option<i64>,
    /// Pairs whose first objective was achieved in the window.
    pub pairs_with_objectives_achieved: Option<i64>,
    pub meetings_held: Option<i64>,
    pub meetings_cancelled: Option<i64>,
    pub meetings_cancelled_late: Option<i64>,
    pub meetings_missed: Option<i64>,
    /// Withdrawn, always `null`: a median is one person's own delay (the third of five), and
    /// medians of overlapping windows or groups are no sums that R13's argument covers. Read
    /// `average_reschedule_days`.
    #[schema(deprecated)]
    pub median_reschedule_days: Option<f64>,
    /// Average days from a cancellation to the meeting scheduled in its place, over the
    /// make-ups recorded in the window: the kept cells' days over their make-ups (R13).
    pub average_reschedule_days: Option<f64>,
    /// Withdrawn, always `null`: it was the current state of the pairs formed in the window,
    /// which changed a closed month's figures whenever one pair moved on (R13). Read
    /// `pairs_with_objectives_agreed` instead.
    #[schema(deprecated)]
    pub share_with_agreed_objectives: Option<f64>,
    /// Withdrawn, always `null` (see `share_with_agreed_objectives`); read
    /// `pairs_with_objectives_achieved`.
    #[schema(deprecated)]
    pub share_with_achieved_objectives: Option<f64>,
    /// Share of the pairs formed in the window whose mentor and mentee were in different
    /// departments (fixed when the pair forms).
    pub share_cross_department: Option<f64>,
    /// Average score per dimension (1–5); `null` when fewer than k people answered it.
    pub feedback: BTreeMap<String, Option<f64>>,
}

fn figures(group: Option<String>, f: Figures) -> FiguresDto {
    FiguresDto {
        group,
        suppressed: f.suppressed,
        cells_left_out: None,
        people: f.people,
        pairs: f.pairs,
        pairs_by_status: f.pairs_by_status,
        pairs_with_objectives_agreed: f.pairs_with_objectives_agreed,
        pairs_with_objectives_achieved: f.pairs_with_objectives_achieved,
        meetings_held: f.meetings_held,
        meetings_cancelled: f.meetings_cancelled,
        meetings_cancelled_late: f.meetings_cancelled_late,
        meetings_missed: f.meetings_missed,
        median_reschedule_days: None,
        average_reschedule_days: f.average_reschedule_days,
        share_with_agreed_objectives: None,
        share_with_achieved_objectives: None,
        share_cross_department: f.share_cross_department,
        feedback: f.feedback,
    }
}

/// A program's report.
#[derive(Serialize, ToSchema)]
pub struct ReportDto {
    /// When the figures were computed: a replica keeps a report for a minute.
    pub computed_at: DateTime<Utc>,
    pub program_id: Uuid,
    /// First instant covered: the first day of a month (the requested `from`, widened).
    pub from: DateTime<Utc>,
    /// First instant not covered: the first day of a month, never after the first day of the
    /// running month.
    pub to: DateTime<Utc>,
    /// The grouping asked for, if any.
    #[schema(value_type = Option<GroupByDto>, example = "department")]
    pub group_by: Option<String>,
    /// No figure, nor any sum or difference of figures of any reports, is about fewer than k
    /// people.
    pub k: u32,
    pub total: FiguresDto,
    pub groups: Vec<FiguresDto>,
}

const FEEDBACK_DIMENSIONS: [&str; 10] = [
    "usefulness",
    "atmosphere",
    "valued",
    "regular_space",
    "autonomy",
    "communication",
    "management_insight",
    "solidarity",
    "collective_intelligence",
    "open_environment",
];

fn cell<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// The report as CSV: a header, one row per group, then the total (`group` = `(total)`).
/// Suppressed figures are empty cells. Written by `csv_export`: quoted as RFC 4180 wants, and
/// a name that a spreadsheet would run as a formula is prefixed with `'`.
fn csv(report: &ReportDto) -> Result<String, ApiError> {
    let statuses = ["proposed", "active", "completed", "ended", "suspended"];
    let mut header = vec![
        "group".to_owned(),
        "suppressed".into(),
        "cells_left_out".into(),
        "people".into(),
        "pairs".into(),
    ];
    header.extend(statuses.iter().map(|s| format!("pairs_{s}")));
    header.extend(
        [
            "meetings_held",
            "meetings_cancelled",
            "meetings_cancelled_late",
            "meetings_missed",
            "median_reschedule_days",
            "average_reschedule_days",
            "pairs_with_objectives_agreed",
            "pairs_with_objectives_achieved",
            "share_cross_department",
        ]
        .map(str::to_owned),
    );
    header.extend(FEEDBACK_DIMENSIONS.iter().map(|d| format!("feedback_{d}")));
    let row = |name: &str, f: &FiguresDto| {
        let mut cells = vec![
            name.to_owned(),
            f.suppressed.to_string(),
            cell(&f.cells_left_out),
            cell(&f.people),
            cell(&f.pairs),
        ];
        cells.extend(
            statuses
                .iter()
                .map(|s| cell(&f.pairs_by_status.get(*s).copied().flatten())),
        );
        cells.extend([
            cell(&f.meetings_held),
            cell(&f.meetings_cancelled),
            cell(&f.meetings_cancelled_late),
            cell(&f.meetings_missed),
            cell(&f.median_reschedule_days),
            cell(&f.average_reschedule_days),
            cell(&f.pairs_with_objectives_agreed),
            cell(&f.pairs_with_objectives_achieved),
            cell(&f.share_cross_department),
        ]);
        cells.extend(
            FEEDBACK_DIMENSIONS
                .iter()
                .map(|d| cell(&f.feedback.get(*d).copied().flatten())),
        );
        cells
    };
    let rows = std::iter::once(header)
        .chain(
            report
                .groups
                .iter()
                .map(|g| row(g.group.as_deref().unwrap_or_default(), g)),
        )
        .chain(std::iter::once(row("(total)", &report.total)));
    crate::csv_export::write(rows)
        .map_err(|e| ApiError::Internal(format!("the report could not be written as CSV: {e}")))
}

/// A program's figures over whole closed months (coordinators, admins, analysts): pairs
/// formed in the window, and the pairs that entered each status or agreed and achieved their
/// first objective in it (each change in the month it happened); meetings held, missed and
/// cancelled (late or not) by a member, as recorded in the window; average days to make up
/// for a cancellation, made up in the window; the share of the pairs formed across departments;
/// feedback averages of the answers given in the window.
/// R13: each kind of figure is a sum of department × site × month cells, and a cell of fewer
/// than k people (`k` in the answer) is left out of every figure, totals included, and leaves
/// no trace (a group is listed only with a figure; nothing counts what was left out): no sum
/// or difference of figures of any reports isolates fewer than k people. `from` and `to` are widened to whole months and cut at the running month (the
/// answer echoes the window covered); a window with no closed month is `422
/// report_window_open`. `Accept: text/csv` gives the same as CSV.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id"), ReportQuery),
    responses(
        (status = 200, description = "The report; the same as CSV with `Accept: text/csv`", content(
            (ReportDto = "application/json"),
            (String = "text/csv")
        ))
    )
)]
#[get("/programs/{id}/report")]
pub async fn program_report(
    _auth: Authorized<op::ReadReport>,
    db: RequestDb,
    k: web::Data<Anonymity>,
    cache: web::Data<use_case::ReportCache>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let in_range = |d: &NaiveDate| (1970..=9999).contains(&chrono::Datelike::year(d));
    for (pointer, date) in [("/from", &query.from), ("/to", &query.to)] {
        if date.as_ref().is_some_and(|d| !in_range(d)) {
            return Err(ApiError::validation(vec![FieldProblem {
                pointer: pointer.into(),
                detail: "a date between 1970-01-01 and 9999-12-31".into(),
            }]));
        }
    }
    if let (Some(from), Some(to)) = (query.from, query.to)
        && from >= to
    {
        return Err(ApiError::validation(vec![FieldProblem {
            pointer: "/from".into(),
            detail: format!("from ({from}) must come before to ({to})"),
        }]));
    }
    let window = anonymity::closed_window(query.from, query.to, Utc::now().date_naive())
        .map_err(|e| ApiError::Unprocessable(ErrorCode::ReportWindowOpen, e.to_string()))?;
    let group_by = query.group_by.map(|g| match g {
        GroupByDto::Department => GroupBy::Department,
        GroupByDto::Site => GroupBy::Site,
    });
    let report: Report =
        use_case::cached_report(&cache, &db, id.into_inner(), window, group_by, k.0).await?;
    let dto = ReportDto {
        computed_at: report.computed_at,
        program_id: report.program_id,
        from: report.from,
        to: report.to,
        group_by: report.group_by.map(|g| {
            match g {
                GroupBy::Department => "department",
                GroupBy::Site => "site",
            }
            .to_owned()
        }),
        k: report.k,
        total: figures(None, report.total),
        groups: report
            .groups
            .into_iter()
            .map(|(g, f)| figures(Some(g), f))
            .collect(),
    };
    let wants_csv = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"));
    if wants_csv {
        return Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
            .body(csv(&dto)?));
    }
    Ok(HttpResponse::Ok().json(dto))
}
