//! Objectives of a pair (DOMAIN.md R4): defined jointly — proposed by one member, agreed by
//! the other — then followed with a progress until achieved or abandoned. Every change is a
//! revision: who, when, each field before and after, and why.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    content::Content,
    error::{DomainError, FieldError},
};

pub mod bounds {
    pub const TITLE_MAX_CHARS: usize = 200;
    pub const DESCRIPTION_MAX_CHARS: usize = 5_000;
    pub const CRITERIA_MAX_CHARS: usize = 2_000;
    pub const COMMENT_MAX_CHARS: usize = 2_000;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectiveStatus {
    Proposed,
    InProgress,
    Achieved,
    Abandoned,
}

impl ObjectiveStatus {
    pub const ALL: [ObjectiveStatus; 4] = [
        ObjectiveStatus::Proposed,
        ObjectiveStatus::InProgress,
        ObjectiveStatus::Achieved,
        ObjectiveStatus::Abandoned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ObjectiveStatus::Proposed => "proposed",
            ObjectiveStatus::InProgress => "in_progress",
            ObjectiveStatus::Achieved => "achieved",
            ObjectiveStatus::Abandoned => "abandoned",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The legal moves: `proposed → in_progress` only by agreement (not by an edit),
    /// `proposed → abandoned`, `in_progress → achieved | abandoned`; achieved and abandoned
    /// are final.
    pub fn check_edit_to(self, to: ObjectiveStatus) -> Result<(), DomainError> {
        use ObjectiveStatus::*;
        match (self, to) {
            (a, b) if a == b => Ok(()),
            (Proposed, Abandoned) | (InProgress, Achieved) | (InProgress, Abandoned) => Ok(()),
            (Proposed, InProgress) | (Proposed, Achieved) => {
                Err(DomainError::IllegalObjectiveTransition {
                    from: self,
                    to,
                    hint: "; the other member agrees to it first (POST …/agree, R4)",
                })
            }
            _ => Err(DomainError::IllegalObjectiveTransition {
                from: self,
                to,
                hint: "",
            }),
        }
    }
}

impl fmt::Display for ObjectiveStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The words of an objective — content (R5): the two members only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectiveText {
    pub title: Content,
    pub description: Option<Content>,
    pub success_criteria: Option<Content>,
}

/// An objective as a member writes it (no `Debug`: it holds the words).
#[derive(Clone, Default)]
pub struct ObjectiveDraft {
    pub title: Option<String>,
    pub description: Option<String>,
    pub success_criteria: Option<String>,
}

fn bounded(
    value: Option<String>,
    pointer: &str,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<Content> {
    let value = value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())?;
    if value.chars().count() > max {
        errors.push(FieldError::new(
            pointer,
            format!("at most {max} characters"),
        ));
    }
    Some(Content::new(value))
}

fn title(value: Option<String>, errors: &mut Vec<FieldError>) -> Content {
    match bounded(value, "/title", bounds::TITLE_MAX_CHARS, errors) {
        Some(t) => t,
        None => {
            errors.push(FieldError::new("/title", "a title is required"));
            Content::default()
        }
    }
}

impl ObjectiveDraft {
    pub fn validate(self) -> Result<ObjectiveText, DomainError> {
        let mut errors = Vec::new();
        let text = ObjectiveText {
            title: title(self.title, &mut errors),
            description: bounded(
                self.description,
                "/description",
                bounds::DESCRIPTION_MAX_CHARS,
                &mut errors,
            ),
            success_criteria: bounded(
                self.success_criteria,
                "/success_criteria",
                bounds::CRITERIA_MAX_CHARS,
                &mut errors,
            ),
        };
        if errors.is_empty() {
            Ok(text)
        } else {
            Err(DomainError::Invalid(errors))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Objective {
    pub id: Uuid,
    pub pair_id: Uuid,
    /// The member (person id) who proposed it.
    pub proposed_by: Uuid,
    pub text: ObjectiveText,
    pub status: ObjectiveStatus,
    pub progress: i32,
    pub agreed_by: Option<Uuid>,
    pub agreed_at: Option<DateTime<Utc>>,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// R4: the *other* member agrees, to a proposed objective only.
pub fn check_agreement(objective: &Objective, by: Uuid) -> Result<(), DomainError> {
    if objective.status != ObjectiveStatus::Proposed {
        return Err(DomainError::ObjectiveNotProposed {
            status: objective.status,
        });
    }
    if objective.proposed_by == by {
        return Err(DomainError::CannotAgreeOwnObjective);
    }
    Ok(())
}

/// A `PATCH`: absent fields stay; `Some(None)` clears an optional text. No `Debug`: it
/// holds the words.
#[derive(Clone, Default)]
pub struct ObjectiveChanges {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub success_criteria: Option<Option<String>>,
    pub status: Option<ObjectiveStatus>,
    pub progress: Option<i64>,
    pub comment: Option<String>,
}

/// The value of one field, before or after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(Option<Content>),
    Status(ObjectiveStatus),
    Progress(i32),
}

/// One field a revision changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: FieldValue,
    pub after: FieldValue,
}

/// What a `PATCH` does: the new state, each changed field, and the comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Who proposed the objective after this edit: a member who rewrites a proposed
    /// objective becomes its proposer, so the *other* member must agree to the new words (R4).
    pub proposed_by: Uuid,
    pub text: ObjectiveText,
    pub status: ObjectiveStatus,
    pub progress: i32,
    pub changes: Vec<FieldChange>,
    pub comment: Option<Content>,
}

impl Edit {
    /// Nothing changed and nothing was said: no revision is written.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.comment.is_none()
    }
}

/// Apply a member's (`by`) changes (R4): status moves as [`ObjectiveStatus::check_edit_to`],
/// progress 0–100 once agreed, `achieved` sets it to 100; rewriting a proposed objective makes
/// `by` its proposer.
pub fn edit(
    objective: &Objective,
    changes: ObjectiveChanges,
    by: Uuid,
) -> Result<Edit, DomainError> {
    let mut errors = Vec::new();
    let mut text = objective.text.clone();
    if let Some(t) = changes.title {
        text.title = title(Some(t), &mut errors);
    }
    if let Some(d) = changes.description {
        text.description = bounded(
            d,
            "/description",
            bounds::DESCRIPTION_MAX_CHARS,
            &mut errors,
        );
    }
    if let Some(c) = changes.success_criteria {
        text.success_criteria = bounded(
            c,
            "/success_criteria",
            bounds::CRITERIA_MAX_CHARS,
            &mut errors,
        );
    }
    let comment = bounded(
        changes.comment,
        "/comment",
        bounds::COMMENT_MAX_CHARS,
        &mut errors,
    );
    let status = changes.status.unwrap_or(objective.status);
    let mut progress = objective.progress;
    if let Some(p) = changes.progress {
        if !(0..=100).contains(&p) {
            errors.push(FieldError::new(
                "/progress",
                format!("progress is 0 to 100, got {p}"),
            ));
        } else if status == ObjectiveStatus::Proposed {
            errors.push(FieldError::new(
                "/progress",
                "progress is followed once the objective is agreed",
            ));
        } else {
            progress = p as i32;
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    objective.status.check_edit_to(status)?;
    if status == ObjectiveStatus::Achieved {
        progress = 100;
    }
    let mut out = Vec::new();
    let mut diff = |field: &'static str, before: FieldValue, after: FieldValue| {
        if before != after {
            out.push(FieldChange {
                field,
                before,
                after,
            });
        }
    };
    diff(
        "title",
        FieldValue::Text(Some(objective.text.title.clone())),
        FieldValue::Text(Some(text.title.clone())),
    );
    diff(
        "description",
        FieldValue::Text(objective.text.description.clone()),
        FieldValue::Text(text.description.clone()),
    );
    diff(
        "success_criteria",
        FieldValue::Text(objective.text.success_criteria.clone()),
        FieldValue::Text(text.success_criteria.clone()),
    );
    diff(
        "status",
        FieldValue::Status(objective.status),
        FieldValue::Status(status),
    );
    diff(
        "progress",
        FieldValue::Progress(objective.progress),
        FieldValue::Progress(progress),
    );
    let rewritten = text != objective.text;
    let proposed_by = if objective.status == ObjectiveStatus::Proposed && rewritten {
        by
    } else {
        objective.proposed_by
    };
    Ok(Edit {
        proposed_by,
        text,
        status,
        progress,
        changes: out,
        comment,
    })
}

/// One revision of an objective: who, when, each field before and after, and why. No
/// `Debug`: the changes and the comment are the members' words.
#[derive(Clone, PartialEq)]
pub struct ObjectiveRevision {
    pub id: uuid::Uuid,
    pub objective_id: uuid::Uuid,
    pub revision: i32,
    pub changed_by: uuid::Uuid,
    /// `proposed`, `edited` or `agreed`.
    pub action: String,
    /// `[{"field", "before", "after"}]`.
    pub changes: serde_json::Value,
    pub comment: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objective(status: ObjectiveStatus) -> Objective {
        let t = DateTime::<Utc>::UNIX_EPOCH;
        Objective {
            id: Uuid::nil(),
            pair_id: Uuid::nil(),
            proposed_by: Uuid::from_u128(1),
            text: ObjectiveText {
                title: "Animer une réunion d'équipe".into(),
                description: None,
                success_criteria: None,
            },
            status,
            progress: 0,
            agreed_by: None,
            agreed_at: None,
            revision: 1,
            created_at: t,
            updated_at: t,
        }
    }

    fn edit_by_author(o: &Objective, c: ObjectiveChanges) -> Result<Edit, DomainError> {
        edit(o, c, o.proposed_by)
    }

    #[test]
    fn rewriting_a_proposed_objective_makes_the_editor_its_proposer() {
        let o = objective(ObjectiveStatus::Proposed);
        let other = Uuid::from_u128(2);
        let e = edit(
            &o,
            ObjectiveChanges {
                title: Some("Autre chose".into()),
                ..Default::default()
            },
            other,
        )
        .unwrap();
        assert_eq!(e.proposed_by, other);
        // A comment alone does not change who proposed it.
        let c = edit(
            &o,
            ObjectiveChanges {
                comment: Some("d'accord sur le fond".into()),
                ..Default::default()
            },
            other,
        )
        .unwrap();
        assert_eq!(c.proposed_by, o.proposed_by);
    }

    #[test]
    fn a_draft_needs_a_title_within_bounds() {
        let err = ObjectiveDraft::default().validate().unwrap_err();
        assert!(matches!(err, DomainError::Invalid(e) if e[0].pointer == "/title"));
        let long = ObjectiveDraft {
            title: Some("x".repeat(201)),
            description: Some("  ".into()),
            ..Default::default()
        };
        assert!(long.validate().is_err());
        let ok = ObjectiveDraft {
            title: Some("  Déléguer  ".into()),
            description: Some("   ".into()),
            success_criteria: Some("trois dossiers".into()),
        }
        .validate()
        .unwrap();
        assert_eq!(ok.title.expose(), "Déléguer");
        assert_eq!(ok.description, None);
    }

    #[test]
    fn only_the_other_member_agrees_and_only_once() {
        let o = objective(ObjectiveStatus::Proposed);
        assert_eq!(
            check_agreement(&o, Uuid::from_u128(1)),
            Err(DomainError::CannotAgreeOwnObjective)
        );
        assert_eq!(check_agreement(&o, Uuid::from_u128(2)), Ok(()));
        let agreed = objective(ObjectiveStatus::InProgress);
        assert!(matches!(
            check_agreement(&agreed, Uuid::from_u128(2)),
            Err(DomainError::ObjectiveNotProposed { .. })
        ));
    }

    #[test]
    fn an_edit_cannot_replace_the_agreement() {
        let o = objective(ObjectiveStatus::Proposed);
        let err = edit_by_author(
            &o,
            ObjectiveChanges {
                status: Some(ObjectiveStatus::InProgress),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("agrees"));
        let progress = edit_by_author(
            &o,
            ObjectiveChanges {
                progress: Some(10),
                ..Default::default()
            },
        );
        assert!(matches!(progress, Err(DomainError::Invalid(_))));
        assert!(
            edit_by_author(
                &o,
                ObjectiveChanges {
                    status: Some(ObjectiveStatus::Abandoned),
                    ..Default::default()
                }
            )
            .is_ok()
        );
    }

    #[test]
    fn transitions() {
        use ObjectiveStatus::*;
        for (from, to, ok) in [
            (Proposed, Abandoned, true),
            (InProgress, Achieved, true),
            (InProgress, Abandoned, true),
            (InProgress, InProgress, true),
            (Achieved, InProgress, false),
            (Abandoned, InProgress, false),
            (Achieved, Abandoned, false),
            (Proposed, Achieved, false),
        ] {
            assert_eq!(from.check_edit_to(to).is_ok(), ok, "{from} → {to}");
        }
    }

    #[test]
    fn every_changed_field_is_recorded_before_and_after() {
        let o = objective(ObjectiveStatus::InProgress);
        let e = edit_by_author(
            &o,
            ObjectiveChanges {
                title: Some("Animer une réunion d'équipe".into()),
                progress: Some(40),
                description: Some(Some("avec un ordre du jour".into())),
                comment: Some("  première étape  ".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(e.progress, 40);
        assert_eq!(
            e.comment.as_ref().map(Content::expose),
            Some("première étape")
        );
        let fields: Vec<_> = e.changes.iter().map(|c| c.field).collect();
        assert_eq!(fields, ["description", "progress"]);
        assert_eq!(e.changes[1].before, FieldValue::Progress(0));
        assert_eq!(e.changes[1].after, FieldValue::Progress(40));
    }

    #[test]
    fn achieved_means_full_progress_and_bad_progress_is_named() {
        let o = objective(ObjectiveStatus::InProgress);
        let e = edit_by_author(
            &o,
            ObjectiveChanges {
                status: Some(ObjectiveStatus::Achieved),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(e.progress, 100);
        let err = edit_by_author(
            &o,
            ObjectiveChanges {
                progress: Some(101),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(matches!(err, DomainError::Invalid(e) if e[0].pointer == "/progress"));
        let nothing = edit_by_author(&o, ObjectiveChanges::default()).unwrap();
        assert!(nothing.is_empty());
    }
}
