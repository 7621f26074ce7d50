//! Confidentiality by construction (R5, R6, R12): notes, concerns, the audit log, no
//! plaintext at rest, no content in logs, and key rotation.

use mentorat_tests::{Options, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};

use crate::working_life::{active_pair, as_, propose_objective, schedule, video_at};

/// Planted in every kind of content; must never show where it does not belong.
const SECRET: &str = "SECRET-binôme-4242";

pub(crate) async fn note(
    app: &TestApp,
    pair: &str,
    who: &str,
    visibility: &str,
    body: &str,
) -> Value {
    let reply = app
        .post_json(
            &format!("/api/v1/pairs/{pair}/notes"),
            Some(&as_(who)),
            &json!({"body": body, "visibility": visibility}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

#[tokio::test]
async fn notes_are_private_or_shared_and_only_their_author_changes_them() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let private = note(&app, &pair.id, "ME", "private", "Ce que je n'ose pas dire").await;
    let shared = note(&app, &pair.id, "ME", "shared", "Ce que nous avons décidé").await;
    let path = |n: &Value| {
        format!(
            "/api/v1/pairs/{}/notes/{}",
            pair.id,
            n["id"].as_str().unwrap()
        )
    };

    // The other member: the shared note, never the private one — not even that it exists.
    let theirs = app
        .get(
            &format!("/api/v1/pairs/{}/notes", pair.id),
            Some(&as_("MR")),
        )
        .await
        .json();
    let ids: Vec<&Value> = theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["id"])
        .collect();
    assert_eq!(ids, [&shared["id"]]);
    app.get(&path(&private), Some(&as_("MR")))
        .await
        .problem(404, "not_found");
    assert_eq!(app.get(&path(&shared), Some(&as_("MR"))).await.status, 200);
    let mine = app
        .get(
            &format!("/api/v1/pairs/{}/notes", pair.id),
            Some(&as_("ME")),
        )
        .await
        .json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);

    // R6: nobody edits or deletes another person's note.
    app.patch_json(
        &path(&shared),
        Some(&as_("MR")),
        None,
        &json!({"body": "réécrit"}),
    )
    .await
    .problem(403, "not_author");
    app.delete(&path(&shared), Some(&as_("MR")))
        .await
        .problem(403, "not_author");
    app.patch_json(
        &path(&private),
        Some(&as_("MR")),
        None,
        &json!({"body": "x"}),
    )
    .await
    .problem(404, "not_found");
    let tag = app
        .get(&path(&shared), Some(&as_("ME")))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let changed = app
        .patch_json(
            &path(&shared),
            Some(&as_("ME")),
            Some(&tag),
            &json!({"visibility": "private"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    app.patch_json(
        &path(&shared),
        Some(&as_("ME")),
        Some(&tag),
        &json!({"body": "encore"}),
    )
    .await
    .problem(412, "precondition_failed");
    // Now private: gone for the other member.
    app.get(&path(&shared), Some(&as_("MR")))
        .await
        .problem(404, "not_found");
    let bad = app
        .post_json(
            &format!("/api/v1/pairs/{}/notes", pair.id),
            Some(&as_("ME")),
            &json!({"body": "x".repeat(20_001), "visibility": "shared"}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(bad["errors"][0]["pointer"], "/body");
    assert_eq!(
        app.delete(&path(&private), Some(&as_("ME"))).await.status,
        204
    );
    app.get(&path(&private), Some(&as_("ME")))
        .await
        .problem(404, "not_found");

    // Everyone else: confidential for coordinators and admins, nothing at all for the rest.
    for (token, status, code) in [
        (app.as_coordinator(), 403, "confidential"),
        (app.as_admin(), 403, "confidential"),
        (as_("OU"), 404, "not_found"),
        (app.as_hris(), 404, "not_found"),
        (app.as_analyst(), 404, "not_found"),
    ] {
        app.get(&format!("/api/v1/pairs/{}/notes", pair.id), Some(&token))
            .await
            .problem(status, code);
        app.get(&path(&shared), Some(&token))
            .await
            .problem(status, code);
        app.post_json(
            &format!("/api/v1/pairs/{}/notes", pair.id),
            Some(&token),
            &json!({"body": "x", "visibility": "shared"}),
        )
        .await
        .problem(status, code);
        app.delete(&path(&shared), Some(&token))
            .await
            .problem(status, code);
    }
}

#[tokio::test]
async fn a_concern_reaches_the_coordinators_and_nobody_else() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let raised = app
        .post_json(
            &format!("/api/v1/pairs/{}/concerns", pair.id),
            Some(&as_("ME")),
            &json!({"text": "Nos rendez-vous sont sans cesse annulés"}),
        )
        .await;
    assert_eq!(raised.status, 201, "{}", raised.text);
    let concern = raised.json();
    let path = format!("/api/v1/programs/{}/concerns", pair.program);
    for token in [app.as_coordinator(), app.as_admin()] {
        let list = app.get(&path, Some(&token)).await.json();
        assert_eq!(
            list["items"][0]["text"],
            "Nos rendez-vous sont sans cesse annulés"
        );
        assert_eq!(list["items"][0]["pair_id"], pair.id.as_str());
        // The coordinators' desk is told: ids only.
        let notes = app
            .get("/api/v1/me/notifications", Some(&token))
            .await
            .json();
        assert_eq!(notes["items"][0]["kind"], "concern.raised", "{notes}");
        assert_eq!(notes["items"][0]["subject_id"], concern["id"]);
        assert!(!notes.to_string().contains("annulés"));
    }
    for token in [as_("MR"), as_("ME"), app.as_hris(), app.as_analyst()] {
        app.get(&path, Some(&token)).await.problem(403, "forbidden");
    }
    // The other member is not told.
    let theirs = app
        .get("/api/v1/me/notifications", Some(&as_("MR")))
        .await
        .json();
    assert!(!theirs.to_string().contains("concern"), "{theirs}");
    // Nobody outside the pair raises one for it.
    app.post_json(
        &format!("/api/v1/pairs/{}/concerns", pair.id),
        Some(&as_("OU")),
        &json!({"text": "x"}),
    )
    .await
    .problem(404, "not_found");
    let events = mentorat_persistence::outbox::all(app.db.conn(), 100)
        .await
        .unwrap();
    let raised: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "concern.raised")
        .collect();
    assert_eq!(raised.len(), 1);
    assert!(!raised[0].payload.to_string().contains("annulés"));
}

#[tokio::test]
async fn the_audit_log_keeps_who_read_what_and_who_was_refused_never_the_content() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let objective = propose_objective(&app, &pair, "ME", SECRET).await.json();
    let path = format!(
        "/api/v1/pairs/{}/objectives/{}",
        pair.id,
        objective["id"].as_str().unwrap()
    );
    assert_eq!(app.get(&path, Some(&as_("MR"))).await.status, 200);
    app.get(&path, Some(&app.as_coordinator()))
        .await
        .problem(403, "confidential");
    app.get(&path, Some(&as_("OU")))
        .await
        .problem(404, "not_found");

    let log = app
        .get("/api/v1/audit-events?limit=200", Some(&app.as_admin()))
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    assert!(!log.text.contains(SECRET));
    let events = log.json()["items"].as_array().unwrap().clone();
    let find = |actor: &str, action: &str| {
        events
            .iter()
            .find(|e| e["actor"] == actor && e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} by {actor} in {events:?}"))
            .clone()
    };
    let read = find("MR", "read_objective");
    assert_eq!(read["outcome"], "allowed");
    assert_eq!(read["resource_id"], objective["id"]);
    assert_eq!(read["pair_id"], pair.id.as_str());
    assert_eq!(
        read["route"],
        "/api/v1/pairs/{id}/objectives/{objective_id}"
    );
    let refused = find("C001", "read_objective");
    assert_eq!(refused["outcome"], "denied");
    assert_eq!(refused["status"], 403);
    assert_eq!(find("OU", "read_objective")["outcome"], "denied");
    assert_eq!(find("ME", "propose_objective")["status"], 201);
    // Coordinator actions are kept whatever they touch.
    assert_eq!(find("C001", "propose_pair")["outcome"], "allowed");
    // Filters, and the log is the admins' only.
    let mine = app
        .get("/api/v1/audit-events?actor=OU", Some(&app.as_admin()))
        .await
        .json();
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == "OU")
    );
    for token in [
        app.as_coordinator(),
        app.as_hris(),
        app.as_analyst(),
        as_("ME"),
    ] {
        app.get("/api/v1/audit-events", Some(&token))
            .await
            .problem(403, "forbidden");
    }
    // Append-only: the database itself refuses to rewrite history.
    use sea_orm::ConnectionTrait;
    for sql in [
        "UPDATE audit_events SET actor = 'nobody'",
        "DELETE FROM audit_events",
    ] {
        assert!(
            app.db.conn().execute_unprepared(sql).await.is_err(),
            "{sql}"
        );
    }
}

/// Plant the secret in every content field there is.
async fn plant_everywhere(app: &TestApp) -> crate::working_life::Pair {
    let pair = active_pair(app).await;
    let objective = propose_objective(app, &pair, "ME", SECRET).await.json();
    let reply = app
        .patch_json(
            &format!(
                "/api/v1/pairs/{}/objectives/{}",
                pair.id,
                objective["id"].as_str().unwrap()
            ),
            Some(&as_("ME")),
            None,
            &json!({"description": SECRET, "success_criteria": SECRET, "comment": SECRET}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let mut meeting = video_at(24);
    meeting["agenda"] = json!(SECRET);
    meeting["mode"] = json!("in_person");
    meeting["location"] = json!({"kind": "workplace", "label": SECRET});
    let meeting = schedule(app, &pair, "MR", meeting).await.json();
    app.post_json(
        &format!(
            "/api/v1/pairs/{}/meetings/{}/cancel",
            pair.id,
            meeting["id"].as_str().unwrap()
        ),
        Some(&as_("MR")),
        &json!({"reason": SECRET}),
    )
    .await;
    note(app, &pair.id, "ME", "private", SECRET).await;
    // An idempotent answer is kept too: it carries the note back.
    let kept = app
        .send(
            app.client
                .post(app.url(&format!("/api/v1/pairs/{}/notes", pair.id)))
                .bearer_auth(as_("MR"))
                .header("idempotency-key", "note-1")
                .json(&json!({"body": SECRET, "visibility": "shared"})),
        )
        .await;
    assert_eq!(kept.status, 201, "{}", kept.text);
    app.post_json(
        &format!("/api/v1/pairs/{}/concerns", pair.id),
        Some(&as_("ME")),
        &json!({"text": SECRET}),
    )
    .await;
    let ended = app
        .post_json(
            &format!("/api/v1/pairs/{}/end", pair.id),
            Some(&as_("ME")),
            &json!({"reason_category": "other", "reason_text": SECRET}),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert_eq!(ended.json()["end_reason_text"], SECRET);
    pair
}

#[tokio::test]
async fn no_content_is_stored_in_plaintext() {
    let app = spawn_app().await;
    plant_everywhere(&app).await;
    if let Some(path) = app.database_url.strip_prefix("sqlite://") {
        // The database file itself, and its write-ahead log, byte for byte.
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        let needle = SECRET.as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "plaintext found in the SQLite file"
        );
        assert!(bytes.windows(7).any(|w| w == b"enc:v3:"), "nothing sealed?");
    } else {
        // Every row of every table, as PostgreSQL prints it.
        use sea_orm::{ConnectionTrait, Statement};
        let conn = app.db.conn();
        let tables = conn
            .query_all_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
            ))
            .await
            .unwrap();
        assert!(tables.len() > 10);
        for t in tables {
            let table: String = t.try_get("", "tablename").unwrap();
            let rows = conn
                .query_all_raw(Statement::from_string(
                    conn.get_database_backend(),
                    format!("SELECT CAST(t AS text) AS row FROM \"{table}\" t"),
                ))
                .await
                .unwrap();
            for r in rows {
                let row: String = r.try_get("", "row").unwrap();
                assert!(!row.contains(SECRET), "plaintext in {table}: {row}");
            }
        }
    }
}

#[tokio::test]
async fn no_content_reaches_the_logs_even_at_debug_level() {
    let captured = mentorat_tests::captured_logs();
    let app = spawn_app().await;
    let pair = plant_everywhere(&app).await;
    // ...and read it all back, as members do.
    for what in ["objectives", "meetings", "notes"] {
        let reply = app
            .get(
                &format!("/api/v1/pairs/{}/{what}", pair.id),
                Some(&as_("ME")),
            )
            .await;
        assert!(reply.text.contains(SECRET), "{what}: {}", reply.text);
    }
    // A calendar feed's secret is a credential: fetched, never logged.
    let feed = app
        .post_json("/api/v1/me/calendar-feed", Some(&as_("ME")), &json!({}))
        .await
        .json();
    let url = feed["url"].as_str().unwrap().to_owned();
    let token = url
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".ics")
        .to_owned();
    let fetched = app
        .get(&format!("/api/v1/calendar/{token}.ics"), None)
        .await;
    assert_eq!(fetched.status, 200);
    let text = captured.text();
    assert!(!text.contains(&token), "a calendar secret in the logs");
    assert!(text.lines().count() > 20, "{text}");
    assert!(text.contains("note written"));
    assert!(!text.contains(SECRET), "content in the logs");
    assert!(!text.contains("SECRET-bin"), "content in the logs");
}

#[tokio::test]
async fn rotating_the_key_keeps_every_value_readable() {
    use base64::Engine;
    let b64 = |n: u8| base64::engine::general_purpose::STANDARD.encode([n; 32]);
    let old = spawn_app_with(Options::default().var("MENTORAT_ENCRYPTION_KEY", b64(1))).await;
    let pair = plant_everywhere(&old).await;
    let url = old.database_url.clone();

    // Rotate with the new key first and the old one kept to read.
    let ring = mentorat_persistence::Keyring::parse(&format!("{},{}", b64(2), b64(1))).unwrap();
    let db = mentorat_persistence::Db::connect(&url, ring).await.unwrap();
    let report = mentorat_persistence::rotation::rotate(db.conn(), db.keys())
        .await
        .unwrap();
    let total: u64 = report.iter().map(|(_, n)| n).sum();
    assert!(total >= 10, "{report:?}");
    // A second run has nothing left to do.
    let again = mentorat_persistence::rotation::rotate(db.conn(), db.keys())
        .await
        .unwrap();
    assert!(again.iter().all(|(_, n)| *n == 0), "{again:?}");

    // A server that holds only the new key reads everything.
    let new = spawn_app_with(
        Options::default()
            .var("MENTORAT_DATABASE_URL", url)
            .var("MENTORAT_ENCRYPTION_KEY", b64(2)),
    )
    .await;
    for (what, who) in [("objectives", "ME"), ("meetings", "MR"), ("notes", "ME")] {
        let reply = new
            .get(
                &format!("/api/v1/pairs/{}/{what}", pair.id),
                Some(&as_(who)),
            )
            .await;
        assert_eq!(reply.status, 200, "{what}: {}", reply.text);
        assert!(reply.text.contains(SECRET), "{what}: {}", reply.text);
    }
    let pair_view = new
        .get(&format!("/api/v1/pairs/{}", pair.id), Some(&as_("ME")))
        .await
        .json();
    assert_eq!(pair_view["end_reason_text"], SECRET);
    // The old key alone no longer opens anything: it does not even start (issue 11).
    let stale = new
        .command(
            &["serve"],
            Options::default().var("MENTORAT_ENCRYPTION_KEY", b64(1)),
            std::time::Duration::from_secs(60),
        )
        .expect("refused at start");
    assert_eq!(stale.exit_code, 2, "{stale:?}");
    assert!(
        stale.stderr.contains("MENTORAT_ENCRYPTION_KEY") && !stale.stderr.contains("enc:v"),
        "{stale:?}"
    );
}

/// A replayed answer can carry a pair's words (a note's body): the replay is in the audit log
/// like the first answer, with the same operation, resource and pair — never the words.
#[tokio::test]
async fn a_replayed_answer_is_audited_like_the_first() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let send = || {
        app.send(
            app.client
                .post(app.url(&format!("/api/v1/pairs/{}/notes", pair.id)))
                .bearer_auth(as_("ME"))
                .header("idempotency-key", "note-1")
                .json(&json!({"body": SECRET, "visibility": "shared"})),
        )
    };
    let first = send().await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = send().await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.header("idempotency-replayed"), Some("true"));
    assert_eq!(again.json()["body"], SECRET);

    let log = app
        .get(
            "/api/v1/audit-events?actor=ME&limit=200",
            Some(&app.as_admin()),
        )
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    assert!(!log.text.contains(SECRET));
    let writes: Vec<Value> = log.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["route"] == "/api/v1/pairs/{id}/notes" && e["method"] == "POST")
        .cloned()
        .collect();
    assert_eq!(writes.len(), 2, "{writes:?}");
    for event in &writes {
        assert_eq!(event["pair_id"], pair.id.as_str());
        assert_eq!(event["status"], 201);
        assert_eq!(event["outcome"], "allowed");
        assert_eq!(event["action"], writes[0]["action"]);
    }
    let ids: Vec<&str> = writes
        .iter()
        .map(|e| {
            e["request_id"]
                .as_str()
                .expect("every event carries its request id")
        })
        .collect();
    assert_ne!(ids[0], ids[1]);
}

/// A pair's own answer carries its end-reason words to its members (R5, R9): ending a pair and
/// reading it are in the audit log like any read of content — the words are not.
#[tokio::test]
async fn ending_and_reading_a_pair_are_audited_without_the_words() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let ended = app
        .post_json(
            &format!("/api/v1/pairs/{}/end", pair.id),
            Some(&as_("ME")),
            &json!({"reason_category": "other", "reason_text": SECRET}),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    let read = app
        .get(&format!("/api/v1/pairs/{}", pair.id), Some(&as_("MR")))
        .await;
    assert_eq!(read.json()["end_reason_text"], SECRET);
    let log = app
        .get(
            &format!("/api/v1/audit-events?pair_id={}&limit=200", pair.id),
            Some(&app.as_admin()),
        )
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    assert!(!log.text.contains(SECRET));
    let events = log.json()["items"].as_array().unwrap().clone();
    for (actor, action) in [("ME", "end_pair"), ("MR", "read_pair")] {
        let event = events
            .iter()
            .find(|e| e["actor"] == actor && e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} by {actor} in {events:?}"));
        assert_eq!(event["outcome"], "allowed");
        assert!(event["request_id"].is_string(), "{event}");
    }
}
