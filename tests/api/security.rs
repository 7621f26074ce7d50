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
