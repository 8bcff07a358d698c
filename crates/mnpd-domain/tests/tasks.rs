//! TaskRunner on the real SQLite store: claims, leases, the end of a task
//! recorded once and only by the holder of its lease, interrupted tasks.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use mnpd_backend::FsBlobStore;
use mnpd_domain::entity::{Task, TaskStatus};
use mnpd_domain::store::{
    BlobStore, BlobStream, LocalBlob, StoreError, StoreResult, TaskStore, VersionStore,
};
use mnpd_domain::task::SUCCESS_MSG;
use tokio::sync::{watch, Semaphore};

/// A version of the test's mini program waiting for a worker; its TaskId.
async fn pending(env: &Env, version: &str, file: &str) -> String {
    env.create(version, file).await.unwrap()
}

/// The task, which must have failed (TaskStatus 30) without a version.
async fn failed(env: &Env, task_id: &str) -> Task {
    let task = env.task(task_id).await;
    assert_eq!(task.status, TaskStatus::Failed, "{task:?}");
    assert_eq!(task.status.code(), 30);
    assert_eq!(task.mnp_version_id, None);
    assert_eq!(env.latest_version_id().await, None);
    task
}

#[tokio::test]
async fn a_runner_validates_the_package_and_records_the_version() {
    let env = Env::new().await;
    let task_id = pending(&env, "1.0.0", "good.zip").await;
    env.clock.advance(3);
    assert!(env.run_once("w").await);
    let task = env.task(&task_id).await;
    assert_eq!(task.status, TaskStatus::Succeeded);
    assert_eq!(task.status.code(), 60);
    assert_eq!(task.msg, SUCCESS_MSG);
    assert_eq!(task.attempts, 1);
    let id = task.mnp_version_id.expect("the version is named");
    let version = env.store.get_version(id).await.unwrap().unwrap();
    assert_eq!(version.new.version, "1.0.0");
    assert_eq!(version.new.task_id, task_id);
    assert_eq!(version.new.sha256, task.sha256);
    assert_eq!(version.new.created_at, START + 3);
    assert_eq!(
        version.new.manifest.entry_page.as_deref(),
        Some("pages/index/index")
    );
    assert_eq!(version.new.manifest.pages, ["pages/index/index"]);
    assert_eq!(env.latest_version_id().await, Some(id));
    assert!(
        !env.run_once("w").await,
        "a finished task is not claimed again"
    );
}

#[tokio::test]
async fn an_invalid_package_fails_its_task_with_the_reason() {
    let env = Env::new().await;
    let task_id = pending(&env, "1.0.0", "bad.zip").await;
    assert!(env.run_once("w").await);
    let task = failed(&env, &task_id).await;
    assert!(
        task.msg.starts_with("the package is invalid"),
        "{}",
        task.msg
    );
    assert!(task.msg.contains("pages/gone/gone"), "{}", task.msg);
}

#[tokio::test]
async fn a_lost_package_fails_its_task() {
    let env = Env::new().await;
    let task_id = pending(&env, "1.0.0", "good.zip").await;
    let sha256 = env.task(&task_id).await.sha256;
    env.blobs.delete(&sha256).await.unwrap();
    assert!(env.run_once("w").await);
    let task = failed(&env, &task_id).await;
    assert!(task.msg.contains("could not be read"), "{}", task.msg);
}

#[tokio::test]
async fn a_held_lease_keeps_other_workers_off() {
    let env = Env::new().await;
    let task_id = pending(&env, "1.0.0", "good.zip").await;
    let claimed = env.claim("a").await.expect("the pending task is claimed");
    assert_eq!(claimed.task_id, task_id);
    assert_eq!(claimed.status, TaskStatus::Running);
    // Up to the last second of the lease, nobody else gets it.
    env.clock.advance(LEASE_SECS);
    assert!(!env.run_once("b").await);
    let task = env.task(&task_id).await;
    assert_eq!(task.status, TaskStatus::Running);
    assert_eq!(task.attempts, 1);
}

/// Two runners let go at once on one task: one does the work.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_task_is_run_by_one_of_two_racing_runners() {
    let env = Env::new().await;
    let task_id = pending(&env, "1.0.0", "good.zip").await;
    let ran = race(2, |i| {
        let runner = env.runner(&format!("racer-{i}"));
        async move { runner.run_once().await.unwrap() }
    })
    .await;
    assert_eq!(
        ran.iter().filter(|r| **r).count(),
        1,
        "exactly one runner had a task: {ran:?}"
    );
    let task = env.task(&task_id).await;
    assert_eq!(task.status, TaskStatus::Succeeded);
    assert_eq!(task.attempts, 1);
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_the_old_holder_cannot_finish() {
    let env = Env::new().await;
    let task_id = pending(&env, "1.0.0", "good.zip").await;
    env.claim("a").await.unwrap();
    env.clock.advance(LEASE_SECS + 1);
    assert!(env.run_once("b").await);
    let task = env.task(&task_id).await;
    assert_eq!(task.status, TaskStatus::Succeeded);
    assert_eq!(task.attempts, 2);
    let id = task.mnp_version_id.unwrap();
    // Worker a comes back: its lease is gone, so it can neither complete
    // nor fail the task.
    let version = env.store.get_version(id).await.unwrap().unwrap().new;
    let now = env.clock.unix();
    assert_eq!(
        env.store
            .complete_task(&task_id, "a", &version, now)
            .await
            .unwrap(),
        None
    );
    assert!(!env
        .store
        .fail_task(&task_id, "a", "stale worker", now)
        .await
        .unwrap());
    assert_eq!(env.task(&task_id).await, task, "the task is unchanged");
    assert!(env.store.get_version(id + 1).await.unwrap().is_none());
}

/// The real blob store, except that `open_local` waits for the test to let
/// it go (after telling it it has started), then reads the blob or fails.
struct HeldBlobs {
    inner: FsBlobStore,
    started: Semaphore,
    go: Semaphore,
    fail: bool,
}

impl HeldBlobs {
    fn new(dir: &Path, fail: bool) -> Arc<Self> {
        Arc::new(HeldBlobs {
            inner: FsBlobStore::open(dir).unwrap(),
            started: Semaphore::new(0),
            go: Semaphore::new(0),
            fail,
        })
    }

    async fn wait_started(&self) {
        tokio::time::timeout(Duration::from_secs(5), self.started.acquire())
            .await
            .expect("the runner reaches the package")
            .unwrap()
            .forget();
    }
}

#[async_trait]
impl BlobStore for HeldBlobs {
    fn staging_path(&self) -> PathBuf {
        self.inner.staging_path()
    }
    fn object_key(&self, sha256: &str) -> StoreResult<Option<String>> {
        self.inner.object_key(sha256)
    }
    async fn presigned_get(&self, sha256: &str, ttl: Duration) -> StoreResult<Option<String>> {
        self.inner.presigned_get(sha256, ttl).await
    }
    async fn commit(&self, staged: &Path, sha256: &str) -> StoreResult<()> {
        self.inner.commit(staged, sha256).await
    }
    async fn exists(&self, sha256: &str) -> StoreResult<bool> {
        self.inner.exists(sha256).await
    }
    async fn open_local(&self, sha256: &str) -> StoreResult<LocalBlob> {
        self.started.add_permits(1);
        self.go.acquire().await.unwrap().forget();
        if self.fail {
            return Err(StoreError::Other("the disk went away".into()));
        }
        self.inner.open_local(sha256).await
    }
    async fn delete(&self, sha256: &str) -> StoreResult<()> {
        self.inner.delete(sha256).await
    }
    async fn list(&self) -> StoreResult<Vec<String>> {
        self.inner.list().await
    }
    async fn clean_staging(&self, older_than_secs: u64) -> StoreResult<u64> {
        self.inner.clean_staging(older_than_secs).await
    }
    async fn read(&self, sha256: &str, range: Option<(u64, u64)>) -> StoreResult<BlobStream> {
        self.inner.read(sha256, range).await
    }
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
}

/// Runner a claims the task and stalls past its lease; runner b takes it
/// over and records the version; then a wakes up and tries to end it.
async fn stalled_runner_loses_the_task(a_fails: bool) {
    let env = Env::new().await;
    let task_id = pending(&env, "1.0.0", "good.zip").await;
    let held = HeldBlobs::new(env.dir.path(), a_fails);
    let a = env.runner_on("a", held.clone());
    let a_run = tokio::spawn(async move { a.run_once().await });
    held.wait_started().await;
    assert_eq!(env.task(&task_id).await.status, TaskStatus::Running);

    env.clock.advance(LEASE_SECS + 1);
    assert!(env.run_once("b").await);
    let done = env.task(&task_id).await;
    assert_eq!(done.status, TaskStatus::Succeeded);
    assert_eq!(done.attempts, 2);
    let id = done.mnp_version_id.unwrap();

    held.go.add_permits(1);
    assert!(a_run.await.unwrap().unwrap(), "a had a task in hand");
    assert_eq!(
        env.task(&task_id).await,
        done,
        "b's outcome stands: a could not end the task it lost"
    );
    assert!(
        env.store.get_version(id + 1).await.unwrap().is_none(),
        "a recorded no second version"
    );
    assert_eq!(env.latest_version_id().await, Some(id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_whose_lease_was_taken_over_cannot_complete_the_task() {
    stalled_runner_loses_the_task(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_whose_lease_was_taken_over_cannot_fail_the_task() {
    stalled_runner_loses_the_task(true).await;
}

/// A task claimed `interruptions` times by workers that died with it.
async fn interrupted(env: &Env, interruptions: usize) -> String {
    let task_id = pending(env, "1.0.0", "good.zip").await;
    for i in 0..interruptions {
        let claimed = env
            .claim(&format!("crashed-{i}"))
            .await
            .expect("the task is claimable again");
        assert_eq!(claimed.task_id, task_id);
        env.clock.advance(LEASE_SECS + 1);
    }
    task_id
}

#[tokio::test]
async fn a_task_interrupted_three_times_ends_failed() {
    let env = Env::new().await;
    let task_id = interrupted(&env, 3).await;
    assert!(env.run_once("survivor").await);
    let task = failed(&env, &task_id).await;
    assert!(
        task.msg.contains("stopped 3 times"),
        "the message says why: {}",
        task.msg
    );
    assert!(!env.run_once("survivor").await);
}

#[tokio::test]
async fn a_task_interrupted_twice_still_succeeds() {
    let env = Env::new().await;
    let task_id = interrupted(&env, 2).await;
    assert!(env.run_once("survivor").await);
    let task = env.task(&task_id).await;
    assert_eq!(task.status, TaskStatus::Succeeded, "{}", task.msg);
    assert_eq!(task.attempts, 3);
}

#[tokio::test]
async fn after_a_restart_every_lease_is_free_at_once() {
    let env = Env::new().await;
    let task_id = pending(&env, "1.0.0", "good.zip").await;
    env.claim("previous-process").await.unwrap();
    assert_eq!(env.store.expire_all_leases().await.unwrap(), 1);
    assert!(env.run_once("next-process").await);
    assert_eq!(env.task(&task_id).await.status, TaskStatus::Succeeded);
}

/// The worker loop wakes on the notification Versions::create sends, long
/// before its poll, and stops when told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_worker_is_woken_by_a_new_task_and_stops_when_told() {
    let env = Env::new().await;
    let mut settings = env.settings("loop");
    settings.poll = Duration::from_secs(3600);
    let runner = Arc::new(mnpd_domain::task::TaskRunner::new(
        env.store.clone(),
        env.blobs.clone(),
        env.clock.clone(),
        settings,
    ));
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(runner.run(env.work.clone(), stopped));
    // Let it find nothing and go idle.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let task_id = pending(&env, "1.0.0", "good.zip").await;
    let finished = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let task = env.task(&task_id).await;
            if task.status.is_terminal() {
                return task;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the idle worker was woken");
    assert_eq!(finished.status, TaskStatus::Succeeded);
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), worker)
        .await
        .expect("the worker stops")
        .unwrap();
}

/// Manual task pacing (the emulator's): a held task stays Running past its
/// lease, because its holder renews it, until the test advances it.
#[tokio::test]
async fn a_held_task_waits_for_its_advance_and_keeps_its_lease() {
    use mnpd_domain::task_pacing::{Advance, TaskMode, TaskPacing};
    let env = Env::new().await;
    let pacing = Arc::new(TaskPacing::new(env.store.clone(), env.work.clone()));
    pacing.set_mode(env.caller.account_id, TaskMode::Manual);
    let runner = env.runner("holder").with_pacing(pacing.clone());
    let task_id = pending(&env, "1.0.0", "good.zip").await;
    assert!(runner.run_once().await.unwrap(), "claimed and held");
    assert_eq!(pacing.held(env.caller.account_id).len(), 1);
    assert!(pacing.held(env.caller.account_id + 1).is_empty());
    // Past the first lease: the holder renewed it, nobody else claims it.
    env.clock.advance(LEASE_SECS / 2);
    assert!(!runner.run_once().await.unwrap());
    env.clock.advance(LEASE_SECS);
    assert!(!env.run_once("other").await);
    assert_eq!(env.task(&task_id).await.status, TaskStatus::Running);
    // Another account cannot advance it.
    assert!(pacing
        .advance(
            env.caller.account_id + 1,
            &task_id,
            Advance::Run,
            Duration::ZERO
        )
        .await
        .is_none());
    let ended = pacing
        .advance(
            env.caller.account_id,
            &task_id,
            Advance::Run,
            Duration::ZERO,
        )
        .await
        .expect("held");
    assert!(runner.run_once().await.unwrap());
    assert_eq!(
        ended.await.unwrap(),
        (TaskStatus::Succeeded, SUCCESS_MSG.to_string())
    );
    let task = env.task(&task_id).await;
    assert_eq!((task.status, task.attempts), (TaskStatus::Succeeded, 1));
    assert!(task.mnp_version_id.is_some());
}

#[tokio::test]
async fn a_compile_task_is_measured_and_its_progress_kept() {
    let env = Env::new().await;
    let versions = env.versions();
    let task_id = versions
        .create_compile(&env.caller, env.request("1.0.0", "good.zip"))
        .await
        .unwrap();
    // The same request answers the same task; CreateMNPVersion's does not
    // share it, and the number is taken.
    assert_eq!(
        versions
            .create_compile(&env.caller, env.request("1.0.0", "good.zip"))
            .await
            .unwrap(),
        task_id
    );
    assert!(env.create("1.0.0", "good.zip").await.is_err());
    let queued = env.task(&task_id).await;
    let stages = |t: &Task| -> Vec<String> {
        t.compile
            .as_ref()
            .unwrap()
            .events
            .iter()
            .map(|e| e.stage.clone())
            .collect()
    };
    assert_eq!(stages(&queued), ["queued"]);
    assert!(env.run_once("w").await);
    let task = env.task(&task_id).await;
    assert_eq!(task.status, TaskStatus::Succeeded, "{task:?}");
    assert_eq!(
        stages(&task),
        ["queued", "running", "validated", "measured"]
    );
    let sizes = task.compile.as_ref().unwrap().sizes.clone().unwrap();
    let package_bytes = [
        r#"{"pages":["pages/index/index"]}"#,
        "App({})",
        "Page({})",
        "<view/>",
    ]
    .iter()
    .map(|f| f.len() as u64)
    .sum::<u64>();
    assert_eq!((sizes.total, sizes.main), (package_bytes, package_bytes));
    assert!(sizes.subpackages.is_empty());
    assert_eq!(sizes.entry_page.as_deref(), Some("pages/index/index"));
    assert!(task.mnp_version_id.is_some());
    assert!(versions
        .compile_task(&env.caller, &env.platform_id, &task_id)
        .await
        .is_ok());
    // A CreateMNPVersion task is not a compile task.
    let plain = env.create("1.0.1", "good.zip").await.unwrap();
    assert!(versions
        .compile_task(&env.caller, &env.platform_id, &plain)
        .await
        .is_err());
}
