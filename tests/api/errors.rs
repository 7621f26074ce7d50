//! Every kind of bad input gets a problem document with its status, content type and code.

use mentorat_tests::spawn_app;
use serde_json::json;

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = spawn_app().await;
    app.get("/api/v1/nothing-here", None)
        .await
        .problem(404, "not_found");
    app.get("/", None).await.problem(404, "not_found");
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem_listing_the_allowed_ones() {
    let app = spawn_app().await;
    let reply = app
        .send(app.client.delete(app.url("/api/v1/programs")))
        .await;
    reply.problem(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET, POST"));

    let reply = app
        .send(
            app.client
                .put(app.url("/api/v1/programs/0190e5a8-0000-7000-8000-000000000000")),
        )
        .await;
    reply.problem(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET, PATCH"));

    let reply = app.send(app.client.post(app.url("/healthz"))).await;
    reply.problem(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET"));
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = spawn_app().await;
    let reply = app
        .send(
            app.client
                .post(app.url("/api/v1/programs"))
                .bearer_auth(app.as_coordinator())
                .header("content-type", "application/json")
                .body("{\"name\": "),
        )
        .await;
    reply.problem(400, "malformed_json");

    let trailing = app
        .send(
            app.client
                .post(app.url("/api/v1/programs"))
                .bearer_auth(app.as_coordinator())
                .header("content-type", "application/json")
                .body("{\"name\": \"x\"} {}"),
        )
        .await;
    trailing.problem(400, "malformed_json");
}

#[tokio::test]
async fn a_wrong_content_type_is_a_415_problem() {
    let app = spawn_app().await;
    for content_type in [Some("text/plain"), Some("application/xml"), None] {
        let mut request = app
            .client
            .post(app.url("/api/v1/programs"))
            .bearer_auth(app.as_coordinator())
            .body("{\"name\": \"x\"}");
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        app.send(request)
            .await
            .problem(415, "unsupported_media_type");
    }
    // A +json media type and a charset are fine.
    let reply = app
        .send(
            app.client
                .post(app.url("/api/v1/programs"))
                .bearer_auth(app.as_coordinator())
                .header(
                    "content-type",
                    "application/merge-patch+json; charset=utf-8",
                )
                .body("{\"name\": \"x\"}"),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

#[tokio::test]
async fn validation_failures_are_422_with_a_pointer_to_each_field() {
    let app = spawn_app().await;
    let coordinator = app.as_coordinator();
    let reply = app
        .post_json(
            "/api/v1/programs",
            Some(&coordinator),
            &json!({"name": "", "cadence_days": 0, "notice_hours": 1000}),
        )
        .await;
    let body = reply.problem(422, "validation_failed");
    let pointers: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(pointers, ["/cadence_days", "/name", "/notice_hours"]);
    assert!(
        body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("365")
    );

    // A rule across fields, checked by the domain.
    let reply = app
        .post_json(
            "/api/v1/programs",
            Some(&coordinator),
            &json!({"name": "x", "starts_on": "2027-06-01", "ends_on": "2027-01-01"}),
        )
        .await;
    let body = reply.problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["pointer"], "/ends_on");

    // The wrong type, a missing field, an unknown field: still 422, still a pointer.
    for (input, pointer) in [
        (
            json!({"name": "x", "cadence_days": "weekly"}),
            "/cadence_days",
        ),
        (json!({"description": "no name"}), "/name"),
        (json!({"name": "x", "colour": "blue"}), "/colour"),
        (
            json!({"name": "x", "starts_on": "next monday"}),
            "/starts_on",
        ),
        (json!("not an object"), ""),
    ] {
        let reply = app
            .post_json("/api/v1/programs", Some(&coordinator), &input)
            .await;
        let body = reply.problem(422, "validation_failed");
        assert_eq!(body["errors"][0]["pointer"], pointer, "{input}");
    }
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_a_413_problem() {
    let app = spawn_app().await;
    let big = format!(
        "{{\"name\": \"x\", \"description\": \"{}\"}}",
        "a".repeat((1 << 20) + 10)
    );
    let reply = app
        .send(
            app.client
                .post(app.url("/api/v1/programs"))
                .bearer_auth(app.as_coordinator())
                .header("content-type", "application/json")
                .body(big),
        )
        .await;
    reply.problem(413, "payload_too_large");
}

#[tokio::test]
async fn bad_query_parameters_are_problems() {
    let app = spawn_app().await;
    let coordinator = app.as_coordinator();
    for (query, pointer) in [
        ("limit=0", "/limit"),
        ("limit=201", "/limit"),
        ("cursor=%21%21", "/cursor"),
    ] {
        let reply = app
            .get(&format!("/api/v1/programs?{query}"), Some(&coordinator))
            .await;
        let body = reply.problem(422, "validation_failed");
        assert_eq!(body["errors"][0]["pointer"], pointer, "{query}");
    }
    app.get("/api/v1/programs?limit=ten", Some(&coordinator))
        .await
        .problem(400, "bad_request");
    app.get("/api/v1/programs?status=sleeping", Some(&coordinator))
        .await
        .problem(400, "bad_request");
}

#[tokio::test]
async fn a_malformed_id_in_the_path_is_a_404_problem() {
    let app = spawn_app().await;
    app.get("/api/v1/programs/not-a-uuid", Some(&app.as_coordinator()))
        .await
        .problem(404, "not_found");
}
