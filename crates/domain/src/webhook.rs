//! Webhooks (API.md Integrations): the events a hospital's systems may subscribe to, what a
//! registration must say, and how long to wait before trying a failed delivery again.
//! Payloads carry ids and metadata, never content (R5).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, Duration, Utc};

use crate::{
    error::{DomainError, FieldError},
    network::TargetPolicy,
};

pub const EVENT_KINDS: [&str; 20] = [
    "person.deactivated",
    "pair.proposed",
    "pair.activated",
    "pair.ended",
    "pair.suspended",
    "meeting.scheduled",
    "meeting.cancelled",
    "meeting.rescheduled",
    "meeting.upcoming",
    "objective.agreed",
    "concern.raised",
    "concern.acknowledged",
    "concern.resolved",
    "enrollment.updated",
    "enrollment.withdrawn",
    "request.sent",
    "request.accepted",
    "request.declined",
    "request.withdrawn",
    "request.void",
];

/// How long a rotated-out secret keeps signing beside the new one, so receivers can switch.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;

/// How long failures are borne: a delivery failing for `give_up_after` is `failed` (dead
/// letter); an endpoint failing everything for `disable_after` is disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    pub give_up_after: Duration,
    pub disable_after: Duration,
}

impl Default for Windows {
    /// Three days for a delivery, five for an endpoint.
    fn default() -> Self {
        Self {
            give_up_after: Duration::days(3),
            disable_after: Duration::days(5),
        }
    }
}

impl Windows {
    /// A delivery whose window opened at `window_from` and that just failed again at `now`:
    /// given up?
    pub fn gives_up(&self, window_from: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now - window_from >= self.give_up_after
    }

    /// An endpoint that has failed everything since `failing_since`: disabled at `now`?
    pub fn disables(&self, failing_since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now - failing_since >= self.disable_after
    }
}

/// Where a delivery stands, as an admin sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not delivered yet; will be attempted (again) at its next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Kept failing for the whole window: no more attempts unless retried by hand.
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [Self; 3] = [Self::Pending, Self::Delivered, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// Delivered wins over failed (a manual retry that got through).
    pub fn of(delivered: bool, given_up: bool) -> Self {
        match (delivered, given_up) {
            (true, _) => Self::Delivered,
            (false, true) => Self::Failed,
            (false, false) => Self::Pending,
        }
    }
}

/// The secrets that sign a message at `now`: the current one, and the previous one while its
/// overlap lasts (Standard Webhooks: several space-separated signatures).
pub fn signing_secrets<'a>(
    current: &'a str,
    previous: Option<(&'a str, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> Vec<&'a str> {
    let mut out = vec![current];
    if let Some((old, until)) = previous
        && now < until
    {
        out.push(old);
    }
    out
}

/// A registration: where to deliver, and which events (all when empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub url: String,
    pub events: Vec<String>,
}

/// Why a webhook's address may not be called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// Not an http(s) address one could register (a field error at `/url`).
    Malformed(&'static str),
    /// A well-formed address the service must not call (`webhook_target_forbidden`).
    Forbidden(&'static str),
}

/// Read a webhook address the way the HTTP client will (the WHATWG URL standard, which also
/// turns `2130706433`, `0x7f.1`, `017700000001` and `127.1` into `127.0.0.1`) and check where
/// it leads. A name is judged again by each address it resolves to when a delivery connects
/// (see the service); only `localhost` names are judged here, as the loopback they are
/// (RFC 6761).
pub fn target(url: &str, policy: &TargetPolicy) -> Result<url::Url, TargetError> {
    // Control characters would be dropped silently by the URL parser (tab, CR, LF) or smuggle
    // a header into the request line: refused, not repaired.
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(TargetError::Forbidden(
            "the address holds a control character or a space",
        ));
    }
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    let parsed = match url::Url::parse(url) {
        Ok(u) if scheme_ok && matches!(u.scheme(), "http" | "https") => u,
        _ => return Err(TargetError::Malformed("an http:// or https:// address")),
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(TargetError::Malformed(
            "no credentials in the address: requests are signed instead",
        ));
    }
    let forbidden = TargetError::Forbidden(
        "the address is loopback, link-local, private or of another special use; an operator \
         may allow a network with MENTORAT_WEBHOOK_ALLOWED_NETWORKS",
    );
    match parsed.host() {
        Some(url::Host::Ipv4(ip)) if !policy.permits(IpAddr::V4(ip)) => Err(forbidden),
        Some(url::Host::Ipv6(ip)) if !policy.permits(IpAddr::V6(ip)) => Err(forbidden),
        Some(url::Host::Domain(name)) if is_localhost(name) => {
            if policy.permits(IpAddr::V4(Ipv4Addr::LOCALHOST))
                && policy.permits(IpAddr::V6(Ipv6Addr::LOCALHOST))
            {
                Ok(parsed)
            } else {
                Err(forbidden)
            }
        }
        Some(_) => Ok(parsed),
        None => Err(TargetError::Malformed("an http:// or https:// address")),
    }
}

/// `localhost` and its subdomains (RFC 6761 §6.3), with or without the final dot.
fn is_localhost(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

pub fn validate(
    url: &str,
    events: Vec<String>,
    policy: &TargetPolicy,
) -> Result<Subscription, DomainError> {
    change(
        &Subscription {
            url: String::new(),
            events: Vec::new(),
        },
        Some(url),
        Some(events),
        policy,
    )
}

/// A registration changed (`PATCH`): a new address is judged like a new registration (the
/// SSRF rules included); an address left alone is kept as it is, even if today's policy
/// would refuse it (deliveries judge it again anyway, and an admin may still pause it).
pub fn change(
    current: &Subscription,
    url: Option<&str>,
    events: Option<Vec<String>>,
    policy: &TargetPolicy,
) -> Result<Subscription, DomainError> {
    let events = events.unwrap_or_else(|| current.events.clone());
    let Some(url) = url else {
        let (kinds, errors) = event_kinds(events);
        return if errors.is_empty() {
            Ok(Subscription {
                url: current.url.clone(),
                events: kinds,
            })
        } else {
            Err(DomainError::Invalid(errors))
        };
    };
    let mut errors = Vec::new();
    // Surrounding spaces are forgiven; any other whitespace (a trailing CR LF) is refused.
    let url = url.trim_matches(' ');
    let mut checked = None;
    if url.len() > 2048 {
        errors.push(FieldError::new("/url", "at most 2,048 characters"));
    } else {
        match target(url, policy) {
            Ok(u) => checked = Some(u),
            Err(TargetError::Malformed(why)) => errors.push(FieldError::new("/url", why)),
            Err(TargetError::Forbidden(why)) => {
                return Err(DomainError::WebhookTargetForbidden(why));
            }
        }
    }
    let (kinds, event_errors) = event_kinds(events);
    errors.extend(event_errors);
    match checked {
        Some(u) if errors.is_empty() => Ok(Subscription {
            url: u.to_string(),
            events: kinds,
        }),
        _ => Err(DomainError::Invalid(errors)),
    }
}

/// Known event kinds, once each; the unknown ones named by their place.
fn event_kinds(events: Vec<String>) -> (Vec<String>, Vec<FieldError>) {
    let mut errors = Vec::new();
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
    (kinds, errors)
}

impl Subscription {
    pub fn wants(&self, kind: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == kind)
    }
}

/// How a delivery's last attempt went, as an admin sees it: enough to know where to look,
/// not the receiver's own answer (an address scanner learns nothing from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The endpoint answered 2xx.
    Delivered,
    /// The endpoint answered, but not 2xx (redirects are never followed).
    Rejected,
    /// No answer in time.
    TimedOut,
    /// No connection (refused, no route, the name does not resolve, TLS failed).
    Unreachable,
    /// The address, or every address its name resolved to, is off-limits (see `network`).
    Forbidden,
    /// Anything else (the signature could not be made).
    Failed,
}

impl DeliveryOutcome {
    pub const ALL: [Self; 6] = [
        Self::Delivered,
        Self::Rejected,
        Self::TimedOut,
        Self::Unreachable,
        Self::Forbidden,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Rejected => "rejected",
            Self::TimedOut => "timed_out",
            Self::Unreachable => "unreachable",
            Self::Forbidden => "forbidden",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// The status an admin is shown: its class only (`404` → `400`), never the exact code.
pub fn status_class(status: u16) -> u16 {
    status - status % 100
}

/// Wait before the next attempt after `attempts` failures: 30 s doubling, at most 6 h.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 20) - 1;
    let seconds = 30i64.saturating_mul(1i64 << exp);
    Duration::seconds(seconds.min(6 * 3600))
}

/// The wait actually used: [`backoff`] with "equal jitter" — half of it fixed, the other half
/// scaled by `random` (in `[0, 1)`, from the caller's random source) — so endpoints that
/// failed together are not all retried in the same second.
pub fn backoff_with_jitter(attempts: i32, random: f64) -> Duration {
    let full = backoff(attempts).num_milliseconds();
    let random = if random.is_finite() {
        random.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let half = full / 2;
    // At most 6 h in milliseconds: exact in an f64.
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let jitter = ((full - half) as f64 * random) as i64;
    Duration::milliseconds(half + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_names_a_web_address_and_known_events() {
        let s = validate(
            " https://rh.chu.example/hooks ",
            vec!["pair.proposed".into(), "pair.proposed".into()],
            &public(),
        )
        .unwrap();
        assert_eq!(s.url, "https://rh.chu.example/hooks");
        assert_eq!(s.events, ["pair.proposed"]);
        assert!(s.wants("pair.proposed") && !s.wants("pair.ended"));
        assert!(
            validate("https://x.example", vec![], &public())
                .unwrap()
                .wants("pair.ended")
        );
        for bad in [
            "ftp://x",
            "https://",
            "x.example",
            "https://user:pw@x.example/h",
        ] {
            assert!(
                matches!(
                    validate(bad, vec![], &public()),
                    Err(DomainError::Invalid(_))
                ),
                "{bad}"
            );
        }
        let err =
            validate("https://x.example", vec!["note.written".into()], &public()).unwrap_err();
        assert!(matches!(err, DomainError::Invalid(e) if e[0].pointer == "/events/0"));
    }

    fn public() -> TargetPolicy {
        TargetPolicy::public_only()
    }

    fn forbidden(url: &str, policy: &TargetPolicy) -> bool {
        matches!(
            validate(url, vec![], policy),
            Err(DomainError::WebhookTargetForbidden(_))
        )
    }

    #[test]
    fn internal_targets_are_forbidden_in_every_spelling() {
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
            "http://192.168.1.10:8080/hook",
            "http://100.64.0.1/",
            "http://127.0.0.1:9000/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0x7f000001/",
            "http://017700000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://127.0.1/",
            "http://0/",
            "http://0.0.0.0/",
            "http://255.255.255.255/",
            "http://224.0.0.1/",
            "http://192.0.2.1/",
            "http://[::1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://[ff02::1]/",
            "http://[2001:db8::1]/",
            "http://localhost:8080/",
            "http://LOCALHOST./",
            "http://api.localhost/",
            "http://%31%32%37.0.0.1/",
            "http://x.example/\r\nX-Injected: 1",
            "http://x.example/a\rb",
            "http://x.example/\tb",
            "http://x.exa mple/",
            "http://x.example/\u{0}",
            "http://x.example/\u{85}",
            "http://x.example/hook\r\n",
        ] {
            assert!(forbidden(url, &public()), "{url}");
        }
    }

    #[test]
    fn an_allowed_network_opens_its_addresses_and_public_ones_stay_open() {
        let loopback = TargetPolicy::parse("127.0.0.0/8,::1/128").unwrap();
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://0x7f.1/",
            "http://[::1]/",
            "http://localhost/",
        ] {
            assert!(validate(url, vec![], &loopback).is_ok(), "{url}");
        }
        assert!(forbidden("http://169.254.169.254/", &loopback));
        assert!(forbidden("http://10.0.0.1/", &loopback));
        for url in [
            "https://93.184.216.34/",
            "https://[2606:4700::1111]/",
            "https://rh.chu.example/",
        ] {
            assert!(validate(url, vec![], &public()).is_ok(), "{url}");
        }
        // What is stored is what the client will call: the parser's own spelling.
        assert_eq!(
            validate("http://0x7f.1:9000/h", vec![], &loopback)
                .unwrap()
                .url,
            "http://127.0.0.1:9000/h"
        );
    }

    #[test]
    fn outcomes_have_one_spelling_and_statuses_only_a_class() {
        for o in DeliveryOutcome::ALL {
            assert_eq!(DeliveryOutcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(
            DeliveryOutcome::parse("the endpoint did not answer 2xx"),
            None
        );
        assert_eq!(status_class(204), 200);
        assert_eq!(status_class(503), 500);
        assert_eq!(status_class(418), 400);
    }

    #[test]
    fn a_change_judges_a_new_address_and_keeps_the_old_one() {
        let current = Subscription {
            url: "http://127.0.0.1:9000/h".into(),
            events: vec!["pair.ended".into()],
        };
        // Events alone: the address, allowed when registered, is kept.
        let s = change(
            &current,
            None,
            Some(vec!["pair.proposed".into()]),
            &public(),
        )
        .unwrap();
        assert_eq!(s.url, current.url);
        assert_eq!(s.events, ["pair.proposed"]);
        assert_eq!(change(&current, None, None, &public()).unwrap(), current);
        // A new address goes through the SSRF rules.
        assert!(matches!(
            change(&current, Some("http://169.254.169.254/"), None, &public()),
            Err(DomainError::WebhookTargetForbidden(_))
        ));
        assert!(matches!(
            change(&current, None, Some(vec!["x".into()]), &public()),
            Err(DomainError::Invalid(e)) if e[0].pointer == "/events/0"
        ));
        let moved = change(&current, Some("https://rh.chu.example/h"), None, &public()).unwrap();
        assert_eq!(moved.events, ["pair.ended"]);
    }

    #[test]
    fn jitter_keeps_half_the_wait_and_spreads_the_rest() {
        assert_eq!(backoff_with_jitter(1, 0.0), Duration::seconds(15));
        assert_eq!(backoff_with_jitter(1, 0.5), Duration::milliseconds(22_500));
        assert_eq!(
            backoff_with_jitter(1, 0.999_999),
            Duration::milliseconds(29_999)
        );
        assert_eq!(backoff_with_jitter(30, 1.0), Duration::hours(6));
        assert_eq!(backoff_with_jitter(30, 0.0), Duration::hours(3));
        // A broken random source never makes it wait less than half, nor more than all.
        for r in [f64::NAN, -1.0, 7.0, f64::INFINITY] {
            let d = backoff_with_jitter(4, r);
            assert!(
                d >= Duration::seconds(120) && d <= Duration::seconds(240),
                "{r}"
            );
        }
        // Every draw lands in [half, full).
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for attempts in 1..25 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            #[allow(clippy::cast_precision_loss)]
            let r = (seed >> 11) as f64 / (1u64 << 53) as f64;
            let d = backoff_with_jitter(attempts, r);
            assert!(d >= backoff(attempts) / 2 && d <= backoff(attempts));
        }
    }

    #[test]
    fn a_delivery_gives_up_after_three_days_and_an_endpoint_is_disabled_after_five() {
        let w = Windows::default();
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        assert!(!w.gives_up(t0, t0 + Duration::days(3) - Duration::seconds(1)));
        assert!(w.gives_up(t0, t0 + Duration::days(3)));
        assert!(!w.disables(t0, t0 + Duration::days(4)));
        assert!(w.disables(t0, t0 + Duration::days(5)));
        for s in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeliveryStatus::of(true, true), DeliveryStatus::Delivered);
        assert_eq!(DeliveryStatus::of(false, true), DeliveryStatus::Failed);
        assert_eq!(DeliveryStatus::of(false, false), DeliveryStatus::Pending);
    }

    #[test]
    fn a_rotated_out_secret_signs_until_its_overlap_ends() {
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let until = t0 + Duration::hours(ROTATION_OVERLAP_HOURS);
        assert_eq!(signing_secrets("new", None, t0), ["new"]);
        assert_eq!(
            signing_secrets("new", Some(("old", until)), t0),
            ["new", "old"]
        );
        assert_eq!(signing_secrets("new", Some(("old", until)), until), ["new"]);
    }

    #[test]
    fn retries_back_off_to_six_hours() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(5), Duration::seconds(480));
        assert_eq!(backoff(30), Duration::hours(6));
    }
}
