//! Approvals (CreateMNPApproval submit/cancel, ProcessMNPApproval, the
//! listing) on the real SQLite store.

mod common;

use std::sync::Arc;

use common::*;
use mnpd_domain::entity::approval_status::{APPROVED, CANCELLED, PROCESSING, REJECTED};
use mnpd_domain::DomainError;

/// The test's environment with two host applications and one recorded
/// version; the applications' ids and the MNPVersionId.
async fn with_two_hosts() -> (Env, [String; 2], i64) {
    let env = Env::new().await;
    let hosts = [
        env.application("Host A").await,
        env.application("Host B").await,
    ];
    let version = env.recorded_version("1.0.0").await;
    (env, hosts, version)
}

#[tokio::test]
async fn submit_opens_one_approval_with_an_item_per_host_application() {
    let (env, hosts, version) = with_two_hosts().await;
    env.clock.advance(7);
    let open = env.submit(version).await;
    assert_eq!(open.status, PROCESSING);
    assert_eq!(open.mnp_id, env.mnp_id);
    assert_eq!(open.mnp_version_id, version);
    assert_eq!(open.apply_user, env.caller.actor);
    assert_eq!(open.apply_time, START + 7);
    assert!(open.approval_no.starts_with("aud"), "{}", open.approval_no);
    let mut apps: Vec<_> = open
        .items
        .iter()
        .map(|i| i.application_id.clone())
        .collect();
    apps.sort();
    let mut expected = hosts.to_vec();
    expected.sort();
    assert_eq!(apps, expected);
    assert!(open.items.iter().all(|i| i.status == PROCESSING));

    let (total, lines) = env.approval_lines().await;
    assert_eq!(total, 2, "one line per item");
    assert!(lines
        .iter()
        .all(|l| l.approval.approval_no == open.approval_no));
    assert!(lines.iter().all(|l| l.mnp_version == "1.0.0"));
}

#[tokio::test]
async fn a_platform_without_host_applications_cannot_submit() {
    let env = Env::new().await;
    let version = env.recorded_version("1.0.0").await;
    assert_refused!(
        env.apply(version, "submit").await,
        DomainError::NoApplications(_)
    );
    assert!(env.latest_approval(version).await.is_none());
}

#[tokio::test]
async fn one_open_approval_per_mini_program() {
    let (env, _hosts, v1) = with_two_hosts().await;
    let open = env.submit(v1).await;
    let again = assert_refused!(
        env.apply(v1, "submit").await,
        DomainError::ApprovalExists(_)
    );
    assert!(again.to_string().contains(&open.approval_no), "{again}");
    // Another version of the same mini program waits too.
    let v2 = env.recorded_version("1.0.1").await;
    assert_refused!(
        env.apply(v2, "submit").await,
        DomainError::ApprovalExists(_)
    );
    assert!(env.latest_approval(v2).await.is_none());
    // Another mini program does not.
    let other = env.mini_program("Another one").await;
    let v_other = env.recorded_version_of(&other, "1.0.0").await;
    env.apply(v_other, "submit").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_submits_open_one_approval() {
    let (env, _hosts, version) = with_two_hosts().await;
    let approvals = Arc::new(env.approvals());
    let results = race(6, |_| {
        let approvals = approvals.clone();
        let (caller, platform_id) = (env.caller.clone(), env.platform_id.clone());
        async move {
            approvals
                .apply(&caller, &platform_id, version, "submit")
                .await
        }
    })
    .await;
    let opened = winners(results, |e| matches!(e, DomainError::ApprovalExists(_)));
    assert_eq!(opened.len(), 1);
    let (total, _) = env.approval_lines().await;
    assert_eq!(total, 2, "one approval, two items");
}

#[tokio::test]
async fn approved_when_every_host_application_approves() {
    let (env, [a, b], version) = with_two_hosts().await;
    let open = env.submit(version).await;
    env.clock.advance(10);
    let half = env
        .process(&open.approval_no, vec![decision(&a, APPROVED, "fine")])
        .await
        .unwrap();
    assert_eq!(half.status, PROCESSING, "b has not decided yet");
    let item_a = half.items.iter().find(|i| i.application_id == a).unwrap();
    assert_eq!(item_a.status, APPROVED);
    assert_eq!(item_a.note, "fine");
    assert_eq!(item_a.approval_user.as_ref(), Some(&env.caller.actor));
    assert_eq!(item_a.approval_time, START + 10);
    let item_b = half.items.iter().find(|i| i.application_id == b).unwrap();
    assert_eq!(item_b.status, PROCESSING);

    let done = env
        .process(&open.approval_no, vec![decision(&b, APPROVED, "")])
        .await
        .unwrap();
    assert_eq!(done.status, APPROVED);
    assert!(done.items.iter().all(|i| i.status == APPROVED));
    assert_eq!(env.latest_approval(version).await.unwrap(), done);
}

#[tokio::test]
async fn one_rejection_rejects_and_ends_the_approval() {
    let (env, [a, b], version) = with_two_hosts().await;
    let open = env.submit(version).await;
    let rejected = env
        .process(
            &open.approval_no,
            vec![decision(&a, REJECTED, "  crashes on start  ")],
        )
        .await
        .unwrap();
    assert_eq!(rejected.status, REJECTED);
    let item_a = rejected
        .items
        .iter()
        .find(|i| i.application_id == a)
        .unwrap();
    assert_eq!(item_a.status, REJECTED);
    assert_eq!(item_a.note, "crashes on start", "the note is trimmed");
    let item_b = rejected
        .items
        .iter()
        .find(|i| i.application_id == b)
        .unwrap();
    assert_eq!(
        item_b.status, CANCELLED,
        "what was waiting is not decided any more"
    );

    // A finished approval takes no more decisions.
    assert_refused!(
        env.process(&open.approval_no, vec![decision(&b, APPROVED, "")])
            .await,
        DomainError::ApprovalNotProcessing(_)
    );
    // And no longer blocks a new submission.
    let again = env.submit(version).await;
    assert_ne!(again.approval_no, open.approval_no);
    assert_eq!(again.status, PROCESSING);
}

#[tokio::test]
async fn decisions_are_checked_and_a_refused_batch_changes_nothing() {
    let (env, [a, _b], version) = with_two_hosts().await;
    let open = env.submit(version).await;
    let process = |decisions| env.process(&open.approval_no, decisions);
    assert_refused!(process(vec![]).await, DomainError::ApprovalItemsEmpty);
    assert_refused!(
        process(vec![decision(&a, 4, "")]).await,
        DomainError::InvalidValue(_)
    );
    assert_refused!(
        process(vec![decision(&a, REJECTED, "   ")]).await,
        DomainError::InvalidApprovalNote(_)
    );
    assert_refused!(
        process(vec![decision(&a, APPROVED, &"n".repeat(501))]).await,
        DomainError::InvalidApprovalNote(_)
    );
    // A valid decision next to one for an application the approval does not
    // cover: the whole batch is refused.
    assert_refused!(
        process(vec![
            decision(&a, APPROVED, ""),
            decision("app-notahostapp", APPROVED, ""),
        ])
        .await,
        DomainError::ApprovalApplicationMismatch(_)
    );
    assert_eq!(env.latest_approval(version).await.unwrap(), open);
    assert_refused!(
        env.process("audnosuchapproval", vec![decision(&a, APPROVED, "")])
            .await,
        DomainError::InvalidApprovalNo(_)
    );
}

#[tokio::test]
async fn cancel_withdraws_the_open_approval() {
    let (env, [a, b], version) = with_two_hosts().await;
    let open = env.submit(version).await;
    env.process(&open.approval_no, vec![decision(&a, APPROVED, "")])
        .await
        .unwrap();
    env.apply(version, " cancel ").await.unwrap();
    let cancelled = env.latest_approval(version).await.unwrap();
    assert_eq!(cancelled.approval_no, open.approval_no);
    assert_eq!(cancelled.status, CANCELLED);
    let item = |id: &str| {
        cancelled
            .items
            .iter()
            .find(|i| i.application_id == id)
            .unwrap()
            .status
    };
    assert_eq!(item(&a), APPROVED, "a decision already made stays");
    assert_eq!(item(&b), CANCELLED);

    // Nothing is open any more: cancel is refused, processing too, and the
    // version can be submitted again.
    assert_refused!(
        env.apply(version, "cancel").await,
        DomainError::ApprovalStatus(_)
    );
    assert_refused!(
        env.process(&open.approval_no, vec![decision(&b, APPROVED, "")])
            .await,
        DomainError::ApprovalNotProcessing(_)
    );
    env.submit(version).await;
}

#[tokio::test]
async fn cancel_needs_an_approval_in_progress_of_that_version() {
    let (env, hosts, v1) = with_two_hosts().await;
    assert_refused!(
        env.apply(v1, "cancel").await,
        DomainError::ApprovalStatus(_)
    );
    let v2 = env.recorded_version("1.0.1").await;
    let open = env.submit(v2).await;
    assert_refused!(
        env.apply(v1, "cancel").await,
        DomainError::ApprovalStatus(_)
    );
    assert_eq!(env.latest_approval(v2).await.unwrap().status, PROCESSING);
    // An approved one is not in progress either.
    let decisions = hosts.iter().map(|h| decision(h, APPROVED, "")).collect();
    env.process(&open.approval_no, decisions).await.unwrap();
    assert_refused!(
        env.apply(v2, "cancel").await,
        DomainError::ApprovalStatus(_)
    );
    assert_eq!(env.latest_approval(v2).await.unwrap().status, APPROVED);
}

#[tokio::test]
async fn apply_checks_its_arguments() {
    let (env, _hosts, version) = with_two_hosts().await;
    assert_refused!(
        env.apply(version, "approve").await,
        DomainError::InvalidApplyAction(_)
    );
    assert_refused!(
        env.apply(version + 100, "submit").await,
        DomainError::InvalidMnpVersionId(_)
    );
    assert_refused!(
        env.approvals()
            .apply(&env.caller, "TNOSUCHPLATFORM", version, "submit")
            .await,
        DomainError::InvalidPlatformId(_)
    );
    assert!(env.latest_approval(version).await.is_none());
}
