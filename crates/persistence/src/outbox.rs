//! The transactional outbox: an event is written in the same transaction as the change it
//! announces, so it is never lost nor sent for a change that rolled back. Delivery (webhooks)
//! reads undelivered events in order. Payloads carry ids and metadata, never content (R5).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::{
    entity::outbox_event::{self, Column, Entity as Events},
    error::StoreError,
};

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    pub id: Uuid,
    pub kind: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Record an event (call inside the transaction of the change).
pub async fn record(
    conn: &impl ConnectionTrait,
    kind: &str,
    payload: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    Events::insert(outbox_event::ActiveModel {
        id: Set(id),
        kind: Set(kind.to_owned()),
        payload: Set(payload.to_string()),
        created_at: Set(now),
        delivered_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(id)
}

/// The oldest undelivered events, in the order they were written.
pub async fn undelivered(
    conn: &impl ConnectionTrait,
    limit: u64,
) -> Result<Vec<OutboxEvent>, StoreError> {
    read(conn, limit, true).await
}

/// The oldest events, dispatched or not, in the order they were written.
pub async fn all(conn: &impl ConnectionTrait, limit: u64) -> Result<Vec<OutboxEvent>, StoreError> {
    read(conn, limit, false).await
}

async fn read(
    conn: &impl ConnectionTrait,
    limit: u64,
    undelivered_only: bool,
) -> Result<Vec<OutboxEvent>, StoreError> {
    let mut query = Events::find();
    if undelivered_only {
        query = query.filter(Column::DeliveredAt.is_null());
    }
    query
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|row| {
            let payload = serde_json::from_str(&row.payload).map_err(|e| {
                StoreError::Corrupt(format!("outbox event {} payload: {e}", row.id))
            })?;
            Ok(OutboxEvent {
                id: row.id,
                kind: row.kind,
                payload,
                created_at: row.created_at,
                delivered_at: row.delivered_at,
            })
        })
        .collect()
}
