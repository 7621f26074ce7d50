//! Configuration from the environment (API.md "Configuration"), built once and validated
//! before anything binds: a missing or malformed value is one clear line naming the variable.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use mentorat_api::{links::PublicUrl, rate_limit::RateLimit};
use mentorat_domain::network::TargetPolicy;
use mentorat_persistence::Backend;
use secrecy::SecretString;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://mentorat.db";
/// An HS256 secret shorter than this is refused: it could be guessed offline.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub bind: SocketAddr,
    pub jwt_secret: Option<SecretString>,
    pub jwt_keys: Option<PathBuf>,
    /// An identity provider's JWKS endpoint (`MENTORAT_JWT_JWKS_URL`): https, or http on a
    /// loopback address only (keys sent in clear could be swapped on the way).
    pub jwt_jwks_url: Option<url::Url>,
    /// The shortest time between two fetches of the JWKS (`MENTORAT_JWT_JWKS_REFETCH_MS`,
    /// 100 to 3,600,000 ms; a minute by default).
    pub jwt_jwks_refetch: Duration,
    /// Find the JWKS through OpenID Connect Discovery under the issuer
    /// (`MENTORAT_JWT_OIDC_DISCOVERY=true`; `MENTORAT_JWT_ISSUER` is then the provider's URL).
    pub jwt_oidc_discovery: bool,
    /// How often the provider's keys are fetched again on a timer
    /// (`MENTORAT_JWT_JWKS_REFRESH_MS`, 100 to 86,400,000 ms; an hour by default).
    pub jwt_jwks_refresh: Duration,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub jwt_subject_claim: String,
    /// Checked now (base64 of 32 bytes) so a deployment learns early; used by the content
    /// encryption of DOMAIN.md R5.
    pub encryption_key: Option<SecretString>,
    pub cors_origins: Vec<String>,
    /// R13: no report figure over fewer than this many people (5 or more).
    pub k_anonymity: u32,
    /// How long a claim on an `Idempotency-Key` holds without an answer before a retry may
    /// take it over (`MENTORAT_IDEMPOTENCY_LEASE_SECONDS`).
    pub idempotency_lease_seconds: i64,
    /// How long a request body may go without a byte arriving before the request is
    /// answered `408 request_timeout` (whole seconds, 1 to 3600).
    pub body_timeout: Duration,
    /// How long in-flight requests may take to finish after SIGTERM
    /// (`MENTORAT_SHUTDOWN_GRACE`, whole seconds, 1 to 3600).
    pub shutdown_grace: Duration,
    /// How often every replica reads the set of deactivated people again (R11): the longest
    /// another replica's deactivation goes unseen (`MENTORAT_DEACTIVATION_REFRESH_MS`,
    /// 50 to 60,000 ms).
    pub deactivation_refresh: Duration,
    /// R14: a pair's words are destroyed this many days after it ended or completed, or its
    /// program closed (`MENTORAT_RETENTION_DAYS`, 1 to 36500, default 365).
    pub retention_days: u32,
    /// How often the retention task looks for pairs past it (`MENTORAT_RETENTION_EVERY_SECONDS`,
    /// 1 to 86400, default 3600).
    pub retention_every: Duration,
    /// How often the meeting-reminder task looks for meetings whose reminder is due
    /// (`MENTORAT_REMINDER_EVERY_SECONDS`, 1 to 3600, default 60).
    pub reminder_every: Duration,
    /// Networks a webhook may reach besides the public Internet
    /// (`MENTORAT_WEBHOOK_ALLOWED_NETWORKS`, comma-separated CIDRs; none by default).
    pub webhook_policy: TargetPolicy,
    /// How long webhook failures are borne: a delivery failing for
    /// `MENTORAT_WEBHOOK_GIVE_UP_SECONDS` (default 259200, 3 days) is `failed`; an endpoint
    /// failing everything for `MENTORAT_WEBHOOK_DISABLE_SECONDS` (default 432000, 5 days) is
    /// disabled and the admins are told (each 1 to 31536000).
    pub webhook_windows: mentorat_domain::webhook::Windows,
    /// The base of the links the service hands out (`MENTORAT_PUBLIC_URL`); `None`: the
    /// address the server is bound to, over http.
    pub public_url: Option<PublicUrl>,
    /// Requests per caller and replica (`MENTORAT_RATE_LIMIT`, default 6000 per minute,
    /// bursts of 100); `None`: off (`0`).
    pub rate_limit: Option<RateLimit>,
    /// Load balancers whose `X-Forwarded-For` names the client for the rate limit
    /// (`MENTORAT_TRUSTED_PROXIES`, comma-separated CIDRs; none by default).
    pub trusted_proxies: Vec<mentorat_domain::network::Network>,
    pub log_filter: String,
    /// Trace export over OTLP/HTTP, when the standard `OTEL_*` variables ask for it.
    pub otlp: Option<Otlp>,
    /// `None`: pretty on a terminal, JSON otherwise.
    pub log_format: Option<LogFormat>,
}

/// Where traces go (OpenTelemetry's standard variables): `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
/// as it is, else `OTEL_EXPORTER_OTLP_ENDPOINT` with `/v1/traces` appended. Neither set,
/// `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`: no export, no exporter built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Otlp {
    pub traces_endpoint: String,
    /// `OTEL_SERVICE_NAME` is set (else the service calls itself `mentorat`).
    pub service_name_set: bool,
}

fn otlp(var: &impl Fn(&str) -> Option<String>) -> Result<Option<Otlp>, ConfigError> {
    if var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    match var("OTEL_TRACES_EXPORTER").as_deref().map(str::trim) {
        None | Some("otlp") => {}
        Some("none") => return Ok(None),
        Some(_) => {
            return Err(error(
                "OTEL_TRACES_EXPORTER",
                "must be `otlp` or `none` (no other exporter is built in)",
            ));
        }
    }
    for name in [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ] {
        if let Some(protocol) = var(name)
            && protocol.trim() != "http/protobuf"
        {
            return Err(error(
                if name.contains("TRACES") {
                    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
                } else {
                    "OTEL_EXPORTER_OTLP_PROTOCOL"
                },
                "must be `http/protobuf` (gRPC is not built in: point the endpoint at the \
                 collector's OTLP/HTTP port, 4318)",
            ));
        }
    }
    let (variable, endpoint) = match (
        var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        var("OTEL_EXPORTER_OTLP_ENDPOINT"),
    ) {
        (Some(traces), _) => (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            traces.trim().to_owned(),
        ),
        (None, Some(base)) => (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("{}/v1/traces", base.trim().trim_end_matches('/')),
        ),
        (None, None) => return Ok(None),
    };
    let parsed = url::Url::parse(&endpoint).map_err(|_| {
        error(
            if variable.contains("TRACES") {
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
            } else {
                "OTEL_EXPORTER_OTLP_ENDPOINT"
            },
            "must be an http(s) URL such as http://otel-collector:4318",
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(error(
            if variable.contains("TRACES") {
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
            } else {
                "OTEL_EXPORTER_OTLP_ENDPOINT"
            },
            "must be an http(s) URL such as http://otel-collector:4318",
        ));
    }
    Ok(Some(Otlp {
        traces_endpoint: endpoint,
        service_name_set: var("OTEL_SERVICE_NAME").is_some(),
    }))
}

#[derive(Debug, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

fn error(variable: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        reason: reason.into(),
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Build from any variable lookup (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| get(name).filter(|v| !v.trim().is_empty());

        let database_url =
            var("MENTORAT_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if Backend::of_url(&database_url).is_none() {
            return Err(error(
                "MENTORAT_DATABASE_URL",
                "must start with sqlite: or postgres:// (e.g. sqlite://mentorat.db)",
            ));
        }
        let bind = var("MENTORAT_BIND")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse::<SocketAddr>()
            .map_err(|_| {
                error(
                    "MENTORAT_BIND",
                    "must be an address and port, e.g. 127.0.0.1:8080",
                )
            })?;

        let jwt_secret = match var("MENTORAT_JWT_SECRET") {
            Some(s) if s.len() < MIN_SECRET_BYTES => {
                return Err(error(
                    "MENTORAT_JWT_SECRET",
                    format!("must be at least {MIN_SECRET_BYTES} bytes long"),
                ));
            }
            other => other.map(SecretString::from),
        };
        let jwt_keys = var("MENTORAT_JWT_KEYS").map(PathBuf::from);
        if let Some(path) = &jwt_keys
            && !path.is_file()
        {
            return Err(error(
                "MENTORAT_JWT_KEYS",
                format!("{} is not a readable file", path.display()),
            ));
        }
        let jwt_jwks_url = match var("MENTORAT_JWT_JWKS_URL") {
            None => None,
            Some(v) => Some(jwks_url(v.trim()).map_err(|why| error("MENTORAT_JWT_JWKS_URL", why))?),
        };
        let jwt_jwks_refetch = match var("MENTORAT_JWT_JWKS_REFETCH_MS") {
            None => mentorat_api::jwks::DEFAULT_MIN_REFETCH,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(ms @ 100..=3_600_000) => Duration::from_millis(ms),
                _ => {
                    return Err(error(
                        "MENTORAT_JWT_JWKS_REFETCH_MS",
                        "must be a whole number of milliseconds from 100 to 3600000",
                    ));
                }
            },
        };
        let jwt_oidc_discovery = match var("MENTORAT_JWT_OIDC_DISCOVERY").as_deref().map(str::trim)
        {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(error(
                    "MENTORAT_JWT_OIDC_DISCOVERY",
                    "must be true or false",
                ));
            }
        };
        if jwt_oidc_discovery {
            if jwt_jwks_url.is_some() {
                return Err(error(
                    "MENTORAT_JWT_OIDC_DISCOVERY",
                    "finds the JWKS address itself: set it or MENTORAT_JWT_JWKS_URL, not both",
                ));
            }
            let issuer = var("MENTORAT_JWT_ISSUER").unwrap_or_default();
            mentorat_api::jwks::discovery_url(issuer.trim())
                .map_err(|why| error("MENTORAT_JWT_ISSUER", why))?;
        }
        let jwt_jwks_refresh = match var("MENTORAT_JWT_JWKS_REFRESH_MS") {
            None => mentorat_api::jwks::DEFAULT_REFRESH,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(ms @ 100..=86_400_000) => Duration::from_millis(ms),
                _ => {
                    return Err(error(
                        "MENTORAT_JWT_JWKS_REFRESH_MS",
                        "must be a whole number of milliseconds from 100 to 86400000",
                    ));
                }
            },
        };
        let encryption_key = var("MENTORAT_ENCRYPTION_KEY");
        if let Some(key) = &encryption_key
            && let Err(e) = mentorat_persistence::Keyring::parse(key)
        {
            return Err(error(
                "MENTORAT_ENCRYPTION_KEY",
                format!("{e}; several keys, comma-separated, put the current one first"),
            ));
        }
        let cors_origins = var("MENTORAT_CORS_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for origin in &cors_origins {
            let ok = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/')
                && !origin.contains('*');
            if !ok {
                return Err(error(
                    "MENTORAT_CORS_ORIGINS",
                    format!(
                        "`{origin}` is not an origin like https://app.example.org (no path, no wildcard)"
                    ),
                ));
            }
        }
        let k_anonymity = match var("MENTORAT_K_ANONYMITY") {
            None => mentorat_domain::anonymity::MIN_K,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(k) if k >= mentorat_domain::anonymity::MIN_K => k,
                _ => {
                    return Err(error(
                        "MENTORAT_K_ANONYMITY",
                        "must be a whole number of people, 5 or more (R13: never below 5)",
                    ));
                }
            },
        };
        let idempotency_lease_seconds = match var("MENTORAT_IDEMPOTENCY_LEASE_SECONDS") {
            None => mentorat_api::idempotency::LEASE_SECONDS,
            Some(v) => match v.trim().parse::<i64>() {
                Ok(s) if (1..=3600).contains(&s) => s,
                _ => {
                    return Err(error(
                        "MENTORAT_IDEMPOTENCY_LEASE_SECONDS",
                        "must be a whole number of seconds from 1 to 3600",
                    ));
                }
            },
        };
        let body_timeout = match var("MENTORAT_BODY_TIMEOUT") {
            None => mentorat_api::body_timeout::DEFAULT_BODY_TIMEOUT,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(seconds @ 1..=3600) => Duration::from_secs(seconds),
                _ => {
                    return Err(error(
                        "MENTORAT_BODY_TIMEOUT",
                        "must be a whole number of seconds from 1 to 3600",
                    ));
                }
            },
        };
        let shutdown_grace = match var("MENTORAT_SHUTDOWN_GRACE") {
            None => Duration::from_secs(30),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(seconds @ 1..=3600) => Duration::from_secs(seconds),
                _ => {
                    return Err(error(
                        "MENTORAT_SHUTDOWN_GRACE",
                        "must be a whole number of seconds from 1 to 3600",
                    ));
                }
            },
        };
        let retention_days = match var("MENTORAT_RETENTION_DAYS") {
            None => mentorat_api::retention::DEFAULT_DAYS,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(days @ 1..=36_500) => days,
                _ => {
                    return Err(error(
                        "MENTORAT_RETENTION_DAYS",
                        "must be a whole number of days from 1 to 36500",
                    ));
                }
            },
        };
        let window = |name: &'static str, default: chrono::Duration| match var(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(s @ 1..=31_536_000) => Ok(chrono::Duration::seconds(s)),
                _ => Err(error(
                    name,
                    "must be a whole number of seconds from 1 to 31536000",
                )),
            },
        };
        let defaults = mentorat_domain::webhook::Windows::default();
        let webhook_windows = mentorat_domain::webhook::Windows {
            give_up_after: window("MENTORAT_WEBHOOK_GIVE_UP_SECONDS", defaults.give_up_after)?,
            disable_after: window("MENTORAT_WEBHOOK_DISABLE_SECONDS", defaults.disable_after)?,
        };
        let retention_every = match var("MENTORAT_RETENTION_EVERY_SECONDS") {
            None => Duration::from_secs(3600),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(s @ 1..=86_400) => Duration::from_secs(s),
                _ => {
                    return Err(error(
                        "MENTORAT_RETENTION_EVERY_SECONDS",
                        "must be a whole number of seconds from 1 to 86400",
                    ));
                }
            },
        };
        let reminder_every = match var("MENTORAT_REMINDER_EVERY_SECONDS") {
            None => Duration::from_secs(mentorat_api::reminders::DEFAULT_EVERY_SECONDS),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(s @ 1..=3600) => Duration::from_secs(s),
                _ => {
                    return Err(error(
                        "MENTORAT_REMINDER_EVERY_SECONDS",
                        "must be a whole number of seconds from 1 to 3600",
                    ));
                }
            },
        };
        let deactivation_refresh = match var("MENTORAT_DEACTIVATION_REFRESH_MS") {
            None => mentorat_api::leavers::DEFAULT_REFRESH,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(ms @ 50..=60_000) => Duration::from_millis(ms),
                _ => {
                    return Err(error(
                        "MENTORAT_DEACTIVATION_REFRESH_MS",
                        "must be a whole number of milliseconds from 50 to 60000",
                    ));
                }
            },
        };
        let webhook_policy = match var("MENTORAT_WEBHOOK_ALLOWED_NETWORKS") {
            None => TargetPolicy::public_only(),
            Some(v) => TargetPolicy::parse(&v).map_err(|e| {
                error(
                    "MENTORAT_WEBHOOK_ALLOWED_NETWORKS",
                    format!("{e}; list networks comma-separated, e.g. 10.20.0.0/16,fd00::/8"),
                )
            })?,
        };
        let public_url = match var("MENTORAT_PUBLIC_URL") {
            None => None,
            Some(v) => Some(PublicUrl::parse(&v).map_err(|why| error("MENTORAT_PUBLIC_URL", why))?),
        };
        let rate_limit = RateLimit::parse(
            var("MENTORAT_RATE_LIMIT")
                .as_deref()
                .unwrap_or(mentorat_api::rate_limit::DEFAULT_SETTING),
        )
        .map_err(|why| error("MENTORAT_RATE_LIMIT", why))?;
        let trusted_proxies = match var("MENTORAT_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::parse::<mentorat_domain::network::Network>)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    error(
                        "MENTORAT_TRUSTED_PROXIES",
                        format!("{e}; list the load balancers' networks comma-separated, e.g. 10.0.0.5/32,fd00::/64"),
                    )
                })?,
        };
        let log_format = match var("MENTORAT_LOG_FORMAT").as_deref() {
            None => None,
            Some("json") => Some(LogFormat::Json),
            Some("pretty") => Some(LogFormat::Pretty),
            Some(_) => return Err(error("MENTORAT_LOG_FORMAT", "must be `json` or `pretty`")),
        };
        let otlp = otlp(&var)?;
        let log_filter = var("MENTORAT_LOG").unwrap_or_else(|| "info".into());
        if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
            return Err(error(
                "MENTORAT_LOG",
                "must be a log filter such as `info` or `mentorat=debug,info`",
            ));
        }
        Ok(Self {
            database_url,
            bind,
            jwt_secret,
            jwt_keys,
            jwt_jwks_url,
            jwt_jwks_refetch,
            jwt_oidc_discovery,
            jwt_jwks_refresh,
            jwt_issuer: var("MENTORAT_JWT_ISSUER").unwrap_or_else(|| "mentorat".into()),
            jwt_audience: var("MENTORAT_JWT_AUDIENCE").unwrap_or_else(|| "mentorat-api".into()),
            jwt_subject_claim: var("MENTORAT_JWT_SUBJECT_CLAIM").unwrap_or_else(|| "sub".into()),
            encryption_key: encryption_key.map(SecretString::from),
            cors_origins,
            k_anonymity,
            idempotency_lease_seconds,
            body_timeout,
            deactivation_refresh,
            retention_days,
            retention_every,
            reminder_every,
            shutdown_grace,
            webhook_policy,
            webhook_windows,
            public_url,
            rate_limit,
            trusted_proxies,
            log_filter,
            otlp,
            log_format,
        })
    }

    /// The SQLite file of an embedded deployment, if this is one — the file SQLite opens:
    /// after `sqlite:` exactly one `//` goes (`sqlite://rel.db` is relative,
    /// `sqlite:///abs.db` and `sqlite:////abs.db` are absolute).
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let rest = self.database_url.strip_prefix("sqlite:")?;
        let path = rest.strip_prefix("//").unwrap_or(rest);
        let path = path.split('?').next().unwrap_or_default();
        (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
    }
}

/// A JWKS endpoint: an absolute https URL, or http to a loopback address (a sidecar, tests).
fn jwks_url(value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value)
        .map_err(|_| "must be an absolute URL such as https://login.example.org/keys".to_owned())?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err("must use https (http only to a loopback address)".to_owned()),
        _ => Err("must be an https URL such as https://login.example.org/keys".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_are_those_of_api_md() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, "sqlite://mentorat.db");
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.jwt_issuer, "mentorat");
        assert_eq!(c.jwt_audience, "mentorat-api");
        assert_eq!(c.jwt_subject_claim, "sub");
        assert_eq!(c.log_filter, "info");
        assert!(c.cors_origins.is_empty());
        assert_eq!(c.k_anonymity, 5);
        assert_eq!(c.body_timeout, Duration::from_secs(10));
        assert_eq!(c.retention_days, 365);
        assert_eq!(c.retention_every, Duration::from_secs(3600));
        assert_eq!(c.reminder_every, Duration::from_secs(60));
        assert_eq!(c.webhook_windows.give_up_after, chrono::Duration::days(3));
        assert_eq!(c.webhook_windows.disable_after, chrono::Duration::days(5));
        let short = config(&[
            ("MENTORAT_WEBHOOK_GIVE_UP_SECONDS", "2"),
            ("MENTORAT_WEBHOOK_DISABLE_SECONDS", "4"),
        ])
        .unwrap()
        .webhook_windows;
        assert_eq!(short.give_up_after, chrono::Duration::seconds(2));
        assert_eq!(short.disable_after, chrono::Duration::seconds(4));
        for bad in ["0", "-5", "soon", "31536001"] {
            assert!(config(&[("MENTORAT_WEBHOOK_GIVE_UP_SECONDS", bad)]).is_err());
            assert!(config(&[("MENTORAT_WEBHOOK_DISABLE_SECONDS", bad)]).is_err());
        }
        assert_eq!(
            config(&[("MENTORAT_RETENTION_DAYS", "30")])
                .unwrap()
                .retention_days,
            30
        );
        assert_eq!(
            config(&[("MENTORAT_K_ANONYMITY", "8")])
                .unwrap()
                .k_anonymity,
            8
        );
        assert_eq!(c.sqlite_file(), Some(PathBuf::from("mentorat.db")));
        assert_eq!(c.public_url, None);
        let limit = c.rate_limit.unwrap();
        assert_eq!(
            (limit.requests.get(), limit.window),
            (6000, Duration::from_secs(60))
        );
        assert_eq!(
            config(&[("MENTORAT_RATE_LIMIT", "0")]).unwrap().rate_limit,
            None
        );
        assert_eq!(
            config(&[("MENTORAT_PUBLIC_URL", "https://mentorat.chu.example/")])
                .unwrap()
                .public_url
                .unwrap()
                .as_str(),
            "https://mentorat.chu.example"
        );
    }

    #[test]
    fn each_malformed_value_names_its_variable() {
        let cases: [(&str, &str); 36] = [
            ("MENTORAT_REMINDER_EVERY_SECONDS", "0"),
            ("MENTORAT_REMINDER_EVERY_SECONDS", "3601"),
            ("MENTORAT_REMINDER_EVERY_SECONDS", "a minute"),
            ("MENTORAT_RETENTION_DAYS", "0"),
            ("MENTORAT_RETENTION_DAYS", "a year"),
            ("MENTORAT_RETENTION_DAYS", "36501"),
            ("MENTORAT_RETENTION_EVERY_SECONDS", "0"),
            ("MENTORAT_TRUSTED_PROXIES", "10.0.0.5"),
            ("MENTORAT_RATE_LIMIT", "fast"),
            ("MENTORAT_RATE_LIMIT", "100/s,burst=0"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "ftp://collector/v1/traces",
            ),
            ("OTEL_TRACES_EXPORTER", "jaeger"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("MENTORAT_JWT_JWKS_URL", "login.example.org/keys"),
            ("MENTORAT_JWT_JWKS_URL", "http://login.example.org/keys"),
            ("MENTORAT_JWT_JWKS_REFETCH_MS", "10"),
            ("MENTORAT_JWT_JWKS_REFETCH_MS", "1m"),
            ("MENTORAT_DATABASE_URL", "mysql://x"),
            ("MENTORAT_BIND", "localhost"),
            ("MENTORAT_JWT_SECRET", "short"),
            ("MENTORAT_JWT_KEYS", "/nonexistent/keys.json"),
            ("MENTORAT_ENCRYPTION_KEY", "bm90IDMyIGJ5dGVz"),
            ("MENTORAT_CORS_ORIGINS", "https://a.example/,*"),
            ("MENTORAT_LOG_FORMAT", "xml"),
            ("MENTORAT_LOG", "info,[["),
            ("MENTORAT_K_ANONYMITY", "4"),
            ("MENTORAT_K_ANONYMITY", "five"),
            ("MENTORAT_BODY_TIMEOUT", "0"),
            ("MENTORAT_BODY_TIMEOUT", "10s"),
            ("MENTORAT_WEBHOOK_ALLOWED_NETWORKS", "10.0.0.0"),
            ("MENTORAT_WEBHOOK_ALLOWED_NETWORKS", "10.0.0.0/8,localhost"),
            ("MENTORAT_WEBHOOK_ALLOWED_NETWORKS", "10.1.2.3/8"),
            ("MENTORAT_PUBLIC_URL", "mentorat.example.org"),
            ("MENTORAT_PUBLIC_URL", "javascript://attacker.example"),
            ("MENTORAT_PUBLIC_URL", "https://mentorat.example.org/?x=1"),
        ];
        for (variable, value) in cases {
            let err = config(&[(variable, value)]).unwrap_err();
            assert_eq!(err.variable, variable, "{value}");
            assert!(err.to_string().starts_with(variable));
        }
    }

    #[test]
    fn a_jwks_url_is_https_or_loopback_http() {
        let c = config(&[(
            "MENTORAT_JWT_JWKS_URL",
            "https://login.microsoftonline.com/common/discovery/v2.0/keys",
        )])
        .unwrap();
        assert_eq!(
            c.jwt_jwks_url.unwrap().host_str(),
            Some("login.microsoftonline.com")
        );
        assert_eq!(c.jwt_jwks_refetch, Duration::from_secs(60));
        let local = config(&[
            ("MENTORAT_JWT_JWKS_URL", "http://127.0.0.1:8081/jwks"),
            ("MENTORAT_JWT_JWKS_REFETCH_MS", "250"),
        ])
        .unwrap();
        assert!(local.jwt_jwks_url.is_some());
        assert_eq!(local.jwt_jwks_refetch, Duration::from_millis(250));
    }

    #[test]
    fn traces_are_exported_only_when_the_otel_variables_say_so() {
        assert_eq!(config(&[]).unwrap().otlp, None);
        let base = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]).unwrap();
        assert_eq!(
            base.otlp.unwrap().traces_endpoint,
            "http://collector:4318/v1/traces"
        );
        let signal = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "https://traces.example/custom",
            ),
            ("OTEL_SERVICE_NAME", "mentorat-eu"),
        ])
        .unwrap()
        .otlp
        .unwrap();
        assert_eq!(signal.traces_endpoint, "https://traces.example/custom");
        assert!(signal.service_name_set);
        for off in [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ] {
            let c = config(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                off,
            ]);
            assert_eq!(c.unwrap().otlp, None, "{off:?}");
        }
    }

    #[test]
    fn cors_origins_are_a_comma_separated_list() {
        let c = config(&[(
            "MENTORAT_CORS_ORIGINS",
            "https://app.example.org, http://localhost:3000",
        )])
        .unwrap();
        assert_eq!(
            c.cors_origins,
            ["https://app.example.org", "http://localhost:3000"]
        );
    }

    #[test]
    fn webhooks_reach_public_addresses_and_the_networks_listed() {
        assert_eq!(
            config(&[]).unwrap().webhook_policy,
            TargetPolicy::public_only()
        );
        let c = config(&[(
            "MENTORAT_WEBHOOK_ALLOWED_NETWORKS",
            "10.20.0.0/16, fd00::/8",
        )])
        .unwrap();
        assert_eq!(c.webhook_policy.allowed().len(), 2);
    }

    #[test]
    fn the_sqlite_file_keeps_an_absolute_path_absolute() {
        let file = |url: &str| {
            config(&[("MENTORAT_DATABASE_URL", url)])
                .unwrap()
                .sqlite_file()
        };
        assert_eq!(file("sqlite://rel.db"), Some(PathBuf::from("rel.db")));
        assert_eq!(file("sqlite:rel.db"), Some(PathBuf::from("rel.db")));
        assert_eq!(file("sqlite:///srv/m.db"), Some(PathBuf::from("/srv/m.db")));
        let four = file("sqlite:////srv/m.db?mode=rwc").unwrap();
        assert!(four.is_absolute(), "{}", four.display());
        assert_eq!(four, PathBuf::from("//srv/m.db"));
        assert_eq!(file("sqlite::memory:"), None);
    }

    #[test]
    fn postgres_has_no_sqlite_file() {
        let c = config(&[("MENTORAT_DATABASE_URL", "postgres://u@h/db")]).unwrap();
        assert_eq!(c.sqlite_file(), None);
    }
}
