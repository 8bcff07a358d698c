//! Releases (ReleaseMNPVersion, RollbackMNPVersion, the online version and
//! the release history) on the real SQLite store.

mod common;

use std::sync::Arc;

use common::*;
use mnpd_domain::entity::approval_status::REJECTED;
use mnpd_domain::entity::{ReleaseKind, ReleaseRecord};
use mnpd_domain::DomainError;

/// The test's environment with one host application.
async fn with_host() -> Env {
    let env = Env::new().await;
    env.application("Host").await;
    env
}

/// A recorded and approved version of the test's mini program.
async fn approved(env: &Env, number: &str) -> i64 {
    let id = env.recorded_version(number).await;
    env.approve(id).await;
    id
}

/// A version of the test's mini program, recorded, approved and released.
async fn released(env: &Env, number: &str) -> i64 {
    let id = approved(env, number).await;
    release(env, id).await.unwrap();
    id
}

async fn release(env: &Env, id: i64) -> Result<ReleaseRecord, DomainError> {
    env.releases()
        .release(&env.caller, &env.platform_id, id)
        .await
}

async fn roll_back(env: &Env, id: i64) -> Result<ReleaseRecord, DomainError> {
    env.releases()
        .roll_back(&env.caller, &env.platform_id, &env.mnp_id, id, None)
        .await
}

/// The online version's MNPVersionId and how it got there.
async fn online(env: &Env) -> Option<(i64, ReleaseKind)> {
    env.releases()
        .online(&env.caller, &env.platform_id, &env.mnp_id)
        .await
        .unwrap()
        .map(|r| (r.version.mnp_version_id, r.kind))
}

#[tokio::test]
async fn only_an_approved_version_is_released() {
    let env = with_host().await;
    let v1 = env.recorded_version("1.0.0").await;
    let never = assert_refused!(release(&env, v1).await, DomainError::NotApproved(_));
    assert!(never.to_string().contains("never submitted"), "{never}");

    let open = env.submit(v1).await;
    assert_refused!(release(&env, v1).await, DomainError::NotApproved(_));

    let host = open.items[0].application_id.clone();
    env.process(
        &open.approval_no,
        vec![decision(&host, REJECTED, "not yet")],
    )
    .await
    .unwrap();
    assert_refused!(release(&env, v1).await, DomainError::NotApproved(_));

    env.apply(v1, "submit").await.unwrap();
    env.apply(v1, "cancel").await.unwrap();
    assert_refused!(release(&env, v1).await, DomainError::NotApproved(_));
    assert_eq!(online(&env).await, None);
}

#[tokio::test]
async fn release_makes_the_version_online() {
    let env = with_host().await;
    let v1 = approved(&env, "1.0.0").await;
    env.clock.advance(60);
    let record = release(&env, v1).await.unwrap();
    assert_eq!(record.kind, ReleaseKind::Release);
    assert_eq!(record.version.mnp_version_id, v1);
    assert_eq!(record.release_user, env.caller.actor);
    assert_eq!(record.released_at, env.clock.unix());
    assert_eq!(online(&env).await, Some((v1, ReleaseKind::Release)));
    let listing =
        mnpd_domain::mini_program::MiniPrograms::new(env.store.clone(), env.clock.clone())
            .detail(&env.caller, &env.platform_id, &env.mnp_id)
            .await
            .unwrap();
    assert_eq!(listing.online, Some((v1, "1.0.0".to_string())));

    // Once released, neither released nor submitted again.
    assert_refused!(release(&env, v1).await, DomainError::AlreadyReleased(_));
    assert_refused!(
        env.apply(v1, "submit").await,
        DomainError::AlreadyReleased(_)
    );
}

#[tokio::test]
async fn a_release_must_be_greater_than_the_online_version() {
    let env = with_host().await;
    let v1 = env.recorded_version("1.0.0").await;
    let v2 = released(&env, "1.0.1").await;
    env.approve(v1).await;
    assert_refused!(
        release(&env, v1).await,
        DomainError::NotGreaterThanOnline(_)
    );
    assert_eq!(online(&env).await, Some((v2, ReleaseKind::Release)));
    let v3 = released(&env, "1.0.10").await;
    assert_eq!(online(&env).await, Some((v3, ReleaseKind::Release)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_releases_of_one_version_one_wins() {
    let env = with_host().await;
    let v1 = approved(&env, "1.0.0").await;
    let releases = Arc::new(env.releases());
    let results = race(5, |_| {
        let releases = releases.clone();
        let (caller, platform_id) = (env.caller.clone(), env.platform_id.clone());
        async move { releases.release(&caller, &platform_id, v1).await }
    })
    .await;
    let won = winners(results, |e| matches!(e, DomainError::AlreadyReleased(_)));
    assert_eq!(won.len(), 1);
    let history = env
        .releases()
        .history(&env.caller, &env.platform_id, &env.mnp_id)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(online(&env).await, Some((v1, ReleaseKind::Release)));
}

#[tokio::test]
async fn rollback_returns_to_the_previous_released_version() {
    let env = with_host().await;
    let v1 = released(&env, "1.0.0").await;
    env.clock.advance(10);
    let v2 = released(&env, "1.0.1").await;
    env.clock.advance(10);
    let record = env
        .releases()
        .roll_back(
            &env.caller,
            &env.platform_id,
            &env.mnp_id,
            v1,
            Some("1.0.0"),
        )
        .await
        .unwrap();
    assert_eq!(record.kind, ReleaseKind::Rollback);
    assert_eq!(record.version.mnp_version_id, v1);
    assert_eq!(online(&env).await, Some((v1, ReleaseKind::Rollback)));

    // The history lists releases only, newest first.
    let history: Vec<_> = env
        .releases()
        .history(&env.caller, &env.platform_id, &env.mnp_id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.version.mnp_version_id, r.kind))
        .collect();
    assert_eq!(
        history,
        vec![(v2, ReleaseKind::Release), (v1, ReleaseKind::Release)]
    );

    // Not twice in a row; a new release first.
    assert_refused!(roll_back(&env, v1).await, DomainError::RollbackRefused(_));
    released(&env, "1.0.2").await;
    roll_back(&env, v2).await.unwrap();
    assert_eq!(online(&env).await, Some((v2, ReleaseKind::Rollback)));
}

#[tokio::test]
async fn rollback_is_refused_with_nothing_to_return_to() {
    let env = with_host().await;
    let v0 = env.recorded_version("0.9.0").await;
    let v1 = approved(&env, "1.0.0").await;
    assert_refused!(roll_back(&env, v1).await, DomainError::NothingOnline(_));
    release(&env, v1).await.unwrap();
    // The only released version is the online one: nothing earlier.
    assert_refused!(roll_back(&env, v1).await, DomainError::RollbackRefused(_));
    // An earlier version that was never released is no target...
    let never = assert_refused!(roll_back(&env, v0).await, DomainError::RollbackRefused(_));
    assert!(never.to_string().contains("never released"), "{never}");
    // ...nor a later one, nor a version of another mini program.
    let v2 = approved(&env, "1.0.1").await;
    assert_refused!(roll_back(&env, v2).await, DomainError::RollbackRefused(_));
    let elsewhere = env.mini_program("Elsewhere").await;
    let elsewhere = env.recorded_version_of(&elsewhere, "0.9.0").await;
    assert_refused!(
        roll_back(&env, elsewhere).await,
        DomainError::InvalidMnpVersionId(_)
    );
    assert_eq!(online(&env).await, Some((v1, ReleaseKind::Release)));
}

#[tokio::test]
async fn rollback_checks_its_arguments() {
    let env = with_host().await;
    let v1 = released(&env, "1.0.0").await;
    let v2 = released(&env, "1.0.1").await;
    let releases = env.releases();
    assert_refused!(
        releases
            .roll_back(
                &env.caller,
                &env.platform_id,
                &env.mnp_id,
                v1,
                Some("1.0.1")
            )
            .await,
        DomainError::InvalidMnpVersion(_)
    );
    assert_refused!(
        releases
            .roll_back(&env.caller, &env.platform_id, "mpnosuchprogram0", v1, None)
            .await,
        DomainError::InvalidMnpId(_)
    );
    assert_refused!(
        releases
            .roll_back(&env.caller, &env.platform_id, &env.mnp_id, v2 + 100, None)
            .await,
        DomainError::InvalidMnpVersionId(_)
    );
    assert_refused!(
        releases
            .roll_back(&env.caller, "TNOSUCHPLATFORM", &env.mnp_id, v1, None)
            .await,
        DomainError::InvalidPlatformId(_)
    );
    assert_eq!(online(&env).await, Some((v2, ReleaseKind::Release)));
}
