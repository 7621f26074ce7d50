use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pairs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub program_id: Uuid,
    pub mentor_enrollment_id: Uuid,
    pub mentee_enrollment_id: Uuid,
    pub mentor_person_id: Uuid,
    pub mentee_person_id: Uuid,
    pub status: String,
    pub mentor_accepted_at: Option<DateTimeUtc>,
    pub mentee_accepted_at: Option<DateTimeUtc>,
    pub activated_at: Option<DateTimeUtc>,
    pub ended_at: Option<DateTimeUtc>,
    pub end_reason: Option<String>,
    pub end_reason_text: Option<String>,
    pub hierarchy_conflict: bool,
    pub suspended_at: Option<DateTimeUtc>,
    pub revision: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
