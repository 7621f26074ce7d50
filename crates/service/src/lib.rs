//! Mentorat's use cases. Each one opens what it needs (a transaction when it writes more
//! than one row), loads, asks the domain, saves. Handlers call these and nothing below them.

pub mod audit;
pub mod calendar;
pub mod concerns;
pub mod departures;
pub mod enrollments;
pub mod erasure;
pub mod error;
pub mod feedback;
pub mod matching;
pub mod me;
pub mod meetings;
pub mod notes;
pub mod notifications;
pub mod objectives;
pub mod pairs;
pub mod people;
pub mod programs;
pub mod reminders;
pub mod report;
pub mod requests;
pub mod scim;
pub mod webhooks;
pub mod working_life;

pub use error::ServiceError;
