//! A request body must keep arriving. actix's `client_request_timeout` bounds the headers
//! only: a client that announces `Content-Length: 100` and sends five bytes would hold its
//! connection, a worker's attention and any connection it reserved for minutes. Every body
//! is read through a deadline instead: when no byte arrives for the body timeout
//! (`MENTORAT_BODY_TIMEOUT`, 10 s by default) the read fails, the request is answered
//! `408 request_timeout` and the connection closed. The deadline is between two reads, like
//! nginx's `client_body_timeout`: a large import on a slow link is fine as long as it moves.
//!
//! The middleware sits outside the Idempotency-Key one, which reads the body itself, so each
//! reader of a body — that middleware, `ValidJson`, the CSV import — meets the same deadline.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use actix_web::{
    Error, HttpMessage,
    body::MessageBody,
    dev::{Payload, ServiceRequest, ServiceResponse},
    error::PayloadError,
    middleware::Next,
    web,
};
use bytes::Bytes;
use futures_util::Stream;

/// The default of `MENTORAT_BODY_TIMEOUT`.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request body may go without a byte arriving.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

/// The error a stalled body's stream ends with; `is_stalled` recognizes it.
fn stalled() -> PayloadError {
    PayloadError::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "the request body stopped arriving",
    ))
}

/// Whether a body read failed because the body stopped arriving (see `stalled`).
pub fn is_stalled(err: &PayloadError) -> bool {
    matches!(err, PayloadError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut)
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let timeout = req
        .app_data::<web::Data<BodyTimeout>>()
        .map_or(DEFAULT_BODY_TIMEOUT, |t| t.0);
    match req.take_payload() {
        Payload::None => {}
        payload => req.set_payload(Payload::Stream {
            payload: Box::pin(Deadline::new(payload, timeout)),
        }),
    }
    next.call(req).await
}

/// A body stream that fails with `stalled()` when no chunk comes within `timeout`.
struct Deadline {
    inner: Payload,
    timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
    done: bool,
}

impl Deadline {
    fn new(inner: Payload, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            done: false,
        }
    }
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let next = tokio::time::Instant::now() + this.timeout;
                this.sleep.as_mut().reset(next);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(other) => {
                this.done = true;
                Poll::Ready(other)
            }
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.done = true;
                    Poll::Ready(Some(Err(stalled())))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn a_body_that_keeps_coming_is_read_and_one_that_stalls_fails() {
        let (mut sender, payload) = actix_http::h1::Payload::create(false);
        let mut body = Deadline::new(Payload::from(payload), Duration::from_millis(100));
        sender.feed_data(Bytes::from_static(b"{\"name\""));
        let first = body.next().await;
        assert!(matches!(first, Some(Ok(ref b)) if b.as_ref() == b"{\"name\""));
        let started = std::time::Instant::now();
        let second = body.next().await;
        assert!(
            matches!(second, Some(Err(ref e)) if is_stalled(e)),
            "{second:?}"
        );
        assert!(started.elapsed() >= Duration::from_millis(90));
        assert!(body.next().await.is_none());
        drop(sender);
    }
}
