//! The metadata store: one implementation of the domain's store traits,
//! running on SQLite (the embedded default) or PostgreSQL (several nodes).
//! Each file holds what its name says; every statement in them is written
//! once, for both engines (see `crate::sql`).
//!
//! | file | stores | trait |
//! |---|---|---|
//! | accounts.rs | accounts, API keys, platforms, teams | `AccountStore` |
//! | mini_programs.rs | mini programs, their numbers and counts | `MiniProgramStore`, `MiniProgramManagementStore` |
//! | applications.rs | host applications | `ApplicationStore` |
//! | tasks.rs | CreateMNPVersion tasks: the queue, leases, completion | `TaskStore` |
//! | versions.rs | versions, and which packages are still referenced | `VersionStore` |
//! | approvals.rs | approvals and their items | `ApprovalStore` |
//! | releases.rs | releases, rollbacks, the online version | `ReleaseStore` |
//! | previews.rs | preview and trial versions | `PreviewStore` |
//! | settings.rs | server-wide settings | `SettingStore` |
//! | uploads.rs | packages uploaded to mnpd itself | `UploadStore` |
//! | resets.rs | platforms back to their first-start state | `ResetStore` |
//! | signing_keys.rs | platforms' package signing keys | `SigningKeyStore` |
//! | sensitive_apis.rs | host applications' sensitive APIs, permission requests | `SensitiveApiStore` |
//! | fixtures.rs | an account's records out and back in with their IDs | `FixtureStore` |

/// The platform `$1`'s default team, as a sub-select: the one the platform
/// records or, for a platform that records none (a row from an older
/// fixture), the oldest. A macro so that statements can `concat!` it.
macro_rules! default_team {
    () => {
        "(SELECT team_id FROM teams WHERE platform_id = $1
            ORDER BY CASE WHEN team_id = (SELECT default_team_id FROM platforms WHERE platform_id = $1) THEN 0 ELSE 1 END,
                created_at, team_id
            LIMIT 1)"
    };
}

mod accounts;
mod applications;
mod approvals;
mod console_sessions;
mod domains;
mod fixtures;
mod mini_programs;
mod organization;
mod previews;
mod releases;
mod resets;
mod rollouts;
mod sensitive_apis;
mod settings;
mod signing_keys;
mod tasks;
mod uploads;
mod versions;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use mnpd_domain::entity::Actor;
use mnpd_domain::store::{StoreError, StoreResult};
use sqlx::postgres::{PgConnectOptions, PgPool};

use crate::lookup_cache::{LookupCache, DEFAULT_KEY_TTL};
use crate::sql::{self, Db};

/// The metadata store, on either engine. Cloning shares the pools.
#[derive(Clone)]
pub struct SqlStore {
    db: Db,
    lookups: LookupCache,
}

/// The store opened on a SQLite file.
pub type SqliteStore = SqlStore;
/// The store connected to PostgreSQL.
pub type PgStore = SqlStore;

/// How `SqlStore::connect_with` sets up a PostgreSQL pool.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Apply the migrations on connecting (several nodes may do so at once:
    /// the migrator takes an advisory lock).
    pub migrate: bool,
    /// Connections kept at most by this node.
    pub max_connections: u32,
    /// How long a request waits for a connection (including connecting)
    /// before it answers `Unavailable`.
    pub acquire_timeout: Duration,
    /// How long an enabled API key is trusted without reading it again
    /// (zero: never); see `lookup_cache`.
    pub key_ttl: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            migrate: true,
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            key_ttl: DEFAULT_KEY_TTL,
        }
    }
}

impl SqlStore {
    /// Opens (creating when missing) a SQLite database file and applies the
    /// migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(SqlStore {
            db: sql::sqlite::open(path).await?,
            lookups: LookupCache::new(DEFAULT_KEY_TTL),
        })
    }

    /// Connects to PostgreSQL at `url`
    /// (`postgres://user:password@host:port/database`) with the default
    /// options, applying the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PgOptions::default()).await
    }

    pub async fn connect_with(url: &str, options: PgOptions) -> Result<Self, StoreError> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("PostgreSQL URL: {e}")))?;
        Self::connect_options(connect, options).await
    }

    /// As `connect_with`, from connection options built by the caller.
    pub async fn connect_options(
        connect: PgConnectOptions,
        options: PgOptions,
    ) -> Result<Self, StoreError> {
        let pool =
            sql::postgres::connect(connect, options.max_connections, options.acquire_timeout)
                .await?;
        let store = SqlStore {
            db: Db::Postgres(pool),
            lookups: LookupCache::new(options.key_ttl),
        };
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// Applies the migrations not applied yet; a no-op on an up-to-date
    /// database. (SQLite's are applied by `open`.)
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Postgres(pool) => sql::postgres::migrate(pool).await,
            Db::Sqlite { .. } => Ok(()),
        }
    }

    /// How long an enabled API key is trusted without reading it again
    /// (zero: never); see `lookup_cache`.
    pub fn with_key_ttl(mut self, ttl: Duration) -> Self {
        self.lookups = LookupCache::new(ttl);
        self
    }

    /// The PostgreSQL pool, for tooling and tests; None on SQLite.
    pub fn pg_pool(&self) -> Option<&PgPool> {
        match &self.db {
            Db::Postgres(pool) => Some(pool),
            Db::Sqlite { .. } => None,
        }
    }

    pub async fn close(&self) {
        self.db.close().await;
    }
}

/// A `%..%` LIKE pattern, used with `ESCAPE '\'`, matching `keyword`
/// literally and lowercased (compare it with `lower(column)`); None for no
/// or an empty keyword.
fn like_pattern(keyword: Option<&str>) -> Option<String> {
    keyword.filter(|k| !k.is_empty()).map(|k| {
        format!(
            "%{}%",
            k.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    })
}

/// An optional filter value: None when absent or empty.
fn given(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// Maps a conflict with `mapping` and passes other results through.
fn on_conflict<T>(
    result: StoreResult<T>,
    mapping: impl FnOnce(&str) -> StoreError,
) -> StoreResult<T> {
    match result {
        Err(StoreError::Conflict(detail)) => Err(mapping(&detail)),
        other => other,
    }
}

fn conflict(what: &str) -> StoreError {
    StoreError::Conflict(what.to_string())
}

#[cfg(test)]
mod tests;

/// The actor a row records in a reference column (`create_actor`, ...)
/// beside the name the API shows (`create_user`, ...).
fn actor(r: &sql::Row, reference: &str, shown: &str) -> StoreResult<Actor> {
    let (reference, shown): (String, String) = (r.get(reference), r.get(shown));
    Actor::from_stored(&reference, &shown)
        .ok_or_else(|| StoreError::Other(format!("stored actor `{reference}` is in no known form")))
}

/// As [`actor`], for a record that may not have one yet (an approval item
/// nobody decided: no name, no reference).
fn optional_actor(r: &sql::Row, reference: &str, shown: &str) -> StoreResult<Option<Actor>> {
    let (stored, name): (String, String) = (r.get(reference), r.get(shown));
    if stored.is_empty() && name.is_empty() {
        return Ok(None);
    }
    actor(r, reference, shown).map(Some)
}
