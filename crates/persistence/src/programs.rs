//! The programs repository.

use chrono::{DateTime, Utc};
use mentorat_domain::{
    matching::MatchingWeights,
    program::{Program, ProgramSettings, ProgramStatus},
    request::MatchingMode,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::entity::program::{self, Column, Entity as Programs};
use crate::error::StoreError;

pub use mentorat_domain::program::ProgramFilter;

pub use crate::Page;

pub async fn insert(
    conn: &impl ConnectionTrait,
    id: Uuid,
    settings: &ProgramSettings,
    status: ProgramStatus,
    now: DateTime<Utc>,
) -> Result<Program, StoreError> {
    let row = program::ActiveModel {
        id: Set(id),
        name: Set(settings.name.clone()),
        description: Set(settings.description.clone()),
        starts_on: Set(settings.starts_on),
        ends_on: Set(settings.ends_on),
        status: Set(status.as_str().to_owned()),
        cadence_days: Set(settings.cadence_days),
        notice_hours: Set(settings.notice_hours),
        default_mentor_capacity: Set(settings.default_mentor_capacity),
        reminder_hours: Set(settings.reminder_hours),
        matching_weights: Set(None),
        matching_mode: Set(settings.matching_mode.as_str().to_owned()),
        revision: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Programs::insert(row).exec_without_returning(conn).await?;
    find(conn, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("program {id} vanished after insert")))
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Program>, StoreError> {
    Programs::find_by_id(id)
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

/// Programs in creation order (ids are UUID v7), `limit` at a time, after the id `after`.
/// The cost of a page does not grow with the table: it is an index range scan.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &ProgramFilter,
    after: Option<Uuid>,
    limit: u16,
) -> Result<Page<Program>, StoreError> {
    let mut query = Programs::find().order_by_asc(Column::Id);
    if let Some(status) = filter.status {
        query = query.filter(Column::Status.eq(status.as_str()));
    }
    if let Some(person) = filter.enrolled_person {
        query = query.filter(
            Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(crate::entity::enrollment::Column::ProgramId)
                    .from(crate::entity::enrollment::Entity)
                    .and_where(Expr::col(crate::entity::enrollment::Column::PersonId).eq(person))
                    .to_owned(),
            ),
        );
    }
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    let rows = query.limit(u64::from(limit) + 1).all(conn).await?;
    let (rows, next) = crate::cut(rows, limit, |r| r.id);
    let items = rows.into_iter().map(to_domain).collect::<Result<_, _>>()?;
    Ok(Page { items, next })
}

/// Write new settings and status if the program is still at `expected_revision`
/// (optimistic concurrency: two coordinators editing at once never lose an update).
pub async fn update(
    conn: &impl ConnectionTrait,
    id: Uuid,
    expected_revision: i32,
    settings: &ProgramSettings,
    status: ProgramStatus,
    now: DateTime<Utc>,
) -> Result<Program, StoreError> {
    let result = Programs::update_many()
        .col_expr(Column::Name, Expr::value(settings.name.clone()))
        .col_expr(
            Column::Description,
            Expr::value(settings.description.clone()),
        )
        .col_expr(Column::StartsOn, Expr::value(settings.starts_on))
        .col_expr(Column::EndsOn, Expr::value(settings.ends_on))
        .col_expr(Column::Status, Expr::value(status.as_str()))
        .col_expr(Column::CadenceDays, Expr::value(settings.cadence_days))
        .col_expr(Column::NoticeHours, Expr::value(settings.notice_hours))
        .col_expr(
            Column::DefaultMentorCapacity,
            Expr::value(settings.default_mentor_capacity),
        )
        .col_expr(Column::ReminderHours, Expr::value(settings.reminder_hours))
        .col_expr(
            Column::MatchingMode,
            Expr::value(settings.matching_mode.as_str()),
        )
        .col_expr(Column::Revision, Expr::value(expected_revision + 1))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Revision.eq(expected_revision))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(StoreError::StaleRevision);
    }
    find(conn, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("program {id} vanished after update")))
}

/// A program's weights as stored (a JSON object of the five weights).
pub fn weights_to_json(w: &MatchingWeights) -> String {
    serde_json::json!({
        "topic_overlap": w.topic_overlap,
        "shared_language": w.shared_language,
        "other_department": w.other_department,
        "same_site": w.same_site,
        "available": w.available,
    })
    .to_string()
}

pub fn weights_from_json(raw: &str) -> Option<MatchingWeights> {
    let v: serde_json::Value = serde_json::from_str(raw).ok()?;
    let get = |k: &str| v.get(k)?.as_u64().and_then(|n| u32::try_from(n).ok());
    Some(MatchingWeights {
        topic_overlap: get("topic_overlap")?,
        shared_language: get("shared_language")?,
        other_department: get("other_department")?,
        same_site: get("same_site")?,
        available: get("available")?,
    })
}

/// Write a program's matching weights (inside the PATCH that bumps its revision).
pub async fn set_matching_weights(
    conn: &impl ConnectionTrait,
    id: Uuid,
    weights: &MatchingWeights,
) -> Result<(), StoreError> {
    Programs::update_many()
        .col_expr(
            Column::MatchingWeights,
            Expr::value(if *weights == MatchingWeights::default() {
                None
            } else {
                Some(weights_to_json(weights))
            }),
        )
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

fn to_domain(row: program::Model) -> Result<Program, StoreError> {
    let status = ProgramStatus::parse(&row.status).ok_or_else(|| {
        StoreError::Corrupt(format!("program {} has status {:?}", row.id, row.status))
    })?;
    Ok(Program {
        id: row.id,
        settings: ProgramSettings {
            name: row.name,
            description: row.description,
            starts_on: row.starts_on,
            ends_on: row.ends_on,
            cadence_days: row.cadence_days,
            notice_hours: row.notice_hours,
            default_mentor_capacity: row.default_mentor_capacity,
            reminder_hours: row.reminder_hours,
            matching_mode: MatchingMode::parse(&row.matching_mode).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "program {} has matching_mode {:?}",
                    row.id, row.matching_mode
                ))
            })?,
        },
        status,
        matching_weights: match row.matching_weights.as_deref() {
            None => MatchingWeights::default(),
            Some(raw) => weights_from_json(raw).ok_or_else(|| {
                StoreError::Corrupt(format!("program {} has matching_weights {raw:?}", row.id))
            })?,
        },
        revision: row.revision,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Take the program's row lock until the transaction ends: writers of a program's numbered
/// things (its charter versions) go one after the other.
pub async fn lock(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    Programs::update_many()
        .col_expr(Column::UpdatedAt, Expr::col(Column::UpdatedAt))
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Take a shared lock on the program's row until the transaction ends: writers that copy
/// the program's charter version or cadence onto pairs (a proposal, a charter acceptance) go
/// after a writer that changes them (`lock`, `update`), and not after one another. A no-op on
/// SQLite (one writer at a time).
pub async fn lock_shared(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        conn.query_all_raw(crate::sql::statement(
            sea_orm::DbBackend::Postgres,
            "SELECT id FROM programs WHERE id = $1 FOR SHARE",
            vec![id.into()],
        ))
        .await?;
    }
    Ok(())
}
