//! Issue 11: the hot reads assemble their answer in a bounded number of statements, whatever
//! the pair holds — read off the service's own `mentorat_http_request_db_statements` metric
//! (the statements a request sends itself; the audit writer's shared batches are not a
//! request's).

use mentorat_tests::TestApp;
use serde_json::json;

use crate::working_life::{as_, pair_with, propose_objective, schedule, video_at};

/// Sum and count of the statements histogram for one route.
async fn statements(app: &TestApp, route: &str) -> (f64, f64) {
    let text = app.get("/metrics", None).await.text;
    let read = |series: &str| {
        let prefix = format!(
            "mentorat_http_request_db_statements_{series}{{method=\"GET\",route=\"{route}\"}} "
        );
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map_or(0.0, |v| v.trim().parse::<f64>().unwrap())
    };
    (read("sum"), read("count"))
}

async fn per_request(app: &TestApp, route: &str, path: &str, token: &str) -> f64 {
    let (sum0, count0) = statements(app, route).await;
    for _ in 0..3 {
        let reply = app.get(path, Some(token)).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    }
    let (sum1, count1) = statements(app, route).await;
    assert_eq!(count1 - count0, 3.0, "{route} was observed three times");
    (sum1 - sum0) / 3.0
}

#[tokio::test]
async fn a_pair_read_is_one_statement_a_list_two_and_me_three() {
    let app = mentorat_tests::spawn_app().await;
    let pair = pair_with(&app, json!({}), true).await;
    assert_eq!(
        propose_objective(&app, &pair, "MR", "Préparer la soutenance")
            .await
            .status,
        201
    );
    assert_eq!(schedule(&app, &pair, "ME", video_at(48)).await.status, 201);

    let one = format!("/api/v1/pairs/{}", pair.id);
    let member = per_request(&app, "/api/v1/pairs/{id}", &one, &as_("MR")).await;
    assert_eq!(member, 1.0, "a member's pair read took {member} statements");
    let coordinator = per_request(&app, "/api/v1/pairs/{id}", &one, &app.as_coordinator()).await;
    assert_eq!(
        coordinator, 1.0,
        "a coordinator's pair read took {coordinator} statements"
    );
    let list = per_request(&app, "/api/v1/pairs", "/api/v1/pairs", &as_("ME")).await;
    assert_eq!(list, 2.0, "a member's list took {list} statements");
    let me = per_request(&app, "/api/v1/me", "/api/v1/me", &as_("ME")).await;
    assert_eq!(me, 3.0, "/me took {me} statements");

    // The answer is still whole: counts, names, charter standing.
    let read = app.get(&one, Some(&as_("ME"))).await.json();
    assert_eq!(read["objectives"]["proposed"], 1, "{read}");
    assert_eq!(read["meetings"]["scheduled"], 1, "{read}");
    assert_eq!(read["mentor"]["given_name"], "PrénomMR", "{read}");
    assert_eq!(read["flags"], json!([]), "{read}");
    let me = app.get("/api/v1/me", Some(&as_("ME"))).await.json();
    assert_eq!(me["pairs"][0]["id"], pair.id.as_str(), "{me}");
    assert_eq!(me["enrollments"].as_array().unwrap().len(), 1, "{me}");
}
