//! Keyset pagination (API.md "Lists"): `?limit=` (default 50, max 200) and an opaque
//! `?cursor=`; the answer is `{"items": [...], "next_cursor": "…" | null}` and, when there is
//! a next page, a `Link: <…>; rel="next"` header.

use actix_web::{HttpRequest, HttpResponse, http::header};
use base64::{
    Engine,
    alphabet::URL_SAFE,
    engine::{GeneralPurpose, GeneralPurposeConfig, general_purpose::URL_SAFE_NO_PAD},
};
use mentorat_domain::{FieldError, PageLimit};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::problem::{ApiError, FieldProblem};

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paginated<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `?cursor=` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// An opaque cursor: the id of the last item of the previous page.
pub fn encode_cursor(after: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(after.as_bytes())
}

/// Lenient about the unused bits of the last character: any 22-character cursor decodes.
const CURSOR_DECODER: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

pub fn decode_cursor(raw: &str) -> Result<Uuid, FieldError> {
    CURSOR_DECODER
        .decode(raw)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .ok_or_else(|| {
            FieldError::new(
                "/cursor",
                "the cursor is not one this service gave; start again without it",
            )
        })
}

/// `limit` and `cursor`, checked together so a client learns of both mistakes at once.
pub fn page_params(
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<(PageLimit, Option<Uuid>), ApiError> {
    let limit = PageLimit::parse(limit);
    let cursor = cursor.map(decode_cursor).transpose();
    match (limit, cursor) {
        (Ok(l), Ok(c)) => Ok((l, c)),
        (l, c) => Err(ApiError::validation(
            [l.err(), c.err()]
                .into_iter()
                .flatten()
                .map(FieldProblem::from)
                .collect(),
        )),
    }
}

/// Render a page, with a `Link` header to the next one.
pub fn page_response<T: Serialize + ToSchema>(
    req: &HttpRequest,
    items: Vec<T>,
    next: Option<Uuid>,
) -> HttpResponse {
    let next_cursor = next.map(encode_cursor);
    let mut response = HttpResponse::Ok();
    if let Some(cursor) = &next_cursor {
        let mut query: Vec<(String, String)> =
            serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
        query.retain(|(k, _)| k != "cursor");
        query.push(("cursor".into(), cursor.clone()));
        if let Ok(qs) = serde_urlencoded::to_string(&query) {
            response.insert_header((header::LINK, format!("<{}?{qs}>; rel=\"next\"", req.path())));
        }
    }
    response.json(Paginated { items, next_cursor })
}
