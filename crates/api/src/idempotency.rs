//! `Idempotency-Key` on `POST` (API.md conventions): a retry with the same key and body
//! replays the first answer (with `Idempotency-Replayed: true`); the same key with another
//! body is `409 idempotency_key_reused`; a retry while the first is still running is
//! `409 idempotency_request_in_progress`. Keys are scoped to the token's subject, kept in the
//! database (so every replica sees them) for 24 hours. A request that fails on our side (5xx)
//! releases its key so that the retry runs for real.

use std::sync::Arc;

use actix_web::{
    Error, HttpMessage, HttpResponse,
    body::{BoxBody, MessageBody, to_bytes},
    dev::{ServiceRequest, ServiceResponse},
    http::{Method, StatusCode, header},
    middleware::Next,
    web,
};
use bytes::{Bytes, BytesMut};
use chrono::{Duration, Utc};
use futures_util::StreamExt;
use mentorat_persistence::{
    Db,
    idempotency::{self, Reservation, StoredResponse},
};
use sha2::{Digest, Sha256};

use crate::{
    audit,
    auth::{JwtVerifier, bearer_token},
    json::IMPORT_BODY_LIMIT,
    problem::ApiError,
};

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotency-replayed";

/// How long an answer is kept for replay.
pub const RETENTION_HOURS: i64 = 24;

/// Headers of the first answer that a replay repeats.
const REPLAYED_HEADERS: [header::HeaderName; 3] =
    [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if req.method() != Method::POST || !req.headers().contains_key(HEADER) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let key = match req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        Some(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => {
            k.to_owned()
        }
        _ => {
            return Ok(req.error_response(ApiError::BadRequest(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 printable ASCII characters".into(),
            )));
        }
    };
    // Without a valid token there is nobody to scope the key to: the handler answers 401.
    let verifier = req.app_data::<web::Data<Arc<JwtVerifier>>>().cloned();
    let caller = match (verifier, bearer_token(req.request())) {
        (Some(v), Some(token)) => v.verify(token).ok(),
        _ => None,
    };
    let (Some(caller), Some(db)) = (caller, req.app_data::<web::Data<Db>>().cloned()) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };

    let subject = caller.subject.to_string();
    let body = match read_body(&mut req).await {
        Ok(body) => body,
        Err(err) => return Ok(req.error_response(err)),
    };
    let fingerprint = fingerprint(&req, &body);
    let now = Utc::now();
    let reservation = idempotency::reserve(
        db.conn(),
        &subject,
        &key,
        &fingerprint,
        now,
        now - Duration::hours(RETENTION_HOURS),
    )
    .await;
    match reservation {
        Err(err) => Ok(req.error_response(ApiError::from(err))),
        Ok(Reservation::Mismatch) => Ok(req.error_response(ApiError::Conflict(
            "idempotency_key_reused",
            "this Idempotency-Key was already used with another request; use a new key".into(),
        ))),
        Ok(Reservation::InProgress) => Ok(req.error_response(ApiError::Conflict(
            "idempotency_request_in_progress",
            "the first request with this Idempotency-Key is still being served; retry shortly"
                .into(),
        ))),
        // The kept answer may carry a pair's content: it is sealed at rest (R5), and its
        // replay is in the audit log as the first answer was.
        Ok(Reservation::Replay(mut stored)) => match db.keys().open(&stored.body) {
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
                    audit::record(&db, &caller, trail, stored.status, request_id).await;
                }
                Ok(req.into_response(replay(&stored)))
            }
            Err(err) => Ok(req.error_response(ApiError::from(err))),
        },
        Ok(Reservation::Reserved) => {
            req.set_payload(payload_of(body));
            let response = next.call(req).await;
            finish(&db, &subject, &key, response).await
        }
    }
}

async fn read_body(req: &mut ServiceRequest) -> Result<Bytes, ApiError> {
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(crate::json::body_error)?;
        // The largest body any POST takes; each handler then applies its own limit.
        if body.len() + chunk.len() > IMPORT_BODY_LIMIT {
            return Err(ApiError::PayloadTooLarge {
                limit: IMPORT_BODY_LIMIT,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn payload_of(body: Bytes) -> actix_web::dev::Payload {
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

async fn finish(
    db: &Db,
    subject: &str,
    key: &str,
    response: Result<ServiceResponse<impl MessageBody + 'static>, Error>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let response = match response {
        Ok(r) => r,
        Err(err) => {
            release(db, subject, key).await;
            return Err(err);
        }
    };
    if response.status().is_server_error() {
        release(db, subject, key).await;
        return Ok(response.map_into_boxed_body());
    }
    let (req, res) = response.into_parts();
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
    let body = match to_bytes(res.into_body()).await {
        Ok(b) => b,
        Err(_) => {
            release(db, subject, key).await;
            return Ok(ServiceResponse::new(
                req,
                HttpResponse::InternalServerError().finish(),
            ));
        }
    };
    // The answer may carry a pair's content: it is kept sealed (R5).
    let kept_answer = db
        .keys()
        .seal(&String::from_utf8_lossy(&body))
        .map(|sealed| StoredResponse {
            status: status.as_u16(),
            headers: serde_json::to_string(&headers).unwrap_or_else(|_| "[]".into()),
            body: sealed,
            audit_trail,
        });
    let stored = match kept_answer {
        Ok(stored) => idempotency::complete(db.conn(), subject, key, &stored).await,
        Err(err) => Err(err),
    };
    if let Err(err) = stored {
        // The answer still goes out; a retry will find the key in progress until it expires.
        tracing::warn!(error = %crate::problem::error_chain(&err), "could not store an idempotent answer");
    }
    Ok(ServiceResponse::new(req, kept.body(body)))
}

async fn release(db: &Db, subject: &str, key: &str) {
    if let Err(err) = idempotency::release(db.conn(), subject, key).await {
        tracing::warn!(error = %crate::problem::error_chain(&err), "could not release an idempotency key");
    }
}

fn replay(stored: &StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    let headers: Vec<(String, String)> = serde_json::from_str(&stored.headers).unwrap_or_default();
    for (name, value) in headers {
        response.append_header((name, value));
    }
    response.insert_header((REPLAYED_HEADER, "true"));
    response.body(stored.body.clone())
}
