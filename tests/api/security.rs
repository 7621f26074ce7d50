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
