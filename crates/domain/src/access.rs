//! The access policy: which actor may call which operation (DOMAIN.md "Actors").
//!
//! Every handler declares the operation it performs and the API asks this function before
//! doing anything — there is no role check written by hand beside it. Pair-scoped operations
//! (member, other member, confidential content) extend this table in later issues.

use crate::caller::{Caller, Role};

/// An operation of the public API, as the access policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    CreateProgram,
    ListPrograms,
    ReadProgram,
    UpdateProgram,
}

impl Operation {
    pub const ALL: [Operation; 4] = [
        Operation::CreateProgram,
        Operation::ListPrograms,
        Operation::ReadProgram,
        Operation::UpdateProgram,
    ];
}

/// Why an operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The caller's roles do not allow this operation (`403 forbidden`).
    #[error("the caller's roles do not allow this operation")]
    Forbidden,
}

/// Decide whether `caller` may perform `operation`.
pub fn authorize(caller: &Caller, operation: Operation) -> Result<(), Denied> {
    let runs_programs = caller.has(Role::Coordinator) || caller.has(Role::Admin);
    let allowed = match operation {
        // Coordinators run programs; an admin may do everything a coordinator may.
        // Participants will read the programs they are enrolled in once enrollments exist.
        Operation::CreateProgram
        | Operation::ListPrograms
        | Operation::ReadProgram
        | Operation::UpdateProgram => runs_programs,
    };
    if allowed {
        Ok(())
    } else {
        Err(Denied::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::{ExternalId, RoleSet};

    fn caller(roles: &[Role]) -> Caller {
        Caller::new(
            ExternalId::parse("E1").unwrap(),
            roles.iter().copied().collect::<RoleSet>(),
        )
    }

    /// The table of DOMAIN.md "Actors" for program operations: only coordinators and admins.
    #[test]
    fn program_operations_belong_to_coordinators_and_admins() {
        for op in Operation::ALL {
            assert_eq!(
                authorize(&caller(&[Role::Coordinator]), op),
                Ok(()),
                "{op:?}"
            );
            assert_eq!(authorize(&caller(&[Role::Admin]), op), Ok(()), "{op:?}");
            for refused in [&[][..], &[Role::Hris], &[Role::Analyst]] {
                assert_eq!(
                    authorize(&caller(refused), op),
                    Err(Denied::Forbidden),
                    "{op:?}"
                );
            }
        }
    }

    #[test]
    fn an_extra_role_does_not_take_a_right_away() {
        let both = caller(&[Role::Hris, Role::Coordinator]);
        assert_eq!(authorize(&both, Operation::CreateProgram), Ok(()));
    }
}
