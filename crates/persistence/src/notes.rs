//! Notes (R5, R6): bodies sealed at rest; a member lists the pair's shared notes and their
//! own private ones — the other member's private notes never leave the database for them.

use chrono::{DateTime, Utc};
use mentorat_domain::note::{Note, Visibility};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    Page,
    crypto::{Aad, Keyring},
    entity::note::{self, Column, Entity as Notes},
    error::StoreError,
};

/// Where a body lives: its row, and what decides who reads it (its pair, author and
/// visibility) and its revision (an older ciphertext of the same row does not open).
fn aad(id: Uuid, pair_id: Uuid, author_id: Uuid, visibility: &str, revision: i32) -> Aad<'static> {
    Aad::row("notes", "body", id)
        .and("pair_id", pair_id)
        .and("author_id", author_id)
        .and("visibility", visibility)
        .and("revision", revision)
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    pair_id: Uuid,
    author_id: Uuid,
    visibility: Visibility,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Note, StoreError> {
    let id = Uuid::now_v7();
    Notes::insert(note::ActiveModel {
        id: Set(id),
        pair_id: Set(pair_id),
        author_id: Set(author_id),
        visibility: Set(visibility.as_str().to_owned()),
        body: Set(keys.seal(body, &aad(id, pair_id, author_id, visibility.as_str(), 1))?),
        revision: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    find(conn, keys, pair_id, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("note {id} vanished after insert")))
}

pub async fn find(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    pair_id: Uuid,
    id: Uuid,
) -> Result<Option<Note>, StoreError> {
    Notes::find_by_id(id)
        .filter(Column::PairId.eq(pair_id))
        .one(conn)
        .await?
        .map(|row| to_domain(row, keys))
        .transpose()
}

/// The notes `reader` may see in a pair: shared ones and their own private ones.
pub async fn list(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    pair_id: Uuid,
    reader: Uuid,
    after: Option<Uuid>,
    limit: u16,
) -> Result<Page<Note>, StoreError> {
    let query = Notes::find().filter(Column::PairId.eq(pair_id)).filter(
        Condition::any()
            .add(Column::Visibility.eq(Visibility::Shared.as_str()))
            .add(Column::AuthorId.eq(reader)),
    );
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

/// Every note a person wrote, in every pair (their data export).
pub async fn of_author(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    author_id: Uuid,
) -> Result<Vec<Note>, StoreError> {
    Notes::find()
        .filter(Column::AuthorId.eq(author_id))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|row| to_domain(row, keys))
        .collect()
}

/// A new body and visibility for the note as read; `StaleRevision` if it changed since.
pub async fn update(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
    note: &Note,
    visibility: Visibility,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let result = Notes::update_many()
        .col_expr(Column::Visibility, Expr::value(visibility.as_str()))
        .col_expr(
            Column::Body,
            Expr::value(keys.seal(
                body,
                &aad(
                    note.id,
                    note.pair_id,
                    note.author_id,
                    visibility.as_str(),
                    note.revision + 1,
                ),
            )?),
        )
        .col_expr(Column::Revision, Expr::value(note.revision + 1))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(note.id))
        .filter(Column::Revision.eq(note.revision))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(StoreError::StaleRevision);
    }
    Ok(())
}

pub async fn delete(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    Notes::delete_by_id(id).exec(conn).await?;
    Ok(())
}

fn to_domain(row: note::Model, keys: &Keyring) -> Result<Note, StoreError> {
    let visibility = Visibility::parse(&row.visibility).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "note {} has visibility {:?}",
            row.id, row.visibility
        ))
    })?;
    Ok(Note {
        id: row.id,
        pair_id: row.pair_id,
        author_id: row.author_id,
        visibility,
        body: keys.open_content(
            &row.body,
            &aad(
                row.id,
                row.pair_id,
                row.author_id,
                &row.visibility,
                row.revision,
            ),
        )?,
        revision: row.revision,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
