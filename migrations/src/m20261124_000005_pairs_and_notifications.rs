use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Pairs::Table)
                    .if_not_exists()
                    .col(pk_uuid(Pairs::Id))
                    .col(uuid(Pairs::ProgramId))
                    .col(uuid(Pairs::MentorEnrollmentId))
                    .col(uuid(Pairs::MenteeEnrollmentId))
                    // The members' person ids, so "my pairs" and the R1 walk need no join
                    // through enrollments.
                    .col(uuid(Pairs::MentorPersonId))
                    .col(uuid(Pairs::MenteePersonId))
                    .col(string_len(Pairs::Status, 16))
                    .col(timestamp_with_time_zone_null(Pairs::MentorAcceptedAt))
                    .col(timestamp_with_time_zone_null(Pairs::MenteeAcceptedAt))
                    .col(timestamp_with_time_zone_null(Pairs::ActivatedAt))
                    .col(timestamp_with_time_zone_null(Pairs::EndedAt))
                    .col(string_len_null(Pairs::EndReason, 32))
                    // R9: the members' own words; never shown to coordinators.
                    .col(text_null(Pairs::EndReasonText))
                    .col(boolean(Pairs::HierarchyConflict).default(false))
                    .col(timestamp_with_time_zone_null(Pairs::SuspendedAt))
                    .col(integer(Pairs::Revision))
                    .col(timestamp_with_time_zone(Pairs::CreatedAt))
                    .col(timestamp_with_time_zone(Pairs::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_pairs_program", vec![Pairs::ProgramId, Pairs::Id]),
            ("idx_pairs_mentor_person", vec![Pairs::MentorPersonId]),
            ("idx_pairs_mentee_person", vec![Pairs::MenteePersonId]),
            (
                "idx_pairs_mentor_enrollment",
                vec![Pairs::MentorEnrollmentId, Pairs::Status],
            ),
            (
                "idx_pairs_mentee_enrollment",
                vec![Pairs::MenteeEnrollmentId, Pairs::Status],
            ),
            ("idx_pairs_status", vec![Pairs::Status]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Pairs::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .if_not_exists()
                    .col(pk_uuid(Notifications::Id))
                    .col(uuid(Notifications::PersonId))
                    .col(string_len(Notifications::Kind, 64))
                    .col(uuid_null(Notifications::ProgramId))
                    .col(uuid_null(Notifications::PairId))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_person")
                    .table(Notifications::Table)
                    .col(Notifications::PersonId)
                    .col(Notifications::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Notifications::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Pairs::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Pairs {
    Table,
    Id,
    ProgramId,
    MentorEnrollmentId,
    MenteeEnrollmentId,
    MentorPersonId,
    MenteePersonId,
    Status,
    MentorAcceptedAt,
    MenteeAcceptedAt,
    ActivatedAt,
    EndedAt,
    EndReason,
    EndReasonText,
    HierarchyConflict,
    SuspendedAt,
    Revision,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    PersonId,
    Kind,
    ProgramId,
    PairId,
    CreatedAt,
    ReadAt,
}
