//! Connecting to the database the configuration names, and applying migrations.

use std::time::Duration;

use mentorat_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};

use crate::error::StoreError;

/// Which engine a URL names. Only these two are supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// How long a request waits for a connection before it is answered `503
/// database_unavailable` (sqlx's `connect_timeout` is this same deadline).
///
/// PostgreSQL: twenty connections are seldom all busy, so a second without one means the
/// server is gone (restarting, unreachable) — better a quick 503 and a retry than a request
/// held for the outage. SQLite: the one connection is shared by every request, and a wait is
/// a queue behind others (an import holds it for a while), not an outage; the file cannot be
/// unreachable the way a server can. (The test suite passes on SQLite at 1 s too, 217 tests;
/// the 5 s are for a long import beside other requests.)
pub fn acquire_timeout(backend: Backend) -> Duration {
    match backend {
        Backend::Postgres => Duration::from_secs(1),
        Backend::Sqlite => Duration::from_secs(5),
    }
}

/// A pool of connections; cheap to clone, shared by every worker.
#[derive(Debug, Clone)]
pub struct Db {
    conn: DatabaseConnection,
    keys: std::sync::Arc<crate::crypto::Keyring>,
}

impl Db {
    /// Connect to `url`. An SQLite file is created when missing.
    pub async fn connect(url: &str, keys: crate::crypto::Keyring) -> Result<Self, StoreError> {
        let backend = Backend::of_url(url).ok_or(StoreError::UnsupportedUrl)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(match backend {
                // One connection: SQLite takes one writer at a time, and deferred transactions
                // that read then write deadlock each other ("database is locked") under
                // concurrent writes. The embedded mode trades concurrency for never failing.
                Backend::Sqlite => 1,
                Backend::Postgres => 20,
            })
            .min_connections(1)
            .acquire_timeout(acquire_timeout(backend))
            // A pooled connection is pinged before a request gets it: after a restart or a
            // `pg_terminate_backend` the dead ones are dropped and replaced, not handed out.
            .test_before_acquire(true)
            .sqlx_logging(false);
        if backend == Backend::Postgres {
            // sqlx prepares every statement; after five runs PostgreSQL may switch to a generic
            // plan costed on the table as it was then. A table that grows from empty (an
            // import of 100,000 people) then keeps a sequential-scan plan for lookups by key,
            // and each chunk gets slower than the last. Planning each run costs little here.
            options
                .map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_custom_plan")]));
        }
        let conn = Database::connect(options).await?;
        if backend == Backend::Sqlite {
            // Many readers beside one writer, and foreign keys enforced like PostgreSQL does.
            conn.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;")
                .await?;
        }
        Ok(Self {
            conn,
            keys: std::sync::Arc::new(keys),
        })
    }

    /// Apply every pending migration. Safe to run from several replicas at once on
    /// PostgreSQL only if they start one after another; `mentorat migrate` is the way to run
    /// it once before a rolling deploy.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.conn, None).await?;
        Ok(())
    }

    /// Is the database answering? (`GET /readyz`)
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.conn.ping().await?;
        Ok(())
    }

    /// The keys content is sealed with (R5).
    pub fn keys(&self) -> &crate::crypto::Keyring {
        &self.keys
    }

    /// Close every connection; later queries fail as `Unavailable`.
    pub async fn close(&self) -> Result<(), StoreError> {
        self.conn.close_by_ref().await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self.conn.get_database_backend() {
            DbBackend::Sqlite => Backend::Sqlite,
            _ => Backend::Postgres,
        }
    }

    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }
}
