//! What a SCIM User resource, or a PATCH of one, means for a person (RFC 7643 §4.1, RFC
//! 7644 §3.3, §3.5.1, §3.5.2), as Microsoft Entra ID and Okta send them. Pure: the service
//! reads the current user, applies one of these, and writes the result, the person's row
//! locked from the read to the write.
//!
//! The multi-valued `emails` and `addresses` are kept as sent; the person's `email` is the
//! primary value's (else the `work` one's, else the first's) and their `site` the primary
//! (else `work`, else first) address's `formatted`. Unknown attributes are ignored (RFC 7644
//! §3.3), which the caller may log.

use serde_json::{Map, Value, json};

use super::{ENTERPRISE_SCHEMA, PatchOp, PatchPath, boolean_text};
use crate::person::{PersonDraft, PersonRecord};

/// The longest `externalId` kept (characters).
pub const EXTERNAL_ID_MAX: usize = 255;

/// The PatchOp message's URN.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The `scimType` of a SCIM error (RFC 7644 §3.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidSyntax,
    InvalidPath,
    InvalidValue,
    InvalidFilter,
    Mutability,
    NoTarget,
    Uniqueness,
}

impl ScimType {
    pub const ALL: [Self; 7] = [
        Self::InvalidSyntax,
        Self::InvalidPath,
        Self::InvalidValue,
        Self::InvalidFilter,
        Self::Mutability,
        Self::NoTarget,
        Self::Uniqueness,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::InvalidValue => "invalidValue",
            Self::InvalidFilter => "invalidFilter",
            Self::Mutability => "mutability",
            Self::NoTarget => "noTarget",
            Self::Uniqueness => "uniqueness",
        }
    }
}

/// A request SCIM refuses with `400` and a `scimType`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ScimFault {
    pub scim_type: ScimType,
    pub detail: String,
}

impl ScimFault {
    pub fn new(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self {
            scim_type,
            detail: detail.into(),
        }
    }

    fn value(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidValue, detail)
    }

    fn syntax(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidSyntax, detail)
    }
}

/// An attribute the mapping ignores (RFC 7644 §3.3), for the caller to log.
pub type Ignored = Vec<String>;

/// A User's attributes as a write sets them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserFields {
    pub user_name: Option<String>,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    /// Every value of `emails`, as sent.
    pub emails: Vec<Map<String, Value>>,
    /// Every value of `addresses`, as sent.
    pub addresses: Vec<Map<String, Value>>,
    pub title: Option<String>,
    /// `None`: unassigned (a PATCH removed it, or it was never sent): the person is active.
    pub active: Option<bool>,
    pub department: Option<String>,
    /// `manager.value` as sent.
    pub manager: Option<String>,
}

/// What a user keeps beside the person, written with it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kept {
    pub external_id: Option<String>,
    /// `{"emails": [...], "addresses": [...], "active": bool?}`: the multi-valued attributes
    /// as sent, and `active` unless unassigned.
    pub attributes: Value,
}

impl UserFields {
    /// The user as stored: the person, their `externalId`, `manager.value` and what SCIM
    /// keeps beside them (`attributes`, see [`Kept`]; `Null` for a person never written
    /// through SCIM). A person changed by the people API since keeps their values: the
    /// chosen email and site are the person's.
    pub fn current(
        record: &PersonRecord,
        external_id: Option<String>,
        manager: Option<String>,
        attributes: &Value,
    ) -> Self {
        let list = |name: &str| -> Vec<Map<String, Value>> {
            attributes
                .get(name)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_object).cloned().collect())
                .unwrap_or_default()
        };
        let mut emails = list("emails");
        match chosen(&emails) {
            Some(i) => {
                emails[i].insert("value".into(), json!(record.email));
            }
            None => emails = vec![work("value", &record.email)],
        }
        let mut addresses = list("addresses");
        match (chosen(&addresses), &record.site) {
            (Some(i), Some(site)) => {
                addresses[i].insert("formatted".into(), json!(site));
            }
            (Some(i), None) => {
                addresses[i].remove("formatted");
            }
            (None, Some(site)) => addresses = vec![work("formatted", site)],
            (None, None) => {}
        }
        // `active` unassigned through SCIM (a PATCH removed it) stays so while the person is
        // active; the person's flag is the truth otherwise.
        let unassigned = attributes.is_object() && attributes.get("active").is_none();
        let active = if unassigned && record.active {
            None
        } else {
            Some(record.active)
        };
        Self {
            user_name: Some(record.external_id.to_string()),
            external_id,
            given_name: Some(record.given_name.clone()),
            family_name: Some(record.family_name.clone()),
            display_name: None,
            emails,
            addresses,
            title: record.job_title.clone(),
            active,
            department: record.department.clone(),
            manager,
        }
    }

    /// A whole resource (`POST`, `PUT`): what it leaves out is cleared.
    pub fn from_resource(value: &Value) -> Result<(Self, Ignored), ScimFault> {
        let obj = value
            .as_object()
            .ok_or_else(|| ScimFault::syntax("the body must be a JSON object"))?;
        // `schemas`, when sent, lists URNs (RFC 7643 §3): which ones is not checked, as
        // Entra ID and Okta differ.
        match lookup(obj, "schemas") {
            None | Some(Value::Null) => {}
            Some(Value::Array(urns)) if urns.iter().all(Value::is_string) => {}
            Some(_) => return Err(ScimFault::syntax("`schemas` must be an array of URNs")),
        }
        let mut fields = Self::default();
        let mut ignored = Vec::new();
        for (key, v) in obj {
            fields.set_key(key, v, PatchOp::Replace, &mut ignored)?;
        }
        Ok((fields, ignored))
    }

    /// Apply a PatchOp message (RFC 7644 §3.5.2).
    pub fn apply_patch(&mut self, body: &Value) -> Result<Ignored, ScimFault> {
        let mut ignored = Vec::new();
        let obj = body
            .as_object()
            .ok_or_else(|| ScimFault::syntax("the body must be a PatchOp object"))?;
        let schemas_ok = lookup(obj, "schemas")
            .and_then(Value::as_array)
            .is_some_and(|s| !s.is_empty() && s.iter().all(|s| s.as_str() == Some(PATCH_SCHEMA)));
        if !schemas_ok {
            return Err(ScimFault::syntax(format!(
                "`schemas` must be [\"{PATCH_SCHEMA}\"]"
            )));
        }
        let ops = lookup(obj, "Operations")
            .and_then(Value::as_array)
            .ok_or_else(|| ScimFault::syntax("`Operations` must be an array"))?;
        for operation in ops {
            let operation = operation
                .as_object()
                .ok_or_else(|| ScimFault::syntax("an operation must be an object"))?;
            let op = lookup(operation, "op")
                .and_then(Value::as_str)
                .and_then(PatchOp::parse)
                .ok_or_else(|| ScimFault::syntax("`op` must be add, replace or remove"))?;
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
                    (_, Some(v)) => self.set_key(ENTERPRISE_SCHEMA, v, op, &mut ignored)?,
                    (_, None) => return Err(ScimFault::value("an add or replace needs a `value`")),
                }
                continue;
            }
            let path = match lookup(operation, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) => Some(
                    PatchPath::parse(p)
                        .map_err(|e| ScimFault::new(ScimType::InvalidPath, e.to_string()))?,
                ),
                Some(_) => {
                    return Err(ScimFault::new(
                        ScimType::InvalidPath,
                        "`path` must be a string",
                    ));
                }
            };
            match (op, path) {
                (PatchOp::Remove, None) => {
                    return Err(ScimFault::new(
                        ScimType::NoTarget,
                        "a remove needs a `path`",
                    ));
                }
                (PatchOp::Remove, Some(path)) => self.remove(&path, &mut ignored)?,
                (_, Some(path)) => {
                    let value = value
                        .ok_or_else(|| ScimFault::value("an add or replace needs a `value`"))?;
                    if !path.extension && path.attribute == "id" {
                        return Err(ScimFault::new(ScimType::Mutability, "id is read-only"));
                    }
                    self.set(&path, value, op, &mut ignored)?;
                }
                (_, None) => {
                    let obj = value.and_then(Value::as_object).ok_or_else(|| {
                        ScimFault::value("an add or replace without `path` needs an object `value`")
                    })?;
                    for (key, v) in obj {
                        self.set_key(key, v, op, &mut ignored)?;
                    }
                }
            }
        }
        Ok(ignored)
    }

    /// A top-level key of a resource or of a path-less PATCH value.
    fn set_key(
        &mut self,
        key: &str,
        v: &Value,
        op: PatchOp,
        ignored: &mut Ignored,
    ) -> Result<(), ScimFault> {
        if key.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) {
            let obj = v
                .as_object()
                .ok_or_else(|| ScimFault::value("the enterprise extension must be an object"))?;
            for (k, v) in obj {
                // A key that names no attribute is an unknown attribute: ignored.
                match PatchPath::parse(&format!("{ENTERPRISE_SCHEMA}:{k}")) {
                    Ok(path) => self.set(&path, v, op, ignored)?,
                    Err(_) => ignored.push(format!("{ENTERPRISE_SCHEMA}:{k}")),
                }
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
            Ok(path) => self.set(&path, v, op, ignored),
            Err(_) => {
                ignored.push(key.to_owned());
                Ok(())
            }
        }
    }

    /// `add` / `replace` of one path (a resource's attribute is a `replace`).
    fn set(
        &mut self,
        path: &PatchPath,
        v: &Value,
        op: PatchOp,
        ignored: &mut Ignored,
    ) -> Result<(), ScimFault> {
        let sub = path.sub_attribute.as_deref();
        match (path.extension, path.attribute.as_str(), sub) {
            // As sent, blank included: a blank userName is refused, not taken for none.
            (false, "username", None) => {
                self.user_name = match v {
                    Value::String(s) => Some(s.clone()),
                    other => text(other, "userName")?,
                }
            }
            (false, "externalid", None) => self.external_id = text(v, "externalId")?,
            (false, "title", None) => self.title = text(v, "title")?,
            (false, "displayname", None) => self.display_name = text(v, "displayName")?,
            (false, "active", None) => self.active = boolean(v)?,
            (false, "name", Some("givenname")) => self.given_name = text(v, "name.givenName")?,
            (false, "name", Some("familyname")) => self.family_name = text(v, "name.familyName")?,
            (false, "name", None) => {
                let obj = v
                    .as_object()
                    .ok_or_else(|| ScimFault::value("name must be an object"))?;
                for (k, v) in obj {
                    match PatchPath::parse(&format!("name.{k}")) {
                        Ok(path) => self.set(&path, v, op, ignored)?,
                        Err(_) => ignored.push(format!("name.{k}")),
                    }
                }
            }
            (false, "emails", _) => set_multi(&mut self.emails, path, v, op, "emails")?,
            (false, "addresses", _) => set_multi(&mut self.addresses, path, v, op, "addresses")?,
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
            _ => ignored.push(describe(path)),
        }
        Ok(())
    }

    /// `remove` of one path.
    fn remove(&mut self, path: &PatchPath, ignored: &mut Ignored) -> Result<(), ScimFault> {
        let sub = path.sub_attribute.as_deref();
        match (path.extension, path.attribute.as_str(), sub) {
            (false, "username", _) => {
                return Err(ScimFault::new(
                    ScimType::Mutability,
                    "userName is the person's HRIS id and cannot be removed",
                ));
            }
            (false, "name", _) => {
                return Err(ScimFault::value(
                    "a person's name is required and cannot be removed",
                ));
            }
            (false, "externalid", None) => self.external_id = None,
            (false, "title", None) => self.title = None,
            (false, "displayname", None) => self.display_name = None,
            // Unassigned: the default, an active person (a deactivated one is reactivated).
            (false, "active", None) => self.active = None,
            (false, "emails", _) => {
                remove_multi(&mut self.emails, path)?;
                if email_of(&self.emails).is_none() {
                    return Err(ScimFault::value(
                        "a person's email is required: the last email value cannot be removed",
                    ));
                }
            }
            (false, "addresses", _) => remove_multi(&mut self.addresses, path)?,
            (true, "department", None) => self.department = None,
            (true, "manager", _) => self.manager = None,
            _ => ignored.push(describe(path)),
        }
        Ok(())
    }

    /// The person draft (`manager_external_id` holds `manager.value` as sent) and what SCIM
    /// keeps beside it.
    pub fn into_draft(self) -> Result<(PersonDraft, Kept), ScimFault> {
        let user_name = self
            .user_name
            .ok_or_else(|| ScimFault::value("userName is required"))?;
        // As sent, not trimmed: the document's pattern is the rule (`ExternalId`).
        if crate::caller::ExternalId::parse(&user_name).is_err() {
            return Err(ScimFault::value(
                "userName must be 1 to 64 printable ASCII characters, without spaces",
            ));
        }
        if self
            .external_id
            .as_ref()
            .is_some_and(|e| e.chars().count() > EXTERNAL_ID_MAX)
        {
            return Err(ScimFault::value(format!(
                "externalId is at most {EXTERNAL_ID_MAX} characters"
            )));
        }
        // Every email value is an address, not only the one that is the person's.
        for email in &self.emails {
            let ok = lookup(email, "value")
                .and_then(Value::as_str)
                .is_some_and(|v| crate::person::is_email(&v.trim().to_lowercase()));
            if !ok {
                return Err(ScimFault::value(
                    "every emails value needs a `value` that is an address like a.b@example.org",
                ));
            }
        }
        // Every address's `formatted` fits a site, not only the one that is the person's.
        let long = |o: &Map<String, Value>| {
            lookup(o, "formatted")
                .and_then(Value::as_str)
                .is_some_and(|f| f.trim().chars().count() > crate::person::bounds::LABEL_MAX)
        };
        if self.addresses.iter().any(long) {
            return Err(ScimFault::value(format!(
                "addresses.formatted is at most {} characters",
                crate::person::bounds::LABEL_MAX
            )));
        }
        // A display name stands in for a name whose parts were not sent.
        let (display_given, display_family) = match self.display_name.as_deref().map(str::trim) {
            Some(d) => match d.rsplit_once(' ') {
                Some((g, f)) => (Some(g.trim().to_owned()), Some(f.trim().to_owned())),
                None => (Some(d.to_owned()), Some(d.to_owned())),
            },
            None => (None, None),
        };
        let given_name = self
            .given_name
            .or(display_given)
            .ok_or_else(|| ScimFault::value("name.givenName (or displayName) is required"))?;
        let family_name = self
            .family_name
            .or(display_family)
            .ok_or_else(|| ScimFault::value("name.familyName (or displayName) is required"))?;
        let email = email_of(&self.emails)
            .ok_or_else(|| ScimFault::value("an email (emails[].value) is required"))?;
        let site = chosen(&self.addresses)
            .and_then(|i| self.addresses[i].get("formatted"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .filter(|s| !s.trim().is_empty());
        let mut attributes = Map::new();
        attributes.insert("emails".into(), Value::from(objects(self.emails)));
        attributes.insert("addresses".into(), Value::from(objects(self.addresses)));
        if let Some(a) = self.active {
            attributes.insert("active".into(), json!(a));
        }
        Ok((
            PersonDraft {
                external_id: user_name,
                given_name,
                family_name,
                email,
                department: self.department,
                job_title: self.title,
                site,
                manager_external_id: self.manager,
                active: Some(self.active.unwrap_or(true)),
            },
            Kept {
                external_id: self.external_id,
                attributes: Value::Object(attributes),
            },
        ))
    }
}

fn objects(items: Vec<Map<String, Value>>) -> Vec<Value> {
    items.into_iter().map(Value::Object).collect()
}

fn work(key: &str, value: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(key.into(), json!(value));
    m.insert("type".into(), json!("work"));
    m.insert("primary".into(), json!(true));
    m
}

fn describe(path: &PatchPath) -> String {
    match &path.sub_attribute {
        Some(sub) => format!("{}.{sub}", path.attribute),
        None => path.attribute.clone(),
    }
}

/// An attribute of an object, its name compared case-insensitively (RFC 7643 §2.1).
pub fn lookup<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn text(v: &Value, name: &str) -> Result<Option<String>, ScimFault> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone()).filter(|s| !s.trim().is_empty())),
        _ => Err(ScimFault::value(format!("{name} must be a string"))),
    }
}

fn boolean(v: &Value) -> Result<Option<bool>, ScimFault> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        // Entra ID sends `"True"` / `"False"`.
        Value::String(s) => boolean_text(s)
            .map(Some)
            .ok_or_else(|| ScimFault::value("active must be true or false")),
        _ => Err(ScimFault::value("active must be a boolean")),
    }
}

fn is_true(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => boolean_text(s) == Some(true),
        _ => false,
    }
}

fn text_is(v: Option<&Value>, want: &str) -> bool {
    v.and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case(want))
}

/// The value that stands for the person: the primary, else the `work` one, else the first.
fn chosen(items: &[Map<String, Value>]) -> Option<usize> {
    items
        .iter()
        .position(|o| is_true(lookup(o, "primary")))
        .or_else(|| {
            items
                .iter()
                .position(|o| text_is(lookup(o, "type"), "work"))
        })
        .or(if items.is_empty() { None } else { Some(0) })
}

fn email_of(items: &[Map<String, Value>]) -> Option<String> {
    chosen(items)
        .and_then(|i| lookup(&items[i], "value"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A value of a multi-valued attribute as kept: an object, its null sub-attributes left out,
/// `primary` a boolean (or Entra ID's `"True"`/`"False"`), every other sub-attribute a string.
fn item(v: &Value, name: &str) -> Result<Map<String, Value>, ScimFault> {
    let obj = v
        .as_object()
        .ok_or_else(|| ScimFault::value(format!("a value of {name} must be an object")))?;
    let mut out = Map::new();
    for (k, v) in obj {
        match sub_value(v, name, k)? {
            Some(v) if k.eq_ignore_ascii_case("primary") => {
                out.insert("primary".into(), v);
            }
            Some(v) => {
                out.insert(k.clone(), v);
            }
            None => {}
        }
    }
    Ok(out)
}

/// One sub-attribute's value as kept (`None`: null, unassigned).
fn sub_value(v: &Value, name: &str, sub: &str) -> Result<Option<Value>, ScimFault> {
    if sub.eq_ignore_ascii_case("primary") {
        return match v {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(json!(b))),
            Value::String(s) => boolean_text(s)
                .map(|b| Some(json!(b)))
                .ok_or_else(|| ScimFault::value(format!("{name}.primary must be a boolean"))),
            _ => Err(ScimFault::value(format!(
                "{name}.primary must be a boolean"
            ))),
        };
    }
    match v {
        Value::Null => Ok(None),
        Value::String(_) => Ok(Some(v.clone())),
        _ => Err(ScimFault::value(format!("{name}.{sub} must be a string"))),
    }
}

fn items(v: &Value, name: &str) -> Result<Vec<Map<String, Value>>, ScimFault> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(a) => a.iter().map(|v| item(v, name)).collect(),
        Value::Object(_) => Ok(vec![item(v, name)?]),
        _ => Err(ScimFault::value(format!(
            "{name} must be an array of objects"
        ))),
    }
}

/// At most one primary value (RFC 7643 §2.4): the last one marked keeps it.
fn one_primary(list: &mut [Map<String, Value>]) {
    if let Some(last) = list.iter().rposition(|o| is_true(o.get("primary"))) {
        for (i, o) in list.iter_mut().enumerate() {
            if i != last && o.contains_key("primary") {
                o.insert("primary".into(), json!(false));
            }
        }
    }
}

fn matches(o: &Map<String, Value>, selector: &(String, String)) -> bool {
    let (key, want) = selector;
    match lookup(o, key) {
        Some(Value::String(s)) => s.eq_ignore_ascii_case(want),
        Some(Value::Bool(b)) => boolean_text(want) == Some(*b),
        _ => false,
    }
}

fn set_multi(
    list: &mut Vec<Map<String, Value>>,
    path: &PatchPath,
    v: &Value,
    op: PatchOp,
    name: &str,
) -> Result<(), ScimFault> {
    match (&path.selector, path.sub_attribute.as_deref()) {
        // The whole attribute: `add` appends (a value already there is not doubled),
        // `replace` (and a resource) replaces.
        (None, None) => {
            let new = items(v, name)?;
            if op == PatchOp::Add {
                for n in new {
                    if !list.contains(&n) {
                        list.push(n);
                    }
                }
            } else {
                *list = new;
            }
        }
        // `emails.value`: that sub-attribute of every value (of a new one if there is none).
        (None, Some(sub)) => {
            let value = scalar(v, name, sub)?;
            if list.is_empty() {
                list.push(Map::new());
            }
            for o in list.iter_mut() {
                put(o, sub, value.clone());
            }
        }
        // `emails[type eq "work"]…`: the values the filter selects; none yet, a new one
        // (what Entra ID expects of its `emails[type eq "work"].value`).
        (Some(selector), sub) => {
            if !list.iter().any(|o| matches(o, selector)) {
                let mut o = Map::new();
                o.insert(selector.0.clone(), json!(selector.1));
                list.push(o);
            }
            for o in list.iter_mut().filter(|o| matches(o, selector)) {
                match sub {
                    Some(sub) => put(o, sub, scalar(v, name, sub)?),
                    None => {
                        for (k, v) in item(v, name)? {
                            o.insert(k, v);
                        }
                    }
                }
            }
        }
    }
    one_primary(list);
    Ok(())
}

/// Set a sub-attribute, keeping the spelling of the key already there.
fn put(o: &mut Map<String, Value>, sub: &str, value: Option<Value>) {
    let key = o
        .keys()
        .find(|k| k.eq_ignore_ascii_case(sub))
        .cloned()
        .unwrap_or_else(|| canonical(sub));
    match value {
        Some(v) => {
            o.insert(key, v);
        }
        None => {
            o.remove(&key);
        }
    }
}

/// Paths are lower-cased when parsed; sub-attributes keep RFC 7643's spelling.
fn canonical(sub: &str) -> String {
    const NAMES: [&str; 10] = [
        "value",
        "display",
        "type",
        "primary",
        "formatted",
        "streetAddress",
        "locality",
        "region",
        "postalCode",
        "country",
    ];
    NAMES
        .iter()
        .find(|n| n.eq_ignore_ascii_case(sub))
        .map_or_else(|| sub.to_owned(), |n| (*n).to_owned())
}

fn scalar(v: &Value, name: &str, sub: &str) -> Result<Option<Value>, ScimFault> {
    sub_value(v, name, sub)
}

fn remove_multi(list: &mut Vec<Map<String, Value>>, path: &PatchPath) -> Result<(), ScimFault> {
    match (&path.selector, path.sub_attribute.as_deref()) {
        (None, None) => list.clear(),
        (None, Some(sub)) => {
            for o in list.iter_mut() {
                put(o, sub, None);
            }
        }
        (Some(selector), sub) => {
            if !list.iter().any(|o| matches(o, selector)) {
                return Err(ScimFault::new(
                    ScimType::NoTarget,
                    "the filter of the path matches no value of this user",
                ));
            }
            match sub {
                None => list.retain(|o| !matches(o, selector)),
                Some(sub) => {
                    for o in list.iter_mut().filter(|o| matches(o, selector)) {
                        put(o, sub, None);
                    }
                }
            }
        }
    }
    list.retain(|o| !o.is_empty());
    Ok(())
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
            emails: vec![work("value", "z@chu.example")],
            active: Some(true),
            ..UserFields::default()
        }
    }

    fn patch(f: &mut UserFields, ops: Value) -> Result<Ignored, ScimFault> {
        f.apply_patch(&json!({"schemas": [PATCH_SCHEMA], "Operations": ops}))
    }

    #[test]
    fn entra_patch_shapes_apply() {
        let mut f = fields();
        let ignored = patch(&mut f, json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@chu.example"},
            {"op": "Add", "path": "name.givenName", "value": "Zoë"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "E9"},
            {"op": "Replace", "value": {"title": "Infirmière", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Cardio", "addresses[type eq \"work\"].formatted": "Nord", "nickName": "z"}},
        ]))
        .unwrap();
        assert_eq!(ignored, vec!["nickname".to_owned()]);
        let (draft, kept) = f.clone().into_draft().unwrap();
        assert_eq!(draft.active, Some(false));
        assert_eq!(draft.email, "new@chu.example");
        assert_eq!(draft.given_name, "Zoë");
        assert_eq!(draft.manager_external_id.as_deref(), Some("E9"));
        assert_eq!(draft.job_title.as_deref(), Some("Infirmière"));
        assert_eq!(draft.department.as_deref(), Some("Cardio"));
        assert_eq!(draft.site.as_deref(), Some("Nord"));
        assert_eq!(
            kept.attributes["addresses"],
            json!([{"type": "work", "formatted": "Nord"}])
        );
        patch(&mut f, json!([{"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}])).unwrap();
        assert_eq!(f.manager, None);
    }

    #[test]
    fn bad_patches_name_their_scim_type() {
        let cases = [
            (
                json!({"op": "Replace", "path": "emails[type eq", "value": "x"}),
                ScimType::InvalidPath,
            ),
            (json!({"op": "Remove"}), ScimType::NoTarget),
            (
                json!({"op": "Remove", "path": "emails[type eq \"home\"].value"}),
                ScimType::NoTarget,
            ),
            (
                json!({"op": "Remove", "path": "userName"}),
                ScimType::Mutability,
            ),
            (
                json!({"op": "Remove", "path": "emails"}),
                ScimType::InvalidValue,
            ),
            (
                json!({"op": "Replace", "path": "id", "value": "x"}),
                ScimType::Mutability,
            ),
            (
                json!({"op": "Replace", "path": "active", "value": "maybe"}),
                ScimType::InvalidValue,
            ),
            (
                json!({"op": "Replace", "path": "emails", "value": 3}),
                ScimType::InvalidValue,
            ),
            (
                json!({"op": "Move", "path": "active", "value": true}),
                ScimType::InvalidSyntax,
            ),
        ];
        for (op, scim_type) in cases {
            let err = patch(&mut fields(), json!([op])).unwrap_err();
            assert_eq!(err.scim_type, scim_type, "{op}");
        }
    }

    #[test]
    fn multi_valued_attributes_are_kept_as_sent() {
        let (f, _) = UserFields::from_resource(&json!({
            "userName": "E1", "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "home@x.example", "type": "home"}, {"value": "w@x.example", "type": "work", "primary": "True"}],
            "addresses": [{"type": "home", "formatted": "Rue 1"}, {"type": "work", "formatted": "Nord", "locality": "Lille"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D", "manager": {"value": "E2"}},
            "externalId": "okta-1", "unknown": 3
        }))
        .unwrap();
        let (draft, kept) = f.clone().into_draft().unwrap();
        assert_eq!(draft.email, "w@x.example");
        assert_eq!(draft.site.as_deref(), Some("Nord"));
        assert_eq!(draft.department.as_deref(), Some("D"));
        assert_eq!(draft.manager_external_id.as_deref(), Some("E2"));
        assert_eq!(kept.external_id.as_deref(), Some("okta-1"));
        assert_eq!(kept.attributes["emails"][1]["primary"], json!(true));
        assert_eq!(kept.attributes["addresses"].as_array().unwrap().len(), 2);
        // Add appends; a new primary takes the place of the old one.
        let mut g = f.clone();
        patch(&mut g, json!([{"op": "add", "path": "emails", "value": [{"value": "n@x.example", "type": "other", "primary": true}]}])).unwrap();
        assert_eq!(g.emails.len(), 3);
        assert_eq!(g.emails[1]["primary"], json!(false));
        assert_eq!(g.clone().into_draft().unwrap().0.email, "n@x.example");
        // Replace replaces; remove by filter removes the values it selects.
        patch(&mut g, json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.example", "type": "home"}]}])).unwrap();
        assert_eq!(g.emails.len(), 1);
        patch(
            &mut g,
            json!([{"op": "remove", "path": "addresses[type eq \"work\"]"}]),
        )
        .unwrap();
        assert_eq!(g.addresses.len(), 1);
        assert_eq!(g.into_draft().unwrap().0.site.as_deref(), Some("Rue 1"));
    }

    #[test]
    fn removing_active_unassigns_it_and_the_person_is_active() {
        let mut f = fields();
        f.active = Some(false);
        patch(&mut f, json!([{"op": "remove", "path": "active"}])).unwrap();
        let (draft, kept) = f.into_draft().unwrap();
        assert_eq!(draft.active, Some(true));
        assert!(kept.attributes.get("active").is_none());
        // Read back: still unassigned while the person is active.
        let record = draft.validate().unwrap();
        let current = UserFields::current(&record, None, None, &kept.attributes);
        assert_eq!(current.active, None);
        // Deactivated by another path (the people API): false.
        let mut record = record;
        record.active = false;
        assert_eq!(
            UserFields::current(&record, None, None, &kept.attributes).active,
            Some(false)
        );
    }

    #[test]
    fn the_current_user_follows_the_person_changed_elsewhere() {
        let (f, _) = UserFields::from_resource(&json!({
            "userName": "E1", "name": {"givenName": "A", "familyName": "B"}, "active": true,
            "emails": [{"value": "h@x.example", "type": "home"}, {"value": "w@x.example", "type": "work"}],
            "addresses": [{"type": "work", "formatted": "Nord"}]
        }))
        .unwrap();
        let (draft, kept) = f.into_draft().unwrap();
        let mut record = draft.validate().unwrap();
        record.email = "moved@x.example".into();
        record.site = None;
        let current = UserFields::current(&record, None, None, &kept.attributes);
        assert_eq!(current.emails[1]["value"], json!("moved@x.example"));
        assert_eq!(current.emails[0]["value"], json!("h@x.example"));
        assert!(current.addresses[0].get("formatted").is_none());
        // A person never written through SCIM: one work email, one work address.
        let never = UserFields::current(&record, None, None, &Value::Null);
        assert_eq!(never.emails, vec![work("value", "moved@x.example")]);
        assert!(never.addresses.is_empty());
        assert_eq!(never.active, Some(true));
    }
}
