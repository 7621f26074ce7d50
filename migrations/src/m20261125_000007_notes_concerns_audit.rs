//! Notes (R5, R6), concerns (R12) and the audit log (append-only: triggers refuse any update
//! or delete, on both databases).

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Notes::Table)
                    .if_not_exists()
                    .col(pk_uuid(Notes::Id))
                    .col(uuid(Notes::PairId))
                    .col(uuid(Notes::AuthorId))
                    .col(string_len(Notes::Visibility, 16))
                    // Content (R5), sealed.
                    .col(text(Notes::Body))
                    .col(integer(Notes::Revision))
                    .col(timestamp_with_time_zone(Notes::CreatedAt))
                    .col(timestamp_with_time_zone(Notes::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notes::Table, Notes::PairId)
                            .to(Pairs::Table, Pairs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notes_pair")
                    .table(Notes::Table)
                    .col(Notes::PairId)
                    .col(Notes::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Concerns::Table)
                    .if_not_exists()
                    .col(pk_uuid(Concerns::Id))
                    .col(uuid(Concerns::PairId))
                    .col(uuid(Concerns::ProgramId))
                    .col(uuid(Concerns::AuthorId))
                    // The member's own words for the coordinators (R12), sealed.
                    .col(text(Concerns::Text))
                    .col(timestamp_with_time_zone(Concerns::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Concerns::Table, Concerns::PairId)
                            .to(Pairs::Table, Pairs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_concerns_program")
                    .table(Concerns::Table)
                    .col(Concerns::ProgramId)
                    .col(Concerns::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .if_not_exists()
                    .col(pk_uuid(AuditEvents::Id))
                    .col(timestamp_with_time_zone(AuditEvents::At))
                    .col(string_len(AuditEvents::Actor, 255))
                    .col(string_len(AuditEvents::Roles, 128))
                    .col(string_len(AuditEvents::Action, 64))
                    .col(string_len(AuditEvents::Method, 8))
                    .col(string_len(AuditEvents::Route, 255))
                    .col(uuid_null(AuditEvents::ResourceId))
                    .col(uuid_null(AuditEvents::PairId))
                    .col(small_integer(AuditEvents::Status))
                    .col(string_len(AuditEvents::Outcome, 16))
                    .col(string_len_null(AuditEvents::RequestId, 64))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_audit_actor", AuditEvents::Actor),
            ("idx_audit_resource", AuditEvents::ResourceId),
            ("idx_audit_pair", AuditEvents::PairId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditEvents::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql; \
                     CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events \
                     FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events \
                     BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END; \
                     CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events \
                     BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "DROP TRIGGER IF EXISTS audit_events_no_update ON audit_events; \
                     DROP FUNCTION IF EXISTS audit_events_append_only();",
                )
                .await?;
        }
        for table in [
            AuditEvents::Table.into_iden(),
            Concerns::Table.into_iden(),
            Notes::Table.into_iden(),
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
enum Notes {
    Table,
    Id,
    PairId,
    AuthorId,
    Visibility,
    Body,
    Revision,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Concerns {
    Table,
    Id,
    PairId,
    ProgramId,
    AuthorId,
    Text,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditEvents {
    Table,
    Id,
    At,
    Actor,
    Roles,
    Action,
    Method,
    Route,
    ResourceId,
    PairId,
    Status,
    Outcome,
    RequestId,
}
