//! Where each version of a mini program stands: DescribeMNPAllStageVersions
//! and DescribeMNPBoard report the version in platform approval, the online
//! one, and each creator's latest development version.

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
        // The order of the service's public example: Platform, Online, then
        // one Develop row per creator (docs/lifecycle.md, Stages).
        let mut found: Vec<(Phase, Version, bool)> = Vec::new();
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
        let develop = develop_order(self.versions.latest_version_of_each_creator(mnp_id).await?);
        found.extend(develop.into_iter().map(|v| (Phase::Develop, v, false)));
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

/// The Develop rows in the order of the public example: by the creator's
/// shown name, descending (its `autotest_op`, `admin`, `800001208871`
/// follow no other order of theirs: not by time, id or version), then by
/// the creator's reference, so that two actors showing one name keep a
/// fixed order.
fn develop_order(mut latest: Vec<Version>) -> Vec<Version> {
    latest.sort_by(|a, b| {
        let (a, b) = (&a.new.create_user, &b.new.create_user);
        b.shown()
            .cmp(a.shown())
            .then_with(|| b.reference().cmp(&a.reference()))
    });
    latest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by(actor: Actor, id: i64) -> Version {
        Version {
            mnp_version_id: id,
            new: NewVersion {
                mnp_id: "mpaaaaaaaaaaaaaa".into(),
                platform_id: "P".into(),
                version: format!("1.0.{id}"),
                intro: String::new(),
                sha256: String::new(),
                size: 0,
                manifest: serde_json::from_value(serde_json::json!({
                    "kind": "mini_program", "root": "", "pages": ["p/i/i"], "subpackages": [],
                    "entry_page": "p/i/i", "file_count": 2, "uncompressed_bytes": 2
                }))
                .unwrap(),
                task_id: format!("t{id}"),
                create_user: actor,
                created_at: id,
            },
        }
    }

    fn user(name: &str) -> Actor {
        Actor::User {
            user_id: format!("id-{name}"),
            account: name.into(),
        }
    }

    #[test]
    fn develop_rows_follow_the_public_example() {
        // The example's creators and version ids, given in another order.
        let key = Actor::ApiKey {
            secret_id: "800001208871".into(),
        };
        let rows = develop_order(vec![
            by(key, 2582),
            by(user("autotest_op"), 2596),
            by(user("admin"), 2395),
        ]);
        let ids: Vec<i64> = rows.iter().map(|v| v.mnp_version_id).collect();
        assert_eq!(ids, [2596, 2395, 2582]);
    }

    #[test]
    fn creators_showing_one_name_keep_a_fixed_order() {
        let old = Actor::Account {
            account_id: 1,
            name: "admin".into(),
        };
        let a = develop_order(vec![by(old.clone(), 1), by(user("admin"), 2)]);
        let b = develop_order(vec![by(user("admin"), 2), by(old, 1)]);
        assert_eq!(a, b);
        assert_eq!(
            a[0].mnp_version_id, 2,
            "user:… sorts after account:…, descending"
        );
    }
}
