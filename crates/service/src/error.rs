use mentorat_domain::DomainError;
use mentorat_persistence::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A rule of the domain said no.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The resource does not exist — or, for a private resource, not for this caller.
    #[error("not found")]
    NotFound,
    /// The caller's roles never reach this resource (`403 forbidden`).
    #[error("forbidden")]
    Forbidden,
    /// R5: a coordinator or admin asking for a pair's content (`403 confidential`).
    #[error("a pair's content is confidential")]
    Confidential,
    /// `If-Match` named a revision that is no longer current.
    #[error("the resource changed since it was read")]
    PreconditionFailed,
    /// The state of things refuses the request (`409`, with a stable code).
    #[error("{1}")]
    Conflict(mentorat_domain::ErrorCode, String),
    /// A reference in the request names nothing usable (`422`, with a stable code).
    #[error("{1}")]
    Unprocessable(mentorat_domain::ErrorCode, String),
    #[error(transparent)]
    Store(StoreError),
    /// A failure of ours outside the database (the operating system's randomness…): logged,
    /// never shown.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::StaleRevision => ServiceError::PreconditionFailed,
            other => ServiceError::Store(other),
        }
    }
}
