//! People: fed by the HRIS, one at a time (`PUT …/by-external-id/{id}`) or in batches
//! (`POST /people/import`). Both go through [`import`], so a single upsert and a batch of
//! 100,000 obey the same rules.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use mentorat_domain::{
    Caller, ExternalId, FieldError, PageLimit,
    person::{ManagerLinks, Person, PersonDraft, PersonRecord},
};
use mentorat_persistence::{
    Db, Page, TransactionTrait,
    people::{self, PersonFilter, PersonWrite},
};
use uuid::Uuid;

use crate::{departures, error::ServiceError};

/// An import that writes this many rows refreshes the planner's statistics.
const BULK_ROWS: usize = 1_000;

/// Rows written per transaction: a failure loses at most one chunk's work, and each chunk
/// is one read and one write statement.
pub const CHUNK: usize = 500;

/// A row of a batch that could not be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// 1-based position among the data records (a CSV header is not counted).
    pub row: usize,
    pub code: &'static str,
    pub detail: String,
    /// The fields at fault, when known.
    pub fields: Vec<FieldError>,
}

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOutcome {
    Created(Uuid),
    Updated(Uuid),
    Unchanged(Uuid),
}

#[derive(Debug, Default)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub errors: Vec<RowProblem>,
    pub outcomes: Vec<(usize, RowOutcome)>,
    /// R11: people whose `active` flag this import changed (or who arrived inactive), with
    /// the flag now written — what every replica's set of leavers must learn.
    pub activity_changes: Vec<(ExternalId, bool)>,
    /// For a batch of one row that was kept: the person as the database now holds them
    /// (written with `RETURNING`, or found unchanged), so a single upsert — `PUT
    /// /people/by-external-id`, a SCIM write — answers without reading them back.
    pub written: Option<Person>,
}

/// Take a batch: rows in any order (a manager may come after their reports, or in a later
/// batch), good rows kept when others fail, a re-import of the same data `unchanged`.
pub async fn import(
    db: &Db,
    caller: &Caller,
    rows: Vec<(usize, Result<PersonDraft, RowProblem>)>,
) -> Result<ImportReport, ServiceError> {
    let mut report = ImportReport::default();
    let mut valid: Vec<(usize, PersonRecord)> = Vec::new();
    let mut seen: HashSet<ExternalId> = HashSet::new();
    for (row, parsed) in rows {
        let record = parsed.and_then(|draft| {
            draft.validate().map_err(|errors| RowProblem {
                row,
                code: "invalid_row",
                detail: errors
                    .iter()
                    .map(|e| format!("{}: {}", e.pointer, e.detail))
                    .collect::<Vec<_>>()
                    .join("; "),
                fields: errors,
            })
        });
        match record {
            Err(problem) => report.errors.push(problem),
            Ok(record) if !seen.insert(record.external_id.clone()) => {
                report.errors.push(RowProblem {
                    row,
                    code: "duplicate_row",
                    detail: format!("{} appears earlier in this batch", record.external_id),
                    fields: vec![FieldError::new(
                        "/external_id",
                        "appears earlier in this batch",
                    )],
                })
            }
            Ok(record) => valid.push((row, record)),
        }
    }

    // A link that would put someone in their own management chain is refused for the row
    // that closes the cycle; the rows before it stand.
    // One row (a single upsert, a SCIM write): only its manager's chain can close a cycle,
    // read in one statement; a batch reads every link once.
    // R1 over time, for one row: a newcomer changes a chain that runs through an existing
    // person only when someone already names them as manager (they are the missing link);
    // a newcomer has no pair, and a chain that ends at them (no manager) meets no pair
    // member above them. Otherwise the newcomer's links cannot flag any pair, and the
    // re-check of every active pair is skipped (tests::people…_newcomer_…).
    let mut newcomer_links_nobody = false;
    let mut links = match valid.as_slice() {
        [(_, record)] => match &record.manager_external_id {
            Some(manager) => {
                let (chain, named) =
                    people::manager_chain(db.conn(), manager, &record.external_id).await?;
                newcomer_links_nobody = !named;
                ManagerLinks::new(chain)
            }
            None => {
                newcomer_links_nobody = true;
                ManagerLinks::new(Vec::new())
            }
        },
        _ => ManagerLinks::new(people::manager_links(db.conn()).await?),
    };
    let mut accepted = Vec::with_capacity(valid.len());
    for (row, record) in valid {
        if let Some(manager) = &record.manager_external_id
            && links.closes_cycle(&record.external_id, manager)
        {
            let detail = format!(
                "{manager} as manager of {} would make them manage themself through the chain",
                record.external_id
            );
            report.errors.push(RowProblem {
                row,
                code: "manager_cycle",
                fields: vec![FieldError::new("/manager_external_id", detail.clone())],
                detail,
            });
            continue;
        }
        links.set(
            record.external_id.clone(),
            record.manager_external_id.clone(),
        );
        accepted.push((row, record));
    }

    let mut links_changed = false;
    for chunk in accepted.chunks(CHUNK) {
        links_changed |= write_chunk(db, chunk, newcomer_links_nobody, &mut report).await?;
    }
    if links_changed {
        // R1 over time: a new manager link may put one member of an active pair in the
        // other's chain. One statement over all active pairs.
        crate::pairs::recheck_hierarchy(db.conn()).await?;
    }
    report.errors.sort_by_key(|e| e.row);
    report.outcomes.sort_by_key(|(row, _)| *row);
    if report.created + report.updated >= BULK_ROWS {
        people::refresh_statistics(db.conn()).await?;
    }
    tracing::info!(
        by = %caller.subject,
        created = report.created,
        updated = report.updated,
        unchanged = report.unchanged,
        refused = report.errors.len(),
        "people imported"
    );
    Ok(report)
}

async fn write_chunk(
    db: &Db,
    chunk: &[(usize, PersonRecord)],
    newcomer_links_nobody: bool,
    report: &mut ImportReport,
) -> Result<bool, ServiceError> {
    let mut links_changed = false;
    let now = Utc::now();
    let txn = db
        .conn()
        .begin()
        .await
        .map_err(mentorat_persistence::StoreError::from)?;
    // Bulk only: `SET LOCAL` lasts to the end of the request's transaction, so a one-row
    // upsert (PUT by external id, a SCIM write) forcing custom plans would make every later
    // statement of its unit be planned again — the R1 re-check's plan alone costs ~3 ms.
    if chunk.len() > 1 {
        people::plan_each_statement(&txn).await?;
    }
    let mut ids: Vec<String> = chunk
        .iter()
        .map(|(_, r)| r.external_id.as_str().to_owned())
        .collect();
    // R14: in the same look-up, the erased records an external id of the chunk would lead to
    // (by the pseudonym derived from it), to unlink them if it is imported again.
    let derived: HashMap<String, String> = ids
        .iter()
        .map(|id| (mentorat_persistence::erasure::pseudonym_of(id), id.clone()))
        .collect();
    ids.extend(derived.keys().cloned());
    let lookup: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut erased_before: HashSet<String> = HashSet::new();
    let existing: HashMap<String, Person> = people::find_by_external_ids(&txn, &lookup)
        .await?
        .into_iter()
        .filter_map(|p| {
            let id = p.record.external_id.as_str().to_owned();
            match derived.get(&id) {
                Some(original) => {
                    erased_before.insert(original.clone());
                    None
                }
                None => Some((id, p)),
            }
        })
        .collect();
    let mut writes = Vec::new();
    let mut deactivated = Vec::new();
    let mut activity = Vec::new();
    let mut outcomes = Vec::new();
    for (row, record) in chunk {
        match existing.get(record.external_id.as_str()) {
            Some(current) if current.record == *record => {
                outcomes.push((*row, RowOutcome::Unchanged(current.id)));
            }
            Some(current) => {
                links_changed |= current.record.manager_external_id != record.manager_external_id;
                if current.record.active && !record.active {
                    deactivated.push(current.id);
                }
                if current.record.active != record.active {
                    activity.push((record.external_id.clone(), record.active));
                }
                writes.push(PersonWrite {
                    id: current.id,
                    record: record.clone(),
                    revision: current.revision + 1,
                    created_at: current.created_at,
                });
                outcomes.push((*row, RowOutcome::Updated(current.id)));
            }
            None => {
                // A newcomer may be the missing link of a chain named before them.
                links_changed |= !newcomer_links_nobody;
                if !record.active {
                    activity.push((record.external_id.clone(), false));
                }
                let id = Uuid::now_v7();
                writes.push(PersonWrite {
                    id,
                    record: record.clone(),
                    revision: 1,
                    created_at: now,
                });
                outcomes.push((*row, RowOutcome::Created(id)));
            }
        }
    }
    match (chunk, writes.as_slice()) {
        ([_], [one]) => report.written = Some(people::upsert_one(&txn, one, now).await?),
        ([(_, record)], []) => {
            report.written = existing.get(record.external_id.as_str()).cloned();
        }
        _ => people::upsert_many(&txn, &writes, now).await?,
    }
    // R14: an erased person's external id imported again is a new person, unlinked.
    let created: Vec<&str> = chunk
        .iter()
        .zip(&outcomes)
        .filter(|(_, (_, o))| matches!(o, RowOutcome::Created(_)))
        .filter(|((_, record), _)| erased_before.contains(record.external_id.as_str()))
        .map(|((_, record), _)| record.external_id.as_str())
        .collect();
    let released = if created.is_empty() {
        Vec::new()
    } else {
        mentorat_persistence::erasure::unlink_reimported(&txn, &created).await?
    };
    departures::people_deactivated(&txn, &deactivated).await?;
    txn.commit()
        .await
        .map_err(mentorat_persistence::StoreError::from)?;
    for (_, outcome) in &outcomes {
        match outcome {
            RowOutcome::Created(_) => report.created += 1,
            RowOutcome::Updated(_) => report.updated += 1,
            RowOutcome::Unchanged(_) => report.unchanged += 1,
        }
    }
    report.outcomes.extend(outcomes);
    report.activity_changes.extend(activity);
    // The erased person's tokens were refused by their external id (on this replica, until
    // a refresh) and by the pseudonym derived from it: the newcomer's are not.
    report.activity_changes.extend(
        released
            .iter()
            .filter_map(|p| mentorat_domain::ExternalId::parse(p).ok())
            .map(|p| (p, true)),
    );
    Ok(links_changed)
}

pub async fn get(db: &Db, _caller: &Caller, id: Uuid) -> Result<Person, ServiceError> {
    people::find(db.conn(), id)
        .await?
        .ok_or(ServiceError::NotFound)
}

pub async fn list(
    db: &Db,
    _caller: &Caller,
    filter: &PersonFilter,
    after: Option<Uuid>,
    limit: PageLimit,
) -> Result<Page<Person>, ServiceError> {
    Ok(people::list(db.conn(), filter, after, limit.get()).await?)
}

/// A person by HRIS id (already validated by an upsert).
pub async fn by_external_id(db: &Db, external_id: &str) -> Result<Option<Person>, ServiceError> {
    match ExternalId::parse(external_id) {
        Ok(id) => Ok(people::find_by_external_id(db.conn(), &id).await?),
        Err(_) => Ok(None),
    }
}
