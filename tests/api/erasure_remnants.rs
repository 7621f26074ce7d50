//! R14 on the embedded database: what an erasure or a retention run destroys is gone from
//! the SQLite *files* — the main file's free space and free pages, the write-ahead log
//! (`-wal`) and its index (`-shm`) — not only from the rows. An `UPDATE` leaves the
//! overwritten cell in the page's free space, and WAL mode keeps every earlier image of a
//! page in the `-wal` until a checkpoint and the main file keeps the old page until the
//! checkpoint rewrites it: the sealed values there still open with the service's key (their
//! associated data — table, column, row — is guessable from the page), and the identity
//! fields are in clear. (PostgreSQL: see README, "Retention and erasure".)

use std::collections::BTreeSet;
use std::time::Duration;

use mentorat_tests::{Options, TestApp, spawn_app, spawn_app_with};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::confidentiality::note;
use crate::erasure::{ME_GOALS, ME_WORDS, MR_WORDS, contains, person_id, plant, wait_for};
use crate::working_life::{active_pair, as_};

/// The SQLite file and its companions, byte for byte. `None` on PostgreSQL.
fn files_of(app: &TestApp) -> Option<Vec<(String, Vec<u8>)>> {
    let path = app.database_url.strip_prefix("sqlite://")?;
    Some(
        ["", "-wal", "-shm", "-journal"]
            .iter()
            .map(|suffix| {
                let name = format!("{path}{suffix}");
                let bytes = std::fs::read(&name).unwrap_or_default();
                (name, bytes)
            })
            .collect(),
    )
}

/// Every sealed value (`enc:v…`) in any column of any table, as stored.
async fn sealed_values(app: &TestApp) -> BTreeSet<String> {
    let conn = app.db.conn();
    let backend = conn.get_database_backend();
    let tables = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        ))
        .await
        .unwrap();
    let mut out = BTreeSet::new();
    for t in tables {
        let table: String = t.try_get("", "name").unwrap();
        let columns = conn
            .query_all_raw(Statement::from_string(
                backend,
                format!("SELECT name FROM pragma_table_info('{table}')"),
            ))
            .await
            .unwrap();
        for c in columns {
            let column: String = c.try_get("", "name").unwrap();
            for r in conn
                .query_all_raw(Statement::from_string(
                    backend,
                    format!(
                        "SELECT CAST(\"{column}\" AS TEXT) AS v FROM \"{table}\" \
                         WHERE CAST(\"{column}\" AS TEXT) LIKE 'enc:v%'"
                    ),
                ))
                .await
                .unwrap()
            {
                out.insert(r.try_get::<String>("", "v").unwrap());
            }
        }
    }
    out
}

/// The ciphertext part of a sealed value (`enc:v3:<key id>:<ciphertext>`): distinctive
/// enough that finding it in the files means the value is there.
fn ciphertext(sealed: &str) -> &str {
    let body = sealed.rsplit(':').next().unwrap_or(sealed);
    &body[..body.len().min(48)]
}

/// Which of `needles` some file still holds, and where.
fn found_in(files: &[(String, Vec<u8>)], needles: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for (name, bytes) in files {
        for needle in needles {
            if contains(bytes, needle) {
                found.push(format!("{needle} in {name}"));
            }
        }
    }
    found
}

#[tokio::test]
async fn an_erasure_leaves_nothing_of_the_person_in_the_sqlite_files() {
    let app = spawn_app().await;
    if files_of(&app).is_none() {
        return; // PostgreSQL: dead tuples, see README.
    }
    let (_pair, _feed) = plant(&app).await;
    let me = person_id(&app, "ME").await;
    let before = sealed_values(&app).await;
    let files = files_of(&app).unwrap();
    let identity = ["PrénomME", "NomME", "me@chu.example", ME_GOALS].map(str::to_owned);
    for needle in &identity {
        assert!(
            files.iter().any(|(_, b)| contains(b, needle)),
            "the scan finds {needle} before the erasure"
        );
    }
    assert!(
        files
            .iter()
            .any(|(_, b)| contains(b, ciphertext(before.first().unwrap()))),
        "the scan finds sealed values before the erasure"
    );

    let erased = app
        .post_json(
            &format!("/api/v1/people/{me}/erasure"),
            Some(&app.as_admin()),
            &json!({}),
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.text);

    // The sealed values the erasure destroyed (in the rows before, not after): none of
    // their ciphertexts is anywhere in the files; MR's still are (in the rows).
    let after = sealed_values(&app).await;
    let gone: Vec<String> = before
        .difference(&after)
        .map(|s| ciphertext(s).to_owned())
        .collect();
    assert!(gone.len() >= 10, "ME's sealed values: {}", gone.len());
    let files = files_of(&app).unwrap();
    let left = found_in(&files, &gone);
    assert!(
        left.is_empty(),
        "{} of {} destroyed ciphertexts survive in the files: {left:?}",
        left.len(),
        gone.len()
    );
    let left = found_in(&files, &identity);
    assert!(left.is_empty(), "identity survives in the files: {left:?}");
    assert!(!files.iter().any(|(_, b)| contains(b, ME_WORDS)));
    // What was not erased is still there.
    let kept = found_in(
        &files,
        &["PrénomMR".to_owned(), "mr@chu.example".to_owned()],
    );
    assert!(!kept.is_empty(), "MR's identity stays");
    assert!(
        after
            .iter()
            .any(|s| files.iter().any(|(_, b)| contains(b, ciphertext(s)))),
        "MR's sealed words stay in the file"
    );
    let mr = app
        .get(
            &format!("/api/v1/pairs/{}/notes", _pair.id),
            Some(&as_("MR")),
        )
        .await;
    assert!(mr.text.contains(MR_WORDS), "{}", mr.text);
}

#[tokio::test]
async fn a_retention_run_leaves_nothing_of_the_pairs_words_in_the_sqlite_files() {
    let app = spawn_app_with(
        Options::default()
            .var("MENTORAT_RETENTION_DAYS", "30")
            .var("MENTORAT_RETENTION_EVERY_SECONDS", "1"),
    )
    .await;
    if files_of(&app).is_none() {
        return;
    }
    let pair = active_pair(&app).await;
    let p = &pair.id;
    for n in 0..20 {
        note(&app, p, "ME", "shared", &format!("{ME_WORDS}-{n}")).await;
        note(&app, p, "MR", "private", &format!("{MR_WORDS}-{n}")).await;
    }
    let ended = app
        .post_json(
            &format!("/api/v1/pairs/{p}/end"),
            Some(&as_("ME")),
            &json!({"reason_category": "other", "reason_text": ME_WORDS}),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    let before = sealed_values(&app).await;
    app.time_passes(
        "UPDATE pairs SET ended_at = $1 WHERE id = $2",
        vec![
            (chrono::Utc::now() - chrono::Duration::days(31)).into(),
            uuid::Uuid::parse_str(p).unwrap().into(),
        ],
    )
    .await;
    wait_for(&app, "SELECT pair_id FROM pair_words_destroyed").await;
    // The run's checkpoint follows its last batch.
    let mut left = Vec::new();
    for _ in 0..10 {
        let after = sealed_values(&app).await;
        let gone: Vec<String> = before
            .difference(&after)
            .map(|s| ciphertext(s).to_owned())
            .collect();
        assert!(gone.len() >= 40, "the pair's sealed values: {}", gone.len());
        left = found_in(&files_of(&app).unwrap(), &gone);
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        left.is_empty(),
        "{} destroyed ciphertexts survive in the files: {left:?}",
        left.len()
    );
}
