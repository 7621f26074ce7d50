//! Webhooks (API.md Integrations): the events a hospital's systems may subscribe to, what a
//! registration must say, and how long to wait before trying a failed delivery again.
//! Payloads carry ids and metadata, never content (R5).

use chrono::Duration;

use crate::error::{DomainError, FieldError};

pub const EVENT_KINDS: [&str; 10] = [
    "person.deactivated",
    "pair.proposed",
    "pair.activated",
    "pair.ended",
    "pair.suspended",
    "meeting.scheduled",
    "meeting.cancelled",
    "meeting.rescheduled",
    "objective.agreed",
    "concern.raised",
];

/// After this many failed attempts a delivery is given up (about two days of retries).
pub const MAX_ATTEMPTS: i32 = 12;

/// A registration: where to deliver, and which events (all when empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub url: String,
    pub events: Vec<String>,
}

pub fn validate(url: &str, events: Vec<String>) -> Result<Subscription, DomainError> {
    let mut errors = Vec::new();
    let url = url.trim();
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    let host = url.split("://").nth(1).unwrap_or_default();
    if !scheme_ok || host.is_empty() || host.starts_with('/') {
        errors.push(FieldError::new("/url", "an http:// or https:// address"));
    } else if host.split('/').next().unwrap_or_default().contains('@') {
        errors.push(FieldError::new(
            "/url",
            "no credentials in the address: requests are signed instead",
        ));
    } else if url.len() > 2048 {
        errors.push(FieldError::new("/url", "at most 2,048 characters"));
    }
    let mut kinds: Vec<String> = Vec::new();
    for (i, e) in events.into_iter().enumerate() {
        if !EVENT_KINDS.contains(&e.as_str()) {
            errors.push(FieldError::new(
                format!("/events/{i}"),
                format!("unknown event; one of {}", EVENT_KINDS.join(", ")),
            ));
        } else if !kinds.contains(&e) {
            kinds.push(e);
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    Ok(Subscription {
        url: url.to_owned(),
        events: kinds,
    })
}

impl Subscription {
    pub fn wants(&self, kind: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == kind)
    }
}

/// Wait before the next attempt after `attempts` failures: 30 s doubling, at most 6 h.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 20) - 1;
    let seconds = 30i64.saturating_mul(1i64 << exp);
    Duration::seconds(seconds.min(6 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_names_a_web_address_and_known_events() {
        let s = validate(
            " https://rh.chu.example/hooks ",
            vec!["pair.proposed".into(), "pair.proposed".into()],
        )
        .unwrap();
        assert_eq!(s.url, "https://rh.chu.example/hooks");
        assert_eq!(s.events, ["pair.proposed"]);
        assert!(s.wants("pair.proposed") && !s.wants("pair.ended"));
        assert!(
            validate("https://x.example", vec![])
                .unwrap()
                .wants("pair.ended")
        );
        for bad in [
            "ftp://x",
            "https://",
            "x.example",
            "https://user:pw@x.example/h",
        ] {
            assert!(validate(bad, vec![]).is_err(), "{bad}");
        }
        let err = validate("https://x.example", vec!["note.written".into()]).unwrap_err();
        assert!(matches!(err, DomainError::Invalid(e) if e[0].pointer == "/events/0"));
    }

    #[test]
    fn retries_back_off_to_six_hours() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(5), Duration::seconds(480));
        assert_eq!(backoff(30), Duration::hours(6));
    }
}
