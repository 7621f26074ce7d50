//! Calendar feeds (RFC 5545): `POST /me/calendar-feed` gives a secret URL, `GET
//! /calendar/{token}.ics` lists the caller's meetings — time, mode, the other member's name,
//! cancellations as `STATUS:CANCELLED`; never a place, an agenda or a summary (a calendar is
//! shared with apps and devices the pair does not control). `DELETE` revokes it.

use actix_web::{HttpResponse, delete, get, http::header, post, web};
use chrono::{DateTime, Utc};
use mentorat_domain::meeting::{MeetingMode, MeetingStatus};
use mentorat_service::calendar::{self as use_case, FeedEntry};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    auth::{Authorized, op},
    links::PublicUrl,
    problem::ApiError,
    unit::RequestDb,
};

/// The secret address of the caller's calendar; shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarFeedDto {
    /// Subscribe to it in any calendar app; anyone holding it reads your meeting times.
    #[schema(
        example = "https://mentorat.example/api/v1/calendar/3q2-7wEjZJ0uTAfBpQkz5y0bFh6F2wqXvRk1JbqkKpA.ics"
    )]
    pub url: String,
}

/// Create (or replace) the caller's calendar feed: the previous URL stops working. The URL is
/// built from the service's configured public address (`MENTORAT_PUBLIC_URL`), never from the
/// request's `Host` or `X-Forwarded-*` / `Forwarded` headers.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses((status = 201, body = CalendarFeedDto))
)]
#[post("/me/calendar-feed")]
pub async fn create_calendar_feed(
    auth: Authorized<op::ManageCalendarFeed>,
    db: RequestDb,
    public_url: web::Data<PublicUrl>,
) -> Result<HttpResponse, ApiError> {
    let token = use_case::create(&db, &auth.caller).await?;
    let url = public_url.link(&format!("/api/v1/calendar/{token}.ics"));
    let mut res = HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CalendarFeedDto { url });
    // The secret is kept as a hash only: never in the idempotency store either.
    crate::idempotency::not_kept(&mut res);
    Ok(res)
}

/// Revoke the caller's calendar feed (`404` when there is none).
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses((status = 204, description = "Revoked"))
)]
#[delete("/me/calendar-feed")]
pub async fn revoke_calendar_feed(
    auth: Authorized<op::ManageCalendarFeed>,
    db: RequestDb,
) -> Result<HttpResponse, ApiError> {
    use_case::revoke(&db, &auth.caller).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The meetings of the feed's owner as an iCalendar file (no token: the secret in the path
/// is the credential; `404` once revoked).
#[utoipa::path(
    tag = "me",
    params(("token" = String, Path, description = "The feed's secret")),
    responses((status = 200, content_type = "text/calendar", body = String, description = "RFC 5545 calendar"))
)]
#[get("/calendar/{token}.ics")]
pub async fn calendar_feed(
    db: RequestDb,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    if token.len() > 64
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::NotFound("no such calendar".into()));
    }
    let entries = use_case::feed(&db, &token).await.map_err(|e| match e {
        mentorat_service::ServiceError::NotFound => ApiError::NotFound("no such calendar".into()),
        other => other.into(),
    })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/calendar; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(ics(&entries, Utc::now())))
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// RFC 5545 §3.3.11: backslash, semicolon, comma and newline are escaped in TEXT.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// RFC 5545 §3.1: lines of at most 75 octets, folded with CRLF and a space, never inside a
/// UTF-8 character.
fn push_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

fn mode(m: MeetingMode) -> &'static str {
    match m {
        MeetingMode::InPerson => "in person",
        MeetingMode::Video => "video",
        MeetingMode::Phone => "phone",
    }
}

/// The calendar document.
pub fn ics(entries: &[FeedEntry], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Mentorat//Mentorat API//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:Mentorat",
    ] {
        push_line(&mut out, line);
    }
    for FeedEntry { meeting, with } in entries {
        let name = with
            .as_ref()
            .map(|p| format!("{} {}", p.record.given_name, p.record.family_name))
            .unwrap_or_else(|| "your pair".into());
        let status = match meeting.status {
            MeetingStatus::Cancelled => "CANCELLED",
            _ => "CONFIRMED",
        };
        push_line(&mut out, "BEGIN:VEVENT");
        push_line(&mut out, &format!("UID:{}@mentorat", meeting.id));
        push_line(&mut out, &format!("DTSTAMP:{}", stamp(now)));
        push_line(
            &mut out,
            &format!("DTSTART:{}", stamp(meeting.plan.starts_at)),
        );
        push_line(
            &mut out,
            &format!("DTEND:{}", stamp(meeting.plan.ends_at())),
        );
        push_line(
            &mut out,
            &format!(
                "SUMMARY:{}",
                escape(&format!(
                    "Mentoring ({}) with {name}",
                    mode(meeting.plan.mode)
                ))
            ),
        );
        push_line(&mut out, &format!("STATUS:{status}"));
        push_line(&mut out, &format!("SEQUENCE:{}", meeting.revision - 1));
        push_line(
            &mut out,
            &format!("LAST-MODIFIED:{}", stamp(meeting.updated_at)),
        );
        push_line(&mut out, "TRANSP:OPAQUE");
        push_line(&mut out, "END:VEVENT");
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_long_lines_fold_between_characters() {
        assert_eq!(escape("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
        let mut out = String::new();
        let long = format!("SUMMARY:{}", "é".repeat(60));
        push_line(&mut out, &long);
        for line in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{} octets", line.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded.trim_end(), long);
    }
}
