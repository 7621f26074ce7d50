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
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};
use tracing::Instrument;
use uuid::Uuid;

use crate::problem::{PROBLEM_JSON, Problem, generic_for, problem, problem_response};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The path as logged: a calendar feed's secret is its credential, so it never reaches a log.
fn logged_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/api/v1/calendar/") {
        Some(_) => std::borrow::Cow::Borrowed("/api/v1/calendar/{token}.ics"),
        None => std::borrow::Cow::Borrowed(path),
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
/// several apps in one process (tests) never share figures.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    statements: HistogramVec,
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
        Ok(Self {
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
    let method = req.method().to_string();
    let method_label = method_label(req.method());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        path = %logged_path(req.path()),
    );
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let started = Instant::now();

    // (The request must not be cloned before routing: actix needs it unshared to route it.)
    let (response, statements) = counting_statements(
        REQUEST_ID
            .scope(request_id.clone(), async move {
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
    span.in_scope(|| {
        tracing::info!(
            status,
            route = %route,
            statements,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
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
