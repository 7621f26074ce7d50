//! Issue 11: everything a pair's answer shows besides the pair and its members' names, kept
//! **on the pair row**, so `GET /pairs/{id}`, `GET /pairs` and `GET /me` read the pair and its
//! two people by primary key (three relations) instead of joining the enrollments, the
//! program, the charter versions and aggregating the meetings and objectives at every read:
//!
//! - the meetings by status (`meetings_*`, `meetings_cancelled_late`), the start of the first
//!   and of the latest held meeting, and the earliest and latest start of a meeting still
//!   scheduled (`next_meeting_at`, `last_scheduled_at`: the read tells "next after now" and
//!   "latest up to now" from them and the clock);
//! - the objectives by status (`objective_count_*`; "ever agreed" is `objectives_agreed`,
//!   migration 000010);
//! - the charter standing: the two members' accepted versions and the program's current
//!   one; and the program's cadence (R8).
//!
//! Migration 000011 began this (`owed_reschedules`, `latest_meeting_at`). The use cases that
//! change a fact recompute it in their transaction under the pair's lock
//! (`crates/persistence/src/tallies.rs`); existing pairs are computed here, by the same rules.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::ConnectionTrait};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COUNTS: [&str; 9] = [
    "meetings_scheduled",
    "meetings_held",
    "meetings_cancelled",
    "meetings_cancelled_late",
    "meetings_missed",
    "objective_count_proposed",
    "objective_count_in_progress",
    "objective_count_achieved",
    "objective_count_abandoned",
];

const TIMES: [&str; 4] = [
    "first_held_at",
    "last_held_at",
    "next_meeting_at",
    "last_scheduled_at",
];

const VERSIONS: [&str; 3] = [
    "mentor_charter_version",
    "mentee_charter_version",
    "program_charter_version",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        let mut cols: Vec<ColumnDef> = Vec::new();
        for name in COUNTS {
            cols.push(integer(Alias::new(name)).default(0).to_owned());
        }
        for name in TIMES {
            cols.push(timestamp_with_time_zone_null(Alias::new(name)));
        }
        for name in VERSIONS {
            cols.push(integer_null(Alias::new(name)));
        }
        cols.push(integer(Alias::new("cadence_days")).default(28).to_owned());
        for mut col in cols {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("pairs"))
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        let meetings = |what: &str, status: &str| {
            format!("(SELECT {what} FROM meetings m WHERE m.pair_id = pairs.id AND {status})")
        };
        let objectives = |status: &str| {
            format!(
                "(SELECT COUNT(*) FROM objectives o WHERE o.pair_id = pairs.id \
                 AND o.status = '{status}')"
            )
        };
        let sql = format!(
            "UPDATE pairs SET \
               meetings_scheduled = {}, meetings_held = {}, meetings_cancelled = {}, \
               meetings_cancelled_late = {}, meetings_missed = {}, \
               first_held_at = {}, last_held_at = {}, \
               next_meeting_at = {}, last_scheduled_at = {}, \
               objective_count_proposed = {}, objective_count_in_progress = {}, \
               objective_count_achieved = {}, objective_count_abandoned = {}, \
               mentor_charter_version = (SELECT accepted_charter_version FROM enrollments e \
                 WHERE e.id = pairs.mentor_enrollment_id), \
               mentee_charter_version = (SELECT accepted_charter_version FROM enrollments e \
                 WHERE e.id = pairs.mentee_enrollment_id), \
               program_charter_version = (SELECT MAX(cv.version) FROM charter_versions cv \
                 WHERE cv.program_id = pairs.program_id), \
               cadence_days = COALESCE((SELECT pr.cadence_days FROM programs pr \
                 WHERE pr.id = pairs.program_id), 28)",
            meetings("COUNT(*)", "m.status = 'scheduled'"),
            meetings("COUNT(*)", "m.status = 'held'"),
            meetings("COUNT(*)", "m.status = 'cancelled'"),
            meetings("COUNT(*)", "m.status = 'cancelled' AND m.late"),
            meetings("COUNT(*)", "m.status = 'missed'"),
            meetings("MIN(m.starts_at)", "m.status = 'held'"),
            meetings("MAX(m.starts_at)", "m.status = 'held'"),
            meetings("MIN(m.starts_at)", "m.status = 'scheduled'"),
            meetings("MAX(m.starts_at)", "m.status = 'scheduled'"),
            objectives("proposed"),
            objectives("in_progress"),
            objectives("achieved"),
            objectives("abandoned"),
        );
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let all = COUNTS
            .iter()
            .chain(TIMES.iter())
            .chain(VERSIONS.iter())
            .chain(["cadence_days"].iter());
        for name in all {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("pairs"))
                        .drop_column(Alias::new(*name))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
