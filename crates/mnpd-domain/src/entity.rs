//! The records the platform keeps. Times are Unix seconds (UTC).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub secret_id: String,
    pub secret_key: String,
    pub account_id: i64,
    pub enabled: bool,
    pub created_at: i64,
}

/// The identity a verified request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account_id: i64,
    /// Shown as CreateUser / UpdateUser.
    pub user: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub platform_id: String,
    pub account_id: i64,
    pub name: String,
    /// End of the plan; no new versions after it.
    pub expires_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub team_id: String,
    pub platform_id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiniProgram {
    pub mnp_id: String,
    pub platform_id: String,
    pub team_id: String,
    pub name: String,
    pub mnp_type: String,
    pub icon: String,
    pub intro: String,
    pub desc: String,
    /// 0 new, 1 released/submitted, 2 removed.
    pub status: i64,
    pub create_user: String,
    pub created_at: i64,
    pub update_user: String,
    pub updated_at: i64,
}

/// A mini program with what listings show next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiniProgramListing {
    pub mini_program: MiniProgram,
    pub team_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskStatus {
    Pending,
    Running,
    Failed,
    Succeeded,
}

impl TaskStatus {
    /// The wire value of `TaskStatus`.
    pub fn code(self) -> i64 {
        match self {
            TaskStatus::Pending => 1,
            TaskStatus::Running => 20,
            TaskStatus::Failed => 30,
            TaskStatus::Succeeded => 60,
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(TaskStatus::Pending),
            20 => Some(TaskStatus::Running),
            30 => Some(TaskStatus::Failed),
            60 => Some(TaskStatus::Succeeded),
            _ => None,
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, TaskStatus::Failed | TaskStatus::Succeeded)
    }
}

/// The work started by CreateMNPVersion: the package is already downloaded
/// and stored under `sha256`; the task validates it and records the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub task_id: String,
    pub platform_id: String,
    pub mnp_id: String,
    pub mnp_version: String,
    pub file_url: String,
    pub intro: String,
    pub sha256: String,
    pub size: i64,
    pub status: TaskStatus,
    pub msg: String,
    pub attempts: i64,
    pub mnp_version_id: Option<i64>,
    pub create_user: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A version as recorded when its task succeeds.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVersion {
    pub mnp_id: String,
    pub platform_id: String,
    pub version: String,
    pub intro: String,
    pub sha256: String,
    pub size: i64,
    pub manifest: mnpd_package::Manifest,
    pub task_id: String,
    pub create_user: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub mnp_version_id: i64,
    pub new: NewVersion,
}
