//! The access matrix: every operation of the generated OpenAPI document, called as every
//! actor on a seeded pair, answers as the policy says — and no answer to anyone but the two
//! members carries a word of what the pair said. An operation nobody added here fails the
//! test.

use std::collections::{BTreeSet, HashMap};

use mentorat_tests::{TestApp, spawn_app, token};
use serde_json::{Value, json};

use crate::working_life::{as_, pair_with, propose_objective, schedule, video_at};

const SECRET: &str = "MATRIX-SECRET-7731";

/// Who calls, in the order they call (the members last: their writes may change the seed).
const ACTORS: [&str; 8] = [
    "none",
    "hris",
    "analyst",
    "other",
    "coordinator",
    "admin",
    "mentor",
    "mentee",
];

/// What an actor gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Expect {
    /// Reaches the operation: anything but 401, 403 and 404 (a 409 or 422 is the rule's
    /// answer, not the policy's).
    A,
    /// 401 unauthorized.
    U,
    /// 403 forbidden.
    F,
    /// 403 confidential.
    C,
    /// 403 not_author.
    T,
    /// 404 not_found.
    N,
}
use Expect::*;

/// (method, path) → answers for [none, hris, analyst, other participant, coordinator, admin,
/// the other member (mentor), the author (mentee)].
fn expectations() -> Vec<(&'static str, &'static str, [Expect; 8])> {
    let content = [U, N, N, N, C, C, A, A];
    let public = [A, A, A, A, A, A, A, A];
    let runs_programs = [U, F, F, F, A, A, F, F];
    let people_write = [U, A, F, F, A, A, F, F];
    let participants_read = [U, F, F, A, A, A, A, A];
    let own_enrollment = [U, F, F, N, A, A, N, A];
    let member_only = [U, F, F, N, N, N, A, A];
    let pair_metadata = [U, F, F, N, A, A, A, A];
    let scim = [U, A, F, F, F, F, F, F];
    vec![
        ("GET", "/healthz", public),
        ("GET", "/readyz", public),
        ("GET", "/metrics", public),
        ("GET", "/api/v1/calendar/{token}.ics", public),
        (
            "PUT",
            "/api/v1/people/by-external-id/{external_id}",
            people_write,
        ),
        ("POST", "/api/v1/people/import", people_write),
        ("GET", "/api/v1/people", runs_programs),
        ("GET", "/api/v1/people/{id}", runs_programs),
        ("GET", "/api/v1/programs", participants_read),
        ("POST", "/api/v1/programs", runs_programs),
        ("GET", "/api/v1/programs/{id}", participants_read),
        ("PATCH", "/api/v1/programs/{id}", runs_programs),
        (
            "POST",
            "/api/v1/programs/{id}/charter-versions",
            runs_programs,
        ),
        (
            "GET",
            "/api/v1/programs/{id}/charter-versions/current",
            participants_read,
        ),
        (
            "GET",
            "/api/v1/programs/{id}/enrollments",
            participants_read,
        ),
        ("POST", "/api/v1/programs/{id}/enrollments", runs_programs),
        (
            "GET",
            "/api/v1/programs/{id}/enrollments/{enrollment_id}",
            own_enrollment,
        ),
        (
            "PATCH",
            "/api/v1/programs/{id}/enrollments/{enrollment_id}",
            own_enrollment,
        ),
        // The mentee's pair is active: the withdrawal is the rule's 409, for whoever reaches it.
        (
            "POST",
            "/api/v1/programs/{id}/enrollments/{enrollment_id}/withdraw",
            own_enrollment,
        ),
        (
            "POST",
            "/api/v1/programs/{id}/enrollments/{enrollment_id}/charter-acceptance",
            [U, F, F, N, N, N, N, A],
        ),
        (
            "GET",
            "/api/v1/programs/{id}/enrollments/{enrollment_id}/suggestions",
            own_enrollment,
        ),
        // Issue 17: a seeded request of the mentee to the mentor (their pair exists: the
        // mentee's new request and the mentor's accept are the rules' 409). The mentor's
        // decline succeeds; the mentee's withdraw is then the rule's 409.
        (
            "POST",
            "/api/v1/programs/{id}/enrollments/{enrollment_id}/requests",
            [U, F, F, N, N, N, N, A],
        ),
        (
            "GET",
            "/api/v1/programs/{id}/enrollments/{enrollment_id}/requests",
            own_enrollment,
        ),
        (
            "GET",
            "/api/v1/programs/{id}/requests/{request_id}",
            pair_metadata,
        ),
        (
            "POST",
            "/api/v1/programs/{id}/requests/{request_id}/accept",
            [U, F, F, N, N, N, A, F],
        ),
        (
            "POST",
            "/api/v1/programs/{id}/requests/{request_id}/decline",
            [U, F, F, N, N, N, A, F],
        ),
        (
            "POST",
            "/api/v1/programs/{id}/requests/{request_id}/withdraw",
            [U, F, F, N, N, N, F, A],
        ),
        ("POST", "/api/v1/programs/{id}/pairs", runs_programs),
        ("POST", "/api/v1/programs/{id}/matching-runs", runs_programs),
        ("GET", "/api/v1/programs/{id}/matching-runs", runs_programs),
        (
            "GET",
            "/api/v1/programs/{id}/matching-runs/{run_id}",
            runs_programs,
        ),
        (
            "POST",
            "/api/v1/programs/{id}/matching-runs/{run_id}/apply",
            runs_programs,
        ),
        ("GET", "/api/v1/pairs", participants_read),
        ("GET", "/api/v1/pairs/{id}", pair_metadata),
        ("POST", "/api/v1/pairs/{id}/accept", member_only),
        ("GET", "/api/v1/pairs/{id}/objectives", content),
        ("POST", "/api/v1/pairs/{id}/objectives", content),
        (
            "GET",
            "/api/v1/pairs/{id}/objectives/{objective_id}",
            content,
        ),
        (
            "PATCH",
            "/api/v1/pairs/{id}/objectives/{objective_id}",
            content,
        ),
        (
            "POST",
            "/api/v1/pairs/{id}/objectives/{objective_id}/agree",
            content,
        ),
        (
            "GET",
            "/api/v1/pairs/{id}/objectives/{objective_id}/revisions",
            content,
        ),
        ("GET", "/api/v1/pairs/{id}/meetings", content),
        ("POST", "/api/v1/pairs/{id}/meetings", content),
        ("GET", "/api/v1/pairs/{id}/meetings/{meeting_id}", content),
        ("PATCH", "/api/v1/pairs/{id}/meetings/{meeting_id}", content),
        (
            "POST",
            "/api/v1/pairs/{id}/meetings/{meeting_id}/held",
            content,
        ),
        (
            "POST",
            "/api/v1/pairs/{id}/meetings/{meeting_id}/missed",
            content,
        ),
        (
            "POST",
            "/api/v1/pairs/{id}/meetings/{meeting_id}/cancel",
            content,
        ),
        ("GET", "/api/v1/pairs/{id}/notes", content),
        ("POST", "/api/v1/pairs/{id}/notes", content),
        ("GET", "/api/v1/pairs/{id}/notes/{note_id}", content),
        (
            "PATCH",
            "/api/v1/pairs/{id}/notes/{note_id}",
            [U, N, N, N, C, C, T, A],
        ),
        ("POST", "/api/v1/pairs/{id}/concerns", content),
        ("GET", "/api/v1/programs/{id}/concerns", runs_programs),
        (
            "GET",
            "/api/v1/programs/{id}/concerns/{concern_id}",
            runs_programs,
        ),
        (
            "PATCH",
            "/api/v1/programs/{id}/concerns/{concern_id}",
            runs_programs,
        ),
        ("GET", "/api/v1/pairs/{id}/concerns", content),
        ("GET", "/api/v1/audit-events", [U, F, F, F, F, A, F, F]),
        ("GET", "/api/v1/pairs/{id}/feedback", content),
        ("POST", "/api/v1/pairs/{id}/feedback", content),
        ("GET", "/api/v1/programs/{id}/pair-health", runs_programs),
        (
            "GET",
            "/api/v1/programs/{id}/report",
            [U, F, A, F, A, A, F, F],
        ),
        ("GET", "/api/v1/me/notifications", [U, A, A, A, A, A, A, A]),
        ("GET", "/api/v1/me", [U, A, A, A, A, A, A, A]),
        ("GET", "/api/v1/me/export", [U, A, A, A, A, A, A, A]),
        ("POST", "/api/v1/webhooks", [U, F, F, F, F, A, F, F]),
        ("GET", "/api/v1/webhooks", [U, F, F, F, F, A, F, F]),
        ("GET", "/api/v1/webhooks/{id}", [U, F, F, F, F, A, F, F]),
        ("PATCH", "/api/v1/webhooks/{id}", [U, F, F, F, F, A, F, F]),
        (
            "POST",
            "/api/v1/webhooks/{id}/rotate-secret",
            [U, F, F, F, F, A, F, F],
        ),
        (
            "GET",
            "/api/v1/webhooks/{id}/deliveries",
            [U, F, F, F, F, A, F, F],
        ),
        (
            "POST",
            "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry",
            [U, F, F, F, F, A, F, F],
        ),
        // Last of the webhooks: it removes the seeded one.
        ("DELETE", "/api/v1/webhooks/{id}", [U, F, F, F, F, A, F, F]),
        (
            "POST",
            "/api/v1/me/notifications/{id}/read",
            [U, N, N, N, N, N, N, A],
        ),
        ("POST", "/api/v1/me/calendar-feed", [U, F, F, A, N, N, A, A]),
        (
            "DELETE",
            "/api/v1/me/calendar-feed",
            [U, F, F, A, N, N, A, A],
        ),
        (
            "DELETE",
            "/api/v1/pairs/{id}/notes/{note_id}",
            [U, N, N, N, C, C, T, A],
        ),
        ("POST", "/api/v1/pairs/{id}/end", member_only),
        // SCIM provisioning: the hris role only (its refusals are SCIM error documents). Last:
        // its DELETE deactivates the spare person.
        ("GET", "/scim/v2/ServiceProviderConfig", scim),
        ("GET", "/scim/v2/ResourceTypes", scim),
        ("GET", "/scim/v2/ResourceTypes/{id}", scim),
        ("GET", "/scim/v2/Schemas", scim),
        ("GET", "/scim/v2/Schemas/{id}", scim),
        ("GET", "/scim/v2/Users", scim),
        ("POST", "/scim/v2/Users", scim),
        ("POST", "/scim/v2/Users/.search", scim),
        ("POST", "/scim/v2/.search", scim),
        ("GET", "/scim/v2/Users/{id}", scim),
        ("PUT", "/scim/v2/Users/{id}", scim),
        ("PATCH", "/scim/v2/Users/{id}", scim),
        ("DELETE", "/scim/v2/Users/{id}", scim),
        // R14: the admins only; last, as it erases the spare person for good.
        (
            "POST",
            "/api/v1/people/{id}/erasure",
            [U, F, F, F, F, A, F, F],
        ),
    ]
}

struct Seed {
    program: String,
    pair: String,
    objective: String,
    meeting: String,
    note: String,
    concern: String,
    person: String,
    enrollment: String,
    other_enrollment: String,
    mentor_enrollment: String,
    spare_person: String,
    notification: String,
    calendar: String,
    webhook: String,
    delivery: String,
    run: String,
    request: String,
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn seed(app: &TestApp) -> Seed {
    let pair = pair_with(app, json!({}), true).await;
    let objective = id(&propose_objective(app, &pair, "ME", SECRET).await.json());
    let mut m = video_at(48);
    m["agenda"] = json!(SECRET);
    let meeting = schedule(app, &pair, "MR", m).await;
    assert_eq!(meeting.status, 201, "{}", meeting.text);
    let meeting = id(&meeting.json());
    let mut notes = Vec::new();
    for visibility in ["shared", "private"] {
        let reply = app
            .post_json(
                &format!("/api/v1/pairs/{}/notes", pair.id),
                Some(&as_("ME")),
                &json!({"body": SECRET, "visibility": visibility}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        notes.push(id(&reply.json()));
    }
    // A concern's words reach the coordinators by the author's choice (R12): not the secret.
    let concern = app
        .post_json(
            &format!("/api/v1/pairs/{}/concerns", pair.id),
            Some(&as_("ME")),
            &json!({"text": "Une inquiétude de la matrice"}),
        )
        .await;
    assert_eq!(concern.status, 201, "{}", concern.text);
    let concern = id(&concern.json());
    let people = app
        .get("/api/v1/people?limit=200", Some(&app.as_coordinator()))
        .await
        .json();
    let person_of = |ext: &str| {
        id(people["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["external_id"] == ext)
            .unwrap())
    };
    let spare = app.upsert_person("SP", None).await;
    let enrollments = app
        .get(
            &format!("/api/v1/programs/{}/enrollments?limit=200", pair.program),
            Some(&app.as_coordinator()),
        )
        .await
        .json();
    let enrollment_of = |person: &str| {
        id(enrollments["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["person_id"] == person)
            .unwrap())
    };
    let notification = app
        .get("/api/v1/me/notifications", Some(&as_("ME")))
        .await
        .json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let feed = app
        .post_json("/api/v1/me/calendar-feed", Some(&as_("ME")), &json!({}))
        .await
        .json();
    let url = feed["url"].as_str().unwrap();
    let calendar = url
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".ics")
        .to_owned();
    let webhook = app
        .post_json(
            "/api/v1/webhooks",
            Some(&app.as_admin()),
            &json!({"url": "http://127.0.0.1:9/unreachable"}),
        )
        .await
        .json();
    // One delivery of the seeded webhook, whatever the delivery loop did meanwhile.
    let webhook_id: uuid::Uuid = id(&webhook).parse().unwrap();
    mentorat_persistence::outbox::record(
        app.db.conn(),
        "pair.proposed",
        json!({"pair_id": pair.id}),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    mentorat_persistence::webhooks::fan_out(app.db.conn(), app.db.keys(), chrono::Utc::now(), 500)
        .await
        .unwrap();
    let delivery = mentorat_persistence::webhooks::deliveries(app.db.conn(), webhook_id, 1)
        .await
        .unwrap()[0]
        .id
        .to_string();
    let run = app
        .post_json(
            &format!("/api/v1/programs/{}/matching-runs", pair.program),
            Some(&app.as_coordinator()),
            &json!({}),
        )
        .await;
    assert_eq!(run.status, 201, "{}", run.text);
    // A request of the mentee to the mentor, planted below the rules (their pair exists),
    // its message the secret: only the two of them may read it.
    let person_uuid = |ext: &str| person_of(ext).parse::<uuid::Uuid>().unwrap();
    let request = mentorat_persistence::mentee_requests::insert(
        app.db.conn(),
        app.db.keys(),
        &mentorat_persistence::mentee_requests::NewRequest {
            program_id: pair.program.parse().unwrap(),
            mentee_enrollment_id: enrollment_of(&person_of("ME")).parse().unwrap(),
            mentor_enrollment_id: enrollment_of(&person_of("MR")).parse().unwrap(),
            mentee_person_id: person_uuid("ME"),
            mentor_person_id: person_uuid("MR"),
            message: Some(SECRET),
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    Seed {
        request: request.id.to_string(),
        run: id(&run.json()),
        webhook: id(&webhook),
        delivery,
        program: pair.program.clone(),
        pair: pair.id.clone(),
        objective,
        meeting,
        note: notes[0].clone(),
        concern,
        person: person_of("ME"),
        enrollment: enrollment_of(&person_of("ME")),
        other_enrollment: enrollment_of(&person_of("OU")),
        mentor_enrollment: enrollment_of(&person_of("MR")),
        spare_person: id(&spare),
        notification,
        calendar,
    }
}

fn concrete(path: &str, s: &Seed) -> String {
    if let Some(rest) = path.strip_prefix("/scim/v2/") {
        let id = match rest {
            "ResourceTypes/{id}" => "User",
            "Schemas/{id}" => "urn:ietf:params:scim:schemas:core:2.0:User",
            _ => &s.spare_person,
        };
        return path.replace("{id}", id);
    }
    let id = if path.starts_with("/api/v1/pairs/") {
        &s.pair
    } else if path.starts_with("/api/v1/programs/") {
        &s.program
    } else if path.ends_with("/erasure") {
        &s.spare_person
    } else if path.starts_with("/api/v1/people/") {
        &s.person
    } else if path.starts_with("/api/v1/webhooks/") {
        &s.webhook
    } else {
        &s.notification
    };
    path.replace("{id}", id)
        .replace("{objective_id}", &s.objective)
        .replace("{meeting_id}", &s.meeting)
        .replace("{note_id}", &s.note)
        .replace("{concern_id}", &s.concern)
        .replace("{enrollment_id}", &s.enrollment)
        .replace("{delivery_id}", &s.delivery)
        .replace("{external_id}", "ME")
        .replace("{token}", &s.calendar)
        .replace("{run_id}", &s.run)
        .replace("{request_id}", &s.request)
}

/// A valid body, so that the policy — not validation — decides.
fn body(method: &str, path: &str, s: &Seed) -> Option<Value> {
    let b = match (method, path) {
        ("PUT", _) => json!({"given_name": "Prénom", "family_name": "Nom",
                             "email": "me@chu.example", "department": "Cardiologie"}),
        ("POST", "/api/v1/people/import") => json!([{"external_id": "IMP1", "given_name": "I",
                             "family_name": "P", "email": "imp1@chu.example"}]),
        ("POST", "/api/v1/programs") => json!({"name": "Matrice"}),
        ("PATCH", "/api/v1/programs/{id}") => json!({"description": "Programme"}),
        ("POST", "/api/v1/programs/{id}/charter-versions") => json!({"text": "# Charte"}),
        ("POST", "/api/v1/programs/{id}/enrollments") => {
            json!({"person_id": s.spare_person, "role": "mentee"})
        }
        ("POST", p) if p.ends_with("/charter-acceptance") => json!({"version": 1}),
        ("POST", p) if p.ends_with("/requests") => {
            json!({"mentor_enrollment_id": s.mentor_enrollment})
        }
        ("POST", "/api/v1/programs/{id}/pairs") => json!({
            "mentor_enrollment_id": s.mentor_enrollment,
            "mentee_enrollment_id": s.other_enrollment}),
        ("POST", "/api/v1/pairs/{id}/end") => json!({"reason_category": "goals_reached"}),
        ("POST", "/api/v1/pairs/{id}/objectives") => json!({"title": "Un objectif"}),
        ("PATCH", p) if p.contains("/objectives/") => json!({"description": "Mise à jour"}),
        ("POST", "/api/v1/pairs/{id}/meetings") => video_at(96),
        ("PATCH", p) if p.contains("/meetings/") => json!({"duration_minutes": 30}),
        ("POST", p) if p.ends_with("/cancel") => json!({"reason": "Empêchement"}),
        ("POST", "/api/v1/pairs/{id}/notes") => json!({"body": "Une note", "visibility": "shared"}),
        ("PATCH", p) if p.contains("/notes/") => json!({"body": "Réécrite"}),
        ("POST", "/api/v1/pairs/{id}/concerns") => json!({"text": "Une inquiétude"}),
        ("PATCH", p) if p.contains("/concerns/") => json!({"response": "Nous vous rappelons."}),
        ("PATCH", p) if p.contains("/enrollments/") => json!({"topics": ["Qualité"]}),
        ("POST", "/api/v1/webhooks") => json!({"url": "http://127.0.0.1:9/other"}),
        ("PATCH", "/api/v1/webhooks/{id}") => json!({"events": []}),
        ("POST", "/api/v1/pairs/{id}/feedback") => json!({"kind": "final", "scores": {
            "valued": 3, "regular_space": 3, "autonomy": 3, "communication": 3,
            "management_insight": 3, "solidarity": 3, "collective_intelligence": 3,
            "open_environment": 3}}),
        ("POST", _) => json!({}),
        _ => return None,
    };
    Some(b)
}

fn token_of(app: &TestApp, actor: &str) -> Option<String> {
    match actor {
        "none" => None,
        "hris" => Some(app.as_hris()),
        "analyst" => Some(app.as_analyst()),
        "other" => Some(token("OU", &[])),
        "coordinator" => Some(app.as_coordinator()),
        "admin" => Some(app.as_admin()),
        "mentor" => Some(token("MR", &[])),
        "mentee" => Some(token("ME", &[])),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn every_operation_answers_every_actor_as_the_policy_says() {
    let app = spawn_app().await;
    let doc = app.get("/openapi.json", None).await.json();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let table = expectations();
    let expected: BTreeSet<(String, String)> = table
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented.difference(&expected).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "operations nobody added to the access matrix"
    );
    assert_eq!(
        expected.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "the matrix names operations the API no longer has"
    );

    let s = seed(&app).await;
    let mut failures = Vec::new();
    let mut seen: HashMap<Expect, usize> = HashMap::new();
    for (method, path, answers) in &table {
        let url = concrete(path, &s);
        for (actor, expect) in ACTORS.iter().zip(answers) {
            let mut request = app.client.request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(&url),
            );
            if let Some(t) = token_of(&app, actor) {
                request = request.bearer_auth(t);
            }
            if let Some(b) = body(method, path, &s) {
                request = request.json(&b);
            }
            let reply = app.send(request).await;
            let doc = serde_json::from_str::<Value>(&reply.text).ok();
            let code = doc
                .as_ref()
                .and_then(|v| v["code"].as_str().map(str::to_owned))
                .unwrap_or_default();
            // SCIM refuses with its own error documents (RFC 7644 §3.12): no `code`.
            let scim_error = doc.as_ref().is_some_and(|v| {
                v["schemas"][0] == "urn:ietf:params:scim:api:messages:2.0:Error"
                    && v["status"].as_str().and_then(|s| s.parse::<u16>().ok())
                        == Some(reply.status)
            });
            let code = match (scim_error, reply.status) {
                (true, 401) => "unauthorized".to_owned(),
                (true, 403) => "forbidden".to_owned(),
                (true, 404) => "not_found".to_owned(),
                _ => code,
            };
            let ok = match expect {
                A => ![401, 403, 404].contains(&reply.status) && reply.status < 500,
                U => reply.status == 401 && code == "unauthorized",
                F => reply.status == 403 && code == "forbidden",
                C => reply.status == 403 && code == "confidential",
                T => reply.status == 403 && code == "not_author",
                N => reply.status == 404 && code == "not_found",
            };
            *seen.entry(*expect).or_default() += 1;
            if !ok {
                failures.push(format!(
                    "{method} {path} as {actor}: expected {expect:?}, got {} {code}",
                    reply.status
                ));
            }
            let member = matches!(*actor, "mentor" | "mentee");
            if !member && reply.text.contains(SECRET) {
                failures.push(format!(
                    "{method} {path} as {actor}: the answer carries content"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The matrix exercised every kind of answer.
    for e in [A, U, F, C, T, N] {
        assert!(
            seen.get(&e).copied().unwrap_or(0) > 0,
            "{e:?} never expected"
        );
    }
}
