//! RFC 9457 problem documents: the one shape of every failure, and the one place where an
//! error of any layer becomes an HTTP status and a stable `code`.

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use mentorat_domain::{Denied, DomainError, ErrorCode, FieldError};
use mentorat_persistence::StoreError;
use mentorat_service::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::telemetry::{current_request_id, current_trace_id};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Marks an answer `503 database_unavailable` for the middlewares after the handler (the
/// audit log does not wait for the same database a second time).
#[derive(Debug, Clone, Copy)]
pub struct DatabaseUnavailable;

/// A problem document (RFC 9457) with Mentorat's stable machine `code`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "https://mentorat.dev/problems/validation_failed",
    "title": "The request is not valid",
    "status": 422,
    "detail": "2 fields need fixing",
    "code": "validation_failed",
    "request_id": "01935f4e-8c4d-7e9a-b1d2-3f4a5b6c7d8e",
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "errors": [{"pointer": "/cadence_days", "detail": "cadence_days must be between 1 and 365, got 0"}]
}))]
pub struct Problem {
    /// A URI naming the kind of problem; `https://mentorat.dev/problems/{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, and what to fix.
    pub detail: String,
    /// Stable machine-readable code; clients branch on this (`ErrorCode`).
    #[schema(schema_with = error_code_schema)]
    pub code: String,
    /// The id of this request, also in the `X-Request-Id` header and in every log line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The W3C trace id of this request (32 lowercase hex digits): the caller's, when it
    /// sent a valid `traceparent`; also in the `traceparent` response header and every log
    /// line of the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        nullable = false,
        pattern = "^[0-9a-f]{32}$",
        example = "4bf92f3577b34da6a3ce929d0e0e4736"
    )]
    pub trace_id: Option<String>,
    /// The fields that failed validation, by JSON pointer into the request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// The `code` enum: every value of [`ErrorCode`], and nothing else.
fn error_code_schema() -> utoipa::openapi::Object {
    crate::vocabulary::string_enum(ErrorCode::ALL.iter().map(|c| c.as_str()))
        .description(Some("Stable machine-readable code; clients branch on this"))
        .build()
}

/// One invalid field.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldProblem {
    /// JSON pointer (RFC 6901) to the field in the body; for a query parameter, `/` and its name.
    pub pointer: String,
    pub detail: String,
}

impl From<FieldError> for FieldProblem {
    fn from(e: FieldError) -> Self {
        Self {
            pointer: e.pointer,
            detail: e.detail,
        }
    }
}

/// Every error the HTTP layer can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("method {method} is not allowed here")]
    MethodNotAllowed { method: String, allow: Vec<String> },
    #[error("{0}")]
    MalformedJson(String),
    #[error("{1}")]
    BadRequest(ErrorCode, String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// The body stopped arriving for longer than the body timeout; the connection is closed.
    #[error(
        "the request body stopped arriving before its end; nothing was done, send the whole request again"
    )]
    RequestTimeout,
    #[error("{detail}")]
    Validation {
        detail: String,
        errors: Vec<FieldProblem>,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("your roles do not allow this operation")]
    Forbidden,
    /// A refusal of the rules, not of the caller's roles (`403` with its own code).
    #[error("{1}")]
    ForbiddenBecause(ErrorCode, String),
    /// R5: a coordinator or admin asking for a pair's content.
    #[error(
        "what a pair says to each other is confidential (R5): coordinators see a pair's metadata and flags, never its content"
    )]
    Confidential,
    #[error("{1}")]
    Conflict(ErrorCode, String),
    #[error("{1}")]
    Unprocessable(ErrorCode, String),
    #[error("the resource changed since you read it: fetch it again and retry with its new ETag")]
    PreconditionFailed,
    #[error("the database is unavailable; retry later")]
    Unavailable,
    /// Too many requests from this caller (`MENTORAT_RATE_LIMIT`).
    #[error(
        "too many requests from this caller: send the next one in {retry_after} s (see RateLimit-Policy)"
    )]
    RateLimited { retry_after: u64 },
    #[error(
        "the request met a concurrent one on the same data and nothing was written; send it again"
    )]
    Busy,
    /// Details go to the log only, under the request id.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn validation(errors: Vec<FieldProblem>) -> Self {
        let detail = match errors.len() {
            1 => "1 field needs fixing".to_owned(),
            n => format!("{n} fields need fixing"),
        };
        ApiError::Validation { detail, errors }
    }

    /// The one mapping of an error to its stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            ApiError::MalformedJson(_) => ErrorCode::MalformedJson,
            ApiError::BadRequest(code, _) => *code,
            ApiError::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            ApiError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            ApiError::RequestTimeout => ErrorCode::RequestTimeout,
            ApiError::Validation { .. } => ErrorCode::ValidationFailed,
            ApiError::Unauthorized(_) => ErrorCode::Unauthorized,
            ApiError::Forbidden => ErrorCode::Forbidden,
            ApiError::Confidential => ErrorCode::Confidential,
            ApiError::ForbiddenBecause(code, _) => *code,
            ApiError::Conflict(code, _) => *code,
            ApiError::Unprocessable(code, _) => *code,
            ApiError::PreconditionFailed => ErrorCode::PreconditionFailed,
            ApiError::Unavailable => ErrorCode::DatabaseUnavailable,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::Busy => ErrorCode::DatabaseBusy,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "Not found",
            ApiError::MethodNotAllowed { .. } => "Method not allowed",
            ApiError::MalformedJson(_) => "Malformed JSON",
            ApiError::BadRequest(..) => "Bad request",
            ApiError::UnsupportedMediaType(_) => "Unsupported media type",
            ApiError::PayloadTooLarge { .. } => "Payload too large",
            ApiError::RequestTimeout => "Request timeout",
            ApiError::Validation { .. } => "The request is not valid",
            ApiError::Unauthorized(_) => "Unauthorized",
            ApiError::Forbidden => "Forbidden",
            ApiError::Confidential => "Confidential",
            ApiError::ForbiddenBecause(..) => "Forbidden",
            ApiError::Conflict(..) => "Conflict",
            ApiError::Unprocessable(..) => "Refused by a rule",
            ApiError::PreconditionFailed => "Precondition failed",
            ApiError::Unavailable => "Service unavailable",
            ApiError::RateLimited { .. } => "Too many requests",
            ApiError::Busy => "Busy, retry",
            ApiError::Internal(_) => "Internal error",
        }
    }

    pub fn to_problem(&self) -> Problem {
        let (detail, errors) = match self {
            ApiError::Validation { detail, errors } => (detail.clone(), errors.clone()),
            ApiError::Internal(_) => (
                "something went wrong on our side; quote the request id when reporting it".into(),
                Vec::new(),
            ),
            other => (other.to_string(), Vec::new()),
        };
        problem(
            self.status_code(),
            self.code(),
            self.title(),
            detail,
            errors,
        )
    }
}

/// Build a problem document for the current request.
pub fn problem(
    status: StatusCode,
    code: ErrorCode,
    title: &str,
    detail: String,
    errors: Vec<FieldProblem>,
) -> Problem {
    Problem {
        kind: format!("https://mentorat.dev/problems/{}", code.as_str()),
        title: title.to_owned(),
        status: status.as_u16(),
        detail,
        code: code.as_str().to_owned(),
        request_id: current_request_id(),
        trace_id: current_trace_id(),
        errors,
    }
}

pub fn problem_response(status: StatusCode, problem: &Problem) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
        .json(problem)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::MalformedJson(_) | ApiError::BadRequest(..) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Validation { .. } | ApiError::Unprocessable(..) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::Confidential | ApiError::ForbiddenBecause(..) => {
                StatusCode::FORBIDDEN
            }
            ApiError::Conflict(..) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::Unavailable | ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(details) => {
                tracing::error!(error = %details, "request failed with an internal error");
            }
            ApiError::Unavailable => tracing::warn!("database unavailable"),
            ApiError::Busy => tracing::warn!("transaction given up for a concurrent one"),
            _ => {}
        }
        let mut response = problem_response(self.status_code(), &self.to_problem());
        if matches!(self, ApiError::Unavailable) {
            response.extensions_mut().insert(DatabaseUnavailable);
        }
        let headers = response.headers_mut();
        match self {
            ApiError::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer realm=\"mentorat\""),
                );
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                if let Ok(v) = header::HeaderValue::from_str(&allow.join(", ")) {
                    headers.insert(header::ALLOW, v);
                }
            }
            ApiError::Unavailable => {
                headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
            }
            ApiError::RequestTimeout => {
                // The rest of the body may still come: the connection cannot carry another
                // request.
                response
                    .head_mut()
                    .set_connection_type(actix_http::ConnectionType::Close);
            }
            ApiError::Busy => {
                headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            }
            ApiError::RateLimited { retry_after } => {
                headers.insert(header::RETRY_AFTER, header::HeaderValue::from(*retry_after));
            }
            _ => {}
        }
        response
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::Invalid(fields) => {
                ApiError::validation(fields.into_iter().map(Into::into).collect())
            }
            DomainError::IllegalProgramTransition { .. } => {
                ApiError::Conflict(ErrorCode::IllegalStatusTransition, err.to_string())
            }
            DomainError::CharterVersionOutdated { .. } => {
                ApiError::Conflict(ErrorCode::CharterVersionOutdated, err.to_string())
            }
            DomainError::NoCharter => ApiError::Conflict(ErrorCode::NoCharter, err.to_string()),
            DomainError::PersonInactive => {
                ApiError::Unprocessable(ErrorCode::PersonInactive, err.to_string())
            }
            DomainError::ProgramClosed => {
                ApiError::Conflict(ErrorCode::ProgramClosed, err.to_string())
            }
            DomainError::HierarchicalPair => {
                ApiError::Unprocessable(ErrorCode::HierarchicalPair, err.to_string())
            }
            DomainError::MentorAtCapacity { .. } => {
                ApiError::Conflict(ErrorCode::MentorAtCapacity, err.to_string())
            }
            DomainError::PairExists => ApiError::Conflict(ErrorCode::PairExists, err.to_string()),
            DomainError::RoleMismatch => {
                ApiError::Unprocessable(ErrorCode::RoleMismatch, err.to_string())
            }
            DomainError::CharterNotAccepted => {
                ApiError::Conflict(ErrorCode::CharterNotAccepted, err.to_string())
            }
            DomainError::PairNotProposed { .. } => {
                ApiError::Conflict(ErrorCode::PairNotProposed, err.to_string())
            }
            DomainError::PairNotOpen { .. } => {
                ApiError::Conflict(ErrorCode::PairNotOpen, err.to_string())
            }
            DomainError::PairNotActive { .. } => {
                ApiError::Conflict(ErrorCode::PairNotActive, err.to_string())
            }
            DomainError::CannotAgreeOwnObjective => {
                ApiError::Conflict(ErrorCode::CannotAgreeOwnObjective, err.to_string())
            }
            DomainError::ObjectiveNotProposed { .. } => {
                ApiError::Conflict(ErrorCode::ObjectiveNotProposed, err.to_string())
            }
            DomainError::IllegalObjectiveTransition { .. } => {
                ApiError::Conflict(ErrorCode::IllegalStatusTransition, err.to_string())
            }
            DomainError::LocationRequired => {
                ApiError::Unprocessable(ErrorCode::LocationRequired, err.to_string())
            }
            DomainError::PrivateLocation => {
                ApiError::Unprocessable(ErrorCode::PrivateLocation, err.to_string())
            }
            DomainError::MeetingOverlap { .. } => {
                ApiError::Conflict(ErrorCode::MeetingOverlap, err.to_string())
            }
            DomainError::MeetingNotScheduled { .. } => {
                ApiError::Conflict(ErrorCode::MeetingNotScheduled, err.to_string())
            }
            DomainError::MeetingNotStarted { .. } => {
                ApiError::Conflict(ErrorCode::MeetingNotStarted, err.to_string())
            }
            DomainError::MeetingStarted => {
                ApiError::Conflict(ErrorCode::MeetingStarted, err.to_string())
            }
            DomainError::NotAuthor => {
                ApiError::ForbiddenBecause(ErrorCode::NotAuthor, err.to_string())
            }
            DomainError::MeetingNotHeld { .. } => {
                ApiError::Conflict(ErrorCode::MeetingNotHeld, err.to_string())
            }
            DomainError::WebhookTargetForbidden(_) => {
                ApiError::Unprocessable(ErrorCode::WebhookTargetForbidden, err.to_string())
            }
            DomainError::ProgramDatesConflict { .. } => {
                ApiError::Conflict(ErrorCode::ProgramDatesConflict, err.to_string())
            }
            DomainError::PairNotFinished { .. } => {
                ApiError::Conflict(ErrorCode::PairNotFinished, err.to_string())
            }
            DomainError::IllegalConcernTransition { .. } => {
                ApiError::Conflict(ErrorCode::IllegalStatusTransition, err.to_string())
            }
            DomainError::CapacityBelowOpenPairs { .. } => {
                ApiError::Conflict(ErrorCode::CapacityBelowOpenPairs, err.to_string())
            }
            DomainError::EnrollmentHasActivePair { .. } => {
                ApiError::Conflict(ErrorCode::EnrollmentHasActivePair, err.to_string())
            }
            DomainError::EnrollmentWithdrawn => {
                ApiError::Conflict(ErrorCode::EnrollmentWithdrawn, err.to_string())
            }
            DomainError::RequestsDisabled { .. } => {
                ApiError::Conflict(ErrorCode::RequestsDisabled, err.to_string())
            }
            DomainError::PairExisted => ApiError::Conflict(ErrorCode::PairExists, err.to_string()),
            DomainError::RequestExists => {
                ApiError::Conflict(ErrorCode::RequestExists, err.to_string())
            }
            DomainError::TooManyPendingRequests { .. } => {
                ApiError::Conflict(ErrorCode::TooManyPendingRequests, err.to_string())
            }
            DomainError::RequestNotPending { .. } => {
                ApiError::Conflict(ErrorCode::RequestNotPending, err.to_string())
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => ApiError::Unavailable,
            StoreError::Contention(_) => ApiError::Busy,
            StoreError::StaleRevision => ApiError::PreconditionFailed,
            StoreError::Duplicate => ApiError::Conflict(
                ErrorCode::Conflict,
                "a resource with the same key exists".into(),
            ),
            other => ApiError::Internal(error_chain(&other)),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Domain(e) => e.into(),
            ServiceError::NotFound => ApiError::NotFound("no such resource".into()),
            ServiceError::Confidential => ApiError::Confidential,
            ServiceError::Forbidden => ApiError::Forbidden,
            ServiceError::PreconditionFailed => ApiError::PreconditionFailed,
            ServiceError::Conflict(code, detail) => ApiError::Conflict(code, detail),
            ServiceError::Unprocessable(code, detail) => ApiError::Unprocessable(code, detail),
            ServiceError::Store(e) => e.into(),
            ServiceError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}

impl From<Denied> for ApiError {
    fn from(err: Denied) -> Self {
        match err {
            Denied::Forbidden => ApiError::Forbidden,
        }
    }
}

/// The error and its sources on one line, for the log.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The code and title a bare status gets when something below us answered it without a
/// problem document (see `telemetry::ensure_problem`).
pub fn generic_for(status: StatusCode) -> (ErrorCode, &'static str, &'static str) {
    match status.as_u16() {
        400 => (
            ErrorCode::BadRequest,
            "Bad request",
            "the request could not be understood",
        ),
        401 => (
            ErrorCode::Unauthorized,
            "Unauthorized",
            "a valid bearer token is required",
        ),
        403 => (
            ErrorCode::Forbidden,
            "Forbidden",
            "this request is not allowed",
        ),
        404 => (ErrorCode::NotFound, "Not found", "no such resource"),
        405 => (
            ErrorCode::MethodNotAllowed,
            "Method not allowed",
            "this method is not allowed here",
        ),
        406 => (
            ErrorCode::NotAcceptable,
            "Not acceptable",
            "no representation matches the Accept header",
        ),
        408 => (
            ErrorCode::RequestTimeout,
            "Request timeout",
            "the request did not arrive in time; send it again",
        ),
        431 => (
            ErrorCode::RequestHeaderFieldsTooLarge,
            "Request header fields too large",
            "the request's headers are too large",
        ),
        413 => (
            ErrorCode::PayloadTooLarge,
            "Payload too large",
            "the request body is too large",
        ),
        415 => (
            ErrorCode::UnsupportedMediaType,
            "Unsupported media type",
            "send application/json",
        ),
        503 => (
            ErrorCode::DatabaseUnavailable,
            "Service unavailable",
            "retry later",
        ),
        s if s >= 500 => (
            ErrorCode::Internal,
            "Internal error",
            "something went wrong on our side; quote the request id when reporting it",
        ),
        _ => (
            ErrorCode::BadRequest,
            "Bad request",
            "the request was refused",
        ),
    }
}
