//! The storage layer's one error type. The database's own message never leaves this crate
//! except inside `Internal`, which the API logs and never shows.

use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or stopped serving us (pool closed, connection refused
    /// or lost, acquire timeout, restart, statement canceled): see `is_outage`.
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
        if matches!(
            err,
            DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout)
        ) || matches!(sqlx_error(&err), Some(sea_orm::sqlx::Error::PoolTimedOut))
        {
            crate::db::count_acquire_timeout();
        }
        match &err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => StoreError::Unavailable(err),
            _ if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                StoreError::Duplicate
            }
            _ if is_outage(&err) => StoreError::Unavailable(err),
            _ if is_contention(&err) => StoreError::Contention(err),
            _ => StoreError::Internal(err),
        }
    }
}

/// The driver's error under a statement's failure, if it is one.
fn sqlx_error(err: &DbErr) -> Option<&sea_orm::sqlx::Error> {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            Some(e.as_ref())
        }
        _ => None,
    }
}

/// PostgreSQL's `40P01 deadlock_detected` and `40001 serialization_failure`, SQLite's
/// `SQLITE_BUSY` (5) and `SQLITE_LOCKED` (6) with their extended codes.
fn is_contention(err: &DbErr) -> bool {
    let Some(sea_orm::sqlx::Error::Database(db)) = sqlx_error(err) else {
        return false;
    };
    match db.code().as_deref() {
        Some("40P01" | "40001") => true,
        Some(code) => code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6)),
        None => false,
    }
}

/// A statement that failed because the connection broke under it (server restarted, network
/// cut, the pool gone) or because the server was told to stop serving it: an outage, not a
/// bug, and nothing of the transaction was kept — but for a `COMMIT` lost with its
/// connection, which the server may have kept.
fn is_outage(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error;
    match sqlx_error(err) {
        Some(Error::Io(_) | Error::Protocol(_)) => true,
        Some(Error::PoolClosed | Error::PoolTimedOut | Error::WorkerCrashed) => true,
        Some(Error::Database(db)) => db.code().as_deref().is_some_and(is_outage_sqlstate),
        _ => false,
    }
}

/// SQLSTATEs of an outage. Class 08 is a connection exception. In class 57 (operator
/// intervention): `57P01 admin_shutdown` (a restart or `pg_terminate_backend`),
/// `57P02 crash_shutdown`, `57P03 cannot_connect_now` (starting up or in recovery),
/// `57P05 idle_session_timeout`. `57014 query_canceled` comes from `statement_timeout` or an
/// operator's `pg_cancel_backend`: the server refused to finish the work, not the request
/// being wrong, and the transaction is rolled back — a retry later may pass, so it is an
/// outage too (`503 database_unavailable`), not contention: nothing concurrent on the same
/// data caused it, and an immediate retry is the wrong advice for an overloaded server.
/// `57P04 database_dropped` and a bare `57000` are left to `Internal`: a retry cannot help and
/// someone should look. SQLite's codes are decimal numbers without a leading zero, so they
/// never start with `08` or `57P`.
fn is_outage_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "57P05" | "57014")
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

    fn broken(err: sqlx::Error) -> StoreError {
        StoreError::from(DbErr::Query(RuntimeErr::SqlxError(Arc::new(err))))
    }

    #[test]
    fn a_lost_connection_or_an_operator_stopping_the_database_is_unavailable_not_a_bug() {
        // Class 08 (connection exception), 57P01 admin_shutdown (a restart, or
        // pg_terminate_backend), 57P02 crash_shutdown, 57P03 cannot_connect_now (starting
        // up), 57P05 idle_session_timeout, 57014 query_canceled (statement_timeout,
        // pg_cancel_backend).
        for code in [
            "08000", "08003", "08006", "08001", "08004", "08P01", "57P01", "57P02", "57P03",
            "57P05", "57014",
        ] {
            assert!(matches!(said(code), StoreError::Unavailable(_)), "{code}");
        }
        // Class 57 holds more than outages; these are not ours to retry.
        for code in ["57000", "57P04"] {
            assert!(matches!(said(code), StoreError::Internal(_)), "{code}");
        }
        let dropped = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "eof");
        for err in [
            sqlx::Error::Io(dropped()),
            sqlx::Error::Protocol("unexpected message from the server".into()),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
        ] {
            let text = err.to_string();
            assert!(matches!(broken(err), StoreError::Unavailable(_)), "{text}");
        }
        for err in [
            DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::ConnectionClosed),
            DbErr::Conn(RuntimeErr::SqlxError(Arc::new(sqlx::Error::Io(dropped())))),
        ] {
            assert!(matches!(StoreError::from(err), StoreError::Unavailable(_)));
        }
    }
}
