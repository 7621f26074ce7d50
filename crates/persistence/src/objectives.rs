//! Objectives and their revisions (R4). Every write of an objective writes its revision in
//! the same transaction; a write names the revision it read, so two members editing at once
//! never lose an update (`StaleRevision`).

use chrono::{DateTime, Utc};
use mentorat_domain::{
    Content,
    objective::{Edit, FieldChange, FieldValue, Objective, ObjectiveStatus, ObjectiveText},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::Expr,
};
use serde_json::{Value, json};
use std::collections::HashMap;

use uuid::Uuid;

use crate::{
    Page,
    crypto::{Aad, Keyring},
    entity::{
        objective::{self, Column, Entity as Objectives},
        objective_revision::{self, Entity as Revisions},
    },
    error::StoreError,
};

pub use mentorat_domain::objective::ObjectiveRevision;

fn value(v: &FieldValue) -> Value {
    match v {
        FieldValue::Text(t) => json!(t.as_ref().map(Content::expose)),
        FieldValue::Status(s) => json!(s.as_str()),
        FieldValue::Progress(p) => json!(p),
    }
}

fn changes_json(changes: &[FieldChange]) -> Value {
    Value::Array(
        changes
            .iter()
            .map(
                |c| json!({"field": c.field, "before": value(&c.before), "after": value(&c.after)}),
            )
            .collect(),
    )
}

/// Where an objective's words live: their row and column, its pair and its revision (every
/// write of an objective re-seals its words).
fn aad(column: &'static str, id: Uuid, pair_id: Uuid, revision: i32) -> Aad<'static> {
    Aad::row("objectives", column, id)
        .and("pair_id", pair_id)
        .and("revision", revision)
}

/// Where a revision's words live: their row and column, its objective and its number.
fn revision_aad(column: &'static str, id: Uuid, objective_id: Uuid, revision: i32) -> Aad<'static> {
    Aad::row("objective_revisions", column, id)
        .and("objective_id", objective_id)
        .and("revision", revision)
}

/// The objective's words sealed for `revision`, as (title, description, success criteria).
type Sealed = (String, Option<String>, Option<String>);

fn seal_text(
    keys: &Keyring,
    text: &ObjectiveText,
    id: Uuid,
    pair_id: Uuid,
    revision: i32,
) -> Result<Sealed, StoreError> {
    Ok((
        keys.seal(text.title.expose(), &aad("title", id, pair_id, revision))?,
        keys.seal_opt(
            text.description.as_ref().map(Content::expose),
            &aad("description", id, pair_id, revision),
        )?,
        keys.seal_opt(
            text.success_criteria.as_ref().map(Content::expose),
            &aad("success_criteria", id, pair_id, revision),
        )?,
    ))
}

#[allow(clippy::too_many_arguments)]
async fn write_revision(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    objective_id: Uuid,
    revision: i32,
    by: Uuid,
    action: &str,
    changes: Value,
    comment: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let id = Uuid::now_v7();
    Revisions::insert(objective_revision::ActiveModel {
        id: Set(id),
        objective_id: Set(objective_id),
        revision: Set(revision),
        changed_by: Set(by),
        action: Set(action.to_owned()),
        changes: Set(keys.seal(
            &changes.to_string(),
            &revision_aad("changes", id, objective_id, revision),
        )?),
        comment: Set(keys.seal_opt(
            comment.as_deref(),
            &revision_aad("comment", id, objective_id, revision),
        )?),
        created_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// A proposed objective, and its first revision.
pub async fn insert(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    pair_id: Uuid,
    proposed_by: Uuid,
    text: ObjectiveText,
    now: DateTime<Utc>,
) -> Result<Objective, StoreError> {
    let id = Uuid::now_v7();
    let first = [
        ("title", FieldValue::Text(Some(text.title.clone()))),
        ("description", FieldValue::Text(text.description.clone())),
        (
            "success_criteria",
            FieldValue::Text(text.success_criteria.clone()),
        ),
        ("status", FieldValue::Status(ObjectiveStatus::Proposed)),
        ("progress", FieldValue::Progress(0)),
    ]
    .into_iter()
    .map(|(field, after)| json!({"field": field, "before": null, "after": value(&after)}))
    .collect();
    let (title, description, success_criteria) = seal_text(keys, &text, id, pair_id, 1)?;
    Objectives::insert(objective::ActiveModel {
        id: Set(id),
        pair_id: Set(pair_id),
        proposed_by: Set(proposed_by),
        title: Set(title),
        description: Set(description),
        success_criteria: Set(success_criteria),
        status: Set(ObjectiveStatus::Proposed.as_str().to_owned()),
        progress: Set(0),
        agreed_by: Set(None),
        agreed_at: Set(None),
        revision: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    write_revision(
        conn,
        keys,
        id,
        1,
        proposed_by,
        "proposed",
        Value::Array(first),
        None,
        now,
    )
    .await?;
    find(conn, keys, pair_id, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("objective {id} vanished after insert")))
}

pub async fn find(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    pair_id: Uuid,
    id: Uuid,
) -> Result<Option<Objective>, StoreError> {
    Objectives::find_by_id(id)
        .filter(Column::PairId.eq(pair_id))
        .one(conn)
        .await?
        .map(|row| to_domain(row, keys))
        .transpose()
}

pub async fn list(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    pair_id: Uuid,
    after: Option<Uuid>,
    limit: u16,
) -> Result<Page<Objective>, StoreError> {
    let query = Objectives::find().filter(Column::PairId.eq(pair_id));
    crate::page_by_id(
        conn,
        query,
        Column::Id,
        after,
        limit,
        |r| r.id,
        |row| to_domain(row, keys),
    )
    .await
}

/// Apply an edit made on `objective` as read; `StaleRevision` if it changed since.
pub async fn update(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    objective: &Objective,
    edit: Edit,
    by: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let next = objective.revision + 1;
    let (title, description, success_criteria) =
        seal_text(keys, &edit.text, objective.id, objective.pair_id, next)?;
    let result = Objectives::update_many()
        .col_expr(Column::ProposedBy, Expr::value(edit.proposed_by))
        .col_expr(Column::Title, Expr::value(title))
        .col_expr(Column::Description, Expr::value(description))
        .col_expr(Column::SuccessCriteria, Expr::value(success_criteria))
        .col_expr(Column::Status, Expr::value(edit.status.as_str()))
        .col_expr(Column::Progress, Expr::value(edit.progress))
        .col_expr(Column::Revision, Expr::value(next))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(objective.id))
        .filter(Column::Revision.eq(objective.revision))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(StoreError::StaleRevision);
    }
    write_revision(
        conn,
        keys,
        objective.id,
        next,
        by,
        "edited",
        changes_json(&edit.changes),
        edit.comment.map(Content::into_inner),
        now,
    )
    .await
}

/// R4: the other member agrees; the objective is then in progress.
pub async fn agree(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    objective: &Objective,
    by: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let next = objective.revision + 1;
    // The words are bound to the revision: re-sealed for the next one.
    let (title, description, success_criteria) =
        seal_text(keys, &objective.text, objective.id, objective.pair_id, next)?;
    let result = Objectives::update_many()
        .col_expr(Column::Title, Expr::value(title))
        .col_expr(Column::Description, Expr::value(description))
        .col_expr(Column::SuccessCriteria, Expr::value(success_criteria))
        .col_expr(
            Column::Status,
            Expr::value(ObjectiveStatus::InProgress.as_str()),
        )
        .col_expr(Column::AgreedBy, Expr::value(by))
        .col_expr(Column::AgreedAt, Expr::value(now))
        .col_expr(Column::Revision, Expr::value(next))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(objective.id))
        .filter(Column::Revision.eq(objective.revision))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(StoreError::StaleRevision);
    }
    let change = FieldChange {
        field: "status",
        before: FieldValue::Status(objective.status),
        after: FieldValue::Status(ObjectiveStatus::InProgress),
    };
    write_revision(
        conn,
        keys,
        objective.id,
        next,
        by,
        "agreed",
        changes_json(&[change]),
        None,
        now,
    )
    .await
}

pub async fn revisions(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    objective_id: Uuid,
    after: Option<Uuid>,
    limit: u16,
) -> Result<Page<ObjectiveRevision>, StoreError> {
    use crate::entity::objective_revision::Column as R;
    let query = Revisions::find().filter(R::ObjectiveId.eq(objective_id));
    crate::page_by_id(
        conn,
        query,
        R::Id,
        after,
        limit,
        |r| r.id,
        |row| {
            let changes = serde_json::from_str(&keys.open(
                &row.changes,
                &revision_aad("changes", row.id, row.objective_id, row.revision),
            )?)
            .map_err(|e| {
                StoreError::Corrupt(format!("objective revision {} changes: {e}", row.id))
            })?;
            Ok(ObjectiveRevision {
                id: row.id,
                objective_id: row.objective_id,
                revision: row.revision,
                changed_by: row.changed_by,
                action: row.action,
                changes,
                comment: keys.open_opt(
                    row.comment.as_deref(),
                    &revision_aad("comment", row.id, row.objective_id, row.revision),
                )?,
                created_at: row.created_at,
            })
        },
    )
    .await
}

/// Per pair: objectives by status, and how many were ever agreed (R4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectiveCounts {
    pub by_status: HashMap<Uuid, HashMap<ObjectiveStatus, i64>>,
    pub agreed: HashMap<Uuid, i64>,
}

fn counted(
    by_status: Vec<(Uuid, String, i64)>,
    agreed: Vec<(Uuid, i64)>,
) -> Result<ObjectiveCounts, StoreError> {
    let mut counts = ObjectiveCounts {
        agreed: agreed.into_iter().collect(),
        ..Default::default()
    };
    for (pair_id, status, n) in by_status {
        let status = ObjectiveStatus::parse(&status).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "an objective of pair {pair_id} has status {status:?}"
            ))
        })?;
        counts
            .by_status
            .entry(pair_id)
            .or_default()
            .insert(status, n);
    }
    Ok(counts)
}

/// Per pair: how many objectives in each status, and how many were ever agreed — two grouped
/// queries for any number of pairs.
pub async fn counts(
    conn: &impl ConnectionTrait,
    pair_ids: &[Uuid],
) -> Result<ObjectiveCounts, StoreError> {
    if pair_ids.is_empty() {
        return Ok(ObjectiveCounts::default());
    }
    let by_status: Vec<(Uuid, String, i64)> = Objectives::find()
        .select_only()
        .column(Column::PairId)
        .column(Column::Status)
        .column_as(Column::Id.count(), "n")
        .filter(Column::PairId.is_in(pair_ids.iter().copied()))
        .group_by(Column::PairId)
        .group_by(Column::Status)
        .into_tuple()
        .all(conn)
        .await?;
    let agreed: Vec<(Uuid, i64)> = Objectives::find()
        .select_only()
        .column(Column::PairId)
        .column_as(Column::Id.count(), "n")
        .filter(Column::PairId.is_in(pair_ids.iter().copied()))
        .filter(Column::AgreedAt.is_not_null())
        .group_by(Column::PairId)
        .into_tuple()
        .all(conn)
        .await?;
    counted(by_status, agreed)
}

fn to_domain(row: objective::Model, keys: &Keyring) -> Result<Objective, StoreError> {
    let status = ObjectiveStatus::parse(&row.status).ok_or_else(|| {
        StoreError::Corrupt(format!("objective {} has status {:?}", row.id, row.status))
    })?;
    Ok(Objective {
        id: row.id,
        pair_id: row.pair_id,
        proposed_by: row.proposed_by,
        text: ObjectiveText {
            title: keys
                .open_content(&row.title, &aad("title", row.id, row.pair_id, row.revision))?,
            description: keys.open_content_opt(
                row.description.as_deref(),
                &aad("description", row.id, row.pair_id, row.revision),
            )?,
            success_criteria: keys.open_content_opt(
                row.success_criteria.as_deref(),
                &aad("success_criteria", row.id, row.pair_id, row.revision),
            )?,
        },
        status,
        progress: row.progress,
        agreed_by: row.agreed_by,
        agreed_at: row.agreed_at,
        revision: row.revision,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
