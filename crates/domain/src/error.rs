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
    /// The final evaluation comes when the pair has ended or completed.
    #[error("the pair is {status}; the final evaluation comes once it has ended or completed")]
    PairNotFinished { status: crate::pair::PairStatus },
}
