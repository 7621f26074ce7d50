//! The signing secret of an embedded deployment. With neither `MENTORAT_JWT_SECRET` nor
//! `MENTORAT_JWT_KEYS` set and an SQLite database, a random secret is created once beside the
//! database file (owner-only permissions), so that `cargo run` and `mentorat token` work on a
//! fresh machine. A PostgreSQL deployment must configure its keys.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use mentorat_persistence::Keyring;
use secrecy::{ExposeSecret, SecretString};

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "MENTORAT_JWT_SECRET, MENTORAT_JWT_KEYS or MENTORAT_JWT_JWKS_URL: one of them must be set when the database is PostgreSQL"
    )]
    NoKeys,
    #[error(
        "MENTORAT_ENCRYPTION_KEY: it must be set when the database is PostgreSQL (content is encrypted at rest)"
    )]
    NoEncryptionKey,
    #[error("{path}: not a usable encryption key ({reason})")]
    BadKeyFile { path: PathBuf, reason: String },
    #[error("cannot read or create the development secret {path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub fn secret_file_for(db_file: &Path) -> PathBuf {
    let mut name = db_file.as_os_str().to_owned();
    name.push(".jwt-secret");
    PathBuf::from(name)
}

/// The HS256 secret to verify (and mint) tokens with, if any.
pub fn jwt_secret(config: &Config) -> Result<Option<SecretString>, SecretError> {
    if let Some(secret) = &config.jwt_secret {
        return Ok(Some(secret.clone()));
    }
    if config.jwt_keys.is_some() || config.jwt_jwks_url.is_some() || config.jwt_oidc_discovery {
        return Ok(None);
    }
    let Some(db_file) = config.sqlite_file() else {
        return Err(SecretError::NoKeys);
    };
    let path = secret_file_for(&db_file);
    let file_error = |source| SecretError::File {
        path: path.clone(),
        source,
    };
    match fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= crate::config::MIN_SECRET_BYTES => {
            return Ok(Some(SecretString::from(text.trim().to_owned())));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(file_error(e)),
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| file_error(std::io::Error::other(e.to_string())))?;
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(file_error)?;
    file.write_all(secret.as_bytes()).map_err(file_error)?;
    tracing::warn!(
        path = %path.display(),
        "no MENTORAT_JWT_SECRET or MENTORAT_JWT_KEYS: created a development signing secret"
    );
    Ok(Some(SecretString::from(secret)))
}

pub fn key_file_for(db_file: &Path) -> PathBuf {
    let mut name = db_file.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// Write a new secret file readable by its owner only.
fn create_owner_only(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}

/// Create the SQLite database file readable by its owner only, as the key file is, before
/// SQLite opens it (SQLite would create it with the umask's permissions; its `-wal` and
/// `-shm` files take the database file's). An existing file that its group or others may
/// read or write (a deployment from before issue 12) is made owner-only, with its `-wal`
/// and `-shm` files.
pub fn create_database_file(path: &Path) -> anyhow::Result<()> {
    match create_owner_only(path, "") {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => owner_only(path),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "MENTORAT_DATABASE_URL: cannot create the database file {}",
            path.display()
        ))),
    }
}

/// Take the group's and others' permissions off an existing database file and its `-wal`
/// and `-shm` files.
#[cfg(unix)]
fn owner_only(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut files = vec![path.to_owned()];
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    for file in files {
        let Ok(meta) = fs::metadata(&file) else {
            continue; // no such file (yet)
        };
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            fs::set_permissions(&file, fs::Permissions::from_mode(mode & 0o700)).map_err(|e| {
                anyhow::Error::new(e).context(format!(
                    "MENTORAT_DATABASE_URL: cannot make {} readable by its owner only",
                    file.display()
                ))
            })?;
            tracing::warn!(
                file = %file.display(),
                was = format!("{:o}", mode & 0o777),
                "the database file was readable by others than its owner: made owner-only"
            );
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_only(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// The keys content is sealed with, and where they come from.
pub enum ContentKeys {
    /// `MENTORAT_ENCRYPTION_KEY`, or the key file beside the SQLite file.
    Configured { keyring: Keyring, source: KeySource },
    /// Embedded mode without a key file: a new key, written to `path` only once the database
    /// is known to hold nothing sealed (a lost key file is never silently replaced).
    New {
        keyring: Keyring,
        path: PathBuf,
        text: SecretString,
    },
    /// An in-memory database: a key of its own, gone with it.
    InMemory(Keyring),
}

/// Where the configured keys were read.
#[derive(Debug, Clone)]
pub enum KeySource {
    Variable,
    File(PathBuf),
}

impl ContentKeys {
    pub fn keyring(&self) -> &Keyring {
        match self {
            ContentKeys::Configured { keyring, .. }
            | ContentKeys::New { keyring, .. }
            | ContentKeys::InMemory(keyring) => keyring,
        }
    }
}

/// The keys content is sealed with (R5): `MENTORAT_ENCRYPTION_KEY`, or in embedded mode a key
/// file beside the SQLite file (owner-only permissions) — keep it with the database's
/// backups, or the content cannot be read back. Without one, a new key is made; the caller
/// writes it with [`write_key_file`] once the database holds nothing sealed.
pub fn keyring(config: &Config) -> Result<ContentKeys, SecretError> {
    if let Some(key) = &config.encryption_key {
        let keyring = Keyring::parse(key.expose_secret()).map_err(|e| SecretError::BadKeyFile {
            path: PathBuf::from("MENTORAT_ENCRYPTION_KEY"),
            reason: e.to_string(),
        })?;
        return Ok(ContentKeys::Configured {
            keyring,
            source: KeySource::Variable,
        });
    }
    if !config.database_url.starts_with("sqlite:") {
        return Err(SecretError::NoEncryptionKey);
    }
    let new_key = |path: &Path| -> Result<(Keyring, String), SecretError> {
        let bad = |reason: String| SecretError::BadKeyFile {
            path: path.to_owned(),
            reason,
        };
        let text = Keyring::generate().map_err(|e| bad(e.to_string()))?;
        let keyring = Keyring::parse(&text).map_err(|e| bad(e.to_string()))?;
        Ok((keyring, text))
    };
    let Some(db_file) = config.sqlite_file() else {
        let (keyring, _) = new_key(Path::new(":memory:"))?;
        return Ok(ContentKeys::InMemory(keyring));
    };
    let path = key_file_for(&db_file);
    match fs::read_to_string(&path) {
        Ok(text) => {
            let keyring = Keyring::parse(text.trim()).map_err(|e| SecretError::BadKeyFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            Ok(ContentKeys::Configured {
                keyring,
                source: KeySource::File(path),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (keyring, text) = new_key(&path)?;
            Ok(ContentKeys::New {
                keyring,
                path,
                text: SecretString::from(text),
            })
        }
        Err(source) => Err(SecretError::File { path, source }),
    }
}

/// Write the new key file of an embedded deployment (never over an existing one).
pub fn write_key_file(path: &Path, text: &SecretString) -> Result<(), SecretError> {
    create_owner_only(path, text.expose_secret()).map_err(|source| SecretError::File {
        path: path.to_owned(),
        source,
    })?;
    tracing::warn!(
        path = %path.display(),
        "no MENTORAT_ENCRYPTION_KEY: created an encryption key beside the database; back it up with it"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[cfg(unix)]
    #[test]
    fn an_existing_database_file_readable_by_others_is_made_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("mentorat-{}", uuid::Uuid::now_v7()));
        fs::create_dir(&dir).unwrap();
        let db_file = dir.join("mentorat.db");
        let wal = dir.join("mentorat.db-wal");
        for (file, mode) in [(&db_file, 0o644), (&wal, 0o666)] {
            fs::write(file, b"").unwrap();
            fs::set_permissions(file, fs::Permissions::from_mode(mode)).unwrap();
        }
        create_database_file(&db_file).unwrap();
        for file in [&db_file, &wal] {
            let mode = fs::metadata(file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}: {mode:o}", file.display());
        }
        // A new one is created owner-only.
        let new = dir.join("new.db");
        create_database_file(&new).unwrap();
        assert_eq!(
            fs::metadata(&new).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A missing key file is only proposed: the caller writes it once the database is known
    /// to hold nothing sealed (issue 11).
    #[test]
    fn a_missing_key_file_is_not_written_by_reading_the_keys() {
        let dir = std::env::temp_dir().join(format!("mentorat-{}", uuid::Uuid::now_v7()));
        fs::create_dir(&dir).unwrap();
        let db_file = dir.join("mentorat.db");
        let config = Config::from_lookup(|name| {
            (name == "MENTORAT_DATABASE_URL").then(|| format!("sqlite://{}", db_file.display()))
        })
        .unwrap();
        let ContentKeys::New { path, text, .. } = keyring(&config).unwrap() else {
            panic!("a new key is proposed");
        };
        assert_eq!(path, key_file_for(&db_file));
        assert!(!path.exists());
        write_key_file(&path, &text).unwrap();
        let ContentKeys::Configured {
            source: KeySource::File(read),
            ..
        } = keyring(&config).unwrap()
        else {
            panic!("the key file is read back");
        };
        assert_eq!(read, path);
        assert!(write_key_file(&path, &text).is_err(), "never overwritten");
        fs::remove_dir_all(&dir).unwrap();
    }
}
