//! Feedback (check-ins and final evaluations) and its scores, one row per dimension so
//! reports average them in SQL.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Feedback::Table)
                    .if_not_exists()
                    .col(pk_uuid(Feedback::Id))
                    .col(uuid(Feedback::PairId))
                    .col(uuid(Feedback::AuthorId))
                    .col(string_len(Feedback::Kind, 16))
                    // The nil UUID for a final evaluation, so one unique index says "one
                    // check-in per member per meeting, one final per member".
                    .col(uuid(Feedback::MeetingId))
                    // Content (R5), sealed.
                    .col(text_null(Feedback::Comment))
                    .col(timestamp_with_time_zone(Feedback::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Feedback::Table, Feedback::PairId)
                            .to(Pairs::Table, Pairs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_feedback_once")
                    .table(Feedback::Table)
                    .col(Feedback::PairId)
                    .col(Feedback::AuthorId)
                    .col(Feedback::Kind)
                    .col(Feedback::MeetingId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FeedbackScores::Table)
                    .if_not_exists()
                    .col(uuid(FeedbackScores::FeedbackId))
                    .col(uuid(FeedbackScores::PairId))
                    .col(uuid(FeedbackScores::AuthorId))
                    .col(string_len(FeedbackScores::Dimension, 32))
                    .col(small_integer(FeedbackScores::Score))
                    .col(timestamp_with_time_zone(FeedbackScores::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(FeedbackScores::FeedbackId)
                            .col(FeedbackScores::Dimension),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(FeedbackScores::Table, FeedbackScores::FeedbackId)
                            .to(Feedback::Table, Feedback::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_feedback_scores_pair")
                    .table(FeedbackScores::Table)
                    .col(FeedbackScores::PairId)
                    .to_owned(),
            )
            .await?;
        // Reports walk meetings by pair and time, and pairs by program.
        manager
            .create_index(
                Index::create()
                    .name("idx_meetings_status_pair")
                    .table(Meetings::Table)
                    .col(Meetings::PairId)
                    .col(Meetings::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_meetings_status_pair")
                    .table(Meetings::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(FeedbackScores::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Feedback::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Pairs {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Meetings {
    Table,
    PairId,
    Status,
}

#[derive(DeriveIden)]
enum Feedback {
    Table,
    Id,
    PairId,
    AuthorId,
    Kind,
    MeetingId,
    Comment,
    CreatedAt,
}

#[derive(DeriveIden)]
enum FeedbackScores {
    Table,
    FeedbackId,
    PairId,
    AuthorId,
    Dimension,
    Score,
    CreatedAt,
}
