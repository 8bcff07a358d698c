//! What is SQLite's own: opening the file (WAL, one writer), errors,
//! constraint names and transactions.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use mnpd_domain::store::{StoreError, StoreResult};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Executor, Sqlite};

use super::{Db, Row, Unique};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Opens (creating when missing) the database file and applies the
/// migrations. Writes go through a pool of one connection; reads use their
/// own pool; other processes (`mnpd admin`) wait on the busy timeout.
pub(crate) async fn open(path: &Path) -> StoreResult<Db> {
    let opts = SqliteConnectOptions::from_str("sqlite://")
        .map_err(db_err)?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL in WAL mode survives a process crash; only an OS crash
        // can lose the last commits.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts.clone())
        .await
        .map_err(db_err)?;
    MIGRATOR
        .run(&write)
        .await
        .map_err(|e| StoreError::Other(format!("migrating the database: {e}")))?;
    let read = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(opts.read_only(true))
        .await
        .map_err(db_err)?;
    Ok(Db::Sqlite { read, write })
}

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(d.message().to_string())
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(format!("sqlite: {e}")),
    }
}

/// An AUTOINCREMENT column's counter is its row in `sqlite_sequence`.
pub(crate) fn advance_sequence(table: &str, column: &str) -> String {
    format!(
        "UPDATE sqlite_sequence SET seq = max(seq, (SELECT COALESCE(MAX({column}), 0) FROM {table})) WHERE name = '{table}'"
    )
}

/// SQLite names the columns of a violated constraint ("UNIQUE constraint
/// failed: mini_programs.platform_id, mini_programs.name").
pub(crate) fn violates(detail: &str, unique: Unique) -> bool {
    detail.contains(match unique {
        Unique::MiniProgramName => "mini_programs.name",
        Unique::ApplicationName => "applications.name",
        Unique::OpenApproval => "approvals.mnp_id",
        Unique::UserAccount => "users.account",
        Unique::TeamName => "teams.name",
    })
}

pub(crate) fn rows(fetched: Result<Vec<SqliteRow>, sqlx::Error>) -> StoreResult<Vec<Row>> {
    Ok(fetched
        .map_err(db_err)?
        .into_iter()
        .map(Row::Sqlite)
        .collect())
}

pub(crate) fn row(fetched: Result<Option<SqliteRow>, sqlx::Error>) -> StoreResult<Option<Row>> {
    Ok(fetched.map_err(db_err)?.map(Row::Sqlite))
}

pub(crate) fn changed(done: Result<SqliteQueryResult, sqlx::Error>) -> StoreResult<u64> {
    Ok(done.map_err(db_err)?.rows_affected())
}

/// A transaction on the writer connection, begun and ended by this type
/// rather than by sqlx's `Transaction`.
///
/// Why: when the disk is full, SQLite may roll a transaction back on its
/// own (SQLITE_FULL), after which both COMMIT and ROLLBACK fail. sqlx then
/// keeps counting the transaction as open and the single writer connection
/// goes back to the pool in that state, so every later write of the
/// process fails until a restart. Here a transaction that did not commit
/// is rolled back before its connection is reused, and a connection whose
/// state is in doubt is closed, so the pool opens a fresh one.
pub(crate) struct Tx {
    /// None once committed or handed to the rollback.
    conn: Option<PoolConnection<Sqlite>>,
}

impl Tx {
    pub(crate) async fn begin(pool: &SqlitePool) -> StoreResult<Tx> {
        let mut conn = pool.acquire().await.map_err(db_err)?;
        // IMMEDIATE takes the write lock now: a read-then-write never has
        // to upgrade its lock against another process half-way.
        if let Err(e) = conn.execute("BEGIN IMMEDIATE").await {
            conn.close_on_drop();
            return Err(db_err(e));
        }
        Ok(Tx { conn: Some(conn) })
    }

    pub(crate) fn connection(&mut self) -> &mut sqlx::SqliteConnection {
        self.conn
            .as_deref_mut()
            .expect("a transaction is used after its end")
    }

    pub(crate) async fn commit(mut self) -> StoreResult<()> {
        let mut conn = self.conn.take().expect("a transaction ends once");
        match conn.execute("COMMIT").await {
            Ok(_) => Ok(()),
            Err(e) => {
                rollback(conn).await;
                Err(db_err(e))
            }
        }
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            // The connection returns to the pool only once rolled back.
            Ok(runtime) => {
                runtime.spawn(rollback(conn));
            }
            Err(_) => conn.close_on_drop(),
        }
    }
}

/// Ends whatever transaction the connection is in. A ROLLBACK that fails
/// because SQLite already rolled back is fine; any other failure closes the
/// connection instead of returning it to the pool.
async fn rollback(mut conn: PoolConnection<Sqlite>) {
    if let Err(e) = conn.execute("ROLLBACK").await {
        let already = matches!(&e, sqlx::Error::Database(d) if d.message().contains("no transaction is active"));
        if !already {
            tracing::warn!(error = %e, "closing a SQLite connection whose transaction could not be rolled back");
            conn.close_on_drop();
        }
    }
}
