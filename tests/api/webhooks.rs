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
    user_agent: String,
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
        user_agent: h("user-agent"),
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

// Issue 16: webhook operations.

/// Make every delivery due now (its backoff has passed).
async fn backoff_passes(app: &TestApp) {
    app.time_passes(
        "UPDATE webhook_deliveries SET next_attempt_at = $1",
        vec![(chrono::Utc::now() - chrono::Duration::seconds(1)).into()],
    )
    .await;
}

/// Something happens that the endpoints subscribed to (ids only, as the use cases write).
async fn event_happens(app: &TestApp, kind: &str) {
    mentorat_persistence::outbox::record(
        app.db.conn(),
        kind,
        json!({"pair_id": uuid::Uuid::now_v7()}),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
}

async fn register(app: &TestApp, url: &str, events: Value) -> Value {
    let created = app
        .post_json(
            "/api/v1/webhooks",
            Some(&app.as_admin()),
            &json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.json()
}

async fn deliveries_of(app: &TestApp, hook: &str) -> Vec<Value> {
    let page = app
        .get(
            &format!("/api/v1/webhooks/{hook}/deliveries"),
            Some(&app.as_admin()),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    page.json()["items"].as_array().unwrap().clone()
}

/// Delivery rounds with `courier` (the server's loop runs too) until `n` requests arrived.
async fn delivered_by(
    app: &TestApp,
    courier: &mentorat_service::webhooks::Courier,
    r: &Receiver,
    n: usize,
) -> usize {
    for _ in 0..50 {
        if r.got.lock().unwrap().len() >= n {
            break;
        }
        mentorat_service::webhooks::deliver_once(&app.db, courier)
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    r.got.lock().unwrap().len()
}

#[tokio::test]
async fn an_endpoint_is_read_changed_under_the_same_rules_and_paused() {
    let app = spawn_app().await;
    let (r, url) = receiver().await;
    let hook = register(&app, &url, json!(["pair.ended"])).await;
    let id = hook["id"].as_str().unwrap();
    let path = format!("/api/v1/webhooks/{id}");
    let read = app.get(&path, Some(&app.as_admin())).await;
    assert_eq!(read.status, 200, "{}", read.text);
    let read = read.json();
    assert_eq!(read["url"], url.as_str());
    assert_eq!(read["enabled"], true);
    assert_eq!(read["failing_since"], Value::Null);
    assert!(read.get("secret").is_none(), "{read}");
    // A new address goes through the SSRF rules, events through the vocabulary.
    app.patch_json(
        &path,
        Some(&app.as_admin()),
        None,
        &json!({"url": "http://169.254.169.254/latest/meta-data/"}),
    )
    .await
    .problem(422, "webhook_target_forbidden");
    let p = app
        .patch_json(
            &path,
            Some(&app.as_admin()),
            None,
            &json!({"events": ["note.written"]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(p["errors"][0]["pointer"], "/events/0");
    app.patch_json(&path, Some(&app.as_admin()), None, &json!({"secret": "x"}))
        .await
        .problem(422, "validation_failed");
    // Paused: nothing is sent, nor queued for it.
    let paused = app
        .patch_json(
            &path,
            Some(&app.as_admin()),
            None,
            &json!({"enabled": false, "events": ["pair.ended", "pair.suspended"]}),
        )
        .await;
    assert_eq!(paused.status, 200, "{}", paused.text);
    assert_eq!(paused.json()["enabled"], false);
    assert_eq!(
        paused.json()["events"],
        json!(["pair.ended", "pair.suspended"])
    );
    event_happens(&app, "pair.ended").await;
    let courier = loopback_courier();
    for _ in 0..3 {
        mentorat_service::webhooks::deliver_once(&app.db, &courier)
            .await
            .unwrap();
    }
    assert!(
        r.got.lock().unwrap().is_empty(),
        "a paused endpoint was called"
    );
    assert!(deliveries_of(&app, id).await.is_empty());
    // Enabled again: what happens now reaches it.
    let on = app
        .patch_json(
            &path,
            Some(&app.as_admin()),
            None,
            &json!({"enabled": true}),
        )
        .await;
    assert_eq!(on.json()["enabled"], true, "{}", on.text);
    event_happens(&app, "pair.suspended").await;
    assert_eq!(delivered(&app, &r, 1).await.len(), 1);
    // Someone else's or nobody's: 404.
    let nobody = format!("/api/v1/webhooks/{}", uuid::Uuid::now_v7());
    app.get(&nobody, Some(&app.as_admin()))
        .await
        .problem(404, "not_found");
    app.patch_json(
        &nobody,
        Some(&app.as_admin()),
        None,
        &json!({"enabled": false}),
    )
    .await
    .problem(404, "not_found");
    app.get(&format!("{nobody}/deliveries"), Some(&app.as_admin()))
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn a_failing_endpoint_shows_its_retries_and_an_admin_retries_by_hand() {
    let app = spawn_app().await;
    let (r, url) = receiver().await;
    r.answer.store(503, Ordering::SeqCst);
    let hook = register(&app, &url, json!(["pair.proposed"])).await;
    let id = hook["id"].as_str().unwrap();
    active_pair(&app).await;
    assert_eq!(delivered(&app, &r, 1).await.len(), 1);
    let list = deliveries_of(&app, id).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let d = &list[0];
    assert_eq!(d["kind"], "pair.proposed");
    assert_eq!(d["status"], "pending");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["last_status"], 500);
    assert_eq!(d["last_outcome"], "rejected");
    // The first backoff is 30 s with jitter: at least half of it.
    let next: chrono::DateTime<chrono::Utc> =
        d["next_attempt_at"].as_str().unwrap().parse().unwrap();
    assert!(
        next > chrono::Utc::now() + chrono::Duration::seconds(13),
        "{d}"
    );
    assert!(
        next <= chrono::Utc::now() + chrono::Duration::seconds(31),
        "{d}"
    );
    // Every delivery says who sends it.
    let got = r.got.lock().unwrap().clone();
    assert!(
        got[0].user_agent.starts_with("Mentorat/") && got[0].user_agent.len() > "Mentorat/".len(),
        "{got:?}"
    );
    // An admin retries it by hand: due now, attempted at once.
    let delivery = d["id"].as_str().unwrap();
    let retry = format!("/api/v1/webhooks/{id}/deliveries/{delivery}/retry");
    let answer = app
        .post_json(&retry, Some(&app.as_admin()), &json!({}))
        .await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    assert_eq!(answer.json()["status"], "pending");
    assert_eq!(delivered(&app, &r, 2).await.len(), 2);
    assert_eq!(deliveries_of(&app, id).await[0]["attempts"], 2);
    // The endpoint recovers: the next attempt gets through.
    r.answer.store(200, Ordering::SeqCst);
    backoff_passes(&app).await;
    let got = delivered(&app, &r, 3).await;
    assert_eq!(got.len(), 3);
    assert!(
        got.iter().all(|m| m.id == got[0].id),
        "a retry is the same message"
    );
    let d = &deliveries_of(&app, id).await[0];
    assert_eq!(d["status"], "delivered", "{d}");
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["last_status"], 200);
    assert_eq!(
        app.get(&format!("/api/v1/webhooks/{id}"), Some(&app.as_admin()))
            .await
            .json()["failing_since"],
        Value::Null
    );
    // Another endpoint's delivery, or none, is not found.
    let other = register(&app, &url, json!(["pair.ended"])).await;
    app.post_json(
        &format!(
            "/api/v1/webhooks/{}/deliveries/{delivery}/retry",
            other["id"].as_str().unwrap()
        ),
        Some(&app.as_admin()),
        &json!({}),
    )
    .await
    .problem(404, "not_found");
    // Pages like every list.
    for _ in 0..3 {
        event_happens(&app, "pair.proposed").await;
    }
    delivered(&app, &r, 6).await;
    let page = app
        .get(
            &format!("/api/v1/webhooks/{id}/deliveries?limit=2"),
            Some(&app.as_admin()),
        )
        .await
        .json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2, "{page}");
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/api/v1/webhooks/{id}/deliveries?limit=2&cursor={cursor}"),
            Some(&app.as_admin()),
        )
        .await
        .json();
    assert_eq!(rest["items"].as_array().unwrap().len(), 2, "{rest}");
    assert_eq!(rest["next_cursor"], Value::Null);
}

#[tokio::test]
async fn a_delivery_failing_for_its_window_is_failed_and_an_endpoint_failing_for_its_own_is_disabled()
 {
    // The windows shrunk from 3 and 5 days to 1 and 2 seconds.
    let app = spawn_app_with(
        Options::default()
            .var("MENTORAT_WEBHOOK_GIVE_UP_SECONDS", "1")
            .var("MENTORAT_WEBHOOK_DISABLE_SECONDS", "2"),
    )
    .await;
    let courier = loopback_courier().with_windows(mentorat_domain::webhook::Windows {
        give_up_after: chrono::Duration::seconds(1),
        disable_after: chrono::Duration::seconds(2),
    });
    let (r, url) = receiver().await;
    r.answer.store(500, Ordering::SeqCst);
    let hook = register(&app, &url, json!(["pair.proposed"])).await;
    let id = hook["id"].as_str().unwrap();
    event_happens(&app, "pair.proposed").await;
    assert_eq!(delivered_by(&app, &courier, &r, 1).await, 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    backoff_passes(&app).await;
    assert_eq!(delivered_by(&app, &courier, &r, 2).await, 2);
    let d = deliveries_of(&app, id).await[0].clone();
    assert_eq!(d["status"], "failed", "{d}");
    assert!(d["failed_at"].is_string(), "{d}");
    // A dead letter is not attempted again by itself.
    backoff_passes(&app).await;
    for _ in 0..3 {
        mentorat_service::webhooks::deliver_once(&app.db, &courier)
            .await
            .unwrap();
    }
    assert_eq!(r.got.lock().unwrap().len(), 2);
    let read = app
        .get(&format!("/api/v1/webhooks/{id}"), Some(&app.as_admin()))
        .await
        .json();
    assert_eq!(read["enabled"], true, "{read}");
    assert!(read["failing_since"].is_string(), "{read}");
    // Retried by hand after the endpoint's own window: it fails again, and the endpoint,
    // failing everything for 2 seconds, is disabled; the admins are told, once.
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let delivery = d["id"].as_str().unwrap();
    let retried = app
        .post_json(
            &format!("/api/v1/webhooks/{id}/deliveries/{delivery}/retry"),
            Some(&app.as_admin()),
            &json!({}),
        )
        .await;
    assert_eq!(retried.status, 202, "{}", retried.text);
    assert_eq!(retried.json()["status"], "pending");
    assert_eq!(delivered_by(&app, &courier, &r, 3).await, 3);
    let read = app
        .get(&format!("/api/v1/webhooks/{id}"), Some(&app.as_admin()))
        .await
        .json();
    assert_eq!(read["enabled"], false, "{read}");
    assert!(read["disabled_at"].is_string(), "{read}");
    let told = app
        .get("/api/v1/me/notifications", Some(&app.as_admin()))
        .await
        .json();
    let disabled: Vec<&Value> = told["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "webhook.disabled")
        .collect();
    assert_eq!(disabled.len(), 1, "{told}");
    assert_eq!(disabled[0]["subject_id"], id);
    // Not the coordinators' business.
    let desk = app
        .get("/api/v1/me/notifications", Some(&app.as_coordinator()))
        .await
        .json();
    assert!(!desk.to_string().contains("webhook.disabled"), "{desk}");
    // Disabled: nothing is attempted, even when due.
    backoff_passes(&app).await;
    for _ in 0..3 {
        mentorat_service::webhooks::deliver_once(&app.db, &courier)
            .await
            .unwrap();
    }
    assert_eq!(r.got.lock().unwrap().len(), 3);
    // The endpoint recovers and an admin enables it again: the waiting delivery goes out.
    r.answer.store(200, Ordering::SeqCst);
    let on = app
        .patch_json(
            &format!("/api/v1/webhooks/{id}"),
            Some(&app.as_admin()),
            None,
            &json!({"enabled": true}),
        )
        .await
        .json();
    assert_eq!(on["enabled"], true);
    assert_eq!(on["disabled_at"], Value::Null);
    assert_eq!(on["failing_since"], Value::Null);
    assert_eq!(delivered_by(&app, &courier, &r, 4).await, 4);
    assert_eq!(deliveries_of(&app, id).await[0]["status"], "delivered");
}

/// An independent check of one Standard Webhooks signature (not the service's code).
fn signature_of(secret: &str, m: &Received) -> String {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", m.id, m.timestamp, m.body).as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_for_a_day() {
    let app = spawn_app().await;
    let (r, url) = receiver().await;
    let hook = register(&app, &url, json!(["pair.ended"])).await;
    let id = hook["id"].as_str().unwrap();
    let old = hook["secret"].as_str().unwrap().to_owned();
    let rotated = app
        .post_json(
            &format!("/api/v1/webhooks/{id}/rotate-secret"),
            Some(&app.as_admin()),
            &json!({}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let rotated = rotated.json();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_") && new != old);
    let until: chrono::DateTime<chrono::Utc> = rotated["previous_secret_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let day = chrono::Utc::now() + chrono::Duration::hours(24);
    assert!((until - day).num_seconds().abs() < 60, "{rotated}");
    // Shown once: not when read.
    let read = app
        .get(&format!("/api/v1/webhooks/{id}"), Some(&app.as_admin()))
        .await;
    assert!(!read.text.contains(&new) && !read.text.contains(&old));
    assert_eq!(
        read.json()["previous_secret_expires_at"],
        rotated["previous_secret_expires_at"]
    );

    event_happens(&app, "pair.ended").await;
    let got = delivered(&app, &r, 1).await;
    let m = &got[0];
    let sent: Vec<&str> = m.signature.split(' ').collect();
    assert_eq!(sent.len(), 2, "{m:?}");
    assert!(sent.contains(&signature_of(&new, m).as_str()), "{m:?}");
    assert!(sent.contains(&signature_of(&old, m).as_str()), "{m:?}");
    assert!(verify(&new, m) && verify(&old, m));
    write_sample(&[&new, &old], m);

    // A day later the old one signs no more.
    app.time_passes(
        "UPDATE webhooks SET previous_secret_until = $1",
        vec![(chrono::Utc::now() - chrono::Duration::seconds(1)).into()],
    )
    .await;
    event_happens(&app, "pair.ended").await;
    let got = delivered(&app, &r, 2).await;
    let m = &got[1];
    assert_eq!(m.signature, signature_of(&new, m), "{m:?}");
    assert!(!verify(&old, m));
    assert_eq!(
        app.get(&format!("/api/v1/webhooks/{id}"), Some(&app.as_admin()))
            .await
            .json()["previous_secret_expires_at"],
        Value::Null
    );
    app.post_json(
        &format!("/api/v1/webhooks/{}/rotate-secret", uuid::Uuid::now_v7()),
        Some(&app.as_admin()),
        &json!({}),
    )
    .await
    .problem(404, "not_found");
}

/// For an outside check with the `standardwebhooks` library (not run by CI): when
/// `MENTORAT_WEBHOOK_SAMPLE` names a file, the message and the secrets are written there.
fn write_sample(secrets: &[&str], m: &Received) {
    if let Ok(path) = std::env::var("MENTORAT_WEBHOOK_SAMPLE") {
        let sample = json!({
            "secrets": secrets,
            "headers": {
                "webhook-id": m.id,
                "webhook-timestamp": m.timestamp,
                "webhook-signature": m.signature,
            },
            "body": m.body,
        });
        std::fs::write(path, sample.to_string()).unwrap();
    }
}

/// Several replicas deliver at once: each delivery is sent by one of them, and an endpoint
/// past its window is disabled, and the admins told, exactly once — over several rounds.
#[tokio::test]
async fn replicas_delivering_at_once_send_each_delivery_once_and_tell_the_admins_once() {
    let app = spawn_app_with(Options::default().var("MENTORAT_WEBHOOK_DISABLE_SECONDS", "1")).await;
    let windows = mentorat_domain::webhook::Windows {
        give_up_after: chrono::Duration::days(3),
        disable_after: chrono::Duration::seconds(1),
    };
    let (r, url) = receiver().await;
    r.answer.store(503, Ordering::SeqCst);
    for round in 1..=4 {
        let hook = register(&app, &url, json!(["pair.proposed"])).await;
        let id = hook["id"].as_str().unwrap().to_owned();
        let before = r.got.lock().unwrap().len();
        for _ in 0..6 {
            event_happens(&app, "pair.proposed").await;
        }
        // The endpoint has been failing for longer than its window.
        app.time_passes(
            "UPDATE webhooks SET failing_since = $1 WHERE enabled = $2",
            vec![
                (chrono::Utc::now() - chrono::Duration::seconds(5)).into(),
                true.into(),
            ],
        )
        .await;
        let barrier = Arc::new(tokio::sync::Barrier::new(4));
        let replicas: Vec<_> = (0..4)
            .map(|_| {
                let db = app.db.clone();
                let courier = loopback_courier().with_windows(windows);
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    mentorat_service::webhooks::deliver_once(&db, &courier)
                        .await
                        .unwrap()
                })
            })
            .collect();
        for replica in replicas {
            replica.await.unwrap();
        }
        let got = r.got.lock().unwrap()[before..].to_vec();
        let mut ids: Vec<&str> = got.iter().map(|m| m.id.as_str()).collect();
        ids.sort_unstable();
        let sent = ids.len();
        ids.dedup();
        assert_eq!(
            ids.len(),
            sent,
            "round {round}: a delivery was sent twice at once"
        );
        let read = app
            .get(&format!("/api/v1/webhooks/{id}"), Some(&app.as_admin()))
            .await
            .json();
        assert_eq!(read["enabled"], false, "round {round}: {read}");
        let told = app
            .get("/api/v1/me/notifications?limit=200", Some(&app.as_admin()))
            .await
            .json();
        let about: usize = told["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "webhook.disabled" && n["subject_id"] == id.as_str())
            .count();
        assert_eq!(about, 1, "round {round}: {told}");
    }
}

/// Both signing secrets are sealed at rest, and `rotate-key` re-seals the old one too: after
/// a key rotation the message still carries both signatures.
#[tokio::test]
async fn both_signing_secrets_survive_a_key_rotation() {
    let key = |n: u8| STANDARD.encode([n; 32]);
    let app = spawn_app_with(Options::default().var("MENTORAT_ENCRYPTION_KEY", key(1))).await;
    let (r, url) = receiver().await;
    let hook = register(&app, &url, json!(["pair.ended"])).await;
    let id = hook["id"].as_str().unwrap().to_owned();
    let old = hook["secret"].as_str().unwrap().to_owned();
    let rotated = app
        .post_json(
            &format!("/api/v1/webhooks/{id}/rotate-secret"),
            Some(&app.as_admin()),
            &json!({}),
        )
        .await
        .json();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    app.stop().await;
    let rotation = app
        .command(
            &["rotate-key"],
            Options::default().var("MENTORAT_ENCRYPTION_KEY", format!("{},{}", key(2), key(1))),
            std::time::Duration::from_secs(60),
        )
        .expect("the rotation ends");
    assert_eq!(rotation.exit_code, 0, "{rotation:?}");
    let after = spawn_app_with(
        Options::default()
            .var("MENTORAT_DATABASE_URL", app.database_url.clone())
            .var("MENTORAT_ENCRYPTION_KEY", key(2)),
    )
    .await;
    let read = after
        .get(&format!("/api/v1/webhooks/{id}"), Some(&after.as_admin()))
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    event_happens(&after, "pair.ended").await;
    let got = delivered(&after, &r, 1).await;
    assert!(verify(&new, &got[0]) && verify(&old, &got[0]), "{got:?}");
    after.stop().await;
}
