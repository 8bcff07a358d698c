//! What the domain reports to whoever measures the service (the server's
//! Prometheus registry); the domain itself knows no metrics library.

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskOutcome {
    Succeeded,
    Failed,
}

impl TaskOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskOutcome::Succeeded => "succeeded",
            TaskOutcome::Failed => "failed",
        }
    }
}

pub trait Telemetry: Send + Sync {
    /// A task this process worked on ended: `seconds` from its claim to
    /// its end, `package_bytes` the size of the package it took in.
    fn task_finished(&self, outcome: TaskOutcome, seconds: f64, package_bytes: u64);
}

/// Reports nowhere.
pub struct NoTelemetry;

impl Telemetry for NoTelemetry {
    fn task_finished(&self, _: TaskOutcome, _: f64, _: u64) {}
}
