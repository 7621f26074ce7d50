//! `mentorat token`: mint a development token signed with the configured HS256 secret.

use chrono::{Duration, Utc};
use jsonwebtoken::{EncodingKey, Header, encode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub subject: String,
    pub roles: Vec<String>,
    pub ttl: Duration,
}

pub fn mint(
    secret: &SecretString,
    issuer: &str,
    audience: &str,
    subject_claim: &str,
    request: &TokenRequest,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = Utc::now();
    let mut claims = json!({
        "iss": issuer,
        "aud": audience,
        "iat": now.timestamp(),
        "nbf": now.timestamp(),
        "exp": (now + request.ttl).timestamp(),
        "roles": request.roles,
    });
    claims[subject_claim] = json!(request.subject);
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.expose_secret().as_bytes()),
    )
}
