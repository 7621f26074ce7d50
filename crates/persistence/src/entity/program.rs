use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "programs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub starts_on: Option<Date>,
    pub ends_on: Option<Date>,
    pub status: String,
    pub cadence_days: i32,
    pub notice_hours: i32,
    pub default_mentor_capacity: i32,
    pub reminder_hours: i32,
    pub matching_weights: Option<String>,
    pub matching_mode: String,
    pub revision: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
