//! At rest (issue 12, finding 10, and its review): a sealed value is bound to its table,
//! column and row and to the fields of its row that decide who reads it (a note's pair,
//! author, visibility and revision; an objective's pair and revision; …), so someone who
//! can write the database but holds no key cannot move a value elsewhere — a private note's
//! body over a shared note's, a title into a description, a note into another pair — nor
//! flip a private note to shared, nor restore an older ciphertext of the same row, and have
//! it read out. `serve` opens only the current format: a value in an older one (`enc:v1:`,
//! `enc:v2:`) or a plaintext pasted in is refused, until `mentorat migrate` (or
//! `rotate-key`) re-seals it. The SQLite file is owner-only, as its key file is.

use mentorat_tests::{Options, TestApp, spawn_app, spawn_app_with};
use serde_json::json;

use crate::confidentiality::note;
use crate::working_life::{active_pair, as_, propose_objective};

const PRIVATE: &str = "PRIVÉ-DE-ME-5150";

/// Run one statement written with `$1, $2, …` on the test's database.
async fn sql(app: &TestApp, text: &str, values: Vec<sea_orm::Value>) {
    app.time_passes(text, values).await;
}

async fn column_of(app: &TestApp, table: &str, column: &str, id: &str) -> String {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let conn = app.db.conn();
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
            vec![uuid::Uuid::parse_str(id).unwrap().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "value").unwrap()
}

fn uuid(id: &str) -> sea_orm::Value {
    uuid::Uuid::parse_str(id).unwrap().into()
}

#[tokio::test]
async fn a_sealed_value_moved_to_another_row_does_not_open() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let private = note(&app, &pair.id, "ME", "private", PRIVATE).await;
    let shared = note(&app, &pair.id, "ME", "shared", "Partagé").await;
    let (private, shared) = (
        private["id"].as_str().unwrap().to_owned(),
        shared["id"].as_str().unwrap().to_owned(),
    );
    // Someone with write access to the database, and no key, copies the private note's
    // sealed body over the shared note's: the other member would read it.
    let sealed = column_of(&app, "notes", "body", &private).await;
    sql(
        &app,
        "UPDATE notes SET body = $1 WHERE id = $2",
        vec![sealed.into(), uuid(&shared)],
    )
    .await;
    let read = app
        .get(
            &format!("/api/v1/pairs/{}/notes/{shared}", pair.id),
            Some(&as_("MR")),
        )
        .await;
    assert!(
        !read.text.contains(PRIVATE),
        "moved words read out: {}",
        read.text
    );
    read.problem(500, "internal");
    let list = app
        .get(
            &format!("/api/v1/pairs/{}/notes", pair.id),
            Some(&as_("MR")),
        )
        .await;
    assert!(!list.text.contains(PRIVATE), "{}", list.text);
    list.problem(500, "internal");
    // Its own row still opens for its author.
    let own = app
        .get(
            &format!("/api/v1/pairs/{}/notes/{private}", pair.id),
            Some(&as_("ME")),
        )
        .await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json()["body"], PRIVATE);
}

#[tokio::test]
async fn a_sealed_value_moved_to_another_column_does_not_open() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let objective = propose_objective(&app, &pair, "ME", PRIVATE).await.json();
    let id = objective["id"].as_str().unwrap().to_owned();
    let title = column_of(&app, "objectives", "title", &id).await;
    sql(
        &app,
        "UPDATE objectives SET description = $1 WHERE id = $2",
        vec![title.into(), uuid(&id)],
    )
    .await;
    let read = app
        .get(
            &format!("/api/v1/pairs/{}/objectives/{id}", pair.id),
            Some(&as_("MR")),
        )
        .await;
    assert!(!read.text.contains(PRIVATE), "{}", read.text);
    read.problem(500, "internal");
}

/// A value sealed as every value was before the binding (`enc:v1:`, no associated data).
fn sealed_v1(key: &[u8; 32], plaintext: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use chacha20poly1305::{
        XChaCha20Poly1305, XNonce,
        aead::{Aead, KeyInit},
    };
    use sha2::{Digest, Sha256};
    let id: String = Sha256::digest(key)[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let nonce = [7u8; 24];
    let sealed = XChaCha20Poly1305::new(key.into())
        .encrypt(&XNonce::from(nonce), plaintext.as_bytes())
        .unwrap();
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    format!("enc:v1:{id}:{}", URL_SAFE_NO_PAD.encode(out))
}

#[tokio::test]
async fn old_formats_and_plaintext_are_refused_until_migrate_reseals_them() {
    use base64::Engine;
    let key = [1u8; 32];
    let app = spawn_app_with(Options::default().var(
        "MENTORAT_ENCRYPTION_KEY",
        base64::engine::general_purpose::STANDARD.encode(key),
    ))
    .await;
    let pair = active_pair(&app).await;
    let old = note(&app, &pair.id, "ME", "shared", "sera remplacé").await;
    let forged = note(&app, &pair.id, "ME", "shared", "sera falsifié").await;
    let (old, forged) = (
        old["id"].as_str().unwrap().to_owned(),
        forged["id"].as_str().unwrap().to_owned(),
    );
    // A value sealed without associated data (an old backup's, pasted in): it would open
    // anywhere. A plaintext: words the member never wrote.
    sql(
        &app,
        "UPDATE notes SET body = $1 WHERE id = $2",
        vec![sealed_v1(&key, PRIVATE).into(), uuid(&old)],
    )
    .await;
    const FORGED: &str = "Je démissionne, signé ME";
    sql(
        &app,
        "UPDATE notes SET body = $1 WHERE id = $2",
        vec![FORGED.into(), uuid(&forged)],
    )
    .await;
    let path = |id: &str| format!("/api/v1/pairs/{}/notes/{id}", pair.id);
    for (id, words) in [(&old, PRIVATE), (&forged, FORGED)] {
        let read = app.get(&path(id), Some(&as_("MR"))).await;
        assert!(!read.text.contains(words), "{}", read.text);
        read.problem(500, "internal");
    }
    let list = app
        .get(
            &format!("/api/v1/pairs/{}/notes", pair.id),
            Some(&as_("MR")),
        )
        .await;
    assert!(
        !list.text.contains(PRIVATE) && !list.text.contains(FORGED),
        "{}",
        list.text
    );
    list.problem(500, "internal");

    // A replica starting on such a database refuses to serve, and says what to do.
    let refused = app
        .command(
            &["serve"],
            Options::default(),
            std::time::Duration::from_secs(60),
        )
        .expect("serve refuses to start");
    assert_eq!(refused.exit_code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("notes.body") && refused.stderr.contains("mentorat migrate"),
        "{refused:?}"
    );
    assert!(
        !refused.stderr.contains(PRIVATE) && !refused.stderr.contains(FORGED),
        "{refused:?}"
    );

    // `migrate` re-seals what an older version wrote (the operator's step at upgrade).
    let migrated = app
        .command(
            &["migrate"],
            Options::default(),
            std::time::Duration::from_secs(60),
        )
        .expect("migrate ends");
    assert_eq!(migrated.exit_code, 0, "{migrated:?}");
    let stored = column_of(&app, "notes", "body", &old).await;
    assert!(stored.starts_with("enc:v3:"), "{stored}");
    let read = app.get(&path(&old), Some(&as_("MR"))).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json()["body"], PRIVATE);
}

#[tokio::test]
async fn a_private_note_flipped_to_shared_in_the_database_does_not_open() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let private = note(&app, &pair.id, "ME", "private", PRIVATE).await;
    let id = private["id"].as_str().unwrap().to_owned();
    sql(
        &app,
        "UPDATE notes SET visibility = 'shared' WHERE id = $1",
        vec![uuid(&id)],
    )
    .await;
    let read = app
        .get(
            &format!("/api/v1/pairs/{}/notes/{id}", pair.id),
            Some(&as_("MR")),
        )
        .await;
    assert!(
        !read.text.contains(PRIVATE),
        "flipped words read out: {}",
        read.text
    );
    read.problem(500, "internal");
    let list = app
        .get(
            &format!("/api/v1/pairs/{}/notes", pair.id),
            Some(&as_("MR")),
        )
        .await;
    assert!(!list.text.contains(PRIVATE), "{}", list.text);
    list.problem(500, "internal");
}

/// A second active pair: M2 (mentor) and OU (mentee) in another program.
async fn second_pair(app: &TestApp) -> String {
    let program = app.create_program("Mentorat bis").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let people = app
        .get("/api/v1/people?limit=200", Some(&app.as_coordinator()))
        .await
        .json();
    let ou = people["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["external_id"] == "OU")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let m2 = app.upsert_person("M2", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mentor = app.enroll(&program, &m2, "mentor").await;
    let mentee = app.enroll(&program, &ou, "mentee").await;
    let reply = app
        .post_json(
            &format!("/api/v1/programs/{program}/pairs"),
            Some(&app.as_coordinator()),
            &json!({"mentor_enrollment_id": mentor["id"], "mentee_enrollment_id": mentee["id"]}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    for who in ["M2", "OU"] {
        let reply = app
            .post_json(
                &format!("/api/v1/pairs/{id}/accept"),
                Some(&as_(who)),
                &json!({}),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    id
}

#[tokio::test]
async fn a_note_or_an_objective_moved_to_another_pair_does_not_open_there() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let other = second_pair(&app).await;
    let shared = note(&app, &pair.id, "ME", "shared", PRIVATE).await;
    let note_id = shared["id"].as_str().unwrap().to_owned();
    let objective = propose_objective(&app, &pair, "ME", PRIVATE).await.json();
    let objective_id = objective["id"].as_str().unwrap().to_owned();
    for table in ["notes", "objectives"] {
        sql(
            &app,
            &format!("UPDATE {table} SET pair_id = $1 WHERE pair_id = $2"),
            vec![uuid(&other), uuid(&pair.id)],
        )
        .await;
    }
    // The other pair's members would read them.
    for path in [
        format!("/api/v1/pairs/{other}/notes/{note_id}"),
        format!("/api/v1/pairs/{other}/notes"),
        format!("/api/v1/pairs/{other}/objectives/{objective_id}"),
        format!("/api/v1/pairs/{other}/objectives"),
    ] {
        let read = app.get(&path, Some(&as_("OU"))).await;
        assert!(!read.text.contains(PRIVATE), "{path}: {}", read.text);
        read.problem(500, "internal");
    }
}

#[tokio::test]
async fn an_older_ciphertext_of_the_same_row_does_not_open() {
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let written = note(&app, &pair.id, "ME", "shared", PRIVATE).await;
    let id = written["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/pairs/{}/notes/{id}", pair.id);
    // The first revision's ciphertext, as a backup holds it; then the author takes the
    // words back.
    let first = column_of(&app, "notes", "body", &id).await;
    let etag = app
        .get(&path, Some(&as_("ME")))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let edited = app
        .patch_json(
            &path,
            Some(&as_("ME")),
            Some(&etag),
            &json!({"body": "Rien à signaler"}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    sql(
        &app,
        "UPDATE notes SET body = $1 WHERE id = $2",
        vec![first.into(), uuid(&id)],
    )
    .await;
    let read = app.get(&path, Some(&as_("MR"))).await;
    assert!(
        !read.text.contains(PRIVATE),
        "restored words read out: {}",
        read.text
    );
    read.problem(500, "internal");

    // The same for an objective, whose words are re-sealed by every write, an agreement too
    // (an older title would be restored over the current one).
    let objective = propose_objective(&app, &pair, "ME", PRIVATE).await.json();
    let objective_id = objective["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/pairs/{}/objectives/{objective_id}", pair.id);
    let first = column_of(&app, "objectives", "title", &objective_id).await;
    let agreed = app
        .post_json(&format!("{path}/agree"), Some(&as_("MR")), &json!({}))
        .await;
    assert_eq!(agreed.status, 200, "{}", agreed.text);
    let read = app.get(&path, Some(&as_("MR"))).await;
    assert_eq!(
        read.status, 200,
        "re-sealed for its new revision: {}",
        read.text
    );
    assert_eq!(read.json()["title"], PRIVATE);
    sql(
        &app,
        "UPDATE objectives SET title = $1 WHERE id = $2",
        vec![first.into(), uuid(&objective_id)],
    )
    .await;
    let read = app.get(&path, Some(&as_("MR"))).await;
    assert!(!read.text.contains(PRIVATE), "{}", read.text);
    read.problem(500, "internal");
}

/// A meeting's words (issue 12, finding 10, second review): an older sealed agenda of the
/// same meeting, put back after the agenda was changed, does not open — every write of a
/// meeting's words (a new plan, a cancellation's reason, a summary) re-seals all of them
/// bound to its words' revision. The meetings a pair's end cancels in one statement keep
/// theirs readable.
#[tokio::test]
async fn an_older_agenda_of_the_same_meeting_does_not_open() {
    use crate::working_life::{schedule, video_at};
    let app = spawn_app().await;
    let pair = active_pair(&app).await;
    let mut body = video_at(48);
    body["agenda"] = json!(PRIVATE);
    let scheduled = schedule(&app, &pair, "ME", body).await;
    assert_eq!(scheduled.status, 201, "{}", scheduled.text);
    let etag = scheduled.header("etag").unwrap().to_owned();
    let id = scheduled.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/pairs/{}/meetings/{id}", pair.id);
    let first = column_of(&app, "meetings", "agenda", &id).await;
    let edited = app
        .patch_json(
            &path,
            Some(&as_("ME")),
            Some(&etag),
            &json!({"agenda": "Rien à signaler"}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    // A cancellation writes a reason: the agenda is re-sealed with it and still reads.
    let cancelled = app
        .post_json(
            &format!("{path}/cancel"),
            Some(&as_("MR")),
            &json!({"reason": "Garde de nuit"}),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    let read = app.get(&path, Some(&as_("MR"))).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json()["agenda"], "Rien à signaler");
    assert_eq!(read.json()["cancel_reason"], "Garde de nuit");
    // The first agenda, as a backup holds it, put back over the current one.
    let current = column_of(&app, "meetings", "agenda", &id).await;
    sql(
        &app,
        "UPDATE meetings SET agenda = $1 WHERE id = $2",
        vec![first.into(), uuid(&id)],
    )
    .await;
    let read = app.get(&path, Some(&as_("MR"))).await;
    assert!(
        !read.text.contains(PRIVATE),
        "an older agenda read out: {}",
        read.text
    );
    read.problem(500, "internal");
    let list = app
        .get(
            &format!("/api/v1/pairs/{}/meetings", pair.id),
            Some(&as_("ME")),
        )
        .await;
    assert!(!list.text.contains(PRIVATE), "{}", list.text);
    list.problem(500, "internal");

    // A meeting ahead, cancelled with the pair's end in one statement: still readable.
    sql(
        &app,
        "UPDATE meetings SET agenda = $1 WHERE id = $2",
        vec![current.into(), uuid(&id)],
    )
    .await;
    let other = &pair;
    let ahead = schedule(&app, other, "MR", video_at(72)).await;
    assert_eq!(ahead.status, 201, "{}", ahead.text);
    let ahead = format!(
        "/api/v1/pairs/{}/meetings/{}",
        other.id,
        ahead.json()["id"].as_str().unwrap()
    );
    let ended = app
        .post_json(
            &format!("/api/v1/pairs/{}/end", other.id),
            Some(&as_("ME")),
            &json!({"reason_category": "other"}),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    let read = app.get(&ahead, Some(&as_("MR"))).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json()["status"], "cancelled");
    assert_eq!(read.json()["agenda"], "Ordre du jour confidentiel");
}

/// A meeting sealed as the version before migration 000025 sealed it (bound to its row,
/// column and pair, no words' revision): refused by `serve`, which will not start on it
/// either, until `mentorat migrate` re-seals it.
#[tokio::test]
async fn a_meeting_sealed_without_its_words_revision_waits_for_migrate() {
    use crate::working_life::{schedule, video_at};
    use base64::Engine;
    let key = [3u8; 32];
    let app = spawn_app_with(Options::default().var(
        "MENTORAT_ENCRYPTION_KEY",
        base64::engine::general_purpose::STANDARD.encode(key),
    ))
    .await;
    let pair = active_pair(&app).await;
    let scheduled = schedule(&app, &pair, "ME", video_at(48)).await;
    assert_eq!(scheduled.status, 201, "{}", scheduled.text);
    let id = scheduled.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/pairs/{}/meetings/{id}", pair.id);
    let legacy = mentorat_persistence::Keyring::single(&key)
        .seal(
            PRIVATE,
            &mentorat_persistence::Aad::row(
                "meetings",
                "agenda",
                uuid::Uuid::parse_str(&id).unwrap(),
            )
            .and("pair_id", &pair.id),
        )
        .unwrap();
    sql(
        &app,
        "UPDATE meetings SET agenda = $1, words_revision = NULL WHERE id = $2",
        vec![legacy.into(), uuid(&id)],
    )
    .await;
    let read = app.get(&path, Some(&as_("MR"))).await;
    assert!(!read.text.contains(PRIVATE), "{}", read.text);
    read.problem(500, "internal");
    let refused = app
        .command(
            &["serve"],
            Options::default(),
            std::time::Duration::from_secs(60),
        )
        .expect("serve refuses to start");
    assert_eq!(refused.exit_code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("meetings") && refused.stderr.contains("mentorat migrate"),
        "{refused:?}"
    );
    let migrated = app
        .command(
            &["migrate"],
            Options::default(),
            std::time::Duration::from_secs(60),
        )
        .expect("migrate ends");
    assert_eq!(migrated.exit_code, 0, "{migrated:?}");
    let read = app.get(&path, Some(&as_("MR"))).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json()["agenda"], PRIVATE);
}

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    let Some(file) = app.sqlite_file() else {
        return; // PostgreSQL: no file.
    };
    active_pair(&app).await;
    let mut files = vec![file.clone()];
    for suffix in ["-wal", "-shm"] {
        let mut name = file.clone().into_os_string();
        name.push(suffix);
        let path = std::path::PathBuf::from(name);
        if path.exists() {
            files.push(path);
        }
    }
    for path in files {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}: {mode:o}", path.display());
    }
    let mut key = file.into_os_string();
    key.push(".key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key file");
}
