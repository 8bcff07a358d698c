//! The metadata store test suite, written once against `MetaStore` and run
//! on every engine: each test takes a fresh, empty, migrated store.
//! `store_suite!(run)` expands to one `#[tokio::test]` per test, calling
//! `run(name, test)`, where `run` makes the engine's store, hands it to the
//! test and cleans up (see tests/engines.rs). A test added here and to the
//! list in `store_suite!` runs on every engine.
//!
//! Compiled with the `test-suite` feature (the crate's own dev-dependency
//! turns it on for its tests).

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use mnpd_domain::entity::*;
use mnpd_domain::rollout::model::*;
use mnpd_domain::store::*;
use mnpd_domain::DomainError;
use tokio::sync::Barrier;

/// A store under test.
pub type Store = Arc<dyn MetaStore>;

/// One `#[tokio::test]` (multi-threaded, so that the concurrency tests
/// race for real) per suite test, each calling `$run(name, test)` with
/// `$run: async fn(&'static str, impl FnOnce(Store) -> impl Future)`.
#[macro_export]
macro_rules! store_suite {
    ($run:path) => {
        $crate::store_suite!(@each $run;
            accounts_keys_platforms_teams,
            mini_program_names_are_unique_per_platform_and_listing_filters,
            task_lifecycle_records_version_once,
            each_creator_has_a_latest_version,
            expired_lease_is_claimed_again,
            compile_progress_is_kept_by_the_lease_holder_only,
            tasks_are_claimed_oldest_first,
            applications_are_unique_per_platform_listed_and_updated,
            deleting_an_application_is_refused_while_an_approval_refers_to_it,
            mini_programs_are_modified_taken_out_of_service_and_deleted_with_all_their_records,
            approvals_one_open_decided_and_listed,
            releases_and_rollbacks_are_decided_in_the_store,
            previews_are_set_refused_and_cleared,
            settings_are_initialised_once,
            concurrent_claims_hand_out_each_task_once,
            concurrent_submissions_leave_one_open_approval,
            concurrent_releases_of_one_version_release_it_once,
            concurrent_task_inserts_keep_the_version_order,
            concurrent_approval_decisions_are_all_kept,
            concurrent_previews_set_one_version,
            concurrent_settings_agree,
            concurrent_completion_and_deletion_both_finish,
            uploads_are_recorded_once_found_expired_and_deleted,
            failed_tasks_are_handed_to_collection_once,
            package_deletions_are_seen_until_ended,
            a_reset_platform_keeps_only_its_default_team_and_others_keep_everything,
            domains_are_checked_against_the_lists_in_the_writing_transaction,
            an_account_comes_back_from_its_export_with_its_ids_or_not_at_all,
            sensitive_api_requests_follow_their_api_in_the_store,
            signing_keys_rotate_by_generation_and_retire_the_older_ones,
            concurrent_first_signing_keys_leave_one,
            gradual_releases_are_one_at_a_time_and_end_with_a_release,
            install_reports_are_counted_with_bounded_reasons,
        );
    };
    (@each $run:path; $($test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                $run(stringify!($test), $crate::suite::$test).await;
            }
        )*
    };
}

pub(crate) const PLATFORM: &str = "TPLATFORM0000000001";
const OTHER_PLATFORM: &str = "TPLATFORM0000000002";

/// An account with one platform and its team.
async fn seed(s: &Store) -> (Account, Platform, Team) {
    let a = s.create_account("alice", 1).await.unwrap();
    let p = Platform {
        platform_id: PLATFORM.into(),
        account_id: a.id,
        name: "p".into(),
        expires_at: None,
        created_at: 1,
    };
    s.insert_platform(&p).await.unwrap();
    let t = Team {
        team_id: "1000000001".into(),
        platform_id: p.platform_id.clone(),
        name: "default".into(),
        created_at: 1,
        role_types: vec![1, 2],
        ..Team::default()
    };
    s.insert_team(&t).await.unwrap();
    (a, p, t)
}

/// An account with two platforms; the first has two teams.
pub(crate) async fn seed_teams(s: &Store) -> (Team, Team, Team) {
    let a = s.create_account("alice", 1).await.unwrap();
    let mut team_of = Vec::new();
    for (platform_id, team_id, name) in [
        (PLATFORM, "1000000001", "default"),
        (PLATFORM, "1000000002", "second"),
        (OTHER_PLATFORM, "1000000003", "other"),
    ] {
        if s.get_platform(platform_id).await.unwrap().is_none() {
            s.insert_platform(&Platform {
                platform_id: platform_id.into(),
                account_id: a.id,
                name: "p".into(),
                expires_at: None,
                created_at: 1,
            })
            .await
            .unwrap();
        }
        let t = Team {
            team_id: team_id.into(),
            platform_id: platform_id.into(),
            name: name.into(),
            created_at: 1,
            role_types: vec![1, 2],
            ..Team::default()
        };
        s.insert_team(&t).await.unwrap();
        team_of.push(t);
    }
    (team_of[0].clone(), team_of[1].clone(), team_of[2].clone())
}

pub(crate) fn mini(id: &str, name: &str, t: &Team, at: i64) -> MiniProgram {
    MiniProgram {
        mnp_id: id.into(),
        platform_id: t.platform_id.clone(),
        team_id: t.team_id.clone(),
        name: name.into(),
        mnp_type: "Tools->93_Weather".into(),
        icon: "https://h/i.png".into(),
        intro: "i".into(),
        desc: "d".into(),
        status: 0,
        create_user: "alice".into(),
        created_at: at,
        update_user: "alice".into(),
        updated_at: at,
    }
}

pub(crate) fn app(id: &str, name: &str, team: &Team, at: i64) -> Application {
    Application {
        application_id: id.into(),
        number: 0,
        platform_id: team.platform_id.clone(),
        team_id: team.team_id.clone(),
        name: name.into(),
        logo: "https://h/logo.png".into(),
        intro: "intro".into(),
        remark: String::new(),
        android_app_key: "com.example.app".into(),
        ios_app_key: String::new(),
        android_app_url: "https://apps.example.com/android".into(),
        ios_app_url: String::new(),
        application_type: 1,
        create_user: "alice".into(),
        created_at: at,
        update_user: "alice".into(),
        updated_at: at,
    }
}

/// A console user named `name` (user id and account alike).
fn who(name: &str) -> Actor {
    Actor::User {
        user_id: name.to_string(),
        account: name.to_string(),
    }
}

fn pending(id: &str, mnp: &str, version: &str, at: i64) -> Task {
    Task {
        task_id: id.into(),
        platform_id: PLATFORM.into(),
        mnp_id: mnp.into(),
        mnp_version: version.into(),
        file_url: "http://h/p.zip".into(),
        intro: "first".into(),
        sha256: "b".repeat(64),
        size: 10,
        status: TaskStatus::Pending,
        msg: "Pending".into(),
        attempts: 0,
        mnp_version_id: None,
        create_user: who("alice"),
        created_at: at,
        updated_at: at,
        compile: None,
    }
}

fn manifest() -> mnpd_package::Manifest {
    serde_json::from_value(serde_json::json!({
        "kind": "mini_program", "root": "", "pages": ["pages/index/index"],
        "subpackages": [], "entry_page": "pages/index/index",
        "file_count": 4, "uncompressed_bytes": 100
    }))
    .unwrap()
}

fn version_of(t: &Task) -> NewVersion {
    NewVersion {
        mnp_id: t.mnp_id.clone(),
        platform_id: t.platform_id.clone(),
        version: t.mnp_version.clone(),
        intro: t.intro.clone(),
        sha256: t.sha256.clone(),
        size: t.size,
        manifest: manifest(),
        task_id: t.task_id.clone(),
        create_user: t.create_user.clone(),
        created_at: 5,
    }
}

fn accept_all(_: &[String]) -> Result<(), String> {
    Ok(())
}

/// A recorded version of `mnp`, through the task path (no other task may
/// be pending).
async fn version(s: &Store, mnp: &str, task_id: &str, number: &str) -> Version {
    version_by(s, mnp, task_id, number, who("alice")).await
}

/// As [`version`], created by `creator`.
async fn version_by(s: &Store, mnp: &str, task_id: &str, number: &str, creator: Actor) -> Version {
    let mut task = pending(task_id, mnp, number, 1);
    task.create_user = creator;
    s.insert_task_checked(&task, &accept_all).await.unwrap();
    let claimed = s.claim_task("w", 2, 60).await.unwrap().unwrap();
    assert_eq!(claimed.task_id, task_id);
    let id = s
        .complete_task(task_id, "w", &version_of(&task), 3)
        .await
        .unwrap()
        .unwrap();
    s.get_version(id).await.unwrap().unwrap()
}

/// Records of every kind for the mini program `mnp` with versions `v1`
/// (released) and `v2` (in approval, on trial), and a task being worked on,
/// which is returned.
async fn records_of_every_kind(s: &Store, mnp: &str, v1: &Version, v2: &Version) -> Task {
    let running = pending("2024082016302500003", mnp, "2.0.0", 1);
    s.insert_task_checked(&running, &accept_all).await.unwrap();
    assert_eq!(
        s.claim_task("w", 4, 60).await.unwrap().unwrap().task_id,
        running.task_id
    );
    s.insert_approval(&approval(
        "audaaaaaaaaaaaaaaa",
        v2,
        &["app-aaaaaaaaaa"],
        approval_status::PROCESSING,
        4,
    ))
    .await
    .unwrap();
    let allow = |_: &ReleaseState| -> Result<(), DomainError> { Ok(()) };
    s.change_online_version(v1, ReleaseKind::Release, &who("alice"), 5, &allow)
        .await
        .unwrap()
        .unwrap();
    let allow_preview = |_: Option<&Preview>| -> Result<(), DomainError> { Ok(()) };
    s.set_preview(
        &Preview {
            mnp_id: mnp.into(),
            kind: PreviewKind::Trial,
            mnp_version_id: v2.mnp_version_id,
            entrance_path: "pages/index/index".into(),
            updated_at: 6,
        },
        &allow_preview,
    )
    .await
    .unwrap()
    .unwrap();
    running
}

fn approval(no: &str, v: &Version, apps: &[&str], status: i64, at: i64) -> Approval {
    Approval {
        approval_no: no.into(),
        platform_id: v.new.platform_id.clone(),
        mnp_id: v.new.mnp_id.clone(),
        mnp_version_id: v.mnp_version_id,
        status,
        apply_user: who("alice"),
        apply_time: at,
        updated_at: at,
        items: apps
            .iter()
            .map(|a| ApprovalItem {
                application_id: a.to_string(),
                status,
                note: String::new(),
                approval_user: None,
                approval_time: 0,
            })
            .collect(),
    }
}

/// Sets the item of `application_id` to `result` and the approval's
/// status as the domain does: one rejection rejects, approval by all
/// approves. Refuses a finished approval.
fn decide_item(
    current: &Approval,
    application_id: &str,
    result: i64,
    at: i64,
) -> Result<Approval, DomainError> {
    if current.status != approval_status::PROCESSING {
        return Err(DomainError::ApprovalNotProcessing(
            current.approval_no.clone(),
        ));
    }
    let mut next = current.clone();
    let item = next
        .items
        .iter_mut()
        .find(|i| i.application_id == application_id)
        .ok_or_else(|| DomainError::ApprovalApplicationMismatch(application_id.into()))?;
    item.status = result;
    item.approval_user = Some(who("bob"));
    item.approval_time = at;
    next.status = if next
        .items
        .iter()
        .any(|i| i.status == approval_status::REJECTED)
    {
        approval_status::REJECTED
    } else if next
        .items
        .iter()
        .all(|i| i.status == approval_status::APPROVED)
    {
        approval_status::APPROVED
    } else {
        approval_status::PROCESSING
    };
    next.updated_at = at;
    Ok(next)
}

/// Runs `n` copies of `f(i)` at once on the runtime's threads, released
/// together by a barrier, and returns their results in order of `i`.
async fn race<T, F, Fut>(n: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let mut handles = Vec::new();
    for i in 0..n {
        let barrier = barrier.clone();
        let work = f(i);
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            work.await
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("a racing task panicked"));
    }
    out
}

pub async fn accounts_keys_platforms_teams(s: Store) {
    let (a, p, t) = seed(&s).await;
    assert_eq!(s.get_account(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(s.get_account(a.id + 100).await.unwrap(), None);
    let b = s.create_account("bob", 2).await.unwrap();
    assert!(b.id > a.id, "account ids grow");
    let key = ApiKey {
        secret_id: "AKIDx".into(),
        secret_key: "k".into(),
        account_id: a.id,
        enabled: true,
        created_at: 1,
    };
    s.insert_api_key(&key).await.unwrap();
    assert!(matches!(
        s.insert_api_key(&key).await,
        Err(StoreError::Conflict(_))
    ));
    let key_b = ApiKey {
        secret_id: "AKIDa".into(),
        account_id: b.id,
        ..key.clone()
    };
    s.insert_api_key(&key_b).await.unwrap();
    assert_eq!(s.find_api_key("AKIDx").await.unwrap(), Some(key.clone()));
    assert_eq!(s.find_api_key("AKIDnone").await.unwrap(), None);
    let ids: Vec<String> = s
        .list_api_keys(None)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.secret_id)
        .collect();
    assert_eq!(ids, ["AKIDa", "AKIDx"], "by creation time, then id");
    assert_eq!(s.list_api_keys(Some(a.id)).await.unwrap(), vec![key]);
    assert!(s.set_api_key_enabled("AKIDx", false).await.unwrap());
    assert!(!s.find_api_key("AKIDx").await.unwrap().unwrap().enabled);
    assert!(s.set_api_key_enabled("AKIDx", true).await.unwrap());
    assert!(s.find_api_key("AKIDx").await.unwrap().unwrap().enabled);
    assert!(!s.set_api_key_enabled("nope", false).await.unwrap());

    assert_eq!(
        s.get_platform(&p.platform_id).await.unwrap(),
        Some(p.clone())
    );
    assert!(matches!(
        s.insert_platform(&p).await,
        Err(StoreError::Conflict(_))
    ));
    let expiring = Platform {
        platform_id: OTHER_PLATFORM.into(),
        account_id: b.id,
        expires_at: Some(1_900_000_000),
        ..p.clone()
    };
    s.insert_platform(&expiring).await.unwrap();
    assert_eq!(
        s.get_platform(OTHER_PLATFORM).await.unwrap(),
        Some(expiring.clone())
    );
    assert_eq!(s.get_platform("TPLATFORMnone").await.unwrap(), None);
    assert_eq!(s.list_platforms(Some(a.id)).await.unwrap(), vec![p.clone()]);
    assert_eq!(s.list_platforms(Some(a.id + 100)).await.unwrap().len(), 0);
    assert_eq!(
        s.list_platforms(None).await.unwrap(),
        vec![p.clone(), expiring]
    );

    assert_eq!(s.get_team(&t.team_id).await.unwrap(), Some(t.clone()));
    assert_eq!(s.get_team("1999999999").await.unwrap(), None);
    assert_eq!(
        s.default_team(&p.platform_id).await.unwrap(),
        Some(t.clone())
    );
    // A later team, and one as old with a smaller id: the first stays the
    // default (creation times tie within a second; the record does not).
    let later = Team {
        team_id: "1000000000".into(),
        name: "later".into(),
        created_at: 5,
        ..t.clone()
    };
    s.insert_team(&later).await.unwrap();
    let as_old = Team {
        team_id: "0999999999".into(),
        name: "as old".into(),
        ..t.clone()
    };
    s.insert_team(&as_old).await.unwrap();
    assert_eq!(
        s.default_team(&p.platform_id).await.unwrap(),
        Some(t.clone())
    );
    // Names are unique on a platform, ids everywhere.
    let same_name = Team {
        team_id: "0999999998".into(),
        ..later.clone()
    };
    assert!(matches!(
        s.insert_team(&same_name).await,
        Err(StoreError::Conflict(what)) if what == "name"
    ));
    let same_id = Team {
        name: "another".into(),
        ..later.clone()
    };
    assert!(matches!(
        s.insert_team(&same_id).await,
        Err(StoreError::Conflict(what)) if what == "id"
    ));
    assert_eq!(s.default_team(OTHER_PLATFORM).await.unwrap(), None);
}

pub async fn mini_program_names_are_unique_per_platform_and_listing_filters(s: Store) {
    let (_a, p, t) = seed(&s).await;
    s.insert_mini_program(&mini("mpaaaaaaaaaaaaaa", "Shop", &t, 1))
        .await
        .unwrap();
    s.insert_mini_program(&mini("mpbbbbbbbbbbbbbb", "Pay_100%", &t, 2))
        .await
        .unwrap();
    assert_eq!(
        s.insert_mini_program(&mini("mpcccccccccccccc", "Shop", &t, 3))
            .await,
        Err(StoreError::Conflict("name".into()))
    );
    assert_eq!(
        s.insert_mini_program(&mini("mpaaaaaaaaaaaaaa", "Other", &t, 3))
            .await,
        Err(StoreError::Conflict("id".into()))
    );
    let got = s
        .get_mini_program(&p.platform_id, "mpaaaaaaaaaaaaaa")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.mini_program, mini("mpaaaaaaaaaaaaaa", "Shop", &t, 1));
    assert_eq!((got.team_name.as_str(), got.online), ("default", None));
    assert_eq!(
        s.get_mini_program(OTHER_PLATFORM, "mpaaaaaaaaaaaaaa")
            .await
            .unwrap(),
        None,
        "not across platforms"
    );

    let mut q = MiniProgramQuery {
        platform_id: p.platform_id.clone(),
        limit: 10,
        ..Default::default()
    };
    let (n, page) = s.list_mini_programs(&q).await.unwrap();
    assert_eq!(n, 2);
    assert_eq!(page[0].mini_program.name, "Pay_100%", "newest first");
    assert_eq!(page[0].team_name, "default");
    q.keyword = Some("shop".into());
    assert_eq!(s.list_mini_programs(&q).await.unwrap().0, 1);
    q.keyword = Some("SHOP".into());
    assert_eq!(s.list_mini_programs(&q).await.unwrap().0, 1, "any case");
    q.keyword = Some("_100%".into());
    assert_eq!(
        s.list_mini_programs(&q).await.unwrap().0,
        1,
        "LIKE wildcards are literal"
    );
    q.keyword = Some("y_1".into());
    assert_eq!(s.list_mini_programs(&q).await.unwrap().0, 1);
    q.keyword = Some("y%".into());
    assert_eq!(s.list_mini_programs(&q).await.unwrap().0, 0);
    q.keyword = Some("MPBBBB".into());
    let (n, page) = s.list_mini_programs(&q).await.unwrap();
    assert_eq!(
        (n, page[0].mini_program.mnp_id.as_str()),
        (1, "mpbbbbbbbbbbbbbb"),
        "by id"
    );
    q.keyword = Some("zzz".into());
    assert_eq!(s.list_mini_programs(&q).await.unwrap().0, 0);
    q.keyword = Some(String::new());
    assert_eq!(s.list_mini_programs(&q).await.unwrap().0, 2, "empty: all");
    q.team_id = Some("1000000099".into());
    assert_eq!(s.list_mini_programs(&q).await.unwrap().0, 0);
    q.team_id = Some(t.team_id.clone());
    assert_eq!(s.list_mini_programs(&q).await.unwrap().0, 2);
    q.team_id = None;
    q.keyword = None;
    q.offset = 1;
    q.limit = 1;
    let (n, page) = s.list_mini_programs(&q).await.unwrap();
    assert_eq!((n, page.len()), (2, 1));
    assert_eq!(page[0].mini_program.name, "Shop");
    q.offset = 2;
    let (n, page) = s.list_mini_programs(&q).await.unwrap();
    assert_eq!((n, page.len()), (2, 0));
    q.platform_id = OTHER_PLATFORM.into();
    q.offset = 0;
    assert_eq!(s.list_mini_programs(&q).await.unwrap().0, 0);

    // Equal creation times: by id.
    s.insert_mini_program(&mini("mpdddddddddddddd", "D", &t, 7))
        .await
        .unwrap();
    s.insert_mini_program(&mini("mpcccccccccccccc", "C", &t, 7))
        .await
        .unwrap();
    let (n, page) = s
        .list_mini_programs(&MiniProgramQuery {
            platform_id: p.platform_id.clone(),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(n, 4, "counted as they are inserted");
    let ids: Vec<_> = page
        .iter()
        .map(|l| l.mini_program.mnp_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "mpcccccccccccccc",
            "mpdddddddddddddd",
            "mpbbbbbbbbbbbbbb",
            "mpaaaaaaaaaaaaaa"
        ]
    );
}

pub async fn task_lifecycle_records_version_once(s: Store) {
    let (_a, _p, t) = seed(&s).await;
    s.insert_mini_program(&mini("mpaaaaaaaaaaaaaa", "Shop", &t, 1))
        .await
        .unwrap();
    let task = pending("2024082016302500001", "mpaaaaaaaaaaaaaa", "1.0.0", 1);
    assert_eq!(s.get_task(&task.task_id).await.unwrap(), None);
    assert_eq!(s.task_backlog().await.unwrap(), TaskBacklog::default());
    s.insert_task_checked(&task, &accept_all).await.unwrap();
    assert_eq!(s.get_task(&task.task_id).await.unwrap(), Some(task.clone()));
    assert_eq!(
        s.task_backlog().await.unwrap(),
        TaskBacklog {
            pending: 1,
            running: 0
        }
    );
    assert_eq!(
        s.insert_task_checked(&task, &accept_all).await,
        Err(StoreError::Conflict("task_id".into()))
    );
    let refuse = |live: &[String]| {
        if live.contains(&"1.0.0".to_string()) {
            Err("not greater".to_string())
        } else {
            Ok(())
        }
    };
    let mut second = pending("2024082016302500002", "mpaaaaaaaaaaaaaa", "1.0.0", 2);
    assert_eq!(
        s.insert_task_checked(&second, &refuse).await,
        Err(StoreError::Conflict("not greater".into()))
    );
    assert_eq!(s.get_task(&second.task_id).await.unwrap(), None);
    assert_eq!(
        s.find_reusable_task("mpaaaaaaaaaaaaaa", "1.0.0", "http://h/p.zip", "first")
            .await
            .unwrap(),
        Some(task.clone())
    );
    assert!(s
        .find_reusable_task("mpaaaaaaaaaaaaaa", "1.0.0", "http://h/p.zip", "other")
        .await
        .unwrap()
        .is_none());

    let claimed = s.claim_task("w1", 10, 60).await.unwrap().unwrap();
    assert_eq!(claimed.task_id, task.task_id);
    assert_eq!(claimed.status, TaskStatus::Running);
    assert_eq!(claimed.attempts, 1);
    assert_eq!(claimed.updated_at, 10);
    assert_eq!(
        s.task_backlog().await.unwrap(),
        TaskBacklog {
            pending: 0,
            running: 1
        }
    );
    assert!(
        s.claim_task("w2", 11, 60).await.unwrap().is_none(),
        "leased"
    );
    assert_eq!(
        s.complete_task(&task.task_id, "w2", &version_of(&task), 12)
            .await
            .unwrap(),
        None,
        "not the owner"
    );
    let id = s
        .complete_task(&task.task_id, "w1", &version_of(&task), 12)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        s.complete_task(&task.task_id, "w1", &version_of(&task), 13)
            .await
            .unwrap(),
        None,
        "finished once"
    );
    assert!(
        !s.fail_task(&task.task_id, "w1", "late", 13).await.unwrap(),
        "finished once"
    );
    let done = s.get_task(&task.task_id).await.unwrap().unwrap();
    assert_eq!(
        (done.status, done.mnp_version_id, done.updated_at),
        (TaskStatus::Succeeded, Some(id), 12)
    );
    assert_eq!(s.task_backlog().await.unwrap(), TaskBacklog::default());
    let v = s.get_version(id).await.unwrap().unwrap();
    assert_eq!(v.mnp_version_id, id);
    assert_eq!(v.new, version_of(&task));
    assert_eq!(s.get_version(id + 1000).await.unwrap(), None);
    assert_eq!(s.latest_version("mpaaaaaaaaaaaaaa").await.unwrap(), Some(v));
    assert_eq!(s.referenced_blobs().await.unwrap(), vec!["b".repeat(64)]);

    second.task_id = "2024082016302500003".into();
    second.mnp_version = "1.0.1".into();
    second.sha256 = "c".repeat(64);
    s.insert_task_checked(&second, &accept_all).await.unwrap();
    assert_eq!(
        s.referenced_blobs().await.unwrap(),
        vec!["b".repeat(64), "c".repeat(64)]
    );
    let mut live = s.live_version_numbers("mpaaaaaaaaaaaaaa").await.unwrap();
    live.sort();
    assert_eq!(live, ["1.0.0", "1.0.1"]);
    s.claim_task("w1", 20, 60).await.unwrap().unwrap();
    assert!(!s
        .fail_task(&second.task_id, "w2", "not mine", 21)
        .await
        .unwrap());
    assert!(s
        .fail_task(&second.task_id, "w1", "bad page", 21)
        .await
        .unwrap());
    assert!(
        !s.fail_task(&second.task_id, "w1", "again", 22)
            .await
            .unwrap(),
        "finished once"
    );
    let failed = s.get_task(&second.task_id).await.unwrap().unwrap();
    assert_eq!(
        (failed.status, failed.msg.as_str()),
        (TaskStatus::Failed, "bad page")
    );
    assert_eq!(
        s.complete_task(&second.task_id, "w1", &version_of(&second), 23)
            .await
            .unwrap(),
        None,
        "a failed task records nothing"
    );
    let live = s.live_version_numbers("mpaaaaaaaaaaaaaa").await.unwrap();
    assert_eq!(
        live,
        vec!["1.0.0".to_string()],
        "a failed version number is free again"
    );
    assert_eq!(
        s.referenced_blobs().await.unwrap(),
        vec!["b".repeat(64)],
        "a failed task's package is garbage"
    );
    assert!(s
        .find_reusable_task("mpaaaaaaaaaaaaaa", "1.0.1", "http://h/p.zip", "first")
        .await
        .unwrap()
        .is_none());
    assert!(s.claim_task("w1", 30, 60).await.unwrap().is_none(), "empty");
    assert_eq!(
        s.live_version_numbers("mpnone").await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(s.latest_version("mpnone").await.unwrap(), None);
}

/// The Develop stage's rows: the latest version of each creator of the
/// mini program, creators told apart by reference, not by shown name.
pub async fn each_creator_has_a_latest_version(s: Store) {
    let (_a, _p, t) = seed(&s).await;
    let (a, b) = ("mpaaaaaaaaaaaaaa", "mpbbbbbbbbbbbbbb");
    s.insert_mini_program(&mini(a, "Shop", &t, 1))
        .await
        .unwrap();
    s.insert_mini_program(&mini(b, "Other", &t, 1))
        .await
        .unwrap();
    assert_eq!(s.latest_version_of_each_creator(a).await.unwrap(), []);
    let key = Actor::ApiKey {
        secret_id: "AKIDkey".into(),
    };
    // A user whose account name is the key's SecretId is still another actor.
    let look_alike = Actor::User {
        user_id: "7".into(),
        account: "AKIDkey".into(),
    };
    let v1 = version_by(&s, a, "2024082016302500001", "1.0.0", who("alice")).await;
    let v2 = version_by(&s, a, "2024082016302500002", "1.0.1", key.clone()).await;
    let v3 = version_by(&s, a, "2024082016302500003", "1.0.2", who("alice")).await;
    let v4 = version_by(&s, a, "2024082016302500004", "1.0.3", look_alike).await;
    version_by(&s, b, "2024082016302500005", "2.0.0", key).await;
    let mut latest = s.latest_version_of_each_creator(a).await.unwrap();
    latest.sort_by_key(|v| v.mnp_version_id);
    assert_eq!(latest, [v2, v3, v4], "{v1:?} is not alice's latest");

    // Earlier records (no reference) are told apart by the name they show.
    let earlier = |name: &str| Actor::Earlier { name: name.into() };
    let e1 = version_by(&s, b, "2024082016302500006", "2.0.1", earlier("admin")).await;
    let e2 = version_by(&s, b, "2024082016302500007", "2.0.2", earlier("ops")).await;
    let e3 = version_by(&s, b, "2024082016302500008", "2.0.3", earlier("admin")).await;
    let mut latest = s.latest_version_of_each_creator(b).await.unwrap();
    latest.sort_by_key(|v| v.mnp_version_id);
    assert_eq!(latest[1..], [e2, e3], "{e1:?} is not the latest of `admin`");
}

pub async fn expired_lease_is_claimed_again(s: Store) {
    let (_a, _p, t) = seed(&s).await;
    s.insert_mini_program(&mini("mpaaaaaaaaaaaaaa", "Shop", &t, 1))
        .await
        .unwrap();
    let task = pending("2024082016302500001", "mpaaaaaaaaaaaaaa", "1.0.0", 1);
    s.insert_task_checked(&task, &accept_all).await.unwrap();
    assert_eq!(s.expire_all_leases().await.unwrap(), 0, "nothing running");
    s.claim_task("dead", 10, 60).await.unwrap().unwrap();
    assert!(s.claim_task("w2", 69, 60).await.unwrap().is_none());
    assert!(
        s.claim_task("w2", 70, 60).await.unwrap().is_none(),
        "until the lease ends"
    );
    assert!(
        !s.renew_lease(&task.task_id, "w2", 500).await.unwrap(),
        "only the holder renews"
    );
    assert!(s.renew_lease(&task.task_id, "dead", 100).await.unwrap());
    assert!(
        s.claim_task("w2", 99, 60).await.unwrap().is_none(),
        "a renewed lease is kept"
    );
    let again = s.claim_task("w2", 101, 60).await.unwrap().unwrap();
    assert_eq!(again.attempts, 2);
    assert!(
        !s.fail_task(&task.task_id, "dead", "late", 102)
            .await
            .unwrap(),
        "the dead owner lost it"
    );
    assert_eq!(
        s.complete_task(&task.task_id, "dead", &version_of(&task), 72)
            .await
            .unwrap(),
        None
    );
    // Start-up recovery on a single node frees leases at once.
    assert_eq!(s.expire_all_leases().await.unwrap(), 1);
    let third = s.claim_task("w3", 72, 60).await.unwrap().unwrap();
    assert_eq!((third.attempts, third.status), (3, TaskStatus::Running));
    assert!(s
        .complete_task(&task.task_id, "w3", &version_of(&task), 73)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        s.expire_all_leases().await.unwrap(),
        0,
        "finished tasks stay"
    );
    assert!(s.claim_task("w4", 10_000, 60).await.unwrap().is_none());
}

pub async fn compile_progress_is_kept_by_the_lease_holder_only(s: Store) {
    use mnpd_domain::compile::{CompileState, PackageSizes, SubpackageSize};
    let (_a, _p, t) = seed(&s).await;
    s.insert_mini_program(&mini("mpaaaaaaaaaaaaaa", "Shop", &t, 1))
        .await
        .unwrap();
    let version_task = pending("2024082016302500001", "mpaaaaaaaaaaaaaa", "1.0.0", 1);
    s.insert_task_checked(&version_task, &accept_all)
        .await
        .unwrap();
    let task = Task {
        compile: Some(CompileState::queued(2)),
        ..pending("2024082016302500002", "mpaaaaaaaaaaaaaa", "1.0.1", 2)
    };
    s.insert_task_checked(&task, &accept_all).await.unwrap();
    let read = |id: &'static str| {
        let s = s.clone();
        async move { s.get_task(id).await.unwrap().unwrap() }
    };
    assert_eq!(read("2024082016302500001").await.compile, None);
    assert_eq!(read("2024082016302500002").await.compile, task.compile);

    let mut state = CompileState::queued(2);
    state.push(5, "measured", "1 byte".into());
    state.sizes = Some(PackageSizes {
        total: 10,
        main: 4,
        subpackages: vec![SubpackageSize {
            root: "pkgA".into(),
            bytes: 6,
        }],
        entry_page: Some("pages/index/index".into()),
    });
    assert!(
        !s.record_compile_progress(&task.task_id, "w", &state, 5)
            .await
            .unwrap(),
        "a pending task is nobody's"
    );
    s.claim_task("w", 3, 60).await.unwrap().unwrap();
    let claimed = s.claim_task("w", 3, 60).await.unwrap().unwrap();
    assert_eq!(claimed.task_id, task.task_id);
    assert!(!s
        .record_compile_progress(&task.task_id, "other", &state, 5)
        .await
        .unwrap());
    assert!(s
        .record_compile_progress(&task.task_id, "w", &state, 5)
        .await
        .unwrap());
    assert!(
        !s.record_compile_progress(&version_task.task_id, "w", &state, 5)
            .await
            .unwrap(),
        "a version task has no compile progress"
    );
    assert_eq!(
        read("2024082016302500002").await.compile,
        Some(state.clone())
    );
    assert!(s
        .complete_task(&task.task_id, "w", &version_of(&task), 6)
        .await
        .unwrap()
        .is_some());
    let done = read("2024082016302500002").await;
    assert_eq!(
        (done.status, done.compile),
        (TaskStatus::Succeeded, Some(state))
    );
}

pub async fn tasks_are_claimed_oldest_first(s: Store) {
    let (_a, _p, t) = seed(&s).await;
    s.insert_mini_program(&mini("mpaaaaaaaaaaaaaa", "Shop", &t, 1))
        .await
        .unwrap();
    for (id, version, at) in [
        ("2024082016302500003", "1.0.2", 5),
        ("2024082016302500002", "1.0.1", 3),
        ("2024082016302500001", "1.0.0", 5),
    ] {
        s.insert_task_checked(&pending(id, "mpaaaaaaaaaaaaaa", version, at), &accept_all)
            .await
            .unwrap();
    }
    let mut order = Vec::new();
    while let Some(task) = s.claim_task("w", 10, 60).await.unwrap() {
        order.push(task.task_id);
    }
    assert_eq!(
        order,
        [
            "2024082016302500002",
            "2024082016302500001",
            "2024082016302500003"
        ],
        "by creation time, then id"
    );
}

pub async fn applications_are_unique_per_platform_listed_and_updated(s: Store) {
    let (t1, t2, other) = seed_teams(&s).await;
    let n1 = s
        .insert_application(&app("app-aaaaaaaaaa", "Shop", &t1, 10))
        .await
        .unwrap();
    let n2 = s
        .insert_application(&app("app-bbbbbbbbbb", "Pay_100%", &t2, 20))
        .await
        .unwrap();
    assert!(n2 > n1, "numbers grow");
    assert_eq!(
        s.insert_application(&app("app-cccccccccc", "Shop", &t2, 30))
            .await,
        Err(StoreError::Conflict("name".into()))
    );
    assert_eq!(
        s.insert_application(&app("app-aaaaaaaaaa", "Else", &t1, 30))
            .await,
        Err(StoreError::Conflict("id".into()))
    );
    // The same name on another platform is fine.
    let n3 = s
        .insert_application(&app("app-dddddddddd", "Shop", &other, 30))
        .await
        .unwrap();
    assert!(n3 > n2);

    let got = s
        .get_application(PLATFORM, "app-aaaaaaaaaa")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got,
        Application {
            number: n1,
            ..app("app-aaaaaaaaaa", "Shop", &t1, 10)
        }
    );
    assert_eq!(
        s.get_application(OTHER_PLATFORM, "app-aaaaaaaaaa")
            .await
            .unwrap(),
        None,
        "another platform's application is not found"
    );

    let mut q = ApplicationQuery {
        platform_id: PLATFORM.into(),
        limit: 10,
        ..Default::default()
    };
    let (n, page) = s.list_applications(&q).await.unwrap();
    assert_eq!(n, 2);
    assert_eq!(page[0].application.name, "Pay_100%", "newest first");
    assert_eq!(page[0].team_name, "second");
    assert_eq!(page[1].application.number, n1);
    q.keyword = Some("_100%".into());
    assert_eq!(
        s.list_applications(&q).await.unwrap().0,
        1,
        "LIKE wildcards are literal"
    );
    q.keyword = Some("p%".into());
    assert_eq!(s.list_applications(&q).await.unwrap().0, 0);
    q.keyword = Some("APP-AAAA".into());
    assert_eq!(
        s.list_applications(&q).await.unwrap().0,
        1,
        "by id, any case"
    );
    q.keyword = Some("sHoP".into());
    assert_eq!(
        s.list_applications(&q).await.unwrap().0,
        1,
        "by name, any case"
    );
    q.keyword = Some(String::new());
    q.team_id = Some(t1.team_id.clone());
    let (n, page) = s.list_applications(&q).await.unwrap();
    assert_eq!(
        (n, page[0].application.application_id.as_str()),
        (1, "app-aaaaaaaaaa")
    );
    q.team_id = None;
    q.offset = 1;
    q.limit = 1;
    let (n, page) = s.list_applications(&q).await.unwrap();
    assert_eq!((n, page.len()), (2, 1));
    assert_eq!(page[0].application.name, "Shop");

    let all = s.list_platform_applications(PLATFORM).await.unwrap();
    let ids: Vec<_> = all.iter().map(|a| a.application_id.as_str()).collect();
    assert_eq!(ids, ["app-aaaaaaaaaa", "app-bbbbbbbbbb"], "oldest first");
    assert_eq!(
        s.list_platform_applications("TPLATFORMnone").await.unwrap(),
        vec![]
    );

    // Equal creation times list by number: newest first, oldest last.
    let n5 = s
        .insert_application(&app("app-eeeeeeeeee", "E", &t1, 20))
        .await
        .unwrap();
    let (_, page) = s
        .list_applications(&ApplicationQuery {
            platform_id: PLATFORM.into(),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let numbers: Vec<_> = page.iter().map(|l| l.application.number).collect();
    assert_eq!(numbers, [n5, n2, n1]);
    let numbers: Vec<_> = s
        .list_platform_applications(PLATFORM)
        .await
        .unwrap()
        .iter()
        .map(|a| a.number)
        .collect();
    assert_eq!(numbers, [n1, n2, n5]);

    let mut changed = got.clone();
    changed.name = "Pay_100%".into();
    assert_eq!(
        s.update_application(&changed).await,
        Err(StoreError::Conflict("name".into()))
    );
    changed.name = "Shop 2".into();
    changed.ios_app_key = "com.example.ios".into();
    changed.ios_app_url = "https://apps.example.com/ios".into();
    changed.android_app_url = String::new();
    changed.remark = "r".into();
    changed.updated_at = 99;
    changed.update_user = "bob".into();
    assert!(s.update_application(&changed).await.unwrap());
    assert_eq!(
        s.get_application(PLATFORM, "app-aaaaaaaaaa").await.unwrap(),
        Some(changed.clone())
    );
    changed.platform_id = OTHER_PLATFORM.into();
    assert!(
        !s.update_application(&changed).await.unwrap(),
        "not across platforms"
    );
}

pub async fn deleting_an_application_is_refused_while_an_approval_refers_to_it(s: Store) {
    let (t1, _, _) = seed_teams(&s).await;
    s.insert_application(&app("app-aaaaaaaaaa", "Shop", &t1, 10))
        .await
        .unwrap();
    s.insert_application(&app("app-bbbbbbbbbb", "Pay", &t1, 10))
        .await
        .unwrap();
    assert!(!s.application_in_use("app-aaaaaaaaaa").await.unwrap());
    s.insert_mini_program(&mini("mpaaaaaaaaaaaaaa", "Shop", &t1, 1))
        .await
        .unwrap();
    let v = version(&s, "mpaaaaaaaaaaaaaa", "2024082016302500001", "1.0.0").await;
    s.insert_approval(&approval(
        "audaaaaaaaaaaaaaaa",
        &v,
        &["app-aaaaaaaaaa"],
        approval_status::PROCESSING,
        4,
    ))
    .await
    .unwrap();
    assert!(s.application_in_use("app-aaaaaaaaaa").await.unwrap());
    assert!(!s.application_in_use("app-bbbbbbbbbb").await.unwrap());
    assert_eq!(
        s.delete_application(PLATFORM, "app-aaaaaaaaaa").await,
        Err(StoreError::Conflict("in_use".into()))
    );
    assert!(s
        .get_application(PLATFORM, "app-aaaaaaaaaa")
        .await
        .unwrap()
        .is_some());
    assert!(!s
        .delete_application(OTHER_PLATFORM, "app-bbbbbbbbbb")
        .await
        .unwrap());
    assert!(s
        .delete_application(PLATFORM, "app-bbbbbbbbbb")
        .await
        .unwrap());
    assert!(!s
        .delete_application(PLATFORM, "app-bbbbbbbbbb")
        .await
        .unwrap());
    assert_eq!(
        s.list_platform_applications(PLATFORM).await.unwrap().len(),
        1
    );
    // A finished approval still refers to it.
    s.update_approval("audaaaaaaaaaaaaaaa", &|a: &Approval| {
        decide_item(a, "app-aaaaaaaaaa", approval_status::APPROVED, 5)
    })
    .await
    .unwrap()
    .unwrap();
    assert!(s.application_in_use("app-aaaaaaaaaa").await.unwrap());
    // Deleting the mini program deletes its approvals: free again.
    assert!(s
        .delete_mini_program(PLATFORM, "mpaaaaaaaaaaaaaa")
        .await
        .unwrap());
    assert!(!s.application_in_use("app-aaaaaaaaaa").await.unwrap());
    assert!(s
        .delete_application(PLATFORM, "app-aaaaaaaaaa")
        .await
        .unwrap());
}

pub async fn mini_programs_are_modified_taken_out_of_service_and_deleted_with_all_their_records(
    s: Store,
) {
    let (t1, _, other) = seed_teams(&s).await;
    let (a, b) = ("mpaaaaaaaaaaaaaa", "mpbbbbbbbbbbbbbb");
    s.insert_mini_program(&mini(a, "Shop", &t1, 1))
        .await
        .unwrap();
    s.insert_mini_program(&mini(b, "Pay", &t1, 2))
        .await
        .unwrap();

    let mut mp = s
        .get_mini_program(PLATFORM, a)
        .await
        .unwrap()
        .unwrap()
        .mini_program;
    mp.name = "Pay".into();
    assert_eq!(
        s.update_mini_program(&mp).await,
        Err(StoreError::Conflict("name".into()))
    );
    mp.name = "Shop 2".into();
    mp.mnp_type = "Life Service->144_Lilliputian Services".into();
    mp.icon = "https://h/j.png".into();
    mp.intro = "i2".into();
    mp.desc = "d2".into();
    mp.update_user = "bob".into();
    mp.updated_at = 50;
    let number = s.update_mini_program(&mp).await.unwrap().unwrap();
    assert_eq!(
        s.update_mini_program(&mp).await.unwrap(),
        Some(number),
        "stable"
    );
    assert_eq!(
        s.get_mini_program(PLATFORM, a)
            .await
            .unwrap()
            .unwrap()
            .mini_program,
        mp
    );
    let mut pay = s
        .get_mini_program(PLATFORM, b)
        .await
        .unwrap()
        .unwrap()
        .mini_program;
    pay.updated_at = 51;
    let number_b = s.update_mini_program(&pay).await.unwrap().unwrap();
    assert!(number_b > number, "numbered in creation order");
    let mut theirs = mp.clone();
    theirs.platform_id = other.platform_id.clone();
    assert_eq!(s.update_mini_program(&theirs).await.unwrap(), None);

    assert!(s
        .set_mini_program_status(PLATFORM, a, 2, "bob", 60)
        .await
        .unwrap());
    let removed = s
        .get_mini_program(PLATFORM, a)
        .await
        .unwrap()
        .unwrap()
        .mini_program;
    assert_eq!(
        (
            removed.status,
            removed.update_user.as_str(),
            removed.updated_at
        ),
        (2, "bob", 60)
    );
    assert!(!s
        .set_mini_program_status(&other.platform_id, a, 2, "bob", 60)
        .await
        .unwrap());
    assert!(!s
        .set_mini_program_status(PLATFORM, "mpnone", 2, "bob", 60)
        .await
        .unwrap());

    // Records of every kind for `a`, one version for `b`.
    let v1 = version(&s, a, "2024082016302500001", "1.0.0").await;
    let v2 = version(&s, a, "2024082016302500002", "1.1.0").await;
    let vb = version(&s, b, "2024082016302500004", "1.0.0").await;
    let running = records_of_every_kind(&s, a, &v1, &v2).await;

    assert!(
        !s.delete_mini_program(&other.platform_id, a).await.unwrap(),
        "not across platforms"
    );
    let listed = |platform_id: &str| MiniProgramQuery {
        platform_id: platform_id.into(),
        limit: 10,
        ..Default::default()
    };
    let total = s.list_mini_programs(&listed(PLATFORM)).await.unwrap().0;
    assert!(s.delete_mini_program(PLATFORM, a).await.unwrap());
    assert!(!s.delete_mini_program(PLATFORM, a).await.unwrap(), "gone");
    assert_eq!(
        s.list_mini_programs(&listed(PLATFORM)).await.unwrap().0,
        total - 1,
        "counted out once"
    );
    assert!(s.get_mini_program(PLATFORM, a).await.unwrap().is_none());
    for task_id in [
        "2024082016302500001",
        "2024082016302500002",
        "2024082016302500003",
    ] {
        assert_eq!(s.get_task(task_id).await.unwrap(), None, "{task_id}");
    }
    assert!(s.get_version(v1.mnp_version_id).await.unwrap().is_none());
    assert!(s.get_version(v2.mnp_version_id).await.unwrap().is_none());
    // The worker's task is gone with it.
    assert_eq!(
        s.complete_task(&running.task_id, "w", &version_of(&running), 7)
            .await
            .unwrap(),
        None
    );
    assert!(!s.fail_task(&running.task_id, "w", "gone", 7).await.unwrap());
    assert_eq!(s.latest_version(a).await.unwrap(), None);
    assert_eq!(
        s.live_version_numbers(a).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(s.get_approval("audaaaaaaaaaaaaaaa").await.unwrap(), None);
    assert_eq!(s.latest_approval_of_mini_program(a).await.unwrap(), None);
    assert!(
        !s.application_in_use("app-aaaaaaaaaa").await.unwrap(),
        "items gone"
    );
    assert_eq!(s.online_version(a).await.unwrap(), None);
    assert_eq!(s.release_history(a).await.unwrap(), vec![]);
    assert_eq!(s.previews(a).await.unwrap(), vec![]);
    // The other mini program keeps everything.
    assert_eq!(s.get_version(vb.mnp_version_id).await.unwrap(), Some(vb));
    assert!(s.get_task("2024082016302500004").await.unwrap().is_some());
    assert_eq!(
        s.update_mini_program(&pay).await.unwrap(),
        Some(number_b),
        "others keep their number"
    );

    // A number is never handed out again, not even to the same id.
    s.insert_mini_program(&mini(a, "Shop", &t1, 9))
        .await
        .unwrap();
    s.insert_mini_program(&mini("mpcccccccccccccc", "New", &t1, 9))
        .await
        .unwrap();
    let again = s
        .update_mini_program(&mini(a, "Shop", &t1, 10))
        .await
        .unwrap()
        .unwrap();
    let c = s
        .update_mini_program(&mini("mpcccccccccccccc", "New", &t1, 10))
        .await
        .unwrap()
        .unwrap();
    assert!(again > number_b, "{again} after {number_b}");
    assert!(c > again);
    assert!(s.get_version(v1.mnp_version_id).await.unwrap().is_none());
}

pub async fn approvals_one_open_decided_and_listed(s: Store) {
    let (t1, t2, _) = seed_teams(&s).await;
    let mut shop = app("app-aaaaaaaaaa", "Shop", &t1, 1);
    shop.logo = "https://h/shop.png".into();
    s.insert_application(&shop).await.unwrap();
    s.insert_application(&app("app-bbbbbbbbbb", "Pay", &t1, 2))
        .await
        .unwrap();
    let (a, b) = ("mpaaaaaaaaaaaaaa", "mpbbbbbbbbbbbbbb");
    s.insert_mini_program(&mini(a, "Alpha_1", &t1, 1))
        .await
        .unwrap();
    s.insert_mini_program(&mini(b, "Beta", &t2, 2))
        .await
        .unwrap();
    let va = version(&s, a, "2024082016302500001", "1.0.0").await;
    let vb = version(&s, b, "2024082016302500002", "2.0.0").await;
    assert_eq!(
        s.latest_approval_of_version(va.mnp_version_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.latest_approval_of_mini_program(a).await.unwrap(), None);
    assert_eq!(s.get_approval("aud0000000000000001").await.unwrap(), None);

    // Items come back in the order given.
    let first = approval(
        "aud0000000000000001",
        &va,
        &["app-bbbbbbbbbb", "app-aaaaaaaaaa"],
        approval_status::PROCESSING,
        10,
    );
    s.insert_approval(&first).await.unwrap();
    assert_eq!(
        s.get_approval(&first.approval_no).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        s.insert_approval(&approval(
            "aud0000000000000009",
            &va,
            &["app-aaaaaaaaaa"],
            approval_status::PROCESSING,
            11
        ))
        .await,
        Err(StoreError::Conflict("open".into()))
    );
    assert_eq!(s.get_approval("aud0000000000000009").await.unwrap(), None);
    assert_eq!(
        s.insert_approval(&approval(
            "aud0000000000000001",
            &vb,
            &["app-aaaaaaaaaa"],
            approval_status::PROCESSING,
            11
        ))
        .await,
        Err(StoreError::Conflict("approval_no".into()))
    );
    let second = approval(
        "aud0000000000000002",
        &vb,
        &["app-aaaaaaaaaa"],
        approval_status::PROCESSING,
        20,
    );
    s.insert_approval(&second).await.unwrap();
    assert_eq!(
        s.latest_approval_of_version(va.mnp_version_id)
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        s.latest_approval_of_mini_program(b).await.unwrap(),
        Some(second.clone())
    );

    // Decisions.
    let decided = s
        .update_approval(&first.approval_no, &|cur: &Approval| {
            decide_item(cur, "app-aaaaaaaaaa", approval_status::APPROVED, 12)
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(decided.status, approval_status::PROCESSING);
    assert_eq!(
        s.get_approval(&first.approval_no).await.unwrap(),
        Some(decided.clone())
    );
    assert_eq!(
        s.update_approval(&first.approval_no, &|_: &Approval| {
            Err(DomainError::ApprovalApplicationMismatch(
                "app-zzzzzzzzzz".into(),
            ))
        })
        .await
        .unwrap(),
        Err(DomainError::ApprovalApplicationMismatch(
            "app-zzzzzzzzzz".into()
        ))
    );
    assert_eq!(
        s.get_approval(&first.approval_no).await.unwrap(),
        Some(decided),
        "a refusal writes nothing"
    );
    assert_eq!(
        s.update_approval("audnone", &|a: &Approval| Ok(a.clone()))
            .await
            .unwrap(),
        Err(DomainError::InvalidApprovalNo("audnone".into()))
    );
    let approved = s
        .update_approval(&first.approval_no, &|cur: &Approval| {
            decide_item(cur, "app-bbbbbbbbbb", approval_status::APPROVED, 13)
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(approved.status, approval_status::APPROVED);
    assert_eq!(approved.updated_at, 13);
    let stored = s.get_approval(&first.approval_no).await.unwrap().unwrap();
    assert_eq!(stored, approved);
    assert_eq!(
        stored
            .items
            .iter()
            .map(|i| (
                i.application_id.as_str(),
                i.status,
                i.approval_user.as_ref().map(Actor::shown),
                i.approval_time
            ))
            .collect::<Vec<_>>(),
        [
            ("app-bbbbbbbbbb", 3, Some("bob"), 13),
            ("app-aaaaaaaaaa", 3, Some("bob"), 12)
        ]
    );
    assert!(matches!(
        s.update_approval(&first.approval_no, &|cur: &Approval| {
            decide_item(cur, "app-bbbbbbbbbb", approval_status::REJECTED, 14)
        })
        .await
        .unwrap(),
        Err(DomainError::ApprovalNotProcessing(_))
    ));

    // Finished: another may open. Two with the same apply time: the later
    // recorded is the latest.
    let third = approval(
        "aud0000000000000004",
        &va,
        &["app-aaaaaaaaaa"],
        approval_status::PROCESSING,
        30,
    );
    s.insert_approval(&third).await.unwrap();
    s.update_approval(&third.approval_no, &|cur: &Approval| {
        let mut next = cur.clone();
        next.status = approval_status::CANCELLED;
        for i in &mut next.items {
            i.status = approval_status::CANCELLED;
        }
        Ok(next)
    })
    .await
    .unwrap()
    .unwrap();
    let fourth = approval(
        "aud0000000000000003",
        &va,
        &["app-aaaaaaaaaa"],
        approval_status::PROCESSING,
        30,
    );
    s.insert_approval(&fourth).await.unwrap();
    assert_eq!(
        s.latest_approval_of_mini_program(a).await.unwrap(),
        Some(fourth.clone())
    );
    assert_eq!(
        s.latest_approval_of_version(va.mnp_version_id)
            .await
            .unwrap(),
        Some(fourth.clone())
    );

    // Listings: one row per item, newest approval first, then by number
    // and application.
    let mut q = ApprovalQuery {
        platform_id: PLATFORM.into(),
        limit: 10,
        ..Default::default()
    };
    let rows = |page: &[ApprovalListing]| -> Vec<(String, String)> {
        page.iter()
            .map(|l| {
                (
                    l.approval.approval_no.clone(),
                    l.item.application_id.clone(),
                )
            })
            .collect()
    };
    let pair = |no: &str, app: &str| (no.to_string(), app.to_string());
    let (n, page) = s.list_approvals(&q).await.unwrap();
    assert_eq!(n, 5);
    assert_eq!(
        rows(&page),
        [
            pair("aud0000000000000003", "app-aaaaaaaaaa"),
            pair("aud0000000000000004", "app-aaaaaaaaaa"),
            pair("aud0000000000000002", "app-aaaaaaaaaa"),
            pair("aud0000000000000001", "app-aaaaaaaaaa"),
            pair("aud0000000000000001", "app-bbbbbbbbbb"),
        ]
    );
    let row = &page[3];
    assert_eq!(row.approval.mnp_id, a);
    assert_eq!(row.approval.mnp_version_id, va.mnp_version_id);
    assert_eq!(row.approval.status, approval_status::APPROVED);
    assert_eq!(row.approval.apply_time, 10);
    assert!(row.approval.items.is_empty());
    assert_eq!(row.item.status, approval_status::APPROVED);
    assert_eq!(row.item.approval_time, 12);
    assert_eq!(row.mnp_version, "1.0.0");
    assert_eq!(row.mini_program.name, "Alpha_1");
    assert_eq!(row.team_name, "default");
    assert_eq!(
        (row.application_name.as_str(), row.application_logo.as_str()),
        ("Shop", "https://h/shop.png")
    );
    assert_eq!(page[2].team_name, "second");
    assert_eq!(page[2].mnp_version, "2.0.0");

    q.statuses = vec![0];
    assert_eq!(
        rows(&s.list_approvals(&q).await.unwrap().1),
        [
            pair("aud0000000000000003", "app-aaaaaaaaaa"),
            pair("aud0000000000000002", "app-aaaaaaaaaa"),
        ],
        "0 is taken as 1"
    );
    q.statuses = vec![3, 4];
    assert_eq!(s.list_approvals(&q).await.unwrap().0, 3);
    q.statuses = vec![2];
    assert_eq!(s.list_approvals(&q).await.unwrap(), (0, vec![]));
    q.statuses = vec![];
    q.keyword = Some("alpha_1".into());
    assert_eq!(s.list_approvals(&q).await.unwrap().0, 4);
    q.keyword = Some("ALPHA".into());
    assert_eq!(s.list_approvals(&q).await.unwrap().0, 4, "any case");
    q.keyword = Some("a_1".into());
    assert_eq!(s.list_approvals(&q).await.unwrap().0, 4);
    q.keyword = Some("a%".into());
    assert_eq!(s.list_approvals(&q).await.unwrap().0, 0, "literal");
    q.keyword = Some("MPBBBB".into());
    assert_eq!(s.list_approvals(&q).await.unwrap().0, 1, "by MNPId");
    q.keyword = Some("AUD0000000000000002".into());
    assert_eq!(s.list_approvals(&q).await.unwrap().0, 1, "by ApprovalNo");
    q.keyword = None;
    q.application_id = Some("app-bbbbbbbbbb".into());
    assert_eq!(
        rows(&s.list_approvals(&q).await.unwrap().1),
        [pair("aud0000000000000001", "app-bbbbbbbbbb")]
    );
    q.application_id = None;
    q.team_id = Some(t2.team_id.clone());
    assert_eq!(s.list_approvals(&q).await.unwrap().0, 1);
    q.team_id = None;
    q.statuses = vec![1, 3];
    q.offset = 1;
    q.limit = 2;
    let (n, page) = s.list_approvals(&q).await.unwrap();
    assert_eq!(n, 4);
    assert_eq!(
        rows(&page),
        [
            pair("aud0000000000000002", "app-aaaaaaaaaa"),
            pair("aud0000000000000001", "app-aaaaaaaaaa"),
        ]
    );
    q.platform_id = OTHER_PLATFORM.into();
    q.statuses = vec![];
    q.offset = 0;
    assert_eq!(s.list_approvals(&q).await.unwrap(), (0, vec![]));
}

/// A release rule as the domain's, enough to see what the store hands it.
fn release_rule(state: &ReleaseState, target: &Version) -> Result<(), DomainError> {
    if state.target_approval != Some(approval_status::APPROVED) {
        return Err(DomainError::NotApproved("not approved".into()));
    }
    if state.target_released {
        return Err(DomainError::AlreadyReleased("released before".into()));
    }
    if let Some(online) = &state.online {
        if online.version.mnp_version_id >= target.mnp_version_id {
            return Err(DomainError::NotGreaterThanOnline("not greater".into()));
        }
    }
    Ok(())
}

pub async fn releases_and_rollbacks_are_decided_in_the_store(s: Store) {
    let (_a, _p, t) = seed(&s).await;
    let a = "mpaaaaaaaaaaaaaa";
    s.insert_mini_program(&mini(a, "Shop", &t, 1))
        .await
        .unwrap();
    let v1 = version(&s, a, "2024082016302500001", "1.0.0").await;
    let v2 = version(&s, a, "2024082016302500002", "1.1.0").await;
    let v3 = version(&s, a, "2024082016302500004", "1.2.0").await;
    assert_eq!(s.latest_version(a).await.unwrap(), Some(v3.clone()));
    assert_eq!(s.online_version(a).await.unwrap(), None);

    // Refused: nothing written.
    let seen = std::sync::Mutex::new(None);
    let refused = s
        .change_online_version(
            &v1,
            ReleaseKind::Release,
            &who("alice"),
            5,
            &|st: &ReleaseState| {
                *seen.lock().unwrap() = Some(st.clone());
                release_rule(st, &v1)
            },
        )
        .await
        .unwrap();
    assert!(matches!(refused, Err(DomainError::NotApproved(_))));
    assert_eq!(
        seen.lock().unwrap().take(),
        Some(ReleaseState {
            online: None,
            target_released: false,
            target_approval: None,
            live_rollout: None,
        })
    );
    assert_eq!(s.release_history(a).await.unwrap(), vec![]);
    assert_eq!(s.online_version(a).await.unwrap(), None);
    let mp = s.get_mini_program(PLATFORM, a).await.unwrap().unwrap();
    assert_eq!((mp.mini_program.status, mp.online), (0, None));

    for (no, v, at) in [
        ("aud0000000000000001", &v1, 6),
        ("aud0000000000000002", &v2, 7),
        ("aud0000000000000003", &v3, 8),
    ] {
        s.insert_approval(&approval(
            no,
            v,
            &["app-aaaaaaaaaa"],
            approval_status::APPROVED,
            at,
        ))
        .await
        .unwrap();
    }
    let first = s
        .change_online_version(
            &v1,
            ReleaseKind::Release,
            &who("alice"),
            10,
            &|st: &ReleaseState| release_rule(st, &v1),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            first.kind,
            first.version.clone(),
            first.release_user.shown(),
            first.released_at
        ),
        (ReleaseKind::Release, v1.clone(), "alice", 10)
    );
    assert_eq!(s.online_version(a).await.unwrap(), Some(first.clone()));
    let mp = s.get_mini_program(PLATFORM, a).await.unwrap().unwrap();
    assert_eq!(
        (
            mp.mini_program.status,
            mp.mini_program.updated_at,
            mp.online.clone()
        ),
        (1, 10, Some((v1.mnp_version_id, "1.0.0".to_string()))),
        "the first release makes it released"
    );
    assert!(mp.is_served());
    assert!(matches!(
        s.change_online_version(
            &v1,
            ReleaseKind::Release,
            &who("alice"),
            11,
            &|st: &ReleaseState| { release_rule(st, &v1) }
        )
        .await
        .unwrap(),
        Err(DomainError::AlreadyReleased(_))
    ));

    let second = s
        .change_online_version(
            &v2,
            ReleaseKind::Release,
            &who("bob"),
            12,
            &|st: &ReleaseState| {
                assert_eq!(
                    st.online.as_ref().map(|o| o.release_id),
                    Some(first.release_id)
                );
                release_rule(st, &v2)
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(second.release_id > first.release_id);
    let mp = s.get_mini_program(PLATFORM, a).await.unwrap().unwrap();
    assert_eq!(
        (
            mp.mini_program.update_user.as_str(),
            mp.mini_program.updated_at
        ),
        ("alice", 10),
        "only the first release touches the mini program"
    );

    // Back to v1: it was released, so the store reports so.
    let back = s
        .change_online_version(
            &v1,
            ReleaseKind::Rollback,
            &who("carol"),
            13,
            &|st: &ReleaseState| {
                assert!(st.target_released);
                assert_eq!(st.target_approval, Some(approval_status::APPROVED));
                assert_eq!(st.online.as_ref().unwrap().version, v2);
                Ok(())
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.kind, ReleaseKind::Rollback);
    assert_eq!(s.online_version(a).await.unwrap(), Some(back.clone()));
    assert_eq!(
        s.release_history(a).await.unwrap(),
        vec![back.clone(), second.clone(), first.clone()],
        "newest first"
    );
    assert_eq!(
        s.get_mini_program(PLATFORM, a)
            .await
            .unwrap()
            .unwrap()
            .online,
        Some((v1.mnp_version_id, "1.0.0".to_string()))
    );
    // A refused rollback writes nothing either.
    assert!(matches!(
        s.change_online_version(
            &v3,
            ReleaseKind::Rollback,
            &who("carol"),
            14,
            &|_: &ReleaseState| { Err(DomainError::RollbackRefused("no".into())) }
        )
        .await
        .unwrap(),
        Err(DomainError::RollbackRefused(_))
    ));
    assert_eq!(s.release_history(a).await.unwrap().len(), 3);
    // A rollback does not count as a release of its target.
    let flag = std::sync::Mutex::new(None);
    s.change_online_version(
        &v3,
        ReleaseKind::Rollback,
        &who("carol"),
        14,
        &|st: &ReleaseState| {
            *flag.lock().unwrap() = Some(st.target_released);
            Ok(())
        },
    )
    .await
    .unwrap()
    .unwrap();
    s.change_online_version(
        &v3,
        ReleaseKind::Release,
        &who("carol"),
        15,
        &|st: &ReleaseState| {
            *flag.lock().unwrap() = Some(st.target_released);
            Ok(())
        },
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        flag.lock().unwrap().take(),
        Some(false),
        "rolled back to, never released"
    );
    assert_eq!(s.release_history(a).await.unwrap().len(), 5);

    // A removed mini program stays removed.
    assert!(s
        .set_mini_program_status(PLATFORM, a, 2, "bob", 20)
        .await
        .unwrap());
    s.change_online_version(
        &v2,
        ReleaseKind::Rollback,
        &who("carol"),
        21,
        &|_: &ReleaseState| Ok(()),
    )
    .await
    .unwrap()
    .unwrap();
    let mp = s.get_mini_program(PLATFORM, a).await.unwrap().unwrap();
    assert_eq!(mp.mini_program.status, 2);
    assert!(!mp.is_served());

    assert!(s.clear_online_version(a).await.unwrap());
    assert!(!s.clear_online_version(a).await.unwrap());
    assert_eq!(s.online_version(a).await.unwrap(), None);
    assert_eq!(
        s.get_mini_program(PLATFORM, a)
            .await
            .unwrap()
            .unwrap()
            .online,
        None
    );
    assert_eq!(
        s.release_history(a).await.unwrap().len(),
        6,
        "history stays"
    );
    // Online again after clearing.
    let again = s
        .change_online_version(
            &v3,
            ReleaseKind::Rollback,
            &who("carol"),
            22,
            &|st: &ReleaseState| {
                assert_eq!(st.online, None);
                Ok(())
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.online_version(a).await.unwrap(), Some(again));
}

pub async fn previews_are_set_refused_and_cleared(s: Store) {
    let (_a, _p, t) = seed(&s).await;
    let a = "mpaaaaaaaaaaaaaa";
    s.insert_mini_program(&mini(a, "Shop", &t, 1))
        .await
        .unwrap();
    let v1 = version(&s, a, "2024082016302500001", "1.0.0").await;
    let v2 = version(&s, a, "2024082016302500002", "1.1.0").await;
    assert_eq!(s.previews(a).await.unwrap(), vec![]);
    let preview = |kind, v: &Version, path: &str, at| Preview {
        mnp_id: a.into(),
        kind,
        mnp_version_id: v.mnp_version_id,
        entrance_path: path.into(),
        updated_at: at,
    };
    // The rule of the domain: another version while one is set is refused.
    let one_at_a_time = |p: &Preview| {
        let id = p.mnp_version_id;
        move |current: Option<&Preview>| match current {
            Some(c) if c.mnp_version_id != id => {
                Err(DomainError::ShowcaseExists("another version".into()))
            }
            _ => Ok(()),
        }
    };
    let p1 = preview(PreviewKind::Preview, &v1, "pages/index/index", 2);
    s.set_preview(&p1, &one_at_a_time(&p1))
        .await
        .unwrap()
        .unwrap();
    let t2 = preview(PreviewKind::Trial, &v2, "pages/index/index?x=1", 3);
    s.set_preview(&t2, &|current: Option<&Preview>| {
        assert_eq!(current, None, "kinds are apart");
        Ok(())
    })
    .await
    .unwrap()
    .unwrap();
    let p2 = preview(PreviewKind::Preview, &v2, "pages/index/index", 4);
    assert!(matches!(
        s.set_preview(&p2, &one_at_a_time(&p2)).await.unwrap(),
        Err(DomainError::ShowcaseExists(_))
    ));
    assert_eq!(s.previews(a).await.unwrap(), vec![p1.clone(), t2.clone()]);
    let p1b = preview(PreviewKind::Preview, &v1, "pages/other/other", 5);
    s.set_preview(&p1b, &|current: Option<&Preview>| {
        assert_eq!(current, Some(&p1));
        Ok(())
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        s.previews(a).await.unwrap(),
        vec![p1b.clone(), t2.clone()],
        "by kind: preview, then trial"
    );
    assert!(!s
        .clear_preview(a, PreviewKind::Preview, v2.mnp_version_id)
        .await
        .unwrap());
    assert!(!s
        .clear_preview(a, PreviewKind::Trial, v1.mnp_version_id)
        .await
        .unwrap());
    assert!(s
        .clear_preview(a, PreviewKind::Preview, v1.mnp_version_id)
        .await
        .unwrap());
    assert_eq!(s.previews(a).await.unwrap(), vec![t2]);
    s.set_preview(&p2, &one_at_a_time(&p2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.previews(a).await.unwrap()[0], p2);
    assert_eq!(s.previews("mpnone").await.unwrap(), vec![]);
}

pub async fn settings_are_initialised_once(s: Store) {
    assert_eq!(
        s.setting_or_init("url_key", "first").await.unwrap(),
        "first"
    );
    assert_eq!(
        s.setting_or_init("url_key", "second").await.unwrap(),
        "first"
    );
    assert_eq!(
        s.setting_or_init("other", "second").await.unwrap(),
        "second"
    );
    assert_eq!(s.setting_or_init("url_key", "").await.unwrap(), "first");
}

/// A mini program with a recorded version, for the races.
async fn mini_program_with_version(s: &Store) -> Version {
    let (_a, _p, t) = seed(s).await;
    s.insert_mini_program(&mini("mpaaaaaaaaaaaaaa", "Shop", &t, 1))
        .await
        .unwrap();
    version(s, "mpaaaaaaaaaaaaaa", "2024082016302500000", "1.0.0").await
}

pub async fn concurrent_claims_hand_out_each_task_once(s: Store) {
    let (_a, _p, t) = seed(&s).await;
    s.insert_mini_program(&mini("mpaaaaaaaaaaaaaa", "Shop", &t, 1))
        .await
        .unwrap();
    for i in 0..5 {
        s.insert_task_checked(
            &pending(
                &format!("202408201630250000{i}"),
                "mpaaaaaaaaaaaaaa",
                &format!("1.0.{i}"),
                i,
            ),
            &accept_all,
        )
        .await
        .unwrap();
    }
    let claims = race(8, |i| {
        let s = s.clone();
        async move { s.claim_task(&format!("w{i}"), 10, 60).await.unwrap() }
    })
    .await;
    let claimed: Vec<&Task> = claims.iter().flatten().collect();
    assert_eq!(claimed.len(), 5, "{claims:?}");
    let ids: HashSet<&str> = claimed.iter().map(|t| t.task_id.as_str()).collect();
    assert_eq!(ids.len(), 5, "each task once: {claims:?}");
    for (i, claim) in claims.iter().enumerate() {
        if let Some(task) = claim {
            let stored = s.get_task(&task.task_id).await.unwrap().unwrap();
            assert_eq!((stored.status, stored.attempts), (TaskStatus::Running, 1));
            // Only the claimer can finish it.
            let other = format!("w{}", (i + 1) % 8);
            assert!(!s.fail_task(&task.task_id, &other, "x", 11).await.unwrap());
            assert!(s
                .fail_task(&task.task_id, &format!("w{i}"), "x", 11)
                .await
                .unwrap());
        }
    }
    assert!(s.claim_task("late", 12, 60).await.unwrap().is_none());
}

pub async fn concurrent_submissions_leave_one_open_approval(s: Store) {
    let v = mini_program_with_version(&s).await;
    let results = race(6, |i| {
        let s = s.clone();
        let a = approval(
            &format!("aud000000000000000{i}"),
            &v,
            &["app-aaaaaaaaaa", "app-bbbbbbbbbb"],
            approval_status::PROCESSING,
            10 + i as i64,
        );
        async move { s.insert_approval(&a).await }
    })
    .await;
    let won: Vec<usize> = (0..6).filter(|i| results[*i].is_ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    for r in results.iter().filter(|r| r.is_err()) {
        assert_eq!(r, &Err(StoreError::Conflict("open".into())));
    }
    let open = s
        .latest_approval_of_mini_program("mpaaaaaaaaaaaaaa")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(open.approval_no, format!("aud000000000000000{}", won[0]));
    assert_eq!(open.items.len(), 2);
    let (n, _) = s
        .list_approvals(&ApprovalQuery {
            platform_id: PLATFORM.into(),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(n, 2, "the losers left no items");
}

pub async fn concurrent_releases_of_one_version_release_it_once(s: Store) {
    let v = mini_program_with_version(&s).await;
    s.insert_approval(&approval(
        "aud0000000000000001",
        &v,
        &["app-aaaaaaaaaa"],
        approval_status::APPROVED,
        5,
    ))
    .await
    .unwrap();
    let results = race(6, |i| {
        let s = s.clone();
        let v = v.clone();
        async move {
            s.change_online_version(
                &v,
                ReleaseKind::Release,
                &who(&format!("u{i}")),
                10 + i as i64,
                &|st: &ReleaseState| {
                    if st.target_released {
                        Err(DomainError::AlreadyReleased("released before".into()))
                    } else {
                        Ok(())
                    }
                },
            )
            .await
            .unwrap()
        }
    })
    .await;
    let won: Vec<&ReleaseRecord> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    for r in &results {
        if let Err(e) = r {
            assert!(matches!(e, DomainError::AlreadyReleased(_)), "{e:?}");
        }
    }
    assert_eq!(
        s.release_history(&v.new.mnp_id).await.unwrap(),
        vec![won[0].clone()]
    );
    assert_eq!(
        s.online_version(&v.new.mnp_id).await.unwrap(),
        Some(won[0].clone())
    );
}

pub async fn concurrent_task_inserts_keep_the_version_order(s: Store) {
    let (_a, _p, t) = seed(&s).await;
    s.insert_mini_program(&mini("mpaaaaaaaaaaaaaa", "Shop", &t, 1))
        .await
        .unwrap();
    let results = race(6, |i| {
        let s = s.clone();
        let task = pending(
            &format!("202408201630250000{i}"),
            "mpaaaaaaaaaaaaaa",
            "1.0.0",
            1,
        );
        async move {
            s.insert_task_checked(&task, &|live: &[String]| {
                if live.iter().any(|v| v == "1.0.0") {
                    Err("exists".to_string())
                } else {
                    Ok(())
                }
            })
            .await
        }
    })
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for r in results.iter().filter(|r| r.is_err()) {
        assert_eq!(r, &Err(StoreError::Conflict("exists".into())));
    }
    assert_eq!(
        s.live_version_numbers("mpaaaaaaaaaaaaaa").await.unwrap(),
        vec!["1.0.0".to_string()]
    );
}

pub async fn concurrent_approval_decisions_are_all_kept(s: Store) {
    let v = mini_program_with_version(&s).await;
    let apps: Vec<String> = (0..6).map(|i| format!("app-{i:010}")).collect();
    let names: Vec<&str> = apps.iter().map(|a| a.as_str()).collect();
    s.insert_approval(&approval(
        "aud0000000000000001",
        &v,
        &names,
        approval_status::PROCESSING,
        5,
    ))
    .await
    .unwrap();
    let results = race(6, |i| {
        let s = s.clone();
        let app = apps[i].clone();
        async move {
            s.update_approval("aud0000000000000001", &|cur: &Approval| {
                decide_item(cur, &app, approval_status::APPROVED, 10 + i as i64)
            })
            .await
            .unwrap()
        }
    })
    .await;
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    let done = s
        .get_approval("aud0000000000000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, approval_status::APPROVED, "{done:?}");
    assert!(done
        .items
        .iter()
        .all(|i| i.status == approval_status::APPROVED && i.approval_user == Some(who("bob"))));
    let finals = results
        .iter()
        .filter(|r| r.as_ref().unwrap().status == approval_status::APPROVED)
        .count();
    assert_eq!(finals, 1, "exactly the last decision sees every approval");
}

pub async fn concurrent_previews_set_one_version(s: Store) {
    let (_a, _p, t) = seed(&s).await;
    let a = "mpaaaaaaaaaaaaaa";
    s.insert_mini_program(&mini(a, "Shop", &t, 1))
        .await
        .unwrap();
    let mut versions = Vec::new();
    for i in 0..6 {
        versions.push(
            version(
                &s,
                a,
                &format!("202408201630250000{i}"),
                &format!("1.0.{i}"),
            )
            .await,
        );
    }
    let results = race(6, |i| {
        let s = s.clone();
        let p = Preview {
            mnp_id: a.into(),
            kind: PreviewKind::Trial,
            mnp_version_id: versions[i].mnp_version_id,
            entrance_path: "pages/index/index".into(),
            updated_at: 10,
        };
        async move {
            s.set_preview(&p, &|current: Option<&Preview>| match current {
                Some(c) if c.mnp_version_id != p.mnp_version_id => {
                    Err(DomainError::ShowcaseExists("another version".into()))
                }
                _ => Ok(()),
            })
            .await
            .unwrap()
        }
    })
    .await;
    let won: Vec<usize> = (0..6).filter(|i| results[*i].is_ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    let previews = s.previews(a).await.unwrap();
    assert_eq!(previews.len(), 1);
    assert_eq!(previews[0].mnp_version_id, versions[won[0]].mnp_version_id);
}

pub async fn concurrent_settings_agree(s: Store) {
    let values = race(6, |i| {
        let s = s.clone();
        async move {
            s.setting_or_init("url_key", &format!("v{i}"))
                .await
                .unwrap()
        }
    })
    .await;
    assert!(values.iter().all(|v| v == &values[0]), "{values:?}");
    assert_eq!(
        s.setting_or_init("url_key", "late").await.unwrap(),
        values[0]
    );
}

/// A worker completing a task while the mini program is deleted: either
/// the version is recorded and then deleted, or the completion finds the
/// task gone; never an error (a deadlock would be one).
pub async fn concurrent_completion_and_deletion_both_finish(s: Store) {
    let (_a, _p, t) = seed(&s).await;
    for round in 0..5i64 {
        let mnp = format!("mp{round:014}");
        s.insert_mini_program(&mini(&mnp, &mnp, &t, round))
            .await
            .unwrap();
        let task = pending(&format!("2024082016302500{round:03}"), &mnp, "1.0.0", round);
        s.insert_task_checked(&task, &accept_all).await.unwrap();
        assert_eq!(
            s.claim_task("w", 10, 60).await.unwrap().unwrap().task_id,
            task.task_id
        );
        let results = race(2, |i| {
            let s = s.clone();
            let task = task.clone();
            async move {
                if i == 0 {
                    s.complete_task(&task.task_id, "w", &version_of(&task), 11)
                        .await
                        .map(|id| id.is_some())
                } else {
                    s.delete_mini_program(PLATFORM, &task.mnp_id).await
                }
            }
        })
        .await;
        assert_eq!(results[1], Ok(true), "deleted");
        assert!(results[0].is_ok(), "{results:?}");
        assert_eq!(s.get_task(&task.task_id).await.unwrap(), None);
        assert_eq!(s.latest_version(&mnp).await.unwrap(), None);
    }
}

pub async fn uploads_are_recorded_once_found_expired_and_deleted(s: Store) {
    let (a, _p, t) = seed(&s).await;
    let hash = |c: char| c.to_string().repeat(64);
    let upload = |key: &str, sha: char, expires_at: i64| Upload {
        key: key.into(),
        account_id: a.id,
        sha256: hash(sha),
        size: 10,
        created_at: 1,
        expires_at,
    };
    let keys = |v: Vec<Upload>| v.into_iter().map(|u| u.key).collect::<Vec<_>>();

    // One key, one package: the same bytes again change nothing, others
    // are refused.
    let first = upload("tcmpp/aa.zip", 'c', 100);
    s.insert_upload(&first).await.unwrap();
    s.insert_upload(&upload("tcmpp/aa.zip", 'c', 200))
        .await
        .unwrap();
    assert_eq!(s.get_upload("tcmpp/aa.zip").await.unwrap(), Some(first));
    assert_eq!(
        s.insert_upload(&upload("tcmpp/aa.zip", 'd', 100)).await,
        Err(StoreError::Conflict("upload".into()))
    );
    assert_eq!(s.get_upload("tcmpp/none.zip").await.unwrap(), None);

    s.insert_upload(&upload("tcmpp/bb.zip", 'd', 300))
        .await
        .unwrap();
    s.insert_upload(&upload("tcmpp/cc.zip", 'd', 50))
        .await
        .unwrap();
    assert_eq!(
        keys(s.expired_uploads(150, 10).await.unwrap()),
        ["tcmpp/cc.zip", "tcmpp/aa.zip"]
    );
    assert_eq!(
        keys(s.expired_uploads(150, 1).await.unwrap()),
        ["tcmpp/cc.zip"]
    );
    assert!(s.expired_uploads(50, 10).await.unwrap().is_empty());

    // An upload needs its package until it expires.
    assert!(s.blob_needed(&hash('c'), 100).await.unwrap());
    assert!(!s.blob_needed(&hash('c'), 101).await.unwrap());
    assert!(s.blob_needed(&hash('d'), 300).await.unwrap());
    assert!(!s.blob_needed(&hash('e'), 0).await.unwrap());
    // A version's package is needed whatever the time; a failed task's is not.
    s.insert_mini_program(&mini("mpaaaaaaaaaaaaaa", "Shop", &t, 1))
        .await
        .unwrap();
    version(&s, "mpaaaaaaaaaaaaaa", "2024082016302500000", "1.0.0").await;
    assert!(s.blob_needed(&hash('b'), i64::MAX).await.unwrap());
    let failing = Task {
        sha256: hash('f'),
        ..pending("2024082016302500001", "mpaaaaaaaaaaaaaa", "1.0.1", 4)
    };
    s.insert_task_checked(&failing, &accept_all).await.unwrap();
    assert!(s.blob_needed(&hash('f'), 0).await.unwrap());
    s.claim_task("w", 5, 60).await.unwrap().unwrap();
    assert!(s
        .fail_task(&failing.task_id, "w", "invalid", 6)
        .await
        .unwrap());
    assert!(!s.blob_needed(&hash('f'), 0).await.unwrap());

    // Uploads count as references until deleted.
    let referenced = s.referenced_blobs().await.unwrap();
    assert!(referenced.contains(&hash('c')) && referenced.contains(&hash('d')));
    assert!(s.delete_upload("tcmpp/aa.zip").await.unwrap());
    assert!(!s.delete_upload("tcmpp/aa.zip").await.unwrap());
    assert_eq!(s.get_upload("tcmpp/aa.zip").await.unwrap(), None);
    assert!(!s.referenced_blobs().await.unwrap().contains(&hash('c')));
}

/// Failed tasks wait for their package to be collected, earliest failure
/// first, until one caller marks each; succeeded and live tasks never wait.
pub async fn failed_tasks_are_handed_to_collection_once(s: Store) {
    let (_a, _p, t) = seed(&s).await;
    s.insert_mini_program(&mini("mpaaaaaaaaaaaaaa", "Shop", &t, 1))
        .await
        .unwrap();
    for (id, number) in [
        ("2024082016302500001", "1.0.0"),
        ("2024082016302500002", "1.0.1"),
        ("2024082016302500003", "1.0.2"),
        ("2024082016302500004", "1.0.3"),
    ] {
        s.insert_task_checked(&pending(id, "mpaaaaaaaaaaaaaa", number, 1), &accept_all)
            .await
            .unwrap();
    }
    assert!(s.failed_tasks_to_collect(10).await.unwrap().is_empty());
    // 1 and 3 fail (3 first), 2 succeeds, 4 stays pending.
    let mut claimed = Vec::new();
    for at in [10, 11, 12] {
        claimed.push(s.claim_task("w1", at, 60).await.unwrap().unwrap());
    }
    assert!(s
        .fail_task(&claimed[2].task_id, "w1", "bad", 20)
        .await
        .unwrap());
    assert!(s
        .fail_task(&claimed[0].task_id, "w1", "bad", 21)
        .await
        .unwrap());
    s.complete_task(&claimed[1].task_id, "w1", &version_of(&claimed[1]), 22)
        .await
        .unwrap()
        .unwrap();
    let waiting: Vec<String> = s
        .failed_tasks_to_collect(10)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.task_id)
        .collect();
    assert_eq!(waiting, ["2024082016302500003", "2024082016302500001"]);
    assert_eq!(s.failed_tasks_to_collect(1).await.unwrap().len(), 1);
    assert!(s
        .mark_package_collected("2024082016302500003", 30)
        .await
        .unwrap());
    assert!(!s
        .mark_package_collected("2024082016302500003", 31)
        .await
        .unwrap());
    // Only failed tasks are marked.
    assert!(!s
        .mark_package_collected("2024082016302500002", 31)
        .await
        .unwrap());
    let waiting = s.failed_tasks_to_collect(10).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].task_id, "2024082016302500001");
    assert_eq!(waiting[0].status, TaskStatus::Failed);
}

pub async fn package_deletions_are_seen_until_ended(s: Store) {
    let (sha_a, sha_b) = ("a".repeat(64), "b".repeat(64));
    assert!(!s.package_deletion_pending(&sha_a, 0).await.unwrap());
    let first = s.begin_package_deletion(&sha_a, 100).await.unwrap();
    let second = s.begin_package_deletion(&sha_a, 150).await.unwrap();
    assert_ne!(first, second);
    let stale = s.begin_package_deletion(&sha_b, 10).await.unwrap();
    assert!(s.package_deletion_pending(&sha_a, 100).await.unwrap());
    assert!(s.package_deletion_pending(&sha_b, 0).await.unwrap());
    // Begun before `since`: a node that died mid-sweep; nobody waits.
    assert!(!s.package_deletion_pending(&sha_b, 11).await.unwrap());
    s.end_package_deletion(first, 0).await.unwrap();
    assert!(
        s.package_deletion_pending(&sha_a, 100).await.unwrap(),
        "the second still runs"
    );
    // Ending one also forgets every deletion begun before `stale_before`.
    s.end_package_deletion(second, 50).await.unwrap();
    assert!(!s.package_deletion_pending(&sha_a, 0).await.unwrap());
    assert!(!s.package_deletion_pending(&sha_b, 0).await.unwrap());
    s.end_package_deletion(stale, 0).await.unwrap();
}

pub async fn a_reset_platform_keeps_only_its_default_team_and_others_keep_everything(s: Store) {
    let (default, second, other) = seed_teams(&s).await;
    let account_id = s.get_platform(PLATFORM).await.unwrap().unwrap().account_id;
    let (a, theirs) = ("mpaaaaaaaaaaaaaa", "mpcccccccccccccc");
    // On the second team, so the team goes only after what names it.
    s.insert_mini_program(&mini(a, "Shop", &second, 1))
        .await
        .unwrap();
    s.insert_mini_program(&mini(theirs, "Shop", &other, 1))
        .await
        .unwrap();
    let v1 = version(&s, a, "2024082016302500001", "1.0.0").await;
    let v2 = version(&s, a, "2024082016302500002", "1.1.0").await;
    let kept = version(&s, theirs, "2024082016302500009", "1.0.0").await;
    s.insert_application(&app("app-aaaaaaaaaa", "Host", &second, 1))
        .await
        .unwrap();
    let running = records_of_every_kind(&s, a, &v1, &v2).await;

    assert_eq!(
        s.reset_platform(PLATFORM).await.unwrap(),
        vec!["b".repeat(64)],
        "the packages its tasks named, once"
    );
    let listed = |platform_id: &str| MiniProgramQuery {
        platform_id: platform_id.into(),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(s.list_mini_programs(&listed(PLATFORM)).await.unwrap().0, 0);
    for task_id in [&v1.new.task_id, &v2.new.task_id, &running.task_id] {
        assert_eq!(s.get_task(task_id).await.unwrap(), None, "{task_id}");
    }
    assert!(s.get_version(v1.mnp_version_id).await.unwrap().is_none());
    assert!(s
        .get_approval("audaaaaaaaaaaaaaaa")
        .await
        .unwrap()
        .is_none());
    assert!(s.online_version(a).await.unwrap().is_none());
    assert!(s.previews(a).await.unwrap().is_empty());
    assert!(s
        .list_platform_applications(PLATFORM)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.get_team(&second.team_id).await.unwrap(), None);
    assert_eq!(
        s.default_team(PLATFORM).await.unwrap(),
        Some(default.clone())
    );
    // The other platform keeps everything.
    assert_eq!(
        s.list_mini_programs(&listed(&other.platform_id))
            .await
            .unwrap()
            .0,
        1
    );
    assert!(s.get_version(kept.mnp_version_id).await.unwrap().is_some());
    assert_eq!(s.get_team(&other.team_id).await.unwrap(), Some(other));
    // The same names and numbers are free again.
    s.insert_mini_program(&mini(a, "Shop", &default, 9))
        .await
        .unwrap();
    version(&s, a, "2024082016302500011", "1.0.0").await;

    let upload = Upload {
        key: "biz/one.zip".into(),
        account_id,
        sha256: "c".repeat(64),
        size: 3,
        created_at: 1,
        expires_at: 100,
    };
    s.insert_upload(&upload).await.unwrap();
    assert_eq!(
        s.delete_uploads_of(account_id).await.unwrap(),
        vec!["c".repeat(64)]
    );
    assert!(s.get_upload(&upload.key).await.unwrap().is_none());
    assert!(s.delete_uploads_of(account_id).await.unwrap().is_empty());
}

pub async fn domains_are_checked_against_the_lists_in_the_writing_transaction(s: Store) {
    let (_a, p, t) = seed(&s).await;
    let mnp = "mpdddddddddddddd";
    s.insert_mini_program(&mini(mnp, "Net", &t, 1))
        .await
        .unwrap();
    let entry = |t: i64, host: &str| (t, format!("https://{host}"), host.to_string());
    let change = |replaced: Vec<i64>, entries| DomainChange {
        platform_id: p.platform_id.clone(),
        mnp_id: mnp.into(),
        replaced_types: replaced,
        entries,
        user: "u".into(),
        now: 5,
    };
    let add = change(
        vec![],
        vec![entry(1, "a.example.com"), entry(1, "b.example.com")],
    );
    assert_eq!(
        s.change_mini_program_domains(&add).await.unwrap(),
        DomainWrite::Written
    );
    assert_eq!(
        s.change_mini_program_domains(&change(vec![], vec![entry(1, "a.example.com")]))
            .await
            .unwrap(),
        DomainWrite::Repeated(vec!["https://a.example.com".into()])
    );
    let before = s.mini_program_domains(mnp).await.unwrap();
    let a_id = before[0].domain_id;
    assert_eq!(
        s.domain_team(&p.platform_id, a_id).await.unwrap(),
        Some(t.team_id.clone())
    );
    assert_eq!(s.domain_team(OTHER_PLATFORM, a_id).await.unwrap(), None);
    assert_eq!(
        s.domain_team(&p.platform_id, a_id + 1000).await.unwrap(),
        None
    );
    assert!(s.set_domain_status(&p.platform_id, a_id, 2).await.unwrap());
    assert!(!s.set_domain_status(OTHER_PLATFORM, a_id, 2).await.unwrap());
    // Replacing keeps a remaining entry's id and status, drops the rest.
    let keep_a = change(
        vec![1],
        vec![entry(1, "a.example.com"), entry(1, "c.example.com")],
    );
    assert_eq!(
        s.change_mini_program_domains(&keep_a).await.unwrap(),
        DomainWrite::Written
    );
    let after = s.mini_program_domains(mnp).await.unwrap();
    let urls: Vec<_> = after.iter().map(|d| (d.url.as_str(), d.status)).collect();
    assert_eq!(
        urls,
        [("https://a.example.com", 2), ("https://c.example.com", 1)]
    );
    assert_eq!(after[0].domain_id, a_id);

    let hosts = |h: &[&str]| h.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let black = hosts(&["example.com"]);
    assert_eq!(
        s.add_global_domains(&p.platform_id, 2, &black, "u", 6)
            .await
            .unwrap(),
        DomainWrite::Written
    );
    assert_eq!(
        s.add_global_domains(&p.platform_id, 1, &black, "u", 6)
            .await
            .unwrap(),
        DomainWrite::Black(black.clone())
    );
    // The black list covers subdomains: the whole change is refused.
    assert_eq!(
        s.change_mini_program_domains(&change(vec![], vec![entry(3, "d.example.com")]))
            .await
            .unwrap(),
        DomainWrite::Black(vec!["https://d.example.com".into()])
    );
    let listed = s.global_domains(&p.platform_id).await.unwrap();
    let id = listed[0].domain_id;
    assert_eq!(
        s.rename_global_domain(&p.platform_id, id, "other.net", "v", 7)
            .await
            .unwrap(),
        Some(DomainWrite::Written)
    );
    assert_eq!(
        s.rename_global_domain(OTHER_PLATFORM, id, "x.net", "v", 7)
            .await
            .unwrap(),
        None
    );
    let (n, page) = s
        .list_global_domains(&GlobalDomainQuery {
            platform_id: p.platform_id.clone(),
            list_types: vec![2],
            keyword: Some("OTHER".into()),
            offset: 0,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(
        (n, page[0].host.as_str(), page[0].update_user.as_str()),
        (1, "other.net", "v")
    );
    let (n, rows) = s
        .team_domains(&p.platform_id, &t.team_id, 0, 1)
        .await
        .unwrap();
    assert_eq!((n, rows.len(), rows[0].mnp_name.as_str()), (2, 1, "Net"));
    assert!(!s.delete_global_domain(OTHER_PLATFORM, id).await.unwrap());
    assert!(s.delete_global_domain(&p.platform_id, id).await.unwrap());
    // Deleting the mini program deletes its domains.
    assert!(s.delete_mini_program(&p.platform_id, mnp).await.unwrap());
    assert!(s.mini_program_domains(mnp).await.unwrap().is_empty());
}

/// The export without release numbers, which an import gives anew.
fn without_release_ids(tables: Vec<FixtureTable>) -> Vec<FixtureTable> {
    tables
        .into_iter()
        .map(|mut t| {
            for row in &mut t.rows {
                row.remove("release_id");
            }
            t
        })
        .collect()
}

fn json_of(tables: &[FixtureTable]) -> serde_json::Value {
    serde_json::to_value(tables).unwrap()
}

pub async fn an_account_comes_back_from_its_export_with_its_ids_or_not_at_all(s: Store) {
    let (_, second, other) = seed_teams(&s).await;
    let account_id = s.get_platform(PLATFORM).await.unwrap().unwrap().account_id;
    let a = "mpaaaaaaaaaaaaaa";
    s.insert_mini_program(&mini(a, "Shop", &second, 1))
        .await
        .unwrap();
    s.insert_mini_program(&mini("mpbbbbbbbbbbbbbb", "Other", &other, 2))
        .await
        .unwrap();
    let v1 = version(&s, a, "2024082016302500001", "1.0.0").await;
    let v2 = version(&s, a, "2024082016302500002", "1.1.0").await;
    s.insert_application(&app("app-aaaaaaaaaa", "Host", &second, 1))
        .await
        .unwrap();
    records_of_every_kind(&s, a, &v1, &v2).await;
    let exported = s.export_account(account_id).await.unwrap();
    let count = |table: &str| {
        exported
            .iter()
            .find(|t| t.table == table)
            .map_or(0, |t| t.rows.len())
    };
    assert_eq!(
        (count("platforms"), count("teams"), count("mini_programs")),
        (2, 3, 2)
    );
    assert!(count("versions") == 2 && count("approvals") >= 1 && count("releases") >= 1);

    for platform in [PLATFORM, other.platform_id.as_str()] {
        s.reset_platform(platform).await.unwrap();
    }
    s.import_account(account_id, &exported)
        .await
        .unwrap()
        .unwrap();
    let again = s.export_account(account_id).await.unwrap();
    assert_eq!(
        json_of(&without_release_ids(again.clone())),
        json_of(&without_release_ids(exported.clone()))
    );
    // A task running at the export runs again: its lease is not carried.
    assert_eq!(
        s.claim_task("w", 2, 60).await.unwrap().unwrap().task_id,
        "2024082016302500003"
    );
    // The counters are past the imported numbers.
    let v3 = version(&s, a, "2024082016302500004", "1.2.0").await;
    assert!(v3.mnp_version_id > v2.mnp_version_id);

    // Another account may not take these IDs.
    let b = s.create_account("bob", 1).await.unwrap();
    assert!(matches!(
        s.import_account(b.id, &exported).await.unwrap(),
        Err(ImportRefusal::Collision(_))
    ));
    // A record naming one outside the file changes nothing.
    let mut stray = exported.clone();
    let tasks = stray.iter_mut().find(|t| t.table == "tasks").unwrap();
    tasks.rows[0].insert("mnp_id".into(), "mpzzzzzzzzzzzzzz".into());
    let before = json_of(&s.export_account(account_id).await.unwrap());
    assert!(matches!(
        s.import_account(account_id, &stray).await.unwrap(),
        Err(ImportRefusal::Invalid(_))
    ));
    let mut unknown = exported.clone();
    unknown[0].rows[0].insert("account_id".into(), 1.into());
    assert!(matches!(
        s.import_account(account_id, &unknown).await.unwrap(),
        Err(ImportRefusal::Invalid(_))
    ));
    assert_eq!(
        json_of(&s.export_account(account_id).await.unwrap()),
        before
    );
}

fn sensitive(api_id: &str, app: &str, name: &str) -> SensitiveApi {
    SensitiveApi {
        api_id: api_id.into(),
        platform_id: PLATFORM.into(),
        application_id: app.into(),
        name: name.into(),
        description: format!("{name} of the host"),
        api_type: 1,
        status: 0,
        create_user: "u".into(),
        created_at: 1,
        update_user: "u".into(),
        updated_at: 1,
    }
}

fn permission_request(no: &str, mnp: &str, api: &SensitiveApi) -> PermissionRequest {
    PermissionRequest {
        approval_no: no.into(),
        platform_id: PLATFORM.into(),
        mnp_id: mnp.into(),
        application_id: api.application_id.clone(),
        api_id: api.api_id.clone(),
        api_name: api.name.clone(),
        api_desc: api.description.clone(),
        api_type: api.api_type,
        status: 1,
        apply_reason: "why".into(),
        apply_user: "u".into(),
        apply_time: 2,
        approval_user: String::new(),
        approval_time: 0,
        approval_note: String::new(),
    }
}

pub async fn sensitive_api_requests_follow_their_api_in_the_store(s: Store) {
    let (_a, _p, t) = seed(&s).await;
    let mnp = "mpssssssssssssss";
    s.insert_mini_program(&mini(mnp, "Shop", &t, 1))
        .await
        .unwrap();
    s.insert_application(&app("app-ssssssssss", "Host", &t, 1))
        .await
        .unwrap();
    let loc = sensitive("api-0000000000000001", "app-ssssssssss", "getLocation");
    let scan = sensitive("api-0000000000000002", "app-ssssssssss", "scanCode");
    assert!(s
        .insert_sensitive_apis(&[loc.clone(), scan.clone()])
        .await
        .unwrap()
        .is_empty());
    // A name taken in the application: nothing of the list is added.
    let again = sensitive("api-0000000000000003", "app-ssssssssss", "getLocation");
    let fresh = sensitive("api-0000000000000004", "app-ssssssssss", "payOrder");
    assert_eq!(
        s.insert_sensitive_apis(&[fresh, again]).await.unwrap(),
        vec!["getLocation".to_string()]
    );
    let q = SensitiveApiQuery {
        platform_id: PLATFORM.into(),
        offset: 0,
        limit: 10,
        ..SensitiveApiQuery::default()
    };
    let (total, listed) = s.list_sensitive_apis(&q).await.unwrap();
    assert_eq!(total, 2);
    assert_eq!(listed[0].api, scan, "newest first");
    // Not restricted yet: no request.
    let r1 = permission_request("20240101aaaaaaaaa1", mnp, &loc);
    assert_eq!(
        s.insert_permission_request(&r1).await.unwrap(),
        RequestWrite::ApiNotRestricted
    );
    for api in [&loc, &scan] {
        assert!(s
            .change_sensitive_api(
                PLATFORM,
                &api.api_id,
                SensitiveApiChange::Restrict,
                "u",
                "",
                3
            )
            .await
            .unwrap());
    }
    assert_eq!(
        s.insert_permission_request(&r1).await.unwrap(),
        RequestWrite::Written
    );
    let r2 = permission_request("20240101aaaaaaaaa2", mnp, &loc);
    assert!(matches!(
        s.insert_permission_request(&r2).await.unwrap(),
        RequestWrite::Live(live) if live.approval_no == r1.approval_no
    ));
    // A decision applies to a processing request only.
    let decided = s
        .decide_permission_request(&r1.approval_no, 30, "boss", "ok", 4)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((decided.status, decided.approval_time), (30, 4));
    let later = s
        .decide_permission_request(&r1.approval_no, 20, "boss", "no", 5)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(later.status, 30);
    let r3 = permission_request("20240101aaaaaaaaa3", mnp, &scan);
    s.insert_permission_request(&r3).await.unwrap();
    let grants = s.restricted_and_granted(PLATFORM, mnp).await.unwrap();
    assert_eq!(
        grants
            .iter()
            .map(|(a, g)| (a.name.as_str(), *g))
            .collect::<Vec<_>>(),
        vec![("getLocation", true), ("scanCode", false)]
    );
    // Lifting the restriction revokes the grant; deleting revokes the open one.
    assert!(s
        .change_sensitive_api(
            PLATFORM,
            &loc.api_id,
            SensitiveApiChange::Unrestrict,
            "v",
            "lifted",
            6
        )
        .await
        .unwrap());
    assert!(s
        .change_sensitive_api(
            PLATFORM,
            &scan.api_id,
            SensitiveApiChange::Delete,
            "v",
            "gone",
            6
        )
        .await
        .unwrap());
    for (no, note) in [(&r1.approval_no, "lifted"), (&r3.approval_no, "gone")] {
        let r = s.get_permission_request(no).await.unwrap().unwrap().request;
        assert_eq!(
            (r.status, r.approval_note.as_str(), r.approval_user.as_str()),
            (40, note, "v")
        );
    }
    assert!(s
        .restricted_and_granted(PLATFORM, mnp)
        .await
        .unwrap()
        .is_empty());
    assert!(s.granted_requests(mnp).await.unwrap().is_empty());
    assert!(!s
        .change_sensitive_api(
            OTHER_PLATFORM,
            &loc.api_id,
            SensitiveApiChange::Restrict,
            "v",
            "",
            7
        )
        .await
        .unwrap());
    let (n, rows) = s
        .list_permission_requests(&PermissionRequestQuery {
            platform_id: PLATFORM.into(),
            statuses: vec![40],
            keyword: Some("scan".into()),
            offset: 0,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!((n, rows[0].request.api_name.as_str()), (1, "scanCode"));
    let (n, lines) = s.mini_program_permissions(mnp, &q).await.unwrap();
    assert_eq!(n, 1);
    assert_eq!(lines[0].1.as_ref().map(|r| r.status), Some(40));
    // A reset clears the catalog and the requests; a fixture brings them back.
    let account_id = s.get_platform(PLATFORM).await.unwrap().unwrap().account_id;
    let exported = s.export_account(account_id).await.unwrap();
    s.reset_platform(PLATFORM).await.unwrap();
    assert_eq!(s.list_sensitive_apis(&q).await.unwrap().0, 0);
    assert!(s
        .get_permission_request(&r1.approval_no)
        .await
        .unwrap()
        .is_none());
    s.import_account(account_id, &exported)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.list_sensitive_apis(&q).await.unwrap().0, 1);
    let back = s
        .get_permission_request(&r1.approval_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((back.request.status, back.mnp_name.as_str()), (40, "Shop"));
}

fn signing_key(platform_id: &str, key_id: &str, generation: i64, at: i64) -> SigningKeyRecord {
    SigningKeyRecord {
        key_id: key_id.into(),
        platform_id: platform_id.into(),
        generation,
        private_key: format!("enc1:private-{key_id}"),
        public_key: format!("public-{key_id}"),
        created_at: at,
        not_after: None,
    }
}

pub async fn signing_keys_rotate_by_generation_and_retire_the_older_ones(s: Store) {
    let (_a, p, _t) = seed(&s).await;
    assert!(s.signing_keys(&p.platform_id).await.unwrap().is_empty());
    let first = signing_key(&p.platform_id, "00000000000000a1", 1, 10);
    s.insert_signing_key(&first, 999).await.unwrap();
    // Nothing older to retire: the first key is current.
    assert_eq!(
        s.signing_keys(&p.platform_id).await.unwrap(),
        vec![first.clone()]
    );

    // A second key of the same generation is refused, and changes nothing.
    let rival = signing_key(&p.platform_id, "00000000000000b1", 1, 11);
    assert!(matches!(
        s.insert_signing_key(&rival, 500).await,
        Err(StoreError::Conflict(_))
    ));
    // So is a key id that exists.
    let same_id = signing_key(&p.platform_id, "00000000000000a1", 2, 11);
    assert!(matches!(
        s.insert_signing_key(&same_id, 500).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.signing_keys(&p.platform_id).await.unwrap(),
        vec![first.clone()]
    );

    let second = signing_key(&p.platform_id, "00000000000000a2", 2, 20);
    s.insert_signing_key(&second, 120).await.unwrap();
    let third = signing_key(&p.platform_id, "00000000000000a3", 3, 30);
    s.insert_signing_key(&third, 130).await.unwrap();
    // Newest first; a retiring key keeps the end of its first overlap.
    assert_eq!(
        s.signing_keys(&p.platform_id).await.unwrap(),
        vec![
            third,
            SigningKeyRecord {
                not_after: Some(130),
                ..second
            },
            SigningKeyRecord {
                not_after: Some(120),
                ..first
            },
        ]
    );

    // Another platform's keys are its own, and a platform must exist.
    s.insert_platform(&Platform {
        platform_id: OTHER_PLATFORM.into(),
        account_id: p.account_id,
        name: "q".into(),
        expires_at: None,
        created_at: 1,
    })
    .await
    .unwrap();
    let other = signing_key(OTHER_PLATFORM, "00000000000000c1", 1, 40);
    s.insert_signing_key(&other, 140).await.unwrap();
    assert_eq!(s.signing_keys(OTHER_PLATFORM).await.unwrap(), vec![other]);
    assert_eq!(s.signing_keys(&p.platform_id).await.unwrap().len(), 3);
    assert!(s
        .insert_signing_key(&signing_key("TNOSUCHPLATFORM", "00000000000000d1", 1, 1), 1)
        .await
        .is_err());
    assert!(s.signing_keys("TNOSUCHPLATFORM").await.unwrap().is_empty());
}

pub async fn concurrent_first_signing_keys_leave_one(s: Store) {
    let (_a, p, _t) = seed(&s).await;
    let outcomes = race(6, |i| {
        let s = s.clone();
        let key = signing_key(&p.platform_id, &format!("{i:016}"), 1, 10);
        async move { s.insert_signing_key(&key, 10).await }
    })
    .await;
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, Ok(()) | Err(StoreError::Conflict(_)))));
    let keys = s.signing_keys(&p.platform_id).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].not_after, None);
}

fn new_rollout(permille: i64) -> NewRollout {
    NewRollout {
        permille,
        device_ids: vec!["dev-1".into()],
        failure_threshold_permille: 50,
        min_sample: 10,
    }
}

pub async fn gradual_releases_are_one_at_a_time_and_end_with_a_release(s: Store) {
    let v1 = mini_program_with_version(&s).await;
    let mnp = v1.new.mnp_id.clone();
    let v2 = version(&s, &mnp, "2024082016302500009", "1.1.0").await;
    let agree = |_: &ReleaseState| Ok(());
    s.change_online_version(&v1, ReleaseKind::Release, &who("alice"), 5, &agree)
        .await
        .unwrap()
        .unwrap();
    let seen = std::sync::Mutex::new(None);
    let started = s
        .start_rollout(
            &v2,
            &new_rollout(100),
            &who("alice"),
            6,
            &|st: &ReleaseState| {
                *seen.lock().unwrap() = Some(st.live_rollout.clone());
                Ok(())
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.lock().unwrap().take(), Some(None));
    assert_eq!(
        (started.state, started.permille, started.base_mnp_version_id),
        (RolloutState::Active, 100, Some(v1.mnp_version_id))
    );
    assert_eq!(s.live_rollout(&mnp).await.unwrap(), Some(started.clone()));
    // A second one is refused by the store itself when the check is raced.
    assert!(matches!(
        s.start_rollout(&v2, &new_rollout(100), &who("bob"), 7, &agree)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let grown = s
        .change_rollout(&mnp, &who("bob"), 8, &|r: &Rollout| {
            let mut u = RolloutUpdate::from(r, "modified");
            u.permille = 500;
            u.device_ids.push("dev-2".into());
            Ok(u)
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (grown.permille, grown.revision, grown.device_ids.len()),
        (500, 2, 2)
    );
    assert_eq!(
        s.get_rollout(started.rollout_id).await.unwrap(),
        Some(grown.clone())
    );
    assert_eq!(
        s.live_rollout_counts().await.unwrap(),
        vec![(RolloutState::Active, 1)]
    );
    // Promoting is a release of its version, which ends it as promoted.
    let seen_live = std::sync::Mutex::new(None);
    s.change_online_version(
        &v2,
        ReleaseKind::Release,
        &who("carol"),
        9,
        &|st: &ReleaseState| {
            *seen_live.lock().unwrap() = st.live_rollout.as_ref().map(|r| r.rollout_id);
            Ok(())
        },
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(seen_live.lock().unwrap().take(), Some(started.rollout_id));
    assert_eq!(s.live_rollout(&mnp).await.unwrap(), None);
    let ended = s.latest_rollout(&mnp).await.unwrap().unwrap();
    assert_eq!(
        (ended.state, ended.ended_at, ended.revision),
        (RolloutState::Promoted, Some(9), 3)
    );
    let events: Vec<String> = s
        .rollout_events(started.rollout_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| format!("{}:{}:{}", e.action, e.state.as_str(), e.actor.shown()))
        .collect();
    assert_eq!(
        events,
        [
            "started:active:alice",
            "modified:active:bob",
            "promoted:promoted:carol"
        ]
    );
    // Without a live one, a change is refused with the reason.
    assert!(matches!(
        s.change_rollout(&mnp, &who("bob"), 10, &|r: &Rollout| Ok(
            RolloutUpdate::from(r, "x")
        ))
        .await
        .unwrap(),
        Err(DomainError::NoLiveRollout(_))
    ));
    let (total, page) = s.list_rollouts(PLATFORM, Some(&mnp), 0, 10).await.unwrap();
    assert_eq!((total, page.len()), (1, 1));
    assert_eq!(
        s.list_rollouts(PLATFORM, Some("mpzzzzzzzzzzzzzz"), 0, 10)
            .await
            .unwrap()
            .0,
        0
    );
}

pub async fn install_reports_are_counted_with_bounded_reasons(s: Store) {
    let v1 = mini_program_with_version(&s).await;
    let tally = |event, reason: Option<String>, count| InstallTally {
        mnp_id: v1.new.mnp_id.clone(),
        mnp_version_id: v1.mnp_version_id,
        rollout_id: 7,
        event,
        reason,
        count,
    };
    let mut batch = vec![
        tally(InstallEvent::Installed, None, 5),
        tally(InstallEvent::Downloaded, None, 6),
    ];
    for i in 0..(MAX_FAILURE_REASONS + 5) {
        batch.push(tally(
            InstallEvent::Failed,
            Some(format!("reason {i:02}")),
            1,
        ));
    }
    s.record_installs(&batch, 1_000).await.unwrap();
    s.record_installs(
        &[tally(InstallEvent::Failed, Some("reason 00".into()), 2)],
        1_400,
    )
    .await
    .unwrap();
    let counts = s.install_counts(v1.mnp_version_id, Some(7)).await.unwrap();
    assert_eq!(
        (counts.downloaded, counts.installed, counts.failed),
        (6, 5, MAX_FAILURE_REASONS + 5 + 2)
    );
    assert_eq!(counts.failure_reasons.len() as i64, MAX_FAILURE_REASONS + 1);
    assert_eq!(counts.failure_reasons[0], ("other".to_string(), 5));
    assert_eq!(counts.failure_reasons[1], ("reason 00".to_string(), 3));
    assert_eq!(
        s.install_counts(v1.mnp_version_id, Some(8)).await.unwrap(),
        InstallCounts::default()
    );
    assert_eq!(
        s.install_counts(v1.mnp_version_id, None)
            .await
            .unwrap()
            .installed,
        5
    );
    let series = s.adoption(&v1.new.mnp_id, 0).await.unwrap();
    let buckets: std::collections::BTreeSet<i64> = series.iter().map(|p| p.bucket_start).collect();
    assert_eq!(buckets.into_iter().collect::<Vec<_>>(), vec![900, 1200]);
    // Buckets past the keeping period go at the next report.
    s.record_installs(
        &[tally(InstallEvent::Launched, None, 1)],
        1_000 + SERIES_KEEP_SECS + 600,
    )
    .await
    .unwrap();
    assert!(s
        .adoption(&v1.new.mnp_id, 0)
        .await
        .unwrap()
        .iter()
        .all(|p| p.bucket_start > 1_400));
}
