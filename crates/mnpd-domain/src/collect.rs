//! Packages of failed tasks, deleted soon after the failure by whichever
//! node sweeps first, unless a version, a live task or an upload still
//! names the same content.
//!
//! A failure wakes the sweeper of the node that failed the task; every
//! node also sweeps on a timer, so a failure whose node died before its
//! sweep is collected by another. Sweeps are safe to run concurrently:
//! deleting a package twice is harmless, and each task is marked once.
//!
//! Requests storing the same content meanwhile are kept safe through the
//! database: a request pins the content before it stores it and until its
//! task is recorded, and a sweep writes a deletion row before it checks
//! what needs the content (pins included). Either the sweep sees the pin,
//! or the request sees the deletion row and waits for it to end before
//! storing (`Versions::download`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::clock::Clock;
use crate::error::DomainError;
use crate::store::{BlobStore, Has, TaskStore, UploadStore};

/// Failed tasks looked at per query.
const BATCH: i64 = 100;
/// A deletion begun this long ago and never ended was a node that died
/// mid-sweep; nobody waits for it.
pub const DELETION_STALE_SECS: i64 = 300;

pub struct FailedPackages {
    tasks: Arc<dyn TaskStore>,
    uploads: Arc<dyn UploadStore>,
    blobs: Arc<dyn BlobStore>,
    clock: Arc<dyn Clock>,
}

impl FailedPackages {
    pub fn new<S>(store: Arc<S>, blobs: Arc<dyn BlobStore>, clock: Arc<dyn Clock>) -> Self
    where
        S: Has<dyn TaskStore> + Has<dyn UploadStore> + ?Sized,
    {
        FailedPackages {
            tasks: Has::share(&store),
            uploads: Has::share(&store),
            blobs,
            clock,
        }
    }

    /// One sweep; returns how many packages were deleted.
    pub async fn collect(&self) -> Result<u64, DomainError> {
        let mut deleted = 0;
        loop {
            let failed = self.tasks.failed_tasks_to_collect(BATCH).await?;
            for task in &failed {
                let now = self.clock.now().unix_timestamp();
                // Said before the check, so that a request recording a task
                // for this content meanwhile sees it (`Versions::create`).
                let deletion = self.tasks.begin_package_deletion(&task.sha256, now).await?;
                let outcome = self.delete_unless_needed(&task.sha256, now).await;
                self.tasks
                    .end_package_deletion(deletion, now - DELETION_STALE_SECS)
                    .await?;
                if outcome? {
                    deleted += 1;
                }
                self.tasks
                    .mark_package_collected(&task.task_id, now)
                    .await?;
            }
            if (failed.len() as i64) < BATCH {
                return Ok(deleted);
            }
        }
    }

    async fn delete_unless_needed(&self, sha256: &str, now: i64) -> Result<bool, DomainError> {
        if self.uploads.blob_needed(sha256, now).await? {
            return Ok(false);
        }
        self.blobs.delete(sha256).await?;
        Ok(true)
    }

    /// Sweeps when woken by a failure and every `every`, until `stop`
    /// turns true.
    pub async fn run(
        self: Arc<Self>,
        failures: Arc<Notify>,
        every: Duration,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            match self.collect().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(packages = n, "removed the packages of failed tasks"),
                Err(e) => {
                    tracing::warn!(error = %e, "could not collect the packages of failed tasks; retrying later")
                }
            }
            tokio::select! {
                _ = failures.notified() => {}
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}
