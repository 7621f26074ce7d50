//! Schemas read from the domain's vocabularies (STYLE.md "One vocabulary"): the OpenAPI
//! document lists exactly the values the code accepts or answers, from the same constants,
//! so the two cannot drift apart.

use mentorat_domain::{caller::Role, webhook};
use utoipa::openapi::{
    Array, ArrayBuilder, Object, ObjectBuilder, RefOr, Schema,
    schema::{SchemaType, Type},
};

/// A string that is one of `values`.
pub fn string_enum<'a>(values: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.into_iter().map(str::to_owned)))
}

fn array_of(items: Object) -> Array {
    ArrayBuilder::new().items(items).build()
}

/// A string that is not blank once trimmed: one character at least that Rust's `trim` keeps
/// (not Unicode `White_Space`; spelled out, as `\\S` differs between regex dialects).
pub const NOT_BLANK: &str =
    "[^\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

/// A given or family name: trimmed, then 1 to 100 characters.
pub fn name_part() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(100))
        .pattern(Some(NOT_BLANK))
        .description(Some("Trimmed, then 1 to 100 characters"))
        .build()
}

/// The HRIS id of a person (`ExternalId`: 1 to 64 printable ASCII characters, no spaces).
pub const EXTERNAL_ID_PATTERN: &str = "^[!-~]{1,64}$";

pub fn external_id() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(EXTERNAL_ID_PATTERN))
        .max_length(Some(mentorat_domain::caller::ExternalId::MAX_LEN))
        .build()
}

/// An external id that may be left empty (`null`, or only spaces: none); trimmed.
pub fn optional_external_id() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some("^\\s*([!-~]{1,64})?\\s*$"))
        .max_length(Some(mentorat_domain::caller::ExternalId::MAX_LEN))
        .build()
}

/// A webhook event kind (`webhook::EVENT_KINDS`).
pub fn event_kind() -> Object {
    string_enum(webhook::EVENT_KINDS).build()
}

pub fn event_kinds() -> Array {
    array_of(event_kind())
}

/// The global roles (`Role::ALL`).
pub fn roles() -> Array {
    array_of(string_enum(Role::ALL.map(Role::as_str)).build())
}

/// A ready schema from a JSON literal: for the shapes utoipa's attributes cannot say (a
/// body whose rules depend on one of its fields).
pub fn from_json(value: serde_json::Value) -> RefOr<Schema> {
    match serde_json::from_value::<Schema>(value) {
        Ok(schema) => RefOr::T(schema),
        // A literal of ours that is not a schema: `tests::json_schemas_parse` catches it.
        Err(_) => RefOr::T(Schema::Object(Object::new())),
    }
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;

    /// The JSON literals `from_json` turns into schemas are schemas: none fell back to the
    /// empty object.
    #[test]
    fn json_schemas_parse() {
        for (name, schema) in [
            (
                "NewFeedback",
                crate::routes::feedback::NewFeedback::schema(),
            ),
            (
                "NewEnrollment",
                crate::routes::enrollments::NewEnrollment::schema(),
            ),
        ] {
            let value = serde_json::to_value(&schema).unwrap();
            assert_eq!(
                value["oneOf"].as_array().map(Vec::len),
                Some(2),
                "{name}: {value}"
            );
        }
    }

    #[test]
    fn the_external_id_pattern_says_what_the_domain_parses() {
        use mentorat_domain::ExternalId;
        // `^[!-~]{1,64}$`: printable ASCII without space, 1 to 64 of them.
        let inside = |s: &str| {
            !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| (b'!'..=b'~').contains(&b))
        };
        assert_eq!(EXTERNAL_ID_PATTERN, "^[!-~]{1,64}$");
        for s in [
            "E1",
            "a",
            "!~",
            &"x".repeat(64),
            "",
            " ",
            "a b",
            "²",
            &"x".repeat(65),
            "é",
        ] {
            assert_eq!(ExternalId::parse(s).is_ok(), inside(s), "{s:?}");
        }
    }
}
