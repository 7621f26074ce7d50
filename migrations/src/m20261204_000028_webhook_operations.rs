//! Issue 16, webhook operations: an endpoint can be paused (`enabled`), its signing secret
//! rotated (the previous one, sealed like the current, keeps signing until
//! `previous_secret_until`), and it remembers since when it has failed everything
//! (`failing_since`, to disable it after the configured window). A delivery that kept failing
//! for its window is given up (`failed_at`); a manual retry opens a new window
//! (`window_from`, else `created_at`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Enabled,
    PreviousSecret,
    PreviousSecretUntil,
    FailingSince,
    DisabledAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    FailedAt,
    WindowFrom,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        let webhooks = [
            ColumnDef::new(Webhooks::Enabled)
                .boolean()
                .not_null()
                .default(true)
                .to_owned(),
            ColumnDef::new(Webhooks::PreviousSecret)
                .text()
                .null()
                .to_owned(),
            ColumnDef::new(Webhooks::PreviousSecretUntil)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Webhooks::FailingSince)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Webhooks::DisabledAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ];
        for mut column in webhooks {
            manager
                .alter_table(
                    Table::alter()
                        .table(Webhooks::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        let deliveries = [
            ColumnDef::new(WebhookDeliveries::FailedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(WebhookDeliveries::WindowFrom)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ];
        for mut column in deliveries {
            manager
                .alter_table(
                    Table::alter()
                        .table(WebhookDeliveries::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [WebhookDeliveries::FailedAt, WebhookDeliveries::WindowFrom] {
            manager
                .alter_table(
                    Table::alter()
                        .table(WebhookDeliveries::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            Webhooks::Enabled,
            Webhooks::PreviousSecret,
            Webhooks::PreviousSecretUntil,
            Webhooks::FailingSince,
            Webhooks::DisabledAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Webhooks::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
