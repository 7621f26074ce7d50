//! `/scim/v2`: SCIM 2.0 provisioning (RFC 7643, RFC 7644) for the `hris` role, as Microsoft
//! Entra ID and Okta speak it. A SCIM User **is** a person (`mentorat_service::scim`):
//!
//! | SCIM attribute                                   | person                 |
//! |--------------------------------------------------|------------------------|
//! | `id`                                             | `id`                   |
//! | `userName` (immutable)                           | `external_id`          |
//! | `externalId`                                     | kept beside (000019)   |
//! | `name.givenName`, `name.familyName`              | `given_name`, `family_name` |
//! | `emails` (the primary, else the `work` one)      | `email`                |
//! | `title`                                          | `job_title`            |
//! | `active`                                         | `active` (R11)         |
//! | `addresses[type eq "work"].formatted`            | `site`                 |
//! | enterprise `department`                          | `department`           |
//! | enterprise `manager.value` (the manager's `id`)  | `manager_external_id`  |
//!
//! Other attributes are ignored (RFC 7644 §3.3), logged at debug. Every answer, errors
//! included, is `application/scim+json`; errors are SCIM error documents with `scimType`.

use actix_web::{
    FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, delete,
    dev::Payload,
    get,
    http::{StatusCode, header},
    patch, post, put, web,
};
use mentorat_domain::{
    Caller, Operation, authorize,
    scim::{ENTERPRISE_SCHEMA, Filter, ScimFault, USER_SCHEMA, UserFields},
};
use mentorat_service::{
    ServiceError,
    scim::{self as use_case, Provisioned, Refusal, ScimUser},
};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::{
    leavers::Leavers,
    links::PublicUrl,
    problem::ApiError,
    routes::scim_schemas::{
        ScimNewUser, ScimPatchOp, ScimReplacedUser, ScimResourceType, ScimResourceTypeList,
        ScimSchema, ScimSchemaList, ScimSearchRequest, ScimServiceProviderConfig, ScimUserList,
    },
};

pub const SCIM_JSON: &str = "application/scim+json";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// The most users one list answer holds (`ServiceProviderConfig.filter.maxResults`).
pub const MAX_RESULTS: u64 = 200;
const BASE: &str = "/scim/v2";

/// A SCIM error document (RFC 7644 §3.12).
#[derive(Debug)]
pub struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

impl ScimError {
    fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad("invalidValue", detail)
    }
}

impl std::fmt::Display for ScimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.detail)
    }
}

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut doc = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let (Some(t), Some(obj)) = (self.scim_type, doc.as_object_mut()) {
            obj.insert("scimType".into(), Value::from(t));
        }
        let mut res = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.insert_header((header::RETRY_AFTER, "1"));
        }
        res.content_type(SCIM_JSON).body(doc.to_string())
    }
}

impl From<ApiError> for ScimError {
    fn from(err: ApiError) -> Self {
        let status = err.status_code();
        let detail = match &err {
            ApiError::Internal(details) => {
                tracing::error!(error = %details, "a SCIM request failed with an internal error");
                "an internal error; it is logged under this request's id".to_owned()
            }
            ApiError::Validation { detail, errors } if !errors.is_empty() => {
                let fields: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.pointer, e.detail))
                    .collect();
                format!("{detail}: {}", fields.join("; "))
            }
            other => other.to_string(),
        };
        let scim_type = match &err {
            ApiError::Validation { .. } | ApiError::MalformedJson(_) => Some("invalidValue"),
            _ => None,
        };
        // A refusal of the rules is a bad request in SCIM's terms.
        let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        Self::new(status, scim_type, detail)
    }
}

impl From<ServiceError> for ScimError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound => Self::new(StatusCode::NOT_FOUND, None, "no such user"),
            other => ApiError::from(other).into(),
        }
    }
}

impl From<ScimFault> for ScimError {
    fn from(fault: ScimFault) -> Self {
        Self::bad(fault.scim_type.as_str(), fault.detail)
    }
}

impl From<Refusal> for ScimError {
    fn from(err: Refusal) -> Self {
        match err {
            Refusal::Uniqueness(detail) => {
                Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
            }
            Refusal::Mutability(detail) => Self::bad("mutability", detail),
            Refusal::ManagerCycle(detail) => Self::invalid_value(detail),
            Refusal::Fault(fault) => fault.into(),
            Refusal::Service(err) => err.into(),
        }
    }
}

/// A SCIM error document of `status` (no `scimType`), for what a layer below the handlers
/// refused (`telemetry::ensure_problem`).
pub fn error_document(status: StatusCode, detail: &str) -> HttpResponse {
    ScimError::new(status, None, detail).error_response()
}

/// A path under `/scim/v2` that names nothing (Groups, `/.search`, …): a SCIM `404`.
pub fn not_found(path: &str) -> HttpResponse {
    ScimError::new(
        StatusCode::NOT_FOUND,
        None,
        format!("there is no resource at {path}; only Users are offered"),
    )
    .error_response()
}

/// The SCIM connector: authenticated (R11 included) and holding the `hris` role; refusals
/// are SCIM error documents.
pub struct ScimCaller(pub Caller);

impl FromRequest for ScimCaller {
    type Error = ScimError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ScimError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let caller = crate::auth::authenticate(&req).await?;
            req.extensions_mut().insert(crate::audit::Audited {
                operation: Operation::ProvisionUsers,
                caller: caller.clone(),
            });
            authorize(&caller, Operation::ProvisionUsers).map_err(|_| {
                tracing::info!(subject = %caller.subject, "SCIM access denied");
                ScimError::new(
                    StatusCode::FORBIDDEN,
                    None,
                    "SCIM provisioning is for the `hris` role",
                )
            })?;
            Ok(ScimCaller(caller))
        })
    }
}

fn scim(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(SCIM_JSON)
        .body(body.to_string())
}

fn link(req: &HttpRequest, path: &str) -> String {
    match req.app_data::<web::Data<PublicUrl>>() {
        Some(url) => url.link(&format!("{BASE}{path}")),
        None => format!("{BASE}{path}"),
    }
}

/// A user as SCIM shows it.
fn render(req: &HttpRequest, user: &ScimUser) -> Value {
    let p = &user.person;
    let r = &p.record;
    let f = &user.fields;
    let mut doc = Map::new();
    doc.insert("schemas".into(), json!([USER_SCHEMA, ENTERPRISE_SCHEMA]));
    doc.insert("id".into(), json!(p.id));
    if let Some(e) = &user.external_id {
        doc.insert("externalId".into(), json!(e));
    }
    doc.insert("userName".into(), json!(r.external_id.as_str()));
    doc.insert(
        "name".into(),
        json!({
            "givenName": r.given_name,
            "familyName": r.family_name,
        }),
    );
    doc.insert("emails".into(), json!(f.emails));
    if let Some(t) = &r.job_title {
        doc.insert("title".into(), json!(t));
    }
    // Absent while a PATCH left it unassigned (the person is active).
    if let Some(active) = f.active {
        doc.insert("active".into(), json!(active));
    }
    if !f.addresses.is_empty() {
        doc.insert("addresses".into(), json!(f.addresses));
    }
    let mut enterprise = Map::new();
    if let Some(d) = &r.department {
        enterprise.insert("department".into(), json!(d));
    }
    if let Some(m) = &user.manager {
        enterprise.insert("manager".into(), json!({"value": m}));
    }
    if enterprise.is_empty() {
        doc.insert("schemas".into(), json!([USER_SCHEMA]));
    } else {
        doc.insert(ENTERPRISE_SCHEMA.into(), Value::Object(enterprise));
    }
    doc.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": p.created_at,
            "lastModified": p.updated_at,
            "location": link(req, &format!("/Users/{}", p.id)),
        }),
    );
    Value::Object(doc)
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5), comma-separated, on top-level
/// attributes and their sub-attributes (`name.givenName`, `urn:…:enterprise:2.0:User:department`).
/// `id`, `schemas` and `meta` are always returned.
fn project(doc: &mut Value, attributes: Option<&str>, excluded: Option<&str>) {
    fn names(list: &str) -> Vec<(String, Option<String>)> {
        list.split(',')
            .filter_map(|a| {
                let a = a.trim();
                let (prefix, rest) = if a.len() > ENTERPRISE_SCHEMA.len()
                    && a.is_char_boundary(ENTERPRISE_SCHEMA.len())
                    && a[..ENTERPRISE_SCHEMA.len()].eq_ignore_ascii_case(ENTERPRISE_SCHEMA)
                {
                    (Some(ENTERPRISE_SCHEMA), &a[ENTERPRISE_SCHEMA.len() + 1..])
                } else if a.len() > USER_SCHEMA.len()
                    && a.is_char_boundary(USER_SCHEMA.len())
                    && a[..USER_SCHEMA.len()].eq_ignore_ascii_case(USER_SCHEMA)
                {
                    (None, &a[USER_SCHEMA.len() + 1..])
                } else {
                    (None, a)
                };
                if rest.is_empty() {
                    return prefix.map(|p| (p.to_owned(), None));
                }
                Some(match prefix {
                    Some(p) => (p.to_owned(), Some(rest.to_owned())),
                    None => match rest.split_once('.') {
                        Some((top, sub)) => (top.to_owned(), Some(sub.to_owned())),
                        None => (rest.to_owned(), None),
                    },
                })
            })
            .collect()
    }
    let Some(obj) = doc.as_object_mut() else {
        return;
    };
    let always = ["id", "schemas", "meta"];
    if let Some(list) = attributes.filter(|l| !l.trim().is_empty()) {
        let wanted = names(list);
        obj.retain(|key, value| {
            if always.contains(&key.as_str()) {
                return true;
            }
            let subs: Vec<&Option<String>> = wanted
                .iter()
                .filter(|(top, _)| top.eq_ignore_ascii_case(key))
                .map(|(_, sub)| sub)
                .collect();
            if subs.is_empty() {
                return false;
            }
            if subs.iter().all(|s| s.is_some())
                && let Some(inner) = value.as_object_mut()
            {
                inner.retain(|k, _| {
                    subs.iter()
                        .any(|s| s.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(k)))
                });
            }
            true
        });
    }
    if let Some(list) = excluded {
        for (top, sub) in names(list) {
            if always.iter().any(|a| a.eq_ignore_ascii_case(&top)) {
                continue;
            }
            let key = obj.keys().find(|k| k.eq_ignore_ascii_case(&top)).cloned();
            let Some(key) = key else { continue };
            match sub {
                None => {
                    obj.remove(&key);
                }
                Some(sub) => {
                    if let Some(inner) = obj.get_mut(&key).and_then(Value::as_object_mut) {
                        inner.retain(|k, _| !k.eq_ignore_ascii_case(&sub));
                    }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct Projection {
    attributes: Option<String>,
    #[serde(rename = "excludedAttributes")]
    excluded_attributes: Option<String>,
}

fn projection(req: &HttpRequest) -> Projection {
    web::Query::<Projection>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or(Projection {
            attributes: None,
            excluded_attributes: None,
        })
}

async fn body_json(payload: web::Payload, req: &HttpRequest) -> Result<Value, ScimError> {
    let mut payload = payload.into_inner();
    let body = crate::json::read_body(
        &mut payload,
        crate::json::declared_length(req),
        crate::json::BODY_LIMIT,
    )
    .await?;
    serde_json::from_slice(&body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("the body is not valid JSON: {e}")))
}

fn parse_id(id: &str) -> Result<Uuid, ScimError> {
    Uuid::parse_str(id).map_err(|_| ScimError::new(StatusCode::NOT_FOUND, None, "no such user"))
}

fn user_response(req: &HttpRequest, status: StatusCode, user: &ScimUser) -> HttpResponse {
    let doc = render(req, user);
    let mut res = HttpResponse::build(status);
    if status == StatusCode::CREATED {
        res.insert_header((
            header::LOCATION,
            link(req, &format!("/Users/{}", user.person.id)),
        ));
    }
    res.content_type(SCIM_JSON).body(doc.to_string())
}

/// What the service offers (RFC 7643 §5): PATCH, filters (see `GET /Users`) and
/// `POST /.search`; no bulk, sort, ETags or password changes; Users only, no Groups.
#[utoipa::path(
    tag = "SCIM",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The service provider's configuration", content_type = "application/scim+json", body = ScimServiceProviderConfig),
    )
)]
#[get("/ServiceProviderConfig")]
pub async fn service_provider_config(
    _caller: ScimCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ScimError> {
    Ok(scim(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": false},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A JWT bearer token with the `hris` role, as for the rest of the API",
                "primary": true
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": link(&req, "/ServiceProviderConfig"),
            }
        }),
    ))
}

fn user_resource_type(req: &HttpRequest) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A person of the organization",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": false}],
        "meta": {"resourceType": "ResourceType", "location": link(req, "/ResourceTypes/User")}
    })
}

fn list_of(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// The resource types offered: `User` (with the enterprise extension) only.
#[utoipa::path(
    tag = "SCIM",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A list of resource types", content_type = "application/scim+json", body = ScimResourceTypeList),
    )
)]
#[get("/ResourceTypes")]
pub async fn resource_types(
    _caller: ScimCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ScimError> {
    Ok(scim(
        StatusCode::OK,
        &list_of(vec![user_resource_type(&req)]),
    ))
}

/// One resource type (`User`).
#[utoipa::path(
    tag = "SCIM",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "`User`")),
    responses(
        (status = 200, description = "The resource type", content_type = "application/scim+json", body = ScimResourceType),
    )
)]
#[get("/ResourceTypes/{id}")]
pub async fn resource_type(
    _caller: ScimCaller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    if id.as_str() != "User" {
        return Err(ScimError::new(
            StatusCode::NOT_FOUND,
            None,
            "only `User` is offered",
        ));
    }
    Ok(scim(StatusCode::OK, &user_resource_type(&req)))
}

#[allow(clippy::too_many_arguments)]
fn attribute(
    name: &str,
    kind: &str,
    multi: bool,
    required: bool,
    mutability: &str,
    uniqueness: &str,
    description: &str,
    sub: Vec<Value>,
) -> Value {
    let mut a = json!({
        "name": name,
        "type": kind,
        "multiValued": multi,
        "description": description,
        "required": required,
        "caseExact": matches!(name, "userName" | "externalId"),
        "mutability": mutability,
        "returned": "default",
        "uniqueness": uniqueness,
    });
    if let Some(o) = a.as_object_mut() {
        if !sub.is_empty() {
            o.insert("subAttributes".into(), Value::Array(sub));
        }
        if kind == "reference" {
            o.insert("referenceTypes".into(), json!(["User"]));
        }
    }
    a
}

fn simple(name: &str, kind: &str, description: &str) -> Value {
    attribute(
        name,
        kind,
        false,
        false,
        "readWrite",
        "none",
        description,
        Vec::new(),
    )
}

fn schemas_of(req: &HttpRequest) -> Vec<Value> {
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A person of the organization",
        "attributes": [
            attribute("userName", "string", false, true, "immutable", "server", "The person's HRIS id (external_id), what tokens carry as subject", Vec::new()),
            attribute("name", "complex", false, true, "readWrite", "none", "The person's name", vec![
                attribute("givenName", "string", false, true, "readWrite", "none", "Given name", Vec::new()),
                attribute("familyName", "string", false, true, "readWrite", "none", "Family name", Vec::new()),
            ]),
            simple("title", "string", "Job title"),
            simple("active", "boolean", "false deactivates the person (R11): their pairs are suspended, their tokens refused; removed (unassigned), the person is active"),
            attribute("emails", "complex", true, true, "readWrite", "none", "Kept as sent; the primary (else work, else first) address is the person's email", vec![
                attribute("value", "string", false, true, "readWrite", "none", "Address", Vec::new()),
                simple("display", "string", "Display"),
                simple("type", "string", "work, home, other"),
                simple("primary", "boolean", "Primary"),
            ]),
            attribute("addresses", "complex", true, false, "readWrite", "none", "Kept as sent; the primary (else work, else first) address's formatted text is the person's site", vec![
                simple("formatted", "string", "The site"),
                simple("streetAddress", "string", "Street"),
                simple("locality", "string", "City"),
                simple("region", "string", "Region"),
                simple("postalCode", "string", "Postal code"),
                simple("country", "string", "Country"),
                simple("type", "string", "work, home, other"),
                simple("primary", "boolean", "Primary"),
            ]),
        ],
        "meta": {"resourceType": "Schema", "location": link(req, &format!("/Schemas/{USER_SCHEMA}"))}
    });
    let enterprise = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": ENTERPRISE_SCHEMA,
        "name": "EnterpriseUser",
        "description": "Enterprise User",
        "attributes": [
            simple("department", "string", "Department"),
            attribute("manager", "complex", false, false, "readWrite", "none", "The manager; may be provisioned later", vec![
                simple("value", "string", "The manager's id"),
            ]),
        ],
        "meta": {"resourceType": "Schema", "location": link(req, &format!("/Schemas/{ENTERPRISE_SCHEMA}"))}
    });
    vec![user, enterprise]
}

/// The schemas of the User resource and of its enterprise extension, with only the
/// attributes the service keeps.
#[utoipa::path(
    tag = "SCIM",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A list of schemas", content_type = "application/scim+json", body = ScimSchemaList),
    )
)]
#[get("/Schemas")]
pub async fn list_schemas(
    _caller: ScimCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ScimError> {
    Ok(scim(StatusCode::OK, &list_of(schemas_of(&req))))
}

/// One schema, by its URN.
#[utoipa::path(
    tag = "SCIM",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The schema's URN")),
    responses(
        (status = 200, description = "The schema", content_type = "application/scim+json", body = ScimSchema),
    )
)]
#[get("/Schemas/{id}")]
pub async fn get_schema(
    _caller: ScimCaller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    schemas_of(&req)
        .into_iter()
        .find(|s| s["id"].as_str() == Some(id.as_str()))
        .map(|s| scim(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::new(StatusCode::NOT_FOUND, None, "no such schema"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListUsersQuery {
    /// A filter on `userName`, `externalId`, `id`, `active`, `emails`: `eq`, `ne`, `co`,
    /// `sw`, `ew`, `pr`, `and`, `or`, `not (…)`; e.g. `userName eq "E1"`.
    pub filter: Option<String>,
    /// 1-based index of the first result (default 1; below 1 is 1).
    #[serde(rename = "startIndex")]
    #[param(rename = "startIndex", schema_with = crate::routes::scim_schemas::any_integer)]
    pub start_index: Option<String>,
    /// Results per page, at most 200 (default 200; more is 200, below 0 is 0).
    #[param(schema_with = crate::routes::scim_schemas::any_integer)]
    pub count: Option<String>,
    /// Only these attributes (comma-separated; `id`, `schemas`, `meta` always).
    pub attributes: Option<String>,
    /// All but these attributes (comma-separated).
    #[serde(rename = "excludedAttributes")]
    #[param(rename = "excludedAttributes")]
    pub excluded_attributes: Option<String>,
}

/// A SCIM integer parameter: out-of-range values are clamped (RFC 7644 §3.4.2.4).
fn integer(value: Option<&str>, name: &str) -> Result<Option<i64>, ScimError> {
    value
        .map(|v| {
            let v = v.trim();
            let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
            match v.parse::<i64>() {
                Ok(n) => Ok(n),
                // An integer beyond i64 is clamped as any other out-of-range value.
                Err(_) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(if v.starts_with('-') {
                        i64::MIN
                    } else {
                        i64::MAX
                    })
                }
                Err(_) => Err(ScimError::invalid_value(format!(
                    "{name} must be an integer"
                ))),
            }
        })
        .transpose()
}

/// List users, filtered (`eq`, `ne`, `co`, `sw`, `ew`, `pr`, `and`, `or`, `not` over
/// `userName`, `externalId`, `id`, `active`, `emails`), a page at a time.
#[utoipa::path(
    tag = "SCIM",
    security(("bearer" = [])),
    params(ListUsersQuery),
    responses(
        (status = 200, description = "A list response", content_type = "application/scim+json", body = ScimUserList),
    )
)]
#[get("/Users")]
pub async fn list_users(
    caller: ScimCaller,
    db: crate::unit::RequestDb,
    req: HttpRequest,
) -> Result<HttpResponse, ScimError> {
    let query = web::Query::<ListUsersQuery>::from_query(req.query_string())
        .map_err(|e| ScimError::invalid_value(format!("a query parameter is malformed: {e}")))?
        .into_inner();
    let start = integer(query.start_index.as_deref(), "startIndex")?;
    let count = integer(query.count.as_deref(), "count")?;
    let wanted = projection(&req);
    list_answer(
        &caller,
        &db,
        &req,
        Query {
            filter: query.filter.as_deref(),
            start,
            count,
            attributes: wanted.attributes.as_deref(),
            excluded_attributes: wanted.excluded_attributes.as_deref(),
        },
    )
    .await
}

/// A list query, from the URL (`GET`) or a search request's body (`POST /.search`).
struct Query<'a> {
    filter: Option<&'a str>,
    start: Option<i64>,
    count: Option<i64>,
    attributes: Option<&'a str>,
    excluded_attributes: Option<&'a str>,
}

async fn list_answer(
    caller: &ScimCaller,
    db: &crate::unit::RequestDb,
    req: &HttpRequest,
    query: Query<'_>,
) -> Result<HttpResponse, ScimError> {
    let filter = query
        .filter
        .map(Filter::parse)
        .transpose()
        .map_err(|e| ScimError::bad("invalidFilter", e.to_string()))?;
    let start = query.start.unwrap_or(1).max(1);
    let count = query
        .count
        .unwrap_or(MAX_RESULTS as i64)
        .clamp(0, MAX_RESULTS as i64);
    let offset = u64::try_from(start - 1).unwrap_or(0);
    let count = u64::try_from(count).unwrap_or(0);
    let (total, users) = use_case::list(db, &caller.0, filter.as_ref(), offset, count).await?;
    let resources: Vec<Value> = users
        .iter()
        .map(|u| {
            let mut doc = render(req, u);
            project(&mut doc, query.attributes, query.excluded_attributes);
            doc
        })
        .collect();
    Ok(scim(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    ))
}

/// A search request's `attributes` / `excludedAttributes`: an array of names (RFC 7644
/// §3.4.3), or one comma-separated string.
fn names(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, ScimError> {
    match mentorat_domain::scim::user::lookup(obj, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str().map(str::to_owned).ok_or_else(|| {
                    ScimError::invalid_value(format!("{key} must be an array of strings"))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| Some(v.join(","))),
        Some(_) => Err(ScimError::invalid_value(format!(
            "{key} must be an array of strings"
        ))),
    }
}

fn search_integer(obj: &Map<String, Value>, key: &str) -> Result<Option<i64>, ScimError> {
    match mentorat_domain::scim::user::lookup(obj, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Ok(Some(i)),
            (None, Some(_), _) => Ok(Some(i64::MAX)),
            // A whole number written with an exponent or beyond i64: clamped (saturating).
            #[allow(clippy::cast_possible_truncation)]
            (None, None, Some(f)) if f.is_finite() && f.fract() == 0.0 => Ok(Some(f as i64)),
            _ => Err(ScimError::invalid_value(format!(
                "{key} must be an integer"
            ))),
        },
        Some(Value::String(s)) => integer(Some(s), key),
        Some(_) => Err(ScimError::invalid_value(format!(
            "{key} must be an integer"
        ))),
    }
}

async fn search(
    caller: ScimCaller,
    db: crate::unit::RequestDb,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let body = body_json(payload, &req).await?;
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "the body must be a SearchRequest"))?;
    let schemas_ok = mentorat_domain::scim::user::lookup(obj, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty() && s.iter().all(|s| s.as_str() == Some(SEARCH_SCHEMA)));
    if !schemas_ok {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!("`schemas` must be [\"{SEARCH_SCHEMA}\"]"),
        ));
    }
    let filter = match mentorat_domain::scim::user::lookup(obj, "filter") {
        None | Some(Value::Null) => None,
        Some(Value::String(f)) => Some(f.clone()),
        Some(_) => return Err(ScimError::bad("invalidFilter", "filter must be a string")),
    };
    let attributes = names(obj, "attributes")?;
    let excluded = names(obj, "excludedAttributes")?;
    let start = search_integer(obj, "startIndex")?;
    let count = search_integer(obj, "count")?;
    list_answer(
        &caller,
        &db,
        &req,
        Query {
            filter: filter.as_deref(),
            start,
            count,
            attributes: attributes.as_deref(),
            excluded_attributes: excluded.as_deref(),
        },
    )
    .await
}

/// Search users with a `SearchRequest` body (RFC 7644 §3.4.3): the query of `GET /Users`
/// (`filter`, `startIndex`, `count`, `attributes`, `excludedAttributes`) kept out of URLs
/// and logs. Sorting is not offered (`sortBy` is ignored).
#[utoipa::path(
    tag = "SCIM",
    security(("bearer" = [])),
    request_body(description = "A SearchRequest message", content((ScimSearchRequest = "application/scim+json"), (ScimSearchRequest = "application/json"))),
    responses(
        (status = 200, description = "A list response", content_type = "application/scim+json", body = ScimUserList),
    )
)]
#[post("/Users/.search")]
pub async fn search_users(
    caller: ScimCaller,
    db: crate::unit::RequestDb,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    search(caller, db, req, payload).await
}

/// Search from the root (RFC 7644 §3.4.3): over every resource type offered, which is
/// `User` alone; the same as `POST /Users/.search`.
#[utoipa::path(
    tag = "SCIM",
    security(("bearer" = [])),
    request_body(description = "A SearchRequest message", content((ScimSearchRequest = "application/scim+json"), (ScimSearchRequest = "application/json"))),
    responses(
        (status = 200, description = "A list response", content_type = "application/scim+json", body = ScimUserList),
    )
)]
#[post("/.search")]
pub async fn search_all(
    caller: ScimCaller,
    db: crate::unit::RequestDb,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    search(caller, db, req, payload).await
}

/// Read a user.
#[utoipa::path(
    tag = "SCIM",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The user's id (the person's id)")),
    responses(
        (status = 200, description = "The user", content_type = "application/scim+json", body = crate::routes::scim_schemas::ScimUser),
    )
)]
#[get("/Users/{id}")]
pub async fn get_user(
    caller: ScimCaller,
    db: crate::unit::RequestDb,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let user = use_case::get(&db, &caller.0, parse_id(&id)?).await?;
    let wanted = projection(&req);
    let mut doc = render(&req, &user);
    project(
        &mut doc,
        wanted.attributes.as_deref(),
        wanted.excluded_attributes.as_deref(),
    );
    Ok(scim(StatusCode::OK, &doc))
}

/// A write's answer; R11: a deactivated person's tokens are refused from now on, on this
/// replica.
fn written(req: &HttpRequest, status: StatusCode, mut done: Provisioned) -> HttpResponse {
    if let Some(leavers) = req.app_data::<web::Data<Leavers>>() {
        leavers.written(req, std::mem::take(&mut done.activity_changes));
    }
    user_response(req, status, &done.user)
}

/// Provision a user: `201` with its `Location`; `409 uniqueness` when an active user has
/// this `userName`. A deactivated user provisioned again is reactivated.
#[utoipa::path(
    tag = "SCIM",
    security(("bearer" = [])),
    request_body(description = "A User resource", content((ScimNewUser = "application/scim+json"), (ScimNewUser = "application/json"))),
    responses(
        (status = 201, description = "Created", content_type = "application/scim+json", body = crate::routes::scim_schemas::ScimUser, headers(("Location" = String))),
    )
)]
#[post("/Users")]
pub async fn create_user(
    caller: ScimCaller,
    db: crate::unit::RequestDb,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let body = body_json(payload, &req).await?;
    let (fields, ignored) = UserFields::from_resource(&body)?;
    let done = use_case::create(&db, &caller.0, fields, &ignored).await?;
    Ok(written(&req, StatusCode::CREATED, done))
}

/// Replace a user whole (Okta's way); what the resource leaves out is cleared. `userName`
/// cannot change (`mutability`).
#[utoipa::path(
    tag = "SCIM",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The user's id")),
    request_body(description = "A User resource", content((ScimReplacedUser = "application/scim+json"), (ScimReplacedUser = "application/json"))),
    responses(
        (status = 200, description = "Replaced", content_type = "application/scim+json", body = crate::routes::scim_schemas::ScimUser),
    )
)]
#[put("/Users/{id}")]
pub async fn replace_user(
    caller: ScimCaller,
    db: crate::unit::RequestDb,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let id = parse_id(&id)?;
    let body = body_json(payload, &req).await?;
    let (fields, ignored) = UserFields::from_resource(&body)?;
    let done = use_case::replace(&db, &caller.0, id, fields, &ignored).await?;
    Ok(written(&req, StatusCode::OK, done))
}

/// Modify a user (RFC 7644 §3.5.2): `add`, `replace`, `remove`, as Entra ID sends them
/// (capitalised ops, `"True"`/`"False"`, path-less values, `emails[type eq "work"].value`,
/// the enterprise `manager` and `department`).
#[utoipa::path(
    tag = "SCIM",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The user's id")),
    request_body(description = "A PatchOp message", content((ScimPatchOp = "application/scim+json"), (ScimPatchOp = "application/json"))),
    responses(
        (status = 200, description = "Modified", content_type = "application/scim+json", body = crate::routes::scim_schemas::ScimUser),
    )
)]
#[patch("/Users/{id}")]
pub async fn patch_user(
    caller: ScimCaller,
    db: crate::unit::RequestDb,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let id = parse_id(&id)?;
    let body = body_json(payload, &req).await?;
    let done = use_case::patch(&db, &caller.0, id, &body).await?;
    Ok(written(&req, StatusCode::OK, done))
}

/// Deprovision a user: `204`. The person is deactivated (R11), never erased (erasure is an
/// admin's act); SCIM answers `404` for them from then on (RFC 7644 §3.6), until a `POST`
/// of the same `userName` provisions them again.
#[utoipa::path(
    tag = "SCIM",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deactivated"),
    )
)]
#[delete("/Users/{id}")]
pub async fn delete_user(
    caller: ScimCaller,
    db: crate::unit::RequestDb,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let changes = use_case::deprovision(&db, &caller.0, parse_id(&id)?).await?;
    // R11: their tokens are refused from now on, on this replica.
    if let Some(leavers) = req.app_data::<web::Data<Leavers>>() {
        leavers.written(&req, changes);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The routes under `/scim/v2`.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(service_provider_config)
        .service(resource_types)
        .service(resource_type)
        .service(list_schemas)
        .service(get_schema)
        .service(list_users)
        .service(search_users)
        .service(search_all)
        .service(create_user)
        .service(get_user)
        .service(replace_user)
        .service(patch_user)
        .service(delete_user);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn attributes_and_excluded_attributes_project_the_answer() {
        let user = json!({"id": "1", "schemas": [USER_SCHEMA], "meta": {}, "userName": "E1",
            "title": "T", "name": {"givenName": "A", "familyName": "B"},
            ENTERPRISE_SCHEMA: {"department": "D", "manager": {"value": "2"}}});
        let mut only = user.clone();
        project(&mut only, Some("userName,name.givenName"), None);
        assert_eq!(
            only,
            json!({"id": "1", "schemas": [USER_SCHEMA], "meta": {},
            "userName": "E1", "name": {"givenName": "A"}})
        );
        let mut without = user.clone();
        project(
            &mut without,
            None,
            Some(&format!("title,{ENTERPRISE_SCHEMA}:department,id")),
        );
        assert!(without.get("title").is_none() && without.get("id").is_some());
        assert_eq!(
            without[ENTERPRISE_SCHEMA],
            json!({"manager": {"value": "2"}})
        );
    }
}
