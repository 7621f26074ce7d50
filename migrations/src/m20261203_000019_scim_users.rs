//! SCIM 2.0 provisioning keeps two facts the people table has no column for, beside it (one
//! row per person provisioned through SCIM), so the people table and every query over it
//! stay as they are:
//!
//! - `external_id`: a User's `externalId` (RFC 7643 §3.1), the identity provider's own id
//!   for it (Entra ID's object id or `mailNickname`, Okta's user id), distinct from
//!   `userName` (the person's HRIS `external_id`);
//! - `deprovisioned`: the User was deleted (`DELETE /scim/v2/Users/{id}`). The person is
//!   deactivated (R11), never erased, but SCIM answers `404` for them from then on (RFC 7644
//!   §3.6), until they are provisioned again.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ScimUsers {
    Table,
    PersonId,
    ExternalId,
    Deprovisioned,
}

#[derive(DeriveIden)]
enum People {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ScimUsers::Table)
                    .col(
                        ColumnDef::new(ScimUsers::PersonId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ScimUsers::ExternalId).text().null())
                    .col(
                        ColumnDef::new(ScimUsers::Deprovisioned)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ScimUsers::Table, ScimUsers::PersonId)
                            .to(People::Table, People::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_scim_users_external_id")
                    .table(ScimUsers::Table)
                    .col(ScimUsers::ExternalId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ScimUsers::Table).to_owned())
            .await
    }
}
