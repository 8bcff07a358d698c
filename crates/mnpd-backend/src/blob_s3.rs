//! Packages in an S3 bucket (AWS or any S3-compatible server) as objects
//! `<prefix>/blobs/<aa>/<sha256>`, through the `object_store` crate.
//!
//! Downloads are staged in a local folder first (`staging_path`); `commit`
//! uploads the staged file, in parts of [`PART_SIZE`] streamed from the file
//! when it is larger than one part, and aborts the multipart upload when
//! anything fails so that no partial object or stray parts are left.

use std::error::Error as _;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};
use mnpd_domain::store::{BlobStore, BlobStream, LocalBlob, StoreError, StoreResult};
use object_store::aws::AmazonS3Builder;
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path as ObjectPath;
use object_store::signer::Signer;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, MultipartUpload, ObjectStore, PutPayload,
    RetryConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Size of one part of a multipart upload; files up to this size are sent
/// with a single PUT. S3 wants parts of at least 5 MiB except the last.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts uploaded at the same time; bounds memory to about
/// `(MAX_PARTS_IN_FLIGHT + 1) * PART_SIZE` per upload.
const MAX_PARTS_IN_FLIGHT: usize = 2;

/// Packages uploaded to the bucket at the same time by this process; the
/// others wait their turn. With the bound per upload above, the part
/// buffers of all uploads stay under about 100 MiB however many versions
/// are created at once; the bucket's bandwidth is shared either way.
const MAX_UPLOADS_IN_FLIGHT: usize = 2;

/// Where and how to reach the bucket.
#[derive(Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// Key prefix inside the bucket, without leading or trailing slash; may
    /// be empty.
    pub prefix: String,
    /// `http(s)://host:port` of an S3-compatible server; None for AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Allow a plain-HTTP endpoint.
    pub allow_http: bool,
    /// Path-style requests (`endpoint/bucket/key`) instead of virtual
    /// hosted style (`bucket.endpoint/key`); most self-hosted servers need it.
    pub path_style: bool,
    /// Local folder for staged downloads and the temporary copies handed
    /// out by `open_local`.
    pub staging_dir: PathBuf,
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("allow_http", &self.allow_http)
            .field("path_style", &self.path_style)
            .field("staging_dir", &self.staging_dir)
            .finish()
    }
}

fn parse_bool(name: &str, value: &str) -> StoreResult<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(StoreError::Other(format!(
            "{name}={other:?} is not a boolean; use true or false"
        ))),
    }
}

impl S3Settings {
    /// Bucket and prefix from `s3://bucket/prefix`, everything else from the
    /// environment:
    ///
    /// - `MNPD_S3_ENDPOINT`, else `AWS_ENDPOINT_URL_S3`, else
    ///   `AWS_ENDPOINT_URL`: an S3-compatible server (unset: AWS);
    /// - `MNPD_S3_REGION`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`
    ///   (default `us-east-1`);
    /// - `MNPD_S3_ACCESS_KEY_ID`, else `AWS_ACCESS_KEY_ID` (required);
    /// - `MNPD_S3_SECRET_ACCESS_KEY`, else `AWS_SECRET_ACCESS_KEY` (required);
    /// - `MNPD_S3_PATH_STYLE` (default: true when an endpoint is set);
    /// - `MNPD_S3_ALLOW_HTTP` (default: true when the endpoint is `http://`).
    ///
    /// `staging_dir` defaults to `mnpd-s3-staging` in the system's
    /// temporary folder; set it to a folder on a persistent disk.
    pub fn from_url(url: &str) -> StoreResult<Self> {
        Self::from_url_with_env(url, |name| std::env::var(name).ok())
    }

    /// [`S3Settings::from_url`] with the environment given as a lookup.
    pub fn from_url_with_env(url: &str, env: impl Fn(&str) -> Option<String>) -> StoreResult<Self> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            StoreError::Other(format!(
                "blob storage URL {url:?} does not start with s3://"
            ))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(StoreError::Other(format!(
                "blob storage URL {url:?} names no bucket"
            )));
        }
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        // The AWS tools' own names are read too, in their order of
        // precedence, so that an environment set up for them works as is.
        let endpoint = var("MNPD_S3_ENDPOINT")
            .or_else(|| var("AWS_ENDPOINT_URL_S3"))
            .or_else(|| var("AWS_ENDPOINT_URL"))
            .map(|e| e.trim().trim_end_matches('/').to_string());
        let region = var("MNPD_S3_REGION")
            .or_else(|| var("AWS_REGION"))
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        let access_key_id = var("MNPD_S3_ACCESS_KEY_ID")
            .or_else(|| var("AWS_ACCESS_KEY_ID"))
            .ok_or_else(|| {
                StoreError::Other(
                    "S3 blob storage needs MNPD_S3_ACCESS_KEY_ID (or AWS_ACCESS_KEY_ID)".into(),
                )
            })?;
        let secret_access_key = var("MNPD_S3_SECRET_ACCESS_KEY")
            .or_else(|| var("AWS_SECRET_ACCESS_KEY"))
            .ok_or_else(|| {
                StoreError::Other(
                    "S3 blob storage needs MNPD_S3_SECRET_ACCESS_KEY (or AWS_SECRET_ACCESS_KEY)"
                        .into(),
                )
            })?;
        let path_style = match var("MNPD_S3_PATH_STYLE") {
            Some(v) => parse_bool("MNPD_S3_PATH_STYLE", &v)?,
            None => endpoint.is_some(),
        };
        let allow_http = match var("MNPD_S3_ALLOW_HTTP") {
            Some(v) => parse_bool("MNPD_S3_ALLOW_HTTP", &v)?,
            None => endpoint
                .as_deref()
                .is_some_and(|e| e.to_ascii_lowercase().starts_with("http://")),
        };
        Ok(S3Settings {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            endpoint,
            region,
            access_key_id,
            secret_access_key,
            allow_http,
            path_style,
            staging_dir: std::env::temp_dir().join("mnpd-s3-staging"),
        })
    }
}

/// Content-addressed package storage in S3; see the module documentation.
pub struct S3BlobStore {
    store: Arc<dyn ObjectStore>,
    /// Signs presigned GETs with the store's credentials; None for object
    /// stores that cannot (the in-memory one of tests).
    signer: Option<Arc<dyn Signer>>,
    /// `<prefix>/blobs`
    root: Vec<String>,
    staging: PathBuf,
    describe: String,
    uploads: Arc<tokio::sync::Semaphore>,
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Other(format!("blob storage: {e}"))
}

fn valid_hash(sha256: &str) -> StoreResult<()> {
    if sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        Ok(())
    } else {
        Err(StoreError::Other(format!("not a content hash: {sha256:?}")))
    }
}

/// True when the error comes from not reaching the server (connection
/// refused or dropped, timeouts) rather than from its answer.
fn is_connection_problem(e: &object_store::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(c) = cause {
        // object_store's own kind, when the chain shows it.
        if let Some(h) = c.downcast_ref::<HttpError>() {
            if matches!(
                h.kind(),
                HttpErrorKind::Connect
                    | HttpErrorKind::Request
                    | HttpErrorKind::Timeout
                    | HttpErrorKind::Interrupted
            ) {
                return true;
            }
        }
        // The HTTP client's error under it (object_store's retry error
        // passes it through transparently).
        if let Some(r) = c.downcast_ref::<reqwest::Error>() {
            if r.is_connect() || r.is_timeout() || r.is_request() || r.is_body() {
                return true;
            }
        }
        if let Some(e) = c.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                e.kind(),
                ConnectionRefused
                    | ConnectionReset
                    | ConnectionAborted
                    | NotConnected
                    | BrokenPipe
                    | TimedOut
                    | UnexpectedEof
            ) {
                return true;
            }
        }
        cause = c.source();
    }
    false
}

fn missing(sha256: &str) -> StoreError {
    StoreError::Other(format!("package {sha256} is missing from blob storage"))
}

impl S3BlobStore {
    /// Connects lazily: nothing is sent until the first operation.
    pub fn open(settings: S3Settings) -> StoreResult<Self> {
        if settings.bucket.is_empty() {
            return Err(StoreError::Other("S3 blob storage needs a bucket".into()));
        }
        if settings.access_key_id.is_empty() || settings.secret_access_key.is_empty() {
            return Err(StoreError::Other(
                "S3 blob storage needs an access key id and a secret access key".into(),
            ));
        }
        let client = ClientOptions::new()
            .with_allow_http(settings.allow_http)
            .with_connect_timeout(Duration::from_secs(5))
            // A whole request, body included: bounds a hung server while
            // leaving room for streaming a large package to a slow client.
            .with_timeout(Duration::from_secs(300));
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_access_key_id(&settings.access_key_id)
            .with_secret_access_key(&settings.secret_access_key)
            .with_allow_http(settings.allow_http)
            .with_virtual_hosted_style_request(!settings.path_style)
            .with_client_options(client)
            .with_retry(retry);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let store = Arc::new(
            builder
                .build()
                .map_err(|e| StoreError::Other(format!("S3 blob storage settings: {e}")))?,
        );
        let describe = format!(
            "s3://{}/{} at {}",
            settings.bucket,
            settings.prefix,
            settings.endpoint.as_deref().unwrap_or("AWS")
        );
        let mut s =
            Self::with_object_store(store.clone(), &settings.prefix, &settings.staging_dir)?;
        s.describe = describe;
        s.signer = Some(store);
        Ok(s)
    }

    /// The same layout on any `object_store` implementation (tests, other
    /// clouds, a wrapped S3 client).
    pub fn with_object_store(
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        staging_dir: &Path,
    ) -> StoreResult<Self> {
        std::fs::create_dir_all(staging_dir).map_err(io)?;
        let mut root: Vec<String> = prefix
            .split('/')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        root.push("blobs".into());
        Ok(S3BlobStore {
            describe: store.to_string(),
            store,
            signer: None,
            root,
            staging: staging_dir.to_path_buf(),
            uploads: Arc::new(tokio::sync::Semaphore::new(MAX_UPLOADS_IN_FLIGHT)),
        })
    }

    /// The object key of a blob: `<prefix>/blobs/<aa>/<sha256>`.
    pub fn key_of(&self, sha256: &str) -> String {
        self.location(sha256).to_string()
    }

    fn location(&self, sha256: &str) -> ObjectPath {
        self.root
            .iter()
            .map(String::as_str)
            .chain([&sha256[..2], sha256])
            .collect()
    }

    fn root_path(&self) -> ObjectPath {
        self.root.iter().map(String::as_str).collect()
    }

    fn err(&self, what: &str, e: object_store::Error) -> StoreError {
        if is_connection_problem(&e) {
            StoreError::Unavailable(format!("{what} on {}: {e}", self.describe))
        } else {
            StoreError::Other(format!("{what} on {}: {e}", self.describe))
        }
    }

    async fn head_exists(&self, location: &ObjectPath) -> StoreResult<bool> {
        match self.store.head(location).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.err("checking a package", e)),
        }
    }

    /// Uploads `file` (of `size` bytes) in parts; aborts the upload on any
    /// failure.
    async fn upload_multipart(
        &self,
        location: &ObjectPath,
        mut file: tokio::fs::File,
        size: u64,
    ) -> StoreResult<()> {
        let mut upload = self
            .store
            .put_multipart(location)
            .await
            .map_err(|e| self.err("starting an upload", e))?;
        let mut parts = tokio::task::JoinSet::new();
        let outcome = self
            .send_parts(upload.as_mut(), &mut parts, &mut file, size)
            .await;
        let outcome = match outcome {
            Ok(()) => upload
                .complete()
                .await
                .map(|_| ())
                .map_err(|e| self.err("completing an upload", e)),
            Err(e) => Err(e),
        };
        if outcome.is_err() {
            parts.shutdown().await;
            if let Err(e) = upload.abort().await {
                tracing::warn!(
                    error = %e,
                    key = %location,
                    "could not abort a failed multipart upload; its parts stay until the bucket's lifecycle rules remove them"
                );
            }
        }
        outcome
    }

    async fn send_parts(
        &self,
        upload: &mut dyn MultipartUpload,
        parts: &mut tokio::task::JoinSet<object_store::Result<()>>,
        file: &mut tokio::fs::File,
        size: u64,
    ) -> StoreResult<()> {
        let part_error =
            |joined: Result<object_store::Result<()>, tokio::task::JoinError>| match joined {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(self.err("uploading a part", e)),
                Err(e) => Err(StoreError::Other(format!("uploading a part: {e}"))),
            };
        let mut sent = 0u64;
        loop {
            let chunk = read_part(file).await.map_err(io)?;
            if chunk.is_empty() {
                break;
            }
            sent += chunk.len() as u64;
            while parts.len() >= MAX_PARTS_IN_FLIGHT {
                if let Some(joined) = parts.join_next().await {
                    part_error(joined)?;
                }
            }
            parts.spawn(upload.put_part(PutPayload::from(chunk)));
        }
        while let Some(joined) = parts.join_next().await {
            part_error(joined)?;
        }
        if sent != size {
            return Err(StoreError::Other(format!(
                "staged file changed during upload: {sent} bytes read, {size} expected"
            )));
        }
        Ok(())
    }
}

/// Reads up to one part from `file`; empty at the end.
async fn read_part(file: &mut tokio::fs::File) -> std::io::Result<Bytes> {
    let mut buf = BytesMut::with_capacity(PART_SIZE);
    while buf.len() < PART_SIZE {
        let want = PART_SIZE - buf.len();
        if (&mut *file).take(want as u64).read_buf(&mut buf).await? == 0 {
            break;
        }
    }
    Ok(buf.freeze())
}

#[async_trait]
impl BlobStore for S3BlobStore {
    fn object_key(&self, sha256: &str) -> StoreResult<Option<String>> {
        valid_hash(sha256)?;
        Ok(Some(self.key_of(sha256)))
    }

    /// SigV4 query signing of a GET of the object: computed here with the
    /// store's credentials, nothing is sent. The URL names the object by its
    /// hash; S3 cannot be told a download file name without signing
    /// `response-content-disposition`, which object_store's signer does not
    /// offer.
    async fn presigned_get(&self, sha256: &str, ttl: Duration) -> StoreResult<Option<String>> {
        valid_hash(sha256)?;
        let Some(signer) = &self.signer else {
            return Ok(None);
        };
        let url = signer
            .signed_url(reqwest::Method::GET, &self.location(sha256), ttl)
            .await
            .map_err(|e| self.err("signing a package URL", e))?;
        Ok(Some(url.into()))
    }

    fn staging_path(&self) -> PathBuf {
        self.staging
            .join(format!("{}.part", uuid::Uuid::new_v4().simple()))
    }

    async fn commit(&self, staged: &Path, sha256: &str) -> StoreResult<()> {
        valid_hash(sha256)?;
        let location = self.location(sha256);
        if !self.head_exists(&location).await? {
            // Never closed, so acquiring cannot fail.
            let _turn = self.uploads.acquire().await.map_err(|e| {
                StoreError::Other(format!("blob storage: upload queue closed: {e}"))
            })?;
            let mut file = tokio::fs::File::open(staged).await.map_err(io)?;
            let size = file.metadata().await.map_err(io)?.len();
            if size <= PART_SIZE as u64 {
                let mut body = Vec::with_capacity(size as usize);
                file.read_to_end(&mut body).await.map_err(io)?;
                self.store
                    .put(&location, PutPayload::from(body))
                    .await
                    .map_err(|e| self.err("uploading a package", e))?;
            } else {
                self.upload_multipart(&location, file, size).await?;
            }
        }
        match tokio::fs::remove_file(staged).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    async fn exists(&self, sha256: &str) -> StoreResult<bool> {
        valid_hash(sha256)?;
        self.head_exists(&self.location(sha256)).await
    }

    async fn ping(&self) -> StoreResult<()> {
        // A HEAD of a name no package has: answered quickly, and only an
        // unreachable or refusing endpoint makes it fail.
        self.head_exists(&self.location(&"0".repeat(64)))
            .await
            .map(|_| ())
    }

    async fn open_local(&self, sha256: &str) -> StoreResult<LocalBlob> {
        valid_hash(sha256)?;
        let got = match self.store.get(&self.location(sha256)).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Err(missing(sha256)),
            Err(e) => return Err(self.err("downloading a package", e)),
        };
        let (file, path) = tempfile::Builder::new()
            .prefix("local-")
            .suffix(".part")
            .tempfile_in(&self.staging)
            .map_err(io)?
            .into_parts();
        let mut file = tokio::fs::File::from_std(file);
        let mut body = got.into_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| self.err("downloading a package", e))?;
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        Ok(LocalBlob {
            path: path.to_path_buf(),
            guard: Some(path),
        })
    }

    async fn delete(&self, sha256: &str) -> StoreResult<()> {
        valid_hash(sha256)?;
        match self.store.delete(&self.location(sha256)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err("deleting a package", e)),
        }
    }

    async fn list(&self) -> StoreResult<Vec<String>> {
        let root = self.root_path();
        let metas: Vec<_> = self
            .store
            .list(Some(&root))
            .try_collect()
            .await
            .map_err(|e| self.err("listing packages", e))?;
        let mut out: Vec<String> = metas
            .iter()
            .filter_map(|m| m.location.filename())
            .filter(|name| valid_hash(name).is_ok())
            .map(str::to_string)
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    async fn clean_staging(&self, older_than_secs: u64) -> StoreResult<u64> {
        let cutoff = SystemTime::now() - Duration::from_secs(older_than_secs);
        let mut removed = 0;
        let mut entries = tokio::fs::read_dir(&self.staging).await.map_err(io)?;
        while let Some(e) = entries.next_entry().await.map_err(io)? {
            let modified = e.metadata().await.map_err(io)?.modified().map_err(io)?;
            if modified <= cutoff && tokio::fs::remove_file(e.path()).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    async fn read(&self, sha256: &str, range: Option<(u64, u64)>) -> StoreResult<BlobStream> {
        valid_hash(sha256)?;
        let location = self.location(sha256);
        if let Some((start, end)) = range {
            if start > end {
                return Err(StoreError::Other(format!("range {start}-{end} is empty")));
            }
        }
        let options = GetOptions {
            range: range.map(|(start, end)| GetRange::Bounded(start..end + 1)),
            ..GetOptions::default()
        };
        let got = match self.store.get_opts(&location, options).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Err(missing(sha256)),
            Err(e) => {
                // Tell a range past the end apart from other failures.
                if let Some((start, end)) = range {
                    if let Ok(meta) = self.store.head(&location).await {
                        if end >= meta.size {
                            return Err(outside(start, end, meta.size));
                        }
                    }
                }
                return Err(self.err("reading a package", e));
            }
        };
        let total_size = got.meta.size;
        if let Some((start, end)) = range {
            // S3 shortens a range that runs past the end instead of failing.
            if end >= total_size {
                return Err(outside(start, end, total_size));
            }
        }
        let describe = self.describe.clone();
        let body = got
            .into_stream()
            .map_err(move |e| {
                let kind = if is_connection_problem(&e) {
                    std::io::ErrorKind::ConnectionAborted
                } else {
                    std::io::ErrorKind::Other
                };
                std::io::Error::new(kind, format!("reading a package on {describe}: {e}"))
            })
            .boxed();
        Ok(BlobStream { total_size, body })
    }
}

fn outside(start: u64, end: u64, total_size: u64) -> StoreError {
    StoreError::Other(format!(
        "range {start}-{end} is outside a blob of {total_size} bytes"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn settings_from_url_and_env() {
        let s = S3Settings::from_url_with_env(
            "s3://packages/mnpd/prod/",
            env(&[
                ("MNPD_S3_ENDPOINT", "http://127.0.0.1:9000/"),
                ("AWS_ACCESS_KEY_ID", "aws-id"),
                ("MNPD_S3_ACCESS_KEY_ID", "mnpd-id"),
                ("AWS_SECRET_ACCESS_KEY", "aws-secret"),
            ]),
        )
        .unwrap();
        assert_eq!(s.bucket, "packages");
        assert_eq!(s.prefix, "mnpd/prod");
        assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.access_key_id, "mnpd-id", "MNPD_ names win over AWS_ ones");
        assert_eq!(s.secret_access_key, "aws-secret");
        assert!(s.path_style, "path style by default with an endpoint");
        assert!(s.allow_http, "plain HTTP allowed for an http:// endpoint");
        assert!(
            !format!("{s:?}").contains("aws-secret"),
            "Debug hides the secret"
        );
    }

    #[test]
    fn settings_for_aws_and_overrides() {
        let s = S3Settings::from_url_with_env(
            "s3://bucket",
            env(&[
                ("MNPD_S3_REGION", "eu-west-3"),
                ("MNPD_S3_ACCESS_KEY_ID", "id"),
                ("MNPD_S3_SECRET_ACCESS_KEY", "secret"),
            ]),
        )
        .unwrap();
        assert_eq!((s.bucket.as_str(), s.prefix.as_str()), ("bucket", ""));
        assert_eq!(s.endpoint, None);
        assert_eq!(s.region, "eu-west-3");
        assert!(!s.path_style && !s.allow_http);

        let s = S3Settings::from_url_with_env(
            "s3://bucket/p",
            env(&[
                ("MNPD_S3_ENDPOINT", "https://s3.example.test"),
                ("MNPD_S3_PATH_STYLE", "false"),
                ("MNPD_S3_ALLOW_HTTP", "1"),
                ("MNPD_S3_ACCESS_KEY_ID", "id"),
                ("MNPD_S3_SECRET_ACCESS_KEY", "secret"),
            ]),
        )
        .unwrap();
        assert!(!s.path_style && s.allow_http);
    }

    #[test]
    fn settings_from_the_aws_tools_variables() {
        let keys = [
            ("AWS_ACCESS_KEY_ID", "id"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let vars: Vec<(&str, &str)> = keys.iter().chain(extra).copied().collect();
            S3Settings::from_url_with_env("s3://bucket", env(&vars)).unwrap()
        };
        let s = with(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/"),
            ("AWS_REGION", "ap-singapore"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
        ]);
        assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s.region, "ap-singapore");
        assert!(s.path_style && s.allow_http);
        let s = with(&[
            ("AWS_ENDPOINT_URL", "http://generic:9000"),
            ("AWS_ENDPOINT_URL_S3", "http://s3-only:9000"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
        ]);
        assert_eq!(s.endpoint.as_deref(), Some("http://s3-only:9000"));
        assert_eq!(s.region, "eu-west-1");
        let s = with(&[
            ("AWS_ENDPOINT_URL", "http://aws:9000"),
            ("MNPD_S3_ENDPOINT", "http://mnpd:9000"),
            ("AWS_REGION", "ap-singapore"),
            ("MNPD_S3_REGION", "ap-guangzhou"),
        ]);
        assert_eq!(
            s.endpoint.as_deref(),
            Some("http://mnpd:9000"),
            "MNPD_ names win"
        );
        assert_eq!(s.region, "ap-guangzhou", "MNPD_ names win");
    }

    #[test]
    fn settings_errors_are_clear() {
        let keys = [
            ("MNPD_S3_ACCESS_KEY_ID", "id"),
            ("MNPD_S3_SECRET_ACCESS_KEY", "secret"),
        ];
        let err = |url: &str, vars: &[(&str, &str)]| {
            S3Settings::from_url_with_env(url, env(vars))
                .unwrap_err()
                .to_string()
        };
        assert!(err("http://bucket/p", &keys).contains("s3://"));
        assert!(err("s3:///p", &keys).contains("no bucket"));
        assert!(err("s3://b", &keys[..1]).contains("MNPD_S3_SECRET_ACCESS_KEY"));
        assert!(err("s3://b", &keys[1..]).contains("MNPD_S3_ACCESS_KEY_ID"));
        let mut bad = keys.to_vec();
        bad.push(("MNPD_S3_PATH_STYLE", "maybe"));
        assert!(err("s3://b", &bad).contains("MNPD_S3_PATH_STYLE"));
    }

    #[test]
    fn keys_follow_the_layout() {
        let dir = tempfile::tempdir().unwrap();
        let store = S3BlobStore::with_object_store(
            Arc::new(object_store::memory::InMemory::new()),
            "/a/b/",
            dir.path(),
        )
        .unwrap();
        let sha = "ab".repeat(32);
        assert_eq!(store.key_of(&sha), format!("a/b/blobs/ab/{sha}"));
        let store = S3BlobStore::with_object_store(
            Arc::new(object_store::memory::InMemory::new()),
            "",
            dir.path(),
        )
        .unwrap();
        assert_eq!(store.key_of(&sha), format!("blobs/ab/{sha}"));
    }

    #[tokio::test]
    async fn presigned_gets_name_the_object_and_the_lifetime() {
        let dir = tempfile::tempdir().unwrap();
        let store = S3BlobStore::open(S3Settings {
            bucket: "pkgs".into(),
            prefix: "mnpd".into(),
            endpoint: Some("http://127.0.0.1:9".into()),
            region: "us-east-1".into(),
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "secret".into(),
            allow_http: true,
            path_style: true,
            staging_dir: dir.path().to_path_buf(),
        })
        .unwrap();
        let sha = "ab".repeat(32);
        assert_eq!(
            store.object_key(&sha).unwrap().as_deref(),
            Some(format!("mnpd/blobs/ab/{sha}").as_str())
        );
        // Signed offline: the endpoint (a closed port) is never reached.
        let url = store
            .presigned_get(&sha, Duration::from_secs(90))
            .await
            .unwrap()
            .expect("S3 signs");
        let url = url::Url::parse(&url).unwrap();
        assert_eq!(
            &url[..url::Position::AfterPath],
            format!("http://127.0.0.1:9/pkgs/mnpd/blobs/ab/{sha}")
        );
        let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(query["X-Amz-Expires"], "90");
        assert_eq!(query["X-Amz-SignedHeaders"], "host");
        assert!(query["X-Amz-Credential"].starts_with("AKIDEXAMPLE/"));
        assert_eq!(query["X-Amz-Signature"].len(), 64);
        assert!(store
            .presigned_get("../x", Duration::from_secs(1))
            .await
            .is_err());

        // An object store that cannot sign answers no URL.
        let unsigned = S3BlobStore::with_object_store(
            Arc::new(object_store::memory::InMemory::new()),
            "p",
            dir.path(),
        )
        .unwrap();
        assert_eq!(
            unsigned
                .presigned_get(&sha, Duration::from_secs(90))
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn works_on_any_object_store() {
        use futures::TryStreamExt;
        let dir = tempfile::tempdir().unwrap();
        let store = S3BlobStore::with_object_store(
            Arc::new(object_store::memory::InMemory::new()),
            "p",
            dir.path(),
        )
        .unwrap();
        let sha = "c".repeat(64);
        let staged = store.staging_path();
        tokio::fs::write(&staged, b"0123456789").await.unwrap();
        store.commit(&staged, &sha).await.unwrap();
        assert!(!staged.exists());
        assert_eq!(store.list().await.unwrap(), vec![sha.clone()]);
        let s = store.read(&sha, Some((2, 4))).await.unwrap();
        assert_eq!(s.total_size, 10);
        let parts: Vec<Bytes> = s.body.try_collect().await.unwrap();
        assert_eq!(parts.concat(), b"234");
        assert!(store.read(&sha, Some((5, 10))).await.is_err());
        assert!(store.exists("../x").await.is_err());
    }
}
