//! `/me` and `/me/export`: what the service holds about the caller.

use mentorat_tests::spawn_app;
use serde_json::json;

use crate::working_life::{active_pair, as_, propose_objective};

#[tokio::test]
async fn me_shows_the_callers_person_enrollments_and_pairs() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let me = app.get("/api/v1/me", Some(&as_("ME"))).await;
    assert_eq!(me.status, 200, "{}", me.text);
    let me = me.json();
    assert_eq!(me["subject"], "ME");
    assert_eq!(me["person"]["external_id"], "ME");
    assert_eq!(me["enrollments"].as_array().unwrap().len(), 1);
    assert_eq!(me["enrollments"][0]["role"], "mentee");
    assert_eq!(me["pairs"][0]["id"], pair.id.as_str());
    // A service account is nobody: an empty picture, not an error.
    let hris = app.get("/api/v1/me", Some(&app.as_hris())).await.json();
    assert_eq!(hris["person"], serde_json::Value::Null);
    assert_eq!(hris["roles"], json!(["hris"]));
    assert_eq!(hris["pairs"], json!([]));
    app.get("/api/v1/me", None)
        .await
        .problem(401, "unauthorized");
}

#[tokio::test]
async fn the_export_holds_the_callers_data_and_nobody_elses_private_words() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    propose_objective(&app, &pair, "MR", "Objectif commun").await;
    for (who, body, visibility) in [
        ("ME", "Ma note privée", "private"),
        ("MR", "La note privée de l'autre", "private"),
        ("MR", "Une note partagée", "shared"),
    ] {
        let reply = app
            .post_json(
                &format!("/api/v1/pairs/{}/notes", pair.id),
                Some(&as_(who)),
                &json!({"body": body, "visibility": visibility}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    app.post_json(
        &format!("/api/v1/pairs/{}/concerns", pair.id),
        Some(&as_("ME")),
        &json!({"text": "Mon inquiétude"}),
    )
    .await;
    let export = app.get("/api/v1/me/export", Some(&as_("ME"))).await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert!(
        export
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    let e = export.json();
    assert_eq!(e["me"]["person"]["external_id"], "ME");
    assert_eq!(e["objectives"][0]["title"], "Objectif commun");
    let notes: Vec<&str> = e["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["Ma note privée"]);
    assert!(!export.text.contains("La note privée de l'autre"));
    assert_eq!(e["concerns"][0]["text"], "Mon inquiétude");
    assert!(!e["notifications"].as_array().unwrap().is_empty());
    assert!(
        e["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["actor"] == "ME")
    );
    // The other member's export has their words, not this member's private ones.
    let theirs = app.get("/api/v1/me/export", Some(&as_("MR"))).await;
    assert!(!theirs.text.contains("Ma note privée"));
    assert!(!theirs.text.contains("Mon inquiétude"));
    assert!(theirs.text.contains("La note privée de l'autre"));
}

#[tokio::test]
async fn the_demo_hospital_loads_into_a_new_database_and_only_there() {
    let app = spawn_app().await;
    let summary = mentorat::demo::load(&app.db).await.unwrap();
    assert!(summary.contains("demo hospital loaded"), "{summary}");
    let me = app.get("/api/v1/me", Some(&as_("P021"))).await.json();
    assert_eq!(me["person"]["given_name"], "Élodie");
    assert_eq!(me["pairs"][0]["status"], "active", "{me}");
    assert!(me["pairs"][0]["next_meeting_at"].is_string());
    let pairs = app
        .get("/api/v1/pairs", Some(&app.as_coordinator()))
        .await
        .json();
    assert_eq!(pairs["items"].as_array().unwrap().len(), 3);
    // Four mentees wait for a mentor and three places are left (the README's run example):
    // a run matches three, never a mentee with their own manager (R1), and says why the
    // fourth is left.
    let program = pairs["items"][0]["program_id"].as_str().unwrap().to_owned();
    let run = app
        .post_json(
            &format!("/api/v1/programs/{program}/matching-runs"),
            Some(&app.as_coordinator()),
            &serde_json::json!({"objective": "most_matched"}),
        )
        .await;
    assert_eq!(run.status, 201, "{}", run.text);
    let run = run.json();
    assert_eq!(run["matched"], 3, "{run}");
    assert_eq!(run["unmatched"].as_array().unwrap().len(), 1, "{run}");
    assert_eq!(
        run["unmatched"][0]["why"], "places_taken_by_others",
        "{run}"
    );
    let enrollments = app
        .get(
            &format!("/api/v1/programs/{program}/enrollments"),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    let person_of = |enrollment: &serde_json::Value| {
        enrollments["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == *enrollment)
            .map(|e| e["person_id"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let people = app
        .get("/api/v1/people?limit=100", Some(&app.as_coordinator()))
        .await
        .json();
    let ids: Vec<String> = ["U030", "U031", "C010", "C012"]
        .iter()
        .map(|external| {
            people["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["external_id"] == *external)
                .map(|p| p["id"].as_str().unwrap().to_owned())
                .unwrap_or_else(|| panic!("{external} is not listed: {people}"))
        })
        .collect();
    let (u030, u031, c010, c012) = (
        ids[0].clone(),
        ids[1].clone(),
        ids[2].clone(),
        ids[3].clone(),
    );
    for line in run["lines"].as_array().unwrap() {
        let couple = (
            person_of(&line["mentor_enrollment_id"]),
            person_of(&line["mentee_enrollment_id"]),
        );
        assert_ne!(couple, (u030.clone(), u031.clone()), "R1: {run}");
        assert_ne!(couple, (c010.clone(), c012.clone()), "R1: {run}");
    }
    // Twice is refused: the demo is for a new database.
    assert!(mentorat::demo::load(&app.db).await.is_err());
}
