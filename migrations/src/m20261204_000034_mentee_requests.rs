//! Issue 17: requests by mentees. A program's `matching_mode` (`coordinator`, the default and
//! the behaviour before it; `self`; `both`), and the requests: a mentee's enrollment asks a
//! mentor's enrollment, with an optional message sealed at rest (the mentee's words, R5/R14).
//! One pending request per mentee and mentor, enforced by a partial unique index; the cap of
//! three pending per mentee is counted under the mentee enrollment's row lock.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Programs {
    Table,
    MatchingMode,
}

#[derive(DeriveIden)]
enum MenteeRequests {
    Table,
    Id,
    ProgramId,
    MenteeEnrollmentId,
    MentorEnrollmentId,
    MenteePersonId,
    MentorPersonId,
    Status,
    Message,
    PairId,
    CreatedAt,
    DecidedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Programs::Table)
                    .add_column(
                        ColumnDef::new(Programs::MatchingMode)
                            .string()
                            .not_null()
                            .default("coordinator"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MenteeRequests::Table)
                    .col(pk_uuid(MenteeRequests::Id))
                    .col(uuid(MenteeRequests::ProgramId))
                    .col(uuid(MenteeRequests::MenteeEnrollmentId))
                    .col(uuid(MenteeRequests::MentorEnrollmentId))
                    .col(uuid(MenteeRequests::MenteePersonId))
                    .col(uuid(MenteeRequests::MentorPersonId))
                    .col(string(MenteeRequests::Status))
                    .col(text_null(MenteeRequests::Message))
                    .col(uuid_null(MenteeRequests::PairId))
                    .col(timestamp_with_time_zone(MenteeRequests::CreatedAt))
                    .col(timestamp_with_time_zone_null(MenteeRequests::DecidedAt))
                    .to_owned(),
            )
            .await?;
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "CREATE INDEX ix_mentee_requests_mentee ON mentee_requests (mentee_enrollment_id, id)",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX ix_mentee_requests_mentor ON mentee_requests (mentor_enrollment_id, id)",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX ux_mentee_requests_pending ON mentee_requests \
             (mentee_enrollment_id, mentor_enrollment_id) WHERE status = 'pending'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MenteeRequests::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Programs::Table)
                    .drop_column(Programs::MatchingMode)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
