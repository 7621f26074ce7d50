//! Black-box tests of Mentorat over HTTP. One binary; each test starts its own server on a
//! random port with its own database (SQLite, or PostgreSQL with MENTORAT_TEST_DATABASE_URL).

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod at_rest;
mod auth;
mod concern_follow_up;
mod concurrency;
mod confidentiality;
mod cors;
mod enrollment_changes;
mod enrollments;
mod erasure;
mod erasure_bench;
mod erasure_reimport;
mod erasure_remnants;
mod erasure_replicas;
mod errors;
mod faults;
mod hot_reads;
mod idempotency;
mod jwks;
mod key_check;
mod leavers;
mod matching;
mod matrix;
mod me;
mod openapi;
mod operations;
mod operator_metrics;
mod pair_facts;
mod pairs;
mod people;
mod programs;
mod r13;
mod rate_limit;
mod reminders;
mod replays;
mod reports;
mod requests;
mod review_unit;
mod schema_strictness;
mod scim;
mod second_look;
mod security;
mod shutdown_and_logs;
mod traces;
mod unit_of_work;
mod webhooks;
mod working_life;
