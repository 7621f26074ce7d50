//! The access policy: which actor may call which operation, and over what (DOMAIN.md
//! "Actors").
//!
//! Every handler declares the operation it performs and the API asks this function before
//! doing anything — there is no role check written by hand beside it. The answer is a
//! [`Scope`]: everything (coordinators, admins, the HRIS connector on people), or only what
//! the caller takes part in (a participant); the use case then limits its queries to it.

use crate::caller::{Caller, Role};

/// Calls `$m!` with every operation of the public API, in order, each with its doc comments:
/// the one list that [`Operation`], [`Operation::ALL`] and the API's marker types (`op::…`)
/// are made from.
#[macro_export]
macro_rules! for_each_operation {
    ($m:ident) => {
        $m! {
            CreateProgram,
            ListPrograms,
            ReadProgram,
            UpdateProgram,
            UpsertPerson,
            ImportPeople,
            ListPeople,
            ReadPerson,
            AddCharterVersion,
            ReadCurrentCharter,
            Enroll,
            ListEnrollments,
            ReadEnrollment,
            AcceptCharter,
            SuggestMentors,
            /// Issue 17: compute, list and read a program's matching runs.
            RunMatching,
            /// Issue 17: propose a run's pairs.
            ApplyMatchingRun,
            ProposePair,
            ListPairs,
            ReadPair,
            AcceptPair,
            EndPair,
            ListObjectives,
            ProposeObjective,
            ReadObjective,
            UpdateObjective,
            AgreeObjective,
            ListObjectiveRevisions,
            ListMeetings,
            ScheduleMeeting,
            ReadMeeting,
            UpdateMeeting,
            CancelMeeting,
            CloseMeeting,
            ManageCalendarFeed,
            ListNotes,
            WriteNote,
            ReadNote,
            UpdateNote,
            DeleteNote,
            RaiseConcern,
            ListConcerns,
            /// R12 follow-up: one concern, read or followed up by the coordinators.
            ReadConcern,
            UpdateConcern,
            /// A member's own concerns in a pair, with their status and response.
            ListOwnConcerns,
            /// A change of an enrollment's terms: the coordinators, or the enrolled person (capacity
            /// is the coordinators' only, judged by the use case).
            UpdateEnrollment,
            /// Leaving a program: the coordinators, or the enrolled person.
            WithdrawEnrollment,
            ListAuditEvents,
            GiveFeedback,
            ListFeedback,
            ReadPairHealth,
            ReadReport,
            ReadMe,
            ExportMe,
            ManageWebhooks,
            /// SCIM 2.0 provisioning of people (`/scim/v2`): the HRIS connector only.
            ProvisionUsers,
            /// R14 erasure of a person (GDPR art. 17): the admins only.
            ErasePerson,
            /// Issue 17: a mentee asks a mentor (that mentee only).
            RequestMentor,
            /// Issue 17: the requests an enrollment sent or received (that person; coordinators
            /// without the messages).
            ListRequests,
            /// Issue 17: one request (its two people; coordinators without the message).
            ReadRequest,
            /// Issue 17: the mentor accepts or declines.
            AnswerRequest,
            /// Issue 17: the mentee withdraws.
            WithdrawRequest,
        }
    };
}

macro_rules! define_operations {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// An operation of the public API, as the access policy sees it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation {
            $($(#[$doc])* $name,)*
        }

        impl Operation {
            pub const ALL: [Operation; [$(stringify!($name)),*].len()] = [$(Operation::$name),*];
        }
    };
}

for_each_operation!(define_operations);

impl Operation {
    /// The operation's name in the audit log: `read_objective`, `propose_pair`, …
    pub fn name(self) -> String {
        let mut out = String::new();
        for (i, c) in format!("{self:?}").chars().enumerate() {
            if c.is_ascii_uppercase() {
                if i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }

    /// Reads or writes a pair's content (R5): every call is audited. A pair's own answer
    /// carries its end-reason words to its members (R9), so reading or ending pairs counts.
    pub fn touches_content(self) -> bool {
        use Operation::*;
        matches!(
            self,
            ListPairs
                | ReadPair
                | EndPair
                | ReadMe
                | ListObjectives
                | ProposeObjective
                | ReadObjective
                | UpdateObjective
                | AgreeObjective
                | ListObjectiveRevisions
                | ListMeetings
                | ScheduleMeeting
                | ReadMeeting
                | UpdateMeeting
                | CancelMeeting
                | CloseMeeting
                | ListNotes
                | WriteNote
                | ReadNote
                | UpdateNote
                | DeleteNote
                | RaiseConcern
                | ListConcerns
                | ReadConcern
                | UpdateConcern
                | ListOwnConcerns
                | GiveFeedback
                | ListFeedback
                | ExportMe
                | RequestMentor
                | ListRequests
                | ReadRequest
                | AnswerRequest
                | WithdrawRequest
        )
    }
}

/// What an allowed caller may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every resource of the kind.
    Everything,
    /// Only the programs and enrollments the caller is enrolled in; anything else is 404.
    OwnEnrollments,
}

/// Why an operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The caller's roles do not allow this operation (`403 forbidden`).
    #[error("the caller's roles do not allow this operation")]
    Forbidden,
}

/// Decide whether `caller` may perform `operation`, and over what.
pub fn authorize(caller: &Caller, operation: Operation) -> Result<Scope, Denied> {
    use Operation::*;
    // An admin may do everything a coordinator may.
    let runs_programs = caller.has(Role::Coordinator) || caller.has(Role::Admin);
    // A plain person: no global role. Service roles (hris, analyst) are not participants.
    let participant = caller.roles.is_empty() || runs_programs;
    let own = if participant {
        Ok(Scope::OwnEnrollments)
    } else {
        Err(Denied::Forbidden)
    };
    let all_if = |allowed: bool| {
        if allowed {
            Ok(Scope::Everything)
        } else {
            Err(Denied::Forbidden)
        }
    };
    match operation {
        CreateProgram | UpdateProgram | AddCharterVersion | Enroll | ListPeople | ReadPerson
        | ProposePair | RunMatching | ApplyMatchingRun => all_if(runs_programs),
        // The HRIS connector creates, updates and deactivates people; nothing else.
        UpsertPerson | ImportPeople => all_if(runs_programs || caller.has(Role::Hris)),
        // SCIM is the identity provider's protocol: its connector holds the `hris` role.
        ProvisionUsers => all_if(caller.has(Role::Hris)),
        // R14: destroying a person's words is the admins' decision, not a coordinator's.
        ErasePerson => all_if(caller.has(Role::Admin)),
        // Participants read the programs they are enrolled in, and their own enrollment.
        // ...and a mentee the suggestions for their own enrollment; a member their own pairs.
        ListPrograms | ReadProgram | ReadCurrentCharter | ListEnrollments | ReadEnrollment
        | UpdateEnrollment | WithdrawEnrollment | SuggestMentors | ListPairs | ReadPair
        | ListRequests | ReadRequest => {
            if runs_programs {
                Ok(Scope::Everything)
            } else {
                own
            }
        }
        // The enrolled person or the member themself, whatever their roles: nobody accepts or
        // ends for another (R6: both members have the same rights).
        AcceptCharter | AcceptPair | EndPair => own,
        // Issue 17: the mentee asks and withdraws, the mentor answers — nobody for another.
        RequestMentor | AnswerRequest | WithdrawRequest => own,
        // A pair's working life and its content (R5, R6): the two members only, whatever
        // their roles. Nobody is refused by role here: the use case answers everyone who is
        // not a member as [`crate::confidentiality::pair_access`] says — `confidential` to
        // coordinators and admins, `not_found` to anyone else (hris and analysts included:
        // for them the content does not exist).
        ListObjectives
        | ProposeObjective
        | ReadObjective
        | UpdateObjective
        | AgreeObjective
        | ListObjectiveRevisions
        | ListMeetings
        | ScheduleMeeting
        | ReadMeeting
        | UpdateMeeting
        | CancelMeeting
        | CloseMeeting
        | ListNotes
        | WriteNote
        | ReadNote
        | UpdateNote
        | DeleteNote
        | RaiseConcern
        | ListOwnConcerns
        | GiveFeedback
        | ListFeedback => Ok(Scope::OwnEnrollments),
        // Pair-level health is the coordinators'; reports also the analysts' dashboards (R13).
        ReadPairHealth => all_if(runs_programs),
        ReadReport => all_if(runs_programs || caller.has(Role::Analyst)),
        // Anyone reads and exports what the service holds about themself (GDPR access).
        ReadMe | ExportMe => Ok(Scope::OwnEnrollments),
        // Integrations are the admins'.
        ManageWebhooks => all_if(caller.has(Role::Admin)),
        // R12: concerns are raised to the coordinators.
        ListConcerns | ReadConcern | UpdateConcern => all_if(runs_programs),
        // The audit log is the admins'.
        ListAuditEvents => all_if(caller.has(Role::Admin)),
        // A calendar feed lists the caller's own meetings.
        ManageCalendarFeed => own,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::{ExternalId, RoleSet};
    use Operation::*;
    use Scope::*;

    fn caller(roles: &[Role]) -> Caller {
        Caller::new(
            ExternalId::parse("E1").unwrap(),
            roles.iter().copied().collect::<RoleSet>(),
        )
    }

    const F: Result<Scope, Denied> = Err(Denied::Forbidden);
    const ALL: Result<Scope, Denied> = Ok(Everything);
    const OWN: Result<Scope, Denied> = Ok(OwnEnrollments);

    /// DOMAIN.md "Actors", one row per operation:
    /// (operation, participant, coordinator, admin, hris, analyst).
    #[test]
    fn the_actor_table() {
        let table = [
            (CreateProgram, F, ALL, ALL, F, F),
            (ListPrograms, OWN, ALL, ALL, F, F),
            (ReadProgram, OWN, ALL, ALL, F, F),
            (UpdateProgram, F, ALL, ALL, F, F),
            (UpsertPerson, F, ALL, ALL, ALL, F),
            (ImportPeople, F, ALL, ALL, ALL, F),
            (ListPeople, F, ALL, ALL, F, F),
            (ReadPerson, F, ALL, ALL, F, F),
            (AddCharterVersion, F, ALL, ALL, F, F),
            (ReadCurrentCharter, OWN, ALL, ALL, F, F),
            (Enroll, F, ALL, ALL, F, F),
            (ListEnrollments, OWN, ALL, ALL, F, F),
            (ReadEnrollment, OWN, ALL, ALL, F, F),
            (AcceptCharter, OWN, OWN, OWN, F, F),
            (SuggestMentors, OWN, ALL, ALL, F, F),
            (RunMatching, F, ALL, ALL, F, F),
            (ApplyMatchingRun, F, ALL, ALL, F, F),
            (ProposePair, F, ALL, ALL, F, F),
            (ListPairs, OWN, ALL, ALL, F, F),
            (ReadPair, OWN, ALL, ALL, F, F),
            (AcceptPair, OWN, OWN, OWN, F, F),
            (EndPair, OWN, OWN, OWN, F, F),
            (ListObjectives, OWN, OWN, OWN, OWN, OWN),
            (ProposeObjective, OWN, OWN, OWN, OWN, OWN),
            (ReadObjective, OWN, OWN, OWN, OWN, OWN),
            (UpdateObjective, OWN, OWN, OWN, OWN, OWN),
            (AgreeObjective, OWN, OWN, OWN, OWN, OWN),
            (ListObjectiveRevisions, OWN, OWN, OWN, OWN, OWN),
            (ListMeetings, OWN, OWN, OWN, OWN, OWN),
            (ScheduleMeeting, OWN, OWN, OWN, OWN, OWN),
            (ReadMeeting, OWN, OWN, OWN, OWN, OWN),
            (UpdateMeeting, OWN, OWN, OWN, OWN, OWN),
            (CancelMeeting, OWN, OWN, OWN, OWN, OWN),
            (CloseMeeting, OWN, OWN, OWN, OWN, OWN),
            (ManageCalendarFeed, OWN, OWN, OWN, F, F),
            (ListNotes, OWN, OWN, OWN, OWN, OWN),
            (WriteNote, OWN, OWN, OWN, OWN, OWN),
            (ReadNote, OWN, OWN, OWN, OWN, OWN),
            (UpdateNote, OWN, OWN, OWN, OWN, OWN),
            (DeleteNote, OWN, OWN, OWN, OWN, OWN),
            (RaiseConcern, OWN, OWN, OWN, OWN, OWN),
            (ListConcerns, F, ALL, ALL, F, F),
            (ReadConcern, F, ALL, ALL, F, F),
            (UpdateConcern, F, ALL, ALL, F, F),
            (ListOwnConcerns, OWN, OWN, OWN, OWN, OWN),
            (UpdateEnrollment, OWN, ALL, ALL, F, F),
            (WithdrawEnrollment, OWN, ALL, ALL, F, F),
            (ListAuditEvents, F, F, ALL, F, F),
            (GiveFeedback, OWN, OWN, OWN, OWN, OWN),
            (ListFeedback, OWN, OWN, OWN, OWN, OWN),
            (ReadPairHealth, F, ALL, ALL, F, F),
            (ReadReport, F, ALL, ALL, F, ALL),
            (ReadMe, OWN, OWN, OWN, OWN, OWN),
            (ExportMe, OWN, OWN, OWN, OWN, OWN),
            (ManageWebhooks, F, F, ALL, F, F),
            (ProvisionUsers, F, F, F, ALL, F),
            (ErasePerson, F, F, ALL, F, F),
            (RequestMentor, OWN, OWN, OWN, F, F),
            (ListRequests, OWN, ALL, ALL, F, F),
            (ReadRequest, OWN, ALL, ALL, F, F),
            (AnswerRequest, OWN, OWN, OWN, F, F),
            (WithdrawRequest, OWN, OWN, OWN, F, F),
        ];
        assert_eq!(
            table.len(),
            Operation::ALL.len(),
            "every operation has a row"
        );
        for (op, participant, coordinator, admin, hris, analyst) in table {
            assert_eq!(
                authorize(&caller(&[]), op),
                participant,
                "participant {op:?}"
            );
            assert_eq!(
                authorize(&caller(&[Role::Coordinator]), op),
                coordinator,
                "coordinator {op:?}"
            );
            assert_eq!(
                authorize(&caller(&[Role::Admin]), op),
                admin,
                "admin {op:?}"
            );
            assert_eq!(authorize(&caller(&[Role::Hris]), op), hris, "hris {op:?}");
            assert_eq!(
                authorize(&caller(&[Role::Analyst]), op),
                analyst,
                "analyst {op:?}"
            );
        }
    }

    #[test]
    fn operations_have_audit_names() {
        assert_eq!(ReadObjective.name(), "read_objective");
        assert_eq!(ListAuditEvents.name(), "list_audit_events");
        assert!(ReadNote.touches_content());
        assert!(!ProposePair.touches_content());
    }

    #[test]
    fn an_extra_role_does_not_take_a_right_away() {
        let both = caller(&[Role::Hris, Role::Coordinator]);
        assert_eq!(authorize(&both, CreateProgram), ALL);
        assert_eq!(authorize(&both, UpsertPerson), ALL);
    }
}
