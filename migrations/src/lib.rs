//! Mentorat's schema. One file per migration; a migration that has landed is never edited —
//! a change is a new migration. Every statement is built with sea-query so it runs on both
//! SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_programs;
mod m20261124_000002_idempotency_keys;
mod m20261124_000003_people;
mod m20261124_000004_charters_and_enrollments;
mod m20261124_000005_pairs_and_notifications;
mod m20261125_000006_objectives_meetings_outbox;
mod m20261125_000007_notes_concerns_audit;
mod m20261125_000008_feedback;
mod m20261125_000009_webhooks;
mod m20261202_000010_report_tallies;
mod m20261202_000011_pair_meeting_facts;
mod m20261202_000012_idempotent_audit;
mod m20261202_000013_open_pair_unique;
mod m20261202_000014_key_check;
mod m20261203_000015_people_inactive;
mod m20261203_000016_idempotency_resource;
mod m20261203_000017_report_cells;
mod m20261203_000018_report_pair_events;
mod m20261203_000019_scim_users;
mod m20261204_000020_pair_read_facts;
mod m20261204_000022_scim_attributes;
mod m20261204_000023_erasure;
mod m20261204_000025_meeting_words_revision;
mod m20261204_000026_concern_follow_up;
mod m20261204_000027_enrollment_withdrawal;
mod m20261204_000028_webhook_operations;
mod m20261204_000030_program_reminder_hours;
mod m20261204_000031_meeting_reminded_for;
mod m20261204_000032_matching_weights;
mod m20261204_000033_matching_runs;
mod m20261204_000034_mentee_requests;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_programs::Migration),
            Box::new(m20261124_000002_idempotency_keys::Migration),
            Box::new(m20261124_000003_people::Migration),
            Box::new(m20261124_000004_charters_and_enrollments::Migration),
            Box::new(m20261124_000005_pairs_and_notifications::Migration),
            Box::new(m20261125_000006_objectives_meetings_outbox::Migration),
            Box::new(m20261125_000007_notes_concerns_audit::Migration),
            Box::new(m20261125_000008_feedback::Migration),
            Box::new(m20261125_000009_webhooks::Migration),
            Box::new(m20261202_000010_report_tallies::Migration),
            Box::new(m20261202_000011_pair_meeting_facts::Migration),
            Box::new(m20261202_000012_idempotent_audit::Migration),
            Box::new(m20261202_000013_open_pair_unique::Migration),
            Box::new(m20261202_000014_key_check::Migration),
            Box::new(m20261203_000015_people_inactive::Migration),
            Box::new(m20261203_000016_idempotency_resource::Migration),
            Box::new(m20261203_000017_report_cells::Migration),
            Box::new(m20261203_000018_report_pair_events::Migration),
            Box::new(m20261203_000019_scim_users::Migration),
            Box::new(m20261204_000020_pair_read_facts::Migration),
            Box::new(m20261204_000022_scim_attributes::Migration),
            Box::new(m20261204_000023_erasure::Migration),
            Box::new(m20261204_000025_meeting_words_revision::Migration),
            Box::new(m20261204_000026_concern_follow_up::Migration),
            Box::new(m20261204_000027_enrollment_withdrawal::Migration),
            Box::new(m20261204_000028_webhook_operations::Migration),
            Box::new(m20261204_000030_program_reminder_hours::Migration),
            Box::new(m20261204_000031_meeting_reminded_for::Migration),
            Box::new(m20261204_000032_matching_weights::Migration),
            Box::new(m20261204_000033_matching_runs::Migration),
            Box::new(m20261204_000034_mentee_requests::Migration),
        ]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

    use super::*;

    /// Migration 000013 on a database the old race left with three open pairs of one couple
    /// (and one of another couple, and an ended one of the first): the oldest open pair of
    /// each couple stays, the later ones end (reason `other`), and the index is then made.
    #[tokio::test]
    async fn the_open_pair_index_first_ends_the_later_duplicates() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        Migrator::up(&db, Some(12)).await.unwrap();
        let pair = |id: u8, mentor: u8, mentee: u8, status: &str, at: &str| {
            format!(
                "INSERT INTO pairs (id, program_id, mentor_enrollment_id, mentee_enrollment_id,                    mentor_person_id, mentee_person_id, status, hierarchy_conflict, revision,                    created_at, updated_at) VALUES                    ('00000000-0000-0000-0000-0000000000{id:02}', 'p', 'e{mentor}', 'e{mentee}',                    'm', 'n', '{status}', false, 1, '{at}', '{at}')"
            )
        };
        for sql in [
            pair(1, 1, 2, "ended", "2026-01-01T00:00:00Z"),
            pair(2, 1, 2, "active", "2026-01-02T00:00:00Z"),
            pair(3, 1, 2, "proposed", "2026-01-03T00:00:00Z"),
            pair(4, 1, 2, "suspended", "2026-01-04T00:00:00Z"),
            pair(5, 1, 3, "proposed", "2026-01-03T00:00:00Z"),
        ] {
            db.execute_unprepared(&sql).await.unwrap();
        }
        Migrator::up(&db, None).await.unwrap();
        let rows = db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT id, status, end_reason, revision FROM pairs ORDER BY id",
            ))
            .await
            .unwrap();
        let seen: Vec<(String, Option<String>, i32)> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get("", "status").unwrap(),
                    r.try_get("", "end_reason").unwrap(),
                    r.try_get("", "revision").unwrap(),
                )
            })
            .collect();
        let ended = |revision| ("ended".to_owned(), Some("other".to_owned()), revision);
        assert_eq!(
            seen,
            vec![
                ("ended".to_owned(), None, 1),
                ("active".to_owned(), None, 1),
                ended(2),
                ended(2),
                ("proposed".to_owned(), None, 1),
            ]
        );
        // And the index now refuses a second open pair of the couple.
        let again = pair(6, 1, 2, "proposed", "2026-02-01T00:00:00Z");
        assert!(db.execute_unprepared(&again).await.is_err());
    }
}
