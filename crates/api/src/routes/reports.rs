//! Program reports (coordinators, admins and analysts, R13): figures over whole closed
//! months, none about fewer than k people, as JSON or CSV.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, get, http::header, web};
use chrono::{DateTime, NaiveDate, Utc};
use mentorat_domain::{anonymity::Grouping, feedback::ALL_DIMENSIONS, pair::PairStatus};
use mentorat_service::report::{self as use_case, Figures, Report};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{Authorized, op},
    problem::ApiError,
    unit::RequestDb,
};

/// R13's k (`MENTORAT_K_ANONYMITY`).
#[derive(Debug, Clone, Copy)]
pub struct Anonymity(pub u32);

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GroupByDto {
    Department,
    Site,
}

impl From<GroupByDto> for Grouping {
    fn from(g: GroupByDto) -> Self {
        match g {
            GroupByDto::Department => Self::Department,
            GroupByDto::Site => Self::Site,
        }
    }
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

fn cell<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// The report as CSV: a header, one row per group, then the total (`group` = `(total)`).
/// Suppressed figures are empty cells. Written by `csv_export`: quoted as RFC 4180 wants, and
/// a name that a spreadsheet would run as a formula is prefixed with `'`.
fn csv(report: &ReportDto) -> Result<String, ApiError> {
    let statuses = PairStatus::ALL.map(PairStatus::as_str);
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
    header.extend(ALL_DIMENSIONS.iter().map(|d| format!("feedback_{d}")));
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
            ALL_DIMENSIONS
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
    let group_by = query.group_by.map(Grouping::from);
    let report: Report = use_case::requested_report(
        &cache,
        &db,
        id.into_inner(),
        query.from,
        query.to,
        group_by,
        k.0,
    )
    .await?;
    let dto = ReportDto {
        computed_at: report.computed_at,
        program_id: report.program_id,
        from: report.from,
        to: report.to,
        group_by: report.group_by.map(|g| g.as_str().to_owned()),
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
