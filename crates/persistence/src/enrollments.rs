//! The enrollments repository.

use chrono::{DateTime, Utc};
use mentorat_domain::enrollment::{Enrollment, EnrollmentRole, EnrollmentTerms};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    Page,
    entity::enrollment::{self, Column, Entity as Enrollments},
    error::StoreError,
};

pub async fn insert(
    conn: &impl ConnectionTrait,
    id: Uuid,
    program_id: Uuid,
    person_id: Uuid,
    terms: &EnrollmentTerms,
    now: DateTime<Utc>,
) -> Result<Enrollment, StoreError> {
    let json = |items: &Vec<String>| serde_json::to_string(items).unwrap_or_else(|_| "[]".into());
    let row = enrollment::ActiveModel {
        id: Set(id),
        program_id: Set(program_id),
        person_id: Set(person_id),
        role: Set(terms.role.as_str().to_owned()),
        capacity: Set(terms.capacity),
        topics: Set(json(&terms.topics)),
        languages: Set(json(&terms.languages)),
        goals: Set(terms.goals.clone()),
        accepted_charter_version: Set(None),
        accepted_at: Set(None),
        revision: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        withdrawn_at: Set(None),
    };
    Enrollments::insert(row)
        .exec_without_returning(conn)
        .await?;
    find(conn, program_id, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("enrollment {id} vanished after insert")))
}

/// An enrollment of a program (an id of another program's enrollment finds nothing).
pub async fn find(
    conn: &impl ConnectionTrait,
    program_id: Uuid,
    id: Uuid,
) -> Result<Option<Enrollment>, StoreError> {
    Enrollments::find_by_id(id)
        .filter(Column::ProgramId.eq(program_id))
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

/// The person's current enrollment in a program (not a withdrawn one).
pub async fn find_by_person(
    conn: &impl ConnectionTrait,
    program_id: Uuid,
    person_id: Uuid,
) -> Result<Option<Enrollment>, StoreError> {
    Enrollments::find()
        .filter(Column::ProgramId.eq(program_id))
        .filter(Column::PersonId.eq(person_id))
        .filter(Column::WithdrawnAt.is_null())
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

/// A program's enrollments in creation order; only `person`'s when given.
pub async fn list(
    conn: &impl ConnectionTrait,
    program_id: Uuid,
    person: Option<Uuid>,
    after: Option<Uuid>,
    limit: u16,
) -> Result<Page<Enrollment>, StoreError> {
    let mut query = Enrollments::find()
        .filter(Column::ProgramId.eq(program_id))
        .order_by_asc(Column::Id);
    if let Some(person) = person {
        query = query.filter(Column::PersonId.eq(person));
    }
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    let rows = query.limit(u64::from(limit) + 1).all(conn).await?;
    let (rows, next) = crate::cut(rows, limit, |r| r.id);
    let items = rows.into_iter().map(to_domain).collect::<Result<_, _>>()?;
    Ok(Page { items, next })
}

/// The enrollments with these ids, in one query.
pub async fn find_many(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<Enrollment>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Enrollments::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// What ranking a mentor needs, and no more: one light row per mentor enrollment of a
/// program (10,000 mentors decode in a few milliseconds).
#[derive(Debug, Clone)]
pub struct MentorCandidate {
    pub enrollment_id: Uuid,
    pub person_id: Uuid,
    pub external_id: String,
    pub active: bool,
    pub capacity: Option<i32>,
    pub topics: Vec<String>,
    pub languages: Vec<String>,
    pub department: Option<String>,
    pub site: Option<String>,
}

pub async fn mentor_candidates(
    conn: &impl ConnectionTrait,
    program_id: Uuid,
) -> Result<Vec<MentorCandidate>, StoreError> {
    Ok(candidates(conn, program_id, EnrollmentRole::Mentor)
        .await?
        .into_iter()
        .map(|(c, _)| c)
        .collect())
}

/// The light rows of a program's enrollments of one role, with their goals (a mentee's), in
/// enrollment id order: what a matching run reads.
pub async fn candidates(
    conn: &impl ConnectionTrait,
    program_id: Uuid,
    role: EnrollmentRole,
) -> Result<Vec<(MentorCandidate, Option<String>)>, StoreError> {
    let sql = "SELECT e.id AS enrollment_id, e.person_id AS person_id, e.capacity AS capacity, \
                 e.topics AS topics, e.languages AS languages, e.goals AS goals, \
                 p.external_id AS external_id, \
                 p.active AS active, p.department AS department, p.site AS site \
               FROM enrollments e JOIN people p ON p.id = e.person_id \
               WHERE e.program_id = $1 AND e.role = $2 AND e.withdrawn_at IS NULL ORDER BY e.id";
    let rows = conn
        .query_all_raw(crate::sql::statement(
            conn.get_database_backend(),
            sql,
            vec![program_id.into(), role.as_str().into()],
        ))
        .await?;
    rows.into_iter()
        .map(|row| {
            let enrollment_id: Uuid = row.try_get("", "enrollment_id")?;
            let corrupt =
                |what: &str| StoreError::Corrupt(format!("enrollment {enrollment_id}: bad {what}"));
            let topics: String = row.try_get("", "topics")?;
            let languages: String = row.try_get("", "languages")?;
            Ok((
                MentorCandidate {
                    enrollment_id,
                    person_id: row.try_get("", "person_id")?,
                    external_id: row.try_get("", "external_id")?,
                    active: row.try_get("", "active")?,
                    capacity: row.try_get("", "capacity")?,
                    topics: serde_json::from_str(&topics).map_err(|_| corrupt("topics"))?,
                    languages: serde_json::from_str(&languages)
                        .map_err(|_| corrupt("languages"))?,
                    department: row.try_get("", "department")?,
                    site: row.try_get("", "site")?,
                },
                row.try_get("", "goals")?,
            ))
        })
        .collect()
}

/// Every enrollment of a person, in every program.
pub async fn of_person(
    conn: &impl ConnectionTrait,
    person_id: Uuid,
) -> Result<Vec<Enrollment>, StoreError> {
    Enrollments::find()
        .filter(Column::PersonId.eq(person_id))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// The person of this external id and their enrollments, each with its program's current
/// charter version, in **one** statement (`GET /me`). `None` when the HRIS knows no such
/// person.
#[allow(clippy::type_complexity)]
pub async fn of_external_id_with_charter(
    conn: &impl ConnectionTrait,
    external_id: &str,
) -> Result<
    Option<(
        mentorat_domain::person::Person,
        Vec<(Enrollment, Option<i32>)>,
    )>,
    StoreError,
> {
    use sea_orm::{Iden, Iterable};
    let columns: Vec<String> = Column::iter()
        .map(|c| format!("e.{0} AS e_{0}", c.to_string()))
        .collect();
    let sql = format!(
        "SELECT pe.*, {columns}, \
           (SELECT MAX(cv.version) FROM charter_versions cv WHERE cv.program_id = e.program_id) AS current_charter \
         FROM people pe LEFT JOIN enrollments e ON e.person_id = pe.id \
         WHERE pe.external_id = $1 ORDER BY e.id",
        columns = columns.join(", "),
    );
    let rows = conn
        .query_all_raw(crate::sql::statement(
            conn.get_database_backend(),
            &sql,
            vec![external_id.into()],
        ))
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let person = crate::people::to_domain(
        <crate::entity::person::Model as sea_orm::FromQueryResult>::from_query_result(first, "")?,
    )?;
    let mut enrolled = Vec::new();
    for row in &rows {
        if row.try_get::<Option<Uuid>>("", "e_id")?.is_none() {
            continue;
        }
        let model = <enrollment::Model as sea_orm::FromQueryResult>::from_query_result(row, "e_")?;
        let current: Option<i32> = row.try_get("", "current_charter")?;
        enrolled.push((to_domain(model)?, current));
    }
    Ok(Some((person, enrolled)))
}

/// Record that the enrolled person accepted charter `version` (R3).
pub async fn accept_charter(
    conn: &impl ConnectionTrait,
    id: Uuid,
    version: i32,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    Enrollments::update_many()
        .col_expr(Column::AcceptedCharterVersion, Expr::value(version))
        .col_expr(Column::AcceptedAt, Expr::value(now))
        .col_expr(Column::Revision, Expr::col(Column::Revision).add(1))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

fn to_domain(row: enrollment::Model) -> Result<Enrollment, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("enrollment {}: bad {what}", row.id));
    let role = EnrollmentRole::parse(&row.role).ok_or_else(|| corrupt("role"))?;
    let topics: Vec<String> = serde_json::from_str(&row.topics).map_err(|_| corrupt("topics"))?;
    let languages: Vec<String> =
        serde_json::from_str(&row.languages).map_err(|_| corrupt("languages"))?;
    Ok(Enrollment {
        id: row.id,
        program_id: row.program_id,
        person_id: row.person_id,
        terms: EnrollmentTerms {
            role,
            capacity: row.capacity,
            topics,
            languages,
            goals: row.goals,
        },
        accepted_charter_version: row.accepted_charter_version,
        accepted_at: row.accepted_at,
        revision: row.revision,
        created_at: row.created_at,
        updated_at: row.updated_at,
        withdrawn_at: row.withdrawn_at,
    })
}

/// Write an enrollment's new terms over `revision` (the one read): `StaleRevision` if
/// another change came first.
pub async fn update_terms(
    conn: &impl ConnectionTrait,
    id: Uuid,
    revision: i32,
    terms: &EnrollmentTerms,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let json = |items: &Vec<String>| serde_json::to_string(items).unwrap_or_else(|_| "[]".into());
    let result = Enrollments::update_many()
        .col_expr(Column::Capacity, Expr::value(terms.capacity))
        .col_expr(Column::Topics, Expr::value(json(&terms.topics)))
        .col_expr(Column::Languages, Expr::value(json(&terms.languages)))
        .col_expr(Column::Goals, Expr::value(terms.goals.clone()))
        .col_expr(Column::Revision, Expr::value(revision + 1))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Revision.eq(revision))
        .filter(Column::WithdrawnAt.is_null())
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(StoreError::StaleRevision);
    }
    Ok(())
}

/// Mark an enrollment withdrawn (once: a withdrawn one is left as it is).
pub async fn withdraw(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    Enrollments::update_many()
        .col_expr(Column::WithdrawnAt, Expr::value(now))
        .col_expr(Column::Revision, Expr::col(Column::Revision).add(1))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::WithdrawnAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Take the row locks of these enrollments until the transaction ends, one at a time in id
/// order (two proposals that lock the same two enrollments never deadlock). R10: a mentor's
/// proposals go one after the other, so each counts the pairs the one before it committed
/// (PostgreSQL READ COMMITTED gives every later statement a fresh snapshot; SQLite has one
/// writer at a time).
pub async fn lock(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), StoreError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        Enrollments::update_many()
            .col_expr(Column::UpdatedAt, Expr::col(Column::UpdatedAt))
            .filter(Column::Id.eq(id))
            .exec(conn)
            .await?;
    }
    Ok(())
}
