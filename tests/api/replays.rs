//! A replay never returns words that were deleted since (API.md, additions), and the
//! idempotency store keeps no secret the service keeps nowhere else: after a `DELETE` or a
//! `PATCH` of what a keyed `POST` created, its replay is `409 idempotency_key_reused` — not
//! the deleted words, and not the work done again.

use mentorat_tests::{Options, Reply, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};

use crate::working_life::{active_pair, as_, propose_objective, video_at};

const WORDS: &str = "MOTS-EFFACÉS-7781";

async fn keyed(app: &TestApp, token: &str, path: &str, key: &str, body: &Value) -> Reply {
    app.send(
        app.client
            .post(app.url(path))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(body),
    )
    .await
}

/// The stored body of a key, as the database holds it (`None`: not kept).
async fn stored_body(app: &TestApp, key: &str) -> Option<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let conn = app.db.conn();
    let backend = conn.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => "SELECT response_body FROM idempotency_keys WHERE key = $1",
        _ => "SELECT response_body FROM idempotency_keys WHERE key = ?",
    };
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            vec![key.into()],
        ))
        .await
        .unwrap()
        .expect("the key is stored");
    row.try_get::<Option<String>>("", "response_body").unwrap()
}

#[tokio::test]
async fn a_replay_after_the_note_was_deleted_returns_no_words() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let path = format!("/api/v1/pairs/{}/notes", pair.id);
    let body = json!({"body": WORDS, "visibility": "private"});
    let first = keyed(&app, &as_("ME"), &path, "note-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let note = first.json()["id"].as_str().unwrap().to_owned();
    // Before the delete, a retry replays (exactly once).
    let again = keyed(&app, &as_("ME"), &path, "note-1", &body).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotency-replayed"), Some("true"));

    // Deleted through an id spelled in capitals: the same note.
    let deleted = app
        .delete(&format!("{path}/{}", note.to_uppercase()), Some(&as_("ME")))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(
        stored_body(&app, "note-1").await,
        None,
        "destroyed with the note"
    );

    let replay = keyed(&app, &as_("ME"), &path, "note-1", &body).await;
    replay.problem(409, "idempotency_key_reused");
    assert!(!replay.text.contains(WORDS), "{}", replay.text);
    // Not done again either: the note stays deleted.
    let mine = app.get(&path, Some(&as_("ME"))).await.json();
    assert_eq!(mine["items"], json!([]), "{mine}");
    // A new key writes a new note.
    let fresh = keyed(&app, &as_("ME"), &path, "note-2", &body).await;
    assert_eq!(fresh.status, 201, "{}", fresh.text);
}

#[tokio::test]
async fn a_replay_after_an_edit_returns_no_words_it_replaced() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let notes = format!("/api/v1/pairs/{}/notes", pair.id);
    let body = json!({"body": WORDS, "visibility": "shared"});
    let first = keyed(&app, &as_("ME"), &notes, "note-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let note = first.json()["id"].as_str().unwrap().to_owned();
    // Another keyed answer of the same pair, about another resource: it stays replayable.
    let plan = video_at(48);
    let meeting = keyed(
        &app,
        &as_("MR"),
        &format!("/api/v1/pairs/{}/meetings", pair.id),
        "meeting-1",
        &plan,
    )
    .await;
    assert_eq!(meeting.status, 201, "{}", meeting.text);

    let edited = app
        .patch_json(
            &format!("{notes}/{note}"),
            Some(&as_("ME")),
            None,
            &json!({"body": "autre chose"}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    let replay = keyed(&app, &as_("ME"), &notes, "note-1", &body).await;
    replay.problem(409, "idempotency_key_reused");
    assert!(!replay.text.contains(WORDS));

    let other = keyed(
        &app,
        &as_("MR"),
        &format!("/api/v1/pairs/{}/meetings", pair.id),
        "meeting-1",
        &plan,
    )
    .await;
    assert_eq!(other.status, 201, "{}", other.text);
    assert_eq!(other.header("idempotency-replayed"), Some("true"));
}

/// An action's answer carries its resource too: agreeing to an objective answers the
/// objective (its title included); a later edit of the objective destroys that stored answer.
#[tokio::test]
async fn an_actions_answer_goes_with_its_resource() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let proposed = propose_objective(&app, &pair, "ME", WORDS).await;
    assert_eq!(proposed.status, 201, "{}", proposed.text);
    let id = proposed.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/pairs/{}/objectives/{id}", pair.id);
    let agreed = keyed(
        &app,
        &as_("MR"),
        &format!("{path}/agree"),
        "agree-1",
        &json!({}),
    )
    .await;
    assert_eq!(agreed.status, 200, "{}", agreed.text);
    assert!(agreed.text.contains(WORDS));
    assert!(stored_body(&app, "agree-1").await.is_some());
    let edited = app
        .patch_json(
            &path,
            Some(&as_("ME")),
            None,
            &json!({"title": "Un autre titre"}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(stored_body(&app, "agree-1").await, None);
    let replay = keyed(
        &app,
        &as_("MR"),
        &format!("{path}/agree"),
        "agree-1",
        &json!({}),
    )
    .await;
    replay.problem(409, "idempotency_key_reused");
    assert!(!replay.text.contains(WORDS));
}

#[tokio::test]
async fn a_calendar_secret_is_never_kept_for_replay() {
    let app = spawn_app().await;
    active_pair(&app).await;
    let first = keyed(
        &app,
        &as_("ME"),
        "/api/v1/me/calendar-feed",
        "feed-1",
        &json!({}),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let url = first.json()["url"].as_str().unwrap().to_owned();
    assert_eq!(
        stored_body(&app, "feed-1").await,
        None,
        "the secret is not stored"
    );

    let replay = keyed(
        &app,
        &as_("ME"),
        "/api/v1/me/calendar-feed",
        "feed-1",
        &json!({}),
    )
    .await;
    replay.problem(409, "idempotency_key_reused");
    assert!(!replay.text.contains(url.rsplit('/').next().unwrap()));
    // Not done again: the first secret still works.
    let feed = app.get(&url[url.find("/api/v1/").unwrap()..], None).await;
    assert_eq!(feed.status, 200, "{}", feed.text);
}

#[tokio::test]
async fn a_deleted_webhooks_secret_is_not_replayed() {
    let app =
        spawn_app_with(Options::default().var("MENTORAT_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8"))
            .await;
    let body = json!({"url": "http://127.0.0.1:9/hook", "events": ["pair.proposed"]});
    let created = keyed(&app, &app.as_admin(), "/api/v1/webhooks", "hook-1", &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let hook = created.json();
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let deleted = app
        .delete(
            &format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap()),
            Some(&app.as_admin()),
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let replay = keyed(&app, &app.as_admin(), "/api/v1/webhooks", "hook-1", &body).await;
    replay.problem(409, "idempotency_key_reused");
    assert!(!replay.text.contains(&secret));
}
