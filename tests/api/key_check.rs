//! The key is checked at start (issue 11): a key that cannot open what this database holds
//! sealed stops the process before it binds — one line naming `MENTORAT_ENCRYPTION_KEY`,
//! exit code 2 — instead of serving 500s and sealing new words under the wrong key; and an
//! embedded deployment never replaces a lost key file with a new one.

use std::time::Duration;

use base64::Engine;
use mentorat_tests::{Options, Outcome, TestApp, spawn_app_with};

use crate::{
    confidentiality::note,
    working_life::{Pair, active_pair, as_},
};

const WORDS: &str = "Ce que nous nous sommes dit";
/// A command that is refused ends at once; one still running after this has started.
const PATIENCE: Duration = Duration::from_secs(60);

fn key(n: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode([n; 32])
}

/// A server whose database holds a pair's words, sealed under `options`' key; stopped.
async fn words_written(options: Options) -> (TestApp, Pair) {
    let app = spawn_app_with(options).await;
    let pair = active_pair(&app).await;
    note(&app, &pair.id, "ME", "shared", WORDS).await;
    app.stop().await;
    (app, pair)
}

#[track_caller]
fn refused(outcome: Option<Outcome>) -> String {
    let outcome = outcome.expect("the command is refused, not left running");
    assert_eq!(outcome.exit_code, 2, "{outcome:?}");
    let lines: Vec<&str> = outcome.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {outcome:?}");
    assert!(
        lines[0].starts_with("mentorat: configuration error: MENTORAT_ENCRYPTION_KEY: "),
        "{outcome:?}"
    );
    assert!(!outcome.stderr.contains("enc:v"), "{outcome:?}");
    lines[0].to_owned()
}

async fn reads_the_words(app: &TestApp, pair: &Pair) {
    let reply = app
        .get(
            &format!("/api/v1/pairs/{}/notes", pair.id),
            Some(&as_("ME")),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.text.contains(WORDS), "{}", reply.text);
}

#[tokio::test]
async fn another_key_than_the_one_the_words_are_sealed_with_is_refused_at_start() {
    let (app, pair) =
        words_written(Options::default().var("MENTORAT_ENCRYPTION_KEY", key(1))).await;
    for command in ["serve", "migrate", "rotate-key"] {
        let line = refused(app.command(
            &[command],
            Options::default().var("MENTORAT_ENCRYPTION_KEY", key(2)),
            PATIENCE,
        ));
        assert!(line.contains("wrong or lost key"), "{command}: {line}");
    }
    // The right key still starts, and reads the words.
    let again = spawn_app_with(
        Options::default()
            .var("MENTORAT_DATABASE_URL", app.database_url.clone())
            .var("MENTORAT_ENCRYPTION_KEY", key(1)),
    )
    .await;
    reads_the_words(&again, &pair).await;
}

/// A database from before the check (migration 000014) is checked against its sealed words,
/// then keeps a check of its own.
#[tokio::test]
async fn a_database_without_a_check_is_checked_against_its_sealed_words() {
    let (app, pair) =
        words_written(Options::default().var("MENTORAT_ENCRYPTION_KEY", key(1))).await;
    app.time_passes("DELETE FROM key_check", vec![]).await;

    refused(app.command(
        &["serve"],
        Options::default().var("MENTORAT_ENCRYPTION_KEY", key(2)),
        PATIENCE,
    ));
    let right = spawn_app_with(
        Options::default()
            .var("MENTORAT_DATABASE_URL", app.database_url.clone())
            .var("MENTORAT_ENCRYPTION_KEY", key(1)),
    )
    .await;
    reads_the_words(&right, &pair).await;
    right.stop().await;
    // The check is back: with the words deleted, another key is still refused.
    app.time_passes("DELETE FROM notes", vec![]).await;
    refused(app.command(
        &["serve"],
        Options::default().var("MENTORAT_ENCRYPTION_KEY", key(2)),
        PATIENCE,
    ));
}

#[tokio::test]
async fn a_lost_key_file_is_never_replaced_by_a_new_key() {
    // Embedded mode, on every run: an SQLite file and the key file beside it.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("mentorat.db").display());
    let (app, _pair) = words_written(
        Options::default()
            .var("MENTORAT_DATABASE_URL", url)
            .var("MENTORAT_ENCRYPTION_KEY", ""),
    )
    .await;
    let mut key_file = app.sqlite_file().unwrap().into_os_string();
    key_file.push(".key");
    let key_file = std::path::PathBuf::from(key_file);
    assert!(
        key_file.is_file(),
        "embedded mode keeps its key beside the database"
    );
    std::fs::remove_file(&key_file).unwrap();

    for command in ["serve", "migrate"] {
        let line = refused(app.command(&[command], Options::default(), PATIENCE));
        assert!(
            line.contains(&key_file.display().to_string()),
            "{command}: {line}"
        );
        assert!(!key_file.exists(), "{command} created a new key file");
    }
}

#[tokio::test]
async fn after_a_rotation_the_new_key_alone_reads_the_old_words() {
    let (app, pair) =
        words_written(Options::default().var("MENTORAT_ENCRYPTION_KEY", key(1))).await;
    let rotation = app
        .command(
            &["rotate-key"],
            Options::default().var("MENTORAT_ENCRYPTION_KEY", format!("{},{}", key(2), key(1))),
            PATIENCE,
        )
        .expect("the rotation ends");
    assert_eq!(rotation.exit_code, 0, "{rotation:?}");

    let new = spawn_app_with(
        Options::default()
            .var("MENTORAT_DATABASE_URL", app.database_url.clone())
            .var("MENTORAT_ENCRYPTION_KEY", key(2)),
    )
    .await;
    reads_the_words(&new, &pair).await;
    new.stop().await;
    // The old key has been dropped: alone, it no longer starts.
    refused(app.command(
        &["serve"],
        Options::default().var("MENTORAT_ENCRYPTION_KEY", key(1)),
        PATIENCE,
    ));
}
