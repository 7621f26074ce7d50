//! What SCIM provisioning keeps beside the people table: each User's `externalId`
//! (migration 000019), and the offset pages SCIM lists are read in (RFC 7644 §3.4.2.4).

use std::collections::HashMap;

use mentorat_domain::person::Person;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Value,
};
use uuid::Uuid;

use crate::{
    entity::person::{Column, Entity as People},
    error::StoreError,
    people::to_domain,
    sql::statement,
};

/// The `externalId`s of these people, those that have one.
pub async fn external_ids(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, String>, StoreError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT person_id, external_id FROM scim_external_ids WHERE person_id IN ({})",
            placeholders.join(", ")
        );
        let values = chunk.iter().map(|id| Value::from(*id)).collect();
        let rows = conn
            .query_all_raw(statement(conn.get_database_backend(), &sql, values))
            .await?;
        for row in rows {
            out.insert(
                row.try_get::<Uuid>("", "person_id")?,
                row.try_get::<String>("", "external_id")?,
            );
        }
    }
    Ok(out)
}

/// Set (or, with `None`, forget) a person's `externalId`.
pub async fn set_external_id(
    conn: &impl ConnectionTrait,
    person: Uuid,
    external_id: Option<&str>,
) -> Result<(), StoreError> {
    let backend = conn.get_database_backend();
    conn.execute_raw(statement(
        backend,
        "DELETE FROM scim_external_ids WHERE person_id = $1",
        vec![person.into()],
    ))
    .await?;
    if let Some(external_id) = external_id {
        conn.execute_raw(statement(
            backend,
            "INSERT INTO scim_external_ids (person_id, external_id) VALUES ($1, $2)",
            vec![person.into(), external_id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// The people whose `externalId` is this one.
pub async fn people_with_external_id(
    conn: &impl ConnectionTrait,
    external_id: &str,
) -> Result<Vec<Uuid>, StoreError> {
    crate::query_ids(
        conn,
        "SELECT person_id AS id FROM scim_external_ids WHERE external_id = $1 ORDER BY person_id",
        vec![external_id.into()],
    )
    .await
}

/// Every person, in creation order: `count` of them from the 0-based `offset`, and how
/// many there are in all.
pub async fn page(
    conn: &impl ConnectionTrait,
    offset: u64,
    count: u64,
) -> Result<(u64, Vec<Person>), StoreError> {
    let total = People::find().count(conn).await?;
    if count == 0 {
        return Ok((total, Vec::new()));
    }
    let rows = People::find()
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
