//! Concerns (R12): a member's own words to the program's coordinators, sealed at rest.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::{
    Page,
    crypto::{Aad, Keyring},
    entity::concern::{self, Column, Entity as Concerns},
    error::StoreError,
};

#[derive(Clone, PartialEq, Eq)]
pub struct Concern {
    pub id: Uuid,
    pub pair_id: Uuid,
    pub program_id: Uuid,
    pub author_id: Uuid,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for Concern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Concern")
            .field("id", &self.id)
            .field("pair_id", &self.pair_id)
            .field(
                "text",
                &format_args!("<{} characters>", self.text.chars().count()),
            )
            .finish()
    }
}

/// Where a concern's text lives: its row, pair, program (whose coordinators read it) and
/// author.
fn aad(id: Uuid, pair_id: Uuid, program_id: Uuid, author_id: Uuid) -> Aad<'static> {
    Aad::row("concerns", "text", id)
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
        text: Set(keys.seal(text, &aad(id, pair_id, program_id, author_id))?),
        created_at: Set(now),
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
        .map(|row| {
            Ok(Concern {
                id: row.id,
                pair_id: row.pair_id,
                program_id: row.program_id,
                author_id: row.author_id,
                text: keys.open(
                    &row.text,
                    &aad(row.id, row.pair_id, row.program_id, row.author_id),
                )?,
                created_at: row.created_at,
            })
        })
        .collect()
}

pub async fn list(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    program_id: Uuid,
    after: Option<Uuid>,
    limit: u16,
) -> Result<Page<Concern>, StoreError> {
    let mut query = Concerns::find()
        .filter(Column::ProgramId.eq(program_id))
        .order_by_asc(Column::Id);
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    let rows = query.limit(u64::from(limit) + 1).all(conn).await?;
    let (rows, next) = crate::cut(rows, limit, |r| r.id);
    let items = rows
        .into_iter()
        .map(|row| {
            Ok(Concern {
                id: row.id,
                pair_id: row.pair_id,
                program_id: row.program_id,
                author_id: row.author_id,
                text: keys.open(
                    &row.text,
                    &aad(row.id, row.pair_id, row.program_id, row.author_id),
                )?,
                created_at: row.created_at,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Page { items, next })
}
