//! R11: every replica keeps the set of deactivated people in memory and refreshes it from
//! the database every second (`mentorat_api::leavers`). A partial index over the inactive
//! rows makes that refresh read as many rows as there are leavers, not every person.
//! The predicate is written as the refresh's query writes it (`NOT active`), so both
//! engines' planners use the index.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_people_inactive ON people (external_id) WHERE NOT active",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX ix_people_inactive")
            .await?;
        Ok(())
    }
}
