//! SCIM 2.0 (RFC 7643 §3.1): a User's `externalId` is the identity provider's own id for it
//! (Entra ID's object id or `mailNickname`, Okta's user id), distinct from `userName` (the
//! person's HRIS `external_id`). The people table has no column for it; it is kept beside
//! it, one row per person provisioned with one, so the people table and every query over it
//! stay as they are.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ScimExternalIds {
    Table,
    PersonId,
    ExternalId,
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
                    .table(ScimExternalIds::Table)
                    .col(
                        ColumnDef::new(ScimExternalIds::PersonId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ScimExternalIds::ExternalId)
                            .text()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ScimExternalIds::Table, ScimExternalIds::PersonId)
                            .to(People::Table, People::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_scim_external_ids_external_id")
                    .table(ScimExternalIds::Table)
                    .col(ScimExternalIds::ExternalId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ScimExternalIds::Table).to_owned())
            .await
    }
}
