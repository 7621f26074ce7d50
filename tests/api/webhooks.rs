//! Webhooks: registered by admins, delivered from the outbox at least once, signed after the
//! Standard Webhooks scheme, retried when the endpoint fails — ids and metadata only.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU16, Ordering},
};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use mentorat_domain::network::TargetPolicy;
use mentorat_tests::{LOOPBACK_NETWORKS, Options, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::working_life::{active_pair, as_};

#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    answer: Arc<AtomicU16>,
    /// A `Location` to answer with (redirects).
    location: Arc<Mutex<Option<String>>>,
}

/// A courier allowed to reach the receivers' loopback, as the test servers are.
fn loopback_courier() -> mentorat_service::webhooks::Courier {
    mentorat_service::webhooks::client(TargetPolicy::parse(LOOPBACK_NETWORKS).unwrap()).unwrap()
}

async fn hook(req: HttpRequest, body: web::Bytes, r: web::Data<Receiver>) -> HttpResponse {
    let h = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    r.got.lock().unwrap().push(Received {
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let status = r.answer.load(Ordering::SeqCst);
    let mut answer = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
    if let Some(location) = r.location.lock().unwrap().clone() {
        answer.insert_header(("location", location));
    }
    answer.finish()
}

/// A receiving endpoint on a free port; answers `answer` (200 at first).
async fn receiver() -> (Receiver, String) {
    let r = Receiver::default();
    r.answer.store(200, Ordering::SeqCst);
    let data = web::Data::new(r.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/hook", web::post().to(hook))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (r, format!("http://127.0.0.1:{port}/hook"))
}

/// Run delivery rounds (the server's own loop runs too) until `n` requests arrived.
async fn delivered(app: &TestApp, r: &Receiver, n: usize) -> Vec<Received> {
    let client = loopback_courier();
    for _ in 0..50 {
        if r.got.lock().unwrap().len() >= n {
            break;
        }
        mentorat_service::webhooks::deliver_once(&app.db, &client)
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    r.got.lock().unwrap().clone()
}

fn verify(secret: &str, m: &Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", m.id, m.timestamp, m.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    m.signature.split(' ').any(|s| s == expected)
}

#[tokio::test]
async fn events_reach_a_registered_endpoint_signed_and_without_content() {
    let app = spawn_app().await;
    let (r, url) = receiver().await;
    let created = app
        .post_json(
            "/api/v1/webhooks",
            Some(&app.as_admin()),
            &json!({"url": url, "events": ["pair.proposed", "pair.activated", "pair.ended"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let hook = created.json();
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    // Listed without its secret.
    let list = app.get("/api/v1/webhooks", Some(&app.as_admin())).await;
    assert!(!list.text.contains(&secret));
    assert_eq!(list.json()["items"][0]["url"], url.as_str());

    let pair = active_pair(&app).await;
    app.post_json(
        &format!("/api/v1/pairs/{}/end", pair.id),
        Some(&as_("ME")),
        &json!({"reason_category": "mismatch", "reason_text": "Nos mots à nous"}),
    )
    .await;
    let got = delivered(&app, &r, 3).await;
    let mut kinds: Vec<String> = got
        .iter()
        .map(|m| {
            serde_json::from_str::<Value>(&m.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["pair.activated", "pair.ended", "pair.proposed"],
        "{got:?}"
    );
    for m in &got {
        assert!(verify(&secret, m), "bad signature on {m:?}");
        assert!(m.id.starts_with("msg_"));
        let body: Value = serde_json::from_str(&m.body).unwrap();
        assert_eq!(body["data"]["pair_id"], pair.id.as_str());
    }
    // The category travels; the members' own words do not (R5, R9).
    assert!(
        got.iter()
            .any(|m| m.body.contains("\"reason_category\":\"mismatch\""))
    );
    assert!(got.iter().all(|m| !m.body.contains("Nos mots")));
    // Events it did not subscribe to are not sent; each event is sent once.
    let again = delivered(&app, &r, 4).await;
    assert_eq!(again.len(), 3);
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_later_until_it_answers() {
    let app = spawn_app().await;
    let (r, url) = receiver().await;
    r.answer.store(503, Ordering::SeqCst);
    let hook = app
        .post_json(
            "/api/v1/webhooks",
            Some(&app.as_admin()),
            &json!({"url": url, "events": ["pair.proposed"]}),
        )
        .await
        .json();
    active_pair(&app).await;
    let first = delivered(&app, &r, 1).await;
    assert_eq!(first.len(), 1);
    let list = app
        .get("/api/v1/webhooks", Some(&app.as_admin()))
        .await
        .json();
    let delivery = &list["items"][0]["recent_deliveries"][0];
    assert_eq!(delivery["attempts"], 1, "{list}");
    // The admin sees the class of the answer and what it came to, not the exact status.
    assert_eq!(delivery["last_status"], 500);
    assert_eq!(delivery["last_outcome"], "rejected");
    assert_eq!(delivery["delivered_at"], Value::Null);
    // Not before its time: another round sends nothing.
    let client = loopback_courier();
    mentorat_service::webhooks::deliver_once(&app.db, &client)
        .await
        .unwrap();
    assert_eq!(r.got.lock().unwrap().len(), 1);
    // The endpoint is back and the backoff has passed: delivered, with the same message id.
    r.answer.store(204, Ordering::SeqCst);
    app.time_passes(
        "UPDATE webhook_deliveries SET next_attempt_at = $1",
        vec![(chrono::Utc::now() - chrono::Duration::seconds(1)).into()],
    )
    .await;
    let second = delivered(&app, &r, 2).await;
    assert_eq!(second.len(), 2);
    assert_eq!(second[0].id, second[1].id, "a retry is the same message");
    let list = app
        .get("/api/v1/webhooks", Some(&app.as_admin()))
        .await
        .json();
    let delivery = &list["items"][0]["recent_deliveries"][0];
    assert_eq!(delivery["attempts"], 2);
    assert!(delivery["delivered_at"].is_string(), "{list}");

    // Removed: gone, and once only.
    let path = format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap());
    assert_eq!(app.delete(&path, Some(&app.as_admin())).await.status, 204);
    app.delete(&path, Some(&app.as_admin()))
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn only_admins_manage_webhooks_and_bad_registrations_are_named() {
    let app = spawn_app().await;
    for token in [
        app.as_coordinator(),
        app.as_hris(),
        app.as_analyst(),
        as_("ME"),
    ] {
        app.post_json(
            "/api/v1/webhooks",
            Some(&token),
            &json!({"url": "https://x.example/hook"}),
        )
        .await
        .problem(403, "forbidden");
        app.get("/api/v1/webhooks", Some(&token))
            .await
            .problem(403, "forbidden");
    }
    for (body, pointer) in [
        (json!({"url": "ftp://x.example"}), "/url"),
        (json!({"url": "https://u:p@x.example/h"}), "/url"),
        (
            json!({"url": "https://x.example", "events": ["note.written"]}),
            "/events/0",
        ),
    ] {
        let p = app
            .post_json("/api/v1/webhooks", Some(&app.as_admin()), &body)
            .await
            .problem(422, "validation_failed");
        assert_eq!(p["errors"][0]["pointer"], pointer, "{body}");
    }
}

/// A server with the default policy: public addresses only.
async fn spawn_public_only() -> TestApp {
    spawn_app_with(Options::default().var("MENTORAT_WEBHOOK_ALLOWED_NETWORKS", "")).await
}

#[tokio::test]
async fn internal_addresses_are_refused_at_registration_in_every_spelling() {
    let app = spawn_public_only().await;
    let (_, receiver) = receiver().await;
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.0.10:8080/hook",
        "http://100.64.1.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://017700000001/",
        "http://127.1/",
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://192.0.2.1/",
        "http://localhost:8080/",
        "https://rh.chu.example/hook\r\nX-Injected: 1",
        "https://rh.chu.example/ho\rok",
        "https://rh.chu.example/ho\tok",
        receiver.as_str(),
    ] {
        let p = app
            .post_json(
                "/api/v1/webhooks",
                Some(&app.as_admin()),
                &json!({ "url": url }),
            )
            .await
            .problem(422, "webhook_target_forbidden");
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains("MENTORAT_WEBHOOK_ALLOWED_NETWORKS") || detail.contains("control"),
            "{url}: {p}"
        );
    }
    // A public address is fine; nothing else was registered.
    let ok = app
        .post_json(
            "/api/v1/webhooks",
            Some(&app.as_admin()),
            &json!({"url": "https://93.184.216.34/hook"}),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    let list = app
        .get("/api/v1/webhooks", Some(&app.as_admin()))
        .await
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");

    // An allowed network opens only itself: metadata and private ranges stay closed.
    let loopback = spawn_app().await;
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
    ] {
        loopback
            .post_json(
                "/api/v1/webhooks",
                Some(&loopback.as_admin()),
                &json!({ "url": url }),
            )
            .await
            .problem(422, "webhook_target_forbidden");
    }
}

#[tokio::test]
async fn a_delivery_connects_only_to_addresses_checked_after_resolving_the_name() {
    // Registered while the operator allowed loopback; the allowance is gone since: neither the
    // address nor a name resolving to it is called any more.
    let app = spawn_public_only().await;
    let (r, url) = receiver().await;
    let port = url.rsplit(':').next().unwrap().trim_end_matches("/hook");
    for target in [url.clone(), format!("http://localhost:{port}/hook")] {
        mentorat_persistence::webhooks::insert(
            app.db.conn(),
            app.db.keys(),
            &target,
            &["pair.proposed".to_owned()],
            "whsec_dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQ=",
            "ADMIN",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    }
    active_pair(&app).await;
    let strict = mentorat_service::webhooks::client(TargetPolicy::public_only()).unwrap();
    for _ in 0..3 {
        mentorat_service::webhooks::deliver_once(&app.db, &strict)
            .await
            .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        r.got.lock().unwrap().is_empty(),
        "a forbidden address was called"
    );
    let list = app
        .get("/api/v1/webhooks", Some(&app.as_admin()))
        .await
        .json();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    for hook in items {
        let d = &hook["recent_deliveries"][0];
        assert_eq!(d["last_outcome"], "forbidden", "{list}");
        assert_eq!(d["last_status"], Value::Null);
        assert_eq!(d["delivered_at"], Value::Null);
    }
}

#[tokio::test]
async fn redirects_are_never_followed() {
    let app = spawn_app().await;
    let (first, url) = receiver().await;
    let (second, elsewhere) = receiver().await;
    first.answer.store(307, Ordering::SeqCst);
    *first.location.lock().unwrap() = Some(elsewhere);
    app.post_json(
        "/api/v1/webhooks",
        Some(&app.as_admin()),
        &json!({"url": url, "events": ["pair.proposed"]}),
    )
    .await;
    active_pair(&app).await;
    assert_eq!(delivered(&app, &first, 1).await.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        second.got.lock().unwrap().is_empty(),
        "the redirect was followed"
    );
    let list = app
        .get("/api/v1/webhooks", Some(&app.as_admin()))
        .await
        .json();
    let d = &list["items"][0]["recent_deliveries"][0];
    assert_eq!(d["last_outcome"], "rejected", "{list}");
    assert_eq!(d["last_status"], 300);
}
