//! `/api/v1/me/…`: what concerns the caller themself.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use mentorat_persistence::{Db, notifications::Notification};
use mentorat_service::notifications as use_case;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::Authenticated,
    pagination::{page_params, page_response},
    problem::ApiError,
};

/// Something that happened to one of the caller's pairs: ids and metadata only, never content.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationDto {
    pub id: Uuid,
    /// `pair.proposed`, `pair.activated`, `pair.ended`, `pair.suspended`,
    /// `objective.proposed`, `objective.agreed`, `meeting.scheduled`, `meeting.rescheduled`,
    /// `meeting.cancelled`
    #[schema(example = "pair.proposed")]
    pub kind: String,
    pub program_id: Option<Uuid>,
    pub pair_id: Option<Uuid>,
    /// What inside the pair it is about: the meeting of `meeting.*`, the objective of
    /// `objective.*`.
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
    db: web::Data<Db>,
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
    db: web::Data<Db>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let notification = use_case::mark_read(&db, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(NotificationDto::from(notification)))
}
