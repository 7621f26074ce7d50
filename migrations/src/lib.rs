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
        ]
    }
}
