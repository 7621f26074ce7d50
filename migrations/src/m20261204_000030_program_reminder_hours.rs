//! Issue 16, meeting reminders: a program's `reminder_hours` (how long before a scheduled
//! meeting both members are reminded of it; `0`: never). Existing programs get the default,
//! 24 hours.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Programs {
    Table,
    ReminderHours,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Programs::Table)
                    .add_column(
                        ColumnDef::new(Programs::ReminderHours)
                            .integer()
                            .not_null()
                            .default(24),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Programs::Table)
                    .drop_column(Programs::ReminderHours)
                    .to_owned(),
            )
            .await
    }
}
