//! Rate limiting per caller (API.md "Additions of December 2026", `MENTORAT_RATE_LIMIT`).
//!
//! A caller is the subject of a token **whose signature verified**, else the client address:
//! a token that does not verify never picks a bucket, so an attacker who sends a new invalid
//! token with every request still spends the one bucket of their address. IPv6 addresses
//! count by their /64 network (one site, one bucket: a host picks any address of its /64).
//! Behind a load balancer listed in `MENTORAT_TRUSTED_PROXIES`, the client address is the one
//! the balancer appended to `X-Forwarded-For`; from anyone else that header is ignored.
//!
//! The limiter is governor's keyed GCRA: `requests` per window sustained, up to `burst` at
//! once. An answer that went through the limiter carries the IETF `RateLimit-Policy` and
//! `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers-10); a refused request is
//! `429 rate_limited` with `Retry-After`. Per replica: N replicas behind a load balancer let a
//! caller through N times the rate. `/healthz`, `/readyz` and `/metrics` are not limited
//! (a load balancer's probes and Prometheus's scrapes must not be refused for being regular).
//!
//! Memory is bounded: a caller's state is dropped once it is indistinguishable from a fresh
//! one (its burst is whole again, at most `burst / rate` after its last request), by a sweep
//! every [`SWEEP_PERIOD`] and, should a flood of callers outgrow [`SWEEP_ABOVE_KEYS`] in
//! between, at once.

use std::{
    hash::Hash,
    net::{IpAddr, Ipv6Addr},
    num::NonZeroU32,
    sync::{
        Arc, Weak,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use actix_web::{
    Error, ResponseError,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderMap, HeaderName, HeaderValue},
    middleware::Next,
    web,
};
use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
};

use mentorat_domain::network::Network;

use crate::{auth, problem::ApiError};

/// The IETF fields (draft-ietf-httpapi-ratelimit-headers-10).
pub const RATELIMIT: &str = "ratelimit";
pub const RATELIMIT_POLICY: &str = "ratelimit-policy";
/// The one policy's name in both fields.
pub const POLICY_NAME: &str = "per-caller";

/// API.md: 6000 requests per minute per caller.
pub const DEFAULT_SETTING: &str = "6000/min";

/// How often the callers whose burst is whole again are forgotten.
pub const SWEEP_PERIOD: Duration = Duration::from_secs(10);
/// More callers than this between two sweeps: sweep at once.
pub const SWEEP_ABOVE_KEYS: usize = 100_000;
/// How many checks go by between two looks at the number of callers.
const LOOK_EVERY: u64 = 1024;

/// The operations that are never limited.
fn exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// A rate: `requests` per `window`, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: NonZeroU32,
    pub window: Duration,
    pub burst: NonZeroU32,
}

const MAX_COUNT: u32 = 1_000_000;

impl RateLimit {
    /// Parse `MENTORAT_RATE_LIMIT`: `0` (off), or `N` (per minute, as API.md has it), `N/s`,
    /// `N/min`, `N/h`, optionally followed by `,burst=B`. `None` is off. Without a burst,
    /// one second's worth of the rate, at least 10 and at most the window's `N`.
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        const SHAPE: &str = "must be 0 (off) or requests per window with an optional burst: \
             6000 (per minute), 100/s, 6000/min, 50000/h, 100/s,burst=200";
        let text = text.trim();
        let (rate, burst) = match text.split_once(',') {
            Some((rate, burst)) => (rate.trim(), Some(burst.trim())),
            None => (text, None),
        };
        let (count, window) = match rate.split_once('/') {
            None => (rate, Duration::from_secs(60)),
            Some((count, unit)) => {
                let window = match unit.trim() {
                    "s" | "sec" | "second" => Duration::from_secs(1),
                    "m" | "min" | "minute" => Duration::from_secs(60),
                    "h" | "hour" => Duration::from_secs(3600),
                    _ => return Err(SHAPE.to_owned()),
                };
                (count.trim(), window)
            }
        };
        let count: u32 = count.parse().map_err(|_| SHAPE.to_owned())?;
        if count == 0 {
            return match burst {
                None => Ok(None),
                Some(_) => Err("0 turns limiting off and takes no burst".to_owned()),
            };
        }
        if count > MAX_COUNT {
            return Err(format!("at most {MAX_COUNT} requests per window"));
        }
        let burst = match burst {
            None => {
                let per_second = u64::from(count).div_ceil(window.as_secs().max(1));
                let b = per_second.max(10).min(u64::from(count));
                u32::try_from(b).unwrap_or(MAX_COUNT)
            }
            Some(b) => {
                let value = b
                    .strip_prefix("burst=")
                    .ok_or_else(|| SHAPE.to_owned())?
                    .trim();
                match value.parse::<u32>() {
                    Ok(b @ 1..=MAX_COUNT) => b,
                    _ => return Err(format!("the burst must be 1 to {MAX_COUNT} requests")),
                }
            }
        };
        let (Some(requests), Some(burst)) = (NonZeroU32::new(count), NonZeroU32::new(burst)) else {
            return Err(SHAPE.to_owned());
        };
        Ok(Some(Self {
            requests,
            window,
            burst,
        }))
    }

    /// One request's share of the window: the time it takes to earn one back.
    pub fn interval(&self) -> Duration {
        self.window / self.requests.get()
    }

    fn quota(&self) -> Quota {
        Quota::with_period(self.interval())
            .unwrap_or_else(|| Quota::per_second(self.requests))
            .allow_burst(self.burst)
    }

    /// The seconds in which a whole burst is earned back: a client that sends at most `q`
    /// requests in any `w` seconds is never refused.
    pub fn burst_window_seconds(&self) -> u64 {
        ceil_seconds(self.interval() * self.burst.get()).max(1)
    }

    /// `RateLimit-Policy: "per-caller";q=100;w=1` — the burst and the seconds it takes to
    /// earn it back, which is what GCRA promises (a window of the sustained rate would
    /// promise a whole window's requests at once).
    pub fn policy_field(&self) -> String {
        format!(
            "\"{POLICY_NAME}\";q={};w={}",
            self.burst,
            self.burst_window_seconds()
        )
    }
}

fn ceil_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Whom a request is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Caller {
    /// The subject of a verified token.
    Subject(Box<str>),
    /// The client address (IPv6: its /64).
    Address(IpAddr),
}

/// The bucket of an address: IPv4 as it is (an IPv4-mapped IPv6 address too), IPv6 by /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

type Keyed =
    RateLimiter<Caller, DefaultKeyedStateStore<Caller>, DefaultClock, StateInformationMiddleware>;

struct Inner {
    limit: RateLimit,
    /// Peers whose `X-Forwarded-For` names the client (`MENTORAT_TRUSTED_PROXIES`).
    trusted_proxies: Vec<Network>,
    keyed: Keyed,
    policy: HeaderValue,
    checks: AtomicU64,
}

impl Inner {
    fn sweep(&self) {
        self.keyed.retain_recent();
        self.keyed.shrink_to_fit();
    }
}

/// This replica's limiter, shared by its workers; off when `MENTORAT_RATE_LIMIT=0`.
#[derive(Clone, Default)]
pub struct Limiter {
    inner: Option<Arc<Inner>>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("limit", &self.inner.as_ref().map(|i| i.limit))
            .finish()
    }
}

impl Limiter {
    /// A limiter for `limit` (`None`: off). Within a Tokio runtime, a task sweeps forgotten
    /// callers every [`SWEEP_PERIOD`] until the limiter is dropped.
    pub fn new(limit: Option<RateLimit>, trusted_proxies: Vec<Network>) -> Self {
        let Some(limit) = limit else {
            return Self { inner: None };
        };
        let policy = HeaderValue::from_str(&limit.policy_field())
            .unwrap_or_else(|_| HeaderValue::from_static("\"per-caller\""));
        let inner = Arc::new(Inner {
            limit,
            trusted_proxies,
            keyed: RateLimiter::keyed(limit.quota())
                .with_middleware::<StateInformationMiddleware>(),
            policy,
            checks: AtomicU64::new(0),
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(sweep_until_dropped(Arc::downgrade(&inner)));
        }
        Self { inner: Some(inner) }
    }

    pub fn limit(&self) -> Option<RateLimit> {
        self.inner.as_ref().map(|i| i.limit)
    }

    /// Callers whose state is kept (an estimate; a gauge of `/metrics`).
    pub fn tracked_callers(&self) -> usize {
        self.inner.as_ref().map_or(0, |i| i.keyed.len())
    }
}

async fn sweep_until_dropped(inner: Weak<Inner>) {
    let mut tick = tokio::time::interval(SWEEP_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        inner.sweep();
    }
}

/// An address as networks see it: IPv4-mapped IPv6 unwrapped.
fn plain(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy — then the nearest
/// address of `X-Forwarded-For` (read from the right, where each proxy appends the address it
/// saw) that is not itself a trusted proxy. Anything a client wrote further left is ignored,
/// and a malformed entry stops the walk at the last trusted hop.
fn client_address(req: &ServiceRequest, trusted: &[Network]) -> IpAddr {
    let peer = plain(
        req.peer_addr()
            .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip()),
    );
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>().map(plain) else {
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// Who the request is counted against: a verified token's subject, else the address.
/// A token verified here is kept on the request ([`auth::Verified`]): the handler's
/// extractor does not verify it a second time.
async fn caller_of(req: &ServiceRequest, trusted: &[Network]) -> Caller {
    let http = req.request();
    let verifier = http.app_data::<web::Data<Arc<auth::JwtVerifier>>>();
    let verified = match (auth::bearer_token(http), verifier) {
        (Some(token), Some(verifier)) => verifier.verify(token).await.ok(),
        _ => None,
    };
    match verified {
        Some(caller) => {
            let key = Caller::Subject(caller.subject.as_str().into());
            actix_web::HttpMessage::extensions_mut(http).insert(auth::Verified(caller));
            key
        }
        None => Caller::Address(address_key(client_address(req, trusted))),
    }
}

fn set_fields(headers: &mut HeaderMap, policy: &HeaderValue, remaining: u32, reset: u64) {
    headers.insert(HeaderName::from_static(RATELIMIT_POLICY), policy.clone());
    if let Ok(v) = HeaderValue::from_str(&format!("\"{POLICY_NAME}\";r={remaining};t={reset}")) {
        headers.insert(HeaderName::from_static(RATELIMIT), v);
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let inner = req
        .app_data::<web::Data<Limiter>>()
        .and_then(|l| l.inner.clone());
    let Some(inner) = inner.filter(|_| !exempt(req.path())) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    if inner.checks.fetch_add(1, Ordering::Relaxed) % LOOK_EVERY == LOOK_EVERY - 1
        && inner.keyed.len() > SWEEP_ABOVE_KEYS
    {
        inner.sweep();
    }
    let caller = caller_of(&req, &inner.trusted_proxies).await;
    match inner.keyed.check_key(&caller) {
        Ok(state) => {
            let remaining = state.remaining_burst_capacity();
            let used = inner.limit.burst.get().saturating_sub(remaining);
            let reset = ceil_seconds(inner.limit.interval() * used);
            let mut res = next
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)?;
            set_fields(res.headers_mut(), &inner.policy, remaining, reset);
            Ok(res)
        }
        Err(not_until) => {
            let wait = not_until.wait_time_from(inner.keyed.clock().now());
            let retry_after = ceil_seconds(wait).max(1);
            let counted_by = match &caller {
                Caller::Subject(_) => "subject",
                Caller::Address(_) => "address",
            };
            if let Some(metrics) = req.app_data::<web::Data<crate::telemetry::Metrics>>() {
                metrics.operations.rate_limited(counted_by);
            }
            tracing::info!(
                caller = counted_by,
                retry_after,
                "request refused: rate limited"
            );
            let mut response = ApiError::RateLimited { retry_after }.error_response();
            set_fields(response.headers_mut(), &inner.policy, 0, retry_after);
            Ok(req.into_response(response))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Option<RateLimit> {
        RateLimit::parse(text).unwrap()
    }

    #[test]
    fn zero_is_off_and_a_bare_number_is_per_minute() {
        assert_eq!(parse("0"), None);
        assert_eq!(parse("0/s"), None);
        let l = parse("6000").unwrap();
        assert_eq!(l.window, Duration::from_secs(60));
        assert_eq!(l.requests.get(), 6000);
        assert_eq!(l, parse(DEFAULT_SETTING).unwrap());
        // One second's worth by default.
        assert_eq!(l.burst.get(), 100);
        assert_eq!(l.interval(), Duration::from_millis(10));
        assert_eq!(l.policy_field(), "\"per-caller\";q=100;w=1");
    }

    #[test]
    fn units_and_bursts() {
        let l = parse("100/s,burst=200").unwrap();
        assert_eq!((l.requests.get(), l.burst.get()), (100, 200));
        assert_eq!(l.window, Duration::from_secs(1));
        assert_eq!(l.burst_window_seconds(), 2);
        assert_eq!(parse("60/min").unwrap().burst.get(), 10);
        assert_eq!(parse("5/h").unwrap().burst.get(), 5);
        assert_eq!(
            parse(" 60/min , burst=5 ").unwrap().burst_window_seconds(),
            5
        );
        assert_eq!(parse("50000/h").unwrap().burst.get(), 14);
    }

    #[test]
    fn malformed_settings_are_refused() {
        for bad in [
            "",
            "x",
            "-1",
            "10/d",
            "10/s,5",
            "10/s,burst=0",
            "0,burst=3",
            "2000000/s",
            "1.5/s",
        ] {
            assert!(RateLimit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_ipv6_site_is_one_caller() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    fn client(peer: &str, forwarded: &[&str], trusted: &[&str]) -> IpAddr {
        let mut req = actix_web::test::TestRequest::default().peer_addr(peer.parse().unwrap());
        for value in forwarded {
            req = req.append_header(("x-forwarded-for", *value));
        }
        let trusted: Vec<Network> = trusted.iter().map(|n| n.parse().unwrap()).collect();
        client_address(&req.to_srv_request(), &trusted)
    }

    #[test]
    fn x_forwarded_for_is_read_from_trusted_proxies_only() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // Not a trusted peer: the header is the client's own words.
        assert_eq!(
            client("198.51.100.7:5000", &["203.0.113.1"], &[]),
            ip("198.51.100.7")
        );
        assert_eq!(
            client("198.51.100.7:5000", &["203.0.113.1"], &["10.0.0.0/8"]),
            ip("198.51.100.7")
        );
        // A trusted balancer: the address it appended, whatever the client wrote before it.
        let lb = &["10.0.0.0/8"];
        assert_eq!(
            client("10.0.0.2:5000", &["6.6.6.6, 203.0.113.1"], lb),
            ip("203.0.113.1")
        );
        assert_eq!(
            client("10.0.0.2:5000", &["6.6.6.6", "203.0.113.1"], lb),
            ip("203.0.113.1")
        );
        // Two trusted hops are walked through.
        assert_eq!(
            client("10.0.0.2:5000", &["203.0.113.1, 10.0.0.9"], lb),
            ip("203.0.113.1")
        );
        // A malformed entry stops at the last trusted hop; no header: the balancer itself.
        assert_eq!(
            client("10.0.0.2:5000", &["junk, 10.0.0.9"], lb),
            ip("10.0.0.9")
        );
        assert_eq!(client("10.0.0.2:5000", &[], lb), ip("10.0.0.2"));
    }

    #[tokio::test]
    async fn forgotten_callers_are_swept() {
        let limiter = Limiter::new(parse("1000/s,burst=5"), Vec::new());
        let inner = limiter.inner.clone().unwrap();
        for i in 0..50u8 {
            let _ = inner
                .keyed
                .check_key(&Caller::Address(IpAddr::from([10, 0, 0, i])));
        }
        assert_eq!(limiter.tracked_callers(), 50);
        // A whole burst is earned back in 5 ms.
        tokio::time::sleep(Duration::from_millis(20)).await;
        inner.sweep();
        assert_eq!(limiter.tracked_callers(), 0);
    }
}
