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
