//! Two facts of each pair's meetings, kept on the pair so that pair health filtered by
//! `reschedule_owed` or `overdue` does not probe every pair's meetings: how many cancelled
//! meetings nothing has made up for yet (R7), and the latest start of a meeting held or still
//! scheduled (R8). Recomputed from the pair's meetings whenever one of them changes
//! (`crates/persistence/src/tallies.rs`); existing pairs are computed here.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::ConnectionTrait};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            integer(Pairs::OwedReschedules).default(0).to_owned(),
            timestamp_with_time_zone_null(Pairs::LatestMeetingAt),
        ] {
            let mut col = col;
            manager
                .alter_table(
                    Table::alter()
                        .table(Pairs::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE pairs SET \
               owed_reschedules = (SELECT COUNT(*) FROM meetings c \
                 WHERE c.pair_id = pairs.id AND c.status = 'cancelled' \
                 AND NOT EXISTS (SELECT 1 FROM meetings r WHERE r.reschedules = c.id)), \
               latest_meeting_at = (SELECT MAX(m.starts_at) FROM meetings m \
                 WHERE m.pair_id = pairs.id AND m.status IN ('held', 'scheduled'))",
        )
        .await?;
        // The pairs that owe a reschedule, by program: a partial index, on both databases.
        db.execute_unprepared(
            "CREATE INDEX idx_pairs_owing ON pairs (program_id, id) WHERE owed_reschedules > 0",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_pairs_owing")
                    .table(Pairs::Table)
                    .to_owned(),
            )
            .await?;
        for col in [Pairs::OwedReschedules, Pairs::LatestMeetingAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Pairs::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Pairs {
    Table,
    OwedReschedules,
    LatestMeetingAt,
}
