//! A pair's working life: joint objectives (R4), meetings in a professional frame (R2),
//! cancellation and rescheduling (R7), regularity (R8), the charter (R3), and who may see
//! any of it (R5) — the two members, and nobody else.

use chrono::{Duration, Utc};
use mentorat_tests::{Reply, TestApp, spawn_app, token};
use serde_json::{Value, json};

/// MR (mentor) and ME (mentee) in an active pair; OU, enrolled too, is an outsider to it.
pub(crate) use mentorat_tests::Pair;

pub(crate) fn person(id: &str, department: &str) -> Value {
    mentorat_tests::person_row(id, department)
}

pub(crate) fn as_(subject: &str) -> String {
    token(subject, &[])
}

pub(crate) async fn pair_with(app: &TestApp, program_settings: Value, charter: bool) -> Pair {
    app.world()
        .program(program_settings)
        .charter(charter)
        .build()
        .await
        .pair
}

pub(crate) async fn active_pair(app: &TestApp) -> Pair {
    pair_with(app, json!({}), false).await
}

pub(crate) async fn accept_charter(
    app: &TestApp,
    program: &str,
    who: &str,
    enrollment: &str,
    version: i32,
) {
    let reply = app
        .member(who)
        .accept_charter(program, enrollment, version)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

pub(crate) async fn coordinator_view(app: &TestApp, pair: &Pair) -> Value {
    let reply = app
        .get(
            &format!("/api/v1/pairs/{}", pair.id),
            Some(&app.as_coordinator()),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

pub(crate) fn flags(pair: &Value) -> Vec<String> {
    pair["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn in_hours(hours: i64) -> String {
    mentorat_tests::in_hours(hours)
}

pub(crate) async fn propose_objective(app: &TestApp, pair: &Pair, who: &str, title: &str) -> Reply {
    app.member(who).propose_objective(pair, title).await
}

pub(crate) async fn schedule(app: &TestApp, pair: &Pair, who: &str, body: Value) -> Reply {
    app.member(who).schedule(pair, &body).await
}

pub(crate) fn video_at(hours: i64) -> Value {
    mentorat_tests::video_at(hours)
}

/// Move a meeting so that it started `hours` ago (see [`TestApp::meeting_started_hours_ago`]).
pub(crate) async fn started_hours_ago(app: &TestApp, meeting: &str, hours: i64) {
    app.meeting_started_hours_ago(meeting, hours).await;
}

#[tokio::test]
async fn objectives_are_joint_and_every_change_is_a_revision() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let reply = propose_objective(&app, &pair, "ME", "Conduire un entretien annuel").await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let objective = reply.json();
    let id = objective["id"].as_str().unwrap().to_owned();
    assert_eq!(objective["status"], "proposed");
    assert_eq!(reply.header("etag"), Some("\"r1\""));
    // The other member is told an objective awaits them: ids only.
    let notes = app
        .get("/api/v1/me/notifications", Some(&as_("MR")))
        .await
        .json();
    assert_eq!(notes["items"][0]["kind"], "objective.proposed");
    assert_eq!(notes["items"][0]["subject_id"], id.as_str());
    assert!(!notes.to_string().contains("entretien"));

    let base = format!("/api/v1/pairs/{}/objectives/{id}", pair.id);
    // R4: not by the one who proposed it; no way around it by an edit either.
    app.post_json(&format!("{base}/agree"), Some(&as_("ME")), &json!({}))
        .await
        .problem(409, "cannot_agree_own_objective");
    app.patch_json(
        &base,
        Some(&as_("ME")),
        None,
        &json!({"status": "in_progress"}),
    )
    .await
    .problem(409, "illegal_status_transition");
    let agreed = app
        .post_json(&format!("{base}/agree"), Some(&as_("MR")), &json!({}))
        .await;
    assert_eq!(agreed.status, 200, "{}", agreed.text);
    assert_eq!(agreed.json()["status"], "in_progress");
    assert!(agreed.json()["agreed_by"].is_string());
    assert_ne!(agreed.json()["agreed_by"], objective["proposed_by"]);
    app.post_json(&format!("{base}/agree"), Some(&as_("MR")), &json!({}))
        .await
        .problem(409, "objective_not_proposed");

    let progress = app
        .patch_json(
            &base,
            Some(&as_("ME")),
            Some("\"r2\""),
            &json!({"progress": 40, "comment": "Deux entretiens sur trois"}),
        )
        .await;
    assert_eq!(progress.status, 200, "{}", progress.text);
    assert_eq!(progress.json()["progress"], 40);
    let bad = app
        .patch_json(&base, Some(&as_("ME")), None, &json!({"progress": 101}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(bad["errors"][0]["pointer"], "/progress");
    let done = app
        .patch_json(
            &base,
            Some(&as_("MR")),
            None,
            &json!({"status": "achieved"}),
        )
        .await;
    assert_eq!(done.json()["status"], "achieved");
    assert_eq!(done.json()["progress"], 100);

    let revisions = app
        .get(&format!("{base}/revisions"), Some(&as_("MR")))
        .await
        .json();
    let items = revisions["items"].as_array().unwrap();
    let actions: Vec<_> = items
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["proposed", "agreed", "edited", "edited"]);
    assert_eq!(items[2]["comment"], "Deux entretiens sur trois");
    assert_eq!(
        items[2]["changes"],
        json!([{"field": "progress", "before": 0, "after": 40}])
    );
    assert_eq!(items[3]["changes"][0]["field"], "status");
    assert_eq!(items[3]["changes"][0]["before"], "in_progress");
    assert_eq!(items[3]["changes"][0]["after"], "achieved");

    // Coordinators see counts by status, never a title.
    let seen = coordinator_view(&app, &pair).await;
    assert_eq!(seen["objectives"]["achieved"], 1, "{seen}");
    assert!(!seen.to_string().contains("entretien"));
}

#[tokio::test]
async fn two_members_editing_at_once_never_lose_an_update() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let id = propose_objective(&app, &pair, "MR", "Déléguer")
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = format!("/api/v1/pairs/{}/objectives/{id}", pair.id);
    let read = app.get(&base, Some(&as_("ME"))).await;
    let tag = read.header("etag").unwrap().to_owned();
    let edit = |who: &str, title: &str| {
        app.client
            .patch(app.url(&base))
            .bearer_auth(as_(who))
            .header("if-match", tag.clone())
            .json(&json!({"title": title}))
    };
    let (a, b) = tokio::join!(
        app.send(edit("MR", "Déléguer deux dossiers")),
        app.send(edit("ME", "Déléguer trois dossiers"))
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412], "{} / {}", a.text, b.text);
    let loser = if a.status == 412 { &a } else { &b };
    loser.problem(412, "precondition_failed");
    // The winner's change is there, and exactly one edit was recorded.
    let revisions = app
        .get(&format!("{base}/revisions"), Some(&as_("ME")))
        .await
        .json();
    assert_eq!(revisions["items"].as_array().unwrap().len(), 2);
    let now = app.get(&base, Some(&as_("MR"))).await.json();
    let winner = if a.status == 200 { &a } else { &b };
    assert_eq!(now["title"], winner.json()["title"]);
    // If-None-Match on the current tag: nothing to send.
    let current = app.get(&base, Some(&as_("MR"))).await;
    let not_modified = app
        .send(
            app.client
                .get(app.url(&base))
                .bearer_auth(as_("MR"))
                .header("if-none-match", current.header("etag").unwrap()),
        )
        .await;
    assert_eq!(not_modified.status, 304);
}

/// Every content endpoint of a pair, for one actor: coordinators and admins are told the
/// content is confidential; everyone else — another participant, hris, analysts — sees
/// nothing at all.
async fn assert_content_hidden(app: &TestApp, pair: &Pair, objective: &str, meeting: &str) {
    let p = &pair.id;
    let gets = [
        format!("/api/v1/pairs/{p}/objectives"),
        format!("/api/v1/pairs/{p}/objectives/{objective}"),
        format!("/api/v1/pairs/{p}/objectives/{objective}/revisions"),
        format!("/api/v1/pairs/{p}/meetings"),
        format!("/api/v1/pairs/{p}/meetings/{meeting}"),
    ];
    let posts = [
        (
            format!("/api/v1/pairs/{p}/objectives"),
            json!({"title": "x"}),
        ),
        (
            format!("/api/v1/pairs/{p}/objectives/{objective}/agree"),
            json!({}),
        ),
        (format!("/api/v1/pairs/{p}/meetings"), video_at(48)),
        (
            format!("/api/v1/pairs/{p}/meetings/{meeting}/cancel"),
            json!({"reason": "x"}),
        ),
        (
            format!("/api/v1/pairs/{p}/meetings/{meeting}/held"),
            json!({}),
        ),
        (
            format!("/api/v1/pairs/{p}/meetings/{meeting}/missed"),
            json!({}),
        ),
    ];
    let patches = [
        (
            format!("/api/v1/pairs/{p}/objectives/{objective}"),
            json!({"progress": 10}),
        ),
        (
            format!("/api/v1/pairs/{p}/meetings/{meeting}"),
            json!({"agenda": "x"}),
        ),
    ];
    let actors = [
        (app.as_coordinator(), 403, "confidential"),
        (app.as_admin(), 403, "confidential"),
        (as_("OU"), 404, "not_found"),
        (app.as_hris(), 404, "not_found"),
        (app.as_analyst(), 404, "not_found"),
    ];
    for (who, status, code) in &actors {
        for path in &gets {
            let reply = app.get(path, Some(who)).await;
            reply.problem(*status, code);
            assert!(
                !reply.text.contains("confidentiel"),
                "{path}: {}",
                reply.text
            );
        }
        for (path, body) in &posts {
            app.post_json(path, Some(who), body)
                .await
                .problem(*status, code);
        }
        for (path, body) in &patches {
            app.patch_json(path, Some(who), None, body)
                .await
                .problem(*status, code);
        }
    }
    // A pair that does not exist is not found, for coordinators too.
    let nowhere = uuid::Uuid::now_v7();
    app.get(
        &format!("/api/v1/pairs/{nowhere}/objectives"),
        Some(&app.as_coordinator()),
    )
    .await
    .problem(404, "not_found");
}

#[tokio::test]
async fn nobody_but_the_two_members_reaches_the_content() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let objective = propose_objective(&app, &pair, "ME", "Objectif confidentiel")
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let meeting = schedule(&app, &pair, "MR", video_at(24)).await;
    assert_eq!(meeting.status, 201, "{}", meeting.text);
    let meeting = meeting.json()["id"].as_str().unwrap().to_owned();
    assert_content_hidden(&app, &pair, &objective, &meeting).await;
    // Both members read everything.
    for who in ["MR", "ME"] {
        let list = app
            .get(
                &format!("/api/v1/pairs/{}/meetings", pair.id),
                Some(&as_(who)),
            )
            .await
            .json();
        assert_eq!(list["items"][0]["agenda"], "Ordre du jour confidentiel");
        let list = app
            .get(
                &format!("/api/v1/pairs/{}/objectives", pair.id),
                Some(&as_(who)),
            )
            .await
            .json();
        assert_eq!(list["items"][0]["title"], "Objectif confidentiel");
    }
    // The coordinators' view of the pair: times and counts, no content.
    let seen = coordinator_view(&app, &pair).await;
    assert_eq!(seen["meetings"]["scheduled"], 1, "{seen}");
    assert!(seen["next_meeting_at"].is_string());
    assert!(!seen.to_string().contains("confidentiel"));
}

#[tokio::test]
async fn objectives_and_meetings_need_an_active_pair() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let reply = app
        .post_json(
            &format!("/api/v1/pairs/{}/end", pair.id),
            Some(&as_("ME")),
            &json!({"reason_category": "goals_reached"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    propose_objective(&app, &pair, "ME", "Trop tard")
        .await
        .problem(409, "pair_not_active");
    schedule(&app, &pair, "MR", video_at(24))
        .await
        .problem(409, "pair_not_active");
}

#[tokio::test]
async fn r2_meetings_keep_a_professional_frame() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let in_person = |location: Value| {
        json!({"starts_at": in_hours(24), "duration_minutes": 60, "mode": "in_person",
               "location": location})
    };
    let missing = schedule(&app, &pair, "MR", in_person(Value::Null)).await;
    missing.problem(422, "location_required");
    let home = schedule(
        &app,
        &pair,
        "ME",
        in_person(json!({"kind": "private_residence", "label": "Chez moi"})),
    )
    .await
    .problem(422, "private_location");
    assert!(
        home["detail"].as_str().unwrap().contains("domicile"),
        "{home}"
    );
    let ok = schedule(
        &app,
        &pair,
        "ME",
        in_person(json!({"kind": "workplace", "label": "Salle 3, bâtiment B"})),
    )
    .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    assert_eq!(ok.json()["location"]["kind"], "workplace");
    // Phone and video need no place; but never over another meeting of the pair.
    let overlap = schedule(
        &app,
        &pair,
        "MR",
        json!({"starts_at": in_hours(24), "duration_minutes": 30, "mode": "phone"}),
    )
    .await;
    overlap.problem(409, "meeting_overlap");
    let phone = schedule(
        &app,
        &pair,
        "MR",
        json!({"starts_at": in_hours(26), "duration_minutes": 30, "mode": "phone"}),
    )
    .await;
    assert_eq!(phone.status, 201, "{}", phone.text);
    for (body, pointer) in [
        (
            json!({"starts_at": in_hours(30), "duration_minutes": 10, "mode": "video"}),
            "/duration_minutes",
        ),
        (
            json!({"starts_at": in_hours(30), "duration_minutes": 241, "mode": "video"}),
            "/duration_minutes",
        ),
        (
            json!({"starts_at": in_hours(-1), "duration_minutes": 30, "mode": "video"}),
            "/starts_at",
        ),
        (
            json!({"starts_at": in_hours(30), "duration_minutes": 30, "mode": "teleport"}),
            "/mode",
        ),
    ] {
        let problem = schedule(&app, &pair, "MR", body.clone())
            .await
            .problem(422, "validation_failed");
        assert_eq!(
            problem["errors"][0]["pointer"], pointer,
            "{body}: {problem}"
        );
    }
}

#[tokio::test]
async fn r7_a_late_and_an_early_cancellation_then_rescheduling() {
    let app = spawn_app().await;
    let pair = pair_with(&app, json!({"notice_hours": 24}), false).await;
    let soon = schedule(&app, &pair, "MR", video_at(3)).await.json();
    let later = schedule(&app, &pair, "MR", video_at(24 * 5)).await.json();
    let cancel = |m: &Value, who: &str, reason: Value| {
        let path = format!(
            "/api/v1/pairs/{}/meetings/{}/cancel",
            pair.id,
            m["id"].as_str().unwrap()
        );
        let token = as_(who);
        let app = &app;
        async move {
            app.post_json(&path, Some(&token), &json!({"reason": reason}))
                .await
        }
    };
    cancel(&soon, "ME", json!(""))
        .await
        .problem(422, "validation_failed");
    let late = cancel(&soon, "ME", json!("Garde de nuit imprévue")).await;
    assert_eq!(late.status, 200, "{}", late.text);
    assert_eq!(late.json()["status"], "cancelled");
    assert_eq!(late.json()["late"], true);
    let early = cancel(&later, "MR", json!("Formation")).await;
    assert_eq!(early.json()["late"], false, "{}", early.text);
    cancel(&later, "MR", json!("encore"))
        .await
        .problem(409, "meeting_not_scheduled");

    // The other member is told — ids only, never the reason.
    let notes = app
        .get("/api/v1/me/notifications", Some(&as_("MR")))
        .await
        .json();
    let first = &notes["items"][0];
    assert_eq!(first["kind"], "meeting.cancelled", "{notes}");
    assert_eq!(first["subject_id"], soon["id"]);
    assert!(!notes.to_string().contains("Garde"));
    // An event per cancellation in the outbox, written with it; no content in it.
    let events = mentorat_persistence::outbox::all(app.db.conn(), 100)
        .await
        .unwrap();
    let cancelled: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "meeting.cancelled")
        .collect();
    assert_eq!(cancelled.len(), 2);
    assert_eq!(cancelled[0].payload["meeting_id"], soon["id"]);
    assert_eq!(cancelled[0].payload["late"], true);
    assert!(
        events
            .iter()
            .all(|e| !e.payload.to_string().contains("Garde"))
    );

    // R7: the pair owes a meeting per cancellation, until one names it.
    let seen = coordinator_view(&app, &pair).await;
    assert!(
        flags(&seen).contains(&"reschedule_owed".to_owned()),
        "{seen}"
    );
    assert_eq!(seen["meetings"]["cancelled"], 2);
    assert_eq!(seen["meetings"]["cancelled_late"], 1);
    let mut makeup = video_at(48);
    makeup["reschedules"] = soon["id"].clone();
    let reply = schedule(&app, &pair, "ME", makeup.clone()).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.json()["reschedules"], soon["id"]);
    assert!(flags(&coordinator_view(&app, &pair).await).contains(&"reschedule_owed".to_owned()));
    makeup["starts_at"] = json!(in_hours(72));
    let twice = schedule(&app, &pair, "ME", makeup)
        .await
        .problem(422, "validation_failed");
    assert_eq!(twice["errors"][0]["pointer"], "/reschedules");
    let mut second = video_at(96);
    second["reschedules"] = later["id"].clone();
    assert_eq!(schedule(&app, &pair, "MR", second).await.status, 201);
    let seen = coordinator_view(&app, &pair).await;
    assert!(
        !flags(&seen).contains(&"reschedule_owed".to_owned()),
        "{seen}"
    );
    let events = mentorat_persistence::outbox::all(app.db.conn(), 100)
        .await
        .unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "meeting.rescheduled")
            .count(),
        2
    );
}

#[tokio::test]
async fn held_missed_and_objectives_missing() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let first = schedule(&app, &pair, "MR", video_at(1)).await.json();
    let path = |m: &Value, what: &str| {
        format!(
            "/api/v1/pairs/{}/meetings/{}/{what}",
            pair.id,
            m["id"].as_str().unwrap()
        )
    };
    // Only a meeting that has started can be held.
    app.post_json(&path(&first, "held"), Some(&as_("ME")), &json!({}))
        .await
        .problem(409, "meeting_not_started");
    started_hours_ago(&app, first["id"].as_str().unwrap(), 2).await;
    // ...and a started one is no longer cancelled.
    app.post_json(
        &path(&first, "cancel"),
        Some(&as_("ME")),
        &json!({"reason": "x"}),
    )
    .await
    .problem(409, "meeting_started");
    let held = app
        .post_json(
            &path(&first, "held"),
            Some(&as_("ME")),
            &json!({"summary": "Plan d'action confidentiel"}),
        )
        .await;
    assert_eq!(held.status, 200, "{}", held.text);
    assert_eq!(held.json()["status"], "held");
    assert_eq!(held.json()["summary"], "Plan d'action confidentiel");
    app.post_json(&path(&first, "missed"), Some(&as_("ME")), &json!({}))
        .await
        .problem(409, "meeting_not_scheduled");
    // R4: the first meeting was held and no objective is agreed.
    let seen = coordinator_view(&app, &pair).await;
    assert_eq!(flags(&seen), ["objectives_missing"], "{seen}");
    let objective = propose_objective(&app, &pair, "MR", "Prendre la parole")
        .await
        .json();
    app.post_json(
        &format!(
            "/api/v1/pairs/{}/objectives/{}/agree",
            pair.id,
            objective["id"].as_str().unwrap()
        ),
        Some(&as_("ME")),
        &json!({}),
    )
    .await;
    assert!(flags(&coordinator_view(&app, &pair).await).is_empty());
    // A meeting that did not happen: missed, with no body at all.
    let second = schedule(&app, &pair, "ME", video_at(5)).await.json();
    started_hours_ago(&app, second["id"].as_str().unwrap(), 1).await;
    let missed = app
        .send(
            app.client
                .post(app.url(&path(&second, "missed")))
                .bearer_auth(as_("MR")),
        )
        .await;
    assert_eq!(missed.status, 200, "{}", missed.text);
    let seen = coordinator_view(&app, &pair).await;
    assert_eq!(seen["meetings"]["held"], 1);
    assert_eq!(seen["meetings"]["missed"], 1);
    assert!(!seen.to_string().contains("confidentiel"));
}

#[tokio::test]
async fn r8_a_pair_without_meetings_within_the_cadence_is_overdue() {
    let app = spawn_app().await;
    let pair = pair_with(&app, json!({"cadence_days": 7}), false).await;
    assert!(flags(&coordinator_view(&app, &pair).await).is_empty());
    app.time_passes(
        "UPDATE pairs SET activated_at = $1 WHERE id = $2",
        vec![
            (Utc::now() - Duration::days(10)).into(),
            uuid::Uuid::parse_str(&pair.id).unwrap().into(),
        ],
    )
    .await;
    let seen = coordinator_view(&app, &pair).await;
    assert_eq!(flags(&seen), ["overdue"], "{seen}");
    // The members see it too.
    let mine = app
        .get(&format!("/api/v1/pairs/{}", pair.id), Some(&as_("ME")))
        .await
        .json();
    assert_eq!(flags(&mine), ["overdue"]);
    // A meeting within the cadence ends it.
    assert_eq!(schedule(&app, &pair, "ME", video_at(48)).await.status, 201);
    assert!(flags(&coordinator_view(&app, &pair).await).is_empty());
}

#[tokio::test]
async fn r3_members_with_a_pending_charter_cannot_schedule() {
    let app = spawn_app().await;
    let pair = pair_with(&app, json!({}), true).await;
    assert_eq!(schedule(&app, &pair, "MR", video_at(24)).await.status, 201);
    let reply = app
        .post_json(
            &format!("/api/v1/programs/{}/charter-versions", pair.program),
            Some(&app.as_coordinator()),
            &json!({"text": "# Charte v2"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert!(flags(&coordinator_view(&app, &pair).await).contains(&"charter_pending".to_owned()));
    schedule(&app, &pair, "MR", video_at(48))
        .await
        .problem(409, "charter_not_accepted");
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
    for who in ["MR", "ME"] {
        let person = people["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["external_id"] == who)
            .unwrap()["id"]
            .clone();
        let enrollment = enrollments["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["person_id"] == person)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        accept_charter(&app, &pair.program, who, &enrollment, 2).await;
    }
    assert_eq!(schedule(&app, &pair, "MR", video_at(48)).await.status, 201);
}

#[tokio::test]
async fn a_meeting_is_moved_with_if_match_and_the_other_member_is_told() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let reply = schedule(&app, &pair, "MR", video_at(24)).await;
    let tag = reply.header("etag").unwrap().to_owned();
    let meeting = reply.json();
    let path = format!(
        "/api/v1/pairs/{}/meetings/{}",
        pair.id,
        meeting["id"].as_str().unwrap()
    );
    let moved = app
        .patch_json(
            &path,
            Some(&as_("ME")),
            Some(&tag),
            &json!({"starts_at": in_hours(30), "agenda": null}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.json()["agenda"], Value::Null);
    app.patch_json(
        &path,
        Some(&as_("MR")),
        Some(&tag),
        &json!({"duration_minutes": 30}),
    )
    .await
    .problem(412, "precondition_failed");
    app.patch_json(
        &path,
        Some(&as_("MR")),
        None,
        &json!({"starts_at": in_hours(-2)}),
    )
    .await
    .problem(422, "validation_failed");
    let notes = app
        .get("/api/v1/me/notifications", Some(&as_("MR")))
        .await
        .json();
    assert_eq!(notes["items"][0]["kind"], "meeting.rescheduled", "{notes}");
}

#[tokio::test]
async fn the_calendar_feed_is_valid_icalendar_without_content_and_revocable() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let kept = schedule(&app, &pair, "MR", video_at(24)).await.json();
    let dropped = schedule(&app, &pair, "ME", video_at(48)).await.json();
    app.post_json(
        &format!(
            "/api/v1/pairs/{}/meetings/{}/cancel",
            pair.id,
            dropped["id"].as_str().unwrap()
        ),
        Some(&as_("ME")),
        &json!({"reason": "Congé"}),
    )
    .await;
    let created = app
        .post_json("/api/v1/me/calendar-feed", Some(&as_("MR")), &json!({}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let url = created.json()["url"].as_str().unwrap().to_owned();
    assert!(url.ends_with(".ics"), "{url}");
    let path = url
        .split_once("/api/v1/")
        .map(|(_, p)| format!("/api/v1/{p}"))
        .unwrap();
    // No token: the secret in the path is the credential.
    let feed = app.get(&path, None).await;
    assert_eq!(feed.status, 200, "{}", feed.text);
    assert!(
        feed.header("content-type")
            .unwrap()
            .starts_with("text/calendar")
    );
    assert!(!feed.text.contains("Ordre du jour"), "{}", feed.text);
    assert!(!feed.text.contains("Congé"));
    let calendar = ical::IcalParser::new(std::io::BufReader::new(feed.text.as_bytes()))
        .next()
        .expect("one calendar")
        .expect("a valid RFC 5545 calendar");
    assert_eq!(calendar.events.len(), 2);
    let property = |event: &ical::parser::ical::component::IcalEvent, name: &str| {
        event
            .properties
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.clone())
            .unwrap_or_default()
    };
    let by_uid = |id: &Value| {
        calendar
            .events
            .iter()
            .find(|e| property(e, "UID").starts_with(id.as_str().unwrap()))
            .expect("the meeting is in the feed")
    };
    let event = by_uid(&kept["id"]);
    assert_eq!(property(event, "STATUS"), "CONFIRMED");
    assert!(property(event, "SUMMARY").contains("PrénomME NomME"));
    assert!(property(event, "SUMMARY").contains("video"));
    assert!(property(event, "DTSTART").ends_with('Z'));
    assert_eq!(property(by_uid(&dropped["id"]), "STATUS"), "CANCELLED");
    // Revoked: the URL opens nothing any more.
    assert_eq!(
        app.delete("/api/v1/me/calendar-feed", Some(&as_("MR")))
            .await
            .status,
        204
    );
    app.get(&path, None).await.problem(404, "not_found");
    app.delete("/api/v1/me/calendar-feed", Some(&as_("MR")))
        .await
        .problem(404, "not_found");
    app.get("/api/v1/calendar/not-a-real-secret.ics", None)
        .await
        .problem(404, "not_found");
    // Service roles have no calendar; a token for nobody the HRIS knows neither.
    app.post_json("/api/v1/me/calendar-feed", Some(&app.as_hris()), &json!({}))
        .await
        .problem(403, "forbidden");
    app.post_json("/api/v1/me/calendar-feed", Some(&as_("NOBODY")), &json!({}))
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn two_members_scheduling_the_same_slot_at_once_get_one_meeting() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let body = video_at(30);
    let post = |who: &str| {
        app.client
            .post(app.url(&format!("/api/v1/pairs/{}/meetings", pair.id)))
            .bearer_auth(as_(who))
            .json(&body)
    };
    let (a, b) = tokio::join!(app.send(post("MR")), app.send(post("ME")));
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} / {}", a.text, b.text);
    let loser = if a.status == 409 { &a } else { &b };
    loser.problem(409, "meeting_overlap");
    let list = app
        .get(
            &format!("/api/v1/pairs/{}/meetings", pair.id),
            Some(&as_("ME")),
        )
        .await
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}
