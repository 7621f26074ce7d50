//! The contract, as tests read it (issue 18; zero-to-production's `TestApp`, hyperswitch's
//! role-typed clients): callers are values — `app.mentee()`, `app.coordinator()`,
//! `app.hris()`, `app.member("M2")`, `app.anonymous()` — with one method per endpoint
//! (`app.mentee().write_note(&pair, "private", "…")`), and one way to build a world:
//! `app.world().build().await`, a program with MR (mentor) and ME (mentee) in an active
//! pair and OU enrolled as an outsider to it.
//!
//! Every endpoint method returns the [`Reply`] whole, so a test asserts what it proves;
//! [`Reply::ok`] and [`Reply::created`] assert the usual success and give its JSON.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::{Reply, TestApp, token};

/// The subjects of the world [`TestApp::world`] builds.
pub const MENTOR: &str = "MR";
pub const MENTEE: &str = "ME";
pub const OUTSIDER: &str = "OU";

/// A pair and its program.
pub struct Pair {
    pub program: String,
    pub id: String,
}

/// What names a pair in a path: a [`Pair`], a [`World`] or a bare id.
pub trait PairId {
    fn pair_id(&self) -> &str;
}

impl PairId for Pair {
    fn pair_id(&self) -> &str {
        &self.id
    }
}

impl PairId for World {
    fn pair_id(&self) -> &str {
        &self.pair.id
    }
}

impl PairId for str {
    fn pair_id(&self) -> &str {
        self
    }
}

impl PairId for String {
    fn pair_id(&self) -> &str {
        self
    }
}

/// A person of the world: their token's subject, person and enrollment ids.
pub struct Member {
    pub subject: String,
    pub person: String,
    pub enrollment: String,
}

/// A program with MR and ME in an active pair, and OU enrolled as a mentee outside it.
pub struct World {
    pub program: String,
    pub pair: Pair,
    pub mentor: Member,
    pub mentee: Member,
    pub outsider: Member,
}

/// A row of a people import, as the HRIS connector sends it.
pub fn person_row(external_id: &str, department: &str) -> Value {
    json!({
        "external_id": external_id, "given_name": format!("Prénom{external_id}"),
        "family_name": format!("Nom{external_id}"),
        "email": format!("{}@chu.example", external_id.to_lowercase()), "department": department,
        "site": "Nord",
    })
}

/// An instant `hours` from now (in the past when negative), as the API writes it.
pub fn in_hours(hours: i64) -> String {
    (Utc::now() + Duration::hours(hours)).to_rfc3339()
}

/// A meeting by video `hours` from now, 45 minutes, with an agenda.
pub fn video_at(hours: i64) -> Value {
    json!({"starts_at": in_hours(hours), "duration_minutes": 45, "mode": "video",
           "agenda": "Ordre du jour confidentiel"})
}

/// The JSON id of an answer.
pub fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

/// How [`TestApp::world`] builds: program settings, and whether it has a charter (version 1,
/// accepted by all three).
pub struct WorldBuilder<'a> {
    app: &'a TestApp,
    settings: Value,
    charter: bool,
}

impl WorldBuilder<'_> {
    /// Fields of the program's creation (`cadence_days`, `matching_weights`, …).
    pub fn program(mut self, settings: Value) -> Self {
        self.settings = settings;
        self
    }

    /// A charter (version 1), accepted by MR, ME and OU before the pair is proposed.
    pub fn with_charter(mut self) -> Self {
        self.charter = true;
        self
    }

    pub fn charter(mut self, charter: bool) -> Self {
        self.charter = charter;
        self
    }

    pub async fn build(self) -> World {
        let app = self.app;
        let (coordinator, hris) = (app.coordinator(), app.hris());
        let report = hris
            .import_people(&json!([
                person_row(MENTOR, "Pédiatrie"),
                person_row(MENTEE, "Cardiologie"),
                person_row(OUTSIDER, "Radiologie")
            ]))
            .await
            .json();
        assert_eq!(report["created"], 3, "{report}");
        let mut body = json!({"name": "Mentorat 2027"});
        for (k, v) in self.settings.as_object().expect("settings are an object") {
            body[k] = v.clone();
        }
        let program = id_of(&coordinator.create_program(&body).await.json());
        if self.charter {
            let reply = coordinator
                .add_charter(
                    &program,
                    "# Charte\nLes rencontres ont lieu sur le lieu de travail.",
                )
                .await;
            assert_eq!(reply.status, 201, "{}", reply.text);
        }
        let people = coordinator.get("/api/v1/people?limit=200").await.json();
        let person = |ext: &str| {
            people["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["external_id"] == ext)
                .map(id_of)
                .unwrap()
        };
        let mut members = Vec::new();
        for (subject, role) in [(MENTOR, "mentor"), (MENTEE, "mentee"), (OUTSIDER, "mentee")] {
            let person = person(subject);
            let enrollment = id_of(&app.enroll(&program, &person, role).await);
            members.push(Member {
                subject: subject.to_owned(),
                person,
                enrollment,
            });
        }
        if self.charter {
            for m in &members {
                let reply = app
                    .member(&m.subject)
                    .accept_charter(&program, &m.enrollment, 1)
                    .await;
                assert_eq!(reply.status, 200, "{}", reply.text);
            }
        }
        let outsider = members.pop().unwrap();
        let mentee = members.pop().unwrap();
        let mentor = members.pop().unwrap();
        let reply = coordinator
            .propose_pair(&program, &mentor.enrollment, &mentee.enrollment)
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let id = id_of(&reply.json());
        for who in [MENTOR, MENTEE] {
            let reply = app.member(who).accept_pair(&id).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
        }
        World {
            pair: Pair {
                program: program.clone(),
                id,
            },
            program,
            mentor,
            mentee,
            outsider,
        }
    }
}

/// Someone calling the API: a token (or none) and the server it calls.
pub struct Caller<'a> {
    app: &'a TestApp,
    token: Option<String>,
}

impl TestApp {
    /// The one way to build a world (see [`WorldBuilder`]).
    pub fn world(&self) -> WorldBuilder<'_> {
        WorldBuilder {
            app: self,
            settings: json!({}),
            charter: false,
        }
    }

    /// A caller with this token.
    pub fn with_token(&self, token: impl Into<String>) -> Caller<'_> {
        Caller {
            app: self,
            token: Some(token.into()),
        }
    }

    /// A caller without a token.
    pub fn anonymous(&self) -> Caller<'_> {
        Caller {
            app: self,
            token: None,
        }
    }

    /// A participant (no role) whose token's subject is `subject`.
    pub fn member(&self, subject: &str) -> Caller<'_> {
        self.with_token(token(subject, &[]))
    }

    pub fn mentor(&self) -> Caller<'_> {
        self.member(MENTOR)
    }

    pub fn mentee(&self) -> Caller<'_> {
        self.member(MENTEE)
    }

    /// OU: enrolled in the world's program, no member of its pair.
    pub fn outsider(&self) -> Caller<'_> {
        self.member(OUTSIDER)
    }

    pub fn coordinator(&self) -> Caller<'_> {
        self.with_token(self.as_coordinator())
    }

    pub fn admin(&self) -> Caller<'_> {
        self.with_token(self.as_admin())
    }

    pub fn hris(&self) -> Caller<'_> {
        self.with_token(self.as_hris())
    }

    pub fn analyst(&self) -> Caller<'_> {
        self.with_token(self.as_analyst())
    }

    /// Every person's id by their external id, as a coordinator lists them (200 at most).
    pub async fn person_ids(&self) -> std::collections::HashMap<String, String> {
        let listed = self.coordinator().people("?limit=200").await.json();
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["external_id"].as_str().unwrap().to_owned(), id_of(p)))
            .collect()
    }

    /// Both members accept a proposed pair (each answered `200`).
    pub async fn both_accept(&self, pair: &str, mentor: &str, mentee: &str) {
        for who in [mentor, mentee] {
            let reply = self.member(who).accept_pair(pair).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
        }
    }

    /// Run one statement written with `$1, $2, …` on the test's own database (what someone
    /// with write access to it, or time, does).
    pub async fn sql(&self, text: &str, values: Vec<sea_orm::Value>) {
        self.time_passes(text, values).await;
    }

    /// The text stored in `table.column` of the row `id`.
    pub async fn column_of(&self, table: &str, column: &str, id: &str) -> String {
        use sea_orm::{ConnectionTrait, DbBackend, Statement};
        let conn = self.db.conn();
        let backend = conn.get_database_backend();
        let param = if backend == DbBackend::Postgres {
            "$1"
        } else {
            "?"
        };
        let row = conn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                format!("SELECT {column} AS value FROM {table} WHERE id = {param}"),
                vec![uuid_value(id)],
            ))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no row {id} in {table}"));
        row.try_get("", "value").unwrap()
    }

    /// Move a meeting so that it started `hours` ago — and, as the service's meeting writers
    /// do in their transaction, recount its pair's meeting facts (migration 000020: the start
    /// times a pair's answer shows are kept on its row).
    pub async fn meeting_started_hours_ago(&self, meeting: &str, hours: i64) {
        use sea_orm::{ConnectionTrait, DbBackend, Statement};
        let start = Utc::now() - Duration::hours(hours);
        let id = uuid::Uuid::parse_str(meeting).unwrap();
        self.time_passes(
            "UPDATE meetings SET starts_at = $1, ends_at = $2 WHERE id = $3",
            vec![
                start.into(),
                (start + Duration::minutes(45)).into(),
                id.into(),
            ],
        )
        .await;
        let conn = self.db.conn();
        let backend = conn.get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => "SELECT pair_id FROM meetings WHERE id = $1",
            _ => "SELECT pair_id FROM meetings WHERE id = ?",
        };
        let row = conn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql,
                vec![id.into()],
            ))
            .await
            .unwrap()
            .expect("the meeting exists");
        let pair: uuid::Uuid = row.try_get("", "pair_id").unwrap();
        mentorat_persistence::tallies::refresh_meeting_facts(
            conn,
            mentorat_persistence::pairs::PairsOf::One(pair),
        )
        .await
        .unwrap();
    }
}

/// A UUID written as text, as a statement's value.
pub fn uuid_value(id: &str) -> sea_orm::Value {
    uuid::Uuid::parse_str(id).unwrap().into()
}

impl Reply {
    /// Assert `200 OK`; its JSON.
    #[track_caller]
    pub fn ok(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.text);
        self.json()
    }

    /// Assert `201 Created`; its JSON.
    #[track_caller]
    pub fn created(&self) -> Value {
        assert_eq!(self.status, 201, "{}", self.text);
        self.json()
    }
}

impl<'a> Caller<'a> {
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// A request of this caller, to finish and [`Caller::send`] (headers, raw bodies).
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.app.client.request(method, self.app.url(path));
        match &self.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        self.app.send(request).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.app.get(path, self.token()).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.app.post_json(path, self.token(), body).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.app.put_json(path, self.token(), body).await
    }

    pub async fn patch(&self, path: &str, if_match: Option<&str>, body: &Value) -> Reply {
        self.app
            .patch_json(path, self.token(), if_match, body)
            .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.app.delete(path, self.token()).await
    }

    // People.

    pub async fn import_people(&self, rows: &Value) -> Reply {
        self.post("/api/v1/people/import", rows).await
    }

    pub async fn upsert_person(&self, external_id: &str, body: &Value) -> Reply {
        self.put(
            &format!("/api/v1/people/by-external-id/{external_id}"),
            body,
        )
        .await
    }

    pub async fn people(&self, query: &str) -> Reply {
        self.get(&format!("/api/v1/people{query}")).await
    }

    // Programs, charters, enrollments.

    pub async fn create_program(&self, body: &Value) -> Reply {
        self.post("/api/v1/programs", body).await
    }

    pub async fn change_program(
        &self,
        program: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> Reply {
        self.patch(&format!("/api/v1/programs/{program}"), if_match, body)
            .await
    }

    pub async fn add_charter(&self, program: &str, text: &str) -> Reply {
        self.post(
            &format!("/api/v1/programs/{program}/charter-versions"),
            &json!({ "text": text }),
        )
        .await
    }

    pub async fn enrollments(&self, program: &str) -> Reply {
        self.get(&format!("/api/v1/programs/{program}/enrollments"))
            .await
    }

    pub async fn enroll(&self, program: &str, body: &Value) -> Reply {
        self.post(&format!("/api/v1/programs/{program}/enrollments"), body)
            .await
    }

    pub async fn accept_charter(&self, program: &str, enrollment: &str, version: i32) -> Reply {
        self.post(
            &format!("/api/v1/programs/{program}/enrollments/{enrollment}/charter-acceptance"),
            &json!({ "version": version }),
        )
        .await
    }

    // Pairs.

    pub async fn propose_pair(&self, program: &str, mentor: &str, mentee: &str) -> Reply {
        self.post(
            &format!("/api/v1/programs/{program}/pairs"),
            &json!({"mentor_enrollment_id": mentor, "mentee_enrollment_id": mentee}),
        )
        .await
    }

    pub async fn read_pair(&self, pair: &(impl PairId + ?Sized)) -> Reply {
        self.get(&format!("/api/v1/pairs/{}", pair.pair_id())).await
    }

    pub async fn accept_pair(&self, pair: &(impl PairId + ?Sized)) -> Reply {
        self.post(
            &format!("/api/v1/pairs/{}/accept", pair.pair_id()),
            &json!({}),
        )
        .await
    }

    pub async fn end_pair(&self, pair: &(impl PairId + ?Sized), reason_category: &str) -> Reply {
        self.post(
            &format!("/api/v1/pairs/{}/end", pair.pair_id()),
            &json!({ "reason_category": reason_category }),
        )
        .await
    }

    // Reports.

    /// A program's report (`query` without its `?`), as JSON.
    pub async fn report(&self, program: &str, query: &str) -> Reply {
        self.get(&format!("/api/v1/programs/{program}/report?{query}"))
            .await
    }

    // Notes.

    pub async fn write_note(
        &self,
        pair: &(impl PairId + ?Sized),
        visibility: &str,
        body: &str,
    ) -> Reply {
        self.post(
            &format!("/api/v1/pairs/{}/notes", pair.pair_id()),
            &json!({"body": body, "visibility": visibility}),
        )
        .await
    }

    pub async fn read_note(&self, pair: &(impl PairId + ?Sized), note: &str) -> Reply {
        self.get(&format!("/api/v1/pairs/{}/notes/{note}", pair.pair_id()))
            .await
    }

    pub async fn notes(&self, pair: &(impl PairId + ?Sized)) -> Reply {
        self.get(&format!("/api/v1/pairs/{}/notes", pair.pair_id()))
            .await
    }

    pub async fn edit_note(
        &self,
        pair: &(impl PairId + ?Sized),
        note: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> Reply {
        self.patch(
            &format!("/api/v1/pairs/{}/notes/{note}", pair.pair_id()),
            if_match,
            body,
        )
        .await
    }

    // Objectives.

    /// Propose an objective with this title (and a description and criteria of its own).
    pub async fn propose_objective(&self, pair: &(impl PairId + ?Sized), title: &str) -> Reply {
        self.post(
            &format!("/api/v1/pairs/{}/objectives", pair.pair_id()),
            &json!({"title": title, "description": "Secret des échanges", "success_criteria": "trois fois"}),
        )
        .await
    }

    pub async fn read_objective(&self, pair: &(impl PairId + ?Sized), objective: &str) -> Reply {
        self.get(&format!(
            "/api/v1/pairs/{}/objectives/{objective}",
            pair.pair_id()
        ))
        .await
    }

    pub async fn objectives(&self, pair: &(impl PairId + ?Sized)) -> Reply {
        self.get(&format!("/api/v1/pairs/{}/objectives", pair.pair_id()))
            .await
    }

    pub async fn agree_objective(&self, pair: &(impl PairId + ?Sized), objective: &str) -> Reply {
        self.post(
            &format!(
                "/api/v1/pairs/{}/objectives/{objective}/agree",
                pair.pair_id()
            ),
            &json!({}),
        )
        .await
    }

    pub async fn change_objective(
        &self,
        pair: &(impl PairId + ?Sized),
        objective: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> Reply {
        self.patch(
            &format!("/api/v1/pairs/{}/objectives/{objective}", pair.pair_id()),
            if_match,
            body,
        )
        .await
    }

    // Meetings.

    pub async fn schedule(&self, pair: &(impl PairId + ?Sized), body: &Value) -> Reply {
        self.post(&format!("/api/v1/pairs/{}/meetings", pair.pair_id()), body)
            .await
    }

    pub async fn read_meeting(&self, pair: &(impl PairId + ?Sized), meeting: &str) -> Reply {
        self.get(&format!(
            "/api/v1/pairs/{}/meetings/{meeting}",
            pair.pair_id()
        ))
        .await
    }

    pub async fn meetings(&self, pair: &(impl PairId + ?Sized)) -> Reply {
        self.get(&format!("/api/v1/pairs/{}/meetings", pair.pair_id()))
            .await
    }

    pub async fn change_meeting(
        &self,
        pair: &(impl PairId + ?Sized),
        meeting: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> Reply {
        self.patch(
            &format!("/api/v1/pairs/{}/meetings/{meeting}", pair.pair_id()),
            if_match,
            body,
        )
        .await
    }

    pub async fn cancel_meeting(
        &self,
        pair: &(impl PairId + ?Sized),
        meeting: &str,
        reason: &str,
    ) -> Reply {
        self.post(
            &format!("/api/v1/pairs/{}/meetings/{meeting}/cancel", pair.pair_id()),
            &json!({ "reason": reason }),
        )
        .await
    }

    pub async fn meeting_held(&self, pair: &(impl PairId + ?Sized), meeting: &str) -> Reply {
        self.post(
            &format!("/api/v1/pairs/{}/meetings/{meeting}/held", pair.pair_id()),
            &json!({}),
        )
        .await
    }

    pub async fn meeting_missed(&self, pair: &(impl PairId + ?Sized), meeting: &str) -> Reply {
        self.post(
            &format!("/api/v1/pairs/{}/meetings/{meeting}/missed", pair.pair_id()),
            &json!({}),
        )
        .await
    }
}
