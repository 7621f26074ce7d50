//! Stored answers to `POST` requests sent with an `Idempotency-Key` (API.md conventions), so
//! a connector's retry replays the first answer instead of creating twice.

use chrono::{DateTime, Utc};
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
    pub body: String,
    /// What the audit log records again at each replay (JSON, ids only), if the first
    /// request was audited.
    pub audit_trail: Option<String>,
}

/// What a new request with a key finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// First time: the caller serves the request, then `complete`s or `release`s the key.
    Reserved,
    /// Same key, same request, finished before: replay this.
    Replay(StoredResponse),
    /// Same key, same request, still being served by another worker.
    InProgress,
    /// Same key, another request.
    Mismatch,
}

/// Reserve `(subject, key)` for a request whose fingerprint is `request_hash`. A record older
/// than `expired_before` is forgotten first, so a key can be reused after its retention.
pub async fn reserve(
    conn: &impl ConnectionTrait,
    subject: &str,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
    expired_before: DateTime<Utc>,
) -> Result<Reservation, StoreError> {
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
        created_at: Set(now),
    };
    match Keys::insert(row).exec_without_returning(conn).await {
        Ok(_) => return Ok(Reservation::Reserved),
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
            (Some(status), Some(headers), Some(body)) => Reservation::Replay(StoredResponse {
                status: u16::try_from(status).map_err(|_| {
                    StoreError::Corrupt(format!("idempotency status {status} out of range"))
                })?,
                headers,
                body,
                audit_trail: existing.audit_trail,
            }),
            _ => Reservation::InProgress,
        },
    )
}

/// Keep the answer of a reserved request for later replays.
pub async fn complete(
    conn: &impl ConnectionTrait,
    subject: &str,
    key: &str,
    response: &StoredResponse,
) -> Result<(), StoreError> {
    Keys::update_many()
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
        .filter(Column::Subject.eq(subject))
        .filter(Column::Key.eq(key))
        .exec(conn)
        .await?;
    Ok(())
}

/// Forget a reservation whose request failed on our side, so that a retry runs again.
pub async fn release(
    conn: &impl ConnectionTrait,
    subject: &str,
    key: &str,
) -> Result<(), StoreError> {
    Keys::delete_many()
        .filter(Column::Subject.eq(subject))
        .filter(Column::Key.eq(key))
        .exec(conn)
        .await?;
    Ok(())
}

/// Delete every record created before `before`; returns how many.
pub async fn purge(conn: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, StoreError> {
    let result = Keys::delete_many()
        .filter(Column::CreatedAt.lt(before))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
