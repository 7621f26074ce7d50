//! Review of the unit of work: what a write holds while it runs, and what its neighbours
//! then get.

use std::time::{Duration, Instant};

use mentorat_tests::{TestApp, spawn_app};

/// More writes than PostgreSQL's pool has connections (20); SQLite has one.
const HELD: usize = 25;

/// `HELD` writes whose bodies have begun to arrive and not finished: what a slow uplink, a
/// large CSV import or a stalled client looks like to the server.
async fn writes_with_bodies_still_arriving(
    app: &TestApp,
) -> (
    Vec<tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>>,
    Vec<tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>>,
) {
    let mut senders = Vec::new();
    let mut in_flight = Vec::new();
    for _ in 0..HELD {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
        let body = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        });
        let request = app
            .client
            .post(app.url("/api/v1/programs"))
            .bearer_auth(app.as_coordinator())
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(body))
            .send();
        in_flight.push(tokio::spawn(request));
        tx.send(Ok(b"{\"name\": \"Arriving ".to_vec()))
            .await
            .unwrap();
        senders.push(tx);
    }
    (senders, in_flight)
}

/// A write's unit of work is opened before its handler runs — before its body has been
/// read. While bodies are still arriving (well within `MENTORAT_BODY_TIMEOUT`) every one of
/// them holds a database connection and an open transaction: on SQLite the only one, on
/// PostgreSQL the whole pool. Every other request then waits for a connection and is
/// answered `503` — reads, `/readyz`, anyone's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_whose_body_is_still_arriving_holds_no_database_connection() {
    let app = spawn_app().await;
    let (senders, in_flight) = writes_with_bodies_still_arriving(&app).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    let read = app
        .get("/api/v1/programs", Some(&app.as_coordinator()))
        .await;
    let waited = started.elapsed();
    let ready = app.get("/readyz", None).await;

    for tx in senders {
        let _ = tx.send(Ok(b"slowly\"}".to_vec())).await;
    }
    for request in in_flight {
        let _ = request.await;
    }
    assert_eq!(
        read.status, 200,
        "a read beside writes still receiving their bodies: {} after {waited:?}: {}",
        read.status, read.text
    );
    assert_eq!(ready.status, 200, "/readyz: {}", ready.text);
}

/// An import is written 500 rows per transaction so that "a failure loses at most one
/// chunk's work" and, on SQLite, other requests take their turn between chunks ("the 5 s are
/// for a long import beside other requests", `db::acquire_timeout`). In one unit of work the
/// whole import is one transaction: on SQLite it holds the only connection from its first
/// chunk to its commit, and a request sent meanwhile waits for all of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_import_lets_other_requests_through_between_its_chunks() {
    if mentorat_tests::postgres_url().is_some() {
        return; // twenty connections: the import holds one of them
    }
    let app = spawn_app().await;
    let rows: Vec<serde_json::Value> = (0..160_000)
        .map(|n| crate::working_life::person(&format!("IMP{n:06}"), "Pédiatrie"))
        .collect();
    let import = app
        .client
        .post(app.url("/api/v1/people/import"))
        .bearer_auth(app.as_hris())
        .json(&rows);
    let started = Instant::now();
    let importing = tokio::spawn(import.send());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let read = app
        .get("/api/v1/programs", Some(&app.as_coordinator()))
        .await;
    let read_after = started.elapsed();
    let imported = importing.await.unwrap().unwrap();
    let import_took = started.elapsed();
    assert_eq!(imported.status(), 200);
    assert_eq!(
        read.status, 200,
        "a read sent during an import of {import_took:?}, answered after {read_after:?}: {}",
        read.text
    );
}

/// A denial's audit event is only queued for the group-commit writer; when its batch cannot
/// be written (here: the writer waits for a connection that writes still receiving their
/// bodies hold) the event is dropped with a log line — never retried, never in the log,
/// although the denial was answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_denial_answered_while_the_database_is_busy_is_still_in_the_audit_log() {
    let app = spawn_app().await;
    // The control: a denial while the database is free is recorded.
    let before = app.get("/api/v1/people", Some(&app.as_participant())).await;
    assert_eq!(before.status, 403, "{}", before.text);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (senders, in_flight) = writes_with_bodies_still_arriving(&app).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Refused by the access policy alone: no database needed to answer it.
    let denied = app.get("/api/v1/people", Some(&app.as_participant())).await;
    assert_eq!(denied.status, 403, "{}", denied.text);
    // Longer than either database's acquire timeout (SQLite 5 s, PostgreSQL 1 s).
    tokio::time::sleep(Duration::from_secs(6)).await;
    for tx in senders {
        let _ = tx.send(Ok(b"slowly\"}".to_vec())).await;
    }
    for request in in_flight {
        let _ = request.await;
    }
    let log = app
        .get("/api/v1/audit-events?actor=P001", Some(&app.as_admin()))
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    let events = log.json()["items"].as_array().unwrap().clone();
    let denials = events
        .iter()
        .filter(|e| e["outcome"] == "denied" && e["route"] == "/api/v1/people")
        .count();
    assert_eq!(denials, 2, "two denials answered: {events:?}");
}
