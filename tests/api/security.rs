//! Issue 12's smaller holes, each replayed as the attacker would: links built from client
//! headers, missing security headers, metrics labels a client can multiply, JWT corner cases.

use mentorat_tests::{Options, spawn_app, spawn_app_with};
use serde_json::json;

use crate::working_life::{active_pair, as_};

/// A calendar link built from `X-Forwarded-*`, `Forwarded` or `Host` would hand a member a
/// link of the attacker's choosing; it is built from the configured public URL.
#[tokio::test]
async fn links_never_come_from_client_headers() {
    for public in [None, Some("https://mentorat.chu.example/rh/")] {
        let options = match public {
            Some(url) => Options::default().var("MENTORAT_PUBLIC_URL", url),
            None => Options::default(),
        };
        let app = spawn_app_with(options).await;
        active_pair(&app).await;
        let reply = app
            .send(
                app.client
                    .post(app.url("/api/v1/me/calendar-feed"))
                    .bearer_auth(as_("ME"))
                    .header("x-forwarded-host", "attacker.example")
                    .header("x-forwarded-proto", "javascript")
                    .header("forwarded", "host=attacker.example;proto=javascript")
                    .header("host", "attacker.example")
                    .json(&json!({})),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let url = reply.json()["url"].as_str().unwrap().to_owned();
        let expected = match public {
            Some(_) => "https://mentorat.chu.example/rh/api/v1/calendar/".to_owned(),
            // By default: the address the server listens on.
            None => format!("{}/api/v1/calendar/", app.address),
        };
        assert!(url.starts_with(&expected), "{url}");
        assert!(
            !url.contains("attacker") && !url.contains("javascript"),
            "{url}"
        );
    }
}

/// A client inventing methods cannot multiply the metrics' series: unknown methods are
/// counted as `other`.
#[tokio::test]
async fn invented_methods_share_one_metrics_label() {
    let app = spawn_app().await;
    for (i, method) in ["FOO1", "FOO2", "BREW", "PROPFIND"].iter().enumerate() {
        let path = if i % 2 == 0 {
            "/api/v1/programs"
        } else {
            "/nowhere"
        };
        let reply = app
            .send(app.client.request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(path),
            ))
            .await;
        assert!(reply.status >= 400, "{method}: {}", reply.status);
    }
    let text = app.get("/metrics", None).await.text;
    for method in ["FOO1", "FOO2", "BREW", "PROPFIND"] {
        assert!(!text.contains(method), "a series for {method}:\n{text}");
    }
    assert!(text.contains(r#"method="other""#), "{text}");
}

/// Answers carrying a pair's words or a person's data are never kept by a cache; no answer
/// lets a browser guess its type.
#[tokio::test]
async fn answers_are_not_cached_nor_sniffed() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    app.post_json(
        &format!("/api/v1/pairs/{}/notes", pair.id),
        Some(&as_("ME")),
        &json!({"body": "Nos mots", "visibility": "shared"}),
    )
    .await;
    let feed = app
        .post_json("/api/v1/me/calendar-feed", Some(&as_("ME")), &json!({}))
        .await
        .json();
    let feed_path = format!(
        "/api/v1/{}",
        feed["url"]
            .as_str()
            .unwrap()
            .split_once("/api/v1/")
            .unwrap()
            .1
    );
    let private: Vec<(String, Option<String>)> = vec![
        (format!("/api/v1/pairs/{}", pair.id), Some(as_("ME"))),
        (format!("/api/v1/pairs/{}/notes", pair.id), Some(as_("ME"))),
        ("/api/v1/me".into(), Some(as_("ME"))),
        ("/api/v1/me/export".into(), Some(as_("ME"))),
        ("/api/v1/people".into(), Some(app.as_coordinator())),
        (feed_path, None),
        ("/api/v1/people".into(), None),
        (format!("/api/v1/pairs/{}", pair.id), Some(as_("NOBODY"))),
        ("/nowhere".into(), None),
        ("/healthz".into(), None),
        ("/metrics".into(), None),
    ];
    for (path, token) in &private {
        let reply = app.get(path, token.as_deref()).await;
        assert_eq!(
            reply.header("cache-control"),
            Some("no-store"),
            "{path} ({})",
            reply.status
        );
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
    // A write's answer too.
    let written = app
        .post_json(
            &format!("/api/v1/pairs/{}/notes", pair.id),
            Some(&as_("ME")),
            &json!({"body": "Encore nos mots", "visibility": "private"}),
        )
        .await;
    assert_eq!(written.status, 201, "{}", written.text);
    assert_eq!(written.header("cache-control"), Some("no-store"));
    assert_eq!(written.header("x-content-type-options"), Some("nosniff"));
    // The documentation is public: cacheable, never sniffed.
    for path in ["/openapi.json", "/docs/"] {
        let reply = app.get(path, None).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_ne!(reply.header("cache-control"), Some("no-store"), "{path}");
    }
}

/// A token signed with the test secret over exactly this header and these claims (JSON text
/// as given, so that names may repeat).
fn mint(header: &str, claims: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use hmac::{Hmac, Mac};
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(mentorat_tests::TEST_SECRET.as_bytes()).unwrap();
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// Claims of a coordinator's token, as JSON text, with `extra` members appended.
fn coordinator_claims(iat: i64, extra: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    format!(
        r#"{{"sub":"COORD1","iss":"{}","aud":"{}","exp":{},"iat":{iat},"roles":["coordinator"]{extra}}}"#,
        mentorat_tests::ISSUER,
        mentorat_tests::AUDIENCE,
        now + 600
    )
}

/// RFC 8725 / RFC 7515: a correctly signed token is still refused when its header asks for
/// extensions the service does not know, its payload is not base64url, its type is not a
/// JWT, it was issued in the future, or a name appears twice — all with one `401`.
#[tokio::test]
async fn signed_tokens_that_break_jwt_hygiene_are_refused_alike() {
    let app = spawn_app().await;
    let now = chrono::Utc::now().timestamp();
    let ok = coordinator_claims(now, "");
    for (header, claims) in [
        (r#"{"alg":"HS256","typ":"JWT"}"#.to_owned(), ok.clone()),
        (r#"{"alg":"HS256"}"#.to_owned(), ok.clone()),
        (r#"{"alg":"HS256","typ":"at+jwt"}"#.to_owned(), ok.clone()),
        (
            r#"{"alg":"HS256","typ":"application/AT+JWT"}"#.to_owned(),
            ok.clone(),
        ),
        (
            r#"{"alg":"HS256","typ":"jwt"}"#.to_owned(),
            coordinator_claims(now + 10, ""),
        ),
    ] {
        let reply = app
            .get("/api/v1/programs", Some(&mint(&header, &claims)))
            .await;
        assert_eq!(reply.status, 200, "{header} {claims}: {}", reply.text);
    }
    let mut details = std::collections::HashSet::new();
    for (header, claims) in [
        (
            r#"{"alg":"HS256","crit":["urn:example:x"],"urn:example:x":1}"#.to_owned(),
            ok.clone(),
        ),
        (r#"{"alg":"HS256","crit":["exp"]}"#.to_owned(), ok.clone()),
        (
            r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#.to_owned(),
            ok.clone(),
        ),
        (r#"{"alg":"HS256","b64":false}"#.to_owned(), ok.clone()),
        (r#"{"alg":"HS256","typ":"JOSE"}"#.to_owned(), ok.clone()),
        (
            r#"{"alg":"HS256","typ":"secevent+jwt"}"#.to_owned(),
            ok.clone(),
        ),
        (
            r#"{"alg":"HS256"}"#.to_owned(),
            coordinator_claims(now + 3600, ""),
        ),
        (
            r#"{"alg":"HS256"}"#.to_owned(),
            coordinator_claims(now, r#","sub":"ADMIN1""#),
        ),
        (
            r#"{"alg":"HS256"}"#.to_owned(),
            coordinator_claims(now, r#","roles":["admin"]"#),
        ),
    ] {
        let p = app
            .get("/api/v1/programs", Some(&mint(&header, &claims)))
            .await
            .problem(401, "unauthorized");
        details.insert(p["detail"].as_str().unwrap().to_owned());
    }
    // Which check failed is not said.
    assert_eq!(details.len(), 1, "{details:?}");
    // A header naming a member twice does not even parse as a JOSE header.
    app.get(
        "/api/v1/programs",
        Some(&mint(r#"{"alg":"HS256","typ":"JWT","typ":"JWT"}"#, &ok)),
    )
    .await
    .problem(401, "unauthorized");
}

/// What actix-http answers by itself, below every middleware, is a problem document too.
#[tokio::test]
async fn the_frameworks_own_errors_are_problem_documents() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    async fn exchange(addr: &str, bytes: &[u8], wait: std::time::Duration) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(bytes).await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(wait, stream.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    }
    // More headers than actix parses (96).
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..120)
            .map(|i| format!("X-H{i}: v\r\n"))
            .collect::<String>()
    );
    let cases: [(&[u8], u16, &str, u64); 4] = [
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
            400,
            "bad_request",
            5,
        ),
        (b"\x01\x02 nonsense\r\n\r\n", 400, "bad_request", 5),
        (big.as_bytes(), 431, "request_header_fields_too_large", 5),
        // The head never ends: actix's 5 s head timeout.
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
            408,
            "request_timeout",
            9,
        ),
    ];
    for (request, status, code, wait) in cases {
        let answer = exchange(&addr, request, std::time::Duration::from_secs(wait)).await;
        let (head, body) = answer
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no answer for {code}: {answer:?}"));
        assert!(
            head.starts_with(&format!("HTTP/1.1 {status} ")),
            "{code}: {head}"
        );
        let lower = head.to_ascii_lowercase();
        assert!(
            lower.contains("content-type: application/problem+json"),
            "{code}: {head}"
        );
        assert!(lower.contains("x-content-type-options: nosniff"), "{head}");
        let doc: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(doc["status"], status, "{body}");
        assert_eq!(doc["code"], code, "{body}");
    }
    // The server still serves.
    assert_eq!(app.get("/healthz", None).await.status, 200);
}
