//! W3C trace context and the access log: a caller's `traceparent` makes the request part of
//! its trace (the trace id in the answer's `traceparent`, in problem documents and on every
//! log line of the request), a malformed one is ignored; the access line is flat JSON naming
//! the route pattern, never the path; traces leave over OTLP/HTTP when `OTEL_*` says so.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use mentorat_tests::{captured_logs, spawn_app};
use serde_json::{Value, json};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn traceparent() -> String {
    format!("00-{TRACE_ID}-{PARENT}-01")
}

fn is_trace_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The lines of the captured log written while serving the request `request_id`.
fn lines_of(text: &str, request_id: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["request_id"] == request_id)
        .collect()
}

#[tokio::test]
async fn the_callers_trace_id_is_in_the_problem_the_answer_and_every_log_line() {
    let logs = captured_logs();
    let app = spawn_app().await;
    let reply = app
        .send(
            app.client
                .get(app.url("/api/v1/programs"))
                .header("traceparent", traceparent())
                .header("tracestate", "congo=t61rcWkgMzE"),
        )
        .await;
    let problem = reply.problem(401, "unauthorized");
    assert_eq!(problem["trace_id"], TRACE_ID, "{problem}");
    // The answer names this request's own span in the caller's trace.
    let answered = reply.header("traceparent").expect("a traceparent answered");
    let parts: Vec<&str> = answered.split('-').collect();
    assert_eq!(parts.len(), 4, "{answered}");
    assert_eq!((parts[0], parts[1], parts[3]), ("00", TRACE_ID, "01"));
    assert_ne!(
        parts[2], PARENT,
        "the request's span is a child, not the caller's"
    );
    assert_eq!(parts[2].len(), 16);

    let request_id = reply.header("x-request-id").unwrap();
    let lines = lines_of(&logs.text(), request_id);
    assert!(!lines.is_empty());
    for line in &lines {
        assert_eq!(line["trace_id"], TRACE_ID, "{line}");
    }
}

#[tokio::test]
async fn a_malformed_traceparent_is_ignored_and_a_fresh_trace_begins() {
    let app = spawn_app().await;
    for bad in [
        "garbage".to_owned(),
        format!("00-{}-{PARENT}-01", "0".repeat(32)),
        format!("00-{}-{PARENT}-01", TRACE_ID.to_uppercase()),
        format!("ff-{TRACE_ID}-{PARENT}-01"),
        format!("00-{TRACE_ID}-{PARENT}"),
    ] {
        let reply = app
            .send(
                app.client
                    .get(app.url("/api/v1/programs/nope"))
                    .bearer_auth(app.as_coordinator())
                    .header("traceparent", &bad),
            )
            .await;
        assert!(reply.status < 500, "{bad}: {}", reply.status);
        let problem = reply.json();
        let trace_id = problem["trace_id"].as_str().unwrap_or_default();
        assert!(is_trace_id(trace_id), "{bad}: {problem}");
        assert_ne!(trace_id, TRACE_ID, "{bad}");
        assert!(
            reply
                .header("traceparent")
                .is_some_and(|t| t.starts_with(&format!("00-{trace_id}-"))),
            "{bad}"
        );
    }
    // Without any traceparent too, each request is a trace of its own.
    let one = app.get("/api/v1/programs", None).await.json();
    let two = app.get("/api/v1/programs", None).await.json();
    assert!(is_trace_id(one["trace_id"].as_str().unwrap()));
    assert_ne!(one["trace_id"], two["trace_id"]);
}

#[tokio::test]
async fn the_access_line_is_flat_json_with_the_route_pattern_and_no_id_of_the_path() {
    let logs = captured_logs();
    let app = spawn_app().await;
    let program = app.create_program("Traced").await;
    let id = program["id"].as_str().unwrap();
    let reply = app
        .send(
            app.client
                .get(app.url(&format!("/api/v1/programs/{id}")))
                .bearer_auth(app.as_coordinator())
                .header("traceparent", traceparent()),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let request_id = reply.header("x-request-id").unwrap();
    let text = logs.text();
    let lines = lines_of(&text, request_id);
    let access = lines
        .iter()
        .find(|l| l["message"] == "request served")
        .unwrap_or_else(|| panic!("no access line in {lines:?}"));
    assert_eq!(access["method"], "GET", "{access}");
    assert_eq!(access["route"], "/api/v1/programs/{id}", "{access}");
    assert_eq!(access["status"], 200, "{access}");
    assert!(access["latency_ms"].as_f64().is_some(), "{access}");
    assert_eq!(access["subject"], "C001", "{access}");
    assert_eq!(access["request_id"], request_id, "{access}");
    assert_eq!(access["trace_id"], TRACE_ID, "{access}");
    for line in &lines {
        assert!(
            !line.to_string().contains(id),
            "the program's id logged: {line}"
        );
    }
}

/// What a collector was sent: path, content type, body.
type Post = (String, String, Vec<u8>);

#[derive(Clone, Default)]
struct Collector {
    posts: Arc<Mutex<Vec<Post>>>,
}

/// An OTLP/HTTP receiver on loopback: records what it is sent.
async fn collector() -> (Collector, String) {
    let c = Collector::default();
    let data = web::Data::new(c.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        App::new().app_data(data.clone()).default_service(web::to(
            |req: HttpRequest, body: web::Bytes, c: web::Data<Collector>| async move {
                let content_type = req
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                c.posts
                    .lock()
                    .unwrap()
                    .push((req.path().to_owned(), content_type, body.to_vec()));
                HttpResponse::Ok()
                    .content_type("application/x-protobuf")
                    .finish()
            },
        ))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (c, format!("http://127.0.0.1:{port}"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Needs a process of its own (the tracing subscriber is global): nextest gives each test one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_request_is_exported_over_otlp_with_the_callers_trace_id() {
    let (collector, endpoint) = collector().await;
    let config = mentorat::Config::from_lookup(|name| match name {
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.clone()),
        "MENTORAT_LOG_FORMAT" => Some("json".into()),
        _ => None,
    })
    .unwrap();
    let telemetry = mentorat::telemetry::init_with_writer(&config, std::io::sink);
    assert!(telemetry.exports_traces());

    let app = spawn_app().await;
    let reply = app
        .send(
            app.client
                .post(app.url("/api/v1/programs"))
                .bearer_auth(app.as_coordinator())
                .header("traceparent", traceparent())
                .json(&json!({"name": "Exported"})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    tokio::task::spawn_blocking(move || telemetry.flush())
        .await
        .unwrap();

    let posts = collector.posts.lock().unwrap().clone();
    let trace_id: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&TRACE_ID[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let exported: Vec<&Post> = posts
        .iter()
        .filter(|(path, _, body)| path == "/v1/traces" && contains(body, &trace_id))
        .collect();
    assert!(
        !exported.is_empty(),
        "no export carrying the trace id among {:?}",
        posts
            .iter()
            .map(|(p, t, b)| (p, t, b.len()))
            .collect::<Vec<_>>()
    );
    let (_, content_type, body) = exported[0];
    assert_eq!(content_type, "application/x-protobuf");
    // The request's span, named after its route, and a span per database statement.
    assert!(contains(body, b"POST /api/v1/programs"), "no request span");
    assert!(contains(body, b"db.operation.name"), "no statement span");
    assert!(contains(body, b"INSERT"), "no INSERT statement span");
    // Never the words of the request.
    assert!(
        !contains(body, b"Exported"),
        "the body's words were exported"
    );
}
