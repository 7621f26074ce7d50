//! One open pair per mentor and mentee, enforced by the database (a partial unique index,
//! on both engines): two proposals of the same couple at once can no longer both pass a
//! `SELECT` then `INSERT` in READ COMMITTED. Open means proposed, active or suspended, as
//! `pairs::open_pair_exists` says.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_pairs_open_couple \
                 ON pairs (mentor_enrollment_id, mentee_enrollment_id) \
                 WHERE status IN ('proposed', 'active', 'suspended')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX uq_pairs_open_couple")
            .await?;
        Ok(())
    }
}
