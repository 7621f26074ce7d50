//! `Idempotency-Key` on `POST` (API.md conventions): a retry with the same key and body
//! replays the first answer (with `Idempotency-Replayed: true`); the same key with another
//! body is `409 idempotency_key_reused`; a retry while the first is still running is
//! `409 idempotency_request_in_progress`. Keys are scoped to the token's subject, kept in the
//! database (so every replica sees them) for 24 hours.
//!
//! Exactly once: the key is claimed first (one statement, seen at once by every replica),
//! then the work runs in the request's unit of work (`crate::unit`) and the answer is stored
//! in that same transaction — both commit or neither does. A request that fails, or whose
//! commit fails, frees its claim; a request that died (a killed process, a dropped
//! connection) leaves a claim whose lease runs out after [`LEASE_SECONDS`], and the next
//! retry takes it over. A `COMMIT` whose reply was lost leaves the stored answer, which the
//! retry replays.
//!
//! A replay never returns words deleted since: a stored answer names the resource it
//! carries ([`resource_of`]), and a `PATCH` or `DELETE` of that resource destroys its body
//! ([`forget_answers_about`], in the write's unit); an answer marked [`NotKept`] (a secret
//! kept nowhere else) is stored without its body. Either way a retry is `409
//! idempotency_key_reused`: done once, not replayed, not done again.

use actix_web::{
    HttpMessage, HttpResponse,
    body::{BoxBody, to_bytes},
    dev::{ServiceRequest, ServiceResponse},
    http::{Method, StatusCode, header},
    web,
};
use bytes::Bytes;
use chrono::{Duration, Utc};
use mentorat_domain::ErrorCode;
use mentorat_persistence::{
    Aad, ConnectionTrait, Db,
    idempotency::{self, Claim, Reservation, StoredResponse},
};
use sha2::{Digest, Sha256};

use crate::{audit, json::IMPORT_BODY_LIMIT, problem::ApiError};

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotency-replayed";

/// How long an answer is kept for replay.
pub const RETENTION_HOURS: i64 = 24;

/// How long a claim without an answer holds its key: after that its request is taken for
/// dead and a retry runs. Longer than any request runs (the body timeout and the pool's
/// acquire timeout bound them well below it).
pub const LEASE_SECONDS: i64 = 30;

/// The lease this server gives a claim, in seconds (`MENTORAT_IDEMPOTENCY_LEASE_SECONDS`).
#[derive(Debug, Clone, Copy)]
pub struct Lease(pub i64);

/// Headers of the first answer that a replay repeats.
const REPLAYED_HEADERS: [header::HeaderName; 3] =
    [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

/// What a write found before its work.
pub enum Prepared {
    /// Not a keyed `POST`, or nobody to scope the key to (the handler answers 401).
    Plain(ServiceRequest),
    /// Answered without the work: a replay, a conflict, a bad key.
    Answered(ServiceResponse<BoxBody>),
    /// The key is claimed for this request: serve it, then [`store`] its answer with the
    /// claim in the request's unit of work, or [`release`] it.
    Claimed(ServiceRequest, Claim),
}

/// Claim the request's key, if it has one.
pub async fn prepare(mut req: ServiceRequest, db: &Db) -> Prepared {
    if req.method() != Method::POST || !req.headers().contains_key(HEADER) {
        return Prepared::Plain(req);
    }
    let key = match req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        Some(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => {
            k.to_owned()
        }
        _ => {
            return Prepared::Answered(req.error_response(ApiError::BadRequest(
                ErrorCode::InvalidIdempotencyKey,
                "Idempotency-Key must be 1 to 255 printable ASCII characters".into(),
            )));
        }
    };
    // Without a valid token (or for a deactivated person, R11) there is nobody to scope the
    // key to, and nothing is replayed: the handler answers 401.
    let Ok(caller) = crate::auth::authenticate(req.request()).await else {
        return Prepared::Plain(req);
    };
    let subject = caller.subject.to_string();
    let body = match read_body(&mut req).await {
        Ok(body) => body,
        Err(err) => return Prepared::Answered(req.error_response(err)),
    };
    let fingerprint = fingerprint(&req, &body);
    let lease = req
        .app_data::<web::Data<Lease>>()
        .map(|l| l.0)
        .filter(|s| *s > 0)
        .unwrap_or(LEASE_SECONDS);
    let now = Utc::now();
    let reservation = idempotency::reserve(
        db.conn(),
        &subject,
        &key,
        &fingerprint,
        now,
        now - Duration::hours(RETENTION_HOURS),
        now - Duration::seconds(lease),
    )
    .await;
    match reservation {
        Err(err) => Prepared::Answered(req.error_response(ApiError::from(err))),
        Ok(Reservation::Mismatch) => Prepared::Answered(req.error_response(ApiError::Conflict(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was already used with another request; use a new key".into(),
        ))),
        Ok(Reservation::InProgress) => Prepared::Answered(req.error_response(in_progress())),
        // Done before, its answer not kept: words deleted since, or a secret kept nowhere.
        Ok(Reservation::Withheld) => Prepared::Answered(req.error_response(ApiError::Conflict(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key's request was done, and its answer is not kept (it named words \
             deleted since, or a secret); it is not done again: read the resource, or send a new key"
                .into(),
        ))),
        // The kept answer may carry a pair's content: it is sealed at rest (R5), and its
        // replay is in the audit log as the first answer was — durably, before it leaves.
        Ok(Reservation::Replay(mut stored)) => match db.keys().open_opt(
            stored.body.as_deref(),
            &Aad::keyed("idempotency_keys", "response_body", &subject, &key),
        ) {
            Ok(body) => {
                stored.body = body;
                if let Some(trail) = stored
                    .audit_trail
                    .as_deref()
                    .and_then(|t| serde_json::from_str::<audit::Trail>(t).ok())
                {
                    let request_id = req
                        .extensions()
                        .get::<crate::telemetry::RequestId>()
                        .map(|r| r.0.clone());
                    let event = audit::event(&caller, trail, stored.status, request_id);
                    if let Err(err) = audit::append(db.conn(), event).await {
                        tracing::error!(error = %crate::problem::error_chain(&err), "could not write the audit event of a replay: not answered");
                        return Prepared::Answered(req.error_response(ApiError::Unavailable));
                    }
                }
                Prepared::Answered(req.into_response(replay(&stored)))
            }
            Err(err) => Prepared::Answered(req.error_response(ApiError::from(err))),
        },
        Ok(Reservation::Reserved(claim)) => {
            req.set_payload(payload_of(body));
            Prepared::Claimed(req, claim)
        }
    }
}

pub fn in_progress() -> ApiError {
    ApiError::Conflict(
        ErrorCode::IdempotencyRequestInProgress,
        "the first request with this Idempotency-Key is still being served; retry shortly".into(),
    )
}

/// Store a claimed request's answer in `conn` (the request's unit of work, or a transaction
/// of its own for a refusal, which wrote nothing). `Ok(None)`: the claim was lost to a retry
/// after its lease; the work must not commit.
pub async fn store(
    conn: &impl ConnectionTrait,
    db: &Db,
    claim: &Claim,
    res: ServiceResponse<BoxBody>,
) -> Result<Option<ServiceResponse<BoxBody>>, ApiError> {
    let (req, res) = res.into_parts();
    let status = res.status();
    let audit_trail = req
        .extensions()
        .get::<audit::Audited>()
        .filter(|a| audit::recorded(a, status.as_u16()))
        .and_then(|a| serde_json::to_string(&audit::trail(&req, a)).ok());
    let headers: Vec<(String, String)> = REPLAYED_HEADERS
        .iter()
        .filter_map(|name| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| (name.as_str().to_owned(), v.to_owned()))
        })
        .collect();
    let mut kept = HttpResponse::build(status);
    for (name, value) in res.headers() {
        kept.append_header((name.clone(), value.clone()));
    }
    let unkept = res.extensions().get::<NotKept>().is_some();
    let location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = to_bytes(res.into_body())
        .await
        .map_err(|_| ApiError::Internal("an answer's body could not be read".into()))?;
    let resource = status
        .is_success()
        .then(|| resource_of(&req, status, location.as_deref(), &body))
        .flatten();
    // The answer may carry a pair's content: it is kept sealed (R5) — unless it carries a
    // secret kept nowhere else (a calendar feed's), which is not kept at all.
    let stored = StoredResponse {
        status: status.as_u16(),
        headers: serde_json::to_string(&headers).unwrap_or_else(|_| "[]".into()),
        body: if unkept {
            None
        } else {
            Some(db.keys().seal(
                &String::from_utf8_lossy(&body),
                &Aad::keyed(
                    "idempotency_keys",
                    "response_body",
                    &claim.subject,
                    &claim.key,
                ),
            )?)
        },
        audit_trail,
        resource,
    };
    if !idempotency::complete(conn, claim, &stored).await? {
        return Ok(None);
    }
    Ok(Some(ServiceResponse::new(req, kept.body(body))))
}

/// Marks an answer that must not be kept for replay: it carries a secret the service keeps
/// nowhere else (a calendar feed's URL, stored as a hash). A retry with its key is `409
/// idempotency_key_reused` (done once, not done again).
#[derive(Debug, Clone, Copy)]
pub struct NotKept;

/// Mark `res` as not kept for replay.
pub fn not_kept(res: &mut HttpResponse) {
    res.extensions_mut().insert(NotKept);
}

/// A request's path with its parameters in canonical form (a UUID hyphenated, lower case),
/// from the route it matched: the same resource has one name however a client spelled it.
pub(crate) fn canonical_path(req: &actix_web::HttpRequest) -> Option<String> {
    let pattern = req.match_pattern()?;
    let mut out = String::with_capacity(pattern.len() + 40);
    let mut rest = pattern.as_str();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        let name = after[..close].split(':').next().unwrap_or_default();
        let value = req.match_info().get(name)?;
        match uuid::Uuid::parse_str(value) {
            Ok(id) => out.push_str(&id.hyphenated().to_string()),
            Err(_) => out.push_str(value),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The resource a successful answer carries: what a `201` created (its `Location`, or its
/// collection's path and the `id` of its body), else the resource an action acts on
/// (`POST …/meetings/{id}/cancel` answers the meeting: the path without its last segment).
fn resource_of(
    req: &actix_web::HttpRequest,
    status: StatusCode,
    location: Option<&str>,
    body: &[u8],
) -> Option<String> {
    let path = canonical_path(req)?;
    if status == StatusCode::CREATED {
        if let Some(location) = location {
            let path_only = match location.find("://") {
                Some(i) => location[i + 3..]
                    .find('/')
                    .map_or("/", |j| &location[i + 3 + j..]),
                None => location,
            };
            return Some(path_only.to_owned());
        }
        let id = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_owned));
        if let Some(id) = id {
            let id = uuid::Uuid::parse_str(&id).map_or(id, |u| u.hyphenated().to_string());
            return Some(format!("{path}/{id}"));
        }
    }
    Some(
        path.rsplit_once('/')
            .map_or(path.as_str(), |(parent, _)| parent)
            .to_owned(),
    )
}

/// A write that changes or deletes a resource (`PATCH`, `DELETE`) destroys the stored
/// answers that carry it, in its own unit of work: a replay never returns words deleted
/// since (API.md). An answer about a sub-resource names that sub-resource.
pub(crate) async fn forget_answers_about(
    conn: &impl ConnectionTrait,
    req: &actix_web::HttpRequest,
) -> Result<(), ApiError> {
    if !matches!(*req.method(), Method::PATCH | Method::DELETE) {
        return Ok(());
    }
    if let Some(resource) = canonical_path(req) {
        let destroyed = idempotency::destroy_answers_naming(conn, &resource).await?;
        if destroyed > 0 {
            tracing::info!(
                destroyed,
                "stored answers about a changed resource destroyed"
            );
        }
    }
    Ok(())
}

/// Free a claim whose request wrote nothing, so that a retry runs. Best effort: if it
/// fails, the lease frees the key.
pub async fn release(db: &Db, claim: &Claim) {
    if let Err(err) = idempotency::release(db.conn(), claim).await {
        tracing::warn!(error = %crate::problem::error_chain(&err), "could not release an idempotency key; its lease will");
    }
}

/// The route that takes the large bodies (`POST /people/import`, CSV or JSON).
pub(crate) fn is_import(req: &ServiceRequest) -> bool {
    req.method() == Method::POST && req.match_pattern().as_deref() == Some("/api/v1/people/import")
}

/// The whole body of a request, up to what its route takes (64 MiB for the import, 1 MiB
/// otherwise); a `Content-Length` beyond it is refused before a byte is read.
pub(crate) async fn read_body(req: &mut ServiceRequest) -> Result<Bytes, ApiError> {
    let limit = if is_import(req) {
        IMPORT_BODY_LIMIT
    } else {
        crate::json::BODY_LIMIT
    };
    let declared = crate::json::declared_length(req.request());
    let mut payload = req.take_payload();
    crate::json::read_body(&mut payload, declared, limit).await
}

pub(crate) fn payload_of(body: Bytes) -> actix_web::dev::Payload {
    let (_, mut payload) = actix_http::h1::Payload::create(true);
    payload.unread_data(body);
    actix_web::dev::Payload::from(payload)
}

/// SHA-256 of the method, path, query and body: what makes two requests "the same".
fn fingerprint(req: &ServiceRequest, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update(b" ");
    hasher.update(req.uri().to_string());
    hasher.update(b"\n");
    hasher.update(body);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn replay(stored: &StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    let headers: Vec<(String, String)> = serde_json::from_str(&stored.headers).unwrap_or_default();
    for (name, value) in headers {
        response.append_header((name, value));
    }
    response.insert_header((REPLAYED_HEADER, "true"));
    response.body(stored.body.clone().unwrap_or_default())
}
