use mentorat_tests::spawn_app;

#[tokio::test]
async fn healthz_answers_without_a_token() {
    let app = spawn_app().await;
    let reply = app.get("/healthz", None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["status"], "ok");
}

#[tokio::test]
async fn readyz_reports_the_database_and_turns_503_when_it_is_gone() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz", None).await.status, 200);

    app.db.close().await.expect("close the pool");

    app.get("/readyz", None)
        .await
        .problem(503, "database_unavailable");
    let coordinator = app.as_coordinator();
    let reply = app.get("/api/v1/programs", Some(&coordinator)).await;
    let body = reply.problem(503, "database_unavailable");
    assert_eq!(reply.header("retry-after"), Some("5"));
    let text = body.to_string().to_lowercase();
    for leak in ["sqlx", "pool", "sqlite", "postgres", "select"] {
        assert!(
            !text.contains(leak),
            "internal detail `{leak}` leaked: {text}"
        );
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    let coordinator = app.as_coordinator();
    app.create_program("Mentorat 2027").await;
    app.get("/api/v1/programs", Some(&coordinator)).await;
    app.get("/api/v1/programs", None).await;
    app.get("/nowhere", None).await;

    let reply = app.get("/metrics", None).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = reply.text;
    for line in [
        r#"mentorat_http_requests_total{method="POST",route="/api/v1/programs",status="201"} 1"#,
        r#"mentorat_http_requests_total{method="GET",route="/api/v1/programs",status="200"} 1"#,
        r#"mentorat_http_requests_total{method="GET",route="/api/v1/programs",status="401"} 1"#,
        r#"mentorat_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
    ] {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
    assert!(text.contains("mentorat_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_sane_one_is_kept() {
    let app = spawn_app().await;
    let generated = app.get("/healthz", None).await;
    let id = generated.header("x-request-id").expect("a request id");
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);

    let kept = app
        .send(
            app.client
                .get(app.url("/healthz"))
                .header("x-request-id", "lb-abc_123"),
        )
        .await;
    assert_eq!(kept.header("x-request-id"), Some("lb-abc_123"));

    let replaced = app
        .send(
            app.client
                .get(app.url("/healthz"))
                .header("x-request-id", "<script>"),
        )
        .await;
    assert_ne!(replaced.header("x-request-id"), Some("<script>"));
}

#[tokio::test]
async fn docs_are_served_with_every_asset_embedded() {
    let app = spawn_app().await;
    let redirect = app.get("/docs", None).await;
    assert_eq!(redirect.status, 308);
    assert_eq!(redirect.header("location"), Some("/docs/"));

    let page = app.get("/docs/", None).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    // Intranets have no CDN: nothing may be loaded from another host.
    for attr in ["src=\"http", "href=\"http", "src='http", "href='http"] {
        assert!(
            !page.text.contains(attr),
            "external asset in /docs/: {attr}"
        );
    }
    for asset in [
        "/docs/swagger-ui.css",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-initializer.js",
    ] {
        let reply = app.get(asset, None).await;
        assert_eq!(reply.status, 200, "{asset}");
        assert!(!reply.text.is_empty(), "{asset}");
    }
    let init = app.get("/docs/swagger-initializer.js", None).await;
    assert!(init.text.contains("/openapi.json"), "{}", init.text);
    // Swagger UI sends the document's URL to validator.swagger.io unless told not to, under
    // any host name but localhost: nothing leaves the intranet.
    assert!(
        init.text.contains(r#""validatorUrl": "none""#)
            || init.text.contains(r#""validatorUrl":"none""#),
        "{}",
        init.text
    );
}

/// The documentation is served as a CDN would (issue 13: the 1.5 MB bundle went out
/// uncompressed and uncached): gzip when asked for, a strong `ETag` that `If-None-Match`
/// answers with `304`, `Cache-Control` (an hour for the UI's files, revalidation for the
/// document and the page naming it).
#[tokio::test]
async fn docs_and_document_are_compressed_tagged_and_cacheable() {
    let app = spawn_app().await;
    // (the initializer is under a kilobyte: not worth compressing)
    for (path, cache, compressed) in [
        ("/docs/swagger-ui-bundle.js", "public, max-age=3600", true),
        ("/docs/swagger-ui.css", "public, max-age=3600", true),
        ("/docs/swagger-initializer.js", "no-cache", false),
        ("/openapi.json", "no-cache", true),
    ] {
        let plain = app.client.get(app.url(path)).send().await.expect("sent");
        assert_eq!(plain.status(), 200, "{path}");
        assert_eq!(plain.headers()["cache-control"], cache, "{path}");
        assert!(plain.headers().get("content-encoding").is_none(), "{path}");
        let tag = plain.headers()["etag"].to_str().unwrap().to_owned();
        assert!(
            tag.starts_with('"') && !tag.starts_with("W/"),
            "{path}: {tag}"
        );
        let plain_len = plain.bytes().await.unwrap().len();

        let gz = app
            .client
            .get(app.url(path))
            .header("accept-encoding", "gzip, br")
            .send()
            .await
            .expect("sent");
        assert_eq!(gz.status(), 200, "{path}");
        assert_eq!(gz.headers()["vary"], "Accept-Encoding", "{path}");
        assert_eq!(gz.headers()["etag"].to_str().unwrap(), tag, "{path}");
        let encoding = gz.headers().get("content-encoding").cloned();
        let gz_len = gz.bytes().await.unwrap().len();
        if compressed {
            assert_eq!(
                encoding.as_ref().map(|v| v.to_str().unwrap()),
                Some("gzip"),
                "{path}"
            );
            assert!(gz_len * 3 < plain_len, "{path}: {gz_len} of {plain_len}");
        } else {
            assert!(encoding.is_none(), "{path}");
        }

        let again = app
            .client
            .get(app.url(path))
            .header("if-none-match", &tag)
            .send()
            .await
            .expect("sent");
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"].to_str().unwrap(), tag, "{path}");
        assert!(again.bytes().await.unwrap().is_empty(), "{path}");
    }
    let missing = app.get("/docs/no-such-file.js", None).await;
    missing.problem(404, "not_found");
}

/// A write the database gives up for a concurrent one is `503 database_busy` with
/// `Retry-After: 1` — not a 500 — and the same request succeeds once the other is done.
/// Shown on SQLite, in every run of the suite (the PostgreSQL one too), where another writer
/// holding the file is easy to stage (PostgreSQL's deadlocks map the same way; see the unit
/// test in crates/persistence/src/error.rs).
#[tokio::test]
async fn a_write_given_up_for_a_concurrent_one_is_503_busy_and_can_be_sent_again() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app = mentorat_tests::spawn_app_with(mentorat_tests::Options::default().sqlite()).await;
    let person = serde_json::json!({"given_name": "Aïcha", "family_name": "Benali",
                                    "email": "aicha.benali@chu.example"});
    let put = || {
        app.send(
            app.client
                .put(app.url("/api/v1/people/by-external-id/E900"))
                .bearer_auth(app.as_hris())
                .json(&person),
        )
    };
    let other = sea_orm::Database::connect(&app.database_url)
        .await
        .expect("a second connection to the file");
    let holding = other.begin().await.expect("begin");
    holding
        .execute_unprepared("UPDATE programs SET name = name")
        .await
        .expect("take the write lock");
    let reply = put().await;
    // The embedded mode has one connection: when a background task (the webhook outbox's
    // poll writes every second) took it first and waits for the same lock, this request
    // waits for the connection instead, and its 5 s acquire timeout is `database_unavailable`
    // (`Retry-After: 5`); otherwise SQLite's own busy timeout is `database_busy` (1 s). Both
    // are the retryable 503 this test is about — never a 500, never SQLite's words.
    assert_eq!(reply.status, 503, "{}", reply.text);
    let body = reply.json();
    match body["code"].as_str() {
        Some("database_busy") => assert_eq!(reply.header("retry-after"), Some("1")),
        Some("database_unavailable") => assert_eq!(reply.header("retry-after"), Some("5")),
        other => panic!("a 503 that is neither busy nor unavailable: {other:?} {body}"),
    }
    assert!(
        !body.to_string().to_lowercase().contains("sqlite"),
        "{body}"
    );
    holding.rollback().await.expect("rollback");
    assert_eq!(put().await.status, 201);
}
