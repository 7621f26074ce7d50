//! Table shapes. Private to this crate: nothing above persistence sees a sea-orm `Model`.

pub mod audit_event;
pub mod calendar_feed;
pub mod charter_version;
pub mod concern;
pub mod enrollment;
pub mod idempotency_key;
pub mod matching_run;
pub mod meeting;
pub mod mentee_request;
pub mod note;
pub mod notification;
pub mod objective;
pub mod objective_revision;
pub mod outbox_event;
pub mod pair;
pub mod person;
pub mod program;
