use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "concerns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pair_id: Uuid,
    pub program_id: Uuid,
    pub author_id: Uuid,
    pub text: String,
    pub created_at: DateTimeUtc,
    pub status: String,
    pub response: Option<String>,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    pub revision: i32,
    pub updated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
