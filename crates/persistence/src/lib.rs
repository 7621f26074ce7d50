//! Mentorat's storage: sea-orm entities and the repositories that read and write them.
//! SQL lives here and nowhere else. Every query runs on SQLite and PostgreSQL; repositories
//! take `&impl ConnectionTrait` so a use case can run several of them in one transaction.

pub mod db;
mod entity;
pub mod error;
pub mod idempotency;
pub mod programs;

pub use db::{Backend, Db};
pub use error::StoreError;
pub use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, TransactionTrait};
