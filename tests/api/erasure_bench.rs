//! Benchmarks of R14 (issue 15), run by `bench/run_erasure.sh` on PostgreSQL — ignored in the
//! suite (they time, and seed tens of thousands of rows). Rows are cloned in SQL from rows
//! written through the API (their sealed values are copies; an eraser never opens them).
//!
//! - erasing a person with 1,000 notes and 500 meetings: one `POST /people/{id}/erasure`;
//! - a retention run over 50,000 ended pairs (one note each) while a client reads a pair
//!   without pause: the run's time, and the reads' latencies during it.

use std::time::{Duration, Instant};

use mentorat_tests::{TestApp, spawn_app};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::confidentiality::note;
use crate::working_life::{active_pair, as_, schedule, video_at};

pub(crate) async fn exec(app: &TestApp, sql: &str) {
    let conn = app.db.conn();
    conn.execute_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// `n` copies of the row `id` of `table`, each with a new id (and `overrides`: column → SQL
/// expression of the copy number `g`).
pub(crate) async fn clone_rows(
    app: &TestApp,
    table: &str,
    id: &str,
    n: usize,
    overrides: &[(&str, &str)],
) {
    let conn = app.db.conn();
    let cols: Vec<String> = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            format!(
                "SELECT column_name FROM information_schema.columns WHERE table_name = '{table}' ORDER BY ordinal_position"
            ),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("", "column_name").unwrap())
        .collect();
    let values: Vec<String> = cols
        .iter()
        .map(|c| {
            if c == "id" {
                "gen_random_uuid()".to_owned()
            } else if let Some((_, e)) = overrides.iter().find(|(o, _)| o == c) {
                (*e).to_owned()
            } else {
                c.clone()
            }
        })
        .collect();
    exec(
        app,
        &format!(
            "INSERT INTO {table} ({}) SELECT {} FROM {table}, generate_series(1, {n}) g WHERE id = '{id}'",
            cols.join(", "),
            values.join(", ")
        ),
    )
    .await;
}

fn median(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q) as usize];
    (at(0.5), at(0.99), *v.last().unwrap())
}

#[tokio::test]
#[ignore = "a benchmark: bench/run_erasure.sh"]
async fn bench_erase_a_person_with_1000_notes_and_500_meetings() {
    assert!(mentorat_tests::postgres_url().is_some(), "PostgreSQL only");
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let n = note(&app, &pair.id, "ME", "shared", "une note").await;
    let mut m = video_at(24);
    m["agenda"] = json!("un ordre du jour");
    let m = schedule(&app, &pair, "ME", m).await.json();
    clone_rows(&app, "notes", n["id"].as_str().unwrap(), 999, &[]).await;
    clone_rows(
        &app,
        "meetings",
        m["id"].as_str().unwrap(),
        499,
        &[
            ("starts_at", "starts_at + g * interval '2 hours'"),
            ("ends_at", "ends_at + g * interval '2 hours'"),
        ],
    )
    .await;
    exec(&app, "ANALYZE").await;
    let people = app
        .get("/api/v1/people?q=ME", Some(&app.as_coordinator()))
        .await
        .json();
    let me = people["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["external_id"] == "ME")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = Instant::now();
    let reply = app
        .post_json(
            &format!("/api/v1/people/{me}/erasure"),
            Some(&app.as_admin()),
            &json!({}),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(reply.status, 200, "{}", reply.text);
    let d = &reply.json()["destroyed"];
    assert_eq!(d["notes"], 1000);
    assert_eq!(d["meetings"], 500);
    println!("BENCH erasure: 1000 notes, 500 meetings destroyed in {took:?} (one HTTP request)");
}

#[tokio::test]
#[ignore = "a benchmark: bench/run_erasure.sh"]
async fn bench_retention_over_50000_ended_pairs_while_serving() {
    assert!(mentorat_tests::postgres_url().is_some(), "PostgreSQL only");
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let kept = active_pair_again(&app, &pair).await;
    let n = note(&app, &pair.id, "ME", "shared", "une note").await;
    let ended = app
        .post_json(
            &format!("/api/v1/pairs/{}/end", pair.id),
            Some(&as_("ME")),
            &json!({"reason_category": "other", "reason_text": "fin"}),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    // 50,000 ended pairs, each with one note, ended 400 days ago.
    clone_rows(&app, "pairs", &pair.id, 49_999, &[]).await;
    exec(
        &app,
        "UPDATE pairs SET ended_at = now() - interval '400 days' WHERE status = 'ended'",
    )
    .await;
    exec(
        &app,
        &format!(
            "INSERT INTO notes (id, pair_id, author_id, visibility, body, revision, created_at, updated_at) \
             SELECT gen_random_uuid(), p.id, n.author_id, n.visibility, n.body, n.revision, n.created_at, n.updated_at \
             FROM pairs p, notes n WHERE n.id = '{}' AND p.status = 'ended' AND p.id <> n.pair_id",
            n["id"].as_str().unwrap()
        ),
    )
    .await;
    exec(&app, "ANALYZE").await;

    // A member reads their (other, active) pair without pause while the run goes.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (stop, url, client) = (
            stop.clone(),
            app.url(&format!("/api/v1/pairs/{kept}")),
            app.client.clone(),
        );
        tokio::spawn(async move {
            let mut lat = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let r = client
                    .get(&url)
                    .bearer_auth(as_("MR"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                lat.push(t.elapsed());
            }
            lat
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let metrics = mentorat_api::telemetry::Metrics::new().unwrap();
    let started = Instant::now();
    let (pairs, destroyed) = mentorat_api::retention::run_once(&app.db, 365, &metrics)
        .await
        .unwrap();
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let lat = reader.await.unwrap();
    assert_eq!(pairs, 50_000);
    assert_eq!(destroyed.get(mentorat_domain::erasure::Kind::Notes), 50_000);
    let (p50, p99, max) = median(lat.clone());
    println!(
        "BENCH retention: {pairs} pairs, {} rows destroyed in {took:?}; {} reads meanwhile: median {p50:?}, p99 {p99:?}, max {max:?}",
        destroyed.total(),
        lat.len()
    );

    // The re-scan: the next run, with nothing left to do, still looks for words written
    // into the 50,000 done pairs since (one statement per column of the registry), while
    // the member keeps reading.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (stop, url, client) = (
            stop.clone(),
            app.url(&format!("/api/v1/pairs/{kept}")),
            app.client.clone(),
        );
        tokio::spawn(async move {
            let mut lat = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let r = client
                    .get(&url)
                    .bearer_auth(as_("MR"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                lat.push(t.elapsed());
            }
            lat
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut runs = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let (pairs, destroyed) = mentorat_api::retention::run_once(&app.db, 365, &metrics)
            .await
            .unwrap();
        runs.push(started.elapsed());
        assert_eq!((pairs, destroyed.total()), (0, 0), "nothing left to do");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let lat = reader.await.unwrap();
    let (p50, p99, max) = median(lat.clone());
    println!(
        "BENCH retention re-scan (nothing to do, 50000 done pairs): {runs:?}; {} reads meanwhile: median {p50:?}, p99 {p99:?}, max {max:?}",
        lat.len()
    );
}

/// A second active pair for MR (OU as mentee), which the run must leave alone.
async fn active_pair_again(app: &TestApp, pair: &crate::working_life::Pair) -> String {
    let enrollments = app
        .get(
            &format!("/api/v1/programs/{}/enrollments?limit=100", pair.program),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    let find = |role: &str, skip_paired: bool| {
        enrollments["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["role"] == role)
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .nth(usize::from(skip_paired))
            .unwrap()
    };
    let mentor = find("mentor", false);
    let outsider = find("mentee", true);
    let reply = app
        .post_json(
            &format!("/api/v1/programs/{}/pairs", pair.program),
            Some(&app.as_coordinator()),
            &json!({"mentor_enrollment_id": mentor, "mentee_enrollment_id": outsider}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    for who in ["MR", "OU"] {
        let r = app
            .post_json(
                &format!("/api/v1/pairs/{id}/accept"),
                Some(&as_(who)),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    id
}
