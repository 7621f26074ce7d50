//! Charters and enrollments (R3): coordinators write the charter and enroll people; the
//! enrolled person alone accepts the current version.

use mentorat_tests::{TestApp, spawn_app, token};
use serde_json::{Value, json};

struct Setup {
    program: String,
    mentor: Value,
    mentee: Value,
}

/// A program with a mentor (E1) and a mentee (E2), and a charter version 1.
async fn setup(app: &TestApp) -> Setup {
    let program = app.create_program("Mentorat 2027").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let p1 = app.upsert_person("E1", None).await;
    let p2 = app.upsert_person("E2", None).await;
    add_charter(app, &program, "# Charte v1").await;
    let mentor = app
        .enroll(&program, p1["id"].as_str().unwrap(), "mentor")
        .await;
    let mentee = app
        .enroll(&program, p2["id"].as_str().unwrap(), "mentee")
        .await;
    Setup {
        program,
        mentor,
        mentee,
    }
}

async fn add_charter(app: &TestApp, program: &str, text: &str) -> Value {
    let reply = app
        .post_json(
            &format!("/api/v1/programs/{program}/charter-versions"),
            Some(&app.as_coordinator()),
            &json!({ "text": text }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

async fn accept(
    app: &TestApp,
    as_subject: &str,
    program: &str,
    enrollment: &Value,
    version: i64,
) -> mentorat_tests::Reply {
    app.post_json(
        &format!(
            "/api/v1/programs/{program}/enrollments/{}/charter-acceptance",
            enrollment["id"].as_str().unwrap()
        ),
        Some(&token(as_subject, &[])),
        &json!({ "version": version }),
    )
    .await
}

#[tokio::test]
async fn charter_versions_count_up_and_the_last_is_current() {
    let app = spawn_app().await;
    let program = app.create_program("x").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/programs/{program}/charter-versions/current");
    app.get(&path, Some(&app.as_coordinator()))
        .await
        .problem(404, "not_found");
    assert_eq!(add_charter(&app, &program, "# v1").await["version"], 1);
    assert_eq!(
        add_charter(&app, &program, "# v2 — révisée").await["version"],
        2
    );
    let current = app.get(&path, Some(&app.as_coordinator())).await.json();
    assert_eq!(current["version"], 2);
    assert_eq!(current["text"], "# v2 — révisée");

    let too_long = "x".repeat(100 * 1024 + 1);
    app.post_json(
        &format!("/api/v1/programs/{program}/charter-versions"),
        Some(&app.as_coordinator()),
        &json!({"text": too_long}),
    )
    .await
    .problem(422, "validation_failed");
    app.post_json(
        &format!("/api/v1/programs/{program}/charter-versions"),
        Some(&app.as_participant()),
        &json!({"text": "x"}),
    )
    .await
    .problem(403, "forbidden");
    app.get(&path, Some(&app.as_hris()))
        .await
        .problem(403, "forbidden");
}

#[tokio::test]
async fn enrollment_rules() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    assert_eq!(s.mentor["role"], "mentor");
    assert_eq!(s.mentor["charter_status"], "charter_pending");
    let coordinator = app.as_coordinator();
    let path = format!("/api/v1/programs/{}/enrollments", s.program);
    // Once per program.
    app.post_json(
        &path,
        Some(&coordinator),
        &json!({"person_id": s.mentor["person_id"], "role": "mentee"}),
    )
    .await
    .problem(409, "already_enrolled");
    // Only an active person.
    let gone = app.upsert_person("E9", None).await;
    app.put_json(
        "/api/v1/people/by-external-id/E9",
        Some(&app.as_hris()),
        &json!({"given_name": "G", "family_name": "F", "email": "e9@chu.example", "active": false}),
    )
    .await;
    app.post_json(
        &path,
        Some(&coordinator),
        &json!({"person_id": gone["id"], "role": "mentee"}),
    )
    .await
    .problem(422, "person_inactive");
    app.post_json(
        &path,
        Some(&coordinator),
        &json!({"person_id": "0190e5a8-0000-7000-8000-000000000000", "role": "mentee"}),
    )
    .await
    .problem(422, "unknown_person");
    // Capacity is a mentor's.
    let p = app.upsert_person("E3", None).await;
    let body = app
        .post_json(
            &path,
            Some(&coordinator),
            &json!({"person_id": p["id"], "role": "mentee", "capacity": 2}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["pointer"], "/capacity");
    // Only coordinators enroll.
    app.post_json(
        &path,
        Some(&app.as_participant()),
        &json!({"person_id": p["id"], "role": "mentee"}),
    )
    .await
    .problem(403, "forbidden");
}

#[tokio::test]
async fn the_enrolled_person_accepts_the_current_charter() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let reply = accept(&app, "E1", &s.program, &s.mentor, 1).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["charter_status"], "accepted");
    assert_eq!(reply.json()["accepted_charter_version"], 1);

    // R3: a new version makes everyone pending again, and only it can be accepted.
    add_charter(&app, &s.program, "# v2").await;
    let mine = app
        .get(
            &format!(
                "/api/v1/programs/{}/enrollments/{}",
                s.program,
                s.mentor["id"].as_str().unwrap()
            ),
            Some(&token("E1", &[])),
        )
        .await;
    assert_eq!(mine.json()["charter_status"], "charter_pending");
    accept(&app, "E1", &s.program, &s.mentor, 1)
        .await
        .problem(409, "charter_version_outdated");
    accept(&app, "E1", &s.program, &s.mentor, 3)
        .await
        .problem(409, "charter_version_outdated");
    assert_eq!(
        accept(&app, "E1", &s.program, &s.mentor, 2).await.json()["charter_status"],
        "accepted"
    );
}

#[tokio::test]
async fn nobody_accepts_for_someone_else() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    // The other member, a stranger, a coordinator: the enrollment does not exist for them.
    for subject in ["E2", "E404"] {
        accept(&app, subject, &s.program, &s.mentor, 1)
            .await
            .problem(404, "not_found");
    }
    let reply = app
        .post_json(
            &format!(
                "/api/v1/programs/{}/enrollments/{}/charter-acceptance",
                s.program,
                s.mentor["id"].as_str().unwrap()
            ),
            Some(&app.as_coordinator()),
            &json!({"version": 1}),
        )
        .await;
    reply.problem(404, "not_found");
    let reply = app
        .post_json(
            &format!(
                "/api/v1/programs/{}/enrollments/{}/charter-acceptance",
                s.program,
                s.mentor["id"].as_str().unwrap()
            ),
            Some(&app.as_hris()),
            &json!({"version": 1}),
        )
        .await;
    reply.problem(403, "forbidden");
}

#[tokio::test]
async fn participants_see_their_programs_and_their_own_enrollment_only() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let other = app.create_program("Another program").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = token("E1", &[]);

    let programs = app.get("/api/v1/programs", Some(&me)).await.json();
    let ids: Vec<&str> = programs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [s.program.as_str()]);
    assert_eq!(
        app.get(&format!("/api/v1/programs/{}", s.program), Some(&me))
            .await
            .status,
        200
    );
    app.get(&format!("/api/v1/programs/{other}"), Some(&me))
        .await
        .problem(404, "not_found");
    assert_eq!(
        app.get(
            &format!("/api/v1/programs/{}/charter-versions/current", s.program),
            Some(&me)
        )
        .await
        .status,
        200
    );
    app.get(
        &format!("/api/v1/programs/{other}/charter-versions/current"),
        Some(&me),
    )
    .await
    .problem(404, "not_found");

    let listed = app
        .get(
            &format!("/api/v1/programs/{}/enrollments", s.program),
            Some(&me),
        )
        .await
        .json();
    let listed: Vec<&Value> = listed["items"].as_array().unwrap().iter().collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], s.mentor["id"]);
    app.get(
        &format!(
            "/api/v1/programs/{}/enrollments/{}",
            s.program,
            s.mentee["id"].as_str().unwrap()
        ),
        Some(&me),
    )
    .await
    .problem(404, "not_found");
    // A person nobody enrolled sees nothing.
    let stranger = token("E404", &[]);
    assert_eq!(
        app.get("/api/v1/programs", Some(&stranger)).await.json()["items"],
        json!([])
    );
    app.get(&format!("/api/v1/programs/{}", s.program), Some(&stranger))
        .await
        .problem(404, "not_found");
    // Participants never write programs.
    app.post_json("/api/v1/programs", Some(&me), &json!({"name": "mine"}))
        .await
        .problem(403, "forbidden");

    let all = app
        .get(
            &format!("/api/v1/programs/{}/enrollments", s.program),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
}
