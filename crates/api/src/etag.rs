//! Entity tags for mutable resources (API.md: `ETag`, `If-Match` → `412`), derived from the
//! resource's revision: `"r7"`.

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header};

use crate::problem::ApiError;

pub fn etag(revision: i32) -> String {
    format!("\"r{revision}\"")
}

/// What `If-Match` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    /// No header: the change applies to the current state.
    Absent,
    /// `*`: any current state.
    Any,
    /// One of our tags: the change applies only if the resource is still at this revision.
    Revision(i32),
    /// A tag we never issued (or a weak one): can never match.
    Never,
}

impl IfMatch {
    /// The revision the change must be based on, if any; `Never` → a revision no resource has.
    pub fn expected_revision(self) -> Option<i32> {
        match self {
            IfMatch::Absent | IfMatch::Any => None,
            IfMatch::Revision(r) => Some(r),
            IfMatch::Never => Some(-1),
        }
    }
}

fn parse_tag(tag: &str) -> Option<i32> {
    let inner = tag.trim().strip_prefix("\"r")?.strip_suffix('"')?;
    // A representation's tag (`"r3-…"`, see [`content_etag`]) names its revision first.
    inner.split('-').next()?.parse().ok()
}

/// The tag of a representation that shows more than its row's revision — a pair's counts
/// and flags, an enrollment's charter standing: the revision and a digest of the body, so it
/// changes whenever what a client would see does.
pub fn content_etag(revision: i32, body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(body);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"r{revision}-{hex}\"")
}

/// Does `If-None-Match` name `tag` (or `*`)? Weak comparison, as RFC 9110 asks for GET.
pub fn none_match(req: &HttpRequest, tag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == "*" || t == tag)
        })
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let value = match req.headers().get(header::IF_MATCH) {
            None => IfMatch::Absent,
            Some(v) => match v.to_str().map(str::trim) {
                Ok("*") => IfMatch::Any,
                // A list of tags: the first one of ours counts (a resource has one current tag).
                Ok(list) => list
                    .split(',')
                    .find_map(parse_tag)
                    .map_or(IfMatch::Never, IfMatch::Revision),
                Err(_) => IfMatch::Never,
            },
        };
        std::future::ready(Ok(value))
    }
}
