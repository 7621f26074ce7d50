//! R13 against an attacker (issue 12, finding 1): no sum or difference of published figures —
//! across groupings, windows and repeated requests — gives a figure about fewer than k
//! people. The three attacks of the penetration test, replayed: a difference of groupings, a
//! difference of windows, and a small group "covered" by a group known to be zero.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use mentorat_tests::{TestApp, id_of, spawn_app, video_at};
use serde_json::{Value, json};

/// One mentor per mentee, mentors in their own department and site.
struct Program {
    id: String,
    /// (pair id, mentor, mentee, mentee's department, mentee's site)
    pairs: Vec<(String, String, String, String, String)>,
}

/// A program whose mentees are in the given (department, site) places, each proposed a pair
/// with a mentor of their own.
async fn program_with(app: &TestApp, mentees: &[(&str, &str)]) -> Program {
    let mut people = Vec::new();
    for (i, (dept, site)) in mentees.iter().enumerate() {
        for (id, d, s) in [
            (format!("R{i}"), "Mentorat", "Siège"),
            (format!("E{i}"), *dept, *site),
        ] {
            people.push(
                json!({"external_id": id, "given_name": id, "family_name": "X",
                               "email": format!("{}@chu.example", id.to_lowercase()),
                               "department": d, "site": s}),
            );
        }
    }
    let imported = app.hris().import_people(&Value::Array(people)).await.json();
    assert_eq!(imported["created"], mentees.len() * 2, "{imported}");
    let program = id_of(&app.create_program("R13").await);
    let ids = app.person_ids().await;
    let mut pairs = Vec::new();
    for (i, (dept, site)) in mentees.iter().enumerate() {
        let (mentor, mentee) = (format!("R{i}"), format!("E{i}"));
        let pair = propose_between(app, &program, &ids[&mentor], &ids[&mentee]).await;
        pairs.push((
            id_of(&pair.created()),
            mentor,
            mentee,
            (*dept).to_owned(),
            (*site).to_owned(),
        ));
    }
    Program { id: program, pairs }
}

/// Enroll a mentor and a mentee (by person id) and propose them as a pair.
async fn propose_between(
    app: &TestApp,
    program: &str,
    mentor: &str,
    mentee: &str,
) -> mentorat_tests::Reply {
    let r = id_of(&app.enroll(program, mentor, "mentor").await);
    let e = id_of(&app.enroll(program, mentee, "mentee").await);
    app.coordinator().propose_pair(program, &r, &e).await
}

/// A mentor of their own (`R{n}`, Mentorat at Siège) and a mentee `E{n}` of `department` at
/// `site`, imported.
async fn import_mentor_and_mentee(app: &TestApp, n: u32, department: &str, site: &str) {
    let imported = app
        .hris()
        .import_people(&json!([
            {"external_id": format!("R{n}"), "given_name": format!("R{n}"), "family_name": "X",
             "email": format!("r{n}@chu.example"), "department": "Mentorat", "site": "Siège"},
            {"external_id": format!("E{n}"), "given_name": format!("E{n}"), "family_name": "X",
             "email": format!("e{n}@chu.example"), "department": department, "site": site}
        ]))
        .await
        .json();
    assert_eq!(imported["created"], 2, "{imported}");
}

fn first_of_this_month() -> NaiveDate {
    let today = Utc::now().date_naive();
    today.with_day(1).unwrap()
}

/// The `day`-th of last month (a closed month).
pub(crate) fn last_month(day: u32) -> NaiveDate {
    (first_of_this_month() - Duration::days(1))
        .with_day(day)
        .unwrap()
}

/// A statement that may not apply to every version of the schema (the test also runs on the
/// code before the fix, to show it fails there for the right reason).
async fn try_sql(app: &TestApp, sql: &str, values: Vec<sea_orm::Value>) {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let backend = app.db.conn().get_database_backend();
    let mut text = sql.to_owned();
    if backend != DbBackend::Postgres {
        for n in (1..=values.len()).rev() {
            text = text.replace(&format!("${n}"), "?");
        }
    }
    let _ = app
        .db
        .conn()
        .execute_raw(Statement::from_sql_and_values(backend, text, values))
        .await;
}

/// Everything recorded so far happened on `day` (of a closed month): pairs formed, meetings,
/// reschedules and feedback recorded.
pub(crate) async fn all_happened_on(app: &TestApp, day: NaiveDate) {
    let noon = day.and_hms_opt(12, 0, 0).unwrap().and_utc();
    let day_text = day.format("%Y-%m-%d").to_string();
    app.time_passes("UPDATE pairs SET created_at = $1", vec![noon.into()])
        .await;
    app.time_passes("UPDATE feedback SET created_at = $1", vec![noon.into()])
        .await;
    for table in ["meeting_tallies", "feedback_tallies"] {
        app.time_passes(
            &format!("UPDATE {table} SET day = $1"),
            vec![day_text.clone().into()],
        )
        .await;
    }
    try_sql(
        app,
        "UPDATE report_reschedules SET recorded_day = $1",
        vec![day_text.into()],
    )
    .await;
    for table in ["report_meeting_members", "report_pair_events"] {
        try_sql(
            app,
            &format!("UPDATE {table} SET month = $1"),
            vec![day.format("%Y-%m").to_string().into()],
        )
        .await;
    }
}

async fn report(app: &TestApp, program: &str, query: &str) -> Value {
    app.analyst().report(program, query).await.ok()
}

/// The report as CSV, by an analyst.
async fn csv_report(app: &TestApp, program: &str, query: &str) -> mentorat_tests::Reply {
    let analyst = app.analyst();
    analyst
        .send(
            analyst
                .request(
                    reqwest::Method::GET,
                    &format!("/api/v1/programs/{program}/report?{query}"),
                )
                .header("accept", "text/csv"),
        )
        .await
}

/// A figure of a group (`None`: the group is not listed, or the figure is hidden).
fn figure(report: &Value, group: &str, pointer: &str) -> Option<i64> {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == group)
        .and_then(|g| g.pointer(pointer))
        .and_then(Value::as_i64)
}

/// What a cell-based report guarantees and per-report suppression does not: the total is
/// exactly the sum of what the groups show, so "total minus the groups" is always nothing.
fn groups_add_up_to_the_total(report: &Value, pointer: &str) {
    let Some(total) = report["total"].pointer(pointer).and_then(Value::as_i64) else {
        return;
    };
    let shown: i64 = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g.pointer(pointer).and_then(Value::as_i64))
        .sum();
    assert_eq!(
        shown, total,
        "the total holds {pointer} of a hidden group: {report}"
    );
}

/// D1 (5 mentees, all at site A), D2 (4 at A, 1 at B), D3 (5 at C): the one mentee at B has
/// an active pair. On per-report suppression, by department shows D1, D2, D3 and by site
/// shows A and hides B — and B = D2 − (A − D1).
#[tokio::test]
async fn r13_a_difference_of_groupings_isolates_nobody() {
    let app = spawn_app().await;
    let mut places = vec![("D1", "A"); 5];
    places.extend([("D2", "A"); 4]);
    places.push(("D2", "B"));
    places.extend([("D3", "C"); 5]);
    let program = program_with(&app, &places).await;
    let (pair, mentor, mentee, ..) = program.pairs.iter().find(|p| p.4 == "B").unwrap().clone();
    app.both_accept(&pair, &mentor, &mentee).await;
    all_happened_on(&app, last_month(5)).await;

    let by_department = report(&app, &program.id, "group_by=department").await;
    let by_site = report(&app, &program.id, "group_by=site").await;
    let active = "/pairs_by_status/active";
    if let (Some(d1), Some(d2), Some(a)) = (
        figure(&by_department, "D1", active),
        figure(&by_department, "D2", active),
        figure(&by_site, "A", active),
    ) {
        assert_ne!(
            d2 - (a - d1),
            1,
            "site B's one pair is D2 - (A - D1): {by_department} {by_site}"
        );
    }
    for r in [&by_department, &by_site] {
        for pointer in ["/pairs", active, "/pairs_by_status/proposed", "/people"] {
            groups_add_up_to_the_total(r, pointer);
        }
    }
    // What is shown: D1 and D3 (cells of 5); D2's cells (4 at A, 1 at B) and site B are in no
    // figure, the total neither.
    assert_eq!(figure(&by_department, "D1", "/pairs"), Some(5));
    assert_eq!(figure(&by_department, "D2", "/pairs"), None);
    assert_eq!(figure(&by_site, "A", "/pairs"), Some(5));
    assert_eq!(figure(&by_site, "B", "/pairs"), None);
    assert_eq!(by_site["total"]["pairs"], 10, "{by_site}");
    assert_eq!(by_site["total"]["people"], 10);
    // The one pair activated is a cell of one mentee: in no figure.
    assert_eq!(by_site["total"]["pairs_by_status"]["active"], Value::Null);
    // Nothing counts what was left out, and D2 and B are not listed (see
    // `r13_a_lone_mentee_pairing_changes_no_report`).
    assert_eq!(by_site["total"]["cells_left_out"], Value::Null);
    assert!(
        !by_site["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["group"] == "B")
    );
    assert!(
        !by_department["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["group"] == "D2")
    );
    assert_eq!(by_department["total"], by_site["total"]);
    let csv = csv_report(&app, &program.id, "group_by=site").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.text
            .lines()
            .next()
            .unwrap()
            .contains(",cells_left_out,"),
        "{}",
        csv.text
    );
}

/// R13 over time: five pairs of D1 formed and accepted last month, one of them ends today.
/// When a report counted the current status of the pairs formed in a month, last month's
/// `ended` went from 0 to 1 — the difference of two reports of the same closed month was that
/// one pair. Each change is counted in the month it happens: a closed month reads the same at
/// every request.
#[tokio::test]
async fn r13_a_closed_month_reads_the_same_after_a_pair_moves_on() {
    let app = spawn_app().await;
    let program = program_with(&app, &[("D1", "A"); 5]).await;
    for (pair, mentor, mentee, ..) in &program.pairs {
        app.both_accept(pair, mentor, mentee).await;
    }
    all_happened_on(&app, last_month(5)).await;
    let query = "group_by=department";
    let before = report(&app, &program.id, query).await;
    assert_eq!(
        figure(&before, "D1", "/pairs_by_status/active"),
        Some(5),
        "{before}"
    );
    // Nobody ended: no cell, no figure.
    assert_eq!(
        figure(&before, "D1", "/pairs_by_status/ended"),
        None,
        "{before}"
    );

    let (pair, mentor, ..) = program.pairs[0].clone();
    let ended = app.member(&mentor).end_pair(&pair, "other").await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    // Another window over the same closed month (the month before last holds nothing), so
    // the replica's one-minute cache of the first answer cannot answer for it.
    let wider = format!("{query}&from={}", last_month(1) - Duration::days(20));
    let after = report(&app, &program.id, &wider).await;
    assert_eq!(before["groups"], after["groups"], "{before} {after}");
    assert_eq!(before["total"], after["total"]);
}

/// Six mentees of D1: five pairs formed on the 3rd of last month, the sixth on the 10th and
/// accepted. On day windows, `to=10th` and `to=11th` differ by that one pair. On whole closed
/// months both are last month, and the running month is not shown.
#[tokio::test]
async fn r13_a_difference_of_windows_isolates_nobody() {
    let app = spawn_app().await;
    let program = program_with(&app, &[("D1", "A"); 6]).await;
    let (pair, mentor, mentee, ..) = program.pairs[5].clone();
    app.both_accept(&pair, &mentor, &mentee).await;
    all_happened_on(&app, last_month(3)).await;
    app.time_passes(
        "UPDATE pairs SET created_at = $1 WHERE id = $2",
        vec![
            last_month(10)
                .and_hms_opt(12, 0, 0)
                .unwrap()
                .and_utc()
                .into(),
            uuid::Uuid::parse_str(&pair).unwrap().into(),
        ],
    )
    .await;
    let from = last_month(1);
    let window = |to: NaiveDate| format!("group_by=department&from={from}&to={to}");
    let before = report(&app, &program.id, &window(last_month(10))).await;
    let after = report(&app, &program.id, &window(last_month(11))).await;
    if let (Some(a), Some(b)) = (
        figure(&before, "D1", "/pairs_by_status/active"),
        figure(&after, "D1", "/pairs_by_status/active"),
    ) {
        assert_ne!(b - a, 1, "the 10th's one pair: {before} {after}");
    }
    assert_eq!(before["groups"], after["groups"]);
    assert_eq!(before["total"], after["total"]);
    // The window covered is echoed: last month, whole.
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap().and_utc();
    for r in [&before, &after] {
        assert_eq!(
            r["from"]
                .as_str()
                .map(|s| s.parse::<chrono::DateTime<Utc>>().unwrap()),
            Some(midnight(from)),
            "{r}"
        );
        assert_eq!(
            r["to"]
                .as_str()
                .map(|s| s.parse::<chrono::DateTime<Utc>>().unwrap()),
            Some(midnight(first_of_this_month())),
            "{r}"
        );
    }
    assert_eq!(figure(&after, "D1", "/pairs"), Some(6), "{after}");
}

/// A pair formed today is in no report until this month has closed.
#[tokio::test]
async fn r13_a_pair_formed_today_is_in_no_report_until_its_month_closed() {
    let app = spawn_app().await;
    let program = program_with(&app, &[("D1", "A"); 6]).await;
    let (pair, mentor, mentee, ..) = program.pairs[5].clone();
    app.both_accept(&pair, &mentor, &mentee).await;
    all_happened_on(&app, last_month(3)).await;
    let today = program_with_one_more(&app, &program.id).await;
    let now = report(&app, &program.id, "group_by=department").await;
    assert_eq!(figure(&now, "D1", "/pairs"), Some(6), "{now}");
    assert!(today);
}

/// A window with no closed month is refused, with its own code.
#[tokio::test]
async fn a_report_window_without_a_closed_month_is_refused() {
    let app = spawn_app().await;
    let program = program_with(&app, &[("D1", "A"); 6]).await;
    let tomorrow = Utc::now().date_naive() + Duration::days(1);
    let refused = app
        .analyst()
        .report(
            &program.id,
            &format!("from={}&to={tomorrow}", first_of_this_month()),
        )
        .await
        .problem(422, "report_window_open");
    assert!(
        refused["detail"].as_str().unwrap().contains("closed"),
        "{refused}"
    );
}

/// A seventh mentee of D1 at A, paired today.
async fn program_with_one_more(app: &TestApp, program: &str) -> bool {
    import_mentor_and_mentee(app, 9, "D1", "A").await;
    let ids = app.person_ids().await;
    let reply = propose_between(app, program, &ids["R9"], &ids["E9"]).await;
    reply.status == 201
}

/// Small (2 mentees, who each cancel a meeting), Zero (5 mentees whose pairs are only
/// proposed: no meeting, as everyone knows) and Big (6 mentees who each cancel one). On
/// per-report suppression Small is hidden with Zero as its cover — and Small's meetings are
/// the total minus Big's, Zero's being zero. On cells, a meeting cell counts the mentees who
/// had meetings: Small's is under k and in no figure, the total neither.
#[tokio::test]
async fn r13_a_group_known_to_be_zero_covers_nobody() {
    let app = spawn_app().await;
    let mut places = vec![("Small", "A"); 2];
    places.extend([("Zero", "A"); 5]);
    places.extend([("Big", "A"); 6]);
    let program = program_with(&app, &places).await;
    for (pair, mentor, mentee, dept, _) in &program.pairs {
        if dept == "Zero" {
            continue;
        }
        app.both_accept(pair, mentor, mentee).await;
        let meeting = app.member(mentor).schedule(pair, &video_at(200)).await;
        assert_eq!(meeting.status, 201, "{}", meeting.text);
        let cancelled = app
            .member(mentee)
            .cancel_meeting(pair, &id_of(&meeting.json()), "Garde")
            .await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    }
    all_happened_on(&app, last_month(5)).await;

    let by_department = report(&app, &program.id, "group_by=department").await;
    let cancelled = "/meetings_cancelled";
    if let (Some(total), Some(big)) = (
        by_department["total"]
            .pointer(cancelled)
            .and_then(Value::as_i64),
        figure(&by_department, "Big", cancelled),
    ) {
        assert_ne!(
            total - big,
            2,
            "Small's cancellations are the total minus Big's: {by_department}"
        );
    }
    for pointer in [cancelled, "/meetings_held", "/pairs", "/people"] {
        groups_add_up_to_the_total(&by_department, pointer);
    }
    assert_eq!(figure(&by_department, "Big", cancelled), Some(6));
    assert_eq!(figure(&by_department, "Small", cancelled), None);
    // Zero's pairs are five: their own figures are shown, and they had no meeting.
    assert_eq!(figure(&by_department, "Zero", "/pairs"), Some(5));
    assert_eq!(figure(&by_department, "Zero", cancelled), None);
    assert_eq!(by_department["total"]["meetings_cancelled"], 6);
    let total = report(&app, &program.id, "").await;
    assert_eq!(total["total"]["meetings_cancelled"], 6, "{total}");
}

/// A report without the time it was computed (the rest is what it publishes).
fn published(report: &Value) -> Value {
    let mut r = report.clone();
    r.as_object_mut().unwrap().remove("computed_at");
    r.as_object_mut().unwrap().remove("from");
    r
}

/// Every report over last month, and over the two months before this one (a window with
/// another key for the replica's one-minute cache; the month before last holds nothing).
async fn every_grouping(app: &TestApp, program: &str, wide: bool) -> Vec<Value> {
    let from = if wide {
        last_month(1) - Duration::days(20)
    } else {
        last_month(1)
    };
    let mut out = Vec::new();
    for group_by in ["", "group_by=department&", "group_by=site&"] {
        out.push(published(
            &report(app, program, &format!("{group_by}from={from}")).await,
        ));
    }
    out
}

/// A mentee of department D2 at site B, the only one of either (as everyone in the
/// hospital knows), paired with a mentor of their own.
async fn pair_the_lone_mentee(app: &TestApp, program: &str) {
    import_mentor_and_mentee(app, 8, "D2", "B").await;
    let ids = app.person_ids().await;
    let reply = propose_between(app, program, &ids["R8"], &ids["E8"]).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

/// R13's presence (issue 12, finding 1, second review): that D2, whose one mentee everyone
/// knows, is listed with its figures hidden — or that one cell was left out of the total —
/// says that this one person joined the program last month. A group none of whose figures is
/// shown is not listed, and nothing counts the cells or people left out: every report is the
/// same, to the byte, whether the lone mentee was paired or not.
#[tokio::test]
async fn r13_a_lone_mentee_pairing_changes_no_report() {
    let app = spawn_app().await;
    let program = program_with(&app, &[("D1", "A"); 5]).await;
    all_happened_on(&app, last_month(5)).await;
    let without = every_grouping(&app, &program.id, false).await;
    assert_eq!(
        figure(&without[1], "D1", "/pairs"),
        Some(5),
        "{}",
        without[1]
    );

    pair_the_lone_mentee(&app, &program.id).await;
    all_happened_on(&app, last_month(5)).await;
    let with = every_grouping(&app, &program.id, true).await;
    for (a, b) in without.iter().zip(&with) {
        assert_eq!(a, b, "the lone mentee's pair shows");
    }
    for r in &with {
        for g in r["groups"].as_array().unwrap() {
            assert_ne!(g["group"], "D2", "{r}");
            assert_ne!(g["group"], "B", "{r}");
        }
        assert_eq!(r["total"]["cells_left_out"], Value::Null, "{r}");
    }
    // The CSV neither: its `cells_left_out` column is empty.
    let csv = csv_report(
        &app,
        &program.id,
        &format!("group_by=site&from={}", last_month(1) - Duration::days(40)),
    )
    .await;
    assert_eq!(csv.status, 200);
    assert!(!csv.text.contains("\r\nB,"), "{}", csv.text);
    let mut rows = csv::Reader::from_reader(csv.text.as_bytes());
    let header = rows.headers().unwrap().clone();
    let at = header.iter().position(|h| h == "cells_left_out").unwrap();
    for row in rows.records() {
        assert_eq!(&row.unwrap()[at], "", "{}", csv.text);
    }
}

/// R13 beyond sums (issue 12, finding 1, second review): a median is one person's own value
/// (five make-ups: the third delay), and medians of overlapping windows or groups are not
/// sums that cancel out. Every published figure is a function of the kept cells' sums and
/// counts: two months whose five make-ups took 1, 1, 1, 1 and 6 days, or 2 days each (the
/// same sum, the same count), publish the same report.
#[tokio::test]
async fn r13_figures_depend_only_on_the_kept_cells_sums() {
    let app = spawn_app().await;
    let program = program_with(&app, &[("D1", "A"); 5]).await;
    for (pair, mentor, mentee, ..) in &program.pairs {
        app.both_accept(pair, mentor, mentee).await;
        let meeting = app.member(mentor).schedule(pair, &video_at(200)).await;
        assert_eq!(meeting.status, 201, "{}", meeting.text);
        let cancelled_id = id_of(&meeting.json());
        let cancelled = app
            .member(mentee)
            .cancel_meeting(pair, &cancelled_id, "Garde")
            .await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
        let mut again = video_at(300);
        again["reschedules"] = json!(cancelled_id);
        let again = app.member(mentor).schedule(pair, &again).await;
        assert_eq!(again.status, 201, "{}", again.text);
    }
    all_happened_on(&app, last_month(5)).await;
    let set_days = |days: [f64; 5]| {
        let app = &app;
        let pairs: Vec<String> = program.pairs.iter().map(|p| p.0.clone()).collect();
        async move {
            for (pair, d) in pairs.iter().zip(days) {
                app.time_passes(
                    "UPDATE report_reschedules SET days = $1 WHERE pair_id = $2",
                    vec![d.into(), uuid::Uuid::parse_str(pair).unwrap().into()],
                )
                .await;
            }
        }
    };
    set_days([1.0, 1.0, 1.0, 1.0, 6.0]).await;
    let skewed = every_grouping(&app, &program.id, false).await;
    set_days([2.0; 5]).await;
    let even = every_grouping(&app, &program.id, true).await;
    assert_eq!(
        figure(&even[1], "D1", "/meetings_cancelled"),
        Some(5),
        "{}",
        even[1]
    );
    for (a, b) in skewed.iter().zip(&even) {
        assert_eq!(a, b, "a figure follows one make-up's own delay");
    }
    // What is published instead of the median: the average, a sum over a count.
    let d1 = even[1]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == "D1")
        .unwrap()
        .clone();
    assert_eq!(d1["average_reschedule_days"], 2.0, "{d1}");
    assert_eq!(d1["median_reschedule_days"], Value::Null, "{d1}");
}
