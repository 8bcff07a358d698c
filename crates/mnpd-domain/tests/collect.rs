//! The packages of failed tasks: deleted once the task failed, unless
//! something else still names the same content; the runner wakes the
//! collector when it fails a task.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use mnpd_domain::collect::FailedPackages;
use mnpd_domain::entity::TaskStatus;
use mnpd_domain::store::{BlobStore, TaskStore};
use tokio::sync::Notify;

fn collector(env: &Env) -> FailedPackages {
    FailedPackages::new(env.store.clone(), env.blobs.clone(), env.clock.clone())
}

#[tokio::test]
async fn a_failed_tasks_package_is_deleted_once() {
    let env = Env::new().await;
    let task_id = env.create("1.0.0", "bad.zip").await.unwrap();
    let sha256 = env.task(&task_id).await.sha256;
    assert!(env.blobs.exists(&sha256).await.unwrap());
    // Not yet failed: nothing to collect.
    assert_eq!(collector(&env).collect().await.unwrap(), 0);
    assert!(env.blobs.exists(&sha256).await.unwrap());

    assert!(env.run_once("w").await);
    assert_eq!(env.task(&task_id).await.status, TaskStatus::Failed);
    assert_eq!(collector(&env).collect().await.unwrap(), 1);
    assert!(!env.blobs.exists(&sha256).await.unwrap());
    assert!(env
        .store
        .failed_tasks_to_collect(10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(collector(&env).collect().await.unwrap(), 0);
}

#[tokio::test]
async fn a_package_a_version_uses_is_kept() {
    let env = Env::new().await;
    let recorded = env.create("1.0.0", "good.zip").await.unwrap();
    assert!(env.run_once("w").await);
    let sha256 = env.task(&recorded).await.sha256;
    // The same content under another URL, failed for another reason than
    // its content (its worker gave up).
    let task_id = env.create("1.0.1", "good-again.zip").await.unwrap();
    assert_eq!(env.task(&task_id).await.sha256, sha256);
    let claimed = env.claim("w").await.unwrap();
    assert!(env
        .store
        .fail_task(&claimed.task_id, "w", "gave up", env.clock.unix())
        .await
        .unwrap());

    assert_eq!(collector(&env).collect().await.unwrap(), 0);
    assert!(env.blobs.exists(&sha256).await.unwrap());
    // Looked at once: not handed out again.
    assert!(env
        .store
        .failed_tasks_to_collect(10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn the_runner_wakes_the_collector_when_it_fails_a_task() {
    let env = Env::new().await;
    let failures = Arc::new(Notify::new());
    let runner = env.runner("w").with_failures(failures.clone());
    env.create("1.0.0", "good.zip").await.unwrap();
    assert!(runner.run_once().await.unwrap());
    let woken = tokio::time::timeout(Duration::from_millis(50), failures.notified()).await;
    assert!(woken.is_err(), "a success wakes nobody");

    env.create("1.0.1", "bad.zip").await.unwrap();
    assert!(runner.run_once().await.unwrap());
    let woken = tokio::time::timeout(Duration::from_secs(1), failures.notified()).await;
    assert!(woken.is_ok(), "a failure wakes the collector");
}

/// Blob storage whose first commit is followed at once by a delete of the
/// same content: a sweep landing between a request's commit and the
/// record of its task.
struct SweptAfterCommit {
    inner: Arc<dyn BlobStore>,
    swept: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl BlobStore for SweptAfterCommit {
    fn staging_path(&self) -> std::path::PathBuf {
        self.inner.staging_path()
    }
    async fn commit(
        &self,
        staged: &std::path::Path,
        sha256: &str,
    ) -> mnpd_domain::store::StoreResult<()> {
        self.inner.commit(staged, sha256).await?;
        if !self.swept.swap(true, std::sync::atomic::Ordering::SeqCst) {
            self.inner.delete(sha256).await?;
        }
        Ok(())
    }
    async fn exists(&self, sha256: &str) -> mnpd_domain::store::StoreResult<bool> {
        self.inner.exists(sha256).await
    }
    async fn open_local(
        &self,
        sha256: &str,
    ) -> mnpd_domain::store::StoreResult<mnpd_domain::store::LocalBlob> {
        self.inner.open_local(sha256).await
    }
    async fn delete(&self, sha256: &str) -> mnpd_domain::store::StoreResult<()> {
        self.inner.delete(sha256).await
    }
    async fn list(&self) -> mnpd_domain::store::StoreResult<Vec<String>> {
        self.inner.list().await
    }
    async fn clean_staging(&self, older_than_secs: u64) -> mnpd_domain::store::StoreResult<u64> {
        self.inner.clean_staging(older_than_secs).await
    }
    async fn read(
        &self,
        sha256: &str,
        range: Option<(u64, u64)>,
    ) -> mnpd_domain::store::StoreResult<mnpd_domain::store::BlobStream> {
        self.inner.read(sha256, range).await
    }
    async fn ping(&self) -> mnpd_domain::store::StoreResult<()> {
        self.inner.ping().await
    }
}

#[tokio::test]
async fn a_package_collected_before_its_task_is_recorded_is_stored_again() {
    let env = Env::new().await;
    let swept: Arc<dyn BlobStore> = Arc::new(SweptAfterCommit {
        inner: env.blobs.clone(),
        swept: Default::default(),
    });
    let task_id = env
        .versions_on(swept)
        .create(&env.caller, env.request("1.0.0", "good.zip"))
        .await
        .unwrap();
    let sha256 = env.task(&task_id).await.sha256;
    assert!(
        env.blobs.exists(&sha256).await.unwrap(),
        "the package of a recorded task must be stored"
    );
    assert!(env.run_once("w").await);
    assert_eq!(env.task(&task_id).await.status, TaskStatus::Succeeded);
    let staging: Vec<_> = std::fs::read_dir(env.dir.path().join("tmp"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(staging.is_empty(), "staging files left: {staging:?}");
}
