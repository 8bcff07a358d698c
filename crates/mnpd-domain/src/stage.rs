//! Where each version of a mini program stands: DescribeMNPAllStageVersions
//! and DescribeMNPBoard report the latest development version, the one in
//! platform approval and the online one.

use std::sync::Arc;

use crate::entity::*;
use crate::error::DomainError;
use crate::mini_program::owned_platform;
use crate::store::{
    AccountStore, ApprovalStore, Has, MiniProgramStore, PreviewStore, ReleaseStore, VersionStore,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Develop,
    Platform,
    Online,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Develop => "Develop",
            Phase::Platform => "Platform",
            Phase::Online => "Online",
        }
    }
}

#[derive(Debug, Clone)]
pub struct StageView {
    pub phase: Phase,
    pub version: Version,
    /// The version's latest approval, if it was ever submitted.
    pub approval: Option<Approval>,
    /// The version is the preview or trial version.
    pub show_case: bool,
    /// The online version came back by a rollback.
    pub rolled_back: bool,
}

pub struct Stages {
    accounts: Arc<dyn AccountStore>,
    mini_programs: Arc<dyn MiniProgramStore>,
    versions: Arc<dyn VersionStore>,
    approvals: Arc<dyn ApprovalStore>,
    releases: Arc<dyn ReleaseStore>,
    previews: Arc<dyn PreviewStore>,
}

impl Stages {
    pub fn new<S>(store: Arc<S>) -> Self
    where
        S: Has<dyn AccountStore>
            + Has<dyn MiniProgramStore>
            + Has<dyn VersionStore>
            + Has<dyn ApprovalStore>
            + Has<dyn ReleaseStore>
            + Has<dyn PreviewStore>
            + ?Sized,
    {
        Stages {
            accounts: Has::share(&store),
            mini_programs: Has::share(&store),
            versions: Has::share(&store),
            approvals: Has::share(&store),
            releases: Has::share(&store),
            previews: Has::share(&store),
        }
    }

    pub async fn of(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<(MiniProgramListing, Vec<StageView>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        let listing = self
            .mini_programs
            .get_mini_program(platform_id, mnp_id)
            .await?
            .ok_or_else(|| DomainError::InvalidMnpId(mnp_id.to_string()))?;
        let previews = self.previews.previews(mnp_id).await?;
        let mut found: Vec<(Phase, Version, bool)> = Vec::new();
        if let Some(v) = self.versions.latest_version(mnp_id).await? {
            found.push((Phase::Develop, v, false));
        }
        if let Some(a) = self
            .approvals
            .latest_approval_of_mini_program(mnp_id)
            .await?
            .filter(|a| a.status != approval_status::CANCELLED)
        {
            if let Some(v) = self.versions.get_version(a.mnp_version_id).await? {
                found.push((Phase::Platform, v, false));
            }
        }
        if let Some(online) = self.releases.online_version(mnp_id).await? {
            found.push((
                Phase::Online,
                online.version,
                online.kind == ReleaseKind::Rollback,
            ));
        }
        let mut views = Vec::with_capacity(found.len());
        for (phase, version, rolled_back) in found {
            let approval = self
                .approvals
                .latest_approval_of_version(version.mnp_version_id)
                .await?;
            let show_case = previews
                .iter()
                .any(|p| p.mnp_version_id == version.mnp_version_id);
            views.push(StageView {
                phase,
                version,
                approval,
                show_case,
                rolled_back,
            });
        }
        Ok((listing, views))
    }
}
