//! Keys from an identity provider (`MENTORAT_JWT_JWKS_URL`): fetched at start, fetched again
//! when a token names a `kid` not yet known — at most once per interval — so that a key
//! rotation needs no restart; an unreachable provider is a `401`, never a `500`.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU16, AtomicUsize, Ordering},
};

use actix_web::{App, HttpResponse, HttpServer, web};
use jsonwebtoken::Algorithm;
use mentorat_tests::{
    Options, TestApp, claims, fixture_encoding_key, sign_with_fixture, spawn_app_with, token,
};
use serde_json::{Value, json};

const PROTECTED: &str = "/api/v1/programs";

/// A JWKS endpoint on loopback whose document a test can change (a key rotation) and which
/// counts the fetches it answers.
#[derive(Clone)]
struct IdentityProvider {
    document: Arc<Mutex<String>>,
    status: Arc<AtomicU16>,
    fetches: Arc<AtomicUsize>,
    /// The provider's OpenID Connect discovery document, and how often it was read.
    discovery: Arc<Mutex<String>>,
    discoveries: Arc<AtomicUsize>,
    /// The provider's address: its issuer.
    base: String,
    url: String,
}

impl IdentityProvider {
    async fn start(document: Value) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let idp = IdentityProvider {
            document: Arc::new(Mutex::new(document.to_string())),
            status: Arc::new(AtomicU16::new(200)),
            fetches: Arc::new(AtomicUsize::new(0)),
            discovery: Arc::new(Mutex::new(
                json!({
                    "issuer": format!("http://127.0.0.1:{port}/realms/hr"),
                    "jwks_uri": format!("http://127.0.0.1:{port}/discovery/keys"),
                    "authorization_endpoint": format!("http://127.0.0.1:{port}/realms/hr/auth"),
                })
                .to_string(),
            )),
            discoveries: Arc::new(AtomicUsize::new(0)),
            base: format!("http://127.0.0.1:{port}/realms/hr"),
            url: format!("http://127.0.0.1:{port}/discovery/keys"),
        };
        let data = web::Data::new(idp.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route(
                    "/discovery/keys",
                    web::get().to(|idp: web::Data<IdentityProvider>| async move {
                        idp.fetches.fetch_add(1, Ordering::SeqCst);
                        let status = idp.status.load(Ordering::SeqCst);
                        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                            .content_type("application/json")
                            .body(idp.document.lock().unwrap().clone())
                    }),
                )
                .route(
                    "/realms/hr/.well-known/openid-configuration",
                    web::get().to(|idp: web::Data<IdentityProvider>| async move {
                        idp.discoveries.fetch_add(1, Ordering::SeqCst);
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .body(idp.discovery.lock().unwrap().clone())
                    }),
                )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        idp
    }

    fn rotate_to(&self, document: Value) {
        *self.document.lock().unwrap() = document.to_string();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// A JWK of one of the fixture keys, under `kid`.
fn jwk(alg: Algorithm, kid: &str) -> Value {
    let mut jwk =
        jsonwebtoken::jwk::Jwk::from_encoding_key(&fixture_encoding_key(alg), alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).unwrap()
}

fn jwks(keys: &[Value]) -> Value {
    json!({ "keys": keys })
}

async fn app_trusting(url: &str, refetch_ms: u64) -> TestApp {
    spawn_app_with(
        Options::default()
            .var("MENTORAT_JWT_JWKS_URL", url)
            .var("MENTORAT_JWT_JWKS_REFETCH_MS", refetch_ms.to_string()),
    )
    .await
}

fn signed(alg: Algorithm, kid: &str) -> String {
    sign_with_fixture(alg, Some(kid), &claims("C001", &["coordinator"]))
}

#[tokio::test]
async fn a_key_rotated_at_the_identity_provider_is_trusted_without_a_restart() {
    let idp = IdentityProvider::start(jwks(&[jwk(Algorithm::RS256, "2026-11")])).await;
    let app = app_trusting(&idp.url, 200).await;
    assert_eq!(idp.fetches(), 1, "fetched once at start");
    let before = app
        .get(PROTECTED, Some(&signed(Algorithm::RS256, "2026-11")))
        .await;
    assert_eq!(before.status, 200, "{}", before.text);
    assert_eq!(idp.fetches(), 1, "a known kid needs no fetch");

    // The provider rolls its signing key: a new kid, and the old one withdrawn.
    idp.rotate_to(jwks(&[jwk(Algorithm::ES256, "2026-12")]));
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    let after = app
        .get(PROTECTED, Some(&signed(Algorithm::ES256, "2026-12")))
        .await;
    assert_eq!(after.status, 200, "{}", after.text);
    assert_eq!(idp.fetches(), 2);
    // The withdrawn key is no longer trusted once the new set is known.
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    let old = app
        .get(PROTECTED, Some(&signed(Algorithm::RS256, "2026-11")))
        .await;
    old.problem(401, "unauthorized");
}

#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_the_keys_at_most_once_per_interval() {
    let idp = IdentityProvider::start(jwks(&[jwk(Algorithm::RS256, "real")])).await;
    let app = app_trusting(&idp.url, 3000).await;
    assert_eq!(idp.fetches(), 1, "fetched once at start");
    // Past the interval of the start's fetch (however slow the start was).
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    // Signed beforehand: an RSA signature is slow in a debug build, and signing inside the
    // flood would stall the test's own connections past the server's header timeout.
    let tokens: Vec<String> = (0..40)
        .map(|i| signed(Algorithm::RS256, &format!("invented-{i}")))
        .collect();
    let flood = |from: usize| {
        let app = &app;
        futures_util::future::join_all(
            tokens[from..from + 20]
                .iter()
                .map(move |token| async move { app.get(PROTECTED, Some(token)).await }),
        )
    };
    for reply in flood(0).await {
        reply.problem(401, "unauthorized");
    }
    assert_eq!(idp.fetches(), 2, "20 unknown kids at once, one fetch");
    // Within the interval of that fetch: another 20, no fetch at all.
    for reply in flood(20).await {
        reply.problem(401, "unauthorized");
    }
    assert_eq!(idp.fetches(), 2, "within the interval nothing is fetched");
    // The real key still works, without a fetch.
    let real = app
        .get(PROTECTED, Some(&signed(Algorithm::RS256, "real")))
        .await;
    assert_eq!(real.status, 200, "{}", real.text);
    assert_eq!(idp.fetches(), 2);
}

#[tokio::test]
async fn an_unreachable_identity_provider_is_401_never_500_and_start_goes_on() {
    // Nobody listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/keys",
        closed.local_addr().unwrap().port()
    );
    drop(closed);
    let app = app_trusting(&url, 100).await;
    let reply = app
        .get(PROTECTED, Some(&signed(Algorithm::RS256, "any")))
        .await;
    let problem = reply.problem(401, "unauthorized");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("could not be fetched"),
        "{problem}"
    );
    // The other keys keep working.
    let hs = app
        .get(PROTECTED, Some(&token("C001", &["coordinator"])))
        .await;
    assert_eq!(hs.status, 200, "{}", hs.text);
}

#[tokio::test]
async fn a_provider_failing_at_start_is_used_once_it_answers() {
    let idp = IdentityProvider::start(jwks(&[jwk(Algorithm::EdDSA, "ed")])).await;
    idp.status.store(503, Ordering::SeqCst);
    let app = app_trusting(&idp.url, 100).await;
    let refused = app
        .get(PROTECTED, Some(&signed(Algorithm::EdDSA, "ed")))
        .await;
    refused.problem(401, "unauthorized");
    // A document that is not a JWKS is no better, and no worse.
    idp.status.store(200, Ordering::SeqCst);
    idp.rotate_to(json!({"hello": "world"}));
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    app.get(PROTECTED, Some(&signed(Algorithm::EdDSA, "ed")))
        .await
        .problem(401, "unauthorized");
    idp.rotate_to(jwks(&[jwk(Algorithm::EdDSA, "ed")]));
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let served = app
        .get(PROTECTED, Some(&signed(Algorithm::EdDSA, "ed")))
        .await;
    assert_eq!(served.status, 200, "{}", served.text);
}

#[test]
fn a_published_set_skips_the_keys_it_cannot_verify_with() {
    // As Keycloak publishes: a signing key beside an encryption key, and an algorithm the
    // service does not verify with.
    let mut enc = jwk(Algorithm::RS256, "enc-1");
    enc["use"] = json!("enc");
    enc["alg"] = json!("RSA-OAEP");
    let mut hs512 = json!({"kty": "oct", "kid": "sym", "k": "c2VjcmV0", "alg": "HS512"});
    hs512["use"] = json!("sig");
    // As Entra ID publishes: no `alg`, and members of its own.
    let mut sig = jwk(Algorithm::RS256, "sig-1");
    sig["use"] = json!("sig");
    sig.as_object_mut().unwrap().remove("alg");
    sig["x5t"] = json!("nOo3ZDrODXEK1jKWhXslHR_KXEg");
    sig["issuer"] = json!("https://login.microsoftonline.com/tenant/v2.0");
    sig["cloud_instance_name"] = json!("microsoftonline.com");
    let set = mentorat_api::KeySet::parse_published(&jwks(&[enc, hs512, sig]).to_string()).unwrap();
    assert_eq!(set.len(), 1);
    assert!(mentorat_api::KeySet::parse_published(&jwks(&[]).to_string()).is_err());
    assert!(mentorat_api::KeySet::parse_published("<html>").is_err());
}

/// Claims of a token the identity provider at `issuer` issued.
fn issued_by(issuer: &str) -> Value {
    let mut claims = claims("C001", &["coordinator"]);
    claims["iss"] = json!(issuer);
    claims
}

/// OpenID Connect Discovery: only the issuer is configured; the keys are found through its
/// `/.well-known/openid-configuration` (`jwks_uri`), followed when the provider moves them.
#[tokio::test]
async fn the_keys_are_found_through_the_issuers_discovery_document() {
    let idp = IdentityProvider::start(jwks(&[jwk(Algorithm::RS256, "k1")])).await;
    let app = spawn_app_with(
        Options::default()
            .var("MENTORAT_JWT_ISSUER", idp.base.clone())
            .var("MENTORAT_JWT_OIDC_DISCOVERY", "true")
            .var("MENTORAT_JWT_JWKS_REFETCH_MS", "100"),
    )
    .await;
    assert_eq!(
        idp.discoveries.load(Ordering::SeqCst),
        1,
        "discovered at start"
    );
    assert_eq!(idp.fetches(), 1, "the keys fetched from jwks_uri at start");
    let token = sign_with_fixture(Algorithm::RS256, Some("k1"), &issued_by(&idp.base));
    let reply = app.get(PROTECTED, Some(&token)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // A token of another issuer is refused, whatever key signed it.
    let other = sign_with_fixture(
        Algorithm::RS256,
        Some("k1"),
        &issued_by("http://127.0.0.1:1/elsewhere"),
    );
    app.get(PROTECTED, Some(&other))
        .await
        .problem(401, "unauthorized");

    // A discovery document that claims another issuer is not believed (OIDC Discovery 4.3):
    // its keys are not fetched, those known are kept.
    *idp.discovery.lock().unwrap() = json!({
        "issuer": "https://attacker.example",
        "jwks_uri": idp.url,
    })
    .to_string();
    idp.rotate_to(jwks(&[jwk(Algorithm::ES256, "k2")]));
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let k2 = sign_with_fixture(Algorithm::ES256, Some("k2"), &issued_by(&idp.base));
    app.get(PROTECTED, Some(&k2))
        .await
        .problem(401, "unauthorized");
    assert_eq!(
        idp.fetches(),
        1,
        "no keys fetched on a foreign issuer's word"
    );
    assert_eq!(app.get(PROTECTED, Some(&token)).await.status, 200);
}

#[test]
fn discovery_needs_an_issuer_url_and_no_jwks_url() {
    let dir = tempfile::tempdir().unwrap();
    let base = [
        (
            "MENTORAT_DATABASE_URL",
            format!("sqlite://{}/d.db", dir.path().display()),
        ),
        ("MENTORAT_JWT_OIDC_DISCOVERY", "true".to_owned()),
    ];
    for (name, value, says) in [
        ("MENTORAT_JWT_ISSUER", "mentorat", "MENTORAT_JWT_ISSUER"),
        (
            "MENTORAT_JWT_ISSUER",
            "http://login.example.org/t",
            "MENTORAT_JWT_ISSUER",
        ),
        (
            "MENTORAT_JWT_JWKS_URL",
            "https://login.example.org/keys",
            "MENTORAT_JWT_OIDC_DISCOVERY",
        ),
    ] {
        let mut vars: std::collections::HashMap<String, String> = base
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        vars.insert(
            "MENTORAT_JWT_ISSUER".into(),
            "https://login.example.org/t".into(),
        );
        vars.insert(name.into(), value.into());
        let err = mentorat::Config::from_lookup(|n| vars.get(n).cloned()).unwrap_err();
        assert!(err.to_string().contains(says), "{name}={value}: {err}");
    }
}

/// The keys are fetched again on a timer (`MENTORAT_JWT_JWKS_REFRESH_MS`): a key the provider
/// withdrew stops being trusted though no token ever named a new `kid`.
#[tokio::test]
async fn a_withdrawn_key_stops_being_trusted_on_the_refresh_timer() {
    let idp = IdentityProvider::start(jwks(&[jwk(Algorithm::RS256, "old")])).await;
    let app = spawn_app_with(
        Options::default()
            .var("MENTORAT_JWT_JWKS_URL", idp.url.clone())
            // No fetch on demand within the test: only the timer may fetch.
            .var("MENTORAT_JWT_JWKS_REFETCH_MS", "3600000")
            .var("MENTORAT_JWT_JWKS_REFRESH_MS", "300"),
    )
    .await;
    let old = signed(Algorithm::RS256, "old");
    let reply = app.get(PROTECTED, Some(&old)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // The provider withdraws the key (compromised) and publishes another.
    idp.rotate_to(jwks(&[jwk(Algorithm::ES256, "new")]));
    let at_rotation = idp.fetches();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while idp.fetches() <= at_rotation && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(idp.fetches() > at_rotation, "fetched on the timer");
    // The answer read, the new set is in place a moment later.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.get(PROTECTED, Some(&old))
        .await
        .problem(401, "unauthorized");
    let new = app
        .get(PROTECTED, Some(&signed(Algorithm::ES256, "new")))
        .await;
    assert_eq!(new.status, 200, "{}", new.text);
}
