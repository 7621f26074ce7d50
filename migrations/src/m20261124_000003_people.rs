use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(People::Table)
                    .if_not_exists()
                    .col(pk_uuid(People::Id))
                    .col(string_len_uniq(People::ExternalId, 64))
                    .col(string_len(People::GivenName, 100))
                    .col(string_len(People::FamilyName, 100))
                    .col(string_len(People::Email, 254))
                    .col(string_len_null(People::Department, 100))
                    .col(string_len_null(People::JobTitle, 100))
                    .col(string_len_null(People::Site, 100))
                    // The manager by HRIS id, not by foreign key: a manager may be named
                    // before they are imported. The chain is walked through this column.
                    .col(string_len_null(People::ManagerExternalId, 64))
                    .col(boolean(People::Active))
                    .col(integer(People::Revision))
                    .col(timestamp_with_time_zone(People::CreatedAt))
                    .col(timestamp_with_time_zone(People::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_people_manager_external_id", People::ManagerExternalId),
            ("idx_people_department", People::Department),
            ("idx_people_site", People::Site),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(People::Table)
                        .col(column)
                        .col(People::Id)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(People::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum People {
    Table,
    Id,
    ExternalId,
    GivenName,
    FamilyName,
    Email,
    Department,
    JobTitle,
    Site,
    ManagerExternalId,
    Active,
    Revision,
    CreatedAt,
    UpdatedAt,
}
