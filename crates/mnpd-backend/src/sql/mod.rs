//! Statements written once, run on SQLite or PostgreSQL.
//!
//! Every query of the metadata store is one SQL text with `$N` placeholders
//! (sqlx binds `$N` by number on both engines) and its values. This module
//! carries a statement to whichever engine the store was opened on and
//! brings the rows back in one type, so that the stores above it
//! (`crate::metadata`) never name an engine. What truly differs between
//! the engines lives in `sqlite.rs` and `postgres.rs` as a few named hooks:
//! opening, error classification, unique-constraint names, row locks and
//! transactions.
//!
//! Dispatch is a `match` per statement rather than generics over
//! `sqlx::Database`: the stores stay free of sqlx's trait bounds, and the
//! cost (one branch and the values' small vector) is nothing beside a
//! database round trip.

pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::borrow::Cow;

use mnpd_domain::store::{StoreError, StoreResult};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{ColumnIndex, Decode, Postgres, Row as _, Sqlite, Type};

/// The connection pools of a store. SQLite has a pool of one writer (so
/// that read-then-write transactions in this process never race) and a
/// pool of readers; PostgreSQL serves both from one pool.
#[derive(Clone)]
pub(crate) enum Db {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

/// A value bound to a placeholder: the column types the schema uses.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'q> {
    Int(Option<i64>),
    Text(Option<&'q str>),
    Bool(bool),
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}
impl From<Option<i64>> for Value<'_> {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl<'q> From<&'q str> for Value<'q> {
    fn from(v: &'q str) -> Self {
        Value::Text(Some(v))
    }
}
impl<'q> From<&'q String> for Value<'q> {
    fn from(v: &'q String) -> Self {
        Value::Text(Some(v))
    }
}
impl<'q> From<Option<&'q str>> for Value<'q> {
    fn from(v: Option<&'q str>) -> Self {
        Value::Text(v)
    }
}

/// One statement and its values.
pub(crate) struct Sql<'q> {
    text: Cow<'q, str>,
    args: Vec<Value<'q>>,
}

/// A statement from its text; values follow with `bind`, in the order of
/// their placeholders' numbers.
pub(crate) fn sql<'q>(text: impl Into<Cow<'q, str>>) -> Sql<'q> {
    Sql {
        text: text.into(),
        args: Vec::new(),
    }
}

/// `$from, $from+1, ..` for `n` values, for an `IN (..)` list.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where a statement runs: a pool, or the connection of a transaction.
pub(crate) enum On<'c> {
    SqlitePool(&'c SqlitePool),
    PgPool(&'c PgPool),
    Sqlite(&'c mut sqlx::SqliteConnection),
    Pg(&'c mut sqlx::PgConnection),
}

/// A row from either engine.
pub(crate) enum Row {
    Sqlite(SqliteRow),
    Pg(PgRow),
}

/// A Rust type both engines decode a column into.
pub(crate) trait Column:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}
impl<T> Column for T where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

/// A column named or numbered on both engines' rows.
pub(crate) trait Index:
    ColumnIndex<SqliteRow> + ColumnIndex<PgRow> + std::fmt::Debug
{
}
impl<I> Index for I where I: ColumnIndex<SqliteRow> + ColumnIndex<PgRow> + std::fmt::Debug {}

impl Row {
    /// The column's value. Like sqlx's `Row::get`, a missing column or a
    /// type the schema does not have is a programming error and panics.
    pub(crate) fn get<T: Column>(&self, index: impl Index) -> T {
        self.try_get(index).unwrap_or_else(|e| panic!("{e}"))
    }

    pub(crate) fn try_get<T: Column>(&self, index: impl Index) -> Result<T, sqlx::Error> {
        match self {
            Row::Sqlite(r) => r.try_get(index),
            Row::Pg(r) => r.try_get(index),
        }
    }
}

impl<'q> Sql<'q> {
    pub(crate) fn bind(mut self, value: impl Into<Value<'q>>) -> Self {
        self.args.push(value.into());
        self
    }

    fn on_sqlite(&self) -> sqlx::query::Query<'_, Sqlite, sqlx::sqlite::SqliteArguments<'_>> {
        bind_all(sqlx::query(&self.text), &self.args)
    }

    fn on_pg(&self) -> sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments> {
        bind_all(sqlx::query(&self.text), &self.args)
    }

    pub(crate) async fn fetch_all(&self, on: impl Into<On<'_>>) -> StoreResult<Vec<Row>> {
        Ok(match on.into() {
            On::SqlitePool(p) => sqlite::rows(self.on_sqlite().fetch_all(p).await)?,
            On::Sqlite(c) => sqlite::rows(self.on_sqlite().fetch_all(c).await)?,
            On::PgPool(p) => postgres::rows(self.on_pg().fetch_all(p).await)?,
            On::Pg(c) => postgres::rows(self.on_pg().fetch_all(c).await)?,
        })
    }

    pub(crate) async fn fetch_optional(&self, on: impl Into<On<'_>>) -> StoreResult<Option<Row>> {
        Ok(match on.into() {
            On::SqlitePool(p) => sqlite::row(self.on_sqlite().fetch_optional(p).await)?,
            On::Sqlite(c) => sqlite::row(self.on_sqlite().fetch_optional(c).await)?,
            On::PgPool(p) => postgres::row(self.on_pg().fetch_optional(p).await)?,
            On::Pg(c) => postgres::row(self.on_pg().fetch_optional(c).await)?,
        })
    }

    /// The first row; an error when there is none.
    pub(crate) async fn fetch_one(&self, on: impl Into<On<'_>>) -> StoreResult<Row> {
        self.fetch_optional(on)
            .await?
            .ok_or_else(|| StoreError::Other(format!("no row returned by: {}", self.text.trim())))
    }

    /// The number of rows changed.
    pub(crate) async fn execute(&self, on: impl Into<On<'_>>) -> StoreResult<u64> {
        match on.into() {
            On::SqlitePool(p) => sqlite::changed(self.on_sqlite().execute(p).await),
            On::Sqlite(c) => sqlite::changed(self.on_sqlite().execute(c).await),
            On::PgPool(p) => postgres::changed(self.on_pg().execute(p).await),
            On::Pg(c) => postgres::changed(self.on_pg().execute(c).await),
        }
    }
}

fn bind_all<'a, DB>(
    mut query: sqlx::query::Query<'a, DB, <DB as sqlx::Database>::Arguments<'a>>,
    values: &[Value<'a>],
) -> sqlx::query::Query<'a, DB, <DB as sqlx::Database>::Arguments<'a>>
where
    DB: sqlx::Database,
    Option<i64>: sqlx::Encode<'a, DB> + Type<DB>,
    Option<&'a str>: sqlx::Encode<'a, DB> + Type<DB>,
    bool: sqlx::Encode<'a, DB> + Type<DB>,
{
    for v in values {
        query = match *v {
            Value::Int(i) => query.bind(i),
            Value::Text(t) => query.bind(t),
            Value::Bool(b) => query.bind(b),
        };
    }
    query
}

/// Row locks a statement may take. SQLite has none: its single writer
/// connection already serialises every read-then-write of this process.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lock {
    /// The rows will be changed or deleted.
    Update,
    /// The rows must not change or disappear until the commit.
    Share,
    /// The rows' keys must not change or disappear (what a foreign key
    /// takes), without blocking other updates.
    KeyShare,
    /// As `Update`, skipping rows another transaction holds: each of
    /// several claimants gets a different row.
    UpdateSkipLocked,
}

/// The constraints whose violation the stores tell apart.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Unique {
    /// A mini program's name on its platform.
    MiniProgramName,
    /// A host application's name on its platform.
    ApplicationName,
    /// At most one open approval per mini program.
    OpenApproval,
    /// A user's account on its platform.
    UserAccount,
    /// A team's name on its platform.
    TeamName,
}

/// A transaction on the writer. Dropped without `commit`, it is rolled
/// back.
pub(crate) enum Tx {
    Sqlite(sqlite::Tx),
    Pg(sqlx::Transaction<'static, Postgres>),
}

impl<'c> From<&'c mut Tx> for On<'c> {
    fn from(tx: &'c mut Tx) -> Self {
        match tx {
            Tx::Sqlite(t) => On::Sqlite(t.connection()),
            Tx::Pg(t) => On::Pg(&mut *t),
        }
    }
}

impl Tx {
    pub(crate) async fn commit(self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Pg(t) => t.commit().await.map_err(postgres::db_err),
        }
    }

    /// Runs `select` with the row lock `lock` where the engine has row
    /// locks, and not at all elsewhere: for statements whose only purpose
    /// is the lock.
    pub(crate) async fn lock_rows(&mut self, select: Sql<'_>, lock: Lock) -> StoreResult<()> {
        if let Tx::Pg(_) = self {
            let locking = Sql {
                text: format!("{}{}", select.text, postgres::lock_clause(lock)).into(),
                args: select.args,
            };
            locking.fetch_all(&mut *self).await?;
        }
        Ok(())
    }

    /// Moves the sequence that numbers `table.column` past the numbers the
    /// table holds (rows inserted with their own numbers), never back: a
    /// number once handed out is not handed out again.
    pub(crate) async fn advance_sequence(
        &mut self,
        table: &'static str,
        column: &'static str,
    ) -> StoreResult<()> {
        let text = match self {
            Tx::Sqlite(_) => sqlite::advance_sequence(table, column),
            Tx::Pg(_) => postgres::advance_sequence(table, column),
        };
        sql(text).fetch_all(&mut *self).await?;
        Ok(())
    }

    /// `text` with the row lock `lock` appended where the engine has row
    /// locks.
    pub(crate) fn locking<'q>(&self, text: &'q str, lock: Lock) -> Sql<'q> {
        match self {
            Tx::Sqlite(_) => sql(text),
            Tx::Pg(_) => sql(format!("{text}{}", postgres::lock_clause(lock))),
        }
    }
}

impl Db {
    /// Where reads that need no transaction run.
    pub(crate) fn read(&self) -> On<'_> {
        match self {
            Db::Sqlite { read, .. } => On::SqlitePool(read),
            Db::Postgres(p) => On::PgPool(p),
        }
    }

    /// Where single-statement writes run (and reads that must see them).
    pub(crate) fn write(&self) -> On<'_> {
        match self {
            Db::Sqlite { write, .. } => On::SqlitePool(write),
            Db::Postgres(p) => On::PgPool(p),
        }
    }

    pub(crate) async fn begin(&self) -> StoreResult<Tx> {
        match self {
            Db::Sqlite { write, .. } => Ok(Tx::Sqlite(sqlite::Tx::begin(write).await?)),
            Db::Postgres(p) => Ok(Tx::Pg(p.begin().await.map_err(postgres::db_err)?)),
        }
    }

    /// The clause that takes the row lock `lock` at the end of a SELECT:
    /// empty where the engine has no row locks.
    pub(crate) fn lock_clause(&self, lock: Lock) -> &'static str {
        match self {
            Db::Sqlite { .. } => "",
            Db::Postgres(_) => postgres::lock_clause(lock),
        }
    }

    /// Whether a conflict's detail names the constraint `unique`.
    pub(crate) fn violates(&self, detail: &str, unique: Unique) -> bool {
        match self {
            Db::Sqlite { .. } => sqlite::violates(detail, unique),
            Db::Postgres(_) => postgres::violates(detail, unique),
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(p) => p.close().await,
        }
    }
}
