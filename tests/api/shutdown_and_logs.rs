use std::time::Duration;

use mentorat_tests::{Options, spawn_app, spawn_app_with};
use serde_json::Value;

/// SIGTERM makes actix stop gracefully; this is the same stop, asked for through the server
/// handle: a request whose body is still arriving when the stop begins gets its answer.
#[tokio::test]
async fn a_graceful_stop_lets_an_in_flight_request_finish() {
    let app = spawn_app().await;
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
    let in_flight = tokio::spawn(request);
    tx.send(Ok(b"{\"name\": \"Arriving ".to_vec()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stopping = tokio::spawn(app.handle().stop(true));
    tokio::time::sleep(Duration::from_millis(200)).await;
    tx.send(Ok(b"slowly\"}".to_vec())).await.unwrap();
    drop(tx);

    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["name"], "Arriving slowly");
    tokio::time::timeout(Duration::from_secs(40), stopping)
        .await
        .expect("the server stops")
        .unwrap();
    // Nothing was cut: the stop says so (exit code 0).
    assert_eq!(app.stopped().await.cut, 0);
}

/// A request still running when the grace period runs out is cut, and the stop says how
/// many were (the binary exits with code 3 then).
#[tokio::test]
async fn a_stop_says_how_many_requests_it_cut_after_the_grace_period() {
    let app = spawn_app_with(
        Options::default()
            .var("MENTORAT_SHUTDOWN_GRACE", "1")
            .var("MENTORAT_BODY_TIMEOUT", "60"),
    )
    .await;
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
    let in_flight = tokio::spawn(request);
    tx.send(Ok(b"{\"name\": \"Never ".to_vec())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The body never ends: after the 1 s grace the request is cut.
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("the server stops after its grace period");
    let stopped = tokio::time::timeout(Duration::from_secs(10), app.stopped())
        .await
        .expect("the run ends");
    assert_eq!(stopped.cut, 1, "{stopped:?}");
    assert!(
        in_flight.await.unwrap().is_err(),
        "the cut request got no answer"
    );
    drop(tx);
}

#[tokio::test]
async fn log_lines_are_json_and_carry_the_request_id() {
    let captured = mentorat_tests::captured_logs();

    let app = spawn_app().await;
    let reply = app
        .post_json(
            "/api/v1/programs",
            Some(&app.as_coordinator()),
            &serde_json::json!({"name": "Logged"}),
        )
        .await;
    assert_eq!(reply.status, 201);
    let request_id = reply.header("x-request-id").unwrap().to_owned();

    let text = captured.text();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let of_request: Vec<&Value> = lines
        .iter()
        .filter(|l| l["request_id"] == request_id.as_str())
        .collect();
    // Flat lines: the event's fields at the top level.
    let messages: Vec<&str> = of_request
        .iter()
        .filter_map(|l| l["message"].as_str())
        .collect();
    assert!(
        messages.contains(&"program created"),
        "{messages:?}\n{text}"
    );
    assert!(messages.contains(&"request served"), "{messages:?}");
    // Every line our code wrote while serving a request names it (other tests' requests may
    // share this capture under `cargo test`).
    for line in &lines {
        let ours = line["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("mentorat"));
        let in_request = line["span"].is_object();
        if ours && in_request {
            assert!(
                line["request_id"].as_str().is_some_and(|id| !id.is_empty()),
                "{line}"
            );
            assert!(
                line["trace_id"].as_str().is_some_and(|id| id.len() == 32),
                "{line}"
            );
        }
    }
}
