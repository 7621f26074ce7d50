//! `ValidJson<T>`: the body extractor of every operation. It answers each way a body can be
//! wrong with its own problem: wrong content type (415), too large (413), not JSON (400),
//! JSON of the wrong shape or out of bounds (422, with a pointer to each field).

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};
use bytes::BytesMut;
use futures_util::StreamExt;
use mentorat_domain::ErrorCode;
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::problem::{ApiError, FieldProblem};

/// Bodies are at most 1 MiB (API.md conventions)...
pub const BODY_LIMIT: usize = 1 << 20;
/// ...except a batch import of people, up to 64 MiB (100,000 people in CSV is about 10 MiB).
pub const IMPORT_BODY_LIMIT: usize = 64 << 20;

pub struct ValidJson<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    req.mime_type().ok().flatten().is_some_and(|m| {
        m.type_() == "application"
            && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
    })
}

/// Read, parse and validate a JSON body; `allow_empty`: no body at all is `None`.
fn extract<T>(
    req: &HttpRequest,
    payload: &mut Payload,
    allow_empty: bool,
) -> futures_util::future::LocalBoxFuture<'static, Result<Option<T>, ApiError>>
where
    T: DeserializeOwned + Validate + 'static,
{
    let content_type_ok = is_json(req);
    let declared_length = declared_length(req);
    let mut payload = payload.take();
    Box::pin(async move {
        let body = read_body(&mut payload, declared_length, BODY_LIMIT).await?;
        if allow_empty && body.is_empty() {
            return Ok(None);
        }
        if !content_type_ok {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as `Content-Type: application/json`".into(),
            ));
        }
        // An optional body may also be sent as JSON `null` (what its schema, `T | null`,
        // says): the same as no body.
        if allow_empty && body.trim_ascii() == b"null" {
            return Ok(None);
        }
        let value = parse::<T>(&body)?;
        value
            .validate()
            .map_err(|e| ApiError::validation(field_problems(&e)))?;
        Ok(Some(value))
    })
}

impl<T> FromRequest for ValidJson<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if !is_json(req) {
            return Box::pin(std::future::ready(Err(ApiError::UnsupportedMediaType(
                "send the body as `Content-Type: application/json`".into(),
            ))));
        }
        let body = extract::<T>(req, payload, false);
        Box::pin(async move {
            body.await?
                .map(ValidJson)
                .ok_or_else(|| ApiError::MalformedJson("the body is empty".into()))
        })
    }
}

/// A JSON body that may be left out entirely (no body: `None`); when sent, it is checked as
/// [`ValidJson`] checks it.
pub struct OptionalJson<T>(pub Option<T>);

impl<T> FromRequest for OptionalJson<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = extract::<T>(req, payload, true);
        Box::pin(async move { body.await.map(OptionalJson) })
    }
}

/// Read a whole body, refusing one over `limit` bytes (413) as early as its declared length.
pub async fn read_body<S>(
    payload: &mut S,
    declared_length: Option<usize>,
    limit: usize,
) -> Result<bytes::Bytes, ApiError>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, actix_web::error::PayloadError>> + Unpin,
{
    if declared_length.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(body_error)?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// A body that failed to arrive: it stopped for longer than the body timeout (408), or it
/// was cut short (400).
pub fn body_error(err: actix_web::error::PayloadError) -> ApiError {
    if crate::body_timeout::is_stalled(&err) {
        ApiError::RequestTimeout
    } else {
        ApiError::BadRequest(
            ErrorCode::IncompleteBody,
            "the request body was cut short".into(),
        )
    }
}

/// The declared `Content-Length` of a request, if any.
pub fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// Parse JSON, telling malformed text (400) from well-formed JSON of the wrong shape (422).
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|err| {
        let path = pointer_of(err.path());
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                ApiError::validation(vec![shape_problem(path, &inner)])
            }
            _ => ApiError::MalformedJson(format!(
                "the body is not valid JSON: {}",
                strip_position(&inner.to_string())
            )),
        }
    })?;
    de.end().map_err(|_| {
        ApiError::MalformedJson("the body has trailing characters after the JSON value".into())
    })?;
    Ok(value)
}

/// A JSON value of the wrong shape, as a problem at `path` (a JSON pointer; "" is the whole
/// document, RFC 6901).
fn shape_problem(path: String, inner: &serde_json::Error) -> FieldProblem {
    let message = inner.to_string();
    let message = strip_position(&message);
    // "missing field `x`" names the field inside the object the path points at.
    let pointer = match message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        Some(field) => format!("{}/{field}", path.trim_end_matches('/')),
        None => path,
    };
    FieldProblem {
        pointer,
        detail: message.to_owned(),
    }
}

/// Read an already parsed JSON value as a `T`; a value of the wrong shape is a problem whose
/// pointer starts with `at` (the value's place in the document).
pub fn from_value<T: DeserializeOwned>(
    value: serde_json::Value,
    at: &str,
) -> Result<T, FieldProblem> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|err| {
        let path = format!("{at}{}", pointer_of(err.path()));
        shape_problem(path, err.inner())
    })
}

/// serde_json appends " at line 1 column 7"; keep it for syntax errors only where useful.
fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |at| &message[..at])
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push_str(&key.replace('~', "~0").replace('/', "~1"))
            }
            Segment::Unknown => out.push('?'),
        }
    }
    // serde_path_to_error renders a top-level path as "."; ours is "".
    if out == "/?" || out == "/" {
        String::new()
    } else {
        out
    }
}

/// Every failed `#[validate]` rule as a pointer and a sentence, sorted by pointer.
pub fn field_problems(errors: &ValidationErrors) -> Vec<FieldProblem> {
    let mut out = Vec::new();
    collect(errors, "", &mut out);
    out.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    out
}

fn collect(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldProblem>) {
    for (field, kind) in errors.errors() {
        let pointer = format!("{prefix}/{field}");
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let detail = e
                        .message
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_else(|| describe(field, e));
                    out.push(FieldProblem {
                        pointer: pointer.clone(),
                        detail,
                    });
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, &pointer, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(inner, &format!("{pointer}/{index}"), out);
                }
            }
        }
    }
}

fn describe(field: &str, e: &validator::ValidationError) -> String {
    let param = |name: &str| e.params.get(name).map(ToString::to_string);
    match e.code.as_ref() {
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("{field} must be {min} to {max} characters long"),
            (None, Some(max)) => format!("{field} must be at most {max} characters long"),
            (Some(min), None) => format!("{field} must be at least {min} characters long"),
            _ => format!("{field} has the wrong length"),
        },
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("{field} must be between {min} and {max}"),
            (None, Some(max)) => format!("{field} must be at most {max}"),
            (Some(min), None) => format!("{field} must be at least {min}"),
            _ => format!("{field} is out of range"),
        },
        "email" => format!("{field} must be an email address"),
        code => format!("{field} breaks the rule `{code}`"),
    }
}

/// An optional integer that also accepts a JSON number with a zero fraction (`28.0`): JSON
/// Schema calls that an integer, and so do clients that only have floating point.
pub fn whole_number<'de, D, T>(de: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    use serde::de::{Deserialize, Error};
    let Some(number) = Option::<serde_json::Number>::deserialize(de)? else {
        return Ok(None);
    };
    let whole = number.as_i64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    });
    whole
        .and_then(|n| T::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected a whole number in range, got {number}")))
}

/// A required integer written `28` or `28.0`.
pub fn required_whole_number<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    whole_number(de)?.ok_or_else(|| serde::de::Error::custom("a whole number is required"))
}

/// Tell a field sent as `null` (`Some(None)`) from a field left out (`None`).
pub fn present<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(de).map(Some)
}

/// For an optional field whose value is an object: serde's derived structs also take a JSON
/// array of the fields' values in order (`[null, 10]`), which the schema does not allow; this
/// takes only an object (or `null`/absent: none).
pub fn object_only<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize as _;
    match Option::<serde_json::Value>::deserialize(deserializer)? {
        None => Ok(None),
        Some(value @ serde_json::Value::Object(_)) => serde_json::from_value(value)
            .map(Some)
            .map_err(serde::de::Error::custom),
        Some(_) => Err(serde::de::Error::custom("expected an object")),
    }
}
