//! W3C Trace Context (<https://www.w3.org/TR/trace-context/>): the `traceparent` and
//! `tracestate` a caller sends make this request part of its trace. A malformed `traceparent`
//! is ignored (the request starts a trace of its own), as the recommendation says; a
//! `tracestate` is only kept beside a valid `traceparent`.

use actix_web::http::header::HeaderMap;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};

pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";

/// The trace a caller said this request belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub trace_id: TraceId,
    /// The caller's span: this request's parent.
    pub parent_id: SpanId,
    pub flags: TraceFlags,
    pub state: TraceState,
}

impl Incoming {
    /// The trace context of a request's headers, if it sent a valid one (exactly one
    /// `traceparent`: several are as good as a malformed one).
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let mut values = headers.get_all(TRACEPARENT);
        let value = values.next()?.to_str().ok()?;
        if values.next().is_some() {
            return None;
        }
        let (trace_id, parent_id, flags) = parse_traceparent(value)?;
        let state = tracestate_of(headers).unwrap_or_default();
        Some(Self {
            trace_id,
            parent_id,
            flags,
            state,
        })
    }

    /// The caller's span as a remote parent for OpenTelemetry.
    pub fn as_parent(&self) -> opentelemetry::Context {
        opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            self.trace_id,
            self.parent_id,
            self.flags,
            true,
            self.state.clone(),
        ))
    }
}

/// `version-traceid-parentid-flags`, lowercase hex. Version `00` is exactly 55 characters;
/// a later version may append fields after a `-` (read as version `00`); `ff` is invalid.
pub fn parse_traceparent(value: &str) -> Option<(TraceId, SpanId, TraceFlags)> {
    let value = value.trim_matches([' ', '\t']);
    let lower_hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let version = value.get(0..2)?;
    if !lower_hex(version) || version == "ff" {
        return None;
    }
    if version == "00" && value.len() != 55 {
        return None;
    }
    if value.len() > 55 && value.as_bytes().get(55) != Some(&b'-') {
        return None;
    }
    let bytes = value.as_bytes();
    if value.len() < 55 || bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
        return None;
    }
    let (trace, parent, flags) = (value.get(3..35)?, value.get(36..52)?, value.get(53..55)?);
    if !lower_hex(trace) || !lower_hex(parent) || !lower_hex(flags) {
        return None;
    }
    let trace_id = TraceId::from_hex(trace).ok()?;
    let parent_id = SpanId::from_hex(parent).ok()?;
    if trace_id == TraceId::INVALID || parent_id == SpanId::INVALID {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some((
        trace_id,
        parent_id,
        TraceFlags::new(flags) & TraceFlags::SAMPLED,
    ))
}

/// The `tracestate` list (several headers are one list, comma-joined); `None` when malformed.
fn tracestate_of(headers: &HeaderMap) -> Option<TraceState> {
    let joined = headers
        .get_all(TRACESTATE)
        .map(|v| v.to_str().ok())
        .collect::<Option<Vec<_>>>()?
        .join(",");
    if joined.len() > 512 {
        return None;
    }
    joined.parse::<TraceState>().ok()
}

/// A fresh trace id, for a request that came without a valid `traceparent` and is not
/// traced by OpenTelemetry (random, never all zeros).
pub fn fresh_trace_id() -> TraceId {
    loop {
        let id = TraceId::from_bytes(uuid::Uuid::new_v4().into_bytes());
        if id != TraceId::INVALID {
            return id;
        }
    }
}

/// A fresh span id: this request's own, when OpenTelemetry does not name one.
pub fn fresh_span_id() -> SpanId {
    loop {
        let id = SpanId::from_bytes(uuid::Uuid::new_v4().as_u64_pair().0.to_be_bytes());
        if id != SpanId::INVALID {
            return id;
        }
    }
}

/// The `traceparent` of this request's own span, for the answer.
pub fn traceparent(trace_id: TraceId, span_id: SpanId, flags: TraceFlags) -> String {
    format!("00-{trace_id}-{span_id}-{:02x}", flags.to_u8())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn the_recommendations_example_is_read() {
        let (trace, parent, flags) = parse_traceparent(VALID).unwrap();
        assert_eq!(trace.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(parent.to_string(), "00f067aa0ba902b7");
        assert!(flags.is_sampled());
        assert_eq!(traceparent(trace, parent, flags), VALID);
    }

    #[test]
    fn malformed_ones_are_ignored() {
        for bad in [
            "",
            "00",
            "garbage",
            // upper case, all-zero ids, version ff, wrong lengths, wrong separators
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
            "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01é",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_later_version_may_carry_more_fields() {
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes";
        assert!(parse_traceparent(later).is_some());
        let glued = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01what";
        assert!(parse_traceparent(glued).is_none());
    }

    #[test]
    fn fresh_ids_are_valid_and_differ() {
        assert_ne!(fresh_trace_id(), fresh_trace_id());
        assert_ne!(fresh_span_id(), SpanId::INVALID);
    }
}
