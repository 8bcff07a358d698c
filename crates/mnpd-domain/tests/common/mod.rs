//! What the service tests share: the real SQLite store and package folder in
//! a temporary directory, a clock the test moves by hand, a file server on
//! loopback for `FileUrl`, and a bootstrapped account with a platform, its
//! default team and one mini program.
#![allow(dead_code)]

use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mnpd_backend::{FsBlobStore, SqliteStore};
use mnpd_domain::admin::Admin;
use mnpd_domain::application::{Applications, NewApplication, TYPE_FORMAL};
use mnpd_domain::approval::{Approvals, ItemDecision};
use mnpd_domain::clock::Clock;
use mnpd_domain::entity::approval_status::APPROVED;
use mnpd_domain::entity::{Actor, Approval, ApprovalListing, Caller, Task, TaskStatus};
use mnpd_domain::mini_program::{MiniPrograms, NewMiniProgram};
use mnpd_domain::release::Releases;
use mnpd_domain::store::{ApprovalQuery, ApprovalStore, BlobStore, TaskStore, VersionStore};
use mnpd_domain::task::{RunnerSettings, TaskRunner};
use mnpd_domain::version::{NewVersionRequest, Versions};
use mnpd_domain::DomainError;
use mnpd_fetch::{FetchLimits, Fetcher};
use time::OffsetDateTime;
use tokio::sync::{Barrier, Notify};

pub const SID: &str = "AKIDdomaintests";
pub const SKEY: &str = "domain-tests-secret-key";
pub const PLATFORM: &str = "TDOMAINTESTS";
pub const MNP_TYPE: &str = "Life Service->144_Lilliputian Services";
/// 2025-01-01T00:00:00Z, where every test's clock starts.
pub const START: i64 = 1_735_689_600;
/// The lease the runners of these tests take on a task.
pub const LEASE_SECS: i64 = 30;
/// Largest package the tests' fetcher downloads.
pub const MAX_PACKAGE_BYTES: u64 = 64 * 1024;

/// Time that moves only when the test says so.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn unix(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.unix()).unwrap()
    }
}

pub fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(body.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The smallest package the validator accepts: one page.
pub fn good_package() -> Vec<u8> {
    zip_of(&[
        ("app.json", r#"{"pages":["pages/index/index"]}"#),
        ("app.js", "App({})"),
        ("pages/index/index.js", "Page({})"),
        ("pages/index/index.wxml", "<view/>"),
    ])
}

/// app.json names a page the archive does not have.
pub fn missing_page_package() -> Vec<u8> {
    zip_of(&[
        (
            "app.json",
            r#"{"pages":["pages/index/index","pages/gone/gone"]}"#,
        ),
        ("pages/index/index.js", "Page({})"),
        ("pages/index/index.wxml", "<view/>"),
    ])
}

/// A file server on loopback: `/bad-*` answers a package with a missing
/// page, `/big-*` more bytes than the fetcher takes, `/missing-*` 404, any
/// other name the good package (so distinct URLs can carry equal content).
async fn file_server() -> String {
    use axum::extract::Path;
    use axum::http::StatusCode;
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/{name}",
        get(|Path(name): Path<String>| async move {
            if name.starts_with("bad") {
                (StatusCode::OK, missing_page_package())
            } else if name.starts_with("big") {
                (StatusCode::OK, vec![0u8; MAX_PACKAGE_BYTES as usize + 1])
            } else if name.starts_with("missing") {
                (StatusCode::NOT_FOUND, Vec::new())
            } else {
                (StatusCode::OK, good_package())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

pub struct Env {
    pub store: Arc<SqliteStore>,
    pub blobs: Arc<FsBlobStore>,
    pub clock: Arc<ManualClock>,
    /// Woken by Versions::create when it records a task.
    pub work: Arc<Notify>,
    pub caller: Caller,
    pub platform_id: String,
    pub team_id: String,
    /// A mini program of the platform, with no version yet.
    pub mnp_id: String,
    /// Base URL of the loopback file server.
    pub files: String,
    pub dir: tempfile::TempDir,
}

impl Env {
    pub async fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(&dir.path().join("meta.db"))
                .await
                .unwrap(),
        );
        let blobs = Arc::new(FsBlobStore::open(dir.path()).unwrap());
        let clock = Arc::new(ManualClock(AtomicI64::new(START)));
        let boot = Admin::new(store.clone(), clock.clone())
            .bootstrap(Some(SID), Some(SKEY), Some(PLATFORM))
            .await
            .unwrap()
            .expect("an empty store is bootstrapped");
        let mut env = Env {
            store,
            blobs,
            clock,
            work: Arc::new(Notify::new()),
            caller: Caller {
                account_id: boot.account.id,
                secret_id: boot.key.key.secret_id.clone(),
                actor: Actor::User {
                    user_id: "1".into(),
                    account: "tester".into(),
                },
            },
            platform_id: boot.platform.platform_id,
            team_id: boot.team.team_id,
            mnp_id: String::new(),
            files: file_server().await,
            dir,
        };
        env.mnp_id = env.mini_program("Domain tests").await;
        env
    }

    /// Another mini program of the platform.
    pub async fn mini_program(&self, name: &str) -> String {
        MiniPrograms::new(self.store.clone(), self.clock.clone())
            .create(
                &self.caller,
                NewMiniProgram {
                    platform_id: self.platform_id.clone(),
                    team_id: None,
                    name: name.into(),
                    mnp_type: MNP_TYPE.into(),
                    icon: "https://example.com/icon.png".into(),
                    intro: "a mini program of the domain tests".into(),
                    desc: String::new(),
                },
            )
            .await
            .unwrap()
    }

    /// A host application of the platform; approvals need at least one.
    pub async fn application(&self, name: &str) -> String {
        Applications::new(self.store.clone(), self.clock.clone())
            .create(
                &self.caller,
                NewApplication {
                    platform_id: self.platform_id.clone(),
                    team_id: self.team_id.clone(),
                    name: name.into(),
                    logo: "https://example.com/logo.png".into(),
                    intro: "a host application of the domain tests".into(),
                    remark: None,
                    android_app_key: None,
                    ios_app_key: None,
                    application_type: TYPE_FORMAL,
                },
            )
            .await
            .unwrap()
    }

    pub fn versions(&self) -> Versions {
        let fetcher = Fetcher::new(FetchLimits {
            max_bytes: MAX_PACKAGE_BYTES,
            connect_timeout: Duration::from_secs(2),
            total_timeout: Duration::from_secs(5),
            // The file servers of these tests are on loopback.
            policy: mnpd_fetch::AddressPolicy {
                private: mnpd_fetch::PrivateNetworks::Allowed,
                allowed_hosts: None,
            },
            ..Default::default()
        })
        .unwrap();
        Versions::new(
            self.store.clone(),
            self.blobs.clone(),
            fetcher,
            self.clock.clone(),
            self.work.clone(),
        )
    }

    /// CreateMNPVersion of the test's mini program, the package at `file`
    /// of the file server.
    pub fn request(&self, version: &str, file: &str) -> NewVersionRequest {
        NewVersionRequest {
            platform_id: self.platform_id.clone(),
            mnp_id: self.mnp_id.clone(),
            version: version.into(),
            file_url: format!("{}/{file}", self.files),
            intro: format!("version {version}"),
        }
    }

    /// CreateMNPVersion of `version` of the test's mini program, the
    /// package at `file` of the file server; the TaskId.
    pub async fn create(&self, version: &str, file: &str) -> Result<String, DomainError> {
        self.versions()
            .create(&self.caller, self.request(version, file))
            .await
    }

    pub fn settings(&self, owner: &str) -> RunnerSettings {
        RunnerSettings {
            owner: owner.into(),
            lease_secs: LEASE_SECS,
            max_attempts: 3,
            package_limits: mnpd_package::Limits::default(),
            poll: Duration::from_millis(50),
        }
    }

    pub fn runner(&self, owner: &str) -> TaskRunner {
        self.runner_on(owner, self.blobs.clone())
    }

    /// A runner reading packages from `blobs`.
    pub fn runner_on(&self, owner: &str, blobs: Arc<dyn BlobStore>) -> TaskRunner {
        TaskRunner::new(
            self.store.clone(),
            blobs,
            self.clock.clone(),
            self.settings(owner),
        )
    }

    /// Runs one task, if there is one, as `owner`.
    pub async fn run_once(&self, owner: &str) -> bool {
        self.runner(owner).run_once().await.unwrap()
    }

    /// Claims a task directly in the store, as a worker that will never
    /// finish it (it dies, or stalls).
    pub async fn claim(&self, owner: &str) -> Option<Task> {
        self.store
            .claim_task(owner, self.clock.unix(), LEASE_SECS)
            .await
            .unwrap()
    }

    /// Version numbers of the test's mini program that count: recorded or
    /// in a task that has not failed.
    pub async fn live_numbers(&self) -> Vec<String> {
        self.store.live_version_numbers(&self.mnp_id).await.unwrap()
    }

    /// The MNPVersionId of the test's mini program's latest version.
    pub async fn latest_version_id(&self) -> Option<i64> {
        self.store
            .latest_version(&self.mnp_id)
            .await
            .unwrap()
            .map(|v| v.mnp_version_id)
    }

    pub async fn task(&self, task_id: &str) -> Task {
        self.store
            .get_task(task_id)
            .await
            .unwrap()
            .expect("the task exists")
    }

    /// A version of the test's mini program, created and processed; its
    /// MNPVersionId.
    pub async fn recorded_version(&self, version: &str) -> i64 {
        self.recorded_version_of(&self.mnp_id, version).await
    }

    pub async fn recorded_version_of(&self, mnp_id: &str, version: &str) -> i64 {
        let mut req = self.request(version, "good.zip");
        req.mnp_id = mnp_id.into();
        let task_id = self.versions().create(&self.caller, req).await.unwrap();
        assert!(self.run_once("setup").await);
        let task = self.task(&task_id).await;
        assert_eq!(task.status, TaskStatus::Succeeded, "{}", task.msg);
        task.mnp_version_id
            .expect("a succeeded task names its version")
    }

    pub fn approvals(&self) -> Approvals {
        Approvals::new(self.store.clone(), self.clock.clone())
    }

    pub fn releases(&self) -> Releases {
        Releases::new(self.store.clone(), self.clock.clone())
    }

    /// CreateMNPApproval of the version: `submit` or `cancel`.
    pub async fn apply(&self, mnp_version_id: i64, action: &str) -> Result<(), DomainError> {
        self.approvals()
            .apply(&self.caller, &self.platform_id, mnp_version_id, action)
            .await
    }

    /// ProcessMNPApproval of the platform's approval `approval_no`.
    pub async fn process(
        &self,
        approval_no: &str,
        decisions: Vec<ItemDecision>,
    ) -> Result<Approval, DomainError> {
        self.approvals()
            .process(&self.caller, &self.platform_id, approval_no, decisions)
            .await
    }

    pub async fn submit(&self, mnp_version_id: i64) -> Approval {
        self.apply(mnp_version_id, "submit").await.unwrap();
        self.latest_approval(mnp_version_id)
            .await
            .expect("submit records an approval")
    }

    /// Every line (approval item) of the platform's approval listing.
    pub async fn approval_lines(&self) -> (i64, Vec<ApprovalListing>) {
        self.approvals()
            .list(
                &self.caller,
                ApprovalQuery {
                    platform_id: self.platform_id.clone(),
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
    }

    pub async fn latest_approval(&self, mnp_version_id: i64) -> Option<Approval> {
        self.store
            .latest_approval_of_version(mnp_version_id)
            .await
            .unwrap()
    }

    /// Submits the version and has every host application approve it.
    pub async fn approve(&self, mnp_version_id: i64) {
        let open = self.submit(mnp_version_id).await;
        let decisions = open
            .items
            .iter()
            .map(|i| decision(&i.application_id, APPROVED, ""))
            .collect();
        let done = self
            .approvals()
            .process(
                &self.caller,
                &self.platform_id,
                &open.approval_no,
                decisions,
            )
            .await
            .unwrap();
        assert_eq!(done.status, APPROVED);
    }
}

pub fn decision(application_id: &str, result: i64, note: &str) -> ItemDecision {
    ItemDecision {
        application_id: application_id.into(),
        result,
        note: note.into(),
    }
}

/// Runs `n` futures made by `contender` on the runtime's threads, all let go
/// at once; their outputs in order.
pub async fn race<T, F, Fut>(n: usize, contender: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (barrier, run) = (barrier.clone(), contender(i));
            tokio::spawn(async move {
                barrier.wait().await;
                run.await
            })
        })
        .collect();
    let mut outputs = Vec::with_capacity(n);
    for h in handles {
        outputs.push(h.await.unwrap());
    }
    outputs
}

/// What the winners of a race returned; every loser must have been refused
/// as `refused` says, and any other error fails the test.
pub fn winners<T: std::fmt::Debug>(
    results: Vec<Result<T, DomainError>>,
    refused: fn(&DomainError) -> bool,
) -> Vec<T> {
    results
        .into_iter()
        .filter_map(|r| match r {
            Ok(won) => Some(won),
            Err(e) if refused(&e) => None,
            Err(e) => panic!("unexpected refusal: {e:?}"),
        })
        .collect()
}

/// Asserts that `$result` is the error `$pattern`.
#[macro_export]
macro_rules! assert_refused {
    ($result:expr, $pattern:pat) => {{
        match $result {
            Err(e @ $pattern) => e,
            other => panic!("expected {}, got {other:?}", stringify!($pattern)),
        }
    }};
}
