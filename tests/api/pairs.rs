//! Matching and the pair lifecycle: non-hierarchical (R1), chartered (R3), free exit (R9),
//! within capacity (R10), departures (R11).

use mentorat_tests::{TestApp, id_of, spawn_app, token};
use serde_json::{Value, json};

/// The organization: B1 heads Cardiologie; B2 reports to B1; M3 reports to B2 (the mentee).
/// Peers elsewhere: P4, P5, P6 (Pédiatrie, Pharmacie), and P7 who will leave.
struct Org {
    program: String,
    /// enrollment ids by external id
    e: std::collections::HashMap<String, String>,
}

fn person(id: &str, manager: Option<&str>, department: &str, site: &str) -> Value {
    json!({
        "external_id": id, "given_name": format!("G{id}"), "family_name": format!("F{id}"),
        "email": format!("{}@chu.example", id.to_lowercase()), "department": department,
        "site": site, "manager_external_id": manager,
    })
}

async fn org(app: &TestApp, capacity_default: i32) -> Org {
    let report = app
        .hris()
        .import_people(&json!([
            person("B1", None, "Cardiologie", "Nord"),
            person("B2", Some("B1"), "Cardiologie", "Nord"),
            person("M3", Some("B2"), "Cardiologie", "Nord"),
            person("P4", None, "Pédiatrie", "Nord"),
            person("P5", None, "Pharmacie", "Sud"),
            person("P6", None, "Pharmacie", "Sud"),
            person("P7", None, "Radiologie", "Nord"),
        ]))
        .await
        .json();
    assert_eq!(report["created"], 7, "{report}");
    let coordinator = app.coordinator();
    let program = id_of(
        &coordinator
            .create_program(
                &json!({"name": "Mentorat", "default_mentor_capacity": capacity_default}),
            )
            .await
            .json(),
    );
    let people = coordinator.people("?limit=200").await.json();
    let mut e = std::collections::HashMap::new();
    for p in people["items"].as_array().unwrap() {
        let ext = p["external_id"].as_str().unwrap();
        let (role, extra) = match ext {
            "M3" => (
                "mentee",
                json!({"goals": "Progresser en management et en communication", "languages": ["fr"], "topics": ["management"]}),
            ),
            "P4" => (
                "mentor",
                json!({"topics": ["Management", "Communication"], "languages": ["fr"]}),
            ),
            "P5" => (
                "mentor",
                json!({"topics": ["Pharmacie"], "languages": ["en"], "capacity": 1}),
            ),
            _ => ("mentor", json!({"topics": ["Soins"], "languages": ["fr"]})),
        };
        let mut body = json!({"person_id": p["id"], "role": role});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let reply = coordinator.enroll(&program, &body).await;
        e.insert(ext.to_owned(), id_of(&reply.created()));
    }
    Org { program, e }
}

async fn propose(app: &TestApp, o: &Org, mentor: &str, mentee: &str) -> mentorat_tests::Reply {
    app.coordinator()
        .propose_pair(&o.program, &o.e[mentor], &o.e[mentee])
        .await
}

/// `subject` accepts the pair (a request without a body).
async fn accept(app: &TestApp, pair: &str, subject: &str) -> mentorat_tests::Reply {
    let who = app.member(subject);
    who.send(who.request(
        reqwest::Method::POST,
        &format!("/api/v1/pairs/{pair}/accept"),
    ))
    .await
}

async fn active_pair(app: &TestApp, o: &Org, mentor: &str, mentee: &str) -> String {
    let reply = propose(app, o, mentor, mentee).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = id_of(&reply.json());
    assert_eq!(accept(app, &id, mentor).await.status, 200);
    let reply = accept(app, &id, mentee).await;
    assert_eq!(reply.json()["status"], "active", "{}", reply.text);
    id
}

async fn pair(app: &TestApp, id: &str) -> Value {
    app.coordinator().read_pair(id).await.json()
}

#[tokio::test]
async fn a_manager_and_a_direct_report_are_refused() {
    let app = spawn_app().await;
    let o = org(&app, 2).await;
    propose(&app, &o, "B2", "M3")
        .await
        .problem(422, "hierarchical_pair");
}

#[tokio::test]
async fn a_skip_level_manager_is_refused() {
    let app = spawn_app().await;
    let o = org(&app, 2).await;
    propose(&app, &o, "B1", "M3")
        .await
        .problem(422, "hierarchical_pair");
}

#[tokio::test]
async fn a_report_mentoring_their_manager_is_refused() {
    let app = spawn_app().await;
    org(&app, 2).await;
    // In a program of its own: M3 (a report, two levels down) as mentor of B1.
    let program = app.create_program("Reverse").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let people = app
        .get("/api/v1/people?q=B1", Some(&app.as_coordinator()))
        .await
        .json();
    let b1 = people["items"][0]["id"].clone();
    let people = app
        .get("/api/v1/people?q=M3", Some(&app.as_coordinator()))
        .await
        .json();
    let m3 = people["items"][0]["id"].clone();
    let mentee = app.enroll(&program, b1.as_str().unwrap(), "mentee").await;
    let mentor = app.enroll(&program, m3.as_str().unwrap(), "mentor").await;
    app.post_json(
        &format!("/api/v1/programs/{program}/pairs"),
        Some(&app.as_coordinator()),
        &json!({"mentor_enrollment_id": mentor["id"], "mentee_enrollment_id": mentee["id"]}),
    )
    .await
    .problem(422, "hierarchical_pair");
}

#[tokio::test]
async fn peers_are_paired_and_both_are_told() {
    let app = spawn_app().await;
    let o = org(&app, 2).await;
    let reply = propose(&app, &o, "P4", "M3").await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let created = reply.json();
    assert_eq!(created["status"], "proposed");
    assert_eq!(created["mentor"]["given_name"], "GP4");
    assert_eq!(
        reply.header("location").unwrap(),
        format!("/api/v1/pairs/{}", created["id"].as_str().unwrap())
    );
    for subject in ["P4", "M3"] {
        let notes = app
            .get("/api/v1/me/notifications", Some(&token(subject, &[])))
            .await
            .json();
        assert_eq!(
            notes["items"][0]["kind"], "pair.proposed",
            "{subject}: {notes}"
        );
        assert_eq!(notes["items"][0]["pair_id"], created["id"]);
    }
    let stranger = app
        .get("/api/v1/me/notifications", Some(&token("P6", &[])))
        .await
        .json();
    assert_eq!(stranger["items"], json!([]));
    propose(&app, &o, "P4", "M3")
        .await
        .problem(409, "pair_exists");
    // A mentee's enrollment on the mentor side is a role mismatch.
    app.post_json(
        &format!("/api/v1/programs/{}/pairs", o.program),
        Some(&app.as_coordinator()),
        &json!({"mentor_enrollment_id": o.e["M3"], "mentee_enrollment_id": o.e["P6"]}),
    )
    .await
    .problem(422, "role_mismatch");
}

#[tokio::test]
async fn suggestions_leave_out_the_chain_full_mentors_and_inactive_people() {
    let app = spawn_app().await;
    let o = org(&app, 2).await;
    // P5 has capacity 1: fill it with another mentee.
    let extra = app.upsert_person("X9", None).await;
    let x9 = app
        .enroll(&o.program, extra["id"].as_str().unwrap(), "mentee")
        .await;
    let reply = app
        .post_json(
            &format!("/api/v1/programs/{}/pairs", o.program),
            Some(&app.as_coordinator()),
            &json!({"mentor_enrollment_id": o.e["P5"], "mentee_enrollment_id": x9["id"]}),
        )
        .await;
    assert_eq!(reply.status, 201);
    // P7 leaves the organization.
    app.put_json(
        "/api/v1/people/by-external-id/P7",
        Some(&app.as_hris()),
        &json!({"given_name": "GP7", "family_name": "FP7", "email": "p7@chu.example", "active": false}),
    )
    .await;

    let path = format!(
        "/api/v1/programs/{}/enrollments/{}/suggestions",
        o.program, o.e["M3"]
    );
    let reply = app.get(&path, Some(&app.as_coordinator())).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    let names: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["given_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["GP4", "GP6"],
        "B1/B2 (chain), P5 (full), P7 (inactive) filtered out"
    );
    let best = &body["items"][0];
    assert!(best["score"].as_u64().unwrap() > body["items"][1]["score"].as_u64().unwrap());
    let codes: Vec<&str> = best["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"topic_overlap") && codes.contains(&"other_department"),
        "{codes:?}"
    );
    let sum: u64 = best["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["points"].as_u64().unwrap())
        .sum();
    assert_eq!(best["score"].as_u64().unwrap(), sum);

    // The mentee may ask for their own; nobody else but coordinators.
    assert_eq!(app.get(&path, Some(&token("M3", &[]))).await.status, 200);
    app.get(&path, Some(&token("P4", &[])))
        .await
        .problem(404, "not_found");
    app.get(&path, Some(&app.as_hris()))
        .await
        .problem(403, "forbidden");
    // A mentor's enrollment has no suggestions.
    app.get(
        &format!(
            "/api/v1/programs/{}/enrollments/{}/suggestions",
            o.program, o.e["P4"]
        ),
        Some(&app.as_coordinator()),
    )
    .await
    .problem(422, "role_mismatch");
    // Once paired with P4, P4 is no longer suggested to M3.
    propose(&app, &o, "P4", "M3").await;
    let body = app.get(&path, Some(&app.as_coordinator())).await.json();
    let names: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["given_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["GP6"]);
}

#[tokio::test]
async fn capacity_holds_by_default_and_per_enrollment() {
    let app = spawn_app().await;
    let o = org(&app, 1).await;
    let mut mentees = Vec::new();
    for n in 0..2 {
        let p = app.upsert_person(&format!("N{n}"), None).await;
        mentees.push(
            app.enroll(&o.program, p["id"].as_str().unwrap(), "mentee")
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let path = format!("/api/v1/programs/{}/pairs", o.program);
    let body = |mentor: &str, mentee: &str| json!({"mentor_enrollment_id": o.e[mentor], "mentee_enrollment_id": mentee});
    // Program default 1: P6 takes one mentee, not two.
    assert_eq!(
        app.post_json(&path, Some(&app.as_coordinator()), &body("P6", &mentees[0]))
            .await
            .status,
        201
    );
    app.post_json(&path, Some(&app.as_coordinator()), &body("P6", &mentees[1]))
        .await
        .problem(409, "mentor_at_capacity");
    // An enrollment with capacity 3 overrides the default.
    let p = app.upsert_person("BIG", None).await;
    let reply = app
        .post_json(
            &format!("/api/v1/programs/{}/enrollments", o.program),
            Some(&app.as_coordinator()),
            &json!({"person_id": p["id"], "role": "mentor", "capacity": 3}),
        )
        .await;
    let big = reply.json()["id"].as_str().unwrap().to_owned();
    for mentee in &mentees {
        let reply = app
            .post_json(
                &path,
                Some(&app.as_coordinator()),
                &json!({"mentor_enrollment_id": big, "mentee_enrollment_id": mentee}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
}

#[tokio::test]
async fn both_accept_to_activate_when_there_is_no_charter() {
    let app = spawn_app().await;
    let o = org(&app, 2).await;
    let id = propose(&app, &o, "P4", "M3").await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = accept(&app, &id, "P4").await;
    assert_eq!(first.json()["status"], "proposed");
    assert_eq!(first.json()["mentor"]["accepted"], true);
    let second = accept(&app, &id, "M3").await;
    assert_eq!(second.json()["status"], "active");
    assert!(second.json()["activated_at"].is_string());
    // Accepting an active pair is refused; an outsider cannot accept.
    accept(&app, &id, "M3")
        .await
        .problem(409, "pair_not_proposed");
    accept(&app, &id, "P6").await.problem(404, "not_found");
}

#[tokio::test]
async fn both_must_hold_the_current_charter_to_activate() {
    let app = spawn_app().await;
    let o = org(&app, 2).await;
    app.post_json(
        &format!("/api/v1/programs/{}/charter-versions", o.program),
        Some(&app.as_coordinator()),
        &json!({"text": "# Charte"}),
    )
    .await;
    let id = propose(&app, &o, "P4", "M3").await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        pair(&app, &id).await["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("charter_pending"))
    );
    accept(&app, &id, "P4")
        .await
        .problem(409, "charter_not_accepted");
    for who in ["P4", "M3"] {
        let reply = app
            .post_json(
                &format!(
                    "/api/v1/programs/{}/enrollments/{}/charter-acceptance",
                    o.program, o.e[who]
                ),
                Some(&token(who, &[])),
                &json!({"version": 1}),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    assert_eq!(accept(&app, &id, "P4").await.json()["status"], "proposed");
    assert_eq!(accept(&app, &id, "M3").await.json()["status"], "active");
    assert_eq!(pair(&app, &id).await["flags"], json!([]));
}

#[tokio::test]
async fn a_pair_is_visible_to_its_members_and_coordinators_only() {
    let app = spawn_app().await;
    let o = org(&app, 2).await;
    let id = active_pair(&app, &o, "P4", "M3").await;
    let path = format!("/api/v1/pairs/{id}");
    for who in [
        token("P4", &[]),
        token("M3", &[]),
        app.as_coordinator(),
        app.as_admin(),
    ] {
        assert_eq!(app.get(&path, Some(&who)).await.status, 200);
    }
    for who in [token("P6", &[]), token("NOBODY", &[])] {
        app.get(&path, Some(&who)).await.problem(404, "not_found");
    }
    for who in [app.as_hris(), app.as_analyst()] {
        app.get(&path, Some(&who)).await.problem(403, "forbidden");
        app.get("/api/v1/pairs", Some(&who))
            .await
            .problem(403, "forbidden");
    }
    let mine = app
        .get("/api/v1/pairs", Some(&token("M3", &[])))
        .await
        .json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let theirs = app
        .get("/api/v1/pairs", Some(&token("P6", &[])))
        .await
        .json();
    assert_eq!(theirs["items"], json!([]));
    let all = app
        .get(
            &format!("/api/v1/pairs?program_id={}&status=active", o.program),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn either_member_ends_the_pair_and_only_members_read_why() {
    let app = spawn_app().await;
    let o = org(&app, 2).await;
    for (ender, mentor) in [("M3", "P4"), ("P6", "P6")] {
        let id = active_pair(&app, &o, mentor, "M3").await;
        let reply = app
            .post_json(
                &format!("/api/v1/pairs/{id}/end"),
                Some(&token(ender, &[])),
                &json!({"reason_category": "mismatch", "reason_text": "SECRET-WORDS"}),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.json()["status"], "ended");
        assert_eq!(reply.json()["end_reason_text"], "SECRET-WORDS");
        let seen = app
            .get(&format!("/api/v1/pairs/{id}"), Some(&app.as_coordinator()))
            .await;
        assert_eq!(seen.json()["end_reason"], "mismatch");
        assert!(
            !seen.text.contains("SECRET-WORDS"),
            "coordinators never read the members' words"
        );
        app.post_json(
            &format!("/api/v1/pairs/{id}/end"),
            Some(&token(ender, &[])),
            &json!({"reason_category": "other"}),
        )
        .await
        .problem(409, "pair_not_open");
    }
    // A coordinator does not end a pair for its members.
    let id = active_pair(&app, &o, "P4", "M3").await;
    app.post_json(
        &format!("/api/v1/pairs/{id}/end"),
        Some(&app.as_coordinator()),
        &json!({"reason_category": "other"}),
    )
    .await
    .problem(404, "not_found");
}

#[tokio::test]
async fn a_departure_suspends_the_pairs_of_the_person() {
    let app = spawn_app().await;
    let o = org(&app, 2).await;
    let id = active_pair(&app, &o, "P4", "M3").await;
    let reply = app
        .put_json(
            "/api/v1/people/by-external-id/P4",
            Some(&app.as_hris()),
            &json!({"given_name": "GP4", "family_name": "FP4", "email": "p4@chu.example", "department": "Pédiatrie", "site": "Nord", "active": false}),
        )
        .await;
    assert_eq!(reply.status, 200);
    let p = pair(&app, &id).await;
    assert_eq!(p["status"], "suspended");
    assert!(p["flags"].as_array().unwrap().contains(&json!("suspended")));
    let flagged = app
        .get("/api/v1/pairs?flag=suspended", Some(&app.as_coordinator()))
        .await
        .json();
    assert_eq!(flagged["items"].as_array().unwrap().len(), 1);
    let notes = app
        .get("/api/v1/me/notifications", Some(&token("M3", &[])))
        .await
        .json();
    assert_eq!(notes["items"][0]["kind"], "pair.suspended");
}

#[tokio::test]
async fn a_reorg_that_puts_one_member_above_the_other_flags_the_pair() {
    let app = spawn_app().await;
    let o = org(&app, 2).await;
    let id = active_pair(&app, &o, "P4", "M3").await;
    assert_eq!(pair(&app, &id).await["flags"], json!([]));
    // B1 (M3's skip-level manager) now reports to P4: P4 is in M3's chain, two levels up.
    let report = app
        .hris()
        .import_people(&json!([person("B1", Some("P4"), "Cardiologie", "Nord")]))
        .await
        .json();
    assert_eq!(report["updated"], 1, "{report}");
    let p = pair(&app, &id).await;
    assert_eq!(p["status"], "active");
    assert_eq!(p["flags"], json!(["hierarchy_conflict"]));
    let flagged = app
        .get(
            "/api/v1/pairs?flag=hierarchy_conflict",
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(flagged["items"][0]["id"], json!(id));
}

#[tokio::test]
async fn closing_the_program_completes_its_active_pairs() {
    let app = spawn_app().await;
    let o = org(&app, 2).await;
    let id = active_pair(&app, &o, "P4", "M3").await;
    for status in ["open", "running", "closed"] {
        let reply = app
            .send(
                app.client
                    .patch(app.url(&format!("/api/v1/programs/{}", o.program)))
                    .bearer_auth(app.as_coordinator())
                    .json(&json!({"status": status})),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    assert_eq!(pair(&app, &id).await["status"], "completed");
    propose(&app, &o, "P6", "M3")
        .await
        .problem(409, "program_closed");
}

/// The gate decides once how a caller sees a pair: a coordinator who is one of its members
/// reads it as a member (their own words of R9), not as a coordinator.
#[tokio::test]
async fn a_coordinator_who_is_a_member_reads_their_own_words() {
    let app = spawn_app().await;
    let o = org(&app, 2).await;
    let id = active_pair(&app, &o, "P4", "M3").await;
    let reply = app
        .post_json(
            &format!("/api/v1/pairs/{id}/end"),
            Some(&token("M3", &[])),
            &json!({"reason_category": "mismatch", "reason_text": "NOS-MOTS"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let as_member_and_coordinator = app
        .get(
            &format!("/api/v1/pairs/{id}"),
            Some(&token("P4", &["coordinator"])),
        )
        .await;
    assert_eq!(as_member_and_coordinator.status, 200);
    assert_eq!(
        as_member_and_coordinator.json()["end_reason_text"],
        "NOS-MOTS"
    );
    // Another coordinator still sees the category only.
    let other = app
        .get(&format!("/api/v1/pairs/{id}"), Some(&app.as_coordinator()))
        .await;
    assert!(!other.text.contains("NOS-MOTS"));
}
