//! Matching and the pair lifecycle (R1, R3, R9, R10, R11): suggestions, proposal, each
//! member's acceptance, the end, and what the HRIS changes do to open pairs.

use mentorat_domain::ErrorCode;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use mentorat_domain::{
    Caller, DomainError, PageLimit, Scope,
    enrollment::{CharterStatus, Enrollment, EnrollmentRole},
    health::{self, PairFacts, PairFlag},
    objective::ObjectiveStatus,
    pair::{
        self, AcceptanceFacts, AcceptanceOutcome, Candidate, EndReason, Pair, PairStatus,
        ProposalFacts, Score, Seeker, Side,
    },
    person::Person,
    program::ProgramStatus,
};
use mentorat_persistence::{
    Db, Page, StoreError, TransactionTrait, charters, enrollments,
    meetings::MeetingStats,
    notifications, outbox,
    pairs::{self, MemberName, NewPair, PairFilter, PairRow, PairsOf, ReadFacts},
    people, programs,
};
use uuid::Uuid;

use crate::error::ServiceError;

fn store(e: impl Into<StoreError>) -> ServiceError {
    ServiceError::from(e.into())
}

/// The person behind the caller, if the HRIS knows them.
async fn caller_person(db: &Db, caller: &Caller) -> Result<Option<Person>, ServiceError> {
    Ok(people::find_by_external_id(db.conn(), &caller.subject).await?)
}

/// How the caller sees a pair — decided here, once, for every pair-scoped read: as one of
/// its two members (their own words of R9 are theirs to read), or as a coordinator or admin
/// who sees its metadata only. For anyone else the pair does not exist (`NotFound`).
#[derive(Debug, Clone)]
pub enum PairView {
    Member(Pair),
    Metadata(Pair),
}

impl PairView {
    pub fn is_member(&self) -> bool {
        matches!(self, PairView::Member(_))
    }

    pub fn into_pair(self) -> Pair {
        match self {
            PairView::Member(p) | PairView::Metadata(p) => p,
        }
    }
}

/// The gate of a pair: one statement finds the pair and whether the caller is a member. A
/// coordinator who is also a member of this pair sees it as a member.
pub async fn visible_pair(
    db: &Db,
    caller: &Caller,
    scope: Scope,
    id: Uuid,
) -> Result<PairView, ServiceError> {
    let (pair, member) = pairs::find_seen_by(db.conn(), id, caller.subject.as_str())
        .await?
        .ok_or(ServiceError::NotFound)?;
    gate(pair, member, scope)
}

/// The rule of the gate, once for [`visible_pair`] and [`read`]: a member sees the pair as a
/// member; a caller who sees everything (coordinators, admins), its metadata; anyone else,
/// nothing (`NotFound`).
fn gate(pair: Pair, member: bool, scope: Scope) -> Result<PairView, ServiceError> {
    match (member, scope) {
        (true, _) => Ok(PairView::Member(pair)),
        (false, Scope::Everything) => Ok(PairView::Metadata(pair)),
        (false, _) => Err(ServiceError::NotFound),
    }
}

/// The caller's side of the pair; `NotFound` when they are not a member.
async fn member_side(
    db: &Db,
    caller: &Caller,
    pair: &Pair,
) -> Result<(Side, Person), ServiceError> {
    let person = caller_person(db, caller)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let side = pair.side_of(person.id).ok_or(ServiceError::NotFound)?;
    Ok((side, person))
}

/// Propose a pair (coordinators). Refusals: R1 `hierarchical_pair`, R10 `mentor_at_capacity`,
/// `pair_exists`, `role_mismatch`.
pub async fn propose(
    db: &Db,
    caller: &Caller,
    program_id: Uuid,
    mentor_enrollment_id: Uuid,
    mentee_enrollment_id: Uuid,
) -> Result<Pair, ServiceError> {
    let txn = db.conn().begin().await.map_err(store)?;
    // Lock order: the program (shared: a new charter version or cadence waits for the pair
    // to be in, so it is copied onto it), the two enrollments (in id order), then the pair
    // rows. R10 and "one open pair per couple" are counted under these locks, so concurrent
    // proposals of one mentor take turns; the partial unique index of open couples backs
    // the second rule.
    programs::lock_shared(&txn, program_id).await?;
    enrollments::lock(&txn, &[mentor_enrollment_id, mentee_enrollment_id]).await?;
    let created = propose_locked(
        &txn,
        caller,
        program_id,
        mentor_enrollment_id,
        mentee_enrollment_id,
    )
    .await?;
    txn.commit().await.map_err(store)?;
    tracing::info!(pair_id = %created.id, program_id = %program_id, by = %caller.subject, "pair proposed");
    Ok(created)
}

/// [`propose`]'s rules and writes, inside a transaction that holds the program's shared lock
/// and both enrollments' locks (a matching run's apply proposes many pairs under one set of
/// locks). Every rule is checked again here.
pub(crate) async fn propose_locked(
    txn: &mentorat_persistence::DatabaseTransaction,
    _caller: &Caller,
    program_id: Uuid,
    mentor_enrollment_id: Uuid,
    mentee_enrollment_id: Uuid,
) -> Result<Pair, ServiceError> {
    let program = programs::find(txn, program_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if program.status == ProgramStatus::Closed {
        return Err(DomainError::ProgramClosed.into());
    }
    let unknown = |which: &str, id: Uuid| {
        ServiceError::Unprocessable(
            ErrorCode::UnknownEnrollment,
            format!("{which} {id} is not an enrollment of this program"),
        )
    };
    let mentor = enrollments::find(txn, program_id, mentor_enrollment_id)
        .await?
        .ok_or_else(|| unknown("mentor_enrollment_id", mentor_enrollment_id))?;
    let mentee = enrollments::find(txn, program_id, mentee_enrollment_id)
        .await?
        .ok_or_else(|| unknown("mentee_enrollment_id", mentee_enrollment_id))?;
    // A withdrawn enrollment takes no pairs (read under its lock: a withdrawal that came
    // first is seen).
    if mentor.withdrawn_at.is_some() || mentee.withdrawn_at.is_some() {
        return Err(DomainError::EnrollmentWithdrawn.into());
    }
    let (facts, mentor_person, mentee_person) =
        proposal_facts(txn, &program, &mentor, &mentee).await?;
    pair::check_proposal(facts)?;
    let now = Utc::now();
    let created = pairs::insert(
        txn,
        NewPair {
            id: Uuid::now_v7(),
            program_id,
            mentor_enrollment_id: mentor.id,
            mentee_enrollment_id: mentee.id,
            mentor_person_id: mentor_person.id,
            mentee_person_id: mentee_person.id,
        },
        now,
    )
    .await
    .map_err(|e| match e {
        StoreError::Duplicate => ServiceError::from(DomainError::PairExists),
        other => other.into(),
    })?;
    // The pair's report group, frozen with it.
    mentorat_persistence::tallies::stamp_pair(txn, created.id).await?;
    // What its answer shows of its members' charter standing and its program's cadence.
    mentorat_persistence::tallies::refresh_standing(
        txn,
        mentorat_persistence::tallies::StandingOf::Pair(created.id),
    )
    .await?;
    mentorat_persistence::tallies::record_pair_status(txn, &[created.id]).await?;
    notifications::notify(
        txn,
        &[mentor_person.id, mentee_person.id],
        "pair.proposed",
        Some(program_id),
        Some(created.id),
        now,
    )
    .await?;
    outbox::record(
        txn,
        "pair.proposed",
        serde_json::json!({
            "pair_id": created.id,
            "program_id": program_id,
            "mentor_enrollment_id": mentor.id,
            "mentee_enrollment_id": mentee.id,
        }),
        now,
    )
    .await?;
    Ok(created)
}

/// The facts of a proposal of these two enrollments (R1 at any depth, R10, active people,
/// roles, an open pair of the two), read inside the caller's transaction under its locks —
/// for a proposal and for a mentee's request alike (issue 17), so the rules are one.
pub(crate) async fn proposal_facts(
    txn: &mentorat_persistence::DatabaseTransaction,
    program: &mentorat_domain::program::Program,
    mentor: &Enrollment,
    mentee: &Enrollment,
) -> Result<(ProposalFacts, Person, Person), ServiceError> {
    let found = people::find_many(txn, &[mentor.person_id, mentee.person_id]).await?;
    let person = |id: Uuid| found.iter().find(|p| p.id == id).cloned();
    let (Some(mentor_person), Some(mentee_person)) =
        (person(mentor.person_id), person(mentee.person_id))
    else {
        return Err(ServiceError::Store(StoreError::Corrupt(
            "an enrollment's person is missing".into(),
        )));
    };
    let facts = ProposalFacts {
        mentor_is_mentor: mentor.terms.role == EnrollmentRole::Mentor,
        mentee_is_mentee: mentee.terms.role == EnrollmentRole::Mentee,
        hierarchical: pairs::hierarchical(
            txn,
            mentor_person.record.external_id.as_str(),
            mentee_person.record.external_id.as_str(),
        )
        .await?,
        pair_exists: pairs::open_pair_exists(txn, mentor.id, mentee.id).await?,
        mentor_load: pairs::mentor_load(txn, mentor.id).await?,
        mentor_capacity: mentor
            .terms
            .capacity
            .unwrap_or(program.settings.default_mentor_capacity),
        both_active: mentor_person.record.active && mentee_person.record.active,
    };
    Ok((facts, mentor_person, mentee_person))
}

/// A member accepts; the pair is active once both have and both hold the charter (R3).
/// The decision is taken under the pair's row lock on the pair as it is then: two members
/// accepting at once go one after the other, and the second activates the pair.
pub async fn accept(db: &Db, caller: &Caller, id: Uuid) -> Result<Pair, ServiceError> {
    let seen = pairs::find(db.conn(), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    // The members of a pair never change: who the caller is in it can be read before the lock.
    let (side, _) = member_side(db, caller, &seen).await?;
    let txn = db.conn().begin().await.map_err(store)?;
    pairs::lock(&txn, id).await?;
    let pair = pairs::find(&txn, id).await?.ok_or(ServiceError::NotFound)?;
    if pair.status == PairStatus::Proposed {
        // The world may have changed since the proposal: R11 (a member left) and R1 (an HRIS
        // change put one in the other's chain) are checked again before a pair goes live.
        let both = people::find_many(&txn, &[pair.mentor_person_id, pair.mentee_person_id]).await?;
        if both.len() < 2 || both.iter().any(|p| !p.record.active) {
            return Err(DomainError::PersonInactive.into());
        }
        if pairs::hierarchical(
            &txn,
            both[0].record.external_id.as_str(),
            both[1].record.external_id.as_str(),
        )
        .await?
        {
            return Err(DomainError::HierarchicalPair.into());
        }
    }
    let (mine, theirs) = match side {
        Side::Mentor => (pair.mentor_accepted_at, pair.mentee_accepted_at),
        Side::Mentee => (pair.mentee_accepted_at, pair.mentor_accepted_at),
    };
    let current = charters::current_version(&txn, pair.program_id).await?;
    let both = enrollments::find_many(
        &txn,
        &[pair.mentor_enrollment_id, pair.mentee_enrollment_id],
    )
    .await?;
    let holds = |enrollment_id: Uuid| {
        both.iter()
            .find(|e| e.id == enrollment_id)
            .is_some_and(|e| {
                CharterStatus::of(e.accepted_charter_version, current) != CharterStatus::Pending
            })
    };
    let (my_enrollment, their_enrollment) = match side {
        Side::Mentor => (pair.mentor_enrollment_id, pair.mentee_enrollment_id),
        Side::Mentee => (pair.mentee_enrollment_id, pair.mentor_enrollment_id),
    };
    let outcome = pair::accept(AcceptanceFacts {
        status: pair.status,
        accepter_holds_charter: holds(my_enrollment),
        other_accepted: theirs.is_some(),
        other_holds_charter: holds(their_enrollment),
    })?;
    if mine.is_some() && outcome == AcceptanceOutcome::Waiting {
        return Ok(pair); // accepting twice changes nothing
    }
    let activate = outcome == AcceptanceOutcome::Activated;
    let now = Utc::now();
    pairs::record_acceptance(&txn, &pair, side == Side::Mentor, activate, now).await?;
    if activate {
        mentorat_persistence::tallies::record_pair_status(&txn, &[pair.id]).await?;
        notifications::notify(
            &txn,
            &[pair.mentor_person_id, pair.mentee_person_id],
            "pair.activated",
            Some(pair.program_id),
            Some(pair.id),
            now,
        )
        .await?;
        outbox::record(
            &txn,
            "pair.activated",
            serde_json::json!({"pair_id": pair.id, "program_id": pair.program_id}),
            now,
        )
        .await?;
    }
    let accepted = pairs::find(&txn, id).await?.ok_or(ServiceError::NotFound)?;
    txn.commit().await.map_err(store)?;
    tracing::info!(pair_id = %id, activated = activate, "pair accepted by a member");
    Ok(accepted)
}

/// R9: either member ends the pair, with a reason category and optional words of their own.
pub async fn end(
    db: &Db,
    caller: &Caller,
    id: Uuid,
    reason: EndReason,
    text: Option<String>,
) -> Result<Pair, ServiceError> {
    let pair = pairs::find(db.conn(), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let (side, me) = member_side(db, caller, &pair).await?;
    // Checked again under the pair's lock: the other member may be ending it at the same
    // moment, or a departure suspending it — the later request gets `409 pair_not_open`,
    // never a `412` it did not ask for.
    let txn = db.conn().begin().await.map_err(store)?;
    pairs::lock(&txn, id).await?;
    let pair = pairs::find(&txn, id).await?.ok_or(ServiceError::NotFound)?;
    pair::check_end(pair.status)?;
    let other = match side {
        Side::Mentor => pair.mentee_person_id,
        Side::Mentee => pair.mentor_person_id,
    };
    let now = Utc::now();
    pairs::end(&txn, db.keys(), &pair, reason, text.as_deref(), now).await?;
    mentorat_persistence::tallies::record_pair_status(&txn, &[pair.id]).await?;
    crate::working_life::cancel_ahead(&txn, PairsOf::One(pair.id), Some(me.id), now).await?;
    notifications::notify(
        &txn,
        &[other],
        "pair.ended",
        Some(pair.program_id),
        Some(pair.id),
        now,
    )
    .await?;
    // The category is metadata; the members' own words never leave the pair (R9, R5).
    outbox::record(
        &txn,
        "pair.ended",
        serde_json::json!({
            "pair_id": pair.id,
            "program_id": pair.program_id,
            "reason_category": reason.as_str(),
        }),
        now,
    )
    .await?;
    txn.commit().await.map_err(store)?;
    tracing::info!(pair_id = %id, reason = reason.as_str(), "pair ended by a member");
    pairs::find(db.conn(), id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// A page of pairs as the caller may list them, with their context, in one statement (the
/// rows with their names; their facts are on their rows). Each pair says whether the caller is one of its
/// members: only then are its members' own words (R9) opened.
pub async fn list(
    db: &Db,
    caller: &Caller,
    scope: Scope,
    mut filter: PairFilter,
    after: Option<Uuid>,
    limit: PageLimit,
) -> Result<(Page<(Pair, bool)>, PairContext), ServiceError> {
    if scope == Scope::OwnEnrollments {
        // The caller's own pairs, found by their external id in the same statement.
        filter.member_external_id = Some(caller.subject.as_str().to_owned());
    }
    let now = Utc::now();
    let page = pairs::list_rows(
        db.conn(),
        &filter,
        caller.subject.as_str(),
        after,
        limit.get(),
        now,
    )
    .await?;
    let (pairs_, ctx) = context_of_rows(db, &page.items, now)?;
    let members = page.items.iter().map(|r| r.caller_is_member);
    Ok((
        Page {
            items: pairs_.into_iter().zip(members).collect(),
            next: page.next,
        },
        ctx,
    ))
}

/// What a pair's answer shows besides the pair: its members' names and charter standing.
#[derive(Debug, Clone)]
pub struct PairContext {
    pub people: HashMap<Uuid, MemberName>,
    /// Enrollment ids whose holder has not accepted the current charter (R3).
    pub charter_pending: HashSet<Uuid>,
    /// Each pair's meetings, counted (pairs without meetings are absent).
    pub meetings: HashMap<Uuid, MeetingStats>,
    /// Each pair's objectives by status.
    pub objectives: HashMap<Uuid, HashMap<ObjectiveStatus, i64>>,
    /// The pairs that have ever agreed an objective (R4).
    pub agreed: HashSet<Uuid>,
    /// Each program's cadence (R8).
    pub cadence_days: HashMap<Uuid, i32>,
    /// R9: the members' own words on an ended pair (render them for its members only).
    pub end_reason_texts: HashMap<Uuid, String>,
    pub now: DateTime<Utc>,
}

impl PairContext {
    /// The pair's health flags (R1, R3, R4, R7, R8, R11), computed from facts.
    pub fn flags(&self, pair: &Pair) -> Vec<PairFlag> {
        let meetings = self.meetings.get(&pair.id).cloned().unwrap_or_default();
        let facts = PairFacts {
            status: pair.status,
            hierarchy_conflict: pair.hierarchy_conflict,
            charter_pending: self.charter_pending.contains(&pair.mentor_enrollment_id)
                || self.charter_pending.contains(&pair.mentee_enrollment_id),
            activated_at: pair.activated_at,
            owed_reschedules: u32::try_from(meetings.owed).unwrap_or(u32::MAX),
            first_held_at: meetings.first_held_at,
            agreed_objectives: u32::from(self.agreed.contains(&pair.id)),
            last_meeting_at: meetings.last_meeting_at,
            next_meeting_at: meetings.next_meeting_at,
            cadence_days: self
                .cadence_days
                .get(&pair.program_id)
                .copied()
                .unwrap_or(28),
        };
        health::flags(&facts, self.now)
    }
}

/// Whose eyes a pair's context is for: the end reason's free text (R9, content) is opened
/// for the pair's members only, never for a coordinator's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Member,
    Other,
}

impl Viewer {
    /// A member's eyes when `member`, anyone else's otherwise.
    pub fn member_if(member: bool) -> Self {
        if member {
            Viewer::Member
        } else {
            Viewer::Other
        }
    }
}

/// Load the context of several pairs in a fixed number of queries, their flags as of now.
pub async fn context(
    db: &Db,
    pairs_: &[Pair],
    viewer: Viewer,
) -> Result<PairContext, ServiceError> {
    context_at(db, pairs_, viewer, Utc::now()).await
}

/// [`context`], with flags as of `now`.
pub async fn context_at(
    db: &Db,
    pairs_: &[Pair],
    viewer: Viewer,
    now: DateTime<Utc>,
) -> Result<PairContext, ServiceError> {
    let person_ids: Vec<Uuid> = pairs_
        .iter()
        .flat_map(|p| [p.mentor_person_id, p.mentee_person_id])
        .collect();
    let pair_ids: Vec<Uuid> = pairs_.iter().map(|p| p.id).collect();
    let people = people::find_many(db.conn(), &person_ids)
        .await?
        .into_iter()
        .map(|p| {
            (
                p.id,
                MemberName {
                    given_name: p.record.given_name,
                    family_name: p.record.family_name,
                },
            )
        })
        .collect();
    // Everything else of every pair — charter standing, cadence, meetings and objectives
    // counted — from the pair rows, in one statement.
    let facts = pairs::read_facts(db.conn(), &pair_ids, now).await?;
    let ended: Vec<Uuid> = pairs_
        .iter()
        .filter(|p| viewer == Viewer::Member && p.end_reason.is_some())
        .map(|p| p.id)
        .collect();
    let end_reason_texts = if ended.is_empty() {
        HashMap::new()
    } else {
        pairs::end_reason_texts(db.conn(), db.keys(), &ended).await?
    };
    Ok(assemble(pairs_, people, &facts, end_reason_texts, now))
}

/// The context of pairs read as [`PairRow`]s (their names, facts and sealed words came with
/// them): no statement of its own. The members' own words (R9) are opened for the
/// pairs the caller is a member of only.
pub fn context_of_rows(
    db: &Db,
    rows: &[PairRow],
    now: DateTime<Utc>,
) -> Result<(Vec<Pair>, PairContext), ServiceError> {
    let mut people = HashMap::new();
    let mut end_reason_texts = HashMap::new();
    for row in rows {
        people.insert(row.pair.mentor_person_id, row.mentor.clone());
        people.insert(row.pair.mentee_person_id, row.mentee.clone());
        if row.caller_is_member
            && let Some(sealed) = &row.sealed_end_reason_text
        {
            let aad = mentorat_persistence::Aad::row("pairs", "end_reason_text", row.pair.id);
            end_reason_texts.insert(row.pair.id, db.keys().open(sealed, &aad).map_err(store)?);
        }
    }
    let pairs_: Vec<Pair> = rows.iter().map(|r| r.pair.clone()).collect();
    let facts: Vec<(Uuid, ReadFacts)> = rows.iter().map(|r| (r.pair.id, r.facts.clone())).collect();
    let ctx = assemble(&pairs_, people, &facts, end_reason_texts, now);
    Ok((pairs_, ctx))
}

/// `GET /pairs/{id}` in one statement (three relations by primary key, `pairs::read_one`):
/// the pair as the caller may see it ([`visible_pair`]'s rule) with its context.
pub async fn read(
    db: &Db,
    caller: &Caller,
    scope: Scope,
    id: Uuid,
) -> Result<(PairView, PairContext), ServiceError> {
    let now = Utc::now();
    let row = pairs::read_one(db.conn(), id, caller.subject.as_str(), now)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let member = row.caller_is_member;
    // Decided before anything of the row is opened.
    let view = gate(row.pair.clone(), member, scope)?;
    let (_, ctx) = context_of_rows(db, std::slice::from_ref(&row), now)?;
    Ok((view, ctx))
}

fn assemble(
    pairs_: &[Pair],
    people: HashMap<Uuid, MemberName>,
    facts: &[(Uuid, ReadFacts)],
    end_reason_texts: HashMap<Uuid, String>,
    now: DateTime<Utc>,
) -> PairContext {
    let mut charter_pending = HashSet::new();
    let mut meetings = HashMap::new();
    let mut by_status = HashMap::new();
    let mut agreed = HashSet::new();
    let mut cadence_days = HashMap::new();
    let facts: HashMap<Uuid, &ReadFacts> = facts.iter().map(|(id, f)| (*id, f)).collect();
    for pair in pairs_ {
        let Some(f) = facts.get(&pair.id) else {
            continue;
        };
        for (enrollment, accepted) in [
            (pair.mentor_enrollment_id, f.mentor_accepted_charter),
            (pair.mentee_enrollment_id, f.mentee_accepted_charter),
        ] {
            if CharterStatus::of(accepted, f.current_charter) == CharterStatus::Pending {
                charter_pending.insert(enrollment);
            }
        }
        cadence_days.insert(pair.program_id, f.cadence_days);
        if f.meetings != MeetingStats::default() {
            meetings.insert(pair.id, f.meetings.clone());
        }
        let counted: HashMap<ObjectiveStatus, i64> = f
            .objectives
            .iter()
            .filter(|(_, n)| *n > 0)
            .copied()
            .collect();
        if !counted.is_empty() {
            by_status.insert(pair.id, counted);
        }
        if f.agreed {
            agreed.insert(pair.id);
        }
    }
    PairContext {
        people,
        charter_pending,
        meetings,
        objectives: by_status,
        agreed,
        cadence_days,
        end_reason_texts,
        now,
    }
}

/// A ranked mentor for a mentee.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub enrollment: Enrollment,
    pub person: Person,
    pub remaining_capacity: i64,
    pub score: Score,
}

/// Mentors for a mentee, best first. Hard rules filter, never merely rank: R1 (the mentee's
/// chain, up and down, at any depth), R10 (no place left), inactive people, mentors already
/// paired with this mentee, the mentee themself.
pub async fn suggestions(
    db: &Db,
    caller: &Caller,
    scope: Scope,
    program_id: Uuid,
    mentee_enrollment_id: Uuid,
    limit: usize,
) -> Result<Vec<Suggestion>, ServiceError> {
    let program = programs::find(db.conn(), program_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let mentee = enrollments::find(db.conn(), program_id, mentee_enrollment_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if scope == Scope::OwnEnrollments {
        let me = caller_person(db, caller)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if me.id != mentee.person_id {
            return Err(ServiceError::NotFound);
        }
    }
    if mentee.terms.role != EnrollmentRole::Mentee {
        return Err(DomainError::RoleMismatch.into());
    }
    let mentee_person = people::find(db.conn(), mentee.person_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let excluded: HashSet<String> =
        pairs::chain_both_ways(db.conn(), mentee_person.record.external_id.as_str())
            .await?
            .into_iter()
            .collect();
    let loads: HashMap<Uuid, i64> = pairs::loads_in_program(db.conn(), program_id)
        .await?
        .into_iter()
        .collect();
    let paired: HashSet<Uuid> = pairs::open_mentor_enrollments_of(db.conn(), mentee.id)
        .await?
        .into_iter()
        .collect();
    let seeker = Seeker {
        topics: mentee.terms.topics.clone(),
        goals: mentee.terms.goals.clone(),
        languages: mentee.terms.languages.clone(),
        department: mentee_person.record.department.clone(),
        site: mentee_person.record.site.clone(),
    };
    // Rank light rows (ids, terms, department, site); load whole records for the few
    // returned only.
    let matcher = pair::Matcher::new(&seeker);
    let mut ranked: Vec<(Uuid, Uuid, i64, Score)> =
        enrollments::mentor_candidates(db.conn(), program_id)
            .await?
            .into_iter()
            .filter(|c| {
                c.active
                    && c.person_id != mentee_person.id
                    && !paired.contains(&c.enrollment_id)
                    && !excluded.contains(c.external_id.as_str())
            })
            .filter_map(|c| {
                let capacity = c
                    .capacity
                    .unwrap_or(program.settings.default_mentor_capacity);
                let remaining =
                    i64::from(capacity) - loads.get(&c.enrollment_id).copied().unwrap_or(0);
                (remaining > 0).then(|| {
                    let score = matcher.weighted(
                        &Candidate {
                            topics: c.topics,
                            languages: c.languages,
                            department: c.department,
                            site: c.site,
                            remaining_capacity: remaining,
                        },
                        &program.matching_weights,
                    );
                    (c.enrollment_id, c.person_id, remaining, score)
                })
            })
            .collect();
    ranked.sort_by(|a, b| b.3.total.cmp(&a.3.total).then(a.0.cmp(&b.0)));
    ranked.truncate(limit);
    let enrollment_ids: Vec<Uuid> = ranked.iter().map(|r| r.0).collect();
    let person_ids: Vec<Uuid> = ranked.iter().map(|r| r.1).collect();
    let mut found_enrollments: HashMap<Uuid, Enrollment> =
        enrollments::find_many(db.conn(), &enrollment_ids)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
    let mut found_people: HashMap<Uuid, Person> = people::find_many(db.conn(), &person_ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    ranked
        .into_iter()
        .map(|(enrollment_id, person_id, remaining, score)| {
            match (
                found_enrollments.remove(&enrollment_id),
                found_people.remove(&person_id),
            ) {
                (Some(enrollment), Some(person)) => Ok(Suggestion {
                    enrollment,
                    person,
                    remaining_capacity: remaining,
                    score,
                }),
                _ => Err(ServiceError::Store(StoreError::Corrupt(format!(
                    "mentor enrollment {enrollment_id} vanished while ranking"
                )))),
            }
        })
        .collect()
}

/// After an HRIS change of manager links: flag active pairs now inside one chain (R1).
pub async fn recheck_hierarchy(
    conn: &impl mentorat_persistence::ConnectionTrait,
) -> Result<u64, StoreError> {
    let flagged = pairs::flag_hierarchy_conflicts(conn, Utc::now()).await?;
    if flagged > 0 {
        tracing::warn!(
            pairs = flagged,
            "active pairs flagged hierarchy_conflict after an HRIS change (R1)"
        );
    }
    Ok(flagged)
}
