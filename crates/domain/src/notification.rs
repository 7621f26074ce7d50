//! A person's notifications: what happened in their programs and pairs, ids only.

/// A notification as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: uuid::Uuid,
    pub person_id: uuid::Uuid,
    pub kind: String,
    pub program_id: Option<uuid::Uuid>,
    pub pair_id: Option<uuid::Uuid>,
    /// What the notification is about inside the pair (a meeting, an objective), if anything.
    pub subject_id: Option<uuid::Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
}
