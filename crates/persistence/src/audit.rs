//! The audit log: who did what to which resource, when, and how it ended — never the content.
//! Append-only: the database refuses updates and deletes (triggers of migration 7).

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::{
    Page,
    entity::audit_event::{self, Column, Entity as Events},
    error::StoreError,
};

pub use mentorat_domain::audit::AuditEvent;

pub async fn append(conn: &impl ConnectionTrait, event: AuditEvent) -> Result<(), StoreError> {
    append_many(conn, vec![event]).await
}

/// Several events in one multi-row `INSERT` (one commit for many requests: group commit).
pub async fn append_many(
    conn: &impl ConnectionTrait,
    events: Vec<AuditEvent>,
) -> Result<(), StoreError> {
    // 500 rows a statement (12 parameters each: far below PostgreSQL's 65,535 and SQLite's
    // 32,766); an event already written — a batch whose COMMIT succeeded but whose answer was
    // lost, sent again — is skipped, never a refusal that would block every later batch.
    let mut events = events.into_iter().peekable();
    while events.peek().is_some() {
        let chunk: Vec<_> = events.by_ref().take(500).map(row).collect();
        Events::insert_many(chunk)
            .on_conflict_do_nothing_on([audit_event::Column::Id])
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

fn row(event: AuditEvent) -> audit_event::ActiveModel {
    audit_event::ActiveModel {
        id: Set(event.id),
        at: Set(event.at),
        actor: Set(event.actor),
        roles: Set(event.roles),
        action: Set(event.action),
        method: Set(event.method),
        route: Set(event.route),
        resource_id: Set(event.resource_id),
        pair_id: Set(event.pair_id),
        status: Set(event.status),
        outcome: Set(event.outcome),
        request_id: Set(event.request_id),
    }
}

pub use mentorat_domain::audit::AuditFilter;

/// Newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &AuditFilter,
    before: Option<Uuid>,
    limit: u16,
) -> Result<Page<AuditEvent>, StoreError> {
    let mut query = Events::find().order_by_desc(Column::Id);
    if let Some(a) = &filter.actor {
        query = query.filter(Column::Actor.eq(a.as_str()));
    }
    if let Some(r) = filter.resource_id {
        query = query.filter(Column::ResourceId.eq(r));
    }
    if let Some(p) = filter.pair_id {
        query = query.filter(Column::PairId.eq(p));
    }
    if let Some(o) = &filter.outcome {
        query = query.filter(Column::Outcome.eq(o.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    let rows = query.limit(u64::from(limit) + 1).all(conn).await?;
    let (rows, next) = crate::cut(rows, limit, |r| r.id);
    let items = rows
        .into_iter()
        .map(|r| AuditEvent {
            id: r.id,
            at: r.at,
            actor: r.actor,
            roles: r.roles,
            action: r.action,
            method: r.method,
            route: r.route,
            resource_id: r.resource_id,
            pair_id: r.pair_id,
            status: r.status,
            outcome: r.outcome,
            request_id: r.request_id,
        })
        .collect();
    Ok(Page { items, next })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Db;

    /// SQLite in memory, and PostgreSQL too when `MENTORAT_TEST_DATABASE_URL` names a server
    /// (a database of its own, dropped after).
    async fn databases() -> Vec<(Db, Option<(String, String)>)> {
        let keys = || crate::Keyring::single(&[7; 32]);
        let sqlite = Db::connect("sqlite::memory:", keys()).await.unwrap();
        sqlite.migrate().await.unwrap();
        let mut out = vec![(sqlite, None)];
        if let Ok(url) = std::env::var("MENTORAT_TEST_DATABASE_URL") {
            let admin = Db::connect(&url, keys()).await.unwrap();
            let name = format!("mentorat_test_{}", Uuid::now_v7().simple());
            admin
                .conn()
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let base = url.rsplit_once('/').unwrap().0;
            let db = Db::connect(&format!("{base}/{name}"), keys())
                .await
                .unwrap();
            db.migrate().await.unwrap();
            out.push((db, Some((url, name))));
        }
        out
    }

    async fn drop_database(db: Db, admin: Option<(String, String)>) {
        db.close().await.unwrap();
        if let Some((url, name)) = admin {
            let admin = Db::connect(&url, crate::Keyring::single(&[7; 32]))
                .await
                .unwrap();
            admin
                .conn()
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                .await
                .unwrap();
        }
    }

    fn event(n: usize) -> AuditEvent {
        AuditEvent {
            id: Uuid::now_v7(),
            at: chrono::Utc::now(),
            actor: format!("E{n}"),
            roles: String::new(),
            action: "read_pair".into(),
            method: "GET".into(),
            route: "/api/v1/pairs/{id}".into(),
            resource_id: None,
            pair_id: None,
            status: 200,
            outcome: "allowed".into(),
            request_id: None,
        }
    }

    async fn count(db: &Db) -> i64 {
        Events::find().count(db.conn()).await.unwrap() as i64
    }

    use sea_orm::PaginatorTrait;

    /// 6,000 events (12 parameters each: 72,000, over both databases' bind limits) in one
    /// call, as the writer's retry list can grow while the database is away.
    #[tokio::test]
    async fn a_long_list_of_events_is_written_in_statements_under_the_bind_limit() {
        for (db, admin) in databases().await {
            let events: Vec<AuditEvent> = (0..6_000).map(event).collect();
            append_many(db.conn(), events).await.unwrap();
            assert_eq!(count(&db).await, 6_000);
            drop_database(db, admin).await;
        }
    }

    /// A batch whose COMMIT succeeded but whose answer was lost is sent again with the next
    /// one: the rows already there are skipped, the new ones written, nothing refused.
    #[tokio::test]
    async fn events_already_written_are_skipped_not_refused() {
        for (db, admin) in databases().await {
            let first: Vec<AuditEvent> = (0..3).map(event).collect();
            append_many(db.conn(), first.clone()).await.unwrap();
            let mut again = first;
            again.extend((3..5).map(event));
            append_many(db.conn(), again).await.unwrap();
            assert_eq!(count(&db).await, 5);
            drop_database(db, admin).await;
        }
    }
}
