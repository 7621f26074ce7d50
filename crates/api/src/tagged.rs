//! Answers that carry an `ETag` (API.md), written once for every resource with a revision.
//!
//! Two kinds of tag: the row's, `"r7"` ([`etag`]), for a resource that shows its row and
//! nothing more; the representation's, `"r7-…"` ([`content_etag`]), for one that shows more
//! than its row (a pair's counts and flags, an enrollment's charter standing), so the tag
//! changes whenever the body does. Either way a read answers `304 Not Modified` when
//! `If-None-Match` names the tag, and a change sent with `If-Match` is judged by the use case
//! ([`crate::etag::IfMatch::expected_revision`]).

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
};
use serde::Serialize;

use crate::{
    etag::{content_etag, etag, none_match},
    problem::ApiError,
};

fn not_modified(tag: String) -> HttpResponse {
    HttpResponse::NotModified()
        .insert_header((header::ETAG, tag))
        .finish()
}

/// A read: `200` with the row's tag, or `304` when `If-None-Match` names it.
pub fn read<T: Serialize>(req: &HttpRequest, revision: i32, body: T) -> HttpResponse {
    let tag = etag(revision);
    if none_match(req, &tag) {
        return not_modified(tag);
    }
    HttpResponse::Ok()
        .insert_header((header::ETAG, tag))
        .json(body)
}

/// A change: `200` with the row's new tag.
pub fn ok<T: Serialize>(revision: i32, body: T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(revision)))
        .json(body)
}

/// A creation: `201`, `Location` naming the new resource, and its row's tag.
pub fn created<T: Serialize>(location: String, revision: i32, body: T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .insert_header((header::ETAG, etag(revision)))
        .json(body)
}

/// A read of a representation that shows more than its row: `200` with its content tag, or
/// `304` when `If-None-Match` names it.
pub fn read_content<T: Serialize>(
    req: &HttpRequest,
    revision: i32,
    body: &T,
) -> Result<HttpResponse, ApiError> {
    content_answer(Some(req), StatusCode::OK, revision, body)
}

/// A change (or creation, with `status`) of such a representation, with its content tag.
pub fn content<T: Serialize>(
    status: StatusCode,
    revision: i32,
    body: &T,
) -> Result<HttpResponse, ApiError> {
    content_answer(None, status, revision, body)
}

fn content_answer<T: Serialize>(
    read: Option<&HttpRequest>,
    status: StatusCode,
    revision: i32,
    value: &T,
) -> Result<HttpResponse, ApiError> {
    let body = serde_json::to_vec(value)
        .map_err(|e| ApiError::Internal(format!("an answer could not be written: {e}")))?;
    let tag = content_etag(revision, &body);
    if read.is_some_and(|req| none_match(req, &tag)) {
        return Ok(not_modified(tag));
    }
    Ok(HttpResponse::build(status)
        .insert_header((header::ETAG, tag))
        .content_type("application/json")
        .body(body))
}
