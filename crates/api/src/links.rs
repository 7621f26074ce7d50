//! Absolute links the service hands out (a calendar feed's address) are built from the
//! configured public URL (`MENTORAT_PUBLIC_URL`) — never from the request's `Host`,
//! `X-Forwarded-Host`, `X-Forwarded-Proto` or `Forwarded` headers, which any client can set
//! (a link to `javascript://attacker.example/…` handed to a victim is the attack).

use std::net::SocketAddr;

/// The service's public base URL: `http` or `https`, a host, an optional path; no
/// credentials, query or fragment. Kept without its trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        const SHAPE: &str = "must be an absolute http:// or https:// URL such as \
                             https://mentorat.example.org (a path may follow; no query, fragment \
                             or credentials)";
        let value = value.trim();
        if value.chars().any(|c| c.is_control() || c.is_whitespace())
            || !(value.starts_with("https://") || value.starts_with("http://"))
        {
            return Err(SHAPE);
        }
        let url = url::Url::parse(value).map_err(|_| SHAPE)?;
        let ok = matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some_and(|h| !h.is_empty())
            && url.username().is_empty()
            && url.password().is_none()
            && url.query().is_none()
            && url.fragment().is_none()
            && !value.contains(['?', '#']);
        if !ok {
            return Err(SHAPE);
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    /// The default: the address the server listens on, over plain HTTP.
    pub fn from_bind(addr: SocketAddr) -> Self {
        Self(format!("http://{addr}"))
    }

    /// The absolute address of a path of this service (`/api/v1/…`).
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_public_url_is_an_absolute_http_base() {
        let base = PublicUrl::parse("https://Mentorat.CHU.example/rh/").unwrap();
        assert_eq!(base.as_str(), "https://mentorat.chu.example/rh");
        assert_eq!(
            base.link("/api/v1/calendar/x.ics"),
            "https://mentorat.chu.example/rh/api/v1/calendar/x.ics"
        );
        assert_eq!(
            PublicUrl::parse("http://10.0.0.5:8080").unwrap().as_str(),
            "http://10.0.0.5:8080"
        );
        for bad in [
            "mentorat.example",
            "javascript://attacker.example/",
            "ftp://x.example",
            "https://",
            "https://u:p@x.example",
            "https://x.example/?a=1",
            "https://x.example/#top",
            "https://x.example/\r\nX: 1",
            "/relative",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            PublicUrl::from_bind("[::1]:8080".parse().unwrap()).as_str(),
            "http://[::1]:8080"
        );
    }
}
