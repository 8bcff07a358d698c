//! The workers that finish what CreateMNPVersion started: validate the
//! stored package and record the version. A run is safe to repeat: the
//! version is recorded in the same transaction that finishes the task, and
//! only by the holder of the task's lease.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::clock::Clock;
use crate::compile::{self, CompileState};
use crate::entity::*;
use crate::error::DomainError;
use crate::store::{BlobStore, Has, TaskStore};
use crate::task_pacing::{Advance, Pace, TaskPacing};
use crate::telemetry::{NoTelemetry, TaskOutcome, Telemetry};

pub const SUCCESS_MSG: &str = "Success";

#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Identifies this process's claims; unique per process.
    pub owner: String,
    pub lease_secs: i64,
    /// A task claimed this many times without finishing is failed: the
    /// process keeps dying while handling it.
    pub max_attempts: i64,
    pub package_limits: mnpd_package::Limits,
    /// How often an idle worker looks for work it was not woken for
    /// (expired leases, tasks recorded by other nodes).
    pub poll: Duration,
}

pub struct TaskRunner {
    tasks: Arc<dyn TaskStore>,
    blobs: Arc<dyn BlobStore>,
    clock: Arc<dyn Clock>,
    settings: RunnerSettings,
    telemetry: Arc<dyn Telemetry>,
    /// Woken when a task fails, so its package is collected soon
    /// (`collect::FailedPackages`).
    failures: Option<Arc<Notify>>,
    validators: ValidationThreads,
    pacing: Option<Arc<TaskPacing>>,
}

type ValidationJob = Box<dyn FnOnce() + Send>;

/// What measuring a compile task's package found.
enum Measured {
    Fits,
    /// The TaskMsg naming the package over its limit.
    TooLarge(String),
    LeaseLost,
}

/// Threads that validate packages: one per validation in flight, each kept
/// for the next validation. A validation holds the names of a central
/// directory (up to `--max-zip-directory-bytes`, several times over), and
/// the allocator keeps a thread's heap once that memory is freed: on tokio's
/// blocking pool, whose threads come and go and are shared with other
/// work, every validation could leave such a heap behind. Here only as many
/// threads as validations ever ran at once (the workers) hold one.
#[derive(Default)]
struct ValidationThreads {
    idle: std::sync::Mutex<Vec<std::sync::mpsc::Sender<ValidationJob>>>,
}

impl ValidationThreads {
    /// Runs `job` on an idle validation thread, or a new one; Err when the
    /// job panicked or no thread could be started.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let idle = self.idle.lock().map(|mut idle| idle.pop()).ok().flatten();
        let thread = match idle {
            Some(thread) => thread,
            None => {
                let (thread, jobs) = std::sync::mpsc::channel::<ValidationJob>();
                std::thread::Builder::new()
                    .name("mnpd-validate".into())
                    .spawn(move || {
                        while let Ok(job) = jobs.recv() {
                            job();
                        }
                    })
                    .map_err(|e| format!("no validation thread could be started: {e}"))?;
                thread
            }
        };
        let (done, outcome) = tokio::sync::oneshot::channel();
        let job: ValidationJob = Box::new(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            let _ = done.send(result.map_err(|_| "the validation panicked".to_string()));
        });
        thread
            .send(job)
            .map_err(|_| "the validation thread is gone".to_string())?;
        let result = outcome
            .await
            .unwrap_or_else(|_| Err("the validation thread is gone".to_string()));
        if result.is_ok() {
            if let Ok(mut idle) = self.idle.lock() {
                idle.push(thread);
            }
        }
        result
    }
}

impl TaskRunner {
    pub fn new<S>(
        store: Arc<S>,
        blobs: Arc<dyn BlobStore>,
        clock: Arc<dyn Clock>,
        settings: RunnerSettings,
    ) -> Self
    where
        S: Has<dyn TaskStore> + ?Sized,
    {
        TaskRunner {
            tasks: Has::share(&store),
            blobs,
            clock,
            settings,
            telemetry: Arc::new(NoTelemetry),
            failures: None,
            validators: ValidationThreads::default(),
            pacing: None,
        }
    }

    /// Lets the emulator's task control delay or hold the tasks it claims.
    pub fn with_pacing(mut self, pacing: Arc<TaskPacing>) -> Self {
        self.pacing = Some(pacing);
        self
    }

    /// Wakes `failures` whenever this runner fails a task.
    pub fn with_failures(mut self, failures: Arc<Notify>) -> Self {
        self.failures = Some(failures);
        self
    }

    /// Reports each task's end to `telemetry`.
    pub fn with_telemetry(mut self, telemetry: Arc<dyn Telemetry>) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// Claims and finishes one task, or ends one a test advanced (task
    /// pacing); false when there was none.
    pub async fn run_once(&self) -> Result<bool, DomainError> {
        if let Some(pacing) = &self.pacing {
            self.renew_held(pacing).await;
            if let Some(advanced) = pacing.next_advanced() {
                let end = match &advanced.advance {
                    Advance::Run => self.finish(&advanced.task).await?,
                    Advance::Fail(msg) => {
                        self.fail(&advanced.task, msg, std::time::Instant::now())
                            .await?
                    }
                };
                if let Some(end) = end {
                    let _ = advanced.done.send(end);
                }
                return Ok(true);
            }
        }
        let now = self.clock.now().unix_timestamp();
        let Some(task) = self
            .tasks
            .claim_task(&self.settings.owner, now, self.settings.lease_secs)
            .await?
        else {
            return Ok(false);
        };
        if task.attempts > self.settings.max_attempts {
            let msg = format!(
                "processing stopped {} times before it could finish (the server was interrupted); create the version again",
                task.attempts - 1
            );
            self.fail(&task, &msg, std::time::Instant::now()).await?;
            return Ok(true);
        }
        if let Some(pacing) = &self.pacing {
            if pacing.pace(&task, now + self.settings.lease_secs).await? == Pace::Hold {
                return Ok(true);
            }
        }
        self.finish(&task).await?;
        Ok(true)
    }

    /// Validates a task in hand and records its version, or its failure;
    /// how it ended, or None when the task was no longer this runner's.
    async fn finish(&self, task: &Task) -> Result<Option<(TaskStatus, String)>, DomainError> {
        let started = std::time::Instant::now();
        let mut compile = task.compile.clone();
        if let Some(state) = compile.as_mut() {
            state.push(
                self.now(),
                "running",
                format!("attempt {}: validating the package", task.attempts),
            );
            // Only what the watchers see: the task goes on if it is lost.
            if let Err(e) = self
                .tasks
                .record_compile_progress(&task.task_id, &self.settings.owner, state, self.now())
                .await
            {
                tracing::warn!(task_id = %task.task_id, error = %e, "could not record a compile task's progress");
            }
        }
        match self.validate(task).await {
            Ok(manifest) => {
                if let Some(state) = compile.as_mut() {
                    match self.measure(task, state, &manifest).await? {
                        Measured::Fits => {}
                        Measured::TooLarge(msg) => return self.fail(task, &msg, started).await,
                        Measured::LeaseLost => return Ok(None),
                    }
                }
                let owner = &self.settings.owner;
                let version = NewVersion {
                    mnp_id: task.mnp_id.clone(),
                    platform_id: task.platform_id.clone(),
                    version: task.mnp_version.clone(),
                    intro: task.intro.trim().to_string(),
                    sha256: task.sha256.clone(),
                    size: task.size,
                    manifest,
                    task_id: task.task_id.clone(),
                    create_user: task.create_user.clone(),
                    created_at: self.now(),
                };
                let id = self
                    .finish_patiently(&task.task_id, || {
                        self.tasks
                            .complete_task(&task.task_id, owner, &version, self.now())
                    })
                    .await?;
                if id.is_none() {
                    tracing::warn!(task_id = %task.task_id, "lease lost before the version was recorded; another worker owns the task");
                    return Ok(None);
                }
                self.report(TaskOutcome::Succeeded, started, task);
                Ok(Some((TaskStatus::Succeeded, SUCCESS_MSG.to_string())))
            }
            Err(msg) => self.fail(task, &msg, started).await,
        }
    }

    /// A compile task's sizes, recorded before the version is so that a
    /// succeeded task always shows them, and checked against the limits.
    async fn measure(
        &self,
        task: &Task,
        state: &mut CompileState,
        manifest: &mnpd_package::Manifest,
    ) -> Result<Measured, DomainError> {
        let sizes = compile::sizes_of(manifest);
        let now = self.now();
        state.push(
            now,
            "validated",
            format!(
                "{} files; app.json declares {} subpackages",
                manifest.file_count,
                manifest.subpackages.len()
            ),
        );
        state.push(now, "measured", compile::describe_sizes(&sizes));
        let verdict = compile::check_limits(&sizes);
        state.sizes = Some(sizes);
        let owner = &self.settings.owner;
        let held = self
            .finish_patiently(&task.task_id, || {
                self.tasks
                    .record_compile_progress(&task.task_id, owner, state, now)
            })
            .await?;
        Ok(match verdict {
            _ if !held => Measured::LeaseLost,
            Ok(()) => Measured::Fits,
            Err(msg) => Measured::TooLarge(msg),
        })
    }

    /// Fails a task in hand with `msg`; None when it was no longer this
    /// runner's (another worker finished it).
    async fn fail(
        &self,
        task: &Task,
        msg: &str,
        started: std::time::Instant,
    ) -> Result<Option<(TaskStatus, String)>, DomainError> {
        let owner = &self.settings.owner;
        let recorded = self
            .finish_patiently(&task.task_id, || {
                self.tasks.fail_task(&task.task_id, owner, msg, self.now())
            })
            .await?;
        if !recorded {
            return Ok(None);
        }
        self.report(TaskOutcome::Failed, started, task);
        if let Some(failures) = &self.failures {
            failures.notify_one();
        }
        Ok(Some((TaskStatus::Failed, msg.to_string())))
    }

    fn report(&self, outcome: TaskOutcome, started: std::time::Instant, task: &Task) {
        self.telemetry.task_finished(
            outcome,
            started.elapsed().as_secs_f64(),
            task.size.max(0) as u64,
        );
    }

    /// Keeps the leases of tasks held for a test, so no worker claims them
    /// again while the test decides.
    async fn renew_held(&self, pacing: &TaskPacing) {
        let now = self.now();
        for task_id in pacing.due_renewals(now, self.settings.lease_secs) {
            let until = now + self.settings.lease_secs;
            match self
                .tasks
                .renew_lease(&task_id, &self.settings.owner, until)
                .await
            {
                Ok(true) => {}
                Ok(false) => tracing::warn!(%task_id, "a held task is no longer this node's"),
                Err(e) => {
                    tracing::warn!(%task_id, error = %e, "could not renew a held task's lease")
                }
            }
        }
    }

    /// Records the end of a task in hand, retrying while storage is away
    /// (a full disk, a database restart) for up to half the lease, so the
    /// task ends soon after storage is back instead of waiting for its lease
    /// to expire.
    async fn finish_patiently<T, F, Fut>(
        &self,
        task_id: &str,
        mut finish: F,
    ) -> Result<T, DomainError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = crate::store::StoreResult<T>>,
    {
        let give_up = std::time::Instant::now()
            + Duration::from_secs((self.settings.lease_secs / 2).max(1) as u64);
        let mut pause = Duration::from_millis(100);
        loop {
            // An attempt that hangs (a connection stuck after a storage
            // error) is abandoned and tried again.
            let attempt = tokio::time::timeout(Duration::from_secs(5), finish())
                .await
                .unwrap_or_else(|_| {
                    Err(crate::store::StoreError::Unavailable(
                        "storage did not answer within 5 s".into(),
                    ))
                });
            match attempt {
                Ok(done) => return Ok(done),
                Err(e) if std::time::Instant::now() < give_up => {
                    tracing::warn!(task_id, error = %e, "could not record the end of the task; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// The TaskMsg of a failure, or the manifest.
    async fn validate(&self, task: &Task) -> Result<mnpd_package::Manifest, String> {
        let blob = match self.blobs.open_local(&task.sha256).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(task_id = %task.task_id, error = %e, "stored package unreadable");
                return Err(format!(
                    "the stored package could not be read ({e}); create the version again"
                ));
            }
        };
        let limits = self.settings.package_limits.clone();
        let outcome = self
            .validators
            .run(move || {
                let file = std::fs::File::open(&blob.path)?;
                let result = mnpd_package::validate(std::io::BufReader::new(file), &limits);
                drop(blob);
                Ok::<_, std::io::Error>(result)
            })
            .await;
        match outcome {
            Ok(Ok(Ok(manifest))) => Ok(manifest),
            Ok(Ok(Err(e))) => Err(format!("the package is invalid: {e}")),
            Ok(Err(e)) => Err(format!(
                "the stored package could not be opened ({e}); create the version again"
            )),
            Err(join) => {
                tracing::error!(task_id = %task.task_id, error = %join, "package validation crashed");
                Err("the package could not be validated (the validator failed on it); check that it is a zip exported by the IDE".into())
            }
        }
    }

    /// Works until `shutdown` turns true; a task in hand is finished first.
    pub async fn run(self: Arc<Self>, work: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.run_once().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "task worker could not reach storage; retrying");
                }
            }
            tokio::select! {
                _ = work.notified() => {}
                _ = tokio::time::sleep(self.settings.poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
