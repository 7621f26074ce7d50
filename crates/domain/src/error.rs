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
}
