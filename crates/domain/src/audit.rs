//! The audit log's vocabulary (API.md "Audit"): an event — who did what, to which resource,
//! when, and how it ended, never any content — and the filters an admin reads it by.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: uuid::Uuid,
    pub at: chrono::DateTime<chrono::Utc>,
    /// The caller's subject (external id).
    pub actor: String,
    /// The caller's roles, comma-separated.
    pub roles: String,
    /// The operation (`read_objective`, `propose_pair`, …).
    pub action: String,
    pub method: String,
    /// The route pattern, ids not substituted.
    pub route: String,
    pub resource_id: Option<uuid::Uuid>,
    pub pair_id: Option<uuid::Uuid>,
    pub status: i16,
    /// `allowed`, `denied` or `failed`.
    pub outcome: String,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub resource_id: Option<uuid::Uuid>,
    pub pair_id: Option<uuid::Uuid>,
    pub outcome: Option<String>,
}
