//! What a gradual release is, as stored and as changed.

use crate::entity::{Actor, Version};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RolloutState {
    /// Offered to its cohort and whitelist.
    Active,
    /// Devices already on the version keep it; no other device gets it.
    Paused,
    /// Stopped: every device goes back to the online version.
    Halted,
    /// Became the online version for everyone.
    Promoted,
    /// Ended by a release or rollback of another version.
    Ended,
}

impl RolloutState {
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutState::Active => "active",
            RolloutState::Paused => "paused",
            RolloutState::Halted => "halted",
            RolloutState::Promoted => "promoted",
            RolloutState::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => RolloutState::Active,
            "paused" => RolloutState::Paused,
            "halted" => RolloutState::Halted,
            "promoted" => RolloutState::Promoted,
            "ended" => RolloutState::Ended,
            _ => return None,
        })
    }

    /// Whether the release still offers its version to anyone.
    pub fn is_live(self) -> bool {
        matches!(self, RolloutState::Active | RolloutState::Paused)
    }
}

/// A gradual release of one version of a mini program.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    pub rollout_id: i64,
    pub platform_id: String,
    pub mnp_id: String,
    /// The version offered.
    pub version: Version,
    /// The online version when it started.
    pub base_mnp_version_id: Option<i64>,
    /// Cohorts below this (of 1,000) get the version.
    pub permille: i64,
    /// Devices that get it whatever their cohort.
    pub device_ids: Vec<String>,
    pub state: RolloutState,
    pub failure_threshold_permille: i64,
    pub min_sample: i64,
    pub halt_reason: String,
    pub halted_automatically: bool,
    pub revision: i64,
    pub create_user: Actor,
    pub created_at: i64,
    pub updated_at: i64,
    pub ended_at: Option<i64>,
}

/// What starting a gradual release records.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRollout {
    pub permille: i64,
    pub device_ids: Vec<String>,
    pub failure_threshold_permille: i64,
    pub min_sample: i64,
}

/// A change decided on a live gradual release: its new settings and state,
/// and the line its history gains.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutUpdate {
    pub permille: i64,
    pub device_ids: Vec<String>,
    pub state: RolloutState,
    pub failure_threshold_permille: i64,
    pub min_sample: i64,
    pub halt_reason: String,
    pub halted_automatically: bool,
    pub event: &'static str,
    pub detail: String,
}

impl RolloutUpdate {
    /// The release as it is, to change from.
    pub fn from(r: &Rollout, event: &'static str) -> Self {
        RolloutUpdate {
            permille: r.permille,
            device_ids: r.device_ids.clone(),
            state: r.state,
            failure_threshold_permille: r.failure_threshold_permille,
            min_sample: r.min_sample,
            halt_reason: r.halt_reason.clone(),
            halted_automatically: r.halted_automatically,
            event,
            detail: String::new(),
        }
    }
}

/// One line of a gradual release's history.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutEvent {
    pub at: i64,
    /// started, modified, paused, resumed, halted, promoted, ended
    pub action: String,
    pub state: RolloutState,
    pub permille: i64,
    pub actor: Actor,
    pub detail: String,
}

/// What a host reports about a version on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstallEvent {
    Downloaded,
    Installed,
    Launched,
    Failed,
}

impl InstallEvent {
    pub const ALL: [InstallEvent; 4] = [
        InstallEvent::Downloaded,
        InstallEvent::Installed,
        InstallEvent::Launched,
        InstallEvent::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InstallEvent::Downloaded => "downloaded",
            InstallEvent::Installed => "installed",
            InstallEvent::Launched => "launched",
            InstallEvent::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        InstallEvent::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// Reports of one batch added up: `count` reports of `event` (with
/// `reason`, for failures) about a version, inside a gradual release or
/// not (`rollout_id` 0).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstallTally {
    pub mnp_id: String,
    pub mnp_version_id: i64,
    pub rollout_id: i64,
    pub event: InstallEvent,
    pub reason: Option<String>,
    pub count: i64,
}

/// Counts of a version's reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallCounts {
    pub downloaded: i64,
    pub installed: i64,
    pub launched: i64,
    pub failed: i64,
    /// Failure reasons with their counts, most frequent first.
    pub failure_reasons: Vec<(String, i64)>,
}

impl InstallCounts {
    pub fn add(&mut self, event: InstallEvent, n: i64) {
        match event {
            InstallEvent::Downloaded => self.downloaded += n,
            InstallEvent::Installed => self.installed += n,
            InstallEvent::Launched => self.launched += n,
            InstallEvent::Failed => self.failed += n,
        }
    }
}

/// A point of the adoption chart: reports of a version in one time bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptionPoint {
    pub bucket_start: i64,
    pub mnp_version_id: i64,
    pub event: InstallEvent,
    pub count: i64,
}

/// How long a bucket of the adoption series is, and how long buckets are
/// kept: 5 minutes for 30 days, at most 8,640 rows per version and event.
pub const SERIES_BUCKET_SECS: i64 = 300;
pub const SERIES_KEEP_SECS: i64 = 30 * 86_400;
/// Distinct failure reasons kept per version and release; more count as
/// [`OTHER_REASON`].
pub const MAX_FAILURE_REASONS: i64 = 20;
pub const OTHER_REASON: &str = "other";
