//! What the domain needs from storage. Backends (SQLite, PostgreSQL, a
//! folder, S3) implement these; the domain never sees which.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::entity::*;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or state precondition did not hold.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backing service cannot be reached right now.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn create_account(&self, name: &str, now: i64) -> StoreResult<Account>;
    async fn get_account(&self, id: i64) -> StoreResult<Option<Account>>;
    /// Conflict when the SecretId exists.
    async fn insert_api_key(&self, key: &ApiKey) -> StoreResult<()>;
    async fn find_api_key(&self, secret_id: &str) -> StoreResult<Option<ApiKey>>;
    async fn list_api_keys(&self, account_id: Option<i64>) -> StoreResult<Vec<ApiKey>>;
    /// Returns false when no such key exists.
    async fn set_api_key_enabled(&self, secret_id: &str, enabled: bool) -> StoreResult<bool>;
    /// Conflict when the PlatformId exists.
    async fn insert_platform(&self, platform: &Platform) -> StoreResult<()>;
    async fn get_platform(&self, platform_id: &str) -> StoreResult<Option<Platform>>;
    async fn list_platforms(&self, account_id: Option<i64>) -> StoreResult<Vec<Platform>>;
    async fn insert_team(&self, team: &Team) -> StoreResult<()>;
    async fn get_team(&self, team_id: &str) -> StoreResult<Option<Team>>;
    /// The platform's oldest team, used when a request names none.
    async fn default_team(&self, platform_id: &str) -> StoreResult<Option<Team>>;
}

#[derive(Debug, Clone, Default)]
pub struct MiniProgramQuery {
    pub platform_id: String,
    /// Matches the name or the MNPId, case-insensitively, as a substring.
    pub keyword: Option<String>,
    pub team_id: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

#[async_trait]
pub trait MiniProgramStore: Send + Sync {
    /// Conflict when the name is taken on the platform (message: "name") or
    /// the id exists (message: "id").
    async fn insert_mini_program(&self, mp: &MiniProgram) -> StoreResult<()>;
    async fn get_mini_program(
        &self,
        platform_id: &str,
        mnp_id: &str,
    ) -> StoreResult<Option<MiniProgramListing>>;
    /// Total matching, and the requested page ordered newest first.
    async fn list_mini_programs(
        &self,
        query: &MiniProgramQuery,
    ) -> StoreResult<(i64, Vec<MiniProgramListing>)>;
}

#[async_trait]
pub trait VersionStore: Send + Sync {
    /// A task for exactly this request that has not failed, if any.
    async fn find_reusable_task(
        &self,
        mnp_id: &str,
        version: &str,
        file_url: &str,
        intro: &str,
    ) -> StoreResult<Option<Task>>;
    /// Version numbers of the mini program that count: recorded versions
    /// and tasks that have not failed.
    async fn live_version_numbers(&self, mnp_id: &str) -> StoreResult<Vec<String>>;
    /// Records a pending task in one transaction with a re-check of
    /// `live_version_numbers`: `must_exceed` is called with them and may
    /// refuse (its error is returned as Conflict). Conflict("task_id") when
    /// the TaskId exists.
    async fn insert_task_checked(
        &self,
        task: &Task,
        must_exceed: &(dyn for<'v> Fn(&'v [String]) -> Result<(), String> + Send + Sync),
    ) -> StoreResult<()>;
    async fn get_task(&self, task_id: &str) -> StoreResult<Option<Task>>;
    /// Claims the oldest pending task, or a running one whose lease has
    /// expired, for `owner` until `now + lease_secs`; the task comes back
    /// Running with `attempts` counted.
    async fn claim_task(&self, owner: &str, now: i64, lease_secs: i64)
        -> StoreResult<Option<Task>>;
    /// In one transaction: records the version and marks the task
    /// succeeded, only if `owner` still holds it. Returns the new
    /// MNPVersionId, or None when the lease was lost.
    async fn complete_task(
        &self,
        task_id: &str,
        owner: &str,
        version: &NewVersion,
        now: i64,
    ) -> StoreResult<Option<i64>>;
    /// Marks the task failed with `msg` if `owner` still holds it.
    async fn fail_task(&self, task_id: &str, owner: &str, msg: &str, now: i64)
        -> StoreResult<bool>;
    /// Expires every lease at once; only for a single-node store at start-up,
    /// when no other process can be running tasks.
    async fn expire_all_leases(&self) -> StoreResult<u64>;
    async fn get_version(&self, mnp_version_id: i64) -> StoreResult<Option<Version>>;
    /// Content hashes still needed by a version or a task that has not failed.
    async fn referenced_blobs(&self) -> StoreResult<Vec<String>>;
}

pub trait MetaStore: AccountStore + MiniProgramStore + VersionStore {}
impl<T: AccountStore + MiniProgramStore + VersionStore> MetaStore for T {}

/// A package as a local file, for validation; the guard removes a temporary
/// copy when dropped.
pub struct LocalBlob {
    pub path: PathBuf,
    pub guard: Option<tempfile::TempPath>,
}

/// Content-addressed package storage.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// A fresh path to download into, on storage from which `commit` is cheap.
    fn staging_path(&self) -> PathBuf;
    /// Makes the staged file the blob `sha256` (idempotent: content equal
    /// by construction); the staged file is consumed.
    async fn commit(&self, staged: &Path, sha256: &str) -> StoreResult<()>;
    async fn exists(&self, sha256: &str) -> StoreResult<bool>;
    async fn open_local(&self, sha256: &str) -> StoreResult<LocalBlob>;
    async fn delete(&self, sha256: &str) -> StoreResult<()>;
    async fn list(&self) -> StoreResult<Vec<String>>;
    /// Removes staged files older than `older_than_secs` (left by a crash).
    async fn clean_staging(&self, older_than_secs: u64) -> StoreResult<u64>;
}

/// Per key (account x action) admission; true when the request may go on.
pub trait RateLimiter: Send + Sync {
    fn admit(&self, key: &str) -> bool;
}
