//! Notes of a pair (R5, R6).

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use mentorat_domain::note::{Note, Visibility};
use mentorat_service::notes as use_case;
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
