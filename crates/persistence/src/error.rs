//! The storage layer's one error type. The database's own message never leaves this crate
//! except inside `Internal`, which the API logs and never shows.

use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (pool closed, connection refused, timeout).
    #[error("the database is unavailable")]
    Unavailable(#[source] DbErr),
    /// A row changed under us: the revision a write was based on is no longer current.
    #[error("the row was changed by someone else")]
    StaleRevision,
    /// A unique constraint refused the write.
    #[error("a row with the same key already exists")]
    Duplicate,
    /// A stored value no longer parses into its domain type: data corruption, never input.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The URL names neither SQLite nor PostgreSQL.
    #[error("the database URL is neither sqlite: nor postgres://")]
    UnsupportedUrl,
    /// Anything else the database said.
    #[error("database error")]
    Internal(#[source] DbErr),
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        match &err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => StoreError::Unavailable(err),
            _ if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                StoreError::Duplicate
            }
            _ if is_io_failure(&err) => StoreError::Unavailable(err),
            _ => StoreError::Internal(err),
        }
    }
}

/// A query that failed because the connection broke under it (server restarted, network cut)
/// is an outage, not a bug.
fn is_io_failure(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    let runtime = match err {
        DbErr::Exec(e) | DbErr::Query(e) => e,
        _ => return false,
    };
    match runtime {
        RuntimeErr::SqlxError(e) => matches!(
            e.as_ref(),
            sea_orm::sqlx::Error::Io(_)
                | sea_orm::sqlx::Error::PoolClosed
                | sea_orm::sqlx::Error::PoolTimedOut
                | sea_orm::sqlx::Error::WorkerCrashed
        ),
        _ => false,
    }
}
