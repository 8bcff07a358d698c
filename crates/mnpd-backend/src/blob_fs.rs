//! Packages as files under `<dir>/blobs/<aa>/<sha256>`, staged under
//! `<dir>/tmp` on the same file system so that committing is a rename.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use mnpd_domain::store::{BlobStore, BlobStream, LocalBlob, StoreError, StoreResult};

pub struct FsBlobStore {
    blobs: PathBuf,
    staging: PathBuf,
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

impl FsBlobStore {
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        let blobs = dir.join("blobs");
        let staging = dir.join("tmp");
        std::fs::create_dir_all(&blobs)?;
        std::fs::create_dir_all(&staging)?;
        Ok(FsBlobStore { blobs, staging })
    }

    pub fn path_of(&self, sha256: &str) -> PathBuf {
        self.blobs.join(&sha256[..2]).join(sha256)
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    fn staging_path(&self) -> PathBuf {
        self.staging
            .join(format!("{}.part", uuid::Uuid::new_v4().simple()))
    }

    async fn commit(&self, staged: &Path, sha256: &str) -> StoreResult<()> {
        valid_hash(sha256)?;
        let dest = self.path_of(sha256);
        if tokio::fs::try_exists(&dest).await.map_err(io)? {
            tokio::fs::remove_file(staged).await.map_err(io)?;
            return Ok(());
        }
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        tokio::fs::rename(staged, &dest).await.map_err(io)?;
        Ok(())
    }

    async fn exists(&self, sha256: &str) -> StoreResult<bool> {
        valid_hash(sha256)?;
        tokio::fs::try_exists(self.path_of(sha256))
            .await
            .map_err(io)
    }

    async fn open_local(&self, sha256: &str) -> StoreResult<LocalBlob> {
        valid_hash(sha256)?;
        let path = self.path_of(sha256);
        if !tokio::fs::try_exists(&path).await.map_err(io)? {
            return Err(StoreError::Other(format!(
                "package {sha256} is missing from blob storage"
            )));
        }
        Ok(LocalBlob { path, guard: None })
    }

    async fn delete(&self, sha256: &str) -> StoreResult<()> {
        valid_hash(sha256)?;
        match tokio::fs::remove_file(self.path_of(sha256)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    async fn list(&self) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        let mut shards = tokio::fs::read_dir(&self.blobs).await.map_err(io)?;
        while let Some(shard) = shards.next_entry().await.map_err(io)? {
            if !shard.file_type().await.map_err(io)?.is_dir() {
                continue;
            }
            let mut files = tokio::fs::read_dir(shard.path()).await.map_err(io)?;
            while let Some(f) = files.next_entry().await.map_err(io)? {
                if let Some(name) = f.file_name().to_str() {
                    if valid_hash(name).is_ok() {
                        out.push(name.to_string());
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    async fn read(&self, sha256: &str, range: Option<(u64, u64)>) -> StoreResult<BlobStream> {
        use futures::StreamExt;
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        valid_hash(sha256)?;
        let mut file = tokio::fs::File::open(self.path_of(sha256))
            .await
            .map_err(io)?;
        let total_size = file.metadata().await.map_err(io)?.len();
        let (start, len) = match range {
            None => (0, total_size),
            Some((start, end)) if start <= end && end < total_size => (start, end - start + 1),
            Some((start, end)) => {
                return Err(StoreError::Other(format!(
                    "range {start}-{end} is outside a blob of {total_size} bytes"
                )))
            }
        };
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(io)?;
        let body = tokio_util::io::ReaderStream::with_capacity(file.take(len), 64 * 1024).boxed();
        Ok(BlobStream { total_size, body })
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn commit_is_content_addressed_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let sha = "a".repeat(64);
        for _ in 0..2 {
            let staged = store.staging_path();
            tokio::fs::write(&staged, b"pkg").await.unwrap();
            store.commit(&staged, &sha).await.unwrap();
            assert!(!staged.exists());
        }
        assert!(store.exists(&sha).await.unwrap());
        assert_eq!(store.list().await.unwrap(), vec![sha.clone()]);
        let local = store.open_local(&sha).await.unwrap();
        assert_eq!(std::fs::read(local.path).unwrap(), b"pkg");
        store.delete(&sha).await.unwrap();
        assert!(!store.exists(&sha).await.unwrap());
        assert!(store.open_local(&sha).await.is_err());
    }

    #[tokio::test]
    async fn reads_whole_and_ranges() {
        use futures::TryStreamExt;
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let sha = "c".repeat(64);
        let staged = store.staging_path();
        tokio::fs::write(&staged, b"0123456789").await.unwrap();
        store.commit(&staged, &sha).await.unwrap();
        let collect = |s: BlobStream| async move {
            let parts: Vec<bytes::Bytes> = s.body.try_collect().await.unwrap();
            (s.total_size, parts.concat())
        };
        assert_eq!(
            collect(store.read(&sha, None).await.unwrap()).await,
            (10, b"0123456789".to_vec())
        );
        assert_eq!(
            collect(store.read(&sha, Some((2, 4))).await.unwrap()).await,
            (10, b"234".to_vec())
        );
        assert!(store.read(&sha, Some((5, 10))).await.is_err());
        assert!(store.read(&"d".repeat(64), None).await.is_err());
    }

    #[tokio::test]
    async fn refuses_non_hash_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        assert!(store.exists("../../etc/passwd").await.is_err());
    }

    #[tokio::test]
    async fn cleans_old_staged_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let staged = store.staging_path();
        tokio::fs::write(&staged, b"left by a crash").await.unwrap();
        assert_eq!(store.clean_staging(3600).await.unwrap(), 0);
        assert_eq!(store.clean_staging(0).await.unwrap(), 1);
    }
}
