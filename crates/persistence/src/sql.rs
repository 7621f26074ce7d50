//! Raw SQL written once for both databases.

use sea_orm::{DbBackend, Statement, Value};

/// A statement written with `$1, $2, …` (each used once, in order), for either database.
pub(crate) fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => sql.to_owned(),
        _ => {
            let mut out = sql.to_owned();
            for n in (1..=values.len()).rev() {
                out = out.replace(&format!("${n}"), "?");
            }
            out
        }
    };
    Statement::from_sql_and_values(backend, sql, values)
}
