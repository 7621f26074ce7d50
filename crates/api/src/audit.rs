//! The audit log (R5): every read or write of a pair's content, every action of a
//! coordinator or admin, and every denied access — who, which operation, which resource,
//! when, how it ended. Never a body: the log knows ids and statuses only.

use actix_web::{
    Error, HttpMessage,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web,
};
use chrono::Utc;
use mentorat_domain::{Caller, Operation, Role};
use mentorat_persistence::{Db, audit};
use uuid::Uuid;

/// Put in the request by [`crate::auth::Authorized`]: the operation and who asked.
#[derive(Debug, Clone)]
pub struct Audited {
    pub operation: Operation,
    pub caller: Caller,
}

fn outcome(status: u16) -> &'static str {
    match status {
        200..=399 => "allowed",
        401 | 403 | 404 => "denied",
        400..=499 => "refused",
        _ => "failed",
    }
}

fn roles(caller: &Caller) -> String {
    caller
        .roles
        .iter()
        .map(Role::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// Record the request once its answer is known (after the handler, before the answer
/// leaves). A failure to record is logged and does not change the answer.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let db = req.app_data::<web::Data<Db>>().cloned();
    let res = next.call(req).await?;
    let audited = res.request().extensions().get::<Audited>().cloned();
    let (Some(db), Some(audited)) = (db, audited) else {
        return Ok(res);
    };
    let status = res.status().as_u16();
    let runs_programs = audited.caller.has(Role::Coordinator) || audited.caller.has(Role::Admin);
    let denied = matches!(status, 403 | 404);
    if !(audited.operation.touches_content() || runs_programs || denied) {
        return Ok(res);
    }
    let request = res.request();
    let info = request.match_info();
    let id = |name: &str| info.get(name).and_then(|v| Uuid::parse_str(v).ok());
    let route = request.match_pattern().unwrap_or_default();
    let pair_id = if route.starts_with("/api/v1/pairs/{id}") {
        id("id")
    } else {
        None
    };
    let resource_id = id("objective_id")
        .or_else(|| id("meeting_id"))
        .or_else(|| id("note_id"))
        .or_else(|| id("enrollment_id"))
        .or_else(|| id("id"));
    let event = audit::AuditEvent {
        id: Uuid::now_v7(),
        at: Utc::now(),
        actor: audited.caller.subject.as_str().to_owned(),
        roles: roles(&audited.caller),
        action: audited.operation.name(),
        method: request.method().as_str().to_owned(),
        route,
        resource_id,
        pair_id,
        status: i16::try_from(status).unwrap_or(i16::MAX),
        outcome: outcome(status).to_owned(),
        request_id: res
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    if let Err(err) = audit::append(db.conn(), event).await {
        tracing::warn!(error = %crate::problem::error_chain(&err), "could not write an audit event");
    }
    Ok(res)
}
