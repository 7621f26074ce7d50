//! R13's cells (issue 12): a report is made of department × site × month cells, and a cell
//! under k people is in no figure. Each kind of figure counts its own people:
//!
//! - `report_meeting_members`: the mentees whose pairs had a meeting recorded (held, missed,
//!   cancelled) in a month, per program, department and site — the people of a month's
//!   meeting cell (the tallies count meetings, not people);
//! - `report_reschedules.recorded_day`: the day a cancellation was made up for, so that a
//!   closed month's reschedules never change (a make-up recorded later counts in its own
//!   month, not in the month of the cancellation).
//!
//! Existing rows are counted once here, by the rules of migration 000010 (a meeting in the
//! month it started or was cancelled; a reschedule on the day of its cancellation).

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DbBackend},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn month(backend: DbBackend, col: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM')"),
        _ => format!("substr(date({col}), 1, 7)"),
    }
}

fn day(backend: DbBackend, col: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        _ => format!("date({col})"),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReportMeetingMembers::Table)
                    .if_not_exists()
                    .col(uuid(ReportMeetingMembers::ProgramId))
                    .col(string_len(ReportMeetingMembers::Month, 7))
                    .col(string(ReportMeetingMembers::Department))
                    .col(string(ReportMeetingMembers::Site))
                    .col(uuid(ReportMeetingMembers::MenteeId))
                    .primary_key(
                        Index::create()
                            .col(ReportMeetingMembers::ProgramId)
                            .col(ReportMeetingMembers::Month)
                            .col(ReportMeetingMembers::Department)
                            .col(ReportMeetingMembers::Site)
                            .col(ReportMeetingMembers::MenteeId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ReportReschedules::Table)
                    .add_column(
                        string_len(ReportReschedules::RecordedDay, 10)
                            .default("")
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_report_reschedules_recorded")
                    .table(ReportReschedules::Table)
                    .col(ReportReschedules::ProgramId)
                    .col(ReportReschedules::RecordedDay)
                    .to_owned(),
            )
            .await?;
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        let meeting_month = format!(
            "CASE WHEN m.status = 'cancelled' THEN {} ELSE {} END",
            month(backend, "COALESCE(m.cancelled_at, m.starts_at)"),
            month(backend, "m.starts_at")
        );
        for sql in [
            format!(
                "INSERT INTO report_meeting_members \
                   (program_id, month, department, site, mentee_id) \
                 SELECT DISTINCT pr.program_id, {meeting_month}, pr.report_department, \
                   pr.report_site, pr.mentee_person_id \
                 FROM meetings m JOIN pairs pr ON pr.id = m.pair_id \
                 WHERE m.status IN ('held', 'cancelled', 'missed') \
                   AND NOT (m.status = 'cancelled' AND m.cancelled_by IS NULL)"
            ),
            format!(
                "UPDATE report_reschedules SET recorded_day = {}",
                day(backend, "cancelled_at")
            ),
        ] {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_report_reschedules_recorded")
                    .table(ReportReschedules::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ReportReschedules::Table)
                    .drop_column(ReportReschedules::RecordedDay)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(ReportMeetingMembers::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum ReportMeetingMembers {
    Table,
    ProgramId,
    Month,
    Department,
    Site,
    MenteeId,
}

#[derive(DeriveIden)]
enum ReportReschedules {
    Table,
    ProgramId,
    RecordedDay,
}
