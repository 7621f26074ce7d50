//! Public keys from an identity provider's JWKS endpoint (`MENTORAT_JWT_JWKS_URL`): Entra ID,
//! Okta and Keycloak publish their signing keys there and rotate them.
//!
//! The set is fetched at start, kept in memory, and fetched again when a token names a `kid`
//! it does not hold — at most once per interval (a minute by default), however many such
//! tokens arrive, so a flood of invented `kid`s cannot turn the service into a client that
//! hammers the provider. A failed fetch keeps the keys already known. Until a first fetch
//! succeeds, tokens signed by the provider are answered `401` (never `500`); the next token
//! with an unknown `kid` tries again, within the same interval limit.
//!
//! Two more ways a deployment keeps up with its provider:
//!
//! * OpenID Connect Discovery (`MENTORAT_JWT_OIDC_DISCOVERY=true`): the JWKS address is not
//!   configured but read from `{MENTORAT_JWT_ISSUER}/.well-known/openid-configuration`
//!   (`jwks_uri`), whose `issuer` must be the configured issuer, before each fetch of the keys
//!   — a provider that moves its keys is followed.
//! * A refresh on a timer ([`RemoteKeys::spawn_refresh`], `MENTORAT_JWT_JWKS_REFRESH_MS`, an
//!   hour by default): a key the provider withdrew (compromised, retired) stops being trusted
//!   within that time even if no token ever names a new `kid`.

use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use crate::auth::KeySet;

/// The longest a fetch may take (connect, answer and body).
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest JWKS document accepted (Entra ID's is about 10 kB).
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// The default shortest time between two fetches.
pub const DEFAULT_MIN_REFETCH: Duration = Duration::from_secs(60);
/// The default time between two fetches on the timer.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(3600);

/// Why a fetch failed (logged; never shown to a caller).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot reach the JWKS endpoint: {0}")]
    Unreachable(String),
    #[error("the JWKS endpoint answered {0}")]
    Status(u16),
    #[error("the JWKS document is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    #[error("the JWKS document holds no usable key: {0}")]
    Unusable(String),
    #[error("OpenID Connect discovery at {url} failed: {why}")]
    Discovery { url: String, why: String },
}

/// Where the keys are found.
enum Source {
    /// A configured JWKS address.
    Jwks(url::Url),
    /// The provider's discovery document names the JWKS address (`jwks_uri`).
    Discovery { issuer: String, document: url::Url },
}

impl Source {
    fn describe(&self) -> &str {
        match self {
            Source::Jwks(url) => url.as_str(),
            Source::Discovery { document, .. } => document.as_str(),
        }
    }
}

/// An address keys may be fetched from: https, or http to a loopback address (a sidecar,
/// tests) — the rule of `MENTORAT_JWT_JWKS_URL`, also applied to a discovered `jwks_uri`.
pub fn acceptable_url(url: &url::Url) -> bool {
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => loopback,
        _ => false,
    }
}

/// The discovery document of an issuer (OpenID Connect Discovery 1.0, section 4): the issuer
/// without its trailing `/`, then `/.well-known/openid-configuration`.
pub fn discovery_url(issuer: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(&format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))
    .map_err(|_| {
        "the issuer is not an absolute URL such as https://login.example.org/tenant".to_owned()
    })?;
    if !acceptable_url(&url) || url.query().is_some() || url.fragment().is_some() {
        return Err(
            "the issuer must be an https URL (http only to a loopback address), without query or fragment"
                .to_owned(),
        );
    }
    Ok(url)
}

/// The keys of one JWKS endpoint, shared by every worker of a replica.
pub struct RemoteKeys {
    source: Source,
    client: reqwest::Client,
    min_refetch: Duration,
    keys: RwLock<Arc<KeySet>>,
    /// When the last fetch began; held while fetching, so that concurrent callers wait for
    /// the one fetch instead of starting their own.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl RemoteKeys {
    pub fn new(url: url::Url, min_refetch: Duration) -> Result<Self, reqwest::Error> {
        Self::from_source(Source::Jwks(url), min_refetch)
    }

    /// The keys of the issuer's provider, found by OpenID Connect Discovery.
    pub fn discover(issuer: &str, min_refetch: Duration) -> Result<Self, String> {
        let document = discovery_url(issuer)?;
        Self::from_source(
            Source::Discovery {
                issuer: issuer.to_owned(),
                document,
            },
            min_refetch,
        )
        .map_err(|e| e.to_string())
    }

    fn from_source(source: Source, min_refetch: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            // A fetch a minute at most, from whichever worker met the unknown `kid`: a pooled
            // connection would belong to the runtime of the worker that opened it.
            .pool_max_idle_per_host(0)
            .build()?;
        Ok(Self {
            source,
            client,
            min_refetch,
            keys: RwLock::new(Arc::new(KeySet::default())),
            last_fetch: tokio::sync::Mutex::new(None),
        })
    }

    /// The keys known now.
    pub fn current(&self) -> Arc<KeySet> {
        match self.keys.read() {
            Ok(keys) => keys.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Whether a fetch has ever succeeded.
    pub fn has_keys(&self) -> bool {
        !self.current().is_empty()
    }

    /// Fetch now (at start): the number of keys, or why not.
    pub async fn fetch_now(&self) -> Result<usize, FetchError> {
        let mut last = self.last_fetch.lock().await;
        *last = Some(Instant::now());
        self.fetch_and_store().await
    }

    /// Fetch again unless the last fetch began less than the interval ago; says whether a
    /// fetch was made. Callers that arrive during a fetch wait for it, then find it recent.
    pub async fn refetch_if_due(&self) -> bool {
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < self.min_refetch) {
            return false;
        }
        *last = Some(Instant::now());
        if let Err(e) = self.fetch_and_store().await {
            tracing::warn!(error = %e, url = %self.source.describe(), "JWKS refetch failed; the keys known are kept");
        }
        true
    }

    /// Fetch again now, whatever the interval (the timer of [`RemoteKeys::spawn_refresh`]);
    /// a failure keeps the keys known.
    pub async fn refresh(&self) -> Result<usize, FetchError> {
        let mut last = self.last_fetch.lock().await;
        *last = Some(Instant::now());
        let fetched = self.fetch_and_store().await;
        if let Err(e) = &fetched {
            tracing::warn!(error = %e, url = %self.source.describe(), "JWKS refresh failed; the keys known are kept");
        }
        fetched
    }

    /// Refresh the keys every `every`, in the background, for as long as the keys are in use
    /// (the task holds them weakly and ends once they are dropped).
    pub fn spawn_refresh(self: &Arc<Self>, every: Duration) {
        let keys = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(keys) = keys.upgrade() else {
                    return;
                };
                let _ = keys.refresh().await;
            }
        });
    }

    async fn fetch_and_store(&self) -> Result<usize, FetchError> {
        let set = self.fetch().await?;
        let count = set.len();
        match self.keys.write() {
            Ok(mut keys) => *keys = Arc::new(set),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(set),
        }
        tracing::info!(keys = count, url = %self.source.describe(), "JWKS fetched");
        Ok(count)
    }

    /// The JWKS address: the configured one, or the one the discovery document names now.
    async fn jwks_url(&self) -> Result<url::Url, FetchError> {
        let (issuer, document) = match &self.source {
            Source::Jwks(url) => return Ok(url.clone()),
            Source::Discovery { issuer, document } => (issuer, document),
        };
        let failed = |why: String| FetchError::Discovery {
            url: document.to_string(),
            why,
        };
        let text = self
            .get_text(document)
            .await
            .map_err(|e| failed(e.to_string()))?;
        #[derive(serde::Deserialize)]
        struct Discovered {
            issuer: String,
            jwks_uri: String,
        }
        let found: Discovered = serde_json::from_str(&text)
            .map_err(|e| failed(format!("not a discovery document: {e}")))?;
        // OpenID Connect Discovery 1.0, 4.3: the issuer must be exactly the one asked for.
        if found.issuer != *issuer {
            return Err(failed(format!(
                "the document is the issuer {:?}'s, not {issuer:?}'s",
                found.issuer
            )));
        }
        let url = url::Url::parse(&found.jwks_uri)
            .ok()
            .filter(acceptable_url)
            .ok_or_else(|| {
                failed(format!(
                    "jwks_uri {:?} is not an https URL (http only to a loopback address)",
                    found.jwks_uri
                ))
            })?;
        Ok(url)
    }

    async fn fetch(&self) -> Result<KeySet, FetchError> {
        let url = self.jwks_url().await?;
        let text = self.get_text(&url).await?;
        KeySet::parse_published(&text).map_err(|e| FetchError::Unusable(e.to_string()))
    }

    /// GET a JSON document of at most [`MAX_DOCUMENT_BYTES`], as text.
    async fn get_text(&self, url: &url::Url) -> Result<String, FetchError> {
        let mut response = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| FetchError::Unreachable(crate::problem::error_chain(&e)))?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| FetchError::Unreachable(crate::problem::error_chain(&e)))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| FetchError::Unusable("not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_discovery_document_is_under_the_issuer() {
        assert_eq!(
            discovery_url("https://login.example.org/tenant/v2.0/")
                .unwrap()
                .as_str(),
            "https://login.example.org/tenant/v2.0/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("http://127.0.0.1:8080/realms/hr")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8080/realms/hr/.well-known/openid-configuration"
        );
        for bad in [
            "mentorat",
            "http://login.example.org",
            "ftp://x.example",
            "https://x.example/?a=1",
        ] {
            assert!(discovery_url(bad).is_err(), "{bad}");
        }
    }
}
