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
use sha2::Digest;
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

#[tokio::test]
async fn content_pinned_by_a_request_in_flight_is_kept() {
    let env = Env::new().await;
    let task_id = env.create("1.0.0", "bad.zip").await.unwrap();
    let sha256 = env.task(&task_id).await.sha256;
    assert!(env.run_once("w").await);
    // Another request has pinned the same content and not yet recorded
    // its task: the sweep keeps the package.
    let pin = env
        .store
        .pin_package(&sha256, env.clock.unix())
        .await
        .unwrap();
    assert_eq!(collector(&env).collect().await.unwrap(), 0);
    assert!(env.blobs.exists(&sha256).await.unwrap());
    // A pin lapses after an hour (its request died).
    env.store.unpin_package(pin).await.unwrap();
    env.store
        .pin_package(&sha256, env.clock.unix() - 3601)
        .await
        .unwrap();
    let again = env.create("1.0.1", "bad-again.zip").await.unwrap();
    assert!(env.run_once("w").await);
    assert_eq!(env.task(&again).await.status, TaskStatus::Failed);
    assert_eq!(collector(&env).collect().await.unwrap(), 1);
    assert!(!env.blobs.exists(&sha256).await.unwrap());
}

#[tokio::test]
async fn a_request_waits_out_a_sweep_deleting_its_content_then_stores_it() {
    let env = Env::new().await;
    let sha256 = hex::encode(sha2::Sha256::digest(good_package()));
    // A sweep on another node has said it is deleting this content, and
    // deletes it 300 ms later: after the request has committed the package
    // and recorded its task.
    let deletion = env
        .store
        .begin_package_deletion(&sha256, env.clock.unix())
        .await
        .unwrap();
    let sweep = {
        let (store, blobs, sha256) = (env.store.clone(), env.blobs.clone(), sha256.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            blobs.delete(&sha256).await.unwrap();
            store.end_package_deletion(deletion, 0).await.unwrap();
        })
    };
    let started = std::time::Instant::now();
    let task_id = env.create("1.0.0", "good.zip").await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    sweep.await.unwrap();
    assert_eq!(env.task(&task_id).await.sha256, sha256);
    assert!(
        env.blobs.exists(&sha256).await.unwrap(),
        "the package of a recorded task must be stored"
    );
}
