//! R13: no published figure — and no sum or difference of published figures, across
//! groupings, windows and repeated requests — is about fewer than k people (k ≥ 5).
//!
//! Sound by construction, not by searching for attacks:
//!
//! - The finest **cells** are (department × site × calendar month). Every figure of a report
//!   is made of contributions, each belonging to one person in one cell (a pair's figures to
//!   its mentee in the cell of the month the pair was formed, a meeting to its pair's mentee
//!   in the month it was recorded, a score to its author in the month it was given).
//! - A cell's **people**, for one kind of figure, are the distinct people who contributed to
//!   that kind in that cell (someone who contributed nothing is not counted: a group of
//!   people known to have nothing — proposed pairs have no meetings — covers nobody).
//! - A cell with fewer than k people is **left out of every figure** of that kind: groups and
//!   totals, in every grouping and every window ([`publish`]).
//! - Every published figure is a **sum of kept cells** (averages and shares are a sum over a
//!   count, both sums of kept cells), and windows are **whole closed months** ([`closed_window`]),
//!   so a window or a group is always a union of whole cells — and a closed month never changes
//!   again (contributions are dated when they are recorded).
//!
//! Then any linear combination of published figures — any sum or difference, of any reports —
//! is a combination of kept cells' sums, and is the same for every assignment of the values
//! that keeps each kept cell's sum: it can only depend on the people of the kept cells it
//! touches, each of which holds at least k people. A group of fewer than k people is a proper
//! part of every kept cell it meets, or meets none, so its own sum (or count) is never
//! determined: its indicator vector is outside the row space of the published figures. The
//! property test at the bottom of this file checks exactly that, with exact rational
//! arithmetic, for random small programs and every report the API can produce.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::AddAssign;

use chrono::{Datelike, NaiveDate};

/// The smallest k the service accepts.
pub const MIN_K: u32 = 5;

/// The k applied: the configured one, never below [`MIN_K`].
pub fn effective_k(k: u32) -> u32 {
    k.max(MIN_K)
}

/// A calendar month (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    pub fn new(year: i32, month: u32) -> Option<Self> {
        (1..=12).contains(&month).then_some(Self { year, month })
    }

    /// The month a day falls in.
    pub fn of(day: NaiveDate) -> Self {
        Self {
            year: day.year(),
            month: day.month(),
        }
    }

    /// `YYYY-MM`, as the report queries read months.
    pub fn parse(s: &str) -> Option<Self> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        Self::new(y.parse().ok()?, m.parse().ok()?)
    }

    pub fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// `n` months earlier.
    pub fn minus(self, n: u32) -> Self {
        let index = i64::from(self.year) * 12 + i64::from(self.month) - 1 - i64::from(n);
        Self {
            year: i32::try_from(index.div_euclid(12)).unwrap_or(i32::MIN),
            month: u32::try_from(index.rem_euclid(12)).unwrap_or(0) + 1,
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Whole months `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    pub from: Month,
    pub to: Month,
}

impl Window {
    pub fn contains(&self, m: Month) -> bool {
        self.from <= m && m < self.to
    }
}

/// Why a window cannot be reported on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error(
        "the window holds no closed month: a month's figures are published once it has ended \
         (the running month is {running})"
    )]
    NoClosedMonth { running: Month },
}

/// How many closed months a report covers when `from` is not given.
pub const DEFAULT_MONTHS: u32 = 12;

/// The window a report covers for the requested days `[from, to)`, `today` being the
/// running day (UTC): widened to whole months (`from` to the first of its month, `to` to the
/// first of the next month unless it is a first already) and cut at the running month, which
/// is shown only once it has closed. Without `to`, up to the running month; without `from`,
/// the [`DEFAULT_MONTHS`] months before `to`.
pub fn closed_window(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Window, WindowError> {
    let running = Month::of(today);
    let to = to.map_or(running, |d| {
        if d.day() == 1 {
            Month::of(d)
        } else {
            Month::of(d).next()
        }
    });
    let to = to.min(running);
    let from = from.map_or(to.minus(DEFAULT_MONTHS), Month::of);
    if from >= to {
        return Err(WindowError::NoClosedMonth { running });
    }
    Ok(Window { from, to })
}

/// What a report groups by: the mentee's department or site when the pair was formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grouping {
    Department,
    Site,
}

impl Grouping {
    pub const ALL: [Grouping; 2] = [Grouping::Department, Grouping::Site];

    pub fn as_str(self) -> &'static str {
        match self {
            Grouping::Department => "department",
            Grouping::Site => "site",
        }
    }
}

/// The days a report is asked for, before they become a [`Window`]: each in a year from 1970
/// to 9999 (`/from`, `/to`), and `from` before `to` when both are given (`/from`).
pub fn check_requested_days(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<(), crate::error::DomainError> {
    use crate::error::{DomainError, FieldError};
    let in_range = |d: &NaiveDate| (1970..=9999).contains(&d.year());
    for (pointer, date) in [("/from", &from), ("/to", &to)] {
        if date.as_ref().is_some_and(|d| !in_range(d)) {
            return Err(DomainError::Invalid(vec![FieldError::new(
                pointer,
                "a date between 1970-01-01 and 9999-12-31",
            )]));
        }
    }
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        return Err(DomainError::Invalid(vec![FieldError::new(
            "/from",
            format!("from ({from}) must come before to ({to})"),
        )]));
    }
    Ok(())
}

/// A cell's place: department × site × month.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    pub department: String,
    pub site: String,
    pub month: Month,
}

/// One cell of one kind of figure: how many distinct people contributed to it, and the sum
/// of their contributions (`V`: any figures that add up — counts, sums of scores, lists of
/// delays).
#[derive(Debug, Clone, PartialEq)]
pub struct Cell<V> {
    pub key: CellKey,
    pub people: u64,
    pub value: V,
}

/// A group's (or the total's) figures of one kind: made of its kept cells only. Nothing
/// says how many cells, or people, were left out — that count would itself be a figure about
/// fewer than k (a department known to have one mentee, one cell left out: that mentee took
/// part), and it would change with cells that no other figure can see.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown<V> {
    /// The sum of the kept cells; `None` when no cell is kept.
    pub value: Option<V>,
    /// The people of the kept cells (a person counted once per cell).
    pub people: u64,
}

impl<V> Default for Shown<V> {
    fn default() -> Self {
        Self {
            value: None,
            people: 0,
        }
    }
}

impl<V: Clone + AddAssign> Shown<V> {
    fn add(&mut self, cell: &Cell<V>) {
        self.people += cell.people;
        match &mut self.value {
            Some(v) => *v += cell.value.clone(),
            None => self.value = Some(cell.value.clone()),
        }
    }
}

/// One kind of figure, published: by group (when grouped) and in total.
#[derive(Debug, Clone, PartialEq)]
pub struct Published<V> {
    /// The groups with at least one kept cell in the window. A group whose cells are all
    /// under k is not listed, as a group with no cell is not: both read the same, so that a
    /// group's name never says that someone of it contributed.
    pub groups: BTreeMap<String, Shown<V>>,
    pub total: Shown<V>,
}

/// Whether a cell of `people` is kept.
pub fn kept(people: u64, k: u32) -> bool {
    people >= u64::from(effective_k(k))
}

/// The figures of one kind over `window`, by `grouping`: each group and the total are the
/// sums of their cells of at least k people; cells under k are in no figure at all, and
/// leave no trace (no group listed for them, no count of them). What is published is the
/// same whatever the cells under k hold — nobody, or up to k − 1 people with any values. One
/// cell per key is expected (the people of a cell are distinct people, they do not add up).
pub fn publish<V: Clone + AddAssign>(
    cells: &[Cell<V>],
    window: Window,
    grouping: Option<Grouping>,
    k: u32,
) -> Published<V> {
    let mut groups: BTreeMap<String, Shown<V>> = BTreeMap::new();
    let mut total = Shown::default();
    for cell in cells
        .iter()
        .filter(|c| window.contains(c.key.month) && kept(c.people, k))
    {
        total.add(cell);
        let name = match grouping {
            Some(Grouping::Department) => &cell.key.department,
            Some(Grouping::Site) => &cell.key.site,
            None => continue,
        };
        groups.entry(name.clone()).or_default().add(cell);
    }
    Published { groups, total }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(d: &str, s: &str, m: u32) -> CellKey {
        CellKey {
            department: d.into(),
            site: s.into(),
            month: Month::new(2026, m).unwrap(),
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn windows_are_whole_closed_months() {
        let today = day("2026-12-03");
        let m = |y, m| Month::new(y, m).unwrap();
        // Widened to whole months, cut at the running month.
        assert_eq!(
            closed_window(Some(day("2026-10-15")), Some(day("2026-11-20")), today),
            Ok(Window {
                from: m(2026, 10),
                to: m(2026, 12)
            })
        );
        assert_eq!(
            closed_window(Some(day("2026-10-01")), Some(day("2026-11-01")), today),
            Ok(Window {
                from: m(2026, 10),
                to: m(2026, 11)
            })
        );
        // Day n and day n+1 of a month give the same window.
        assert_eq!(
            closed_window(None, Some(day("2026-11-10")), today),
            closed_window(None, Some(day("2026-11-11")), today)
        );
        // Defaults: the twelve closed months before the running one.
        assert_eq!(
            closed_window(None, None, today),
            Ok(Window {
                from: m(2025, 12),
                to: m(2026, 12)
            })
        );
        // Nothing closed yet.
        assert_eq!(
            closed_window(Some(day("2026-12-01")), None, today),
            Err(WindowError::NoClosedMonth {
                running: m(2026, 12)
            })
        );
        assert_eq!(m(2026, 1).minus(1), m(2025, 12));
        assert_eq!(m(2026, 3).minus(14), m(2025, 1));
        assert_eq!(Month::parse("2026-07"), Some(m(2026, 7)));
        assert_eq!(Month::parse("2026-13"), None);
        assert_eq!(m(2026, 7).to_string(), "2026-07");
    }

    #[test]
    fn a_cell_under_k_is_in_no_group_and_not_in_the_total() {
        // The attack: D1 (5 at A), D2 (4 at A, 1 at B), D3 (5 at C).
        let cells = vec![
            Cell {
                key: key("D1", "A", 10),
                people: 5,
                value: 50i64,
            },
            Cell {
                key: key("D2", "A", 10),
                people: 4,
                value: 40,
            },
            Cell {
                key: key("D2", "B", 10),
                people: 1,
                value: 7,
            },
            Cell {
                key: key("D3", "C", 10),
                people: 5,
                value: 55,
            },
        ];
        let window = Window {
            from: Month::new(2026, 10).unwrap(),
            to: Month::new(2026, 11).unwrap(),
        };
        let by_dept = publish(&cells, window, Some(Grouping::Department), 5);
        let by_site = publish(&cells, window, Some(Grouping::Site), 5);
        assert_eq!(by_dept.groups["D1"].value, Some(50));
        // D2's cells are both under k: D2 is not listed, nor is site B.
        assert!(!by_dept.groups.contains_key("D2"));
        assert_eq!(by_site.groups["A"].value, Some(50));
        assert!(!by_site.groups.contains_key("B"));
        assert_eq!(by_dept.total.value, Some(105));
        assert_eq!(by_site.total.value, Some(105));
        assert_eq!(by_dept.total.people, 10);
        // Without D2 at all, the same is published.
        let without: Vec<_> = cells
            .iter()
            .filter(|c| c.key.department != "D2")
            .cloned()
            .collect();
        assert_eq!(
            publish(&without, window, Some(Grouping::Department), 5),
            by_dept
        );
        assert_eq!(publish(&without, window, Some(Grouping::Site), 5), by_site);
        // k below five is five.
        assert_eq!(publish(&cells, window, None, 2).total.value, Some(105));
    }
}

/// The property test: exact linear algebra over the rationals.
#[cfg(test)]
mod differencing {
    use super::*;
    use std::collections::BTreeSet;

    /// A fraction of i128, always reduced, denominator positive.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Q(i128, i128);

    fn gcd(a: i128, b: i128) -> i128 {
        let (mut a, mut b) = (a.abs(), b.abs());
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    }

    impl Q {
        const ZERO: Q = Q(0, 1);
        fn new(n: i128, d: i128) -> Q {
            assert!(d != 0);
            let g = gcd(n, d).max(1);
            let s = if d < 0 { -1 } else { 1 };
            Q(s * n / g, s * d / g)
        }
        fn is_zero(self) -> bool {
            self.0 == 0
        }
        fn sub(self, o: Q) -> Q {
            Q::new(self.0 * o.1 - o.0 * self.1, self.1 * o.1)
        }
        fn mul(self, o: Q) -> Q {
            Q::new(self.0 * o.0, self.1 * o.1)
        }
        fn div(self, o: Q) -> Q {
            Q::new(self.0 * o.1, self.1 * o.0)
        }
    }

    /// Row-reduced basis of a row space, over the rationals.
    struct Basis {
        width: usize,
        /// (pivot column, row with 1 at the pivot and 0 at every other row's pivot)
        rows: Vec<(usize, Vec<Q>)>,
    }

    impl Basis {
        fn new(width: usize) -> Self {
            Self {
                width,
                rows: Vec::new(),
            }
        }

        /// `v` minus its projection on the basis (zero iff `v` is in the row space).
        fn reduce(&self, mut v: Vec<Q>) -> Vec<Q> {
            for (pivot, row) in &self.rows {
                let f = v[*pivot];
                if !f.is_zero() {
                    for (x, r) in v.iter_mut().zip(row) {
                        *x = x.sub(f.mul(*r));
                    }
                }
            }
            v
        }

        fn insert(&mut self, v: Vec<Q>) {
            assert_eq!(v.len(), self.width);
            let v = self.reduce(v);
            let Some(pivot) = v.iter().position(|x| !x.is_zero()) else {
                return;
            };
            let p = v[pivot];
            let v: Vec<Q> = v.into_iter().map(|x| x.div(p)).collect();
            for (_, row) in &mut self.rows {
                let f = row[pivot];
                if !f.is_zero() {
                    for (x, r) in row.iter_mut().zip(&v) {
                        *x = x.sub(f.mul(*r));
                    }
                }
            }
            self.rows.push((pivot, v));
        }

        fn spans(&self, v: Vec<Q>) -> bool {
            self.reduce(v).iter().all(|x| x.is_zero())
        }
    }

    /// SplitMix64: a seeded generator, so a failure replays.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// A small program: people, each in one department and site, contributing in some months
    /// (a person may contribute in several months: one unknown per person and month).
    struct Program {
        months: Vec<Month>,
        /// unknowns: (person, department, site, month)
        unknowns: Vec<(usize, String, String, Month)>,
    }

    fn random_program(rng: &mut Rng) -> Program {
        let departments = 2 + rng.below(2) as usize;
        let sites = 2 + rng.below(2) as usize;
        let months: Vec<Month> = (0..2 + rng.below(3) as u32)
            .map(|i| Month::new(2026, 3 + i).unwrap())
            .collect();
        let people = 8 + rng.below(30) as usize;
        let mut unknowns = Vec::new();
        for person in 0..people {
            // Skewed towards D0, so that both kept and small cells are common.
            let d = format!(
                "D{}",
                rng.below(departments as u64)
                    .min(rng.below(departments as u64))
            );
            let s = format!("S{}", rng.below(sites as u64));
            for &m in &months {
                // Contributes this month with probability 1/2 (a person known to have
                // contributed nothing has no unknown: they cover nobody).
                if rng.below(2) == 0 {
                    unknowns.push((person, d.clone(), s.clone(), m));
                }
            }
        }
        Program { months, unknowns }
    }

    fn key_of(u: &(usize, String, String, Month)) -> CellKey {
        CellKey {
            department: u.1.clone(),
            site: u.2.clone(),
            month: u.3,
        }
    }

    /// A figure as a row over the unknowns: `publish` is run on symbolic values.
    #[derive(Clone, Debug, PartialEq)]
    struct Row(Vec<i128>);
    impl AddAssign for Row {
        fn add_assign(&mut self, o: Row) {
            for (a, b) in self.0.iter_mut().zip(o.0) {
                *a += b;
            }
        }
    }

    fn cells(p: &Program) -> Vec<Cell<Row>> {
        let mut by_key: BTreeMap<CellKey, (BTreeSet<usize>, Vec<i128>)> = BTreeMap::new();
        for (i, u) in p.unknowns.iter().enumerate() {
            let e = by_key
                .entry(key_of(u))
                .or_insert_with(|| (BTreeSet::new(), vec![0; p.unknowns.len()]));
            e.0.insert(u.0);
            e.1[i] = 1;
        }
        by_key
            .into_iter()
            .map(|(key, (people, row))| Cell {
                key,
                people: people.len() as u64,
                value: Row(row),
            })
            .collect()
    }

    /// Every report the API can produce: every grouping, every window of whole months.
    fn every_publication(p: &Program, cells: &[Cell<Row>], k: u32) -> Vec<Published<Row>> {
        let mut out = Vec::new();
        let first = p.months[0];
        let end = p.months[p.months.len() - 1].next();
        let mut from = first.minus(1);
        while from < end {
            let mut to = from.next();
            while to <= end.next() {
                for grouping in [None, Some(Grouping::Department), Some(Grouping::Site)] {
                    out.push(publish(cells, Window { from, to }, grouping, k));
                }
                to = to.next();
            }
            from = from.next();
        }
        out
    }

    /// Every number those reports publish, as a row over the unknowns. A figure's value is
    /// its row. The same rows stand for sums (scores, meetings, days) and counts (answers,
    /// pairs, make-ups): each is a sum over the same contributions. And the count of people
    /// of a group is the same row read as a count of person-cells: checked here, figure by
    /// figure, so it is in the row space too.
    fn every_published_row(p: &Program, cells: &[Cell<Row>], k: u32) -> Vec<Vec<i128>> {
        let mut rows = Vec::new();
        for published in every_publication(p, cells, k) {
            for shown in std::iter::once(&published.total).chain(published.groups.values()) {
                let row = shown.value.as_ref().map(|r| r.0.clone());
                let terms = row
                    .as_ref()
                    .map_or(0, |r| r.iter().filter(|&&x| x != 0).count());
                assert_eq!(
                    shown.people as usize, terms,
                    "people is not its row's count"
                );
                // A listed group always shows a figure: its name is no figure of its own.
                assert!(row.is_some() || shown.people == 0);
                rows.extend(row);
            }
            for shown in published.groups.values() {
                assert!(shown.value.is_some(), "a group listed without a figure");
            }
        }
        rows
    }

    /// The cells under k, changed every way an attacker would want to tell apart: emptied
    /// (nobody contributed), or another number of people under k with other values.
    fn with_small_cells_changed(cells: &[Cell<Row>], k: u32, rng: &mut Rng) -> Vec<Cell<Row>> {
        let k = u64::from(effective_k(k));
        cells
            .iter()
            .filter_map(|c| {
                if c.people >= k {
                    return Some(c.clone());
                }
                if rng.below(3) == 0 {
                    return None;
                }
                let mut c = c.clone();
                c.people = 1 + rng.below(k - 1);
                for x in &mut c.value.0 {
                    *x = i128::from(rng.below(4) as u8) - 1;
                }
                Some(c)
            })
            .collect()
    }

    fn basis_of(rows: &[Vec<i128>], width: usize) -> Basis {
        let mut basis = Basis::new(width);
        for r in rows {
            basis.insert(r.iter().map(|&x| Q::new(x, 1)).collect());
        }
        basis
    }

    /// The groups of fewer than k people an attacker would aim at: every person alone, every
    /// cell under k, every union of up to three cells under k together, and random sets of
    /// unknowns over fewer than k people.
    fn small_groups(p: &Program, cells: &[Cell<Row>], k: u32, rng: &mut Rng) -> Vec<Vec<usize>> {
        let k = effective_k(k) as usize;
        let n = p.unknowns.len();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let people: BTreeSet<usize> = p.unknowns.iter().map(|u| u.0).collect();
        for &person in &people {
            let mine: Vec<usize> = (0..n).filter(|&i| p.unknowns[i].0 == person).collect();
            for &i in &mine {
                groups.push(vec![i]);
            }
            groups.push(mine);
        }
        let small: Vec<(Vec<usize>, BTreeSet<usize>)> = cells
            .iter()
            .filter(|c| (c.people as usize) < k)
            .map(|c| {
                let idx: Vec<usize> = (0..n).filter(|&i| c.value.0[i] != 0).collect();
                let who = idx.iter().map(|&i| p.unknowns[i].0).collect();
                (idx, who)
            })
            .collect();
        for a in 0..small.len() {
            for b in a..small.len() {
                for c in b..small.len() {
                    let mut idx: BTreeSet<usize> = BTreeSet::new();
                    let mut who: BTreeSet<usize> = BTreeSet::new();
                    for &x in [a, b, c].iter().collect::<BTreeSet<_>>() {
                        idx.extend(&small[x].0);
                        who.extend(&small[x].1);
                    }
                    if who.len() < k {
                        groups.push(idx.into_iter().collect());
                    }
                }
            }
        }
        let people: Vec<usize> = people.into_iter().collect();
        for _ in 0..200 {
            let size = 1 + rng.below(k as u64 - 1) as usize;
            let chosen: BTreeSet<usize> = (0..size)
                .map(|_| people[rng.below(people.len() as u64) as usize])
                .collect();
            let idx: Vec<usize> = (0..n)
                .filter(|&i| chosen.contains(&p.unknowns[i].0) && rng.below(3) > 0)
                .collect();
            if !idx.is_empty() {
                groups.push(idx);
            }
        }
        groups
    }

    fn indicator(idx: &[usize], n: usize) -> Vec<Q> {
        let mut v = vec![Q::ZERO; n];
        for &i in idx {
            v[i] = Q::new(1, 1);
        }
        v
    }

    #[test]
    fn no_group_under_k_is_in_the_row_space_of_every_report() {
        let mut rng = Rng(0x5EED_0013);
        let mut small_seen = 0;
        let mut kept_seen = 0;
        for case in 0..150 {
            let p = random_program(&mut rng);
            let n = p.unknowns.len();
            if n == 0 {
                continue;
            }
            let cells = cells(&p);
            let k = MIN_K + if case % 4 == 0 { 1 } else { 0 };
            let rows = every_published_row(&p, &cells, k);
            let basis = basis_of(&rows, n);
            // Every published number — the groups listed, their people, every figure — is
            // the same whatever the cells under k hold: their presence, their number of
            // people, their values. Nothing counts them.
            let published = every_publication(&p, &cells, k);
            for _ in 0..3 {
                let changed = with_small_cells_changed(&cells, k, &mut rng);
                assert!(
                    every_publication(&p, &changed, k) == published,
                    "case {case}: a report changes with the cells under k"
                );
            }
            for group in small_groups(&p, &cells, k, &mut rng) {
                small_seen += 1;
                assert!(
                    !basis.spans(indicator(&group, n)),
                    "case {case}: a group under k is determined by the published figures: {:?}",
                    group.iter().map(|&i| &p.unknowns[i]).collect::<Vec<_>>()
                );
            }
            // And the published figures do say something: each month's kept cells together
            // are determined (the test is not vacuous).
            for &m in &p.months {
                let idx: Vec<usize> = (0..n)
                    .filter(|&i| {
                        p.unknowns[i].3 == m
                            && cells
                                .iter()
                                .any(|c| c.key == key_of(&p.unknowns[i]) && kept(c.people, k))
                    })
                    .collect();
                if !idx.is_empty() {
                    kept_seen += 1;
                    assert!(
                        basis.spans(indicator(&idx, n)),
                        "case {case}: kept cells unseen"
                    );
                }
            }
        }
        assert!(
            small_seen > 1000 && kept_seen > 30,
            "{small_seen} {kept_seen}"
        );
    }

    /// The checker finds the attack of issue 12 on suppression inside one report: D1 (5
    /// mentees at site A), D2 (4 at A, 1 at B), D3 (5 at C); by department, by site.
    #[test]
    fn the_checker_catches_suppression_inside_one_report() {
        let month = Month::new(2026, 3).unwrap();
        let mut unknowns = Vec::new();
        let mut person = 0;
        for (d, s, n) in [
            ("D1", "A", 5),
            ("D2", "A", 4),
            ("D2", "B", 1),
            ("D3", "C", 5),
        ] {
            for _ in 0..n {
                unknowns.push((person, d.to_owned(), s.to_owned(), month));
                person += 1;
            }
        }
        let p = Program {
            months: vec![month],
            unknowns,
        };
        let n = p.unknowns.len();
        // Per-report suppression: a group is hidden when under 5, cells are not.
        let mut rows = Vec::new();
        for by in [
            |u: &(usize, String, String, Month)| u.1.clone(),
            |u: &(usize, String, String, Month)| u.2.clone(),
        ] {
            let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for (i, u) in p.unknowns.iter().enumerate() {
                groups.entry(by(u)).or_default().push(i);
            }
            for members in groups.values().filter(|m| m.len() >= 5) {
                let mut row = vec![0; n];
                for &i in members {
                    row[i] = 1;
                }
                rows.push(row);
            }
        }
        let lone = p.unknowns.iter().position(|u| u.2 == "B").unwrap();
        assert!(basis_of(&rows, n).spans(indicator(&[lone], n)));
        // The cells of this module: site B is in no figure.
        let cells = cells(&p);
        let rows = every_published_row(&p, &cells, 5);
        assert!(!basis_of(&rows, n).spans(indicator(&[lone], n)));
    }

    #[test]
    fn requested_days_are_in_range_and_in_order() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day);
        assert!(check_requested_days(None, None).is_ok());
        assert!(check_requested_days(d(2026, 1, 1), d(2026, 2, 1)).is_ok());
        let pointer = |r: Result<(), crate::error::DomainError>| match r {
            Err(crate::error::DomainError::Invalid(f)) => f[0].pointer.clone(),
            other => panic!("expected Invalid, got {other:?}"),
        };
        assert_eq!(
            pointer(check_requested_days(d(1969, 12, 31), None)),
            "/from"
        );
        assert_eq!(pointer(check_requested_days(None, d(1969, 1, 1))), "/to");
        assert_eq!(
            pointer(check_requested_days(d(2026, 2, 1), d(2026, 2, 1))),
            "/from"
        );
    }

    #[test]
    fn groupings_are_spelled_once() {
        let names: Vec<&str> = Grouping::ALL.iter().map(|g| g.as_str()).collect();
        assert_eq!(names, ["department", "site"]);
    }
}
