//! Feedback of a pair's members: a member gives it and reads their own (coordinators and
//! analysts see averages over at least k people, in the report).

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use mentorat_domain::{
    Content,
    feedback::{self, FeedbackDraft, FeedbackKind, StoredFeedback},
};
use mentorat_service::feedback as use_case;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::{
    auth::{Authorized, op},
    json::ValidJson,
    pagination::page_response,
    problem::ApiError,
    unit::RequestDb,
};

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
    let draft = FeedbackDraft {
        kind: body.kind.into(),
        meeting_id: body.meeting_id,
        scores: feedback::whole_scores(body.scores)?,
        comment: body.comment,
    };
    let given = use_case::give(&db, &auth.caller, id.into_inner(), draft).await?;
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
    let mine = use_case::mine(&db, &auth.caller, id.into_inner()).await?;
    let items: Vec<FeedbackDto> = mine.into_iter().map(Into::into).collect();
    Ok(page_response(&req, items, None))
}
