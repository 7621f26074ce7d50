//! People as CSV (`POST /people/import` with `text/csv`): a header row naming the columns,
//! then one person a row; UTF-8 (a byte-order mark is tolerated), RFC 4180 quoting.

use mentorat_domain::{FieldError, person::PersonDraft};
use mentorat_service::people::RowProblem;

use crate::problem::{ApiError, FieldProblem};

pub const COLUMNS: [&str; 9] = [
    "external_id",
    "given_name",
    "family_name",
    "email",
    "department",
    "job_title",
    "site",
    "manager_external_id",
    "active",
];
const REQUIRED: [&str; 4] = ["external_id", "given_name", "family_name", "email"];

type Rows = Vec<(usize, Result<PersonDraft, RowProblem>)>;

pub fn parse(body: &[u8]) -> Result<Rows, ApiError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let header = reader
        .headers()
        .map_err(|_| header_problem("the first row must name the columns, in UTF-8".into()))?
        .clone();
    let mut index = [None; 9];
    for (position, name) in header.iter().enumerate() {
        let name = name.to_ascii_lowercase();
        match COLUMNS.iter().position(|c| *c == name) {
            Some(column) if index[column].is_none() => index[column] = Some(position),
            Some(_) => return Err(header_problem(format!("column `{name}` appears twice"))),
            None => {
                return Err(header_problem(format!(
                    "unknown column `{name}`; the columns are {}",
                    COLUMNS.join(", ")
                )));
            }
        }
    }
    for required in REQUIRED {
        if COLUMNS
            .iter()
            .position(|c| *c == required)
            .and_then(|i| index[i])
            .is_none()
        {
            return Err(header_problem(format!("column `{required}` is required")));
        }
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        let parsed = match record {
            Err(e) => Err(RowProblem {
                row,
                code: "malformed_row",
                detail: format!("this row cannot be read: {}", short(&e)),
                fields: Vec::new(),
            }),
            Ok(record) if record.len() != header.len() => Err(RowProblem {
                row,
                code: "malformed_row",
                detail: format!("{} fields, the header has {}", record.len(), header.len()),
                fields: Vec::new(),
            }),
            Ok(record) => {
                let field = |name: &str| {
                    COLUMNS
                        .iter()
                        .position(|c| *c == name)
                        .and_then(|i| index[i])
                        .and_then(|i| record.get(i))
                        .map(str::to_owned)
                };
                let optional = |name: &str| field(name).filter(|v| !v.is_empty());
                match parse_active(field("active").as_deref()) {
                    Ok(active) => Ok(PersonDraft {
                        external_id: field("external_id").unwrap_or_default(),
                        given_name: field("given_name").unwrap_or_default(),
                        family_name: field("family_name").unwrap_or_default(),
                        email: field("email").unwrap_or_default(),
                        department: optional("department"),
                        job_title: optional("job_title"),
                        site: optional("site"),
                        manager_external_id: optional("manager_external_id"),
                        active,
                    }),
                    Err(value) => {
                        let detail = format!("active must be true or false, got `{value}`");
                        Err(RowProblem {
                            row,
                            code: "invalid_row",
                            fields: vec![FieldError::new("/active", detail.clone())],
                            detail: format!("/active: {detail}"),
                        })
                    }
                }
            }
        };
        rows.push((row, parsed));
    }
    Ok(rows)
}

/// `true`/`false`, `1`/`0`, `yes`/`no`, `oui`/`non` (any case); empty: absent.
fn parse_active(value: Option<&str>) -> Result<Option<bool>, String> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => Ok(None),
        Some("true" | "1" | "yes" | "y" | "oui" | "o") => Ok(Some(true)),
        Some("false" | "0" | "no" | "n" | "non") => Ok(Some(false)),
        Some(other) => Err(other.to_owned()),
    }
}

fn short(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "it is not UTF-8".into(),
        _ => "malformed CSV".into(),
    }
}

fn header_problem(detail: String) -> ApiError {
    ApiError::validation(vec![FieldProblem {
        pointer: String::new(),
        detail: format!("CSV header: {detail}"),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drafts(csv: &str) -> Vec<(usize, Result<PersonDraft, RowProblem>)> {
        parse(csv.as_bytes()).unwrap()
    }

    #[test]
    fn quoted_fields_accents_and_any_column_order() {
        let rows = drafts(
            "\u{feff}email,external_id,given_name,family_name,active\n\
             zoe@chu.example,E1,Zoé,\"Lefèvre, \"\"dite\"\" Zozo\",oui\n\
             \"jean@chu.example\",E2,Jean-François,Müller,\n",
        );
        assert_eq!(rows.len(), 2);
        let first = rows[0].1.as_ref().unwrap();
        assert_eq!(first.family_name, "Lefèvre, \"dite\" Zozo");
        assert_eq!(first.given_name, "Zoé");
        assert_eq!(first.active, Some(true));
        let second = rows[1].1.as_ref().unwrap();
        assert_eq!(second.given_name, "Jean-François");
        assert_eq!(second.active, None);
    }

    #[test]
    fn a_bad_row_does_not_sink_the_batch() {
        let rows = drafts(
            "external_id,given_name,family_name,email,active\n\
             E1,A,B,a@b.fr,maybe\n\
             E2,A,B\n\
             E3,A,B,c@d.fr,0\n",
        );
        assert_eq!(rows[0].1.as_ref().unwrap_err().code, "invalid_row");
        assert_eq!(rows[1].1.as_ref().unwrap_err().code, "malformed_row");
        assert_eq!(rows[2].1.as_ref().unwrap().active, Some(false));
    }

    #[test]
    fn the_header_must_name_known_columns() {
        assert!(parse(b"external_id,given_name,family_name,email,colour\n").is_err());
        assert!(
            parse(b"external_id,given_name,email\n").is_err(),
            "family_name missing"
        );
        assert!(parse(b"external_id,external_id,given_name,family_name,email\n").is_err());
    }
}
