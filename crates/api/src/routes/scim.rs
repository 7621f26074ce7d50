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
    person::PersonDraft,
    scim::{ENTERPRISE_SCHEMA, Filter, PatchOp, PatchPath, USER_SCHEMA, boolean_text},
};
use mentorat_service::{
    ServiceError,
    scim::{self as use_case, Refusal, ScimUser, Target},
};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::{leavers::Leavers, links::PublicUrl, problem::ApiError};

pub const SCIM_JSON: &str = "application/scim+json";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
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

impl From<Refusal> for ScimError {
    fn from(err: Refusal) -> Self {
        match err {
            Refusal::Uniqueness(detail) => {
                Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
            }
            Refusal::Mutability(detail) => Self::bad("mutability", detail),
            Refusal::ManagerCycle(detail) => Self::invalid_value(detail),
            Refusal::Service(err) => err.into(),
        }
    }
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
    doc.insert(
        "emails".into(),
        json!([{"value": r.email, "type": "work", "primary": true}]),
    );
    if let Some(t) = &r.job_title {
        doc.insert("title".into(), json!(t));
    }
    doc.insert("active".into(), json!(r.active));
    if let Some(site) = &r.site {
        doc.insert(
            "addresses".into(),
            json!([{"type": "work", "formatted": site, "primary": true}]),
        );
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

/// The person fields a User carries, as a write sets them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct UserFields {
    user_name: Option<String>,
    external_id: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    title: Option<String>,
    active: Option<bool>,
    department: Option<String>,
    manager: Option<String>,
    site: Option<String>,
}

impl UserFields {
    fn of(user: &ScimUser) -> Self {
        let r = &user.person.record;
        Self {
            user_name: Some(r.external_id.to_string()),
            external_id: user.external_id.clone(),
            given_name: Some(r.given_name.clone()),
            family_name: Some(r.family_name.clone()),
            display_name: None,
            email: Some(r.email.clone()),
            title: r.job_title.clone(),
            active: Some(r.active),
            department: r.department.clone(),
            manager: user.manager.clone(),
            site: r.site.clone(),
        }
    }

    /// A whole resource (`POST`, `PUT`): what it leaves out is cleared.
    fn from_resource(value: &Value) -> Result<Self, ScimError> {
        let obj = value
            .as_object()
            .ok_or_else(|| ScimError::bad("invalidSyntax", "the body must be a JSON object"))?;
        let mut fields = Self::default();
        for (key, v) in obj {
            fields.set_key(key, v)?;
        }
        Ok(fields)
    }

    /// A top-level key of a resource or of a path-less PATCH value.
    fn set_key(&mut self, key: &str, v: &Value) -> Result<(), ScimError> {
        if key.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) {
            let obj = v.as_object().ok_or_else(|| {
                ScimError::invalid_value("the enterprise extension must be an object")
            })?;
            for (k, v) in obj {
                let path = PatchPath::parse(&format!("{ENTERPRISE_SCHEMA}:{k}"))
                    .map_err(|e| ScimError::bad("invalidPath", e.to_string()))?;
                self.set(&path, v)?;
            }
            return Ok(());
        }
        if ["schemas", "meta", "id"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(key))
        {
            return Ok(());
        }
        match PatchPath::parse(key) {
            Ok(path) => self.set(&path, v),
            Err(_) => {
                tracing::debug!(attribute = key, "an unknown SCIM attribute ignored");
                Ok(())
            }
        }
    }

    /// `add` / `replace` of one path.
    fn set(&mut self, path: &PatchPath, v: &Value) -> Result<(), ScimError> {
        let sub = path.sub_attribute.as_deref();
        let selector_type = path
            .selector
            .as_ref()
            .filter(|(k, _)| k == "type")
            .map(|(_, t)| t.to_ascii_lowercase());
        match (path.extension, path.attribute.as_str(), sub) {
            (false, "username", None) => self.user_name = text(v, "userName")?,
            (false, "externalid", None) => self.external_id = text(v, "externalId")?,
            (false, "title", None) => self.title = text(v, "title")?,
            (false, "displayname", None) => self.display_name = text(v, "displayName")?,
            (false, "active", None) => self.active = boolean(v)?,
            (false, "name", Some("givenname")) => self.given_name = text(v, "name.givenName")?,
            (false, "name", Some("familyname")) => self.family_name = text(v, "name.familyName")?,
            (false, "name", None) => {
                let obj = v
                    .as_object()
                    .ok_or_else(|| ScimError::invalid_value("name must be an object"))?;
                for (k, v) in obj {
                    let path = PatchPath::parse(&format!("name.{k}"))
                        .map_err(|e| ScimError::bad("invalidPath", e.to_string()))?;
                    self.set(&path, v)?;
                }
            }
            (false, "emails", _) => {
                match (selector_type.as_deref(), path.selector.is_some(), sub) {
                    (Some("work"), _, Some("value")) => self.email = text(v, "emails.value")?,
                    (Some("work"), _, None) => self.email = pick(v, "value", false)?,
                    (None, false, None) => self.email = pick(v, "value", true)?,
                    _ => ignored(path),
                }
            }
            (false, "addresses", _) => {
                match (selector_type.as_deref(), path.selector.is_some(), sub) {
                    (Some("work"), _, Some("formatted")) => {
                        self.site = text(v, "addresses.formatted")?
                    }
                    (Some("work"), _, None) => self.site = pick(v, "formatted", false)?,
                    (None, false, None) => self.site = pick(v, "formatted", true)?,
                    _ => ignored(path),
                }
            }
            (true, "department", None) => self.department = text(v, "department")?,
            (true, "manager", None) => {
                self.manager = match v {
                    Value::Object(m) => match lookup(m, "value") {
                        Some(v) => text(v, "manager.value")?,
                        None => None,
                    },
                    // Entra ID sends the manager's id as the value itself.
                    other => text(other, "manager")?,
                }
            }
            (true, "manager", Some("value")) => self.manager = text(v, "manager.value")?,
            _ => ignored(path),
        }
        Ok(())
    }

    /// `remove` of one path.
    fn remove(&mut self, path: &PatchPath) -> Result<(), ScimError> {
        let sub = path.sub_attribute.as_deref();
        let work = path
            .selector
            .as_ref()
            .is_none_or(|(k, t)| k == "type" && t.eq_ignore_ascii_case("work"));
        match (path.extension, path.attribute.as_str(), sub) {
            (false, "username", _) => {
                return Err(ScimError::bad(
                    "mutability",
                    "userName is the person's HRIS id and cannot be removed",
                ));
            }
            (false, "name", _) | (false, "emails", _) if work => {
                return Err(ScimError::invalid_value(
                    "a person's name and work email are required and cannot be removed",
                ));
            }
            (false, "externalid", None) => self.external_id = None,
            (false, "title", None) => self.title = None,
            (false, "displayname", None) => self.display_name = None,
            (false, "addresses", _) if work => self.site = None,
            (true, "department", None) => self.department = None,
            (true, "manager", _) => self.manager = None,
            (false, "emails" | "addresses", _) => {
                return Err(ScimError::bad(
                    "noTarget",
                    "the filter of the path matches no value of this user",
                ));
            }
            _ => ignored(path),
        }
        Ok(())
    }

    fn apply_patch(&mut self, body: &Value) -> Result<(), ScimError> {
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::bad("invalidSyntax", "the body must be a PatchOp object"))?;
        let schemas_ok = lookup(obj, "schemas")
            .and_then(Value::as_array)
            .is_some_and(|s| s.iter().any(|s| s.as_str() == Some(PATCH_SCHEMA)));
        if !schemas_ok {
            return Err(ScimError::bad(
                "invalidSyntax",
                format!("`schemas` must name {PATCH_SCHEMA}"),
            ));
        }
        let ops = lookup(obj, "Operations")
            .and_then(Value::as_array)
            .ok_or_else(|| ScimError::bad("invalidSyntax", "`Operations` must be an array"))?;
        for operation in ops {
            let operation = operation
                .as_object()
                .ok_or_else(|| ScimError::bad("invalidSyntax", "an operation must be an object"))?;
            let op = lookup(operation, "op")
                .and_then(Value::as_str)
                .and_then(PatchOp::parse)
                .ok_or_else(|| {
                    ScimError::bad("invalidSyntax", "`op` must be add, replace or remove")
                })?;
            let value = lookup(operation, "value");
            let whole_extension = lookup(operation, "path")
                .and_then(Value::as_str)
                .is_some_and(|p| p.trim().eq_ignore_ascii_case(ENTERPRISE_SCHEMA));
            if whole_extension {
                match (op, value) {
                    (PatchOp::Remove, _) => {
                        self.department = None;
                        self.manager = None;
                    }
                    (_, Some(v)) => self.set_key(ENTERPRISE_SCHEMA, v)?,
                    (_, None) => {
                        return Err(ScimError::invalid_value(
                            "an add or replace needs a `value`",
                        ));
                    }
                }
                continue;
            }
            let path = match lookup(operation, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) => Some(
                    PatchPath::parse(p)
                        .map_err(|e| ScimError::bad("invalidPath", e.to_string()))?,
                ),
                Some(_) => return Err(ScimError::bad("invalidPath", "`path` must be a string")),
            };
            match (op, path) {
                (PatchOp::Remove, None) => {
                    return Err(ScimError::bad("noTarget", "a remove needs a `path`"));
                }
                (PatchOp::Remove, Some(path)) => self.remove(&path)?,
                (_, Some(path)) => {
                    let value = value.ok_or_else(|| {
                        ScimError::invalid_value("an add or replace needs a `value`")
                    })?;
                    if !path.extension && path.attribute == "id" {
                        return Err(ScimError::bad("mutability", "id is read-only"));
                    }
                    self.set(&path, value)?;
                }
                (_, None) => {
                    let obj = value.and_then(Value::as_object).ok_or_else(|| {
                        ScimError::invalid_value(
                            "an add or replace without `path` needs an object `value`",
                        )
                    })?;
                    for (key, v) in obj {
                        self.set_key(key, v)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The person draft (`manager_external_id` holds `manager.value` as sent).
    fn into_draft(self) -> Result<(PersonDraft, Option<String>), ScimError> {
        let user_name = self
            .user_name
            .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
        // A display name stands in for a name whose parts were not sent.
        let (display_given, display_family) = match self.display_name.as_deref().map(str::trim) {
            Some(d) => match d.rsplit_once(' ') {
                Some((g, f)) => (Some(g.trim().to_owned()), Some(f.trim().to_owned())),
                None => (Some(d.to_owned()), Some(d.to_owned())),
            },
            None => (None, None),
        };
        let given_name = self.given_name.or(display_given).ok_or_else(|| {
            ScimError::invalid_value("name.givenName (or displayName) is required")
        })?;
        let family_name = self.family_name.or(display_family).ok_or_else(|| {
            ScimError::invalid_value("name.familyName (or displayName) is required")
        })?;
        let email = self
            .email
            .ok_or_else(|| ScimError::invalid_value("a work email (emails) is required"))?;
        Ok((
            PersonDraft {
                external_id: user_name,
                given_name,
                family_name,
                email,
                department: self.department,
                job_title: self.title,
                site: self.site,
                manager_external_id: self.manager,
                active: Some(self.active.unwrap_or(true)),
            },
            self.external_id,
        ))
    }
}

fn ignored(path: &PatchPath) {
    tracing::debug!(attribute = %path.attribute, sub = ?path.sub_attribute, "an unknown SCIM attribute ignored");
}

/// An attribute of an object, its name compared case-insensitively (RFC 7643 §2.1).
fn lookup<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn text(v: &Value, name: &str) -> Result<Option<String>, ScimError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone()).filter(|s| !s.trim().is_empty())),
        _ => Err(ScimError::invalid_value(format!("{name} must be a string"))),
    }
}

fn boolean(v: &Value) -> Result<Option<bool>, ScimError> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        // Entra ID sends `"True"` / `"False"`.
        Value::String(s) => boolean_text(s)
            .map(Some)
            .ok_or_else(|| ScimError::invalid_value("active must be true or false")),
        _ => Err(ScimError::invalid_value("active must be a boolean")),
    }
}

/// From a multi-valued attribute (`emails`, `addresses`), or one of its values: `key` of
/// the primary value, else of the `work` one, else (when `any`) of the first.
fn pick(v: &Value, key: &str, any: bool) -> Result<Option<String>, ScimError> {
    let items: Vec<&Map<String, Value>> = match v {
        Value::Null => return Ok(None),
        Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
        Value::Object(o) => vec![o],
        _ => {
            return Err(ScimError::invalid_value(
                "a multi-valued attribute must be an array",
            ));
        }
    };
    let is = |o: &&Map<String, Value>, attr: &str, want: &Value| {
        lookup(o, attr).is_some_and(|v| {
            v == want
                || v.as_str()
                    .is_some_and(|s| want.as_str().is_some_and(|w| s.eq_ignore_ascii_case(w)))
                || (attr == "primary" && v.as_str().and_then(boolean_text) == Some(true))
        })
    };
    let chosen = items
        .iter()
        .find(|o| is(o, "primary", &Value::Bool(true)))
        .or_else(|| items.iter().find(|o| is(o, "type", &json!("work"))))
        .or_else(|| {
            if any || items.len() == 1 {
                items.first()
            } else {
                None
            }
        });
    match chosen.and_then(|o| lookup(o, key)) {
        Some(v) => text(v, key),
        None => Ok(None),
    }
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

/// What the service offers (RFC 7643 §5): PATCH and filters (`eq` on `userName`,
/// `externalId`, `id`); no bulk, sort, ETags or password changes; Users only, no Groups.
#[utoipa::path(
    tag = "scim",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The service provider's configuration", content_type = "application/scim+json", body = serde_json::Value),
        (status = 401, description = "No valid bearer token (a SCIM error document)", content_type = "application/scim+json", body = serde_json::Value),
        (status = 403, description = "Not the hris role (a SCIM error document)", content_type = "application/scim+json", body = serde_json::Value),
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
    tag = "scim",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A list of resource types", content_type = "application/scim+json", body = serde_json::Value),
        (status = 401, description = "No valid bearer token (a SCIM error document)", content_type = "application/scim+json", body = serde_json::Value),
        (status = 403, description = "Not the hris role (a SCIM error document)", content_type = "application/scim+json", body = serde_json::Value),
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
    tag = "scim",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "`User`")),
    responses(
        (status = 200, description = "The resource type", content_type = "application/scim+json", body = serde_json::Value),
        (status = 404, description = "No such resource type", content_type = "application/scim+json", body = serde_json::Value),
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
        "caseExact": false,
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
            simple("active", "boolean", "false deactivates the person (R11): their pairs are suspended, their tokens refused"),
            attribute("emails", "complex", true, true, "readWrite", "none", "The primary (else work) address is the person's email", vec![
                attribute("value", "string", false, true, "readWrite", "none", "Address", Vec::new()),
                simple("type", "string", "work"),
                simple("primary", "boolean", "Primary"),
            ]),
            attribute("addresses", "complex", true, false, "readWrite", "none", "The work address's formatted text is the person's site", vec![
                simple("formatted", "string", "The site"),
                simple("type", "string", "work"),
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
    tag = "scim",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A list of schemas", content_type = "application/scim+json", body = serde_json::Value),
        (status = 401, description = "No valid bearer token (a SCIM error document)", content_type = "application/scim+json", body = serde_json::Value),
        (status = 403, description = "Not the hris role (a SCIM error document)", content_type = "application/scim+json", body = serde_json::Value),
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
    tag = "scim",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The schema's URN")),
    responses(
        (status = 200, description = "The schema", content_type = "application/scim+json", body = serde_json::Value),
        (status = 404, description = "No such schema", content_type = "application/scim+json", body = serde_json::Value),
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
    /// `userName eq "…"`, `externalId eq "…"` or `id eq "…"`.
    pub filter: Option<String>,
    /// 1-based index of the first result (default 1).
    #[serde(rename = "startIndex")]
    #[param(rename = "startIndex")]
    pub start_index: Option<String>,
    /// Results per page, at most 200 (default 200).
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
            v.trim()
                .parse::<i64>()
                .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer")))
        })
        .transpose()
}

/// List users, filtered by `eq` on `userName`, `externalId` or `id`, a page at a time.
#[utoipa::path(
    tag = "scim",
    security(("bearer" = [])),
    params(ListUsersQuery),
    responses(
        (status = 200, description = "A list response", content_type = "application/scim+json", body = serde_json::Value),
        (status = 400, description = "invalidFilter, invalidValue", content_type = "application/scim+json", body = serde_json::Value),
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
    let filter = query
        .filter
        .as_deref()
        .map(Filter::parse)
        .transpose()
        .map_err(|e| ScimError::bad("invalidFilter", e.to_string()))?;
    let start = integer(query.start_index.as_deref(), "startIndex")?
        .unwrap_or(1)
        .max(1);
    let count = integer(query.count.as_deref(), "count")?
        .unwrap_or(MAX_RESULTS as i64)
        .clamp(0, MAX_RESULTS as i64);
    let offset = u64::try_from(start - 1).unwrap_or(0);
    let count = u64::try_from(count).unwrap_or(0);
    let (total, users) = use_case::list(&db, &caller.0, filter.as_ref(), offset, count).await?;
    let wanted = projection(&req);
    let resources: Vec<Value> = users
        .iter()
        .map(|u| {
            let mut doc = render(&req, u);
            project(
                &mut doc,
                wanted.attributes.as_deref(),
                wanted.excluded_attributes.as_deref(),
            );
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

/// Read a user.
#[utoipa::path(
    tag = "scim",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The user's id (the person's id)")),
    responses(
        (status = 200, description = "The user", content_type = "application/scim+json", body = serde_json::Value),
        (status = 404, description = "No such user", content_type = "application/scim+json", body = serde_json::Value),
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

async fn write(
    caller: &Caller,
    db: &crate::unit::RequestDb,
    req: &HttpRequest,
    target: Target,
    fields: UserFields,
) -> Result<(StatusCode, ScimUser), ScimError> {
    let (draft, external_id) = fields.into_draft()?;
    let mut done = use_case::provision(db, caller, target, draft, external_id).await?;
    // R11: a deactivated person's tokens are refused from now on, on this replica.
    if let Some(leavers) = req.app_data::<web::Data<Leavers>>() {
        leavers.written(req, std::mem::take(&mut done.activity_changes));
    }
    let status = if matches!(target, Target::Create) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, done.user))
}

/// Provision a user: `201` with its `Location`; `409 uniqueness` when an active user has
/// this `userName`. A deactivated user provisioned again is reactivated.
#[utoipa::path(
    tag = "scim",
    security(("bearer" = [])),
    request_body(content = serde_json::Value, content_type = "application/scim+json", description = "A User resource", example = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"], "userName": "E12345", "externalId": "aad-7f3c", "active": true, "name": {"givenName": "Zoé", "familyName": "Lefèvre"}, "emails": [{"value": "zoe.lefevre@chu.example", "type": "work", "primary": true}], "title": "Infirmière", "addresses": [{"type": "work", "formatted": "Hôpital Nord"}], "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Cardiologie", "manager": {"value": "E00042"}}})),
    responses(
        (status = 201, description = "Created", content_type = "application/scim+json", body = serde_json::Value, headers(("Location" = String))),
        (status = 400, description = "invalidValue, invalidSyntax", content_type = "application/scim+json", body = serde_json::Value),
        (status = 409, description = "uniqueness", content_type = "application/scim+json", body = serde_json::Value),
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
    let fields = UserFields::from_resource(&body)?;
    let (status, user) = write(&caller.0, &db, &req, Target::Create, fields).await?;
    Ok(user_response(&req, status, &user))
}

/// Replace a user whole (Okta's way); what the resource leaves out is cleared. `userName`
/// cannot change (`mutability`).
#[utoipa::path(
    tag = "scim",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The user's id")),
    request_body(content = serde_json::Value, content_type = "application/scim+json", description = "A User resource", example = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"], "userName": "E12345", "externalId": "aad-7f3c", "active": true, "name": {"givenName": "Zoé", "familyName": "Lefèvre"}, "emails": [{"value": "zoe.lefevre@chu.example", "type": "work", "primary": true}], "title": "Infirmière", "addresses": [{"type": "work", "formatted": "Hôpital Nord"}], "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Cardiologie", "manager": {"value": "E00042"}}})),
    responses(
        (status = 200, description = "Replaced", content_type = "application/scim+json", body = serde_json::Value),
        (status = 400, description = "invalidValue, mutability", content_type = "application/scim+json", body = serde_json::Value),
        (status = 404, description = "No such user", content_type = "application/scim+json", body = serde_json::Value),
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
    let mut fields = UserFields::from_resource(&body)?;
    if fields.user_name.is_none() {
        // userName is immutable: a replacement that leaves it out keeps it.
        fields.user_name = UserFields::of(&use_case::get(&db, &caller.0, id).await?).user_name;
    }
    let (status, user) = write(&caller.0, &db, &req, Target::Replace(id), fields).await?;
    Ok(user_response(&req, status, &user))
}

/// Modify a user (RFC 7644 §3.5.2): `add`, `replace`, `remove`, as Entra ID sends them
/// (capitalised ops, `"True"`/`"False"`, path-less values, `emails[type eq "work"].value`,
/// the enterprise `manager` and `department`).
#[utoipa::path(
    tag = "scim",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The user's id")),
    request_body(content = serde_json::Value, content_type = "application/scim+json", description = "A PatchOp message", example = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Replace", "path": "active", "value": "False"}, {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "zoe.l@chu.example"}]})),
    responses(
        (status = 200, description = "Modified", content_type = "application/scim+json", body = serde_json::Value),
        (status = 400, description = "invalidPath, invalidValue, mutability, noTarget, invalidSyntax", content_type = "application/scim+json", body = serde_json::Value),
        (status = 404, description = "No such user", content_type = "application/scim+json", body = serde_json::Value),
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
    let current = use_case::get(&db, &caller.0, id).await?;
    let mut fields = UserFields::of(&current);
    fields.apply_patch(&body)?;
    let (status, user) = write(&caller.0, &db, &req, Target::Replace(id), fields).await?;
    Ok(user_response(&req, status, &user))
}

/// Deprovision a user: `204`. The person is deactivated (R11), never erased (erasure is an
/// admin's act); SCIM answers `404` for them from then on (RFC 7644 §3.6), until a `POST`
/// of the same `userName` provisions them again.
#[utoipa::path(
    tag = "scim",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deactivated"),
        (status = 404, description = "No such user", content_type = "application/scim+json", body = serde_json::Value),
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

    fn fields() -> UserFields {
        UserFields {
            user_name: Some("E1".into()),
            given_name: Some("Zoé".into()),
            family_name: Some("Lefèvre".into()),
            email: Some("z@chu.example".into()),
            active: Some(true),
            ..UserFields::default()
        }
    }

    #[test]
    fn entra_patch_shapes_apply() {
        let mut f = fields();
        f.apply_patch(&json!({
            "schemas": [PATCH_SCHEMA],
            "Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@chu.example"},
                {"op": "Add", "path": "name.givenName", "value": "Zoë"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "E9"},
                {"op": "Replace", "value": {"title": "Infirmière", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Cardio", "addresses[type eq \"work\"].formatted": "Nord", "nickName": "z"}},
            ]
        }))
        .unwrap();
        assert_eq!(f.active, Some(false));
        assert_eq!(f.email.as_deref(), Some("new@chu.example"));
        assert_eq!(f.given_name.as_deref(), Some("Zoë"));
        assert_eq!(f.manager.as_deref(), Some("E9"));
        assert_eq!(f.title.as_deref(), Some("Infirmière"));
        assert_eq!(f.department.as_deref(), Some("Cardio"));
        assert_eq!(f.site.as_deref(), Some("Nord"));
        f.apply_patch(&json!({"schemas": [PATCH_SCHEMA], "Operations": [
            {"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}
        ]}))
        .unwrap();
        assert_eq!(f.manager, None);
    }

    #[test]
    fn bad_patches_name_their_scim_type() {
        let cases = [
            (
                json!({"op": "Replace", "path": "emails[type eq", "value": "x"}),
                "invalidPath",
            ),
            (json!({"op": "Remove"}), "noTarget"),
            (
                json!({"op": "Remove", "path": "emails[type eq \"home\"].value"}),
                "noTarget",
            ),
            (json!({"op": "Remove", "path": "userName"}), "mutability"),
            (
                json!({"op": "Replace", "path": "active", "value": "maybe"}),
                "invalidValue",
            ),
            (
                json!({"op": "Move", "path": "active", "value": true}),
                "invalidSyntax",
            ),
        ];
        for (op, scim_type) in cases {
            let err = fields()
                .apply_patch(&json!({"schemas": [PATCH_SCHEMA], "Operations": [op]}))
                .unwrap_err();
            assert_eq!(err.scim_type, Some(scim_type), "{op}");
        }
    }

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

    #[test]
    fn a_resource_picks_the_primary_email_and_the_work_address() {
        let f = UserFields::from_resource(&json!({
            "userName": "E1", "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "home@x.example", "type": "home"}, {"value": "w@x.example", "type": "work", "primary": true}],
            "addresses": [{"type": "work", "formatted": "Nord"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D", "manager": {"value": "E2"}},
            "externalId": "okta-1", "unknown": 3
        }))
        .unwrap();
        assert_eq!(f.email.as_deref(), Some("w@x.example"));
        assert_eq!(f.site.as_deref(), Some("Nord"));
        assert_eq!(f.department.as_deref(), Some("D"));
        assert_eq!(f.manager.as_deref(), Some("E2"));
        assert_eq!(f.external_id.as_deref(), Some("okta-1"));
    }
}
