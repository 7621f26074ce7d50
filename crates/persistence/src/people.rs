//! The people repository.

use chrono::{DateTime, Utc};
use mentorat_domain::{
    ExternalId,
    person::{Person, PersonRecord},
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Func, OnConflict},
};
use uuid::Uuid;

use crate::{
    Page,
    entity::person::{self, Column, Entity as People},
    error::StoreError,
};

pub use mentorat_domain::person::PersonFilter;

/// A row to write: the id it has (or gets), its record and its new revision.
#[derive(Debug, Clone)]
pub struct PersonWrite {
    pub id: Uuid,
    pub record: PersonRecord,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Person>, StoreError> {
    People::find_by_id(id)
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

pub async fn find_by_external_id(
    conn: &impl ConnectionTrait,
    external_id: &ExternalId,
) -> Result<Option<Person>, StoreError> {
    People::find()
        .filter(Column::ExternalId.eq(external_id.as_str()))
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

/// The people with these ids, in one query.
pub async fn find_many(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<Person>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    People::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// The people among `external_ids` who exist, in one query.
pub async fn find_by_external_ids(
    conn: &impl ConnectionTrait,
    external_ids: &[&str],
) -> Result<Vec<Person>, StoreError> {
    if external_ids.is_empty() {
        return Ok(Vec::new());
    }
    People::find()
        .filter(Column::ExternalId.is_in(external_ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// The external ids of every person the HRIS has deactivated (R11), in one statement over
/// the partial index `ix_people_inactive` (migration 000015): as many rows as there are
/// leavers, whatever the number of people.
pub async fn inactive_external_ids(conn: &impl ConnectionTrait) -> Result<Vec<String>, StoreError> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(crate::sql::statement(
            backend,
            // R14: an erased person stays refused, even if reactivated since (by pseudonym).
            "SELECT external_id FROM people WHERE NOT active \
             UNION SELECT external_id FROM people WHERE erased_at IS NOT NULL",
            Vec::new(),
        ))
        .await?;
    rows.iter()
        .map(|row| Ok(row.try_get::<String>("", "external_id")?))
        .collect()
}

/// Every manager link `(person, manager)`, by external id: two short strings a person, so
/// 100,000 people is a few megabytes.
pub async fn manager_links(
    conn: &impl ConnectionTrait,
) -> Result<Vec<(ExternalId, ExternalId)>, StoreError> {
    let rows: Vec<(String, Option<String>)> = People::find()
        .select_only()
        .column(Column::ExternalId)
        .column(Column::ManagerExternalId)
        .filter(Column::ManagerExternalId.is_not_null())
        .into_tuple()
        .all(conn)
        .await?;
    rows.into_iter()
        .filter_map(|(person, manager)| manager.map(|m| (person, m)))
        .map(
            |(person, manager)| match (ExternalId::parse(&person), ExternalId::parse(&manager)) {
                (Ok(p), Ok(m)) => Ok((p, m)),
                _ => Err(StoreError::Corrupt(format!(
                    "bad manager link {person} → {manager}"
                ))),
            },
        )
        .collect()
}

/// The manager links up the chain from `start` (`start`'s manager, theirs, …), by external
/// id: what a single upsert's cycle check needs, in one recursive statement, instead of
/// every link ([`manager_links`]). A chain that loops ends where it meets itself.
/// In the same statement: whether anyone names `person` as their manager (one such link,
/// returned with the chain), which tells whether a newcomer `person` closes a chain that
/// R1 must re-check.
pub async fn manager_chain(
    conn: &impl ConnectionTrait,
    start: &ExternalId,
    person: &ExternalId,
) -> Result<(Vec<(ExternalId, ExternalId)>, bool), StoreError> {
    let rows = conn
        .query_all_raw(crate::sql::statement(
            conn.get_database_backend(),
            "WITH RECURSIVE chain(external_id, manager_external_id) AS ( \
               SELECT external_id, manager_external_id FROM people \
                 WHERE external_id = $1 AND manager_external_id IS NOT NULL \
               UNION \
               SELECT p.external_id, p.manager_external_id FROM people p \
                 JOIN chain c ON p.external_id = c.manager_external_id \
                 WHERE p.manager_external_id IS NOT NULL \
             ) SELECT external_id, manager_external_id, 0 AS report FROM chain \
             UNION ALL \
             SELECT external_id, manager_external_id, 1 AS report FROM ( \
               SELECT external_id, manager_external_id FROM people \
                 WHERE manager_external_id = $2 LIMIT 1 \
             ) named",
            vec![
                start.as_str().to_owned().into(),
                person.as_str().to_owned().into(),
            ],
        ))
        .await?;
    let mut named = false;
    let mut links = Vec::with_capacity(rows.len());
    for row in &rows {
        let person: String = row.try_get("", "external_id")?;
        let manager: String = row.try_get("", "manager_external_id")?;
        let report: i32 = row.try_get("", "report")?;
        named |= report == 1;
        match (ExternalId::parse(&person), ExternalId::parse(&manager)) {
            (Ok(p), Ok(m)) => links.push((p, m)),
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "bad manager link {person} → {manager}"
                )));
            }
        }
    }
    Ok((links, named))
}

/// Insert or update many people in one statement (`ON CONFLICT (external_id) DO UPDATE`,
/// on SQLite and PostgreSQL alike). The id of an existing person never changes.
pub async fn upsert_many(
    conn: &impl ConnectionTrait,
    rows: &[PersonWrite],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    People::insert_many(rows.iter().map(|w| model_of(w, now)))
        .on_conflict(on_external_id())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Insert or update one person, and return them as the database now holds them: with the
/// id of the row that was there if a concurrent writer created it first (`RETURNING`, so
/// nobody reads them back).
pub async fn upsert_one(
    conn: &impl ConnectionTrait,
    row: &PersonWrite,
    now: DateTime<Utc>,
) -> Result<Person, StoreError> {
    let model = People::insert(model_of(row, now))
        .on_conflict(on_external_id())
        .exec_with_returning(conn)
        .await?;
    to_domain(model)
}

fn model_of(w: &PersonWrite, now: DateTime<Utc>) -> person::ActiveModel {
    let r = &w.record;
    person::ActiveModel {
        id: Set(w.id),
        external_id: Set(r.external_id.as_str().to_owned()),
        given_name: Set(r.given_name.clone()),
        family_name: Set(r.family_name.clone()),
        email: Set(r.email.clone()),
        department: Set(r.department.clone()),
        job_title: Set(r.job_title.clone()),
        site: Set(r.site.clone()),
        manager_external_id: Set(r
            .manager_external_id
            .as_ref()
            .map(|m| m.as_str().to_owned())),
        active: Set(r.active),
        revision: Set(w.revision),
        created_at: Set(w.created_at),
        updated_at: Set(now),
    }
}

/// An upsert by HRIS id updates every field the HRIS owns, and the revision.
fn on_external_id() -> OnConflict {
    OnConflict::column(Column::ExternalId)
        .update_columns([
            Column::GivenName,
            Column::FamilyName,
            Column::Email,
            Column::Department,
            Column::JobTitle,
            Column::Site,
            Column::ManagerExternalId,
            Column::Active,
            Column::Revision,
            Column::UpdatedAt,
        ])
        .to_owned()
}

/// For the rest of the transaction, plan every statement for its own values (PostgreSQL).
/// sqlx prepares every statement; after five runs PostgreSQL may switch to a generic plan
/// costed on the table as it was then. A table that grows from empty during an import of
/// 100,000 people would keep a sequential-scan plan for lookups by key, each chunk slower
/// than the last. Only bulk writes need it: normal requests keep their cached plans.
pub async fn plan_each_statement(conn: &impl ConnectionTrait) -> Result<(), StoreError> {
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        conn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
            .await?;
    }
    Ok(())
}

/// Refresh the planner's statistics of the people table after a bulk write. A table that
/// grew from a few rows to 100,000 in one import otherwise keeps plans costed for a few rows
/// until autovacuum comes by — and walks the management chain with sequential scans.
pub async fn refresh_statistics(conn: &impl ConnectionTrait) -> Result<(), StoreError> {
    let sql = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => "ANALYZE people",
        _ => "PRAGMA optimize",
    };
    conn.execute_unprepared(sql).await?;
    Ok(())
}

/// People by id (UUID v7: creation order), a page at a time.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &PersonFilter,
    after: Option<Uuid>,
    limit: u16,
) -> Result<Page<Person>, StoreError> {
    let mut query = People::find().order_by_asc(Column::Id);
    if let Some(d) = &filter.department {
        query = query.filter(Column::Department.eq(d.as_str()));
    }
    if let Some(s) = &filter.site {
        query = query.filter(Column::Site.eq(s.as_str()));
    }
    if let Some(a) = filter.active {
        query = query.filter(Column::Active.eq(a));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!(
            "%{}%",
            q.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let like = |column: Column| {
            Expr::expr(Func::lower(Expr::col(column)))
                .like(sea_orm::sea_query::LikeExpr::new(pattern.clone()).escape('\\'))
        };
        query = query.filter(
            Condition::any()
                .add(like(Column::GivenName))
                .add(like(Column::FamilyName))
                .add(like(Column::Email))
                .add(like(Column::ExternalId)),
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

pub(crate) fn to_domain(row: person::Model) -> Result<Person, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("person {}: bad {what}", row.id));
    let external_id = ExternalId::parse(&row.external_id).map_err(|_| corrupt("external_id"))?;
    let manager_external_id = row
        .manager_external_id
        .as_deref()
        .map(ExternalId::parse)
        .transpose()
        .map_err(|_| corrupt("manager_external_id"))?;
    Ok(Person {
        id: row.id,
        record: PersonRecord {
            external_id,
            given_name: row.given_name,
            family_name: row.family_name,
            email: row.email,
            department: row.department,
            job_title: row.job_title,
            site: row.site,
            manager_external_id,
            active: row.active,
        },
        revision: row.revision,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
