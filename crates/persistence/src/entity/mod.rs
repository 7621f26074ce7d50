//! Table shapes. Private to this crate: nothing above persistence sees a sea-orm `Model`.

pub mod idempotency_key;
pub mod program;
