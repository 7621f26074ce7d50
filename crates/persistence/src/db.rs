//! Connecting to the database the configuration names, and applying migrations.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use mentorat_migrations::{Migrator, MigratorTrait};
use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseExecutor,
    DatabaseTransaction, DbBackend, DbErr, ExecResult, IsolationLevel, QueryResult, Statement,
    TransactionError, TransactionOptions, TransactionTrait,
};

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

/// Requests that waited for a pooled connection longer than [`acquire_timeout`] and gave up
/// (answered `503 database_unavailable`), in this process since it started.
static ACQUIRE_TIMEOUTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub(crate) fn count_acquire_timeout() {
    ACQUIRE_TIMEOUTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// How many times a connection was not had within [`acquire_timeout`] (process-wide).
pub fn acquire_timeouts() -> u64 {
    ACQUIRE_TIMEOUTS.load(std::sync::atomic::Ordering::Relaxed)
}

/// The pool's connections right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections, in use or idle.
    pub open: u32,
    /// Open and waiting for a request.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

impl PoolStats {
    pub fn in_use(&self) -> u32 {
        self.open.saturating_sub(self.idle)
    }
}

/// A pool of connections; cheap to clone, shared by every worker. A `Db` may also be bound to
/// one request's unit of work ([`Db::begin_unit`]): every statement then runs in that
/// transaction, and a use case's own `begin()` is a savepoint inside it.
#[derive(Debug, Clone)]
pub struct Db {
    conn: Conn,
    pool: DatabaseConnection,
    keys: std::sync::Arc<crate::crypto::Keyring>,
}

/// Where a `Db`'s statements go: the pool, or one open transaction.
#[derive(Debug, Clone)]
pub enum Conn {
    Pool(DatabaseConnection),
    Unit(Arc<DatabaseTransaction>),
}

impl Conn {
    fn executor(&self) -> DatabaseExecutor<'_> {
        match self {
            Conn::Pool(c) => DatabaseExecutor::Connection(c),
            Conn::Unit(t) => DatabaseExecutor::Transaction(t),
        }
    }
}

#[sea_orm::prelude::async_trait::async_trait]
impl ConnectionTrait for Conn {
    fn get_database_backend(&self) -> DbBackend {
        self.executor().get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.executor().execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.executor().execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.executor().query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.executor().query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.executor().support_returning()
    }
}

#[sea_orm::prelude::async_trait::async_trait]
impl TransactionTrait for Conn {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.executor().begin().await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.executor()
            .begin_with_config(isolation_level, access_mode)
            .await
    }

    async fn begin_with_options(
        &self,
        options: TransactionOptions,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.executor().begin_with_options(options).await
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.executor().transaction(callback).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.executor()
            .transaction_with_config(callback, isolation_level, access_mode)
            .await
    }
}

/// One request's transaction, held by whoever commits it; the `Db` bound to it is handed to
/// the request. [`Unit::commit`] works once every bound `Db` is dropped.
#[derive(Debug)]
pub struct Unit {
    txn: Arc<DatabaseTransaction>,
}

impl Unit {
    /// Commit the unit. `Err(StoreError::Internal)`-like failures mean the outcome is
    /// unknown to the caller only when the connection broke during `COMMIT`.
    pub async fn commit(self) -> Result<(), StoreError> {
        match Arc::try_unwrap(self.txn) {
            Ok(txn) => Ok(txn.commit().await?),
            // A bound `Db` outlived its request: a bug; the transaction rolls back when the
            // last one is dropped, and nothing is claimed to be written.
            Err(_) => Err(StoreError::Corrupt(
                "a request's unit of work was still in use at its commit".into(),
            )),
        }
    }
}

tokio::task_local! {
    static STATEMENTS: std::cell::Cell<u32>;
}

/// Run `work`, counting the statements it sends to the database from this task (the
/// request's own, in or out of its unit of work; not those of the audit writer's batches,
/// which run on their own task). For the `mentorat_http_request_db_statements` metric.
pub async fn counting_statements<F: std::future::Future>(work: F) -> (F::Output, u32) {
    STATEMENTS
        .scope(std::cell::Cell::new(0), async move {
            let out = work.await;
            (out, STATEMENTS.with(std::cell::Cell::get))
        })
        .await
}

/// One OpenTelemetry span per database statement, child of the current request's span, with
/// the statement's real start and end. It names the operation (`SELECT`, `INSERT`…) and the
/// database, never the statement's text nor its values (R5: they may hold a pair's words).
/// Without an exporter the global tracer is a no-op and this costs a clock read.
fn statement_span(backend: Backend, info: &sea_orm::metric::Info<'_>) {
    use opentelemetry::{
        KeyValue,
        trace::{Span, SpanKind, Status, TraceContextExt, Tracer},
    };
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    let parent = tracing::Span::current().context();
    if !parent.span().span_context().is_valid() {
        // Not inside a traced request (background work, or no exporter): nothing to attach to.
        return;
    }
    let operation = info
        .statement
        .sql
        .split_whitespace()
        .next()
        .map(str::to_ascii_uppercase)
        .filter(|word| word.len() <= 16 && word.bytes().all(|b| b.is_ascii_alphabetic()))
        .unwrap_or_else(|| "STATEMENT".to_owned());
    let system = match backend {
        Backend::Postgres => "postgresql",
        Backend::Sqlite => "sqlite",
    };
    let end = std::time::SystemTime::now();
    let start = end.checked_sub(info.elapsed).unwrap_or(end);
    let tracer = opentelemetry::global::tracer("mentorat");
    let mut span = tracer
        .span_builder(format!("{operation} {system}"))
        .with_kind(SpanKind::Client)
        .with_start_time(start)
        .with_attributes([
            KeyValue::new("db.system.name", system),
            KeyValue::new("db.operation.name", operation),
        ])
        .start_with_context(&tracer, &parent);
    if info.failed {
        span.set_status(Status::error("the statement failed"));
    }
    span.end_with_timestamp(end);
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
            // A pooled connection idle for a second or more is pinged before a request gets
            // it: after a restart or a `pg_terminate_backend` the dead ones are dropped and
            // replaced, not handed out. One in use a moment ago is not (a ping per statement
            // was a round trip per statement); if it died meanwhile, its statement fails as
            // `database_unavailable` and the connection is dropped.
            .test_before_acquire_if_idle_for(Duration::from_secs(1))
            .sqlx_logging(false);
        if backend == Backend::Sqlite {
            // R14: a deleted or overwritten value is zeroed in the page (and a freed page
            // wholly), on every connection the pool opens — not left in free space for
            // whoever reads the file. Costs a write of what is deleted; see [`Db::scrub`].
            options.map_sqlx_sqlite_opts(|o| o.pragma("secure_delete", "ON"));
        }
        let mut conn = Database::connect(options).await?;
        conn.set_metric_callback(move |info| {
            // Outside a counted request (the audit writer, the outbox) there is nothing to do.
            let _ = STATEMENTS.try_with(|n| n.set(n.get().saturating_add(1)));
            statement_span(backend, info);
        });
        if backend == Backend::Sqlite {
            // Many readers beside one writer, and foreign keys enforced like PostgreSQL does.
            conn.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;")
                .await?;
        }
        Ok(Self {
            conn: Conn::Pool(conn.clone()),
            pool: conn,
            keys: std::sync::Arc::new(keys),
        })
    }

    /// Apply every pending migration. Safe to run from several replicas at once on
    /// PostgreSQL only if they start one after another; `mentorat migrate` is the way to run
    /// it once before a rolling deploy.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.pool, None).await?;
        Ok(())
    }

    /// R14, after an erasure or a retention run: make what was destroyed leave the files.
    /// SQLite in WAL mode keeps every earlier image of a page in the `-wal` file until a
    /// checkpoint, and the main file keeps the old page until the checkpoint rewrites it;
    /// `wal_checkpoint(TRUNCATE)` copies the new pages (with `secure_delete`, their free
    /// space zeroed) into the main file and cuts the `-wal` to nothing. It needs no reader on
    /// an older snapshot (another replica on the same file): then it waits the busy timeout
    /// and gives up — `Ok(false)`, the next erasure's or run's checkpoint finishes the work.
    /// PostgreSQL: nothing here (dead tuples go with `VACUUM`, outside any transaction;
    /// README, "Retention and erasure").
    pub async fn scrub(&self) -> Result<bool, StoreError> {
        if self.backend() != Backend::Sqlite {
            return Ok(true);
        }
        let row = self
            .pool
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA wal_checkpoint(TRUNCATE)",
            ))
            .await?;
        // (busy, pages in the log, pages checkpointed): busy = 1 when it could not finish.
        let busy = match row {
            Some(row) => row.try_get_by_index::<i64>(0)? != 0,
            None => false,
        };
        Ok(!busy)
    }

    /// Is the database answering? (`GET /readyz`)
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.pool.ping().await?;
        Ok(())
    }

    /// The keys content is sealed with (R5).
    pub fn keys(&self) -> &crate::crypto::Keyring {
        &self.keys
    }

    /// Close every connection; later queries fail as `Unavailable`.
    pub async fn close(&self) -> Result<(), StoreError> {
        self.pool.close_by_ref().await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self.pool.get_database_backend() {
            DbBackend::Sqlite => Backend::Sqlite,
            _ => Backend::Postgres,
        }
    }

    /// Where this `Db`'s statements go: the pool, or the request's unit of work.
    pub fn conn(&self) -> &Conn {
        &self.conn
    }

    /// The same database outside any unit of work (the idempotency claim, which must be
    /// seen by other requests before the work commits).
    pub fn pool(&self) -> Db {
        Db {
            conn: Conn::Pool(self.pool.clone()),
            pool: self.pool.clone(),
            keys: self.keys.clone(),
        }
    }

    /// Open a request's unit of work: the `Db` to hand to the request, and the handle that
    /// commits it.
    pub async fn begin_unit(&self) -> Result<(Db, Unit), StoreError> {
        let txn = Arc::new(self.pool.begin().await?);
        let bound = Db {
            conn: Conn::Unit(txn.clone()),
            pool: self.pool.clone(),
            keys: self.keys.clone(),
        };
        Ok((bound, Unit { txn }))
    }

    /// The pool's connections (`/metrics`).
    pub fn pool_stats(&self) -> PoolStats {
        fn of<DB: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<DB>) -> PoolStats {
            PoolStats {
                open: pool.size(),
                idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                max: pool.options().get_max_connections(),
            }
        }
        match self.backend() {
            Backend::Postgres => of(self.pool.get_postgres_connection_pool()),
            Backend::Sqlite => of(self.pool.get_sqlite_connection_pool()),
        }
    }

    /// Is this `Db` bound to a unit of work?
    pub fn in_unit(&self) -> bool {
        matches!(self.conn, Conn::Unit(_))
    }
}
