//! Enrollments and the charter (DOMAIN.md "enrollment", "charter", R3, R10).

use std::fmt;

use crate::error::{DomainError, FieldError};

pub mod bounds {
    /// Charter text, Markdown, up to 100 KiB.
    pub const CHARTER_MAX_BYTES: usize = 100 * 1024;
    pub const TOPICS_MAX: usize = 20;
    pub const TOPIC_MAX_CHARS: usize = 100;
    pub const LANGUAGES_MAX: usize = 10;
    pub const LANGUAGE_MAX_CHARS: usize = 35;
    pub const GOALS_MAX_CHARS: usize = 2000;
    pub const CAPACITY: (i32, i32) = (1, 50);
}

/// The text of a charter version: not blank, at most 100 KiB.
pub fn charter_text(text: String) -> Result<String, DomainError> {
    if text.trim().is_empty() {
        return Err(DomainError::Invalid(vec![FieldError::new(
            "/text",
            "the charter text may not be blank",
        )]));
    }
    if text.len() > bounds::CHARTER_MAX_BYTES {
        return Err(DomainError::Invalid(vec![FieldError::new(
            "/text",
            format!(
                "the charter text is at most {} bytes",
                bounds::CHARTER_MAX_BYTES
            ),
        )]));
    }
    Ok(text)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnrollmentRole {
    Mentor,
    Mentee,
}

impl EnrollmentRole {
    pub fn as_str(self) -> &'static str {
        match self {
            EnrollmentRole::Mentor => "mentor",
            EnrollmentRole::Mentee => "mentee",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "mentor" => Some(Self::Mentor),
            "mentee" => Some(Self::Mentee),
            _ => None,
        }
    }
}

impl fmt::Display for EnrollmentRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an enrolled person stands with the program's charter (R3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharterStatus {
    /// The program has no charter yet.
    NoCharter,
    /// The person accepted the current version.
    Accepted,
    /// A charter exists and the person has not accepted its current version.
    Pending,
}

impl CharterStatus {
    pub fn of(accepted: Option<i32>, current: Option<i32>) -> Self {
        match (accepted, current) {
            (_, None) => CharterStatus::NoCharter,
            (Some(a), Some(c)) if a == c => CharterStatus::Accepted,
            _ => CharterStatus::Pending,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CharterStatus::NoCharter => "no_charter",
            CharterStatus::Accepted => "accepted",
            CharterStatus::Pending => "charter_pending",
        }
    }
}

/// R3: only the current version can be accepted.
pub fn check_charter_acceptance(requested: i32, current: Option<i32>) -> Result<(), DomainError> {
    match current {
        None => Err(DomainError::NoCharter),
        Some(current) if current != requested => {
            Err(DomainError::CharterVersionOutdated { requested, current })
        }
        Some(_) => Ok(()),
    }
}

/// What a coordinator gives when enrolling someone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnrollmentDraft {
    pub role: Option<EnrollmentRole>,
    pub capacity: Option<i32>,
    pub topics: Vec<String>,
    pub languages: Vec<String>,
    pub goals: Option<String>,
}

/// An enrollment's checked fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentTerms {
    pub role: EnrollmentRole,
    /// R10: mentors only; `None` means the program's default.
    pub capacity: Option<i32>,
    pub topics: Vec<String>,
    pub languages: Vec<String>,
    /// Mentees only.
    pub goals: Option<String>,
}

fn labels(
    items: Vec<String>,
    field: &str,
    max_items: usize,
    max_chars: usize,
    errors: &mut Vec<FieldError>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let item = item.trim().to_owned();
        if item.is_empty() || item.chars().count() > max_chars {
            errors.push(FieldError::new(
                format!("/{field}/{i}"),
                format!("each of {field} is 1 to {max_chars} characters"),
            ));
        } else if !out.iter().any(|o| o.eq_ignore_ascii_case(&item)) {
            out.push(item);
        }
    }
    if out.len() > max_items {
        errors.push(FieldError::new(
            format!("/{field}"),
            format!("at most {max_items} {field}"),
        ));
    }
    out
}

impl EnrollmentDraft {
    /// Check the terms; the person must be active (a rule on the person, checked by the caller
    /// with [`check_enrollable`]).
    pub fn validate(self) -> Result<EnrollmentTerms, DomainError> {
        let mut errors = Vec::new();
        let role = self.role;
        if role.is_none() {
            errors.push(FieldError::new(
                "/role",
                "role must be `mentor` or `mentee`",
            ));
        }
        if let Some(c) = self.capacity {
            if role == Some(EnrollmentRole::Mentee) {
                errors.push(FieldError::new("/capacity", "only mentors have a capacity"));
            } else if !(bounds::CAPACITY.0..=bounds::CAPACITY.1).contains(&c) {
                errors.push(FieldError::new(
                    "/capacity",
                    format!(
                        "capacity must be between {} and {}",
                        bounds::CAPACITY.0,
                        bounds::CAPACITY.1
                    ),
                ));
            }
        }
        let topics = labels(
            self.topics,
            "topics",
            bounds::TOPICS_MAX,
            bounds::TOPIC_MAX_CHARS,
            &mut errors,
        );
        let languages = labels(
            self.languages,
            "languages",
            bounds::LANGUAGES_MAX,
            bounds::LANGUAGE_MAX_CHARS,
            &mut errors,
        );
        let goals = self
            .goals
            .map(|g| g.trim().to_owned())
            .filter(|g| !g.is_empty());
        if let Some(g) = &goals {
            if role == Some(EnrollmentRole::Mentor) {
                errors.push(FieldError::new(
                    "/goals",
                    "goals are a mentee's; a mentor offers topics",
                ));
            } else if g.chars().count() > bounds::GOALS_MAX_CHARS {
                errors.push(FieldError::new(
                    "/goals",
                    format!("goals are at most {} characters", bounds::GOALS_MAX_CHARS),
                ));
            }
        }
        match role {
            Some(role) if errors.is_empty() => Ok(EnrollmentTerms {
                role,
                capacity: self.capacity,
                topics,
                languages,
                goals,
            }),
            _ => Err(DomainError::Invalid(errors)),
        }
    }
}

/// A change of an enrollment (`PATCH`): each field given replaces the enrollment's; the
/// role never changes (withdraw and enroll again for that).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnrollmentChanges {
    /// R10: mentors only; a coordinator's decision.
    pub capacity: Option<i32>,
    pub topics: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
    /// Mentees only; `Some(None)` clears them.
    pub goals: Option<Option<String>>,
}

impl EnrollmentChanges {
    /// Changing the capacity is the coordinators' (R10 is theirs to run); topics, languages
    /// and goals are also the enrolled person's own.
    pub fn needs_coordinator(&self) -> bool {
        self.capacity.is_some()
    }

    /// The terms after the change, checked as a new enrollment's are.
    pub fn apply(self, terms: &EnrollmentTerms) -> Result<EnrollmentTerms, DomainError> {
        EnrollmentDraft {
            role: Some(terms.role),
            capacity: self.capacity.or(terms.capacity),
            topics: self.topics.unwrap_or_else(|| terms.topics.clone()),
            languages: self.languages.unwrap_or_else(|| terms.languages.clone()),
            goals: self.goals.unwrap_or_else(|| terms.goals.clone()),
        }
        .validate()
    }
}

/// R10: a mentor's new capacity (or the program's default, without one) may not be below
/// the active and proposed pairs they already have; refused, never silently over capacity.
pub fn check_capacity(
    capacity: Option<i32>,
    program_default: i32,
    open_pairs: i64,
) -> Result<(), DomainError> {
    let capacity = capacity.unwrap_or(program_default);
    if i64::from(capacity) < open_pairs {
        return Err(DomainError::CapacityBelowOpenPairs {
            capacity,
            open: open_pairs,
        });
    }
    Ok(())
}

/// A withdrawal waits until the enrollment has no active or suspended pair: its members end
/// it first (R9, free exit is theirs). Proposed pairs are withdrawn with the enrollment.
pub fn check_withdrawal(active_pairs: i64) -> Result<(), DomainError> {
    if active_pairs > 0 {
        return Err(DomainError::EnrollmentHasActivePair {
            active: active_pairs,
        });
    }
    Ok(())
}

/// Only an active person is enrolled, and not in a closed program.
pub fn check_enrollable(person_active: bool, program_closed: bool) -> Result<(), DomainError> {
    if !person_active {
        return Err(DomainError::PersonInactive);
    }
    if program_closed {
        return Err(DomainError::ProgramClosed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mentor() -> EnrollmentDraft {
        EnrollmentDraft {
            role: Some(EnrollmentRole::Mentor),
            capacity: Some(3),
            topics: vec!["Management".into(), " management ".into(), "Éthique".into()],
            languages: vec!["fr".into()],
            goals: None,
        }
    }

    #[test]
    fn topics_are_trimmed_and_deduplicated() {
        let t = mentor().validate().unwrap();
        assert_eq!(t.topics, ["Management", "Éthique"]);
        assert_eq!(t.capacity, Some(3));
    }

    #[test]
    fn capacity_is_for_mentors_and_goals_for_mentees() {
        let mentee_with_capacity = EnrollmentDraft {
            role: Some(EnrollmentRole::Mentee),
            ..mentor()
        };
        assert!(
            matches!(mentee_with_capacity.validate(), Err(DomainError::Invalid(e)) if e[0].pointer == "/capacity")
        );
        let mentor_with_goals = EnrollmentDraft {
            goals: Some("grow".into()),
            ..mentor()
        };
        assert!(
            matches!(mentor_with_goals.validate(), Err(DomainError::Invalid(e)) if e[0].pointer == "/goals")
        );
        let zero = EnrollmentDraft {
            capacity: Some(0),
            ..mentor()
        };
        assert!(zero.validate().is_err());
    }

    #[test]
    fn a_role_is_required() {
        let d = EnrollmentDraft {
            role: None,
            ..mentor()
        };
        assert!(matches!(d.validate(), Err(DomainError::Invalid(e)) if e[0].pointer == "/role"));
    }

    #[test]
    fn charter_status_follows_the_current_version() {
        assert_eq!(CharterStatus::of(None, None), CharterStatus::NoCharter);
        assert_eq!(CharterStatus::of(None, Some(1)), CharterStatus::Pending);
        assert_eq!(CharterStatus::of(Some(1), Some(1)), CharterStatus::Accepted);
        assert_eq!(
            CharterStatus::of(Some(1), Some(2)),
            CharterStatus::Pending,
            "R3: a new version needs re-acceptance"
        );
    }

    #[test]
    fn only_the_current_version_can_be_accepted() {
        assert_eq!(check_charter_acceptance(2, Some(2)), Ok(()));
        assert_eq!(
            check_charter_acceptance(1, Some(2)),
            Err(DomainError::CharterVersionOutdated {
                requested: 1,
                current: 2
            })
        );
        assert_eq!(
            check_charter_acceptance(1, None),
            Err(DomainError::NoCharter)
        );
    }

    #[test]
    fn charter_text_is_bounded() {
        assert!(charter_text("# Charte".into()).is_ok());
        assert!(charter_text("  ".into()).is_err());
        assert!(charter_text("x".repeat(100 * 1024)).is_ok());
        assert!(charter_text("x".repeat(100 * 1024 + 1)).is_err());
    }

    #[test]
    fn a_change_keeps_the_role_and_the_rules_of_each() {
        let terms = mentor().validate().unwrap();
        let changed = EnrollmentChanges {
            topics: Some(vec!["Qualité".into()]),
            ..Default::default()
        }
        .apply(&terms)
        .unwrap();
        assert_eq!(changed.topics, ["Qualité"]);
        assert_eq!(changed.capacity, Some(3), "what is not given is kept");
        let goals = EnrollmentChanges {
            goals: Some(Some("grandir".into())),
            ..Default::default()
        };
        assert!(
            matches!(goals.apply(&terms), Err(DomainError::Invalid(e)) if e[0].pointer == "/goals")
        );
        assert!(
            EnrollmentChanges {
                capacity: Some(1),
                ..Default::default()
            }
            .needs_coordinator()
        );
        assert!(
            !EnrollmentChanges {
                topics: Some(vec![]),
                ..Default::default()
            }
            .needs_coordinator()
        );
    }

    #[test]
    fn capacity_never_drops_below_the_open_pairs() {
        assert_eq!(check_capacity(Some(2), 5, 2), Ok(()));
        assert_eq!(
            check_capacity(Some(1), 5, 2),
            Err(DomainError::CapacityBelowOpenPairs {
                capacity: 1,
                open: 2
            })
        );
        assert!(check_capacity(None, 1, 2).is_err());
    }

    #[test]
    fn a_withdrawal_waits_for_active_pairs() {
        assert_eq!(check_withdrawal(0), Ok(()));
        assert_eq!(
            check_withdrawal(1),
            Err(DomainError::EnrollmentHasActivePair { active: 1 })
        );
    }

    #[test]
    fn only_active_people_join_open_programs() {
        assert_eq!(check_enrollable(true, false), Ok(()));
        assert_eq!(
            check_enrollable(false, false),
            Err(DomainError::PersonInactive)
        );
        assert_eq!(
            check_enrollable(true, true),
            Err(DomainError::ProgramClosed)
        );
    }
}

/// A version of a program's charter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharterVersion {
    pub program_id: uuid::Uuid,
    pub version: i32,
    pub text: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A person's enrollment in a program, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    pub id: uuid::Uuid,
    pub program_id: uuid::Uuid,
    pub person_id: uuid::Uuid,
    pub terms: EnrollmentTerms,
    pub accepted_charter_version: Option<i32>,
    pub accepted_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revision: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// When the person left the program; a withdrawn enrollment takes no pairs and no
    /// changes, and the person may be enrolled again.
    pub withdrawn_at: Option<chrono::DateTime<chrono::Utc>>,
}
