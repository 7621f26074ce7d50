//! Requests in flight, so that a stop can say whether it cut any: the server stops accepting,
//! in-flight requests get the grace period to finish, and a request still running when the
//! grace runs out is dropped by its worker — counted here as cut.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use actix_web::{
    Error,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web,
};

#[derive(Debug, Default)]
struct Counts {
    active: AtomicUsize,
    stopping: AtomicBool,
    cut: AtomicUsize,
}

/// Shared by every worker of a server.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<Counts>);

impl InFlight {
    /// The stop has begun: from now on a request dropped before its answer was cut.
    pub fn stopping(&self) {
        self.0.stopping.store(true, Ordering::SeqCst);
    }

    pub fn active(&self) -> usize {
        self.0.active.load(Ordering::SeqCst)
    }

    /// Requests dropped unanswered since the stop began.
    pub fn cut(&self) -> usize {
        self.0.cut.load(Ordering::SeqCst)
    }
}

/// One request's presence; dropped unanswered during a stop, it counts as cut.
struct Presence {
    counts: Arc<Counts>,
    answered: bool,
}

impl Drop for Presence {
    fn drop(&mut self) {
        self.counts.active.fetch_sub(1, Ordering::SeqCst);
        if !self.answered && self.counts.stopping.load(Ordering::SeqCst) {
            self.counts.cut.fetch_add(1, Ordering::SeqCst);
        }
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(inflight) = req.app_data::<web::Data<InFlight>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    inflight.0.active.fetch_add(1, Ordering::SeqCst);
    let mut presence = Presence {
        counts: inflight.0.clone(),
        answered: false,
    };
    let res = next
        .call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body);
    presence.answered = true;
    res
}
