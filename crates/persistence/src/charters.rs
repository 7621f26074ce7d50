//! Charter versions of a program.

use chrono::{DateTime, Utc};
use mentorat_domain::enrollment::CharterVersion;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::{
    entity::charter_version::{self, Column, Entity as Versions},
    error::StoreError,
};

/// The current version number of a program's charter, if it has one.
pub async fn current_version(
    conn: &impl ConnectionTrait,
    program_id: Uuid,
) -> Result<Option<i32>, StoreError> {
    let version: Option<i32> = Versions::find()
        .select_only()
        .column(Column::Version)
        .filter(Column::ProgramId.eq(program_id))
        .order_by_desc(Column::Version)
        .limit(1)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(version)
}

/// The current charter version of each of these programs that has one, in one statement.
pub async fn current_versions(
    conn: &impl ConnectionTrait,
    program_ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, i32>, StoreError> {
    if program_ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let rows: Vec<(Uuid, Option<i32>)> = Versions::find()
        .select_only()
        .column(Column::ProgramId)
        .column_as(Column::Version.max(), "version")
        .filter(Column::ProgramId.is_in(program_ids.iter().copied()))
        .group_by(Column::ProgramId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(program, version)| version.map(|v| (program, v)))
        .collect())
}

pub async fn current(
    conn: &impl ConnectionTrait,
    program_id: Uuid,
) -> Result<Option<CharterVersion>, StoreError> {
    Ok(Versions::find()
        .filter(Column::ProgramId.eq(program_id))
        .order_by_desc(Column::Version)
        .one(conn)
        .await?
        .map(to_domain))
}

/// Add version `n + 1`. Two writers racing for the same `n + 1`: the primary key refuses
/// the second (`StoreError::Duplicate`); callers hold the program's lock (`programs::lock`).
pub async fn add(
    conn: &impl ConnectionTrait,
    program_id: Uuid,
    text: &str,
    created_by: &str,
    now: DateTime<Utc>,
) -> Result<CharterVersion, StoreError> {
    let version = current_version(conn, program_id).await?.unwrap_or(0) + 1;
    let row = charter_version::ActiveModel {
        program_id: Set(program_id),
        version: Set(version),
        text: Set(text.to_owned()),
        created_by: Set(created_by.to_owned()),
        created_at: Set(now),
    };
    Versions::insert(row).exec_without_returning(conn).await?;
    Ok(CharterVersion {
        program_id,
        version,
        text: text.to_owned(),
        created_at: now,
    })
}

fn to_domain(row: charter_version::Model) -> CharterVersion {
    CharterVersion {
        program_id: row.program_id,
        version: row.version,
        text: row.text,
        created_at: row.created_at,
    }
}
