//! Meeting reminders (API.md "Reminders"): a program's `reminder_hours` before a scheduled
//! meeting, both members are told it is coming (`meeting.upcoming`) — once per meeting and
//! start time: a meeting moved to a new time is reminded again, a cancelled one never, nor
//! one whose pair is no longer active. Pure: the time is passed in.

use chrono::{DateTime, Duration, Utc};

use crate::{meeting::MeetingStatus, pair::PairStatus};

/// The notification kind and webhook event of a reminder.
pub const KIND: &str = "meeting.upcoming";

/// What the decision needs to know of a meeting, its pair and its program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReminderFacts {
    pub starts_at: DateTime<Utc>,
    pub status: MeetingStatus,
    pub pair_status: PairStatus,
    /// The program's lead time; `0`: no reminders.
    pub reminder_hours: i32,
    /// The start time the last reminder was sent for, if any.
    pub reminded_for: Option<DateTime<Utc>>,
}

/// When the reminder of a meeting starting at `starts_at` becomes due, if the program sends
/// reminders at all.
pub fn due_from(starts_at: DateTime<Utc>, reminder_hours: i32) -> Option<DateTime<Utc>> {
    if reminder_hours <= 0 {
        return None;
    }
    starts_at.checked_sub_signed(Duration::hours(i64::from(reminder_hours)))
}

/// Is a reminder due at `now`? A scheduled meeting of an active pair, not started yet, whose
/// lead time has come, and that was not reminded for this start time already (a meeting
/// moved since its reminder is reminded again; a late run — the service was down — still
/// reminds as long as the meeting has not started).
pub fn is_due(facts: &ReminderFacts, now: DateTime<Utc>) -> bool {
    let Some(from) = due_from(facts.starts_at, facts.reminder_hours) else {
        return false;
    };
    facts.status == MeetingStatus::Scheduled
        && facts.pair_status == PairStatus::Active
        && facts.reminded_for != Some(facts.starts_at)
        && from <= now
        && now < facts.starts_at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours_from_now: i64, now: DateTime<Utc>) -> DateTime<Utc> {
        now + Duration::hours(hours_from_now)
    }

    fn facts(now: DateTime<Utc>, starts_in_hours: i64) -> ReminderFacts {
        ReminderFacts {
            starts_at: at(starts_in_hours, now),
            status: MeetingStatus::Scheduled,
            pair_status: PairStatus::Active,
            reminder_hours: 24,
            reminded_for: None,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2027-03-01T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn due_once_the_lead_time_has_come_and_until_the_meeting_starts() {
        let now = now();
        assert!(!is_due(&facts(now, 25), now), "too early");
        assert!(is_due(&facts(now, 24), now), "exactly the lead time");
        assert!(is_due(&facts(now, 1), now));
        let mut f = facts(now, 0);
        f.starts_at = now;
        assert!(!is_due(&f, now), "started");
        assert!(!is_due(&facts(now, -2), now), "in the past");
    }

    #[test]
    fn once_per_start_time() {
        let now = now();
        let mut f = facts(now, 3);
        f.reminded_for = Some(f.starts_at);
        assert!(!is_due(&f, now), "already reminded");
        // Moved: the reminder was for the old time.
        f.reminded_for = Some(at(30, now));
        assert!(is_due(&f, now), "re-armed by the move");
    }

    #[test]
    fn never_for_a_meeting_that_is_not_scheduled_or_a_pair_not_active() {
        let now = now();
        for status in [
            MeetingStatus::Cancelled,
            MeetingStatus::Held,
            MeetingStatus::Missed,
        ] {
            let mut f = facts(now, 2);
            f.status = status;
            assert!(!is_due(&f, now), "{status}");
        }
        for pair in [
            PairStatus::Proposed,
            PairStatus::Suspended,
            PairStatus::Ended,
            PairStatus::Completed,
        ] {
            let mut f = facts(now, 2);
            f.pair_status = pair;
            assert!(!is_due(&f, now), "{pair:?}");
        }
    }

    #[test]
    fn zero_hours_means_no_reminder() {
        let now = now();
        let mut f = facts(now, 1);
        f.reminder_hours = 0;
        assert!(!is_due(&f, now));
        assert_eq!(due_from(f.starts_at, 0), None);
        assert_eq!(due_from(f.starts_at, 2), Some(at(-1, now)));
    }
}
