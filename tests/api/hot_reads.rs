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
async fn a_pair_read_is_one_statement_a_list_one_and_me_two() {
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
    // The facts are on the pair rows (migration 000020): no statement of their own.
    let list = per_request(&app, "/api/v1/pairs", "/api/v1/pairs", &as_("ME")).await;
    assert_eq!(list, 1.0, "a member's list took {list} statements");
    let me = per_request(&app, "/api/v1/me", "/api/v1/me", &as_("ME")).await;
    assert_eq!(me, 2.0, "/me took {me} statements");

    // The answer is still whole: counts, names, charter standing.
    let read = app.get(&one, Some(&as_("ME"))).await.json();
    assert_eq!(read["objectives"]["proposed"], 1, "{read}");
    assert_eq!(read["meetings"]["scheduled"], 1, "{read}");
    assert_eq!(read["mentor"]["given_name"], "PrénomMR", "{read}");
    assert_eq!(read["flags"], json!([]), "{read}");
    let me = app.get("/api/v1/me", Some(&as_("ME"))).await.json();
    assert_eq!(me["pairs"][0]["id"], pair.id.as_str(), "{me}");
    assert_eq!(me["enrollments"].as_array().unwrap().len(), 1, "{me}");

    // A meeting still scheduled that has started while another is ahead: the row's earliest
    // and latest scheduled starts cannot tell the next one, so its meetings are read — one
    // statement more, and the answer is still right.
    let later = schedule(&app, &pair, "MR", video_at(96)).await.json();
    let started = schedule(&app, &pair, "MR", video_at(24)).await.json();
    crate::working_life::started_hours_ago(&app, started["id"].as_str().unwrap(), 1).await;
    let member = per_request(&app, "/api/v1/pairs/{id}", &one, &as_("MR")).await;
    assert_eq!(member, 2.0, "that pair read took {member} statements");
    let read = app.get(&one, Some(&as_("ME"))).await.json();
    let at = |v: &serde_json::Value| {
        v.as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    let first = app
        .get(
            &format!("/api/v1/pairs/{}/meetings", pair.id),
            Some(&as_("ME")),
        )
        .await
        .json();
    let soonest = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["id"] != started["id"])
        .map(|m| at(&m["starts_at"]))
        .min()
        .unwrap();
    assert_eq!(at(&read["next_meeting_at"]), soonest, "{read}");
    assert!(at(&later["starts_at"]) >= soonest);
}

/// Issue 13: a pair's `ETag` changes whenever its representation does (its counts moved while
/// it stayed `"r3"`), and pairs, people and enrollments answer `If-None-Match` with `304`.
#[tokio::test]
async fn etags_follow_the_representation_and_if_none_match_is_304() {
    let app = mentorat_tests::spawn_app().await;
    let pair = pair_with(&app, json!({}), true).await;
    let one = format!("/api/v1/pairs/{}", pair.id);
    let conditional = |path: String, token: String, tag: String| {
        let app = &app;
        async move {
            app.send(
                app.client
                    .get(app.url(&path))
                    .bearer_auth(token)
                    .header("if-none-match", tag),
            )
            .await
        }
    };
    let first = app.get(&one, Some(&as_("MR"))).await;
    let tag = first.header("etag").unwrap().to_owned();
    let again = conditional(one.clone(), as_("MR"), tag.clone()).await;
    assert_eq!(again.status, 304, "{}", again.text);
    assert_eq!(again.header("etag"), Some(tag.as_str()));
    assert_eq!(schedule(&app, &pair, "ME", video_at(48)).await.status, 201);
    let moved = app.get(&one, Some(&as_("MR"))).await;
    assert_eq!(moved.json()["meetings"]["scheduled"], 1);
    assert_ne!(
        moved.header("etag"),
        Some(tag.as_str()),
        "the counts changed, the tag did not"
    );
    let stale = conditional(one.clone(), as_("MR"), tag).await;
    assert_eq!(stale.status, 200);

    // A person and an enrollment.
    let person = app.upsert_person("P1", None).await;
    let path = format!("/api/v1/people/{}", person["id"].as_str().unwrap());
    let read = app.get(&path, Some(&app.as_coordinator())).await;
    let tag = read.header("etag").unwrap().to_owned();
    let again = conditional(path, app.as_coordinator(), tag).await;
    assert_eq!(again.status, 304, "{}", again.text);
    let enrollments = app
        .get(
            &format!("/api/v1/programs/{}/enrollments", pair.program),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    let enrollment = enrollments["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/programs/{}/enrollments/{enrollment}", pair.program);
    let read = app.get(&path, Some(&app.as_coordinator())).await;
    let tag = read.header("etag").unwrap().to_owned();
    let again = conditional(path.clone(), app.as_coordinator(), tag.clone()).await;
    assert_eq!(again.status, 304, "{}", again.text);
    // A new charter version changes what the enrollment shows (its standing): a new tag.
    let reply = app
        .post_json(
            &format!("/api/v1/programs/{}/charter-versions", pair.program),
            Some(&app.as_coordinator()),
            &json!({"text": "# Charte v2"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let after = conditional(path, app.as_coordinator(), tag).await;
    assert_eq!(
        after.status, 200,
        "the charter standing changed, the tag did not"
    );
}
