//! What is PostgreSQL's own: connecting, errors (which ones are worth a
//! retry), constraint names and row locks.
//!
//! Several nodes share one database. Every read-then-write about one mini
//! program runs in a transaction that first locks the mini program's row
//! (`Lock::Update`), so requests for it are serialised across nodes as the
//! single SQLite writer serialises them in one process; the task queue
//! hands each task to one worker with `FOR UPDATE SKIP LOCKED`.

use std::time::Duration;

use mnpd_domain::store::{StoreError, StoreResult};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgQueryResult, PgRow};

use super::{Lock, Row, Unique};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub(crate) async fn connect(
    connect: PgConnectOptions,
    max_connections: u32,
    acquire_timeout: Duration,
) -> StoreResult<PgPool> {
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(acquire_timeout)
        .connect_with(connect)
        .await
        .map_err(db_err)
}

/// Applies the migrations not applied yet; several nodes may do so at
/// once (the migrator takes an advisory lock).
pub(crate) async fn migrate(pool: &PgPool) -> StoreResult<()> {
    MIGRATOR.run(pool).await.map_err(|e| match e {
        sqlx::migrate::MigrateError::Execute(e) => match db_err(e) {
            StoreError::Unavailable(m) => StoreError::Unavailable(m),
            other => StoreError::Other(format!("migrating the database: {other}")),
        },
        e => StoreError::Other(format!("migrating the database: {e}")),
    })
}

/// SQLSTATEs meaning that the server cannot serve now but may later:
/// connection exceptions (class 08), too many connections, a shutting down
/// or starting server, and a transaction to retry.
fn transient(code: &str) -> bool {
    code.starts_with("08")
        || matches!(
            code,
            "53300" | "57P01" | "57P02" | "57P03" | "40001" | "40P01"
        )
}

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(d.constraint().unwrap_or(d.message()).to_string())
        }
        sqlx::Error::Database(d) if d.code().is_some_and(|c| transient(&c)) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Other(format!("postgres: {e}")),
    }
}

/// PostgreSQL reports the violated constraint by name (see the migrations).
pub(crate) fn violates(detail: &str, unique: Unique) -> bool {
    detail
        == match unique {
            Unique::MiniProgramName => "mini_programs_name_unique",
            Unique::ApplicationName => "applications_name_unique",
            Unique::OpenApproval => "approvals_one_open",
            Unique::UserAccount => "users_account_unique",
            Unique::TeamName => "teams_name_unique",
        }
}

pub(crate) fn lock_clause(lock: Lock) -> &'static str {
    match lock {
        Lock::Update => " FOR UPDATE",
        Lock::Share => " FOR SHARE",
        Lock::KeyShare => " FOR KEY SHARE",
        Lock::UpdateSkipLocked => " FOR UPDATE SKIP LOCKED",
    }
}

pub(crate) fn rows(fetched: Result<Vec<PgRow>, sqlx::Error>) -> StoreResult<Vec<Row>> {
    Ok(fetched.map_err(db_err)?.into_iter().map(Row::Pg).collect())
}

pub(crate) fn row(fetched: Result<Option<PgRow>, sqlx::Error>) -> StoreResult<Option<Row>> {
    Ok(fetched.map_err(db_err)?.map(Row::Pg))
}

pub(crate) fn changed(done: Result<PgQueryResult, sqlx::Error>) -> StoreResult<u64> {
    Ok(done.map_err(db_err)?.rows_affected())
}

/// A BIGSERIAL column's counter is its sequence; `pg_sequence_last_value`
/// is null until the sequence is first used.
pub(crate) fn advance_sequence(table: &str, column: &str) -> String {
    format!(
        "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), GREATEST(
            (SELECT COALESCE(MAX({column}), 0) FROM {table}),
            COALESCE(pg_sequence_last_value(CAST(pg_get_serial_sequence('{table}', '{column}') AS regclass)), 0),
            1))"
    )
}
