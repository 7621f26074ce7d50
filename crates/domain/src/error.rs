//! Errors the domain raises. Each variant is a rule that said no; the API maps them once to
//! problem documents with a stable `code`.

use crate::program::ProgramStatus;

/// One field that broke a rule, named by a JSON pointer into the input (`/cadence_days`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub pointer: String,
    pub detail: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Input that no rule can accept; every broken field is listed.
    #[error("the input breaks {} rule(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// The program lifecycle is `draft → open → running → closed`, one step at a time.
    #[error("a program cannot go from {from} to {to}")]
    IllegalProgramTransition {
        from: ProgramStatus,
        to: ProgramStatus,
    },
    /// R3: only the program's current charter version can be accepted.
    #[error(
        "version {requested} is not the current charter version ({current}); read the current one and accept it"
    )]
    CharterVersionOutdated { requested: i32, current: i32 },
    /// R3: there is no charter to accept yet.
    #[error("the program has no charter yet")]
    NoCharter,
    /// Only an active person takes part in a program.
    #[error("the person is not active")]
    PersonInactive,
    /// A closed program takes no new enrollments.
    #[error("the program is closed")]
    ProgramClosed,
    /// R1: a mentor may not be in the mentee's management chain, nor the mentee in theirs.
    #[error(
        "one of the two is in the other's management chain (R1: mentoring is non-hierarchical)"
    )]
    HierarchicalPair,
    /// R10: the mentor has no place left.
    #[error("the mentor already has {capacity} active or proposed pair(s), their capacity (R10)")]
    MentorAtCapacity { capacity: i32 },
    /// The same two people already form an open pair.
    #[error("these two people already form a pair in this program")]
    PairExists,
    /// A pair is a mentor enrollment and a mentee enrollment of the same program.
    #[error("a pair needs a mentor's enrollment and a mentee's enrollment of this program")]
    RoleMismatch,
    /// R3: a member must hold the current charter.
    #[error("both members must have accepted the program's current charter (R3)")]
    CharterNotAccepted,
    /// Only a proposed pair can be accepted.
    #[error("the pair is {status}, not proposed")]
    PairNotProposed { status: crate::pair::PairStatus },
    /// Only an open pair can end.
    #[error("the pair is already {status}")]
    PairNotOpen { status: crate::pair::PairStatus },
    /// The pair's working life happens in an active pair only.
    #[error("the pair is {status}; objectives and meetings need an active pair")]
    PairNotActive { status: crate::pair::PairStatus },
    /// R4: an objective is agreed by the *other* member.
    #[error(
        "you proposed this objective; the other member agrees to it (R4: objectives are joint)"
    )]
    CannotAgreeOwnObjective,
    /// R4: only a proposed objective can be agreed.
    #[error("the objective is {status}, not proposed")]
    ObjectiveNotProposed {
        status: crate::objective::ObjectiveStatus,
    },
    /// R4: `proposed → in_progress` (by agreement) `→ achieved | abandoned`.
    #[error("an objective cannot go from {from} to {to}{hint}")]
    IllegalObjectiveTransition {
        from: crate::objective::ObjectiveStatus,
        to: crate::objective::ObjectiveStatus,
        hint: &'static str,
    },
    /// R2: an in-person meeting needs a place.
    #[error("an in-person meeting needs a location of kind workplace or public_place (R2)")]
    LocationRequired,
    /// R2: never at a private residence.
    #[error("{}", crate::meeting::PRIVATE_LOCATION_RULE)]
    PrivateLocation,
    /// Two meetings of the same pair may not overlap.
    #[error("the pair already has a meeting from {starts_at} to {ends_at}")]
    MeetingOverlap {
        starts_at: chrono::DateTime<chrono::Utc>,
        ends_at: chrono::DateTime<chrono::Utc>,
    },
    /// Only a scheduled meeting is cancelled, held, missed or changed.
    #[error("the meeting is {status}, no longer scheduled")]
    MeetingNotScheduled {
        status: crate::meeting::MeetingStatus,
    },
    /// Only a meeting that has started can be held or missed.
    #[error("the meeting has not started yet; it can be held or missed from {starts_at}")]
    MeetingNotStarted {
        starts_at: chrono::DateTime<chrono::Utc>,
    },
    /// A meeting that has started is held or missed, not cancelled.
    #[error("the meeting has already started; mark it held or missed")]
    MeetingStarted,
    /// R6: nobody edits or deletes another person's note.
    #[error("only its author changes or deletes a note (R6)")]
    NotAuthor,
    /// A check-in follows a held meeting.
    #[error("the meeting is {status}; a check-in follows a held meeting")]
    MeetingNotHeld {
        status: crate::meeting::MeetingStatus,
    },
    /// A webhook may not call loopback, link-local, private or other special-use addresses
    /// (unless the operator allowed the network), nor an address with control characters.
    #[error("this webhook address may not be called: {0}")]
    WebhookTargetForbidden(&'static str),
    /// A `PATCH` of one date would put a program's end before its start, the other date being
    /// the one the program already has.
    #[error(
        "the program would end ({ends_on}) before it starts ({starts_on}); change both dates together"
    )]
    ProgramDatesConflict {
        starts_on: chrono::NaiveDate,
        ends_on: chrono::NaiveDate,
    },
    /// The final evaluation comes when the pair has ended or completed.
    #[error("the pair is {status}; the final evaluation comes once it has ended or completed")]
    PairNotFinished { status: crate::pair::PairStatus },
    /// R12 follow-up: `open → acknowledged → resolved` (or `open → resolved`); resolved is
    /// final.
    #[error("a concern cannot go from {from} to {to}{hint}")]
    IllegalConcernTransition {
        from: crate::concern::ConcernStatus,
        to: crate::concern::ConcernStatus,
        hint: &'static str,
    },
    /// R10: a mentor's capacity may not drop below the pairs they already have.
    #[error(
        "the mentor already has {open} active or proposed pair(s); the capacity cannot go below that (end or withdraw pairs first)"
    )]
    CapacityBelowOpenPairs { capacity: i32, open: i64 },
    /// A withdrawal waits for the enrollment's active pairs to end (R9: their members end them).
    #[error(
        "the enrollment still has {active} active or suspended pair(s); its members end them first (R9)"
    )]
    EnrollmentHasActivePair { active: i64 },
    /// A withdrawn enrollment no longer changes nor takes pairs.
    #[error("the enrollment was withdrawn; enroll the person again to take part")]
    EnrollmentWithdrawn,
    /// Issue 17: the program's coordinators propose its pairs; mentees send no requests.
    #[error(
        "this program's matching_mode is {mode}: its coordinators propose the pairs, mentees send no requests"
    )]
    RequestsDisabled { mode: crate::request::MatchingMode },
    /// Issue 17: a pair of the two existed in this program; they are not paired again.
    #[error("these two people already formed a pair in this program")]
    PairExisted,
    /// Issue 17: one pending request per mentee and mentor.
    #[error("you already have a pending request to this mentor")]
    RequestExists,
    /// Issue 17: at most this many pending requests per mentee.
    #[error("you already have {max} pending requests; withdraw one or wait for an answer")]
    TooManyPendingRequests { max: i64 },
    /// Issue 17: only a pending request is accepted, declined or withdrawn.
    #[error("the request is {status}, no longer pending")]
    RequestNotPending {
        status: crate::request::RequestStatus,
    },
}

/// Declares [`ErrorCode`]: each variant with its wire name and what it means, `ALL`,
/// `as_str` and `parse` from one list.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)+) => {
        /// Every stable `code` a problem document can carry: the one vocabulary of refusals
        /// (STYLE.md "One vocabulary"). The API maps errors to these and to nothing else; the
        /// OpenAPI document lists them as the `code` enum.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)+
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)+
                }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|c| c.as_str() == raw)
            }
        }
    };
}

error_codes! {
    // The request itself.
    /// The JSON body is not JSON.
    MalformedJson = "malformed_json",
    /// A query parameter, path or header is malformed.
    BadRequest = "bad_request",
    /// The body was cut short.
    IncompleteBody = "incomplete_body",
    /// `Idempotency-Key` is not 1 to 255 printable ASCII characters.
    InvalidIdempotencyKey = "invalid_idempotency_key",
    /// Fields break a rule; `errors[]` names each.
    ValidationFailed = "validation_failed",
    /// The body is not `application/json` (or `text/csv` where accepted).
    UnsupportedMediaType = "unsupported_media_type",
    /// No representation matches `Accept`.
    NotAcceptable = "not_acceptable",
    /// The body is over the limit.
    PayloadTooLarge = "payload_too_large",
    /// The head or the body did not arrive in time.
    RequestTimeout = "request_timeout",
    /// The request's headers are too large.
    RequestHeaderFieldsTooLarge = "request_header_fields_too_large",
    /// No such resource, or not one the caller may see.
    NotFound = "not_found",
    /// The path exists, not with this method.
    MethodNotAllowed = "method_not_allowed",
    // Who is calling.
    /// Missing or invalid token, or a deactivated person's (R11).
    Unauthorized = "unauthorized",
    /// The caller's roles do not allow the operation.
    Forbidden = "forbidden",
    /// R5: a pair's content, asked for by a coordinator or an admin.
    Confidential = "confidential",
    /// R6: only its author changes or deletes a note.
    NotAuthor = "not_author",
    // The state of things.
    /// `If-Match` names a stale version.
    PreconditionFailed = "precondition_failed",
    /// A resource with the same key exists.
    Conflict = "conflict",
    /// An `Idempotency-Key` used with another request, or whose answer is not kept.
    IdempotencyKeyReused = "idempotency_key_reused",
    /// The first request with this `Idempotency-Key` is still being served.
    IdempotencyRequestInProgress = "idempotency_request_in_progress",
    /// A program's or an objective's lifecycle does not allow this step.
    IllegalStatusTransition = "illegal_status_transition",
    /// A `PATCH` of one date would put a program's end before its start.
    ProgramDatesConflict = "program_dates_conflict",
    /// R3: only the current charter version can be accepted.
    CharterVersionOutdated = "charter_version_outdated",
    /// R3: the program has no charter yet.
    NoCharter = "no_charter",
    /// A closed program takes no new enrollments.
    ProgramClosed = "program_closed",
    /// The person is already enrolled in the program.
    AlreadyEnrolled = "already_enrolled",
    /// R10: a mentor's capacity may not go below their active and proposed pairs.
    CapacityBelowOpenPairs = "capacity_below_open_pairs",
    /// A withdrawal waits for the enrollment's active (or suspended) pairs to end.
    EnrollmentHasActivePair = "enrollment_has_active_pair",
    /// A withdrawn enrollment no longer changes nor takes pairs.
    EnrollmentWithdrawn = "enrollment_withdrawn",
    /// R10: the mentor has no place left.
    MentorAtCapacity = "mentor_at_capacity",
    /// The two people already form a pair in the program.
    PairExists = "pair_exists",
    /// R3: both members must hold the current charter.
    CharterNotAccepted = "charter_not_accepted",
    /// Only a proposed pair can be accepted.
    PairNotProposed = "pair_not_proposed",
    /// Only an open pair can end.
    PairNotOpen = "pair_not_open",
    /// Objectives and meetings need an active pair.
    PairNotActive = "pair_not_active",
    /// The final evaluation comes once the pair has ended or completed.
    PairNotFinished = "pair_not_finished",
    /// R4: the other member agrees to an objective.
    CannotAgreeOwnObjective = "cannot_agree_own_objective",
    /// R4: only a proposed objective can be agreed.
    ObjectiveNotProposed = "objective_not_proposed",
    /// Two meetings of a pair may not overlap.
    MeetingOverlap = "meeting_overlap",
    /// Only a scheduled meeting is cancelled, held, missed or changed.
    MeetingNotScheduled = "meeting_not_scheduled",
    /// A meeting is held or missed from its start on.
    MeetingNotStarted = "meeting_not_started",
    /// A meeting that has started is held or missed, not cancelled.
    MeetingStarted = "meeting_started",
    /// A cancelled meeting was rescheduled by a concurrent request.
    MeetingAlreadyRescheduled = "meeting_already_rescheduled",
    /// A check-in follows a held meeting.
    MeetingNotHeld = "meeting_not_held",
    /// One check-in per meeting, one final evaluation per member.
    FeedbackExists = "feedback_exists",
    /// Issue 17: the run's inputs changed since it was computed (a pair proposed or ended,
    /// an enrollment or a person changed); compute a new run.
    MatchingRunStale = "matching_run_stale",
    /// Issue 17: the run was applied already.
    MatchingRunApplied = "matching_run_applied",
    /// Issue 17: the program's `matching_mode` is `coordinator`: mentees send no requests.
    RequestsDisabled = "requests_disabled",
    /// Issue 17: a pending request to this mentor exists.
    RequestExists = "request_exists",
    /// Issue 17: a mentee has at most 3 pending requests.
    TooManyPendingRequests = "too_many_pending_requests",
    /// Issue 17: only a pending request is accepted, declined or withdrawn.
    RequestNotPending = "request_not_pending",
    // Domain rules that refuse well-formed input (422).
    /// An enrollment names no person.
    UnknownPerson = "unknown_person",
    /// A pair names enrollments that are not the program's.
    UnknownEnrollment = "unknown_enrollment",
    /// A pair is a mentor's and a mentee's enrollment.
    RoleMismatch = "role_mismatch",
    /// R1: mentoring is non-hierarchical.
    HierarchicalPair = "hierarchical_pair",
    /// Only an active person takes part.
    PersonInactive = "person_inactive",
    /// R2: an in-person meeting needs a place.
    LocationRequired = "location_required",
    /// R2: never at a private residence.
    PrivateLocation = "private_location",
    /// A manager chain may not loop.
    ManagerCycle = "manager_cycle",
    /// R13: the report's window is out of range.
    ReportWindowOpen = "report_window_open",
    /// A webhook may not call this address.
    WebhookTargetForbidden = "webhook_target_forbidden",
    // The service.
    /// The database is unreachable.
    DatabaseUnavailable = "database_unavailable",
    /// Given up for a concurrent request on the same data; nothing was written.
    DatabaseBusy = "database_busy",
    /// The caller sent more than its rate (`MENTORAT_RATE_LIMIT`); wait `Retry-After`.
    RateLimited = "rate_limited",
    /// Something failed on our side.
    Internal = "internal",
}

#[cfg(test)]
mod error_code_tests {
    use super::ErrorCode;

    #[test]
    fn codes_are_unique_snake_case_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert_eq!(ErrorCode::parse(s), Some(*code));
        }
    }
}
