//! The OpenAPI 3.1 document, generated from the handlers themselves: every route is
//! registered through `utoipa_actix_web`, so a route cannot be served undocumented. The
//! problem responses every operation can give are added here once, by what the operation is
//! (authenticated, has a body, names a resource, is a POST or a PATCH), rather than repeated
//! on every handler.

use utoipa::{
    Modify, OpenApi,
    openapi::{
        Components, ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder,
        path::Operation,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
        server::ServerBuilder,
    },
};

use crate::problem::{FieldProblem, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Mentorat API",
        description = "The back end of workplace mentoring programs. What a pair says to each \
            other never reaches anyone else. Errors are RFC 9457 problem documents with a \
            stable `code`; lists are keyset-paginated (`limit`, `cursor`); mutable resources \
            carry an `ETag` and honour `If-Match`; `POST` honours `Idempotency-Key`.",
        license(name = "AGPL-3.0-only", identifier = "AGPL-3.0-only"),
    ),
    tags(
        (name = "people", description = "People, fed by the HRIS (hris writes; coordinators and admins read)"),
        (name = "programs", description = "Mentoring programs (coordinators and admins; participants read theirs)"),
        (name = "charters", description = "A program's charter of good practice, versioned (R3)"),
        (name = "enrollments", description = "Mentors and mentees of a program, and their charter acceptance (R3)"),
        (name = "pairs", description = "Matching and pairs (R1, R3, R9, R10, R11): no content, ever"),
        (name = "objectives", description = "A pair's joint objectives and their revisions (R4): its two members only; coordinators get 403 confidential, anyone else 404"),
        (name = "meetings", description = "A pair's meetings (R2, R3, R7): its two members only; coordinators get 403 confidential, anyone else 404"),
        (name = "notes", description = "A pair member's journal (R5, R6): private (author only) or shared (both members); coordinators get 403 confidential, anyone else 404"),
        (name = "concerns", description = "Concerns a member raises to the program's coordinators (R12)"),
        (name = "me", description = "The caller's own notifications and calendar feed"),
        (name = "audit", description = "The append-only audit log (admins)"),
        (name = "feedback", description = "A member's check-ins and final evaluation; the answers are the author's"),
        (name = "integrations", description = "Webhooks (admins): events signed after the Standard Webhooks scheme, ids and metadata only"),
        (name = "reports", description = "Pair health (coordinators) and anonymous program reports (coordinators, analysts; R13)"),
        (name = "SCIM", description = "SCIM 2.0 provisioning (RFC 7643, RFC 7644) at /scim/v2 for the hris role: Users only, as Microsoft Entra ID and Okta send them; answers and errors are application/scim+json"),
        (name = "operations", description = "Liveness, readiness, metrics (no authentication)"),
    ),
    // Schemas only query parameters name (utoipa collects those of bodies and responses).
    components(schemas(
        Problem,
        FieldProblem,
        crate::routes::reports::GroupByDto,
        crate::routes::pairs::PairFlagFilter,
        crate::routes::audit::AuditOutcomeDto,
        crate::routes::scim_schemas::ScimError,
        crate::routes::scim_schemas::ScimUser,
        crate::routes::scim_schemas::ScimResourceType,
        crate::routes::scim_schemas::ScimSchema
    )),
    modifiers(&BearerScheme, &StandardProblems),
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Components::new);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT with `sub` (the person's external id), `exp`, `iss`, `aud`, and \
                         optionally `roles`: coordinator, admin, hris, analyst.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The shared problem responses, as named components.
const PROBLEMS: [(&str, &str); 14] = [
    (
        "BadRequest",
        "Malformed JSON, query or header (`malformed_json`, `bad_request`, `invalid_idempotency_key`)",
    ),
    (
        "Unauthorized",
        "Missing or invalid bearer token, or the token of a person the HRIS has deactivated (R11) (`unauthorized`); `WWW-Authenticate: Bearer`",
    ),
    (
        "Forbidden",
        "The caller's roles do not allow this operation (`forbidden`)",
    ),
    (
        "NotFound",
        "No such resource, or not one the caller may see (`not_found`)",
    ),
    (
        "Conflict",
        "Refused by the state of things (`idempotency_key_reused` — also a key whose answer named words deleted since, or a secret —, `idempotency_request_in_progress`, `illegal_status_transition`, …)",
    ),
    (
        "PreconditionFailed",
        "`If-Match` names a version that is no longer current (`precondition_failed`)",
    ),
    (
        "PayloadTooLarge",
        "The body is over 1 MiB (`payload_too_large`)",
    ),
    (
        "RequestTimeout",
        "The body stopped arriving for longer than the body timeout (`request_timeout`, `MENTORAT_BODY_TIMEOUT`, 10 s by default); the connection is closed, send the whole request again",
    ),
    (
        "UnsupportedMediaType",
        "The body is not `application/json` (`unsupported_media_type`)",
    ),
    (
        "ValidationFailed",
        "Fields break a rule; `errors[].pointer` names each (`validation_failed`)",
    ),
    (
        "Internal",
        "Something failed on our side (a bug, or a value sealed at rest that does not open where it is stored); the `request_id` finds it in the log (`internal`)",
    ),
    (
        "Unavailable",
        "The database is unreachable (`database_unavailable`, `Retry-After: 5`), or gave up this request for a concurrent one on the same data (`database_busy`, `Retry-After: 1`): nothing was written, send it again",
    ),
    (
        "MethodNotAllowed",
        "The path exists but not with this method (`method_not_allowed`); `Allow` lists the methods",
    ),
    (
        "BadQuery",
        "A query parameter is malformed or out of range (`validation_failed`, `bad_request`)",
    ),
];

struct StandardProblems;

impl Modify for StandardProblems {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Components::new);
        for (name, description) in PROBLEMS {
            let mut response = ResponseBuilder::new().description(description).content(
                crate::problem::PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            );
            if name == "Unavailable" {
                let mut retry = utoipa::openapi::Header::new(
                    utoipa::openapi::schema::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::Integer),
                );
                retry.description = Some("Seconds to wait before sending it again".to_owned());
                response = response.header("Retry-After", retry);
            }
            components
                .responses
                .insert(name.to_owned(), RefOr::T(response.build()));
        }
    }
}

/// What each problem status means, said once; the codes follow in the document.
fn problem_description(status: u16) -> &'static str {
    match status {
        400 => "Malformed JSON, query, header or body",
        401 => {
            "Missing or invalid bearer token, or the token of a person the HRIS has deactivated (R11); `WWW-Authenticate: Bearer`"
        }
        403 => "The caller's roles or the rules do not allow this",
        404 => "No such resource, or not one the caller may see",
        405 => "The path exists but not with this method; `Allow` lists the methods",
        408 => {
            "The body stopped arriving for longer than the body timeout (`MENTORAT_BODY_TIMEOUT`, 10 s by default); the connection is closed, send the whole request again"
        }
        409 => "Refused by the state of things",
        412 => "`If-Match` names a version that is no longer current",
        413 => "The body is over 1 MiB",
        415 => "The body is not of a media type this operation reads",
        422 => {
            "Fields break a rule (`validation_failed`, `errors[].pointer` names each), or a domain rule refuses well-formed input"
        }
        429 => "Too many requests from this caller: wait `Retry-After` seconds",
        500 => "Something failed on our side; the `request_id` finds it in the log",
        503 => {
            "The database is unreachable (`database_unavailable`, `Retry-After: 5`), or gave up this request for a concurrent one on the same data (`database_busy`, `Retry-After: 1`): nothing was written, send it again"
        }
        _ => "See the problem document",
    }
}

/// The problem responses of an operation, one per status, each with the enum of the `code`s
/// it can carry there (`crate::refusals`: by what the operation is, and by its use case).
fn add_coded_problems(path: &str, method: &str, op: &mut Operation, coded: &mut CodedProblems) {
    use utoipa::openapi::{
        Header,
        schema::{ObjectBuilder, Type},
    };
    let shape = crate::refusals::Shape {
        path,
        method,
        secured: op.security.as_ref().is_some_and(|s| !s.is_empty()),
        has_body: op.request_body.is_some(),
        has_parameters: op.parameters.as_ref().is_some_and(|p| !p.is_empty()),
        rate_limited: rate_limited(path),
    };
    let operation_id = op.operation_id.clone().unwrap_or_default();
    for (status, codes) in crate::refusals::of(&shape, &operation_id) {
        let status = status.as_u16();
        let names: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
        let listed = names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        // A schema per status and set of codes, shared by the operations that have the same
        // (named by `name_coded_problems` once all are known).
        let key = (
            status,
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        );
        let schema = Ref::new(format!("{CODED_PLACEHOLDER}{status}:{}", key.1.join(",")));
        coded.entry(key).or_default().push(operation_id.clone());
        // A handler that describes a refusal of its own keeps its words.
        let described = match op.responses.responses.get(&status.to_string()) {
            Some(RefOr::T(own)) if !own.description.trim().is_empty() => own.description.clone(),
            _ => problem_description(status).to_owned(),
        };
        let mut response = ResponseBuilder::new()
            .description(format!("{described} ({listed})"))
            .content(
                crate::problem::PROBLEM_JSON,
                ContentBuilder::new().schema(Some(schema)).build(),
            );
        let header = |description: &str, kind: Type| {
            let mut h = Header::new(ObjectBuilder::new().schema_type(kind));
            h.description = Some(description.to_owned());
            h
        };
        match status {
            401 => {
                response = response.header(
                    "WWW-Authenticate",
                    header("`Bearer realm=\"mentorat\"`", Type::String),
                )
            }
            429 | 503 => {
                response = response.header(
                    "Retry-After",
                    header("Seconds to wait before sending it again", Type::Integer),
                )
            }
            _ => {}
        }
        let mut response = response.build();
        if status == 429 {
            for name in ["RateLimit-Policy", "RateLimit"] {
                response.headers.insert(
                    name.to_owned(),
                    RefOr::Ref(Ref::new(format!("#/components/headers/{name}"))),
                );
            }
        }
        op.responses
            .responses
            .insert(status.to_string(), RefOr::T(response));
    }
}

/// The problem schemas by status and codes, with the operations that answer them.
type CodedProblems = std::collections::BTreeMap<(u16, Vec<String>), Vec<String>>;

/// What a coded problem's `$ref` says until its schema has a name.
const CODED_PLACEHOLDER: &str = "#coded-problem:";

/// Name the schemas of [`add_coded_problems`] and put them in the components: per status,
/// the set of codes most operations share is `Problem{status}`, each other set
/// `Problem{status}{Operation}` after the first operation (by id) that answers it.
fn name_coded_problems(doc: &mut Document, coded: CodedProblems) {
    use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Type};
    let mut names = std::collections::HashMap::new();
    let mut common: std::collections::HashMap<u16, (&Vec<String>, usize)> = Default::default();
    for ((status, codes), operations) in &coded {
        let entry = common.entry(*status).or_insert((codes, 0));
        if operations.len() > entry.1 {
            *entry = (codes, operations.len());
        }
    }
    let components = doc.components.get_or_insert_with(Components::new);
    for ((status, codes), operations) in &coded {
        let name = if common.get(status).is_some_and(|(c, _)| *c == codes) {
            format!("Problem{status}")
        } else {
            let first = operations.iter().min().cloned().unwrap_or_default();
            let pascal: String = first
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                })
                .collect();
            format!("Problem{status}{pascal}")
        };
        let code = crate::vocabulary::string_enum(codes.iter().map(String::as_str))
            .description(Some("The codes answered with this status (`ErrorCode`)"));
        let schema = AllOfBuilder::new()
            .item(Ref::from_schema_name("Problem"))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .property("code", code),
            )
            .description(Some(format!(
                "A problem document answered with {status} by {}",
                operations
                    .iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
            .build();
        components
            .schemas
            .insert(name.clone(), RefOr::T(schema.into()));
        names.insert(
            format!("{CODED_PLACEHOLDER}{status}:{}", codes.join(",")),
            Ref::from_schema_name(name),
        );
    }
    for item in doc.paths.paths.values_mut() {
        for op in [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            for response in op.responses.responses.values_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                for content in response.content.values_mut() {
                    if let RefOr::T(content) = content
                        && let Some(RefOr::Ref(r)) = content.schema.as_mut()
                        && let Some(named) = names.get(&r.ref_location)
                    {
                        *r = named.clone();
                    }
                }
            }
        }
    }
}

/// `traceparent` and `X-Request-Id` on every answer (`telemetry::middleware` sets both on
/// all of them, problems and `304` included).
fn add_trace_headers(doc: &mut Document) {
    use utoipa::openapi::{
        Header,
        schema::{ObjectBuilder, Type},
    };
    let components = doc.components.get_or_insert_with(Components::new);
    let mut traceparent = Header::new(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"))
            .examples([serde_json::Value::from(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )]),
    );
    traceparent.description = Some(
        "W3C Trace Context of this request's own span: the caller's trace id when it sent a \
         valid `traceparent`, a fresh one otherwise (also `trace_id` in problem documents)"
            .to_owned(),
    );
    let mut request_id = Header::new(ObjectBuilder::new().schema_type(Type::String));
    request_id.description = Some(
        "The id of this request, in every log line of it and in problem documents \
         (`request_id`); the caller's own when it sent a well-formed one"
            .to_owned(),
    );
    components
        .headers
        .insert(TRACE_HEADERS[0].to_owned(), RefOr::T(traceparent));
    components
        .headers
        .insert(TRACE_HEADERS[1].to_owned(), RefOr::T(request_id));
    let with_trace = |response: &mut utoipa::openapi::Response| {
        for name in TRACE_HEADERS {
            response
                .headers
                .entry(name.to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/headers/{name}"))));
        }
    };
    for response in components.responses.values_mut() {
        if let RefOr::T(response) = response {
            with_trace(response);
        }
    }
    for item in doc.paths.paths.values_mut() {
        for op in [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            for response in op.responses.responses.values_mut() {
                if let RefOr::T(response) = response {
                    with_trace(response);
                }
            }
        }
    }
}

/// What a created resource leads to (OpenAPI `links`): from the answer that made it to the
/// operations on it, its id taken from the answer's body — what a client generator turns
/// into navigation and what schemathesis' stateful phase follows. `(operation that creates,
/// status, [(link name, operation it leads to, [(parameter, runtime expression)])])`.
type LinkTable = &'static [(
    &'static str,
    &'static str,
    &'static [(
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    )],
)];

const ID: &[(&str, &str)] = &[("id", "$response.body#/id")];
const IN_PROGRAM: &[(&str, &str)] = &[
    ("id", "$response.body#/program_id"),
    ("enrollment_id", "$response.body#/id"),
];
const OBJECTIVE: &[(&str, &str)] = &[
    ("id", "$response.body#/pair_id"),
    ("objective_id", "$response.body#/id"),
];
const MEETING: &[(&str, &str)] = &[
    ("id", "$response.body#/pair_id"),
    ("meeting_id", "$response.body#/id"),
];
const NOTE: &[(&str, &str)] = &[
    ("id", "$response.body#/pair_id"),
    ("note_id", "$response.body#/id"),
];

const LINKS: LinkTable = &[
    ("upsert_person", "201", &[("GetPerson", "get_person", ID)]),
    ("upsert_person", "200", &[("GetPerson", "get_person", ID)]),
    (
        "create_program",
        "201",
        &[
            ("GetProgram", "get_program", ID),
            ("UpdateProgram", "update_program", ID),
            ("AddCharterVersion", "add_charter_version", ID),
            ("Enroll", "enroll", ID),
            ("ListEnrollments", "list_enrollments", ID),
            ("ProposePair", "propose_pair", ID),
        ],
    ),
    (
        "add_charter_version",
        "201",
        &[(
            "CurrentCharter",
            "current_charter",
            &[("id", "$response.body#/program_id")],
        )],
    ),
    (
        "enroll",
        "201",
        &[
            ("GetEnrollment", "get_enrollment", IN_PROGRAM),
            ("AcceptCharter", "accept_charter", IN_PROGRAM),
            ("Suggestions", "suggestions", IN_PROGRAM),
        ],
    ),
    (
        "propose_pair",
        "201",
        &[
            ("GetPair", "get_pair", ID),
            ("AcceptPair", "accept_pair", ID),
            ("EndPair", "end_pair", ID),
            ("ListObjectives", "list_objectives", ID),
            ("ListMeetings", "list_meetings", ID),
            ("ListNotes", "list_notes", ID),
        ],
    ),
    (
        "propose_objective",
        "201",
        &[
            ("GetObjective", "get_objective", OBJECTIVE),
            ("UpdateObjective", "update_objective", OBJECTIVE),
            ("AgreeObjective", "agree_objective", OBJECTIVE),
            ("ListRevisions", "list_revisions", OBJECTIVE),
        ],
    ),
    (
        "schedule_meeting",
        "201",
        &[
            ("GetMeeting", "get_meeting", MEETING),
            ("UpdateMeeting", "update_meeting", MEETING),
            ("CancelMeeting", "cancel_meeting", MEETING),
        ],
    ),
    (
        "write_note",
        "201",
        &[
            ("GetNote", "get_note", NOTE),
            ("UpdateNote", "update_note", NOTE),
            ("DeleteNote", "delete_note", NOTE),
        ],
    ),
    (
        "create_webhook",
        "201",
        &[
            ("GetWebhook", "get_webhook", ID),
            ("UpdateWebhook", "update_webhook", ID),
            ("RotateWebhookSecret", "rotate_webhook_secret", ID),
            ("ListWebhookDeliveries", "list_webhook_deliveries", ID),
            ("DeleteWebhook", "delete_webhook", ID),
        ],
    ),
];

/// Put [`LINKS`] on the answers they start from.
fn add_links(doc: &mut Document) {
    use utoipa::openapi::link::LinkBuilder;
    for item in doc.paths.paths.values_mut() {
        for op in [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            let id = op.operation_id.clone().unwrap_or_default();
            for (source, status, links) in LINKS {
                if *source != id {
                    continue;
                }
                let Some(RefOr::T(response)) = op.responses.responses.get_mut(*status) else {
                    continue;
                };
                for (name, target, parameters) in *links {
                    let mut link = LinkBuilder::new()
                        .operation_id(*target)
                        .description(format!("`{target}` on what this answer made"));
                    for (parameter, expression) in *parameters {
                        link = link.parameter(*parameter, *expression);
                    }
                    response
                        .links
                        .insert((*name).to_owned(), RefOr::T(link.build()));
                }
            }
        }
    }
}

/// The shared problem responses no operation refers to any more (the coded ones replaced
/// them outside SCIM): a document lists what it uses.
fn drop_unused_responses(doc: &mut Document) {
    let paths = serde_json::to_string(&doc.paths).unwrap_or_default();
    if let Some(components) = doc.components.as_mut() {
        components
            .responses
            .retain(|name, _| paths.contains(&format!("\"#/components/responses/{name}\"")));
    }
}

/// The headers of [`add_trace_headers`].
const TRACE_HEADERS: [&str; 2] = ["traceparent", "X-Request-Id"];

/// The SCIM error documents an operation under `/scim/v2` can answer (RFC 7644 §3.12):
/// every failure there is one (`routes::scim::ScimError`; what a layer below the handlers
/// answers is rewritten by `telemetry::ensure_problem`), in `application/scim+json`.
fn add_scim_errors(path: &str, method: &str, op: &mut Operation) {
    use utoipa::openapi::{
        Header,
        schema::{ObjectBuilder, Type},
    };
    let has_body = op.request_body.is_some();
    let has_query = op.parameters.as_ref().is_some_and(|p| {
        p.iter().any(
            |p| matches!(p, RefOr::T(p) if p.parameter_in == utoipa::openapi::path::ParameterIn::Query),
        )
    });
    let mut statuses: Vec<(&str, String)> = Vec::new();
    if has_body || has_query || method == "post" {
        let types = match (path, method) {
            (_, "patch") => {
                "`invalidSyntax`, `invalidPath`, `invalidValue`, `mutability`, `noTarget`"
            }
            (_, "put") => "`invalidSyntax`, `invalidValue`, `mutability`",
            (p, "post") if p.ends_with("search") => {
                "`invalidSyntax`, `invalidFilter`, `invalidValue`"
            }
            (_, "post") => "`invalidSyntax`, `invalidValue`",
            _ => "`invalidFilter`, `invalidValue`",
        };
        statuses.push((
            "400",
            format!("The request is malformed or breaks a rule (`scimType` {types})"),
        ));
    }
    statuses.push(("401", "No valid bearer token, or the token of a person the HRIS has deactivated (R11); `WWW-Authenticate: Bearer`".into()));
    statuses.push(("403", "The token does not carry the `hris` role".into()));
    if path.contains('{') {
        statuses.push(("404", "No such resource (a deleted user included)".into()));
    }
    // Every POST honours `Idempotency-Key` (`crate::idempotency`), SCIM's too.
    if path == "/scim/v2/Users" && method == "post" {
        statuses.push(("409", "An active user has this `userName` (`scimType` `uniqueness`), or the `Idempotency-Key` was used with another body".into()));
    } else if method == "post" {
        statuses.push(("409", "The `Idempotency-Key` was used with another body, or its first request is still running".into()));
    }
    if has_body {
        statuses.push(("408", "The body stopped arriving for longer than the body timeout; send the whole request again".into()));
        statuses.push(("413", "The body is over 1 MiB".into()));
    }
    statuses.push((
        "429",
        "Too many requests from this caller: wait `Retry-After` seconds".into(),
    ));
    statuses.push((
        "500",
        "Something failed on our side; the request id finds it in the log".into(),
    ));
    statuses.push(("503", "The database is unreachable or gave up this request for a concurrent one: nothing was written, send it again after `Retry-After` seconds".into()));
    for (status, description) in statuses {
        let mut response = ResponseBuilder::new().description(description).content(
            crate::routes::scim::SCIM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ScimError")))
                .build(),
        );
        if status == "503" || status == "429" {
            let mut retry = Header::new(ObjectBuilder::new().schema_type(Type::Integer));
            retry.description = Some("Seconds to wait before sending it again".to_owned());
            response = response.header("Retry-After", retry);
        }
        let mut response = response.build();
        if status == "429" {
            for name in ["RateLimit-Policy", "RateLimit"] {
                response.headers.insert(
                    name.to_owned(),
                    RefOr::Ref(Ref::new(format!("#/components/headers/{name}"))),
                );
            }
        }
        op.responses
            .responses
            .insert(status.to_owned(), RefOr::T(response));
    }
}

/// `Idempotency-Key` on every `POST` (the middleware honours it on all of them; README
/// "Idempotency-Key"), where the handler did not declare it already.
fn add_idempotency_key(op: &mut Operation) {
    use utoipa::openapi::{
        Required,
        path::{ParameterBuilder, ParameterIn},
        schema::{ObjectBuilder, Type},
    };
    let parameters = op.parameters.get_or_insert_with(Vec::new);
    if parameters.iter().any(
        |p| matches!(p, RefOr::T(p) if p.name.eq_ignore_ascii_case(crate::idempotency::HEADER)),
    ) {
        return;
    }
    parameters.push(RefOr::T(
        ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Makes a retry replay the first answer instead of doing the work twice \
                 (1-255 printable ASCII characters; kept 24 hours, scoped to the token's subject)",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(255))
                    .pattern(Some("^[!-~]+$")),
            ))
            .build(),
    ));
}

/// The conditional-request headers as a client sends them: `If-None-Match` on every GET that
/// may answer `304` (the handlers declare the `304`, not the header it answers), and every
/// header parameter a plain string (a handler's `Option<String>` says "optional", which
/// utoipa renders as a nullable type: generated clients then type `If-Match` `string | null`).
fn conditional_headers(method: &str, op: &mut Operation) {
    use utoipa::openapi::{
        Required,
        path::{ParameterBuilder, ParameterIn},
        schema::{ObjectBuilder, Schema, SchemaType, Type},
    };
    let parameters = op.parameters.get_or_insert_with(Vec::new);
    for parameter in parameters.iter_mut() {
        if let RefOr::T(p) = parameter
            && p.parameter_in == ParameterIn::Header
            && let Some(RefOr::T(Schema::Object(schema))) = p.schema.as_mut()
        {
            schema.schema_type = SchemaType::Type(Type::String);
        }
    }
    let conditional = method == "get" && op.responses.responses.contains_key("304");
    if conditional
        && !parameters
            .iter()
            .any(|p| matches!(p, RefOr::T(p) if p.name.eq_ignore_ascii_case("If-None-Match")))
    {
        parameters.push(RefOr::T(
            ParameterBuilder::new()
                .name("If-None-Match")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "The `ETag` of the representation the client holds: `304` when it is \
                     still current",
                ))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build(),
        ));
    }
    if parameters.is_empty() {
        op.parameters = None;
    }
}

/// `If-None-Match` on the GETs whose answer carries an `ETag` (they all honour it with `304`,
/// `tagged::read` / `tagged::read_content`), and the `ETag` on that `304`.
fn add_if_none_match(op: &mut Operation) {
    use utoipa::openapi::{
        Header, Required,
        path::{ParameterBuilder, ParameterIn},
        schema::{ObjectBuilder, Type},
    };
    let tagged = matches!(op.responses.responses.get("200"),
        Some(RefOr::T(ok)) if ok.headers.contains_key("ETag"));
    if !tagged {
        return;
    }
    let parameters = op.parameters.get_or_insert_with(Vec::new);
    if !parameters
        .iter()
        .any(|p| matches!(p, RefOr::T(p) if p.name.eq_ignore_ascii_case("If-None-Match")))
    {
        parameters.push(RefOr::T(
            ParameterBuilder::new()
                .name("If-None-Match")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "The `ETag`s of the copies the client holds (or `*`): `304` without a body \
                     when one is still current",
                ))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build(),
        ));
    }
    if let Some(RefOr::T(not_modified)) = op.responses.responses.get_mut("304")
        && !not_modified.headers.contains_key("ETag")
    {
        let mut tag = Header::new(ObjectBuilder::new().schema_type(Type::String));
        tag.description = Some("The current tag, the one the client holds".to_owned());
        not_modified
            .headers
            .insert("ETag".to_owned(), RefOr::T(tag));
    }
}

/// A summary is plain text (OpenAPI; Swagger UI and generators show it raw): the doc
/// comment's Markdown code spans lose their backticks there, and the first paragraph keeps
/// them, rendered, at the head of the description.
fn plain_summary(op: &mut Operation) {
    let Some(summary) = op.summary.as_mut() else {
        return;
    };
    if !summary.contains('`') {
        return;
    }
    let marked = summary.clone();
    *summary = marked.replace('`', "");
    op.description = Some(match op.description.take() {
        Some(rest) if !rest.trim().is_empty() => format!("{marked}\n\n{rest}"),
        _ => marked,
    });
}

/// `Link: <…>; rel="next"` on the answers that are a page of a list.
fn add_link_header(op: &mut Operation) {
    use utoipa::openapi::{
        Header,
        schema::{ObjectBuilder, Type},
    };
    let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") else {
        return;
    };
    let paginated = ok.content.values().any(|c| {
        matches!(c, RefOr::T(c)
            if matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location.contains("Paginated")))
    });
    if paginated && !ok.headers.contains_key("Link") {
        let mut link = Header::new(ObjectBuilder::new().schema_type(Type::String));
        link.description =
            Some("`<…?cursor=…>; rel=\"next\"` when there is another page".to_owned());
        ok.headers.insert("Link".to_owned(), RefOr::T(link));
    }
}

/// The operations the rate limiter counts (`crate::rate_limit`): all but the probes and the
/// scrapes.
fn rate_limited(path: &str) -> bool {
    !matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-10) as reusable
/// headers, and the `429 rate_limited` answer with `Retry-After`.
fn add_rate_limit_components(doc: &mut Document) {
    use utoipa::openapi::{
        Header,
        schema::{ObjectBuilder, Type},
    };
    let string_header = |description: &str, example: &str| {
        let mut h = Header::new(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .examples([serde_json::Value::from(example)]),
        );
        h.description = Some(description.to_owned());
        RefOr::T(h)
    };
    let components = doc.components.get_or_insert_with(Components::new);
    components.headers.insert(
        "RateLimit-Policy".to_owned(),
        string_header(
            "The caller's quota (draft-ietf-httpapi-ratelimit-headers-10): `q` requests in any \
             `w` seconds are never refused. Counted per caller — the token's subject, or the \
             client address without a valid token — and per replica (`MENTORAT_RATE_LIMIT`)",
            "\"per-caller\";q=100;w=1",
        ),
    );
    components.headers.insert(
        "RateLimit".to_owned(),
        string_header(
            "What is left of the quota: `r` requests now, all of it back in `t` seconds",
            "\"per-caller\";r=99;t=1",
        ),
    );
    let mut retry = Header::new(ObjectBuilder::new().schema_type(Type::Integer));
    retry.description = Some("Seconds to wait before the next request".to_owned());
    let response = ResponseBuilder::new()
        .description(
            "Too many requests from this caller (`rate_limited`): wait `Retry-After` seconds",
        )
        .content(
            crate::problem::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .header("Retry-After", retry)
        .build();
    let mut response = response;
    for name in ["RateLimit-Policy", "RateLimit"] {
        response.headers.insert(
            name.to_owned(),
            RefOr::Ref(Ref::new(format!("#/components/headers/{name}"))),
        );
    }
    components
        .responses
        .insert("RateLimited".to_owned(), RefOr::T(response));
}

/// A limited operation may answer `429`, and its successful answers say what is left.
fn add_rate_limit(path: &str, op: &mut Operation) {
    if !rate_limited(path) {
        return;
    }
    for (status, response) in op.responses.responses.iter_mut() {
        if let RefOr::T(response) = response
            && status.starts_with('2')
        {
            for name in ["RateLimit-Policy", "RateLimit"] {
                response.headers.entry(name.to_owned()).or_insert_with(|| {
                    RefOr::Ref(Ref::new(format!("#/components/headers/{name}")))
                });
            }
        }
    }
    op.responses
        .responses
        .entry("429".to_owned())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name("RateLimited")));
}

/// What a response without a description of its own says: OpenAPI requires one on every
/// response, and a generator names its types and comments after it.
fn standard_description(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted",
        "204" => "No content",
        "304" => "Not modified: the `ETag` in `If-None-Match` is still current",
        _ => "See the problem document",
    }
}

/// Finish a generated document: standard problems on every operation, a description on
/// every response, `security: []` on the operations that take no token (so a client knows
/// not to send one), and the server the document is served from.
pub fn finish(mut doc: Document) -> Document {
    let mut coded = CodedProblems::new();
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in [
            ("get", item.get.as_mut()),
            ("put", item.put.as_mut()),
            ("post", item.post.as_mut()),
            ("patch", item.patch.as_mut()),
            ("delete", item.delete.as_mut()),
        ] {
            if let Some(op) = op {
                if path.starts_with("/scim/") {
                    add_scim_errors(path, method, op);
                } else {
                    add_coded_problems(path, method, op, &mut coded);
                }
                if method == "post" {
                    add_idempotency_key(op);
                }
                add_link_header(op);
                conditional_headers(method, op);
                if method == "get" {
                    add_if_none_match(op);
                }
                add_rate_limit(path, op);
                plain_summary(op);
                for (status, response) in op.responses.responses.iter_mut() {
                    if let RefOr::T(response) = response
                        && response.description.trim().is_empty()
                    {
                        response.description = standard_description(status).to_owned();
                    }
                }
                if op.security.is_none() {
                    op.security = Some(Vec::new());
                }
            }
        }
    }
    name_coded_problems(&mut doc, coded);
    add_rate_limit_components(&mut doc);
    add_trace_headers(&mut doc);
    add_links(&mut doc);
    drop_unused_responses(&mut doc);
    if doc.servers.is_none() {
        doc.servers = Some(vec![
            ServerBuilder::new()
                .url("/")
                .description(Some(
                    "The server this document is served from (`/openapi.json`)",
                ))
                .build(),
        ]);
    }
    doc
}
