//! CreateMNPVersion and DescribeMNPVersion: the synchronous part of adding a
//! version. The package is downloaded and stored here, then a durable task
//! is recorded for the workers in [`crate::task`].

use std::sync::Arc;

use mnpd_fetch::{FetchError, Fetched, Fetcher};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::collect::DELETION_STALE_SECS;
use crate::compile::CompileState;
use crate::entity::*;
use crate::error::DomainError;
use crate::ids;
use crate::mini_program::owned_platform;
use crate::store::{
    AccountStore, BlobStore, Has, MiniProgramStore, StoreError, StoreResult, TaskBacklog, TaskStore,
};
use crate::upload::Uploads;
use crate::version_number::VersionNumber;

/// How long a request waits for a sweep that is deleting its package's
/// content (a few milliseconds as a rule) before giving up.
const DELETION_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

pub const MAX_VERSION_INTRO_CHARS: usize = 200;

/// What CreateMNPVersion carries.
#[derive(Debug, Clone)]
pub struct NewVersionRequest {
    pub platform_id: String,
    pub mnp_id: String,
    pub version: String,
    pub file_url: String,
    pub intro: String,
}

pub struct Versions {
    accounts: Arc<dyn AccountStore>,
    mini_programs: Arc<dyn MiniProgramStore>,
    tasks: Arc<dyn TaskStore>,
    blobs: Arc<dyn BlobStore>,
    fetcher: Fetcher,
    clock: Arc<dyn Clock>,
    /// Woken when a task is recorded, so idle workers start at once.
    work: Arc<Notify>,
    /// Packages uploaded to this server, taken by their URL.
    uploads: Option<Arc<Uploads>>,
}

impl Versions {
    pub fn new<S>(
        store: Arc<S>,
        blobs: Arc<dyn BlobStore>,
        fetcher: Fetcher,
        clock: Arc<dyn Clock>,
        work: Arc<Notify>,
    ) -> Self
    where
        S: Has<dyn AccountStore> + Has<dyn MiniProgramStore> + Has<dyn TaskStore> + ?Sized,
    {
        Versions {
            accounts: Has::share(&store),
            mini_programs: Has::share(&store),
            tasks: Has::share(&store),
            blobs,
            fetcher,
            clock,
            work,
            uploads: None,
        }
    }

    /// A `FileUrl` naming one of these uploads is read from storage, not
    /// downloaded.
    pub fn with_uploads(mut self, uploads: Arc<Uploads>) -> Self {
        self.uploads = Some(uploads);
        self
    }

    /// Returns the TaskId. The checks run in the documented order so the
    /// first problem a caller has is the one reported.
    pub async fn create(
        &self,
        caller: &Caller,
        req: NewVersionRequest,
    ) -> Result<String, DomainError> {
        self.create_task(caller, req, false).await
    }

    /// CreateConsoleMNPVersionCompileTask: the same checks and storage as
    /// [`Versions::create`], for a task that also measures the package
    /// and streams its progress (`crate::compile`).
    pub async fn create_compile(
        &self,
        caller: &Caller,
        req: NewVersionRequest,
    ) -> Result<String, DomainError> {
        self.create_task(caller, req, true).await
    }

    async fn create_task(
        &self,
        caller: &Caller,
        req: NewVersionRequest,
        compile: bool,
    ) -> Result<String, DomainError> {
        let now = self.clock.now().unix_timestamp();
        let platform = owned_platform(self.accounts.as_ref(), caller, &req.platform_id).await?;
        if let Some(expires_at) = platform.expires_at {
            if expires_at <= now {
                return Err(DomainError::PlanExpired {
                    platform_id: platform.platform_id,
                    expired_at: format_time(expires_at),
                });
            }
        }
        if self
            .mini_programs
            .get_mini_program(&req.platform_id, &req.mnp_id)
            .await?
            .is_none()
        {
            return Err(DomainError::InvalidMnpId(req.mnp_id));
        }
        let number = VersionNumber::parse(&req.version).map_err(|why| {
            DomainError::InvalidMnpVersion(format!(
                "{why}; send MAJOR.MINOR.PATCH of non-negative integers without leading zeros, e.g. 1.0.0"
            ))
        })?;
        // The same request again while its task lives answers the same task,
        // so a client retrying after a timeout does not download twice.
        if let Some(task) = self.reusable(&req, compile).await? {
            return Ok(task.task_id);
        }
        let live = self.tasks.live_version_numbers(&req.mnp_id).await?;
        if let Err(why) = must_exceed(&number, &live) {
            // An identical request may have recorded its task since the
            // lookup above: it is the same request, so the same task.
            if let Some(task) = self.reusable(&req, compile).await? {
                return Ok(task.task_id);
            }
            return Err(DomainError::InvalidMnpVersion(why));
        }
        let intro = req.intro.trim();
        let intro_chars = intro.chars().count();
        if intro_chars == 0 || intro_chars > MAX_VERSION_INTRO_CHARS {
            return Err(DomainError::InvalidMnpVersionIntro(format!(
                "MNPVersionIntro has {intro_chars} characters after trimming; send 1 to {MAX_VERSION_INTRO_CHARS}"
            )));
        }

        let uploaded = match &self.uploads {
            Some(uploads) => uploads.package_of(caller, &req.file_url).await?,
            None => None,
        };
        // An upload keeps its package until its TTL; a download pins its
        // content until its task is recorded (see `download`).
        let (fetched, pin) = match uploaded {
            Some(package) => (
                Fetched {
                    size: package.size,
                    sha256: package.sha256,
                },
                None,
            ),
            None => {
                let (fetched, pin) = self.download(&req.file_url).await?;
                (fetched, Some(pin))
            }
        };
        let recorded = self
            .record(caller, &req, &number, &fetched, now, compile)
            .await;
        if let Some(pin) = pin {
            // Once the task is recorded it keeps the content itself; a pin
            // left by a failure here lapses after an hour.
            if let Err(e) = self.tasks.unpin_package(pin).await {
                tracing::warn!(error = %e, "could not unpin a package; it lapses in an hour");
            }
        }
        recorded
    }

    /// Records the task of a version whose package is stored; its TaskId.
    async fn record(
        &self,
        caller: &Caller,
        req: &NewVersionRequest,
        number: &VersionNumber,
        fetched: &Fetched,
        now: i64,
        compile: bool,
    ) -> Result<String, DomainError> {
        for _ in 0..5 {
            let task = Task {
                task_id: ids::task_id(self.clock.now()),
                platform_id: req.platform_id.clone(),
                mnp_id: req.mnp_id.clone(),
                mnp_version: req.version.clone(),
                file_url: req.file_url.clone(),
                intro: req.intro.clone(),
                sha256: fetched.sha256.clone(),
                size: fetched.size as i64,
                status: TaskStatus::Pending,
                msg: "Pending".into(),
                attempts: 0,
                mnp_version_id: None,
                create_user: caller.actor.clone(),
                created_at: now,
                updated_at: now,
                compile: compile.then(|| CompileState::queued(now)),
            };
            let check = |live: &[String]| must_exceed(number, live);
            match self.tasks.insert_task_checked(&task, &check).await {
                Ok(()) => {
                    self.work.notify_waiters();
                    self.work.notify_one();
                    return Ok(task.task_id);
                }
                Err(StoreError::Conflict(what)) if what == "task_id" => continue,
                Err(StoreError::Conflict(why)) => {
                    // A concurrent identical request won the race: answer its task.
                    if let Some(task) = self.reusable(req, compile).await? {
                        return Ok(task.task_id);
                    }
                    return Err(DomainError::InvalidMnpVersion(why));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(DomainError::Internal(
            "could not allocate a unique TaskId".into(),
        ))
    }

    /// A live task for exactly this request and of the same kind; one of
    /// the other kind holds the version number, which the order check then
    /// refuses.
    async fn reusable(
        &self,
        req: &NewVersionRequest,
        compile: bool,
    ) -> Result<Option<Task>, DomainError> {
        Ok(self
            .tasks
            .find_reusable_task(&req.mnp_id, &req.version, &req.file_url, &req.intro)
            .await?
            .filter(|t| t.compile.is_some() == compile))
    }

    /// Downloads `file_url` into the blob store, its content pinned (the
    /// pin's id is returned) so that no sweep of failed tasks' packages
    /// deletes it before the task that names it is recorded.
    ///
    /// The pin and a sweep's deletion row meet in the database: the pin is
    /// written before the deletion rows are read, and a sweep writes its
    /// row before it reads the pins. So either the sweep sees the pin and
    /// keeps the content, or this request sees the sweep and waits for it
    /// to end before storing (the content is then stored again if the
    /// sweep took it).
    async fn download(&self, file_url: &str) -> Result<(Fetched, i64), DomainError> {
        let staged = self.blobs.staging_path();
        // Removed however this request ends, a dropped connection included;
        // after the commit the path no longer exists.
        let _staged_guard = StagedFile(staged.clone());
        let fetched = self
            .fetcher
            .fetch_to(file_url, &staged)
            .await
            .map_err(|e| match e {
                FetchError::TooLarge { limit, declared } => {
                    DomainError::PackageTooLarge { limit, declared }
                }
                FetchError::BadUrl(m) | FetchError::Failed(m) => DomainError::DownloadFailed(m),
                FetchError::Local(m) => DomainError::Internal(m),
            })?;
        let now = self.clock.now().unix_timestamp();
        let pin = self.tasks.pin_package(&fetched.sha256, now).await?;
        let stored = self.store_pinned(&staged, &fetched.sha256, now).await;
        if let Err(e) = stored {
            let _ = self.tasks.unpin_package(pin).await;
            let _ = tokio::fs::remove_file(&staged).await;
            return Err(e);
        }
        Ok((fetched, pin))
    }

    /// Commits the staged package once no sweep is deleting its content.
    async fn store_pinned(
        &self,
        staged: &std::path::Path,
        sha256: &str,
        now: i64,
    ) -> Result<(), DomainError> {
        let since = now - DELETION_STALE_SECS;
        let deadline = std::time::Instant::now() + DELETION_WAIT;
        while self.tasks.package_deletion_pending(sha256, since).await? {
            if std::time::Instant::now() >= deadline {
                return Err(DomainError::Internal(format!(
                    "package {sha256} is being deleted by a sweep that has not ended for {} s",
                    DELETION_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.blobs.commit(staged, sha256).await?;
        Ok(())
    }

    /// DescribeMNPVersion: the task of this platform with that id.
    pub async fn task(
        &self,
        caller: &Caller,
        platform_id: &str,
        task_id: &str,
    ) -> Result<Task, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        match self.tasks.get_task(task_id).await? {
            Some(t) if t.platform_id == platform_id => Ok(t),
            _ => Err(DomainError::InvalidTaskId(task_id.to_string())),
        }
    }

    /// DescribeConsoleMNPVersionCompileTask: the compile task of this
    /// platform with that id (a CreateMNPVersion task is not one).
    pub async fn compile_task(
        &self,
        caller: &Caller,
        platform_id: &str,
        task_id: &str,
    ) -> Result<Task, DomainError> {
        let task = self.task(caller, platform_id, task_id).await?;
        if task.compile.is_none() {
            return Err(DomainError::InvalidTaskId(task_id.to_string()));
        }
        Ok(task)
    }

    /// Tasks pending and running on every node, for `/metrics` and
    /// `/readyz`. The store's own error, which the probe reports as is:
    /// operators read it, not API callers.
    pub async fn backlog(&self) -> StoreResult<TaskBacklog> {
        self.tasks.task_backlog().await
    }
}

/// Deletes a staged download when dropped.
pub(crate) struct StagedFile(pub(crate) std::path::PathBuf);

impl Drop for StagedFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A new version must be greater than every live one.
pub fn must_exceed(new: &VersionNumber, live: &[String]) -> Result<(), String> {
    let highest = live
        .iter()
        .filter_map(|s| VersionNumber::parse(s).ok())
        .max();
    match highest {
        Some(h) if *new <= h => Err(format!(
            "MNPVersion {new} is not greater than {h}, the highest version this mini program already has (or is processing); send a greater version"
        )),
        _ => Ok(()),
    }
}

pub fn format_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}
