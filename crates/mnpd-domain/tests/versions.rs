//! Versions::create and Versions::task (CreateMNPVersion,
//! DescribeMNPVersion) on the real SQLite store, packages fetched from a
//! loopback file server.

mod common;

use std::sync::Arc;

use common::*;
use mnpd_domain::admin::Admin;
use mnpd_domain::entity::TaskStatus;
use mnpd_domain::store::BlobStore;
use mnpd_domain::DomainError;

#[tokio::test]
async fn a_version_is_recorded_as_a_pending_task_with_its_package_stored() {
    let env = Env::new().await;
    let task_id = env.create("1.0.0", "good.zip").await.unwrap();
    assert_eq!(task_id.len(), 19);
    assert!(task_id.starts_with("20250101000000"), "{task_id}");
    let task = env.task(&task_id).await;
    assert_eq!(task.status, TaskStatus::Pending);
    assert_eq!(task.mnp_version, "1.0.0");
    assert_eq!(task.create_user, env.caller.actor);
    assert_eq!(task.size, good_package().len() as i64);
    assert!(
        env.blobs.exists(&task.sha256).await.unwrap(),
        "the package is stored before the task is recorded"
    );
    assert_eq!(env.live_numbers().await, ["1.0.0"]);
}

#[tokio::test]
async fn versions_must_increase() {
    let env = Env::new().await;
    let versions = env.versions();
    env.create("1.0.1", "good.zip").await.unwrap();
    // The pending task counts as much as a recorded version.
    let lower = assert_refused!(
        env.create("1.0.0", "good.zip").await,
        DomainError::InvalidMnpVersion(_)
    );
    assert!(lower.to_string().contains("1.0.1"), "{lower}");
    let mut equal = env.request("1.0.1", "good.zip");
    equal.intro = "the same number, another request".into();
    assert_refused!(
        versions.create(&env.caller, equal).await,
        DomainError::InvalidMnpVersion(_)
    );
    // Numbers compare as numbers, not as text.
    env.create("1.0.10", "good.zip").await.unwrap();
    assert_refused!(
        env.create("1.0.9", "good.zip").await,
        DomainError::InvalidMnpVersion(_)
    );
    // And still after the tasks have recorded their versions.
    while env.run_once("w").await {}
    assert_refused!(
        env.create("1.0.2", "other.zip").await,
        DomainError::InvalidMnpVersion(_)
    );
    env.create("1.1.0", "good.zip").await.unwrap();
}

#[tokio::test]
async fn other_mini_programs_have_their_own_numbers() {
    let env = Env::new().await;
    let versions = env.versions();
    env.create("2.0.0", "good.zip").await.unwrap();
    let mut other = env.request("1.0.0", "good.zip");
    other.mnp_id = env.mini_program("Another one").await;
    versions.create(&env.caller, other).await.unwrap();
}

#[tokio::test]
async fn an_identical_repeat_answers_the_same_task() {
    let env = Env::new().await;
    let first = env.create("1.0.0", "good.zip").await.unwrap();
    env.clock.advance(5);
    let again = env.create("1.0.0", "good.zip").await.unwrap();
    assert_eq!(again, first);
    // Also once the task has finished.
    assert!(env.run_once("w").await);
    let after = env.create("1.0.0", "good.zip").await.unwrap();
    assert_eq!(after, first);
    assert!(!env.run_once("w").await, "no second task was recorded");
}

#[tokio::test]
async fn a_failed_task_frees_its_number() {
    let env = Env::new().await;
    let failed = env.create("1.0.0", "bad.zip").await.unwrap();
    assert!(env.run_once("w").await);
    assert_eq!(env.task(&failed).await.status, TaskStatus::Failed);
    assert!(env.live_numbers().await.is_empty());
    // The identical request is not answered by the failed task: it is a new one.
    let retried = env.create("1.0.0", "bad.zip").await.unwrap();
    assert_ne!(retried, failed);
    assert_eq!(env.task(&retried).await.status, TaskStatus::Pending);
}

/// Contenders for one number, each with its own request, all let go at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_number_leave_one_task() {
    let env = Env::new().await;
    let versions = Arc::new(env.versions());
    let results = race(8, |i| {
        let (versions, caller) = (versions.clone(), env.caller.clone());
        let mut req = env.request("1.0.0", &format!("contender-{i}.zip"));
        req.intro = format!("contender {i}");
        async move { versions.create(&caller, req).await }
    })
    .await;
    let won = winners(results, |e| matches!(e, DomainError::InvalidMnpVersion(_)));
    assert_eq!(won.len(), 1, "exactly one contender wins: {won:?}");
    assert_eq!(env.live_numbers().await, ["1.0.0"]);
    assert_eq!(env.task(&won[0]).await.status, TaskStatus::Pending);
}

/// The same request sent several times at once (a client retrying over
/// several connections) is one task.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_identical_creates_share_one_task() {
    let env = Env::new().await;
    let versions = Arc::new(env.versions());
    let results = race(6, |_| {
        let (versions, caller) = (versions.clone(), env.caller.clone());
        let req = env.request("1.0.0", "good.zip");
        async move { versions.create(&caller, req).await }
    })
    .await;
    let mut ids = winners(results, |_| false);
    ids.dedup();
    assert_eq!(ids.len(), 1, "one task for all: {ids:?}");
    assert_eq!(env.live_numbers().await, ["1.0.0"]);
}

#[tokio::test]
async fn requests_are_checked_before_anything_is_fetched() {
    let env = Env::new().await;
    let versions = env.versions();
    let mut bad = env.request("1.0.0", "good.zip");
    bad.platform_id = "TNOSUCHPLATFORM".into();
    assert_refused!(
        versions.create(&env.caller, bad).await,
        DomainError::InvalidPlatformId(_)
    );
    let stranger = mnpd_domain::entity::Caller {
        account_id: env.caller.account_id + 1000,
        secret_id: "AKIDstranger".into(),
        actor: mnpd_domain::entity::Actor::ApiKey {
            secret_id: "AKIDstranger".into(),
        },
    };
    assert_refused!(
        versions
            .create(&stranger, env.request("1.0.0", "good.zip"))
            .await,
        DomainError::InvalidPlatformId(_)
    );
    let mut bad = env.request("1.0.0", "good.zip");
    bad.mnp_id = "mpnosuchprogram0".into();
    assert_refused!(
        versions.create(&env.caller, bad).await,
        DomainError::InvalidMnpId(_)
    );
    for number in ["1.0", "01.0.0", "1.0.0-beta", ""] {
        assert_refused!(
            env.create(number, "good.zip").await,
            DomainError::InvalidMnpVersion(_)
        );
    }
    let mut bad = env.request("1.0.0", "good.zip");
    bad.intro = "   ".into();
    assert_refused!(
        versions.create(&env.caller, bad).await,
        DomainError::InvalidMnpVersionIntro(_)
    );
    bad = env.request("1.0.0", "good.zip");
    bad.intro = "x".repeat(201);
    assert_refused!(
        versions.create(&env.caller, bad).await,
        DomainError::InvalidMnpVersionIntro(_)
    );
    assert!(env.live_numbers().await.is_empty());
    assert!(
        env.blobs.list().await.unwrap().is_empty(),
        "nothing fetched"
    );
}

#[tokio::test]
async fn an_expired_plan_takes_no_versions() {
    let env = Env::new().await;
    let (platform, _team) = Admin::new(env.store.clone(), env.clock.clone())
        .create_platform(SID, Some("TEXPIRED"), None, Some(START - 1))
        .await
        .unwrap();
    let mut req = env.request("1.0.0", "good.zip");
    req.platform_id = platform.platform_id;
    assert_refused!(
        env.versions().create(&env.caller, req).await,
        DomainError::PlanExpired { .. }
    );
}

#[tokio::test]
async fn download_failures_are_reported_and_record_nothing() {
    let env = Env::new().await;
    let versions = env.versions();
    assert_refused!(
        env.create("1.0.0", "missing.zip").await,
        DomainError::DownloadFailed(_)
    );
    let too_large = assert_refused!(
        env.create("1.0.0", "big.zip").await,
        DomainError::PackageTooLarge { .. }
    );
    assert!(matches!(
        too_large,
        DomainError::PackageTooLarge { limit, .. } if limit == MAX_PACKAGE_BYTES
    ));
    let mut bad = env.request("1.0.0", "good.zip");
    bad.file_url = "ftp://127.0.0.1/good.zip".into();
    assert_refused!(
        versions.create(&env.caller, bad).await,
        DomainError::DownloadFailed(_)
    );
    assert!(env.live_numbers().await.is_empty());
    assert!(env.blobs.list().await.unwrap().is_empty());
    // The number is still free.
    env.create("1.0.0", "good.zip").await.unwrap();
}

#[tokio::test]
async fn a_task_is_described_only_on_its_platform() {
    let env = Env::new().await;
    let versions = env.versions();
    let task_id = env.create("1.0.0", "good.zip").await.unwrap();
    let task = versions
        .task(&env.caller, &env.platform_id, &task_id)
        .await
        .unwrap();
    assert_eq!(task.task_id, task_id);
    assert_eq!(task.status, TaskStatus::Pending);
    assert_refused!(
        versions
            .task(&env.caller, &env.platform_id, "2025010100000099999")
            .await,
        DomainError::InvalidTaskId(_)
    );
    // Another platform of the same account does not see it.
    let (other, _team) = Admin::new(env.store.clone(), env.clock.clone())
        .create_platform(SID, Some("TOTHERPLATFORM"), None, None)
        .await
        .unwrap();
    assert_refused!(
        versions
            .task(&env.caller, &other.platform_id, &task_id)
            .await,
        DomainError::InvalidTaskId(_)
    );
}
