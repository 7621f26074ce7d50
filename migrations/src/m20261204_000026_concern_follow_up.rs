//! Issue 16, concern follow-up (R12): a concern now has a `status` (`open → acknowledged →
//! resolved`), the coordinators' `response` to its author (sealed at rest like the concern's
//! text, bound to the same row fields), when it was acknowledged and resolved, and a
//! `revision` for its `ETag`. Existing concerns are `open`, with no response.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Concerns {
    Table,
    Status,
    Response,
    AcknowledgedAt,
    ResolvedAt,
    Revision,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        let columns = [
            ColumnDef::new(Concerns::Status)
                .string_len(16)
                .not_null()
                .default("open")
                .to_owned(),
            ColumnDef::new(Concerns::Response).text().null().to_owned(),
            ColumnDef::new(Concerns::AcknowledgedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Concerns::ResolvedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Concerns::Revision)
                .integer()
                .not_null()
                .default(1)
                .to_owned(),
            ColumnDef::new(Concerns::UpdatedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ];
        for column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Concerns::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared("UPDATE concerns SET updated_at = created_at")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Concerns::UpdatedAt,
            Concerns::Revision,
            Concerns::ResolvedAt,
            Concerns::AcknowledgedAt,
            Concerns::Response,
            Concerns::Status,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Concerns::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
