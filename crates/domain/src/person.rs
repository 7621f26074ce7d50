//! People: employees known to the HRIS (DOMAIN.md "person"). Fed by a connector, one at a
//! time or in batches; a manager may be named before they are imported.

use std::collections::HashMap;

use crate::{caller::ExternalId, error::FieldError};

pub mod bounds {
    pub const NAME_MAX: usize = 100;
    pub const EMAIL_MAX: usize = 254;
    pub const LABEL_MAX: usize = 100;
}

/// A person's HRIS record, every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRecord {
    pub external_id: ExternalId,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub site: Option<String>,
    /// May name a person not imported yet.
    pub manager_external_id: Option<ExternalId>,
    pub active: bool,
}

/// A person's fields as they arrive (from JSON or a CSV row).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonDraft {
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

fn optional_label(
    value: Option<String>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if value
        .as_ref()
        .is_some_and(|v| v.chars().count() > bounds::LABEL_MAX)
    {
        errors.push(FieldError::new(
            format!("/{field}"),
            format!("{field} is at most {} characters", bounds::LABEL_MAX),
        ));
    }
    value
}

fn name(value: String, field: &str, errors: &mut Vec<FieldError>) -> String {
    let value = value.trim().to_owned();
    if value.is_empty() || value.chars().count() > bounds::NAME_MAX {
        errors.push(FieldError::new(
            format!("/{field}"),
            format!("{field} must be 1 to {} characters", bounds::NAME_MAX),
        ));
    }
    value
}

/// A plausible address: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.chars().any(char::is_whitespace)
        && value.len() <= bounds::EMAIL_MAX
}

impl PersonDraft {
    pub fn validate(self) -> Result<PersonRecord, Vec<FieldError>> {
        let mut errors = Vec::new();
        let external_id = ExternalId::parse(self.external_id.trim()).map_err(|e| errors.push(e));
        let given_name = name(self.given_name, "given_name", &mut errors);
        let family_name = name(self.family_name, "family_name", &mut errors);
        let email = self.email.trim().to_lowercase();
        if !is_email(&email) {
            errors.push(FieldError::new(
                "/email",
                "email must be an address like a.b@example.org",
            ));
        }
        let department = optional_label(self.department, "department", &mut errors);
        let job_title = optional_label(self.job_title, "job_title", &mut errors);
        let site = optional_label(self.site, "site", &mut errors);
        let manager_external_id = match self.manager_external_id.map(|m| m.trim().to_owned()) {
            None => None,
            Some(m) if m.is_empty() => None,
            Some(m) => match ExternalId::parse(&m) {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push(FieldError::new(
                        "/manager_external_id",
                        "manager_external_id must be 1 to 64 printable ASCII characters",
                    ));
                    None
                }
            },
        };
        if let (Ok(me), Some(manager)) = (&external_id, &manager_external_id)
            && me == manager
        {
            errors.push(FieldError::new(
                "/manager_external_id",
                "a person cannot be their own manager",
            ));
        }
        match external_id {
            Ok(external_id) if errors.is_empty() => Ok(PersonRecord {
                external_id,
                given_name,
                family_name,
                email,
                department,
                job_title,
                site,
                manager_external_id,
                active: self.active.unwrap_or(true),
            }),
            _ => Err(errors),
        }
    }
}

/// The manager links of the organization, to check that new links close no cycle.
#[derive(Debug, Default, Clone)]
pub struct ManagerLinks {
    manager_of: HashMap<ExternalId, ExternalId>,
}

impl ManagerLinks {
    pub fn new(links: impl IntoIterator<Item = (ExternalId, ExternalId)>) -> Self {
        Self {
            manager_of: links.into_iter().collect(),
        }
    }

    /// Would making `manager` the manager of `person` close a cycle (the person would end
    /// up in their own management chain)?
    pub fn closes_cycle(&self, person: &ExternalId, manager: &ExternalId) -> bool {
        let mut current = manager;
        // A chain longer than the number of links is itself a cycle.
        for _ in 0..=self.manager_of.len() {
            if current == person {
                return true;
            }
            match self.manager_of.get(current) {
                Some(next) => current = next,
                None => return false,
            }
        }
        true
    }

    /// Record a link (or its removal) once it is accepted.
    pub fn set(&mut self, person: ExternalId, manager: Option<ExternalId>) {
        match manager {
            Some(m) => self.manager_of.insert(person, m),
            None => self.manager_of.remove(&person),
        };
    }
}

/// Filters of `GET /people`.
#[derive(Debug, Clone, Default)]
pub struct PersonFilter {
    pub department: Option<String>,
    pub site: Option<String>,
    pub active: Option<bool>,
    /// Case-insensitive substring of a name, the email or the external id.
    pub q: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> PersonDraft {
        PersonDraft {
            external_id: "E100".into(),
            given_name: " Zoé ".into(),
            family_name: "Lefèvre".into(),
            email: "Zoe.Lefevre@CHU.example".into(),
            department: Some("Cardiologie".into()),
            job_title: Some(" ".into()),
            site: None,
            manager_external_id: Some("E001".into()),
            active: None,
        }
    }

    fn id(s: &str) -> ExternalId {
        ExternalId::parse(s).unwrap()
    }

    #[test]
    fn a_good_record_is_normalised() {
        let p = draft().validate().unwrap();
        assert_eq!(p.given_name, "Zoé");
        assert_eq!(p.email, "zoe.lefevre@chu.example");
        assert_eq!(p.job_title, None, "blank labels are absent");
        assert!(p.active, "people are active unless told otherwise");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let d = PersonDraft {
            external_id: "E 1".into(),
            given_name: "".into(),
            email: "nope".into(),
            ..draft()
        };
        let pointers: Vec<String> = d
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.pointer)
            .collect();
        assert_eq!(pointers, ["/external_id", "/given_name", "/email"]);
    }

    #[test]
    fn nobody_manages_themself() {
        let d = PersonDraft {
            manager_external_id: Some("E100".into()),
            ..draft()
        };
        assert_eq!(d.validate().unwrap_err()[0].pointer, "/manager_external_id");
    }

    #[test]
    fn emails_are_checked_for_shape() {
        for ok in ["a@b.fr", "jean-luc.o'neil+x@hopital.example.org"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.fr", "a@.fr", "a@b.", "a b@c.fr", "a@b@c.fr",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn a_link_back_into_the_chain_closes_a_cycle() {
        // E3 → E2 → E1 (E1 at the top).
        let links = ManagerLinks::new([(id("E3"), id("E2")), (id("E2"), id("E1"))]);
        assert!(links.closes_cycle(&id("E1"), &id("E3")), "E1 managed by E3");
        assert!(links.closes_cycle(&id("E1"), &id("E2")));
        assert!(
            !links.closes_cycle(&id("E4"), &id("E3")),
            "a new report is fine"
        );
        assert!(
            !links.closes_cycle(&id("E3"), &id("E1")),
            "a skip-level move is fine"
        );
        assert!(
            !links.closes_cycle(&id("E1"), &id("E9")),
            "an unknown manager is fine"
        );
    }

    #[test]
    fn set_updates_the_chain() {
        let mut links = ManagerLinks::default();
        links.set(id("E2"), Some(id("E1")));
        assert!(links.closes_cycle(&id("E1"), &id("E2")));
        links.set(id("E2"), None);
        assert!(!links.closes_cycle(&id("E1"), &id("E2")));
    }
}

/// A person as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: uuid::Uuid,
    pub record: PersonRecord,
    pub revision: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}
