//! Metadata in SQLite (WAL). Writes go through a pool of one connection so
//! that read-then-write transactions in this process never race each other;
//! reads use their own pool. Other processes (`mnpd admin`) wait on the
//! busy timeout.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use mnpd_domain::entity::*;
use mnpd_domain::store::*;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::Row;

use crate::lookup_cache::{LookupCache, DEFAULT_KEY_TTL};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    pub(crate) read: SqlitePool,
    pub(crate) write: SqlitePool,
    lookups: LookupCache,
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

impl SqliteStore {
    /// Opens (creating when missing) the database file and applies the
    /// migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
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
        Ok(SqliteStore {
            read,
            write,
            lookups: LookupCache::new(DEFAULT_KEY_TTL),
        })
    }

    /// How long an enabled API key is trusted without reading it again
    /// (zero: never); see `lookup_cache`.
    pub fn with_key_ttl(mut self, ttl: Duration) -> Self {
        self.lookups = LookupCache::new(ttl);
        self
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

fn account(r: &SqliteRow) -> Account {
    Account {
        id: r.get("id"),
        name: r.get("name"),
        created_at: r.get("created_at"),
    }
}

fn api_key(r: &SqliteRow) -> ApiKey {
    ApiKey {
        secret_id: r.get("secret_id"),
        secret_key: r.get("secret_key"),
        account_id: r.get("account_id"),
        enabled: r.get::<i64, _>("enabled") != 0,
        created_at: r.get("created_at"),
    }
}

fn platform(r: &SqliteRow) -> Platform {
    Platform {
        platform_id: r.get("platform_id"),
        account_id: r.get("account_id"),
        name: r.get("name"),
        expires_at: r.get("expires_at"),
        created_at: r.get("created_at"),
    }
}

fn team(r: &SqliteRow) -> Team {
    Team {
        team_id: r.get("team_id"),
        platform_id: r.get("platform_id"),
        name: r.get("name"),
        created_at: r.get("created_at"),
    }
}

pub(crate) fn listing(r: &SqliteRow) -> MiniProgramListing {
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

fn task(r: &SqliteRow) -> StoreResult<Task> {
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

/// A `%..%` LIKE pattern (with `ESCAPE '\\'`) matching `keyword` literally,
/// lowercased; None for no or an empty keyword.
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

/// A `versions` row (selected as `v.*` or `*`).
pub(crate) fn version_row(r: &SqliteRow) -> StoreResult<Version> {
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
    "SELECT coalesce((SELECT n FROM mini_program_counts WHERE platform_id = ?), 0) AS n";

const LISTING_SELECT: &str = "SELECT m.*, t.name AS team_name,
        o.mnp_version_id AS online_version_id, ov.version AS online_version
    FROM mini_programs m JOIN teams t ON t.team_id = m.team_id
    LEFT JOIN online_versions o ON o.mnp_id = m.mnp_id
    LEFT JOIN versions ov ON ov.mnp_version_id = o.mnp_version_id";

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_account(&self, name: &str, now: i64) -> StoreResult<Account> {
        let row = sqlx::query("INSERT INTO accounts (name, created_at) VALUES (?, ?) RETURNING *")
            .bind(name)
            .bind(now)
            .fetch_one(&self.write)
            .await
            .map_err(db_err)?;
        Ok(account(&row))
    }

    async fn get_account(&self, id: i64) -> StoreResult<Option<Account>> {
        self.lookups
            .account(id, async {
                let row = sqlx::query("SELECT * FROM accounts WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&self.read)
                    .await
                    .map_err(db_err)?;
                Ok(row.as_ref().map(account))
            })
            .await
    }

    async fn insert_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        sqlx::query("INSERT INTO api_keys (secret_id, secret_key, account_id, enabled, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(&key.secret_id)
            .bind(&key.secret_key)
            .bind(key.account_id)
            .bind(key.enabled as i64)
            .bind(key.created_at)
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn find_api_key(&self, secret_id: &str) -> StoreResult<Option<ApiKey>> {
        self.lookups
            .api_key(secret_id, async {
                let row = sqlx::query("SELECT * FROM api_keys WHERE secret_id = ?")
                    .bind(secret_id)
                    .fetch_optional(&self.read)
                    .await
                    .map_err(db_err)?;
                Ok(row.as_ref().map(api_key))
            })
            .await
    }

    async fn list_api_keys(&self, account_id: Option<i64>) -> StoreResult<Vec<ApiKey>> {
        let rows = sqlx::query(
            "SELECT * FROM api_keys WHERE (?1 IS NULL OR account_id = ?1) ORDER BY created_at, secret_id",
        )
        .bind(account_id)
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        Ok(rows.iter().map(api_key).collect())
    }

    async fn set_api_key_enabled(&self, secret_id: &str, enabled: bool) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE api_keys SET enabled = ? WHERE secret_id = ?")
            .bind(enabled as i64)
            .bind(secret_id)
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        self.lookups.forget_key(secret_id);
        Ok(done.rows_affected() > 0)
    }

    async fn insert_platform(&self, p: &Platform) -> StoreResult<()> {
        sqlx::query("INSERT INTO platforms (platform_id, account_id, name, expires_at, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(&p.platform_id)
            .bind(p.account_id)
            .bind(&p.name)
            .bind(p.expires_at)
            .bind(p.created_at)
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn get_platform(&self, platform_id: &str) -> StoreResult<Option<Platform>> {
        self.lookups
            .platform(platform_id, async {
                let row = sqlx::query("SELECT * FROM platforms WHERE platform_id = ?")
                    .bind(platform_id)
                    .fetch_optional(&self.read)
                    .await
                    .map_err(db_err)?;
                Ok(row.as_ref().map(platform))
            })
            .await
    }

    async fn list_platforms(&self, account_id: Option<i64>) -> StoreResult<Vec<Platform>> {
        let rows = sqlx::query(
            "SELECT * FROM platforms WHERE (?1 IS NULL OR account_id = ?1) ORDER BY created_at, platform_id",
        )
        .bind(account_id)
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        Ok(rows.iter().map(platform).collect())
    }

    async fn insert_team(&self, t: &Team) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO teams (team_id, platform_id, name, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&t.team_id)
        .bind(&t.platform_id)
        .bind(&t.name)
        .bind(t.created_at)
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn get_team(&self, team_id: &str) -> StoreResult<Option<Team>> {
        let row = sqlx::query("SELECT * FROM teams WHERE team_id = ?")
            .bind(team_id)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        Ok(row.as_ref().map(team))
    }

    async fn default_team(&self, platform_id: &str) -> StoreResult<Option<Team>> {
        let row = sqlx::query(
            "SELECT * FROM teams WHERE platform_id = ? ORDER BY created_at, team_id LIMIT 1",
        )
        .bind(platform_id)
        .fetch_optional(&self.read)
        .await
        .map_err(db_err)?;
        Ok(row.as_ref().map(team))
    }
}

#[async_trait]
impl MiniProgramStore for SqliteStore {
    async fn insert_mini_program(&self, mp: &MiniProgram) -> StoreResult<()> {
        let result = sqlx::query(
            "INSERT INTO mini_programs (mnp_id, platform_id, team_id, name, mnp_type, icon, intro, description, status, create_user, created_at, update_user, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&self.write)
        .await;
        match result.map_err(db_err) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(m)) if m.contains("mini_programs.name") => {
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
            "{LISTING_SELECT} WHERE m.platform_id = ? AND m.mnp_id = ?"
        ))
        .bind(platform_id)
        .bind(mnp_id)
        .fetch_optional(&self.read)
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
        let filter = "m.platform_id = ?1 AND (?2 IS NULL OR lower(m.name) LIKE ?2 ESCAPE '\\' OR m.mnp_id LIKE ?2 ESCAPE '\\') AND (?3 IS NULL OR m.team_id = ?3) AND (?6 IS NULL OR EXISTS (SELECT 1 FROM approval_items i JOIN approvals a ON a.approval_no = i.approval_no WHERE a.mnp_id = m.mnp_id AND i.application_id = ?6 AND i.status = 3))";
        let unfiltered = keyword.is_none() && team.is_none() && application.is_none();
        let total: i64 = if unfiltered {
            // Kept by triggers (migrations/sqlite/0005_scale.sql).
            sqlx::query(PLATFORM_COUNT)
                .bind(&q.platform_id)
                .fetch_one(&self.read)
                .await
        } else {
            sqlx::query(&format!(
                "SELECT count(*) AS n FROM mini_programs m WHERE {filter}"
            ))
            .bind(&q.platform_id)
            .bind(&keyword)
            .bind(team)
            .bind(None::<i64>)
            .bind(None::<i64>)
            .bind(application)
            .fetch_one(&self.read)
            .await
        }
        .map_err(db_err)?
        .get("n");
        let rows = sqlx::query(&format!(
            "{LISTING_SELECT} WHERE {filter} ORDER BY m.created_at DESC, m.mnp_id LIMIT ?4 OFFSET ?5"
        ))
        .bind(&q.platform_id)
        .bind(&keyword)
        .bind(team)
        .bind(q.limit)
        .bind(q.offset)
        .bind(application)
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        Ok((total, rows.iter().map(listing).collect()))
    }
}

#[async_trait]
impl VersionStore for SqliteStore {
    async fn find_reusable_task(
        &self,
        mnp_id: &str,
        version: &str,
        file_url: &str,
        intro: &str,
    ) -> StoreResult<Option<Task>> {
        let row = sqlx::query(
            "SELECT * FROM tasks WHERE mnp_id = ? AND mnp_version = ? AND file_url = ? AND intro = ? AND status <> 30 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(mnp_id)
        .bind(version)
        .bind(file_url)
        .bind(intro)
        .fetch_optional(&self.read)
        .await
        .map_err(db_err)?;
        row.as_ref().map(task).transpose()
    }

    async fn live_version_numbers(&self, mnp_id: &str) -> StoreResult<Vec<String>> {
        live_versions(&self.read, mnp_id).await
    }

    async fn insert_task_checked(
        &self,
        t: &Task,
        must_exceed: &(dyn for<'v> Fn(&'v [String]) -> Result<(), String> + Send + Sync),
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(db_err)?;
        let live = live_versions(&mut *tx, &t.mnp_id).await?;
        must_exceed(&live).map_err(StoreError::Conflict)?;
        let result = sqlx::query(
            "INSERT INTO tasks (task_id, platform_id, mnp_id, mnp_version, file_url, intro, sha256, size, status, msg, attempts, create_user, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
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
                let row = sqlx::query("SELECT * FROM tasks WHERE task_id = ?")
                    .bind(task_id)
                    .fetch_optional(&self.read)
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
        let row = sqlx::query(
            "UPDATE tasks SET status = 20, msg = 'Running', lease_owner = ?1, lease_until = ?2 + ?3,
                    attempts = attempts + 1, updated_at = ?2
             WHERE task_id = (
                SELECT task_id FROM tasks
                WHERE status = 1 OR (status = 20 AND (lease_until IS NULL OR lease_until < ?2))
                ORDER BY created_at, task_id LIMIT 1)
             RETURNING *",
        )
        .bind(owner)
        .bind(now)
        .bind(lease_secs)
        .fetch_optional(&self.write)
        .await
        .map_err(db_err)?;
        row.as_ref().map(task).transpose()
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
        let mut tx = self.write.begin().await.map_err(db_err)?;
        let held = sqlx::query(
            "SELECT 1 FROM tasks WHERE task_id = ? AND status = 20 AND lease_owner = ?",
        )
        .bind(task_id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if held.is_none() {
            return Ok(None);
        }
        let inserted = sqlx::query(
            "INSERT INTO versions (mnp_id, platform_id, version, intro, sha256, size, manifest, task_id, create_user, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING mnp_version_id",
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
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err);
        let id: i64 = match inserted {
            Ok(row) => row.get("mnp_version_id"),
            Err(StoreError::Conflict(_)) => {
                // The number was recorded meanwhile (only possible through
                // direct database edits): the task cannot succeed.
                sqlx::query("UPDATE tasks SET status = 30, msg = ?, lease_owner = NULL, updated_at = ? WHERE task_id = ?")
                    .bind(format!("version {} is already recorded for this mini program; create a greater version", v.version))
                    .bind(now)
                    .bind(task_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        sqlx::query(
            "UPDATE tasks SET status = 60, msg = 'Success', mnp_version_id = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE task_id = ?",
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
        let done = sqlx::query(
            "UPDATE tasks SET status = 30, msg = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?
             WHERE task_id = ? AND status = 20 AND lease_owner = ?",
        )
        .bind(msg)
        .bind(now)
        .bind(task_id)
        .bind(owner)
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn expire_all_leases(&self) -> StoreResult<u64> {
        let done = sqlx::query("UPDATE tasks SET lease_until = NULL WHERE status = 20")
            .execute(&self.write)
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
        .fetch_one(&self.read)
        .await
        .map_err(db_err)?;
        Ok(TaskBacklog {
            pending: row.get("pending"),
            running: row.get("running"),
        })
    }

    async fn get_version(&self, mnp_version_id: i64) -> StoreResult<Option<Version>> {
        let row = sqlx::query("SELECT * FROM versions WHERE mnp_version_id = ?")
            .bind(mnp_version_id)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        row.as_ref().map(version_row).transpose()
    }

    async fn latest_version(&self, mnp_id: &str) -> StoreResult<Option<Version>> {
        let row = sqlx::query(
            "SELECT * FROM versions WHERE mnp_id = ? ORDER BY mnp_version_id DESC LIMIT 1",
        )
        .bind(mnp_id)
        .fetch_optional(&self.read)
        .await
        .map_err(db_err)?;
        row.as_ref().map(version_row).transpose()
    }

    async fn referenced_blobs(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT sha256 FROM versions UNION SELECT sha256 FROM tasks WHERE status <> 30
             UNION SELECT sha256 FROM uploads ORDER BY 1",
        )
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        Ok(rows.iter().map(|r| r.get("sha256")).collect())
    }
}

async fn live_versions<'e, E>(executor: E, mnp_id: &str) -> StoreResult<Vec<String>>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    let rows = sqlx::query(
        "SELECT version FROM versions WHERE mnp_id = ?1
         UNION SELECT mnp_version FROM tasks WHERE mnp_id = ?1 AND status <> 30",
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

#[cfg(test)]
mod tests;
