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
