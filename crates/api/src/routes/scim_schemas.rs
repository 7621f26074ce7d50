//! The JSON Schemas of SCIM's messages (RFC 7643, RFC 7644) as `/scim/v2` reads and writes
//! them: what `mentorat_domain::scim::user` accepts, and exactly what `routes::scim` answers.
//! Written as JSON literals (`vocabulary::from_json`): a User resource's attribute names are
//! compared case-insensitively and unknown attributes are ignored (RFC 7644 §3.3), which the
//! derive macros cannot say.

use mentorat_domain::scim::{ENTERPRISE_SCHEMA, PATCH_SCHEMA, ScimType, USER_SCHEMA};
use serde_json::{Value, json};
use utoipa::openapi::{RefOr, schema::Schema};

use crate::vocabulary::{EXTERNAL_ID_PATTERN, NOT_BLANK, from_json};

pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const CONFIG_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// A whole number of any size (`startIndex`, `count`): out-of-range values are clamped
/// (RFC 7644 §3.4.2.4).
pub fn any_integer() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Integer)
        .description(Some(
            "A whole number; out of range, clamped (`startIndex` below 1 is 1, `count` above 200 is 200, below 0 is 0)",
        ))
        .build()
}

/// A boolean, or Entra ID's `"True"` / `"False"` (any case).
fn boolean() -> Value {
    json!({"anyOf": [
        {"type": ["boolean", "null"]},
        {"type": "string", "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"},
    ]})
}

fn label() -> Value {
    json!({"type": ["string", "null"], "maxLength": mentorat_domain::person::bounds::LABEL_MAX})
}

fn name_part() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": mentorat_domain::person::bounds::NAME_MAX,
        "pattern": NOT_BLANK, "description": "Trimmed, then 1 to 100 characters"})
}

/// `manager`: `{"value": …}`, or the value itself (Entra ID): the manager's `id`, or the
/// `userName` of a manager provisioned later; blank or null, none.
fn manager() -> Value {
    let value = json!({"type": ["string", "null"], "pattern": "^\\s*([!-~]{1,64})?\\s*$",
        "description": "The manager's id, or the userName of a manager not provisioned yet"});
    json!({"anyOf": [
        {"type": "object", "properties": {"value": value}},
        value,
    ]})
}

fn email() -> Value {
    json!({
        "type": "object",
        "required": ["value"],
        "properties": {
            "value": {"type": "string", "format": "email", "maxLength": mentorat_domain::person::bounds::EMAIL_MAX},
            "type": {"type": ["string", "null"], "examples": ["work"]},
            "display": {"type": ["string", "null"]},
            "primary": boolean(),
        },
        "additionalProperties": {"type": ["string", "null"]},
    })
}

fn address() -> Value {
    json!({
        "type": "object",
        "properties": {
            "formatted": label(),
            "type": {"type": ["string", "null"], "examples": ["work"]},
            "primary": boolean(),
        },
        "additionalProperties": {"type": ["string", "null"]},
    })
}

/// The attributes of a User as a write sends them; `required` is what a whole resource
/// needs.
fn user_attributes(user_name_nullable: bool) -> Value {
    let user_name_type = if user_name_nullable {
        json!(["string", "null"])
    } else {
        json!("string")
    };
    json!({
        "schemas": {"type": ["array", "null"], "items": {"type": "string"},
            "description": "The URNs of the resource's schemas"},
        "userName": {"type": user_name_type, "pattern": EXTERNAL_ID_PATTERN, "maxLength": 64,
            "description": "The person's HRIS id (`external_id`), what tokens carry as subject; immutable"},
        "externalId": {"type": ["string", "null"], "maxLength": mentorat_domain::scim::user::EXTERNAL_ID_MAX,
            "description": "The identity provider's own id for the user"},
        "name": {
            "type": "object",
            "required": ["givenName", "familyName"],
            "properties": {"givenName": name_part(), "familyName": name_part()},
        },
        "emails": {"description": "The primary (else work, else first) value is the person's email; every value is an address",
            "anyOf": [{"type": "array", "minItems": 1, "items": email()}, email()]},
        "title": label(),
        "active": boolean(),
        "addresses": {"description": "The primary (else work, else first) value's `formatted` is the person's site",
            "anyOf": [{"type": ["array", "null"], "items": address()}, address()]},
        ENTERPRISE_SCHEMA: {
            "type": "object",
            "properties": {"department": label(), "manager": manager()},
        },
    })
}

/// `POST /Users`: a whole User resource.
pub struct ScimNewUser;

impl utoipa::PartialSchema for ScimNewUser {
    fn schema() -> RefOr<Schema> {
        from_json(json!({
            "description": "A SCIM User (RFC 7643 §4.1) with the enterprise extension. Attribute names are compared case-insensitively; attributes not listed are ignored (RFC 7644 §3.3).",
            "type": "object",
            "required": ["userName", "name", "emails"],
            "properties": user_attributes(false),
            "example": example_user(),
        }))
    }
}
impl utoipa::ToSchema for ScimNewUser {}

/// `PUT /Users/{id}`: a whole User resource; `userName` left out is kept.
pub struct ScimReplacedUser;

impl utoipa::PartialSchema for ScimReplacedUser {
    fn schema() -> RefOr<Schema> {
        from_json(json!({
            "description": "A SCIM User replacing the stored one whole (what it leaves out is cleared); `userName`, when sent, is the stored one. Attribute names are compared case-insensitively; attributes not listed are ignored.",
            "type": "object",
            "required": ["name", "emails"],
            "properties": user_attributes(true),
            "example": example_user(),
        }))
    }
}
impl utoipa::ToSchema for ScimReplacedUser {}

fn example_user() -> Value {
    json!({"schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA], "userName": "E12345", "externalId": "aad-7f3c", "active": true,
        "name": {"givenName": "Zoé", "familyName": "Lefèvre"},
        "emails": [{"value": "zoe.lefevre@chu.example", "type": "work", "primary": true}],
        "title": "Infirmière", "addresses": [{"type": "work", "formatted": "Hôpital Nord"}],
        ENTERPRISE_SCHEMA: {"department": "Cardiologie", "manager": {"value": "E00042"}}})
}

/// A kept value of `emails` or `addresses`: as sent, `primary` a boolean.
fn kept_value() -> Value {
    json!({"type": "object", "properties": {"primary": {"type": "boolean"}},
        "additionalProperties": {"type": "string"}})
}

/// A User as the service answers it. `attributes` / `excludedAttributes` may leave out all
/// but `schemas`, `id` and `meta`.
pub struct ScimUser;

impl utoipa::PartialSchema for ScimUser {
    fn schema() -> RefOr<Schema> {
        from_json(json!({
            "description": "A SCIM User (RFC 7643 §4.1): a person. `schemas`, `id` and `meta` are always there; the other attributes unless `attributes` / `excludedAttributes` leave them out, or they have no value.",
            "type": "object",
            "required": ["schemas", "id", "meta"],
            "additionalProperties": false,
            "properties": {
                "schemas": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": [USER_SCHEMA, ENTERPRISE_SCHEMA]}},
                "id": {"type": "string", "format": "uuid"},
                "externalId": {"type": "string"},
                "userName": {"type": "string"},
                "name": {"type": "object", "additionalProperties": false,
                    "properties": {"givenName": {"type": "string"}, "familyName": {"type": "string"}}},
                "emails": {"type": "array", "items": kept_value()},
                "title": {"type": "string"},
                "active": {"type": "boolean", "description": "Absent while unassigned (the person is active)"},
                "addresses": {"type": "array", "items": kept_value()},
                ENTERPRISE_SCHEMA: {"type": "object", "additionalProperties": false, "properties": {
                    "department": {"type": "string"},
                    "manager": {"type": "object", "additionalProperties": false, "required": ["value"],
                        "properties": {"value": {"type": "string", "description": "The manager's id, or the userName of a manager not provisioned yet"}}},
                }},
                "meta": {"type": "object", "additionalProperties": false,
                    "required": ["resourceType", "created", "lastModified", "location"],
                    "properties": {
                        "resourceType": {"type": "string", "enum": ["User"]},
                        "created": {"type": "string", "format": "date-time"},
                        "lastModified": {"type": "string", "format": "date-time"},
                        "location": {"type": "string", "format": "uri-reference"},
                    }},
            },
        }))
    }
}
impl utoipa::ToSchema for ScimUser {}

fn list_of(item: &str) -> Value {
    json!({
        "type": "object",
        "required": ["schemas", "totalResults", "startIndex", "itemsPerPage", "Resources"],
        "additionalProperties": false,
        "properties": {
            "schemas": {"type": "array", "items": {"type": "string", "enum": [LIST_URN]}, "minItems": 1, "maxItems": 1},
            "totalResults": {"type": "integer", "minimum": 0},
            "startIndex": {"type": "integer", "minimum": 1},
            "itemsPerPage": {"type": "integer", "minimum": 0},
            "Resources": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}},
        },
    })
}

/// A ListResponse of users (RFC 7644 §3.4.2).
pub struct ScimUserList;

impl utoipa::PartialSchema for ScimUserList {
    fn schema() -> RefOr<Schema> {
        from_json(list_of("ScimUser"))
    }
}
impl utoipa::ToSchema for ScimUserList {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            "ScimUser".into(),
            <ScimUser as utoipa::PartialSchema>::schema(),
        ));
    }
}

/// A SCIM error document (RFC 7644 §3.12): `status` is the HTTP status as a string.
pub struct ScimError;

impl utoipa::PartialSchema for ScimError {
    fn schema() -> RefOr<Schema> {
        let types: Vec<&str> = ScimType::ALL.iter().map(|t| t.as_str()).collect();
        from_json(json!({
            "description": "A SCIM error (RFC 7644 §3.12)",
            "type": "object",
            "required": ["schemas", "status", "detail"],
            "additionalProperties": false,
            "properties": {
                "schemas": {"type": "array", "items": {"type": "string", "enum": [ERROR_URN]}, "minItems": 1, "maxItems": 1},
                "status": {"type": "string", "pattern": "^[45][0-9]{2}$", "description": "The HTTP status, as a string"},
                "scimType": {"type": "string", "enum": types, "description": "What is wrong with the request (400 and 409 only)"},
                "detail": {"type": "string"},
            },
            "example": {"schemas": [ERROR_URN], "status": "409", "scimType": "uniqueness", "detail": "a user with userName E12345 exists"},
        }))
    }
}
impl utoipa::ToSchema for ScimError {}

fn operation(op: &str, path: Option<&str>, value: Option<Value>) -> Value {
    let ops: &[&str] = match op {
        "remove" => &["^[Rr][Ee][Mm][Oo][Vv][Ee]$"],
        _ => &["^([Aa][Dd][Dd]|[Rr][Ee][Pp][Ll][Aa][Cc][Ee])$"],
    };
    let mut properties = serde_json::Map::new();
    properties.insert("op".into(), json!({"type": "string", "pattern": ops[0]}));
    let mut required = vec!["op"];
    match path {
        Some(path) => {
            properties.insert("path".into(), json!({"type": "string", "enum": [path]}));
            required.push("path");
        }
        // Path-less: the value is an object of attributes.
        None => {
            properties.insert("path".into(), json!({"type": "null"}));
        }
    }
    if let Some(value) = value {
        properties.insert("value".into(), value);
        required.push("value");
    }
    json!({"type": "object", "required": required, "properties": properties})
}

/// A PatchOp message (RFC 7644 §3.5.2), as Entra ID and Okta send it.
pub struct ScimPatchOp;

impl utoipa::PartialSchema for ScimPatchOp {
    fn schema() -> RefOr<Schema> {
        let department = format!("{ENTERPRISE_SCHEMA}:department");
        let manager_path = format!("{ENTERPRISE_SCHEMA}:manager");
        let mut partial = serde_json::Map::new();
        if let Value::Object(all) = user_attributes(false) {
            for (k, v) in all {
                if k == "userName" || k == "name" {
                    continue;
                }
                partial.insert(k, v);
            }
        }
        partial.insert(
            "name".into(),
            json!({"type": "object", "properties": {"givenName": name_part(), "familyName": name_part()}}),
        );
        let operations = vec![
            operation("add", Some("active"), Some(boolean())),
            operation("add", Some("title"), Some(label())),
            operation(
                "add",
                Some("externalId"),
                Some(
                    json!({"type": ["string", "null"], "maxLength": mentorat_domain::scim::user::EXTERNAL_ID_MAX}),
                ),
            ),
            operation("add", Some("name.givenName"), Some(name_part())),
            operation("add", Some("name.familyName"), Some(name_part())),
            operation(
                "add",
                Some("emails[type eq \"work\"].value"),
                Some(
                    json!({"type": "string", "format": "email", "maxLength": mentorat_domain::person::bounds::EMAIL_MAX}),
                ),
            ),
            operation(
                "add",
                Some("addresses[type eq \"work\"].formatted"),
                Some(label()),
            ),
            operation("add", Some(&department), Some(label())),
            operation("add", Some(&manager_path), Some(manager())),
            operation(
                "add",
                None,
                Some(json!({"type": "object", "properties": partial})),
            ),
            operation("remove", Some("title"), None),
            operation("remove", Some("externalId"), None),
            operation("remove", Some("active"), None),
            operation("remove", Some("addresses"), None),
            operation("remove", Some(&department), None),
            operation("remove", Some(&manager_path), None),
        ];
        from_json(json!({
            "description": "A PatchOp message: `add`, `replace` (any case) or `remove` operations. Paths of attributes not listed are ignored (RFC 7644 §3.3), as Entra ID sends more than the service keeps.",
            "type": "object",
            "required": ["schemas", "Operations"],
            "properties": {
                "schemas": request_urns(PATCH_SCHEMA),
                "Operations": {"type": "array", "items": {"anyOf": operations}},
            },
            "example": {"schemas": [PATCH_SCHEMA], "Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "zoe.l@chu.example"}]},
        }))
    }
}
impl utoipa::ToSchema for ScimPatchOp {}

/// A SearchRequest message (RFC 7644 §3.4.3).
pub struct ScimSearchRequest;

impl utoipa::PartialSchema for ScimSearchRequest {
    fn schema() -> RefOr<Schema> {
        let names = json!({"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}, {"type": "null"}],
            "description": "Attribute names: an array, or one comma-separated string"});
        let integer = json!({"anyOf": [{"type": ["integer", "null"]}, {"type": "string", "pattern": "^\\s*[+-]?[0-9]+\\s*$"}]});
        from_json(json!({
            "description": "A search of users; `sortBy` and `sortOrder` are ignored (sorting is not offered)",
            "type": "object",
            "required": ["schemas"],
            "properties": {
                "schemas": request_urns(SEARCH_URN),
                "filter": {"type": ["string", "null"], "description": "As `filter` of `GET /Users`"},
                "attributes": names,
                "excludedAttributes": names,
                "startIndex": integer,
                "count": integer,
            },
            "example": {"schemas": [SEARCH_URN], "filter": "userName sw \"E1\" and active eq true", "attributes": ["userName", "emails"], "startIndex": 1, "count": 50},
        }))
    }
}
impl utoipa::ToSchema for ScimSearchRequest {}

fn urns(urn: &str) -> Value {
    json!({"type": "array", "items": {"type": "string", "enum": [urn]}, "minItems": 1, "maxItems": 1})
}

/// A request's `schemas`: the message's URN (sent once or more, nothing else).
fn request_urns(urn: &str) -> Value {
    json!({"type": "array", "items": {"type": "string", "enum": [urn]}, "minItems": 1})
}

fn meta(resource_type: &str) -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["resourceType", "location"],
        "properties": {"resourceType": {"type": "string", "enum": [resource_type]}, "location": {"type": "string", "format": "uri-reference"}}})
}

/// What the service offers (RFC 7643 §5).
pub struct ScimServiceProviderConfig;

impl utoipa::PartialSchema for ScimServiceProviderConfig {
    fn schema() -> RefOr<Schema> {
        let supported = json!({"type": "object", "additionalProperties": false, "required": ["supported"],
            "properties": {"supported": {"type": "boolean"}}});
        from_json(json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["schemas", "patch", "bulk", "filter", "changePassword", "sort", "etag", "authenticationSchemes", "meta"],
            "properties": {
                "schemas": urns(CONFIG_URN),
                "documentationUri": {"type": "string", "format": "uri"},
                "patch": supported,
                "bulk": {"type": "object", "additionalProperties": false, "required": ["supported", "maxOperations", "maxPayloadSize"],
                    "properties": {"supported": {"type": "boolean"}, "maxOperations": {"type": "integer", "minimum": 0}, "maxPayloadSize": {"type": "integer", "minimum": 0}}},
                "filter": {"type": "object", "additionalProperties": false, "required": ["supported", "maxResults"],
                    "properties": {"supported": {"type": "boolean"}, "maxResults": {"type": "integer", "minimum": 0}}},
                "changePassword": supported,
                "sort": supported,
                "etag": supported,
                "authenticationSchemes": {"type": "array", "items": {"type": "object", "additionalProperties": false,
                    "required": ["type", "name", "description"],
                    "properties": {"type": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"}, "primary": {"type": "boolean"}}}},
                "meta": meta("ServiceProviderConfig"),
            },
        }))
    }
}
impl utoipa::ToSchema for ScimServiceProviderConfig {}

/// A resource type (RFC 7643 §6).
pub struct ScimResourceType;

impl utoipa::PartialSchema for ScimResourceType {
    fn schema() -> RefOr<Schema> {
        from_json(json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["schemas", "id", "name", "endpoint", "schema", "meta"],
            "properties": {
                "schemas": urns(RESOURCE_TYPE_URN),
                "id": {"type": "string"},
                "name": {"type": "string"},
                "endpoint": {"type": "string"},
                "description": {"type": "string"},
                "schema": {"type": "string"},
                "schemaExtensions": {"type": "array", "items": {"type": "object", "additionalProperties": false,
                    "required": ["schema", "required"], "properties": {"schema": {"type": "string"}, "required": {"type": "boolean"}}}},
                "meta": meta("ResourceType"),
            },
        }))
    }
}
impl utoipa::ToSchema for ScimResourceType {}

/// A ListResponse of resource types.
pub struct ScimResourceTypeList;

impl utoipa::PartialSchema for ScimResourceTypeList {
    fn schema() -> RefOr<Schema> {
        from_json(list_of("ScimResourceType"))
    }
}
impl utoipa::ToSchema for ScimResourceTypeList {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            "ScimResourceType".into(),
            <ScimResourceType as utoipa::PartialSchema>::schema(),
        ));
    }
}

fn attribute(sub: Option<Value>) -> Value {
    let mut properties = json!({
        "name": {"type": "string"},
        "type": {"type": "string", "enum": ["string", "boolean", "decimal", "integer", "dateTime", "reference", "binary", "complex"]},
        "multiValued": {"type": "boolean"},
        "description": {"type": "string"},
        "required": {"type": "boolean"},
        "caseExact": {"type": "boolean"},
        "mutability": {"type": "string", "enum": ["readOnly", "readWrite", "immutable", "writeOnly"]},
        "returned": {"type": "string", "enum": ["always", "never", "default", "request"]},
        "uniqueness": {"type": "string", "enum": ["none", "server", "global"]},
        "referenceTypes": {"type": "array", "items": {"type": "string"}},
        "canonicalValues": {"type": "array", "items": {"type": "string"}},
    });
    if let (Some(sub), Some(p)) = (sub, properties.as_object_mut()) {
        p.insert(
            "subAttributes".into(),
            json!({"type": "array", "items": sub}),
        );
    }
    json!({"type": "object", "additionalProperties": false,
        "required": ["name", "type", "multiValued", "required", "caseExact", "mutability", "returned", "uniqueness"],
        "properties": properties})
}

/// A schema (RFC 7643 §7): the attributes of a resource or extension the service keeps.
pub struct ScimSchema;

impl utoipa::PartialSchema for ScimSchema {
    fn schema() -> RefOr<Schema> {
        from_json(json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["schemas", "id", "name", "attributes", "meta"],
            "properties": {
                "schemas": urns(SCHEMA_URN),
                "id": {"type": "string"},
                "name": {"type": "string"},
                "description": {"type": "string"},
                "attributes": {"type": "array", "items": attribute(Some(attribute(None)))},
                "meta": meta("Schema"),
            },
        }))
    }
}
impl utoipa::ToSchema for ScimSchema {}

/// A ListResponse of schemas.
pub struct ScimSchemaList;

impl utoipa::PartialSchema for ScimSchemaList {
    fn schema() -> RefOr<Schema> {
        from_json(list_of("ScimSchema"))
    }
}
impl utoipa::ToSchema for ScimSchemaList {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            "ScimSchema".into(),
            <ScimSchema as utoipa::PartialSchema>::schema(),
        ));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use utoipa::PartialSchema;

    use super::*;

    /// Every literal is a schema: none fell back to the empty object.
    #[test]
    fn scim_schemas_parse() {
        for (name, schema) in [
            ("ScimNewUser", ScimNewUser::schema()),
            ("ScimReplacedUser", ScimReplacedUser::schema()),
            ("ScimUser", ScimUser::schema()),
            ("ScimUserList", ScimUserList::schema()),
            ("ScimError", ScimError::schema()),
            ("ScimPatchOp", ScimPatchOp::schema()),
            ("ScimSearchRequest", ScimSearchRequest::schema()),
            (
                "ScimServiceProviderConfig",
                ScimServiceProviderConfig::schema(),
            ),
            ("ScimResourceType", ScimResourceType::schema()),
            ("ScimResourceTypeList", ScimResourceTypeList::schema()),
            ("ScimSchema", ScimSchema::schema()),
            ("ScimSchemaList", ScimSchemaList::schema()),
        ] {
            let value = serde_json::to_value(&schema).unwrap();
            assert_ne!(value, json!({"type": "object"}), "{name}");
            assert_ne!(value, json!({}), "{name}");
        }
    }
}
