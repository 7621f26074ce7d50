//! Notes (R5, R6) and concerns (R12) of a pair.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use mentorat_domain::{
    concern::ConcernStatus,
    note::{Note, Visibility},
};
use mentorat_persistence::concerns::Concern;
use mentorat_service::{concerns as concern_use_case, notes as use_case};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::{
    auth::{Authorized, op},
    etag::IfMatch,
    json::ValidJson,
    pagination::{page_params, page_response},
    problem::ApiError,
    routes::enrollments::PageQuery,
    tagged,
    unit::RequestDb,
};

/// `private`: its author only; `shared`: both members.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum VisibilityDto {
    Private,
    Shared,
}

impl From<VisibilityDto> for Visibility {
    fn from(v: VisibilityDto) -> Self {
        match v {
            VisibilityDto::Private => Self::Private,
            VisibilityDto::Shared => Self::Shared,
        }
    }
}

impl From<Visibility> for VisibilityDto {
    fn from(v: Visibility) -> Self {
        match v {
            Visibility::Private => Self::Private,
            Visibility::Shared => Self::Shared,
        }
    }
}

/// A note of a pair's member — content: encrypted at rest, its readers only.
#[derive(Serialize, ToSchema)]
pub struct NoteDto {
    pub id: Uuid,
    pub pair_id: Uuid,
    /// The member (person id) who wrote it; the only one who changes or deletes it.
    pub author_id: Uuid,
    pub visibility: VisibilityDto,
    pub body: String,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Note> for NoteDto {
    fn from(n: Note) -> Self {
        Self {
            id: n.id,
            pair_id: n.pair_id,
            author_id: n.author_id,
            visibility: n.visibility.into(),
            body: n.body.into_inner(),
            revision: n.revision,
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Ce qui m'a aidé aujourd'hui…", "visibility": "private"}))]
pub struct NewNote {
    #[validate(length(min = 1, max = 20000))]
    #[schema(
        min_length = 1,
        max_length = 20000,
        pattern = "[^\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub body: String,
    pub visibility: VisibilityDto,
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"visibility": "shared"}))]
pub struct UpdateNote {
    #[validate(length(min = 1, max = 20000))]
    #[schema(
        min_length = 1,
        max_length = 20000,
        pattern = "[^\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub body: Option<String>,
    pub visibility: Option<VisibilityDto>,
}

/// The pair's shared notes and the caller's own private ones (members only).
#[utoipa::path(
    tag = "notes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id"), PageQuery),
    responses((status = 200, body = crate::pagination::Paginated<NoteDto>))
)]
#[get("/pairs/{id}/notes")]
pub async fn list_notes(
    auth: Authorized<op::ListNotes>,
    db: RequestDb,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (limit, after) = page_params(query.limit, query.cursor.as_deref())?;
    let page = use_case::list(&db, &auth.caller, id.into_inner(), after, limit).await?;
    let items: Vec<NoteDto> = page.items.into_iter().map(Into::into).collect();
    Ok(page_response(&req, items, page.next))
}

/// Write a note (a member of an active pair).
#[utoipa::path(
    tag = "notes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id")),
    request_body = NewNote,
    responses((status = 201, body = NoteDto, headers(("Location" = String), ("ETag" = String))))
)]
#[post("/pairs/{id}/notes")]
pub async fn write_note(
    auth: Authorized<op::WriteNote>,
    db: RequestDb,
    id: web::Path<Uuid>,
    ValidJson(body): ValidJson<NewNote>,
) -> Result<HttpResponse, ApiError> {
    let pair_id = id.into_inner();
    let created = use_case::create(
        &db,
        &auth.caller,
        pair_id,
        body.visibility.into(),
        Some(body.body),
    )
    .await?;
    let location = format!("/api/v1/pairs/{pair_id}/notes/{}", created.id);
    Ok(tagged::created(
        location,
        created.revision,
        NoteDto::from(created),
    ))
}

/// One note: its author, or the other member when it is shared; the other member's private
/// note is `404`.
#[utoipa::path(
    tag = "notes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id"), ("note_id" = Uuid, Path, description = "Note id")),
    responses((status = 200, body = NoteDto, headers(("ETag" = String))), (status = 304, description = "Not modified"))
)]
#[get("/pairs/{id}/notes/{note_id}")]
pub async fn get_note(
    auth: Authorized<op::ReadNote>,
    db: RequestDb,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (pair_id, id) = path.into_inner();
    let n = use_case::get(&db, &auth.caller, pair_id, id).await?;
    Ok(tagged::read(&req, n.revision, NoteDto::from(n)))
}

/// Change a note's body or visibility — its author only (`403 not_author` for the other
/// member's shared note, R6). `If-Match` → `412` when stale.
#[utoipa::path(
    tag = "notes",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Pair id"),
        ("note_id" = Uuid, Path, description = "Note id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on"),
    ),
    request_body = UpdateNote,
    responses((status = 200, body = NoteDto, headers(("ETag" = String))))
)]
#[patch("/pairs/{id}/notes/{note_id}")]
pub async fn update_note(
    auth: Authorized<op::UpdateNote>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    ValidJson(body): ValidJson<UpdateNote>,
) -> Result<HttpResponse, ApiError> {
    let (pair_id, id) = path.into_inner();
    let n = use_case::update(
        &db,
        &auth.caller,
        pair_id,
        id,
        if_match.expected_revision(),
        body.visibility.map(Into::into),
        body.body,
    )
    .await?;
    Ok(tagged::ok(n.revision, NoteDto::from(n)))
}

/// Delete a note — its author only (R6).
#[utoipa::path(
    tag = "notes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id"), ("note_id" = Uuid, Path, description = "Note id")),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/pairs/{id}/notes/{note_id}")]
pub async fn delete_note(
    auth: Authorized<op::DeleteNote>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (pair_id, id) = path.into_inner();
    use_case::delete(&db, &auth.caller, pair_id, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Where the coordinators stand with a concern: `open → acknowledged → resolved` (or `open →
/// resolved` at once); `resolved` is final.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConcernStatusDto {
    Open,
    Acknowledged,
    Resolved,
}

impl From<ConcernStatus> for ConcernStatusDto {
    fn from(s: ConcernStatus) -> Self {
        match s {
            ConcernStatus::Open => Self::Open,
            ConcernStatus::Acknowledged => Self::Acknowledged,
            ConcernStatus::Resolved => Self::Resolved,
        }
    }
}

/// A member's concern, for the program's coordinators and its author (R12).
#[derive(Serialize, ToSchema)]
pub struct ConcernDto {
    pub id: Uuid,
    pub pair_id: Uuid,
    pub program_id: Uuid,
    /// The member (person id) who raised it.
    pub author_id: Uuid,
    /// The author's words (empty once erased, R14).
    pub text: String,
    pub status: ConcernStatusDto,
    /// The coordinators' response to the author; `null` until they write one.
    pub response: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Concern> for ConcernDto {
    fn from(c: Concern) -> Self {
        Self {
            id: c.id,
            pair_id: c.pair_id,
            program_id: c.program_id,
            author_id: c.author_id,
            text: c.text,
            status: c.status.into(),
            response: c.response,
            acknowledged_at: c.acknowledged_at,
            resolved_at: c.resolved_at,
            revision: c.revision,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "Nos rendez-vous sont sans cesse annulés ; je souhaite arrêter."}))]
pub struct NewConcern {
    #[validate(length(min = 1, max = 10000))]
    #[schema(
        min_length = 1,
        max_length = 10000,
        pattern = "[^\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub text: String,
}

/// Raise a concern to the program's coordinators (a member, R12): the one path by which a
/// pair's words reach them, by the member's own choice. The coordinators are notified and a
/// `concern.raised` event is written.
#[utoipa::path(
    tag = "concerns",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id")),
    request_body = NewConcern,
    responses((status = 201, body = ConcernDto))
)]
#[post("/pairs/{id}/concerns")]
pub async fn raise_concern(
    auth: Authorized<op::RaiseConcern>,
    db: RequestDb,
    id: web::Path<Uuid>,
    ValidJson(body): ValidJson<NewConcern>,
) -> Result<HttpResponse, ApiError> {
    let c = concern_use_case::raise(&db, &auth.caller, id.into_inner(), Some(body.text)).await?;
    let location = format!("/api/v1/programs/{}/concerns/{}", c.program_id, c.id);
    Ok(tagged::created(location, c.revision, ConcernDto::from(c)))
}

/// The concerns raised in a program (coordinators, admins).
#[utoipa::path(
    tag = "concerns",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Program id"), PageQuery),
    responses((status = 200, body = crate::pagination::Paginated<ConcernDto>))
)]
#[get("/programs/{id}/concerns")]
pub async fn list_concerns(
    _auth: Authorized<op::ListConcerns>,
    db: RequestDb,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (limit, after) = page_params(query.limit, query.cursor.as_deref())?;
    let page = concern_use_case::list(&db, id.into_inner(), after, limit).await?;
    let items: Vec<ConcernDto> = page.items.into_iter().map(Into::into).collect();
    Ok(page_response(&req, items, page.next))
}
