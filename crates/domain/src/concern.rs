//! Concerns (R12) and their follow-up by the coordinators.
//!
//! A concern is `open` when raised. A coordinator acknowledges it (`open → acknowledged`)
//! and resolves it (`acknowledged → resolved`, or `open → resolved` at once when there is
//! nothing to wait for). `resolved` is final: nothing moves it back, and its response no
//! longer changes. Every other step is `409 illegal_status_transition`. A coordinator may
//! write a `response` to the author with any allowed step, or alone on a concern not yet
//! resolved; the author is notified of each status reached (`concern.acknowledged`,
//! `concern.resolved`).

use std::fmt;

use crate::error::{DomainError, FieldError};

/// The most characters of a coordinator's response.
pub const RESPONSE_MAX_CHARS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConcernStatus {
    Open,
    Acknowledged,
    Resolved,
}

impl ConcernStatus {
    pub const ALL: [ConcernStatus; 3] = [Self::Open, Self::Acknowledged, Self::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The notification and webhook event kind of reaching this status (none for `open`).
    pub fn event(self) -> Option<&'static str> {
        match self {
            Self::Open => None,
            Self::Acknowledged => Some("concern.acknowledged"),
            Self::Resolved => Some("concern.resolved"),
        }
    }
}

impl fmt::Display for ConcernStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a coordinator asks of a concern.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConcernFollowUp {
    pub status: Option<ConcernStatus>,
    pub response: Option<String>,
}

/// What the follow-up decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpDecision {
    /// The status after the change.
    pub status: ConcernStatus,
    /// The status reached by this change (to notify the author), if it moved.
    pub reached: Option<ConcernStatus>,
    /// The new response, when one is given (trimmed, not blank).
    pub response: Option<String>,
}

impl FollowUpDecision {
    pub fn changes_anything(&self) -> bool {
        self.reached.is_some() || self.response.is_some()
    }
}

/// Judge a follow-up of a concern that is `from`, with `current_response` its response now.
pub fn follow_up(
    from: ConcernStatus,
    current_response: Option<&str>,
    change: ConcernFollowUp,
) -> Result<FollowUpDecision, DomainError> {
    let response = match change.response {
        None => None,
        Some(r) => {
            let r = r.trim().to_owned();
            let n = r.chars().count();
            if n == 0 || n > RESPONSE_MAX_CHARS {
                return Err(DomainError::Invalid(vec![FieldError::new(
                    "/response",
                    format!("the response to the author is 1 to {RESPONSE_MAX_CHARS} characters"),
                )]));
            }
            Some(r)
        }
    };
    if change.status.is_none() && response.is_none() {
        return Err(DomainError::Invalid(vec![FieldError::new(
            "",
            "give a `status` (`acknowledged` or `resolved`), a `response`, or both",
        )]));
    }
    let to = change.status.unwrap_or(from);
    let allowed = matches!(
        (from, to),
        (ConcernStatus::Open, ConcernStatus::Acknowledged)
            | (ConcernStatus::Open, ConcernStatus::Resolved)
            | (ConcernStatus::Acknowledged, ConcernStatus::Resolved)
    );
    if from == to {
        // No step: a response alone, or a repeat of the status it has.
        if from == ConcernStatus::Resolved
            && response
                .as_deref()
                .is_some_and(|r| Some(r) != current_response)
        {
            return Err(DomainError::IllegalConcernTransition {
                from,
                to,
                hint: "; a resolved concern is closed, its response no longer changes",
            });
        }
        let response = response.filter(|r| Some(r.as_str()) != current_response);
        return Ok(FollowUpDecision {
            status: from,
            reached: None,
            response,
        });
    }
    if !allowed {
        return Err(DomainError::IllegalConcernTransition {
            from,
            to,
            hint: match from {
                ConcernStatus::Resolved => "; a resolved concern is closed",
                _ => "; a concern goes open → acknowledged → resolved",
            },
        });
    }
    let response = response.filter(|r| Some(r.as_str()) != current_response);
    Ok(FollowUpDecision {
        status: to,
        reached: Some(to),
        response,
    })
}

#[derive(Clone, PartialEq, Eq)]
pub struct Concern {
    pub id: uuid::Uuid,
    pub pair_id: uuid::Uuid,
    pub program_id: uuid::Uuid,
    pub author_id: uuid::Uuid,
    pub text: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub status: ConcernStatus,
    /// The coordinators' response to the author (their words; `None` until they write one,
    /// and again once erased).
    pub response: Option<String>,
    pub acknowledged_at: Option<chrono::DateTime<chrono::Utc>>,
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revision: i32,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl std::fmt::Debug for Concern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Concern")
            .field("id", &self.id)
            .field("pair_id", &self.pair_id)
            .field("status", &self.status)
            .field(
                "text",
                &format_args!("<{} characters>", self.text.chars().count()),
            )
            .field(
                "response",
                &format_args!(
                    "<{} characters>",
                    self.response.as_deref().map_or(0, |r| r.chars().count())
                ),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::ConcernStatus::*;
    use super::*;

    fn to(status: ConcernStatus) -> ConcernFollowUp {
        ConcernFollowUp {
            status: Some(status),
            response: None,
        }
    }

    #[test]
    fn a_concern_goes_open_acknowledged_resolved() {
        assert_eq!(
            follow_up(Open, None, to(Acknowledged)).unwrap().reached,
            Some(Acknowledged)
        );
        assert_eq!(
            follow_up(Acknowledged, None, to(Resolved)).unwrap().reached,
            Some(Resolved)
        );
        assert_eq!(
            follow_up(Open, None, to(Resolved)).unwrap().reached,
            Some(Resolved)
        );
    }

    #[test]
    fn nothing_goes_back_and_resolved_is_final() {
        for (from, status) in [
            (Acknowledged, Open),
            (Resolved, Open),
            (Resolved, Acknowledged),
        ] {
            assert!(matches!(
                follow_up(from, None, to(status)),
                Err(DomainError::IllegalConcernTransition { .. })
            ));
        }
        let rewrite = ConcernFollowUp {
            status: None,
            response: Some("autre chose".into()),
        };
        assert!(matches!(
            follow_up(Resolved, Some("merci"), rewrite),
            Err(DomainError::IllegalConcernTransition { .. })
        ));
    }

    #[test]
    fn a_repeat_changes_nothing() {
        let d = follow_up(Acknowledged, None, to(Acknowledged)).unwrap();
        assert!(!d.changes_anything());
        let again = ConcernFollowUp {
            status: Some(Resolved),
            response: Some(" merci ".into()),
        };
        assert!(
            !follow_up(Resolved, Some("merci"), again)
                .unwrap()
                .changes_anything()
        );
    }

    #[test]
    fn a_response_alone_is_kept_and_a_blank_one_refused() {
        let reply = ConcernFollowUp {
            status: None,
            response: Some("Nous vous recontactons.".into()),
        };
        let d = follow_up(Open, None, reply).unwrap();
        assert_eq!(d.status, Open);
        assert_eq!(d.reached, None);
        assert_eq!(d.response.as_deref(), Some("Nous vous recontactons."));
        let blank = ConcernFollowUp {
            status: Some(Acknowledged),
            response: Some("  ".into()),
        };
        assert!(matches!(
            follow_up(Open, None, blank),
            Err(DomainError::Invalid(_))
        ));
        assert!(matches!(
            follow_up(Open, None, ConcernFollowUp::default()),
            Err(DomainError::Invalid(_))
        ));
    }

    #[test]
    fn statuses_parse_back() {
        for s in ConcernStatus::ALL {
            assert_eq!(ConcernStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(Open.event(), None);
        assert_eq!(Resolved.event(), Some("concern.resolved"));
    }
}
