//! R14 erasure and retention. `people.erased_at`: when a person was erased (their identity
//! blanked, a pseudonym in `external_id`, their words destroyed); an erased person stays
//! refused (R11's set of leavers reads them by the partial index below).
//! `pair_words_destroyed`: the pairs whose words the retention task has destroyed (one row a
//! pair, with its time), so that a run only looks at pairs not yet done.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(People::Table)
                    .add_column(timestamp_with_time_zone_null(People::ErasedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_people_erased ON people (external_id) WHERE erased_at IS NOT NULL",
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PairWordsDestroyed::Table)
                    .col(pk_uuid(PairWordsDestroyed::PairId))
                    .col(timestamp_with_time_zone(PairWordsDestroyed::DestroyedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PairWordsDestroyed::Table).to_owned())
            .await?;
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX ix_people_erased")
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(People::Table)
                    .drop_column(People::ErasedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum People {
    Table,
    ErasedAt,
}

#[derive(DeriveIden)]
enum PairWordsDestroyed {
    Table,
    PairId,
    DestroyedAt,
}
