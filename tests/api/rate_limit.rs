//! Rate limiting per caller (`MENTORAT_RATE_LIMIT`): a verified token's subject, else the
//! client address; `429 rate_limited` with `Retry-After` and the IETF `RateLimit` /
//! `RateLimit-Policy` fields (draft-ietf-httpapi-ratelimit-headers-10). The issue measured
//! 300 requests with bad tokens in a burst, all served.

use futures_util::future::join_all;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use mentorat_tests::{Options, Reply, TestApp, claims, spawn_app_with, token};

async fn limited_app(setting: &str) -> TestApp {
    spawn_app_with(Options::default().var("MENTORAT_RATE_LIMIT", setting)).await
}

/// A token for a subject of the attacker's choosing that no trusted key signed.
fn forged(subject: &str) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims(subject, &["admin"]),
        &EncodingKey::from_secret(b"not-the-secret-of-this-service-at-all!!"),
    )
    .unwrap()
}

/// `"per-caller";r=4;t=1` → (4, 1).
fn remaining_and_reset(reply: &Reply) -> (u64, u64) {
    let field = reply.header("ratelimit").expect("a RateLimit field");
    let mut r = None;
    let mut t = None;
    for part in field.split(';').skip(1) {
        match part.split_once('=') {
            Some(("r", v)) => r = v.parse().ok(),
            Some(("t", v)) => t = v.parse().ok(),
            _ => {}
        }
    }
    assert!(field.starts_with("\"per-caller\";"), "{field}");
    (r.expect("r"), t.expect("t"))
}

async fn burst(app: &TestApp, tokens: &[String]) -> Vec<Reply> {
    join_all(tokens.iter().enumerate().map(|(i, t)| {
        // Each claims to come from elsewhere: no proxy is trusted, so it does not count.
        let forwarded = format!("203.0.113.{}", i % 250);
        app.send(
            app.client
                .get(app.url("/api/v1/me"))
                .bearer_auth(t)
                .header("x-forwarded-for", forwarded),
        )
    }))
    .await
}

fn count(replies: &[Reply], status: u16) -> usize {
    replies.iter().filter(|r| r.status == status).count()
}

#[tokio::test]
async fn a_burst_beyond_the_limit_is_answered_429_with_retry_after_and_ratelimit_fields() {
    // 1 request a second sustained, 5 at once.
    let app = limited_app("60/min,burst=5").await;
    let caller = token("P001", &[]);
    let mut replies = Vec::new();
    for _ in 0..20 {
        replies.push(app.get("/api/v1/me", Some(&caller)).await);
    }
    let served = count(&replies, 200);
    assert!((5..=7).contains(&served), "{served} served");
    assert_eq!(count(&replies, 429), 20 - served);
    for reply in &replies[..5] {
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(
            reply.header("ratelimit-policy"),
            Some("\"per-caller\";q=5;w=5")
        );
    }
    // What is left goes down as the burst is spent.
    assert_eq!(remaining_and_reset(&replies[0]), (4, 1));
    assert!(remaining_and_reset(&replies[4]).0 <= 1);

    let refused = replies.last().unwrap();
    let problem = refused.problem(429, "rate_limited");
    assert!(problem["request_id"].is_string());
    let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(
        refused.header("ratelimit-policy"),
        Some("\"per-caller\";q=5;w=5")
    );
    assert_eq!(remaining_and_reset(refused), (0, retry_after));
    assert_eq!(refused.header("cache-control"), Some("no-store"));

    // After Retry-After, the caller is served again.
    tokio::time::sleep(std::time::Duration::from_secs(retry_after)).await;
    let again = app.get("/api/v1/me", Some(&caller)).await;
    assert_eq!(again.status, 200, "{}", again.text);
}

#[tokio::test]
async fn a_burst_of_bad_tokens_is_limited_as_one_caller_whatever_the_tokens_say() {
    let app = limited_app("60/min,burst=10").await;
    // 300 at once, each claiming another subject: forged signatures, garbage, `alg: none`.
    let tokens: Vec<String> = (0..300)
        .map(|i| match i % 3 {
            0 => forged(&format!("X{i:04}")),
            1 => format!("not-a-jwt-{i}"),
            _ => format!("eyJhbGciOiJub25lIn0.eyJzdWIiOiJYe{i}In0."),
        })
        .collect();
    let replies = burst(&app, &tokens).await;
    let answered = count(&replies, 401);
    let refused = count(&replies, 429);
    assert_eq!(answered + refused, 300);
    eprintln!("300 bad tokens at once: {answered} answered 401, {refused} refused 429");
    // The address's burst of 10, and a request or two earned back meanwhile.
    assert!(answered <= 13, "{answered} bad tokens were answered 401");
    for reply in replies.iter().filter(|r| r.status == 429) {
        reply.problem(429, "rate_limited");
        assert!(reply.header("retry-after").is_some());
    }

    // A caller with a valid token, from the very same address, has a bucket of its own.
    let valid = app.get("/api/v1/me", Some(&token("P001", &[]))).await;
    assert_eq!(valid.status, 200, "{}", valid.text);
    // And the probes and the scrapes are never limited.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let probe = app.get(path, None).await;
        assert_eq!(probe.status, 200, "{path}");
        assert!(probe.header("ratelimit").is_none(), "{path}");
    }
    // Without any token, the same address is still refused.
    app.get("/api/v1/me", None)
        .await
        .problem(429, "rate_limited");
    let metrics = app.get("/metrics", None).await.text;
    assert!(
        metrics.contains("mentorat_rate_limited_total{caller=\"address\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn one_caller_spending_its_quota_leaves_another_unaffected() {
    let app = limited_app("60/min,burst=5").await;
    let greedy = token("P001", &[]);
    let tokens = vec![greedy.clone(); 40];
    let replies = burst(&app, &tokens).await;
    assert!(count(&replies, 429) >= 30, "{}", count(&replies, 429));
    app.get("/api/v1/me", Some(&greedy))
        .await
        .problem(429, "rate_limited");

    let other = token("P002", &[]);
    for _ in 0..5 {
        let reply = app.get("/api/v1/me", Some(&other)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    // Nor is the address the two share: it is a third bucket.
    let anonymous = app.get("/api/v1/me", None).await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.header("ratelimit").is_some());
}

#[tokio::test]
async fn a_limit_of_zero_turns_limiting_off() {
    let app = limited_app("0").await;
    let tokens: Vec<String> = (0..300).map(|i| forged(&format!("X{i:04}"))).collect();
    let replies = burst(&app, &tokens).await;
    assert_eq!(count(&replies, 401), 300);
    assert!(replies.iter().all(|r| r.header("ratelimit").is_none()));
    assert!(
        replies
            .iter()
            .all(|r| r.header("ratelimit-policy").is_none())
    );
    let caller = token("P001", &[]);
    let replies = burst(&app, &vec![caller; 200]).await;
    assert_eq!(count(&replies, 200), 200);
}

#[tokio::test]
async fn behind_a_trusted_load_balancer_each_client_address_has_its_bucket() {
    // The test client connects from 127.0.0.1: here, the balancer.
    let app = spawn_app_with(
        Options::default()
            .var("MENTORAT_RATE_LIMIT", "60/min,burst=3")
            .var("MENTORAT_TRUSTED_PROXIES", "127.0.0.0/8"),
    )
    .await;
    let from = |client: &str| {
        app.client
            .get(app.url("/api/v1/me"))
            .bearer_auth(forged("X0001"))
            .header("x-forwarded-for", format!("6.6.6.6, {client}"))
    };
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.send(from("203.0.113.1")).await.status);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429, 429]);
    // Another client behind the same balancer is not affected; what a client wrote to the
    // left of the balancer's entry is not read (6.6.6.6 above, in both).
    assert_eq!(app.send(from("203.0.113.2")).await.status, 401);
}
