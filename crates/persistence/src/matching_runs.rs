//! Matching runs as kept (issue 17): who ran one, when, with which objective and weights, the
//! fingerprint of its inputs, its result (a JSON document of ids, scores and reasons) and
//! when it was applied.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use crate::entity::matching_run::{self, Column, Entity as Runs};
use crate::error::StoreError;

/// A run as stored; `result` is the JSON document the service wrote.
#[derive(Debug, Clone)]
pub struct StoredRun {
    pub id: Uuid,
    pub program_id: Uuid,
    pub objective: String,
    pub weights: String,
    pub fingerprint: String,
    pub result: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub applied_by: Option<String>,
    pub applied_at: Option<DateTime<Utc>>,
}

fn from_row(r: matching_run::Model) -> StoredRun {
    StoredRun {
        id: r.id,
        program_id: r.program_id,
        objective: r.objective,
        weights: r.weights,
        fingerprint: r.fingerprint,
        result: r.result,
        created_by: r.created_by,
        created_at: r.created_at,
        applied_by: r.applied_by,
        applied_at: r.applied_at,
    }
}

pub async fn insert(conn: &impl ConnectionTrait, run: &StoredRun) -> Result<(), StoreError> {
    Runs::insert(matching_run::ActiveModel {
        id: Set(run.id),
        program_id: Set(run.program_id),
        objective: Set(run.objective.clone()),
        weights: Set(run.weights.clone()),
        fingerprint: Set(run.fingerprint.clone()),
        result: Set(run.result.clone()),
        created_by: Set(run.created_by.clone()),
        created_at: Set(run.created_at),
        applied_by: Set(run.applied_by.clone()),
        applied_at: Set(run.applied_at),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

pub async fn find(
    conn: &impl ConnectionTrait,
    program_id: Uuid,
    id: Uuid,
) -> Result<Option<StoredRun>, StoreError> {
    Ok(Runs::find_by_id(id)
        .filter(Column::ProgramId.eq(program_id))
        .one(conn)
        .await?
        .map(from_row))
}

/// A program's runs, newest first (ids are UUID v7), at most `limit`.
pub async fn list(
    conn: &impl ConnectionTrait,
    program_id: Uuid,
    limit: u64,
) -> Result<Vec<StoredRun>, StoreError> {
    Ok(Runs::find()
        .filter(Column::ProgramId.eq(program_id))
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(from_row)
        .collect())
}

/// Mark a run applied, once: `false` when it already was.
pub async fn mark_applied(
    conn: &impl ConnectionTrait,
    id: Uuid,
    by: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let r = Runs::update_many()
        .col_expr(Column::AppliedBy, Expr::value(by.to_owned()))
        .col_expr(Column::AppliedAt, Expr::value(at))
        .filter(Column::Id.eq(id))
        .filter(Column::AppliedAt.is_null())
        .exec(conn)
        .await?;
    Ok(r.rows_affected == 1)
}
