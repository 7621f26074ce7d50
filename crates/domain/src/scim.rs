//! SCIM 2.0 (RFC 7644) request grammar the service understands, parsed at the edge: list
//! filters (`userName eq "E1"`) and PATCH paths (`emails[type eq "work"].value`), as
//! Microsoft Entra ID and Okta send them; what a User resource or a PATCH means for a
//! person ([`user`]); list filters and their matching ([`filter`]). Pure: no I/O.

pub mod filter;
pub mod user;

pub use filter::{Candidate, CompareOp, Filter, FilterAttribute, FilterValue};
pub use user::{Kept, PATCH_SCHEMA, ScimFault, ScimType, UserFields};

/// The core User schema's URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The enterprise User extension's URN (department, manager).
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Why a filter or a path was refused (`invalidFilter` / `invalidPath`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GrammarError(pub String);

/// Strip a schema URN prefix (`urn:…:User:`) from an attribute path, case-insensitively;
/// returns the schema it named (if any) and the rest.
pub(crate) fn split_urn(path: &str) -> (Option<&'static str>, &str) {
    for schema in [ENTERPRISE_SCHEMA, USER_SCHEMA] {
        if path.len() > schema.len()
            && path.is_char_boundary(schema.len())
            && path[..schema.len()].eq_ignore_ascii_case(schema)
            && path[schema.len()..].starts_with(':')
        {
            return (Some(schema), &path[schema.len() + 1..]);
        }
    }
    (None, path)
}

/// A JSON string literal at the start of `text`: its value and what follows it.
pub(crate) fn string_literal(text: &str) -> Result<(String, &str), GrammarError> {
    let bad = || GrammarError("a value must be a double-quoted string".into());
    let rest = text.strip_prefix('"').ok_or_else(bad)?;
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &rest[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, '/')) => out.push('/'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                _ => return Err(GrammarError("an unsupported escape in a string".into())),
            },
            c => out.push(c),
        }
    }
    Err(bad())
}

/// A value-path selector, `key eq "value"` (the only comparison a PATCH path may hold).
fn comparison(text: &str) -> Result<(String, String), GrammarError> {
    let text = text.trim();
    let mut parts = text.splitn(3, char::is_whitespace);
    let (Some(attr), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(GrammarError(format!(
            "`{text}` is not of the form `attribute eq \"value\"`"
        )));
    };
    if !op.eq_ignore_ascii_case("eq") {
        return Err(GrammarError(format!(
            "the operator `{op}` is not supported in a path; only `eq` is"
        )));
    }
    let (value, rest) = string_literal(value.trim_start())?;
    if !rest.trim().is_empty() {
        return Err(GrammarError(
            "a path selects by one comparison (no `and`, `or`, `not`)".into(),
        ));
    }
    Ok((attr.to_owned(), value))
}

/// A PATCH operation's `path` (RFC 7644 §3.5.2), lower-cased: `attribute`,
/// `attribute.sub`, `attribute[key eq "v"]`, `attribute[key eq "v"].sub`, with or without
/// a schema URN in front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchPath {
    /// The path named the enterprise extension (`urn:…:enterprise:2.0:User:…`).
    pub extension: bool,
    pub attribute: String,
    /// `[key eq "value"]`, the key lower-cased.
    pub selector: Option<(String, String)>,
    pub sub_attribute: Option<String>,
}

impl PatchPath {
    pub fn parse(text: &str) -> Result<Self, GrammarError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(GrammarError("the path is empty".into()));
        }
        let (schema, rest) = split_urn(text);
        let extension = schema == Some(ENTERPRISE_SCHEMA);
        let (head, selector, tail) = match rest.find('[') {
            Some(open) => {
                let close = rest[open..]
                    .find(']')
                    .map(|c| open + c)
                    .ok_or_else(|| GrammarError(format!("`{text}`: `[` is not closed")))?;
                let (key, value) = comparison(&rest[open + 1..close])
                    .map_err(|e| GrammarError(format!("`{text}`: {e}")))?;
                let tail = &rest[close + 1..];
                let tail = match tail.strip_prefix('.') {
                    Some(sub) => Some(sub),
                    None if tail.is_empty() => None,
                    None => return Err(GrammarError(format!("`{text}` is not a path"))),
                };
                (&rest[..open], Some((key.to_ascii_lowercase(), value)), tail)
            }
            None => match rest.split_once('.') {
                Some((head, sub)) => (head, None, Some(sub)),
                None => (rest, None, None),
            },
        };
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
        };
        if !name_ok(head) || tail.is_some_and(|t| !name_ok(t)) {
            return Err(GrammarError(format!("`{text}` is not a path")));
        }
        Ok(Self {
            extension,
            attribute: head.to_ascii_lowercase(),
            selector,
            sub_attribute: tail.map(str::to_ascii_lowercase),
        })
    }
}

/// A PATCH operation's `op`: Entra ID capitalises them (`"Replace"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOp {
    Add,
    Replace,
    Remove,
}

impl PatchOp {
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "add" => Some(Self::Add),
            "replace" => Some(Self::Replace),
            "remove" => Some(Self::Remove),
            _ => None,
        }
    }
}

/// A boolean as Entra ID sends it in PATCH values: `true`, or the strings `"True"`/`"False"`.
pub fn boolean_text(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_paths_parse() {
        let p = PatchPath::parse(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(p.attribute, "emails");
        assert_eq!(p.selector, Some(("type".into(), "work".into())));
        assert_eq!(p.sub_attribute.as_deref(), Some("value"));
        let p = PatchPath::parse("name.givenName").unwrap();
        assert_eq!(
            (p.attribute.as_str(), p.sub_attribute.as_deref()),
            ("name", Some("givenname"))
        );
        let p = PatchPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        )
        .unwrap();
        assert!(p.extension);
        assert_eq!(p.attribute, "department");
        let p =
            PatchPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager")
                .unwrap();
        assert!(p.extension && p.attribute == "manager" && p.sub_attribute.is_none());
        let p = PatchPath::parse("active").unwrap();
        assert!(!p.extension && p.attribute == "active");
    }

    #[test]
    fn malformed_paths_are_refused() {
        for bad in [
            "",
            "emails[type eq \"work\"",
            "emails[type \"work\"].value",
            "emails[type eq \"work\"]x",
            "name..givenName",
            "a b",
        ] {
            assert!(PatchPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn entra_capitalises_ops_and_booleans() {
        assert_eq!(PatchOp::parse("Replace"), Some(PatchOp::Replace));
        assert_eq!(PatchOp::parse("add"), Some(PatchOp::Add));
        assert_eq!(PatchOp::parse("Remove"), Some(PatchOp::Remove));
        assert_eq!(PatchOp::parse("move"), None);
        assert_eq!(boolean_text("False"), Some(false));
        assert_eq!(boolean_text("True"), Some(true));
        assert_eq!(boolean_text("yes"), None);
    }
}
