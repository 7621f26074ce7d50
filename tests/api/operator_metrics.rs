//! What an operator needs on `/metrics` besides requests: the process, the database pool,
//! the outbox and webhook deliveries, the audit writer's queue, the rate limiter, the build.
//! Before issue 13, `/metrics` had request counters and a latency histogram only.

use chrono::{Duration, Utc};
use mentorat_tests::{TestApp, spawn_app};
use serde_json::json;
use uuid::Uuid;

/// The value of the sample `name` (with its labels, as written) in an exposition.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let (n, v) = line.rsplit_once(' ')?;
            (n == name).then(|| v.parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no sample `{name}` in\n{text}"))
}

async fn scrape(app: &TestApp) -> String {
    let reply = app.get("/metrics", None).await;
    assert_eq!(reply.status, 200);
    reply.text
}

#[tokio::test]
async fn metrics_show_the_process_pool_backlog_audit_queue_limiter_and_build() {
    let app = spawn_app().await;
    let text = scrape(&app).await;
    for family in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "mentorat_db_pool_connections",
        "mentorat_db_pool_max_connections",
        "mentorat_db_pool_acquire_timeouts_total",
        "mentorat_outbox_pending_events",
        "mentorat_outbox_oldest_pending_age_seconds",
        "mentorat_webhook_deliveries",
        "mentorat_webhook_oldest_pending_age_seconds",
        "mentorat_backlog_up",
        "mentorat_audit_queue_events",
        "mentorat_audit_retry_events",
        "mentorat_audit_dropped_events_total",
        "mentorat_rate_limited_total",
        "mentorat_rate_limit_tracked_callers",
        "mentorat_build_info",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "no family {family} in\n{text}"
        );
    }
    assert!(sample(&text, "process_resident_memory_bytes") > 1_000_000.0);
    assert!(sample(&text, "process_open_fds") >= 3.0);
    let max = sample(&text, "mentorat_db_pool_max_connections");
    let expected = if mentorat_tests::postgres_url().is_some() {
        20.0
    } else {
        1.0
    };
    assert_eq!(max, expected);
    let in_use = sample(&text, r#"mentorat_db_pool_connections{state="in_use"}"#);
    let idle = sample(&text, r#"mentorat_db_pool_connections{state="idle"}"#);
    assert!(in_use + idle <= max, "{in_use} + {idle} > {max}");
    assert_eq!(sample(&text, "mentorat_backlog_up"), 1.0);
    let build = format!(
        "mentorat_build_info{{commit=\"{}\",version=\"{}\"}}",
        mentorat_api::telemetry::GIT_COMMIT,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(sample(&text, &build), 1.0);
    // Every label has a fixed set of values.
    for line in text
        .lines()
        .filter(|l| l.starts_with("mentorat_webhook_deliveries{"))
    {
        assert!(
            ["pending", "retrying", "failed"]
                .iter()
                .any(|s| line.starts_with(&format!("mentorat_webhook_deliveries{{state=\"{s}\"}}"))),
            "{line}"
        );
    }
}

#[tokio::test]
async fn metrics_count_deliveries_retrying_and_given_up_and_the_oldest_age() {
    let app = spawn_app().await;
    let hook = app
        .post_json(
            "/api/v1/webhooks",
            Some(&app.as_admin()),
            &json!({"url": "http://127.0.0.1:9/hook", "events": []}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let webhook_id = Uuid::parse_str(hook.json()["id"].as_str().unwrap()).unwrap();
    let before = scrape(&app).await;
    assert_eq!(
        sample(&before, r#"mentorat_webhook_deliveries{state="failed"}"#),
        0.0
    );

    // Two events already dispatched: one delivery refused three times, to be tried again
    // tomorrow, written an hour ago; one given up after its window (a dead letter).
    let hour_ago = Utc::now() - Duration::hours(1);
    let tomorrow = Utc::now() + Duration::days(1);
    for attempts in [3, 12] {
        let event = Uuid::now_v7();
        app.time_passes(
            "INSERT INTO outbox_events (id, kind, payload, created_at, delivered_at) \
             VALUES ($1, 'pair.proposed', '{}', $2, $3)",
            vec![event.into(), hour_ago.into(), hour_ago.into()],
        )
        .await;
        app.time_passes(
            "INSERT INTO webhook_deliveries (id, webhook_id, event_id, attempts, \
             next_attempt_at, created_at, failed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            vec![
                Uuid::now_v7().into(),
                webhook_id.into(),
                event.into(),
                attempts.into(),
                tomorrow.into(),
                hour_ago.into(),
                (attempts == 12).then_some(hour_ago).into(),
            ],
        )
        .await;
    }
    // Scrapes within a second share one reading of the backlog.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let text = scrape(&app).await;
    assert_eq!(
        sample(&text, r#"mentorat_webhook_deliveries{state="retrying"}"#),
        1.0
    );
    assert_eq!(
        sample(&text, r#"mentorat_webhook_deliveries{state="failed"}"#),
        1.0
    );
    let age = sample(&text, "mentorat_webhook_oldest_pending_age_seconds");
    assert!((3590.0..3700.0).contains(&age), "oldest age {age}");
    assert_eq!(sample(&text, "mentorat_outbox_pending_events"), 0.0);
}

/// Issue 13: the pool's waits — how long requests wait for a database connection — one
/// observation per write request's unit of work (a read takes none of its own).
#[tokio::test]
async fn metrics_time_the_wait_for_a_database_connection() {
    let app = spawn_app().await;
    let before = scrape(&app).await;
    let count = |text: &str| sample(text, "mentorat_db_pool_wait_seconds_count");
    let sum = |text: &str| sample(text, "mentorat_db_pool_wait_seconds_sum");
    let start = count(&before);
    // Eight programs created at once: they queue for the connection (SQLite has one).
    let token = app.as_coordinator();
    let writes = (0..8).map(|i| {
        let (app, token) = (&app, &token);
        async move {
            let body = json!({"name": format!("Wait {i}"), "cadence_days": 14});
            app.post_json("/api/v1/programs", Some(token), &body).await
        }
    });
    for reply in futures_util::future::join_all(writes).await {
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    app.get("/api/v1/programs", Some(&token)).await;
    let after = scrape(&app).await;
    assert_eq!(
        count(&after) - start,
        8.0,
        "one wait per write, none for the read"
    );
    assert!(sum(&after) > sum(&before));
    assert!(
        after.contains("mentorat_db_pool_wait_seconds_bucket{le=\"0.001\"}"),
        "{after}"
    );
}
