//! Stored answers to `POST` requests sent with an `Idempotency-Key` (API.md conventions), so
//! a connector's retry replays the first answer instead of creating twice.
//!
//! The design is Brandur Leach's for PostgreSQL: a key is **claimed** first, in a statement of
//! its own that every replica sees at once (the primary key makes the claim atomic); the work
//! then runs in the request's unit of work, and the answer is stored by [`complete`] **in that
//! same transaction**, so either both commit or neither does. A claim is a lease: its
//! `created_at` is the claim's time, and a claim older than the lease whose answer never came
//! (the process died, the connection dropped) may be taken over by a retry. `complete` and
//! `release` name the claim they hold, so a request that lost its lease can neither store
//! an answer nor free the key of the request that took it over.

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr,
};

use crate::entity::idempotency_key::{self, Column, Entity as Keys};
use crate::error::StoreError;

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    /// Header name/value pairs, as JSON text (`[["content-type","…"],…]`).
    pub headers: String,
    /// `None`: the answer is not kept — it carried a secret kept nowhere else, or words
    /// deleted since (a replay is refused).
    pub body: Option<String>,
    /// What the audit log records again at each replay (JSON, ids only), if the first
    /// request was audited.
    pub audit_trail: Option<String>,
    /// The canonical path of the resource the answer carries: a `PATCH` or `DELETE` of it
    /// destroys the body ([`destroy_answers_naming`]).
    pub resource: Option<String>,
}

/// What a new request with a key finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// First time (or the lease of a dead request ran out): the caller serves the request,
    /// then `complete`s or `release`s the key with this claim.
    Reserved(Claim),
    /// Same key, same request, finished before: replay this.
    Replay(StoredResponse),
    /// Same key, same request, finished before, but its answer is not kept (a secret, or
    /// words deleted since): it is not replayed, and not done again.
    Withheld,
    /// Same key, same request, still being served by another worker.
    InProgress,
    /// Same key, another request.
    Mismatch,
}

/// A held claim on a key: its time, which `complete` and `release` check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub subject: String,
    pub key: String,
    pub at: DateTime<Utc>,
}

/// Reserve `(subject, key)` for a request whose fingerprint is `request_hash`. A record older
/// than `expired_before` is forgotten first, so a key can be reused after its retention; a
/// claim without an answer older than `lease_before` is taken over.
pub async fn reserve(
    conn: &impl ConnectionTrait,
    subject: &str,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
    expired_before: DateTime<Utc>,
    lease_before: DateTime<Utc>,
) -> Result<Reservation, StoreError> {
    // Both databases keep microseconds: the claim must compare equal once stored.
    let now = now.trunc_subsecs(6);
    let claim = Claim {
        subject: subject.to_owned(),
        key: key.to_owned(),
        at: now,
    };
    Keys::delete_many()
        .filter(Column::Subject.eq(subject))
        .filter(Column::Key.eq(key))
        .filter(Column::CreatedAt.lt(expired_before))
        .exec(conn)
        .await?;
    let row = idempotency_key::ActiveModel {
        subject: Set(subject.to_owned()),
        key: Set(key.to_owned()),
        request_hash: Set(request_hash.to_owned()),
        response_status: Set(None),
        response_headers: Set(None),
        response_body: Set(None),
        audit_trail: Set(None),
        resource: Set(None),
        created_at: Set(now),
    };
    match Keys::insert(row).exec_without_returning(conn).await {
        Ok(_) => return Ok(Reservation::Reserved(claim)),
        Err(err) => match StoreError::from(err) {
            StoreError::Duplicate => {}
            other => return Err(other),
        },
    }
    let Some(existing) = Keys::find_by_id((subject.to_owned(), key.to_owned()))
        .one(conn)
        .await?
    else {
        // Released between our insert and our read: the other request failed; try again.
        return Ok(Reservation::InProgress);
    };
    if existing.request_hash != request_hash {
        return Ok(Reservation::Mismatch);
    }
    Ok(
        match (
            existing.response_status,
            existing.response_headers,
            existing.response_body,
        ) {
            (Some(_), _, None) => Reservation::Withheld,
            (Some(status), Some(headers), Some(body)) => Reservation::Replay(StoredResponse {
                status: u16::try_from(status).map_err(|_| {
                    StoreError::Corrupt(format!("idempotency status {status} out of range"))
                })?,
                headers,
                body: Some(body),
                audit_trail: existing.audit_trail,
                resource: existing.resource,
            }),
            _ if existing.created_at >= lease_before => Reservation::InProgress,
            // The request that claimed it died without an answer: take the claim over, once.
            _ => {
                let taken = Keys::update_many()
                    .col_expr(Column::CreatedAt, Expr::value(now))
                    .filter(Column::Subject.eq(subject))
                    .filter(Column::Key.eq(key))
                    .filter(Column::CreatedAt.eq(existing.created_at))
                    .filter(Column::ResponseStatus.is_null())
                    .exec(conn)
                    .await?;
                if taken.rows_affected == 1 {
                    Reservation::Reserved(claim)
                } else {
                    Reservation::InProgress
                }
            }
        },
    )
}

/// Keep the answer of a claimed request for later replays — in the transaction of its work.
/// `false` when the claim was lost (its lease ran out and a retry took it over): the work
/// must then be rolled back.
pub async fn complete(
    conn: &impl ConnectionTrait,
    claim: &Claim,
    response: &StoredResponse,
) -> Result<bool, StoreError> {
    let stored = Keys::update_many()
        .col_expr(
            Column::ResponseStatus,
            Expr::value(i32::from(response.status)),
        )
        .col_expr(
            Column::ResponseHeaders,
            Expr::value(response.headers.clone()),
        )
        .col_expr(Column::ResponseBody, Expr::value(response.body.clone()))
        .col_expr(
            Column::AuditTrail,
            Expr::value(response.audit_trail.clone()),
        )
        .col_expr(Column::Resource, Expr::value(response.resource.clone()))
        .filter(Column::Subject.eq(claim.subject.as_str()))
        .filter(Column::Key.eq(claim.key.as_str()))
        .filter(Column::CreatedAt.eq(claim.at))
        .filter(Column::ResponseStatus.is_null())
        .exec(conn)
        .await?;
    Ok(stored.rows_affected == 1)
}

/// Forget a claim whose request failed, so that a retry runs again. A claim whose answer
/// was stored stays: if the work committed after all (a `COMMIT` whose reply was lost), the
/// retry replays it instead of doing it twice.
pub async fn release(conn: &impl ConnectionTrait, claim: &Claim) -> Result<(), StoreError> {
    Keys::delete_many()
        .filter(Column::Subject.eq(claim.subject.as_str()))
        .filter(Column::Key.eq(claim.key.as_str()))
        .filter(Column::CreatedAt.eq(claim.at))
        .filter(Column::ResponseStatus.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// A replay never returns words deleted since (API.md): destroy the bodies of the answers
/// that carry `resource` (a canonical path), in the transaction that changes or deletes it.
/// The keys stay, answering `409` (not done again). Returns how many.
pub async fn destroy_answers_naming(
    conn: &impl ConnectionTrait,
    resource: &str,
) -> Result<u64, StoreError> {
    let result = Keys::update_many()
        .col_expr(Column::ResponseBody, Expr::value(Option::<String>::None))
        .filter(Column::Resource.eq(resource))
        .filter(Column::ResponseBody.is_not_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Delete every record created before `before`; returns how many.
pub async fn purge(conn: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, StoreError> {
    let result = Keys::delete_many()
        .filter(Column::CreatedAt.lt(before))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
