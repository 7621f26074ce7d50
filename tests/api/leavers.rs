//! R11 Departures: from the moment the HRIS deactivates a person, every request of theirs is
//! `401`, whatever token they still hold — on the replica that wrote the deactivation at
//! once, on every other one within its refresh period; a reactivation gives access back.

use std::time::{Duration, Instant};

use mentorat_tests::{Options, Reply, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};

use crate::working_life::{Pair, active_pair, as_, person, propose_objective, schedule, video_at};

/// A person's row as the HRIS sends it (as `working_life` imported them), with `active`.
fn row(who: &str, active: bool) -> Value {
    let department = if who == "MR" {
        "Pédiatrie"
    } else {
        "Cardiologie"
    };
    let mut row = person(who, department);
    row["active"] = json!(active);
    row
}

async fn set_active(app: &TestApp, who: &str, active: bool) {
    let mut row = row(who, active);
    row.as_object_mut().unwrap().remove("external_id");
    let reply = app
        .put_json(
            &format!("/api/v1/people/by-external-id/{who}"),
            Some(&app.as_hris()),
            &row,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

/// Every request the pen test replayed with a leaver's token, by name.
async fn requests_of(app: &TestApp, pair: &Pair, who: &str) -> Vec<(String, Reply)> {
    let token = as_(who);
    let mut out = Vec::new();
    for what in ["notes", "meetings", "objectives"] {
        let path = format!("/api/v1/pairs/{}/{what}", pair.id);
        out.push((format!("GET {path}"), app.get(&path, Some(&token)).await));
    }
    for path in ["/api/v1/me/export", "/api/v1/me", "/api/v1/pairs"] {
        out.push((format!("GET {path}"), app.get(path, Some(&token)).await));
    }
    let concern = format!("/api/v1/pairs/{}/concerns", pair.id);
    out.push((
        format!("POST {concern}"),
        app.post_json(&concern, Some(&token), &json!({"text": "Je pars"}))
            .await,
    ));
    let note = format!("/api/v1/pairs/{}/notes", pair.id);
    out.push((
        format!("POST {note}"),
        app.post_json(
            &note,
            Some(&token),
            &json!({"body": "encore moi", "visibility": "shared"}),
        )
        .await,
    ));
    let end = format!("/api/v1/pairs/{}/end", pair.id);
    out.push((
        format!("POST {end}"),
        app.post_json(&end, Some(&token), &json!({"reason_category": "other"}))
            .await,
    ));
    out
}

#[tokio::test]
async fn a_leavers_token_reads_and_writes_nothing() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let words = crate::confidentiality::note(&app, &pair.id, "ME", "shared", "Mots de ME").await;
    assert_eq!(
        propose_objective(&app, &pair, "ME", "Objectif")
            .await
            .status,
        201
    );
    assert_eq!(schedule(&app, &pair, "ME", video_at(48)).await.status, 201);
    // A keyed write of MR's before they leave: its replay must not be served either.
    let keyed = || {
        app.send(
            app.client
                .post(app.url(&format!("/api/v1/pairs/{}/notes", pair.id)))
                .bearer_auth(as_("MR"))
                .header("idempotency-key", "before-leaving")
                .json(&json!({"body": "Avant mon départ", "visibility": "shared"})),
        )
    };
    assert_eq!(keyed().await.status, 201);

    // MR's calendar feed: its secret authenticates MR too.
    let feed = app
        .post_json("/api/v1/me/calendar-feed", Some(&as_("MR")), &json!({}))
        .await;
    assert_eq!(feed.status, 201, "{}", feed.text);
    let feed_url = feed.json()["url"].as_str().unwrap().to_owned();
    let feed_path = &feed_url[feed_url.find("/api/v1/").unwrap()..];
    assert_eq!(app.get(feed_path, None).await.status, 200);

    set_active(&app, "MR", false).await;

    let gone = app.get(feed_path, None).await;
    gone.problem(404, "not_found");
    for (request, reply) in requests_of(&app, &pair, "MR").await {
        assert_eq!(reply.status, 401, "{request}: {}", reply.text);
        reply.problem(401, "unauthorized");
        assert!(
            reply.header("www-authenticate").is_some(),
            "{request}: no WWW-Authenticate"
        );
        assert!(!reply.text.contains("Mots de ME"), "{request}");
    }
    let replay = keyed().await;
    replay.problem(401, "unauthorized");
    assert_eq!(replay.header("idempotency-replayed"), None);
    assert!(!replay.text.contains("Avant mon départ"));
    let direct = app
        .get(
            &format!(
                "/api/v1/pairs/{}/notes/{}",
                pair.id,
                words["id"].as_str().unwrap()
            ),
            Some(&as_("MR")),
        )
        .await;
    direct.problem(401, "unauthorized");

    // The other member is not locked out, and the pair was suspended (R11), not ended.
    let theirs = app
        .get(&format!("/api/v1/pairs/{}", pair.id), Some(&as_("ME")))
        .await;
    assert_eq!(theirs.status, 200, "{}", theirs.text);
    assert_eq!(theirs.json()["status"], "suspended");
    // Nor is anyone holding a role: the HRIS connector, a coordinator.
    let people = app
        .get("/api/v1/people?active=false", Some(&app.as_coordinator()))
        .await;
    assert_eq!(people.status, 200);
}

#[tokio::test]
async fn a_reactivation_gives_access_back_at_once() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    set_active(&app, "MR", false).await;
    app.get("/api/v1/me", Some(&as_("MR")))
        .await
        .problem(401, "unauthorized");
    set_active(&app, "MR", true).await;
    let me = app.get("/api/v1/me", Some(&as_("MR"))).await;
    assert_eq!(me.status, 200, "{}", me.text);
    let notes = app
        .get(
            &format!("/api/v1/pairs/{}/notes", pair.id),
            Some(&as_("MR")),
        )
        .await;
    assert_eq!(notes.status, 200, "{}", notes.text);
}

#[tokio::test]
async fn a_deactivation_by_import_locks_out_too_json_and_csv() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    // JSON: MR leaves.
    let report = app
        .post_json(
            "/api/v1/people/import",
            Some(&app.as_hris()),
            &json!([row("MR", false)]),
        )
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    assert_eq!(report.json()["updated"], 1, "{}", report.text);
    for (request, reply) in requests_of(&app, &pair, "MR").await {
        assert_eq!(reply.status, 401, "{request}: {}", reply.text);
    }
    // CSV: ME leaves; and a newcomer imported inactive is refused from the start.
    let csv = "external_id,given_name,family_name,email,department,site,active\n\
               ME,PrénomME,NomME,me@chu.example,Cardiologie,Nord,false\n\
               NV,Nouveau,Venu,nv@chu.example,Cardiologie,Nord,false\n";
    let report = app
        .send(
            app.client
                .post(app.url("/api/v1/people/import"))
                .bearer_auth(app.as_hris())
                .header("content-type", "text/csv")
                .body(csv),
        )
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    assert_eq!(report.json()["errors"], json!([]), "{}", report.text);
    for who in ["ME", "NV"] {
        app.get("/api/v1/me/export", Some(&as_(who)))
            .await
            .problem(401, "unauthorized");
    }
    // Back again through the import.
    let report = app
        .post_json(
            "/api/v1/people/import",
            Some(&app.as_hris()),
            &json!([row("MR", true)]),
        )
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    let me = app.get("/api/v1/me", Some(&as_("MR"))).await;
    assert_eq!(me.status, 200, "{}", me.text);
}

/// Wait until `path` answers `status` to `token` on `app`; how long it took.
async fn until(app: &TestApp, token: &str, status: u16, within: Duration) -> Duration {
    let began = Instant::now();
    loop {
        let reply = app.get("/api/v1/me", Some(token)).await;
        if reply.status == status {
            return began.elapsed();
        }
        assert!(
            began.elapsed() < within,
            "still {} after {within:?}: {}",
            reply.status,
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two replicas on one database: a deactivation written through one is seen by the other
/// within its refresh period (here 200 ms), and so is the reactivation.
#[tokio::test]
async fn another_replica_refuses_the_leaver_within_its_refresh_period() {
    let first = spawn_app().await;
    active_pair(&first).await;
    let second = spawn_app_with(
        Options::default()
            .var("MENTORAT_DATABASE_URL", first.database_url.clone())
            .var("MENTORAT_DEACTIVATION_REFRESH_MS", "200"),
    )
    .await;
    let token = as_("MR");
    assert_eq!(second.get("/api/v1/me", Some(&token)).await.status, 200);

    set_active(&first, "MR", false).await;
    first
        .get("/api/v1/me", Some(&token))
        .await
        .problem(401, "unauthorized");
    let seen = until(&second, &token, 401, Duration::from_secs(3)).await;
    assert!(seen <= Duration::from_millis(1500), "{seen:?}");

    set_active(&first, "MR", true).await;
    assert_eq!(first.get("/api/v1/me", Some(&token)).await.status, 200);
    let seen = until(&second, &token, 200, Duration::from_secs(3)).await;
    assert!(seen <= Duration::from_millis(1500), "{seen:?}");

    // A replica started after the deactivation refuses from its first request.
    set_active(&first, "MR", false).await;
    let third =
        spawn_app_with(Options::default().var("MENTORAT_DATABASE_URL", first.database_url.clone()))
            .await;
    third
        .get("/api/v1/me", Some(&token))
        .await
        .problem(401, "unauthorized");
}
