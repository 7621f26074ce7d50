//! SCIM list filters (RFC 7644 §3.4.2.2) over the attributes a person's user can be found
//! by: `userName`, `externalId`, `id`, `active` and `emails` (`emails.value`), with `eq`,
//! `ne`, `co`, `sw`, `ew`, `pr`, `and`, `or`, `not (…)` and parentheses. The ordering
//! operators (`gt`, `ge`, `lt`, `le`), value paths (`emails[type eq "work"]`) and other
//! attributes are refused (`invalidFilter`). Pure: parsing and matching one user.

use super::{ENTERPRISE_SCHEMA, GrammarError, USER_SCHEMA, split_urn, string_literal};

/// The attributes a list may be filtered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterAttribute {
    Id,
    /// Case-exact: it is the person's HRIS id, unique as written.
    UserName,
    /// Case-exact (RFC 7643 §3.1).
    ExternalId,
    Active,
    /// Any of the user's email addresses, case-insensitive.
    Emails,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
}

/// A comparison's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    Text(String),
    Bool(bool),
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Compare {
        attribute: FilterAttribute,
        op: CompareOp,
        value: FilterValue,
    },
    Present(FilterAttribute),
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// What a filter is matched against: one user.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub id: &'a str,
    pub user_name: &'a str,
    pub external_id: Option<&'a str>,
    pub active: bool,
    pub emails: &'a [String],
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Word(String),
    Text(String),
}

fn tokens(text: &str) -> Result<Vec<Token>, GrammarError> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        let Some(c) = rest.chars().next() else {
            return Ok(out);
        };
        match c {
            '(' => {
                out.push(Token::Open);
                rest = &rest[1..];
            }
            ')' => {
                out.push(Token::Close);
                rest = &rest[1..];
            }
            '"' => {
                let (value, tail) = string_literal(rest)?;
                out.push(Token::Text(value));
                rest = tail;
            }
            '[' | ']' => {
                return Err(GrammarError(
                    "value paths (`attribute[…]`) are not supported in filters".into(),
                ));
            }
            _ => {
                let end = rest
                    .find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '"' | '[' | ']'))
                    .unwrap_or(rest.len());
                out.push(Token::Word(rest[..end].to_owned()));
                rest = &rest[end..];
            }
        }
    }
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Filter, GrammarError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, GrammarError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.at += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, GrammarError> {
        if self.keyword("not") {
            self.at += 1;
            if self.peek() != Some(&Token::Open) {
                return Err(GrammarError("`not` must be followed by `(`".into()));
            }
            return Ok(Filter::Not(Box::new(self.group()?)));
        }
        if self.peek() == Some(&Token::Open) {
            return self.group();
        }
        self.comparison()
    }

    fn group(&mut self) -> Result<Filter, GrammarError> {
        self.at += 1;
        let inner = self.or()?;
        match self.next() {
            Some(Token::Close) => Ok(inner),
            _ => Err(GrammarError("a `(` is not closed".into())),
        }
    }

    fn comparison(&mut self) -> Result<Filter, GrammarError> {
        let Some(Token::Word(attr)) = self.next() else {
            return Err(GrammarError("an attribute name was expected".into()));
        };
        let attribute = attribute(&attr)?;
        let Some(Token::Word(op)) = self.next() else {
            return Err(GrammarError(format!(
                "`{attr}` must be followed by an operator"
            )));
        };
        let op = match op.to_ascii_lowercase().as_str() {
            "pr" => return Ok(Filter::Present(attribute)),
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" | "ge" | "lt" | "le" => {
                return Err(GrammarError(format!(
                    "the operator `{op}` is not supported; eq, ne, co, sw, ew and pr are"
                )));
            }
            _ => return Err(GrammarError(format!("`{op}` is not an operator"))),
        };
        let value = match self.next() {
            Some(Token::Text(t)) => FilterValue::Text(t),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => FilterValue::Bool(true),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => FilterValue::Bool(false),
            _ => {
                return Err(GrammarError(
                    "a value must be a double-quoted string, true or false".into(),
                ));
            }
        };
        let typed = match (attribute, &value) {
            (FilterAttribute::Active, FilterValue::Bool(_)) => {
                matches!(op, CompareOp::Eq | CompareOp::Ne)
            }
            (FilterAttribute::Active, FilterValue::Text(_)) => false,
            (_, FilterValue::Text(_)) => true,
            (_, FilterValue::Bool(_)) => false,
        };
        if !typed {
            return Err(GrammarError(format!(
                "`{attr}` cannot be compared that way: active takes eq or ne with true or false, the others a string"
            )));
        }
        Ok(Filter::Compare {
            attribute,
            op,
            value,
        })
    }
}

fn attribute(attr: &str) -> Result<FilterAttribute, GrammarError> {
    let (schema, name) = split_urn(attr);
    let core = schema.is_none() || schema == Some(USER_SCHEMA);
    Ok(match name.to_ascii_lowercase().as_str() {
        "username" if core => FilterAttribute::UserName,
        "externalid" if schema.is_none() => FilterAttribute::ExternalId,
        "id" if schema.is_none() => FilterAttribute::Id,
        "active" if core => FilterAttribute::Active,
        "emails" | "emails.value" if core => FilterAttribute::Emails,
        _ => {
            let _ = ENTERPRISE_SCHEMA;
            return Err(GrammarError(format!(
                "filtering on `{attr}` is not supported; use userName, externalId, id, active or emails"
            )));
        }
    })
}

fn compare(op: CompareOp, have: &str, want: &str, exact: bool) -> bool {
    let (have, want) = if exact {
        (have.to_owned(), want.to_owned())
    } else {
        (have.to_lowercase(), want.to_lowercase())
    };
    match op {
        CompareOp::Eq => have == want,
        CompareOp::Ne => have != want,
        CompareOp::Co => have.contains(&want),
        CompareOp::Sw => have.starts_with(&want),
        CompareOp::Ew => have.ends_with(&want),
    }
}

impl Filter {
    /// Parse a `filter` query parameter (or a search request's `filter`).
    pub fn parse(text: &str) -> Result<Self, GrammarError> {
        let mut parser = Parser {
            tokens: tokens(text)?,
            at: 0,
        };
        if parser.tokens.is_empty() {
            return Err(GrammarError("the filter is empty".into()));
        }
        let filter = parser.or()?;
        if parser.at != parser.tokens.len() {
            return Err(GrammarError(
                "the filter goes on after a complete expression (`and`/`or` missing?)".into(),
            ));
        }
        Ok(filter)
    }

    /// `attribute eq "value"` on an indexed attribute: what the store can look up directly.
    pub fn lookup(&self) -> Option<(FilterAttribute, &str)> {
        match self {
            Filter::Compare {
                attribute:
                    attribute @ (FilterAttribute::UserName
                    | FilterAttribute::ExternalId
                    | FilterAttribute::Id),
                op: CompareOp::Eq,
                value: FilterValue::Text(value),
            } => Some((*attribute, value)),
            _ => None,
        }
    }

    /// Does this user match?
    pub fn matches(&self, user: &Candidate<'_>) -> bool {
        match self {
            Filter::And(a, b) => a.matches(user) && b.matches(user),
            Filter::Or(a, b) => a.matches(user) || b.matches(user),
            Filter::Not(a) => !a.matches(user),
            Filter::Present(attribute) => match attribute {
                FilterAttribute::Id | FilterAttribute::UserName | FilterAttribute::Active => true,
                FilterAttribute::ExternalId => user.external_id.is_some(),
                FilterAttribute::Emails => !user.emails.is_empty(),
            },
            Filter::Compare {
                attribute,
                op,
                value,
            } => match (attribute, value) {
                (FilterAttribute::Active, FilterValue::Bool(b)) => match op {
                    CompareOp::Ne => user.active != *b,
                    _ => user.active == *b,
                },
                (FilterAttribute::Id, FilterValue::Text(t)) => compare(*op, user.id, t, false),
                (FilterAttribute::UserName, FilterValue::Text(t)) => {
                    compare(*op, user.user_name, t, true)
                }
                // An unassigned attribute matches no comparison but `ne` (RFC 7644 §3.4.2.2).
                (FilterAttribute::ExternalId, FilterValue::Text(t)) => match user.external_id {
                    Some(e) => compare(*op, e, t, true),
                    None => *op == CompareOp::Ne,
                },
                (FilterAttribute::Emails, FilterValue::Text(t)) => match op {
                    CompareOp::Ne => !user
                        .emails
                        .iter()
                        .any(|e| compare(CompareOp::Eq, e, t, false)),
                    _ => user.emails.iter().any(|e| compare(*op, e, t, false)),
                },
                _ => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn user<'a>(emails: &'a [String]) -> Candidate<'a> {
        Candidate {
            id: "0193-abc",
            user_name: "E12345",
            external_id: Some("aad-7f3c"),
            active: true,
            emails,
        }
    }

    #[test]
    fn eq_on_indexed_attributes_is_a_lookup() {
        let f = Filter::parse(r#"userName eq "E1""#).unwrap();
        assert_eq!(f.lookup(), Some((FilterAttribute::UserName, "E1")));
        let f = Filter::parse(r#"externalId EQ "a \"b\"""#).unwrap();
        assert_eq!(f.lookup(), Some((FilterAttribute::ExternalId, "a \"b\"")));
        let f =
            Filter::parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x""#).unwrap();
        assert_eq!(f.lookup(), Some((FilterAttribute::UserName, "x")));
        assert_eq!(Filter::parse(r#"userName sw "x""#).unwrap().lookup(), None);
    }

    #[test]
    fn operators_match_as_rfc_7644_says() {
        let emails = vec![
            "Zoe.Lefevre@CHU.example".to_owned(),
            "z@home.example".to_owned(),
        ];
        let u = user(&emails);
        let yes = [
            r#"userName eq "E12345""#,
            r#"userName ne "e12345""#,
            r#"userName sw "E12""#,
            r#"userName ew "345""#,
            r#"userName co "23""#,
            r#"externalId pr"#,
            r#"active eq true"#,
            r#"active ne false"#,
            r#"emails co "lefevre@chu""#,
            r#"emails.value ew "@home.example""#,
            r#"emails pr and active eq true"#,
            r#"userName eq "nope" or externalId sw "aad-""#,
            r#"not (userName eq "nope") and (active eq false or userName pr)"#,
            r#"id sw "0193""#,
        ];
        for f in yes {
            assert!(Filter::parse(f).unwrap().matches(&u), "{f}");
        }
        let no = [
            r#"userName eq "e12345""#,
            r#"userName sw "345""#,
            r#"active eq false"#,
            r#"emails eq "nobody@x.example""#,
            r#"emails ne "z@HOME.example""#,
            r#"userName pr and active eq false"#,
            r#"not (userName pr)"#,
        ];
        for f in no {
            assert!(!Filter::parse(f).unwrap().matches(&u), "{f}");
        }
        let none: Vec<String> = Vec::new();
        let bare = Candidate {
            external_id: None,
            ..user(&none)
        };
        assert!(!Filter::parse("externalId pr").unwrap().matches(&bare));
        assert!(
            Filter::parse(r#"externalId ne "x""#)
                .unwrap()
                .matches(&bare)
        );
        assert!(!Filter::parse(r#"emails co "x""#).unwrap().matches(&bare));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let f = Filter::parse(r#"userName eq "a" or userName eq "b" and active eq true"#).unwrap();
        assert!(matches!(f, Filter::Or(_, ref right) if matches!(**right, Filter::And(_, _))));
    }

    #[test]
    fn other_filters_are_refused() {
        for bad in [
            "",
            "userName",
            r#"userName gt "E""#,
            r#"userName eq E1"#,
            r#"userName eq true"#,
            r#"active eq "true""#,
            r#"active co true"#,
            r#"title eq "x""#,
            r#"emails[type eq "work"] pr"#,
            r#"userName eq "unterminated"#,
            r#"(userName eq "a""#,
            r#"userName eq "a" userName eq "b""#,
            r#"not userName pr"#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "x""#,
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad}");
        }
    }
}
