//! Issue 12, finding 10 (review): a meeting's sealed words (place, agenda, summary,
//! cancellation reason) were bound to their row, column and pair but not to a revision, so
//! someone who can write the database could put an older sealed agenda of the same meeting
//! back unnoticed. Each meeting now counts the writes of its words (`words_revision`, bumped
//! and sealed into every one of its words each time any of them is written); the meeting's
//! own `revision` is not used because ending a pair cancels its meetings ahead in one
//! statement, without their words.
//!
//! A migration holds no key and cannot re-seal: the column starts `NULL` where a meeting
//! holds sealed words (sealed under the old binding), which `serve` refuses to open and to
//! start on, and `mentorat migrate` (or `rotate-key`) re-seals them bound to `words_revision
//! = 1`. A meeting without words starts at 0.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Meetings {
    Table,
    WordsRevision,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Meetings::Table)
                    .add_column(ColumnDef::new(Meetings::WordsRevision).integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE meetings SET words_revision = 0 \
                 WHERE location_label IS NULL AND agenda IS NULL AND summary IS NULL \
                   AND cancel_reason IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Meetings::Table)
                    .drop_column(Meetings::WordsRevision)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
