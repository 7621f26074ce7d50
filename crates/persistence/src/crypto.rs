//! Encryption at rest of what a pair says (R5): every content column holds
//! `enc:v3:<key id>:<base64url(nonce ‖ ciphertext)>`, sealed with XChaCha20-Poly1305 (a random
//! 192-bit nonce per value, so no nonce bookkeeping) under the current key. The key id — the
//! first 8 hex digits of the key's SHA-256 — says which key opens a value, so keys can be
//! rotated: older keys stay in the ring to read until `mentorat rotate-key` has re-sealed
//! everything under the current one.
//!
//! A value is bound to where it lives and to who may read it: its table, column and row, and
//! the fields of its row that decide who reads it (a note's pair, author, visibility and
//! revision, …), are the AEAD's associated data ([`Aad`]). Someone who can write the database
//! but holds no key cannot move a sealed value to another row, column or pair, flip a private
//! note to shared, or restore an older ciphertext of a row whose revision is bound — it no
//! longer opens there, and the read is refused.
//!
//! Only the current format is served ([`Keyring::open`]): `enc:v1:` values (sealed without
//! associated data), `enc:v2:` values (bound to their table, column and row only, issue 12's
//! first fix) and values without the `enc:` prefix (written before encryption existed, or
//! forged) are refused — pasted into a row from an old backup they would open unbound, and a
//! plaintext would be served as a member's words. Nothing stored decides otherwise (whoever
//! writes the database could write a marker too). `mentorat migrate` and `rotate-key` open
//! them ([`Keyring::open_to_reseal`]) to re-seal them as `enc:v3:`.

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
/// Sealed without associated data (before issue 12): `serve` refuses it, `migrate` re-seals it.
const V1: &str = "enc:v1:";
/// Sealed bound to its table, column and row only: `serve` refuses it, `migrate` re-seals it.
const V2: &str = "enc:v2:";
/// Sealed bound to its table, column, row and the row's fields that decide who reads it.
pub(crate) const V3: &str = "enc:v3:";
/// What an erased value is left as (R14, [`crate::erasure`]): no ciphertext at all, so no key,
/// old or new, opens any word of it; it reads as an empty text. Someone who writes the
/// database could put it anywhere — that deletes words, it forges none.
pub const ERASED: &str = "enc:erased";
const NONCE_BYTES: usize = 24;

/// Where a sealed value lives — its table, column and row, and the fields of the row that
/// decide who may read it (a note's pair, author, visibility and revision…) — sealed into it
/// as associated data: the value opens there, with those fields, and nowhere else.
#[derive(Debug, Clone)]
pub struct Aad<'a> {
    table: &'a str,
    column: &'a str,
    row: Row<'a>,
    /// Further fields, each as its name and its text, length-prefixed.
    bound: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
enum Row<'a> {
    Id(uuid::Uuid),
    /// `idempotency_keys`: its key is the token's subject and the client's key.
    Keyed(&'a str, &'a str),
    /// A one-row table (`key_check`).
    Single,
}

fn part(out: &mut Vec<u8>, p: &[u8]) {
    out.extend_from_slice(&(p.len() as u64).to_be_bytes());
    out.extend_from_slice(p);
}

impl<'a> Aad<'a> {
    fn new(table: &'a str, column: &'a str, row: Row<'a>) -> Self {
        Self {
            table,
            column,
            row,
            bound: Vec::new(),
        }
    }

    /// A column of the row `id` of `table`.
    pub fn row(table: &'a str, column: &'a str, id: uuid::Uuid) -> Self {
        Self::new(table, column, Row::Id(id))
    }

    /// A column of an `idempotency_keys` row.
    pub fn keyed(table: &'a str, column: &'a str, subject: &'a str, key: &'a str) -> Self {
        Self::new(table, column, Row::Keyed(subject, key))
    }

    /// A column of a table of one row.
    pub fn single(table: &'a str, column: &'a str) -> Self {
        Self::new(table, column, Row::Single)
    }

    /// Bind the value to one more field of its row, by the field's name and its text (a
    /// uuid hyphenated, a number in decimal): changing that field in the database makes the
    /// value no longer open. [`crate::rotation`] binds the same fields, spelled the same.
    pub fn and(mut self, field: &str, value: impl fmt::Display) -> Self {
        part(&mut self.bound, field.as_bytes());
        part(&mut self.bound, value.to_string().as_bytes());
        self
    }

    /// The associated data of `version` (`v2`: table, column and row; `v3`: and the bound
    /// fields): each part length-prefixed, so no two places share it.
    fn bytes(&self, v3: bool) -> Vec<u8> {
        let mut out = if v3 {
            b"mentorat:v3".to_vec()
        } else {
            b"mentorat:v2".to_vec()
        };
        part(&mut out, self.table.as_bytes());
        part(&mut out, self.column.as_bytes());
        match self.row {
            Row::Id(id) => part(&mut out, id.as_bytes()),
            Row::Keyed(subject, key) => {
                part(&mut out, subject.as_bytes());
                part(&mut out, key.as_bytes());
            }
            Row::Single => part(&mut out, b""),
        }
        if v3 {
            part(&mut out, &self.bound);
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

/// What a stored value is, by its prefix.
enum Format<'s> {
    /// `enc:v3:`, the rest after the prefix.
    Current(&'s str),
    /// `enc:v2:`.
    V2(&'s str),
    /// `enc:v1:`.
    V1(&'s str),
    /// No `enc:` prefix: written before encryption existed.
    Plain,
    /// [`ERASED`]: the words were destroyed.
    Erased,
}

fn format_of<'s>(stored: &'s str, aad: &Aad<'_>) -> Result<Format<'s>, StoreError> {
    Ok(if stored == ERASED {
        Format::Erased
    } else if let Some(rest) = stored.strip_prefix(V3) {
        Format::Current(rest)
    } else if let Some(rest) = stored.strip_prefix(V2) {
        Format::V2(rest)
    } else if let Some(rest) = stored.strip_prefix(V1) {
        Format::V1(rest)
    } else if stored.starts_with(PREFIX) {
        return Err(StoreError::Corrupt(format!(
            "a value of {} has an unknown sealed format",
            aad.place()
        )));
    } else {
        Format::Plain
    })
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
        let aad = aad.bytes(true);
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
            "{V3}{}:{}",
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

    /// Open a stored value where it is stored, as `serve` reads: only the current format
    /// (`enc:v3:`) opens. A value sealed for another row, column or set of bound fields (or
    /// altered) does not open; nor does an older format — a `v1` or `v2` value (from an old
    /// backup, pasted in) or a plaintext (a forgery of a member's words) — which is refused
    /// and logged by its place, until `mentorat migrate` re-seals it.
    pub fn open(&self, stored: &str, aad: &Aad<'_>) -> Result<String, StoreError> {
        match format_of(stored, aad)? {
            Format::Current(rest) => self.decrypt(rest, aad, Some(aad.bytes(true))),
            Format::Erased => Ok(String::new()),
            old => {
                let format = match old {
                    Format::V2(_) => "enc:v2",
                    Format::V1(_) => "enc:v1",
                    _ => "plaintext",
                };
                tracing::error!(
                    place = %aad.place(),
                    format,
                    "a stored value is not sealed in the current format: refused (run `mentorat migrate` to re-seal values written by an older version)"
                );
                Err(StoreError::Corrupt(format!(
                    "a value of {} is in an old format ({format}), refused",
                    aad.place()
                )))
            }
        }
    }

    /// Open a stored value in any format, to re-seal it (`mentorat migrate` and `rotate-key`
    /// only, never `serve`): `v3` bound to `aad`, `v2` bound to its table, column and row,
    /// `v1` unbound, a plaintext as it is.
    pub(crate) fn open_to_reseal(&self, stored: &str, aad: &Aad<'_>) -> Result<String, StoreError> {
        match format_of(stored, aad)? {
            Format::Current(rest) => self.decrypt(rest, aad, Some(aad.bytes(true))),
            Format::V2(rest) => self.decrypt(rest, aad, Some(aad.bytes(false))),
            Format::V1(rest) => self.decrypt(rest, aad, None),
            Format::Plain => Ok(stored.to_owned()),
            Format::Erased => Ok(String::new()),
        }
    }

    fn decrypt(
        &self,
        rest: &str,
        aad: &Aad<'_>,
        aad_bytes: Option<Vec<u8>>,
    ) -> Result<String, StoreError> {
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
        let aad_bytes = aad_bytes.unwrap_or_default();
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
                    "a sealed value does not open where it is stored: moved from another row or column, its row's bound fields changed, or altered"
                );
                StoreError::Corrupt(format!(
                    "a value of {} sealed with key {id} does not open there (moved, its row changed, or altered)",
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

    /// Is this stored value sealed otherwise than in the current format under the current
    /// key (another key, an older format, or not at all)?
    pub fn is_stale(&self, stored: &str) -> bool {
        stored != ERASED
            && !stored
                .strip_prefix(V3)
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
        assert!(sealed.starts_with("enc:v3:"));
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

    /// A value sealed as issue 12's first fix did: bound to table, column and row only.
    fn sealed_v2(ring: &Keyring, plaintext: &str, aad: &Aad<'_>) -> String {
        let nonce = [8u8; NONCE_BYTES];
        let sealed = ring
            .current
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad.bytes(false),
                },
            )
            .unwrap();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{V2}{}:{}", ring.current.id, URL_SAFE_NO_PAD.encode(out))
    }

    #[test]
    fn a_value_opens_only_with_the_fields_it_is_bound_to() {
        let ring = Keyring::parse(&key(1)).unwrap();
        let id = uuid::Uuid::from_u128(7);
        let note = |visibility: &str, revision: i32| {
            Aad::row("notes", "body", id)
                .and("visibility", visibility)
                .and("revision", revision)
        };
        let sealed = ring.seal("privé", &note("private", 2)).unwrap();
        assert!(sealed.starts_with("enc:v3:"));
        assert_eq!(ring.open(&sealed, &note("private", 2)).unwrap(), "privé");
        for elsewhere in [
            note("shared", 2),
            note("private", 1),
            note("private", 3),
            Aad::row("notes", "body", id).and("visibility", "private"),
            Aad::row("notes", "body", id),
            // Length-prefixed: a boundary moved between name and value is another field.
            Aad::row("notes", "body", id)
                .and("visibilit", "yprivate")
                .and("revision", 2),
        ] {
            assert!(ring.open(&sealed, &elsewhere).is_err(), "{elsewhere:?}");
        }
    }

    #[test]
    fn older_formats_are_refused_when_serving_and_open_only_to_be_resealed() {
        let ring = Keyring::parse(&key(1)).unwrap();
        for old in [
            sealed_v1(&ring, "avant"),
            sealed_v2(&ring, "avant", &here()),
            "avant".to_owned(),
        ] {
            assert!(ring.open(&old, &here()).is_err(), "{old}");
            assert_eq!(ring.open_to_reseal(&old, &here()).unwrap(), "avant");
            assert!(ring.is_stale(&old), "re-sealed by the next migrate");
        }
        // A v2 value still opens only in its own row.
        let v2 = sealed_v2(&ring, "avant", &here());
        let other = Aad::row("notes", "body", uuid::Uuid::from_u128(8));
        assert!(ring.open_to_reseal(&v2, &other).is_err());
        assert!(ring.open("enc:v9:abcd:xyz", &here()).is_err());
        assert!(ring.open_to_reseal("enc:v9:abcd:xyz", &here()).is_err());
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
    fn an_erased_value_reads_empty_and_is_never_stale() {
        let ring = Keyring::parse(&key(5)).unwrap();
        assert_eq!(ring.open(ERASED, &here()).unwrap(), "");
        assert_eq!(ring.open_to_reseal(ERASED, &here()).unwrap(), "");
        assert!(!ring.is_stale(ERASED));
    }

    #[test]
    fn tampering_is_detected() {
        let ring = Keyring::parse(&key(3)).unwrap();
        let sealed = ring.seal("abc", &here()).unwrap();
        // Change one character in the middle of the ciphertext (never the same one).
        let mut chars: Vec<char> = sealed.chars().collect();
        let i = chars.len() - 10;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert!(ring.open(&tampered, &here()).is_err());
    }

    #[test]
    fn keys_are_32_bytes_of_base64() {
        assert_eq!(Keyring::parse("c2hvcnQ=").unwrap_err(), KeyError::Malformed);
        assert_eq!(Keyring::parse(" , ").unwrap_err(), KeyError::Empty);
        let ring = Keyring::parse(&key(4)).unwrap();
        assert!(!format!("{ring:?}").contains(&key(4)));
    }
}
