//! The HTTP app in process, on a loopback port, driven with requests signed
//! by our own signer: the whole request path from socket to storage.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use mnpd_backend::{FsBlobStore, InProcessLimiter, SqliteStore};
use mnpd_domain::admin::Admin;
use mnpd_domain::clock::{Clock, SystemClock};
use mnpd_domain::mini_program::MiniPrograms;
use mnpd_domain::store::{BlobStore, MetaStore};
use mnpd_domain::task::{RunnerSettings, TaskRunner};
use mnpd_domain::version::Versions;
use mnpd_server::{AppState, GatewaySettings};
use serde_json::{json, Value};
use tokio::sync::{watch, Notify};

const SID: &str = "AKIDgatewaytest";
const SKEY: &str = "gateway-test-secret-key";
const PLATFORM: &str = "TGATEWAYTEST";

struct Harness {
    base: String,
    host: String,
    files: String,
    _dir: tempfile::TempDir,
    _stop: watch::Sender<bool>,
}

fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(body.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn good_package() -> Vec<u8> {
    zip_of(&[
        ("app.json", r#"{"pages":["pages/index/index"]}"#),
        ("app.js", "App({})"),
        ("pages/index/index.js", "Page({})"),
        ("pages/index/index.wxml", "<view/>"),
    ])
}

fn missing_page_package() -> Vec<u8> {
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

async fn start(rate_limit: u32) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("meta.db"))
            .await
            .unwrap(),
    );
    let meta: Arc<dyn MetaStore> = store;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let blobs: Arc<dyn BlobStore> = Arc::new(FsBlobStore::open(dir.path()).unwrap());
    Admin::new(meta.clone(), clock.clone())
        .bootstrap(Some(SID), Some(SKEY), Some(PLATFORM))
        .await
        .unwrap()
        .unwrap();
    let work = Arc::new(Notify::new());
    let fetcher = mnpd_fetch::Fetcher::new(mnpd_fetch::FetchLimits {
        max_bytes: 2048,
        ..Default::default()
    })
    .unwrap();
    let state = Arc::new(AppState {
        store: meta.clone(),
        clock: clock.clone(),
        limiter: Arc::new(InProcessLimiter::new(rate_limit)),
        mini_programs: MiniPrograms::new(meta.clone(), clock.clone()),
        versions: Versions::new(
            meta.clone(),
            blobs.clone(),
            fetcher,
            clock.clone(),
            work.clone(),
        ),
        settings: GatewaySettings {
            regions: vec!["ap-guangzhou".into()],
            max_body_bytes: 64 * 1024,
            max_clock_skew_secs: 300,
        },
    });
    let (stop, stopped) = watch::channel(false);
    let runner = Arc::new(TaskRunner::new(
        meta,
        blobs,
        clock,
        RunnerSettings {
            owner: "test".into(),
            lease_secs: 60,
            max_attempts: 3,
            package_limits: mnpd_package::Limits::default(),
            poll: Duration::from_millis(100),
        },
    ));
    tokio::spawn(runner.run(work, stopped));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = mnpd_server::router(state);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Harness {
        base: format!("http://{addr}/"),
        host: addr.to_string(),
        files: file_server().await,
        _dir: dir,
        _stop: stop,
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl Harness {
    async fn raw(&self, headers: Vec<(String, String)>, body: Vec<u8>) -> Value {
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

    async fn call_as(
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

    async fn call(&self, action: &str, params: Value) -> Value {
        self.call_as(SKEY, action, "2024-08-01", now(), params)
            .await
    }

    async fn ok(&self, action: &str, params: Value) -> Value {
        let r = self.call(action, params).await;
        assert!(r["Response"]["Error"].is_null(), "{action}: {r}");
        r["Response"].clone()
    }

    async fn mini_program(&self, name: &str) -> String {
        let r = self
            .ok(
                "CreateMNP",
                json!({"MNPType": "Tools", "MNPName": name, "MNPIcon": "https://h/i.png",
                       "MNPIntro": "intro", "MNPDesc": "desc", "PlatformId": PLATFORM}),
            )
            .await;
        r["Data"]["ResourceId"].as_str().unwrap().to_string()
    }

    async fn wait_task(&self, task_id: &str) -> Value {
        for _ in 0..100 {
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
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("task {task_id} did not finish");
    }
}

fn code(r: &Value) -> &str {
    r["Response"]["Error"]["Code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn version_from_url_to_success_and_failure() {
    let h = start(100).await;
    let mnp = h.mini_program("demo").await;
    let create = |version: &str, file: &str| {
        json!({"MNPId": mnp, "MNPVersion": version, "FileUrl": format!("{}/{file}", h.files),
               "PlatformId": PLATFORM, "MNPVersionIntro": "first cut"})
    };
    let r = h.ok("CreateMNPVersion", create("1.0.0", "good.zip")).await;
    let task = r["Data"]["TaskId"].as_str().unwrap().to_string();
    assert_eq!(task.len(), 19);
    let again = h.ok("CreateMNPVersion", create("1.0.0", "good.zip")).await;
    assert_eq!(
        again["Data"]["TaskId"],
        task.as_str(),
        "same request, same task"
    );
    let done = h.wait_task(&task).await;
    assert_eq!(done["TaskStatus"], 60);
    assert_eq!(done["TaskMsg"], "Success");
    assert_eq!(done["MNPId"], mnp.as_str());

    let r = h
        .call("CreateMNPVersion", create("1.0.0", "missing-page.zip"))
        .await;
    assert_eq!(code(&r), "InvalidParameterValue.InvalidMNPVersion");

    let r = h
        .ok("CreateMNPVersion", create("1.1.0", "missing-page.zip"))
        .await;
    let failed = h.wait_task(r["Data"]["TaskId"].as_str().unwrap()).await;
    assert_eq!(failed["TaskStatus"], 30);
    assert!(
        failed["TaskMsg"]
            .as_str()
            .unwrap()
            .contains("pages/gone/gone"),
        "{failed}"
    );
    // The failed number is free again.
    let r = h.ok("CreateMNPVersion", create("1.1.0", "good.zip")).await;
    assert_eq!(
        h.wait_task(r["Data"]["TaskId"].as_str().unwrap()).await["TaskStatus"],
        60
    );

    let r = h.call("CreateMNPVersion", create("2.0.0", "big.zip")).await;
    assert_eq!(code(&r), "InvalidParameterValue.MNPFileSizExceedLimit");
    let r = h
        .call("CreateMNPVersion", create("2.0.0", "nothing-here.zip"))
        .await;
    assert_eq!(code(&r), "FailedOperation.FileDownloadFailed");
    let r = h
        .call(
            "DescribeMNPVersion",
            json!({"BusinessId": "2024010100000000000", "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(code(&r), "InvalidParameterValue.InvalidMNPVersionTaskId");
}

#[tokio::test]
async fn mini_programs_are_listed_and_names_unique() {
    let h = start(100).await;
    let a = h.mini_program("alpha").await;
    h.mini_program("beta").await;
    let r = h
        .call(
            "CreateMNP",
            json!({"MNPType": "Tools", "MNPName": "alpha", "MNPIcon": "https://h/i.png",
                   "MNPIntro": "i", "MNPDesc": "d", "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(
        code(&r),
        "InvalidParameterValue.MiniProgramNameAlreadyExist"
    );
    let list = h
        .ok(
            "DescribeMNPList",
            json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM, "Keyword": "alp"}),
        )
        .await;
    assert_eq!(list["Data"]["TotalCount"], 1);
    assert_eq!(list["Data"]["DataList"][0]["MNPId"], a.as_str());
    assert!(list["Data"]["DataList"][0]["CreateTime"].is_string());
    let detail = h
        .ok(
            "DescribeMNPDetail",
            json!({"MNPId": a, "PlatformId": PLATFORM}),
        )
        .await;
    assert!(detail["Data"]["CreateTime"].is_i64());
    assert!(detail["Data"]["Tags"].is_null());
}

#[tokio::test]
async fn common_errors() {
    let h = start(100).await;
    let list = json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM});
    let cases = [
        (
            h.call_as(
                "wrong-key-wrong-key",
                "DescribeMNPList",
                "2024-08-01",
                now(),
                list.clone(),
            )
            .await,
            "AuthFailure.SignatureFailure",
        ),
        (
            h.call_as(
                SKEY,
                "DescribeMNPList",
                "2024-08-01",
                now() - 301,
                list.clone(),
            )
            .await,
            "AuthFailure.SignatureExpire",
        ),
        (
            h.call_as(SKEY, "DescribeMNPList", "2020-01-01", now(), list.clone())
                .await,
            "NoSuchVersion",
        ),
        (
            h.call_as(SKEY, "DescribeNothing", "2024-08-01", now(), list.clone())
                .await,
            "InvalidAction",
        ),
        (
            h.call("ReleaseMNPVersion", json!({})).await,
            "UnsupportedOperation",
        ),
        (
            h.call(
                "DescribeMNPList",
                json!({"Offset": "0", "Limit": 10, "PlatformId": PLATFORM}),
            )
            .await,
            "InvalidParameterValue.ExistMismatchParameterType",
        ),
        (
            h.call(
                "DescribeMNPList",
                json!({"Limit": 10, "PlatformId": PLATFORM}),
            )
            .await,
            "InvalidParameterValue.ExistMismatchParameterType",
        ),
        (
            h.call(
                "DescribeMNPList",
                json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM, "Extra": 1}),
            )
            .await,
            "UnknownParameter",
        ),
        (
            h.call(
                "DescribeMNPList",
                json!({"Offset": 0, "Limit": 10, "PlatformId": "TNOTMINE"}),
            )
            .await,
            "InvalidParameterValue.InvalidPlatformId",
        ),
    ];
    for (r, want) in cases {
        assert_eq!(code(&r), want, "{r}");
        assert!(!r["Response"]["Error"]["Message"]
            .as_str()
            .unwrap()
            .is_empty());
        let rid = r["Response"]["RequestId"].as_str().unwrap();
        assert_eq!(rid.len(), 36, "RequestId is a UUID: {rid}");
    }

    // Unknown SecretId.
    let body = serde_json::to_vec(&list).unwrap();
    let headers = mnpd_wire::sign_tc3_post(
        "AKIDnobody",
        SKEY,
        &h.host,
        "DescribeMNPList",
        "2024-08-01",
        None,
        now(),
        &body,
    );
    assert_eq!(
        code(&h.raw(headers, body).await),
        "AuthFailure.SecretIdNotFound"
    );

    // A region not served.
    let body = serde_json::to_vec(&list).unwrap();
    let headers = mnpd_wire::sign_tc3_post(
        SID,
        SKEY,
        &h.host,
        "DescribeMNPList",
        "2024-08-01",
        Some("mars-north-1"),
        now(),
        &body,
    );
    assert_eq!(code(&h.raw(headers, body).await), "UnsupportedRegion");

    // A signed body that is not JSON.
    let body = b"{not json".to_vec();
    let headers = mnpd_wire::sign_tc3_post(
        SID,
        SKEY,
        &h.host,
        "DescribeMNPList",
        "2024-08-01",
        None,
        now(),
        &body,
    );
    assert_eq!(code(&h.raw(headers, body).await), "InvalidParameter");

    // Over the body limit (64 KiB in this harness).
    let body = vec![b' '; 65 * 1024];
    let headers = mnpd_wire::sign_tc3_post(
        SID,
        SKEY,
        &h.host,
        "DescribeMNPList",
        "2024-08-01",
        None,
        now(),
        &body,
    );
    assert_eq!(
        code(&h.raw(headers, body).await),
        "RequestSizeLimitExceeded"
    );

    // No action at all; a malformed Authorization.
    let r = h
        .raw(
            vec![("Content-Type".into(), "application/json".into())],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(code(&r), "MissingParameter");
    let r = h
        .raw(
            vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-TC-Action".into(), "DescribeMNPList".into()),
                ("X-TC-Version".into(), "2024-08-01".into()),
                ("X-TC-Timestamp".into(), now().to_string()),
                ("Authorization".into(), "TC3-HMAC-SHA256 garbage".into()),
            ],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(code(&r), "AuthFailure.InvalidAuthorization");
}

#[tokio::test]
async fn rate_limit_per_account_and_action() {
    let h = start(5).await;
    let list = json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM});
    let mut refused = 0;
    for _ in 0..12 {
        if code(&h.call("DescribeMNPList", list.clone()).await) == "RequestLimitExceeded" {
            refused += 1;
        }
    }
    assert!(refused >= 5, "only {refused} of 12 refused at 5/s");
    let other = h
        .call(
            "DescribeMNPDetail",
            json!({"MNPId": "mpaaaaaaaaaaaaaa", "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(
        code(&other),
        "InvalidParameterValue.InvalidMNPId",
        "another action has its own bucket"
    );
}
