//! Mentorat's storage: sea-orm entities and the repositories that read and write them.
//! SQL lives here and nowhere else. Every query runs on SQLite and PostgreSQL; repositories
//! take `&impl ConnectionTrait` so a use case can run several of them in one transaction.

pub mod audit;
pub mod backlog;
pub mod calendar_feeds;
pub mod charters;
pub mod concerns;
pub mod crypto;
pub mod db;
pub mod enrollments;
mod entity;
pub mod erasure;
pub mod error;
pub mod feedback;
pub mod idempotency;
pub mod key_check;
mod locks;
pub mod matching_runs;
pub mod meetings;
pub mod mentee_requests;
pub mod notes;
pub mod notifications;
pub mod objectives;
pub mod outbox;
pub mod pairs;
pub mod people;
pub mod programs;
pub mod reminders;
pub mod report;
pub mod rotation;
pub mod scim;
mod sql;
pub mod tallies;
pub mod webhooks;

pub use crypto::{Aad, Keyring};
pub use db::{Backend, Conn, Db, PoolStats, Unit};
pub use error::StoreError;
pub use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait,
};

/// One page of a keyset-paginated list: `next` is the id to continue after, if any.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<uuid::Uuid>,
}

/// The `id` column of what a statement (a `SELECT id` or an `… RETURNING id`) gives back.
pub(crate) async fn query_ids(
    conn: &impl ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<uuid::Uuid>, StoreError> {
    Ok(conn
        .query_all_raw(sql::statement(conn.get_database_backend(), sql, values))
        .await?
        .iter()
        .map(|r| r.try_get("", "id"))
        .collect::<Result<_, _>>()?)
}

/// One page of `query` in `id` order after `after` (keyset pagination): at most `limit`
/// rows, each made a domain value by `to_domain`, and the id to go on after when there are
/// more. The one way a repository pages a pair's notes, meetings, objectives, revisions or
/// a program's concerns.
pub(crate) async fn page_by_id<E, T>(
    conn: &impl ConnectionTrait,
    query: sea_orm::Select<E>,
    id: E::Column,
    after: Option<uuid::Uuid>,
    limit: u16,
    row_id: impl Fn(&E::Model) -> uuid::Uuid,
    to_domain: impl FnMut(E::Model) -> Result<T, StoreError>,
) -> Result<Page<T>, StoreError>
where
    E: sea_orm::EntityTrait,
{
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut query = query.order_by_asc(id);
    if let Some(after) = after {
        query = query.filter(id.gt(after));
    }
    let rows = query.limit(u64::from(limit) + 1).all(conn).await?;
    let (rows, next) = cut(rows, limit, row_id);
    let items = rows.into_iter().map(to_domain).collect::<Result<_, _>>()?;
    Ok(Page { items, next })
}

/// Cut a keyset page: `rows` were read with `limit + 1`, and the extra row only says that
/// there is more — the page continues after the last row kept.
pub(crate) fn cut<R>(
    mut rows: Vec<R>,
    limit: u16,
    id: impl Fn(&R) -> uuid::Uuid,
) -> (Vec<R>, Option<uuid::Uuid>) {
    let next = if rows.len() > usize::from(limit) {
        rows.truncate(usize::from(limit));
        rows.last().map(id)
    } else {
        None
    };
    (rows, next)
}
