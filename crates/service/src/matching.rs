//! Matching a cohort (issue 17): a run computes the optimal assignment of a program's
//! unpaired mentees to its mentors' remaining places (`mentorat_domain::matching`), keeps it
//! (who, when, objective, weights, the fingerprint of its inputs), and `apply` proposes its
//! pairs in one transaction under the locks `propose` takes, every rule checked again; a run
//! whose inputs changed since is stale and refused.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use mentorat_domain::{
    Caller, DomainError, ErrorCode,
    enrollment::EnrollmentRole,
    matching::{self, Edge, Hierarchy, MatchingWeights, Objective, Problem, Unmatched},
    pair::{self, Candidate, Pair, PairStatus, Seeker},
    program::{Program, ProgramStatus},
};
use mentorat_persistence::{
    ConnectionTrait, Db, StoreError, TransactionTrait, enrollments,
    matching_runs::{self, StoredRun},
    pairs, people, programs,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::ServiceError;

/// One reason of a line's score, with its weighted points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineReason {
    pub code: String,
    pub points: u32,
    pub detail: String,
}

/// A proposed pair of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLine {
    pub mentee_enrollment_id: Uuid,
    pub mentor_enrollment_id: Uuid,
    pub score: u32,
    pub reasons: Vec<LineReason>,
}

/// Why a mentee of a run got no mentor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    Solver(Unmatched),
    /// The mentee's person is inactive (R11).
    MenteeInactive,
    /// Listed, but the mentee already has an open pair.
    AlreadyPaired,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Solver(u) => u.as_str(),
            Why::MenteeInactive => "mentee_inactive",
            Why::AlreadyPaired => "already_paired",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [
            Why::Solver(Unmatched::NoEligibleMentor),
            Why::Solver(Unmatched::EligibleMentorsFull),
            Why::Solver(Unmatched::PlacesTakenByOthers),
            Why::MenteeInactive,
            Why::AlreadyPaired,
        ]
        .into_iter()
        .find(|w| w.as_str() == raw)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunUnmatched {
    pub mentee_enrollment_id: Uuid,
    pub why: Why,
}

/// A matching run as kept.
#[derive(Debug, Clone)]
pub struct MatchingRun {
    pub id: Uuid,
    pub program_id: Uuid,
    pub objective: Objective,
    pub weights: MatchingWeights,
    /// The mentees the run was asked for (`None`: every unpaired mentee).
    pub mentee_enrollment_ids: Option<Vec<Uuid>>,
    pub lines: Vec<RunLine>,
    pub unmatched: Vec<RunUnmatched>,
    pub total_score: u64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub applied_by: Option<String>,
    pub applied_at: Option<DateTime<Utc>>,
}

/// What a run reads: the program, its mentees and mentors (light rows), its pairs, the
/// organization's manager links.
struct Inputs {
    program: Program,
    mentees: Vec<(enrollments::MentorCandidate, Option<String>)>,
    mentors: Vec<enrollments::MentorCandidate>,
    couples: Vec<(Uuid, Uuid, Uuid, PairStatus, i32)>,
    links: Vec<(String, String)>,
}

async fn read_inputs(
    conn: &impl ConnectionTrait,
    program_id: Uuid,
) -> Result<Inputs, ServiceError> {
    let program = programs::find(conn, program_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let mentees = enrollments::candidates(conn, program_id, EnrollmentRole::Mentee).await?;
    let mentors = enrollments::candidates(conn, program_id, EnrollmentRole::Mentor)
        .await?
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    let couples = pairs::couples_in_program(conn, program_id).await?;
    let mut links: Vec<(String, String)> = people::manager_links(conn)
        .await?
        .into_iter()
        .map(|(p, m)| (p.as_str().to_owned(), m.as_str().to_owned()))
        .collect();
    links.sort();
    Ok(Inputs {
        program,
        mentees,
        mentors,
        couples,
        links,
    })
}

/// The fingerprint of everything a run's answer depends on: a proposal, an end, a changed
/// enrollment, a deactivated person, a new manager link or new weights all change it.
fn fingerprint(inputs: &Inputs, objective: Objective, scope: Option<&[Uuid]>) -> String {
    let mut parts: Vec<String> = vec![
        objective.as_str().to_owned(),
        programs_weights(&inputs.program.matching_weights),
        inputs.program.settings.default_mentor_capacity.to_string(),
        inputs.program.status.as_str().to_owned(),
    ];
    if let Some(scope) = scope {
        let mut s = scope.to_vec();
        s.sort_unstable();
        parts.extend(s.iter().map(|id| format!("scope {id}")));
    }
    let row = |tag: &str, c: &enrollments::MentorCandidate, goals: Option<&str>| {
        format!(
            "{tag} {} {} {} {} {:?} {:?} {:?} {:?} {:?} {:?}",
            c.enrollment_id,
            c.person_id,
            c.external_id,
            c.active,
            c.capacity,
            c.topics,
            c.languages,
            c.department,
            c.site,
            goals
        )
    };
    parts.extend(
        inputs
            .mentees
            .iter()
            .map(|(c, g)| row("mentee", c, g.as_deref())),
    );
    parts.extend(inputs.mentors.iter().map(|c| row("mentor", c, None)));
    parts.extend(
        inputs
            .couples
            .iter()
            .map(|(id, a, b, s, r)| format!("pair {id} {a} {b} {} {r}", s.as_str())),
    );
    parts.extend(inputs.links.iter().map(|(p, m)| format!("link {p} {m}")));
    matching::fingerprint(parts.iter().map(String::as_str))
}

fn programs_weights(w: &MatchingWeights) -> String {
    mentorat_persistence::programs::weights_to_json(w)
}

/// Compute the run's lines and unmatched mentees from its inputs.
fn compute(
    inputs: &Inputs,
    objective: Objective,
    scope: Option<&[Uuid]>,
) -> (Vec<RunLine>, Vec<RunUnmatched>) {
    let program = &inputs.program;
    let weights = program.matching_weights;
    let open_mentees: HashSet<Uuid> = inputs
        .couples
        .iter()
        .filter(|c| c.3.is_open())
        .map(|c| c.2)
        .collect();
    let ever: HashSet<(Uuid, Uuid)> = inputs.couples.iter().map(|c| (c.1, c.2)).collect();
    let mut loads: HashMap<Uuid, i64> = HashMap::new();
    for c in &inputs.couples {
        if c.3.counts_toward_capacity() {
            *loads.entry(c.1).or_default() += 1;
        }
    }
    let wanted: Option<HashSet<Uuid>> = scope.map(|s| s.iter().copied().collect());
    let hierarchy = Hierarchy::new(inputs.links.iter().cloned());
    let mut unmatched = Vec::new();
    let mut mentees = Vec::new();
    for (c, goals) in &inputs.mentees {
        if wanted
            .as_ref()
            .is_some_and(|w| !w.contains(&c.enrollment_id))
        {
            continue;
        }
        if open_mentees.contains(&c.enrollment_id) {
            if wanted.is_some() {
                unmatched.push(RunUnmatched {
                    mentee_enrollment_id: c.enrollment_id,
                    why: Why::AlreadyPaired,
                });
            }
            continue;
        }
        if !c.active {
            unmatched.push(RunUnmatched {
                mentee_enrollment_id: c.enrollment_id,
                why: Why::MenteeInactive,
            });
            continue;
        }
        mentees.push((c, goals));
    }
    let mentors: Vec<(&enrollments::MentorCandidate, i64, HashSet<String>)> = inputs
        .mentors
        .iter()
        .filter(|m| m.active)
        .map(|m| {
            let capacity = m
                .capacity
                .unwrap_or(program.settings.default_mentor_capacity);
            let remaining =
                (i64::from(capacity) - loads.get(&m.enrollment_id).copied().unwrap_or(0)).max(0);
            (m, remaining, hierarchy.above(&m.external_id))
        })
        .collect();
    let mut problem = Problem {
        places: mentors
            .iter()
            .map(|m| u32::try_from(m.1).unwrap_or(u32::MAX))
            .collect(),
        edges: Vec::with_capacity(mentees.len()),
    };
    let mut seekers = Vec::with_capacity(mentees.len());
    for (c, goals) in &mentees {
        seekers.push(Seeker {
            topics: c.topics.clone(),
            goals: (*goals).clone(),
            languages: c.languages.clone(),
            department: c.department.clone(),
            site: c.site.clone(),
        });
    }
    for (k, (c, _)) in mentees.iter().enumerate() {
        let above = hierarchy.above(&c.external_id);
        let matcher = pair::Matcher::new(&seekers[k]);
        let mut edges = Vec::new();
        for (j, (m, remaining, m_above)) in mentors.iter().enumerate() {
            // Hard rules: never weighed.
            if m.person_id == c.person_id
                || above.contains(&m.external_id)
                || m_above.contains(&c.external_id)
                || ever.contains(&(m.enrollment_id, c.enrollment_id))
            {
                continue;
            }
            let score = matcher.weighted(&candidate(m, *remaining), &weights).total;
            edges.push(Edge { mentor: j, score });
        }
        problem.edges.push(edges);
    }
    let solution = matching::solve(&problem, objective);
    let mut lines = Vec::new();
    for (k, assigned) in solution.assigned.iter().enumerate() {
        let mentee = mentees[k].0;
        match assigned {
            Ok(edge) => {
                let (m, remaining, _) = &mentors[edge.mentor];
                let score =
                    pair::Matcher::new(&seekers[k]).weighted(&candidate(m, *remaining), &weights);
                lines.push(RunLine {
                    mentee_enrollment_id: mentee.enrollment_id,
                    mentor_enrollment_id: m.enrollment_id,
                    score: score.total,
                    reasons: score
                        .reasons
                        .into_iter()
                        .map(|r| LineReason {
                            code: r.code.to_owned(),
                            points: r.points,
                            detail: r.detail,
                        })
                        .collect(),
                });
            }
            Err(why) => unmatched.push(RunUnmatched {
                mentee_enrollment_id: mentee.enrollment_id,
                why: Why::Solver(*why),
            }),
        }
    }
    unmatched.sort_by_key(|u| u.mentee_enrollment_id);
    (lines, unmatched)
}

fn candidate(m: &enrollments::MentorCandidate, remaining: i64) -> Candidate {
    Candidate {
        topics: m.topics.clone(),
        languages: m.languages.clone(),
        department: m.department.clone(),
        site: m.site.clone(),
        remaining_capacity: remaining,
    }
}

/// Compute and keep a run (coordinators, admins).
pub async fn create(
    db: &Db,
    caller: &Caller,
    program_id: Uuid,
    objective: Objective,
    scope: Option<Vec<Uuid>>,
) -> Result<MatchingRun, ServiceError> {
    let inputs = read_inputs(db.conn(), program_id).await?;
    if inputs.program.status == ProgramStatus::Closed {
        return Err(DomainError::ProgramClosed.into());
    }
    if let Some(scope) = &scope {
        let known: HashSet<Uuid> = inputs.mentees.iter().map(|m| m.0.enrollment_id).collect();
        if let Some(bad) = scope.iter().find(|id| !known.contains(id)) {
            return Err(ServiceError::Unprocessable(
                ErrorCode::UnknownEnrollment,
                format!(
                    "mentee_enrollment_ids: {bad} is not a mentee's enrollment of this program"
                ),
            ));
        }
    }
    let (lines, unmatched) = compute(&inputs, objective, scope.as_deref());
    let run = MatchingRun {
        id: Uuid::now_v7(),
        program_id,
        objective,
        weights: inputs.program.matching_weights,
        total_score: lines.iter().map(|l| u64::from(l.score)).sum(),
        mentee_enrollment_ids: scope,
        lines,
        unmatched,
        created_by: caller.subject.as_str().to_owned(),
        created_at: Utc::now(),
        applied_by: None,
        applied_at: None,
    };
    let stored = StoredRun {
        id: run.id,
        program_id,
        objective: objective.as_str().to_owned(),
        weights: programs_weights(&run.weights),
        fingerprint: fingerprint(&inputs, objective, run.mentee_enrollment_ids.as_deref()),
        result: result_json(&run).to_string(),
        created_by: run.created_by.clone(),
        created_at: run.created_at,
        applied_by: None,
        applied_at: None,
    };
    matching_runs::insert(db.conn(), &stored).await?;
    tracing::info!(run_id = %run.id, program_id = %program_id, by = %caller.subject,
        matched = run.lines.len(), unmatched = run.unmatched.len(), "matching run computed");
    Ok(run)
}

fn result_json(run: &MatchingRun) -> Value {
    json!({
        "mentee_enrollment_ids": run.mentee_enrollment_ids,
        "lines": run.lines.iter().map(|l| json!({
            "mentee_enrollment_id": l.mentee_enrollment_id,
            "mentor_enrollment_id": l.mentor_enrollment_id,
            "score": l.score,
            "reasons": l.reasons.iter().map(|r| json!({
                "code": r.code, "points": r.points, "detail": r.detail,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "unmatched": run.unmatched.iter().map(|u| json!({
            "mentee_enrollment_id": u.mentee_enrollment_id,
            "why": u.why.as_str(),
        })).collect::<Vec<_>>(),
    })
}

fn from_stored(s: StoredRun) -> Result<MatchingRun, ServiceError> {
    let corrupt = || {
        ServiceError::Store(StoreError::Corrupt(format!(
            "matching run {} is unreadable",
            s.id
        )))
    };
    let v: Value = serde_json::from_str(&s.result).map_err(|_| corrupt())?;
    let uuid = |v: &Value| v.as_str().and_then(|s| Uuid::parse_str(s).ok());
    let mut lines = Vec::new();
    for l in v["lines"].as_array().ok_or_else(corrupt)? {
        let mut reasons = Vec::new();
        for r in l["reasons"].as_array().ok_or_else(corrupt)? {
            reasons.push(LineReason {
                code: r["code"].as_str().ok_or_else(corrupt)?.to_owned(),
                points: r["points"]
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(corrupt)?,
                detail: r["detail"].as_str().ok_or_else(corrupt)?.to_owned(),
            });
        }
        lines.push(RunLine {
            mentee_enrollment_id: uuid(&l["mentee_enrollment_id"]).ok_or_else(corrupt)?,
            mentor_enrollment_id: uuid(&l["mentor_enrollment_id"]).ok_or_else(corrupt)?,
            score: l["score"]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(corrupt)?,
            reasons,
        });
    }
    let mut unmatched = Vec::new();
    for u in v["unmatched"].as_array().ok_or_else(corrupt)? {
        unmatched.push(RunUnmatched {
            mentee_enrollment_id: uuid(&u["mentee_enrollment_id"]).ok_or_else(corrupt)?,
            why: u["why"].as_str().and_then(Why::parse).ok_or_else(corrupt)?,
        });
    }
    let scope = match &v["mentee_enrollment_ids"] {
        Value::Null => None,
        Value::Array(ids) => Some(
            ids.iter()
                .map(uuid)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(corrupt)?,
        ),
        _ => return Err(corrupt()),
    };
    Ok(MatchingRun {
        id: s.id,
        program_id: s.program_id,
        objective: Objective::parse(&s.objective).ok_or_else(corrupt)?,
        weights: mentorat_persistence::programs::weights_from_json(&s.weights)
            .ok_or_else(corrupt)?,
        total_score: lines.iter().map(|l| u64::from(l.score)).sum(),
        mentee_enrollment_ids: scope,
        lines,
        unmatched,
        created_by: s.created_by,
        created_at: s.created_at,
        applied_by: s.applied_by,
        applied_at: s.applied_at,
    })
}

/// A program's runs, newest first (at most 100).
pub async fn list(db: &Db, program_id: Uuid) -> Result<Vec<MatchingRun>, ServiceError> {
    programs::find(db.conn(), program_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    matching_runs::list(db.conn(), program_id, 100)
        .await?
        .into_iter()
        .map(from_stored)
        .collect()
}

pub async fn get(db: &Db, program_id: Uuid, run_id: Uuid) -> Result<MatchingRun, ServiceError> {
    let stored = matching_runs::find(db.conn(), program_id, run_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    from_stored(stored)
}

/// Propose the run's pairs (less the excluded mentees) in one transaction: all or nothing.
/// Under the program's shared lock and every enrollment's lock (in id order, as `propose`
/// takes them), the run's inputs are read again: if they changed since the run,
/// `matching_run_stale`; then each pair goes through every rule of `propose` again.
pub async fn apply(
    db: &Db,
    caller: &Caller,
    program_id: Uuid,
    run_id: Uuid,
    exclude: &[Uuid],
) -> Result<(MatchingRun, Vec<Pair>), ServiceError> {
    let txn = db.conn().begin().await.map_err(StoreError::from)?;
    programs::lock_shared(&txn, program_id).await?;
    let stored = matching_runs::find(&txn, program_id, run_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let fingerprint_then = stored.fingerprint.clone();
    let run = from_stored(stored)?;
    if run.applied_at.is_some() {
        return Err(ServiceError::Conflict(
            ErrorCode::MatchingRunApplied,
            format!("matching run {run_id} was applied already"),
        ));
    }
    let excluded: HashSet<Uuid> = exclude.iter().copied().collect();
    let lines: Vec<&RunLine> = run
        .lines
        .iter()
        .filter(|l| !excluded.contains(&l.mentee_enrollment_id))
        .collect();
    let mut ids: Vec<Uuid> = lines
        .iter()
        .flat_map(|l| [l.mentor_enrollment_id, l.mentee_enrollment_id])
        .collect();
    ids.sort_unstable();
    ids.dedup();
    enrollments::lock(&txn, &ids).await?;
    let inputs = read_inputs(&txn, program_id).await?;
    if inputs.program.status == ProgramStatus::Closed {
        return Err(DomainError::ProgramClosed.into());
    }
    if fingerprint(&inputs, run.objective, run.mentee_enrollment_ids.as_deref()) != fingerprint_then
    {
        return Err(ServiceError::Conflict(
            ErrorCode::MatchingRunStale,
            format!(
                "the program's enrollments, pairs or people changed since matching run {run_id}; compute a new run"
            ),
        ));
    }
    let mut created = Vec::with_capacity(lines.len());
    for l in &lines {
        created.push(
            crate::pairs::propose_locked(
                &txn,
                caller,
                program_id,
                l.mentor_enrollment_id,
                l.mentee_enrollment_id,
            )
            .await?,
        );
    }
    let now = Utc::now();
    if !matching_runs::mark_applied(&txn, run_id, caller.subject.as_str(), now).await? {
        return Err(ServiceError::Conflict(
            ErrorCode::MatchingRunApplied,
            format!("matching run {run_id} was applied already"),
        ));
    }
    txn.commit().await.map_err(StoreError::from)?;
    tracing::info!(run_id = %run_id, program_id = %program_id, by = %caller.subject,
        pairs = created.len(), "matching run applied");
    let run = MatchingRun {
        applied_by: Some(caller.subject.as_str().to_owned()),
        applied_at: Some(now),
        ..run
    };
    Ok((run, created))
}
