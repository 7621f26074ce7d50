//! Coordination and reports: each pair's health for the coordinators (no content), and a
//! program's figures for coordinators and dashboards, none computed over fewer than k people
//! (R13).

use mentorat_domain::ErrorCode;
use std::collections::BTreeMap;
use std::ops::AddAssign;

use chrono::{DateTime, Utc};
use mentorat_domain::{
    PageLimit,
    anonymity::{self, Cell, CellKey, Window},
    feedback::{CHECK_IN_DIMENSIONS, FINAL_DIMENSIONS},
    health::PairFlag,
    pair::{Pair, PairStatus},
};
use mentorat_persistence::{
    Db, charters,
    pairs::{self, MayShow, PairFilter},
    programs,
    report::{self, GroupBy},
};
use uuid::Uuid;

use crate::{
    error::ServiceError,
    pairs::{PairContext, Viewer, context, context_at},
};

/// One page of pair health: the pairs, their context (flags, counts), and where to go on.
pub struct HealthPage {
    pub pairs: Vec<Pair>,
    pub context: PairContext,
    pub next: Option<Uuid>,
}

/// Every pair of a program with its flags, optionally only those showing `flag`. Without a
/// filter, one page is read with its own context; with one, SQL proposes the pairs that may
/// show the flag (a necessary condition, [`MayShow`]) and the domain keeps those that do —
/// a page reads its candidates, not the whole program.
pub async fn pair_health(
    db: &Db,
    program_id: Uuid,
    flag: Option<PairFlag>,
    after: Option<Uuid>,
    limit: PageLimit,
) -> Result<HealthPage, ServiceError> {
    let program = programs::find(db.conn(), program_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let limit = limit.get();
    let Some(flag) = flag else {
        let filter = PairFilter {
            program_id: Some(program_id),
            ..Default::default()
        };
        let page = pairs::list(db.conn(), &filter, after, limit).await?;
        let context = context(db, &page.items, Viewer::Other).await?;
        return Ok(HealthPage {
            pairs: page.items,
            context,
            next: page.next,
        });
    };
    // One clock for the SQL condition and the domain's rule.
    let now = Utc::now();
    let may = match flag {
        PairFlag::HierarchyConflict => MayShow::HierarchyConflict,
        PairFlag::Suspended => MayShow::Suspended,
        PairFlag::CharterPending => match charters::current_version(db.conn(), program_id).await? {
            Some(current) => MayShow::CharterPending { current },
            // No charter yet: nobody can be behind it.
            None => {
                return Ok(HealthPage {
                    pairs: Vec::new(),
                    context: context(db, &[], Viewer::Other).await?,
                    next: None,
                });
            }
        },
        PairFlag::RescheduleOwed => MayShow::RescheduleOwed,
        PairFlag::Overdue => MayShow::Overdue {
            now,
            cadence_days: program.settings.cadence_days,
        },
        PairFlag::ObjectivesMissing => MayShow::ObjectivesMissing,
    };
    let mut kept: Vec<Pair> = Vec::new();
    let mut cursor = after;
    let mut pages = 0;
    // Usually one read of candidates fills the page: their context is the page's.
    let only_page: Option<PairContext> = loop {
        let page = pairs::may_show(db.conn(), program_id, may, cursor, limit).await?;
        let candidates = context_at(db, &page.items, Viewer::Other, now).await?;
        cursor = page.items.last().map(|p| p.id);
        kept.extend(
            page.items
                .into_iter()
                .filter(|p| candidates.flags(p).contains(&flag)),
        );
        pages += 1;
        if kept.len() > usize::from(limit) || page.next.is_none() {
            break (pages == 1).then_some(candidates);
        }
    };
    let more = kept.len() > usize::from(limit);
    kept.truncate(usize::from(limit));
    let next = if more {
        kept.last().map(|p| p.id)
    } else {
        None
    };
    let context = match only_page {
        Some(context) => context,
        None => context_at(db, &kept, Viewer::Other, now).await?,
    };
    Ok(HealthPage {
        pairs: kept,
        context,
        next,
    })
}

/// A figure, or `None`: left out under k (R13), or nothing to compute it from.
pub type Shown<T> = Option<T>;

/// The figures of a group or of the program.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// No figure is shown (R13: no cell of at least k people in the window). Only the total
    /// can be: a group is listed only with a figure.
    pub suppressed: bool,
    /// The mentees of the pairs counted (a mentee counted once per cell).
    pub people: Shown<i64>,
    /// Pairs formed in the window.
    pub pairs: Shown<i64>,
    /// Pairs that entered each status in the window (`proposed`: formed), counted in the
    /// month they did — never the current status of the pairs formed in it (R13: two
    /// reports of a closed month always agree).
    pub pairs_by_status: BTreeMap<String, Shown<i64>>,
    /// Pairs whose first objective was agreed (achieved) in the window.
    pub pairs_with_objectives_agreed: Shown<i64>,
    pub pairs_with_objectives_achieved: Shown<i64>,
    pub meetings_held: Shown<i64>,
    pub meetings_cancelled: Shown<i64>,
    pub meetings_cancelled_late: Shown<i64>,
    pub meetings_missed: Shown<i64>,
    /// Average days to make up for a cancellation: the kept cells' days over their make-ups
    /// (a sum over a count, R13; a median would be one person's own delay).
    pub average_reschedule_days: Shown<f64>,
    pub share_cross_department: Shown<f64>,
    /// Average score per dimension; `None` when no cell of at least k respondents has it.
    pub feedback: BTreeMap<String, Shown<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// When the figures were computed (a report may come from the cache, see
    /// [`ReportCache`]).
    pub computed_at: DateTime<Utc>,
    pub program_id: Uuid,
    /// The window covered: whole closed months (see [`anonymity::closed_window`]).
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group_by: Option<GroupBy>,
    pub k: u32,
    pub total: Figures,
    pub groups: Vec<(String, Figures)>,
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| round(part as f64 / whole as f64))
}

/// The figures of the pairs formed, that add up across cells.
#[derive(Debug, Clone, Default)]
struct PairSums {
    pairs: i64,
    cross: i64,
}

impl AddAssign for PairSums {
    fn add_assign(&mut self, o: Self) {
        self.pairs += o.pairs;
        self.cross += o.cross;
    }
}

/// held, cancelled, late, missed
#[derive(Debug, Clone, Default)]
struct Meetings([i64; 4]);

impl AddAssign for Meetings {
    fn add_assign(&mut self, o: Self) {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a += b;
        }
    }
}

/// Days to make up for cancellations, and how many make-ups: two sums, so that their
/// average is a sum over a count of kept cells (R13).
#[derive(Debug, Clone, Default)]
struct Days {
    sum: f64,
    make_ups: i64,
}

impl AddAssign for Days {
    fn add_assign(&mut self, o: Self) {
        self.sum += o.sum;
        self.make_ups += o.make_ups;
    }
}

/// dimension → (sum of scores, answers)
#[derive(Debug, Clone, Default)]
struct Scores(BTreeMap<String, (i64, i64)>);

impl AddAssign for Scores {
    fn add_assign(&mut self, o: Self) {
        for (d, (sum, n)) in o.0 {
            let e = self.0.entry(d).or_default();
            e.0 += sum;
            e.1 += n;
        }
    }
}

fn cells_of<C, V>(
    raw: BTreeMap<CellKey, C>,
    people: impl Fn(&C) -> i64,
    value: impl Fn(C) -> V,
) -> Vec<Cell<V>> {
    raw.into_iter()
        .map(|(key, c)| Cell {
            key,
            people: u64::try_from(people(&c)).unwrap_or(0),
            value: value(c),
        })
        .collect()
}

/// One group's (or the total's) figures of every kind.
#[derive(Default)]
struct Kinds {
    pairs: anonymity::Shown<PairSums>,
    /// The pairs' changes, by kind (each kind its own cells and people).
    events: BTreeMap<String, anonymity::Shown<i64>>,
    meetings: anonymity::Shown<Meetings>,
    reschedules: anonymity::Shown<Days>,
    check_ins: anonymity::Shown<Scores>,
    finals: anonymity::Shown<Scores>,
}

fn figures(kinds: Kinds) -> Figures {
    let event = |kind: &str| kinds.events.get(kind).and_then(|e| e.value);
    let pairs = kinds.pairs.value.as_ref();
    let meetings = kinds.meetings.value.as_ref().map(|m| m.0);
    let mut feedback = BTreeMap::new();
    for (dims, scores) in [
        (&CHECK_IN_DIMENSIONS[..], kinds.check_ins.value.as_ref()),
        (&FINAL_DIMENSIONS[..], kinds.finals.value.as_ref()),
    ] {
        for dim in dims {
            let average = scores
                .and_then(|s| s.0.get(*dim))
                .filter(|(_, n)| *n > 0)
                .map(|(sum, n)| round(*sum as f64 / *n as f64));
            feedback.insert((*dim).to_owned(), average);
        }
    }
    let average_reschedule_days = kinds
        .reschedules
        .value
        .and_then(|d| (d.make_ups > 0).then(|| round(d.sum / d.make_ups as f64)));
    Figures {
        suppressed: pairs.is_none()
            && kinds.events.values().all(|e| e.value.is_none())
            && meetings.is_none()
            && average_reschedule_days.is_none()
            && feedback.values().all(Option::is_none),
        people: pairs.map(|_| i64::try_from(kinds.pairs.people).unwrap_or(i64::MAX)),
        pairs: pairs.map(|p| p.pairs),
        pairs_by_status: PairStatus::ALL
            .map(PairStatus::as_str)
            .into_iter()
            .map(|s| {
                let shown = if s == PairStatus::Proposed.as_str() {
                    pairs.map(|p| p.pairs)
                } else {
                    event(s)
                };
                (s.to_owned(), shown)
            })
            .collect(),
        pairs_with_objectives_agreed: event("objectives_agreed"),
        pairs_with_objectives_achieved: event("objectives_achieved"),
        meetings_held: meetings.map(|m| m[0]),
        meetings_cancelled: meetings.map(|m| m[1]),
        meetings_cancelled_late: meetings.map(|m| m[2]),
        meetings_missed: meetings.map(|m| m[3]),
        average_reschedule_days,
        share_cross_department: pairs.and_then(|p| share(p.cross, p.pairs)),
        feedback,
    }
}

/// The program's figures over `window` (whole closed months), by the mentee's department
/// or site, under R13: each kind of figure is the sum of its department × site × month
/// cells of at least k people, in every group and in the total; a cell under k is in none.
pub async fn report(
    db: &Db,
    program_id: Uuid,
    window: Window,
    group_by: Option<GroupBy>,
    k: u32,
) -> Result<Report, ServiceError> {
    programs::find(db.conn(), program_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let k = anonymity::effective_k(k);
    let instant = |m: anonymity::Month| {
        m.first_day()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
            .ok_or(ServiceError::Unprocessable(
                ErrorCode::ReportWindowOpen,
                "the window is out of range".into(),
            ))
    };
    let (from, to) = (instant(window.from)?, instant(window.to)?);
    let raw = report::cells(db.conn(), program_id, from, to).await?;
    let pairs = cells_of(
        raw.pairs,
        |c| c.mentees,
        |c| PairSums {
            pairs: c.pairs,
            cross: c.cross_department,
        },
    );
    let meetings = cells_of(raw.meetings, |c| c.mentees, |c| Meetings(c.counts));
    let reschedules = cells_of(
        raw.reschedules,
        |c| c.mentees,
        |c| Days {
            sum: c.days.iter().sum(),
            make_ups: i64::try_from(c.days.len()).unwrap_or(i64::MAX),
        },
    );
    let check_ins = cells_of(raw.check_ins, |c| c.respondents, |c| Scores(c.scores));
    let finals = cells_of(raw.finals, |c| c.respondents, |c| Scores(c.scores));
    let pairs = anonymity::publish(&pairs, window, group_by, k);
    let mut events = BTreeMap::new();
    for kind in report::PAIR_EVENTS {
        let cells = cells_of(
            raw.pair_events.get(kind).cloned().unwrap_or_default(),
            |c| c.mentees,
            |c| c.pairs,
        );
        events.insert(kind, anonymity::publish(&cells, window, group_by, k));
    }
    let meetings = anonymity::publish(&meetings, window, group_by, k);
    let reschedules = anonymity::publish(&reschedules, window, group_by, k);
    let check_ins = anonymity::publish(&check_ins, window, group_by, k);
    let finals = anonymity::publish(&finals, window, group_by, k);
    let mut groups: BTreeMap<String, Kinds> = BTreeMap::new();
    for (name, shown) in pairs.groups {
        groups.entry(name).or_default().pairs = shown;
    }
    let mut total_events = BTreeMap::new();
    for (kind, published) in events {
        for (name, shown) in published.groups {
            groups
                .entry(name)
                .or_default()
                .events
                .insert(kind.to_owned(), shown);
        }
        total_events.insert(kind.to_owned(), published.total);
    }
    for (name, shown) in meetings.groups {
        groups.entry(name).or_default().meetings = shown;
    }
    for (name, shown) in reschedules.groups {
        groups.entry(name).or_default().reschedules = shown;
    }
    for (name, shown) in check_ins.groups {
        groups.entry(name).or_default().check_ins = shown;
    }
    for (name, shown) in finals.groups {
        groups.entry(name).or_default().finals = shown;
    }
    let total = figures(Kinds {
        pairs: pairs.total,
        events: total_events,
        meetings: meetings.total,
        reschedules: reschedules.total,
        check_ins: check_ins.total,
        finals: finals.total,
    });
    Ok(Report {
        computed_at: Utc::now(),
        program_id,
        from,
        to,
        group_by,
        k,
        total,
        groups: groups
            .into_iter()
            .map(|(name, kinds)| (name, figures(kinds)))
            .collect(),
    })
}

type CacheKey = (Uuid, Window, Option<GroupBy>, u32);

/// Reports computed in the last minute, per replica: a dashboard that polls, or several
/// analysts opening the same page, cost one computation a minute (a cold report of 50,000
/// pairs takes about a second; see BENCHMARKS.md). Only anonymized figures are kept.
pub struct ReportCache {
    ttl: std::time::Duration,
    entries: std::sync::Mutex<std::collections::HashMap<CacheKey, (std::time::Instant, Report)>>,
}

impl ReportCache {
    const MAX_ENTRIES: usize = 256;

    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl,
            entries: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn get(&self, key: &CacheKey) -> Option<Report> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, r)| r.clone())
    }

    fn put(&self, key: CacheKey, report: Report) {
        if let Ok(mut entries) = self.entries.lock() {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= Self::MAX_ENTRIES {
                return;
            }
            entries.insert(key, (std::time::Instant::now(), report));
        }
    }
}

/// The report a caller asks for: the days requested (`from`, `to`, checked by
/// [`anonymity::check_requested_days`]) become whole closed months by today's clock
/// ([`anonymity::closed_window`]; none closed: `422 report_window_open`), then the figures
/// come through the cache.
pub async fn requested_report(
    cache: &ReportCache,
    db: &Db,
    program_id: Uuid,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    group_by: Option<GroupBy>,
    k: u32,
) -> Result<Report, ServiceError> {
    anonymity::check_requested_days(from, to)?;
    let window = anonymity::closed_window(from, to, Utc::now().date_naive())
        .map_err(|e| ServiceError::Unprocessable(ErrorCode::ReportWindowOpen, e.to_string()))?;
    cached_report(cache, db, program_id, window, group_by, k).await
}

/// [`report`], through the cache.
async fn cached_report(
    cache: &ReportCache,
    db: &Db,
    program_id: Uuid,
    window: Window,
    group_by: Option<GroupBy>,
    k: u32,
) -> Result<Report, ServiceError> {
    let key = (program_id, window, group_by, k);
    if let Some(hit) = cache.get(&key) {
        return Ok(hit);
    }
    let fresh = report(db, program_id, window, group_by, k).await?;
    cache.put(key, fresh.clone());
    Ok(fresh)
}
