//! R14 retention on several replicas at once (PostgreSQL): two service instances on one
//! database run their retention at the same moment (a barrier). Each batch locks its pairs
//! `FOR UPDATE … SKIP LOCKED`, so the replicas share the work: every expired pair's words are
//! destroyed once, the counts (answers and metrics) add up to the pairs and rows there were,
//! not twice that, the audit log has one `retention_run` per replica that destroyed
//! something, and neither fails.

use std::sync::Arc;

use mentorat_domain::erasure::Kind;
use mentorat_tests::{Options, spawn_app, spawn_app_with};
use serde_json::json;

use crate::confidentiality::note;
use crate::erasure_bench::{clone_rows, exec};
use crate::working_life::{active_pair, as_};

const PAIRS: u64 = 1_300;

async fn count(app: &mentorat_tests::TestApp, sql: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let conn = app.db.conn();
    conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

fn destroyed_notes(metrics: &str) -> u64 {
    metrics
        .lines()
        .find(|l| l.starts_with("mentorat_retention_destroyed_total{kind=\"notes\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn replicas_running_retention_at_once_destroy_each_pairs_words_once() {
    if mentorat_tests::postgres_url().is_none() {
        return; // SQLite is one replica's file (one writer at a time).
    }
    let first = spawn_app().await;
    let second =
        spawn_app_with(Options::default().var("MENTORAT_DATABASE_URL", first.database_url.clone()))
            .await;
    let pair = active_pair(&first).await;
    let n = note(&first, &pair.id, "ME", "shared", "des mots").await;
    let ended = first
        .post_json(
            &format!("/api/v1/pairs/{}/end", pair.id),
            Some(&as_("ME")),
            &json!({"reason_category": "other", "reason_text": "fin"}),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    // PAIRS ended pairs, a note each, ended 400 days ago: several batches of 500.
    clone_rows(&first, "pairs", &pair.id, PAIRS as usize - 1, &[]).await;
    exec(
        &first,
        "UPDATE pairs SET ended_at = now() - interval '400 days' WHERE status = 'ended'",
    )
    .await;
    exec(
        &first,
        &format!(
            "INSERT INTO notes (id, pair_id, author_id, visibility, body, revision, created_at, updated_at) \
             SELECT gen_random_uuid(), p.id, n.author_id, n.visibility, n.body, n.revision, n.created_at, n.updated_at \
             FROM pairs p, notes n WHERE n.id = '{}' AND p.status = 'ended' AND p.id <> n.pair_id",
            n["id"].as_str().unwrap()
        ),
    )
    .await;
    let audited = "SELECT COUNT(*) FROM audit_events WHERE action = 'retention_run'";
    assert_eq!(count(&first, audited).await, 0);

    for round in 1..=2 {
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let runs: Vec<_> = [first.db.clone(), second.db.clone()]
            .into_iter()
            .map(|db| {
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    let metrics = mentorat_api::telemetry::Metrics::new().unwrap();
                    barrier.wait().await;
                    let done = mentorat_api::retention::run_once(&db, 365, &metrics).await;
                    (done.map_err(|e| e.to_string()), metrics)
                })
            })
            .collect();
        let mut pairs = 0;
        let mut notes = 0;
        let mut metered = 0;
        let mut working = 0;
        for run in runs {
            let (done, metrics) = run.await.unwrap();
            let (p, d) = done.unwrap_or_else(|e| panic!("round {round}: a replica failed: {e}"));
            pairs += p;
            notes += d.get(Kind::Notes);
            working += i64::from(p > 0);
            metered += destroyed_notes(&metrics.render().unwrap());
        }
        let expected = if round == 1 { PAIRS } else { 0 };
        assert_eq!(
            pairs, expected,
            "round {round}: pairs done, over both replicas"
        );
        assert_eq!(notes, expected, "round {round}: notes destroyed, once each");
        assert_eq!(
            metered, expected,
            "round {round}: metrics add up, not doubled"
        );
        assert_eq!(
            count(&first, "SELECT COUNT(*) FROM pair_words_destroyed").await,
            PAIRS as i64
        );
        assert_eq!(
            count(
                &first,
                "SELECT COUNT(*) FROM notes WHERE body <> 'enc:erased'"
            )
            .await,
            0,
            "round {round}"
        );
        if round == 1 {
            let audits = count(&first, audited).await;
            assert_eq!(audits, working, "one audit row per replica that destroyed");
            assert!((1..=2).contains(&audits), "{audits}");
        } else {
            assert!(
                count(&first, audited).await <= 2,
                "a run with nothing to do is not audited"
            );
        }
    }
}
