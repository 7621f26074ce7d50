//! Encryption at rest of what a pair says (R5): every content column holds
//! `enc:v1:<key id>:<base64url(nonce ‖ ciphertext)>`, sealed with XChaCha20-Poly1305 (a random
//! 192-bit nonce per value, so no nonce bookkeeping) under the current key. The key id — the
//! first 8 hex digits of the key's SHA-256 — says which key opens a value, so keys can be
//! rotated: older keys stay in the ring to read until `mentorat rotate-key` has re-sealed
//! everything under the current one.
//!
//! A value without the `enc:` prefix is a row written before encryption existed: it reads as
//! it is and the next rotation seals it.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit},
};
use mentorat_domain::Content;
use sha2::{Digest, Sha256};

use crate::error::StoreError;

pub(crate) const PREFIX: &str = "enc:v1:";
const NONCE_BYTES: usize = 24;

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

    /// Seal a plaintext under the current key.
    pub fn seal(&self, plaintext: &str) -> Result<String, StoreError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce)
            .map_err(|e| StoreError::Corrupt(format!("no randomness for a nonce: {e}")))?;
        let sealed = self
            .current
            .cipher
            .encrypt(&XNonce::from(nonce), plaintext.as_bytes())
            .map_err(|_| StoreError::Corrupt("encryption failed".into()))?;
        let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(format!(
            "{PREFIX}{}:{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(out)
        ))
    }

    pub fn seal_opt(&self, plaintext: Option<&str>) -> Result<Option<String>, StoreError> {
        plaintext.map(|p| self.seal(p)).transpose()
    }

    /// Open a stored value (a legacy plaintext reads as it is).
    pub fn open(&self, stored: &str) -> Result<String, StoreError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
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
        let plain = key
            .cipher
            .decrypt(&XNonce::from(nonce), sealed)
            .map_err(|_| {
                StoreError::Corrupt(format!("a value sealed with key {id} does not open"))
            })?;
        String::from_utf8(plain)
            .map_err(|_| StoreError::Corrupt("a sealed value is not UTF-8".into()))
    }

    pub fn open_opt(&self, stored: Option<&str>) -> Result<Option<String>, StoreError> {
        stored.map(|s| self.open(s)).transpose()
    }

    /// Open a stored value as [`Content`] (its `Debug` never shows the words).
    pub fn open_content(&self, stored: &str) -> Result<Content, StoreError> {
        self.open(stored).map(Content::new)
    }

    pub fn open_content_opt(&self, stored: Option<&str>) -> Result<Option<Content>, StoreError> {
        stored.map(|s| self.open_content(s)).transpose()
    }

    /// Is this stored value sealed under another key than the current one (or not at all)?
    pub fn is_stale(&self, stored: &str) -> bool {
        !stored
            .strip_prefix(PREFIX)
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

    #[test]
    fn a_sealed_value_opens_and_hides_its_text() {
        let ring = Keyring::parse(&key(1)).unwrap();
        let sealed = ring.seal("le secret du binôme").unwrap();
        assert!(sealed.starts_with("enc:v1:"));
        assert!(!sealed.contains("secret"));
        assert_ne!(
            sealed,
            ring.seal("le secret du binôme").unwrap(),
            "fresh nonce"
        );
        assert_eq!(ring.open(&sealed).unwrap(), "le secret du binôme");
        assert!(!ring.is_stale(&sealed));
    }

    #[test]
    fn older_keys_read_until_rotated_and_a_missing_key_is_an_error() {
        let old = Keyring::parse(&key(1)).unwrap();
        let sealed = old.seal("x").unwrap();
        let rotated = Keyring::parse(&format!("{},{}", key(2), key(1))).unwrap();
        assert_eq!(rotated.open(&sealed).unwrap(), "x");
        assert!(rotated.is_stale(&sealed));
        let new_only = Keyring::parse(&key(2)).unwrap();
        assert!(new_only.open(&sealed).is_err());
    }

    #[test]
    fn tampering_is_detected_and_legacy_plaintext_reads() {
        let ring = Keyring::parse(&key(3)).unwrap();
        let sealed = ring.seal("abc").unwrap();
        // Change one character in the middle of the ciphertext (never the same one).
        let mut chars: Vec<char> = sealed.chars().collect();
        let i = chars.len() - 10;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert!(ring.open(&tampered).is_err());
        assert_eq!(
            ring.open("written before encryption").unwrap(),
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
