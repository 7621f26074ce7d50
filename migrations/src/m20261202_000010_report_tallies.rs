//! What a program report reads instead of every meeting and score (issue 7: under 200 ms on
//! 50,000 pairs and 500,000 meetings):
//!
//! - on `pairs`, the report group of the pair — the mentee's department and site **when the
//!   pair was formed** — whether it crosses departments, and whether it has an agreed and an
//!   achieved objective;
//! - `meeting_tallies`: per program, UTC day, department and site, how many meetings were held
//!   or missed (on the day they started) and cancelled, late or not (on the day of the
//!   cancellation) — kept in the transaction that closes or cancels a meeting;
//! - `feedback_tallies`: per program, day, group and dimension, the sum and number of scores;
//!   `feedback` rows carry their program and group so respondents are counted without joins;
//! - `report_reschedules`: one row per cancellation made up for, with the days it took.
//!
//! Existing rows are counted once here, by the same rules (pairs formed before this
//! migration take their group as the people are now).

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DbBackend},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The UTC calendar day of a timestamp column, as `YYYY-MM-DD` text on both databases.
fn day(backend: DbBackend, col: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        _ => format!("date({col})"),
    }
}

fn days_between(backend: DbBackend, later: &str, earlier: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0 AS DOUBLE PRECISION)")
        }
        _ => format!("CAST(julianday({later}) - julianday({earlier}) AS DOUBLE PRECISION)"),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for col in [
            string(Pairs::ReportDepartment).default("(none)").to_owned(),
            string(Pairs::ReportSite).default("(none)").to_owned(),
            boolean(Pairs::CrossDepartment).default(false).to_owned(),
            boolean(Pairs::ObjectivesAgreed).default(false).to_owned(),
            boolean(Pairs::ObjectivesAchieved).default(false).to_owned(),
        ] {
            let mut col = col;
            manager
                .alter_table(
                    Table::alter()
                        .table(Pairs::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        for col in [
            uuid_null(Feedback::ProgramId),
            string(Feedback::ReportDepartment)
                .default("(none)")
                .to_owned(),
            string(Feedback::ReportSite).default("(none)").to_owned(),
        ] {
            let mut col = col;
            manager
                .alter_table(
                    Table::alter()
                        .table(Feedback::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_feedback_program_created")
                    .table(Feedback::Table)
                    .col(Feedback::ProgramId)
                    .col(Feedback::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_pairs_program_created")
                    .table(Pairs::Table)
                    .col(Pairs::ProgramId)
                    .col(Pairs::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MeetingTallies::Table)
                    .if_not_exists()
                    .col(uuid(MeetingTallies::ProgramId))
                    .col(string_len(MeetingTallies::Day, 10))
                    .col(string(MeetingTallies::Department))
                    .col(string(MeetingTallies::Site))
                    .col(big_integer(MeetingTallies::Held).default(0))
                    .col(big_integer(MeetingTallies::Cancelled).default(0))
                    .col(big_integer(MeetingTallies::Late).default(0))
                    .col(big_integer(MeetingTallies::Missed).default(0))
                    .primary_key(
                        Index::create()
                            .col(MeetingTallies::ProgramId)
                            .col(MeetingTallies::Day)
                            .col(MeetingTallies::Department)
                            .col(MeetingTallies::Site),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FeedbackTallies::Table)
                    .if_not_exists()
                    .col(uuid(FeedbackTallies::ProgramId))
                    .col(string_len(FeedbackTallies::Day, 10))
                    .col(string(FeedbackTallies::Department))
                    .col(string(FeedbackTallies::Site))
                    .col(string_len(FeedbackTallies::Dimension, 32))
                    .col(big_integer(FeedbackTallies::Total).default(0))
                    .col(big_integer(FeedbackTallies::Answers).default(0))
                    .primary_key(
                        Index::create()
                            .col(FeedbackTallies::ProgramId)
                            .col(FeedbackTallies::Day)
                            .col(FeedbackTallies::Department)
                            .col(FeedbackTallies::Site)
                            .col(FeedbackTallies::Dimension),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReportReschedules::Table)
                    .if_not_exists()
                    .col(pk_uuid(ReportReschedules::CancelledId))
                    .col(uuid(ReportReschedules::ProgramId))
                    .col(uuid(ReportReschedules::PairId))
                    .col(string(ReportReschedules::Department))
                    .col(string(ReportReschedules::Site))
                    .col(timestamp_with_time_zone(ReportReschedules::CancelledAt))
                    .col(double(ReportReschedules::Days))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_report_reschedules_program")
                    .table(ReportReschedules::Table)
                    .col(ReportReschedules::ProgramId)
                    .col(ReportReschedules::CancelledAt)
                    .to_owned(),
            )
            .await?;

        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        // Held and missed on the day the meeting started; cancelled on the day of the
        // cancellation.
        let meeting_day = format!(
            "CASE WHEN m.status = 'cancelled' THEN {} ELSE {} END",
            day(backend, "COALESCE(m.cancelled_at, m.starts_at)"),
            day(backend, "m.starts_at")
        );
        let score_day = day(backend, "s.created_at");
        let days = days_between(backend, "r.created_at", "c.cancelled_at");
        for sql in [
            "UPDATE pairs SET \
               report_department = COALESCE((SELECT department FROM people \
                 WHERE people.id = pairs.mentee_person_id), '(none)'), \
               report_site = COALESCE((SELECT site FROM people \
                 WHERE people.id = pairs.mentee_person_id), '(none)'), \
               cross_department = COALESCE((SELECT mr.department <> me.department \
                 FROM people mr, people me \
                 WHERE mr.id = pairs.mentor_person_id AND me.id = pairs.mentee_person_id), false), \
               objectives_agreed = EXISTS (SELECT 1 FROM objectives o \
                 WHERE o.pair_id = pairs.id AND o.agreed_at IS NOT NULL), \
               objectives_achieved = EXISTS (SELECT 1 FROM objectives o \
                 WHERE o.pair_id = pairs.id AND o.status = 'achieved')"
                .to_owned(),
            format!(
                "INSERT INTO meeting_tallies \
                   (program_id, day, department, site, held, cancelled, late, missed) \
                 SELECT pr.program_id, {meeting_day}, pr.report_department, pr.report_site, \
                   SUM(CASE WHEN m.status = 'held' THEN 1 ELSE 0 END), \
                   SUM(CASE WHEN m.status = 'cancelled' THEN 1 ELSE 0 END), \
                   SUM(CASE WHEN m.status = 'cancelled' AND m.late THEN 1 ELSE 0 END), \
                   SUM(CASE WHEN m.status = 'missed' THEN 1 ELSE 0 END) \
                 FROM meetings m JOIN pairs pr ON pr.id = m.pair_id \
                 WHERE m.status IN ('held', 'cancelled', 'missed') \
                   AND NOT (m.status = 'cancelled' AND m.cancelled_by IS NULL) \
                 GROUP BY pr.program_id, {meeting_day}, pr.report_department, pr.report_site"
            ),
            format!(
                "INSERT INTO report_reschedules \
                   (cancelled_id, program_id, pair_id, department, site, cancelled_at, days) \
                 SELECT c.id, pr.program_id, pr.id, pr.report_department, pr.report_site, \
                   c.cancelled_at, MIN({days}) \
                 FROM meetings r JOIN meetings c ON c.id = r.reschedules \
                 JOIN pairs pr ON pr.id = c.pair_id \
                 WHERE c.cancelled_at IS NOT NULL \
                 GROUP BY c.id, pr.program_id, pr.id, pr.report_department, pr.report_site, \
                   c.cancelled_at"
            ),
            "UPDATE feedback SET \
               program_id = (SELECT program_id FROM pairs WHERE pairs.id = feedback.pair_id), \
               report_department = (SELECT report_department FROM pairs \
                 WHERE pairs.id = feedback.pair_id), \
               report_site = (SELECT report_site FROM pairs WHERE pairs.id = feedback.pair_id)"
                .to_owned(),
            format!(
                "INSERT INTO feedback_tallies \
                   (program_id, day, department, site, dimension, total, answers) \
                 SELECT f.program_id, {score_day}, f.report_department, f.report_site, \
                   s.dimension, SUM(s.score), COUNT(*) \
                 FROM feedback_scores s JOIN feedback f ON f.id = s.feedback_id \
                 WHERE f.program_id IS NOT NULL \
                 GROUP BY f.program_id, {score_day}, f.report_department, f.report_site, \
                   s.dimension"
            ),
        ] {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ReportReschedules::Table.into_iden(),
            FeedbackTallies::Table.into_iden(),
            MeetingTallies::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_pairs_program_created")
                    .table(Pairs::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_feedback_program_created")
                    .table(Feedback::Table)
                    .to_owned(),
            )
            .await?;
        for col in [
            Feedback::ProgramId,
            Feedback::ReportDepartment,
            Feedback::ReportSite,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Feedback::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        for col in [
            Pairs::ReportDepartment,
            Pairs::ReportSite,
            Pairs::CrossDepartment,
            Pairs::ObjectivesAgreed,
            Pairs::ObjectivesAchieved,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Pairs::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Pairs {
    Table,
    ProgramId,
    CreatedAt,
    ReportDepartment,
    ReportSite,
    CrossDepartment,
    ObjectivesAgreed,
    ObjectivesAchieved,
}

#[derive(DeriveIden)]
enum Feedback {
    Table,
    ProgramId,
    CreatedAt,
    ReportDepartment,
    ReportSite,
}

#[derive(DeriveIden)]
enum MeetingTallies {
    Table,
    ProgramId,
    Day,
    Department,
    Site,
    Held,
    Cancelled,
    Late,
    Missed,
}

#[derive(DeriveIden)]
enum FeedbackTallies {
    Table,
    ProgramId,
    Day,
    Department,
    Site,
    Dimension,
    Total,
    Answers,
}

#[derive(DeriveIden)]
enum ReportReschedules {
    Table,
    CancelledId,
    ProgramId,
    PairId,
    Department,
    Site,
    CancelledAt,
    Days,
}
