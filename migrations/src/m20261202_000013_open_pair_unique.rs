//! One open pair per mentor and mentee, enforced by the database (a partial unique index,
//! on both engines): two proposals of the same couple at once can no longer both pass a
//! `SELECT` then `INSERT` in READ COMMITTED. Open means proposed, active or suspended, as
//! `pairs::open_pair_exists` says.
//!
//! A database that the old race already gave two open pairs of one couple would refuse the
//! index: each such couple keeps its oldest open pair, and the later ones are ended (reason
//! `other`, ended when they were last changed) before the index is made.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE pairs SET status = 'ended', end_reason = 'other', ended_at = updated_at, \
                   revision = revision + 1 \
                 WHERE status IN ('proposed', 'active', 'suspended') \
                 AND EXISTS (SELECT 1 FROM pairs older \
                   WHERE older.mentor_enrollment_id = pairs.mentor_enrollment_id \
                   AND older.mentee_enrollment_id = pairs.mentee_enrollment_id \
                   AND older.status IN ('proposed', 'active', 'suspended') \
                   AND (older.created_at < pairs.created_at \
                     OR (older.created_at = pairs.created_at AND older.id < pairs.id)))",
            )
            .await?;
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
