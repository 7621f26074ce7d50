//! R5: what each actor sees of a pair — DOMAIN.md's table "What each actor sees of a pair" as
//! one pure function. Every use case that touches a pair asks it; its unit test *is* the
//! table.

use crate::caller::{Caller, Role};

/// Who is asking, as the table's columns see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// Any person with no global role that matters here.
    Participant,
    Coordinator,
    Admin,
    Hris,
    Analyst,
}

impl Actor {
    /// The column of a caller: admin over coordinator over the service roles.
    pub fn of(caller: &Caller) -> Self {
        if caller.has(Role::Admin) {
            Actor::Admin
        } else if caller.has(Role::Coordinator) {
            Actor::Coordinator
        } else if caller.has(Role::Hris) {
            Actor::Hris
        } else if caller.has(Role::Analyst) {
            Actor::Analyst
        } else {
            Actor::Participant
        }
    }
}

/// What the caller is to the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relationship {
    /// One of the pair's two members, and the author of the resource (a note, feedback, a
    /// concern).
    Author,
    /// One of the pair's two members.
    Member,
    /// Not a member of the pair.
    Outsider,
}

/// The rows of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairResource {
    /// That the pair exists, its members, status and dates.
    Existence,
    /// Health flags (R3, R4, R7, R8, R1, R11).
    Flags,
    /// Objectives: count and status.
    ObjectiveCounts,
    /// Objectives: title, text, revisions.
    ObjectiveContent,
    /// Meetings: time, mode, status.
    MeetingTimes,
    /// Meetings: location, agenda, summary.
    MeetingContent,
    SharedNote,
    PrivateNote,
    FeedbackAnswers,
    Concern,
}

impl PairResource {
    pub const ALL: [PairResource; 10] = [
        PairResource::Existence,
        PairResource::Flags,
        PairResource::ObjectiveCounts,
        PairResource::ObjectiveContent,
        PairResource::MeetingTimes,
        PairResource::MeetingContent,
        PairResource::SharedNote,
        PairResource::PrivateNote,
        PairResource::FeedbackAnswers,
        PairResource::Concern,
    ];

    /// What a pair's members say to each other (R5): the members' only.
    pub fn is_content(self) -> bool {
        !matches!(
            self,
            PairResource::Existence
                | PairResource::Flags
                | PairResource::ObjectiveCounts
                | PairResource::MeetingTimes
        )
    }
}

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// `404`: for this caller the resource does not exist.
    NotFound,
    /// `403 confidential`: coordinators and admins know the pair, not what is said in it.
    Confidential,
    /// `403 forbidden`: the caller's role never sees pairs (hris; analysts see counts in
    /// reports only).
    Forbidden,
}

/// May `actor`, being `relationship` to it, read `resource` of a pair?
pub fn pair_access(actor: Actor, relationship: Relationship, resource: PairResource) -> Decision {
    use Decision::*;
    use PairResource::*;
    use Relationship::*;
    let runs_programs = matches!(actor, Actor::Coordinator | Actor::Admin);
    match (relationship, resource) {
        // The author reads everything of theirs.
        (Author, _) => Allow,
        // The other member: all but the author's private note and feedback answers, and a
        // concern (raised to the coordinators, not to them).
        (Member, PrivateNote | FeedbackAnswers | Concern) => NotFound,
        (Member, _) => Allow,
        // Outsiders. Coordinators and admins: metadata, flags, counts — and concerns, whose
        // purpose is to reach them (R12); content is confidential.
        (Outsider, Concern) if runs_programs => Allow,
        (Outsider, r) if runs_programs => {
            if r.is_content() {
                Confidential
            } else {
                Allow
            }
        }
        // hris and analysts never see a pair; its content does not exist for them.
        (Outsider, r) if matches!(actor, Actor::Hris | Actor::Analyst) => {
            if r.is_content() {
                NotFound
            } else {
                Forbidden
            }
        }
        // Another participant: nothing of it exists.
        (Outsider, _) => NotFound,
    }
}

/// What a member may write: objectives, meetings, shared and private notes, feedback,
/// concerns — the two members only (R6: with the same rights); for anyone else it is refused
/// as reading that content would be.
pub fn pair_write(actor: Actor, relationship: Relationship, resource: PairResource) -> Decision {
    match relationship {
        Relationship::Author | Relationship::Member => Decision::Allow,
        Relationship::Outsider => match pair_access(actor, relationship, resource) {
            // Coordinators read concerns but do not raise them for a pair.
            Decision::Allow => Decision::Confidential,
            other => other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::*;
    use PairResource::*;

    const A: Decision = Allow;
    const N: Decision = NotFound;
    const C: Decision = Confidential;
    const F: Decision = Forbidden;

    /// DOMAIN.md "What each actor sees of a pair", row by row:
    /// (resource, author, other member, other participant, coordinator, admin, hris, analyst).
    /// "counts only" for analysts is the reports' business: here, pair-level, it is `403`.
    #[test]
    fn the_table() {
        let table = [
            (Existence, A, A, N, A, A, F, F),
            (Flags, A, A, N, A, A, F, F),
            (ObjectiveCounts, A, A, N, A, A, F, F),
            (ObjectiveContent, A, A, N, C, C, N, N),
            (MeetingTimes, A, A, N, A, A, F, F),
            (MeetingContent, A, A, N, C, C, N, N),
            (SharedNote, A, A, N, C, C, N, N),
            (PrivateNote, A, N, N, C, C, N, N),
            (FeedbackAnswers, A, N, N, C, C, N, N),
            (Concern, A, N, N, A, A, N, N),
        ];
        assert_eq!(table.len(), PairResource::ALL.len());
        for (r, author, member, other, coordinator, admin, hris, analyst) in table {
            let outsider = |actor| pair_access(actor, Relationship::Outsider, r);
            assert_eq!(
                pair_access(Actor::Participant, Relationship::Author, r),
                author,
                "{r:?} author"
            );
            assert_eq!(
                pair_access(Actor::Participant, Relationship::Member, r),
                member,
                "{r:?} member"
            );
            assert_eq!(
                outsider(Actor::Participant),
                other,
                "{r:?} other participant"
            );
            assert_eq!(
                outsider(Actor::Coordinator),
                coordinator,
                "{r:?} coordinator"
            );
            assert_eq!(outsider(Actor::Admin), admin, "{r:?} admin");
            assert_eq!(outsider(Actor::Hris), hris, "{r:?} hris");
            assert_eq!(outsider(Actor::Analyst), analyst, "{r:?} analyst");
        }
    }

    #[test]
    fn a_coordinator_who_is_a_member_is_a_member() {
        for r in PairResource::ALL {
            assert_eq!(
                pair_access(Actor::Coordinator, Relationship::Author, r),
                Allow
            );
        }
        assert_eq!(
            pair_access(Actor::Coordinator, Relationship::Member, PrivateNote),
            NotFound
        );
    }

    #[test]
    fn only_members_write() {
        for r in PairResource::ALL {
            assert_eq!(
                pair_write(Actor::Participant, Relationship::Member, r),
                Allow
            );
            assert_eq!(
                pair_write(Actor::Participant, Relationship::Outsider, r),
                NotFound
            );
            assert_ne!(
                pair_write(Actor::Coordinator, Relationship::Outsider, r),
                Allow
            );
        }
        assert_eq!(
            pair_write(Actor::Coordinator, Relationship::Outsider, ObjectiveContent),
            Confidential
        );
        assert_eq!(
            pair_write(Actor::Hris, Relationship::Outsider, MeetingContent),
            NotFound
        );
    }

    #[test]
    fn the_column_of_a_caller() {
        use crate::caller::{ExternalId, RoleSet};
        let caller = |roles: &[Role]| {
            Caller::new(
                ExternalId::parse("E1").unwrap(),
                roles.iter().copied().collect::<RoleSet>(),
            )
        };
        assert_eq!(Actor::of(&caller(&[])), Actor::Participant);
        assert_eq!(
            Actor::of(&caller(&[Role::Hris, Role::Coordinator])),
            Actor::Coordinator
        );
        assert_eq!(
            Actor::of(&caller(&[Role::Admin, Role::Coordinator])),
            Actor::Admin
        );
        assert_eq!(Actor::of(&caller(&[Role::Analyst])), Actor::Analyst);
    }
}
