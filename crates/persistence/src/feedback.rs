//! Feedback: the scores (one row per dimension, for reports) and the comment (sealed, its
//! author's only).

use chrono::{DateTime, Utc};
use mentorat_domain::{
    Content,
    feedback::{Feedback, FeedbackKind},
};
use sea_orm::{ConnectionTrait, Value};
use uuid::Uuid;

use crate::{
    crypto::{Aad, Keyring},
    error::StoreError,
    sql::statement,
};

pub use mentorat_domain::feedback::StoredFeedback;

/// Write feedback and its scores (call inside a transaction). A second check-in for the same
/// meeting, or a second final evaluation, is `Duplicate`.
pub async fn insert(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    pair_id: Uuid,
    author_id: Uuid,
    feedback: &Feedback,
    now: DateTime<Utc>,
) -> Result<Uuid, StoreError> {
    let backend = conn.get_database_backend();
    let id = Uuid::now_v7();
    conn.execute_raw(statement(
        backend,
        "INSERT INTO feedback (id, pair_id, author_id, kind, meeting_id, comment, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        vec![
            id.into(),
            pair_id.into(),
            author_id.into(),
            feedback.kind.as_str().into(),
            feedback.meeting_id.unwrap_or(Uuid::nil()).into(),
            keys.seal_opt(
                feedback.comment.as_ref().map(Content::expose),
                &Aad::row("feedback", "comment", id)
                    .and("pair_id", pair_id)
                    .and("author_id", author_id),
            )?
            .into(),
            now.into(),
        ],
    ))
    .await?;
    for (dimension, score) in &feedback.scores {
        conn.execute_raw(statement(
            backend,
            "INSERT INTO feedback_scores (feedback_id, pair_id, author_id, dimension, score, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                id.into(),
                pair_id.into(),
                author_id.into(),
                (*dimension).into(),
                Value::SmallInt(Some(i16::try_from(*score).unwrap_or(0))),
                now.into(),
            ],
        ))
        .await?;
    }
    Ok(id)
}

/// The author's own feedback in a pair, oldest first.
pub async fn of_author(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    pair_id: Uuid,
    author_id: Uuid,
) -> Result<Vec<StoredFeedback>, StoreError> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(statement(
            backend,
            "SELECT f.id AS id, f.kind AS kind, f.meeting_id AS meeting_id, f.comment AS comment, \
                    f.created_at AS created_at, s.dimension AS dimension, s.score AS score \
             FROM feedback f JOIN feedback_scores s ON s.feedback_id = f.id \
             WHERE f.pair_id = $1 AND f.author_id = $2 ORDER BY f.id",
            vec![pair_id.into(), author_id.into()],
        ))
        .await?;
    let mut out: Vec<StoredFeedback> = Vec::new();
    for row in rows {
        let id: Uuid = row.try_get("", "id")?;
        let dimension: String = row.try_get("", "dimension")?;
        let score: i16 = row.try_get("", "score")?;
        if out.last().map(|f| f.id) != Some(id) {
            let kind: String = row.try_get("", "kind")?;
            let kind = FeedbackKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("feedback {id} has kind {kind:?}")))?;
            let meeting: Uuid = row.try_get("", "meeting_id")?;
            let comment: Option<String> = row.try_get("", "comment")?;
            out.push(StoredFeedback {
                id,
                pair_id,
                author_id,
                feedback: Feedback {
                    kind,
                    meeting_id: (!meeting.is_nil()).then_some(meeting),
                    scores: Vec::new(),
                    comment: keys.open_content_opt(
                        comment.as_deref(),
                        &Aad::row("feedback", "comment", id)
                            .and("pair_id", pair_id)
                            .and("author_id", author_id),
                    )?,
                },
                created_at: row.try_get("", "created_at")?,
            });
        }
        if let Some(last) = out.last_mut() {
            let name = last
                .feedback
                .kind
                .dimensions()
                .iter()
                .find(|d| **d == dimension)
                .copied()
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("feedback {id}: dimension {dimension:?}"))
                })?;
            last.feedback.scores.push((name, i32::from(score)));
        }
    }
    Ok(out)
}
