//! The audit log (R5): every read or write of a pair's content, every action of a
//! coordinator or admin, and every denied access — who, which operation, which resource,
//! when, how it ended. Never a body: the log knows ids and statuses only.

use actix_web::{HttpMessage, HttpRequest, dev::ServiceResponse};
use chrono::Utc;
use mentorat_domain::{Caller, Operation, Role};
use mentorat_persistence::audit;
use uuid::Uuid;

/// Put in the request by [`crate::auth::Authorized`]: the operation and who asked.
#[derive(Debug, Clone)]
pub struct Audited {
    pub operation: Operation,
    pub caller: Caller,
}

fn outcome(status: u16) -> &'static str {
    use crate::routes::audit::AuditOutcomeDto as Outcome;
    match status {
        200..=399 => Outcome::Allowed,
        401 | 403 | 404 => Outcome::Denied,
        400..=499 => Outcome::Refused,
        _ => Outcome::Failed,
    }
    .as_str()
}

fn roles(caller: &Caller) -> String {
    caller
        .roles
        .iter()
        .map(Role::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// What an audit event says of the request besides who and how it ended: the operation, its
/// route and the ids in it — kept with an idempotent answer so that a replay is recorded too.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Trail {
    pub action: String,
    pub method: String,
    pub route: String,
    pub resource_id: Option<Uuid>,
    pub pair_id: Option<Uuid>,
}

/// Whether a request of `audited` answered with `status` goes to the audit log: content
/// touched, a coordinator's or admin's action, or a denial.
pub fn recorded(audited: &Audited, status: u16) -> bool {
    let runs_programs = audited.caller.has(Role::Coordinator) || audited.caller.has(Role::Admin);
    audited.operation.touches_content() || runs_programs || matches!(status, 403 | 404)
}

/// The trail of a routed request.
pub fn trail(request: &HttpRequest, audited: &Audited) -> Trail {
    let info = request.match_info();
    let id = |name: &str| info.get(name).and_then(|v| Uuid::parse_str(v).ok());
    let route = request.match_pattern().unwrap_or_default();
    let pair_id = if route.starts_with("/api/v1/pairs/{id}") {
        id("id")
    } else {
        None
    };
    let resource_id = id("objective_id")
        .or_else(|| id("meeting_id"))
        .or_else(|| id("note_id"))
        .or_else(|| id("enrollment_id"))
        .or_else(|| id("id"));
    Trail {
        action: audited.operation.name(),
        method: request.method().as_str().to_owned(),
        route,
        resource_id,
        pair_id,
    }
}

/// The event that records a request of `caller` answered with `status`.
pub fn event(
    caller: &Caller,
    trail: Trail,
    status: u16,
    request_id: Option<String>,
) -> audit::AuditEvent {
    audit::AuditEvent {
        id: Uuid::now_v7(),
        at: Utc::now(),
        actor: caller.subject.as_str().to_owned(),
        roles: roles(caller),
        action: trail.action,
        method: trail.method,
        route: trail.route,
        resource_id: trail.resource_id,
        pair_id: trail.pair_id,
        status: i16::try_from(status).unwrap_or(i16::MAX),
        outcome: outcome(status).to_owned(),
        request_id,
    }
}

/// The event a routed request's answer calls for, if any (see [`recorded`]).
pub fn event_of<B>(res: &ServiceResponse<B>) -> Option<audit::AuditEvent> {
    let request = res.request();
    let status = res.status().as_u16();
    let audited = request.extensions().get::<Audited>().cloned()?;
    if !recorded(&audited, status) {
        return None;
    }
    // The database could not be reached: nothing was read or written, and the audit row
    // would only wait for the same database a second time before failing too.
    if res
        .response()
        .extensions()
        .contains::<crate::problem::DatabaseUnavailable>()
    {
        return None;
    }
    // The telemetry middleware (outermost) puts the id on the answer only after this one
    // returns; the request carries it from the start.
    let request_id = request
        .extensions()
        .get::<crate::telemetry::RequestId>()
        .map(|r| r.0.clone());
    Some(event(
        &audited.caller,
        trail(request, &audited),
        status,
        request_id,
    ))
}

/// Append one event; the caller decides what a failure means (see `crate::unit`: the answer
/// is then a 503, never the words).
pub async fn append(
    conn: &impl mentorat_persistence::ConnectionTrait,
    event: audit::AuditEvent,
) -> Result<(), mentorat_persistence::StoreError> {
    audit::append(conn, event).await
}

/// Why an event could not be made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRecorded {
    /// The database gave up for a concurrent transaction.
    Busy,
    /// The database is away, refused the row, or the writer is gone.
    Unavailable,
}

impl From<NotRecorded> for crate::problem::ApiError {
    fn from(err: NotRecorded) -> Self {
        match err {
            NotRecorded::Busy => crate::problem::ApiError::Busy,
            NotRecorded::Unavailable => crate::problem::ApiError::Unavailable,
        }
    }
}

enum Job {
    Record(
        Box<audit::AuditEvent>,
        Option<tokio::sync::oneshot::Sender<Result<(), NotRecorded>>>,
    ),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Most events one `INSERT` writes (12 parameters a row, well under PostgreSQL's 65,535).
const BATCH: usize = 500;

/// The audit log's writer for reads: one task per replica drains the events of concurrent
/// requests into one multi-row `INSERT` — one commit, one fsync, for all of them (group
/// commit) — and wakes those that wait for their event to be durable. A read of a pair's
/// words waits ([`AuditLog::record`]); a read that carries none only queues its event
/// ([`AuditLog::enqueue`]), which reaches the table within the next batch (milliseconds).
/// Writes do not come here: their event commits in their own unit of work.
#[derive(Clone)]
pub struct AuditLog {
    jobs: tokio::sync::mpsc::UnboundedSender<Job>,
    stats: std::sync::Arc<AuditStats>,
}

/// What `/metrics` shows of the writer: events waiting for their batch, events kept for a
/// retry while the database refuses them, events dropped beyond the retry bound.
#[derive(Debug, Default)]
pub struct AuditStats {
    queued: std::sync::atomic::AtomicUsize,
    retrying: std::sync::atomic::AtomicUsize,
    dropped: std::sync::atomic::AtomicU64,
}

impl AuditStats {
    pub fn queued(&self) -> usize {
        self.queued.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn retrying(&self) -> usize {
        self.retrying.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl AuditLog {
    /// Start the writer on the current runtime; it stops when the last `AuditLog` is dropped.
    pub fn start(db: mentorat_persistence::Db) -> Self {
        let (jobs, queue) = tokio::sync::mpsc::unbounded_channel();
        let stats = std::sync::Arc::<AuditStats>::default();
        tokio::spawn(write(db, queue, stats.clone()));
        Self { jobs, stats }
    }

    /// The writer's queue, for `/metrics`.
    pub fn stats(&self) -> &AuditStats {
        &self.stats
    }

    /// Counted before it is sent, so the writer never takes away more than was added.
    fn send(&self, job: Job) -> Result<(), ()> {
        use std::sync::atomic::Ordering;
        let record = usize::from(matches!(job, Job::Record(..)));
        self.stats.queued.fetch_add(record, Ordering::Relaxed);
        self.jobs.send(job).map_err(|_| {
            self.stats.queued.fetch_sub(record, Ordering::Relaxed);
        })
    }

    /// Record `event` and return once it is durable.
    pub async fn record(&self, event: audit::AuditEvent) -> Result<(), NotRecorded> {
        let (done, durable) = tokio::sync::oneshot::channel();
        self.send(Job::Record(Box::new(event), Some(done)))
            .map_err(|_| NotRecorded::Unavailable)?;
        durable.await.map_err(|_| NotRecorded::Unavailable)?
    }

    /// Queue `event` for the next batch; nobody waits for it.
    pub fn enqueue(&self, event: audit::AuditEvent) {
        if self.send(Job::Record(Box::new(event), None)).is_err() {
            tracing::error!("the audit writer is gone: an audit event was lost");
        }
    }

    /// Return once every event queued before this call is written (or failed): a reader of
    /// the audit log sees what this replica has answered.
    pub async fn flush(&self) {
        let (done, flushed) = tokio::sync::oneshot::channel();
        if self.send(Job::Flush(done)).is_ok() {
            let _ = flushed.await;
        }
    }
}

/// Most events kept for a retry while the database refuses them; beyond, the oldest are
/// dropped (and said so in the log).
const RETRY_BOUND: usize = 100_000;

async fn write(
    db: mentorat_persistence::Db,
    queue: tokio::sync::mpsc::UnboundedReceiver<Job>,
    stats: std::sync::Arc<AuditStats>,
) {
    let append = move |events: Vec<audit::AuditEvent>| {
        let db = db.clone();
        async move { audit::append_many(db.conn(), events).await }
    };
    write_with(append, queue, stats).await;
}

/// The writer's loop, over any way of appending a batch (the database, or a test's).
async fn write_with<A, F>(
    append: A,
    mut queue: tokio::sync::mpsc::UnboundedReceiver<Job>,
    stats: std::sync::Arc<AuditStats>,
) where
    A: Fn(Vec<audit::AuditEvent>) -> F,
    F: std::future::Future<Output = Result<(), mentorat_persistence::StoreError>>,
{
    use tokio::time::Instant;
    let mut jobs = Vec::with_capacity(BATCH);
    // Queued events whose batch failed: written again, not before `retry_at` — a pause that
    // doubles while the database keeps refusing (100 ms to 5 s). Requests that keep arriving
    // meanwhile have their own events written (their readers wait for them), without the
    // retry list: a struggling database is not sent the whole backlog with every request.
    let mut retry: Vec<audit::AuditEvent> = Vec::new();
    let mut retry_at: Option<Instant> = None;
    let mut pause = std::time::Duration::from_millis(100);
    loop {
        let closed = match retry_at {
            None => queue.recv_many(&mut jobs, BATCH).await == 0,
            Some(at) => {
                match tokio::time::timeout_at(at, queue.recv_many(&mut jobs, BATCH)).await {
                    Ok(0) => {
                        // Every sender is gone: one last pause and attempt for what is left.
                        tokio::time::sleep_until(at).await;
                        true
                    }
                    _ => false,
                }
            }
        };
        if closed && retry.is_empty() {
            return;
        }
        let due = closed || retry_at.is_none_or(|at| Instant::now() >= at);
        let mut events = if due {
            std::mem::take(&mut retry)
        } else {
            Vec::new()
        };
        let mut queued = vec![true; events.len()];
        let mut waiting = Vec::new();
        let mut flushed = Vec::new();
        let drained = jobs.iter().filter(|j| matches!(j, Job::Record(..))).count();
        stats
            .queued
            .fetch_sub(drained, std::sync::atomic::Ordering::Relaxed);
        for job in jobs.drain(..) {
            match job {
                Job::Record(event, done) => {
                    events.push(*event);
                    queued.push(done.is_none());
                    waiting.extend(done);
                }
                Job::Flush(done) => flushed.push(done),
            }
        }
        let count = events.len();
        let kept = events.clone();
        let outcome = match if events.is_empty() {
            Ok(())
        } else {
            append(events).await
        } {
            Ok(()) => {
                if due {
                    pause = std::time::Duration::from_millis(100);
                    retry_at = None;
                }
                Ok(())
            }
            Err(err) => {
                tracing::error!(error = %crate::problem::error_chain(&err), events = count, "could not write audit events: the queued ones are kept for a retry");
                retry.extend(
                    kept.into_iter()
                        .zip(queued)
                        .filter_map(|(event, queued)| queued.then_some(event)),
                );
                if due {
                    retry_at = Some(Instant::now() + pause);
                    pause = (pause * 2).min(std::time::Duration::from_secs(5));
                }
                if retry.len() > RETRY_BOUND {
                    let dropped = retry.len() - RETRY_BOUND;
                    retry.drain(..dropped);
                    stats.dropped.fetch_add(
                        u64::try_from(dropped).unwrap_or(u64::MAX),
                        std::sync::atomic::Ordering::Relaxed,
                    );
                    tracing::error!(
                        dropped,
                        "audit events dropped: the database refused them for too long"
                    );
                }
                Err(match err {
                    mentorat_persistence::StoreError::Contention(_) => NotRecorded::Busy,
                    _ => NotRecorded::Unavailable,
                })
            }
        };
        stats
            .retrying
            .store(retry.len(), std::sync::atomic::Ordering::Relaxed);
        for done in waiting {
            let _ = done.send(outcome);
        }
        for done in flushed {
            let _ = done.send(());
        }
        if closed {
            if !retry.is_empty() {
                tracing::error!(
                    lost = retry.len(),
                    "audit events lost at shutdown: the database refused them"
                );
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::{Arc, Mutex};

    use super::*;

    fn event(actor: &str) -> audit::AuditEvent {
        audit::AuditEvent {
            id: uuid::Uuid::now_v7(),
            at: chrono::Utc::now(),
            actor: actor.into(),
            roles: String::new(),
            action: "read_pair".into(),
            method: "GET".into(),
            route: "/api/v1/pairs/{id}".into(),
            resource_id: None,
            pair_id: None,
            status: 200,
            outcome: "allowed".into(),
            request_id: None,
        }
    }

    /// While a failed batch waits for its pause, requests that keep arriving are written
    /// alone: the retry list goes to the database once per pause, not with every request.
    #[tokio::test(start_paused = true)]
    async fn the_retry_waits_for_its_pause_while_requests_keep_arriving() {
        type Calls = Vec<(tokio::time::Instant, Vec<String>)>;
        let calls: Arc<Mutex<Calls>> = Arc::default();
        let seen = calls.clone();
        let append = move |events: Vec<audit::AuditEvent>| {
            let seen = seen.clone();
            async move {
                let mut calls = seen.lock().unwrap();
                calls.push((
                    tokio::time::Instant::now(),
                    events.iter().map(|e| e.actor.clone()).collect(),
                ));
                // The database refuses the first batch only.
                if calls.len() == 1 {
                    Err(mentorat_persistence::StoreError::Unavailable(
                        mentorat_persistence::DbErr::Custom("gone".into()),
                    ))
                } else {
                    Ok(())
                }
            }
        };
        let (jobs, queue) = tokio::sync::mpsc::unbounded_channel();
        let stats = Arc::<AuditStats>::default();
        let log = AuditLog {
            jobs,
            stats: stats.clone(),
        };
        tokio::spawn(write_with(append, queue, stats));
        let start = tokio::time::Instant::now();
        log.enqueue(event("queued"));
        log.flush().await;
        // Twenty reads, 2 ms apart, each waiting for its own event: all inside the 100 ms pause.
        for n in 0..20 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            log.record(event(&format!("read{n}"))).await.unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        log.flush().await;
        assert_eq!((log.stats().queued(), log.stats().retrying()), (0, 0));
        let calls = calls.lock().unwrap();
        let with_retry: Vec<_> = calls
            .iter()
            .skip(1)
            .filter(|(_, actors)| actors.iter().any(|a| a == "queued"))
            .collect();
        assert_eq!(with_retry.len(), 1, "the retry went once: {calls:?}");
        assert!(
            with_retry[0].0 - start >= std::time::Duration::from_millis(100),
            "not before its pause: {calls:?}"
        );
        assert_eq!(
            calls.len(),
            22,
            "each read written, then the retry: {calls:?}"
        );
    }
}
