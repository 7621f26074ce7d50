//! `Idempotency-Key` on POST: a connector's retry never creates twice.

use mentorat_tests::{spawn_app, token};
use serde_json::{Value, json};

async fn post(
    app: &mentorat_tests::TestApp,
    bearer: &str,
    key: &str,
    body: &Value,
) -> mentorat_tests::Reply {
    app.send(
        app.client
            .post(app.url("/api/v1/programs"))
            .bearer_auth(bearer)
            .header("idempotency-key", key)
            .json(body),
    )
    .await
}

async fn count_programs(app: &mentorat_tests::TestApp) -> usize {
    app.get("/api/v1/programs?limit=200", Some(&app.as_coordinator()))
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_retry_with_the_same_key_replays_the_first_answer() {
    let app = spawn_app().await;
    let coordinator = app.as_coordinator();
    let body = json!({"name": "Mentorat 2027"});
    let first = post(&app, &coordinator, "retry-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(first.header("idempotency-replayed").is_none());

    let second = post(&app, &coordinator, "retry-1", &body).await;
    assert_eq!(second.status, 201);
    assert_eq!(second.header("idempotency-replayed"), Some("true"));
    assert_eq!(second.json(), first.json());
    assert_eq!(second.header("location"), first.header("location"));
    assert_eq!(second.header("etag"), first.header("etag"));
    assert_eq!(count_programs(&app).await, 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_409() {
    let app = spawn_app().await;
    let coordinator = app.as_coordinator();
    post(&app, &coordinator, "k", &json!({"name": "A"})).await;
    post(&app, &coordinator, "k", &json!({"name": "B"}))
        .await
        .problem(409, "idempotency_key_reused");
    assert_eq!(count_programs(&app).await, 1);
}

#[tokio::test]
async fn keys_are_scoped_to_the_caller() {
    let app = spawn_app().await;
    let body = json!({"name": "Same"});
    let a = post(&app, &token("C001", &["coordinator"]), "shared-key", &body).await;
    let b = post(&app, &token("C002", &["coordinator"]), "shared-key", &body).await;
    assert_eq!((a.status, b.status), (201, 201));
    assert!(b.header("idempotency-replayed").is_none());
    assert_ne!(a.json()["id"], b.json()["id"]);
}

#[tokio::test]
async fn a_refused_request_is_replayed_as_refused() {
    let app = spawn_app().await;
    let coordinator = app.as_coordinator();
    let body = json!({"name": ""});
    let first = post(&app, &coordinator, "bad", &body).await;
    first.problem(422, "validation_failed");
    let second = post(&app, &coordinator, "bad", &body).await;
    second.problem_replayed(422, "validation_failed");
    assert_eq!(count_programs(&app).await, 0);
}

#[tokio::test]
async fn concurrent_retries_create_once() {
    let app = spawn_app().await;
    let coordinator = app.as_coordinator();
    let body = json!({"name": "Raced"});
    let (a, b, c) = tokio::join!(
        post(&app, &coordinator, "race", &body),
        post(&app, &coordinator, "race", &body),
        post(&app, &coordinator, "race", &body),
    );
    let statuses = [a.status, b.status, c.status];
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201));
    assert_eq!(count_programs(&app).await, 1);
}

#[tokio::test]
async fn a_malformed_key_is_400() {
    let app = spawn_app().await;
    let long = "k".repeat(256);
    let body = post(&app, &app.as_coordinator(), &long, &json!({"name": "x"}))
        .await
        .problem(400, "invalid_idempotency_key");
    assert!(body["detail"].as_str().unwrap().contains("255"), "{body}");
}

#[tokio::test]
async fn without_a_valid_token_the_key_changes_nothing() {
    let app = spawn_app().await;
    let reply = post(&app, "not-a-token", "k", &json!({"name": "x"})).await;
    reply.problem(401, "unauthorized");
}
