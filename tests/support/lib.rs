//! The black-box test harness: `spawn_app()` starts the real server on a random port with
//! its own fresh database — an SQLite file in a temporary directory, or, when
//! `MENTORAT_TEST_DATABASE_URL` is set, a PostgreSQL database created for this test alone —
//! and returns a client that speaks HTTP to it.

// A test harness: a failure to set up is a failed test, so panicking is the right answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::HashMap, path::PathBuf};

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use mentorat::{Application, Config};
use mentorat_persistence::Db;
use serde_json::{Value, json};
use uuid::Uuid;

mod harness;
pub use harness::*;

pub const TEST_SECRET: &str = "a-test-secret-that-is-long-enough-for-hs256";
pub const ISSUER: &str = "mentorat";
pub const AUDIENCE: &str = "mentorat-api";
/// The content key of PostgreSQL test runs (SQLite runs use the key file beside the database).
pub const TEST_ENCRYPTION_KEY: &str = "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0=";

/// The networks the test servers' webhooks may reach: the receivers' loopback.
pub const LOOPBACK_NETWORKS: &str = "127.0.0.0/8,::1/128";

/// Which database the suite runs against.
pub fn postgres_url() -> Option<String> {
    std::env::var("MENTORAT_TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

/// A running server and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub database_url: String,
    /// The configuration the server was started with (the commands of [`TestApp::command`]
    /// start from it).
    vars: HashMap<String, String>,
    handle: actix_web::dev::ServerHandle,
    stopper: mentorat::startup::Stopper,
    served: std::sync::Mutex<
        Option<tokio::task::JoinHandle<std::io::Result<mentorat::startup::Stopped>>>,
    >,
    _dir: tempfile::TempDir,
}

/// Options a test may change before the server starts; the rest is the default configuration.
#[derive(Default)]
pub struct Options {
    pub vars: HashMap<String, String>,
    /// On SQLite whatever `MENTORAT_TEST_DATABASE_URL` says ([`Options::sqlite`]).
    sqlite: bool,
}

impl Options {
    /// A rule about SQLite alone (its file, its one writer) runs on SQLite in every run of
    /// the suite, the PostgreSQL one too, rather than returning early there and counting as
    /// passed: the server gets a fresh SQLite file and the key file beside it.
    pub fn sqlite(mut self) -> Self {
        self.sqlite = true;
        self
    }

    pub fn var(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.insert(name.to_owned(), value.into());
        self
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    // A test may point the server at a database of its own choosing (a first server's, or
    // one reached through a `DbProxy`); otherwise it gets a fresh one.
    let database_url = match (options.vars.get("MENTORAT_DATABASE_URL"), postgres_url()) {
        (Some(url), _) if !url.is_empty() => url.clone(),
        (_, Some(base)) if !options.sqlite => fresh_postgres_database(&base).await,
        _ => format!("sqlite://{}", dir.path().join("mentorat.db").display()),
    };
    let mut vars: HashMap<String, String> = [
        ("MENTORAT_DATABASE_URL", database_url.clone()),
        ("MENTORAT_BIND", "127.0.0.1:0".to_owned()),
        ("MENTORAT_JWT_SECRET", TEST_SECRET.to_owned()),
        // The tests' webhook receivers listen on loopback, which webhooks may not reach
        // unless the operator allows it (a test that wants the default sets this to "").
        (
            "MENTORAT_WEBHOOK_ALLOWED_NETWORKS",
            LOOPBACK_NETWORKS.to_owned(),
        ),
        // The suite sends bursts from one address; the tests of limiting turn it on.
        ("MENTORAT_RATE_LIMIT", "0".to_owned()),
        // Meeting reminders would add a `meeting.upcoming` to the notifications and outbox
        // other tests count, a minute after their start; the tests of reminders run it often.
        ("MENTORAT_REMINDER_EVERY_SECONDS", "3600".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if postgres_url().is_some() && !options.sqlite {
        vars.insert(
            "MENTORAT_ENCRYPTION_KEY".to_owned(),
            TEST_ENCRYPTION_KEY.to_owned(),
        );
    }
    vars.extend(options.vars);
    vars.retain(|_, v| !v.is_empty());
    // A test may point a second server at the database of a first one.
    let database_url = vars
        .get("MENTORAT_DATABASE_URL")
        .cloned()
        .unwrap_or(database_url);
    let config = Config::from_lookup(|name| vars.get(name).cloned()).expect("test configuration");
    let app = Application::build(&config, Some(2))
        .await
        .expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.db();
    let handle = app.handle();
    let stopper = app.stopper();
    let served = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client"),
        db,
        database_url,
        vars,
        handle,
        stopper,
        served: std::sync::Mutex::new(Some(served)),
        _dir: dir,
    }
}

/// The name of the PostgreSQL database a URL names (`None` for SQLite).
pub fn postgres_database_name(url: &str) -> Option<String> {
    if !url.starts_with("postgres") {
        return None;
    }
    let without_query = url.split('?').next().unwrap_or(url);
    without_query
        .rsplit_once('/')
        .map(|(_, name)| name.to_owned())
}

/// On PostgreSQL, a server whose every connection passes through a `DbProxy` the test can
/// cut, as a network would; `None` on SQLite (a file has no network to lose).
pub async fn spawn_app_behind_proxy() -> Option<(TestApp, DbProxy)> {
    let base = postgres_url()?;
    let url = fresh_postgres_database(&base).await;
    let (scheme_and_user, rest) = url.split_once('@').expect("a postgres URL with a user@");
    let (server, path) = rest
        .split_once('/')
        .expect("a postgres URL with a database");
    let proxy = DbProxy::start(server).await;
    let proxied = format!("{scheme_and_user}@127.0.0.1:{}/{path}", proxy.port);
    let app = spawn_app_with(Options::default().var("MENTORAT_DATABASE_URL", proxied)).await;
    Some((app, proxy))
}

/// A TCP relay between the server and PostgreSQL. `cut()` stops every byte both ways on the
/// open connections and leaves new ones unanswered — a network gone silent, no reset, the
/// hardest outage to notice; `restore()` lets the bytes flow again.
pub struct DbProxy {
    port: u16,
    flowing: tokio::sync::watch::Sender<bool>,
}

impl DbProxy {
    async fn start(upstream: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let (flowing, _) = tokio::sync::watch::channel(true);
        let gate = flowing.clone();
        let upstream = upstream.to_owned();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let gate = gate.subscribe();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::spawn(relay(client_read, server_write, gate.clone()));
                    relay(server_read, client_write, gate).await;
                });
            }
        });
        Self { port, flowing }
    }

    pub fn cut(&self) {
        self.flowing.send_replace(false);
    }

    pub fn restore(&self) {
        self.flowing.send_replace(true);
    }
}

/// Copy bytes from `from` to `to`, holding each read until the gate is open.
async fn relay(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut gate: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if gate.wait_for(|open| *open).await.is_err() {
            return;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if gate.wait_for(|open| *open).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Create `mentorat_test_<uuid>` on the server of `base` and return its URL.
async fn fresh_postgres_database(base: &str) -> String {
    use sea_orm::{ConnectionTrait, Database};
    let name = format!("mentorat_test_{}", Uuid::now_v7().simple());
    let admin = Database::connect(base)
        .await
        .expect("MENTORAT_TEST_DATABASE_URL reachable");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create the test database");
    admin.close().await.ok();
    let (without_query, query) = match base.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (base, String::new()),
    };
    let (server, _) = without_query
        .rsplit_once('/')
        .filter(|(s, _)| s.contains("://") && !s.ends_with('/'))
        .unwrap_or((without_query, ""));
    format!("{server}/{name}{query}")
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting; the runtime ends with the test anyway.
        drop(self.handle.stop(false));
    }
}

/// Claims of a well-formed token for `subject` with `roles`.
pub fn claims(subject: &str, roles: &[&str]) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "sub": subject,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "roles": roles,
    })
}

/// An HS256 token signed with the test secret.
pub fn hs256(claims: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .expect("sign")
}

pub fn token(subject: &str, roles: &[&str]) -> String {
    hs256(&claims(subject, roles))
}

/// A test fixture file.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Sign with one of the fixture private keys.
pub fn sign_with_fixture(alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
    let key = fixture_encoding_key(alg);
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, &key).expect("sign")
}

pub fn fixture_encoding_key(alg: Algorithm) -> EncodingKey {
    let read = |name: &str| std::fs::read(fixture(name)).expect("fixture key");
    match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&read("rsa-private.pem")),
        Algorithm::ES256 => EncodingKey::from_ec_pem(&read("ec-private.pem")),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&read("ed-private.pem")),
        other => panic!("no fixture key for {other:?}"),
    }
    .expect("fixture key parses")
}

/// A JWKS document of the fixture public keys, with kids `rsa-1`, `ec-1`, `ed-1`.
pub fn fixture_jwks() -> String {
    let keys: Vec<Value> = [
        (Algorithm::RS256, "rsa-1"),
        (Algorithm::ES256, "ec-1"),
        (Algorithm::EdDSA, "ed-1"),
    ]
    .into_iter()
    .map(|(alg, kid)| {
        let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&fixture_encoding_key(alg), alg)
            .expect("jwk from key");
        jwk.common.key_id = Some(kid.to_owned());
        serde_json::to_value(jwk).expect("jwk json")
    })
    .collect();
    json!({ "keys": keys }).to_string()
}

/// A response, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Assert a problem document with this status and code; returns it.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "content type of {}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(body["status"], status, "{body}");
        assert!(
            body["title"].is_string() && body["detail"].is_string(),
            "{body}"
        );
        assert_eq!(
            body["request_id"].as_str(),
            self.header("x-request-id"),
            "the problem names its request"
        );
        body
    }

    /// Like [`Reply::problem`], for an answer replayed from the idempotency store (its
    /// `request_id` is that of the first request).
    #[track_caller]
    pub fn problem_replayed(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert_eq!(self.header("idempotency-replayed"), Some("true"));
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        body
    }
}

/// What a command of the binary did.
#[derive(Debug)]
pub struct Outcome {
    pub exit_code: u8,
    pub stderr: String,
}

impl TestApp {
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.handle.clone()
    }

    /// Stop serving (gracefully); the database and its directory stay until the app drops.
    /// Stop as SIGTERM does: in-flight requests get the grace period.
    pub async fn stop(&self) {
        self.stopper.stop().await;
    }

    /// How the server's run ended (after [`TestApp::stop`]).
    pub async fn stopped(&self) -> mentorat::startup::Stopped {
        let served = self.served.lock().unwrap().take().expect("stopped once");
        served
            .await
            .expect("the server task ends")
            .expect("the server ran")
    }

    /// The SQLite file of this server's database, if it is one.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        Config::from_lookup(|name| self.vars.get(name).cloned())
            .expect("test configuration")
            .sqlite_file()
    }

    /// Run `mentorat <args>` — the binary's very `main` — on this server's database, with its
    /// configuration changed by `options` (an empty value removes a variable). A `serve` that
    /// starts runs until the test ends: after `timeout` the command counts as still running
    /// (`None`).
    pub fn command(
        &self,
        args: &[&str],
        options: Options,
        timeout: std::time::Duration,
    ) -> Option<Outcome> {
        // The command sets up its logs; under `cargo test` the capture must come first.
        captured_logs();
        let mut vars = self.vars.clone();
        vars.extend(options.vars);
        vars.retain(|_, v| !v.is_empty());
        let args: Vec<String> = std::iter::once("mentorat")
            .chain(args.iter().copied())
            .map(str::to_owned)
            .collect();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut stderr = Vec::new();
            let exit_code = mentorat::cli::main(args, |name| vars.get(name).cloned(), &mut stderr);
            let _ = tx.send(Outcome {
                exit_code,
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
            });
        });
        rx.recv_timeout(timeout).ok()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Send a request and read the answer whole. A problem document is held to the OpenAPI
    /// document: its status is one the operation documents, and its `code` one of those that
    /// status lists for the operation ([`documented_problem`]); every test that meets a
    /// refusal checks the contract that way.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let (client, request) = request.build_split();
        let request = request.expect("request built");
        let method = request.method().as_str().to_ascii_lowercase();
        let path = request.url().path().to_owned();
        let response = client.execute(request).await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body read");
        let reply = Reply {
            status,
            headers,
            text,
        };
        if reply.header("content-type") == Some("application/problem+json")
            && let Err(why) = documented_problem(&method, &path, &reply)
        {
            panic!("{method} {path} answered what the OpenAPI document does not say: {why}");
        }
        reply
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = self.client.get(self.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        self.send(request).await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        self.send(request).await
    }

    pub fn as_coordinator(&self) -> String {
        token("C001", &["coordinator"])
    }

    pub fn as_admin(&self) -> String {
        token("A001", &["admin"])
    }

    pub fn as_hris(&self) -> String {
        token("H001", &["hris"])
    }

    pub fn as_analyst(&self) -> String {
        token("N001", &["analyst"])
    }

    pub fn as_participant(&self) -> String {
        token("P001", &[])
    }

    pub async fn put_json(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        let mut request = self.client.put(self.url(path)).json(body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        self.send(request).await
    }

    /// Upsert a person as the HRIS connector; returns their JSON.
    pub async fn upsert_person(&self, external_id: &str, manager: Option<&str>) -> Value {
        let reply = self
            .put_json(
                &format!("/api/v1/people/by-external-id/{external_id}"),
                Some(&self.as_hris()),
                &json!({
                    "given_name": format!("Given {external_id}"),
                    "family_name": format!("Family {external_id}"),
                    "email": format!("{}@chu.example", external_id.to_lowercase()),
                    "department": "Cardiologie",
                    "site": "Nord",
                    "manager_external_id": manager,
                }),
            )
            .await;
        assert!(reply.status == 201 || reply.status == 200, "{}", reply.text);
        reply.json()
    }

    /// Enroll a person as a coordinator; returns the enrollment JSON.
    pub async fn enroll(&self, program_id: &str, person_id: &str, role: &str) -> Value {
        let reply = self
            .post_json(
                &format!("/api/v1/programs/{program_id}/enrollments"),
                Some(&self.as_coordinator()),
                &json!({"person_id": person_id, "role": role, "topics": ["soins"], "languages": ["fr"]}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()
    }

    /// Create a program as a coordinator; returns its JSON.
    pub async fn create_program(&self, name: &str) -> Value {
        let reply = self
            .post_json(
                "/api/v1/programs",
                Some(&self.as_coordinator()),
                &json!({ "name": name }),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()
    }

    pub async fn patch_json(
        &self,
        path: &str,
        token: Option<&str>,
        if_match: Option<&str>,
        body: &Value,
    ) -> Reply {
        let mut request = self.client.patch(self.url(path)).json(body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(tag) = if_match {
            request = request.header("if-match", tag);
        }
        self.send(request).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = self.client.delete(self.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        self.send(request).await
    }

    /// Make time pass: run one SQL statement written with `$1, $2, …` on the test's own
    /// database (rules such as "only a meeting that has started can be held" or R8's cadence
    /// are about time, which a test cannot wait for).
    pub async fn time_passes(&self, sql: &str, values: Vec<sea_orm::Value>) {
        use sea_orm::{ConnectionTrait, DbBackend, Statement};
        let backend = self.db.conn().get_database_backend();
        let mut text = sql.to_owned();
        if backend != DbBackend::Postgres {
            for n in (1..=values.len()).rev() {
                text = text.replace(&format!("${n}"), "?");
            }
        }
        self.db
            .conn()
            .execute_raw(Statement::from_sql_and_values(backend, text, values))
            .await
            .expect("time passes");
    }
}

/// Everything the server logs, as JSON at `trace` level, from the first call on. One global
/// subscriber per process: under `cargo test` every test shares it, so a test looks only at
/// the lines of its own requests (or at the whole text when it asserts an absence).
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

pub fn captured_logs() -> CapturedLogs {
    static LOGS: std::sync::OnceLock<CapturedLogs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = CapturedLogs::default();
        let config = Config::from_lookup(|name| match name {
            "MENTORAT_LOG" => Some("trace".into()),
            "MENTORAT_LOG_FORMAT" => Some("json".into()),
            _ => None,
        })
        .unwrap();
        let writer = logs.clone();
        mentorat::telemetry::init_with_writer(&config, move || writer.clone());
        logs
    })
    .clone()
}

/// The OpenAPI document the server serves, made once per test process.
fn openapi_document() -> &'static Value {
    static DOC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(mentorat_api::openapi()).expect("the document"))
}

/// Whether a concrete path matches a path template of the document (`{id}`, `{token}.ics`).
fn path_matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| match t.find('{') {
            None => t == p,
            Some(open) => {
                let close = t.find('}').map_or(t.len(), |c| c + 1);
                let (prefix, suffix) = (&t[..open], &t[close..]);
                p.len() > prefix.len() + suffix.len()
                    && p.starts_with(prefix)
                    && p.ends_with(suffix)
            }
        })
}

/// Check a problem answer against the operation the document describes for `method` and
/// `path`: `Ok` when the document has no such operation (an unknown path, a method the path
/// does not serve), or when the status is documented and, where the response lists its
/// codes, the code is one of them.
pub fn documented_problem(method: &str, path: &str, reply: &Reply) -> Result<(), String> {
    let doc = openapi_document();
    let paths = doc["paths"].as_object().expect("paths");
    let matching: Vec<&String> = paths.keys().filter(|t| path_matches(t, path)).collect();
    // A literal path wins over a template (actix routes `/people/import` so).
    let chosen = matching
        .iter()
        .find(|t| !t.contains('{'))
        .or_else(|| matching.first());
    let Some(template) = chosen else {
        return Ok(());
    };
    let Some(op) = paths[template.as_str()].get(method) else {
        return Ok(());
    };
    let status = reply.status.to_string();
    let body: Value = serde_json::from_str(&reply.text).map_err(|e| format!("not JSON: {e}"))?;
    let code = body["code"].as_str().unwrap_or_default();
    // What the connection answers below routing, for any request (`connection.rs`: a head that
    // did not arrive in time, or too large), is no operation's answer (README "Conventions").
    if matches!(
        (reply.status, code),
        (408, "request_timeout") | (431, "request_header_fields_too_large")
    ) {
        return Ok(());
    }
    let Some(response) = op["responses"].get(&status) else {
        return Err(format!(
            "{status} `{code}` is not a documented status of {method} {template}"
        ));
    };
    let codes = &response["content"]["application/problem+json"]["schema"]["allOf"][1]["properties"]
        ["code"]["enum"];
    if let Some(codes) = codes.as_array()
        && !codes.iter().any(|c| c == code)
    {
        return Err(format!(
            "`{code}` is not among the codes {method} {template} documents for {status}: {codes:?}"
        ));
    }
    Ok(())
}
