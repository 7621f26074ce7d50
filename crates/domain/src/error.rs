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
}
