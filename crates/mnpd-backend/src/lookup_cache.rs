//! In-memory memo of the rows every API request reads before its handler
//! runs: the caller's API key, its account and the platform it names.
//!
//! Without it each request pays three metadata round trips before doing
//! its own work; on SQLite each one is a hand-off to a connection thread
//! and back, which profiling showed to be most of a request's cost.
//!
//! Accounts and platforms are never updated or deleted, so a remembered row
//! is never wrong; they are kept for a minute only to bound memory. API keys
//! can be disabled, possibly by another process (`mnpd admin key disable`)
//! or another node, so an enabled key is remembered for a short time only
//! (`key_ttl`, one second by default): that is how long a disabled key may
//! still be accepted. Misses are never remembered, so a key or platform
//! created anywhere works at once.
//!
//! A task that has finished (failed or succeeded) never changes again, so
//! clients polling it after the end (CI scripts, the console) are answered
//! from memory for ten seconds; a pending or running task is always read.
//! Only deleting its mini program removes a finished task: the deleting
//! process forgets it at once, other nodes within those ten seconds.

use std::future::Future;
use std::time::Duration;

use mnpd_domain::entity::{Account, ApiKey, Platform, Task};
use mnpd_domain::store::StoreResult;
use moka::sync::Cache;

/// How long an enabled API key is trusted without reading it again.
pub const DEFAULT_KEY_TTL: Duration = Duration::from_secs(1);

const STABLE_ROW_TTL: Duration = Duration::from_secs(60);
const FINISHED_TASK_TTL: Duration = Duration::from_secs(10);
const CAPACITY: u64 = 10_000;

#[derive(Clone)]
pub(crate) struct LookupCache {
    keys: Option<Cache<String, ApiKey>>,
    accounts: Cache<i64, Account>,
    platforms: Cache<String, Platform>,
    finished_tasks: Cache<String, Task>,
}

impl LookupCache {
    /// `key_ttl` zero reads every key from the database on every request.
    pub(crate) fn new(key_ttl: Duration) -> Self {
        LookupCache {
            keys: (!key_ttl.is_zero()).then(|| {
                Cache::builder()
                    .max_capacity(CAPACITY)
                    .time_to_live(key_ttl)
                    .build()
            }),
            accounts: stable_rows(),
            platforms: stable_rows(),
            finished_tasks: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(FINISHED_TASK_TTL)
                .support_invalidation_closures()
                .build(),
        }
    }

    pub(crate) async fn api_key<F>(&self, secret_id: &str, read: F) -> StoreResult<Option<ApiKey>>
    where
        F: Future<Output = StoreResult<Option<ApiKey>>>,
    {
        let Some(keys) = &self.keys else {
            return read.await;
        };
        if let Some(key) = keys.get(secret_id) {
            return Ok(Some(key));
        }
        let found = read.await?;
        if let Some(key) = found.as_ref().filter(|k| k.enabled) {
            keys.insert(secret_id.to_string(), key.clone());
        }
        Ok(found)
    }

    /// Forgets a key whose state this process just changed.
    pub(crate) fn forget_key(&self, secret_id: &str) {
        if let Some(keys) = &self.keys {
            keys.invalidate(secret_id);
        }
    }

    pub(crate) async fn account<F>(&self, id: i64, read: F) -> StoreResult<Option<Account>>
    where
        F: Future<Output = StoreResult<Option<Account>>>,
    {
        if let Some(account) = self.accounts.get(&id) {
            return Ok(Some(account));
        }
        let found = read.await?;
        if let Some(account) = &found {
            self.accounts.insert(id, account.clone());
        }
        Ok(found)
    }

    pub(crate) async fn platform<F>(
        &self,
        platform_id: &str,
        read: F,
    ) -> StoreResult<Option<Platform>>
    where
        F: Future<Output = StoreResult<Option<Platform>>>,
    {
        if let Some(platform) = self.platforms.get(platform_id) {
            return Ok(Some(platform));
        }
        let found = read.await?;
        if let Some(platform) = &found {
            self.platforms
                .insert(platform_id.to_string(), platform.clone());
        }
        Ok(found)
    }
}

impl LookupCache {
    pub(crate) async fn task<F>(&self, task_id: &str, read: F) -> StoreResult<Option<Task>>
    where
        F: Future<Output = StoreResult<Option<Task>>>,
    {
        if let Some(task) = self.finished_tasks.get(task_id) {
            return Ok(Some(task));
        }
        let found = read.await?;
        if let Some(task) = found.as_ref().filter(|t| t.status.is_terminal()) {
            self.finished_tasks
                .insert(task_id.to_string(), task.clone());
        }
        Ok(found)
    }

    /// Forgets the tasks of a mini program this process just deleted.
    /// Forgets the finished tasks of every mini program of a platform (an
    /// emulator reset deleted them).
    pub(crate) fn forget_tasks_of_platform(&self, platform_id: &str) {
        let platform_id = platform_id.to_string();
        // Only fails when closures are not enabled, which they are.
        let _ = self
            .finished_tasks
            .invalidate_entries_if(move |_, task| task.platform_id == platform_id);
    }

    pub(crate) fn forget_tasks_of(&self, mnp_id: &str) {
        let mnp_id = mnp_id.to_string();
        // Only fails when closures are not enabled, which they are.
        let _ = self
            .finished_tasks
            .invalidate_entries_if(move |_, task| task.mnp_id == mnp_id);
    }
}

fn stable_rows<K, V>() -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(CAPACITY)
        .time_to_live(STABLE_ROW_TTL)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mnpd_domain::entity::TaskStatus;

    fn key(enabled: bool) -> ApiKey {
        ApiKey {
            secret_id: "AKIDx".into(),
            secret_key: "s".into(),
            account_id: 1,
            enabled,
            created_at: 0,
        }
    }

    #[tokio::test]
    async fn an_enabled_key_is_read_once_until_forgotten() {
        let cache = LookupCache::new(Duration::from_secs(60));
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let read = || async {
            reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(Some(key(true)))
        };
        for _ in 0..3 {
            assert!(cache.api_key("AKIDx", read()).await.unwrap().is_some());
        }
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 1);
        cache.forget_key("AKIDx");
        cache.api_key("AKIDx", read()).await.unwrap();
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn disabled_and_missing_keys_are_read_every_time() {
        let cache = LookupCache::new(Duration::from_secs(60));
        let reads = std::sync::atomic::AtomicUsize::new(0);
        for found in [None, Some(key(false)), None] {
            let got = cache
                .api_key("AKIDx", async {
                    reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Ok(found.clone())
                })
                .await
                .unwrap();
            assert_eq!(got.map(|k| k.enabled), found.map(|k| k.enabled));
        }
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_key_expires_after_its_ttl() {
        let cache = LookupCache::new(Duration::from_millis(50));
        cache
            .api_key("AKIDx", async { Ok(Some(key(true))) })
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        let got = cache
            .api_key("AKIDx", async { Ok(Some(key(false))) })
            .await
            .unwrap();
        assert_eq!(got.map(|k| k.enabled), Some(false));
    }

    fn task_of(task_id: &str, mnp_id: &str, status: TaskStatus) -> Task {
        Task {
            task_id: task_id.into(),
            platform_id: "TP".into(),
            mnp_id: mnp_id.into(),
            mnp_version: "1.0.0".into(),
            file_url: "http://h/p.zip".into(),
            intro: String::new(),
            sha256: "a".repeat(64),
            size: 1,
            status,
            msg: String::new(),
            attempts: 1,
            mnp_version_id: None,
            create_user: mnpd_domain::entity::Actor::ApiKey {
                secret_id: "AKIDu".into(),
            },
            created_at: 0,
            updated_at: 0,
            compile: None,
        }
    }

    #[tokio::test]
    async fn deleting_a_mini_program_forgets_its_finished_tasks() {
        let task = |mnp_id: &str, status| task_of(&format!("T-{mnp_id}"), mnp_id, status);
        let cache = LookupCache::new(DEFAULT_KEY_TTL);
        for (mnp, status) in [("mpA", TaskStatus::Succeeded), ("mpB", TaskStatus::Failed)] {
            let t = task(mnp, status);
            cache
                .task(&t.task_id, async { Ok(Some(t.clone())) })
                .await
                .unwrap();
        }
        cache.forget_tasks_of("mpA");
        let again = |id: &'static str| cache.task(id, async { Ok(None) });
        assert_eq!(again("T-mpA").await.unwrap(), None, "forgotten");
        assert!(again("T-mpB").await.unwrap().is_some(), "kept");
    }

    #[tokio::test]
    async fn running_tasks_are_read_every_time() {
        let cache = LookupCache::new(DEFAULT_KEY_TTL);
        let running = task_of("T1", "mpA", TaskStatus::Running);
        cache
            .task("T1", async { Ok(Some(running.clone())) })
            .await
            .unwrap();
        assert_eq!(cache.task("T1", async { Ok(None) }).await.unwrap(), None);
    }

    #[tokio::test]
    async fn zero_ttl_reads_keys_every_time() {
        let cache = LookupCache::new(Duration::ZERO);
        cache
            .api_key("AKIDx", async { Ok(Some(key(true))) })
            .await
            .unwrap();
        let got = cache
            .api_key("AKIDx", async { Ok(Some(key(false))) })
            .await
            .unwrap();
        assert_eq!(got.map(|k| k.enabled), Some(false));
    }
}
