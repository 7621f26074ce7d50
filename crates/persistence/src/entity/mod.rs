//! Table shapes. Private to this crate: nothing above persistence sees a sea-orm `Model`.

pub mod charter_version;
pub mod enrollment;
pub mod idempotency_key;
pub mod notification;
pub mod pair;
pub mod person;
pub mod program;
