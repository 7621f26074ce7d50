//! R14 erasure and retention (issue 15). `POST /people/{id}/erasure` [admin] destroys every
//! word the person wrote wherever it was kept — answers to anyone, stored replays, the
//! database itself (scanned, and every sealed value decrypted with the service's key) —
//! while the other member's words, the pairs and the report figures stay. The retention task
//! destroys the words of pairs ended long enough ago (time moved as the suite moves it).

use std::time::Duration;

use mentorat_tests::{Options, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};

use crate::confidentiality::note;
use crate::working_life::{
    Pair, active_pair, as_, propose_objective, schedule, started_hours_ago, video_at,
};

/// The mentee ME's words, planted everywhere ME can write.
pub(crate) const ME_WORDS: &str = "MOTS-DE-ME-7731";
/// ME's goals at an enrollment: a plain column (the coordinator writes it at enrollment).
pub(crate) const ME_GOALS: &str = "BUTS-DE-ME-6604";
/// The mentor MR's words: they must survive ME's erasure.
pub(crate) const MR_WORDS: &str = "MOTS-DE-MR-4402";

pub(crate) async fn person_id(app: &TestApp, external_id: &str) -> String {
    let people = app
        .get("/api/v1/people?limit=200", Some(&app.as_coordinator()))
        .await
        .json();
    people["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["external_id"] == external_id)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) async fn keyed_post(
    app: &TestApp,
    path: &str,
    who: &str,
    key: &str,
    body: &Value,
) -> mentorat_tests::Reply {
    app.send(
        app.client
            .post(app.url(path))
            .bearer_auth(as_(who))
            .header("idempotency-key", key)
            .json(body),
    )
    .await
}

/// Everything ME and MR write, ME's words in every column ME can reach.
pub(crate) async fn plant(app: &TestApp) -> (Pair, String) {
    let pair = active_pair(app).await;
    let p = &pair.id;
    // ME's objective, then rewritten by ME with a comment; MR's own objective.
    let mine = propose_objective(app, &pair, "ME", ME_WORDS).await.json();
    let mine_id = mine["id"].as_str().unwrap().to_owned();
    let edited = app
        .patch_json(
            &format!("/api/v1/pairs/{p}/objectives/{mine_id}"),
            Some(&as_("ME")),
            None,
            &json!({"description": ME_WORDS, "success_criteria": ME_WORDS, "comment": ME_WORDS}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    let theirs = app
        .post_json(
            &format!("/api/v1/pairs/{p}/objectives"),
            Some(&as_("MR")),
            &json!({"title": MR_WORDS, "description": MR_WORDS}),
        )
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    // MR rewrites their own objective, with a comment: a revision of MR's words.
    let theirs_id = theirs.json()["id"].as_str().unwrap().to_owned();
    let rewritten = app
        .patch_json(
            &format!("/api/v1/pairs/{p}/objectives/{theirs_id}"),
            Some(&as_("MR")),
            None,
            &json!({"success_criteria": MR_WORDS, "comment": MR_WORDS}),
        )
        .await;
    assert_eq!(rewritten.status, 200, "{}", rewritten.text);
    // MR agrees to ME's objective with a key: the stored answer carries ME's words.
    let agreed = keyed_post(
        app,
        &format!("/api/v1/pairs/{p}/objectives/{mine_id}/agree"),
        "MR",
        "mr-agree-1",
        &json!({}),
    )
    .await;
    assert_eq!(agreed.status, 200, "{}", agreed.text);
    assert!(agreed.text.contains(ME_WORDS), "{}", agreed.text);
    // A meeting ME schedules, with ME's agenda and place; one ME cancels with a reason.
    let mut meeting = video_at(24);
    meeting["agenda"] = json!(ME_WORDS);
    meeting["mode"] = json!("in_person");
    meeting["location"] = json!({"kind": "workplace", "label": ME_WORDS});
    let m = schedule(app, &pair, "ME", meeting).await;
    assert_eq!(m.status, 201, "{}", m.text);
    // ME holds it and writes its summary; both check in, each with a comment.
    let held_id = m.json()["id"].as_str().unwrap().to_owned();
    started_hours_ago(app, &held_id, 2).await;
    let held = app
        .post_json(
            &format!("/api/v1/pairs/{p}/meetings/{held_id}/held"),
            Some(&as_("ME")),
            &json!({"summary": ME_WORDS}),
        )
        .await;
    assert_eq!(held.status, 200, "{}", held.text);
    for (who, words) in [("ME", ME_WORDS), ("MR", MR_WORDS)] {
        let c = app
            .post_json(
                &format!("/api/v1/pairs/{p}/feedback"),
                Some(&as_(who)),
                &json!({"kind": "check_in", "meeting_id": held_id,
                        "scores": {"usefulness": 4, "atmosphere": 5}, "comment": words}),
            )
            .await;
        assert_eq!(c.status, 201, "{who}: {}", c.text);
    }
    let other = schedule(app, &pair, "MR", video_at(48)).await.json();
    let cancelled = app
        .post_json(
            &format!(
                "/api/v1/pairs/{p}/meetings/{}/cancel",
                other["id"].as_str().unwrap()
            ),
            Some(&as_("ME")),
            &json!({"reason": ME_WORDS}),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    // Notes: ME's private and shared, one with a key (a stored answer); MR's shared.
    note(app, p, "ME", "private", ME_WORDS).await;
    note(app, p, "ME", "shared", ME_WORDS).await;
    let kept = keyed_post(
        app,
        &format!("/api/v1/pairs/{p}/notes"),
        "ME",
        "me-note-1",
        &json!({"body": ME_WORDS, "visibility": "shared"}),
    )
    .await;
    assert_eq!(kept.status, 201, "{}", kept.text);
    note(app, p, "MR", "shared", MR_WORDS).await;
    let kept_mr = keyed_post(
        app,
        &format!("/api/v1/pairs/{p}/notes"),
        "MR",
        "mr-note-1",
        &json!({"body": MR_WORDS, "visibility": "private"}),
    )
    .await;
    assert_eq!(kept_mr.status, 201, "{}", kept_mr.text);
    // Concerns of both.
    for (who, words) in [("ME", ME_WORDS), ("MR", MR_WORDS)] {
        let c = app
            .post_json(
                &format!("/api/v1/pairs/{p}/concerns"),
                Some(&as_(who)),
                &json!({"text": words}),
            )
            .await;
        assert_eq!(c.status, 201, "{}", c.text);
    }
    // ME's calendar feed.
    let feed = app
        .post_json("/api/v1/me/calendar-feed", Some(&as_("ME")), &json!({}))
        .await;
    assert!(feed.status == 201 || feed.status == 200, "{}", feed.text);
    let feed_url = feed.json()["url"].as_str().unwrap().to_owned();
    // ME's goals for the next programme, and MR's (enrollment goals are kept in clear).
    let next = app.create_program("Mentorat 2028").await;
    let next = next["id"].as_str().unwrap().to_owned();
    for (who, words) in [("ME", ME_GOALS), ("MR", MR_WORDS)] {
        let enrolled = app
            .post_json(
                &format!("/api/v1/programs/{next}/enrollments"),
                Some(&app.as_coordinator()),
                &json!({"person_id": person_id(app, who).await, "role": "mentee",
                        "goals": words, "topics": ["soins"], "languages": ["fr"]}),
            )
            .await;
        assert_eq!(enrolled.status, 201, "{who}: {}", enrolled.text);
    }
    // Issue 17: in the next programme both ask a mentor, with a message of their own.
    let mx = app.upsert_person("MX", None).await;
    let mx = app
        .enroll(&next, mx["id"].as_str().unwrap(), "mentor")
        .await;
    let mode = app
        .patch_json(
            &format!("/api/v1/programs/{next}"),
            Some(&app.as_coordinator()),
            None,
            &json!({"matching_mode": "self"}),
        )
        .await;
    assert_eq!(mode.status, 200, "{}", mode.text);
    let listed = app
        .get(
            &format!("/api/v1/programs/{next}/enrollments?limit=200"),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    for (who, words) in [("ME", ME_WORDS), ("MR", MR_WORDS)] {
        let person = person_id(app, who).await;
        let enrollment = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["person_id"] == person.as_str())
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let asked = app
            .post_json(
                &format!("/api/v1/programs/{next}/enrollments/{enrollment}/requests"),
                Some(&as_(who)),
                &json!({"mentor_enrollment_id": mx["id"], "message": words}),
            )
            .await;
        assert_eq!(asked.status, 201, "{who}: {}", asked.text);
    }
    // ME ends the pair with a reason; both give their final evaluation, with a comment.
    let ended = app
        .post_json(
            &format!("/api/v1/pairs/{p}/end"),
            Some(&as_("ME")),
            &json!({"reason_category": "other", "reason_text": ME_WORDS}),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    for (who, words) in [("ME", ME_WORDS), ("MR", MR_WORDS)] {
        let f = app
            .post_json(
                &format!("/api/v1/pairs/{p}/feedback"),
                Some(&as_(who)),
                &json!({"kind": "final", "scores": final_scores(4), "comment": words}),
            )
            .await;
        assert_eq!(f.status, 201, "{who}: {}", f.text);
    }
    // Their notifications (the other's meeting, the pair's end…) are ME's and MR's.
    for who in ["ME", "MR"] {
        let n = app
            .get("/api/v1/me/notifications", Some(&as_(who)))
            .await
            .json();
        assert!(!n["items"].as_array().unwrap().is_empty(), "{who}: {n}");
    }
    (pair, feed_url)
}

/// Drop what an erasure may change (names, revisions, times) to compare the figures.
fn figures(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| {
                    ![
                        "given_name",
                        "family_name",
                        "email",
                        "external_id",
                        "name",
                        "updated_at",
                        "revision",
                        "generated_at",
                        "computed_at",
                        "ended_at",
                    ]
                    .iter()
                    .any(|drop| k.contains(drop))
                })
                .map(|(k, v)| (k.clone(), figures(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(figures).collect()),
        other => other.clone(),
    }
}

async fn report_figures(app: &TestApp, pair: &Pair) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        format!("/api/v1/programs/{}/pair-health", pair.program),
        format!("/api/v1/programs/{}/report", pair.program),
        format!("/api/v1/pairs/{}", pair.id),
    ] {
        let reply = app.get(&path, Some(&app.as_coordinator())).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        out.push(figures(&reply.json()));
    }
    out
}

/// Every sealed value, opened with the service's own key; and the raw rows (PostgreSQL) or
/// file bytes (SQLite), for words kept in a column that is not sealed.
async fn database_says(app: &TestApp) -> (Vec<(String, String, String)>, Vec<u8>) {
    let key =
        mentorat_tests::postgres_url().map(|_| mentorat_tests::TEST_ENCRYPTION_KEY.to_owned());
    let ring = match key {
        Some(k) => mentorat_persistence::Keyring::parse(&k).unwrap(),
        None => {
            // SQLite: the key file beside the database.
            let path = app.database_url.strip_prefix("sqlite://").unwrap();
            let dir = std::path::Path::new(path).parent().unwrap();
            let key_file = std::fs::read_dir(dir)
                .unwrap()
                .filter_map(Result::ok)
                .find(|e| e.file_name().to_string_lossy().contains("key"))
                .expect("a key file beside the SQLite database");
            mentorat_persistence::Keyring::parse(&std::fs::read_to_string(key_file.path()).unwrap())
                .unwrap()
        }
    };
    let opened = mentorat_persistence::rotation::open_all(app.db.conn(), &ring)
        .await
        .unwrap()
        .into_iter()
        .map(|(t, c, v)| (t.to_owned(), c.to_owned(), v))
        .collect();
    let raw = if let Some(path) = app.database_url.strip_prefix("sqlite://") {
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        bytes
    } else {
        use sea_orm::{ConnectionTrait, Statement};
        let conn = app.db.conn();
        let backend = conn.get_database_backend();
        let tables = conn
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
            ))
            .await
            .unwrap();
        let mut out = Vec::new();
        for t in tables {
            let table: String = t.try_get("", "tablename").unwrap();
            for r in conn
                .query_all_raw(Statement::from_string(
                    backend,
                    format!("SELECT CAST(t AS text) AS row FROM \"{table}\" t"),
                ))
                .await
                .unwrap()
            {
                let row: String = r.try_get("", "row").unwrap();
                out.extend(format!("{table}: {row}\n").into_bytes());
            }
        }
        out
    };
    (opened, raw)
}

pub(crate) fn contains(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn erasure_destroys_every_word_of_the_person_everywhere_and_nothing_else() {
    let app = spawn_app().await;
    let (pair, feed_url) = plant(&app).await;
    let me = person_id(&app, "ME").await;
    let before = report_figures(&app, &pair).await;
    let (opened, _) = database_says(&app).await;
    assert!(
        opened.iter().any(|(_, _, v)| v.contains(ME_WORDS)),
        "the scan reads the words before the erasure"
    );

    // A coordinator may not erase; nor a participant.
    let path = format!("/api/v1/people/{me}/erasure");
    app.post_json(&path, Some(&app.as_coordinator()), &json!({}))
        .await
        .problem(403, "forbidden");
    app.post_json(&path, Some(&as_("MR")), &json!({}))
        .await
        .problem(403, "forbidden");
    app.post_json(
        "/api/v1/people/00000000-0000-7000-8000-000000000000/erasure",
        Some(&app.as_admin()),
        &json!({}),
    )
    .await
    .problem(404, "not_found");

    let erased = app
        .post_json(&path, Some(&app.as_admin()), &json!({}))
        .await;
    assert_eq!(erased.status, 200, "{}", erased.text);
    let answer = erased.json();
    assert_eq!(answer["already_erased"], false);
    let pseudonym = answer["pseudonym"].as_str().unwrap().to_owned();
    assert!(pseudonym.starts_with("erased-"), "{answer}");
    let d = &answer["destroyed"];
    assert_eq!(d["notes"], 3, "{answer}");
    assert_eq!(d["objectives"], 1, "ME's own objective only: {answer}");
    assert_eq!(d["concerns"], 1, "{answer}");
    assert_eq!(d["calendar_feeds"], 1, "{answer}");
    assert_eq!(d["meetings"], 2, "the pair's joint record: {answer}");
    assert_eq!(d["feedback_comments"], 2, "check-in and final: {answer}");
    assert_eq!(d["end_reasons"], 1, "{answer}");
    assert_eq!(d["enrollment_goals"], 1, "{answer}");
    assert_eq!(d["request_messages"], 1, "{answer}");
    assert!(d["notifications"].as_u64().unwrap() >= 1, "{answer}");
    for kind in mentorat_domain::erasure::Kind::ALL {
        assert!(
            d[kind.as_str()].is_u64(),
            "{} counted: {answer}",
            kind.as_str()
        );
    }
    assert!(d["objective_revisions"].as_u64().unwrap() >= 2, "{answer}");
    assert!(
        d["stored_answers"].as_u64().unwrap() >= 2,
        "ME's own and MR's agreement: {answer}"
    );
    assert!(!erased.text.contains(ME_WORDS));

    // Their tokens are refused from that moment: reads, writes, their stored replay.
    let me_token = as_("ME");
    assert_eq!(app.get("/api/v1/me", Some(&me_token)).await.status, 401);
    let write = app
        .post_json(
            &format!("/api/v1/pairs/{}/notes", pair.id),
            Some(&me_token),
            &json!({"body": "après", "visibility": "shared"}),
        )
        .await;
    assert_eq!(write.status, 401, "{}", write.text);
    let replay = keyed_post(
        &app,
        &format!("/api/v1/pairs/{}/notes", pair.id),
        "ME",
        "me-note-1",
        &json!({"body": ME_WORDS, "visibility": "shared"}),
    )
    .await;
    assert_eq!(replay.status, 401, "{}", replay.text);
    // Their calendar feed is gone.
    let token = feed_url.rsplit('/').next().unwrap().to_owned();
    let feed = app.get(&format!("/api/v1/calendar/{token}"), None).await;
    assert!(feed.status == 404 || feed.status == 401, "{}", feed.text);

    // No answer to anyone carries ME's words; MR's own words are still there.
    let p = &pair.id;
    let mut seen_mr = String::new();
    for path in [
        format!("/api/v1/pairs/{p}/notes"),
        format!("/api/v1/pairs/{p}/objectives"),
        format!("/api/v1/pairs/{p}/meetings"),
        format!("/api/v1/pairs/{p}"),
        "/api/v1/me/export".to_owned(),
        "/api/v1/me/notifications".to_owned(),
    ] {
        let reply = app.get(&path, Some(&as_("MR"))).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        assert!(!reply.text.contains(ME_WORDS), "{path}: {}", reply.text);
        seen_mr.push_str(&reply.text);
    }
    assert!(seen_mr.contains(MR_WORDS), "MR's words survive: {seen_mr}");
    let objectives = app
        .get(&format!("/api/v1/pairs/{p}/objectives"), Some(&as_("MR")))
        .await
        .json();
    let revisions = app
        .get(
            &format!(
                "/api/v1/pairs/{p}/objectives/{}/revisions",
                objectives["items"][0]["id"].as_str().unwrap()
            ),
            Some(&as_("MR")),
        )
        .await;
    assert!(!revisions.text.contains(ME_WORDS), "{}", revisions.text);
    for who in [app.as_coordinator(), app.as_admin()] {
        for path in [
            format!("/api/v1/programs/{}/concerns", pair.program),
            format!("/api/v1/people/{me}"),
            format!("/api/v1/pairs/{p}"),
            "/api/v1/audit-events?limit=200".to_owned(),
        ] {
            let reply = app.get(&path, Some(&who)).await;
            assert!(!reply.text.contains(ME_WORDS), "{path}: {}", reply.text);
            assert!(!reply.text.contains("PrénomME"), "{path}: {}", reply.text);
            assert!(
                !reply.text.contains("me@chu.example"),
                "{path}: {}",
                reply.text
            );
        }
    }
    // MR's replay of the agreement (it carried ME's title) is withheld, not replayed.
    let again = keyed_post(
        &app,
        &format!(
            "/api/v1/pairs/{p}/objectives/{}/agree",
            answer_objective(&objectives)
        ),
        "MR",
        "mr-agree-1",
        &json!({}),
    )
    .await;
    assert!(!again.text.contains(ME_WORDS), "{}", again.text);

    // The person's row: the pseudonym, blank identity, inactive.
    let row = app
        .get(&format!("/api/v1/people/{me}"), Some(&app.as_admin()))
        .await
        .json();
    assert_eq!(row["external_id"], pseudonym.as_str());
    assert_eq!(row["given_name"], "");
    assert_eq!(row["email"], "");
    assert_eq!(row["active"], false);

    // The audit log keeps the act: who, whom, when.
    let log = app
        .get("/api/v1/audit-events?limit=200", Some(&app.as_admin()))
        .await
        .json();
    let act = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "erase_person")
        .unwrap_or_else(|| panic!("no erase_person in {log}"));
    assert_eq!(act["resource_id"], me.as_str());
    assert_eq!(act["actor"], "A001", "the admin who erased: {act}");
    assert_eq!(act["outcome"], "allowed");
    assert!(act["at"].is_string() && act["actor"].is_string(), "{act}");

    // The figures do not move.
    assert_eq!(report_figures(&app, &pair).await, before);

    // The database: no value, decrypted with the service's key, holds ME's words; the raw
    // rows or file bytes neither; MR's words are still there.
    let (opened, raw) = database_says(&app).await;
    assert!(
        !opened.iter().any(|(_, _, v)| v.contains(ME_WORDS)),
        "{:?}",
        opened
            .iter()
            .filter(|(_, _, v)| v.contains(ME_WORDS))
            .collect::<Vec<_>>()
    );
    // MR's words survive in every kind of words MR wrote: notes, objectives and their
    // revisions' comments, concerns, feedback comments (check-in and final).
    for (table, column) in [
        ("notes", "body"),
        ("objectives", "title"),
        ("objectives", "success_criteria"),
        ("objective_revisions", "comment"),
        ("concerns", "text"),
        ("feedback", "comment"),
        ("mentee_requests", "message"),
    ] {
        assert!(
            opened
                .iter()
                .any(|(t, c, v)| t == table && c == column && v.contains(MR_WORDS)),
            "MR's {table}.{column} survives"
        );
    }
    assert_eq!(
        opened
            .iter()
            .filter(|(t, _, v)| t == "feedback" && v.contains(MR_WORDS))
            .count(),
        2,
        "MR's check-in and final comments"
    );
    assert!(!contains(&raw, ME_WORDS));
    // The outbox (what webhooks are sent) holds ids, never words — the erasure's event too.
    {
        use sea_orm::{ConnectionTrait, Statement};
        let conn = app.db.conn();
        let events = conn
            .query_all_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT kind, payload FROM outbox_events",
            ))
            .await
            .unwrap();
        let mut kinds = Vec::new();
        for e in &events {
            let payload: String = e.try_get("", "payload").unwrap();
            assert!(
                !payload.contains(ME_WORDS) && !payload.contains(MR_WORDS),
                "{payload}"
            );
            assert!(!payload.contains("PrénomME"), "{payload}");
            kinds.push(e.try_get::<String>("", "kind").unwrap());
        }
        assert!(kinds.iter().any(|k| k == "person.erased"), "{kinds:?}");
        assert!(kinds.iter().any(|k| k == "concern.raised"), "{kinds:?}");
    }
    // ME's notifications went; MR's stay, and MR still reads MR's own feedback.
    let mr_notifications = app
        .get("/api/v1/me/notifications", Some(&as_("MR")))
        .await
        .json();
    assert!(
        !mr_notifications["items"].as_array().unwrap().is_empty(),
        "{mr_notifications}"
    );
    {
        use sea_orm::{ConnectionTrait, Statement};
        let conn = app.db.conn();
        let sql = match conn.get_database_backend() {
            sea_orm::DbBackend::Postgres => "SELECT id FROM notifications WHERE person_id = $1",
            _ => "SELECT id FROM notifications WHERE person_id = ?",
        };
        let left = conn
            .query_all_raw(Statement::from_sql_and_values(
                conn.get_database_backend(),
                sql,
                vec![uuid::Uuid::parse_str(&me).unwrap().into()],
            ))
            .await
            .unwrap();
        assert!(left.is_empty(), "ME's notifications are deleted");
    }
    // MR's goals stay; ME's went (a plain column: the raw scan above looked for them too).
    let programs = app
        .get("/api/v1/programs?limit=200", Some(&app.as_coordinator()))
        .await
        .json();
    let mut goals = String::new();
    for program in programs["items"].as_array().unwrap() {
        let reply = app
            .get(
                &format!(
                    "/api/v1/programs/{}/enrollments?limit=200",
                    program["id"].as_str().unwrap()
                ),
                Some(&app.as_coordinator()),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        goals.push_str(&reply.text);
    }
    assert!(goals.contains(MR_WORDS), "{goals}");
    assert!(!goals.contains(ME_GOALS), "{goals}");
    assert!(
        gone_within_plain(&app, ME_GOALS, Duration::ZERO).await,
        "ME's goals are still in the database"
    );
    let mr_feedback = app
        .get(&format!("/api/v1/pairs/{p}/feedback"), Some(&as_("MR")))
        .await;
    assert_eq!(mr_feedback.status, 200, "{}", mr_feedback.text);
    assert!(mr_feedback.text.contains(MR_WORDS), "{}", mr_feedback.text);
    assert!(!mr_feedback.text.contains(ME_WORDS), "{}", mr_feedback.text);
    // Their identity and goals (plain columns) neither: in the rows of PostgreSQL, and in
    // the SQLite file and its write-ahead log (`secure_delete` and a checkpoint after the
    // erasure, `erasure_remnants`).
    assert!(!contains(&raw, "PrénomME") && !contains(&raw, "me@chu.example"));
    assert!(!contains(&raw, ME_GOALS));

    // A second call is harmless: the same person and pseudonym, nothing more destroyed.
    let second = app
        .post_json(&path, Some(&app.as_admin()), &json!({}))
        .await;
    assert_eq!(second.status, 200, "{}", second.text);
    let second = second.json();
    assert_eq!(second["already_erased"], true);
    assert_eq!(second["pseudonym"], pseudonym.as_str());
    assert_eq!(second["erased_at"], answer["erased_at"]);
    for (kind, n) in second["destroyed"].as_object().unwrap() {
        assert_eq!(n, 0, "{kind}");
    }
    assert_eq!(report_figures(&app, &pair).await, before);

    // Key rotation still re-seals everything (erased values are left as they are), and the
    // rotated database still reads.
    use base64::Engine;
    let new_key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let (old_ring_text, _) = current_key(&app);
    let ring = mentorat_persistence::Keyring::parse(&format!("{new_key},{old_ring_text}")).unwrap();
    let report = mentorat_persistence::rotation::rotate(app.db.conn(), &ring)
        .await
        .unwrap();
    assert!(report.iter().map(|(_, n)| n).sum::<u64>() > 0, "{report:?}");
    assert!(
        mentorat_persistence::rotation::old_formats(app.db.conn())
            .await
            .unwrap()
            .is_empty()
    );
    let new_only = mentorat_persistence::Keyring::parse(&new_key).unwrap();
    let reread = mentorat_persistence::rotation::open_all(app.db.conn(), &new_only)
        .await
        .unwrap();
    assert!(reread.iter().any(|(_, _, v)| v.contains(MR_WORDS)));
    assert!(!reread.iter().any(|(_, _, v)| v.contains(ME_WORDS)));
}

fn answer_objective(objectives: &Value) -> String {
    objectives["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["title"] != MR_WORDS)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The service's key, as text, and where it came from.
fn current_key(app: &TestApp) -> (String, &'static str) {
    if mentorat_tests::postgres_url().is_some() {
        return (mentorat_tests::TEST_ENCRYPTION_KEY.to_owned(), "env");
    }
    let path = app.database_url.strip_prefix("sqlite://").unwrap();
    let dir = std::path::Path::new(path).parent().unwrap();
    let key_file = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().contains("key"))
        .unwrap();
    (
        std::fs::read_to_string(key_file.path())
            .unwrap()
            .trim()
            .to_owned(),
        "file",
    )
}

/// On PostgreSQL, many writes by the person race their erasure (a barrier, several rounds):
/// whichever commits first, no word written by them survives it.
#[tokio::test]
async fn no_word_written_while_the_person_is_erased_survives() {
    if mentorat_tests::postgres_url().is_none() {
        return;
    }
    let (mut written, mut refused) = (0, 0);
    for round in 0..3 {
        let app = spawn_app().await;
        let pair = active_pair(&app).await;
        let me = person_id(&app, "ME").await;
        let writers = 12;
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(writers + 1));
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for i in 0..writers {
            let (app, barrier, pair) = (app.clone(), barrier.clone(), pair.id.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let mut statuses = Vec::new();
                for j in 0..4 {
                    let reply = app
                        .post_json(
                            &format!("/api/v1/pairs/{pair}/notes"),
                            Some(&as_("ME")),
                            &json!({"body": format!("{ME_WORDS}-{i}-{j}"), "visibility": "shared"}),
                        )
                        .await;
                    statuses.push(reply.status);
                }
                statuses
            }));
        }
        let erase = {
            let (app, barrier, me) = (app.clone(), barrier.clone(), me.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                tokio::time::sleep(Duration::from_millis(5 * round)).await;
                app.post_json(
                    &format!("/api/v1/people/{me}/erasure"),
                    Some(&app.as_admin()),
                    &json!({}),
                )
                .await
            })
        };
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.extend(t.await.unwrap());
        }
        let erased = erase.await.unwrap();
        assert_eq!(erased.status, 200, "{}", erased.text);
        written += statuses.iter().filter(|s| **s == 201).count();
        refused += statuses.iter().filter(|s| **s == 401).count();
        assert!(
            statuses.iter().all(|s| *s == 201 || *s == 401),
            "{statuses:?}"
        );
        let (opened, raw) = database_says(&app).await;
        let left: Vec<_> = opened
            .iter()
            .filter(|(_, _, v)| v.contains(ME_WORDS))
            .collect();
        assert!(left.is_empty(), "round {round}: {left:?} ({statuses:?})");
        assert!(!contains(&raw, ME_WORDS));
        let notes = app
            .get(
                &format!("/api/v1/pairs/{}/notes", pair.id),
                Some(&as_("MR")),
            )
            .await;
        assert!(!notes.text.contains(ME_WORDS), "{}", notes.text);
    }
    // The race was run: writes landed before the erasure and were refused after it.
    assert!(
        written > 0 && refused > 0,
        "{written} written, {refused} refused"
    );
}

pub(crate) async fn wait_for(app: &TestApp, sql: &str) {
    use sea_orm::{ConnectionTrait, Statement};
    for _ in 0..100 {
        let conn = app.db.conn();
        let row = conn
            .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
            .await
            .unwrap();
        if row.is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never: {sql}");
}

/// Retention: the words of a pair ended a retention period ago are destroyed by the
/// background task; its metadata, the other pairs' words and the figures stay; the run is
/// audited and counted. A program's close starts the clock for its pairs.
#[tokio::test]
async fn retention_destroys_the_words_of_pairs_ended_long_ago() {
    let app = spawn_app_with(
        Options::default()
            .var("MENTORAT_RETENTION_DAYS", "30")
            .var("MENTORAT_RETENTION_EVERY_SECONDS", "1"),
    )
    .await;
    let pair = active_pair(&app).await;
    let p = &pair.id;
    note(&app, p, "ME", "shared", ME_WORDS).await;
    note(&app, p, "MR", "private", MR_WORDS).await;
    propose_objective(&app, &pair, "MR", MR_WORDS).await;
    let ended = app
        .post_json(
            &format!("/api/v1/pairs/{p}/end"),
            Some(&as_("ME")),
            &json!({"reason_category": "other", "reason_text": ME_WORDS}),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    // Ended 29 days ago: kept.
    app.time_passes(
        "UPDATE pairs SET ended_at = $1 WHERE id = $2",
        vec![
            (chrono::Utc::now() - chrono::Duration::days(29)).into(),
            uuid::Uuid::parse_str(p).unwrap().into(),
        ],
    )
    .await;
    let before = report_figures(&app, &pair).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let notes = app
        .get(&format!("/api/v1/pairs/{p}/notes"), Some(&as_("MR")))
        .await;
    assert!(notes.text.contains(ME_WORDS), "{}", notes.text);

    // 31 days ago: the next run destroys the pair's words, whoever wrote them.
    app.time_passes(
        "UPDATE pairs SET ended_at = $1 WHERE id = $2",
        vec![
            (chrono::Utc::now() - chrono::Duration::days(31)).into(),
            uuid::Uuid::parse_str(p).unwrap().into(),
        ],
    )
    .await;
    wait_for(&app, "SELECT pair_id FROM pair_words_destroyed").await;
    for who in ["ME", "MR"] {
        for what in ["/notes", "/objectives", ""] {
            let reply = app
                .get(&format!("/api/v1/pairs/{p}{what}"), Some(&as_(who)))
                .await;
            assert_eq!(reply.status, 200, "{what}: {}", reply.text);
            assert!(
                !reply.text.contains(ME_WORDS) && !reply.text.contains(MR_WORDS),
                "{what}: {}",
                reply.text
            );
        }
    }
    let view = app
        .get(&format!("/api/v1/pairs/{p}"), Some(&as_("ME")))
        .await
        .json();
    assert_eq!(view["status"], "ended", "metadata kept: {view}");
    assert_eq!(report_figures(&app, &pair).await, before);
    let (opened, raw) = database_says(&app).await;
    assert!(
        !opened
            .iter()
            .any(|(_, _, v)| v.contains(ME_WORDS) || v.contains(MR_WORDS))
    );
    assert!(!contains(&raw, ME_WORDS));

    // Counted and audited.
    let metrics = app.get("/metrics", None).await.text;
    let runs = metrics
        .lines()
        .find(|l| l.starts_with("mentorat_retention_runs_total"))
        .unwrap();
    assert!(!runs.ends_with(" 0"), "{runs}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("mentorat_retention_destroyed_total{kind=\"notes\"} 2")),
        "{metrics}"
    );
    let log = app
        .get("/api/v1/audit-events?limit=200", Some(&app.as_admin()))
        .await
        .json();
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "retention_run"),
        "{log}"
    );
}

/// A program's close starts the clock: its pairs' words go a retention period after it,
/// while an open program's active pair keeps them.
#[tokio::test]
async fn a_program_close_starts_the_retention_clock() {
    let app = spawn_app_with(
        Options::default()
            .var("MENTORAT_RETENTION_DAYS", "30")
            .var("MENTORAT_RETENTION_EVERY_SECONDS", "1"),
    )
    .await;
    let pair = active_pair(&app).await;
    note(&app, &pair.id, "ME", "shared", ME_WORDS).await;
    // A participant enrolled with goals (their words, kept in clear), never paired.
    let imported = app
        .post_json(
            "/api/v1/people/import",
            Some(&app.as_hris()),
            &json!([crate::working_life::person("G1", "Urgences")]),
        )
        .await;
    assert!(imported.status < 300, "{}", imported.text);
    let goals = app
        .post_json(
            &format!("/api/v1/programs/{}/enrollments", pair.program),
            Some(&app.as_coordinator()),
            &json!({"person_id": person_id(&app, "G1").await, "role": "mentee",
                    "goals": MR_WORDS, "topics": ["soins"], "languages": ["fr"]}),
        )
        .await;
    assert_eq!(goals.status, 201, "{}", goals.text);
    for status in ["open", "running", "closed"] {
        let reply = app
            .send(
                app.client
                    .patch(app.url(&format!("/api/v1/programs/{}", pair.program)))
                    .bearer_auth(app.as_coordinator())
                    .json(&json!({ "status": status })),
            )
            .await;
        assert!(
            reply.status == 200 || reply.status == 409,
            "{status}: {}",
            reply.text
        );
    }
    let program = app
        .get(
            &format!("/api/v1/programs/{}", pair.program),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(program["status"], "closed", "{program}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let notes = app
        .get(
            &format!("/api/v1/pairs/{}/notes", pair.id),
            Some(&as_("MR")),
        )
        .await;
    assert!(
        notes.text.contains(ME_WORDS),
        "closed today: kept {}",
        notes.text
    );
    let long_ago: sea_orm::Value = (chrono::Utc::now() - chrono::Duration::days(31)).into();
    app.time_passes(
        "UPDATE programs SET updated_at = $1 WHERE id = $2",
        vec![
            long_ago,
            uuid::Uuid::parse_str(&pair.program).unwrap().into(),
        ],
    )
    .await;
    wait_for(&app, "SELECT pair_id FROM pair_words_destroyed").await;
    let notes = app
        .get(
            &format!("/api/v1/pairs/{}/notes", pair.id),
            Some(&as_("MR")),
        )
        .await;
    assert_eq!(notes.status, 200);
    assert!(!notes.text.contains(ME_WORDS), "{}", notes.text);
    // The programme's enrollments' goals go with it (storage limitation covers them too).
    assert!(
        gone_within_plain(&app, MR_WORDS, Duration::from_secs(5)).await,
        "the goals of a programme closed a retention period ago are still kept"
    );
    let enrollments = app
        .get(
            &format!("/api/v1/programs/{}/enrollments?limit=200", pair.program),
            Some(&app.as_coordinator()),
        )
        .await;
    assert_eq!(enrollments.status, 200, "{}", enrollments.text);
    assert!(!enrollments.text.contains(MR_WORDS), "{}", enrollments.text);
}

/// Wait until no enrollment's goals (a plain column) hold `words` (looked at once at least).
async fn gone_within_plain(app: &TestApp, words: &str, patience: Duration) -> bool {
    use sea_orm::{ConnectionTrait, Statement};
    let start = std::time::Instant::now();
    loop {
        let conn = app.db.conn();
        let rows = conn
            .query_all_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT goals FROM enrollments WHERE goals IS NOT NULL",
            ))
            .await
            .unwrap();
        if !rows
            .iter()
            .any(|r| r.try_get::<String>("", "goals").unwrap().contains(words))
        {
            return true;
        }
        if start.elapsed() >= patience {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Wait (the retention task runs every second) until no sealed value of the database,
/// opened with the service's key, holds `words`; how long it took, or `None` after `patience`.
async fn gone_within(app: &TestApp, words: &str, patience: Duration) -> Option<Duration> {
    let start = std::time::Instant::now();
    while start.elapsed() < patience {
        let (opened, _) = database_says(app).await;
        if !opened.iter().any(|(_, _, v)| v.contains(words)) {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// Words written into a pair after its retention ran (the final evaluation's comments come
/// after the end; a concern may still be raised) are destroyed by a later run too: a pair
/// marked done is not done for good.
#[tokio::test]
async fn words_written_after_a_pairs_retention_ran_are_destroyed_by_a_later_run() {
    let app = spawn_app_with(
        Options::default()
            .var("MENTORAT_RETENTION_DAYS", "30")
            .var("MENTORAT_RETENTION_EVERY_SECONDS", "1"),
    )
    .await;
    let pair = active_pair(&app).await;
    let p = &pair.id;
    note(&app, p, "ME", "shared", ME_WORDS).await;
    let ended = app
        .post_json(
            &format!("/api/v1/pairs/{p}/end"),
            Some(&as_("MR")),
            &json!({"reason_category": "other", "reason_text": MR_WORDS}),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    app.time_passes(
        "UPDATE pairs SET ended_at = $1 WHERE id = $2",
        vec![
            (chrono::Utc::now() - chrono::Duration::days(31)).into(),
            uuid::Uuid::parse_str(p).unwrap().into(),
        ],
    )
    .await;
    wait_for(&app, "SELECT pair_id FROM pair_words_destroyed").await;
    assert!(
        gone_within(&app, ME_WORDS, Duration::from_secs(5))
            .await
            .is_some()
    );

    // Late words: the final evaluation's comment, a concern.
    const LATE: &str = "MOTS-TARDIFS-5519";
    let feedback = app
        .post_json(
            &format!("/api/v1/pairs/{p}/feedback"),
            Some(&as_("MR")),
            &json!({"kind": "final", "scores": final_scores(4), "comment": LATE}),
        )
        .await;
    assert_eq!(feedback.status, 201, "{}", feedback.text);
    let concern = app
        .post_json(
            &format!("/api/v1/pairs/{p}/concerns"),
            Some(&as_("ME")),
            &json!({"text": LATE}),
        )
        .await;
    assert_eq!(concern.status, 201, "{}", concern.text);

    // A later run destroys them; what stays stays.
    assert!(
        gone_within(&app, LATE, Duration::from_secs(8))
            .await
            .is_some(),
        "words written after the pair's retention ran are still in the database"
    );
    let (_, raw) = database_says(&app).await;
    assert!(!contains(&raw, LATE));
    let mine = app
        .get(&format!("/api/v1/pairs/{p}/feedback"), Some(&as_("MR")))
        .await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert!(!mine.text.contains(LATE), "{}", mine.text);
    assert!(
        mine.text.contains("\"final\""),
        "the scores stay: {}",
        mine.text
    );
    let view = app
        .get(&format!("/api/v1/pairs/{p}"), Some(&as_("MR")))
        .await
        .json();
    assert_eq!(view["status"], "ended", "metadata kept: {view}");
}

/// The end-of-pair evaluation's scores, every dimension at `score`.
fn final_scores(score: i64) -> Value {
    let dims = [
        "valued",
        "regular_space",
        "autonomy",
        "communication",
        "management_insight",
        "solidarity",
        "collective_intelligence",
        "open_environment",
    ];
    Value::Object(dims.iter().map(|d| (d.to_string(), json!(score))).collect())
}

/// A second pair in `program`, M2 (mentor) and E2 (mentee), both accepted.
async fn second_pair(app: &TestApp, program: &str) -> Pair {
    let report = app
        .post_json(
            "/api/v1/people/import",
            Some(&app.as_hris()),
            &json!([
                crate::working_life::person("M2", "Neurologie"),
                crate::working_life::person("E2", "Urgences")
            ]),
        )
        .await
        .json();
    assert_eq!(report["created"], 2, "{report}");
    let mentor = app
        .enroll(program, &person_id(app, "M2").await, "mentor")
        .await;
    let mentee = app
        .enroll(program, &person_id(app, "E2").await, "mentee")
        .await;
    let reply = app
        .post_json(
            &format!("/api/v1/programs/{program}/pairs"),
            Some(&app.as_coordinator()),
            &json!({"mentor_enrollment_id": mentor["id"], "mentee_enrollment_id": mentee["id"]}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    for who in ["M2", "E2"] {
        let reply = app
            .post_json(
                &format!("/api/v1/pairs/{id}/accept"),
                Some(&as_(who)),
                &json!({}),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    Pair {
        program: program.to_owned(),
        id,
    }
}

/// Where the database holds an erased marker: `(table, column, row)` of every sealed column
/// of the registry, sorted.
async fn erased_places(app: &TestApp) -> Vec<(String, String, String)> {
    use sea_orm::{ConnectionTrait, Statement};
    let conn = app.db.conn();
    let mut out = Vec::new();
    for w in mentorat_domain::erasure::WORDS {
        if w.blank != mentorat_domain::erasure::Blank::Sealed {
            continue;
        }
        let sql = format!(
            "SELECT id FROM {} WHERE {} = 'enc:erased'",
            w.table, w.column
        );
        for row in conn
            .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
            .await
            .unwrap()
        {
            out.push((
                w.table.to_owned(),
                w.column.to_owned(),
                row.try_get::<uuid::Uuid>("", "id").unwrap().to_string(),
            ));
        }
    }
    out.sort();
    out
}

fn key(n: u8) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode([n; 32])
}

/// `mentorat rotate-key` — the command itself — after an erasure and a retention run: it
/// ends cleanly; every erased value is still the erased marker (never opened, never sealed
/// again into something a key opens); every other value is re-sealed under the new key,
/// which alone reads them, through the service and in the database.
#[tokio::test]
async fn rotate_key_runs_cleanly_after_an_erasure_and_a_retention_run() {
    const RETAINED: &str = "MOTS-EXPIRES-8826";
    let app = spawn_app_with(
        Options::default()
            .var("MENTORAT_ENCRYPTION_KEY", key(1))
            .var("MENTORAT_RETENTION_DAYS", "30")
            .var("MENTORAT_RETENTION_EVERY_SECONDS", "1"),
    )
    .await;
    let (pair, _) = plant(&app).await;
    // A second pair, ended long ago: the retention task destroys its words.
    let old = second_pair(&app, &pair.program).await;
    note(&app, &old.id, "E2", "shared", RETAINED).await;
    propose_objective(&app, &old, "M2", RETAINED).await;
    let mut meeting = video_at(24);
    meeting["agenda"] = json!(RETAINED);
    assert_eq!(schedule(&app, &old, "M2", meeting).await.status, 201);
    let ended = app
        .post_json(
            &format!("/api/v1/pairs/{}/end", old.id),
            Some(&as_("E2")),
            &json!({"reason_category": "other", "reason_text": RETAINED}),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    app.time_passes(
        "UPDATE pairs SET ended_at = $1 WHERE id = $2",
        vec![
            (chrono::Utc::now() - chrono::Duration::days(31)).into(),
            uuid::Uuid::parse_str(&old.id).unwrap().into(),
        ],
    )
    .await;
    // ME erased.
    let me = person_id(&app, "ME").await;
    let erased = app
        .post_json(
            &format!("/api/v1/people/{me}/erasure"),
            Some(&app.as_admin()),
            &json!({}),
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.text);
    wait_for(&app, "SELECT pair_id FROM pair_words_destroyed").await;
    // A meeting sealed before its words were bound to their revision (migration 000025),
    // then erased: the rotation binds such meetings, and must leave the marker alone.
    app.time_passes(
        "UPDATE meetings SET words_revision = NULL WHERE agenda = 'enc:erased'",
        vec![],
    )
    .await;
    let before = erased_places(&app).await;
    for table in ["notes", "objectives", "meetings", "concerns", "pairs"] {
        assert!(
            before.iter().any(|(t, ..)| t == table),
            "{table}: {before:?}"
        );
    }
    app.stop().await;

    let rotation = app
        .command(
            &["rotate-key"],
            Options::default().var("MENTORAT_ENCRYPTION_KEY", format!("{},{}", key(2), key(1))),
            Duration::from_secs(60),
        )
        .expect("the rotation ends");
    assert_eq!(rotation.exit_code, 0, "{rotation:?}");
    assert!(!rotation.stderr.contains(ME_WORDS), "{rotation:?}");

    // The service, under the new key alone (its own connection: the stopped server's
    // may be gone with its runtime).
    let new = spawn_app_with(
        Options::default()
            .var("MENTORAT_DATABASE_URL", app.database_url.clone())
            .var("MENTORAT_ENCRYPTION_KEY", key(2)),
    )
    .await;
    // Erased values stay the marker, every one of them.
    assert_eq!(erased_places(&new).await, before);
    // Everything else is under the new key, which alone opens all of it.
    assert!(
        mentorat_persistence::rotation::old_formats(new.db.conn())
            .await
            .unwrap()
            .is_empty()
    );
    let new_only = mentorat_persistence::Keyring::parse(&key(2)).unwrap();
    let opened = mentorat_persistence::rotation::open_all(new.db.conn(), &new_only)
        .await
        .unwrap();
    assert!(opened.iter().any(|(_, _, v)| v.contains(MR_WORDS)));
    for words in [ME_WORDS, RETAINED] {
        assert!(!opened.iter().any(|(_, _, v)| v.contains(words)), "{words}");
    }

    // The service reads the survivors and nothing erased.
    let mut seen = String::new();
    for path in [
        format!("/api/v1/pairs/{}/notes", pair.id),
        format!("/api/v1/pairs/{}/objectives", pair.id),
        format!("/api/v1/pairs/{}/meetings", pair.id),
        "/api/v1/me/export".to_owned(),
    ] {
        let reply = new.get(&path, Some(&as_("MR"))).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        assert!(!reply.text.contains(ME_WORDS), "{path}: {}", reply.text);
        seen.push_str(&reply.text);
    }
    assert!(seen.contains(MR_WORDS), "{seen}");
    for path in ["/notes", "/objectives", "/meetings", ""] {
        let reply = new
            .get(&format!("/api/v1/pairs/{}{path}", old.id), Some(&as_("M2")))
            .await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        assert!(!reply.text.contains(RETAINED), "{path}: {}", reply.text);
    }
}
