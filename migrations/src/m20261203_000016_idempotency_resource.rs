//! A replay never returns words that were deleted since (API.md, additions): each stored
//! answer names the resource it carries (`resource`, a canonical path such as
//! `/api/v1/pairs/{id}/notes/{note_id}`), so that a `PATCH` or `DELETE` of that resource
//! destroys the answer's body in its own transaction (a replay is then `409
//! idempotency_key_reused`). An answer whose body is gone keeps its status: `response_body`
//! NULL beside a `response_status` means "withheld".
//!
//! Answers kept before this migration name no resource, and some carry a calendar feed's
//! secret, which the feed table keeps as a hash only: their bodies are withheld now (at
//! most 24 hours of keys; a retry with one of them is `409`, a new key works).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(IdempotencyKeys::Table)
                    .add_column(text_null(IdempotencyKeys::Resource))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_idempotency_keys_resource")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::Resource)
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE idempotency_keys SET response_body = NULL \
                 WHERE response_status IS NOT NULL AND response_status < 400",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_idempotency_keys_resource")
                    .table(IdempotencyKeys::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(IdempotencyKeys::Table)
                    .drop_column(IdempotencyKeys::Resource)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Resource,
}
