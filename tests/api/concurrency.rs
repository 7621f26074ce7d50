//! Rules that read then write, under many clients released at once (a barrier). On SQLite the
//! writes take turns and these pass trivially; on PostgreSQL (`MENTORAT_TEST_DATABASE_URL`)
//! they are the proof that R10, one open pair per couple and the writes without `If-Match`
//! hold under READ COMMITTED with real concurrency. Each test repeats its race over rounds.

use std::sync::Arc;

use mentorat_tests::{Reply, TestApp, spawn_app, token};
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::working_life::{active_pair, as_, person, propose_objective};

const ROUNDS: usize = 4;
const CLIENTS: usize = 10;

/// Send every request at the same moment: each task waits at the barrier, then sends.
pub(crate) async fn all_at_once(
    app: &TestApp,
    requests: Vec<reqwest::RequestBuilder>,
) -> Vec<Reply> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let response = request.send().await.expect("the server answers");
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let text = response.text().await.unwrap_or_default();
                (status, headers, text)
            })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        let (status, headers, text) = task.await.expect("the task ends");
        replies.push(Reply {
            status,
            headers,
            text,
        });
    }
    let _ = app;
    replies
}

fn statuses(replies: &[Reply]) -> Vec<u16> {
    let mut s: Vec<u16> = replies.iter().map(|r| r.status).collect();
    s.sort_unstable();
    s
}

/// People `prefix1..=prefixN`, imported at once; their ids by external id.
async fn people(app: &TestApp, ids: &[String]) -> std::collections::HashMap<String, String> {
    let body: Vec<Value> = ids.iter().map(|id| person(id, "Pédiatrie")).collect();
    let report = app
        .post_json("/api/v1/people/import", Some(&app.as_hris()), &json!(body))
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    let listed = app
        .get("/api/v1/people?limit=200", Some(&app.as_coordinator()))
        .await
        .json();
    listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["external_id"].as_str().unwrap().to_owned(),
                p["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn enroll(app: &TestApp, program: &str, person: &str, role: &str, capacity: i32) -> String {
    let mut body = json!({"person_id": person, "role": role});
    if role == "mentor" {
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
    reply.json()["id"].as_str().unwrap().to_owned()
}

fn proposal(app: &TestApp, program: &str, mentor: &str, mentee: &str) -> reqwest::RequestBuilder {
    app.client
        .post(app.url(&format!("/api/v1/programs/{program}/pairs")))
        .bearer_auth(app.as_coordinator())
        .json(&json!({"mentor_enrollment_id": mentor, "mentee_enrollment_id": mentee}))
}

async fn open_pairs_of_mentor(app: &TestApp, program: &str, mentor: &str) -> usize {
    let listed = app
        .get(
            &format!("/api/v1/pairs?program_id={program}&limit=100"),
            Some(&app.as_coordinator()),
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    listed.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["mentor"]["enrollment_id"] == mentor
                && matches!(p["status"].as_str(), Some("proposed" | "active"))
        })
        .count()
}

async fn new_program(app: &TestApp) -> String {
    let reply = app
        .post_json(
            "/api/v1/programs",
            Some(&app.as_coordinator()),
            &json!({"name": "Mentorat concurrent"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r10_capacity_holds_when_proposals_arrive_at_once() {
    let app = spawn_app().await;
    let mut ids: Vec<String> = (0..ROUNDS).map(|r| format!("CM{r}")).collect();
    ids.extend((0..CLIENTS).map(|n| format!("CE{n}")));
    let people = people(&app, &ids).await;
    let program = new_program(&app).await;
    let mut mentees = Vec::new();
    for n in 0..CLIENTS {
        mentees.push(enroll(&app, &program, &people[&format!("CE{n}")], "mentee", 0).await);
    }
    for round in 0..ROUNDS {
        let mentor = enroll(&app, &program, &people[&format!("CM{round}")], "mentor", 2).await;
        let requests = mentees
            .iter()
            .map(|mentee| proposal(&app, &program, &mentor, mentee))
            .collect();
        let replies = all_at_once(&app, requests).await;
        let created = replies.iter().filter(|r| r.status == 201).count();
        assert_eq!(created, 2, "round {round}: {:?}", statuses(&replies));
        for refused in replies.iter().filter(|r| r.status != 201) {
            refused.problem(409, "mentor_at_capacity");
        }
        assert_eq!(open_pairs_of_mentor(&app, &program, &mentor).await, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_open_pair_per_mentor_and_mentee_when_proposals_arrive_at_once() {
    let app = spawn_app().await;
    let ids: Vec<String> = (0..ROUNDS)
        .flat_map(|r| [format!("OM{r}"), format!("OE{r}")])
        .collect();
    let people = people(&app, &ids).await;
    let program = new_program(&app).await;
    for round in 0..ROUNDS {
        let mentor = enroll(&app, &program, &people[&format!("OM{round}")], "mentor", 20).await;
        let mentee = enroll(&app, &program, &people[&format!("OE{round}")], "mentee", 0).await;
        let requests = (0..CLIENTS)
            .map(|_| proposal(&app, &program, &mentor, &mentee))
            .collect();
        let replies = all_at_once(&app, requests).await;
        let created = replies.iter().filter(|r| r.status == 201).count();
        assert_eq!(created, 1, "round {round}: {:?}", statuses(&replies));
        for refused in replies.iter().filter(|r| r.status != 201) {
            refused.problem(409, "pair_exists");
        }
        assert_eq!(open_pairs_of_mentor(&app, &program, &mentor).await, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn both_members_accepting_at_once_activate_the_pair() {
    let app = spawn_app().await;
    let ids: Vec<String> = (0..ROUNDS)
        .flat_map(|r| [format!("AM{r}"), format!("AE{r}")])
        .collect();
    let people = people(&app, &ids).await;
    let program = new_program(&app).await;
    for round in 0..ROUNDS {
        let mentor = enroll(&app, &program, &people[&format!("AM{round}")], "mentor", 2).await;
        let mentee = enroll(&app, &program, &people[&format!("AE{round}")], "mentee", 0).await;
        let created = proposal(&app, &program, &mentor, &mentee)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let pair = created.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // No If-Match: each accept applies to the pair as it is when it gets its turn.
        let accept = |who: &str| {
            app.client
                .post(app.url(&format!("/api/v1/pairs/{pair}/accept")))
                .bearer_auth(token(who, &[]))
        };
        let replies = all_at_once(
            &app,
            vec![accept(&format!("AM{round}")), accept(&format!("AE{round}"))],
        )
        .await;
        assert_eq!(
            statuses(&replies),
            [200, 200],
            "round {round}: {} / {}",
            replies[0].text,
            replies[1].text
        );
        let now = app
            .get(
                &format!("/api/v1/pairs/{pair}"),
                Some(&app.as_coordinator()),
            )
            .await
            .json();
        assert_eq!(now["status"], "active", "round {round}: {now}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn patches_without_if_match_all_apply() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let objective = propose_objective(&app, &pair, "MR", "Déléguer").await;
    assert_eq!(objective.status, 201, "{}", objective.text);
    let id = objective.json()["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/pairs/{}/objectives/{id}", pair.id);
    let note = app
        .post_json(
            &format!("/api/v1/pairs/{}/notes", pair.id),
            Some(&as_("ME")),
            &json!({"body": "Premier jet", "visibility": "private"}),
        )
        .await;
    assert_eq!(note.status, 201, "{}", note.text);
    let note = format!(
        "/api/v1/pairs/{}/notes/{}",
        pair.id,
        note.json()["id"].as_str().unwrap()
    );
    for round in 0..ROUNDS {
        let edits = (0..CLIENTS)
            .map(|n| {
                let who = if n % 2 == 0 { "MR" } else { "ME" };
                app.client
                    .patch(app.url(&base))
                    .bearer_auth(as_(who))
                    .json(&json!({"title": format!("Déléguer {round}-{n}")}))
            })
            .collect();
        let replies = all_at_once(&app, edits).await;
        assert!(
            replies.iter().all(|r| r.status == 200),
            "round {round}: {:?} {}",
            statuses(&replies),
            replies.iter().find(|r| r.status != 200).unwrap().text
        );
        let notes = (0..CLIENTS)
            .map(|n| {
                app.client
                    .patch(app.url(&note))
                    .bearer_auth(as_("ME"))
                    .json(&json!({"body": format!("Version {round}-{n}")}))
            })
            .collect();
        let replies = all_at_once(&app, notes).await;
        assert!(
            replies.iter().all(|r| r.status == 200),
            "round {round}: notes {:?}",
            statuses(&replies)
        );
    }
    // Every edit was one revision: none lost, none refused.
    let revisions = app
        .get(&format!("{base}/revisions?limit=100"), Some(&as_("ME")))
        .await
        .json();
    assert_eq!(
        revisions["items"].as_array().unwrap().len(),
        1 + ROUNDS * CLIENTS,
        "{revisions}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn charter_versions_added_at_once_are_numbered_one_after_the_other() {
    let app = spawn_app().await;
    let program = new_program(&app).await;
    let requests = (0..CLIENTS)
        .map(|n| {
            app.client
                .post(app.url(&format!("/api/v1/programs/{program}/charter-versions")))
                .bearer_auth(app.as_coordinator())
                .json(&json!({"text": format!("# Charte {n}")}))
        })
        .collect();
    let replies = all_at_once(&app, requests).await;
    assert!(
        replies.iter().all(|r| r.status == 201),
        "{:?} {}",
        statuses(&replies),
        replies
            .iter()
            .find(|r| r.status != 201)
            .map(|r| r.text.as_str())
            .unwrap_or_default()
    );
    let mut versions: Vec<i64> = replies
        .iter()
        .map(|r| r.json()["version"].as_i64().unwrap())
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=CLIENTS as i64).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_enrollment_per_person_when_enrollments_arrive_at_once() {
    let app = spawn_app().await;
    let people = people(&app, &["EN1".to_owned()]).await;
    let program = new_program(&app).await;
    let requests = (0..CLIENTS)
        .map(|_| {
            app.client
                .post(app.url(&format!("/api/v1/programs/{program}/enrollments")))
                .bearer_auth(app.as_coordinator())
                .json(&json!({"person_id": people["EN1"], "role": "mentee"}))
        })
        .collect();
    let replies = all_at_once(&app, requests).await;
    assert_eq!(
        replies.iter().filter(|r| r.status == 201).count(),
        1,
        "{:?}",
        statuses(&replies)
    );
    for refused in replies.iter().filter(|r| r.status != 201) {
        refused.problem(409, "already_enrolled");
    }
}

/// Each member's request, `n` times over, all built now.
fn from_both(app: &TestApp, path: &str, body: &Value, n: usize) -> Vec<reqwest::RequestBuilder> {
    (0..n)
        .flat_map(|_| ["MR", "ME"])
        .map(|who| {
            app.client
                .post(app.url(path))
                .bearer_auth(as_(who))
                .json(body)
        })
        .collect()
}

/// One `200`, and every other request refused for what the resource has become (`409` with
/// `code`) — never a `412` nobody asked for (no `If-Match` was sent), never a `500`.
fn one_wins(replies: &[Reply], code: &str) {
    let won = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(won, 1, "statuses {:?}", statuses(replies));
    for r in replies.iter().filter(|r| r.status != 200) {
        assert_eq!(r.status, 409, "{}", r.text);
        assert_eq!(r.json()["code"], code, "{}", r.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn both_members_ending_a_pair_at_once_end_it_once() {
    for _ in 0..ROUNDS {
        let app = spawn_app().await;
        let pair = active_pair(&app).await;
        let path = format!("/api/v1/pairs/{}/end", pair.id);
        let body = json!({"reason_category": "goals_reached", "reason_text": "Merci"});
        let replies = all_at_once(&app, from_both(&app, &path, &body, CLIENTS / 2)).await;
        one_wins(&replies, "pair_not_open");
        let read = app
            .get(&format!("/api/v1/pairs/{}", pair.id), Some(&as_("ME")))
            .await;
        assert_eq!(read.json()["status"], "ended", "{}", read.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_meeting_cancelled_or_closed_by_both_members_at_once_changes_once() {
    use crate::working_life::{schedule, started_hours_ago, video_at};
    for _ in 0..ROUNDS {
        let app = spawn_app().await;
        let pair = active_pair(&app).await;
        let ahead = schedule(&app, &pair, "MR", video_at(72)).await.json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/api/v1/pairs/{}/meetings/{ahead}/cancel", pair.id);
        let body = json!({"reason": "Garde de nuit imprévue"});
        let replies = all_at_once(&app, from_both(&app, &path, &body, CLIENTS / 2)).await;
        one_wins(&replies, "meeting_not_scheduled");

        let started = schedule(&app, &pair, "MR", video_at(24)).await.json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        started_hours_ago(&app, &started, 1).await;
        let path = format!("/api/v1/pairs/{}/meetings/{started}/held", pair.id);
        let replies = all_at_once(&app, from_both(&app, &path, &json!({}), CLIENTS / 2)).await;
        one_wins(&replies, "meeting_not_scheduled");

        // The report counted one cancellation and one meeting held, not ten.
        let health = app
            .get(
                &format!("/api/v1/pairs/{}", pair.id),
                Some(&app.as_coordinator()),
            )
            .await
            .json();
        assert_eq!(health["meetings"]["cancelled"], 1, "{health}");
        assert_eq!(health["meetings"]["held"], 1, "{health}");
    }
}
