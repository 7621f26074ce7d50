//! Issue 16, concern follow-up (R12): the coordinators acknowledge and resolve a concern and
//! answer its author; the author sees what became of it; the other member never does.

use mentorat_tests::{TestApp, spawn_app};
use serde_json::{Value, json};

use crate::working_life::{Pair, active_pair, as_};

const WORDS: &str = "Mon binôme annule sans cesse nos rendez-vous";
const RESPONSE: &str = "Merci de nous avoir alertés : nous vous appelons cette semaine.";

async fn raise(app: &TestApp, pair: &Pair, who: &str) -> Value {
    let reply = app
        .post_json(
            &format!("/api/v1/pairs/{}/concerns", pair.id),
            Some(&as_(who)),
            &json!({"text": WORDS}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

fn path_of(pair: &Pair, concern: &Value) -> String {
    format!(
        "/api/v1/programs/{}/concerns/{}",
        pair.program,
        concern["id"].as_str().unwrap()
    )
}

#[tokio::test]
async fn a_coordinator_acknowledges_then_resolves_and_the_author_is_told() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let concern = raise(&app, &pair, "ME").await;
    assert_eq!(concern["status"], "open");
    assert!(concern["response"].is_null());
    let path = path_of(&pair, &concern);

    let read = app.get(&path, Some(&app.as_coordinator())).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json()["text"], WORDS);
    let tag = read.header("etag").unwrap().to_owned();

    let acked = app
        .patch_json(
            &path,
            Some(&app.as_coordinator()),
            Some(&tag),
            &json!({"status": "acknowledged", "response": RESPONSE}),
        )
        .await;
    assert_eq!(acked.status, 200, "{}", acked.text);
    let acked_body = acked.json();
    assert_eq!(acked_body["status"], "acknowledged");
    assert_eq!(acked_body["response"], RESPONSE);
    assert!(acked_body["acknowledged_at"].is_string());
    assert!(acked_body["resolved_at"].is_null());

    // The old tag no longer matches (judged after the change's own rules).
    app.patch_json(
        &path,
        Some(&app.as_coordinator()),
        Some(&tag),
        &json!({"status": "resolved"}),
    )
    .await
    .problem(412, "precondition_failed");

    let resolved = app
        .patch_json(
            &path,
            Some(&app.as_admin()),
            None,
            &json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    assert_eq!(resolved.json()["status"], "resolved");
    assert_eq!(resolved.json()["response"], RESPONSE, "kept");

    // The author is notified of each status reached, ids only.
    let notes = app
        .get("/api/v1/me/notifications", Some(&as_("ME")))
        .await
        .json();
    let kinds: Vec<&str> = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["subject_id"] == concern["id"])
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["concern.resolved", "concern.acknowledged"],
        "{notes}"
    );
    assert!(!notes.to_string().contains("alertés"), "{notes}");
    // The other member is told nothing.
    let theirs = app
        .get("/api/v1/me/notifications", Some(&as_("MR")))
        .await
        .json();
    assert!(!theirs.to_string().contains("concern"), "{theirs}");

    // Integrations get the events, ids only.
    let events = mentorat_persistence::outbox::all(app.db.conn(), 100)
        .await
        .unwrap();
    for kind in ["concern.acknowledged", "concern.resolved"] {
        let found: Vec<_> = events.iter().filter(|e| e.kind == kind).collect();
        assert_eq!(found.len(), 1, "{kind}");
        assert_eq!(found[0].payload["concern_id"], concern["id"]);
        let payload = found[0].payload.to_string();
        assert!(!payload.contains("alertés") && !payload.contains("binôme"));
    }
}

#[tokio::test]
async fn a_concern_never_goes_back_and_resolved_is_final() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let concern = raise(&app, &pair, "ME").await;
    let path = path_of(&pair, &concern);
    let coordinator = app.as_coordinator();
    // `open` is no step a coordinator takes.
    app.patch_json(&path, Some(&coordinator), None, &json!({"status": "open"}))
        .await
        .problem(422, "validation_failed");
    // Nothing to do is not a change.
    app.patch_json(&path, Some(&coordinator), None, &json!({}))
        .await
        .problem(422, "validation_failed");
    app.patch_json(&path, Some(&coordinator), None, &json!({"response": "  "}))
        .await
        .problem(422, "validation_failed");
    // Straight to resolved is allowed; then it is closed.
    let resolved = app
        .patch_json(
            &path,
            Some(&coordinator),
            None,
            &json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    assert!(resolved.json()["acknowledged_at"].is_string());
    let refused = app
        .patch_json(
            &path,
            Some(&coordinator),
            None,
            &json!({"status": "acknowledged"}),
        )
        .await
        .problem(409, "illegal_status_transition");
    assert!(
        refused["detail"].as_str().unwrap().contains("resolved"),
        "{refused}"
    );
    app.patch_json(
        &path,
        Some(&coordinator),
        None,
        &json!({"response": "Une autre réponse"}),
    )
    .await
    .problem(409, "illegal_status_transition");
    // A repeat of where it stands is harmless.
    let again = app
        .patch_json(
            &path,
            Some(&coordinator),
            None,
            &json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
}

#[tokio::test]
async fn only_coordinators_follow_a_concern_up_and_of_their_program() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let concern = raise(&app, &pair, "ME").await;
    let path = path_of(&pair, &concern);
    for token in [
        as_("ME"),
        as_("MR"),
        as_("OU"),
        app.as_hris(),
        app.as_analyst(),
    ] {
        app.get(&path, Some(&token)).await.problem(403, "forbidden");
        app.patch_json(
            &path,
            Some(&token),
            None,
            &json!({"status": "acknowledged"}),
        )
        .await
        .problem(403, "forbidden");
    }
    // Another program's id finds nothing.
    let other = app.create_program("Autre").await;
    let elsewhere = format!(
        "/api/v1/programs/{}/concerns/{}",
        other["id"].as_str().unwrap(),
        concern["id"].as_str().unwrap()
    );
    app.get(&elsewhere, Some(&app.as_coordinator()))
        .await
        .problem(404, "not_found");
    app.patch_json(
        &elsewhere,
        Some(&app.as_coordinator()),
        None,
        &json!({"status": "acknowledged"}),
    )
    .await
    .problem(404, "not_found");
}

#[tokio::test]
async fn the_author_sees_status_and_response_and_the_other_member_never_sees_the_concern() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let mine = raise(&app, &pair, "ME").await;
    app.patch_json(
        &path_of(&pair, &mine),
        Some(&app.as_coordinator()),
        None,
        &json!({"status": "acknowledged", "response": RESPONSE}),
    )
    .await;
    let list = format!("/api/v1/pairs/{}/concerns", pair.id);
    let seen = app.get(&list, Some(&as_("ME"))).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    let items = seen.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"], "acknowledged");
    assert_eq!(items[0]["response"], RESPONSE);
    assert_eq!(items[0]["text"], WORDS);
    // The other member is a member of the pair, and sees none of it.
    let theirs = app.get(&list, Some(&as_("MR"))).await;
    assert_eq!(theirs.status, 200, "{}", theirs.text);
    assert_eq!(theirs.json()["items"], json!([]));
    assert!(!theirs.text.contains("binôme") && !theirs.text.contains("alertés"));
    // Their own concern is theirs only.
    raise(&app, &pair, "MR").await;
    let theirs = app.get(&list, Some(&as_("MR"))).await.json();
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
    let mine = app.get(&list, Some(&as_("ME"))).await.json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    // Outside the pair: confidential to coordinators, not found to anyone else.
    app.get(&list, Some(&app.as_coordinator()))
        .await
        .problem(403, "confidential");
    for token in [as_("OU"), app.as_hris(), app.as_analyst()] {
        app.get(&list, Some(&token)).await.problem(404, "not_found");
    }
}

#[tokio::test]
async fn reading_and_answering_a_concern_is_audited_without_its_words() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let concern = raise(&app, &pair, "ME").await;
    let path = path_of(&pair, &concern);
    assert_eq!(
        app.get(&path, Some(&app.as_coordinator())).await.status,
        200
    );
    let answered = app
        .patch_json(
            &path,
            Some(&app.as_coordinator()),
            None,
            &json!({"response": RESPONSE}),
        )
        .await;
    assert_eq!(answered.status, 200, "{}", answered.text);
    assert_eq!(
        answered.json()["status"],
        "open",
        "a response alone moves nothing"
    );
    let log = app
        .get("/api/v1/audit-events?limit=200", Some(&app.as_admin()))
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    assert!(!log.text.contains("binôme") && !log.text.contains("alertés"));
    let events = log.json()["items"].as_array().unwrap().clone();
    for action in ["read_concern", "update_concern"] {
        let e = events
            .iter()
            .find(|e| e["actor"] == "C001" && e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {events:?}"));
        assert_eq!(e["outcome"], "allowed");
    }
}

#[tokio::test]
async fn erasing_the_author_destroys_the_response_too() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let concern = raise(&app, &pair, "ME").await;
    let path = path_of(&pair, &concern);
    app.patch_json(
        &path,
        Some(&app.as_coordinator()),
        None,
        &json!({"status": "acknowledged", "response": RESPONSE}),
    )
    .await;
    let author = concern["author_id"].as_str().unwrap();
    let erased = app
        .post_json(
            &format!("/api/v1/people/{author}/erasure"),
            Some(&app.as_admin()),
            &json!({}),
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.text);
    let after = app.get(&path, Some(&app.as_coordinator())).await;
    assert_eq!(after.status, 200, "{}", after.text);
    let body = after.json();
    assert_eq!(body["text"], "");
    assert!(body["response"].is_null(), "{body}");
    assert_eq!(
        body["status"], "acknowledged",
        "the follow-up's metadata stays"
    );
    // Not in the database either, under any key.
    use sea_orm::ConnectionTrait;
    let rows = app
        .db
        .conn()
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.conn().get_database_backend(),
            "SELECT response FROM concerns",
        ))
        .await
        .unwrap();
    for row in rows {
        let stored: Option<String> = row.try_get("", "response").unwrap();
        assert_eq!(stored.as_deref(), Some("enc:erased"));
    }
}
