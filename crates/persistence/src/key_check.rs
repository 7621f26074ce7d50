//! The key check (issue 11): a known constant sealed under the current key, kept in the
//! one-row table `key_check`. At start the keyring must open it; a keyring that cannot would
//! answer 500 on every read of a pair's words and seal new ones under a key nobody else
//! holds, so the process stops instead. A database from before the check is checked against
//! its sealed content, then gets its check. `mentorat rotate-key` re-seals the check last,
//! after the content, so a key may be dropped once the check no longer needs it.

use sea_orm::ConnectionTrait;

use crate::{
    crypto::{Aad, Keyring, PREFIX},
    error::StoreError,
    rotation::{self, RowKey},
    sql::statement,
};

/// What the check value opens to.
const CHECK: &str = "mentorat key check v1";

/// Where the check value lives (its associated data).
fn here() -> Aad<'static> {
    Aad::single("key_check", "sealed")
}

/// Why the keyring was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyCheckError {
    /// The keyring does not open what the database holds sealed.
    #[error("the keys do not open the data sealed in this database")]
    WrongKey,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How the keyring was found to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    /// It opened the check value.
    Opened,
    /// A database without a check value and with no sealed content: the check is sealed now.
    Created,
    /// A database from before the check: its sealed content opened, the check is sealed now.
    CreatedFromContent,
}

async fn stored(conn: &impl ConnectionTrait) -> Result<Option<String>, StoreError> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(statement(
            backend,
            "SELECT sealed FROM key_check WHERE id = 1",
            vec![],
        ))
        .await?;
    Ok(row.map(|r| r.try_get("", "sealed")).transpose()?)
}

/// One sealed value of each content column that holds any (what `rotate-key` re-seals),
/// with where it lives.
async fn sealed_samples(
    conn: &impl ConnectionTrait,
) -> Result<Vec<(&'static str, &'static str, RowKey, String)>, StoreError> {
    let backend = conn.get_database_backend();
    let mut samples = Vec::new();
    for (table, column, key_columns) in rotation::sealed_columns() {
        let sql = format!(
            "SELECT {key_columns}, {column} AS value FROM {table} WHERE {column} LIKE $1 LIMIT 1"
        );
        let row = conn
            .query_one_raw(statement(backend, &sql, vec![format!("{PREFIX}%").into()]))
            .await?;
        if let Some(row) = row {
            samples.push((
                table,
                column,
                RowKey::read(table, &key_columns, &row)?,
                row.try_get("", "value")?,
            ));
        }
    }
    Ok(samples)
}

/// Does the database hold anything sealed — a check value or content? (An embedded
/// deployment that lost its key file must not make a new key for such a database.)
pub async fn holds_sealed_data(conn: &impl ConnectionTrait) -> Result<bool, StoreError> {
    Ok(stored(conn).await?.is_some() || !sealed_samples(conn).await?.is_empty())
}

/// Check that `keys` open the database's check value, writing it first when there is none
/// (after checking them against one sealed value of each content column). Run after the
/// migrations, before serving.
pub async fn verify(
    conn: &impl ConnectionTrait,
    keys: &Keyring,
) -> Result<KeyCheck, KeyCheckError> {
    // Sealed (a plaintext constant written in would pass any key), in any format.
    let opens = |sealed: &str| {
        sealed.starts_with(PREFIX)
            && keys
                .open_to_reseal(sealed, &here())
                .is_ok_and(|plain| plain == CHECK)
    };
    if let Some(sealed) = stored(conn).await? {
        return if opens(&sealed) {
            Ok(KeyCheck::Opened)
        } else {
            Err(KeyCheckError::WrongKey)
        };
    }
    let samples = sealed_samples(conn).await?;
    if samples.iter().any(|(table, column, row, value)| {
        keys.open_to_reseal(value, &row.aad(table, column)).is_err()
    }) {
        return Err(KeyCheckError::WrongKey);
    }
    // Two replicas starting at once both get here: the first row stays, and both check it.
    let backend = conn.get_database_backend();
    conn.execute_raw(statement(
        backend,
        "INSERT INTO key_check (id, sealed) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        vec![keys.seal(CHECK, &here())?.into()],
    ))
    .await
    .map_err(StoreError::from)?;
    match stored(conn).await? {
        Some(sealed) if opens(&sealed) => Ok(if samples.is_empty() {
            KeyCheck::Created
        } else {
            KeyCheck::CreatedFromContent
        }),
        _ => Err(KeyCheckError::WrongKey),
    }
}

/// Re-seal the check value under the current key if it is not sealed under it yet (the end
/// of a rotation). Returns how many values were re-sealed: 0 or 1.
pub(crate) async fn reseal(conn: &impl ConnectionTrait, keys: &Keyring) -> Result<u64, StoreError> {
    let Some(old) = stored(conn).await? else {
        return Ok(0);
    };
    if !keys.is_stale(&old) {
        return Ok(0);
    }
    if keys.open_to_reseal(&old, &here())? != CHECK {
        return Err(StoreError::Corrupt(
            "the key check does not open to its constant".into(),
        ));
    }
    let backend = conn.get_database_backend();
    let done = conn
        .execute_raw(statement(
            backend,
            "UPDATE key_check SET sealed = $1 WHERE id = 1 AND sealed = $2",
            vec![keys.seal(CHECK, &here())?.into(), old.into()],
        ))
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use base64::Engine;

    use super::*;
    use crate::Db;

    fn ring(keys: &[u8]) -> Keyring {
        let list: Vec<String> = keys
            .iter()
            .map(|n| base64::engine::general_purpose::STANDARD.encode([*n; 32]))
            .collect();
        Keyring::parse(&list.join(",")).unwrap()
    }

    async fn database() -> Db {
        let db = Db::connect("sqlite::memory:", ring(&[1])).await.unwrap();
        db.migrate().await.unwrap();
        db
    }

    #[tokio::test]
    async fn a_new_database_gets_a_check_that_only_its_keys_open() {
        let db = database().await;
        let conn = db.conn();
        assert!(!holds_sealed_data(conn).await.unwrap());
        assert_eq!(verify(conn, &ring(&[1])).await.unwrap(), KeyCheck::Created);
        assert!(holds_sealed_data(conn).await.unwrap());
        assert_eq!(verify(conn, &ring(&[1])).await.unwrap(), KeyCheck::Opened);
        assert!(matches!(
            verify(conn, &ring(&[2])).await,
            Err(KeyCheckError::WrongKey)
        ));
        // The start of a rotation: a new current key, the old one kept to read.
        assert_eq!(
            verify(conn, &ring(&[2, 1])).await.unwrap(),
            KeyCheck::Opened
        );
    }

    #[tokio::test]
    async fn a_rotation_reseals_the_check_so_the_old_key_can_go() {
        let db = database().await;
        let conn = db.conn();
        verify(conn, &ring(&[1])).await.unwrap();
        assert_eq!(reseal(conn, &ring(&[2, 1])).await.unwrap(), 1);
        assert_eq!(reseal(conn, &ring(&[2, 1])).await.unwrap(), 0, "done once");
        assert_eq!(verify(conn, &ring(&[2])).await.unwrap(), KeyCheck::Opened);
        assert!(matches!(
            verify(conn, &ring(&[1])).await,
            Err(KeyCheckError::WrongKey)
        ));
    }
}
