//! Calendar feeds: one secret per person, stored as its SHA-256 so a dump does not give
//! anyone's calendar away.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::OnConflict,
};
use uuid::Uuid;

use crate::{
    entity::calendar_feed::{self, Column, Entity as Feeds},
    error::StoreError,
};

/// Create or replace the person's feed (the old URL stops working).
pub async fn put(
    conn: &impl ConnectionTrait,
    person_id: Uuid,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    Feeds::insert(calendar_feed::ActiveModel {
        person_id: Set(person_id),
        token_hash: Set(token_hash.to_owned()),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(Column::PersonId)
            .update_columns([Column::TokenHash, Column::CreatedAt])
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Revoke the person's feed; `false` when there was none.
pub async fn delete(conn: &impl ConnectionTrait, person_id: Uuid) -> Result<bool, StoreError> {
    let result = Feeds::delete_many()
        .filter(Column::PersonId.eq(person_id))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Whose feed this token hash opens — nobody's once its owner is deactivated (R11: the
/// secret authenticates them, and a leaver is served nothing), checked in the same statement.
pub async fn owner(
    conn: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<Uuid>, StoreError> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(crate::sql::statement(
            backend,
            "SELECT f.person_id AS person_id FROM calendar_feeds f \
             JOIN people p ON p.id = f.person_id WHERE f.token_hash = $1 AND p.active",
            vec![token_hash.into()],
        ))
        .await?;
    row.map(|r| r.try_get::<Uuid>("", "person_id"))
        .transpose()
        .map_err(Into::into)
}
