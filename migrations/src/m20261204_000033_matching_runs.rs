//! Issue 17: matching runs, kept: who ran one (external id), when, with which objective and
//! weights, the fingerprint of its inputs (a run whose inputs changed since is stale and is
//! not applied), its lines and unmatched mentees (ids, scores, reasons: no word of a pair),
//! and when and by whom it was applied.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MatchingRuns {
    Table,
    Id,
    ProgramId,
    Objective,
    Weights,
    Fingerprint,
    Result,
    CreatedBy,
    CreatedAt,
    AppliedBy,
    AppliedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MatchingRuns::Table)
                    .col(pk_uuid(MatchingRuns::Id))
                    .col(uuid(MatchingRuns::ProgramId))
                    .col(string(MatchingRuns::Objective))
                    .col(text(MatchingRuns::Weights))
                    .col(string(MatchingRuns::Fingerprint))
                    .col(text(MatchingRuns::Result))
                    .col(string(MatchingRuns::CreatedBy))
                    .col(timestamp_with_time_zone(MatchingRuns::CreatedAt))
                    .col(string_null(MatchingRuns::AppliedBy))
                    .col(timestamp_with_time_zone_null(MatchingRuns::AppliedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_matching_runs_program ON matching_runs (program_id, id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MatchingRuns::Table).to_owned())
            .await?;
        Ok(())
    }
}
