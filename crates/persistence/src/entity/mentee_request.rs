use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mentee_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub program_id: Uuid,
    pub mentee_enrollment_id: Uuid,
    pub mentor_enrollment_id: Uuid,
    pub mentee_person_id: Uuid,
    pub mentor_person_id: Uuid,
    pub status: String,
    pub message: Option<String>,
    pub pair_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
