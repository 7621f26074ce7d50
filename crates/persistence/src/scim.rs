//! What SCIM provisioning keeps beside the people table (`scim_users`, migration 000019):
//! each User's `externalId` and whether it was deleted (deprovisioned) through SCIM; and
//! the offset pages SCIM lists are read in (RFC 7644 §3.4.2.4).

use std::collections::{HashMap, HashSet};

use mentorat_domain::person::Person;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Value,
    sea_query::{Alias, Expr, ExprTrait, Query},
};
use uuid::Uuid;

use crate::{
    entity::person::{Column, Entity as People},
    error::StoreError,
    people::to_domain,
    sql::statement,
};

/// What SCIM keeps of a person.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScimState {
    pub external_id: Option<String>,
    pub deprovisioned: bool,
    /// The multi-valued attributes as sent, and `active` unless unassigned (000022); `Null`
    /// when none were written through SCIM since.
    pub attributes: serde_json::Value,
}

/// What SCIM keeps of these people, those it keeps anything of.
pub async fn states(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, ScimState>, StoreError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT person_id, external_id, deprovisioned, attributes FROM scim_users WHERE person_id IN ({})",
            placeholders.join(", ")
        );
        let values = chunk.iter().map(|id| Value::from(*id)).collect();
        let rows = conn
            .query_all_raw(statement(conn.get_database_backend(), &sql, values))
            .await?;
        for row in rows {
            out.insert(
                row.try_get::<Uuid>("", "person_id")?,
                ScimState {
                    external_id: row.try_get::<Option<String>>("", "external_id")?,
                    deprovisioned: row.try_get::<bool>("", "deprovisioned")?,
                    attributes: row
                        .try_get::<Option<String>>("", "attributes")?
                        .and_then(|a| serde_json::from_str(&a).ok())
                        .unwrap_or(serde_json::Value::Null),
                },
            );
        }
    }
    Ok(out)
}

/// A person (re)provisioned through SCIM: their `externalId` (or none), the attributes kept
/// as sent, not deprovisioned.
pub async fn provisioned(
    conn: &impl ConnectionTrait,
    person: Uuid,
    external_id: Option<&str>,
    attributes: &serde_json::Value,
) -> Result<(), StoreError> {
    conn.execute_raw(statement(
        conn.get_database_backend(),
        "INSERT INTO scim_users (person_id, external_id, deprovisioned, attributes) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (person_id) DO UPDATE SET external_id = excluded.external_id, \
         deprovisioned = excluded.deprovisioned, attributes = excluded.attributes",
        vec![
            person.into(),
            external_id.map(str::to_owned).into(),
            false.into(),
            attributes.to_string().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// A person deleted through SCIM: SCIM answers `404` for them until provisioned again.
pub async fn deprovisioned(conn: &impl ConnectionTrait, person: Uuid) -> Result<(), StoreError> {
    conn.execute_raw(statement(
        conn.get_database_backend(),
        "INSERT INTO scim_users (person_id, external_id, deprovisioned) VALUES ($1, $2, $3) \
         ON CONFLICT (person_id) DO UPDATE SET deprovisioned = excluded.deprovisioned",
        vec![person.into(), Option::<String>::None.into(), true.into()],
    ))
    .await?;
    Ok(())
}

/// Which of these people were deleted through SCIM.
pub async fn deprovisioned_among(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashSet<Uuid>, StoreError> {
    Ok(states(conn, ids)
        .await?
        .into_iter()
        .filter(|(_, s)| s.deprovisioned)
        .map(|(id, _)| id)
        .collect())
}

/// Which of these people SCIM shows no more: deleted through it, or erased (R14: an erased
/// person is nobody's user; their row stays only as a pseudonym for the tallies).
pub async fn hidden_among(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashSet<Uuid>, StoreError> {
    let mut hidden = deprovisioned_among(conn, ids).await?;
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT id FROM people WHERE erased_at IS NOT NULL AND id IN ({})",
            placeholders.join(", ")
        );
        let values = chunk.iter().map(|id| Value::from(*id)).collect();
        hidden.extend(crate::query_ids(conn, &sql, values).await?);
    }
    Ok(hidden)
}

/// The people whose `externalId` is this one.
pub async fn people_with_external_id(
    conn: &impl ConnectionTrait,
    external_id: &str,
) -> Result<Vec<Uuid>, StoreError> {
    crate::query_ids(
        conn,
        "SELECT person_id AS id FROM scim_users WHERE external_id = $1 AND deprovisioned = $2 \
         ORDER BY person_id",
        vec![external_id.into(), false.into()],
    )
    .await
}

/// Every person SCIM shows (all but those deleted through it or erased), in creation order: `count`
/// of them from the 0-based `offset`, and how many there are in all.
pub async fn page(
    conn: &impl ConnectionTrait,
    offset: u64,
    count: u64,
) -> Result<(u64, Vec<Person>), StoreError> {
    let deleted = Query::select()
        .column(Alias::new("person_id"))
        .from(Alias::new("scim_users"))
        .and_where(Expr::col(Alias::new("deprovisioned")).eq(true))
        .to_owned();
    let shown = || {
        People::find()
            .filter(Expr::col(Column::Id).not_in_subquery(deleted.clone()))
            .filter(Expr::cust("erased_at IS NULL"))
    };
    let total = shown().count(conn).await?;
    if count == 0 {
        return Ok((total, Vec::new()));
    }
    let rows = shown()
        .order_by_asc(Column::Id)
        .offset(offset)
        .limit(count)
        .all(conn)
        .await?;
    let people = rows.into_iter().map(to_domain).collect::<Result<_, _>>()?;
    Ok((total, people))
}

/// The people with these ids, in creation order.
pub async fn people(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<Person>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    People::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// How [`lock_person`] names a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonKey<'a> {
    Id(Uuid),
    ExternalId(&'a str),
}

/// Take the row lock of a person until the transaction ends, by id or by HRIS id (as
/// `crate::locks` does for pairs); `false` when there is no such person. A SCIM write reads
/// the user, applies the request and writes it back: with the row locked before the read,
/// two writes of one user go one after the other and neither loses the other's change
/// (PostgreSQL's READ COMMITTED reads what the first committed once the lock is had; SQLite
/// has one writer at a time).
pub async fn lock_person(
    conn: &impl ConnectionTrait,
    person: PersonKey<'_>,
) -> Result<bool, StoreError> {
    let (sql, value): (&str, Value) = match person {
        PersonKey::Id(id) => (
            "UPDATE people SET revision = revision WHERE id = $1",
            id.into(),
        ),
        PersonKey::ExternalId(e) => (
            "UPDATE people SET revision = revision WHERE external_id = $1",
            e.to_owned().into(),
        ),
    };
    let done = conn
        .execute_raw(statement(conn.get_database_backend(), sql, vec![value]))
        .await?;
    Ok(done.rows_affected() > 0)
}
