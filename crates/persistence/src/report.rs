//! A program's figures, computed in SQL on either database — grouped rows, never the rows
//! themselves. Groups are the mentee's department or site. Suppression (R13) is the
//! domain's business, on top of these counts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Value};
use uuid::Uuid;

use crate::{error::StoreError, pairs::statement};

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

/// The program's pairs in the window, with their group. Only the first query needs the
/// mentor (for `is_cross`); without groups no person is joined at all.
fn pairs_cte(group_by: Option<GroupBy>, with_cross: bool) -> String {
    let group = group_expr(group_by);
    let mentee = if group_by.is_some() || with_cross {
        "JOIN people me ON me.id = pr.mentee_person_id"
    } else {
        ""
    };
    let (mentor, cross) = if with_cross {
        (
            "JOIN people mr ON mr.id = pr.mentor_person_id",
            "CASE WHEN mr.department IS NOT NULL AND me.department IS NOT NULL \
             AND mr.department <> me.department THEN 1 ELSE 0 END",
        )
    } else {
        ("", "0")
    };
    format!(
        "WITH p AS ( \
           SELECT pr.id AS pair_id, pr.status AS status, pr.mentor_person_id AS mentor, \
                  pr.mentee_person_id AS mentee, {group} AS grp, {cross} AS is_cross \
           FROM pairs pr {mentee} {mentor} \
           WHERE pr.program_id = $1 AND pr.created_at < $2 \
             AND (pr.ended_at IS NULL OR pr.ended_at >= $3))"
    )
}

fn group_expr(group_by: Option<GroupBy>) -> &'static str {
    match group_by {
        Some(GroupBy::Department) => "COALESCE(me.department, '(none)')",
        Some(GroupBy::Site) => "COALESCE(me.site, '(none)')",
        None => "'all'",
    }
}

struct Window {
    program: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl Window {
    /// `$1..$3` of the pairs CTE, then `$4, $5` = from, to again for a second window.
    fn values(&self, second_window: bool) -> Vec<Value> {
        let mut v: Vec<Value> = vec![self.program.into(), self.to.into(), self.from.into()];
        if second_window {
            v.push(self.from.into());
            v.push(self.to.into());
        }
        v
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

fn days_between(backend: DbBackend, later: &str, earlier: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0 AS DOUBLE PRECISION)")
        }
        _ => format!("CAST(julianday({later}) - julianday({earlier}) AS DOUBLE PRECISION)"),
    }
}

async fn medians(
    conn: &impl ConnectionTrait,
    w: &Window,
    group_by: Option<GroupBy>,
) -> Result<Vec<(String, f64, i64)>, StoreError> {
    let days = days_between(
        conn.get_database_backend(),
        "r.created_at",
        "c.cancelled_at",
    );
    let sql = format!(
        "{}, d AS ( \
           SELECT p.grp AS grp, p.pair_id AS pair_id, {days} AS days FROM meetings r \
           JOIN meetings c ON c.id = r.reschedules \
           JOIN p ON p.pair_id = c.pair_id \
           WHERE r.reschedules IS NOT NULL AND c.cancelled_at >= $4 AND c.cancelled_at < $5), \
         ranked AS ( \
           SELECT grp, days, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY days) AS rn, \
                  COUNT(*) OVER (PARTITION BY grp) AS n FROM d), \
         counts AS (SELECT grp, COUNT(DISTINCT pair_id) AS pairs FROM d GROUP BY grp) \
         SELECT r.grp AS grp, CAST(AVG(r.days) AS DOUBLE PRECISION) AS median, \
                MAX(c.pairs) AS pairs \
         FROM ranked r JOIN counts c ON c.grp = r.grp \
         WHERE r.rn = (r.n + 1) / 2 OR r.rn = (r.n + 2) / 2 GROUP BY r.grp",
        pairs_cte(group_by, false)
    );
    query(conn, &sql, w.values(true))
        .await?
        .into_iter()
        .map(|r| {
            Ok((
                r.try_get("", "grp")?,
                r.try_get("", "median")?,
                r.try_get("", "pairs")?,
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(StoreError::from)
}

async fn feedback(
    conn: &impl ConnectionTrait,
    w: &Window,
    group_by: Option<GroupBy>,
) -> Result<Vec<(String, String, (i64, i64, i64))>, StoreError> {
    let sql = format!(
        "{} , s AS ( \
              SELECT p.grp AS grp, s.dimension AS dimension, s.author_id AS author, \
                     SUM(s.score) AS total, COUNT(*) AS answers \
              FROM p JOIN feedback_scores s ON s.pair_id = p.pair_id \
              WHERE s.created_at >= $4 AND s.created_at < $5 \
              GROUP BY p.grp, s.dimension, s.author_id) \
            SELECT grp, dimension, CAST(SUM(total) AS BIGINT) AS total, \
                   CAST(SUM(answers) AS BIGINT) AS answers, \
                   COUNT(*) AS people \
            FROM s GROUP BY grp, dimension",
        pairs_cte(group_by, false)
    );
    query(conn, &sql, w.values(true))
        .await?
        .into_iter()
        .map(|r| {
            Ok((
                r.try_get("", "grp")?,
                r.try_get("", "dimension")?,
                (
                    r.try_get("", "total")?,
                    r.try_get("", "answers")?,
                    r.try_get("", "people")?,
                ),
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(StoreError::from)
}

async fn people(
    conn: &impl ConnectionTrait,
    w: &Window,
    group_by: Option<GroupBy>,
) -> Result<Vec<(String, i64)>, StoreError> {
    let sql = format!(
        "{} SELECT grp, COUNT(DISTINCT person) AS people FROM ( \
              SELECT grp, mentor AS person FROM p UNION SELECT grp, mentee AS person FROM p) x \
            GROUP BY grp",
        pairs_cte(group_by, false)
    );
    query(conn, &sql, w.values(false))
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get("", "grp")?, r.try_get("", "people")?)))
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(StoreError::from)
}

type PairRow = (String, i64, i64, BTreeMap<String, i64>);

async fn pair_counts(
    conn: &impl ConnectionTrait,
    w: &Window,
    group_by: Option<GroupBy>,
) -> Result<Vec<PairRow>, StoreError> {
    let sql = format!(
        "{} SELECT grp, COUNT(*) AS pairs, SUM(is_cross) AS cross_department, \
                   SUM(CASE WHEN status = 'proposed' THEN 1 ELSE 0 END) AS proposed, \
                   SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END) AS active, \
                   SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed, \
                   SUM(CASE WHEN status = 'ended' THEN 1 ELSE 0 END) AS ended, \
                   SUM(CASE WHEN status = 'suspended' THEN 1 ELSE 0 END) AS suspended \
            FROM p GROUP BY grp",
        pairs_cte(group_by, true)
    );
    query(conn, &sql, w.values(false))
        .await?
        .into_iter()
        .map(|r| {
            let mut by_status = BTreeMap::new();
            for status in ["proposed", "active", "completed", "ended", "suspended"] {
                by_status.insert(status.to_owned(), r.try_get("", status)?);
            }
            Ok((
                r.try_get("", "grp")?,
                r.try_get("", "pairs")?,
                r.try_get("", "cross_department")?,
                by_status,
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(StoreError::from)
}

async fn objective_counts(
    conn: &impl ConnectionTrait,
    w: &Window,
    group_by: Option<GroupBy>,
) -> Result<Vec<(String, i64, i64)>, StoreError> {
    let sql = format!(
        "{} , o AS ( \
              SELECT o.pair_id AS pair_id, \
                     MAX(CASE WHEN o.agreed_at IS NOT NULL THEN 1 ELSE 0 END) AS agreed, \
                     MAX(CASE WHEN o.status = 'achieved' THEN 1 ELSE 0 END) AS achieved \
              FROM objectives o JOIN p ON p.pair_id = o.pair_id GROUP BY o.pair_id) \
            SELECT p.grp AS grp, CAST(SUM(o.agreed) AS BIGINT) AS agreed, \
                   CAST(SUM(o.achieved) AS BIGINT) AS achieved \
            FROM p JOIN o ON o.pair_id = p.pair_id GROUP BY p.grp",
        pairs_cte(group_by, false)
    );
    query(conn, &sql, w.values(false))
        .await?
        .into_iter()
        .map(|r| {
            Ok((
                r.try_get("", "grp")?,
                r.try_get("", "agreed")?,
                r.try_get("", "achieved")?,
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(StoreError::from)
}

async fn meeting_counts(
    conn: &impl ConnectionTrait,
    w: &Window,
    group_by: Option<GroupBy>,
) -> Result<Vec<(String, [i64; 4])>, StoreError> {
    let sql = format!(
        "{} SELECT p.grp AS grp, \
                   SUM(CASE WHEN m.status = 'held' THEN 1 ELSE 0 END) AS held, \
                   SUM(CASE WHEN m.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled, \
                   SUM(CASE WHEN m.status = 'cancelled' AND m.late THEN 1 ELSE 0 END) AS late, \
                   SUM(CASE WHEN m.status = 'missed' THEN 1 ELSE 0 END) AS missed \
            FROM p JOIN meetings m ON m.pair_id = p.pair_id \
            WHERE m.starts_at >= $4 AND m.starts_at < $5 GROUP BY p.grp",
        pairs_cte(group_by, false)
    );
    query(conn, &sql, w.values(true))
        .await?
        .into_iter()
        .map(|r| {
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
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(StoreError::from)
}

/// Every figure of a program over `[from, to)`, by group and in total. The queries are
/// independent and run at once, each on its own pooled connection.
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
                people(conn, &w, None),
                try_join(medians(conn, &w, None), feedback(conn, &w, None)),
            )
            .await
            .map(Some)
        } else {
            Ok(None)
        }
    };
    let (((pairs, people_by), (objectives, meetings)), ((medians_by, feedback_by), totals)) =
        try_join(
            try_join(
                try_join(pair_counts(conn, &w, group_by), people(conn, &w, group_by)),
                try_join(
                    objective_counts(conn, &w, group_by),
                    meeting_counts(conn, &w, group_by),
                ),
            ),
            try_join(
                try_join(medians(conn, &w, group_by), feedback(conn, &w, group_by)),
                totals,
            ),
        )
        .await?;
    let mut report = RawReport::default();
    for (g, n, cross, by_status) in pairs {
        let f = report.groups.entry(g).or_default();
        f.pairs = n;
        f.cross_department = cross;
        f.by_status = by_status;
    }
    for (g, n) in people_by {
        report.groups.entry(g).or_default().people = n;
    }
    for (g, agreed, achieved) in objectives {
        let f = report.groups.entry(g).or_default();
        f.with_agreed_objectives = agreed;
        f.with_achieved_objectives = achieved;
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
        Some((people_all, (medians_all, feedback_all))) => {
            total.people = people_all.first().map_or(0, |(_, n)| *n);
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
