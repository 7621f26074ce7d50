//! The interactive documentation (`/docs/…`, Swagger UI, vendored) and the document it reads
//! (`/openapi.json`), served as a CDN would: compressed once (gzip, when the client accepts
//! it), with a strong `ETag` (a digest of the bytes) that `If-None-Match` answers with `304`,
//! and `Cache-Control` — an hour for the UI's own files, revalidation for the document and the
//! page that names it. The bytes are shared, never copied per request. Nothing is fetched from another host: the assets are in the binary and
//! the UI's validator is off (`validatorUrl: "none"`).

use std::{
    borrow::Cow,
    collections::HashMap,
    io::Write,
    sync::{Arc, Mutex},
};

use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, ContentEncoding},
    web,
};

use crate::etag;

/// A file as sent: its bytes, their gzip form and their tag.
struct Asset {
    content_type: String,
    plain: bytes::Bytes,
    gzip: Option<bytes::Bytes>,
    etag: String,
    cache_control: &'static str,
}

/// Files worth compressing (text) above this size; the rest are sent as they are.
const COMPRESS_FROM_BYTES: usize = 1024;
/// The UI's own files change only with the binary.
const UI_CACHE: &str = "public, max-age=3600";
/// The document and the page that points at it: cached, but asked again each time.
const REVALIDATE: &str = "no-cache";

impl Asset {
    fn new(content_type: String, plain: Vec<u8>, cache_control: &'static str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(&plain);
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let textual = content_type.starts_with("text/")
            || content_type.contains("javascript")
            || content_type.contains("json");
        let gzip = (textual && plain.len() >= COMPRESS_FROM_BYTES)
            .then(|| gzip(&plain))
            .flatten();
        Self {
            content_type,
            plain: plain.into(),
            gzip: gzip.map(Into::into),
            etag: format!("\"{hex}\""),
            cache_control,
        }
    }

    fn respond(&self, req: &HttpRequest) -> HttpResponse {
        let not_modified = etag::none_match(req, &self.etag);
        let mut response = if not_modified {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        response
            .insert_header((header::ETAG, self.etag.clone()))
            .insert_header((header::CACHE_CONTROL, self.cache_control))
            .insert_header((header::VARY, "Accept-Encoding"));
        if not_modified {
            return response.finish();
        }
        response.content_type(self.content_type.clone());
        match &self.gzip {
            Some(gz) if accepts_gzip(req) => response
                .insert_header((header::CONTENT_ENCODING, ContentEncoding::Gzip))
                .body(gz.clone()),
            _ => response.body(self.plain.clone()),
        }
    }
}

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

/// Does `Accept-Encoding` allow gzip (and not with `q=0`)?
fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// The document and the UI's files, prepared once per replica and shared by its workers.
#[derive(Clone)]
pub struct Docs {
    document: Arc<Asset>,
    config: Arc<utoipa_swagger_ui::Config<'static>>,
    ui: Arc<Mutex<HashMap<String, Arc<Asset>>>>,
}

impl Docs {
    pub fn new(document: &utoipa::openapi::OpenApi) -> Self {
        let bytes = serde_json::to_vec(document).unwrap_or_default();
        Self {
            document: Arc::new(Asset::new("application/json".into(), bytes, REVALIDATE)),
            config: Arc::new(
                utoipa_swagger_ui::Config::new(["/openapi.json"])
                    // Swagger UI would send the document's URL to validator.swagger.io.
                    .validator_url("none"),
            ),
            ui: Arc::default(),
        }
    }

    /// One of the UI's files, prepared (and compressed) the first time it is asked for.
    fn ui_file(&self, path: &str) -> Option<Arc<Asset>> {
        let path = if path.is_empty() { "index.html" } else { path };
        if let Some(asset) = self.ui.lock().ok()?.get(path) {
            return Some(asset.clone());
        }
        let file = utoipa_swagger_ui::serve(path, self.config.clone()).ok()??;
        let plain = if file.gzpipped {
            // Never the case with the vendored files; kept correct should it change.
            let mut out = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::GzDecoder::new(file.bytes.as_ref()),
                &mut out,
            )
            .ok()?;
            out
        } else {
            Cow::into_owned(file.bytes)
        };
        let cache = match path {
            "index.html" | "swagger-initializer.js" => REVALIDATE,
            _ => UI_CACHE,
        };
        let asset = Arc::new(Asset::new(file.content_type, plain, cache));
        self.ui.lock().ok()?.insert(path.to_owned(), asset.clone());
        Some(asset)
    }
}

/// `GET /openapi.json`.
pub async fn document(req: HttpRequest, docs: web::Data<Docs>) -> HttpResponse {
    docs.document.respond(&req)
}

/// `GET /docs/{path}`.
pub async fn ui(
    req: HttpRequest,
    path: web::Path<String>,
    docs: web::Data<Docs>,
) -> actix_web::Result<HttpResponse> {
    match docs.ui_file(&path) {
        Some(asset) => Ok(asset.respond(&req)),
        None => Err(crate::problem::ApiError::NotFound(format!(
            "{} is not a file of the documentation",
            req.path()
        ))
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn gzip_is_taken_unless_refused() {
        let with = |v: &str| {
            TestRequest::default()
                .insert_header((header::ACCEPT_ENCODING, v))
                .to_http_request()
        };
        assert!(accepts_gzip(&with("gzip, deflate, br")));
        assert!(accepts_gzip(&with("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&with("*")));
        assert!(!accepts_gzip(&with("gzip;q=0")));
        assert!(!accepts_gzip(&with("br")));
        assert!(!accepts_gzip(&TestRequest::default().to_http_request()));
    }

    #[test]
    fn the_bundle_is_compressed_and_tagged_by_its_bytes() {
        let docs = Docs::new(&utoipa::openapi::OpenApi::default());
        let bundle = docs.ui_file("swagger-ui-bundle.js").expect("vendored");
        let gz = bundle.gzip.as_ref().expect("compressed");
        assert!(
            gz.len() * 3 < bundle.plain.len(),
            "{} {}",
            gz.len(),
            bundle.plain.len()
        );
        assert_eq!(bundle.cache_control, UI_CACHE);
        let again = Asset::new("text/javascript".into(), bundle.plain.to_vec(), UI_CACHE);
        assert_eq!(again.etag, bundle.etag);
        assert!(docs.ui_file("no-such-file.js").is_none());
        assert_eq!(docs.ui_file("").expect("index").cache_control, REVALIDATE);
    }
}
