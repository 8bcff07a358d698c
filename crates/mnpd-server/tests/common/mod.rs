//! The HTTP app in process on a loopback port, with a real SQLite store, a
//! package folder, task workers and a file server for FileUrl; requests are
//! signed by our own signer.
#![allow(dead_code)]

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use mnpd_backend::{FsBlobStore, InProcessLimiter, SqliteStore};
use mnpd_domain::admin::Admin;
use mnpd_domain::clock::{Clock, SystemClock};
use mnpd_domain::store::{BlobStore, MetaStore};
use mnpd_domain::task::{RunnerSettings, TaskRunner};
use mnpd_server::{AppState, GatewaySettings, StateParts};
use serde_json::{json, Value};
use tokio::sync::{watch, Notify};

pub const SID: &str = "AKIDgatewaytest";
pub const SKEY: &str = "gateway-test-secret-key";
pub const PLATFORM: &str = "TGATEWAYTEST";
pub const MNP_TYPE: &str = "Life Service->144_Lilliputian Services";

pub struct Harness {
    pub base: String,
    pub host: String,
    pub files: String,
    pub meta: Arc<dyn MetaStore>,
    _dir: tempfile::TempDir,
    _stop: watch::Sender<bool>,
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

pub fn good_package() -> Vec<u8> {
    zip_of(&[
        (
            "app.json",
            r#"{"pages":["pages/index/index","pages/logs/logs"]}"#,
        ),
        ("app.js", "App({})"),
        ("pages/index/index.js", "Page({})"),
        ("pages/index/index.wxml", "<view/>"),
        ("pages/logs/logs.js", "Page({})"),
        ("pages/logs/logs.wxml", "<view/>"),
    ])
}

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

/// A file server on loopback for FileUrl.
async fn file_server() -> String {
    use axum::routing::get;
    let app = axum::Router::new()
        .route("/good.zip", get(|| async { good_package() }))
        .route(
            "/missing-page.zip",
            get(|| async { missing_page_package() }),
        )
        .route("/big.zip", get(|| async { vec![0u8; 4096] }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

pub async fn start(rate_limit: u32) -> Harness {
    start_with(rate_limit, None).await
}

/// A harness whose secret keys are sealed at rest with `cipher`.
pub async fn start_with(
    rate_limit: u32,
    cipher: Option<mnpd_domain::secret::SecretCipher>,
) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("meta.db"))
            .await
            .unwrap(),
    );
    let meta: Arc<dyn MetaStore> = store.clone();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let blobs: Arc<dyn BlobStore> = Arc::new(FsBlobStore::open(dir.path()).unwrap());
    Admin::new(meta.clone(), clock.clone())
        .with_cipher(cipher.clone())
        .bootstrap(Some(SID), Some(SKEY), Some(PLATFORM))
        .await
        .unwrap()
        .unwrap();
    let work = Arc::new(Notify::new());
    let fetcher = mnpd_fetch::Fetcher::new(mnpd_fetch::FetchLimits {
        max_bytes: 2048,
        // Like mnpd on loopback: the file servers of these tests are there too.
        policy: mnpd_fetch::AddressPolicy {
            private: mnpd_fetch::PrivateNetworks::Allowed,
            allowed_hosts: None,
        },
        ..Default::default()
    })
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let public_url = format!("http://{addr}");
    let state = Arc::new(AppState::new(StateParts {
        store: meta.clone(),
        blobs: blobs.clone(),
        clock: clock.clone(),
        limiter: Arc::new(InProcessLimiter::new(rate_limit)),
        fetcher,
        work: work.clone(),
        public_url,
        package_url_ttl_secs: 600,
        package_delivery: Default::default(),
        upload_ttl_secs: 600,
        max_upload_bytes: 2048,
        upload_time_limit: std::time::Duration::from_secs(600),
        upload_min_rate: 1024,
        gateway: GatewaySettings {
            regions: vec!["ap-guangzhou".into()],
            max_body_bytes: 64 * 1024,
            max_clock_skew_secs: 300,
            ..GatewaySettings::default()
        },
        secrets: cipher,
        emulator: None,
    }));
    let (stop, stopped) = watch::channel(false);
    let runner = Arc::new(
        // A concrete store does as well as `dyn MetaStore`.
        TaskRunner::new(
            store,
            blobs,
            clock,
            RunnerSettings {
                owner: "test".into(),
                lease_secs: 60,
                max_attempts: 3,
                package_limits: mnpd_package::Limits::default(),
                poll: Duration::from_millis(100),
            },
        )
        .with_telemetry(state.metrics.clone()),
    );
    tokio::spawn(runner.run(work, stopped));
    let app = mnpd_server::router(state);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Harness {
        base: format!("http://{addr}/"),
        host: addr.to_string(),
        files: file_server().await,
        meta,
        _dir: dir,
        _stop: stop,
    }
}

impl Harness {
    /// The folder holding the database and the packages.
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn code(r: &Value) -> &str {
    r["Response"]["Error"]["Code"].as_str().unwrap_or("")
}

impl Harness {
    pub async fn raw(&self, headers: Vec<(String, String)>, body: Vec<u8>) -> Value {
        let client = reqwest::Client::new();
        let mut req = client.post(&self.base).body(body);
        for (k, v) in headers {
            if !k.eq_ignore_ascii_case("host") {
                req = req.header(k, v);
            }
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200, "every answer is HTTP 200");
        resp.json().await.unwrap()
    }

    pub async fn call_as(
        &self,
        key: &str,
        action: &str,
        version: &str,
        ts: i64,
        params: Value,
    ) -> Value {
        let body = serde_json::to_vec(&params).unwrap();
        let headers = mnpd_wire::sign_tc3_post(
            SID,
            key,
            &self.host,
            action,
            version,
            Some("ap-guangzhou"),
            ts,
            &body,
        );
        self.raw(headers, body).await
    }

    pub async fn call(&self, action: &str, params: Value) -> Value {
        self.call_as(SKEY, action, "2024-08-01", now(), params)
            .await
    }

    pub async fn ok(&self, action: &str, params: Value) -> Value {
        let r = self.call(action, params).await;
        assert!(r["Response"]["Error"].is_null(), "{action}: {r}");
        r["Response"].clone()
    }

    /// Asserts the call fails with `want`; returns the message.
    pub async fn fails(&self, action: &str, params: Value, want: &str) -> String {
        let r = self.call(action, params).await;
        assert_eq!(code(&r), want, "{action}: {r}");
        let message = r["Response"]["Error"]["Message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!message.is_empty());
        message
    }

    pub async fn mini_program(&self, name: &str) -> String {
        let r = self
            .ok(
                "CreateMNP",
                json!({"MNPType": MNP_TYPE, "MNPName": name, "MNPIcon": "https://h/i.png",
                       "MNPIntro": "intro", "MNPDesc": "desc", "PlatformId": PLATFORM}),
            )
            .await;
        r["Data"]["ResourceId"].as_str().unwrap().to_string()
    }

    pub async fn wait_task(&self, task_id: &str) -> Value {
        for _ in 0..200 {
            let r = self
                .ok(
                    "DescribeMNPVersion",
                    json!({"BusinessId": task_id, "PlatformId": PLATFORM}),
                )
                .await;
            let status = r["Data"]["TaskStatus"].as_i64().unwrap();
            if status == 30 || status == 60 {
                return r["Data"].clone();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("task {task_id} did not finish");
    }

    /// Creates a version from the good package and returns its MNPVersionId.
    pub async fn version(&self, mnp_id: &str, version: &str) -> i64 {
        let r = self
            .ok(
                "CreateMNPVersion",
                json!({"MNPId": mnp_id, "MNPVersion": version, "FileUrl": format!("{}/good.zip", self.files),
                       "PlatformId": PLATFORM, "MNPVersionIntro": format!("version {version}")}),
            )
            .await;
        let done = self.wait_task(r["Data"]["TaskId"].as_str().unwrap()).await;
        assert_eq!(done["TaskStatus"], 60, "{done}");
        let stages = self
            .ok(
                "DescribeMNPAllStageVersions",
                json!({"MNPId": mnp_id, "PlatformId": PLATFORM}),
            )
            .await;
        stages["Data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Phase"] == "Develop")
            .and_then(|s| s["MNPVersionId"].as_i64())
            .unwrap()
    }
}
