//! Pair health, for a program's coordinators: each pair's flags, days since its last meeting
//! and its counts — no content.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use mentorat_domain::{health, objective::ObjectiveStatus as O};
use mentorat_service::report as use_case;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{Authorized, op},
    pagination::{page_params, page_response},
    problem::ApiError,
    routes::pairs::{MeetingCountsDto, ObjectiveCountsDto, PairFlag, PairStatusDto},
    unit::RequestDb,
};

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
