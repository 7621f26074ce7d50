//! Matching a cohort (issue 17): runs are optimal under hard rules that are never weighed
//! (R1 at any depth, R10, inactive people, past or open pairs), apply is all or nothing and a
//! stale run is refused; a program's weights tune the score. On PostgreSQL
//! (`MENTORAT_TEST_DATABASE_URL`) concurrent applies and proposals never exceed capacity.

use std::collections::HashMap;

use mentorat_tests::{TestApp, spawn_app};
use serde_json::{Value, json};

use crate::concurrency::all_at_once;

fn person(id: &str, manager: Option<&str>, department: &str) -> Value {
    json!({
        "external_id": id, "given_name": format!("G{id}"), "family_name": format!("F{id}"),
        "email": format!("{}@chu.example", id.to_lowercase()), "department": department,
        "site": "Nord", "manager_external_id": manager,
    })
}

/// (external id, manager, role, capacity, topics)
pub(crate) type Member<'a> = (&'a str, Option<&'a str>, &'a str, i32, &'a [&'a str]);

pub(crate) struct Cohort {
    pub(crate) program: String,
    /// enrollment id by external id
    pub(crate) e: HashMap<String, String>,
}

/// People (external id, manager, role, capacity, topics) enrolled in a new program.
pub(crate) async fn cohort(app: &TestApp, people: &[Member<'_>]) -> Cohort {
    let body: Vec<Value> = people
        .iter()
        .map(|(id, m, role, _, _)| {
            person(
                id,
                *m,
                if *role == "mentor" {
                    "Pédiatrie"
                } else {
                    "Cardiologie"
                },
            )
        })
        .collect();
    let report = app
        .post_json("/api/v1/people/import", Some(&app.as_hris()), &json!(body))
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    let program = app.create_program("Mentorat 2027").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = app
        .get("/api/v1/people?limit=200", Some(&app.as_coordinator()))
        .await
        .json();
    let ids: HashMap<String, String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["external_id"].as_str().unwrap().to_owned(),
                p["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut e = HashMap::new();
    for (id, _, role, capacity, topics) in people {
        let mut body =
            json!({"person_id": ids[*id], "role": role, "topics": topics, "languages": ["fr"]});
        if *role == "mentor" {
            body["capacity"] = json!(capacity);
        }
        let reply = app
            .post_json(
                &format!("/api/v1/programs/{program}/enrollments"),
                Some(&app.as_coordinator()),
                &body,
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        e.insert(
            (*id).to_owned(),
            reply.json()["id"].as_str().unwrap().to_owned(),
        );
    }
    Cohort { program, e }
}

async fn run(app: &TestApp, c: &Cohort, body: Value) -> Value {
    let reply = app
        .post_json(
            &format!("/api/v1/programs/{}/matching-runs", c.program),
            Some(&app.as_coordinator()),
            &body,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

fn lines(run: &Value) -> Vec<(String, String)> {
    run["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["mentee_enrollment_id"].as_str().unwrap().to_owned(),
                l["mentor_enrollment_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn why_of(run: &Value, mentee: &str) -> String {
    run["unmatched"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["mentee_enrollment_id"] == mentee)
        .map(|u| u["why"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn open_pairs(app: &TestApp, program: &str) -> Vec<(String, String)> {
    let listed = app
        .get(
            &format!("/api/v1/pairs?program_id={program}&limit=200"),
            Some(&app.as_coordinator()),
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    listed.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| matches!(p["status"].as_str(), Some("proposed" | "active")))
        .map(|p| {
            (
                p["mentee"]["enrollment_id"].as_str().unwrap().to_owned(),
                p["mentor"]["enrollment_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_run_never_proposes_a_pair_r1_or_r10_forbids_and_says_why_a_mentee_is_left() {
    let app = spawn_app().await;
    // B1 heads the chain B1 → B2 → M3 (mentee). P4 has one place, P5 one place. E1, E2, E3
    // are mentees too; X9's only mentor is her grand-manager B1.
    let c = cohort(
        &app,
        &[
            ("B1", None, "mentor", 3, &["management"]),
            ("B2", Some("B1"), "mentor", 3, &["management"]),
            ("M3", Some("B2"), "mentee", 0, &["management"]),
            ("P4", None, "mentor", 1, &["management"]),
            ("P5", None, "mentor", 1, &["soins"]),
            ("E1", None, "mentee", 0, &["management"]),
            ("E2", None, "mentee", 0, &["soins"]),
        ],
    )
    .await;
    let r = run(&app, &c, json!({"objective": "most_matched"})).await;
    let got = lines(&r);
    let forbidden = [("M3", "B1"), ("M3", "B2")];
    for (mentee, mentor) in forbidden {
        assert!(
            !got.contains(&(c.e[mentee].clone(), c.e[mentor].clone())),
            "R1 at any depth: {mentee} and {mentor}"
        );
    }
    let mut load: HashMap<&str, usize> = HashMap::new();
    for (_, mentor) in &got {
        *load.entry(mentor.as_str()).or_default() += 1;
    }
    assert!(load.get(c.e["P4"].as_str()).copied().unwrap_or(0) <= 1);
    assert!(load.get(c.e["P5"].as_str()).copied().unwrap_or(0) <= 1);
    assert_eq!(got.len(), 3, "every mentee has a mentor: {r}");
    assert_eq!(r["matched"], 3);
    assert_eq!(r["objective"], "most_matched");
    assert_eq!(r["matching_weights"]["topic_overlap"], 10);
    for line in r["lines"].as_array().unwrap() {
        let sum: u64 = line["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["points"].as_u64().unwrap())
            .sum();
        assert_eq!(line["score"].as_u64().unwrap(), sum, "{line}");
    }
    // Kept: read back, and listed.
    let path = format!(
        "/api/v1/programs/{}/matching-runs/{}",
        c.program,
        r["id"].as_str().unwrap()
    );
    let again = app.get(&path, Some(&app.as_coordinator())).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(lines(&again.json()), got);
    assert!(again.json()["applied_at"].is_null());
    let listed = app
        .get(
            &format!("/api/v1/programs/{}/matching-runs", c.program),
            Some(&app.as_coordinator()),
        )
        .await;
    assert_eq!(listed.json()["items"][0]["id"], r["id"]);

    // Once P4 and P5 are full (the run applied), a new mentee whose only mentors are full,
    // and one whose only mentor is above her, each say why.
    let applied = app
        .post_json(
            &format!("{path}/apply"),
            Some(&app.as_coordinator()),
            &json!({}),
        )
        .await;
    assert_eq!(applied.status, 200, "{}", applied.text);
    assert_eq!(applied.json()["pair_ids"].as_array().unwrap().len(), 3);
    let people = app
        .post_json(
            "/api/v1/people/import",
            Some(&app.as_hris()),
            &json!([
                person("N1", None, "Cardiologie"),
                person("N2", Some("B2"), "Cardiologie")
            ]),
        )
        .await;
    assert_eq!(people.status, 200, "{}", people.text);
    let listed = app
        .get("/api/v1/people?limit=200", Some(&app.as_coordinator()))
        .await
        .json();
    let id_of = |ext: &str| {
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["external_id"] == ext)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let n1 = app.enroll(&c.program, &id_of("N1"), "mentee").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let n2 = app.enroll(&c.program, &id_of("N2"), "mentee").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r2 = run(
        &app,
        &c,
        json!({"mentee_enrollment_ids": [n1, n2, c.e["E1"]]}),
    )
    .await;
    assert_eq!(why_of(&r2, &c.e["E1"]), "already_paired");
    // N2 is under B2 and B1 (R1); B1 and B2 have places left (3 each) — N2 reaches no one
    // but P4 and P5, who are full.
    assert_eq!(why_of(&r2, &n2), "eligible_mentors_full", "{r2}");
    // N1 gets a place of B1 or B2.
    assert_eq!(lines(&r2).len(), 1, "{r2}");
}

#[tokio::test]
async fn most_matched_matches_every_mentee_any_assignment_could_where_greedy_strands_one() {
    let app = spawn_app().await;
    // A prefers X (topics) but could take Y; B reports to Y, so B can only take X. One place
    // each. A greedy pass gives X to A and strands B; the run matches both.
    let c = cohort(
        &app,
        &[
            (
                "X",
                None,
                "mentor",
                1,
                &["management", "communication", "qualité"],
            ),
            ("Y", None, "mentor", 1, &["soins"]),
            (
                "A",
                None,
                "mentee",
                0,
                &["management", "communication", "qualité"],
            ),
            ("B", Some("Y"), "mentee", 0, &["soins"]),
        ],
    )
    .await;
    let most = run(&app, &c, json!({})).await;
    let mut got = lines(&most);
    got.sort();
    let mut want = vec![
        (c.e["A"].clone(), c.e["Y"].clone()),
        (c.e["B"].clone(), c.e["X"].clone()),
    ];
    want.sort();
    assert_eq!(got, want, "{most}");
    // best_score keeps A with X when that scores more in total.
    let best = run(&app, &c, json!({"objective": "best_score"})).await;
    assert!(
        best["total_score"].as_u64().unwrap() >= most["total_score"].as_u64().unwrap(),
        "{best}"
    );
    assert_eq!(best["objective"], "best_score");
    // A mentee id that is not one of the program's mentees: 422.
    app.post_json(
        &format!("/api/v1/programs/{}/matching-runs", c.program),
        Some(&app.as_coordinator()),
        &json!({"mentee_enrollment_ids": [c.e["X"]]}),
    )
    .await
    .problem(422, "unknown_enrollment");
    app.post_json(
        &format!("/api/v1/programs/{}/matching-runs", c.program),
        Some(&app.as_coordinator()),
        &json!({"objective": "cheapest"}),
    )
    .await
    .problem(422, "validation_failed");
}

#[tokio::test]
async fn apply_is_all_or_nothing_and_a_stale_run_is_refused() {
    let app = spawn_app().await;
    let c = cohort(
        &app,
        &[
            ("X", None, "mentor", 1, &["soins"]),
            ("Y", None, "mentor", 1, &["soins"]),
            ("A", None, "mentee", 0, &["soins"]),
            ("B", None, "mentee", 0, &["soins"]),
            ("C", None, "mentee", 0, &["soins"]),
        ],
    )
    .await;
    let r = run(&app, &c, json!({})).await;
    assert_eq!(lines(&r).len(), 2);
    assert_eq!(r["unmatched"].as_array().unwrap().len(), 1);
    let left = r["unmatched"][0]["mentee_enrollment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(why_of(&r, &left), "places_taken_by_others");
    // A pair proposed by hand after the run: the run is stale, and nothing of it is proposed.
    let (_, mentor) = lines(&r)[0].clone();
    let by_hand = app
        .post_json(
            &format!("/api/v1/programs/{}/pairs", c.program),
            Some(&app.as_coordinator()),
            &json!({"mentor_enrollment_id": mentor, "mentee_enrollment_id": left}),
        )
        .await;
    assert_eq!(by_hand.status, 201, "{}", by_hand.text);
    let apply = format!(
        "/api/v1/programs/{}/matching-runs/{}/apply",
        c.program,
        r["id"].as_str().unwrap()
    );
    app.post_json(&apply, Some(&app.as_coordinator()), &json!({}))
        .await
        .problem(409, "matching_run_stale");
    assert_eq!(
        open_pairs(&app, &c.program).await.len(),
        1,
        "all or nothing"
    );

    // A fresh run proposes the rest; `exclude` leaves a line out; a second apply is refused.
    let r = run(&app, &c, json!({})).await;
    assert_eq!(lines(&r).len(), 1, "{r}");
    let apply = format!(
        "/api/v1/programs/{}/matching-runs/{}/apply",
        c.program,
        r["id"].as_str().unwrap()
    );
    let done = app
        .post_json(&apply, Some(&app.as_coordinator()), &json!({"exclude": []}))
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.json()["run"]["applied_by"], "C001");
    assert_eq!(open_pairs(&app, &c.program).await.len(), 2);
    app.post_json(&apply, Some(&app.as_coordinator()), &json!({}))
        .await
        .problem(409, "matching_run_applied");

    // A person deactivated since a run makes it stale too.
    let r = run(&app, &c, json!({})).await;
    app.put_json(
        "/api/v1/people/by-external-id/C",
        Some(&app.as_hris()),
        &json!({"given_name": "GC", "family_name": "FC", "email": "c@chu.example", "active": false}),
    )
    .await;
    app.post_json(
        &format!(
            "/api/v1/programs/{}/matching-runs/{}/apply",
            c.program,
            r["id"].as_str().unwrap()
        ),
        Some(&app.as_coordinator()),
        &json!({}),
    )
    .await
    .problem(409, "matching_run_stale");
}

#[tokio::test]
async fn a_program_s_weights_tune_the_score_and_are_validated() {
    let app = spawn_app().await;
    let c = cohort(
        &app,
        &[
            ("X", None, "mentor", 2, &["management"]),
            ("A", None, "mentee", 0, &["management"]),
        ],
    )
    .await;
    let program = app
        .get(
            &format!("/api/v1/programs/{}", c.program),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(
        program["matching_weights"],
        json!({"topic_overlap": 10, "shared_language": 15, "other_department": 20, "same_site": 10, "available": 1})
    );
    let suggestions = format!(
        "/api/v1/programs/{}/enrollments/{}/suggestions",
        c.program, c.e["A"]
    );
    let before = app
        .get(&suggestions, Some(&app.as_coordinator()))
        .await
        .json();
    // The default weights: the score as it always was (10 a topic, 15 a language, 20 another
    // department, 10 the same site, 1 a place).
    assert_eq!(
        before["items"][0]["score"],
        10 + 15 + 20 + 10 + 2,
        "{before}"
    );
    let bad = app
        .patch_json(
            &format!("/api/v1/programs/{}", c.program),
            Some(&app.as_coordinator()),
            None,
            &json!({"matching_weights": {"same_site": 101, "available": -1}}),
        )
        .await;
    let problem = bad.problem(422, "validation_failed");
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(
        pointers,
        ["/matching_weights/same_site", "/matching_weights/available"]
    );
    // The weights are an object: an array of values in field order is refused, not read as
    // the fields (schemathesis, 2026-12-04: `[null, null]` was answered 200).
    for not_an_object in [json!([null, null]), json!([10, 15, 20, 10, 1]), json!(7)] {
        let bad = app
            .patch_json(
                &format!("/api/v1/programs/{}", c.program),
                Some(&app.as_coordinator()),
                None,
                &json!({"matching_weights": not_an_object}),
            )
            .await;
        bad.problem(422, "validation_failed");
    }
    let patched = app
        .patch_json(
            &format!("/api/v1/programs/{}", c.program),
            Some(&app.as_coordinator()),
            None,
            &json!({"matching_weights": {"same_site": 40, "shared_language": 0}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json()["matching_weights"]["same_site"], 40);
    assert_eq!(patched.json()["matching_weights"]["topic_overlap"], 10);
    let after = app
        .get(&suggestions, Some(&app.as_coordinator()))
        .await
        .json();
    assert_eq!(after["items"][0]["score"], 10 + 20 + 40 + 2, "{after}");
    let codes: Vec<&str> = after["items"][0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(
        !codes.contains(&"shared_language"),
        "a weight of 0 leaves its reason out"
    );
    let r = run(&app, &c, json!({})).await;
    assert_eq!(r["lines"][0]["score"], 10 + 20 + 40 + 2);
    assert_eq!(r["matching_weights"]["same_site"], 40);
}

/// On PostgreSQL: applies and proposals of the same mentors at once never exceed capacity
/// (the apply takes the enrollments' locks `propose` takes, and counts R10 under them).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_applies_and_proposals_never_exceed_capacity() {
    let app = spawn_app().await;
    for round in 0..3 {
        let mentor = format!("RM{round}");
        let mentees: Vec<String> = (0..6).map(|n| format!("RE{round}x{n}")).collect();
        let mut people: Vec<Member<'_>> = vec![(mentor.as_str(), None, "mentor", 2, &["soins"])];
        for m in &mentees {
            people.push((m.as_str(), None, "mentee", 0, &["soins"]));
        }
        let c = cohort(&app, &people).await;
        let mut requests = Vec::new();
        // Two runs of the same inputs, applied at once, and proposals of the mentor.
        for _ in 0..2 {
            let r = run(&app, &c, json!({})).await;
            requests.push(
                app.client
                    .post(app.url(&format!(
                        "/api/v1/programs/{}/matching-runs/{}/apply",
                        c.program,
                        r["id"].as_str().unwrap()
                    )))
                    .bearer_auth(app.as_coordinator())
                    .json(&json!({})),
            );
        }
        for m in &mentees {
            requests.push(
                app.client
                    .post(app.url(&format!("/api/v1/programs/{}/pairs", c.program)))
                    .bearer_auth(app.as_coordinator())
                    .json(&json!({"mentor_enrollment_id": c.e[&mentor], "mentee_enrollment_id": c.e[m]})),
            );
        }
        let replies = all_at_once(&app, requests).await;
        for (k, reply) in replies.iter().enumerate() {
            match reply.status {
                200 | 201 => {}
                409 => {
                    let code = reply.json()["code"].as_str().unwrap_or_default().to_owned();
                    assert!(
                        [
                            "matching_run_stale",
                            "mentor_at_capacity",
                            "pair_exists",
                            "matching_run_applied"
                        ]
                        .contains(&code.as_str()),
                        "request {k}: {}",
                        reply.text
                    );
                }
                other => panic!("request {k}: {other} {}", reply.text),
            }
        }
        let open = open_pairs(&app, &c.program).await;
        assert_eq!(open.len(), 2, "round {round}: R10 holds: {open:?}");
    }
}
