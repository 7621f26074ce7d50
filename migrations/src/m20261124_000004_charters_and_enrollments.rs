use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261124_000003_people::People;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Programs {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CharterVersions::Table)
                    .if_not_exists()
                    .col(uuid(CharterVersions::ProgramId))
                    .col(integer(CharterVersions::Version))
                    .col(text(CharterVersions::Text))
                    .col(string_len(CharterVersions::CreatedBy, 64))
                    .col(timestamp_with_time_zone(CharterVersions::CreatedAt))
                    // Two coordinators adding a version at once: one gets n+1, the other
                    // retries — the key refuses a duplicate version.
                    .primary_key(
                        Index::create()
                            .col(CharterVersions::ProgramId)
                            .col(CharterVersions::Version),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CharterVersions::Table, CharterVersions::ProgramId)
                            .to(Programs::Table, Programs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Enrollments::Table)
                    .if_not_exists()
                    .col(pk_uuid(Enrollments::Id))
                    .col(uuid(Enrollments::ProgramId))
                    .col(uuid(Enrollments::PersonId))
                    .col(string_len(Enrollments::Role, 16))
                    .col(integer_null(Enrollments::Capacity))
                    // JSON arrays of short labels.
                    .col(text(Enrollments::Topics))
                    .col(text(Enrollments::Languages))
                    .col(text_null(Enrollments::Goals))
                    .col(integer_null(Enrollments::AcceptedCharterVersion))
                    .col(timestamp_with_time_zone_null(Enrollments::AcceptedAt))
                    .col(integer(Enrollments::Revision))
                    .col(timestamp_with_time_zone(Enrollments::CreatedAt))
                    .col(timestamp_with_time_zone(Enrollments::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Enrollments::Table, Enrollments::ProgramId)
                            .to(Programs::Table, Programs::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Enrollments::Table, Enrollments::PersonId)
                            .to(People::Table, People::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_enrollments_program_person")
                    .table(Enrollments::Table)
                    .col(Enrollments::ProgramId)
                    .col(Enrollments::PersonId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_enrollments_person")
                    .table(Enrollments::Table)
                    .col(Enrollments::PersonId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Enrollments::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CharterVersions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum CharterVersions {
    Table,
    ProgramId,
    Version,
    Text,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Enrollments {
    Table,
    Id,
    ProgramId,
    PersonId,
    Role,
    Capacity,
    Topics,
    Languages,
    Goals,
    AcceptedCharterVersion,
    AcceptedAt,
    Revision,
    CreatedAt,
    UpdatedAt,
}
