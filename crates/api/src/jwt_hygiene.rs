//! What a token must also be, beyond its signature and the registered claims `jsonwebtoken`
//! checks (RFC 8725, JWT best current practices; RFC 7515, JWS): checked once the signature
//! has verified, so that someone without a key learns nothing from them.
//!
//! - `crit` names extensions the recipient must understand: this service understands none, so
//!   any `crit` is refused (RFC 7515 §4.1.11); `b64: false` (RFC 7797, an unencoded payload) is
//!   refused too.
//! - `typ`, when present, says the token is a JWT or an OAuth access token (`JWT`, `at+jwt`,
//!   with or without `application/`, any case — RFC 7519 §5.1, RFC 9068 §2.1): a token minted
//!   for another purpose (an ID token's `JOSE`, a `secevent+jwt`) is not accepted here.
//! - `iat` in the future beyond the clock-skew leeway is a token from nowhere.
//! - A name twice in the header or the claims is ambiguous (RFC 7519 §4, RFC 7515 §4: parsers
//!   disagree on which one wins — `serde_json` keeps the last): refused.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a token was refused (logged at debug; the caller only ever hears `401`).
pub type Refusal = &'static str;

/// Check a verified compact JWS (`header.payload.signature`) at `now` (seconds since the
/// epoch), with `leeway` seconds of clock skew.
pub fn check(token: &str, now: i64, leeway: i64) -> Result<(), Refusal> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a compact JWS");
    };
    let header =
        strict_object(header).ok_or("the header is not one JSON object with unique names")?;
    let claims =
        strict_object(payload).ok_or("the claims are not one JSON object with unique names")?;
    if header.contains_key("crit") {
        return Err("the header names critical extensions (crit)");
    }
    match header.get("b64") {
        None | Some(Value::Bool(true)) => {}
        Some(_) => return Err("the payload is not base64url-encoded (b64)"),
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) => {
            let typ = typ.to_ascii_lowercase();
            let bare = typ.strip_prefix("application/").unwrap_or(&typ);
            if !matches!(bare, "jwt" | "at+jwt") {
                return Err("the token's type (typ) is neither JWT nor at+jwt");
            }
        }
        Some(_) => return Err("typ is not a string"),
    }
    match claims.get("iat") {
        None => {}
        Some(Value::Number(n)) => match n.as_f64() {
            Some(iat) if iat <= (now + leeway) as f64 => {}
            _ => return Err("the token was issued in the future (iat)"),
        },
        Some(_) => return Err("iat is not a number"),
    }
    Ok(())
}

/// A base64url segment holding one JSON object in which no object, at any depth, names a
/// member twice.
fn strict_object(segment: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(segment.trim_end_matches('=')).ok()?;
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let Strict(value) = Strict::deserialize(&mut de).ok()?;
    de.end().ok()?;
    match value {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A JSON value parsed with duplicate member names refused.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value without duplicate member names")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if out.insert(key, value).is_some() {
                return Err(de::Error::custom("a member name appears twice"));
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(header: &str, claims: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn plain_tokens_pass() {
        for (h, c) in [
            (r#"{"alg":"HS256"}"#, r#"{"sub":"A"}"#),
            (r#"{"alg":"HS256","typ":"JWT"}"#, r#"{"iat":1800000000}"#),
            (r#"{"alg":"HS256","typ":"at+JWT"}"#, r#"{"iat":1800000029}"#),
            (
                r#"{"alg":"HS256","typ":"application/at+jwt"}"#,
                r#"{"a":{"b":1},"c":[{"b":2},{"b":3}]}"#,
            ),
            (r#"{"alg":"HS256","b64":true}"#, r#"{"iat":1.5e9}"#),
        ] {
            assert_eq!(check(&token(h, c), NOW, 30), Ok(()), "{h} {c}");
        }
    }

    #[test]
    fn what_rfc_8725_warns_of_is_refused() {
        for (h, c) in [
            (r#"{"alg":"HS256","crit":["exp"]}"#, "{}"),
            (r#"{"alg":"HS256","crit":[]}"#, "{}"),
            (r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#, "{}"),
            (r#"{"alg":"HS256","b64":false}"#, "{}"),
            (r#"{"alg":"HS256","typ":"JOSE"}"#, "{}"),
            (r#"{"alg":"HS256","typ":"secevent+jwt"}"#, "{}"),
            (r#"{"alg":"HS256","typ":1}"#, "{}"),
            (r#"{"alg":"HS256"}"#, r#"{"iat":1800000031}"#),
            (r#"{"alg":"HS256"}"#, r#"{"iat":"1800000000"}"#),
            (r#"{"alg":"HS256"}"#, r#"{"sub":"A","sub":"B"}"#),
            (r#"{"alg":"HS256"}"#, r#"{"a":{"b":1,"b":2}}"#),
            (r#"{"alg":"HS256","alg":"none"}"#, "{}"),
            (r#"{"alg":"HS256"}"#, r#"["not an object"]"#),
            (r#"{"alg":"HS256"}"#, r#"{"sub":"A"} trailing"#),
        ] {
            assert!(check(&token(h, c), NOW, 30).is_err(), "{h} {c}");
        }
        assert!(check("a.b", NOW, 30).is_err());
        assert!(check("a.b.c.d", NOW, 30).is_err());
    }
}
