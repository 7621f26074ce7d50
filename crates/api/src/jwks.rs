//! Public keys from an identity provider's JWKS endpoint (`MENTORAT_JWT_JWKS_URL`): Entra ID,
//! Okta and Keycloak publish their signing keys there and rotate them.
//!
//! The set is fetched at start, kept in memory, and fetched again when a token names a `kid`
//! it does not hold — at most once per interval (a minute by default), however many such
//! tokens arrive, so a flood of invented `kid`s cannot turn the service into a client that
//! hammers the provider. A failed fetch keeps the keys already known. Until a first fetch
//! succeeds, tokens signed by the provider are answered `401` (never `500`); the next token
//! with an unknown `kid` tries again, within the same interval limit.

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
}

/// The keys of one JWKS endpoint, shared by every worker of a replica.
pub struct RemoteKeys {
    url: url::Url,
    client: reqwest::Client,
    min_refetch: Duration,
    keys: RwLock<Arc<KeySet>>,
    /// When the last fetch began; held while fetching, so that concurrent callers wait for
    /// the one fetch instead of starting their own.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl RemoteKeys {
    pub fn new(url: url::Url, min_refetch: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            // A fetch a minute at most, from whichever worker met the unknown `kid`: a pooled
            // connection would belong to the runtime of the worker that opened it.
            .pool_max_idle_per_host(0)
            .build()?;
        Ok(Self {
            url,
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
            tracing::warn!(error = %e, url = %self.url, "JWKS refetch failed; the keys known are kept");
        }
        true
    }

    async fn fetch_and_store(&self) -> Result<usize, FetchError> {
        let set = self.fetch().await?;
        let count = set.len();
        match self.keys.write() {
            Ok(mut keys) => *keys = Arc::new(set),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(set),
        }
        tracing::info!(keys = count, url = %self.url, "JWKS fetched");
        Ok(count)
    }

    async fn fetch(&self) -> Result<KeySet, FetchError> {
        let mut response = self
            .client
            .get(self.url.clone())
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
        let text = String::from_utf8(body).map_err(|_| FetchError::Unusable("not UTF-8".into()))?;
        KeySet::parse_published(&text).map_err(|e| FetchError::Unusable(e.to_string()))
    }
}
