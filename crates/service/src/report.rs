//! Coordination and reports: each pair's health for the coordinators (no content), and a
//! program's figures for coordinators and dashboards, none computed over fewer than k people
//! (R13).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mentorat_domain::{PageLimit, anonymity, health::PairFlag, pair::Pair};
use mentorat_persistence::{
    Db, charters,
    pairs::{self, MayShow, PairFilter},
    programs,
    report::{self, GroupBy, RawFigures},
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

/// A figure, or why it is not shown.
pub type Shown<T> = Option<T>;

/// The figures of a group or of the program.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Hidden (R13): under k people, or hidden with a small group so that no subtraction
    /// reveals it.
    pub suppressed: bool,
    pub people: Shown<i64>,
    pub pairs: Shown<i64>,
    pub pairs_by_status: BTreeMap<String, Shown<i64>>,
    pub meetings_held: Shown<i64>,
    pub meetings_cancelled: Shown<i64>,
    pub meetings_cancelled_late: Shown<i64>,
    pub meetings_missed: Shown<i64>,
    pub median_reschedule_days: Shown<f64>,
    pub share_with_agreed_objectives: Shown<f64>,
    pub share_with_achieved_objectives: Shown<f64>,
    pub share_cross_department: Shown<f64>,
    /// Average score per dimension; a dimension answered by fewer than k people is hidden.
    pub feedback: BTreeMap<String, Shown<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// When the figures were computed (a report may come from the cache, see
    /// [`ReportCache`]).
    pub computed_at: DateTime<Utc>,
    pub program_id: Uuid,
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

fn shown(
    raw: &RawFigures,
    hidden: bool,
    feedback_hidden: &BTreeMap<String, bool>,
    k: u32,
) -> Figures {
    if hidden {
        return Figures {
            suppressed: true,
            ..Figures::default()
        };
    }
    Figures {
        suppressed: false,
        people: Some(raw.people),
        pairs: Some(raw.pairs),
        pairs_by_status: ["proposed", "active", "completed", "ended", "suspended"]
            .into_iter()
            .map(|s| {
                (
                    s.to_owned(),
                    Some(raw.by_status.get(s).copied().unwrap_or(0)),
                )
            })
            .collect(),
        meetings_held: Some(raw.meetings_held),
        meetings_cancelled: Some(raw.meetings_cancelled),
        meetings_cancelled_late: Some(raw.meetings_cancelled_late),
        meetings_missed: Some(raw.meetings_missed),
        // A median over fewer than k rescheduled pairs would describe those few (R13).
        median_reschedule_days: raw
            .median_reschedule_days
            .filter(|_| raw.median_pairs >= i64::from(k.max(anonymity::MIN_K)))
            .map(round),
        share_with_agreed_objectives: share(raw.with_agreed_objectives, raw.pairs),
        share_with_achieved_objectives: share(raw.with_achieved_objectives, raw.pairs),
        share_cross_department: share(raw.cross_department, raw.pairs),
        feedback: raw
            .feedback
            .iter()
            .map(|(dim, (sum, answers, _))| {
                let hide = feedback_hidden.get(dim).copied().unwrap_or(true) || *answers == 0;
                (
                    dim.clone(),
                    (!hide).then(|| round(*sum as f64 / *answers as f64)),
                )
            })
            .collect(),
    }
}

/// The program's figures over `[from, to)`, by the mentee's department or site, with R13's
/// suppression applied to every group, every feedback dimension and the total.
pub async fn report(
    db: &Db,
    program_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group_by: Option<GroupBy>,
    k: u32,
) -> Result<Report, ServiceError> {
    programs::find(db.conn(), program_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let raw = report::figures(db.conn(), program_id, from, to, group_by).await?;
    let names: Vec<&String> = raw.groups.keys().collect();
    let people: Vec<u64> = raw
        .groups
        .values()
        .map(|f| u64::try_from(f.people).unwrap_or(0))
        .collect();
    let total_people = u64::try_from(raw.total.people).unwrap_or(0);
    let (hidden, total_hidden) = anonymity::suppress(&people, total_people, k);
    // Each feedback dimension on its own: the people who answered it.
    let dims: Vec<String> = raw.total.feedback.keys().cloned().collect();
    let mut group_feedback_hidden: Vec<BTreeMap<String, bool>> = vec![BTreeMap::new(); names.len()];
    let mut total_feedback_hidden = BTreeMap::new();
    for dim in &dims {
        let answered: Vec<u64> = raw
            .groups
            .values()
            .map(|f| {
                f.feedback
                    .get(dim)
                    .map_or(0, |v| u64::try_from(v.2).unwrap_or(0))
            })
            .collect();
        let total_answered = raw
            .total
            .feedback
            .get(dim)
            .map_or(0, |v| u64::try_from(v.2).unwrap_or(0));
        let (h, th) = anonymity::suppress_answers(&answered, total_answered, k);
        for (i, hide) in h.into_iter().enumerate() {
            group_feedback_hidden[i].insert(dim.clone(), hide);
        }
        total_feedback_hidden.insert(dim.clone(), th);
    }
    let groups = names
        .iter()
        .zip(raw.groups.values())
        .enumerate()
        .map(|(i, (name, f))| {
            (
                (*name).clone(),
                shown(f, hidden[i], &group_feedback_hidden[i], k),
            )
        })
        .collect();
    Ok(Report {
        computed_at: Utc::now(),
        program_id,
        from,
        to,
        group_by,
        k: k.max(anonymity::MIN_K),
        total: shown(&raw.total, total_hidden, &total_feedback_hidden, k),
        groups,
    })
}

type CacheKey = (Uuid, DateTime<Utc>, DateTime<Utc>, Option<GroupBy>, u32);

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

/// [`report`], through the cache.
pub async fn cached_report(
    cache: &ReportCache,
    db: &Db,
    program_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group_by: Option<GroupBy>,
    k: u32,
) -> Result<Report, ServiceError> {
    let key = (program_id, from, to, group_by, k);
    if let Some(hit) = cache.get(&key) {
        return Ok(hit);
    }
    let fresh = report(db, program_id, from, to, group_by, k).await?;
    cache.put(key, fresh.clone());
    Ok(fresh)
}
