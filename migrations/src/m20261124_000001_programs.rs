use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Programs::Table)
                    .if_not_exists()
                    // UUID v7: time-ordered, so keyset pagination on the primary key lists
                    // programs in creation order.
                    .col(pk_uuid(Programs::Id))
                    .col(string_len(Programs::Name, 200))
                    .col(text(Programs::Description))
                    .col(date_null(Programs::StartsOn))
                    .col(date_null(Programs::EndsOn))
                    .col(string_len(Programs::Status, 16))
                    .col(integer(Programs::CadenceDays))
                    .col(integer(Programs::NoticeHours))
                    .col(integer(Programs::DefaultMentorCapacity))
                    // Bumped on every change; the ETag is derived from it.
                    .col(integer(Programs::Revision))
                    .col(timestamp_with_time_zone(Programs::CreatedAt))
                    .col(timestamp_with_time_zone(Programs::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_programs_status_id")
                    .table(Programs::Table)
                    .col(Programs::Status)
                    .col(Programs::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Programs::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Programs {
    Table,
    Id,
    Name,
    Description,
    StartsOn,
    EndsOn,
    Status,
    CadenceDays,
    NoticeHours,
    DefaultMentorCapacity,
    Revision,
    CreatedAt,
    UpdatedAt,
}
