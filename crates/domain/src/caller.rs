//! Who is calling: a person (by the HRIS `external_id` carried in the token) and the global
//! roles of DOMAIN.md "Actors". Being a mentor or a mentee is per pair, never a role.

use std::fmt;

use crate::error::FieldError;

/// The HRIS identifier of a person: 1–64 printable ASCII characters, no spaces.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExternalId(String);

impl ExternalId {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let ok_len = !raw.is_empty() && raw.len() <= Self::MAX_LEN;
        let ok_chars = raw.chars().all(|c| c.is_ascii_graphic());
        if ok_len && ok_chars {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(
                "/external_id",
                "an external id is 1 to 64 printable ASCII characters without spaces",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExternalId({})", self.0)
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A global role from the token's `roles` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Coordinator,
    Admin,
    Hris,
    Analyst,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Coordinator, Role::Admin, Role::Hris, Role::Analyst];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Admin => "admin",
            Role::Hris => "hris",
            Role::Analyst => "analyst",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    fn bit(self) -> u8 {
        match self {
            Role::Coordinator => 1,
            Role::Admin => 2,
            Role::Hris => 4,
            Role::Analyst => 8,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of roles; empty for a plain participant.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RoleSet(u8);

impl RoleSet {
    pub fn empty() -> Self {
        Self(0)
    }

    pub fn with(self, role: Role) -> Self {
        Self(self.0 | role.bit())
    }

    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }
}

impl FromIterator<Role> for RoleSet {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        iter.into_iter().fold(Self::empty(), Self::with)
    }
}

impl fmt::Debug for RoleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub subject: ExternalId,
    pub roles: RoleSet,
}

impl Caller {
    pub fn new(subject: ExternalId, roles: RoleSet) -> Self {
        Self { subject, roles }
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("superuser"), None);
        assert_eq!(Role::parse("Admin"), None);
    }

    #[test]
    fn role_set_holds_what_was_added() {
        let set: RoleSet = [Role::Admin, Role::Analyst].into_iter().collect();
        assert!(set.contains(Role::Admin));
        assert!(set.contains(Role::Analyst));
        assert!(!set.contains(Role::Coordinator));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Role::Admin, Role::Analyst]
        );
        assert!(RoleSet::empty().is_empty());
    }

    #[test]
    fn external_id_refuses_empty_long_and_spaced_values() {
        assert!(ExternalId::parse("E123").is_ok());
        assert!(ExternalId::parse("").is_err());
        assert!(ExternalId::parse("a b").is_err());
        assert!(ExternalId::parse("é").is_err());
        assert!(ExternalId::parse(&"x".repeat(65)).is_err());
        assert!(ExternalId::parse(&"x".repeat(64)).is_ok());
    }
}
