//! Which problem `code`s each operation can answer, for the OpenAPI document (issue 13: "every
//! operation lists its problem codes as an enum generated from one `ErrorCode` type").
//!
//! Two sources, both [`ErrorCode`] values (no code is spelled as a string here):
//!
//! * [`by_shape`]: the refusals of the machinery every operation of a kind goes through — the
//!   token check (authenticated), the JSON or CSV body reader (has a body), the query and path
//!   extractors, the `Idempotency-Key` middleware (every `POST`), `If-Match` (every `PATCH`),
//!   the rate limiter, the database pool.
//! * [`by_operation`]: the refusals of the use case behind one handler (its domain rules),
//!   by the handler's operation id.
//!
//! The HTTP status of each code is [`status_of`], one exhaustive match: a code always answers
//! with the same status. The black-box tests hold the document to what the server does: every
//! problem document any test receives is checked against the operation's documented codes for
//! that status (`tests/support`, `Reply` from `TestApp::send`), and schemathesis'
//! response-conformance check does the same on the fuzzed requests.

use actix_web::http::StatusCode;
use mentorat_domain::ErrorCode;

/// The status a problem with this code is answered with.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        MalformedJson | BadRequest | IncompleteBody | InvalidIdempotencyKey => {
            StatusCode::BAD_REQUEST
        }
        Unauthorized => StatusCode::UNAUTHORIZED,
        Forbidden | Confidential | NotAuthor => StatusCode::FORBIDDEN,
        NotFound => StatusCode::NOT_FOUND,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        NotAcceptable => StatusCode::NOT_ACCEPTABLE,
        RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        Conflict
        | IdempotencyKeyReused
        | IdempotencyRequestInProgress
        | IllegalStatusTransition
        | ProgramDatesConflict
        | CharterVersionOutdated
        | NoCharter
        | ProgramClosed
        | AlreadyEnrolled
        | CapacityBelowOpenPairs
        | EnrollmentHasActivePair
        | EnrollmentWithdrawn
        | MentorAtCapacity
        | PairExists
        | CharterNotAccepted
        | PairNotProposed
        | PairNotOpen
        | PairNotActive
        | PairNotFinished
        | CannotAgreeOwnObjective
        | ObjectiveNotProposed
        | MeetingOverlap
        | MeetingNotScheduled
        | MeetingNotStarted
        | MeetingStarted
        | MeetingAlreadyRescheduled
        | MeetingNotHeld
        | FeedbackExists
        | MatchingRunStale
        | MatchingRunApplied
        | RequestsDisabled
        | RequestExists
        | TooManyPendingRequests
        | RequestNotPending => StatusCode::CONFLICT,
        PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ValidationFailed
        | UnknownPerson
        | UnknownEnrollment
        | RoleMismatch
        | HierarchicalPair
        | PersonInactive
        | LocationRequired
        | PrivateLocation
        | ManagerCycle
        | ReportWindowOpen
        | WebhookTargetForbidden => StatusCode::UNPROCESSABLE_ENTITY,
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        RequestHeaderFieldsTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
        DatabaseUnavailable | DatabaseBusy => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// What an operation is, as far as the shared machinery is concerned.
pub struct Shape<'a> {
    pub path: &'a str,
    /// `get`, `post`, … (lowercase).
    pub method: &'a str,
    pub secured: bool,
    pub has_body: bool,
    pub has_parameters: bool,
    pub rate_limited: bool,
}

/// The codes the shared machinery answers for an operation of this shape.
pub fn by_shape(shape: &Shape) -> Vec<ErrorCode> {
    use ErrorCode::*;
    let mut codes = vec![Internal];
    if shape.secured {
        // The token check, the access policy, the database behind every use case.
        codes.extend([Unauthorized, Forbidden, DatabaseUnavailable, DatabaseBusy]);
    }
    if shape.rate_limited {
        codes.push(RateLimited);
    }
    if shape.has_body {
        // `ValidJson` / the CSV reader and the body timeout.
        codes.extend([
            MalformedJson,
            IncompleteBody,
            UnsupportedMediaType,
            PayloadTooLarge,
            ValidationFailed,
            RequestTimeout,
        ]);
    } else if shape.has_parameters && shape.method == "get" {
        // The query extractor (`bad_request`) and the checks of its values.
        codes.extend([BadRequest, ValidationFailed]);
    }
    // A path parameter that names nothing, or is not even an id.
    if shape.path.contains('{') {
        codes.push(NotFound);
    }
    // `/me…` is about the caller as a person: a token whose subject the HRIS has not
    // recorded (an admin's service account) finds no one there.
    if shape.secured && shape.path.starts_with("/api/v1/me") {
        codes.push(NotFound);
    }
    if shape.method == "post" {
        // The `Idempotency-Key` middleware, which reads the body of every POST.
        codes.extend([
            InvalidIdempotencyKey,
            IdempotencyKeyReused,
            IdempotencyRequestInProgress,
            RequestTimeout,
        ]);
    }
    if matches!(shape.method, "post" | "patch") {
        // A write that meets a unique key of the store (`StoreError::Duplicate`).
        codes.push(Conflict);
    }
    if shape.method == "patch" {
        codes.push(PreconditionFailed);
    }
    codes.sort();
    codes.dedup();
    codes
}

/// The refusals of a pair's content to someone who is not one of its two members (R5).
const CONTENT: &[ErrorCode] = &[ErrorCode::Confidential];

/// The codes the use case behind an operation answers, beyond [`by_shape`]'s.
pub fn by_operation(operation_id: &str) -> &'static [ErrorCode] {
    use ErrorCode::*;
    match operation_id {
        // Readiness answers 503 when the database does not answer (it takes no token).
        "readyz" => &[DatabaseUnavailable],
        "upsert_person" | "import_people" => &[ManagerCycle],
        "update_program" => &[IllegalStatusTransition, ProgramDatesConflict],
        "enroll" => &[
            UnknownPerson,
            AlreadyEnrolled,
            PersonInactive,
            ProgramClosed,
        ],
        "accept_charter" => &[NoCharter, CharterVersionOutdated, EnrollmentWithdrawn],
        "update_enrollment" => &[CapacityBelowOpenPairs, EnrollmentWithdrawn],
        "withdraw_enrollment" => &[EnrollmentHasActivePair],
        "update_concern" => &[IllegalStatusTransition],
        "list_own_concerns" => CONTENT,
        "suggestions" => &[RoleMismatch],
        "propose_pair" => &[
            ProgramClosed,
            UnknownEnrollment,
            RoleMismatch,
            PersonInactive,
            HierarchicalPair,
            PairExists,
            MentorAtCapacity,
            EnrollmentWithdrawn,
        ],
        "accept_pair" => &[
            PairNotProposed,
            CharterNotAccepted,
            PersonInactive,
            HierarchicalPair,
        ],
        "end_pair" => &[PairNotOpen],
        "list_objectives" | "get_objective" | "list_revisions" | "list_meetings"
        | "get_meeting" | "list_notes" | "get_note" | "list_feedback" => CONTENT,
        "propose_objective" => &[Confidential, PairNotActive],
        "update_objective" => &[Confidential, PairNotActive, IllegalStatusTransition],
        "agree_objective" => &[
            Confidential,
            PairNotActive,
            ObjectiveNotProposed,
            CannotAgreeOwnObjective,
        ],
        "schedule_meeting" => &[
            Confidential,
            PairNotActive,
            CharterNotAccepted,
            LocationRequired,
            PrivateLocation,
            MeetingOverlap,
            MeetingAlreadyRescheduled,
        ],
        "update_meeting" => &[
            Confidential,
            PairNotActive,
            CharterNotAccepted,
            MeetingNotScheduled,
            LocationRequired,
            PrivateLocation,
            MeetingOverlap,
        ],
        "cancel_meeting" => &[Confidential, MeetingNotScheduled, MeetingStarted],
        "meeting_held" | "meeting_missed" => {
            &[Confidential, MeetingNotScheduled, MeetingNotStarted]
        }
        "write_note" => &[Confidential, PairNotActive],
        "update_note" | "delete_note" => &[Confidential, NotAuthor],
        "raise_concern" => CONTENT,
        "give_feedback" => &[
            Confidential,
            MeetingNotHeld,
            PairNotFinished,
            FeedbackExists,
        ],
        "program_report" => &[ReportWindowOpen],
        "create_webhook" | "update_webhook" => &[WebhookTargetForbidden],
        "create_matching_run" => &[ProgramClosed, UnknownEnrollment],
        "apply_matching_run" => &[
            ProgramClosed,
            MatchingRunStale,
            MatchingRunApplied,
            RoleMismatch,
            PersonInactive,
            HierarchicalPair,
            PairExists,
            MentorAtCapacity,
        ],
        "send_request" => &[
            RequestsDisabled,
            ProgramClosed,
            UnknownEnrollment,
            EnrollmentWithdrawn,
            RoleMismatch,
            PersonInactive,
            HierarchicalPair,
            PairExists,
            MentorAtCapacity,
            RequestExists,
            TooManyPendingRequests,
        ],
        "accept_request" => &[
            RequestNotPending,
            ProgramClosed,
            EnrollmentWithdrawn,
            RoleMismatch,
            PersonInactive,
            HierarchicalPair,
            PairExists,
            MentorAtCapacity,
        ],
        "decline_request" | "withdraw_request" => &[RequestNotPending],
        _ => &[],
    }
}

/// Every operation id [`by_operation`] names (for the test that none is stale).
pub const NAMED: &[&str] = &[
    "readyz",
    "upsert_person",
    "import_people",
    "update_program",
    "enroll",
    "accept_charter",
    "update_enrollment",
    "withdraw_enrollment",
    "update_concern",
    "list_own_concerns",
    "suggestions",
    "create_matching_run",
    "apply_matching_run",
    "propose_pair",
    "accept_pair",
    "end_pair",
    "list_objectives",
    "get_objective",
    "list_revisions",
    "list_meetings",
    "get_meeting",
    "list_notes",
    "get_note",
    "list_feedback",
    "propose_objective",
    "update_objective",
    "agree_objective",
    "schedule_meeting",
    "update_meeting",
    "cancel_meeting",
    "meeting_held",
    "meeting_missed",
    "write_note",
    "update_note",
    "delete_note",
    "raise_concern",
    "give_feedback",
    "program_report",
    "create_webhook",
    "update_webhook",
    "send_request",
    "accept_request",
    "decline_request",
    "withdraw_request",
];

/// The codes of an operation grouped by status, codes sorted by name.
pub fn of(shape: &Shape, operation_id: &str) -> Vec<(StatusCode, Vec<ErrorCode>)> {
    let mut codes = by_shape(shape);
    codes.extend_from_slice(by_operation(operation_id));
    let mut by_status: std::collections::BTreeMap<u16, Vec<ErrorCode>> = Default::default();
    for code in codes {
        let list = by_status.entry(status_of(code).as_u16()).or_default();
        if !list.contains(&code) {
            list.push(code);
        }
    }
    by_status
        .into_iter()
        .map(|(status, mut codes)| {
            codes.sort_by_key(|c| c.as_str());
            (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                codes,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status of each code is the one `ApiError` answers it with, where the error's
    /// variant fixes the code.
    #[test]
    fn the_status_of_a_code_is_the_one_its_error_answers() {
        use crate::problem::ApiError;
        use actix_web::ResponseError;
        let fixed = [
            ApiError::NotFound(String::new()),
            ApiError::MalformedJson(String::new()),
            ApiError::UnsupportedMediaType(String::new()),
            ApiError::PayloadTooLarge { limit: 1 },
            ApiError::RequestTimeout,
            ApiError::validation(Vec::new()),
            ApiError::Unauthorized(String::new()),
            ApiError::Forbidden,
            ApiError::Confidential,
            ApiError::PreconditionFailed,
            ApiError::Unavailable,
            ApiError::RateLimited { retry_after: 1 },
            ApiError::Busy,
            ApiError::Internal(String::new()),
        ];
        for error in fixed {
            assert_eq!(status_of(error.code()), error.status_code(), "{error:?}");
        }
        // The domain's refusals, through the one mapping.
        let domain = [
            mentorat_domain::DomainError::NoCharter,
            mentorat_domain::DomainError::PersonInactive,
            mentorat_domain::DomainError::ProgramClosed,
            mentorat_domain::DomainError::HierarchicalPair,
            mentorat_domain::DomainError::PairExists,
            mentorat_domain::DomainError::RoleMismatch,
            mentorat_domain::DomainError::CharterNotAccepted,
            mentorat_domain::DomainError::CannotAgreeOwnObjective,
            mentorat_domain::DomainError::LocationRequired,
            mentorat_domain::DomainError::PrivateLocation,
            mentorat_domain::DomainError::MeetingStarted,
            mentorat_domain::DomainError::NotAuthor,
            mentorat_domain::DomainError::WebhookTargetForbidden("x"),
            mentorat_domain::DomainError::MentorAtCapacity { capacity: 1 },
            mentorat_domain::DomainError::CharterVersionOutdated {
                requested: 1,
                current: 2,
            },
        ];
        for error in domain {
            let api = ApiError::from(error);
            assert_eq!(status_of(api.code()), api.status_code(), "{api:?}");
        }
    }

    #[test]
    fn a_propose_pair_lists_its_rules_and_not_others() {
        let shape = Shape {
            path: "/api/v1/programs/{id}/pairs",
            method: "post",
            secured: true,
            has_body: true,
            has_parameters: true,
            rate_limited: true,
        };
        let groups = of(&shape, "propose_pair");
        let at = |s: u16| {
            groups
                .iter()
                .find(|(status, _)| status.as_u16() == s)
                .map(|(_, c)| c.clone())
                .unwrap_or_default()
        };
        assert!(at(422).contains(&ErrorCode::RoleMismatch));
        assert!(at(422).contains(&ErrorCode::ValidationFailed));
        assert!(!at(422).contains(&ErrorCode::PrivateLocation));
        assert!(at(409).contains(&ErrorCode::MentorAtCapacity));
        assert!(!at(409).contains(&ErrorCode::MeetingOverlap));
        assert!(!at(409).contains(&ErrorCode::PreconditionFailed));
    }
}
