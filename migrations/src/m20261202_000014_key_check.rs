//! The key check (issue 11): one row holding a known constant sealed under the content key,
//! so that a start with another key than the one the database's content is sealed with is
//! refused before it serves (the words would read as 500s, and new ones would be sealed
//! under the wrong key). `mentorat rotate-key` re-seals it with the content. The row is
//! written at start, not here: a migration has no key.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KeyCheck::Table)
                    .if_not_exists()
                    // One row: its id is 1.
                    .col(
                        integer(KeyCheck::Id)
                            .primary_key()
                            .check(Expr::col(KeyCheck::Id).eq(1)),
                    )
                    .col(text(KeyCheck::Sealed))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(KeyCheck::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum KeyCheck {
    Table,
    Id,
    Sealed,
}
