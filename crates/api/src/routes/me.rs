//! `/api/v1/me/…`: what concerns the caller themself.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use mentorat_domain::notification::Notification;
use mentorat_service::notifications as use_case;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::Authenticated,
    pagination::{page_params, page_response},
    problem::ApiError,
    unit::RequestDb,
};

/// Something that happened to one of the caller's pairs: ids and metadata only, never content.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationDto {
    pub id: Uuid,
    /// `pair.proposed`, `pair.activated`, `pair.ended`, `pair.suspended`,
    /// `objective.proposed`, `objective.agreed`, `meeting.scheduled`, `meeting.rescheduled`,
    /// `meeting.cancelled`, `meeting.upcoming` (a reminder, the program's `reminder_hours`
    /// before the meeting); to admins, `webhook.disabled` (the webhook in `subject_id`)
    #[schema(example = "pair.proposed")]
    pub kind: String,
    pub program_id: Option<Uuid>,
    pub pair_id: Option<Uuid>,
    /// What inside the pair it is about: the meeting of `meeting.*`, the objective of
    /// `objective.*`; the webhook of `webhook.disabled`.
    pub subject_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<Notification> for NotificationDto {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            kind: n.kind,
            program_id: n.program_id,
            pair_id: n.pair_id,
            subject_id: n.subject_id,
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationsQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
}

/// The caller's notifications, newest first (anyone with a token).
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    params(NotificationsQuery),
    responses((status = 200, body = crate::pagination::Paginated<NotificationDto>))
)]
#[get("/me/notifications")]
pub async fn list_notifications(
    Authenticated(caller): Authenticated,
    db: RequestDb,
    req: HttpRequest,
    query: web::Query<NotificationsQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, before) = page_params(query.limit, query.cursor.as_deref())?;
    let page = use_case::list(&db, &caller, before, limit).await?;
    let items: Vec<NotificationDto> = page.items.into_iter().map(Into::into).collect();
    Ok(page_response(&req, items, page.next))
}

/// Mark one of the caller's notifications read (another person's does not exist).
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Notification id")),
    responses((status = 200, body = NotificationDto))
)]
#[post("/me/notifications/{id}/read")]
pub async fn read_notification(
    Authenticated(caller): Authenticated,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let notification = use_case::mark_read(&db, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(NotificationDto::from(notification)))
}

/// The caller: their person (if the HRIS knows them), enrollments and pairs.
#[derive(Serialize, ToSchema)]
pub struct MeDto {
    /// The token's subject.
    pub subject: String,
    #[schema(schema_with = crate::vocabulary::roles)]
    pub roles: Vec<String>,
    pub person: Option<crate::routes::people::PersonDto>,
    pub enrollments: Vec<crate::routes::enrollments::EnrollmentDto>,
    pub pairs: Vec<crate::routes::pairs::PairDto>,
}

fn me_dto(caller: &mentorat_domain::Caller, o: mentorat_service::me::Overview) -> MeDto {
    MeDto {
        subject: caller.subject.as_str().to_owned(),
        roles: caller.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        person: o.person.map(Into::into),
        enrollments: o
            .enrollments
            .into_iter()
            .map(|(e, current)| crate::routes::enrollments::dto(e, current))
            .collect(),
        pairs: o
            .pairs
            .into_iter()
            .map(|p| crate::routes::pairs::dto(p, &o.context, true))
            .collect(),
    }
}

/// Who the caller is to the service: person, enrollments and pairs (anyone with a token).
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses((status = 200, body = MeDto))
)]
#[get("/me")]
pub async fn read_me(
    auth: crate::auth::Authorized<crate::auth::op::ReadMe>,
    db: RequestDb,
) -> Result<HttpResponse, ApiError> {
    let overview = mentorat_service::me::overview(&db, &auth.caller).await?;
    Ok(HttpResponse::Ok().json(me_dto(&auth.caller, overview)))
}

/// Everything the service holds about the caller (GDPR right of access).
#[derive(Serialize, ToSchema)]
pub struct ExportDto {
    pub generated_at: DateTime<Utc>,
    pub me: MeDto,
    /// The objectives of the caller's pairs (both members wrote them).
    pub objectives: Vec<crate::routes::objectives::ObjectiveDto>,
    /// The meetings of the caller's pairs.
    pub meetings: Vec<crate::routes::meetings::MeetingDto>,
    /// The notes the caller wrote, private and shared.
    pub notes: Vec<crate::routes::notes::NoteDto>,
    /// The feedback the caller gave.
    pub feedback: Vec<crate::routes::feedback::FeedbackDto>,
    /// The concerns the caller raised.
    pub concerns: Vec<crate::routes::concerns::ConcernDto>,
    /// The requests the caller sent to mentors, with their messages (issue 17).
    pub requests: Vec<crate::routes::requests::MenteeRequestDto>,
    pub notifications: Vec<NotificationDto>,
    /// What the audit log recorded of the caller's own requests.
    pub audit_events: Vec<crate::routes::audit::AuditEventDto>,
}

/// Everything the service holds about the caller, in one JSON document (GDPR right of
/// access): their person, enrollments, pairs, the objectives and meetings of their pairs, the
/// notes they wrote, the feedback they gave, the concerns they raised, their notifications and
/// the audit log of their own requests. Served with `Content-Disposition: attachment`.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses((status = 200, body = ExportDto))
)]
#[get("/me/export")]
pub async fn export_me(
    auth: crate::auth::Authorized<crate::auth::op::ExportMe>,
    db: RequestDb,
    log: actix_web::web::Data<crate::audit::AuditLog>,
) -> Result<HttpResponse, ApiError> {
    // The export lists the caller's audit events: this replica's are written first.
    log.flush().await;
    let e = mentorat_service::me::export(&db, &auth.caller).await?;
    let dto = ExportDto {
        generated_at: Utc::now(),
        me: me_dto(&auth.caller, e.overview),
        objectives: e.objectives.into_iter().map(Into::into).collect(),
        meetings: e.meetings.into_iter().map(Into::into).collect(),
        notes: e.notes.into_iter().map(Into::into).collect(),
        feedback: e.feedback.into_iter().map(Into::into).collect(),
        concerns: e.concerns.into_iter().map(Into::into).collect(),
        requests: e
            .requests
            .into_iter()
            .map(|r| mentorat_service::requests::SeenRequest::party(r).into())
            .collect(),
        notifications: e.notifications.into_iter().map(Into::into).collect(),
        audit_events: e.audit_events.into_iter().map(Into::into).collect(),
    };
    Ok(HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"mentorat-export.json\"",
        ))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(dto))
}
