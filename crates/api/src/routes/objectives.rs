//! Objectives of a pair (R4): members only. Coordinators and admins get `403 confidential`,
//! anyone else `404` — the content does not exist for them (R5).

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use mentorat_domain::objective::ObjectiveRevision;
use mentorat_domain::{
    Content,
    objective::{Objective, ObjectiveChanges, ObjectiveDraft, ObjectiveStatus},
};
use mentorat_service::objectives as use_case;
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

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ObjectiveStatusDto {
    Proposed,
    InProgress,
    Achieved,
    Abandoned,
}

impl From<ObjectiveStatus> for ObjectiveStatusDto {
    fn from(s: ObjectiveStatus) -> Self {
        match s {
            ObjectiveStatus::Proposed => Self::Proposed,
            ObjectiveStatus::InProgress => Self::InProgress,
            ObjectiveStatus::Achieved => Self::Achieved,
            ObjectiveStatus::Abandoned => Self::Abandoned,
        }
    }
}

impl From<ObjectiveStatusDto> for ObjectiveStatus {
    fn from(s: ObjectiveStatusDto) -> Self {
        match s {
            ObjectiveStatusDto::Proposed => Self::Proposed,
            ObjectiveStatusDto::InProgress => Self::InProgress,
            ObjectiveStatusDto::Achieved => Self::Achieved,
            ObjectiveStatusDto::Abandoned => Self::Abandoned,
        }
    }
}

/// An objective of the pair — content: its two members only.
#[derive(Serialize, ToSchema)]
pub struct ObjectiveDto {
    pub id: Uuid,
    pub pair_id: Uuid,
    /// The member (person id) who proposed it; the other one agrees.
    pub proposed_by: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub success_criteria: Option<String>,
    pub status: ObjectiveStatusDto,
    /// 0 to 100.
    pub progress: i32,
    pub agreed_by: Option<Uuid>,
    pub agreed_at: Option<DateTime<Utc>>,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Objective> for ObjectiveDto {
    fn from(o: Objective) -> Self {
        Self {
            id: o.id,
            pair_id: o.pair_id,
            proposed_by: o.proposed_by,
            title: o.text.title.into_inner(),
            description: o.text.description.map(Content::into_inner),
            success_criteria: o.text.success_criteria.map(Content::into_inner),
            status: o.status.into(),
            progress: o.progress,
            agreed_by: o.agreed_by,
            agreed_at: o.agreed_at,
            revision: o.revision,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// A new objective.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "Conduire un entretien annuel",
    "description": "Préparer et mener les entretiens de l'équipe de nuit.",
    "success_criteria": "Trois entretiens menés avant juin"
}))]
pub struct NewObjective {
    #[validate(length(min = 1, max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "[^\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub title: String,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub success_criteria: Option<String>,
}

/// A change: only the fields present change; `null` clears a text. Every change is a
/// revision; `comment` says why.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"progress": 40, "comment": "Deux entretiens sur trois"}))]
pub struct UpdateObjective {
    #[validate(length(min = 1, max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "[^\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "crate::json::present")]
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::json::present")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub success_criteria: Option<Option<String>>,
    /// `proposed → abandoned`, `in_progress → achieved | abandoned`; `in_progress` comes from
    /// the other member's agreement.
    pub status: Option<ObjectiveStatusDto>,
    #[validate(range(min = 0, max = 100))]
    #[schema(minimum = 0, maximum = 100)]
    #[serde(default, deserialize_with = "crate::json::whole_number")]
    pub progress: Option<i64>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

/// The pair's objectives (members only).
#[utoipa::path(
    tag = "objectives",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id"), PageQuery),
    responses((status = 200, body = crate::pagination::Paginated<ObjectiveDto>))
)]
#[get("/pairs/{id}/objectives")]
pub async fn list_objectives(
    auth: Authorized<op::ListObjectives>,
    db: RequestDb,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (limit, after) = page_params(query.limit, query.cursor.as_deref())?;
    let page = use_case::list(&db, &auth.caller, id.into_inner(), after, limit).await?;
    let items: Vec<ObjectiveDto> = page.items.into_iter().map(Into::into).collect();
    Ok(page_response(&req, items, page.next))
}

/// Propose an objective (either member, R4, R6): it stays `proposed` until the other member
/// agrees; they are notified.
#[utoipa::path(
    tag = "objectives",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id")),
    request_body = NewObjective,
    responses((status = 201, body = ObjectiveDto, headers(("Location" = String), ("ETag" = String))))
)]
#[post("/pairs/{id}/objectives")]
pub async fn propose_objective(
    auth: Authorized<op::ProposeObjective>,
    db: RequestDb,
    id: web::Path<Uuid>,
    ValidJson(body): ValidJson<NewObjective>,
) -> Result<HttpResponse, ApiError> {
    let pair_id = id.into_inner();
    let draft = ObjectiveDraft {
        title: Some(body.title),
        description: body.description,
        success_criteria: body.success_criteria,
    };
    let created = use_case::propose(&db, &auth.caller, pair_id, draft).await?;
    let location = format!("/api/v1/pairs/{pair_id}/objectives/{}", created.id);
    Ok(tagged::created(
        location,
        created.revision,
        ObjectiveDto::from(created),
    ))
}

/// One objective (members only).
#[utoipa::path(
    tag = "objectives",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id"), ("objective_id" = Uuid, Path, description = "Objective id")),
    responses((status = 200, body = ObjectiveDto, headers(("ETag" = String))), (status = 304, description = "Not modified"))
)]
#[get("/pairs/{id}/objectives/{objective_id}")]
pub async fn get_objective(
    auth: Authorized<op::ReadObjective>,
    db: RequestDb,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (pair_id, id) = path.into_inner();
    let o = use_case::get(&db, &auth.caller, pair_id, id).await?;
    Ok(tagged::read(&req, o.revision, ObjectiveDto::from(o)))
}

/// Change an objective (either member): text, `status`, `progress`, with a `comment` kept in
/// the revision. Send `If-Match` with the `ETag` you read: when the other member changed it
/// meanwhile, the answer is `412` and nothing is overwritten.
#[utoipa::path(
    tag = "objectives",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Pair id"),
        ("objective_id" = Uuid, Path, description = "Objective id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on"),
    ),
    request_body = UpdateObjective,
    responses((status = 200, body = ObjectiveDto, headers(("ETag" = String))))
)]
#[patch("/pairs/{id}/objectives/{objective_id}")]
pub async fn update_objective(
    auth: Authorized<op::UpdateObjective>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    ValidJson(body): ValidJson<UpdateObjective>,
) -> Result<HttpResponse, ApiError> {
    let (pair_id, id) = path.into_inner();
    let changes = ObjectiveChanges {
        title: body.title,
        description: body.description,
        success_criteria: body.success_criteria,
        status: body.status.map(Into::into),
        progress: body.progress,
        comment: body.comment,
    };
    let o = use_case::update(
        &db,
        &auth.caller,
        pair_id,
        id,
        if_match.expected_revision(),
        changes,
    )
    .await?;
    Ok(tagged::ok(o.revision, ObjectiveDto::from(o)))
}

/// Agree to an objective the *other* member proposed (R4): it is then `in_progress`
/// (`409 cannot_agree_own_objective` for your own).
#[utoipa::path(
    tag = "objectives",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id"), ("objective_id" = Uuid, Path, description = "Objective id")),
    responses((status = 200, body = ObjectiveDto, headers(("ETag" = String))))
)]
#[post("/pairs/{id}/objectives/{objective_id}/agree")]
pub async fn agree_objective(
    auth: Authorized<op::AgreeObjective>,
    db: RequestDb,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (pair_id, id) = path.into_inner();
    let o = use_case::agree(&db, &auth.caller, pair_id, id).await?;
    Ok(tagged::ok(o.revision, ObjectiveDto::from(o)))
}

/// One field a revision changed.
#[derive(Serialize, ToSchema)]
pub struct FieldChangeDto {
    #[schema(example = "progress")]
    pub field: String,
    #[schema(value_type = Object)]
    pub before: serde_json::Value,
    #[schema(value_type = Object)]
    pub after: serde_json::Value,
}

/// One revision of an objective: who, when, what changed, why.
#[derive(Serialize, ToSchema)]
pub struct RevisionDto {
    pub revision: i32,
    /// The member (person id) who made the change.
    pub changed_by: Uuid,
    /// `proposed`, `edited` or `agreed`.
    pub action: String,
    pub changes: Vec<FieldChangeDto>,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<ObjectiveRevision> for RevisionDto {
    fn from(r: ObjectiveRevision) -> Self {
        let changes = match r.changes {
            serde_json::Value::Array(items) => items
                .into_iter()
                .map(|c| FieldChangeDto {
                    field: c["field"].as_str().unwrap_or_default().to_owned(),
                    before: c["before"].clone(),
                    after: c["after"].clone(),
                })
                .collect(),
            _ => Vec::new(),
        };
        Self {
            revision: r.revision,
            changed_by: r.changed_by,
            action: r.action,
            changes,
            comment: r.comment,
            created_at: r.created_at,
        }
    }
}

/// Every revision of an objective, oldest first (members only).
#[utoipa::path(
    tag = "objectives",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pair id"), ("objective_id" = Uuid, Path, description = "Objective id"), PageQuery),
    responses((status = 200, body = crate::pagination::Paginated<RevisionDto>))
)]
#[get("/pairs/{id}/objectives/{objective_id}/revisions")]
pub async fn list_revisions(
    auth: Authorized<op::ListObjectiveRevisions>,
    db: RequestDb,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (pair_id, id) = path.into_inner();
    let query = query.into_inner();
    let (limit, after) = page_params(query.limit, query.cursor.as_deref())?;
    let page = use_case::revisions(&db, &auth.caller, pair_id, id, after, limit).await?;
    let items: Vec<RevisionDto> = page.items.into_iter().map(Into::into).collect();
    Ok(page_response(&req, items, page.next))
}
