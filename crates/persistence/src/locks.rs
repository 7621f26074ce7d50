//! Row locks, taken in one documented order by every writer (enrollments by id, then the
//! pair, then its meetings and objectives, then the tallies): two writers of one pair go one
//! after the other, and nobody deadlocks. Its own module so that the tallies and the pairs do
//! not depend on each other.

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::{error::StoreError, sql::statement};

/// Pairs locked, and whose meetings ahead are cancelled, at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairsOf {
    /// One pair (it ended, or was suspended).
    One(Uuid),
    /// The active pairs of a program (it closes: they complete).
    ActiveOfProgram(Uuid),
}

impl PairsOf {
    /// A condition on `{pair_col}` naming these pairs, with `${n}` their id.
    pub(crate) fn condition(self, pair_col: &str, n: usize) -> String {
        match self {
            PairsOf::One(_) => format!("{pair_col} = ${n}"),
            PairsOf::ActiveOfProgram(_) => format!(
                "{pair_col} IN (SELECT id FROM pairs WHERE program_id = ${n} AND status = 'active')"
            ),
        }
    }

    pub(crate) fn id(self) -> Uuid {
        match self {
            PairsOf::One(id) | PairsOf::ActiveOfProgram(id) => id,
        }
    }
}

/// Take the row locks of these pairs until the transaction ends. Every writer of a pair's
/// meetings and objectives takes it first (pair, then meetings, then tallies: one order, no
/// deadlock), so two writers of one pair go one after the other, a cancellation never races
/// the pair's end or its program's close, and the facts recomputed from the pair's meetings
/// see every committed change (PostgreSQL evaluates a statement that waited on a lock with
/// the snapshot it started with; SQLite has one writer at a time).
pub async fn lock_all(conn: &impl ConnectionTrait, pairs: PairsOf) -> Result<(), StoreError> {
    let sql = format!(
        "UPDATE pairs SET updated_at = updated_at WHERE {}",
        pairs.condition("id", 1)
    );
    conn.execute_raw(statement(
        conn.get_database_backend(),
        &sql,
        vec![pairs.id().into()],
    ))
    .await?;
    Ok(())
}

/// [`lock_all`] of one pair: writers of the same pair's meetings go one at a time, so two
/// schedules at once cannot both pass the overlap check.
pub async fn lock(conn: &impl ConnectionTrait, pair_id: Uuid) -> Result<(), StoreError> {
    lock_all(conn, PairsOf::One(pair_id)).await
}
