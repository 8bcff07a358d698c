//! Packages as files under `<dir>/blobs/<aa>/<sha256>`, staged under
//! `<dir>/tmp` on the same file system so that committing is a rename.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
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

/// Bytes a download reads from the file at a time.
const CHUNK: u64 = 256 * 1024;

/// The next `len` bytes of `file` as a stream of chunks of up to [`CHUNK`]
/// bytes, each read on the blocking pool straight into the buffer that is
/// sent: one hand-off per chunk and no copy on the way.
fn chunks(file: std::fs::File, len: u64) -> BoxStream<'static, std::io::Result<Bytes>> {
    futures::stream::try_unfold((file, len), |(mut file, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        let want = left.min(CHUNK);
        let (file, chunk) = tokio::task::spawn_blocking(move || {
            let mut buf = Vec::with_capacity(want as usize);
            (&mut file).take(want).read_to_end(&mut buf)?;
            if (buf.len() as u64) < want {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the blob is shorter than when it was opened",
                ));
            }
            Ok((file, Bytes::from(buf)))
        })
        .await
        .map_err(std::io::Error::other)??;
        Ok(Some((chunk, (file, left - want))))
    })
    .boxed()
}

#[async_trait]
impl BlobStore for FsBlobStore {
    /// Files are no bucket's objects: only mnpd serves them.
    fn object_key(&self, sha256: &str) -> StoreResult<Option<String>> {
        valid_hash(sha256)?;
        Ok(None)
    }

    async fn presigned_get(&self, sha256: &str, _ttl: Duration) -> StoreResult<Option<String>> {
        valid_hash(sha256)?;
        Ok(None)
    }

    async fn ping(&self) -> StoreResult<()> {
        for dir in [&self.blobs, &self.staging] {
            let meta = tokio::fs::metadata(dir).await.map_err(io)?;
            if !meta.is_dir() {
                return Err(StoreError::Other(format!(
                    "blob storage: {} is not a directory",
                    dir.display()
                )));
            }
        }
        Ok(())
    }

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
        valid_hash(sha256)?;
        let path = self.path_of(sha256);
        let opened = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(path)?;
            let size = file.metadata()?.len();
            Ok::<_, std::io::Error>((file, size))
        })
        .await
        .map_err(|e| StoreError::Other(format!("blob storage: {e}")))?;
        let (mut file, total_size) = opened.map_err(io)?;
        let (start, len) = match range {
            None => (0, total_size),
            Some((start, end)) if start <= end && end < total_size => (start, end - start + 1),
            Some((start, end)) => {
                return Err(StoreError::Other(format!(
                    "range {start}-{end} is outside a blob of {total_size} bytes"
                )))
            }
        };
        // Moves the file offset only, no I/O.
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        Ok(BlobStream {
            total_size,
            body: chunks(file, len),
        })
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
    async fn reads_large_blobs_in_bounded_chunks() {
        use futures::TryStreamExt;
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let sha = "e".repeat(64);
        let content: Vec<u8> = (0..3 * CHUNK + 123).map(|i| (i % 251) as u8).collect();
        let staged = store.staging_path();
        tokio::fs::write(&staged, &content).await.unwrap();
        store.commit(&staged, &sha).await.unwrap();
        for (range, expected) in [
            (None, &content[..]),
            (
                Some((CHUNK - 5, 2 * CHUNK + 4)),
                &content[CHUNK as usize - 5..][..CHUNK as usize + 10],
            ),
            (
                Some((3 * CHUNK, 3 * CHUNK + 122)),
                &content[3 * CHUNK as usize..],
            ),
        ] {
            let read = store.read(&sha, range).await.unwrap();
            assert_eq!(read.total_size, content.len() as u64);
            let parts: Vec<bytes::Bytes> = read.body.try_collect().await.unwrap();
            assert!(parts
                .iter()
                .all(|p| !p.is_empty() && p.len() as u64 <= CHUNK));
            assert_eq!(parts.concat(), expected, "{range:?}");
        }
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
