//! Encryption at rest of what a pair says (R5): every content column holds
//! `enc:v2:<key id>:<base64url(nonce ‖ ciphertext)>`, sealed with XChaCha20-Poly1305 (a random
//! 192-bit nonce per value, so no nonce bookkeeping) under the current key. The key id — the
//! first 8 hex digits of the key's SHA-256 — says which key opens a value, so keys can be
//! rotated: older keys stay in the ring to read until `mentorat rotate-key` has re-sealed
//! everything under the current one.
//!
//! A value is bound to where it lives: its table, column and row are the AEAD's associated
//! data ([`Aad`]), so someone who can write the database but holds no key cannot move a
//! sealed value to another row or column (a note's body into another person's note, a
//! private note over a shared one) — it no longer opens there, and the read is refused.
//!
//! Older formats still open: `enc:v1:` values were sealed without associated data (before
//! issue 12), and a value without the `enc:` prefix is a row written before encryption
//! existed and reads as it is. Both are stale: `mentorat rotate-key` (and `mentorat
//! migrate`) re-seal them as `enc:v2:` bound to their row.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use mentorat_domain::Content;
use sha2::{Digest, Sha256};

use crate::error::StoreError;

/// Any sealed value, whatever its version.
pub(crate) const PREFIX: &str = "enc:";
/// Sealed without associated data (before issue 12): opens anywhere, re-sealed as v2.
const V1: &str = "enc:v1:";
/// Sealed bound to its table, column and row.
pub(crate) const V2: &str = "enc:v2:";
const NONCE_BYTES: usize = 24;

/// Where a sealed value lives — its table, column and row — sealed into it as associated
/// data: the value opens there and nowhere else.
#[derive(Debug, Clone, Copy)]
pub struct Aad<'a> {
    table: &'a str,
    column: &'a str,
    row: Row<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Row<'a> {
    Id(uuid::Uuid),
    /// `idempotency_keys`: its key is the token's subject and the client's key.
    Keyed(&'a str, &'a str),
    /// A one-row table (`key_check`).
    Single,
}

impl<'a> Aad<'a> {
    /// A column of the row `id` of `table`.
    pub fn row(table: &'a str, column: &'a str, id: uuid::Uuid) -> Self {
        Self {
            table,
            column,
            row: Row::Id(id),
        }
    }

    /// A column of an `idempotency_keys` row.
    pub fn keyed(table: &'a str, column: &'a str, subject: &'a str, key: &'a str) -> Self {
        Self {
            table,
            column,
            row: Row::Keyed(subject, key),
        }
    }

    /// A column of a table of one row.
    pub fn single(table: &'a str, column: &'a str) -> Self {
        Self {
            table,
            column,
            row: Row::Single,
        }
    }

    /// The associated data: each part length-prefixed, so no two places share it.
    fn bytes(&self) -> Vec<u8> {
        let mut out = b"mentorat:v2".to_vec();
        let mut part = |p: &[u8]| {
            out.extend_from_slice(&(p.len() as u64).to_be_bytes());
            out.extend_from_slice(p);
        };
        part(self.table.as_bytes());
        part(self.column.as_bytes());
        match self.row {
            Row::Id(id) => part(id.as_bytes()),
            Row::Keyed(subject, key) => {
                part(subject.as_bytes());
                part(key.as_bytes());
            }
            Row::Single => part(b""),
        }
        out
    }

    /// For errors and logs: the table, column and row id (never a subject or a key).
    fn place(&self) -> String {
        match self.row {
            Row::Id(id) => format!("{}.{} of row {id}", self.table, self.column),
            _ => format!("{}.{}", self.table, self.column),
        }
    }
}

/// One 256-bit key and its id.
#[derive(Clone)]
struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl Key {
    fn new(bytes: &[u8; 32]) -> Self {
        let digest = Sha256::digest(bytes);
        let id = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            id,
            cipher: XChaCha20Poly1305::new(bytes.into()),
        }
    }
}

/// The keys content is sealed and opened with. Never printed.
#[derive(Clone)]
pub struct Keyring {
    current: Key,
    older: Vec<Key>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .field(
                "older",
                &self.older.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Why a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a key is base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)")]
    Malformed,
    #[error("no key given")]
    Empty,
}

fn decode_key(text: &str) -> Result<[u8; 32], KeyError> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let text = text.trim();
    let bytes = STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .or_else(|_| URL_SAFE_NO_PAD.decode(text))
        .map_err(|_| KeyError::Malformed)?;
    bytes.try_into().map_err(|_| KeyError::Malformed)
}

impl Keyring {
    /// The ring of `MENTORAT_ENCRYPTION_KEY`: comma-separated base64 keys, the first one
    /// current, the others kept to read values sealed before a rotation.
    pub fn parse(list: &str) -> Result<Self, KeyError> {
        let mut keys = list
            .split(',')
            .filter(|k| !k.trim().is_empty())
            .map(|k| decode_key(k).map(|b| Key::new(&b)));
        let current = keys.next().ok_or(KeyError::Empty)??;
        let older = keys.collect::<Result<_, _>>()?;
        Ok(Self { current, older })
    }

    /// A ring of one key.
    pub fn single(bytes: &[u8; 32]) -> Self {
        Self {
            current: Key::new(bytes),
            older: Vec::new(),
        }
    }

    /// A new random key, base64-encoded (for a key file).
    pub fn generate() -> Result<String, StoreError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| StoreError::Corrupt(format!("no randomness for a key: {e}")))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// Seal a plaintext under the current key, bound to where it is stored.
    pub fn seal(&self, plaintext: &str, aad: &Aad<'_>) -> Result<String, StoreError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce)
            .map_err(|e| StoreError::Corrupt(format!("no randomness for a nonce: {e}")))?;
        let aad = aad.bytes();
        let sealed = self
            .current
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Corrupt("encryption failed".into()))?;
        let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(format!(
            "{V2}{}:{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(out)
        ))
    }

    pub fn seal_opt(
        &self,
        plaintext: Option<&str>,
        aad: &Aad<'_>,
    ) -> Result<Option<String>, StoreError> {
        plaintext.map(|p| self.seal(p, aad)).transpose()
    }

    /// Open a stored value where it is stored: a value sealed for another row or column (or
    /// altered) does not open. A `v1` value (sealed without associated data) and a legacy
    /// plaintext read as before.
    pub fn open(&self, stored: &str, aad: &Aad<'_>) -> Result<String, StoreError> {
        let (rest, bound) = if let Some(rest) = stored.strip_prefix(V2) {
            (rest, true)
        } else if let Some(rest) = stored.strip_prefix(V1) {
            (rest, false)
        } else if stored.starts_with(PREFIX) {
            return Err(StoreError::Corrupt(format!(
                "a value of {} has an unknown sealed format",
                aad.place()
            )));
        } else {
            return Ok(stored.to_owned());
        };
        let (id, data) = rest
            .split_once(':')
            .ok_or_else(|| StoreError::Corrupt("a sealed value without a key id".into()))?;
        let key = std::iter::once(&self.current)
            .chain(&self.older)
            .find(|k| k.id == id)
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "a value is sealed with key {id}, which MENTORAT_ENCRYPTION_KEY does not hold"
                ))
            })?;
        let bytes = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| StoreError::Corrupt("a sealed value is not base64".into()))?;
        if bytes.len() < NONCE_BYTES {
            return Err(StoreError::Corrupt("a sealed value is too short".into()));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce
            .try_into()
            .map_err(|_| StoreError::Corrupt("a sealed value is too short".into()))?;
        let aad_bytes = if bound { aad.bytes() } else { Vec::new() };
        let plain = key
            .cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad_bytes,
                },
            )
            .map_err(|_| {
                tracing::error!(
                    place = %aad.place(),
                    key = id,
                    "a sealed value does not open where it is stored: moved from another row or column, or altered"
                );
                StoreError::Corrupt(format!(
                    "a value of {} sealed with key {id} does not open there (moved or altered)",
                    aad.place()
                ))
            })?;
        String::from_utf8(plain)
            .map_err(|_| StoreError::Corrupt("a sealed value is not UTF-8".into()))
    }

    pub fn open_opt(
        &self,
        stored: Option<&str>,
        aad: &Aad<'_>,
    ) -> Result<Option<String>, StoreError> {
        stored.map(|s| self.open(s, aad)).transpose()
    }

    /// Open a stored value as [`Content`] (its `Debug` never shows the words).
    pub fn open_content(&self, stored: &str, aad: &Aad<'_>) -> Result<Content, StoreError> {
        self.open(stored, aad).map(Content::new)
    }

    pub fn open_content_opt(
        &self,
        stored: Option<&str>,
        aad: &Aad<'_>,
    ) -> Result<Option<Content>, StoreError> {
        stored.map(|s| self.open_content(s, aad)).transpose()
    }

    /// Is this stored value sealed otherwise than bound to its place under the current key
    /// (another key, the unbound v1 format, or not at all)?
    pub fn is_stale(&self, stored: &str) -> bool {
        !stored
            .strip_prefix(V2)
            .is_some_and(|rest| rest.starts_with(&format!("{}:", self.current.id)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(n: u8) -> String {
        base64::engine::general_purpose::STANDARD.encode([n; 32])
    }

    fn here() -> Aad<'static> {
        Aad::row("notes", "body", uuid::Uuid::from_u128(7))
    }

    /// A value sealed the way it was before issue 12: no associated data.
    fn sealed_v1(ring: &Keyring, plaintext: &str) -> String {
        let nonce = [9u8; NONCE_BYTES];
        let sealed = ring
            .current
            .cipher
            .encrypt(&XNonce::from(nonce), plaintext.as_bytes())
            .unwrap();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{V1}{}:{}", ring.current.id, URL_SAFE_NO_PAD.encode(out))
    }

    #[test]
    fn a_sealed_value_opens_and_hides_its_text() {
        let ring = Keyring::parse(&key(1)).unwrap();
        let sealed = ring.seal("le secret du binôme", &here()).unwrap();
        assert!(sealed.starts_with("enc:v2:"));
        assert!(!sealed.contains("secret"));
        assert_ne!(
            sealed,
            ring.seal("le secret du binôme", &here()).unwrap(),
            "fresh nonce"
        );
        assert_eq!(ring.open(&sealed, &here()).unwrap(), "le secret du binôme");
        assert!(!ring.is_stale(&sealed));
    }

    #[test]
    fn a_value_opens_only_in_its_own_row_and_column() {
        let ring = Keyring::parse(&key(1)).unwrap();
        let id = uuid::Uuid::from_u128(7);
        let sealed = ring.seal("x", &Aad::row("notes", "body", id)).unwrap();
        for elsewhere in [
            Aad::row("notes", "body", uuid::Uuid::from_u128(8)),
            Aad::row("notes", "title", id),
            Aad::row("concerns", "body", id),
            Aad::keyed("notes", "body", "a", "b"),
            Aad::single("notes", "body"),
        ] {
            assert!(ring.open(&sealed, &elsewhere).is_err(), "{elsewhere:?}");
        }
        // Length-prefixed parts: shifting a boundary is another place.
        let keyed = ring.seal("y", &Aad::keyed("t", "c", "ab", "c")).unwrap();
        assert!(ring.open(&keyed, &Aad::keyed("t", "c", "a", "bc")).is_err());
        assert_eq!(
            ring.open(&keyed, &Aad::keyed("t", "c", "ab", "c")).unwrap(),
            "y"
        );
    }

    #[test]
    fn a_value_sealed_before_binding_opens_and_is_stale() {
        let ring = Keyring::parse(&key(1)).unwrap();
        let old = sealed_v1(&ring, "avant");
        assert_eq!(ring.open(&old, &here()).unwrap(), "avant");
        assert!(ring.is_stale(&old), "re-sealed bound by the next rotation");
        assert!(ring.open("enc:v9:abcd:xyz", &here()).is_err());
    }

    #[test]
    fn older_keys_read_until_rotated_and_a_missing_key_is_an_error() {
        let old = Keyring::parse(&key(1)).unwrap();
        let sealed = old.seal("x", &here()).unwrap();
        let rotated = Keyring::parse(&format!("{},{}", key(2), key(1))).unwrap();
        assert_eq!(rotated.open(&sealed, &here()).unwrap(), "x");
        assert!(rotated.is_stale(&sealed));
        let new_only = Keyring::parse(&key(2)).unwrap();
        assert!(new_only.open(&sealed, &here()).is_err());
    }

    #[test]
    fn tampering_is_detected_and_legacy_plaintext_reads() {
        let ring = Keyring::parse(&key(3)).unwrap();
        let sealed = ring.seal("abc", &here()).unwrap();
        // Change one character in the middle of the ciphertext (never the same one).
        let mut chars: Vec<char> = sealed.chars().collect();
        let i = chars.len() - 10;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert!(ring.open(&tampered, &here()).is_err());
        assert_eq!(
            ring.open("written before encryption", &here()).unwrap(),
            "written before encryption"
        );
        assert!(ring.is_stale("written before encryption"));
    }

    #[test]
    fn keys_are_32_bytes_of_base64() {
        assert_eq!(Keyring::parse("c2hvcnQ=").unwrap_err(), KeyError::Malformed);
        assert_eq!(Keyring::parse(" , ").unwrap_err(), KeyError::Empty);
        let ring = Keyring::parse(&key(4)).unwrap();
        assert!(!format!("{ring:?}").contains(&key(4)));
    }
}
