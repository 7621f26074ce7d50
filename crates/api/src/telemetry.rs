//! The outermost middleware: a request id for every request (header, log span, problem
//! documents), Prometheus metrics by route and status, one access-log line, and the guarantee
//! that every failure leaves as a problem document whatever layer produced it.

use std::time::Instant;

use actix_web::{
    Error, HttpMessage, HttpResponse,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{self, HeaderName, HeaderValue},
    middleware::Next,
    web,
};
use mentorat_persistence::db::counting_statements;
use opentelemetry::trace::{SpanId, TraceContextExt, TraceFlags, TraceId};
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use uuid::Uuid;

use crate::{
    problem::{PROBLEM_JSON, Problem, generic_for, problem, problem_response},
    trace_context,
};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The ids of the request being served on a task.
#[derive(Debug, Clone)]
struct Ids {
    request_id: String,
    trace_id: String,
}

tokio::task_local! {
    static IDS: Ids;
}

/// The id of the request being served on this task, if any.
pub fn current_request_id() -> Option<String> {
    IDS.try_with(|ids| ids.request_id.clone()).ok()
}

/// The W3C trace id of the request being served on this task, if any.
pub fn current_trace_id() -> Option<String> {
    IDS.try_with(|ids| ids.trace_id.clone()).ok()
}

/// Who the request's bearer token named, once it verified (for the access log).
#[derive(Debug, Clone)]
pub struct CallerSubject(pub String);

/// This request's place in a trace: the caller's trace when it sent a valid `traceparent`
/// (W3C Trace Context), a fresh one otherwise; this request's own span is OpenTelemetry's
/// when traces are exported, else an id made here.
fn trace_of(
    span: &tracing::Span,
    incoming: Option<&trace_context::Incoming>,
) -> (TraceId, SpanId, TraceFlags) {
    if let Some(incoming) = incoming {
        // Without an OpenTelemetry layer there is no parent to set: nothing to do.
        let _ = span.set_parent(incoming.as_parent());
    }
    let context = span.context();
    let otel = context.span().span_context().clone();
    if otel.is_valid() {
        return (otel.trace_id(), otel.span_id(), otel.trace_flags());
    }
    match incoming {
        Some(incoming) => (
            incoming.trace_id,
            trace_context::fresh_span_id(),
            incoming.flags,
        ),
        None => (
            trace_context::fresh_trace_id(),
            trace_context::fresh_span_id(),
            TraceFlags::default(),
        ),
    }
}

/// A request id the client sent is kept if it is short and plain; otherwise we make one.
fn request_id_of(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| Uuid::now_v7().to_string())
}

/// The method as a metrics label: the methods the API knows, every other one as `other`, so
/// that a client cannot create a series per invented method (`curl -X FOO1`).
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Request counters and latency histograms, registered in a registry of their own so that
/// several apps in one process (tests) never share figures; and what an operator watches
/// besides ([`Operations`]), read when `/metrics` is scraped.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    statements: HistogramVec,
    pub(crate) operations: std::sync::Arc<Operations>,
    retention_runs: IntCounter,
    retention_destroyed: IntCounterVec,
    reminders_sent: IntCounter,
}

/// The version this binary was built from, and the commit when the build said it
/// (`MENTORAT_GIT_COMMIT=$(git rev-parse --short HEAD) cargo build --release`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const GIT_COMMIT: &str = match option_env!("MENTORAT_GIT_COMMIT") {
    Some(commit) => commit,
    None => "unknown",
};

/// How long a scrape waits for the backlog's two statements; past it the last figures stay
/// and `mentorat_backlog_up` says 0.
const BACKLOG_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);
/// Scrapes closer together than this share one reading of the backlog.
const BACKLOG_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Gauges of the database pool, the outbox and webhook deliveries, the audit writer's queue
/// and the rate limiter. Every label has a fixed set of values.
pub struct Operations {
    pool_connections: IntGaugeVec,
    pool_max: IntGauge,
    pool_acquire_timeouts: IntCounter,
    pool_wait: prometheus::Histogram,
    outbox_pending: IntGauge,
    outbox_oldest_age: Gauge,
    deliveries: IntGaugeVec,
    deliveries_oldest_age: Gauge,
    backlog_up: IntGauge,
    audit_queued: IntGauge,
    audit_retrying: IntGauge,
    audit_dropped: IntCounter,
    rate_limited: IntCounterVec,
    rate_limit_callers: IntGauge,
    backlog_read_at: std::sync::Mutex<Option<Instant>>,
}

impl Operations {
    fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        fn reg<C: prometheus::core::Collector + Clone + 'static>(
            registry: &Registry,
            c: C,
        ) -> Result<C, prometheus::Error> {
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        }
        let build = IntGaugeVec::new(
            Opts::new(
                "mentorat_build_info",
                "The version and commit this binary was built from (always 1)",
            ),
            &["version", "commit"],
        )?;
        build.with_label_values(&[VERSION, GIT_COMMIT]).set(1);
        registry.register(Box::new(build))?;
        // CPU seconds, resident and virtual memory, open and maximum file descriptors, start
        // time, threads: read from /proc/self at each scrape.
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "mentorat_rate_limited_total",
                "Requests answered 429 rate_limited, by what the caller was counted by: a \
                 verified token's subject, or the client address",
            ),
            &["caller"],
        )?;
        for caller in ["subject", "address"] {
            rate_limited.with_label_values(&[caller]);
        }
        Ok(Self {
            rate_limited: reg(registry, rate_limited)?,
            pool_connections: reg(
                registry,
                IntGaugeVec::new(
                    Opts::new(
                        "mentorat_db_pool_connections",
                        "Open database connections of this replica's pool, by state",
                    ),
                    &["state"],
                )?,
            )?,
            pool_max: reg(
                registry,
                IntGauge::new(
                    "mentorat_db_pool_max_connections",
                    "The most connections the pool opens",
                )?,
            )?,
            pool_acquire_timeouts: reg(
                registry,
                IntCounter::new(
                    "mentorat_db_pool_acquire_timeouts_total",
                    "Requests that waited for a pooled connection past the acquire timeout \
                     (1 s on PostgreSQL, 5 s on SQLite) and were answered 503, since the \
                     process started",
                )?,
            )?,
            pool_wait: reg(
                registry,
                prometheus::Histogram::with_opts(
                    HistogramOpts::new(
                        "mentorat_db_pool_wait_seconds",
                        "Time a write request waited for its database connection: the pool's \
                         acquire and the BEGIN of its unit of work (a read takes a connection \
                         per statement inside the driver, not timed here). On SQLite the one \
                         connection is shared, so this is the queue behind other writes",
                    )
                    .buckets(vec![
                        0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                        1.0, 2.5, 5.0,
                    ]),
                )?,
            )?,
            outbox_pending: reg(
                registry,
                IntGauge::new(
                    "mentorat_outbox_pending_events",
                    "Outbox events not yet dispatched to webhook deliveries (every replica)",
                )?,
            )?,
            outbox_oldest_age: reg(
                registry,
                Gauge::new(
                    "mentorat_outbox_oldest_pending_age_seconds",
                    "Age of the oldest outbox event not yet dispatched (0: none)",
                )?,
            )?,
            deliveries: reg(
                registry,
                IntGaugeVec::new(
                    Opts::new(
                        "mentorat_webhook_deliveries",
                        "Webhook deliveries not accepted by their endpoint yet, by state: \
                         pending (never attempted), retrying (refused, to be attempted \
                         again), failed (given up after 12 attempts)",
                    ),
                    &["state"],
                )?,
            )?,
            deliveries_oldest_age: reg(
                registry,
                Gauge::new(
                    "mentorat_webhook_oldest_pending_age_seconds",
                    "Age of the oldest webhook delivery still to be attempted (0: none)",
                )?,
            )?,
            backlog_up: reg(
                registry,
                IntGauge::new(
                    "mentorat_backlog_up",
                    "1 when the last reading of the outbox and deliveries succeeded within \
                     500 ms, 0 when it failed (their gauges then keep the last figures)",
                )?,
            )?,
            audit_queued: reg(
                registry,
                IntGauge::new(
                    "mentorat_audit_queue_events",
                    "Audit events of reads waiting for the next batch of this replica's writer",
                )?,
            )?,
            audit_retrying: reg(
                registry,
                IntGauge::new(
                    "mentorat_audit_retry_events",
                    "Audit events kept for a retry while the database refuses them",
                )?,
            )?,
            audit_dropped: reg(
                registry,
                IntCounter::new(
                    "mentorat_audit_dropped_events_total",
                    "Audit events dropped: refused by the database beyond the retry bound",
                )?,
            )?,
            rate_limit_callers: reg(
                registry,
                IntGauge::new(
                    "mentorat_rate_limit_tracked_callers",
                    "Callers whose rate-limit state this replica keeps (swept every 10 s)",
                )?,
            )?,
            backlog_read_at: std::sync::Mutex::new(None),
        })
    }

    /// How long a request waited for its unit of work's connection.
    pub(crate) fn pool_waited(&self, waited: std::time::Duration) {
        self.pool_wait.observe(waited.as_secs_f64());
    }

    /// A request refused by the rate limiter (`subject` or `address`).
    pub(crate) fn rate_limited(&self, caller: &'static str) {
        self.rate_limited.with_label_values(&[caller]).inc();
    }

    /// Read what the gauges show: the pool, the audit queue and the limiter in memory; the
    /// backlog in the database, at most once a second and within [`BACKLOG_TIMEOUT`].
    pub(crate) async fn refresh(
        &self,
        db: &mentorat_persistence::Db,
        audit: &crate::audit::AuditLog,
        limiter: &crate::rate_limit::Limiter,
    ) {
        let pool = db.pool_stats();
        self.pool_connections
            .with_label_values(&["in_use"])
            .set(i64::from(pool.in_use()));
        self.pool_connections
            .with_label_values(&["idle"])
            .set(i64::from(pool.idle));
        self.pool_max.set(i64::from(pool.max));
        catch_up(
            &self.pool_acquire_timeouts,
            mentorat_persistence::db::acquire_timeouts(),
        );
        let stats = audit.stats();
        self.audit_queued
            .set(i64::try_from(stats.queued()).unwrap_or(i64::MAX));
        self.audit_retrying
            .set(i64::try_from(stats.retrying()).unwrap_or(i64::MAX));
        catch_up(&self.audit_dropped, stats.dropped());
        self.rate_limit_callers
            .set(i64::try_from(limiter.tracked_callers()).unwrap_or(i64::MAX));

        let due = {
            let Ok(mut at) = self.backlog_read_at.lock() else {
                return;
            };
            let due = at.is_none_or(|t| t.elapsed() >= BACKLOG_EVERY);
            if due {
                *at = Some(Instant::now());
            }
            due
        };
        if !due {
            return;
        }
        let read = mentorat_persistence::backlog::read(db.conn());
        match tokio::time::timeout(BACKLOG_TIMEOUT, read).await {
            Ok(Ok(b)) => {
                let now = chrono::Utc::now();
                let age = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
                };
                self.outbox_pending.set(b.outbox_pending);
                self.outbox_oldest_age.set(age(b.outbox_oldest));
                for (state, n) in [
                    ("pending", b.deliveries_pending),
                    ("retrying", b.deliveries_retrying),
                    ("failed", b.deliveries_failed),
                ] {
                    self.deliveries.with_label_values(&[state]).set(n);
                }
                self.deliveries_oldest_age.set(age(b.deliveries_oldest));
                self.backlog_up.set(1);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %crate::problem::error_chain(&e), "metrics: cannot read the outbox and deliveries");
                self.backlog_up.set(0);
            }
            Err(_) => {
                tracing::warn!("metrics: the outbox and deliveries were not read within 500 ms");
                self.backlog_up.set(0);
            }
        }
    }
}

/// A counter that follows a monotonic count kept elsewhere.
fn catch_up(counter: &IntCounter, total: u64) {
    let seen = counter.get();
    if total > seen {
        counter.inc_by(total - seen);
    }
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("mentorat_http_requests_total", "HTTP requests served"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "mentorat_http_request_duration_seconds",
                "Time to serve an HTTP request",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route", "status"],
        )?;
        let statements = HistogramVec::new(
            HistogramOpts::new(
                "mentorat_http_request_db_statements",
                "Database statements a request sent itself (its unit of work's included, \
                 transaction control and the audit writer's shared batches not)",
            )
            .buckets(vec![
                0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0, 15.0, 20.0, 50.0,
            ]),
            &["method", "route"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(statements.clone()))?;
        let operations = std::sync::Arc::new(Operations::new(&registry)?);
        let retention_runs = IntCounter::new(
            "mentorat_retention_runs_total",
            "Runs of the retention task (R14) on this replica",
        )?;
        let retention_destroyed = IntCounterVec::new(
            Opts::new(
                "mentorat_retention_destroyed_total",
                "Rows whose words the retention task destroyed on this replica, by kind",
            ),
            &["kind"],
        )?;
        for kind in mentorat_domain::erasure::Kind::ALL {
            retention_destroyed.with_label_values(&[kind.as_str()]);
        }
        registry.register(Box::new(retention_runs.clone()))?;
        registry.register(Box::new(retention_destroyed.clone()))?;
        let reminders_sent = IntCounter::new(
            "mentorat_reminders_sent_total",
            "Meeting reminders (meeting.upcoming) this replica wrote",
        )?;
        registry.register(Box::new(reminders_sent.clone()))?;
        Ok(Self {
            reminders_sent,
            retention_runs,
            retention_destroyed,
            operations,
            statements,
            registry,
            requests,
            latency,
        })
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    fn observe_statements(&self, method: &str, route: &str, statements: u32) {
        self.statements
            .with_label_values(&[method, route])
            .observe(f64::from(statements));
    }

    /// A run of the retention task, and what it destroyed.
    pub fn retention_run(&self, destroyed: &mentorat_domain::erasure::Destroyed) {
        self.retention_runs.inc();
        for (kind, n) in destroyed.by_kind() {
            if n > 0 {
                self.retention_destroyed
                    .with_label_values(&[kind.as_str()])
                    .inc_by(n);
            }
        }
    }

    /// Meeting reminders written by this replica's reminder task.
    pub fn reminders_sent(&self, n: u64) {
        self.reminders_sent.inc_by(n);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let request_id = request_id_of(&req);
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method_label = method_label(req.method());
    let incoming = trace_context::Incoming::from_headers(req.headers());
    // No path in the span: it would put ids (and a calendar feed's secret) in every line;
    // the access line names the route pattern instead.
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        trace_id = tracing::field::Empty,
        method = method_label,
        subject = tracing::field::Empty,
        otel.name = method_label,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = method_label,
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    let (trace_id, span_id, flags) = trace_of(&span, incoming.as_ref());
    let trace_id_text = trace_id.to_string();
    span.record("trace_id", trace_id_text.as_str());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let started = Instant::now();
    let ids = Ids {
        request_id: request_id.clone(),
        trace_id: trace_id_text.clone(),
    };

    // (The request must not be cloned before routing: actix needs it unshared to route it.)
    let (response, statements) = counting_statements(
        IDS.scope(ids, async move {
            match next.call(req).await {
                Ok(res) => Ok(ensure_problem(res.map_into_boxed_body()).await),
                Err(err) => Err(err),
            }
        })
        .instrument(span.clone()),
    )
    .await;
    let mut response = match response {
        Ok(res) => res,
        // A middleware below failed without a response; it becomes a problem document that
        // still carries this request's id.
        Err(err) => {
            let status = err.as_response_error().status_code();
            let (code, title, detail) = generic_for(status);
            let problem = Problem {
                request_id: Some(request_id.clone()),
                trace_id: Some(trace_id_text.clone()),
                ..problem(status, code, title, detail.to_owned(), Vec::new())
            };
            if status.is_server_error() {
                span.in_scope(|| tracing::error!(error = %err, "a middleware failed"));
            }
            return Err(ProblemError { status, problem }.into());
        }
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    // This request's own span, so a caller can find it in the trace.
    if let Ok(v) = HeaderValue::from_str(&trace_context::traceparent(trace_id, span_id, flags)) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(trace_context::TRACEPARENT), v);
    }
    security_headers(&mut response);
    let status = response.status().as_u16();
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let elapsed = started.elapsed();
    if let Some(metrics) = metrics {
        metrics.observe(method_label, &route, status, elapsed.as_secs_f64());
        metrics.observe_statements(method_label, &route, statements);
    }
    let subject = response
        .request()
        .extensions()
        .get::<CallerSubject>()
        .map(|s| s.0.clone());
    span.record("http.route", route.as_str());
    span.record("http.response.status_code", status);
    // The OpenTelemetry span has begun (its ids were read above): it is renamed directly.
    span.context()
        .span()
        .update_name(format!("{method_label} {route}"));
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
    // The access line: flat, one per request; the route is the matched pattern (never the
    // raw path: no ids, no words, no calendar secret).
    span.in_scope(|| {
        tracing::info!(
            request_id = %request_id,
            trace_id = %trace_id_text,
            method = method_label,
            route = %route,
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            subject = subject.as_deref(),
            statements,
            "request served"
        );
    });
    Ok(response)
}

/// Whether an answer is a public asset of the documentation (the same for everyone, no data).
fn is_public_asset(path: &str) -> bool {
    path == "/openapi.json" || path == "/docs" || path.starts_with("/docs/")
}

/// Headers every answer carries: `X-Content-Type-Options: nosniff` (a browser never guesses
/// a type, so a JSON answer holding a person's words is never run as HTML), and
/// `Cache-Control: no-store` on everything but the documentation's public assets — answers
/// carry a pair's words or a person's data, or say who exists; no shared or browser cache
/// keeps them. (A client may still keep its own copy and revalidate with `If-None-Match`.)
fn security_headers<B>(response: &mut ServiceResponse<B>) {
    let public = is_public_asset(response.request().path());
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !public {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// The id of the current request, for handlers that want it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// An error status that some layer below us (a framework default, a middleware) answered in
/// its own format becomes a problem document; the headers that matter (Allow,
/// WWW-Authenticate, CORS) are kept.
async fn ensure_problem(response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = response.status();
    if (status.is_client_error() || status.is_server_error())
        && response.request().path().starts_with("/scim/v2")
    {
        return ensure_scim_error(response).await;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            // SCIM answers its errors with its own documents (RFC 7644 §3.12).
            v.as_bytes().starts_with(PROBLEM_JSON.as_bytes())
                || v.as_bytes() == crate::routes::scim::SCIM_JSON.as_bytes()
        });
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (req, res) = response.into_parts();
    let (code, title, default_detail) = generic_for(status);
    if status.is_server_error() {
        tracing::error!(
            status = status.as_u16(),
            "a layer below the handlers failed"
        );
    }
    let mut replacement: HttpResponse = problem_response(
        status,
        &problem(status, code, title, default_detail.to_owned(), Vec::new()),
    );
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replacement
                .headers_mut()
                .insert(name.clone(), value.clone());
        }
    }
    ServiceResponse::new(req, replacement)
}

/// Under `/scim/v2` every failure is a SCIM error document (RFC 7644 §3.12): what a layer
/// below the handlers answered in another format (the rate limiter, the body timeout, a
/// method the path does not take) is rewritten, its `detail` and headers kept.
async fn ensure_scim_error(response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let is_scim = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == crate::routes::scim::SCIM_JSON.as_bytes());
    if is_scim {
        return response;
    }
    let status = response.status();
    if status.is_server_error() {
        tracing::error!(
            status = status.as_u16(),
            "a layer below the SCIM handlers failed"
        );
    }
    let (req, res) = response.into_parts();
    let headers = res.headers().clone();
    let detail = actix_web::body::to_bytes(res.into_body())
        .await
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
        .unwrap_or_else(|| generic_for(status).2.to_owned());
    let mut replacement = crate::routes::scim::error_document(status, &detail);
    for (name, value) in &headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replacement
                .headers_mut()
                .insert(name.clone(), value.clone());
        }
    }
    ServiceResponse::new(req, replacement)
}

/// An error that is already a problem document (used where no request is left to answer with).
#[derive(Debug)]
struct ProblemError {
    status: actix_web::http::StatusCode,
    problem: Problem,
}

impl std::fmt::Display for ProblemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.problem.detail)
    }
}

impl actix_web::ResponseError for ProblemError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        problem_response(self.status, &self.problem)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::Method;

    use super::*;

    #[test]
    fn only_known_methods_are_labels() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for invented in ["FOO1", "get", "PROPFIND", "TRACE", "CONNECT"] {
            let m = Method::from_bytes(invented.as_bytes()).unwrap_or(Method::TRACE);
            assert_eq!(method_label(&m), "other", "{invented}");
        }
    }
}
