//! Issue 16, enrollment changes: a person may withdraw from a program (`withdrawn_at`) and be
//! enrolled again later. The key "one enrollment per person and program" now counts only the
//! enrollments not withdrawn (a partial unique index, on SQLite and PostgreSQL alike); a
//! withdrawn enrollment stays, with its pairs, for the reports.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Enrollments {
    Table,
    WithdrawnAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Enrollments::Table)
                    .add_column(
                        ColumnDef::new(Enrollments::WithdrawnAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX uq_enrollments_program_person")
            .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX uq_enrollments_program_person_current \
             ON enrollments (program_id, person_id) WHERE withdrawn_at IS NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX uq_enrollments_program_person_current")
            .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX uq_enrollments_program_person ON enrollments (program_id, person_id)",
        )
        .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Enrollments::Table)
                    .drop_column(Enrollments::WithdrawnAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
