//! A pair's health flags (R1, R3, R4, R7, R8, R11), computed from facts — never stored by
//! hand, so they cannot drift from what happened.

use chrono::{DateTime, Duration, Utc};

use crate::pair::PairStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PairFlag {
    /// R1 over time: an HRIS change put one member in the other's management chain.
    HierarchyConflict,
    /// R11: a member was deactivated.
    Suspended,
    /// R3: a member has not accepted the program's current charter.
    CharterPending,
    /// R7: a cancelled meeting has not been made up for yet.
    RescheduleOwed,
    /// R8: no meeting held or scheduled within the program's cadence.
    Overdue,
    /// R4: the first meeting was held with no agreed objective.
    ObjectivesMissing,
}

impl PairFlag {
    pub const ALL: [PairFlag; 6] = [
        PairFlag::HierarchyConflict,
        PairFlag::Suspended,
        PairFlag::CharterPending,
        PairFlag::RescheduleOwed,
        PairFlag::Overdue,
        PairFlag::ObjectivesMissing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PairFlag::HierarchyConflict => "hierarchy_conflict",
            PairFlag::Suspended => "suspended",
            PairFlag::CharterPending => "charter_pending",
            PairFlag::RescheduleOwed => "reschedule_owed",
            PairFlag::Overdue => "overdue",
            PairFlag::ObjectivesMissing => "objectives_missing",
        }
    }
}

/// What the flags are computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairFacts {
    pub status: PairStatus,
    pub hierarchy_conflict: bool,
    /// A member has not accepted the current charter version.
    pub charter_pending: bool,
    pub activated_at: Option<DateTime<Utc>>,
    /// Cancelled meetings no meeting names in `reschedules` yet.
    pub owed_reschedules: u32,
    /// When the first held meeting started.
    pub first_held_at: Option<DateTime<Utc>>,
    /// Objectives the other member agreed to (whatever became of them since).
    pub agreed_objectives: u32,
    /// The latest start, up to now, of a meeting held or still scheduled.
    pub last_meeting_at: Option<DateTime<Utc>>,
    /// The next start, after now, of a scheduled meeting.
    pub next_meeting_at: Option<DateTime<Utc>>,
    pub cadence_days: i32,
}

/// The pair's flags at `now`, in a stable order.
pub fn flags(facts: &PairFacts, now: DateTime<Utc>) -> Vec<PairFlag> {
    let mut out = Vec::new();
    let active = facts.status == PairStatus::Active;
    if facts.hierarchy_conflict {
        out.push(PairFlag::HierarchyConflict);
    }
    if facts.status == PairStatus::Suspended {
        out.push(PairFlag::Suspended);
    }
    if matches!(facts.status, PairStatus::Proposed | PairStatus::Active) && facts.charter_pending {
        out.push(PairFlag::CharterPending);
    }
    if active && facts.owed_reschedules > 0 {
        out.push(PairFlag::RescheduleOwed);
    }
    if active && overdue(facts, now) {
        out.push(PairFlag::Overdue);
    }
    if active && facts.first_held_at.is_some() && facts.agreed_objectives == 0 {
        out.push(PairFlag::ObjectivesMissing);
    }
    out
}

/// R8: nothing held or scheduled within the cadence — neither behind us (since the last
/// meeting, or since the pair became active) nor ahead of us.
fn overdue(facts: &PairFacts, now: DateTime<Utc>) -> bool {
    let cadence = Duration::days(i64::from(facts.cadence_days.max(1)));
    if facts
        .next_meeting_at
        .is_some_and(|next| next <= now + cadence)
    {
        return false;
    }
    let since = match (facts.activated_at, facts.last_meeting_at) {
        (Some(a), Some(m)) => a.max(m),
        (a, m) => match a.or(m) {
            Some(t) => t,
            None => return false,
        },
    };
    now - since > cadence
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2027-03-01T09:00:00Z".parse().unwrap()
    }

    fn active() -> PairFacts {
        PairFacts {
            status: PairStatus::Active,
            hierarchy_conflict: false,
            charter_pending: false,
            activated_at: Some(now() - Duration::days(3)),
            owed_reschedules: 0,
            first_held_at: None,
            agreed_objectives: 0,
            last_meeting_at: None,
            next_meeting_at: None,
            cadence_days: 28,
        }
    }

    #[test]
    fn a_new_active_pair_has_no_flag() {
        assert!(flags(&active(), now()).is_empty());
    }

    #[test]
    fn r8_overdue_after_the_cadence_unless_a_meeting_is_near() {
        let mut f = active();
        f.activated_at = Some(now() - Duration::days(29));
        assert_eq!(flags(&f, now()), [PairFlag::Overdue]);
        f.next_meeting_at = Some(now() + Duration::days(10));
        assert!(flags(&f, now()).is_empty());
        f.next_meeting_at = Some(now() + Duration::days(40));
        assert_eq!(flags(&f, now()), [PairFlag::Overdue]);
        f.next_meeting_at = None;
        f.last_meeting_at = Some(now() - Duration::days(27));
        assert!(flags(&f, now()).is_empty());
        f.cadence_days = 14;
        assert_eq!(flags(&f, now()), [PairFlag::Overdue]);
    }

    #[test]
    fn r7_a_cancellation_owes_a_meeting() {
        let mut f = active();
        f.owed_reschedules = 1;
        assert_eq!(flags(&f, now()), [PairFlag::RescheduleOwed]);
    }

    #[test]
    fn r4_first_meeting_held_without_an_agreed_objective() {
        let mut f = active();
        f.first_held_at = Some(now() - Duration::days(1));
        f.last_meeting_at = f.first_held_at;
        assert_eq!(flags(&f, now()), [PairFlag::ObjectivesMissing]);
        f.agreed_objectives = 1;
        assert!(flags(&f, now()).is_empty());
    }

    #[test]
    fn r3_r1_r11_flags() {
        let mut f = active();
        f.charter_pending = true;
        f.hierarchy_conflict = true;
        assert_eq!(
            flags(&f, now()),
            [PairFlag::HierarchyConflict, PairFlag::CharterPending]
        );
        f.status = PairStatus::Suspended;
        f.owed_reschedules = 2;
        assert_eq!(
            flags(&f, now()),
            [PairFlag::HierarchyConflict, PairFlag::Suspended]
        );
    }

    #[test]
    fn only_active_pairs_are_overdue() {
        let mut f = active();
        f.activated_at = Some(now() - Duration::days(90));
        f.status = PairStatus::Ended;
        assert!(flags(&f, now()).is_empty());
    }
}
