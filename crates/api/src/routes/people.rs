//! `/api/v1/people`: the HRIS-facing half. The connector upserts one person by external id or
//! imports a batch (JSON array or CSV); coordinators read.

use actix_web::{HttpRequest, HttpResponse, get, http::header, post, put, web};
use chrono::{DateTime, Utc};
use mentorat_domain::ErrorCode;
use mentorat_domain::person::PersonFilter;
use mentorat_domain::person::{Person, PersonDraft};
use mentorat_service::people::{self as use_case, RowOutcome, RowProblem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::{
    auth::{Authorized, op},
    json::{IMPORT_BODY_LIMIT, ValidJson, declared_length, read_body},
    leavers::Leavers,
    pagination::{page_params, page_response},
    problem::{ApiError, FieldProblem},
    tagged,
    unit::RequestDb,
};

/// A person known to the HRIS.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonDto {
    pub id: Uuid,
    #[schema(example = "E12345")]
    pub external_id: String,
    #[schema(example = "Zoé")]
    pub given_name: String,
    #[schema(example = "Lefèvre")]
    pub family_name: String,
    #[schema(example = "zoe.lefevre@chu.example")]
    pub email: String,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub site: Option<String>,
    /// The manager's external id; the manager may not be imported yet.
    pub manager_external_id: Option<String>,
    pub active: bool,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Person> for PersonDto {
    fn from(p: Person) -> Self {
        let r = p.record;
        Self {
            id: p.id,
            external_id: r.external_id.to_string(),
            given_name: r.given_name,
            family_name: r.family_name,
            email: r.email,
            department: r.department,
            job_title: r.job_title,
            site: r.site,
            manager_external_id: r.manager_external_id.map(|m| m.to_string()),
            active: r.active,
            revision: p.revision,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A person's HRIS record, as the connector sends it. `active: false` deactivates (R11).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "given_name": "Zoé", "family_name": "Lefèvre", "email": "zoe.lefevre@chu.example",
    "department": "Cardiologie", "job_title": "Infirmière", "site": "Hôpital Nord",
    "manager_external_id": "E00042", "active": true
}))]
pub struct PersonInput {
    /// Trimmed, then 1 to 100 characters.
    #[validate(length(min = 1, max = 100))]
    #[schema(schema_with = crate::vocabulary::name_part)]
    pub given_name: String,
    /// Trimmed, then 1 to 100 characters.
    #[validate(length(min = 1, max = 100))]
    #[schema(schema_with = crate::vocabulary::name_part)]
    pub family_name: String,
    #[validate(email, length(max = 254))]
    #[schema(format = "email", max_length = 254)]
    pub email: String,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub department: Option<String>,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub job_title: Option<String>,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub site: Option<String>,
    #[validate(length(max = 64))]
    #[schema(schema_with = crate::vocabulary::optional_external_id)]
    pub manager_external_id: Option<String>,
    /// Default `true`.
    pub active: Option<bool>,
}

/// One row of a batch: a person's record with their external id.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ImportRowInput {
    #[schema(example = "E12345")]
    pub external_id: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub site: Option<String>,
    pub manager_external_id: Option<String>,
    pub active: Option<bool>,
}

impl From<ImportRowInput> for PersonDraft {
    fn from(r: ImportRowInput) -> Self {
        PersonDraft {
            external_id: r.external_id,
            given_name: r.given_name,
            family_name: r.family_name,
            email: r.email,
            department: r.department,
            job_title: r.job_title,
            site: r.site,
            manager_external_id: r.manager_external_id,
            active: r.active,
        }
    }
}

/// The result of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReportDto {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// The rows that were refused; every other row was kept.
    pub errors: Vec<ImportRowError>,
}

/// A refused row.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRowError {
    /// 1-based position among the data records (a CSV header row is not counted).
    pub row: usize,
    /// `invalid_row`, `duplicate_row`, `manager_cycle`, `malformed_row`.
    pub code: String,
    pub detail: String,
}

fn to_problem(p: RowProblem) -> ImportRowError {
    ImportRowError {
        row: p.row,
        code: p.code.to_owned(),
        detail: p.detail,
    }
}

/// Create or update a person by their HRIS id (hris, coordinator, admin): `201` when created,
/// `200` when updated or unchanged. `active: false` deactivates them; their history stays.
#[utoipa::path(
    tag = "people",
    security(("bearer" = [])),
    params(("external_id" = String, Path, max_length = 64, pattern = "^[!-~]{1,64}$", description = "The person's HRIS id: 1 to 64 printable ASCII characters, no spaces")),
    request_body = PersonInput,
    responses(
        (status = 201, description = "Created", body = PersonDto, headers(("Location" = String), ("ETag" = String))),
        (status = 200, description = "Updated, or already so", body = PersonDto, headers(("ETag" = String))),
    )
)]
#[put("/people/by-external-id/{external_id}")]
pub async fn upsert_person(
    auth: Authorized<op::UpsertPerson>,
    db: RequestDb,
    req: HttpRequest,
    leavers: web::Data<Leavers>,
    external_id: web::Path<String>,
    ValidJson(body): ValidJson<PersonInput>,
) -> Result<HttpResponse, ApiError> {
    let external_id = external_id.into_inner();
    let draft = PersonDraft {
        external_id: external_id.clone(),
        given_name: body.given_name,
        family_name: body.family_name,
        email: body.email,
        department: body.department,
        job_title: body.job_title,
        site: body.site,
        manager_external_id: body.manager_external_id,
        active: body.active,
    };
    let mut report = use_case::import(&db, &auth.caller, vec![(1, Ok(draft))]).await?;
    // R11: a deactivated person's tokens are refused from now on, on this replica.
    leavers.written(&req, std::mem::take(&mut report.activity_changes));
    if let Some(problem) = report.errors.into_iter().next() {
        return Err(match problem.code {
            "manager_cycle" => ApiError::Unprocessable(ErrorCode::ManagerCycle, problem.detail),
            _ => ApiError::validation(problem.fields.into_iter().map(Into::into).collect()),
        });
    }
    let created = match report.outcomes.first() {
        Some((_, RowOutcome::Created(_))) => true,
        Some(_) => false,
        None => return Err(ApiError::Internal("an upsert reported no outcome".into())),
    };
    // As the database holds them: if another request created the same person a moment
    // earlier, the row kept that request's id.
    let person = match report.written.take() {
        Some(person) => person,
        None => use_case::by_external_id(&db, &external_id)
            .await?
            .ok_or_else(|| ApiError::Internal("an upserted person is missing".into()))?,
    };
    let (id, revision) = (person.id, person.revision);
    Ok(if created {
        tagged::created(
            format!("/api/v1/people/{id}"),
            revision,
            PersonDto::from(person),
        )
    } else {
        tagged::ok(revision, PersonDto::from(person))
    })
}

/// Import many people at once (hris, coordinator, admin), as a JSON array of rows or as
/// `text/csv` with a header row of the same column names (`external_id,given_name,
/// family_name,email,department,job_title,site,manager_external_id,active`), UTF-8, quoted
/// fields allowed. Rows may come in any order — a manager after their reports, or in a later
/// import. Good rows are kept when others are refused; re-importing the same data counts as
/// `unchanged`. Up to 64 MiB. A JSON element that is not a row of the schema (a field of the
/// wrong type, a required one missing) is `422 validation_failed` for the whole document, with
/// a pointer to each such element (`/2/given_name`), and nothing is written; in CSV, where
/// every field is text, such a row is refused alone (`malformed_row`).
#[utoipa::path(
    tag = "people",
    security(("bearer" = [])),
    request_body(
        description = "A JSON array of rows, or CSV with a header row",
        content(
            (Vec<ImportRowInput> = "application/json", example = json!([
                {"external_id": "E1", "given_name": "Zoé", "family_name": "Lefèvre, née Martin",
                 "email": "zoe@chu.example", "department": "Cardiologie", "job_title": "Infirmière",
                 "site": "Nord", "manager_external_id": null, "active": true}
            ])),
            (String = "text/csv", example = "external_id,given_name,family_name,email,department,job_title,site,manager_external_id,active\nE1,Zoé,\"Lefèvre, née Martin\",zoe@chu.example,Cardiologie,Infirmière,Nord,,true\n"),
        )
    ),
    responses((status = 200, description = "What was created, updated, left unchanged and refused", body = ImportReportDto))
)]
#[post("/people/import")]
pub async fn import_people(
    auth: Authorized<op::ImportPeople>,
    db: RequestDb,
    req: HttpRequest,
    leavers: web::Data<Leavers>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let mime = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let is_csv = match mime.as_deref() {
        Some("text/csv") => true,
        Some("application/json") => false,
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "send the batch as `application/json` (an array) or `text/csv`".into(),
            ));
        }
    };
    let body = read_body(&mut payload, declared_length(&req), IMPORT_BODY_LIMIT).await?;
    let rows = if is_csv {
        crate::csv_import::parse(&body)?
    } else {
        parse_json_rows(&body)?
    };
    let mut report = use_case::import(&db, &auth.caller, rows).await?;
    // R11: the people it deactivated are refused from now on, on this replica.
    leavers.written(&req, std::mem::take(&mut report.activity_changes));
    Ok(HttpResponse::Ok().json(ImportReportDto {
        created: report.created,
        updated: report.updated,
        unchanged: report.unchanged,
        errors: report.errors.into_iter().map(to_problem).collect(),
    }))
}

type Rows = Vec<(usize, Result<PersonDraft, RowProblem>)>;

/// A JSON array of rows. An element that is not a row as the schema describes it (a field of
/// the wrong type, a required field missing) makes the whole document invalid:
/// `422 validation_failed` with a pointer per bad element (`/2/given_name`), nothing written.
/// Rows of the right shape are then judged one by one by the domain, and a row it refuses is
/// reported in the answer while the others are kept.
fn parse_json_rows(body: &[u8]) -> Result<Rows, ApiError> {
    let values: Vec<serde_json::Value> = crate::json::parse(body).map_err(|e| match e {
        ApiError::Validation { .. } => ApiError::validation(vec![FieldProblem {
            pointer: String::new(),
            detail: "the body must be a JSON array of people".into(),
        }]),
        other => other,
    })?;
    let mut rows = Vec::with_capacity(values.len());
    let mut malformed = Vec::new();
    for (i, value) in values.into_iter().enumerate() {
        match crate::json::from_value::<ImportRowInput>(value, &format!("/{i}")) {
            Ok(input) => rows.push((i + 1, Ok(PersonDraft::from(input)))),
            Err(problem) => malformed.push(problem),
        }
    }
    if !malformed.is_empty() {
        return Err(ApiError::validation(malformed));
    }
    Ok(rows)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListPeopleQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
    /// Exact department.
    pub department: Option<String>,
    /// Exact site.
    pub site: Option<String>,
    pub active: Option<bool>,
    /// A piece of a name, the email or the external id (case-insensitive).
    pub q: Option<String>,
}

/// List people (coordinator, admin), a page at a time, with filters.
#[utoipa::path(
    tag = "people",
    security(("bearer" = [])),
    params(ListPeopleQuery),
    responses((status = 200, body = crate::pagination::Paginated<PersonDto>))
)]
#[get("/people")]
pub async fn list_people(
    auth: Authorized<op::ListPeople>,
    db: RequestDb,
    req: HttpRequest,
    query: web::Query<ListPeopleQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (limit, after) = page_params(query.limit, query.cursor.as_deref())?;
    let filter = PersonFilter {
        department: query.department,
        site: query.site,
        active: query.active,
        q: query.q,
    };
    let page = use_case::list(&db, &auth.caller, &filter, after, limit).await?;
    let items: Vec<PersonDto> = page.items.into_iter().map(Into::into).collect();
    Ok(page_response(&req, items, page.next))
}

/// Read a person (coordinator, admin).
#[utoipa::path(
    tag = "people",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Person id")),
    responses(
        (status = 200, body = PersonDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the `If-None-Match` tag"),
    )
)]
#[get("/people/{id}")]
pub async fn get_person(
    auth: Authorized<op::ReadPerson>,
    db: RequestDb,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let person = use_case::get(&db, &auth.caller, id.into_inner()).await?;
    Ok(tagged::read(&req, person.revision, PersonDto::from(person)))
}

/// What an erasure destroyed, by kind (rows; a row counts once whatever the number of its
/// columns destroyed).
#[derive(Debug, Serialize, ToSchema)]
pub struct DestroyedDto {
    /// Notes the person wrote (private and shared).
    pub notes: u64,
    /// Objectives the person proposed or rewrote: their title, description and criteria.
    pub objectives: u64,
    /// Objective revisions: the before/after texts of the objectives above, the person's comments.
    pub objective_revisions: u64,
    /// Meetings of the person's pairs: place, agenda, summary (the pair's joint record), and
    /// the reasons of the cancellations the person made.
    pub meetings: u64,
    /// End reasons of the person's pairs (the pair's joint record).
    pub end_reasons: u64,
    /// Concerns the person raised (their text).
    pub concerns: u64,
    /// Feedback the person gave (check-ins and final evaluations): their comments; the
    /// scores stay, they feed the reports (R13).
    pub feedback_comments: u64,
    /// The goals of the person's enrollments.
    pub enrollment_goals: u64,
    /// The messages of the requests the person sent as a mentee (issue 17).
    pub request_messages: u64,
    /// Stored answers of `Idempotency-Key` requests: the person's own (deleted) and others'
    /// naming the person, their pairs or enrollments (withheld: a replay is `409`).
    pub stored_answers: u64,
    /// The person's notifications (deleted).
    pub notifications: u64,
    /// The person's calendar feed (deleted: its address no longer answers).
    pub calendar_feeds: u64,
}

/// The answer of an erasure.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureDto {
    pub person_id: Uuid,
    /// What the person's external id became; pairs, counts and report tallies keep pointing
    /// at the same person under it.
    #[schema(example = "erased-3f9a0c1d2e4b5a69")]
    pub pseudonym: String,
    /// When the person was (first) erased.
    pub erased_at: DateTime<Utc>,
    /// `true` when the person had already been erased: nothing more was destroyed, the
    /// counts are zero.
    pub already_erased: bool,
    pub destroyed: DestroyedDto,
}

impl From<mentorat_service::erasure::Erasure> for ErasureDto {
    fn from(e: mentorat_service::erasure::Erasure) -> Self {
        use mentorat_domain::erasure::Kind;
        let d = &e.destroyed;
        Self {
            person_id: e.person_id,
            pseudonym: e.pseudonym,
            erased_at: e.erased_at,
            already_erased: !e.first,
            destroyed: DestroyedDto {
                notes: d.get(Kind::Notes),
                objectives: d.get(Kind::Objectives),
                objective_revisions: d.get(Kind::ObjectiveRevisions),
                meetings: d.get(Kind::Meetings),
                end_reasons: d.get(Kind::EndReasons),
                concerns: d.get(Kind::Concerns),
                feedback_comments: d.get(Kind::Feedback),
                enrollment_goals: d.get(Kind::EnrollmentGoals),
                request_messages: d.get(Kind::RequestMessages),
                stored_answers: d.get(Kind::StoredAnswers),
                notifications: d.get(Kind::Notifications),
                calendar_feeds: d.get(Kind::CalendarFeeds),
            },
        }
    }
}

/// Erase a person (admin; GDPR art. 17, R14): their identity is blanked (a stable
/// pseudonym stays, so pairs, counts and report tallies do not move), every word they wrote
/// in any pair is destroyed wherever it was kept — notes, objective texts and revisions,
/// concerns, feedback comments, the reasons of the cancellations they made, their
/// enrollments' goals, the stored answers of keyed requests — and their pairs' joint record
/// (meetings' place, agenda and summary; end reasons). Their notifications and calendar feed
/// are deleted and their tokens are `401` from now on. The other member's own words stay.
/// The audit log records who erased whom, when — never the words. Repeating it is harmless:
/// `200`, `already_erased: true`, zero counts.
#[utoipa::path(
    tag = "people",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The person's id")),
    responses(
        (status = 200, description = "Erased (or already erased)", body = ErasureDto),
    )
)]
#[post("/people/{id}/erasure")]
pub async fn erase_person(
    auth: Authorized<op::ErasePerson>,
    db: RequestDb,
    req: HttpRequest,
    leavers: web::Data<Leavers>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let erasure = mentorat_service::erasure::erase(&db, &auth.caller, id.into_inner()).await?;
    // Once committed, what went leaves the database's files too (SQLite's WAL).
    actix_web::HttpMessage::extensions_mut(&req).insert(crate::unit::ScrubAfterCommit);
    // Their tokens are refused from now on, on this replica (the others within a refresh:
    // and any write of theirs already running is refused before it commits).
    if let Some(old) = erasure.locked_out.clone() {
        leavers.written(&req, vec![(old, false)]);
    }
    Ok(HttpResponse::Ok().json(ErasureDto::from(erasure)))
}
