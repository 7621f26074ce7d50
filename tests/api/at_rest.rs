//! At rest (issue 12, finding 10, and its review): a sealed value is bound to its table,
//! column and row and to the fields of its row that decide who reads it (a note's pair,
//! author, visibility and revision; an objective's pair and revision; …), so someone who
//! can write the database but holds no key cannot move a value elsewhere — a private note's
//! body over a shared note's, a title into a description, a note into another pair — nor
//! flip a private note to shared, nor restore an older ciphertext of the same row, and have
//! it read out. `serve` opens only the current format: a value in an older one (`enc:v1:`,
//! `enc:v2:`) or a plaintext pasted in is refused, until `mentorat migrate` (or
//! `rotate-key`) re-seals it. The SQLite file is owner-only, as its key file is.

use mentorat_tests::{
    Options, TestApp, World, id_of, spawn_app, spawn_app_with, uuid_value, video_at,
};
use serde_json::json;

const PRIVATE: &str = "PRIVÉ-DE-ME-5150";

/// A note of ME's with these words; its id.
async fn note_of_me(app: &TestApp, world: &World, visibility: &str, body: &str) -> String {
    id_of(
        &app.mentee()
            .write_note(world, visibility, body)
            .await
            .created(),
    )
}

/// A server whose content key is `key`, so that a test can seal as an older version did.
async fn app_keyed(key: [u8; 32]) -> TestApp {
    use base64::Engine;
    spawn_app_with(Options::default().var(
        "MENTORAT_ENCRYPTION_KEY",
        base64::engine::general_purpose::STANDARD.encode(key),
    ))
    .await
}

#[tokio::test]
async fn a_sealed_value_moved_to_another_row_does_not_open() {
    let app = spawn_app().await;
    let world = app.world().build().await;
    let private = note_of_me(&app, &world, "private", PRIVATE).await;
    let shared = note_of_me(&app, &world, "shared", "Partagé").await;
    // Someone with write access to the database, and no key, copies the private note's
    // sealed body over the shared note's: the other member would read it.
    let sealed = app.column_of("notes", "body", &private).await;
    app.sql(
        "UPDATE notes SET body = $1 WHERE id = $2",
        vec![sealed.into(), uuid_value(&shared)],
    )
    .await;
    let read = app.mentor().read_note(&world, &shared).await;
    assert!(
        !read.text.contains(PRIVATE),
        "moved words read out: {}",
        read.text
    );
    read.problem(500, "internal");
    let list = app.mentor().notes(&world).await;
    assert!(!list.text.contains(PRIVATE), "{}", list.text);
    list.problem(500, "internal");
    // Its own row still opens for its author.
    let own = app.mentee().read_note(&world, &private).await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json()["body"], PRIVATE);
}

#[tokio::test]
async fn a_sealed_value_moved_to_another_column_does_not_open() {
    let app = spawn_app().await;
    let world = app.world().build().await;
    let id = id_of(&app.mentee().propose_objective(&world, PRIVATE).await.json());
    let title = app.column_of("objectives", "title", &id).await;
    app.sql(
        "UPDATE objectives SET description = $1 WHERE id = $2",
        vec![title.into(), uuid_value(&id)],
    )
    .await;
    let read = app.mentor().read_objective(&world, &id).await;
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

const FORGED: &str = "Je démissionne, signé ME";

/// Two shared notes of ME's, made over behind the service's back: one into a value sealed
/// without associated data (an old backup's, pasted in: it would open anywhere), one into a
/// plaintext (words the member never wrote). The world, and the two notes' ids.
async fn old_formats_planted(app: &TestApp, key: &[u8; 32]) -> (World, String, String) {
    let world = app.world().build().await;
    let old = note_of_me(app, &world, "shared", "sera remplacé").await;
    let forged = note_of_me(app, &world, "shared", "sera falsifié").await;
    app.sql(
        "UPDATE notes SET body = $1 WHERE id = $2",
        vec![sealed_v1(key, PRIVATE).into(), uuid_value(&old)],
    )
    .await;
    app.sql(
        "UPDATE notes SET body = $1 WHERE id = $2",
        vec![FORGED.into(), uuid_value(&forged)],
    )
    .await;
    (world, old, forged)
}

#[tokio::test]
async fn old_formats_and_plaintext_do_not_open() {
    let key = [1u8; 32];
    let app = app_keyed(key).await;
    let (world, old, forged) = old_formats_planted(&app, &key).await;
    for (id, words) in [(&old, PRIVATE), (&forged, FORGED)] {
        let read = app.mentor().read_note(&world, id).await;
        assert!(!read.text.contains(words), "{}", read.text);
        read.problem(500, "internal");
    }
    let list = app.mentor().notes(&world).await;
    assert!(
        !list.text.contains(PRIVATE) && !list.text.contains(FORGED),
        "{}",
        list.text
    );
    list.problem(500, "internal");
}

/// A replica starting on such a database refuses to serve, and says what to do.
#[tokio::test]
async fn serve_refuses_to_start_on_old_formats_and_says_migrate() {
    let key = [1u8; 32];
    let app = app_keyed(key).await;
    old_formats_planted(&app, &key).await;
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
}

/// `migrate` re-seals what an older version wrote (the operator's step at upgrade).
#[tokio::test]
async fn migrate_reseals_old_formats_in_the_current_one() {
    let key = [1u8; 32];
    let app = app_keyed(key).await;
    let (world, old, _) = old_formats_planted(&app, &key).await;
    let migrated = app
        .command(
            &["migrate"],
            Options::default(),
            std::time::Duration::from_secs(60),
        )
        .expect("migrate ends");
    assert_eq!(migrated.exit_code, 0, "{migrated:?}");
    let stored = app.column_of("notes", "body", &old).await;
    assert!(stored.starts_with("enc:v3:"), "{stored}");
    let read = app.mentor().read_note(&world, &old).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json()["body"], PRIVATE);
}

#[tokio::test]
async fn a_private_note_flipped_to_shared_in_the_database_does_not_open() {
    let app = spawn_app().await;
    let world = app.world().build().await;
    let id = note_of_me(&app, &world, "private", PRIVATE).await;
    app.sql(
        "UPDATE notes SET visibility = 'shared' WHERE id = $1",
        vec![uuid_value(&id)],
    )
    .await;
    let read = app.mentor().read_note(&world, &id).await;
    assert!(
        !read.text.contains(PRIVATE),
        "flipped words read out: {}",
        read.text
    );
    read.problem(500, "internal");
    let list = app.mentor().notes(&world).await;
    assert!(!list.text.contains(PRIVATE), "{}", list.text);
    list.problem(500, "internal");
}

/// A second active pair: M2 (mentor) and OU (mentee) in another program.
async fn second_pair(app: &TestApp, world: &World) -> String {
    let program = id_of(&app.create_program("Mentorat bis").await);
    let m2 = id_of(&app.upsert_person("M2", None).await);
    let mentor = id_of(&app.enroll(&program, &m2, "mentor").await);
    let mentee = id_of(&app.enroll(&program, &world.outsider.person, "mentee").await);
    let id = id_of(
        &app.coordinator()
            .propose_pair(&program, &mentor, &mentee)
            .await
            .created(),
    );
    for who in ["M2", "OU"] {
        let reply = app.member(who).accept_pair(&id).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    id
}

#[tokio::test]
async fn a_note_or_an_objective_moved_to_another_pair_does_not_open_there() {
    let app = spawn_app().await;
    let world = app.world().build().await;
    let other = second_pair(&app, &world).await;
    let note_id = note_of_me(&app, &world, "shared", PRIVATE).await;
    let objective_id = id_of(&app.mentee().propose_objective(&world, PRIVATE).await.json());
    for table in ["notes", "objectives"] {
        app.sql(
            &format!("UPDATE {table} SET pair_id = $1 WHERE pair_id = $2"),
            vec![uuid_value(&other), uuid_value(&world.pair.id)],
        )
        .await;
    }
    // The other pair's members would read them.
    let ou = app.outsider();
    for read in [
        ou.read_note(&other, &note_id).await,
        ou.notes(&other).await,
        ou.read_objective(&other, &objective_id).await,
        ou.objectives(&other).await,
    ] {
        assert!(!read.text.contains(PRIVATE), "{}", read.text);
        read.problem(500, "internal");
    }
}

#[tokio::test]
async fn an_older_ciphertext_of_a_note_does_not_open() {
    let app = spawn_app().await;
    let world = app.world().build().await;
    let id = note_of_me(&app, &world, "shared", PRIVATE).await;
    // The first revision's ciphertext, as a backup holds it; then the author takes the
    // words back.
    let first = app.column_of("notes", "body", &id).await;
    let etag = app
        .mentee()
        .read_note(&world, &id)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let edited = app
        .mentee()
        .edit_note(
            &world,
            &id,
            Some(&etag),
            &json!({"body": "Rien à signaler"}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    app.sql(
        "UPDATE notes SET body = $1 WHERE id = $2",
        vec![first.into(), uuid_value(&id)],
    )
    .await;
    let read = app.mentor().read_note(&world, &id).await;
    assert!(
        !read.text.contains(PRIVATE),
        "restored words read out: {}",
        read.text
    );
    read.problem(500, "internal");
}

/// The same for an objective, whose words are re-sealed by every write, an agreement too
/// (an older title would be restored over the current one).
#[tokio::test]
async fn an_older_ciphertext_of_an_objective_does_not_open() {
    let app = spawn_app().await;
    let world = app.world().build().await;
    let id = id_of(&app.mentee().propose_objective(&world, PRIVATE).await.json());
    let first = app.column_of("objectives", "title", &id).await;
    let agreed = app.mentor().agree_objective(&world, &id).await;
    assert_eq!(agreed.status, 200, "{}", agreed.text);
    let read = app.mentor().read_objective(&world, &id).await;
    assert_eq!(
        read.status, 200,
        "re-sealed for its new revision: {}",
        read.text
    );
    assert_eq!(read.json()["title"], PRIVATE);
    app.sql(
        "UPDATE objectives SET title = $1 WHERE id = $2",
        vec![first.into(), uuid_value(&id)],
    )
    .await;
    let read = app.mentor().read_objective(&world, &id).await;
    assert!(!read.text.contains(PRIVATE), "{}", read.text);
    read.problem(500, "internal");
}

/// A meeting's words (issue 12, finding 10, second review): an older sealed agenda of the
/// same meeting, put back after the agenda was changed, does not open — every write of a
/// meeting's words (a new plan, a cancellation's reason, a summary) re-seals all of them
/// bound to its words' revision.
#[tokio::test]
async fn an_older_agenda_of_the_same_meeting_does_not_open() {
    let app = spawn_app().await;
    let world = app.world().build().await;
    let mut body = video_at(48);
    body["agenda"] = json!(PRIVATE);
    let scheduled = app.mentee().schedule(&world, &body).await;
    assert_eq!(scheduled.status, 201, "{}", scheduled.text);
    let etag = scheduled.header("etag").unwrap().to_owned();
    let id = id_of(&scheduled.json());
    let first = app.column_of("meetings", "agenda", &id).await;
    let edited = app
        .mentee()
        .change_meeting(
            &world,
            &id,
            Some(&etag),
            &json!({"agenda": "Rien à signaler"}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    // A cancellation writes a reason: the agenda is re-sealed with it and still reads.
    let cancelled = app
        .mentor()
        .cancel_meeting(&world, &id, "Garde de nuit")
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    let read = app.mentor().read_meeting(&world, &id).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json()["agenda"], "Rien à signaler");
    assert_eq!(read.json()["cancel_reason"], "Garde de nuit");
    // The first agenda, as a backup holds it, put back over the current one.
    app.sql(
        "UPDATE meetings SET agenda = $1 WHERE id = $2",
        vec![first.into(), uuid_value(&id)],
    )
    .await;
    let read = app.mentor().read_meeting(&world, &id).await;
    assert!(
        !read.text.contains(PRIVATE),
        "an older agenda read out: {}",
        read.text
    );
    read.problem(500, "internal");
    let list = app.mentee().meetings(&world).await;
    assert!(!list.text.contains(PRIVATE), "{}", list.text);
    list.problem(500, "internal");
}

/// The meetings a pair's end cancels in one statement keep their words readable.
#[tokio::test]
async fn a_meeting_cancelled_with_its_pairs_end_still_reads() {
    let app = spawn_app().await;
    let world = app.world().build().await;
    let ahead = app.mentor().schedule(&world, &video_at(72)).await;
    assert_eq!(ahead.status, 201, "{}", ahead.text);
    let ahead = id_of(&ahead.json());
    let ended = app.mentee().end_pair(&world, "other").await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    let read = app.mentor().read_meeting(&world, &ahead).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json()["status"], "cancelled");
    assert_eq!(read.json()["agenda"], "Ordre du jour confidentiel");
}

/// A meeting sealed as the version before migration 000025 sealed it (bound to its row,
/// column and pair, no words' revision); the world and the meeting's id.
async fn meeting_sealed_without_its_words_revision(
    app: &TestApp,
    key: &[u8; 32],
) -> (World, String) {
    let world = app.world().build().await;
    let scheduled = app.mentee().schedule(&world, &video_at(48)).await;
    assert_eq!(scheduled.status, 201, "{}", scheduled.text);
    let id = id_of(&scheduled.json());
    let legacy = mentorat_persistence::Keyring::single(key)
        .seal(
            PRIVATE,
            &mentorat_persistence::Aad::row(
                "meetings",
                "agenda",
                uuid::Uuid::parse_str(&id).unwrap(),
            )
            .and("pair_id", &world.pair.id),
        )
        .unwrap();
    app.sql(
        "UPDATE meetings SET agenda = $1, words_revision = NULL WHERE id = $2",
        vec![legacy.into(), uuid_value(&id)],
    )
    .await;
    (world, id)
}

/// Such a meeting is refused by reads, and by `serve`, which will not start on it either.
#[tokio::test]
async fn a_meeting_sealed_without_its_words_revision_does_not_open_nor_serve() {
    let key = [3u8; 32];
    let app = app_keyed(key).await;
    let (world, id) = meeting_sealed_without_its_words_revision(&app, &key).await;
    let read = app.mentor().read_meeting(&world, &id).await;
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
}

/// … until `mentorat migrate` re-seals it.
#[tokio::test]
async fn a_meeting_sealed_without_its_words_revision_reads_after_migrate() {
    let key = [3u8; 32];
    let app = app_keyed(key).await;
    let (world, id) = meeting_sealed_without_its_words_revision(&app, &key).await;
    let migrated = app
        .command(
            &["migrate"],
            Options::default(),
            std::time::Duration::from_secs(60),
        )
        .expect("migrate ends");
    assert_eq!(migrated.exit_code, 0, "{migrated:?}");
    let read = app.mentor().read_meeting(&world, &id).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json()["agenda"], PRIVATE);
}

/// On SQLite in every run (a PostgreSQL run too: the rule is about the file).
#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app_with(Options::default().sqlite()).await;
    let file = app.sqlite_file().expect("an SQLite database has a file");
    app.world().build().await;
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
