//! Issue 16, meeting reminders: each meeting remembers the start time its reminder was sent
//! for (`reminded_for`, `NULL`: none yet). Written in the transaction that writes the
//! reminder's notifications and outbox event, so a reminder goes once per meeting and start
//! time whatever the number of replicas; a meeting moved to another time is due again.
//! The index serves the reminder task's look-up: scheduled meetings by start time.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Meetings {
    Table,
    RemindedFor,
    Status,
    StartsAt,
}

const INDEX: &str = "idx_meetings_status_starts_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Meetings::Table)
                    .add_column(
                        ColumnDef::new(Meetings::RemindedFor)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Meetings::Table)
                    .col(Meetings::Status)
                    .col(Meetings::StartsAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Meetings::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Meetings::Table)
                    .drop_column(Meetings::RemindedFor)
                    .to_owned(),
            )
            .await
    }
}
