//! One unit of work per request: the work, its audit event and an idempotent answer commit
//! together or not at all; a claim on an `Idempotency-Key` is a lease, seen by every replica.

use std::time::{Duration, Instant};

use mentorat_tests::{Options, TestApp, postgres_url, spawn_app, spawn_app_with};
use serde_json::{Value, json};

use crate::concurrency::all_at_once;
use crate::working_life::{Pair, active_pair, as_};

fn keyed_note(app: &TestApp, pair: &Pair, key: &str, body: &str) -> reqwest::RequestBuilder {
    app.client
        .post(app.url(&format!("/api/v1/pairs/{}/notes", pair.id)))
        .bearer_auth(as_("ME"))
        .header("idempotency-key", key)
        .json(&json!({"body": body, "visibility": "shared"}))
}

async fn notes(app: &TestApp, pair: &Pair) -> Vec<Value> {
    let listed = app
        .get(
            &format!("/api/v1/pairs/{}/notes?limit=200", pair.id),
            Some(&as_("ME")),
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    listed.json()["items"].as_array().unwrap().clone()
}

fn with_body<'a>(notes: &'a [Value], body: &str) -> Vec<&'a Value> {
    notes.iter().filter(|n| n["body"] == body).collect()
}

/// Run raw SQL on the test's database (`$1`… placeholders, rewritten for SQLite).
async fn sql(app: &TestApp, text: &str) {
    app.time_passes(text, vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_key_sent_to_two_replicas_at_once_writes_once() {
    let first = spawn_app().await;
    let second =
        spawn_app_with(Options::default().var("MENTORAT_DATABASE_URL", first.database_url.clone()))
            .await;
    let pair = active_pair(&first).await;
    for round in 0..3 {
        let key = format!("replicas-{round}");
        let body = format!("Compte rendu {round}");
        let requests = (0..8)
            .map(|n| {
                let replica = if n % 2 == 0 { &first } else { &second };
                keyed_note(replica, &pair, &key, &body)
            })
            .collect();
        let replies = all_at_once(&first, requests).await;
        for reply in &replies {
            match reply.status {
                201 => {}
                409 => {
                    reply.problem(409, "idempotency_request_in_progress");
                }
                503 => {
                    // SQLite: two processes on one file may find it busy; nothing written.
                    assert!(postgres_url().is_none(), "{}", reply.text);
                }
                other => panic!("round {round}: {other} {}", reply.text),
            }
        }
        // Once the first has answered, every retry replays it.
        let retry = first.send(keyed_note(&second, &pair, &key, &body)).await;
        assert_eq!(retry.status, 201, "{}", retry.text);
        let all = notes(&first, &pair).await;
        assert_eq!(with_body(&all, &body).len(), 1, "round {round}: {all:?}");
    }
}

#[tokio::test]
async fn a_key_whose_request_died_is_free_again_after_its_lease() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let first = app
        .send(keyed_note(&app, &pair, "died", "Avant la panne"))
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let id = first.json()["id"].as_str().unwrap().to_owned();
    // What a process killed in the middle of the request leaves: the claim, no answer, and
    // (its transaction rolled back) no note.
    app.time_passes(
        "DELETE FROM notes WHERE id = $1",
        vec![uuid::Uuid::parse_str(&id).unwrap().into()],
    )
    .await;
    sql(
        &app,
        "UPDATE idempotency_keys SET response_status = NULL, response_headers = NULL, \
         response_body = NULL, audit_trail = NULL WHERE key = 'died'",
    )
    .await;
    // While the lease holds, the first request may still be running.
    app.send(keyed_note(&app, &pair, "died", "Avant la panne"))
        .await
        .problem(409, "idempotency_request_in_progress");
    // A minute later it is taken for dead: the retry does the work, once.
    let a_minute_ago = chrono::Utc::now() - chrono::Duration::seconds(60);
    app.time_passes(
        "UPDATE idempotency_keys SET created_at = $1 WHERE key = 'died'",
        vec![a_minute_ago.into()],
    )
    .await;
    let retry = app
        .send(keyed_note(&app, &pair, "died", "Avant la panne"))
        .await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert!(retry.header("idempotency-replayed").is_none());
    let replay = app
        .send(keyed_note(&app, &pair, "died", "Avant la panne"))
        .await;
    assert_eq!(replay.header("idempotency-replayed"), Some("true"));
    assert_eq!(replay.json()["id"], retry.json()["id"]);
    let all = notes(&app, &pair).await;
    assert_eq!(with_body(&all, "Avant la panne").len(), 1, "{all:?}");
}

/// Make every insert into the audit log fail, as a full disk or a revoked grant would.
async fn audit_log_refuses(app: &TestApp) {
    if postgres_url().is_some() {
        sql(
            app,
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $body$ BEGIN RAISE EXCEPTION 'audit refused'; END $body$",
        )
        .await;
        sql(
            app,
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
        )
        .await;
    } else {
        sql(
            app,
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             BEGIN SELECT RAISE(ABORT, 'audit refused'); END",
        )
        .await;
    }
}

#[tokio::test]
async fn without_an_audit_event_nothing_is_written_and_no_word_is_read() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let written = app
        .post_json(
            &format!("/api/v1/pairs/{}/notes", pair.id),
            Some(&as_("ME")),
            &json!({"body": "Lu avant la panne", "visibility": "shared"}),
        )
        .await;
    assert_eq!(written.status, 201, "{}", written.text);
    let note = format!(
        "/api/v1/pairs/{}/notes/{}",
        pair.id,
        written.json()["id"].as_str().unwrap()
    );
    audit_log_refuses(&app).await;

    // A write whose audit event cannot be written is not written either.
    let refused = app
        .post_json(
            &format!("/api/v1/pairs/{}/notes", pair.id),
            Some(&as_("ME")),
            &json!({"body": "Jamais écrit", "visibility": "shared"}),
        )
        .await;
    refused.problem(503, "database_unavailable");
    assert!(refused.header("retry-after").is_some());
    // A read of words is not answered without its audit event (R5).
    let read = app.get(&note, Some(&as_("MR"))).await;
    read.problem(503, "database_unavailable");
    assert!(!read.text.contains("Lu avant la panne"), "{}", read.text);

    if postgres_url().is_some() {
        sql(&app, "DROP TRIGGER refuse_audit ON audit_events").await;
    } else {
        sql(&app, "DROP TRIGGER refuse_audit").await;
    }
    let all = notes(&app, &pair).await;
    assert!(with_body(&all, "Jamais écrit").is_empty(), "{all:?}");
    assert_eq!(with_body(&all, "Lu avant la panne").len(), 1);
}

/// PostgreSQL only: the service's connections are terminated again and again while
/// connectors write notes with keys and retry on `503`/`409`. Every write is answered once,
/// none twice, none lost, and no answer is a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn terminated_connections_during_keyed_writes_lose_and_duplicate_nothing() {
    if postgres_url().is_none() {
        return;
    }
    // A short lease, so that a claim left by a request killed with its connection is free
    // within the test's time.
    let app =
        spawn_app_with(Options::default().var("MENTORAT_IDEMPOTENCY_LEASE_SECONDS", "2")).await;
    let pair = active_pair(&app).await;
    let database = app
        .database_url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            use sea_orm::ConnectionTrait;
            let admin = sea_orm::Database::connect(postgres_url().unwrap())
                .await
                .unwrap();
            let mut kills = 0;
            // Bounded: at most 100 rounds of terminations.
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && kills < 100 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = admin
                    .execute_unprepared(&format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = '{database}' AND pid <> pg_backend_pid()"
                    ))
                    .await;
                kills += 1;
            }
            kills
        })
    };
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let client = app.client.clone();
            let url = app.url(&format!("/api/v1/pairs/{}/notes", pair.id));
            tokio::spawn(async move {
                let mut answers: Vec<(String, u16, String)> = Vec::new();
                for n in 0..10 {
                    let key = format!("fault-{w}-{n}");
                    let deadline = Instant::now() + Duration::from_secs(30);
                    loop {
                        let sent = client
                            .post(&url)
                            .bearer_auth(as_("ME"))
                            .header("idempotency-key", &key)
                            .json(&json!({"body": key, "visibility": "shared"}))
                            .send()
                            .await;
                        let Ok(response) = sent else {
                            continue;
                        };
                        let status = response.status().as_u16();
                        let text = response.text().await.unwrap_or_default();
                        answers.push((key.clone(), status, text));
                        if status == 201 || Instant::now() > deadline {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                answers
            })
        })
        .collect();
    let mut answers = Vec::new();
    for writer in writers {
        answers.extend(writer.await.unwrap());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let kills = killer.await.unwrap();
    assert!(kills > 5, "the connections were terminated {kills} times");
    // A pooled connection used less than a second ago is not pinged before it is handed out
    // (README, Operations): one the last round of terminations killed answers its next
    // statement `503 database_unavailable` and is dropped. Once those are gone, reads answer.
    let mut after = 0;
    loop {
        let listed = app
            .get(
                &format!("/api/v1/pairs/{}/notes?limit=1", pair.id),
                Some(&as_("ME")),
            )
            .await;
        if listed.status == 200 {
            break;
        }
        assert_eq!(listed.status, 503, "{}", listed.text);
        after += 1;
        assert!(
            after <= 25,
            "still 503 after {after} reads: the dead connections stay"
        );
    }
    for (key, status, text) in &answers {
        assert!(matches!(status, 201 | 409 | 503), "{key}: {status} {text}");
        if *status == 409 {
            assert!(text.contains("idempotency_request_in_progress"), "{text}");
        }
        if *status == 503 {
            assert!(text.contains("database_"), "{text}");
        }
    }
    let all = notes(&app, &pair).await;
    for w in 0..4 {
        for n in 0..10 {
            let key = format!("fault-{w}-{n}");
            assert!(
                answers.iter().any(|(k, s, _)| *k == key && *s == 201),
                "{key} never answered 201: {:?}",
                answers
                    .iter()
                    .filter(|(k, _, _)| *k == key)
                    .map(|(_, s, t)| format!("{s} {}", &t[..t.len().min(120)]))
                    .collect::<Vec<_>>()
            );
            assert_eq!(with_body(&all, &key).len(), 1, "{key}: {all:?}");
        }
    }
}

/// A body larger than its route takes is refused from its `Content-Length`, before it is
/// read, with the limit of that route; the import's route takes more.
#[tokio::test]
async fn an_announced_body_over_the_route_limit_is_413_before_it_is_read() {
    let app = spawn_app().await;
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(2 << 20));
    let refused = app
        .send(
            app.client
                .post(app.url("/api/v1/programs"))
                .bearer_auth(app.as_coordinator())
                .header("content-type", "application/json")
                .body(big),
        )
        .await;
    refused.problem(413, "payload_too_large");
    // The same path spelled with a percent-escape is the same route, with the same limit.
    let import = app
        .send(
            app.client
                .post(app.url("/api/v1/people/%69mport"))
                .bearer_auth(app.as_hris())
                .header("content-type", "application/json")
                .body("[]"),
        )
        .await;
    assert_ne!(import.status, 500, "{}", import.text);
}
