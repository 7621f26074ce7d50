//! The storage layer's one error type. The database's own message never leaves this crate
//! except inside `Internal`, which the API logs and never shows.

use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (pool closed, connection refused, timeout).
    #[error("the database is unavailable")]
    Unavailable(#[source] DbErr),
    /// The database gave up a transaction to let a concurrent one through (PostgreSQL: a
    /// deadlock or a serialization failure; SQLite: busy). Nothing was written; the same
    /// request sent again succeeds.
    #[error("the database gave up the transaction for a concurrent one")]
    Contention(#[source] DbErr),
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
            _ if is_contention(&err) => StoreError::Contention(err),
            _ => StoreError::Internal(err),
        }
    }
}

/// PostgreSQL's `40P01 deadlock_detected` and `40001 serialization_failure`, SQLite's
/// `SQLITE_BUSY` (5) and `SQLITE_LOCKED` (6) with their extended codes.
fn is_contention(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    let runtime = match err {
        DbErr::Exec(e) | DbErr::Query(e) => e,
        _ => return false,
    };
    let RuntimeErr::SqlxError(e) = runtime else {
        return false;
    };
    let sea_orm::sqlx::Error::Database(db) = e.as_ref() else {
        return false;
    };
    match db.code().as_deref() {
        Some("40P01" | "40001") => true,
        Some(code) => code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6)),
        None => false,
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

#[cfg(test)]
mod tests {
    use std::{borrow::Cow, sync::Arc};

    use sea_orm::{
        DbErr, RuntimeErr,
        sqlx::{self, error::DatabaseError, error::ErrorKind},
    };

    use super::StoreError;

    #[derive(Debug)]
    struct Said(&'static str);

    impl std::fmt::Display for Said {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "database said {}", self.0)
        }
    }

    impl std::error::Error for Said {}

    impl DatabaseError for Said {
        fn message(&self) -> &str {
            "said"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn said(code: &'static str) -> StoreError {
        let err = sqlx::Error::Database(Box::new(Said(code)));
        StoreError::from(DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err))))
    }

    #[test]
    fn a_deadlock_or_a_busy_database_is_contention_not_a_bug() {
        for code in ["40P01", "40001", "5", "517", "6", "262"] {
            assert!(matches!(said(code), StoreError::Contention(_)), "{code}");
        }
        for code in ["23503", "42P01", "1", "19"] {
            assert!(matches!(said(code), StoreError::Internal(_)), "{code}");
        }
    }
}
