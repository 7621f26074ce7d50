//! Requests by mentees (issue 17): when a program's `matching_mode` is `self` or `both`, a
//! mentee asks one of their eligible mentors (the hard rules of a proposal, at most 3
//! pending, one per mentor); the mentor accepts (the pair is proposed) or declines; the
//! mentee may withdraw. The message reaches the mentor and its author only.

use mentorat_tests::{TestApp, spawn_app, token};
use serde_json::{Value, json};

use crate::concurrency::all_at_once;
use crate::matching::{Cohort, Member, cohort};

const WORDS: &str = "REQUEST-WORDS-5521 j'aimerais apprendre à dire non";

async fn mode(app: &TestApp, c: &Cohort, mode: &str) {
    let reply = app
        .patch_json(
            &format!("/api/v1/programs/{}", c.program),
            Some(&app.as_coordinator()),
            None,
            &json!({"matching_mode": mode}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["matching_mode"], mode);
}

fn as_(id: &str) -> String {
    token(id, &[])
}

async fn ask(app: &TestApp, c: &Cohort, mentee: &str, mentor: &str) -> mentorat_tests::Reply {
    app.post_json(
        &format!(
            "/api/v1/programs/{}/enrollments/{}/requests",
            c.program, c.e[mentee]
        ),
        Some(&as_(mentee)),
        &json!({"mentor_enrollment_id": c.e[mentor], "message": WORDS}),
    )
    .await
}

async fn answer(
    app: &TestApp,
    c: &Cohort,
    request: &str,
    action: &str,
    who: &str,
) -> mentorat_tests::Reply {
    app.post_json(
        &format!("/api/v1/programs/{}/requests/{request}/{action}", c.program),
        Some(&as_(who)),
        &json!({}),
    )
    .await
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

const PEOPLE: &[Member<'static>] = &[
    ("QA", None, "mentor", 2, &["soins"]),
    ("QB", None, "mentor", 2, &["soins"]),
    ("QC", None, "mentor", 2, &["soins"]),
    ("QD", None, "mentor", 2, &["soins"]),
    ("QE", None, "mentee", 0, &["soins"]),
    ("QF", None, "mentee", 0, &["soins"]),
];

#[tokio::test]
async fn a_mentee_asks_a_mentor_who_accepts_and_the_pair_is_proposed() {
    let app = spawn_app().await;
    let c = cohort(&app, PEOPLE).await;
    mode(&app, &c, "self").await;
    let sent = ask(&app, &c, "QE", "QA").await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    let request = sent.json();
    let rid = id(&request);
    assert_eq!(
        sent.header("location"),
        Some(format!("/api/v1/programs/{}/requests/{rid}", c.program).as_str())
    );
    assert_eq!(request["status"], "pending");
    assert_eq!(request["message"], WORDS);
    // The mentor sees it among the requests they received, with the message.
    let received = app
        .get(
            &format!(
                "/api/v1/programs/{}/enrollments/{}/requests",
                c.program, c.e["QA"]
            ),
            Some(&as_("QA")),
        )
        .await;
    assert_eq!(received.status, 200, "{}", received.text);
    assert_eq!(received.json()["items"][0]["message"], WORDS);
    // Both are notified.
    for who in ["QE", "QA"] {
        let n = app.get("/api/v1/me/notifications", Some(&as_(who))).await;
        assert!(n.text.contains("request.sent"), "{}", n.text);
        assert!(!n.text.contains("REQUEST-WORDS"), "{}", n.text);
    }
    let accepted = answer(&app, &c, &rid, "accept", "QA").await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    let accepted = accepted.json();
    assert_eq!(accepted["status"], "accepted");
    let pair = accepted["pair_id"].as_str().unwrap();
    let pair = app
        .get(
            &format!("/api/v1/pairs/{pair}"),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(pair["status"], "proposed", "{pair}");
    let n = app.get("/api/v1/me/notifications", Some(&as_("QE"))).await;
    assert!(n.text.contains("request.accepted"), "{}", n.text);
    // The events carry ids, never the message.
    use sea_orm::{ConnectionTrait, Statement};
    let conn = app.db.conn();
    let events = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT kind, payload FROM outbox_events",
        ))
        .await
        .unwrap();
    let mut kinds = Vec::new();
    for e in &events {
        let payload: String = e.try_get("", "payload").unwrap();
        assert!(!payload.contains("REQUEST-WORDS"), "{payload}");
        kinds.push(e.try_get::<String>("", "kind").unwrap());
    }
    for k in ["request.sent", "request.accepted", "pair.proposed"] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    // At rest the message is sealed.
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT message FROM mentee_requests",
        ))
        .await
        .unwrap();
    for r in rows {
        let m: Option<String> = r.try_get("", "message").unwrap();
        assert!(!m.unwrap_or_default().contains("REQUEST-WORDS"));
    }
}

#[tokio::test]
async fn coordinator_mode_takes_no_requests() {
    let app = spawn_app().await;
    let c = cohort(&app, PEOPLE).await;
    let program = app
        .get(
            &format!("/api/v1/programs/{}", c.program),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(program["matching_mode"], "coordinator");
    ask(&app, &c, "QE", "QA")
        .await
        .problem(409, "requests_disabled");
    mode(&app, &c, "both").await;
    assert_eq!(ask(&app, &c, "QE", "QA").await.status, 201);
    let bad = app
        .patch_json(
            &format!("/api/v1/programs/{}", c.program),
            Some(&app.as_coordinator()),
            None,
            &json!({"matching_mode": "anyone"}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
}

#[tokio::test]
async fn at_most_three_pending_requests_and_one_per_mentor() {
    let app = spawn_app().await;
    let c = cohort(&app, PEOPLE).await;
    mode(&app, &c, "self").await;
    let first = ask(&app, &c, "QE", "QA").await;
    assert_eq!(first.status, 201, "{}", first.text);
    ask(&app, &c, "QE", "QA")
        .await
        .problem(409, "request_exists");
    assert_eq!(ask(&app, &c, "QE", "QB").await.status, 201);
    assert_eq!(ask(&app, &c, "QE", "QC").await.status, 201);
    ask(&app, &c, "QE", "QD")
        .await
        .problem(409, "too_many_pending_requests");
    // Withdrawing one frees a place.
    let w = answer(&app, &c, &id(&first.json()), "withdraw", "QE").await;
    assert_eq!(w.status, 200, "{}", w.text);
    assert_eq!(w.json()["status"], "withdrawn");
    assert_eq!(ask(&app, &c, "QE", "QD").await.status, 201);
    // Another mentee is not limited by QE's requests.
    assert_eq!(ask(&app, &c, "QF", "QA").await.status, 201);
}

#[tokio::test]
async fn a_mentor_the_hard_rules_forbid_cannot_be_asked() {
    let app = spawn_app().await;
    // QH manages QI who manages QJ: QH is in QJ's chain at depth 2 (R1). QK has one place.
    let c = cohort(
        &app,
        &[
            ("QH", None, "mentor", 2, &["soins"]),
            ("QI", Some("QH"), "mentee", 0, &["soins"]),
            ("QJ", Some("QI"), "mentee", 0, &["soins"]),
            ("QK", None, "mentor", 1, &["soins"]),
            ("QL", None, "mentee", 0, &["soins"]),
        ],
    )
    .await;
    mode(&app, &c, "self").await;
    ask(&app, &c, "QJ", "QH")
        .await
        .problem(422, "hierarchical_pair");
    let proposed = app
        .post_json(
            &format!("/api/v1/programs/{}/pairs", c.program),
            Some(&app.as_coordinator()),
            &json!({"mentor_enrollment_id": c.e["QK"], "mentee_enrollment_id": c.e["QL"]}),
        )
        .await;
    assert_eq!(proposed.status, 201, "{}", proposed.text);
    ask(&app, &c, "QJ", "QK")
        .await
        .problem(409, "mentor_at_capacity");
    // A pair of the two that exists: refused too.
    ask(&app, &c, "QL", "QK").await.problem(409, "pair_exists");
    // A mentee asks a mentee: not a mentor.
    ask(&app, &c, "QJ", "QL")
        .await
        .problem(422, "role_mismatch");
}

#[tokio::test]
async fn only_the_mentor_answers_only_the_mentee_withdraws_and_once() {
    let app = spawn_app().await;
    let c = cohort(&app, PEOPLE).await;
    mode(&app, &c, "self").await;
    let rid = id(&ask(&app, &c, "QE", "QA").await.json());
    // The mentee does not accept their own request; the mentor does not withdraw it.
    answer(&app, &c, &rid, "accept", "QE")
        .await
        .problem(403, "forbidden");
    answer(&app, &c, &rid, "withdraw", "QA")
        .await
        .problem(403, "forbidden");
    // Someone else does not see it.
    answer(&app, &c, &rid, "decline", "QB")
        .await
        .problem(404, "not_found");
    let coordinator = app
        .post_json(
            &format!("/api/v1/programs/{}/requests/{rid}/accept", c.program),
            Some(&app.as_coordinator()),
            &json!({}),
        )
        .await;
    assert_eq!(coordinator.status, 404, "{}", coordinator.text);
    let declined = answer(&app, &c, &rid, "decline", "QA").await;
    assert_eq!(declined.status, 200, "{}", declined.text);
    assert_eq!(declined.json()["status"], "declined");
    answer(&app, &c, &rid, "accept", "QA")
        .await
        .problem(409, "request_not_pending");
    answer(&app, &c, &rid, "withdraw", "QE")
        .await
        .problem(409, "request_not_pending");
    let n = app.get("/api/v1/me/notifications", Some(&as_("QE"))).await;
    assert!(n.text.contains("request.declined"), "{}", n.text);
}

#[tokio::test]
async fn accepting_one_request_voids_the_mentees_others() {
    let app = spawn_app().await;
    let c = cohort(&app, PEOPLE).await;
    mode(&app, &c, "both").await;
    let a = id(&ask(&app, &c, "QE", "QA").await.json());
    let b = id(&ask(&app, &c, "QE", "QB").await.json());
    let other = id(&ask(&app, &c, "QF", "QB").await.json());
    assert_eq!(answer(&app, &c, &a, "accept", "QA").await.status, 200);
    let seen = app
        .get(
            &format!("/api/v1/programs/{}/requests/{b}", c.program),
            Some(&as_("QB")),
        )
        .await
        .json();
    assert_eq!(seen["status"], "void", "{seen}");
    answer(&app, &c, &b, "accept", "QB")
        .await
        .problem(409, "request_not_pending");
    // QF's request to QB is QF's own: still pending.
    let seen = app
        .get(
            &format!("/api/v1/programs/{}/requests/{other}", c.program),
            Some(&as_("QF")),
        )
        .await
        .json();
    assert_eq!(seen["status"], "pending", "{seen}");
    // A withdrawn enrollment's pending requests are void too.
    let w = app
        .post_json(
            &format!(
                "/api/v1/programs/{}/enrollments/{}/withdraw",
                c.program, c.e["QF"]
            ),
            Some(&as_("QF")),
            &json!({}),
        )
        .await;
    assert_eq!(w.status, 200, "{}", w.text);
    let seen = app
        .get(
            &format!("/api/v1/programs/{}/requests/{other}", c.program),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(seen["status"], "void", "{seen}");
}

/// R5 for a request's message: the mentee and the mentor read it; nobody else — not the
/// coordinators, admins, HRIS, analysts or another participant — and every read is audited.
#[tokio::test]
async fn the_message_reaches_the_mentor_and_its_author_only() {
    let app = spawn_app().await;
    let c = cohort(&app, PEOPLE).await;
    mode(&app, &c, "self").await;
    let rid = id(&ask(&app, &c, "QE", "QA").await.json());
    let one = format!("/api/v1/programs/{}/requests/{rid}", c.program);
    let sent = format!(
        "/api/v1/programs/{}/enrollments/{}/requests",
        c.program, c.e["QE"]
    );
    let received = format!(
        "/api/v1/programs/{}/enrollments/{}/requests",
        c.program, c.e["QA"]
    );
    // (actor, token, what they get of the request: Some(has message) or the refusal status)
    let actors: Vec<(&str, String, Result<bool, u16>)> = vec![
        ("mentee", as_("QE"), Ok(true)),
        ("mentor", as_("QA"), Ok(true)),
        ("other mentor", as_("QB"), Err(404)),
        ("other mentee", as_("QF"), Err(404)),
        ("coordinator", app.as_coordinator(), Ok(false)),
        ("admin", app.as_admin(), Ok(false)),
        ("hris", app.as_hris(), Err(403)),
        ("analyst", app.as_analyst(), Err(403)),
        ("outsider", as_("NOBODY"), Err(404)),
    ];
    for (who, t, expect) in &actors {
        let reply = app.get(&one, Some(t)).await;
        match expect {
            Ok(reads) => {
                assert_eq!(reply.status, 200, "{who}: {}", reply.text);
                let body = reply.json();
                assert_eq!(body["has_message"], true, "{who}");
                assert_eq!(body["message"].is_string(), *reads, "{who}: {body}");
                assert_eq!(body["status"], "pending");
            }
            Err(status) => assert_eq!(reply.status, *status, "{who}: {}", reply.text),
        }
        if !matches!(expect, Ok(true)) {
            assert!(!reply.text.contains("REQUEST-WORDS"), "{who}");
        }
        // The lists: the mentee's sent, the mentor's received.
        for (list, owner) in [(&sent, "mentee"), (&received, "mentor")] {
            let reply = app.get(list, Some(t)).await;
            let expected = match expect {
                Ok(_) if *who == owner => 200,
                Ok(_) if who.starts_with("coordinator") || who.starts_with("admin") => 200,
                Ok(_) => 404,
                Err(s) => *s,
            };
            assert_eq!(
                reply.status, expected,
                "{who} on {owner}'s list: {}",
                reply.text
            );
            if *who != owner {
                assert!(
                    !reply.text.contains("REQUEST-WORDS"),
                    "{who} on {owner}'s list"
                );
            }
        }
    }
    // Every read of a message is in the audit log (who, what — not the words).
    let audit = app
        .get("/api/v1/audit-events?limit=200", Some(&app.as_admin()))
        .await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    assert!(audit.text.contains("read_request"), "{}", audit.text);
    assert!(audit.text.contains("list_requests"), "{}", audit.text);
    assert!(!audit.text.contains("REQUEST-WORDS"));
    // The mentee's export carries their request and its message.
    let export = app.get("/api/v1/me/export", Some(&as_("QE"))).await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert_eq!(export.json()["requests"][0]["message"], WORDS);
    let export = app.get("/api/v1/me/export", Some(&as_("QA"))).await;
    assert!(
        !export.text.contains("REQUEST-WORDS"),
        "the mentor's export holds what they wrote"
    );
}

/// The cap of three pending requests holds under concurrency: many requests of one mentee to
/// different mentors at once, over several rounds (on PostgreSQL with
/// `MENTORAT_TEST_DATABASE_URL`, where they truly run in parallel).
#[tokio::test]
async fn concurrent_requests_of_one_mentee_never_exceed_three_pending() {
    let app = spawn_app().await;
    for round in 0..4 {
        let mentee = format!("CE{round}");
        let mentors: Vec<String> = (0..8).map(|n| format!("CM{round}x{n}")).collect();
        let mut people: Vec<Member<'_>> = vec![(mentee.as_str(), None, "mentee", 0, &["soins"])];
        for m in &mentors {
            people.push((m.as_str(), None, "mentor", 2, &["soins"]));
        }
        let c = cohort(&app, &people).await;
        mode(&app, &c, "self").await;
        let mut requests = Vec::new();
        for m in &mentors {
            // Each mentor twice: the duplicates race too.
            for _ in 0..2 {
                requests.push(
                    app.client
                        .post(app.url(&format!(
                            "/api/v1/programs/{}/enrollments/{}/requests",
                            c.program, c.e[&mentee]
                        )))
                        .bearer_auth(as_(&mentee))
                        .json(&json!({"mentor_enrollment_id": c.e[m]})),
                );
            }
        }
        let replies = all_at_once(&app, requests).await;
        let created = replies.iter().filter(|r| r.status == 201).count();
        for r in &replies {
            assert!(
                [201, 409, 503].contains(&r.status),
                "round {round}: {} {}",
                r.status,
                r.text
            );
        }
        assert!(created <= 3, "round {round}: {created} created");
        let listed = app
            .get(
                &format!(
                    "/api/v1/programs/{}/enrollments/{}/requests",
                    c.program, c.e[&mentee]
                ),
                Some(&as_(&mentee)),
            )
            .await
            .json();
        let pending = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "pending")
            .count();
        assert_eq!(pending, created, "round {round}");
        assert!(pending <= 3, "round {round}: {pending} pending");
        assert!(created >= 1, "round {round}: none went through");
    }
}

/// Accepting reads the request and the mentee's other requests, then writes a pair: mentors
/// who accept the same mentee's requests at once, while the mentee withdraws one, leave one
/// pair and every other request void or withdrawn — never two pairs for one ask (on
/// PostgreSQL with `MENTORAT_TEST_DATABASE_URL`, where they truly run in parallel).
#[tokio::test]
async fn concurrent_accepts_of_one_mentees_requests_make_one_pair() {
    let app = spawn_app().await;
    for round in 0..4 {
        let mentee = format!("AE{round}");
        let mentors: Vec<String> = (0..3).map(|n| format!("AM{round}x{n}")).collect();
        let mut people: Vec<Member<'_>> = vec![(mentee.as_str(), None, "mentee", 0, &["soins"])];
        for m in &mentors {
            people.push((m.as_str(), None, "mentor", 2, &["soins"]));
        }
        let c = cohort(&app, &people).await;
        mode(&app, &c, "self").await;
        let mut ids = Vec::new();
        for m in &mentors {
            let asked = ask(&app, &c, &mentee, m).await;
            assert_eq!(asked.status, 201, "{}", asked.text);
            ids.push(id(&asked.json()));
        }
        let mut calls = Vec::new();
        for (m, request) in mentors.iter().zip(&ids) {
            calls.push(
                app.client
                    .post(app.url(&format!(
                        "/api/v1/programs/{}/requests/{request}/accept",
                        c.program
                    )))
                    .bearer_auth(as_(m))
                    .json(&json!({})),
            );
        }
        calls.push(
            app.client
                .post(app.url(&format!(
                    "/api/v1/programs/{}/requests/{}/withdraw",
                    c.program, ids[0]
                )))
                .bearer_auth(as_(&mentee))
                .json(&json!({})),
        );
        let replies = all_at_once(&app, calls).await;
        for r in &replies {
            assert!(
                [200, 409, 503].contains(&r.status),
                "round {round}: {} {}",
                r.status,
                r.text
            );
        }
        let accepted = replies[..3].iter().filter(|r| r.status == 200).count();
        assert!(accepted <= 1, "round {round}: {accepted} accepted");
        if replies.iter().all(|r| r.status != 503) {
            // The withdrawal takes one request at most: another mentor's accept goes through.
            assert_eq!(accepted, 1, "round {round}: none accepted");
        }
        let listed = app
            .get(
                &format!(
                    "/api/v1/programs/{}/enrollments/{}/requests",
                    c.program, c.e[&mentee]
                ),
                Some(&as_(&mentee)),
            )
            .await
            .json();
        let statuses: Vec<&str> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap())
            .collect();
        let stored = statuses.iter().filter(|s| **s == "accepted").count();
        assert_eq!(stored, accepted, "round {round}: {statuses:?}");
        assert!(
            !statuses.contains(&"pending") || accepted == 0,
            "round {round}: a request still pending beside an accepted one: {statuses:?}"
        );
        let pairs = app
            .get(
                &format!("/api/v1/pairs?program_id={}", c.program),
                Some(&app.as_coordinator()),
            )
            .await
            .json();
        assert_eq!(
            pairs["items"].as_array().unwrap().len(),
            accepted,
            "round {round}: {pairs}"
        );
    }
}
