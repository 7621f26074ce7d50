//! CORS for third-party browser front ends: only the configured origins.

use mentorat_tests::{Options, spawn_app, spawn_app_with};

const FRONT_END: &str = "https://front.example.org";

#[tokio::test]
async fn an_allowed_origin_gets_preflight_and_exposed_headers() {
    let app = spawn_app_with(Options::default().var(
        "MENTORAT_CORS_ORIGINS",
        format!("{FRONT_END}, http://localhost:3000"),
    ))
    .await;
    let preflight = app
        .send(
            app.client
                .request(reqwest::Method::OPTIONS, app.url("/api/v1/programs"))
                .header("origin", FRONT_END)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type, idempotency-key",
                ),
        )
        .await;
    assert_eq!(preflight.status, 200, "{}", preflight.text);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(FRONT_END)
    );
    let methods = preflight
        .header("access-control-allow-methods")
        .unwrap()
        .to_uppercase();
    assert!(
        methods.contains("POST") && methods.contains("PATCH"),
        "{methods}"
    );
    let headers = preflight
        .header("access-control-allow-headers")
        .unwrap()
        .to_lowercase();
    assert!(
        headers.contains("idempotency-key") && headers.contains("authorization"),
        "{headers}"
    );

    // An instrumented front end sends the W3C trace context with every request, and the
    // headers the API reads: its preflight succeeds.
    let traced = app
        .send(
            app.client
                .request(reqwest::Method::OPTIONS, app.url("/api/v1/pairs/x"))
                .header("origin", FRONT_END)
                .header("access-control-request-method", "PATCH")
                .header(
                    "access-control-request-headers",
                    "traceparent, tracestate, authorization, content-type, if-match, \
                     if-none-match, idempotency-key, x-request-id",
                ),
        )
        .await;
    assert_eq!(traced.status, 200, "{}", traced.text);
    let allowed = traced
        .header("access-control-allow-headers")
        .unwrap()
        .to_lowercase();
    for h in ["traceparent", "tracestate", "if-match", "x-request-id"] {
        assert!(allowed.contains(h), "{h} not in {allowed}");
    }

    let reply = app
        .send(
            app.client
                .get(app.url("/api/v1/programs"))
                .bearer_auth(app.as_coordinator())
                .header("origin", FRONT_END),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), Some(FRONT_END));
    let exposed = reply
        .header("access-control-expose-headers")
        .unwrap()
        .to_lowercase();
    for header in ["etag", "link", "location", "x-request-id"] {
        assert!(exposed.contains(header), "{header} not exposed: {exposed}");
    }
}

#[tokio::test]
async fn another_origin_is_not_allowed() {
    let app = spawn_app_with(Options::default().var("MENTORAT_CORS_ORIGINS", FRONT_END)).await;
    let reply = app
        .send(
            app.client
                .request(reqwest::Method::OPTIONS, app.url("/api/v1/programs"))
                .header("origin", "https://evil.example.com")
                .header("access-control-request-method", "GET"),
        )
        .await;
    assert!(reply.header("access-control-allow-origin").is_none());
    assert!(reply.status >= 400);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn nothing_is_allowed_when_no_origin_is_configured() {
    let app = spawn_app().await;
    let preflight = app
        .send(
            app.client
                .request(reqwest::Method::OPTIONS, app.url("/api/v1/programs"))
                .header("origin", FRONT_END)
                .header("access-control-request-method", "GET"),
        )
        .await;
    assert!(preflight.header("access-control-allow-origin").is_none());
    let reply = app
        .send(
            app.client
                .get(app.url("/healthz"))
                .header("origin", FRONT_END),
        )
        .await;
    assert!(reply.header("access-control-allow-origin").is_none());
}
