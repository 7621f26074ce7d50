//! Concerns (R12): a member's own words to the program's coordinators, sealed at rest, and
//! the coordinators' follow-up (status, and a response to the author, sealed the same way).

use chrono::{DateTime, Utc};
use mentorat_domain::concern::ConcernStatus;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    Page,
    crypto::{Aad, Keyring},
    entity::concern::{self, Column, Entity as Concerns},
    error::StoreError,
};

pub use mentorat_domain::concern::Concern;

/// Where a concern's words live: its row, column (`text`: the author's, `response`: the
/// coordinators'), pair, program (whose coordinators read it) and author.
fn aad(
    column: &'static str,
    id: Uuid,
    pair_id: Uuid,
    program_id: Uuid,
    author_id: Uuid,
) -> Aad<'static> {
    Aad::row("concerns", column, id)
        .and("pair_id", pair_id)
        .and("program_id", program_id)
        .and("author_id", author_id)
}

#[allow(clippy::too_many_arguments)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    pair_id: Uuid,
    program_id: Uuid,
    author_id: Uuid,
    text: &str,
    now: DateTime<Utc>,
) -> Result<Concern, StoreError> {
    let id = Uuid::now_v7();
    Concerns::insert(concern::ActiveModel {
        id: Set(id),
        pair_id: Set(pair_id),
        program_id: Set(program_id),
        author_id: Set(author_id),
        text: Set(keys.seal(text, &aad("text", id, pair_id, program_id, author_id))?),
        created_at: Set(now),
        status: Set(ConcernStatus::Open.as_str().to_owned()),
        response: Set(None),
        acknowledged_at: Set(None),
        resolved_at: Set(None),
        revision: Set(1),
        updated_at: Set(Some(now)),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(Concern {
        id,
        pair_id,
        program_id,
        author_id,
        text: text.to_owned(),
        created_at: now,
        status: ConcernStatus::Open,
        response: None,
        acknowledged_at: None,
        resolved_at: None,
        revision: 1,
        updated_at: now,
    })
}

fn to_domain(keys: &Keyring, row: concern::Model) -> Result<Concern, StoreError> {
    let status = ConcernStatus::parse(&row.status)
        .ok_or_else(|| StoreError::Corrupt(format!("concern {}: bad status", row.id)))?;
    let text = keys.open(
        &row.text,
        &aad("text", row.id, row.pair_id, row.program_id, row.author_id),
    )?;
    let response = keys
        .open_opt(
            row.response.as_deref(),
            &aad(
                "response",
                row.id,
                row.pair_id,
                row.program_id,
                row.author_id,
            ),
        )?
        // An erased response reads as an empty text: there is none any more.
        .filter(|r| !r.is_empty());
    Ok(Concern {
        id: row.id,
        pair_id: row.pair_id,
        program_id: row.program_id,
        author_id: row.author_id,
        text,
        created_at: row.created_at,
        status,
        response,
        acknowledged_at: row.acknowledged_at,
        resolved_at: row.resolved_at,
        revision: row.revision,
        updated_at: row.updated_at.unwrap_or(row.created_at),
    })
}

/// Every concern a person raised (their data export).
pub async fn of_author(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    author_id: Uuid,
) -> Result<Vec<Concern>, StoreError> {
    Concerns::find()
        .filter(Column::AuthorId.eq(author_id))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|row| to_domain(keys, row))
        .collect()
}

/// A concern of a program (an id of another program's concern finds nothing).
pub async fn find(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    program_id: Uuid,
    id: Uuid,
) -> Result<Option<Concern>, StoreError> {
    Concerns::find_by_id(id)
        .filter(Column::ProgramId.eq(program_id))
        .one(conn)
        .await?
        .map(|row| to_domain(keys, row))
        .transpose()
}

pub async fn list(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    program_id: Uuid,
    after: Option<Uuid>,
    limit: u16,
) -> Result<Page<Concern>, StoreError> {
    page(conn, keys, Column::ProgramId.eq(program_id), after, limit).await
}

/// The concerns one member raised in one pair: only the author's own (the other member never
/// sees them).
pub async fn of_pair_author(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    pair_id: Uuid,
    author_id: Uuid,
    after: Option<Uuid>,
    limit: u16,
) -> Result<Page<Concern>, StoreError> {
    let condition = sea_orm::Condition::all()
        .add(Column::PairId.eq(pair_id))
        .add(Column::AuthorId.eq(author_id));
    page(conn, keys, condition, after, limit).await
}

async fn page(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    condition: impl sea_orm::sea_query::IntoCondition,
    after: Option<Uuid>,
    limit: u16,
) -> Result<Page<Concern>, StoreError> {
    let query = Concerns::find().filter(condition);
    crate::page_by_id(
        conn,
        query,
        Column::Id,
        after,
        limit,
        |r| r.id,
        |row| to_domain(keys, row),
    )
    .await
}

/// Record a follow-up of `concern` as it was read (its revision): `StaleRevision` if another
/// follow-up came first.
pub async fn follow_up(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    concern: &Concern,
    status: ConcernStatus,
    response: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut update = Concerns::update_many()
        .col_expr(Column::Status, Expr::value(status.as_str()))
        .col_expr(Column::Revision, Expr::value(concern.revision + 1))
        .col_expr(Column::UpdatedAt, Expr::value(now));
    if status != concern.status {
        match status {
            ConcernStatus::Acknowledged => {
                update = update.col_expr(Column::AcknowledgedAt, Expr::value(now));
            }
            ConcernStatus::Resolved => {
                update = update.col_expr(Column::ResolvedAt, Expr::value(now));
                if concern.acknowledged_at.is_none() {
                    update = update.col_expr(Column::AcknowledgedAt, Expr::value(now));
                }
            }
            ConcernStatus::Open => {}
        }
    }
    if let Some(response) = response {
        let sealed = keys.seal(
            response,
            &aad(
                "response",
                concern.id,
                concern.pair_id,
                concern.program_id,
                concern.author_id,
            ),
        )?;
        update = update.col_expr(Column::Response, Expr::value(sealed));
    }
    let result = update
        .filter(Column::Id.eq(concern.id))
        .filter(Column::Revision.eq(concern.revision))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(StoreError::StaleRevision);
    }
    Ok(())
}
