//! Programs: one mentoring program of the organization, its lifecycle and its settings
//! (DOMAIN.md "program"; R7 notice window, R8 cadence, R10 capacity default).

use std::fmt;

use chrono::NaiveDate;

use crate::error::{DomainError, FieldError};

/// `draft → open → running → closed`, one step at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProgramStatus {
    Draft,
    Open,
    Running,
    Closed,
}

impl ProgramStatus {
    pub const ALL: [ProgramStatus; 4] = [
        ProgramStatus::Draft,
        ProgramStatus::Open,
        ProgramStatus::Running,
        ProgramStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProgramStatus::Draft => "draft",
            ProgramStatus::Open => "open",
            ProgramStatus::Running => "running",
            ProgramStatus::Closed => "closed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The one legal next status, if any.
    pub fn next(self) -> Option<Self> {
        match self {
            ProgramStatus::Draft => Some(ProgramStatus::Open),
            ProgramStatus::Open => Some(ProgramStatus::Running),
            ProgramStatus::Running => Some(ProgramStatus::Closed),
            ProgramStatus::Closed => None,
        }
    }

    /// Staying put is allowed (a PATCH that repeats the status); otherwise one step forward.
    pub fn transition_to(self, to: Self) -> Result<Self, DomainError> {
        if to == self || self.next() == Some(to) {
            Ok(to)
        } else {
            Err(DomainError::IllegalProgramTransition { from: self, to })
        }
    }
}

impl fmt::Display for ProgramStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bounds of the program settings, shared with the API so the OpenAPI schema says the same.
pub mod bounds {
    pub const NAME_MAX: usize = 200;
    pub const DESCRIPTION_MAX: usize = 10_000;
    pub const CADENCE_DAYS: (i32, i32) = (1, 365);
    pub const NOTICE_HOURS: (i32, i32) = (0, 720);
    pub const MENTOR_CAPACITY: (i32, i32) = (1, 50);
    /// Meeting reminders: up to two weeks ahead; `0` sends none.
    pub const REMINDER_HOURS: (i32, i32) = (0, 336);
}

/// The fields of a program that coordinators set. Constructed only through [`ProgramDraft::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramSettings {
    pub name: String,
    pub description: String,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    /// R8: a pair with no meeting within this many days is `overdue`.
    pub cadence_days: i32,
    /// R7: a cancellation within this many hours of the meeting is `late`.
    pub notice_hours: i32,
    /// R10: default number of active or proposed pairs per mentor.
    pub default_mentor_capacity: i32,
    /// How many hours before a scheduled meeting both members are reminded of it
    /// (`meeting.upcoming`); `0`: never.
    pub reminder_hours: i32,
    /// Issue 17: who proposes pairs — the coordinators only (`coordinator`, the default), or
    /// also the mentees by requests (`self`, `both`).
    pub matching_mode: crate::request::MatchingMode,
}

/// Unchecked program fields, as they arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramDraft {
    pub name: String,
    pub description: Option<String>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub cadence_days: Option<i32>,
    pub notice_hours: Option<i32>,
    pub default_mentor_capacity: Option<i32>,
    pub reminder_hours: Option<i32>,
    pub matching_mode: Option<crate::request::MatchingMode>,
}

impl ProgramSettings {
    pub const DEFAULT_CADENCE_DAYS: i32 = 28;
    pub const DEFAULT_NOTICE_HOURS: i32 = 24;
    pub const DEFAULT_MENTOR_CAPACITY: i32 = 2;
    pub const DEFAULT_REMINDER_HOURS: i32 = 24;
}

impl ProgramDraft {
    /// Every broken rule is reported at once, each with the pointer of its field.
    pub fn validate(self) -> Result<ProgramSettings, DomainError> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            errors.push(FieldError::new("/name", "the name may not be blank"));
        } else if name.chars().count() > bounds::NAME_MAX {
            errors.push(FieldError::new(
                "/name",
                format!("the name is at most {} characters", bounds::NAME_MAX),
            ));
        }
        let description = self.description.unwrap_or_default();
        if description.chars().count() > bounds::DESCRIPTION_MAX {
            errors.push(FieldError::new(
                "/description",
                format!(
                    "the description is at most {} characters",
                    bounds::DESCRIPTION_MAX
                ),
            ));
        }
        if let (Some(starts), Some(ends)) = (self.starts_on, self.ends_on)
            && ends < starts
        {
            errors.push(FieldError::new(
                "/ends_on",
                "ends_on may not be before starts_on",
            ));
        }
        let mut ranged = |value: Option<i32>, default: i32, (lo, hi): (i32, i32), field: &str| {
            let v = value.unwrap_or(default);
            if !(lo..=hi).contains(&v) {
                errors.push(FieldError::new(
                    format!("/{field}"),
                    format!("{field} must be between {lo} and {hi}, got {v}"),
                ));
            }
            v
        };
        let cadence_days = ranged(
            self.cadence_days,
            ProgramSettings::DEFAULT_CADENCE_DAYS,
            bounds::CADENCE_DAYS,
            "cadence_days",
        );
        let notice_hours = ranged(
            self.notice_hours,
            ProgramSettings::DEFAULT_NOTICE_HOURS,
            bounds::NOTICE_HOURS,
            "notice_hours",
        );
        let default_mentor_capacity = ranged(
            self.default_mentor_capacity,
            ProgramSettings::DEFAULT_MENTOR_CAPACITY,
            bounds::MENTOR_CAPACITY,
            "default_mentor_capacity",
        );
        let reminder_hours = ranged(
            self.reminder_hours,
            ProgramSettings::DEFAULT_REMINDER_HOURS,
            bounds::REMINDER_HOURS,
            "reminder_hours",
        );
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors));
        }
        Ok(ProgramSettings {
            name,
            description,
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            cadence_days,
            notice_hours,
            default_mentor_capacity,
            reminder_hours,
            matching_mode: self.matching_mode.unwrap_or_default(),
        })
    }
}

/// A change asked for by `PATCH /programs/{id}`: absent fields stay as they are.
/// `Some(None)` on a date clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgramChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub starts_on: Option<Option<NaiveDate>>,
    pub ends_on: Option<Option<NaiveDate>>,
    pub status: Option<ProgramStatus>,
    pub cadence_days: Option<i32>,
    pub notice_hours: Option<i32>,
    pub default_mentor_capacity: Option<i32>,
    pub reminder_hours: Option<i32>,
    /// Issue 17: who proposes pairs.
    pub matching_mode: Option<crate::request::MatchingMode>,
    /// Issue 17: the weights given (each absent one keeps its value).
    pub matching_weights: Option<[Option<i64>; 5]>,
}

impl ProgramChanges {
    /// Apply the change to a program's current state, checking every rule again and the
    /// lifecycle step. Returns the new settings and status.
    pub fn apply(
        self,
        current: &ProgramSettings,
        status: ProgramStatus,
    ) -> Result<(ProgramSettings, ProgramStatus), DomainError> {
        // One date changed, the other kept: a refusal comes from the program as it stands,
        // not from the request alone (both dates in the body are `validate`'s field rule).
        if self.starts_on.is_some() != self.ends_on.is_some()
            && let (Some(starts_on), Some(ends_on)) = (
                self.starts_on.unwrap_or(current.starts_on),
                self.ends_on.unwrap_or(current.ends_on),
            )
            && ends_on < starts_on
        {
            return Err(DomainError::ProgramDatesConflict { starts_on, ends_on });
        }
        let draft = ProgramDraft {
            name: self.name.unwrap_or_else(|| current.name.clone()),
            description: Some(
                self.description
                    .unwrap_or_else(|| current.description.clone()),
            ),
            starts_on: self.starts_on.unwrap_or(current.starts_on),
            ends_on: self.ends_on.unwrap_or(current.ends_on),
            cadence_days: Some(self.cadence_days.unwrap_or(current.cadence_days)),
            notice_hours: Some(self.notice_hours.unwrap_or(current.notice_hours)),
            default_mentor_capacity: Some(
                self.default_mentor_capacity
                    .unwrap_or(current.default_mentor_capacity),
            ),
            reminder_hours: Some(self.reminder_hours.unwrap_or(current.reminder_hours)),
            matching_mode: Some(self.matching_mode.unwrap_or(current.matching_mode)),
        };
        let settings = draft.validate()?;
        let status = match self.status {
            Some(to) => status.transition_to(to)?,
            None => status,
        };
        Ok((settings, status))
    }
}

/// Filters of `GET /programs`.
#[derive(Debug, Clone, Default)]
pub struct ProgramFilter {
    pub status: Option<ProgramStatus>,
    /// Only programs this person is enrolled in (a participant's view).
    pub enrolled_person: Option<uuid::Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> ProgramDraft {
        ProgramDraft {
            name: "Mentorat 2027, CHU".into(),
            description: None,
            starts_on: NaiveDate::from_ymd_opt(2027, 1, 4),
            ends_on: NaiveDate::from_ymd_opt(2027, 12, 17),
            cadence_days: None,
            notice_hours: None,
            default_mentor_capacity: None,
            reminder_hours: None,
            matching_mode: None,
        }
    }

    fn pointers(err: DomainError) -> Vec<String> {
        match err {
            DomainError::Invalid(fields) => fields.into_iter().map(|f| f.pointer).collect(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_those_of_domain_md() {
        let s = draft().validate().unwrap();
        assert_eq!(s.cadence_days, 28);
        assert_eq!(s.notice_hours, 24);
        assert_eq!(s.default_mentor_capacity, 2);
        assert_eq!(s.reminder_hours, 24);
        assert_eq!(s.description, "");
    }

    #[test]
    fn name_is_trimmed_and_required() {
        let mut d = draft();
        d.name = "  Mentorat  ".into();
        assert_eq!(d.validate().unwrap().name, "Mentorat");
        let mut d = draft();
        d.name = "   ".into();
        assert_eq!(pointers(d.validate().unwrap_err()), ["/name"]);
    }

    #[test]
    fn every_broken_field_is_reported_at_once() {
        let mut d = draft();
        d.ends_on = NaiveDate::from_ymd_opt(2026, 1, 1);
        d.cadence_days = Some(0);
        d.notice_hours = Some(-1);
        d.default_mentor_capacity = Some(51);
        d.reminder_hours = Some(337);
        assert_eq!(
            pointers(d.validate().unwrap_err()),
            [
                "/ends_on",
                "/cadence_days",
                "/notice_hours",
                "/default_mentor_capacity",
                "/reminder_hours"
            ]
        );
    }

    #[test]
    fn reminders_may_be_turned_off_and_are_kept_by_a_change() {
        let mut d = draft();
        d.reminder_hours = Some(0);
        let current = d.validate().unwrap();
        assert_eq!(current.reminder_hours, 0);
        let (s, _) = ProgramChanges {
            name: Some("Autre".into()),
            ..Default::default()
        }
        .apply(&current, ProgramStatus::Draft)
        .unwrap();
        assert_eq!(s.reminder_hours, 0);
        let (s, _) = ProgramChanges {
            reminder_hours: Some(48),
            ..Default::default()
        }
        .apply(&current, ProgramStatus::Draft)
        .unwrap();
        assert_eq!(s.reminder_hours, 48);
    }

    #[test]
    fn lifecycle_moves_one_step_forward_only() {
        use ProgramStatus::*;
        assert_eq!(Draft.transition_to(Open), Ok(Open));
        assert_eq!(Open.transition_to(Running), Ok(Running));
        assert_eq!(Running.transition_to(Closed), Ok(Closed));
        assert_eq!(Open.transition_to(Open), Ok(Open));
        for (from, to) in [
            (Draft, Running),
            (Draft, Closed),
            (Open, Draft),
            (Closed, Running),
        ] {
            assert_eq!(
                from.transition_to(to),
                Err(DomainError::IllegalProgramTransition { from, to })
            );
        }
    }

    #[test]
    fn changes_keep_what_they_do_not_name() {
        let current = draft().validate().unwrap();
        let (s, status) = ProgramChanges {
            cadence_days: Some(14),
            ends_on: Some(None),
            ..Default::default()
        }
        .apply(&current, ProgramStatus::Draft)
        .unwrap();
        assert_eq!(s.cadence_days, 14);
        assert_eq!(s.ends_on, None);
        assert_eq!(s.name, current.name);
        assert_eq!(status, ProgramStatus::Draft);
    }

    #[test]
    fn changes_are_checked_like_a_new_program() {
        let current = draft().validate().unwrap();
        let err = ProgramChanges {
            starts_on: Some(NaiveDate::from_ymd_opt(2028, 1, 1)),
            ends_on: Some(NaiveDate::from_ymd_opt(2027, 1, 1)),
            ..Default::default()
        }
        .apply(&current, ProgramStatus::Draft)
        .unwrap_err();
        assert_eq!(pointers(err), ["/ends_on"]);
    }

    /// One date moved past the one the program keeps: the request alone is well formed, the
    /// program as it stands refuses it (409 `program_dates_conflict`, not a field error).
    #[test]
    fn one_date_moved_past_the_kept_one_conflicts_with_the_program() {
        let current = draft().validate().unwrap();
        let err = ProgramChanges {
            starts_on: Some(NaiveDate::from_ymd_opt(2028, 1, 1)),
            ..Default::default()
        }
        .apply(&current, ProgramStatus::Draft)
        .unwrap_err();
        assert!(
            matches!(err, DomainError::ProgramDatesConflict { .. }),
            "{err:?}"
        );
    }
}

/// A program as stored: its settings, where it stands in its lifecycle, and its revision
/// (bumped on every change; the API's `ETag` is derived from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub id: uuid::Uuid,
    pub settings: ProgramSettings,
    pub status: ProgramStatus,
    /// The points of each reason of a score (issue 17).
    pub matching_weights: crate::matching::MatchingWeights,
    pub revision: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}
