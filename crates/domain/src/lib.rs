//! Mentorat's domain: the rules of DOMAIN.md (R1–R13), the types that carry them and the
//! access policy. Pure: no I/O, no clock, no randomness it did not receive — every function
//! here can be unit-tested without a database or a server.

pub mod access;
pub mod anonymity;
pub mod audit;
pub mod caller;
pub mod concern;
pub mod confidentiality;
pub mod content;
pub mod enrollment;
pub mod erasure;
pub mod error;
pub mod feedback;
pub mod health;
pub mod matching;
pub mod meeting;
pub mod network;
pub mod note;
pub mod notification;
pub mod objective;
pub mod page;
pub mod pair;
pub mod person;
pub mod program;
pub mod reminder;
pub mod request;
pub mod scim;
pub mod webhook;

pub use access::{Denied, Operation, Scope, authorize};
pub use caller::{Caller, ExternalId, Role, RoleSet};
pub use content::Content;
pub use error::{DomainError, ErrorCode, FieldError};
pub use page::PageLimit;
