//! Metadata in PostgreSQL, for several nodes sharing one database. Every
//! read-then-write runs in one transaction that first locks the row of the
//! mini program it is about (`SELECT .. FOR UPDATE`), so requests for one
//! mini program are serialised across nodes as the single SQLite writer
//! serialises them in one process; the task queue hands a task to one
//! worker with `FOR UPDATE SKIP LOCKED`. Identifiers come from sequences.
//!
//! The behaviour is that of `SqliteStore`, the reference: the same conflict
//! messages, orderings and error kinds (a connection failure or an acquire
//! timeout is `StoreError::Unavailable`).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use mnpd_domain::entity::*;
use mnpd_domain::store::*;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::Row;

use crate::lookup_cache::{LookupCache, DEFAULT_KEY_TTL};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How `PgStore::connect_with` sets up the pool.
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

/// The metadata store on PostgreSQL. Cloning shares the pool.
#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
    lookups: LookupCache,
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

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`)
    /// with the default options, applying the migrations.
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
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(db_err)?;
        let store = PgStore {
            pool,
            lookups: LookupCache::new(options.key_ttl),
        };
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// Applies the migrations not applied yet; a no-op on an up-to-date
    /// database.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => match db_err(e) {
                StoreError::Unavailable(m) => StoreError::Unavailable(m),
                other => StoreError::Other(format!("migrating the database: {other}")),
            },
            e => StoreError::Other(format!("migrating the database: {e}")),
        })
    }

    /// The connection pool, for tooling and tests.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Locks the mini program's row for the rest of the transaction: the first
/// statement of every read-decide-write about one mini program. Nothing is
/// locked when there is no such mini program.
pub(crate) async fn lock_mini_program(
    conn: &mut sqlx::PgConnection,
    mnp_id: &str,
) -> StoreResult<()> {
    sqlx::query("SELECT 1 FROM mini_programs WHERE mnp_id = $1 FOR UPDATE")
        .bind(mnp_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// A `%..%` LIKE pattern matching `keyword` literally, lowercased (the
/// default escape character of PostgreSQL's LIKE is the backslash).
pub(crate) fn like_pattern(keyword: Option<&str>) -> Option<String> {
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

fn account(r: &PgRow) -> Account {
    Account {
        id: r.get("id"),
        name: r.get("name"),
        created_at: r.get("created_at"),
    }
}

fn api_key(r: &PgRow) -> ApiKey {
    ApiKey {
        secret_id: r.get("secret_id"),
        secret_key: r.get("secret_key"),
        account_id: r.get("account_id"),
        enabled: r.get("enabled"),
        created_at: r.get("created_at"),
    }
}

fn platform(r: &PgRow) -> Platform {
    Platform {
        platform_id: r.get("platform_id"),
        account_id: r.get("account_id"),
        name: r.get("name"),
        expires_at: r.get("expires_at"),
        created_at: r.get("created_at"),
    }
}

fn team(r: &PgRow) -> Team {
    Team {
        team_id: r.get("team_id"),
        platform_id: r.get("platform_id"),
        name: r.get("name"),
        created_at: r.get("created_at"),
    }
}

pub(crate) fn listing(r: &PgRow) -> MiniProgramListing {
    MiniProgramListing {
        mini_program: MiniProgram {
            mnp_id: r.get("mnp_id"),
            platform_id: r.get("platform_id"),
            team_id: r.get("team_id"),
            name: r.get("name"),
            mnp_type: r.get("mnp_type"),
            icon: r.get("icon"),
            intro: r.get("intro"),
            desc: r.get("description"),
            status: r.get("status"),
            create_user: r.get("create_user"),
            created_at: r.get("created_at"),
            update_user: r.get("update_user"),
            updated_at: r.get("updated_at"),
        },
        team_name: r.get("team_name"),
        // Queries that do not join the online version leave these out.
        online: match (
            r.try_get::<Option<i64>, _>("online_version_id")
                .ok()
                .flatten(),
            r.try_get::<Option<String>, _>("online_version")
                .ok()
                .flatten(),
        ) {
            (Some(id), Some(version)) => Some((id, version)),
            _ => None,
        },
    }
}

fn task(r: &PgRow) -> StoreResult<Task> {
    let code: i64 = r.get("status");
    Ok(Task {
        task_id: r.get("task_id"),
        platform_id: r.get("platform_id"),
        mnp_id: r.get("mnp_id"),
        mnp_version: r.get("mnp_version"),
        file_url: r.get("file_url"),
        intro: r.get("intro"),
        sha256: r.get("sha256"),
        size: r.get("size"),
        status: TaskStatus::from_code(code)
            .ok_or_else(|| StoreError::Other(format!("task with unknown status {code}")))?,
        msg: r.get("msg"),
        attempts: r.get("attempts"),
        mnp_version_id: r.get("mnp_version_id"),
        create_user: r.get("create_user"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    })
}

/// A `versions` row (selected as `v.*` or `*`).
pub(crate) fn version_row(r: &PgRow) -> StoreResult<Version> {
    let manifest: String = r.get("manifest");
    Ok(Version {
        mnp_version_id: r.get("mnp_version_id"),
        new: NewVersion {
            mnp_id: r.get("mnp_id"),
            platform_id: r.get("platform_id"),
            version: r.get("version"),
            intro: r.get("intro"),
            sha256: r.get("sha256"),
            size: r.get("size"),
            manifest: serde_json::from_str(&manifest)
                .map_err(|e| StoreError::Other(format!("stored manifest unreadable: {e}")))?,
            task_id: r.get("task_id"),
            create_user: r.get("create_user"),
            created_at: r.get("created_at"),
        },
    })
}

/// The number of mini programs of a platform.
const PLATFORM_COUNT: &str =
    "SELECT coalesce((SELECT n FROM mini_program_counts WHERE platform_id = $1), 0) AS n";

const LISTING_SELECT: &str = "SELECT m.*, t.name AS team_name,
        o.mnp_version_id AS online_version_id, ov.version AS online_version
    FROM mini_programs m JOIN teams t ON t.team_id = m.team_id
    LEFT JOIN online_versions o ON o.mnp_id = m.mnp_id
    LEFT JOIN versions ov ON ov.mnp_version_id = o.mnp_version_id";

#[async_trait]
impl AccountStore for PgStore {
    async fn create_account(&self, name: &str, now: i64) -> StoreResult<Account> {
        let row =
            sqlx::query("INSERT INTO accounts (name, created_at) VALUES ($1, $2) RETURNING *")
                .bind(name)
                .bind(now)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(account(&row))
    }

    async fn get_account(&self, id: i64) -> StoreResult<Option<Account>> {
        self.lookups
            .account(id, async {
                let row = sqlx::query("SELECT * FROM accounts WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(row.as_ref().map(account))
            })
            .await
    }

    async fn insert_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        sqlx::query("INSERT INTO api_keys (secret_id, secret_key, account_id, enabled, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&key.secret_id)
            .bind(&key.secret_key)
            .bind(key.account_id)
            .bind(key.enabled)
            .bind(key.created_at)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn find_api_key(&self, secret_id: &str) -> StoreResult<Option<ApiKey>> {
        self.lookups
            .api_key(secret_id, async {
                let row = sqlx::query("SELECT * FROM api_keys WHERE secret_id = $1")
                    .bind(secret_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(row.as_ref().map(api_key))
            })
            .await
    }

    async fn list_api_keys(&self, account_id: Option<i64>) -> StoreResult<Vec<ApiKey>> {
        let rows = sqlx::query(
            "SELECT * FROM api_keys WHERE ($1 IS NULL OR account_id = $1) ORDER BY created_at, secret_id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows.iter().map(api_key).collect())
    }

    async fn set_api_key_enabled(&self, secret_id: &str, enabled: bool) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE api_keys SET enabled = $1 WHERE secret_id = $2")
            .bind(enabled)
            .bind(secret_id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        self.lookups.forget_key(secret_id);
        Ok(done.rows_affected() > 0)
    }

    async fn insert_platform(&self, p: &Platform) -> StoreResult<()> {
        sqlx::query("INSERT INTO platforms (platform_id, account_id, name, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&p.platform_id)
            .bind(p.account_id)
            .bind(&p.name)
            .bind(p.expires_at)
            .bind(p.created_at)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn get_platform(&self, platform_id: &str) -> StoreResult<Option<Platform>> {
        self.lookups
            .platform(platform_id, async {
                let row = sqlx::query("SELECT * FROM platforms WHERE platform_id = $1")
                    .bind(platform_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(row.as_ref().map(platform))
            })
            .await
    }

    async fn list_platforms(&self, account_id: Option<i64>) -> StoreResult<Vec<Platform>> {
        let rows = sqlx::query(
            "SELECT * FROM platforms WHERE ($1 IS NULL OR account_id = $1) ORDER BY created_at, platform_id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows.iter().map(platform).collect())
    }

    async fn insert_team(&self, t: &Team) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO teams (team_id, platform_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&t.team_id)
        .bind(&t.platform_id)
        .bind(&t.name)
        .bind(t.created_at)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn get_team(&self, team_id: &str) -> StoreResult<Option<Team>> {
        let row = sqlx::query("SELECT * FROM teams WHERE team_id = $1")
            .bind(team_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(row.as_ref().map(team))
    }

    async fn default_team(&self, platform_id: &str) -> StoreResult<Option<Team>> {
        let row = sqlx::query(
            "SELECT * FROM teams WHERE platform_id = $1 ORDER BY created_at, team_id LIMIT 1",
        )
        .bind(platform_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.as_ref().map(team))
    }
}

#[async_trait]
impl MiniProgramStore for PgStore {
    async fn insert_mini_program(&self, mp: &MiniProgram) -> StoreResult<()> {
        // The trigger numbers it in the same statement.
        let result = sqlx::query(
            "INSERT INTO mini_programs (mnp_id, platform_id, team_id, name, mnp_type, icon, intro, description, status, create_user, created_at, update_user, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&mp.mnp_id)
        .bind(&mp.platform_id)
        .bind(&mp.team_id)
        .bind(&mp.name)
        .bind(&mp.mnp_type)
        .bind(&mp.icon)
        .bind(&mp.intro)
        .bind(&mp.desc)
        .bind(mp.status)
        .bind(&mp.create_user)
        .bind(mp.created_at)
        .bind(&mp.update_user)
        .bind(mp.updated_at)
        .execute(&self.pool)
        .await;
        match result.map_err(db_err) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(c)) if c == "mini_programs_name_unique" => {
                Err(StoreError::Conflict("name".into()))
            }
            Err(StoreError::Conflict(_)) => Err(StoreError::Conflict("id".into())),
            Err(e) => Err(e),
        }
    }

    async fn get_mini_program(
        &self,
        platform_id: &str,
        mnp_id: &str,
    ) -> StoreResult<Option<MiniProgramListing>> {
        let row = sqlx::query(&format!(
            "{LISTING_SELECT} WHERE m.platform_id = $1 AND m.mnp_id = $2"
        ))
        .bind(platform_id)
        .bind(mnp_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.as_ref().map(listing))
    }

    async fn list_mini_programs(
        &self,
        q: &MiniProgramQuery,
    ) -> StoreResult<(i64, Vec<MiniProgramListing>)> {
        let keyword = like_pattern(q.keyword.as_deref());
        let team = q.team_id.as_deref().filter(|t| !t.is_empty());
        let application = q.application_id.as_deref().filter(|a| !a.is_empty());
        // `app` is the placeholder of the application filter: the count and
        // the page bind their parameters in different positions.
        let filter = |app: &str| {
            format!(
                "m.platform_id = $1 AND ($2 IS NULL OR lower(m.name) LIKE $2 OR lower(m.mnp_id) LIKE $2) AND ($3 IS NULL OR m.team_id = $3) \
                 AND ({app}::TEXT IS NULL OR EXISTS (SELECT 1 FROM approval_items i JOIN approvals a ON a.approval_no = i.approval_no \
                 WHERE a.mnp_id = m.mnp_id AND i.application_id = {app} AND i.status = 3))"
            )
        };
        let unfiltered = keyword.is_none() && team.is_none() && application.is_none();
        let total: i64 = if unfiltered {
            // Kept by triggers (migrations/postgres/0005_scale.sql).
            sqlx::query(PLATFORM_COUNT)
                .bind(&q.platform_id)
                .fetch_one(&self.pool)
                .await
        } else {
            sqlx::query(&format!(
                "SELECT count(*) AS n FROM mini_programs m WHERE {}",
                filter("$4")
            ))
            .bind(&q.platform_id)
            .bind(&keyword)
            .bind(team)
            .bind(application)
            .fetch_one(&self.pool)
            .await
        }
        .map_err(db_err)?
        .get("n");
        let rows = sqlx::query(&format!(
            "{LISTING_SELECT} WHERE {} ORDER BY m.created_at DESC, m.mnp_id LIMIT $4 OFFSET $5",
            filter("$6")
        ))
        .bind(&q.platform_id)
        .bind(&keyword)
        .bind(team)
        .bind(q.limit)
        .bind(q.offset)
        .bind(application)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok((total, rows.iter().map(listing).collect()))
    }
}

#[async_trait]
impl VersionStore for PgStore {
    async fn find_reusable_task(
        &self,
        mnp_id: &str,
        version: &str,
        file_url: &str,
        intro: &str,
    ) -> StoreResult<Option<Task>> {
        let row = sqlx::query(
            "SELECT * FROM tasks WHERE mnp_id = $1 AND mnp_version = $2 AND file_url = $3 AND intro = $4 AND status <> 30 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(mnp_id)
        .bind(version)
        .bind(file_url)
        .bind(intro)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(task).transpose()
    }

    async fn live_version_numbers(&self, mnp_id: &str) -> StoreResult<Vec<String>> {
        live_versions(&self.pool, mnp_id).await
    }

    async fn insert_task_checked(
        &self,
        t: &Task,
        must_exceed: &(dyn for<'v> Fn(&'v [String]) -> Result<(), String> + Send + Sync),
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        lock_mini_program(&mut tx, &t.mnp_id).await?;
        let live = live_versions(&mut *tx, &t.mnp_id).await?;
        must_exceed(&live).map_err(StoreError::Conflict)?;
        let result = sqlx::query(
            "INSERT INTO tasks (task_id, platform_id, mnp_id, mnp_version, file_url, intro, sha256, size, status, msg, attempts, create_user, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $13)",
        )
        .bind(&t.task_id)
        .bind(&t.platform_id)
        .bind(&t.mnp_id)
        .bind(&t.mnp_version)
        .bind(&t.file_url)
        .bind(&t.intro)
        .bind(&t.sha256)
        .bind(t.size)
        .bind(t.status.code())
        .bind(&t.msg)
        .bind(&t.create_user)
        .bind(t.created_at)
        .bind(t.updated_at)
        .execute(&mut *tx)
        .await;
        match result.map_err(db_err) {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => return Err(StoreError::Conflict("task_id".into())),
            Err(e) => return Err(e),
        }
        tx.commit().await.map_err(db_err)
    }

    async fn get_task(&self, task_id: &str) -> StoreResult<Option<Task>> {
        self.lookups
            .task(task_id, async {
                let row = sqlx::query("SELECT * FROM tasks WHERE task_id = $1")
                    .bind(task_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(task).transpose()
            })
            .await
    }

    async fn claim_task(
        &self,
        owner: &str,
        now: i64,
        lease_secs: i64,
    ) -> StoreResult<Option<Task>> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // A task another node is claiming right now is skipped, not waited
        // for: each claim gets a different task.
        let task_id: Option<String> = sqlx::query(
            "SELECT task_id FROM tasks
             WHERE status = 1 OR (status = 20 AND (lease_until IS NULL OR lease_until < $1))
             ORDER BY created_at, task_id LIMIT 1
             FOR UPDATE SKIP LOCKED",
        )
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .map(|r| r.get(0));
        let Some(task_id) = task_id else {
            return Ok(None);
        };
        let row = sqlx::query(
            "UPDATE tasks SET status = 20, msg = 'Running', lease_owner = $1, lease_until = $2 + $3,
                    attempts = attempts + 1, updated_at = $2
             WHERE task_id = $4
             RETURNING *",
        )
        .bind(owner)
        .bind(now)
        .bind(lease_secs)
        .bind(&task_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let claimed = task(&row)?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(claimed))
    }

    async fn complete_task(
        &self,
        task_id: &str,
        owner: &str,
        v: &NewVersion,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        let manifest = serde_json::to_string(&v.manifest)
            .map_err(|e| StoreError::Other(format!("encoding the manifest: {e}")))?;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // The mini program's row before the task's, in the order
        // delete_mini_program takes them, so the two cannot deadlock. A key
        // share lock is what the version's foreign key takes anyway.
        sqlx::query("SELECT 1 FROM mini_programs WHERE mnp_id = $1 FOR KEY SHARE")
            .bind(&v.mnp_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        let held = sqlx::query(
            "SELECT 1 FROM tasks WHERE task_id = $1 AND status = 20 AND lease_owner = $2 FOR UPDATE",
        )
        .bind(task_id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if held.is_none() {
            return Ok(None);
        }
        // A unique violation would abort the transaction: skip the row
        // instead and see that nothing came back.
        let inserted: Option<i64> = sqlx::query(
            "INSERT INTO versions (mnp_id, platform_id, version, intro, sha256, size, manifest, task_id, create_user, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT DO NOTHING RETURNING mnp_version_id",
        )
        .bind(&v.mnp_id)
        .bind(&v.platform_id)
        .bind(&v.version)
        .bind(&v.intro)
        .bind(&v.sha256)
        .bind(v.size)
        .bind(&manifest)
        .bind(&v.task_id)
        .bind(&v.create_user)
        .bind(v.created_at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .map(|r| r.get(0));
        let Some(id) = inserted else {
            // The number was recorded meanwhile (only possible through
            // direct database edits): the task cannot succeed.
            sqlx::query("UPDATE tasks SET status = 30, msg = $1, lease_owner = NULL, updated_at = $2 WHERE task_id = $3")
                .bind(format!("version {} is already recorded for this mini program; create a greater version", v.version))
                .bind(now)
                .bind(task_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            return Ok(None);
        };
        sqlx::query(
            "UPDATE tasks SET status = 60, msg = 'Success', mnp_version_id = $1, lease_owner = NULL, lease_until = NULL, updated_at = $2 WHERE task_id = $3",
        )
        .bind(id)
        .bind(now)
        .bind(task_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(id))
    }

    async fn fail_task(
        &self,
        task_id: &str,
        owner: &str,
        msg: &str,
        now: i64,
    ) -> StoreResult<bool> {
        // One statement: the row is locked and the condition re-checked on
        // its newest version, so a task finishes once.
        let done = sqlx::query(
            "UPDATE tasks SET status = 30, msg = $1, lease_owner = NULL, lease_until = NULL, updated_at = $2
             WHERE task_id = $3 AND status = 20 AND lease_owner = $4",
        )
        .bind(msg)
        .bind(now)
        .bind(task_id)
        .bind(owner)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn expire_all_leases(&self) -> StoreResult<u64> {
        let done = sqlx::query("UPDATE tasks SET lease_until = NULL WHERE status = 20")
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn task_backlog(&self) -> StoreResult<TaskBacklog> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN status = 1 THEN 1 ELSE 0 END), 0) AS pending,
                    COALESCE(SUM(CASE WHEN status = 20 THEN 1 ELSE 0 END), 0) AS running
             FROM tasks WHERE status IN (1, 20)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(TaskBacklog {
            pending: row.get("pending"),
            running: row.get("running"),
        })
    }

    async fn get_version(&self, mnp_version_id: i64) -> StoreResult<Option<Version>> {
        let row = sqlx::query("SELECT * FROM versions WHERE mnp_version_id = $1")
            .bind(mnp_version_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(version_row).transpose()
    }

    async fn latest_version(&self, mnp_id: &str) -> StoreResult<Option<Version>> {
        let row = sqlx::query(
            "SELECT * FROM versions WHERE mnp_id = $1 ORDER BY mnp_version_id DESC LIMIT 1",
        )
        .bind(mnp_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(version_row).transpose()
    }

    async fn referenced_blobs(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT sha256 FROM versions UNION SELECT sha256 FROM tasks WHERE status <> 30
             UNION SELECT sha256 FROM uploads ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows.iter().map(|r| r.get("sha256")).collect())
    }
}

async fn live_versions<'e, E>(executor: E, mnp_id: &str) -> StoreResult<Vec<String>>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    let rows = sqlx::query(
        "SELECT version FROM versions WHERE mnp_id = $1
         UNION SELECT mnp_version FROM tasks WHERE mnp_id = $1 AND status <> 30",
    )
    .bind(mnp_id)
    .fetch_all(executor)
    .await
    .map_err(db_err)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

mod application;
mod lifecycle;
mod upload;
