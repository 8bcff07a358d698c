//! Choosing the backends from configuration URLs: the embedded defaults
//! (SQLite in the data directory, packages in it, an in-process limiter) or
//! PostgreSQL, S3-compatible storage and Redis for several nodes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use mnpd_backend::{
    FsBlobStore, InProcessLimiter, PgOptions, PgStore, RedisLimiter, S3BlobStore, S3Settings,
    SqliteStore,
};
use mnpd_domain::store::{BlobStore, MetaStore, RateLimiter};

pub const DB_FILE: &str = "mnpd.db";

/// The metadata store and how to close it.
pub enum Metadata {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

impl Metadata {
    pub fn store(&self) -> Arc<dyn MetaStore> {
        match self {
            Metadata::Sqlite(s) => s.clone(),
            Metadata::Postgres(s) => s.clone(),
        }
    }

    /// Only one process works on an embedded store; several nodes may share
    /// PostgreSQL.
    pub fn single_node(&self) -> bool {
        matches!(self, Metadata::Sqlite(_))
    }

    pub async fn close(&self) {
        match self {
            Metadata::Sqlite(s) => s.close().await,
            Metadata::Postgres(s) => s.close().await,
        }
    }
}

fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty()).then(|| PathBuf::from(path))
}

/// `--database-url`: absent or `sqlite://PATH` for SQLite (default
/// `DATA_DIR/mnpd.db`), `postgres://...` for PostgreSQL.
/// `key_ttl`: how long an enabled API key is trusted without reading it
/// again.
pub async fn open_metadata(
    data_dir: &Path,
    database_url: Option<&str>,
    key_ttl: Duration,
) -> Result<Metadata> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    match database_url.map(str::trim).filter(|u| !u.is_empty()) {
        None => open_sqlite(&data_dir.join(DB_FILE), key_ttl).await,
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let options = PgOptions {
                key_ttl,
                ..PgOptions::default()
            };
            let store = PgStore::connect_with(url, options)
                .await
                .with_context(|| format!("connecting to PostgreSQL at {}", redact(url)))?;
            Ok(Metadata::Postgres(Arc::new(store)))
        }
        Some(url) => match sqlite_path(url) {
            Some(path) => open_sqlite(&path, key_ttl).await,
            None => bail!(
                "--database-url `{}` is not supported; use sqlite://PATH or postgres://USER@HOST/DB",
                redact(url)
            ),
        },
    }
}

async fn open_sqlite(path: &Path, key_ttl: Duration) -> Result<Metadata> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let store = SqliteStore::open(path)
        .await
        .with_context(|| format!("opening the database {}", path.display()))?
        .with_key_ttl(key_ttl);
    Ok(Metadata::Sqlite(Arc::new(store)))
}

/// `--storage-url`: absent or `file://PATH` for a folder (default the data
/// directory), `s3://BUCKET/PREFIX` for S3-compatible storage (endpoint,
/// region and credentials from `MNPD_S3_*` / `AWS_*`).
pub fn open_blobs(data_dir: &Path, storage_url: Option<&str>) -> Result<Arc<dyn BlobStore>> {
    match storage_url.map(str::trim).filter(|u| !u.is_empty()) {
        None => Ok(Arc::new(open_folder(data_dir)?)),
        Some(url) if url.starts_with("s3://") => {
            let mut settings =
                S3Settings::from_url(url).with_context(|| format!("--storage-url `{url}`"))?;
            // Downloads land next to the data directory before upload.
            settings.staging_dir = data_dir.join("tmp");
            std::fs::create_dir_all(&settings.staging_dir)?;
            Ok(Arc::new(
                S3BlobStore::open(settings).with_context(|| format!("opening S3 storage {url}"))?,
            ))
        }
        Some(url) => match url.strip_prefix("file://") {
            Some(path) if !path.is_empty() => Ok(Arc::new(open_folder(Path::new(path))?)),
            _ => bail!(
                "--storage-url `{url}` is not supported; use file:///PATH or s3://BUCKET/PREFIX"
            ),
        },
    }
}

fn open_folder(dir: &Path) -> Result<FsBlobStore> {
    FsBlobStore::open(dir).with_context(|| format!("opening package storage in {}", dir.display()))
}

/// `--redis-url`: a limit shared by every node; absent, per process. An
/// unreachable Redis does not stop the node: it limits in process meanwhile.
pub async fn open_limiter(
    redis_url: Option<&str>,
    per_second: u32,
) -> Result<Arc<dyn RateLimiter>> {
    match redis_url.map(str::trim).filter(|u| !u.is_empty()) {
        None => Ok(Arc::new(InProcessLimiter::new(per_second))),
        Some(url) => Ok(Arc::new(
            RedisLimiter::connect(url, per_second)
                .await
                .with_context(|| format!("--redis-url `{}`", redact(url)))?,
        )),
    }
}

/// Keys of one deployment, so that several deployments (or test runs) may
/// share one Redis without sharing budgets.
pub struct NamespacedLimiter {
    inner: Arc<dyn RateLimiter>,
    prefix: String,
}

impl NamespacedLimiter {
    pub fn new(inner: Arc<dyn RateLimiter>, namespace: &str) -> Self {
        NamespacedLimiter {
            inner,
            prefix: format!("{namespace}:"),
        }
    }
}

impl RateLimiter for NamespacedLimiter {
    fn admit(&self, key: &str) -> bool {
        self.inner.admit(&format!("{}{key}", self.prefix))
    }
}

/// A URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(unparsable URL)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls() {
        assert_eq!(
            sqlite_path("sqlite:///var/lib/mnpd/m.db"),
            Some(PathBuf::from("/var/lib/mnpd/m.db"))
        );
        assert_eq!(
            sqlite_path("sqlite://rel/m.db?mode=rwc"),
            Some(PathBuf::from("rel/m.db"))
        );
        assert_eq!(sqlite_path("sqlite://"), None);
        assert_eq!(sqlite_path("mysql://x"), None);
    }

    #[test]
    fn passwords_are_hidden() {
        let shown = redact("postgres://mnpd:s3cret@db.internal:5432/mnpd");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("db.internal"));
    }
}
