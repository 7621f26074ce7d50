//! SCIM keeps a User's multi-valued attributes as sent (issue 14): `scim_users.attributes`,
//! a JSON document `{"emails": [...], "addresses": [...], "active": bool}`. The person's
//! `email` and `site` are the primary (else `work`) values of it; the other values (a home
//! email, a second address, their `type`s) are kept only here, and `active` is absent while
//! a PATCH left it unassigned. NULL for a person never written through SCIM since (they are
//! shown with one work email and one work address, as before).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ScimUsers {
    Table,
    Attributes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ScimUsers::Table)
                    .add_column(ColumnDef::new(ScimUsers::Attributes).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ScimUsers::Table)
                    .drop_column(ScimUsers::Attributes)
                    .to_owned(),
            )
            .await
    }
}
