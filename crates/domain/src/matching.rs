//! Matching a cohort (issue 17): an exact assignment of mentees to mentors' remaining places
//! (R10), optimal for the coordinator's objective, under hard rules that filter and are never
//! weighed (R1 at any depth, capacity, inactive people, pairs that exist or existed between the
//! two). The solver is the Hungarian algorithm (shortest augmenting paths with potentials,
//! O(n²·m)) on mentees × (mentor places + one "unmatched" column per mentee), integer costs.
//!
//! Ties are broken deterministically: the inputs are taken in the order given (the service
//! passes them sorted by enrollment id) and the same inputs give the same assignment.

use std::collections::{HashMap, HashSet};

use crate::error::{DomainError, FieldError};

/// What a run maximizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Objective {
    /// The most mentees matched, then the highest total score among those assignments.
    MostMatched,
    /// The highest total score, then the most mentees matched among those assignments.
    BestScore,
}

impl Objective {
    pub const ALL: [Objective; 2] = [Objective::MostMatched, Objective::BestScore];

    pub fn as_str(self) -> &'static str {
        match self {
            Objective::MostMatched => "most_matched",
            Objective::BestScore => "best_score",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == raw)
    }
}

/// The points of each reason of a score (a program's `matching_weights`). The default is the
/// score of suggestions as it always was: 10 points a matched topic (4 topics at most), 15 for
/// a shared language, 20 for another department, 10 for the same site, 1 a remaining place
/// (5 places at most).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MatchingWeights {
    /// Points for each of the mentor's topics found in the mentee's topics or goals (at most
    /// four topics count).
    pub topic_overlap: u32,
    /// Points for speaking a language of the mentee.
    pub shared_language: u32,
    /// Points for working in another department than the mentee.
    pub other_department: u32,
    /// Points for working on the mentee's site.
    pub same_site: u32,
    /// Points for each remaining place of the mentor (at most five places count).
    pub available: u32,
}

impl Default for MatchingWeights {
    fn default() -> Self {
        Self {
            topic_overlap: 10,
            shared_language: 15,
            other_department: 20,
            same_site: 10,
            available: 1,
        }
    }
}

impl MatchingWeights {
    /// Each weight is between 0 and this.
    pub const MAX: u32 = 100;
    pub const FIELDS: [&'static str; 5] = [
        "topic_overlap",
        "shared_language",
        "other_department",
        "same_site",
        "available",
    ];

    /// Unchecked weights, as they arrive (absent ones keep `base`'s value); every weight out of
    /// bounds is reported with its pointer.
    pub fn validate(
        base: MatchingWeights,
        given: [Option<i64>; 5],
    ) -> Result<MatchingWeights, DomainError> {
        let mut errors = Vec::new();
        let current = [
            base.topic_overlap,
            base.shared_language,
            base.other_department,
            base.same_site,
            base.available,
        ];
        let mut out = current;
        for (k, v) in given.into_iter().enumerate() {
            if let Some(v) = v {
                match u32::try_from(v) {
                    Ok(v) if v <= Self::MAX => out[k] = v,
                    _ => errors.push(FieldError::new(
                        format!("/matching_weights/{}", Self::FIELDS[k]),
                        format!(
                            "matching_weights.{} must be between 0 and {}, got {v}",
                            Self::FIELDS[k],
                            Self::MAX
                        ),
                    )),
                }
            }
        }
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors));
        }
        Ok(MatchingWeights {
            topic_overlap: out[0],
            shared_language: out[1],
            other_department: out[2],
            same_site: out[3],
            available: out[4],
        })
    }
}

/// The management links `(person, manager)` of the organization, by external id, to tell R1
/// without a query per pair: two people are in one chain when either is above the other, at
/// any depth. A chain that loops ends where it meets itself.
#[derive(Debug, Clone, Default)]
pub struct Hierarchy {
    manager_of: HashMap<String, String>,
}

impl Hierarchy {
    pub fn new(links: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            manager_of: links.into_iter().collect(),
        }
    }

    /// Everyone above `person`, at any depth.
    pub fn above(&self, person: &str) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut at = person;
        while let Some(m) = self.manager_of.get(at) {
            if m == person || !seen.insert(m.clone()) {
                break;
            }
            at = m;
        }
        seen
    }
}

/// One possible line of a run: a mentee, a mentor (by their index in the problem) and the
/// score of the two. Only pairs the hard rules allow are edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub mentor: usize,
    pub score: u32,
}

/// An assignment problem: for each mentee, the mentors the hard rules allow (with their
/// score); for each mentor, their remaining places (R10).
#[derive(Debug, Clone, Default)]
pub struct Problem {
    pub places: Vec<u32>,
    pub edges: Vec<Vec<Edge>>,
}

/// Why a mentee of a run has no mentor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unmatched {
    /// The hard rules leave no mentor for them (R1, inactive people, past or open pairs).
    NoEligibleMentor,
    /// Their eligible mentors had no place left before the run (R10).
    EligibleMentorsFull,
    /// Their eligible mentors' places went to other mentees in the optimal assignment.
    PlacesTakenByOthers,
}

impl Unmatched {
    pub fn as_str(self) -> &'static str {
        match self {
            Unmatched::NoEligibleMentor => "no_eligible_mentor",
            Unmatched::EligibleMentorsFull => "eligible_mentors_full",
            Unmatched::PlacesTakenByOthers => "places_taken_by_others",
        }
    }
}

/// The solver's answer: the mentor of each mentee (by index), or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solution {
    pub assigned: Vec<Result<Edge, Unmatched>>,
}

impl Solution {
    pub fn matched(&self) -> usize {
        self.assigned.iter().filter(|a| a.is_ok()).count()
    }

    pub fn total_score(&self) -> u64 {
        self.assigned
            .iter()
            .filter_map(|a| a.as_ref().ok())
            .map(|e| u64::from(e.score))
            .sum()
    }
}

/// A cost no optimal assignment pays: every row always has its own "unmatched" column at 0.
const FORBIDDEN: i64 = 1_000_000_000_000_000;

/// Solve exactly. A mentee's mentor is one of their edges; a mentor gets at most their places.
pub fn solve(problem: &Problem, objective: Objective) -> Solution {
    let n_all = problem.edges.len();
    let mut assigned: Vec<Result<Edge, Unmatched>> = problem
        .edges
        .iter()
        .map(|edges| {
            if edges.is_empty() {
                Err(Unmatched::NoEligibleMentor)
            } else {
                Err(Unmatched::EligibleMentorsFull)
            }
        })
        .collect();
    // Rows: mentees with an edge to a mentor with a place. Columns: those mentors' places,
    // then one "unmatched" column per row.
    let place_of = |m: usize| problem.places.get(m).copied().unwrap_or(0);
    let rows: Vec<usize> = (0..n_all)
        .filter(|&i| problem.edges[i].iter().any(|e| place_of(e.mentor) > 0))
        .collect();
    if rows.is_empty() {
        return Solution { assigned };
    }
    let n = rows.len();
    // Compact mentors: those with a place that some row can reach; each gets at most
    // min(places, rows reaching it) columns.
    let mut reach: HashMap<usize, u32> = HashMap::new();
    for &i in &rows {
        for e in &problem.edges[i] {
            if place_of(e.mentor) > 0 {
                *reach.entry(e.mentor).or_default() += 1;
            }
        }
    }
    let mut mentors: Vec<usize> = reach.keys().copied().collect();
    mentors.sort_unstable();
    let compact: HashMap<usize, usize> = mentors.iter().enumerate().map(|(k, &m)| (m, k)).collect();
    let mut column_mentor: Vec<usize> = Vec::new();
    for (k, &m) in mentors.iter().enumerate() {
        let cols = place_of(m).min(reach[&m]);
        column_mentor.extend(std::iter::repeat_n(k, cols as usize));
    }
    let slots = column_mentor.len();
    let m = slots + n;
    let max_score = rows
        .iter()
        .flat_map(|&i| problem.edges[i].iter().map(|e| i64::from(e.score)))
        .max()
        .unwrap_or(0);
    let n64 = n as i64;
    // Integer costs, minimized. most_matched: one more match outweighs any score; best_score:
    // one more point outweighs any number of matches.
    let big = (n64 + 1) * (max_score + 1);
    let real_cost = |s: u32| -> i64 {
        let s = i64::from(s);
        match objective {
            Objective::MostMatched => -(big + s),
            Objective::BestScore => -(s * (n64 + 1) + 1),
        }
    };
    // Dense row × compact mentor costs (FORBIDDEN where no edge).
    let width = mentors.len();
    let mut cost = vec![FORBIDDEN; n * width];
    let mut score = vec![0u32; n * width];
    for (r, &i) in rows.iter().enumerate() {
        for e in &problem.edges[i] {
            if let Some(&k) = compact.get(&e.mentor) {
                let c = real_cost(e.score);
                // Two edges to one mentor: keep the better.
                if c < cost[r * width + k] {
                    cost[r * width + k] = c;
                    score[r * width + k] = e.score;
                }
            }
        }
    }
    let a = |r: usize, j: usize| -> i64 {
        if j < slots {
            cost[r * width + column_mentor[j]]
        } else if j - slots == r {
            0
        } else {
            FORBIDDEN
        }
    };
    // Hungarian algorithm (shortest augmenting paths with potentials), 1-indexed rows and
    // columns; column 0 is the virtual root. Two refinements that keep it exact: a row's
    // search scans the places and only the "unmatched" columns it has reached (every other
    // row's is forbidden to it), and among columns of equal reduced cost a free one is taken
    // first, which ends the search (scores are small integers: ties are the rule).
    let mut u = vec![0i64; n + 1];
    let mut v = vec![0i64; m + 1];
    let mut p = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    let mut minv = vec![i64::MAX; m + 1];
    let mut used = vec![false; m + 1];
    let mut columns: Vec<usize> = Vec::with_capacity(slots + 8);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        columns.clear();
        columns.extend(1..=slots);
        minv[0] = i64::MAX;
        used[0] = false;
        for j in 1..=slots {
            minv[j] = i64::MAX;
            used[j] = false;
        }
        loop {
            used[j0] = true;
            let i0 = p[j0];
            // Row i0's own "unmatched" column joins the search when i0 does.
            let own = slots + i0;
            if !columns[slots..].contains(&own) {
                columns.push(own);
                minv[own] = i64::MAX;
                used[own] = false;
            }
            let mut delta = i64::MAX;
            let mut j1 = 0usize;
            let mut j1_free = false;
            for &j in &columns {
                if !used[j] {
                    let cur = a(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    let free = p[j] == 0;
                    if minv[j] < delta || (minv[j] == delta && free && !j1_free) {
                        delta = minv[j];
                        j1 = j;
                        j1_free = free;
                    }
                }
            }
            u[p[0]] += delta;
            v[0] -= delta;
            for &j in &columns {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    for j in 1..=slots {
        let r = p[j];
        if r == 0 {
            continue;
        }
        let k = column_mentor[j - 1];
        if cost[(r - 1) * width + k] >= FORBIDDEN {
            continue;
        }
        assigned[rows[r - 1]] = Ok(Edge {
            mentor: mentors[k],
            score: score[(r - 1) * width + k],
        });
    }
    for &i in &rows {
        if assigned[i].is_err() {
            assigned[i] = Err(Unmatched::PlacesTakenByOthers);
        }
    }
    Solution { assigned }
}

/// A hash of a run's inputs (FNV-1a, 64 bits): a run whose inputs hash differently now is stale.
pub fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator (xorshift), so the tests need no crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn random_problem(rng: &mut Rng) -> Problem {
        let mentees = 1 + rng.below(6) as usize;
        let mentors = 1 + rng.below(4) as usize;
        let places = (0..mentors).map(|_| rng.below(3) as u32).collect();
        let edges = (0..mentees)
            .map(|_| {
                let mut edges = Vec::new();
                for m in 0..mentors {
                    if rng.below(10) < 6 {
                        edges.push(Edge {
                            mentor: m,
                            score: rng.below(8) as u32,
                        });
                    }
                }
                edges
            })
            .collect();
        Problem { places, edges }
    }

    /// Every assignment, by brute force: the best (matched, score) for the objective.
    fn brute(problem: &Problem, objective: Objective) -> (usize, u64) {
        fn go(
            p: &Problem,
            i: usize,
            left: &mut Vec<u32>,
            matched: usize,
            score: u64,
            best: &mut Vec<(usize, u64)>,
        ) {
            if i == p.edges.len() {
                best.push((matched, score));
                return;
            }
            go(p, i + 1, left, matched, score, best);
            for e in &p.edges[i] {
                if left[e.mentor] > 0 {
                    left[e.mentor] -= 1;
                    go(
                        p,
                        i + 1,
                        left,
                        matched + 1,
                        score + u64::from(e.score),
                        best,
                    );
                    left[e.mentor] += 1;
                }
            }
        }
        let mut all = Vec::new();
        go(problem, 0, &mut problem.places.clone(), 0, 0, &mut all);
        match objective {
            Objective::MostMatched => all.into_iter().max(),
            Objective::BestScore => all
                .into_iter()
                .map(|(m, s)| (s, m))
                .max()
                .map(|(s, m)| (m, s)),
        }
        .unwrap_or((0, 0))
    }

    fn check_rules(problem: &Problem, solution: &Solution) {
        let mut load = vec![0u32; problem.places.len()];
        for (i, a) in solution.assigned.iter().enumerate() {
            match a {
                Ok(e) => {
                    assert!(problem.edges[i].contains(e), "an edge the rules allow");
                    load[e.mentor] += 1;
                }
                Err(Unmatched::NoEligibleMentor) => assert!(problem.edges[i].is_empty()),
                Err(Unmatched::EligibleMentorsFull) => {
                    assert!(
                        problem.edges[i]
                            .iter()
                            .all(|e| problem.places[e.mentor] == 0)
                    )
                }
                Err(Unmatched::PlacesTakenByOthers) => {}
            }
        }
        for (m, l) in load.iter().enumerate() {
            assert!(*l <= problem.places[m], "R10: never over capacity");
        }
    }

    #[test]
    fn the_solver_finds_the_brute_force_optimum_on_random_small_instances() {
        let mut rng = Rng(0x5eed_1234_abcd_0001);
        for _ in 0..3000 {
            let problem = random_problem(&mut rng);
            for objective in Objective::ALL {
                let solution = solve(&problem, objective);
                check_rules(&problem, &solution);
                assert_eq!(
                    (solution.matched(), solution.total_score()),
                    brute(&problem, objective),
                    "{objective:?} on {problem:?}"
                );
                assert_eq!(solve(&problem, objective), solution, "deterministic");
            }
        }
    }

    #[test]
    fn most_matched_trades_score_for_a_match_and_best_score_does_not() {
        // Mentee 0 can take mentor 0 (score 9) or mentor 1 (score 1); mentee 1 only mentor 0
        // (score 1). One place each.
        let problem = Problem {
            places: vec![1, 1],
            edges: vec![
                vec![
                    Edge {
                        mentor: 0,
                        score: 9,
                    },
                    Edge {
                        mentor: 1,
                        score: 1,
                    },
                ],
                vec![Edge {
                    mentor: 0,
                    score: 1,
                }],
            ],
        };
        let most = solve(&problem, Objective::MostMatched);
        assert_eq!((most.matched(), most.total_score()), (2, 2));
        let best = solve(&problem, Objective::BestScore);
        assert_eq!((best.matched(), best.total_score()), (1, 9));
        assert_eq!(best.assigned[1], Err(Unmatched::PlacesTakenByOthers));
    }

    #[test]
    fn unmatched_mentees_say_why() {
        let problem = Problem {
            places: vec![0, 1],
            edges: vec![
                vec![],
                vec![Edge {
                    mentor: 0,
                    score: 5,
                }],
                vec![Edge {
                    mentor: 1,
                    score: 5,
                }],
                vec![Edge {
                    mentor: 1,
                    score: 3,
                }],
            ],
        };
        let s = solve(&problem, Objective::MostMatched);
        assert_eq!(s.assigned[0], Err(Unmatched::NoEligibleMentor));
        assert_eq!(s.assigned[1], Err(Unmatched::EligibleMentorsFull));
        assert_eq!(
            s.assigned[2],
            Ok(Edge {
                mentor: 1,
                score: 5
            })
        );
        assert_eq!(s.assigned[3], Err(Unmatched::PlacesTakenByOthers));
    }

    #[test]
    fn ties_are_broken_the_same_way_every_time() {
        let problem = Problem {
            places: vec![1, 1, 1],
            edges: (0..3)
                .map(|_| {
                    (0..3)
                        .map(|m| Edge {
                            mentor: m,
                            score: 4,
                        })
                        .collect()
                })
                .collect(),
        };
        let first = solve(&problem, Objective::BestScore);
        for _ in 0..10 {
            assert_eq!(solve(&problem, Objective::BestScore), first);
        }
        assert_eq!(first.matched(), 3);
    }

    #[test]
    fn the_chain_is_known_at_any_depth_and_a_loop_ends() {
        let h = Hierarchy::new([
            ("a".to_owned(), "b".to_owned()),
            ("b".to_owned(), "c".to_owned()),
            ("c".to_owned(), "a".to_owned()),
            ("x".to_owned(), "y".to_owned()),
        ]);
        assert_eq!(
            h.above("a"),
            ["b", "c"].into_iter().map(String::from).collect()
        );
        assert!(h.above("y").is_empty());
    }

    #[test]
    fn weights_are_bounded_and_keep_what_is_not_given() {
        let w = MatchingWeights::validate(
            MatchingWeights::default(),
            [Some(0), None, None, Some(100), None],
        )
        .unwrap_or_default();
        assert_eq!(w.topic_overlap, 0);
        assert_eq!(w.shared_language, 15);
        assert_eq!(w.same_site, 100);
        let err = MatchingWeights::validate(
            MatchingWeights::default(),
            [Some(-1), Some(101), None, None, None],
        );
        assert!(matches!(err, Err(DomainError::Invalid(e)) if e.len() == 2));
    }

    /// The solver alone on the benchmark's size: `cargo test -p mentorat-domain --release
    /// -- --ignored solver_benchmark --nocapture`.
    #[test]
    #[ignore]
    // A measurement, not a rule: the one place of the domain that reads the clock.
    #[allow(clippy::disallowed_methods)]
    fn solver_benchmark() {
        let mut rng = Rng(0xbe4c_0000_0000_0017);
        let mentors = 1000;
        let problem = Problem {
            places: vec![2; mentors],
            edges: (0..2000)
                .map(|_| {
                    let mut edges = Vec::new();
                    for m in 0..mentors {
                        if rng.below(100) < 95 {
                            edges.push(Edge {
                                mentor: m,
                                score: rng.below(90) as u32,
                            });
                        }
                    }
                    edges
                })
                .collect(),
        };
        for objective in Objective::ALL {
            let started = std::time::Instant::now();
            let s = solve(&problem, objective);
            println!(
                "{}: {} matched, total {}, {:?}",
                objective.as_str(),
                s.matched(),
                s.total_score(),
                started.elapsed()
            );
        }
    }
}
