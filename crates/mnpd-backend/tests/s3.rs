//! `S3BlobStore` against a real S3-compatible server: moto in server mode,
//! started on a free loopback port by each test. The server command comes
//! from `MNPD_TEST_S3_SERVER_CMD`, else `.cache/services/moto/bin/moto_server`
//! (installed by `scripts/services`), else `.venv/bin/moto_server`, else
//! `moto_server` on PATH. No server means a failed test, never a skipped one.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::TryStreamExt;
use mnpd_backend::blob_s3::PART_SIZE;
use mnpd_backend::{S3BlobStore, S3Settings};
use mnpd_domain::store::{BlobStore, BlobStream, StoreError};
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path as ObjectPath;
use object_store::{
    GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};
use sha2::{Digest, Sha256};

const ACCESS_KEY: &str = "testing";
const SECRET_KEY: &str = "testing";

fn server_command() -> Vec<String> {
    if let Ok(cmd) = std::env::var("MNPD_TEST_S3_SERVER_CMD") {
        let parts: Vec<String> = cmd.split_whitespace().map(str::to_string).collect();
        if !parts.is_empty() {
            return parts;
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut candidates = vec![
        root.join(".cache/services/moto/bin/moto_server"),
        root.join(".venv/bin/moto_server"),
    ];
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("moto_server")));
    }
    match candidates.into_iter().find(|c| c.is_file()) {
        Some(found) => vec![found.to_string_lossy().into_owned()],
        None => panic!(
            "no S3-compatible server for the tests: run scripts/services (it installs moto into \
             .cache/services/moto) or set MNPD_TEST_S3_SERVER_CMD to a moto_server command"
        ),
    }
}

/// A moto server of this test's own; killed when dropped.
struct S3Server {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl S3Server {
    async fn start() -> S3Server {
        let cmd = server_command();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let child = Command::new(&cmd[0])
            .args(&cmd[1..])
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the S3 test server {cmd:?}: {e}"));
        let mut server = S3Server {
            child: Some(child),
            port,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http().get(server.url("/")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if let Some(status) = server.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "the S3 test server {cmd:?} exited with {status}:\n{}",
                    std::fs::read_to_string(&server.log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the S3 test server {cmd:?} did not answer on port {port} within 60 s:\n{}",
                std::fs::read_to_string(&server.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn create_bucket(&self, bucket: &str) {
        let r = http()
            .put(self.url(&format!("/{bucket}")))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "creating bucket {bucket}: {}",
            r.status()
        );
    }

    /// The server's own listing, bypassing the store under test.
    async fn get_text(&self, path: &str) -> String {
        http()
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    fn settings(&self, bucket: &str, prefix: &str, staging: &Path) -> S3Settings {
        S3Settings {
            bucket: bucket.into(),
            prefix: prefix.into(),
            endpoint: Some(self.url("")),
            region: "us-east-1".into(),
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET_KEY.into(),
            allow_http: true,
            path_style: true,
            staging_dir: staging.to_path_buf(),
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Deterministic bytes that do not compress or repeat per part.
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

async fn collect(s: BlobStream) -> (u64, Vec<u8>) {
    let parts: Vec<Bytes> = s.body.try_collect().await.unwrap();
    (s.total_size, parts.concat())
}

async fn stage(store: &S3BlobStore, data: &[u8]) -> PathBuf {
    let staged = store.staging_path();
    tokio::fs::write(&staged, data).await.unwrap();
    staged
}

fn bucket_name() -> String {
    format!("mnpd-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_reads_and_deletes_packages() {
    let server = S3Server::start().await;
    let bucket = bucket_name();
    server.create_bucket(&bucket).await;
    let staging = tempfile::tempdir().unwrap();
    let store = S3BlobStore::open(server.settings(&bucket, "mnpd/test", staging.path())).unwrap();

    let data = b"0123456789".to_vec();
    let sha = sha256(&data);
    assert!(!store.exists(&sha).await.unwrap());
    assert!(store.list().await.unwrap().is_empty());

    let staged = stage(&store, &data).await;
    assert!(staged.starts_with(staging.path()), "staged locally");
    store.commit(&staged, &sha).await.unwrap();
    assert!(!staged.exists(), "the staged file is consumed");

    let listing = server.get_text(&format!("/{bucket}?list-type=2")).await;
    assert!(
        listing.contains(&format!("<Key>mnpd/test/blobs/{}/{sha}</Key>", &sha[..2])),
        "object key follows <prefix>/blobs/<aa>/<sha256>: {listing}"
    );
    assert!(store.exists(&sha).await.unwrap());
    assert_eq!(store.list().await.unwrap(), vec![sha.clone()]);

    assert_eq!(
        collect(store.read(&sha, None).await.unwrap()).await,
        (10, data.clone())
    );
    assert_eq!(
        collect(store.read(&sha, Some((2, 4))).await.unwrap()).await,
        (10, b"234".to_vec())
    );
    assert_eq!(
        collect(store.read(&sha, Some((9, 9))).await.unwrap()).await,
        (10, b"9".to_vec())
    );
    let err = store.read(&sha, Some((5, 10))).await.err().unwrap();
    assert!(err.to_string().contains("outside"), "{err}");
    let err = store.read(&sha, Some((10, 12))).await.err().unwrap();
    assert!(err.to_string().contains("outside"), "{err}");

    let local = store.open_local(&sha).await.unwrap();
    assert!(local.path.starts_with(staging.path()));
    assert_eq!(std::fs::read(&local.path).unwrap(), data);
    let local_path = local.path.clone();
    drop(local);
    assert!(
        !local_path.exists(),
        "the temporary copy goes with its guard"
    );

    store.delete(&sha).await.unwrap();
    assert!(!store.exists(&sha).await.unwrap());
    assert!(store.list().await.unwrap().is_empty());
    store.delete(&sha).await.unwrap();
    let err = store.open_local(&sha).await.err().unwrap();
    assert!(
        matches!(&err, StoreError::Other(m) if m.contains("missing")),
        "{err:?}"
    );
    let err = store.read(&sha, None).await.err().unwrap();
    assert!(
        matches!(&err, StoreError::Other(m) if m.contains("missing")),
        "{err:?}"
    );
    assert!(store.exists("../../etc/passwd").await.is_err());

    // Leftovers in the staging folder are removed by age.
    tokio::fs::write(store.staging_path(), b"left by a crash")
        .await
        .unwrap();
    assert_eq!(store.clean_staging(3600).await.unwrap(), 0);
    assert_eq!(store.clean_staging(0).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_is_idempotent_and_prefixes_are_separate() {
    let server = S3Server::start().await;
    let bucket = bucket_name();
    server.create_bucket(&bucket).await;
    let staging = tempfile::tempdir().unwrap();
    let store = S3BlobStore::open(server.settings(&bucket, "a", staging.path())).unwrap();
    let other = S3BlobStore::open(server.settings(&bucket, "b", staging.path())).unwrap();

    let data = pseudo_random(1000, 7);
    let sha = sha256(&data);
    for _ in 0..3 {
        let staged = stage(&store, &data).await;
        store.commit(&staged, &sha).await.unwrap();
        assert!(!staged.exists(), "consumed even when the blob exists");
    }
    assert_eq!(store.list().await.unwrap(), vec![sha.clone()]);
    assert!(
        other.list().await.unwrap().is_empty(),
        "another prefix sees nothing"
    );
    assert!(!other.exists(&sha).await.unwrap());
    assert_eq!(collect(store.read(&sha, None).await.unwrap()).await.1, data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_blob_goes_through_multipart() {
    let server = S3Server::start().await;
    let bucket = bucket_name();
    server.create_bucket(&bucket).await;
    let staging = tempfile::tempdir().unwrap();
    let store = S3BlobStore::open(server.settings(&bucket, "big", staging.path())).unwrap();

    let data = pseudo_random(20 * 1024 * 1024, 42);
    let sha = sha256(&data);
    let staged = stage(&store, &data).await;
    store.commit(&staged, &sha).await.unwrap();
    assert!(!staged.exists());

    // A multipart object's ETag ends with the number of its parts.
    let head = http()
        .head(server.url(&format!("/{bucket}/{}", store.key_of(&sha))))
        .send()
        .await
        .unwrap();
    assert!(head.status().is_success());
    let etag = head.headers()["etag"].to_str().unwrap().to_string();
    let parts = data.len().div_ceil(PART_SIZE);
    assert!(
        etag.trim_matches('"').ends_with(&format!("-{parts}")),
        "ETag {etag}"
    );
    assert_eq!(
        head.headers()["content-length"],
        data.len().to_string().as_str()
    );

    let (total, whole) = collect(store.read(&sha, None).await.unwrap()).await;
    assert_eq!(total, data.len() as u64);
    assert_eq!(sha256(&whole), sha);

    let (start, end) = (PART_SIZE as u64 - 10, PART_SIZE as u64 + 9);
    let (_, across) = collect(store.read(&sha, Some((start, end))).await.unwrap()).await;
    assert_eq!(
        across,
        &data[start as usize..=end as usize],
        "a range across parts"
    );

    let local = store.open_local(&sha).await.unwrap();
    assert_eq!(sha256(&std::fs::read(&local.path).unwrap()), sha);

    // Committing the same content again uploads nothing and keeps one copy.
    let staged = stage(&store, &data).await;
    store.commit(&staged, &sha).await.unwrap();
    assert_eq!(store.list().await.unwrap(), vec![sha]);
    assert!(!server
        .get_text(&format!("/{bucket}?uploads"))
        .await
        .contains("<Upload>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_to_a_missing_bucket_fails_and_leaves_nothing() {
    let server = S3Server::start().await;
    let bucket = bucket_name(); // never created
    let staging = tempfile::tempdir().unwrap();
    let store = S3BlobStore::open(server.settings(&bucket, "p", staging.path())).unwrap();

    for len in [100, 2 * PART_SIZE + 5] {
        let data = pseudo_random(len, len as u64);
        let sha = sha256(&data);
        let staged = stage(&store, &data).await;
        let err = store.commit(&staged, &sha).await.unwrap_err();
        assert!(err.to_string().contains(&bucket), "{len} bytes: {err}");
        assert!(
            staged.exists(),
            "a failed commit leaves the staged file to its caller"
        );
        std::fs::remove_file(&staged).unwrap();
    }
    let buckets = server.get_text("/").await;
    assert!(!buckets.contains(&bucket), "no bucket was made: {buckets}");
    assert!(
        store.list().await.is_err(),
        "listing a missing bucket is an error"
    );
}

/// Wraps a real store and breaks the second part of every multipart upload
/// as a dropped connection would.
#[derive(Debug)]
struct BreakSecondPart {
    inner: Arc<dyn ObjectStore>,
    aborted: Arc<AtomicBool>,
}

impl fmt::Display for BreakSecondPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BreakSecondPart({})", self.inner)
    }
}

#[derive(Debug)]
struct BrokenUpload {
    inner: Box<dyn MultipartUpload>,
    parts: AtomicUsize,
    aborted: Arc<AtomicBool>,
}

#[async_trait]
impl MultipartUpload for BrokenUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        if self.parts.fetch_add(1, Ordering::SeqCst) == 1 {
            return Box::pin(async {
                Err(object_store::Error::Generic {
                    store: "S3",
                    source: Box::new(HttpError::new(
                        HttpErrorKind::Interrupted,
                        std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "connection reset",
                        ),
                    )),
                })
            });
        }
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.aborted.store(true, Ordering::SeqCst);
        self.inner.abort().await
    }
}

#[async_trait]
impl ObjectStore for BreakSecondPart {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(BrokenUpload {
            inner,
            parts: AtomicUsize::new(0),
            aborted: self.aborted.clone(),
        }))
    }

    async fn get_opts(
        &self,
        location: &ObjectPath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn head(&self, location: &ObjectPath) -> object_store::Result<ObjectMeta> {
        self.inner.head(location).await
    }

    async fn delete(&self, location: &ObjectPath) -> object_store::Result<()> {
        self.inner.delete(location).await
    }

    fn list(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy(&self, from: &ObjectPath, to: &ObjectPath) -> object_store::Result<()> {
        self.inner.copy(from, to).await
    }

    async fn copy_if_not_exists(
        &self,
        from: &ObjectPath,
        to: &ObjectPath,
    ) -> object_store::Result<()> {
        self.inner.copy_if_not_exists(from, to).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_part_aborts_the_upload() {
    let server = S3Server::start().await;
    let bucket = bucket_name();
    server.create_bucket(&bucket).await;
    let real = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(&bucket)
        .with_region("us-east-1")
        .with_endpoint(server.url(""))
        .with_access_key_id(ACCESS_KEY)
        .with_secret_access_key(SECRET_KEY)
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .build()
        .unwrap();
    let aborted = Arc::new(AtomicBool::new(false));
    let broken = BreakSecondPart {
        inner: Arc::new(real),
        aborted: aborted.clone(),
    };
    let staging = tempfile::tempdir().unwrap();
    let store = S3BlobStore::with_object_store(Arc::new(broken), "p", staging.path()).unwrap();

    let data = pseudo_random(3 * PART_SIZE, 3);
    let sha = sha256(&data);
    let staged = stage(&store, &data).await;
    let err = store.commit(&staged, &sha).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable(_)),
        "a dropped connection: {err:?}"
    );
    assert!(aborted.load(Ordering::SeqCst), "the upload was aborted");

    let uploads = server.get_text(&format!("/{bucket}?uploads")).await;
    assert!(
        !uploads.contains("<Upload>"),
        "no upload left in progress: {uploads}"
    );
    let listing = server.get_text(&format!("/{bucket}?list-type=2")).await;
    assert!(!listing.contains("<Key>"), "no object left: {listing}");
    assert!(!store.exists(&sha).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_mid_upload_is_an_error() {
    let mut server = S3Server::start().await;
    let bucket = bucket_name();
    server.create_bucket(&bucket).await;
    let staging = tempfile::tempdir().unwrap();
    let store = Arc::new(S3BlobStore::open(server.settings(&bucket, "p", staging.path())).unwrap());

    let data = pseudo_random(12 * PART_SIZE, 12);
    let sha = sha256(&data);
    let staged = stage(&store, &data).await;
    drop(data);
    let commit = tokio::spawn({
        let store = store.clone();
        let sha = sha.clone();
        async move { store.commit(&staged, &sha).await }
    });

    // Stop the server once the multipart upload has begun.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let uploads = server.get_text(&format!("/{bucket}?uploads")).await;
        if uploads.contains("<Upload>") {
            break;
        }
        assert!(
            !commit.is_finished(),
            "the upload ended before it could be interrupted"
        );
        assert!(Instant::now() < deadline, "the upload never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill();

    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(120), commit)
        .await
        .expect("commit gives up in bounded time")
        .unwrap();
    let err = outcome.expect_err("the upload cannot succeed without a server");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(60));
    // The store stays usable: it reports the server as unavailable.
    let err = store.exists(&sha).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}
