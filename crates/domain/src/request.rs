//! Requests by mentees (issue 17): when a program lets them, a mentee asks one of their
//! eligible mentors; the mentor accepts (the pair is proposed, under the rules of a
//! proposal) or declines; the mentee may withdraw. The optional message is the mentee's words
//! (R5: sealed, for the mentor and its author only; R14: erased with its author).
//!
//! `pending → accepted | declined | withdrawn | void`. A request is `void` when it can no
//! longer be answered: another request of the same mentee was accepted, or the mentee or
//! the mentor withdrew from the program. Every state but `pending` is final.

use std::fmt;

use crate::{
    content::Content,
    error::{DomainError, FieldError},
    pair::{self, ProposalFacts},
};

/// Who proposes pairs in a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MatchingMode {
    /// Only the coordinators propose pairs (by hand or by a matching run).
    #[default]
    Coordinator,
    /// The mentees ask their mentors; coordinators may still propose.
    SelfService,
    /// Both the coordinators and the mentees' requests.
    Both,
}

impl MatchingMode {
    pub const ALL: [MatchingMode; 3] = [
        MatchingMode::Coordinator,
        MatchingMode::SelfService,
        MatchingMode::Both,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MatchingMode::Coordinator => "coordinator",
            MatchingMode::SelfService => "self",
            MatchingMode::Both => "both",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == raw)
    }

    /// Mentees may send requests.
    pub fn allows_requests(self) -> bool {
        !matches!(self, MatchingMode::Coordinator)
    }
}

impl fmt::Display for MatchingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestStatus {
    Pending,
    /// The mentor accepted: the pair is proposed.
    Accepted,
    Declined,
    Withdrawn,
    /// No longer answerable: another request of the mentee was accepted, or one of the two
    /// left the program.
    Void,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 5] = [
        RequestStatus::Pending,
        RequestStatus::Accepted,
        RequestStatus::Declined,
        RequestStatus::Withdrawn,
        RequestStatus::Void,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Accepted => "accepted",
            RequestStatus::Declined => "declined",
            RequestStatus::Withdrawn => "withdrawn",
            RequestStatus::Void => "void",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestAction {
    /// The mentor accepts.
    Accept,
    /// The mentor declines.
    Decline,
    /// The mentee withdraws.
    Withdraw,
    /// The service voids it (another request accepted, one of the two left).
    Void,
}

/// The one transition table: only a pending request moves, and it moves once.
pub fn transition(
    from: RequestStatus,
    action: RequestAction,
) -> Result<RequestStatus, DomainError> {
    if from != RequestStatus::Pending {
        return Err(DomainError::RequestNotPending { status: from });
    }
    Ok(match action {
        RequestAction::Accept => RequestStatus::Accepted,
        RequestAction::Decline => RequestStatus::Declined,
        RequestAction::Withdraw => RequestStatus::Withdrawn,
        RequestAction::Void => RequestStatus::Void,
    })
}

/// A request as stored. `message` is the mentee's words ([`Content`]: never in a log line);
/// the service hands it only to the mentor and the mentee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenteeRequest {
    pub id: uuid::Uuid,
    pub program_id: uuid::Uuid,
    pub mentee_enrollment_id: uuid::Uuid,
    pub mentor_enrollment_id: uuid::Uuid,
    pub mentee_person_id: uuid::Uuid,
    pub mentor_person_id: uuid::Uuid,
    pub status: RequestStatus,
    pub message: Option<Content>,
    /// The pair proposed when the mentor accepted.
    pub pair_id: Option<uuid::Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// At most this many pending requests per mentee.
pub const MAX_PENDING: i64 = 3;

/// A message is at most this long.
pub const MESSAGE_MAX_CHARS: usize = 2000;

/// What a new request must satisfy, from facts gathered under the mentee's enrollment lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestFacts {
    pub mode: MatchingMode,
    /// The hard rules of a proposal (roles, active people, R1 at any depth, an open pair,
    /// R10's remaining places): the mentor must be one the mentee could be proposed.
    pub proposal: ProposalFacts,
    /// A pair of the two existed (ended or completed): not proposed again, as in a run.
    pub pair_existed: bool,
    /// The mentee already has a pending request to this mentor.
    pub pending_to_mentor: bool,
    /// The mentee's pending requests.
    pub pending_of_mentee: i64,
}

/// Decide whether a mentee may send this request.
pub fn check_request(f: RequestFacts) -> Result<(), DomainError> {
    if !f.mode.allows_requests() {
        return Err(DomainError::RequestsDisabled { mode: f.mode });
    }
    pair::check_proposal(f.proposal)?;
    if f.pair_existed {
        return Err(DomainError::PairExisted);
    }
    if f.pending_to_mentor {
        return Err(DomainError::RequestExists);
    }
    if f.pending_of_mentee >= MAX_PENDING {
        return Err(DomainError::TooManyPendingRequests { max: MAX_PENDING });
    }
    Ok(())
}

/// The mentee's optional message: trimmed; blank is none.
pub fn message(raw: Option<String>) -> Result<Option<String>, DomainError> {
    let Some(text) = raw.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let n = text.chars().count();
    if n > MESSAGE_MAX_CHARS {
        return Err(DomainError::Invalid(vec![FieldError::new(
            "/message",
            format!("a message is at most {MESSAGE_MAX_CHARS} characters, got {n}"),
        )]));
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eligible() -> RequestFacts {
        RequestFacts {
            mode: MatchingMode::SelfService,
            proposal: ProposalFacts {
                mentor_is_mentor: true,
                mentee_is_mentee: true,
                hierarchical: false,
                pair_exists: false,
                mentor_load: 0,
                mentor_capacity: 2,
                both_active: true,
            },
            pair_existed: false,
            pending_to_mentor: false,
            pending_of_mentee: 0,
        }
    }

    #[test]
    fn modes_parse_back() {
        for m in MatchingMode::ALL {
            assert_eq!(MatchingMode::parse(m.as_str()), Some(m));
        }
        assert_eq!(MatchingMode::default(), MatchingMode::Coordinator);
        assert!(!MatchingMode::Coordinator.allows_requests());
        assert!(MatchingMode::SelfService.allows_requests());
        assert!(MatchingMode::Both.allows_requests());
    }

    #[test]
    fn statuses_parse_back() {
        for s in RequestStatus::ALL {
            assert_eq!(RequestStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn a_pending_request_moves_once() {
        use RequestAction::*;
        for (action, to) in [
            (Accept, RequestStatus::Accepted),
            (Decline, RequestStatus::Declined),
            (Withdraw, RequestStatus::Withdrawn),
            (Void, RequestStatus::Void),
        ] {
            assert_eq!(transition(RequestStatus::Pending, action), Ok(to));
        }
    }

    #[test]
    fn a_final_request_does_not_move() {
        use RequestAction::*;
        for from in RequestStatus::ALL
            .into_iter()
            .filter(|s| *s != RequestStatus::Pending)
        {
            for action in [Accept, Decline, Withdraw, Void] {
                assert_eq!(
                    transition(from, action),
                    Err(DomainError::RequestNotPending { status: from })
                );
            }
        }
    }

    #[test]
    fn an_eligible_request_is_allowed() {
        assert_eq!(check_request(eligible()), Ok(()));
    }

    #[test]
    fn coordinator_mode_takes_no_requests() {
        let f = RequestFacts {
            mode: MatchingMode::Coordinator,
            ..eligible()
        };
        assert_eq!(
            check_request(f),
            Err(DomainError::RequestsDisabled {
                mode: MatchingMode::Coordinator
            })
        );
    }

    #[test]
    fn at_most_three_pending_requests() {
        for pending in 0..MAX_PENDING {
            let f = RequestFacts {
                pending_of_mentee: pending,
                ..eligible()
            };
            assert_eq!(check_request(f), Ok(()), "{pending} pending");
        }
        let f = RequestFacts {
            pending_of_mentee: 3,
            ..eligible()
        };
        assert_eq!(
            check_request(f),
            Err(DomainError::TooManyPendingRequests { max: 3 })
        );
    }

    #[test]
    fn a_second_pending_request_to_one_mentor_is_refused() {
        let f = RequestFacts {
            pending_to_mentor: true,
            ..eligible()
        };
        assert_eq!(check_request(f), Err(DomainError::RequestExists));
    }

    #[test]
    fn the_hard_rules_of_a_proposal_apply() {
        let mut f = eligible();
        f.proposal.hierarchical = true;
        assert_eq!(check_request(f), Err(DomainError::HierarchicalPair));
        let mut f = eligible();
        f.proposal.mentor_load = 2;
        assert_eq!(
            check_request(f),
            Err(DomainError::MentorAtCapacity { capacity: 2 })
        );
        let mut f = eligible();
        f.proposal.both_active = false;
        assert_eq!(check_request(f), Err(DomainError::PersonInactive));
        let mut f = eligible();
        f.proposal.mentor_is_mentor = false;
        assert_eq!(check_request(f), Err(DomainError::RoleMismatch));
        let mut f = eligible();
        f.proposal.pair_exists = true;
        assert_eq!(check_request(f), Err(DomainError::PairExists));
        let f = RequestFacts {
            pair_existed: true,
            ..eligible()
        };
        assert_eq!(check_request(f), Err(DomainError::PairExisted));
    }

    #[test]
    fn a_blank_message_is_none_and_a_long_one_is_refused() {
        assert_eq!(message(None), Ok(None));
        assert_eq!(message(Some("  ".into())), Ok(None));
        assert_eq!(
            message(Some(" Bonjour ".into())),
            Ok(Some("Bonjour".into()))
        );
        assert!(message(Some("x".repeat(MESSAGE_MAX_CHARS + 1))).is_err());
    }
}
