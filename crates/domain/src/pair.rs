//! Pairs (FR *binômes*): one mentor and one mentee in one program (DOMAIN.md R1, R3, R9,
//! R10, R11), and the ranking of possible mentors for a mentee.

use std::{collections::HashSet, fmt};

use crate::{error::DomainError, matching::MatchingWeights};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PairStatus {
    Proposed,
    Active,
    Completed,
    Ended,
    Suspended,
}

impl PairStatus {
    pub const ALL: [PairStatus; 5] = [
        PairStatus::Proposed,
        PairStatus::Active,
        PairStatus::Completed,
        PairStatus::Ended,
        PairStatus::Suspended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PairStatus::Proposed => "proposed",
            PairStatus::Active => "active",
            PairStatus::Completed => "completed",
            PairStatus::Ended => "ended",
            PairStatus::Suspended => "suspended",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// A pair not yet ended or completed (proposed, active, suspended): it blocks a second
    /// pair of the same two people. R10's capacity counts fewer pairs, see
    /// [`Self::counts_toward_capacity`].
    pub fn is_open(self) -> bool {
        matches!(
            self,
            PairStatus::Proposed | PairStatus::Active | PairStatus::Suspended
        )
    }

    /// R10 counts active and proposed pairs.
    pub fn counts_toward_capacity(self) -> bool {
        matches!(self, PairStatus::Proposed | PairStatus::Active)
    }
}

impl fmt::Display for PairStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side of a pair a person is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Mentor,
    Mentee,
}

/// R9: why a pair ended, visible to coordinators (the free text is the members' only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    GoalsReached,
    NotAvailable,
    Mismatch,
    CharterBreach,
    LeftOrganization,
    Other,
    /// A proposed pair withdrawn with one of its enrollments (the person left the program).
    EnrollmentWithdrawn,
}

impl EndReason {
    pub const ALL: [EndReason; 7] = [
        EndReason::GoalsReached,
        EndReason::NotAvailable,
        EndReason::Mismatch,
        EndReason::CharterBreach,
        EndReason::LeftOrganization,
        EndReason::Other,
        EndReason::EnrollmentWithdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::GoalsReached => "goals_reached",
            EndReason::NotAvailable => "not_available",
            EndReason::Mismatch => "mismatch",
            EndReason::CharterBreach => "charter_breach",
            EndReason::LeftOrganization => "left_organization",
            EndReason::Other => "other",
            EndReason::EnrollmentWithdrawn => "enrollment_withdrawn",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

/// What a proposal must satisfy, from facts the caller gathered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProposalFacts {
    pub mentor_is_mentor: bool,
    pub mentee_is_mentee: bool,
    /// R1: either one is in the other's management chain, at any depth.
    pub hierarchical: bool,
    /// An open pair of the same two people exists.
    pub pair_exists: bool,
    /// R10: the mentor's open pairs (active or proposed) and their capacity.
    pub mentor_load: i64,
    pub mentor_capacity: i32,
    pub both_active: bool,
}

/// Decide whether a pair may be proposed. The order of the checks is the order of the
/// refusals clients see when several apply.
pub fn check_proposal(f: ProposalFacts) -> Result<(), DomainError> {
    if !f.mentor_is_mentor || !f.mentee_is_mentee {
        return Err(DomainError::RoleMismatch);
    }
    if !f.both_active {
        return Err(DomainError::PersonInactive);
    }
    if f.hierarchical {
        return Err(DomainError::HierarchicalPair);
    }
    if f.pair_exists {
        return Err(DomainError::PairExists);
    }
    if f.mentor_load >= i64::from(f.mentor_capacity) {
        return Err(DomainError::MentorAtCapacity {
            capacity: f.mentor_capacity,
        });
    }
    Ok(())
}

/// A member's acceptance of a proposed pair (R3): the accepting member must hold the
/// current charter; the pair becomes active when both have accepted and both hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptanceFacts {
    pub status: PairStatus,
    pub accepter_holds_charter: bool,
    pub other_accepted: bool,
    pub other_holds_charter: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptanceOutcome {
    /// Recorded; waiting for the other member.
    Waiting,
    /// Both accepted, both hold the charter: the pair is active.
    Activated,
}

pub fn accept(f: AcceptanceFacts) -> Result<AcceptanceOutcome, DomainError> {
    match f.status {
        PairStatus::Proposed => {}
        PairStatus::Active => return Err(DomainError::PairNotProposed { status: f.status }),
        other => return Err(DomainError::PairNotProposed { status: other }),
    }
    if !f.accepter_holds_charter {
        return Err(DomainError::CharterNotAccepted);
    }
    if !f.other_accepted {
        return Ok(AcceptanceOutcome::Waiting);
    }
    if !f.other_holds_charter {
        return Err(DomainError::CharterNotAccepted);
    }
    Ok(AcceptanceOutcome::Activated)
}

/// R9: either member may end a proposed, active or suspended pair at any time.
pub fn check_end(status: PairStatus) -> Result<(), DomainError> {
    if status.is_open() {
        Ok(())
    } else {
        Err(DomainError::PairNotOpen { status })
    }
}

/// The facts about one possible mentor for a mentee (hard rules already applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub topics: Vec<String>,
    pub languages: Vec<String>,
    pub department: Option<String>,
    pub site: Option<String>,
    pub remaining_capacity: i64,
}

/// The mentee's side of the match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeker {
    pub topics: Vec<String>,
    pub goals: Option<String>,
    pub languages: Vec<String>,
    pub department: Option<String>,
    pub site: Option<String>,
}

/// One reason a mentor ranks where they do, with the points it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: &'static str,
    pub points: u32,
    pub detail: String,
}

/// An explainable score: the sum of the reasons' points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    pub total: u32,
    pub reasons: Vec<Reason>,
}

fn words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4)
        .map(str::to_lowercase)
        .collect()
}

/// Rank a mentor for a mentee. Points: 10 per topic of the mentor found in the mentee's
/// topics or goals (at most 40), 15 for a shared language, 20 for a *different* department
/// (the program exists to open people to other trades), 10 for the same site (in-person
/// meetings), up to 5 for remaining capacity (spread the load).
pub fn score(seeker: &Seeker, candidate: &Candidate) -> Score {
    Matcher::new(seeker).score(candidate)
}

/// A mentee's side of [`score`], prepared once to rank many mentors.
#[derive(Debug, Clone)]
pub struct Matcher<'a> {
    seeker: &'a Seeker,
    wanted: HashSet<String>,
    wanted_words: HashSet<String>,
}

impl<'a> Matcher<'a> {
    pub fn new(seeker: &'a Seeker) -> Self {
        let wanted: HashSet<String> = seeker
            .topics
            .iter()
            .map(|t| t.to_lowercase())
            .chain(seeker.goals.as_deref().map(words).unwrap_or_default())
            .collect();
        let wanted_words: HashSet<String> = wanted
            .iter()
            .flat_map(|w| words(w))
            .chain(wanted.iter().cloned())
            .collect();
        Self {
            seeker,
            wanted,
            wanted_words,
        }
    }

    /// The score of one mentor (see [`score`]), with the default weights.
    pub fn score(&self, candidate: &Candidate) -> Score {
        self.weighted(candidate, &MatchingWeights::default())
    }

    /// The score of one mentor with a program's weights: each reason shows the points it gave
    /// under them; a reason whose weight is 0 gives nothing and is left out.
    pub fn weighted(&self, candidate: &Candidate, weights: &MatchingWeights) -> Score {
        let seeker = self.seeker;
        let (wanted, wanted_words) = (&self.wanted, &self.wanted_words);
        let mut reasons = Vec::new();
        let matched: Vec<&String> = candidate
            .topics
            .iter()
            .filter(|t| {
                let t = t.to_lowercase();
                wanted.contains(&t) || words(&t).iter().any(|w| wanted_words.contains(w))
            })
            .collect();
        if !matched.is_empty() && weights.topic_overlap > 0 {
            let points = weights.topic_overlap * (matched.len() as u32).min(4);
            reasons.push(Reason {
                code: "topic_overlap",
                points,
                detail: format!(
                    "offers {}",
                    matched
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        let shared: Vec<&String> = candidate
            .languages
            .iter()
            .filter(|l| seeker.languages.iter().any(|s| s.eq_ignore_ascii_case(l)))
            .collect();
        if !shared.is_empty() && weights.shared_language > 0 {
            reasons.push(Reason {
                code: "shared_language",
                points: weights.shared_language,
                detail: format!(
                    "speaks {}",
                    shared
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        if let (Some(a), Some(b)) = (&seeker.department, &candidate.department)
            && !a.eq_ignore_ascii_case(b)
            && weights.other_department > 0
        {
            reasons.push(Reason {
                code: "other_department",
                points: weights.other_department,
                detail: format!("works in {b}, another trade"),
            });
        }
        if let (Some(a), Some(b)) = (&seeker.site, &candidate.site)
            && a.eq_ignore_ascii_case(b)
            && weights.same_site > 0
        {
            reasons.push(Reason {
                code: "same_site",
                points: weights.same_site,
                detail: format!("also at {b}, for in-person meetings"),
            });
        }
        if candidate.remaining_capacity > 0 && weights.available > 0 {
            let points = weights.available * candidate.remaining_capacity.clamp(0, 5) as u32;
            reasons.push(Reason {
                code: "available",
                points,
                detail: format!("{} place(s) left", candidate.remaining_capacity),
            });
        }
        Score {
            total: reasons.iter().map(|r| r.points).sum(),
            reasons,
        }
    }
}

/// Filters of `GET /pairs`.
#[derive(Debug, Clone, Default)]
pub struct PairFilter {
    pub program_id: Option<uuid::Uuid>,
    pub status: Option<PairStatus>,
    pub hierarchy_conflict: Option<bool>,
    /// Only pairs this person is a member of.
    pub member: Option<uuid::Uuid>,
    /// Only pairs the person of this external id is a member of.
    pub member_external_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> ProposalFacts {
        ProposalFacts {
            mentor_is_mentor: true,
            mentee_is_mentee: true,
            hierarchical: false,
            pair_exists: false,
            mentor_load: 1,
            mentor_capacity: 2,
            both_active: true,
        }
    }

    #[test]
    fn a_proposal_obeys_r1_r10_and_roles() {
        assert_eq!(check_proposal(facts()), Ok(()));
        assert_eq!(
            check_proposal(ProposalFacts {
                hierarchical: true,
                ..facts()
            }),
            Err(DomainError::HierarchicalPair)
        );
        assert_eq!(
            check_proposal(ProposalFacts {
                mentor_load: 2,
                ..facts()
            }),
            Err(DomainError::MentorAtCapacity { capacity: 2 })
        );
        assert_eq!(
            check_proposal(ProposalFacts {
                pair_exists: true,
                ..facts()
            }),
            Err(DomainError::PairExists)
        );
        assert_eq!(
            check_proposal(ProposalFacts {
                mentee_is_mentee: false,
                ..facts()
            }),
            Err(DomainError::RoleMismatch)
        );
    }

    fn acceptance() -> AcceptanceFacts {
        AcceptanceFacts {
            status: PairStatus::Proposed,
            accepter_holds_charter: true,
            other_accepted: false,
            other_holds_charter: true,
        }
    }

    #[test]
    fn both_accept_with_the_charter_to_activate() {
        assert_eq!(accept(acceptance()), Ok(AcceptanceOutcome::Waiting));
        assert_eq!(
            accept(AcceptanceFacts {
                other_accepted: true,
                ..acceptance()
            }),
            Ok(AcceptanceOutcome::Activated)
        );
        assert_eq!(
            accept(AcceptanceFacts {
                accepter_holds_charter: false,
                ..acceptance()
            }),
            Err(DomainError::CharterNotAccepted)
        );
        assert_eq!(
            accept(AcceptanceFacts {
                other_accepted: true,
                other_holds_charter: false,
                ..acceptance()
            }),
            Err(DomainError::CharterNotAccepted)
        );
        assert!(
            accept(AcceptanceFacts {
                status: PairStatus::Ended,
                ..acceptance()
            })
            .is_err()
        );
    }

    #[test]
    fn either_member_ends_an_open_pair() {
        for s in [
            PairStatus::Proposed,
            PairStatus::Active,
            PairStatus::Suspended,
        ] {
            assert_eq!(check_end(s), Ok(()));
        }
        for s in [PairStatus::Ended, PairStatus::Completed] {
            assert!(check_end(s).is_err());
        }
    }

    fn seeker() -> Seeker {
        Seeker {
            topics: vec!["management".into()],
            goals: Some("Apprendre la gestion du stress et le leadership".into()),
            languages: vec!["fr".into()],
            department: Some("Cardiologie".into()),
            site: Some("Nord".into()),
        }
    }

    fn candidate() -> Candidate {
        Candidate {
            topics: vec!["Management".into(), "Leadership".into(), "Pharmacie".into()],
            languages: vec!["FR".into(), "en".into()],
            department: Some("Pédiatrie".into()),
            site: Some("nord".into()),
            remaining_capacity: 2,
        }
    }

    #[test]
    fn the_score_explains_itself() {
        let s = score(&seeker(), &candidate());
        let codes: Vec<&str> = s.reasons.iter().map(|r| r.code).collect();
        assert_eq!(
            codes,
            [
                "topic_overlap",
                "shared_language",
                "other_department",
                "same_site",
                "available"
            ]
        );
        assert_eq!(s.reasons[0].points, 20, "management and leadership");
        assert_eq!(s.total, 20 + 15 + 20 + 10 + 2);
        assert_eq!(s.total, s.reasons.iter().map(|r| r.points).sum::<u32>());
    }

    #[test]
    fn the_same_department_scores_lower_than_another_trade() {
        let same = Candidate {
            department: Some("cardiologie".into()),
            ..candidate()
        };
        assert!(score(&seeker(), &same).total < score(&seeker(), &candidate()).total);
    }

    #[test]
    fn nothing_in_common_scores_only_availability() {
        let s = score(
            &Seeker {
                topics: vec![],
                goals: None,
                languages: vec![],
                department: None,
                site: None,
            },
            &Candidate {
                remaining_capacity: 9,
                ..candidate()
            },
        );
        assert_eq!(s.total, 5);
    }

    #[test]
    fn a_program_s_weights_tune_each_reason_and_zero_leaves_it_out() {
        let w = MatchingWeights {
            topic_overlap: 3,
            shared_language: 0,
            other_department: 7,
            same_site: 1,
            available: 4,
        };
        let s = Matcher::new(&seeker()).weighted(&candidate(), &w);
        let points: Vec<(&str, u32)> = s.reasons.iter().map(|r| (r.code, r.points)).collect();
        assert_eq!(
            points,
            [
                ("topic_overlap", 6),
                ("other_department", 7),
                ("same_site", 1),
                ("available", 8)
            ]
        );
        assert_eq!(s.total, 22);
        // The default weights are the score as it always was.
        assert_eq!(
            Matcher::new(&seeker()).weighted(&candidate(), &MatchingWeights::default()),
            score(&seeker(), &candidate())
        );
        let many = Candidate {
            topics: vec!["management".into(); 6],
            remaining_capacity: 8,
            ..candidate()
        };
        let d = score(&seeker(), &many);
        assert_eq!(d.reasons[0].points, 40, "four topics at most");
        assert_eq!(
            d.reasons.last().map(|r| r.points),
            Some(5),
            "five places at most"
        );
    }
}

/// A pair as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub id: uuid::Uuid,
    pub program_id: uuid::Uuid,
    pub mentor_enrollment_id: uuid::Uuid,
    pub mentee_enrollment_id: uuid::Uuid,
    pub mentor_person_id: uuid::Uuid,
    pub mentee_person_id: uuid::Uuid,
    pub status: PairStatus,
    pub mentor_accepted_at: Option<chrono::DateTime<chrono::Utc>>,
    pub mentee_accepted_at: Option<chrono::DateTime<chrono::Utc>>,
    pub activated_at: Option<chrono::DateTime<chrono::Utc>>,
    pub ended_at: Option<chrono::DateTime<chrono::Utc>>,
    pub end_reason: Option<EndReason>,
    /// R9: the members' own words; members only.

    /// R1 over time: an HRIS change put one member in the other's chain.
    pub hierarchy_conflict: bool,
    pub suspended_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revision: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl Pair {
    /// Which side `person` is on, if they are a member.
    pub fn side_of(&self, person: uuid::Uuid) -> Option<Side> {
        if person == self.mentor_person_id {
            Some(Side::Mentor)
        } else if person == self.mentee_person_id {
            Some(Side::Mentee)
        } else {
            None
        }
    }
}
