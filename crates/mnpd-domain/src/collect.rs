//! Packages of failed tasks, deleted soon after the failure by whichever
//! node sweeps first, unless a version, a live task or an upload still
//! names the same content.
//!
//! A failure wakes the sweeper of the node that failed the task; every
//! node also sweeps on a timer, so a failure whose node died before its
//! sweep is collected by another. Sweeps are safe to run concurrently:
//! deleting a package twice is harmless, and each task is marked once.
//!
//! A request storing the same content during a sweep may have committed
//! the package before the check and record its task after it, so that the
//! sweep deletes a package its task names. The request keeps a second name
//! for its bytes (a hard link in the staging folder) until the task is
//! recorded, then checks the package is still stored and stores it again if
//! not (`Versions::create`). What is left is a sweep whose check comes
//! before the task's record and whose delete comes after that re-check,
//! microseconds apart on both sides; its worker then fails the task with
//! "the stored package could not be read; create the version again".

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::clock::Clock;
use crate::error::DomainError;
use crate::store::{BlobStore, Has, TaskStore, UploadStore};

/// Failed tasks looked at per query.
const BATCH: i64 = 100;

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
                if !self.uploads.blob_needed(&task.sha256, now).await? {
                    self.blobs.delete(&task.sha256).await?;
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
