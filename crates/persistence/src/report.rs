//! A program's report cells (R13), computed in SQL on either database — one row per
//! department × site × month, never the rows themselves. The department and site are the
//! mentee's when the pair was formed. Meetings and feedback scores are read from the monthly
//! sums of daily tallies and the report columns of pairs (see [`crate::tallies`]), so a
//! report reads a few thousand rows whatever the program's size. Which cells are published,
//! and how they add up, is the domain's business ([`mentorat_domain::anonymity`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mentorat_domain::{
    anonymity::{CellKey, Month},
    feedback::{CHECK_IN_DIMENSIONS, FeedbackKind},
};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Value};
use uuid::Uuid;

use crate::{error::StoreError, sql::statement};

pub use mentorat_domain::anonymity::Grouping as GroupBy;

/// The pairs formed in a cell's month: how many mentees, how many pairs, how many
/// across departments (fixed when the pair forms).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairCell {
    pub mentees: i64,
    pub pairs: i64,
    pub cross_department: i64,
}

/// The pairs that changed in a cell's month in one way (entered a status, had their first
/// objective agreed or achieved): how many, and their mentees.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventCell {
    pub mentees: i64,
    pub pairs: i64,
}

/// What a pair's change is counted as (see migration 000018).
pub const PAIR_EVENTS: [&str; 6] = [
    "active",
    "completed",
    "ended",
    "suspended",
    "objectives_agreed",
    "objectives_achieved",
];

/// The meetings recorded in a cell's month — held, cancelled, cancelled late, missed — and
/// the mentees of the pairs that had them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeetingCell {
    pub mentees: i64,
    /// held, cancelled, late, missed
    pub counts: [i64; 4],
}

/// The cancellations made up for in a cell's month: the days each took, and the mentees of
/// their pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RescheduleCell {
    pub mentees: i64,
    pub days: Vec<f64>,
}

/// The feedback of one kind given in a cell's month: per dimension (sum of scores,
/// answers), and how many people answered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedbackCell {
    pub respondents: i64,
    pub scores: BTreeMap<String, (i64, i64)>,
}

/// Every cell of a program over whole months.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawCells {
    pub pairs: BTreeMap<CellKey, PairCell>,
    /// By kind of change ([`PAIR_EVENTS`]).
    pub pair_events: BTreeMap<String, BTreeMap<CellKey, EventCell>>,
    pub meetings: BTreeMap<CellKey, MeetingCell>,
    pub reschedules: BTreeMap<CellKey, RescheduleCell>,
    pub check_ins: BTreeMap<CellKey, FeedbackCell>,
    pub finals: BTreeMap<CellKey, FeedbackCell>,
}

/// `YYYY-MM` of a timestamp column (UTC), on both databases.
pub(crate) fn month(backend: DbBackend, col: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM')"),
        _ => format!("substr(date({col}), 1, 7)"),
    }
}

struct Window {
    program: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl Window {
    /// `$1..$3`: the program and the window as timestamps.
    fn instants(&self) -> Vec<Value> {
        vec![self.program.into(), self.from.into(), self.to.into()]
    }

    /// `$1..$3`: the program and the window as `YYYY-MM-DD` days.
    fn days(&self) -> Vec<Value> {
        vec![
            self.program.into(),
            self.from.format("%Y-%m-%d").to_string().into(),
            self.to.format("%Y-%m-%d").to_string().into(),
        ]
    }

    /// `$1..$3`: the program and the window as `YYYY-MM` months.
    fn months(&self) -> Vec<Value> {
        vec![
            self.program.into(),
            self.from.format("%Y-%m").to_string().into(),
            self.to.format("%Y-%m").to_string().into(),
        ]
    }
}

async fn query(
    conn: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>, StoreError> {
    Ok(conn
        .query_all_raw(statement(conn.get_database_backend(), sql, values))
        .await?)
}

/// The cell of a row with `department`, `site` and `month` columns; `None` for a month that
/// does not parse (none should).
fn key(r: &QueryResult) -> Result<Option<CellKey>, sea_orm::DbErr> {
    let month: String = r.try_get("", "month")?;
    let Some(month) = Month::parse(&month) else {
        return Ok(None);
    };
    Ok(Some(CellKey {
        department: r.try_get("", "department")?,
        site: r.try_get("", "site")?,
        month,
    }))
}

async fn pair_cells(
    conn: &impl ConnectionTrait,
    w: &Window,
) -> Result<BTreeMap<CellKey, PairCell>, StoreError> {
    let sql = format!(
        "SELECT department, site, month, COUNT(*) AS pairs, \
                SUM(CASE WHEN cross_department THEN 1 ELSE 0 END) AS cross_department, \
                COUNT(DISTINCT mentee_person_id) AS mentees \
         FROM (SELECT report_department AS department, report_site AS site, {} AS month, \
                      cross_department, mentee_person_id \
               FROM pairs WHERE program_id = $1 AND created_at >= $2 AND created_at < $3) p \
         GROUP BY department, site, month",
        month(conn.get_database_backend(), "created_at")
    );
    let mut cells = BTreeMap::new();
    for r in query(conn, &sql, w.instants()).await? {
        let Some(key) = key(&r)? else { continue };
        cells.insert(
            key,
            PairCell {
                mentees: r.try_get("", "mentees")?,
                pairs: r.try_get("", "pairs")?,
                cross_department: r.try_get("", "cross_department")?,
            },
        );
    }
    Ok(cells)
}

/// The pairs' changes recorded in each month (never their current state: a closed month's
/// cells do not move when a pair does).
async fn pair_event_cells(
    conn: &impl ConnectionTrait,
    w: &Window,
) -> Result<BTreeMap<String, BTreeMap<CellKey, EventCell>>, StoreError> {
    let sql = "SELECT kind, department, site, month, COUNT(*) AS pairs, \
                COUNT(DISTINCT mentee_id) AS mentees \
         FROM report_pair_events \
         WHERE program_id = $1 AND month >= $2 AND month < $3 AND kind <> 'proposed' \
         GROUP BY kind, department, site, month";
    let mut cells: BTreeMap<String, BTreeMap<CellKey, EventCell>> = BTreeMap::new();
    for r in query(conn, sql, w.months()).await? {
        let Some(key) = key(&r)? else { continue };
        cells.entry(r.try_get("", "kind")?).or_default().insert(
            key,
            EventCell {
                mentees: r.try_get("", "mentees")?,
                pairs: r.try_get("", "pairs")?,
            },
        );
    }
    Ok(cells)
}

async fn meeting_cells(
    conn: &impl ConnectionTrait,
    w: &Window,
) -> Result<BTreeMap<CellKey, MeetingCell>, StoreError> {
    use futures_util::future::try_join;
    let sums = "SELECT department, site, month, CAST(SUM(held) AS BIGINT) AS held, \
                CAST(SUM(cancelled) AS BIGINT) AS cancelled, \
                CAST(SUM(late) AS BIGINT) AS late, CAST(SUM(missed) AS BIGINT) AS missed \
         FROM (SELECT department, site, substr(day, 1, 7) AS month, held, cancelled, late, \
                      missed FROM meeting_tallies \
               WHERE program_id = $1 AND day >= $2 AND day < $3) t \
         GROUP BY department, site, month";
    let members = "SELECT department, site, month, COUNT(*) AS mentees \
         FROM report_meeting_members WHERE program_id = $1 AND month >= $2 AND month < $3 \
         GROUP BY department, site, month";
    let (sums, members) = try_join(
        query(conn, sums, w.days()),
        query(conn, members, w.months()),
    )
    .await?;
    let mut cells: BTreeMap<CellKey, MeetingCell> = BTreeMap::new();
    for r in sums {
        let Some(key) = key(&r)? else { continue };
        cells.entry(key).or_default().counts = [
            r.try_get("", "held")?,
            r.try_get("", "cancelled")?,
            r.try_get("", "late")?,
            r.try_get("", "missed")?,
        ];
    }
    for r in members {
        let Some(key) = key(&r)? else { continue };
        cells.entry(key).or_default().mentees = r.try_get("", "mentees")?;
    }
    Ok(cells)
}

async fn reschedule_cells(
    conn: &impl ConnectionTrait,
    w: &Window,
) -> Result<BTreeMap<CellKey, RescheduleCell>, StoreError> {
    let sql = "SELECT r.department AS department, r.site AS site, \
                substr(r.recorded_day, 1, 7) AS month, p.mentee_person_id AS mentee, \
                r.days AS days \
         FROM report_reschedules r JOIN pairs p ON p.id = r.pair_id \
         WHERE r.program_id = $1 AND r.recorded_day >= $2 AND r.recorded_day < $3";
    let mut mentees: BTreeMap<CellKey, std::collections::BTreeSet<Uuid>> = BTreeMap::new();
    let mut cells: BTreeMap<CellKey, RescheduleCell> = BTreeMap::new();
    for r in query(conn, sql, w.days()).await? {
        let Some(key) = key(&r)? else { continue };
        mentees
            .entry(key.clone())
            .or_default()
            .insert(r.try_get("", "mentee")?);
        cells
            .entry(key)
            .or_default()
            .days
            .push(r.try_get("", "days")?);
    }
    for (key, cell) in &mut cells {
        cell.mentees = mentees.get(key).map_or(0, |m| m.len() as i64);
    }
    Ok(cells)
}

async fn feedback_cells(
    conn: &impl ConnectionTrait,
    w: &Window,
) -> Result<[BTreeMap<CellKey, FeedbackCell>; 2], StoreError> {
    use futures_util::future::try_join;
    let sums = "SELECT department, site, month, dimension, CAST(SUM(total) AS BIGINT) AS total, \
                CAST(SUM(answers) AS BIGINT) AS answers \
         FROM (SELECT department, site, substr(day, 1, 7) AS month, dimension, total, answers \
               FROM feedback_tallies WHERE program_id = $1 AND day >= $2 AND day < $3) t \
         GROUP BY department, site, month, dimension";
    let respondents = format!(
        "SELECT department, site, month, kind, COUNT(DISTINCT author_id) AS people \
         FROM (SELECT report_department AS department, report_site AS site, {} AS month, \
                      kind, author_id FROM feedback \
               WHERE program_id = $1 AND created_at >= $2 AND created_at < $3) f \
         GROUP BY department, site, month, kind",
        month(conn.get_database_backend(), "created_at")
    );
    let (sums, respondents) = try_join(
        query(conn, sums, w.days()),
        query(conn, &respondents, w.instants()),
    )
    .await?;
    // [check-ins, finals]
    let mut cells: [BTreeMap<CellKey, FeedbackCell>; 2] = Default::default();
    let slot = |kind: FeedbackKind| usize::from(kind != FeedbackKind::CheckIn);
    for r in sums {
        let Some(key) = key(&r)? else { continue };
        let dimension: String = r.try_get("", "dimension")?;
        let kind = if CHECK_IN_DIMENSIONS.contains(&dimension.as_str()) {
            FeedbackKind::CheckIn
        } else {
            FeedbackKind::Final
        };
        cells[slot(kind)].entry(key).or_default().scores.insert(
            dimension,
            (r.try_get("", "total")?, r.try_get("", "answers")?),
        );
    }
    for r in respondents {
        let Some(key) = key(&r)? else { continue };
        let kind: String = r.try_get("", "kind")?;
        let kind = if kind == FeedbackKind::CheckIn.as_str() {
            FeedbackKind::CheckIn
        } else {
            FeedbackKind::Final
        };
        cells[slot(kind)].entry(key).or_default().respondents = r.try_get("", "people")?;
    }
    Ok(cells)
}

/// Every cell of a program over `[from, to)` (whole UTC months). The queries are
/// independent and run at once, each on its own pooled connection. Pairs are counted in the
/// month they were formed, their changes in the month they happened; meetings, cancellations, reschedules and feedback in the month
/// they were recorded.
pub async fn cells(
    conn: &impl ConnectionTrait,
    program: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<RawCells, StoreError> {
    use futures_util::future::try_join;
    let w = Window { program, from, to };
    let ((pairs, meetings), (reschedules, [check_ins, finals])) = try_join(
        try_join(pair_cells(conn, &w), meeting_cells(conn, &w)),
        try_join(reschedule_cells(conn, &w), feedback_cells(conn, &w)),
    )
    .await?;
    let pair_events = pair_event_cells(conn, &w).await?;
    Ok(RawCells {
        pairs,
        pair_events,
        meetings,
        reschedules,
        check_ins,
        finals,
    })
}
