use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "meetings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pair_id: Uuid,
    pub scheduled_by: Uuid,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub duration_minutes: i32,
    pub mode: String,
    pub location_kind: Option<String>,
    pub location_label: Option<String>,
    pub agenda: Option<String>,
    pub summary: Option<String>,
    pub status: String,
    pub reschedules: Option<Uuid>,
    pub cancelled_by: Option<Uuid>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub cancel_reason: Option<String>,
    pub late: bool,
    pub closed_at: Option<DateTimeUtc>,
    pub revision: i32,
    /// The revision the meeting's words were last sealed at (bound into each of them);
    /// `NULL`: sealed before migration 000025, to be re-sealed by `mentorat migrate`.
    pub words_revision: Option<i32>,
    /// The start time the meeting's reminder was sent for (`meeting.upcoming`); `NULL`: none.
    pub reminded_for: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
