//! The answers actix-http writes by itself, below every middleware — `400` for a request it
//! cannot parse (a malformed request line or header), `431` for a head over its buffer, `408`
//! when the head does not arrive in time — go out with an empty body. They become problem
//! documents like every other error: the connection's stream is wrapped, and a response head
//! of one of those statuses with `content-length: 0` and no `content-type` (which no answer of
//! ours has: `telemetry::ensure_problem` gives every error a body) is rewritten as it is
//! written. The connection closes after them anyway.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll, ready},
};

use actix_web::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::problem::{PROBLEM_JSON, generic_for, problem};

/// A connection whose framework-written error answers are problem documents.
pub struct ProblemStream<T> {
    inner: T,
    /// Bytes of a rewritten answer not yet written.
    pending: Vec<u8>,
    written: usize,
}

impl<T> ProblemStream<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }
}

/// The problem document answer that replaces a bare framework answer, if `buf` starts with one.
fn rewrite(buf: &[u8]) -> Option<Vec<u8>> {
    let status = match buf.get(..12)? {
        b"HTTP/1.1 400" | b"HTTP/1.0 400" => StatusCode::BAD_REQUEST,
        b"HTTP/1.1 408" | b"HTTP/1.0 408" => StatusCode::REQUEST_TIMEOUT,
        b"HTTP/1.1 431" | b"HTTP/1.0 431" => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        _ => return None,
    };
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let headers: Vec<&str> = lines.collect();
    let named = |h: &str, name: &str| {
        h.split_once(':')
            .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
    };
    let empty = headers.iter().any(|h| {
        named(h, "content-length") && h.split_once(':').is_some_and(|(_, v)| v.trim() == "0")
    });
    if !empty || headers.iter().any(|h| named(h, "content-type")) {
        return None;
    }
    let (code, title, detail) = generic_for(status);
    let body =
        serde_json::to_vec(&problem(status, code, title, detail.to_owned(), Vec::new())).ok()?;
    let mut out = Vec::with_capacity(end + body.len() + 200);
    out.extend_from_slice(status_line.as_bytes());
    out.extend_from_slice(b"\r\n");
    for h in headers.iter().filter(|h| !named(h, "content-length")) {
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("content-type: {PROBLEM_JSON}\r\n").as_bytes());
    out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    out.extend_from_slice(b"x-content-type-options: nosniff\r\ncache-control: no-store\r\n\r\n");
    out.extend_from_slice(&body);
    out.extend_from_slice(&buf[end + 4..]);
    Some(out)
}

impl<T: AsyncWrite + Unpin> ProblemStream<T> {
    /// Write out what is left of a rewritten answer.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemStream<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemStream<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        if let Some(replacement) = rewrite(buf) {
            this.pending = replacement;
            this.written = 0;
            // Taken whole; what the socket does not take now goes out on the next write,
            // flush or shutdown.
            if let Poll::Ready(Err(e)) = this.drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn bare_framework_errors_become_problems_and_nothing_else_changes() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(rewrite(bare).unwrap()).unwrap();
        assert!(
            out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{out}"
        );
        assert!(out.contains("\r\nconnection: close\r\n"));
        assert!(out.contains("content-type: application/problem+json\r\n"));
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let doc: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(doc["status"], 431);
        assert_eq!(doc["code"], "request_header_fields_too_large");
        for untouched in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\ncontent-type: application/problem+json\r\n\r\n{\"status\":4}"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n",
            b"{\"HTTP/1.1 400\"}",
        ] {
            assert!(rewrite(untouched).is_none());
        }
    }
}
