//! Issue 16, enrollment changes: a coordinator corrects a capacity (R10: never below the
//! mentor's open pairs), the coordinator or the person corrects topics, languages and goals,
//! and either of them withdraws the enrollment (proposed pairs withdrawn, active ones first
//! ended by their members); a withdrawn person can be enrolled again.

use mentorat_tests::{TestApp, spawn_app};
use serde_json::{Value, json};

use crate::concurrency::all_at_once;
use crate::working_life::{Pair, active_pair, as_};

/// The program's enrollments by external id of their person (MR mentor, ME and OU mentees).
async fn enrollments(app: &TestApp, pair: &Pair) -> std::collections::HashMap<String, Value> {
    let people = app
        .get("/api/v1/people?limit=200", Some(&app.as_coordinator()))
        .await
        .json();
    let list = app
        .get(
            &format!("/api/v1/programs/{}/enrollments?limit=200", pair.program),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    let mut out = std::collections::HashMap::new();
    for e in list["items"].as_array().unwrap() {
        if e["status"] != "active" {
            continue;
        }
        let person = people["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == e["person_id"])
            .unwrap();
        out.insert(
            person["external_id"].as_str().unwrap().to_owned(),
            e.clone(),
        );
    }
    out
}

fn path(pair: &Pair, e: &Value) -> String {
    format!(
        "/api/v1/programs/{}/enrollments/{}",
        pair.program,
        e["id"].as_str().unwrap()
    )
}

async fn propose(
    app: &TestApp,
    pair: &Pair,
    mentor: &Value,
    mentee: &Value,
) -> mentorat_tests::Reply {
    app.post_json(
        &format!("/api/v1/programs/{}/pairs", pair.program),
        Some(&app.as_coordinator()),
        &json!({"mentor_enrollment_id": mentor["id"], "mentee_enrollment_id": mentee["id"]}),
    )
    .await
}

#[tokio::test]
async fn a_coordinator_sets_the_capacity_and_the_person_their_topics() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let e = enrollments(&app, &pair).await;
    let mentor = path(&pair, &e["MR"]);
    let read = app.get(&mentor, Some(&app.as_coordinator())).await;
    let tag = read.header("etag").unwrap().to_owned();
    let changed = app
        .patch_json(
            &mentor,
            Some(&app.as_coordinator()),
            Some(&tag),
            &json!({"capacity": 3}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json()["capacity"], 3);
    assert_ne!(changed.header("etag").unwrap(), tag);
    // The stale tag is refused, after the change's own rules.
    app.patch_json(
        &mentor,
        Some(&app.as_coordinator()),
        Some(&tag),
        &json!({"capacity": 4}),
    )
    .await
    .problem(412, "precondition_failed");
    app.patch_json(
        &mentor,
        Some(&app.as_coordinator()),
        Some(&tag),
        &json!({"capacity": 0}),
    )
    .await
    .problem(422, "validation_failed");
    // The person corrects their own topics and languages, not their capacity.
    let own = app
        .patch_json(
            &mentor,
            Some(&as_("MR")),
            None,
            &json!({"topics": ["Qualité", " qualité ", "Éthique"], "languages": ["fr"]}),
        )
        .await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json()["topics"], json!(["Qualité", "Éthique"]));
    assert_eq!(own.json()["capacity"], 3, "kept");
    app.patch_json(&mentor, Some(&as_("MR")), None, &json!({"capacity": 5}))
        .await
        .problem(403, "forbidden");
    // A mentee's goals are theirs; a mentor has none, a mentee no capacity.
    let mentee = path(&pair, &e["ME"]);
    let goals = app
        .patch_json(
            &mentee,
            Some(&as_("ME")),
            None,
            &json!({"goals": "Prendre la parole en réunion"}),
        )
        .await;
    assert_eq!(goals.status, 200, "{}", goals.text);
    assert_eq!(goals.json()["goals"], "Prendre la parole en réunion");
    app.patch_json(
        &mentor,
        Some(&app.as_coordinator()),
        None,
        &json!({"goals": "x"}),
    )
    .await
    .problem(422, "validation_failed");
    app.patch_json(
        &mentee,
        Some(&app.as_coordinator()),
        None,
        &json!({"capacity": 2}),
    )
    .await
    .problem(422, "validation_failed");
    app.patch_json(
        &mentee,
        Some(&app.as_coordinator()),
        None,
        &json!({"role": "mentor"}),
    )
    .await
    .problem(422, "validation_failed");
    // Anyone else: the enrollment does not exist, or the role never reaches it.
    for who in ["MR", "OU"] {
        app.patch_json(&mentee, Some(&as_(who)), None, &json!({"topics": []}))
            .await
            .problem(404, "not_found");
    }
    for token in [app.as_hris(), app.as_analyst()] {
        app.patch_json(&mentee, Some(&token), None, &json!({"topics": []}))
            .await
            .problem(403, "forbidden");
    }
}

#[tokio::test]
async fn a_capacity_below_the_open_pairs_is_refused() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let e = enrollments(&app, &pair).await;
    // MR: one active pair (with ME) and one proposed (with OU).
    assert_eq!(propose(&app, &pair, &e["MR"], &e["OU"]).await.status, 201);
    let mentor = path(&pair, &e["MR"]);
    let refused = app
        .patch_json(
            &mentor,
            Some(&app.as_coordinator()),
            None,
            &json!({"capacity": 1}),
        )
        .await
        .problem(409, "capacity_below_open_pairs");
    assert!(
        refused["detail"].as_str().unwrap().contains('2'),
        "{refused}"
    );
    let kept = app
        .patch_json(
            &mentor,
            Some(&app.as_coordinator()),
            None,
            &json!({"capacity": 2}),
        )
        .await;
    assert_eq!(kept.status, 200, "{}", kept.text);
    assert_eq!(kept.json()["capacity"], 2);
}

#[tokio::test]
async fn withdrawing_withdraws_proposed_pairs_and_waits_for_active_ones() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let e = enrollments(&app, &pair).await;
    let proposed = propose(&app, &pair, &e["MR"], &e["OU"]).await.json();
    // ME is in an active pair: its members end it first (R9).
    for token in [as_("ME"), app.as_coordinator()] {
        app.post_json(
            &format!("{}/withdraw", path(&pair, &e["ME"])),
            Some(&token),
            &json!({}),
        )
        .await
        .problem(409, "enrollment_has_active_pair");
    }
    // Someone else's enrollment does not exist for a participant.
    app.post_json(
        &format!("{}/withdraw", path(&pair, &e["OU"])),
        Some(&as_("MR")),
        &json!({}),
    )
    .await
    .problem(404, "not_found");
    for token in [app.as_hris(), app.as_analyst()] {
        app.post_json(
            &format!("{}/withdraw", path(&pair, &e["OU"])),
            Some(&token),
            &json!({}),
        )
        .await
        .problem(403, "forbidden");
    }
    // OU leaves: the proposed pair is withdrawn, both its members told.
    let withdrawn = app
        .post_json(
            &format!("{}/withdraw", path(&pair, &e["OU"])),
            Some(&as_("OU")),
            &json!({}),
        )
        .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    assert_eq!(withdrawn.json()["status"], "withdrawn");
    assert!(withdrawn.json()["withdrawn_at"].is_string());
    let p = app
        .get(
            &format!("/api/v1/pairs/{}", proposed["id"].as_str().unwrap()),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(p["status"], "ended", "{p}");
    assert_eq!(p["end_reason"], "enrollment_withdrawn", "{p}");
    for who in ["MR", "OU"] {
        let notes = app
            .get("/api/v1/me/notifications", Some(&as_(who)))
            .await
            .json();
        assert!(
            notes["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["kind"] == "pair.withdrawn" && n["pair_id"] == proposed["id"]),
            "{who}: {notes}"
        );
    }
    let events = mentorat_persistence::outbox::all(app.db.conn(), 200)
        .await
        .unwrap();
    assert!(events.iter().any(
        |ev| ev.kind == "enrollment.withdrawn" && ev.payload["enrollment_id"] == e["OU"]["id"]
    ));
    // Repeating it is harmless; a withdrawn enrollment changes no more and takes no pairs.
    let again = app
        .post_json(
            &format!("{}/withdraw", path(&pair, &e["OU"])),
            Some(&app.as_coordinator()),
            &json!({}),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    app.patch_json(
        &path(&pair, &e["OU"]),
        Some(&app.as_coordinator()),
        None,
        &json!({"topics": []}),
    )
    .await
    .problem(409, "enrollment_withdrawn");
    propose(&app, &pair, &e["MR"], &e["OU"])
        .await
        .problem(409, "enrollment_withdrawn");
    // The person can be enrolled again.
    let again = app
        .post_json(
            &format!("/api/v1/programs/{}/enrollments", pair.program),
            Some(&app.as_coordinator()),
            &json!({"person_id": e["OU"]["person_id"], "role": "mentee"}),
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.json()["status"], "active");
    // ...once: the current enrollment is unique.
    app.post_json(
        &format!("/api/v1/programs/{}/enrollments", pair.program),
        Some(&app.as_coordinator()),
        &json!({"person_id": e["OU"]["person_id"], "role": "mentee"}),
    )
    .await
    .problem(409, "already_enrolled");
    let fresh = again.json();
    assert_eq!(propose(&app, &pair, &e["MR"], &fresh).await.status, 201);
    // Once the active pair has ended, its mentee may leave.
    let ended = app
        .post_json(
            &format!("/api/v1/pairs/{}/end", pair.id),
            Some(&as_("ME")),
            &json!({"reason_category": "goals_reached"}),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    let left = app
        .post_json(
            &format!("{}/withdraw", path(&pair, &e["ME"])),
            Some(&app.as_coordinator()),
            &json!({}),
        )
        .await;
    assert_eq!(left.status, 200, "{}", left.text);
}

/// R10 under a barrier: proposals for a mentor and a lowering of their capacity arrive at
/// once. The capacity change counts under the lock proposals take, so however they
/// interleave the mentor never ends up with more open pairs than the capacity that stands.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lowering_a_capacity_while_proposals_arrive_never_leaves_a_mentor_over_it() {
    const ROUNDS: usize = 4;
    const CLIENTS: usize = 8;
    let app = spawn_app().await;
    let mut people = Vec::new();
    for r in 0..ROUNDS {
        people.push(app.upsert_person(&format!("LM{r}"), None).await);
    }
    let mut mentees = Vec::new();
    let program = app.create_program("Capacité").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for n in 0..CLIENTS {
        let p = app.upsert_person(&format!("LE{n}"), None).await;
        mentees.push(
            app.enroll(&program, p["id"].as_str().unwrap(), "mentee")
                .await,
        );
    }
    for (round, person) in people.iter().enumerate() {
        let mentor = app
            .post_json(
                &format!("/api/v1/programs/{program}/enrollments"),
                Some(&app.as_coordinator()),
                &json!({"person_id": person["id"], "role": "mentor", "capacity": 5}),
            )
            .await
            .json();
        let path = format!(
            "/api/v1/programs/{program}/enrollments/{}",
            mentor["id"].as_str().unwrap()
        );
        let mut requests: Vec<reqwest::RequestBuilder> = mentees
            .iter()
            .map(|mentee| {
                app.client
                    .post(app.url(&format!("/api/v1/programs/{program}/pairs")))
                    .bearer_auth(app.as_coordinator())
                    .json(&json!({"mentor_enrollment_id": mentor["id"], "mentee_enrollment_id": mentee["id"]}))
            })
            .collect();
        requests.insert(
            CLIENTS / 2,
            app.client
                .patch(app.url(&path))
                .bearer_auth(app.as_coordinator())
                .json(&json!({"capacity": 2})),
        );
        let replies = all_at_once(&app, requests).await;
        let lowered = &replies[CLIENTS / 2];
        let created = replies
            .iter()
            .enumerate()
            .filter(|(i, r)| *i != CLIENTS / 2 && r.status == 201)
            .count();
        for (i, r) in replies.iter().enumerate() {
            if i != CLIENTS / 2 && r.status != 201 {
                r.problem(409, "mentor_at_capacity");
            }
        }
        let capacity = match lowered.status {
            200 => 2,
            _ => {
                lowered.problem(409, "capacity_below_open_pairs");
                5
            }
        };
        assert!(
            created <= capacity,
            "round {round}: {created} pairs for a capacity of {capacity} ({})",
            lowered.status
        );
        let now = app.get(&path, Some(&app.as_coordinator())).await.json();
        assert_eq!(now["capacity"], capacity, "round {round}");
    }
}
