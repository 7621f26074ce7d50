//! A program's figures, computed in SQL on either database — grouped rows, never the rows
//! themselves. Groups are the mentee's department or site when the pair was formed. Meetings
//! and feedback scores are read from daily tallies and the report columns of pairs (see
//! [`crate::tallies`]), so a report reads a few thousand rows whatever the program's size.
//! Suppression (R13) is the domain's business, on top of these counts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mentorat_domain::feedback::{CHECK_IN_DIMENSIONS, FeedbackKind};
use sea_orm::{ConnectionTrait, QueryResult, Value};
use uuid::Uuid;

use crate::{error::StoreError, sql::statement};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupBy {
    Department,
    Site,
}

/// The raw figures of one group (or of the whole program).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawFigures {
    pub people: i64,
    pub pairs: i64,
    pub by_status: BTreeMap<String, i64>,
    pub cross_department: i64,
    pub with_agreed_objectives: i64,
    pub with_achieved_objectives: i64,
    pub meetings_held: i64,
    pub meetings_cancelled: i64,
    pub meetings_cancelled_late: i64,
    pub meetings_missed: i64,
    pub median_reschedule_days: Option<f64>,
    /// How many pairs the median is computed over (R13 applies to it too).
    pub median_pairs: i64,
    /// dimension → (sum of scores, answers, people who answered)
    pub feedback: BTreeMap<String, (i64, i64, i64)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawReport {
    pub groups: BTreeMap<String, RawFigures>,
    pub total: RawFigures,
}

/// The group column: `department`/`site` in the tallies, `report_department`/`report_site`
/// on pairs and feedback (`prefix`).
fn group_col(group_by: Option<GroupBy>, prefix: &str) -> String {
    match group_by {
        Some(GroupBy::Department) => format!("{prefix}department"),
        Some(GroupBy::Site) => format!("{prefix}site"),
        None => "'all'".to_owned(),
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

    /// `$1..$3`: the program and the window as the tallies' `YYYY-MM-DD` days (a window is
    /// whole UTC days).
    fn days(&self) -> Vec<Value> {
        vec![
            self.program.into(),
            self.from.format("%Y-%m-%d").to_string().into(),
            self.to.format("%Y-%m-%d").to_string().into(),
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

fn rows<T>(
    rows: Vec<QueryResult>,
    read: impl Fn(&QueryResult) -> Result<T, sea_orm::DbErr>,
) -> Result<Vec<T>, StoreError> {
    rows.iter()
        .map(read)
        .collect::<Result<_, _>>()
        .map_err(StoreError::from)
}

/// Median days from a cancellation in the window to the meeting that made up for it, and
/// over how many pairs.
async fn medians(
    conn: &impl ConnectionTrait,
    w: &Window,
    group_by: Option<GroupBy>,
) -> Result<Vec<(String, f64, i64)>, StoreError> {
    let sql = format!(
        "WITH d AS ( \
           SELECT {} AS grp, pair_id, days FROM report_reschedules \
           WHERE program_id = $1 AND cancelled_at >= $2 AND cancelled_at < $3), \
         ranked AS ( \
           SELECT grp, days, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY days) AS rn, \
                  COUNT(*) OVER (PARTITION BY grp) AS n FROM d), \
         counts AS (SELECT grp, COUNT(DISTINCT pair_id) AS pairs FROM d GROUP BY grp) \
         SELECT r.grp AS grp, CAST(AVG(r.days) AS DOUBLE PRECISION) AS median, \
                MAX(c.pairs) AS pairs \
         FROM ranked r JOIN counts c ON c.grp = r.grp \
         WHERE r.rn = (r.n + 1) / 2 OR r.rn = (r.n + 2) / 2 GROUP BY r.grp",
        group_col(group_by, "")
    );
    rows(query(conn, &sql, w.instants()).await?, |r| {
        Ok((
            r.try_get("", "grp")?,
            r.try_get("", "median")?,
            r.try_get("", "pairs")?,
        ))
    })
}

/// Feedback per dimension: (sum of scores, answers) from the tallies, and the people who
/// answered — every dimension of a kind is answered at once, so per kind.
async fn feedback(
    conn: &impl ConnectionTrait,
    w: &Window,
    group_by: Option<GroupBy>,
) -> Result<Vec<(String, String, (i64, i64, i64))>, StoreError> {
    use futures_util::future::try_join;
    let sums = format!(
        "SELECT grp, dimension, CAST(SUM(total) AS BIGINT) AS total, \
                CAST(SUM(answers) AS BIGINT) AS answers \
         FROM (SELECT {} AS grp, dimension, total, answers FROM feedback_tallies \
               WHERE program_id = $1 AND day >= $2 AND day < $3) t \
         GROUP BY grp, dimension",
        group_col(group_by, "")
    );
    let respondents = format!(
        "SELECT grp, kind, COUNT(DISTINCT author_id) AS people \
         FROM (SELECT {} AS grp, kind, author_id FROM feedback \
               WHERE program_id = $1 AND created_at >= $2 AND created_at < $3) f \
         GROUP BY grp, kind",
        group_col(group_by, "report_")
    );
    let (sums, respondents) = try_join(
        query(conn, &sums, w.days()),
        query(conn, &respondents, w.instants()),
    )
    .await?;
    let respondents: BTreeMap<(String, String), i64> = rows(respondents, |r| {
        Ok((
            (r.try_get("", "grp")?, r.try_get("", "kind")?),
            r.try_get("", "people")?,
        ))
    })?
    .into_iter()
    .collect();
    rows(sums, |r| {
        let grp: String = r.try_get("", "grp")?;
        let dimension: String = r.try_get("", "dimension")?;
        let kind = if CHECK_IN_DIMENSIONS.contains(&dimension.as_str()) {
            FeedbackKind::CheckIn
        } else {
            FeedbackKind::Final
        };
        let people = respondents
            .get(&(grp.clone(), kind.as_str().to_owned()))
            .copied()
            .unwrap_or(0);
        Ok((
            grp,
            dimension,
            (r.try_get("", "total")?, r.try_get("", "answers")?, people),
        ))
    })
}

/// Per group: pairs by status, cross-department pairs, pairs with an agreed and with an
/// achieved objective, and the people in those pairs — one read of the program's pairs, no
/// join (a person is a mentor or a mentee of a program, never both, so the two distinct
/// counts add up).
struct PairRow {
    grp: String,
    pairs: i64,
    people: i64,
    cross: i64,
    agreed: i64,
    achieved: i64,
    by_status: BTreeMap<String, i64>,
}

const STATUSES: [&str; 5] = ["proposed", "active", "completed", "ended", "suspended"];

async fn pair_counts(
    conn: &impl ConnectionTrait,
    w: &Window,
    group_by: Option<GroupBy>,
) -> Result<Vec<PairRow>, StoreError> {
    let by_status: String = STATUSES
        .iter()
        .map(|s| format!("SUM(CASE WHEN status = '{s}' THEN 1 ELSE 0 END) AS {s}, "))
        .collect();
    let sql = format!(
        "SELECT grp, COUNT(*) AS pairs, {by_status} \
                SUM(CASE WHEN cross_department THEN 1 ELSE 0 END) AS cross_department, \
                SUM(CASE WHEN objectives_agreed THEN 1 ELSE 0 END) AS agreed, \
                SUM(CASE WHEN objectives_achieved THEN 1 ELSE 0 END) AS achieved, \
                COUNT(DISTINCT mentor_person_id) + COUNT(DISTINCT mentee_person_id) AS people \
         FROM (SELECT {} AS grp, status, cross_department, objectives_agreed, \
                      objectives_achieved, mentor_person_id, mentee_person_id \
               FROM pairs WHERE program_id = $1 \
                 AND (ended_at IS NULL OR ended_at >= $2) AND created_at < $3) p \
         GROUP BY grp",
        group_col(group_by, "report_")
    );
    rows(query(conn, &sql, w.instants()).await?, |r| {
        let mut by_status = BTreeMap::new();
        for status in STATUSES {
            by_status.insert(status.to_owned(), r.try_get("", status)?);
        }
        Ok(PairRow {
            grp: r.try_get("", "grp")?,
            pairs: r.try_get("", "pairs")?,
            people: r.try_get("", "people")?,
            cross: r.try_get("", "cross_department")?,
            agreed: r.try_get("", "agreed")?,
            achieved: r.try_get("", "achieved")?,
            by_status,
        })
    })
}

/// Meetings held, cancelled, cancelled late and missed whose day is in the window, from the
/// daily tallies.
async fn meeting_counts(
    conn: &impl ConnectionTrait,
    w: &Window,
    group_by: Option<GroupBy>,
) -> Result<Vec<(String, [i64; 4])>, StoreError> {
    let sql = format!(
        "SELECT grp, CAST(SUM(held) AS BIGINT) AS held, \
                CAST(SUM(cancelled) AS BIGINT) AS cancelled, \
                CAST(SUM(late) AS BIGINT) AS late, CAST(SUM(missed) AS BIGINT) AS missed \
         FROM (SELECT {} AS grp, held, cancelled, late, missed FROM meeting_tallies \
               WHERE program_id = $1 AND day >= $2 AND day < $3) t \
         GROUP BY grp",
        group_col(group_by, "")
    );
    rows(query(conn, &sql, w.days()).await?, |r| {
        Ok((
            r.try_get("", "grp")?,
            [
                r.try_get("", "held")?,
                r.try_get("", "cancelled")?,
                r.try_get("", "late")?,
                r.try_get("", "missed")?,
            ],
        ))
    })
}

/// Every figure of a program over `[from, to)` (whole UTC days), by group and in total. The
/// queries are independent and run at once, each on its own pooled connection. Pairs are
/// those that existed during the window; meetings, cancellations and feedback those whose
/// day is in it.
pub async fn figures(
    conn: &impl ConnectionTrait,
    program: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group_by: Option<GroupBy>,
) -> Result<RawReport, StoreError> {
    use futures_util::future::try_join;
    let w = Window { program, from, to };
    let grouped = group_by.is_some();
    let totals = async {
        if grouped {
            try_join(
                pair_counts(conn, &w, None),
                try_join(medians(conn, &w, None), feedback(conn, &w, None)),
            )
            .await
            .map(Some)
        } else {
            Ok(None)
        }
    };
    let (((pairs, meetings), (medians_by, feedback_by)), totals) = try_join(
        try_join(
            try_join(
                pair_counts(conn, &w, group_by),
                meeting_counts(conn, &w, group_by),
            ),
            try_join(medians(conn, &w, group_by), feedback(conn, &w, group_by)),
        ),
        totals,
    )
    .await?;
    let mut report = RawReport::default();
    for row in pairs {
        let f = report.groups.entry(row.grp).or_default();
        f.pairs = row.pairs;
        f.people = row.people;
        f.cross_department = row.cross;
        f.with_agreed_objectives = row.agreed;
        f.with_achieved_objectives = row.achieved;
        f.by_status = row.by_status;
    }
    for (g, [held, cancelled, late, missed]) in meetings {
        let f = report.groups.entry(g).or_default();
        f.meetings_held = held;
        f.meetings_cancelled = cancelled;
        f.meetings_cancelled_late = late;
        f.meetings_missed = missed;
    }
    for (g, m, n) in medians_by {
        let f = report.groups.entry(g).or_default();
        f.median_reschedule_days = Some(m);
        f.median_pairs = n;
    }
    for (g, dim, v) in feedback_by {
        report.groups.entry(g).or_default().feedback.insert(dim, v);
    }

    // The total: counts add up over groups (each pair is in one group); people, medians and
    // respondents do not, and were counted once more without groups.
    let mut total = RawFigures::default();
    for f in report.groups.values() {
        total.pairs += f.pairs;
        total.cross_department += f.cross_department;
        for (s, n) in &f.by_status {
            *total.by_status.entry(s.clone()).or_default() += n;
        }
        total.with_agreed_objectives += f.with_agreed_objectives;
        total.with_achieved_objectives += f.with_achieved_objectives;
        total.meetings_held += f.meetings_held;
        total.meetings_cancelled += f.meetings_cancelled;
        total.meetings_cancelled_late += f.meetings_cancelled_late;
        total.meetings_missed += f.meetings_missed;
    }
    match totals {
        Some((pairs_all, (medians_all, feedback_all))) => {
            total.people = pairs_all.first().map_or(0, |row| row.people);
            total.median_reschedule_days = medians_all.first().map(|(_, m, _)| *m);
            total.median_pairs = medians_all.first().map_or(0, |(_, _, n)| *n);
            for (_, dim, v) in feedback_all {
                total.feedback.insert(dim, v);
            }
        }
        None => {
            if let Some(only) = report.groups.values().next() {
                total.people = only.people;
                total.median_reschedule_days = only.median_reschedule_days;
                total.median_pairs = only.median_pairs;
                total.feedback = only.feedback.clone();
            }
            report.groups.clear();
        }
    }
    report.total = total;
    Ok(report)
}
