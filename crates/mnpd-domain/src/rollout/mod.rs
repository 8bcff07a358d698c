//! Gradual releases: a version offered to a growing share of devices
//! before everyone, paused, halted by hand or by failed installs, promoted
//! to the online version. An mnpd extension of the API (docs/host-apps.md);
//! the rules are in [`rules`], pure.

pub mod model;
pub mod rules;

use std::sync::Arc;

use crate::approval::platform_version;
use crate::clock::Clock;
use crate::entity::*;
use crate::error::DomainError;
use crate::mini_program::owned_platform;
use crate::package::STATUS_REMOVED;
use crate::release::may_release;
use crate::store::{AccountStore, Has, MiniProgramStore, ReleaseStore, RolloutStore, VersionStore};
use model::*;

pub struct Rollouts {
    accounts: Arc<dyn AccountStore>,
    mini_programs: Arc<dyn MiniProgramStore>,
    versions: Arc<dyn VersionStore>,
    releases: Arc<dyn ReleaseStore>,
    rollouts: Arc<dyn RolloutStore>,
    clock: Arc<dyn Clock>,
}

/// What starting a gradual release asks for.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    pub percentage: f64,
    pub device_ids: Vec<String>,
    pub failure_threshold: Option<f64>,
    pub min_sample: Option<i64>,
}

/// What a change of a live gradual release asks for; absent fields keep
/// their value.
#[derive(Debug, Clone, Default)]
pub struct ModifyRequest {
    pub percentage: Option<f64>,
    pub add_device_ids: Vec<String>,
    pub remove_device_ids: Vec<String>,
    pub failure_threshold: Option<f64>,
    pub min_sample: Option<i64>,
}

/// A gradual release with its counts and history.
#[derive(Debug, Clone)]
pub struct RolloutReport {
    pub rollout: Rollout,
    pub counts: InstallCounts,
    pub events: Vec<RolloutEvent>,
    /// The mini program's reports over time since the release started.
    pub adoption: Vec<AdoptionPoint>,
}

impl Rollouts {
    pub fn new<S>(store: Arc<S>, clock: Arc<dyn Clock>) -> Self
    where
        S: Has<dyn AccountStore>
            + Has<dyn MiniProgramStore>
            + Has<dyn VersionStore>
            + Has<dyn ReleaseStore>
            + Has<dyn RolloutStore>
            + ?Sized,
    {
        Rollouts {
            accounts: Has::share(&store),
            mini_programs: Has::share(&store),
            versions: Has::share(&store),
            releases: Has::share(&store),
            rollouts: Has::share(&store),
            clock,
        }
    }

    async fn mini_program(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<MiniProgram, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        Ok(self
            .mini_programs
            .get_mini_program(platform_id, mnp_id)
            .await?
            .ok_or_else(|| DomainError::InvalidMnpId(mnp_id.to_string()))?
            .mini_program)
    }

    /// Starts offering an approved version to a share of devices; the
    /// rules of a release apply (approved, never released, greater than
    /// the online version), and one gradual release at a time.
    pub async fn start(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_version_id: i64,
        request: &StartRequest,
    ) -> Result<Rollout, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        let target = platform_version(self.versions.as_ref(), platform_id, mnp_version_id).await?;
        let program = self
            .mini_program(caller, platform_id, &target.new.mnp_id)
            .await?;
        if program.status == STATUS_REMOVED {
            return Err(DomainError::NothingOnline(format!(
                "mini program {} is removed or offline, so nothing of it is served; bring it back before releasing",
                program.mnp_id
            )));
        }
        let permille = rules::permille_of("Percentage", request.percentage)?;
        let device_ids = rules::device_list(&[], &request.device_ids, &[])?;
        let (threshold, min_sample) =
            rules::halt_settings(request.failure_threshold, request.min_sample)?;
        let new = NewRollout {
            permille,
            device_ids,
            failure_threshold_permille: threshold
                .unwrap_or(rules::DEFAULT_FAILURE_THRESHOLD_PERMILLE),
            min_sample: min_sample.unwrap_or(rules::DEFAULT_MIN_SAMPLE),
        };
        let decide = |state: &ReleaseState| {
            if let Some(live) = &state.live_rollout {
                return Err(DomainError::RolloutExists(format!(
                    "mini program {} already has gradual release {} of version {} in progress; promote or halt it first",
                    live.mnp_id, live.rollout_id, live.version.new.version
                )));
            }
            may_release(&target, state)
        };
        let now = self.clock.now().unix_timestamp();
        match self
            .rollouts
            .start_rollout(&target, &new, &caller.actor, now, &decide)
            .await
        {
            // Two starts raced past the check: the unique index decided.
            Err(crate::store::StoreError::Conflict(_)) => Err(DomainError::RolloutExists(format!(
                "mini program {} already has a gradual release in progress; promote or halt it first",
                target.new.mnp_id
            ))),
            other => other?,
        }
    }

    async fn change(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
        change: &(dyn for<'a> Fn(&'a Rollout) -> Result<RolloutUpdate, DomainError> + Send + Sync),
    ) -> Result<Rollout, DomainError> {
        self.mini_program(caller, platform_id, mnp_id).await?;
        let now = self.clock.now().unix_timestamp();
        self.rollouts
            .change_rollout(mnp_id, &caller.actor, now, change)
            .await?
    }

    pub async fn modify(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
        request: &ModifyRequest,
    ) -> Result<Rollout, DomainError> {
        let permille = request
            .percentage
            .map(|p| rules::permille_of("Percentage", p))
            .transpose()?;
        let (threshold, min_sample) =
            rules::halt_settings(request.failure_threshold, request.min_sample)?;
        let lists = !request.add_device_ids.is_empty() || !request.remove_device_ids.is_empty();
        let change = |r: &Rollout| {
            let devices = if lists {
                Some(rules::device_list(
                    &r.device_ids,
                    &request.add_device_ids,
                    &request.remove_device_ids,
                )?)
            } else {
                None
            };
            rules::modify(r, permille, devices, threshold, min_sample)
        };
        self.change(caller, platform_id, mnp_id, &change).await
    }

    pub async fn pause(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<Rollout, DomainError> {
        self.change(caller, platform_id, mnp_id, &rules::pause)
            .await
    }

    pub async fn resume(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<Rollout, DomainError> {
        self.change(caller, platform_id, mnp_id, &rules::resume)
            .await
    }

    pub async fn halt(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
        reason: &str,
    ) -> Result<Rollout, DomainError> {
        let reason = reason.trim();
        if reason.chars().count() > 200 {
            return Err(DomainError::InvalidValue(
                "Reason is longer than 200 characters; send a shorter one".into(),
            ));
        }
        let reason = if reason.is_empty() {
            format!("halted by {}", caller.actor.shown())
        } else {
            reason.to_string()
        };
        self.change(caller, platform_id, mnp_id, &|r: &Rollout| {
            rules::halt(r, &reason, false)
        })
        .await
    }

    /// Makes the release's version the online version for everyone: a
    /// release, recorded in the release history, that ends the gradual
    /// release as promoted. Answers the gradual release as it ended.
    pub async fn promote(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<Rollout, DomainError> {
        self.mini_program(caller, platform_id, mnp_id).await?;
        let live = self.rollouts.live_rollout(mnp_id).await?.ok_or_else(|| {
            DomainError::NoLiveRollout(format!(
                "mini program {mnp_id} has no gradual release in progress; start one with CreateGradualRelease"
            ))
        })?;
        let target = live.version.clone();
        let decide = |state: &ReleaseState| {
            match &state.live_rollout {
                Some(r) if r.rollout_id == live.rollout_id => {}
                _ => {
                    return Err(DomainError::RolloutState(format!(
                        "gradual release {} ended while it was being promoted; see DescribeGradualRelease",
                        live.rollout_id
                    )))
                }
            }
            may_release(&target, state)
        };
        let now = self.clock.now().unix_timestamp();
        self.releases
            .change_online_version(&target, ReleaseKind::Release, &caller.actor, now, &decide)
            .await??;
        self.rollouts
            .get_rollout(live.rollout_id)
            .await?
            .ok_or_else(|| {
                DomainError::Internal(format!(
                    "gradual release {} vanished after its promotion",
                    live.rollout_id
                ))
            })
    }

    /// The live gradual release of the mini program, or the one named, or
    /// its latest; with counts and history.
    pub async fn describe(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
        rollout_id: Option<i64>,
    ) -> Result<RolloutReport, DomainError> {
        self.mini_program(caller, platform_id, mnp_id).await?;
        let rollout = match rollout_id {
            Some(id) => self.rollouts.get_rollout(id).await?.filter(|r| r.mnp_id == mnp_id),
            None => self.rollouts.latest_rollout(mnp_id).await?,
        }
        .ok_or_else(|| {
            DomainError::NoLiveRollout(match rollout_id {
                Some(id) => format!("RolloutId {id} is not a gradual release of mini program {mnp_id}; send one listed by DescribeGradualReleaseList"),
                None => format!("mini program {mnp_id} never had a gradual release; start one with CreateGradualRelease"),
            })
        })?;
        let counts = self
            .rollouts
            .install_counts(rollout.version.mnp_version_id, Some(rollout.rollout_id))
            .await?;
        let events = self.rollouts.rollout_events(rollout.rollout_id).await?;
        let adoption = self
            .rollouts
            .adoption(mnp_id, rollout.created_at - SERIES_BUCKET_SECS)
            .await?;
        Ok(RolloutReport {
            rollout,
            counts,
            events,
            adoption,
        })
    }

    pub async fn list(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<(i64, Vec<Rollout>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        if let Some(mnp_id) = mnp_id {
            self.mini_program(caller, platform_id, mnp_id).await?;
        }
        Ok(self
            .rollouts
            .list_rollouts(platform_id, mnp_id, offset, limit)
            .await?)
    }

    /// Every report about a version (inside gradual releases or not), and
    /// the mini program's report series over the last `window_secs`.
    pub async fn install_report(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_version_id: i64,
        window_secs: i64,
    ) -> Result<(Version, InstallCounts, Vec<AdoptionPoint>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        let version = platform_version(self.versions.as_ref(), platform_id, mnp_version_id).await?;
        let counts = self.rollouts.install_counts(mnp_version_id, None).await?;
        let since = self.clock.now().unix_timestamp() - window_secs;
        let series = self.rollouts.adoption(&version.new.mnp_id, since).await?;
        Ok((version, counts, series))
    }

    /// Live gradual releases by state, over every platform (`/metrics`).
    pub async fn live_counts(&self) -> Result<Vec<(RolloutState, i64)>, DomainError> {
        Ok(self.rollouts.live_rollout_counts().await?)
    }

    /// Adds reports, then halts each live release they touched whose
    /// failures passed its threshold; the releases halted.
    pub async fn record(&self, tallies: &[InstallTally]) -> Result<Vec<Rollout>, DomainError> {
        let now = self.clock.now().unix_timestamp();
        self.rollouts.record_installs(tallies, now).await?;
        // Installs count too: failures reported below the minimum sample
        // (here or on another node) pass the threshold only when the
        // installs that complete the sample arrive.
        let mut touched: Vec<(&str, i64)> = tallies
            .iter()
            .filter(|t| {
                t.rollout_id != 0
                    && matches!(t.event, InstallEvent::Failed | InstallEvent::Installed)
            })
            .map(|t| (t.mnp_id.as_str(), t.rollout_id))
            .collect();
        touched.sort_unstable();
        touched.dedup();
        let mut halted = Vec::new();
        for (mnp_id, rollout_id) in touched {
            let Some(live) = self.rollouts.live_rollout(mnp_id).await? else {
                continue;
            };
            if live.rollout_id != rollout_id {
                continue;
            }
            let counts = self
                .rollouts
                .install_counts(live.version.mnp_version_id, Some(rollout_id))
                .await?;
            if rules::failure_halt(&live, &counts).is_none() {
                continue;
            }
            // Decided again under the lock: another node may have halted it.
            let change = |r: &Rollout| match rules::failure_halt(r, &counts) {
                Some(reason) if r.rollout_id == rollout_id => rules::halt(r, &reason, true),
                _ => Err(DomainError::RolloutState("no longer live".into())),
            };
            let system = Actor::Earlier {
                name: "mnpd".into(),
            };
            match self
                .rollouts
                .change_rollout(mnp_id, &system, now, &change)
                .await?
            {
                Ok(r) => {
                    tracing::warn!(mnp_id, rollout_id, reason = %r.halt_reason, "gradual release halted by install failures");
                    halted.push(r);
                }
                Err(_) => continue,
            }
        }
        Ok(halted)
    }
}
