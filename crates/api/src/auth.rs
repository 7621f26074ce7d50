//! Bearer JWT authentication (API.md "Auth") and the per-operation authorization extractor.
//!
//! Keys: an HS256 shared secret and/or public keys (RS256, ES256, EdDSA) from a JWKS or PEM
//! file and/or from an identity provider's JWKS endpoint (`crate::jwks`, refetched when a
//! `kid` is unknown), chosen by the token's `kid`. A token is verified only with a key of the algorithm its
//! header names, and a key only verifies its own algorithm — so `alg: none` and algorithm
//! confusion (an RS256 public key used as an HS256 secret) are refused by construction.

use std::{marker::PhantomData, sync::Arc};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{
    Algorithm, DecodingKey, Validation, decode, decode_header,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm},
};
use mentorat_domain::{Caller, ExternalId, Operation, Role, RoleSet, Scope, authorize};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::{jwks::RemoteKeys, problem::ApiError};

/// How long after `exp` (and before `nbf`) a token is still accepted, for clock skew.
const LEEWAY_SECONDS: u64 = 30;

/// A public key the service trusts.
#[derive(Clone)]
struct TrustedKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// Errors reading the key material at start-up.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the file holds neither a JWKS document nor a PEM public key")]
    Unrecognised,
    #[error("key {index} of the JWKS: {reason}")]
    BadJwk { index: usize, reason: String },
    #[error("PEM block {index}: {reason}")]
    BadPem { index: usize, reason: String },
    #[error("the file holds no usable key")]
    Empty,
}

/// Public keys from a JWKS document or from PEM text.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: Vec<TrustedKey>,
}

impl KeySet {
    /// Parse a JWKS (`{"keys": [...]}`) or one or more PEM `PUBLIC KEY` blocks. PEM keys
    /// carry no `kid`; they verify tokens whose `kid` names no JWKS key.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let trimmed = text.trim_start();
        let keys = if trimmed.starts_with('{') {
            let set: JwkSet = serde_json::from_str(trimmed).map_err(|_| KeyError::Unrecognised)?;
            set.keys
                .iter()
                .enumerate()
                .map(|(index, jwk)| {
                    trusted_from_jwk(jwk).map_err(|reason| KeyError::BadJwk { index, reason })
                })
                .collect::<Result<Vec<_>, _>>()?
        } else if trimmed.starts_with("-----BEGIN") {
            pem_blocks(trimmed)
                .into_iter()
                .enumerate()
                .map(|(index, block)| {
                    trusted_from_pem(block).map_err(|reason| KeyError::BadPem { index, reason })
                })
                .collect::<Result<Vec<_>, _>>()?
        } else {
            return Err(KeyError::Unrecognised);
        };
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Self { keys })
    }

    /// Parse the JWKS an identity provider publishes: keys this service cannot verify with
    /// (encryption keys, `use: "enc"`, as Keycloak lists; other algorithms) are skipped, not
    /// fatal — the provider's set is not ours to trim. At least one key must be usable.
    pub fn parse_published(text: &str) -> Result<Self, KeyError> {
        let document: Value = serde_json::from_str(text).map_err(|_| KeyError::Unrecognised)?;
        let entries = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(KeyError::Unrecognised)?;
        let keys: Vec<TrustedKey> = entries
            .iter()
            .filter(|entry| entry.get("use").and_then(Value::as_str) != Some("enc"))
            .filter_map(|entry| serde_json::from_value::<Jwk>(entry.clone()).ok())
            .filter_map(|jwk| trusted_from_jwk(&jwk).ok())
            .collect();
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Self { keys })
    }

    fn holds_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn trusted_from_jwk(jwk: &Jwk) -> Result<TrustedKey, String> {
    let inferred = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        _ => return Err("only RSA, EC P-256 and Ed25519 public keys are supported".into()),
    };
    let algorithm = match jwk.common.key_algorithm {
        None => inferred,
        Some(KeyAlgorithm::RS256) => Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => Algorithm::ES256,
        Some(KeyAlgorithm::EdDSA) => Algorithm::EdDSA,
        Some(other) => return Err(format!("algorithm {other:?} is not supported")),
    };
    if algorithm != inferred {
        return Err(format!("`alg` {algorithm:?} does not fit the key type"));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    Ok(TrustedKey {
        kid: jwk.common.key_id.clone(),
        algorithm,
        key,
    })
}

/// The `-----BEGIN …-----` … `-----END …-----` blocks of a PEM text, in order.
fn pem_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let Some(end_marker) = block.find("-----END ") else {
            break;
        };
        let after_marker = end_marker + "-----END ".len();
        let close = block[after_marker..]
            .find("-----")
            .map_or(block.len(), |i| after_marker + i + "-----".len());
        blocks.push(&block[..close]);
        rest = &block[close..];
    }
    blocks
}

type PemParser = fn(&[u8]) -> jsonwebtoken::errors::Result<DecodingKey>;

fn trusted_from_pem(block: &str) -> Result<TrustedKey, String> {
    let attempts: [(Algorithm, PemParser); 3] = [
        (Algorithm::RS256, DecodingKey::from_rsa_pem),
        (Algorithm::ES256, DecodingKey::from_ec_pem),
        (Algorithm::EdDSA, DecodingKey::from_ed_pem),
    ];
    for (algorithm, parse) in attempts {
        if let Ok(key) = parse(block.as_bytes()) {
            return Ok(TrustedKey {
                kid: None,
                algorithm,
                key,
            });
        }
    }
    Err("not an RSA, EC P-256 or Ed25519 public key".into())
}

/// Everything needed to turn a bearer token into a [`Caller`].
#[derive(Clone)]
pub struct JwtVerifier {
    secret: Option<DecodingKey>,
    keys: KeySet,
    /// The identity provider's keys (`MENTORAT_JWT_JWKS_URL`), beside the file's.
    remote: Option<Arc<RemoteKeys>>,
    issuer: String,
    audience: String,
    subject_claim: String,
}

impl JwtVerifier {
    pub fn new(
        secret: Option<&SecretString>,
        keys: KeySet,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        subject_claim: impl Into<String>,
    ) -> Self {
        Self {
            secret: secret.map(|s| DecodingKey::from_secret(s.expose_secret().as_bytes())),
            keys,
            remote: None,
            issuer: issuer.into(),
            audience: audience.into(),
            subject_claim: subject_claim.into(),
        }
    }

    /// Also trust the keys an identity provider publishes.
    pub fn with_remote_keys(mut self, remote: Arc<RemoteKeys>) -> Self {
        self.remote = Some(remote);
        self
    }

    /// Verify a token: signature, `exp`, `nbf`, `iss`, `aud`; then read the subject and roles.
    /// A token whose `kid` no key known holds makes the identity provider's set be fetched
    /// again first (at most once per interval, see `jwks`): its keys may have rotated.
    pub async fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        let remote_keys = self.remote.as_ref().map(|r| r.current());
        if let Some(remote) = &self.remote
            && let Ok(header) = decode_header(token)
            && matches!(
                header.alg,
                Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA
            )
            && let Some(kid) = &header.kid
            && !self.keys.holds_kid(kid)
            && !remote_keys.as_ref().is_some_and(|k| k.holds_kid(kid))
        {
            remote.refetch_if_due().await;
            let refreshed = remote.current();
            let verified = self.verify_with(token, Some(&refreshed));
            if verified.is_err() && refreshed.is_empty() {
                return Err(ApiError::Unauthorized(
                    "the identity provider's signing keys could not be fetched yet; retry later"
                        .to_owned(),
                ));
            }
            return verified;
        }
        self.verify_with(token, remote_keys.as_deref())
    }

    fn verify_with(&self, token: &str, remote: Option<&KeySet>) -> Result<Caller, ApiError> {
        let unauthorized = |why: &str| ApiError::Unauthorized(why.to_owned());
        let header = decode_header(token)
            .map_err(|_| unauthorized("the bearer token is not a well-formed JWT"))?;
        let known = || {
            self.keys
                .keys
                .iter()
                .chain(remote.into_iter().flat_map(|r| r.keys.iter()))
        };
        let candidates: Vec<&DecodingKey> = match header.alg {
            Algorithm::HS256 => self.secret.iter().collect(),
            Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA => {
                let by_kid: Vec<&TrustedKey> = match &header.kid {
                    Some(kid) => known()
                        .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
                        .collect(),
                    None => Vec::new(),
                };
                let pool = if by_kid.is_empty() {
                    known().filter(|k| k.kid.is_none()).collect()
                } else {
                    by_kid
                };
                pool.into_iter()
                    .filter(|k| k.algorithm == header.alg)
                    .map(|k| &k.key)
                    .collect()
            }
            _ => Vec::new(),
        };
        if candidates.is_empty() {
            return Err(unauthorized(
                "the token's algorithm or key id matches no key this service trusts",
            ));
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;

        let mut last = None;
        for key in candidates {
            match decode::<Map<String, Value>>(token, key, &validation) {
                Ok(data) => {
                    refuse_unhygienic(token)?;
                    return self.caller_from(&data.claims);
                }
                Err(e) => last = Some(e),
            }
        }
        use jsonwebtoken::errors::ErrorKind;
        let why = match last.as_ref().map(|e| e.kind()) {
            Some(ErrorKind::ExpiredSignature) => "the token has expired",
            Some(ErrorKind::ImmatureSignature) => "the token is not valid yet (nbf)",
            Some(ErrorKind::InvalidIssuer) => "the token's issuer (iss) is not accepted",
            Some(ErrorKind::InvalidAudience) => "the token's audience (aud) is not accepted",
            Some(ErrorKind::MissingRequiredClaim(_)) => {
                "the token lacks a required claim (exp, iss, aud)"
            }
            Some(ErrorKind::InvalidSignature) => "the token's signature does not verify",
            _ => "the token was refused",
        };
        Err(unauthorized(why))
    }

    fn caller_from(&self, claims: &Map<String, Value>) -> Result<Caller, ApiError> {
        let subject = claims
            .get(&self.subject_claim)
            .and_then(Value::as_str)
            .and_then(|s| ExternalId::parse(s).ok())
            .ok_or_else(|| {
                ApiError::Unauthorized(format!(
                    "the token's `{}` claim must hold the person's external id",
                    self.subject_claim
                ))
            })?;
        let roles = match claims.get("roles") {
            None | Some(Value::Null) => RoleSet::empty(),
            // Unknown role names are ignored: an identity provider may carry roles of other
            // applications in the same claim.
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .filter_map(Role::parse)
                .collect(),
            Some(_) => {
                return Err(ApiError::Unauthorized(
                    "the token's `roles` claim must be an array of strings".into(),
                ));
            }
        };
        Ok(Caller::new(subject, roles))
    }
}

/// RFC 8725 / RFC 7515 checks on a token whose signature verified (see `jwt_hygiene`): one
/// `401` for all of them, the reason logged at debug only.
fn refuse_unhygienic(token: &str) -> Result<(), ApiError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let leeway = i64::try_from(LEEWAY_SECONDS).unwrap_or(i64::MAX);
    crate::jwt_hygiene::check(token, now, leeway).map_err(|reason| {
        tracing::debug!(reason, "bearer token refused");
        ApiError::Unauthorized("the token was refused".to_owned())
    })
}

/// The caller of this request's token, verified earlier in the request (by the rate limiter):
/// the same token is not verified twice. Deactivation (R11) is still checked after it.
#[derive(Clone)]
pub struct Verified(pub Caller);

/// The bearer token of a request, if it has one.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The caller a request's bearer token names — refused, whatever the token, once the HRIS
/// has deactivated them (R11): this replica's set of leavers, in memory (`crate::leavers`).
pub async fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    let verifier = req
        .app_data::<web::Data<Arc<JwtVerifier>>>()
        .ok_or_else(|| ApiError::Internal("no JwtVerifier in app data".into()))?;
    let leavers = req
        .app_data::<web::Data<crate::leavers::Leavers>>()
        .ok_or_else(|| ApiError::Internal("no set of leavers in app data".into()))?;
    let token = bearer_token(req)
        .ok_or_else(|| ApiError::Unauthorized("send `Authorization: Bearer <token>`".to_owned()))?;
    let known = actix_web::HttpMessage::extensions(req)
        .get::<Verified>()
        .map(|v| v.0.clone());
    let caller = match known {
        Some(caller) => caller,
        None => verifier.verify(token).await?,
    };
    if leavers.is_stale() {
        // The set has not been read for too long: it may miss a leaver (fail closed).
        return Err(ApiError::Unavailable);
    }
    // The access log and every later line of the request name the caller.
    tracing::Span::current().record("subject", caller.subject.as_str());
    actix_web::HttpMessage::extensions_mut(req).insert(crate::telemetry::CallerSubject(
        caller.subject.as_str().to_owned(),
    ));
    if leavers.is_inactive(&caller.subject) {
        tracing::info!(subject = %caller.subject, "a deactivated person's token refused (R11)");
        return Err(ApiError::Unauthorized(
            "the person this token names has been deactivated".to_owned(),
        ));
    }
    Ok(caller)
}

/// Any authenticated caller.
pub struct Authenticated(pub Caller);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await.map(Authenticated) })
    }
}

/// An operation of the API, declared by a marker type so a handler's signature says which
/// operation it performs: `caller: Authorized<op::CreateProgram>`.
pub trait Op {
    const OPERATION: Operation;
}

/// An authenticated caller whom the access policy allows to perform `O`, over `scope`.
pub struct Authorized<O: Op> {
    pub caller: Caller,
    pub scope: Scope,
    _op: PhantomData<O>,
}

impl<O: Op> FromRequest for Authorized<O> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let caller = authenticate(&req).await?;
            // What the audit log records once the answer is known.
            actix_web::HttpMessage::extensions_mut(&req).insert(crate::audit::Audited {
                operation: O::OPERATION,
                caller: caller.clone(),
            });
            let scope = authorize(&caller, O::OPERATION).map_err(|denied| {
                tracing::info!(operation = ?O::OPERATION, subject = %caller.subject, "access denied");
                ApiError::from(denied)
            })?;
            Ok(Authorized {
                caller,
                scope,
                _op: PhantomData,
            })
        })
    }
}

/// Marker types of the operations, one per `Operation` of the domain's policy.
pub mod op {
    use super::{Op, Operation};

    macro_rules! operations {
        ($($name:ident),* $(,)?) => {$(
            pub struct $name;
            impl Op for $name {
                const OPERATION: Operation = Operation::$name;
            }
        )*};
    }

    operations!(
        CreateProgram,
        ListPrograms,
        ReadProgram,
        UpdateProgram,
        UpsertPerson,
        ImportPeople,
        ListPeople,
        ReadPerson,
        AddCharterVersion,
        ReadCurrentCharter,
        Enroll,
        ListEnrollments,
        ReadEnrollment,
        AcceptCharter,
        SuggestMentors,
        RunMatching,
        ApplyMatchingRun,
        ProposePair,
        ListPairs,
        ReadPair,
        AcceptPair,
        EndPair,
        ListObjectives,
        ProposeObjective,
        ReadObjective,
        UpdateObjective,
        AgreeObjective,
        ListObjectiveRevisions,
        ListMeetings,
        ScheduleMeeting,
        ReadMeeting,
        UpdateMeeting,
        CancelMeeting,
        CloseMeeting,
        ManageCalendarFeed,
        ListNotes,
        WriteNote,
        ReadNote,
        UpdateNote,
        DeleteNote,
        RaiseConcern,
        ListConcerns,
        ReadConcern,
        UpdateConcern,
        ListOwnConcerns,
        UpdateEnrollment,
        WithdrawEnrollment,
        ListAuditEvents,
        GiveFeedback,
        ListFeedback,
        ReadPairHealth,
        ReadReport,
        ReadMe,
        ExportMe,
        ManageWebhooks,
        ProvisionUsers,
        ErasePerson,
        RequestMentor,
        ListRequests,
        ReadRequest,
        AnswerRequest,
        WithdrawRequest,
    );
}
