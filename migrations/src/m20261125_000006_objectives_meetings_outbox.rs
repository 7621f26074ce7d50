//! A pair's working life: objectives and their revisions (R4), meetings (R2, R7), the
//! transactional outbox of events, calendar feeds, and what a notification is about.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Objectives::Table)
                    .if_not_exists()
                    .col(pk_uuid(Objectives::Id))
                    .col(uuid(Objectives::PairId))
                    .col(uuid(Objectives::ProposedBy))
                    // Content (R5): the members only.
                    .col(text(Objectives::Title))
                    .col(text_null(Objectives::Description))
                    .col(text_null(Objectives::SuccessCriteria))
                    .col(string_len(Objectives::Status, 16))
                    .col(integer(Objectives::Progress))
                    .col(uuid_null(Objectives::AgreedBy))
                    .col(timestamp_with_time_zone_null(Objectives::AgreedAt))
                    .col(integer(Objectives::Revision))
                    .col(timestamp_with_time_zone(Objectives::CreatedAt))
                    .col(timestamp_with_time_zone(Objectives::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Objectives::Table, Objectives::PairId)
                            .to(Pairs::Table, Pairs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_objectives_pair")
                    .table(Objectives::Table)
                    .col(Objectives::PairId)
                    .col(Objectives::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ObjectiveRevisions::Table)
                    .if_not_exists()
                    .col(pk_uuid(ObjectiveRevisions::Id))
                    .col(uuid(ObjectiveRevisions::ObjectiveId))
                    .col(integer(ObjectiveRevisions::Revision))
                    .col(uuid(ObjectiveRevisions::ChangedBy))
                    .col(string_len(ObjectiveRevisions::Action, 16))
                    // JSON: [{"field", "before", "after"}] — content (R5).
                    .col(text(ObjectiveRevisions::Changes))
                    .col(text_null(ObjectiveRevisions::Comment))
                    .col(timestamp_with_time_zone(ObjectiveRevisions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ObjectiveRevisions::Table, ObjectiveRevisions::ObjectiveId)
                            .to(Objectives::Table, Objectives::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_objective_revisions_objective")
                    .table(ObjectiveRevisions::Table)
                    .col(ObjectiveRevisions::ObjectiveId)
                    .col(ObjectiveRevisions::Revision)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Meetings::Table)
                    .if_not_exists()
                    .col(pk_uuid(Meetings::Id))
                    .col(uuid(Meetings::PairId))
                    .col(uuid(Meetings::ScheduledBy))
                    .col(timestamp_with_time_zone(Meetings::StartsAt))
                    .col(timestamp_with_time_zone(Meetings::EndsAt))
                    .col(integer(Meetings::DurationMinutes))
                    .col(string_len(Meetings::Mode, 16))
                    .col(string_len_null(Meetings::LocationKind, 32))
                    // Content (R5): place label, agenda, summary, cancellation reason.
                    .col(text_null(Meetings::LocationLabel))
                    .col(text_null(Meetings::Agenda))
                    .col(text_null(Meetings::Summary))
                    .col(string_len(Meetings::Status, 16))
                    .col(uuid_null(Meetings::Reschedules))
                    .col(uuid_null(Meetings::CancelledBy))
                    .col(timestamp_with_time_zone_null(Meetings::CancelledAt))
                    .col(text_null(Meetings::CancelReason))
                    .col(boolean(Meetings::Late).default(false))
                    .col(timestamp_with_time_zone_null(Meetings::ClosedAt))
                    .col(integer(Meetings::Revision))
                    .col(timestamp_with_time_zone(Meetings::CreatedAt))
                    .col(timestamp_with_time_zone(Meetings::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Meetings::Table, Meetings::PairId)
                            .to(Pairs::Table, Pairs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            (
                "idx_meetings_pair_start",
                vec![Meetings::PairId, Meetings::StartsAt],
                false,
            ),
            // R7: a cancelled meeting is made up for once.
            (
                "idx_meetings_reschedules",
                vec![Meetings::Reschedules],
                true,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Meetings::Table);
            for col in cols {
                index.col(col);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(OutboxEvents::Table)
                    .if_not_exists()
                    .col(pk_uuid(OutboxEvents::Id))
                    .col(string_len(OutboxEvents::Kind, 64))
                    // JSON: ids and metadata, never content (R5).
                    .col(text(OutboxEvents::Payload))
                    .col(timestamp_with_time_zone(OutboxEvents::CreatedAt))
                    .col(timestamp_with_time_zone_null(OutboxEvents::DeliveredAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_undelivered")
                    .table(OutboxEvents::Table)
                    .col(OutboxEvents::DeliveredAt)
                    .col(OutboxEvents::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CalendarFeeds::Table)
                    .if_not_exists()
                    .col(pk_uuid(CalendarFeeds::PersonId))
                    // SHA-256 of the secret token, hex: a dump does not give the feed away.
                    .col(string_len_uniq(CalendarFeeds::TokenHash, 64))
                    .col(timestamp_with_time_zone(CalendarFeeds::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .add_column(uuid_null(Notifications::SubjectId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .drop_column(Notifications::SubjectId)
                    .to_owned(),
            )
            .await?;
        for table in [
            CalendarFeeds::Table.into_iden(),
            OutboxEvents::Table.into_iden(),
            Meetings::Table.into_iden(),
            ObjectiveRevisions::Table.into_iden(),
            Objectives::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Pairs {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    SubjectId,
}

#[derive(DeriveIden)]
enum Objectives {
    Table,
    Id,
    PairId,
    ProposedBy,
    Title,
    Description,
    SuccessCriteria,
    Status,
    Progress,
    AgreedBy,
    AgreedAt,
    Revision,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ObjectiveRevisions {
    Table,
    Id,
    ObjectiveId,
    Revision,
    ChangedBy,
    Action,
    Changes,
    Comment,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Meetings {
    Table,
    Id,
    PairId,
    ScheduledBy,
    StartsAt,
    EndsAt,
    DurationMinutes,
    Mode,
    LocationKind,
    LocationLabel,
    Agenda,
    Summary,
    Status,
    Reschedules,
    CancelledBy,
    CancelledAt,
    CancelReason,
    Late,
    ClosedAt,
    Revision,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OutboxEvents {
    Table,
    Id,
    Kind,
    Payload,
    CreatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum CalendarFeeds {
    Table,
    PersonId,
    TokenHash,
    CreatedAt,
}
