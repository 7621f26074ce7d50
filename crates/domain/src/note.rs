//! Notes of a pair's members (R5, R6): `private` (its author only) or `shared` (both
//! members). Nobody edits or deletes another person's note.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    confidentiality::{PairResource, Relationship},
    content::Content,
    error::{DomainError, FieldError},
};

pub const BODY_MAX_CHARS: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visibility {
    Private,
    Shared,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Shared => "shared",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Visibility::Private, Visibility::Shared]
            .into_iter()
            .find(|v| v.as_str() == raw)
    }

    /// The row of DOMAIN.md's table a note of this visibility falls under.
    pub fn resource(self) -> PairResource {
        match self {
            Visibility::Private => PairResource::PrivateNote,
            Visibility::Shared => PairResource::SharedNote,
        }
    }
}

/// `Debug` shows the body's length only ([`Content`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub id: Uuid,
    pub pair_id: Uuid,
    pub author_id: Uuid,
    pub visibility: Visibility,
    pub body: Content,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Note {
    /// What `person`, a member of the note's pair, is to it.
    pub fn relationship(&self, person: Uuid) -> Relationship {
        if self.author_id == person {
            Relationship::Author
        } else {
            Relationship::Member
        }
    }
}

/// A note's body: 1 to 20,000 characters, kept as written (only surrounding blank space
/// goes).
pub fn body(text: Option<String>) -> Result<String, DomainError> {
    let text = text.map(|t| t.trim().to_owned()).unwrap_or_default();
    let n = text.chars().count();
    if n == 0 {
        return Err(DomainError::Invalid(vec![FieldError::new(
            "/body",
            "a note has a body",
        )]));
    }
    if n > BODY_MAX_CHARS {
        return Err(DomainError::Invalid(vec![FieldError::new(
            "/body",
            format!("a note is at most {BODY_MAX_CHARS} characters, got {n}"),
        )]));
    }
    Ok(text)
}

/// R6: only the author changes or deletes a note.
pub fn check_author(note: &Note, by: Uuid) -> Result<(), DomainError> {
    if note.author_id == by {
        Ok(())
    } else {
        Err(DomainError::NotAuthor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(visibility: Visibility) -> Note {
        Note {
            id: Uuid::nil(),
            pair_id: Uuid::nil(),
            author_id: Uuid::from_u128(1),
            visibility,
            body: Content::new("ce que je n'ose pas dire"),
            revision: 1,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn bodies_are_bounded() {
        assert!(body(Some("  ".into())).is_err());
        assert!(body(None).is_err());
        assert!(body(Some("x".repeat(BODY_MAX_CHARS + 1))).is_err());
        assert_eq!(body(Some(" bonjour \n".into())).unwrap(), "bonjour");
    }

    #[test]
    fn only_the_author_writes_and_a_debug_print_hides_the_body() {
        let n = note(Visibility::Shared);
        assert!(check_author(&n, Uuid::from_u128(1)).is_ok());
        assert_eq!(
            check_author(&n, Uuid::from_u128(2)),
            Err(DomainError::NotAuthor)
        );
        assert_eq!(n.relationship(Uuid::from_u128(1)), Relationship::Author);
        assert_eq!(n.relationship(Uuid::from_u128(2)), Relationship::Member);
        assert!(!format!("{n:?}").contains("ose"));
    }
}
