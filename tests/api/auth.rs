//! Bearer JWT authentication: each way a token can be wrong is a 401 problem with
//! `WWW-Authenticate: Bearer`; each supported key type verifies.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use mentorat_tests::{
    Options, TestApp, claims, fixture, fixture_jwks, hs256, sign_with_fixture, spawn_app,
    spawn_app_with,
};
use serde_json::{Value, json};

const PROTECTED: &str = "/api/v1/programs";

#[track_caller]
fn assert_unauthorized(reply: &mentorat_tests::Reply) {
    reply.problem(401, "unauthorized");
    let challenge = reply.header("www-authenticate").expect("WWW-Authenticate");
    assert!(challenge.starts_with("Bearer"), "{challenge}");
}

async fn call(app: &TestApp, token: &str) -> mentorat_tests::Reply {
    app.get(PROTECTED, Some(token)).await
}

fn coordinator_claims() -> Value {
    claims("C001", &["coordinator"])
}

#[tokio::test]
async fn a_missing_or_non_bearer_authorization_is_401() {
    let app = spawn_app().await;
    assert_unauthorized(&app.get(PROTECTED, None).await);
    let basic = app
        .send(
            app.client
                .get(app.url(PROTECTED))
                .header("authorization", "Basic dTpw"),
        )
        .await;
    assert_unauthorized(&basic);
}

#[tokio::test]
async fn garbage_is_401() {
    let app = spawn_app().await;
    for token in ["not-a-jwt", "a.b.c", "", "eyJhbGciOiJIUzI1NiJ9.e30"] {
        assert_unauthorized(&call(&app, token).await);
    }
}

#[tokio::test]
async fn alg_none_is_refused() {
    let app = spawn_app().await;
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(coordinator_claims().to_string());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        assert_unauthorized(&call(&app, &token).await);
    }
}

#[tokio::test]
async fn an_expired_token_is_401() {
    let app = spawn_app().await;
    let mut c = coordinator_claims();
    c["exp"] = json!(Utc::now().timestamp() - 3600);
    let reply = call(&app, &hs256(&c)).await;
    assert_unauthorized(&reply);
    assert!(reply.json()["detail"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn a_token_not_valid_yet_is_401() {
    let app = spawn_app().await;
    let mut c = coordinator_claims();
    c["nbf"] = json!(Utc::now().timestamp() + 3600);
    assert_unauthorized(&call(&app, &hs256(&c)).await);
}

#[tokio::test]
async fn a_wrong_issuer_or_audience_is_401() {
    let app = spawn_app().await;
    let mut c = coordinator_claims();
    c["iss"] = json!("someone-else");
    assert_unauthorized(&call(&app, &hs256(&c)).await);
    let mut c = coordinator_claims();
    c["aud"] = json!("another-api");
    assert_unauthorized(&call(&app, &hs256(&c)).await);
}

#[tokio::test]
async fn a_token_missing_a_required_claim_is_401() {
    let app = spawn_app().await;
    for claim in ["exp", "iss", "aud", "sub"] {
        let mut c = coordinator_claims();
        c.as_object_mut().unwrap().remove(claim);
        assert_unauthorized(&call(&app, &hs256(&c)).await);
    }
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_401() {
    let app = spawn_app().await;
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &coordinator_claims(),
        &EncodingKey::from_secret(b"another-secret-another-secret-another"),
    )
    .unwrap();
    assert_unauthorized(&call(&app, &forged).await);
}

#[tokio::test]
async fn a_tampered_payload_is_401() {
    let app = spawn_app().await;
    let token = hs256(&claims("P001", &[]));
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(coordinator_claims().to_string());
    assert_unauthorized(&call(&app, &parts.join(".")).await);
}

#[tokio::test]
async fn roles_must_be_an_array_and_unknown_roles_are_ignored() {
    let app = spawn_app().await;
    let mut c = coordinator_claims();
    c["roles"] = json!("coordinator");
    assert_unauthorized(&call(&app, &hs256(&c)).await);

    let mut c = coordinator_claims();
    c["roles"] = json!(["coordinator", "wizard"]);
    assert_eq!(call(&app, &hs256(&c)).await.status, 200);

    let mut c = coordinator_claims();
    c["roles"] = json!(["wizard"]);
    app.post_json(PROTECTED, Some(&hs256(&c)), &json!({"name": "x"}))
        .await
        .problem(403, "forbidden");
}

#[tokio::test]
async fn the_subject_claim_is_configurable() {
    let app =
        spawn_app_with(Options::default().var("MENTORAT_JWT_SUBJECT_CLAIM", "employee_id")).await;
    let mut c = coordinator_claims();
    assert_unauthorized(&call(&app, &hs256(&c)).await);
    c["employee_id"] = json!("E123");
    assert_eq!(call(&app, &hs256(&c)).await.status, 200);
}

#[tokio::test]
async fn a_minted_development_token_is_accepted() {
    let app = spawn_app().await;
    let token = mentorat::token::mint(
        &secrecy::SecretString::from(mentorat_tests::TEST_SECRET),
        mentorat_tests::ISSUER,
        mentorat_tests::AUDIENCE,
        "sub",
        &mentorat::token::TokenRequest {
            subject: "E123".into(),
            roles: vec!["coordinator".into()],
            ttl: chrono::Duration::seconds(60),
        },
    )
    .unwrap();
    assert_eq!(call(&app, &token).await.status, 200);
}

async fn app_with_keys(
    file_name: &str,
    contents: &str,
    with_secret: bool,
) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file_name);
    std::fs::write(&path, contents).unwrap();
    let mut options = Options::default().var("MENTORAT_JWT_KEYS", path.display().to_string());
    if !with_secret {
        options = options.var("MENTORAT_JWT_SECRET", "");
    }
    (spawn_app_with(options).await, dir)
}

#[tokio::test]
async fn rs256_es256_and_eddsa_tokens_verify_against_a_jwks_by_kid() {
    let (app, _dir) = app_with_keys("jwks.json", &fixture_jwks(), false).await;
    for (alg, kid) in [
        (Algorithm::RS256, "rsa-1"),
        (Algorithm::ES256, "ec-1"),
        (Algorithm::EdDSA, "ed-1"),
    ] {
        let token = sign_with_fixture(alg, Some(kid), &coordinator_claims());
        let reply = call(&app, &token).await;
        assert_eq!(reply.status, 200, "{alg:?}: {}", reply.text);
    }
    // An unknown kid, or a kid naming a key of another algorithm, is refused.
    let unknown = sign_with_fixture(Algorithm::RS256, Some("rsa-2"), &coordinator_claims());
    assert_unauthorized(&call(&app, &unknown).await);
    let mismatched = sign_with_fixture(Algorithm::ES256, Some("rsa-1"), &coordinator_claims());
    assert_unauthorized(&call(&app, &mismatched).await);
    // With no HS256 secret configured, HS256 tokens are refused.
    assert_unauthorized(&call(&app, &hs256(&coordinator_claims())).await);
}

#[tokio::test]
async fn public_keys_can_come_from_a_pem_file() {
    let pem = std::fs::read_to_string(fixture("rsa-public.pem")).unwrap()
        + &std::fs::read_to_string(fixture("ed-public.pem")).unwrap();
    let (app, _dir) = app_with_keys("keys.pem", &pem, true).await;
    for alg in [Algorithm::RS256, Algorithm::EdDSA] {
        let token = sign_with_fixture(alg, None, &coordinator_claims());
        assert_eq!(call(&app, &token).await.status, 200, "{alg:?}");
    }
    // The secret still works beside the keys.
    assert_eq!(call(&app, &hs256(&coordinator_claims())).await.status, 200);
    // ES256 has no key in this file.
    let es = sign_with_fixture(Algorithm::ES256, None, &coordinator_claims());
    assert_unauthorized(&call(&app, &es).await);
}

/// Algorithm confusion: an attacker signs an HS256 token using the service's *public* RSA key
/// as the HMAC secret. The public key only ever verifies RS256.
#[tokio::test]
async fn algorithm_confusion_is_refused() {
    let public_pem = std::fs::read_to_string(fixture("rsa-public.pem")).unwrap();
    let (app, _dir) = app_with_keys("keys.pem", &public_pem, false).await;
    for kid in [None, Some("rsa-1")] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = kid.map(str::to_owned);
        let forged = encode(
            &header,
            &coordinator_claims(),
            &EncodingKey::from_secret(public_pem.as_bytes()),
        )
        .unwrap();
        assert_unauthorized(&call(&app, &forged).await);
    }
    let genuine = sign_with_fixture(Algorithm::RS256, None, &coordinator_claims());
    assert_eq!(call(&app, &genuine).await.status, 200);
}
