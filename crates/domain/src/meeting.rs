//! Meetings of a pair (DOMAIN.md R2, R6, R7): a time, a duration, a mode, a place when in
//! person — never a private residence — and a life `scheduled → held | missed | cancelled`.
//! A cancellation names a reason, is `late` inside the program's notice window, and leaves
//! the pair owing a meeting until one is scheduled that names it.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::{
    content::Content,
    error::{DomainError, FieldError},
};

/// R2, quoting the charter (the program's founding text).
pub const PRIVATE_LOCATION_RULE: &str = "in-person meetings take place only at a workplace or a public place, never at a private residence (R2; the charter: « les rencontres en présentiel ne peuvent avoir lieu dans un lieu privé, au domicile du mentor ou du mentoré »)";

pub mod bounds {
    pub const MIN_MINUTES: i64 = 15;
    pub const MAX_MINUTES: i64 = 240;
    pub const LABEL_MAX_CHARS: usize = 200;
    pub const AGENDA_MAX_CHARS: usize = 10_000;
    pub const SUMMARY_MAX_CHARS: usize = 20_000;
    pub const REASON_MAX_CHARS: usize = 1_000;
    /// How far ahead a meeting may be scheduled.
    pub const MAX_AHEAD_DAYS: i64 = 730;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeetingMode {
    InPerson,
    Video,
    Phone,
}

impl MeetingMode {
    pub const ALL: [MeetingMode; 3] = [
        MeetingMode::InPerson,
        MeetingMode::Video,
        MeetingMode::Phone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MeetingMode::InPerson => "in_person",
            MeetingMode::Video => "video",
            MeetingMode::Phone => "phone",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LocationKind {
    Workplace,
    PublicPlace,
    PrivateResidence,
}

impl LocationKind {
    pub const ALL: [LocationKind; 3] = [
        LocationKind::Workplace,
        LocationKind::PublicPlace,
        LocationKind::PrivateResidence,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LocationKind::Workplace => "workplace",
            LocationKind::PublicPlace => "public_place",
            LocationKind::PrivateResidence => "private_residence",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// Where an in-person meeting takes place. The label is content (R5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub kind: LocationKind,
    pub label: Content,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeetingStatus {
    Scheduled,
    Held,
    Cancelled,
    Missed,
}

impl MeetingStatus {
    pub const ALL: [MeetingStatus; 4] = [
        MeetingStatus::Scheduled,
        MeetingStatus::Held,
        MeetingStatus::Cancelled,
        MeetingStatus::Missed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MeetingStatus::Scheduled => "scheduled",
            MeetingStatus::Held => "held",
            MeetingStatus::Cancelled => "cancelled",
            MeetingStatus::Missed => "missed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

impl fmt::Display for MeetingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A meeting's plan: when, how long, how, where, and what to talk about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingPlan {
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub mode: MeetingMode,
    pub location: Option<Location>,
    pub agenda: Option<Content>,
}

impl MeetingPlan {
    pub fn ends_at(&self) -> DateTime<Utc> {
        // Start times are bounded by `validate` (at most `MAX_AHEAD_DAYS` ahead), so this
        // cannot overflow; saturate anyway rather than panic.
        self.starts_at
            .checked_add_signed(Duration::minutes(i64::from(self.duration_minutes)))
            .unwrap_or(self.starts_at)
    }
}

/// A place as a member writes it (no `Debug`: it holds the words).
#[derive(Clone, Default)]
pub struct LocationDraft {
    pub kind: Option<LocationKind>,
    pub label: Option<String>,
}

/// A meeting as a member writes it (creation, or the state after a `PATCH`). No `Debug`:
/// it holds the words.
#[derive(Clone, Default)]
pub struct MeetingDraft {
    pub starts_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i64>,
    pub mode: Option<MeetingMode>,
    pub location: Option<LocationDraft>,
    pub agenda: Option<String>,
}

fn text(
    value: Option<String>,
    pointer: &str,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())?;
    if value.chars().count() > max {
        errors.push(FieldError::new(
            pointer,
            format!("at most {max} characters"),
        ));
    }
    Some(value)
}

impl MeetingDraft {
    /// Validate a plan. `check_future`: a new meeting (or a new time) may not be in the past.
    /// Field errors come first (`422 validation_failed`), then R2 (`location_required`,
    /// `private_location`).
    pub fn validate(
        self,
        now: DateTime<Utc>,
        check_future: bool,
    ) -> Result<MeetingPlan, DomainError> {
        let mut errors = Vec::new();
        let starts_at = match self.starts_at {
            Some(t) if t > now + Duration::days(bounds::MAX_AHEAD_DAYS) => {
                errors.push(FieldError::new(
                    "/starts_at",
                    format!(
                        "a meeting is scheduled at most {} days ahead",
                        bounds::MAX_AHEAD_DAYS
                    ),
                ));
                now
            }
            Some(t) if check_future && t < now => {
                errors.push(FieldError::new(
                    "/starts_at",
                    format!("a meeting is scheduled ahead of time; {t} is in the past"),
                ));
                t
            }
            Some(t) => t,
            None => {
                errors.push(FieldError::new("/starts_at", "a start time is required"));
                now
            }
        };
        let duration = match self.duration_minutes {
            Some(d) if (bounds::MIN_MINUTES..=bounds::MAX_MINUTES).contains(&d) => d as i32,
            Some(d) => {
                errors.push(FieldError::new(
                    "/duration_minutes",
                    format!(
                        "a meeting lasts {} to {} minutes, got {d}",
                        bounds::MIN_MINUTES,
                        bounds::MAX_MINUTES
                    ),
                ));
                0
            }
            None => {
                errors.push(FieldError::new(
                    "/duration_minutes",
                    "a duration in minutes is required",
                ));
                0
            }
        };
        let Some(mode) = self.mode else {
            errors.push(FieldError::new("/mode", "in_person, video or phone"));
            return Err(DomainError::Invalid(errors));
        };
        let location = match self.location {
            None => None,
            Some(l) => {
                let label = text(
                    l.label,
                    "/location/label",
                    bounds::LABEL_MAX_CHARS,
                    &mut errors,
                );
                match (l.kind, label) {
                    (Some(kind), Some(label)) => Some(Location {
                        kind,
                        label: Content::new(label),
                    }),
                    (None, _) => {
                        errors.push(FieldError::new(
                            "/location/kind",
                            "workplace or public_place",
                        ));
                        None
                    }
                    (_, None) => {
                        errors.push(FieldError::new(
                            "/location/label",
                            "say where: a room, a building, a café",
                        ));
                        None
                    }
                }
            }
        };
        let agenda = text(
            self.agenda,
            "/agenda",
            bounds::AGENDA_MAX_CHARS,
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors));
        }
        if mode == MeetingMode::InPerson {
            match &location {
                None => return Err(DomainError::LocationRequired),
                Some(l) if l.kind == LocationKind::PrivateResidence => {
                    return Err(DomainError::PrivateLocation);
                }
                Some(_) => {}
            }
        }
        Ok(MeetingPlan {
            starts_at,
            duration_minutes: duration,
            mode,
            location,
            agenda: agenda.map(Content::new),
        })
    }
}

/// Two meetings of the same pair may not overlap (back to back is fine).
pub fn check_no_overlap(
    plan: &MeetingPlan,
    others: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Result<(), DomainError> {
    let (start, end) = (plan.starts_at, plan.ends_at());
    match others.iter().find(|(s, e)| *s < end && start < *e) {
        Some((s, e)) => Err(DomainError::MeetingOverlap {
            starts_at: *s,
            ends_at: *e,
        }),
        None => Ok(()),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    pub id: Uuid,
    pub pair_id: Uuid,
    /// The member (person id) who scheduled it.
    pub scheduled_by: Uuid,
    pub plan: MeetingPlan,
    pub status: MeetingStatus,
    /// The cancelled meeting this one makes up for (R7).
    pub reschedules: Option<Uuid>,
    pub summary: Option<Content>,
    pub cancelled_by: Option<Uuid>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<Content>,
    /// R7: cancelled inside the program's notice window.
    pub late: bool,
    pub closed_at: Option<DateTime<Utc>>,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// R7: a scheduled meeting that has not started may be cancelled, with a reason; the answer
/// is whether the cancellation is `late` (inside `notice_hours` of the start).
pub fn check_cancel(
    meeting: &Meeting,
    reason: Option<String>,
    notice_hours: i32,
    now: DateTime<Utc>,
) -> Result<(String, bool), DomainError> {
    let mut errors = Vec::new();
    let reason = text(reason, "/reason", bounds::REASON_MAX_CHARS, &mut errors);
    if reason.is_none() {
        errors.push(FieldError::new(
            "/reason",
            "a cancellation says why (R7), in a few words for the other member",
        ));
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    if meeting.status != MeetingStatus::Scheduled {
        return Err(DomainError::MeetingNotScheduled {
            status: meeting.status,
        });
    }
    if now >= meeting.plan.starts_at {
        return Err(DomainError::MeetingStarted);
    }
    let late = meeting.plan.starts_at - now < Duration::hours(i64::from(notice_hours));
    Ok((reason.unwrap_or_default(), late))
}

/// `held` and `missed` close a scheduled meeting that has started.
pub fn check_close(meeting: &Meeting, now: DateTime<Utc>) -> Result<(), DomainError> {
    if meeting.status != MeetingStatus::Scheduled {
        return Err(DomainError::MeetingNotScheduled {
            status: meeting.status,
        });
    }
    if now < meeting.plan.starts_at {
        return Err(DomainError::MeetingNotStarted {
            starts_at: meeting.plan.starts_at,
        });
    }
    Ok(())
}

/// Validate a summary written when a meeting is held.
pub fn summary(value: Option<String>) -> Result<Option<Content>, DomainError> {
    let mut errors = Vec::new();
    let s = text(value, "/summary", bounds::SUMMARY_MAX_CHARS, &mut errors);
    if errors.is_empty() {
        Ok(s.map(Content::new))
    } else {
        Err(DomainError::Invalid(errors))
    }
}

/// R7: the meeting a new one makes up for must be a cancelled meeting of the same pair that
/// no other meeting made up for yet.
pub fn check_reschedules(
    target: Option<&Meeting>,
    pair_id: Uuid,
    already_made_up: bool,
) -> Result<(), DomainError> {
    let problem = match target {
        None => Some("names no meeting of this pair".to_owned()),
        Some(m) if m.pair_id != pair_id => Some("names no meeting of this pair".to_owned()),
        Some(m) if m.status != MeetingStatus::Cancelled => Some(format!(
            "names a {} meeting; only a cancelled one is rescheduled",
            m.status
        )),
        Some(_) if already_made_up => {
            Some("that cancelled meeting was already rescheduled".to_owned())
        }
        Some(_) => None,
    };
    match problem {
        Some(p) => Err(DomainError::Invalid(vec![FieldError::new(
            "/reschedules",
            p,
        )])),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2027-03-01T09:00:00Z".parse().unwrap()
    }

    fn draft() -> MeetingDraft {
        MeetingDraft {
            starts_at: Some(now() + Duration::days(2)),
            duration_minutes: Some(60),
            mode: Some(MeetingMode::InPerson),
            location: Some(LocationDraft {
                kind: Some(LocationKind::Workplace),
                label: Some("Salle 3, bâtiment B".into()),
            }),
            agenda: Some("Préparer l'entretien annuel".into()),
        }
    }

    fn meeting(starts_in: Duration) -> Meeting {
        let plan = MeetingDraft {
            starts_at: Some(now() + starts_in),
            ..draft()
        }
        .validate(now(), false)
        .unwrap();
        Meeting {
            id: Uuid::from_u128(7),
            pair_id: Uuid::from_u128(1),
            scheduled_by: Uuid::from_u128(2),
            plan,
            status: MeetingStatus::Scheduled,
            reschedules: None,
            summary: None,
            cancelled_by: None,
            cancelled_at: None,
            cancel_reason: None,
            late: false,
            closed_at: None,
            revision: 1,
            created_at: now(),
            updated_at: now(),
        }
    }

    #[test]
    fn a_workplace_meeting_is_fine() {
        let plan = draft().validate(now(), true).unwrap();
        assert_eq!(
            plan.ends_at(),
            now() + Duration::days(2) + Duration::hours(1)
        );
    }

    #[test]
    fn r2_in_person_needs_a_professional_place() {
        let mut d = draft();
        d.location = None;
        assert_eq!(d.validate(now(), true), Err(DomainError::LocationRequired));
        let mut d = draft();
        d.location.as_mut().unwrap().kind = Some(LocationKind::PrivateResidence);
        let err = d.validate(now(), true).unwrap_err();
        assert_eq!(err, DomainError::PrivateLocation);
        assert!(err.to_string().contains("domicile"));
        let mut d = draft();
        d.location.as_mut().unwrap().kind = Some(LocationKind::PublicPlace);
        assert!(d.validate(now(), true).is_ok());
    }

    #[test]
    fn video_and_phone_need_no_place() {
        for mode in [MeetingMode::Video, MeetingMode::Phone] {
            let d = MeetingDraft {
                mode: Some(mode),
                location: None,
                ..draft()
            };
            assert!(d.validate(now(), true).is_ok());
        }
    }

    #[test]
    fn duration_and_time_are_bounded() {
        for (minutes, ok) in [(14, false), (15, true), (240, true), (241, false)] {
            let d = MeetingDraft {
                duration_minutes: Some(minutes),
                ..draft()
            };
            assert_eq!(d.validate(now(), true).is_ok(), ok, "{minutes} min");
        }
        let far = MeetingDraft {
            starts_at: Some(now() + Duration::days(731)),
            ..draft()
        };
        assert!(far.validate(now(), false).is_err());
        let past = MeetingDraft {
            starts_at: Some(now() - Duration::minutes(1)),
            ..draft()
        };
        let err = past.clone().validate(now(), true).unwrap_err();
        assert!(matches!(err, DomainError::Invalid(e) if e[0].pointer == "/starts_at"));
        assert!(past.validate(now(), false).is_ok());
    }

    #[test]
    fn field_errors_are_all_listed() {
        let err = MeetingDraft {
            mode: Some(MeetingMode::InPerson),
            ..Default::default()
        }
        .validate(now(), true)
        .unwrap_err();
        let DomainError::Invalid(errors) = err else {
            panic!("expected field errors")
        };
        let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/starts_at", "/duration_minutes"]);
    }

    #[test]
    fn overlaps_are_refused_back_to_back_is_not() {
        let plan = draft().validate(now(), true).unwrap();
        let start = plan.starts_at;
        let hour = Duration::hours(1);
        assert!(check_no_overlap(&plan, &[(start - hour, start)]).is_ok());
        assert!(check_no_overlap(&plan, &[(start + hour, start + hour * 2)]).is_ok());
        assert!(
            check_no_overlap(&plan, &[(start + Duration::minutes(30), start + hour * 2)]).is_err()
        );
        assert!(check_no_overlap(&plan, &[(start - hour, start + Duration::minutes(1))]).is_err());
    }

    #[test]
    fn r7_cancellation_needs_a_reason_and_knows_when_it_is_late() {
        let m = meeting(Duration::hours(48));
        assert!(check_cancel(&m, None, 24, now()).is_err());
        assert_eq!(
            check_cancel(&m, Some(" garde ".into()), 24, now()),
            Ok(("garde".into(), false))
        );
        let soon = meeting(Duration::hours(3));
        assert_eq!(
            check_cancel(&soon, Some("urgence".into()), 24, now()),
            Ok(("urgence".into(), true))
        );
        assert_eq!(
            check_cancel(&soon, Some("urgence".into()), 2, now()),
            Ok(("urgence".into(), false))
        );
        let started = meeting(-Duration::minutes(5));
        assert_eq!(
            check_cancel(&started, Some("x".into()), 24, now()),
            Err(DomainError::MeetingStarted)
        );
        let mut cancelled = meeting(Duration::hours(48));
        cancelled.status = MeetingStatus::Cancelled;
        assert!(matches!(
            check_cancel(&cancelled, Some("x".into()), 24, now()),
            Err(DomainError::MeetingNotScheduled { .. })
        ));
    }

    #[test]
    fn only_started_scheduled_meetings_close() {
        assert!(matches!(
            check_close(&meeting(Duration::hours(1)), now()),
            Err(DomainError::MeetingNotStarted { .. })
        ));
        assert!(check_close(&meeting(-Duration::minutes(30)), now()).is_ok());
        let mut held = meeting(-Duration::hours(3));
        held.status = MeetingStatus::Held;
        assert!(check_close(&held, now()).is_err());
    }

    #[test]
    fn a_reschedule_names_an_unmade_up_cancellation_of_the_pair() {
        let mut cancelled = meeting(Duration::hours(5));
        cancelled.status = MeetingStatus::Cancelled;
        let pair = cancelled.pair_id;
        assert!(check_reschedules(Some(&cancelled), pair, false).is_ok());
        assert!(check_reschedules(Some(&cancelled), pair, true).is_err());
        assert!(check_reschedules(Some(&cancelled), Uuid::from_u128(99), false).is_err());
        assert!(check_reschedules(None, pair, false).is_err());
        let scheduled = meeting(Duration::hours(5));
        assert!(check_reschedules(Some(&scheduled), pair, false).is_err());
    }
}
