//! How CreateMNPVersion tasks end, per account, for test suites (the
//! emulator's task control): at once (the default), after a delay, or
//! held until the test advances each one, so a suite can see a task at
//! TaskStatus 20 for as long as it likes and choose how it ends.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, Notify};

use crate::entity::{Task, TaskStatus};
use crate::error::DomainError;
use crate::store::{AccountStore, Has};

/// The longest delay a task may be given: longer, and the suite is testing
/// its own timeout.
pub const MAX_DELAY: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskMode {
    /// A worker runs the task as soon as it claims it.
    #[default]
    Immediate,
    /// A worker waits this long after claiming the task, then runs it.
    Delay(Duration),
    /// The task stays Running (20) until `TaskPacing::advance`.
    Manual,
}

/// How a held task is to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advance {
    /// The real validation and version record: 60, or 30 with the real
    /// message when the package is invalid.
    Run,
    /// Failed (30) with this TaskMsg.
    Fail(String),
}

/// What a worker is to do with a task it claimed.
#[derive(Debug, PartialEq, Eq)]
pub enum Pace {
    Run,
    /// Held for the test; the worker leaves it.
    Hold,
}

/// A held task as a test sees it.
#[derive(Debug, Clone)]
pub struct HeldTask {
    pub account_id: i64,
    pub task: Task,
}

/// A held task the test advanced, waiting for a worker.
pub struct Advanced {
    pub task: Task,
    pub advance: Advance,
    /// Told the task's end (status and TaskMsg) once a worker recorded it.
    pub done: oneshot::Sender<(TaskStatus, String)>,
}

struct Holding {
    held: HeldTask,
    /// When the lease is to be renewed next (unix seconds).
    renew_at: i64,
}

#[derive(Default)]
struct Book {
    modes: HashMap<i64, TaskMode>,
    held: HashMap<String, Holding>,
    advanced: VecDeque<Advanced>,
}

pub struct TaskPacing {
    accounts: Arc<dyn AccountStore>,
    book: Mutex<Book>,
    /// The workers' wake-up: an advanced task is work.
    work: Arc<Notify>,
    /// Woken whenever a task is held, for an advance waiting on it.
    held: Notify,
}

impl TaskPacing {
    pub fn new<S>(store: Arc<S>, work: Arc<Notify>) -> Self
    where
        S: Has<dyn AccountStore> + ?Sized,
    {
        TaskPacing {
            accounts: Has::share(&store),
            book: Mutex::default(),
            work,
            held: Notify::new(),
        }
    }

    pub fn mode(&self, account_id: i64) -> TaskMode {
        self.lock()
            .modes
            .get(&account_id)
            .copied()
            .unwrap_or_default()
    }

    /// Sets the account's mode; leaving manual mode lets its held tasks run.
    pub fn set_mode(&self, account_id: i64, mode: TaskMode) {
        let mut book = self.lock();
        book.modes.insert(account_id, mode);
        if mode == TaskMode::Manual {
            return;
        }
        let released: Vec<String> = book
            .held
            .iter()
            .filter(|(_, h)| h.held.account_id == account_id)
            .map(|(id, _)| id.clone())
            .collect();
        for task_id in released {
            if let Some(h) = book.held.remove(&task_id) {
                // Nobody waits for these: the receiver is dropped at once.
                let (done, _) = oneshot::channel();
                book.advanced.push_back(Advanced {
                    task: h.held.task,
                    advance: Advance::Run,
                    done,
                });
                self.work.notify_one();
            }
        }
    }

    /// Lets go of the held tasks of these platforms (a reset deleted them).
    pub fn forget_platforms(&self, platform_ids: &[String]) {
        self.lock()
            .held
            .retain(|_, h| !platform_ids.contains(&h.held.task.platform_id));
    }

    /// The account's held tasks, oldest first.
    pub fn held(&self, account_id: i64) -> Vec<Task> {
        let mut tasks: Vec<Task> = self
            .lock()
            .held
            .values()
            .filter(|h| h.held.account_id == account_id)
            .map(|h| h.held.task.clone())
            .collect();
        tasks.sort_by(|a, b| (a.created_at, &a.task_id).cmp(&(b.created_at, &b.task_id)));
        tasks
    }

    /// Called by a worker with a task it just claimed under a lease ending
    /// at `lease_until`: waits out a delay, or holds the task.
    pub async fn pace(&self, task: &Task, lease_until: i64) -> Result<Pace, DomainError> {
        let account_id = self
            .accounts
            .get_platform(&task.platform_id)
            .await?
            .map(|p| p.account_id);
        let Some(account_id) = account_id else {
            return Ok(Pace::Run);
        };
        match self.mode(account_id) {
            TaskMode::Immediate => Ok(Pace::Run),
            TaskMode::Delay(delay) => {
                tokio::time::sleep(delay).await;
                Ok(Pace::Run)
            }
            TaskMode::Manual => {
                let lease = lease_until - task.updated_at;
                self.lock().held.insert(
                    task.task_id.clone(),
                    Holding {
                        held: HeldTask {
                            account_id,
                            task: task.clone(),
                        },
                        renew_at: task.updated_at + lease / 2,
                    },
                );
                self.held.notify_waiters();
                Ok(Pace::Hold)
            }
        }
    }

    /// Held tasks whose lease is due for renewal at `now`, marked renewed
    /// until `now + lease_secs / 2`; the caller extends each lease.
    pub fn due_renewals(&self, now: i64, lease_secs: i64) -> Vec<String> {
        let mut book = self.lock();
        book.held
            .iter_mut()
            .filter(|(_, h)| h.renew_at <= now)
            .map(|(id, h)| {
                h.renew_at = now + lease_secs / 2;
                id.clone()
            })
            .collect()
    }

    /// The next advanced task for a worker.
    pub fn next_advanced(&self) -> Option<Advanced> {
        self.lock().advanced.pop_front()
    }

    /// Advances a held task of the account, waiting up to `wait` for a
    /// worker to claim (and hold) a task that is still pending; None when
    /// the account has no such task held by then. The receiver is told
    /// how the task ended.
    pub async fn advance(
        &self,
        account_id: i64,
        task_id: &str,
        advance: Advance,
        wait: Duration,
    ) -> Option<oneshot::Receiver<(TaskStatus, String)>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let held = self.held.notified();
            {
                let mut book = self.lock();
                let own = book
                    .held
                    .get(task_id)
                    .is_some_and(|h| h.held.account_id == account_id);
                if own {
                    let task = book.held.remove(task_id)?.held.task;
                    let (done, outcome) = oneshot::channel();
                    book.advanced.push_back(Advanced {
                        task,
                        advance,
                        done,
                    });
                    self.work.notify_one();
                    return Some(outcome);
                }
            }
            if tokio::time::timeout_at(deadline, held).await.is_err() {
                return None;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        // Nothing is left half-done under this lock.
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }
}
