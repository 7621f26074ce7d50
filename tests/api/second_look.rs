//! Rules that must hold even when the world changes between two requests, and inputs at the
//! edge of what a type can hold (found by a review of the code, kept as tests).

use mentorat_tests::spawn_app;
use serde_json::json;

use crate::working_life::{as_, pair_with, person, propose_objective, schedule};

/// Propose MR (mentor) and ME (mentee) without accepting; returns the pair id.
async fn proposed(app: &mentorat_tests::TestApp) -> (String, String) {
    let pair = pair_with(app, json!({}), false).await;
    // pair_with accepted it; propose another pair for OU instead, left proposed.
    let enrollments = app
        .get(
            &format!("/api/v1/programs/{}/enrollments?limit=200", pair.program),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    let people = app
        .get("/api/v1/people?limit=200", Some(&app.as_coordinator()))
        .await
        .json();
    let person_id = |ext: &str| {
        people["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["external_id"] == ext)
            .unwrap()["id"]
            .clone()
    };
    let enrollment = |ext: &str| {
        enrollments["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["person_id"] == person_id(ext))
            .unwrap()["id"]
            .clone()
    };
    let reply = app
        .post_json(
            &format!("/api/v1/programs/{}/pairs", pair.program),
            Some(&app.as_coordinator()),
            &json!({"mentor_enrollment_id": enrollment("MR"), "mentee_enrollment_id": enrollment("OU")}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    (
        pair.program,
        reply.json()["id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn r1_a_proposed_pair_does_not_go_live_inside_a_management_chain() {
    let app = spawn_app().await;
    let (_, pair) = proposed(&app).await;
    // The HRIS makes MR manage OU after the proposal.
    let mut ou = person("OU", "Radiologie");
    ou.as_object_mut().unwrap().remove("external_id");
    ou["manager_external_id"] = json!("MR");
    let reply = app
        .put_json(
            "/api/v1/people/by-external-id/OU",
            Some(&app.as_hris()),
            &ou,
        )
        .await;
    assert!(reply.status == 200, "{}", reply.text);
    let seen = app
        .get(
            &format!("/api/v1/pairs/{pair}"),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert!(
        seen["flags"].to_string().contains("hierarchy_conflict"),
        "{seen}"
    );
    app.post_json(
        &format!("/api/v1/pairs/{pair}/accept"),
        Some(&as_("MR")),
        &json!({}),
    )
    .await
    .problem(422, "hierarchical_pair");
}

#[tokio::test]
async fn r11_a_proposed_pair_does_not_go_live_with_someone_who_left() {
    let app = spawn_app().await;
    let (_, pair) = proposed(&app).await;
    let mut ou = person("OU", "Radiologie");
    ou.as_object_mut().unwrap().remove("external_id");
    ou["active"] = json!(false);
    let reply = app
        .put_json(
            "/api/v1/people/by-external-id/OU",
            Some(&app.as_hris()),
            &ou,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    app.post_json(
        &format!("/api/v1/pairs/{pair}/accept"),
        Some(&as_("MR")),
        &json!({}),
    )
    .await
    .problem(422, "person_inactive");
}

#[tokio::test]
async fn r4_rewriting_a_proposed_objective_hands_the_agreement_to_the_other_member() {
    let app = spawn_app().await;
    let pair = pair_with(&app, json!({}), false).await;
    let objective = propose_objective(&app, &pair, "ME", "Déléguer")
        .await
        .json();
    let path = format!(
        "/api/v1/pairs/{}/objectives/{}",
        pair.id,
        objective["id"].as_str().unwrap()
    );
    let rewritten = app
        .patch_json(
            &path,
            Some(&as_("MR")),
            None,
            &json!({"title": "Tout déléguer"}),
        )
        .await;
    assert_eq!(rewritten.status, 200, "{}", rewritten.text);
    // MR wrote these words: MR cannot agree to them; ME can.
    app.post_json(&format!("{path}/agree"), Some(&as_("MR")), &json!({}))
        .await
        .problem(409, "cannot_agree_own_objective");
    let agreed = app
        .post_json(&format!("{path}/agree"), Some(&as_("ME")), &json!({}))
        .await;
    assert_eq!(agreed.status, 200, "{}", agreed.text);
}

#[tokio::test]
async fn times_and_dates_beyond_reason_are_refused_not_crashed_on() {
    let app = spawn_app().await;
    let pair = pair_with(&app, json!({}), false).await;
    for starts_at in ["+262143-12-31T23:00:00Z", "2999-01-01T10:00:00Z"] {
        let p = schedule(
            &app,
            &pair,
            "MR",
            json!({"starts_at": starts_at, "duration_minutes": 240, "mode": "video"}),
        )
        .await;
        assert!(
            p.status == 422 || p.status == 400,
            "{starts_at}: {} {}",
            p.status,
            p.text
        );
    }
    let p = schedule(
        &app,
        &pair,
        "MR",
        json!({"starts_at": "2999-01-01T10:00:00Z", "duration_minutes": 60, "mode": "video"}),
    )
    .await
    .problem(422, "validation_failed");
    assert_eq!(p["errors"][0]["pointer"], "/starts_at");
    for query in ["from=1900-01-01", "to=10000-01-01"] {
        let r = app
            .get(
                &format!("/api/v1/programs/{}/report?{query}", pair.program),
                Some(&app.as_coordinator()),
            )
            .await;
        assert!(
            r.status == 422 || r.status == 400,
            "{query}: {} {}",
            r.status,
            r.text
        );
    }
}

#[tokio::test]
async fn ending_a_pair_cancels_the_meetings_it_still_had_ahead() {
    let app = spawn_app().await;
    let pair = pair_with(&app, json!({}), false).await;
    let ahead = schedule(&app, &pair, "MR", crate::working_life::video_at(48))
        .await
        .json();
    let ended = app
        .post_json(
            &format!("/api/v1/pairs/{}/end", pair.id),
            Some(&as_("ME")),
            &json!({"reason_category": "not_available"}),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    let meeting = app
        .get(
            &format!(
                "/api/v1/pairs/{}/meetings/{}",
                pair.id,
                ahead["id"].as_str().unwrap()
            ),
            Some(&as_("MR")),
        )
        .await
        .json();
    assert_eq!(meeting["status"], "cancelled", "{meeting}");
    let seen = app
        .get(
            &format!("/api/v1/pairs/{}", pair.id),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(seen["next_meeting_at"], serde_json::Value::Null);
    assert_eq!(seen["flags"], json!([]));
}

/// The meeting a pair still had ahead, as its mentor reads it.
async fn meeting_of(
    app: &mentorat_tests::TestApp,
    pair: &crate::working_life::Pair,
    id: &str,
) -> serde_json::Value {
    let reply = app
        .get(
            &format!("/api/v1/pairs/{}/meetings/{id}", pair.id),
            Some(&as_("MR")),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

#[tokio::test]
async fn a_departure_or_the_program_closing_cancels_the_meetings_ahead() {
    // R11: the mentee leaves; the pair is suspended and nobody will come to its meeting.
    let app = spawn_app().await;
    let pair = pair_with(&app, json!({}), false).await;
    let ahead = schedule(&app, &pair, "MR", crate::working_life::video_at(48))
        .await
        .json();
    let mut gone = person("ME", "Cardiologie");
    gone["active"] = json!(false);
    gone.as_object_mut().unwrap().remove("external_id");
    let reply = app
        .send(
            app.client
                .put(app.url("/api/v1/people/by-external-id/ME"))
                .bearer_auth(app.as_hris())
                .json(&gone),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let meeting = meeting_of(&app, &pair, ahead["id"].as_str().unwrap()).await;
    assert_eq!(meeting["status"], "cancelled", "{meeting}");
    assert_eq!(meeting["cancelled_by"], serde_json::Value::Null);

    // The program closes: its active pair completes, its meeting ahead is cancelled.
    let app = spawn_app().await;
    let pair = pair_with(&app, json!({}), false).await;
    let ahead = schedule(&app, &pair, "MR", crate::working_life::video_at(48))
        .await
        .json();
    for status in ["open", "running", "closed"] {
        let reply = app
            .send(
                app.client
                    .patch(app.url(&format!("/api/v1/programs/{}", pair.program)))
                    .bearer_auth(app.as_coordinator())
                    .json(&json!({"status": status})),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let meeting = meeting_of(&app, &pair, ahead["id"].as_str().unwrap()).await;
    assert_eq!(meeting["status"], "cancelled", "{meeting}");
    // Both members are told, by id only.
    for who in ["MR", "ME"] {
        let mine = app
            .get("/api/v1/me/notifications", Some(&as_(who)))
            .await
            .json();
        assert!(
            mine["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["kind"] == "pair.completed" && n["pair_id"] == pair.id.as_str()),
            "{who}: {mine}"
        );
    }
    let report = app
        .get(
            &format!("/api/v1/programs/{}/report", pair.program),
            Some(&app.as_coordinator()),
        )
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
}
