//! R13 over time (issue 12): a pair's figures are the moments it changed, each counted in the
//! month it happened — never its current state counted in the month it was formed, which
//! changed a closed month's figures whenever one pair moved on (two reports a month apart
//! differed by exactly that pair).
//!
//! `report_pair_events`: one row per pair and kind — the pair entered a status (`proposed`,
//! `active`, `completed`, `ended`, `suspended`) or had its first objective agreed
//! (`objectives_agreed`) or achieved (`objectives_achieved`) — in the month it was recorded,
//! in the pair's report group. Rows are only ever inserted, dated when the change commits,
//! so a closed month's cells never change. Existing pairs are counted once here from their
//! timestamps (an achieved objective at its last update).

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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReportPairEvents::Table)
                    .if_not_exists()
                    .col(uuid(ReportPairEvents::PairId))
                    .col(string_len(ReportPairEvents::Kind, 24))
                    .col(uuid(ReportPairEvents::ProgramId))
                    .col(string_len(ReportPairEvents::Month, 7))
                    .col(string(ReportPairEvents::Department))
                    .col(string(ReportPairEvents::Site))
                    .col(uuid(ReportPairEvents::MenteeId))
                    .primary_key(
                        Index::create()
                            .col(ReportPairEvents::PairId)
                            .col(ReportPairEvents::Kind),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_report_pair_events_program_month")
                    .table(ReportPairEvents::Table)
                    .col(ReportPairEvents::ProgramId)
                    .col(ReportPairEvents::Month)
                    .to_owned(),
            )
            .await?;
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        let insert = "INSERT INTO report_pair_events \
                        (pair_id, kind, program_id, month, department, site, mentee_id)";
        let mut statements = Vec::new();
        // (kind, the moment, the condition)
        for (kind, at, condition) in [
            ("proposed", "p.created_at", "p.created_at IS NOT NULL"),
            ("active", "p.activated_at", "p.activated_at IS NOT NULL"),
            (
                "completed",
                "p.ended_at",
                "p.status = 'completed' AND p.ended_at IS NOT NULL",
            ),
            (
                "ended",
                "p.ended_at",
                "p.status = 'ended' AND p.ended_at IS NOT NULL",
            ),
            ("suspended", "p.suspended_at", "p.suspended_at IS NOT NULL"),
        ] {
            statements.push(format!(
                "{insert} SELECT p.id, '{kind}', p.program_id, {m}, p.report_department, \
                   p.report_site, p.mentee_person_id FROM pairs p WHERE {condition}",
                m = month(backend, at)
            ));
        }
        for (kind, at, condition) in [
            (
                "objectives_agreed",
                "o.agreed_at",
                "o.agreed_at IS NOT NULL",
            ),
            (
                "objectives_achieved",
                "o.updated_at",
                "o.status = 'achieved'",
            ),
        ] {
            statements.push(format!(
                "{insert} SELECT p.id, '{kind}', p.program_id, {m}, p.report_department, \
                   p.report_site, p.mentee_person_id \
                 FROM pairs p JOIN (SELECT pair_id, MIN({at}) AS at FROM objectives o \
                   WHERE {condition} GROUP BY pair_id) f ON f.pair_id = p.id",
                m = month(backend, "f.at")
            ));
        }
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ReportPairEvents::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ReportPairEvents {
    Table,
    PairId,
    Kind,
    ProgramId,
    Month,
    Department,
    Site,
    MenteeId,
}
