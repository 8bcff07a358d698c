//! Release and rollback of the online version: ReleaseMNPVersion /
//! CreateOnlineApply, RollbackMNPVersion / ModifyOnlineVersion, and the
//! release history. Each change is decided and applied in one store
//! transaction, so of two concurrent releases one wins and the other is
//! refused with the reason.

use std::sync::Arc;

use crate::approval::platform_version;
use crate::clock::Clock;
use crate::entity::approval_status::APPROVED;
use crate::entity::*;
use crate::error::DomainError;
use crate::mini_program::owned_platform;
use crate::store::{AccountStore, Has, MiniProgramStore, ReleaseStore, VersionStore};
use crate::version_number::VersionNumber;

pub struct Releases {
    accounts: Arc<dyn AccountStore>,
    mini_programs: Arc<dyn MiniProgramStore>,
    versions: Arc<dyn VersionStore>,
    releases: Arc<dyn ReleaseStore>,
    clock: Arc<dyn Clock>,
}

fn number(v: &Version) -> Option<VersionNumber> {
    VersionNumber::parse(&v.new.version).ok()
}

/// The rules of a release, given the state read in the transaction.
pub fn may_release(target: &Version, state: &ReleaseState) -> Result<(), DomainError> {
    if state.target_released {
        return Err(DomainError::AlreadyReleased(format!(
            "version {} was already released; release a newer version, or roll back to it with RollbackMNPVersion",
            target.new.version
        )));
    }
    if state.target_approval != Some(APPROVED) {
        return Err(DomainError::NotApproved(format!(
            "version {} is not approved by the platform ({}); submit it with CreateMNPApproval and have it approved first",
            target.new.version,
            match state.target_approval {
                None => "never submitted".to_string(),
                Some(s) => format!("its approval is {}", crate::approval::status_name(s)),
            }
        )));
    }
    if let Some(online) = &state.online {
        if number(target) <= number(&online.version) {
            return Err(DomainError::NotGreaterThanOnline(format!(
                "version {} is not greater than the online version {}; release a greater version",
                target.new.version, online.version.new.version
            )));
        }
    }
    Ok(())
}

/// The rules of a rollback.
pub fn may_roll_back(
    target: &Version,
    history: &[ReleaseRecord],
    state: &ReleaseState,
) -> Result<(), DomainError> {
    let Some(online) = &state.online else {
        return Err(DomainError::NothingOnline(format!(
            "mini program {} has no online version to roll back",
            target.new.mnp_id
        )));
    };
    if online.kind == ReleaseKind::Rollback {
        return Err(DomainError::RollbackRefused(format!(
            "the online version {} is already the result of a rollback, and rolling back twice in a row is not supported; release a new version first",
            online.version.new.version
        )));
    }
    if !state.target_released
        || !history.iter().any(|r| {
            r.kind == ReleaseKind::Release && r.version.mnp_version_id == target.mnp_version_id
        })
    {
        return Err(DomainError::RollbackRefused(format!(
            "version {} was never released; roll back only to a version listed by DescribeMNPReleasedVersionHistory",
            target.new.version
        )));
    }
    if number(target) >= number(&online.version) {
        return Err(DomainError::RollbackRefused(format!(
            "version {} is not earlier than the online version {}; roll back to an earlier released version",
            target.new.version, online.version.new.version
        )));
    }
    Ok(())
}

impl Releases {
    pub fn new<S>(store: Arc<S>, clock: Arc<dyn Clock>) -> Self
    where
        S: Has<dyn AccountStore>
            + Has<dyn MiniProgramStore>
            + Has<dyn VersionStore>
            + Has<dyn ReleaseStore>
            + ?Sized,
    {
        Releases {
            accounts: Has::share(&store),
            mini_programs: Has::share(&store),
            versions: Has::share(&store),
            releases: Has::share(&store),
            clock,
        }
    }

    pub async fn release(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_version_id: i64,
    ) -> Result<ReleaseRecord, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        let target = platform_version(self.versions.as_ref(), platform_id, mnp_version_id).await?;
        let now = self.clock.now().unix_timestamp();
        let decide = |state: &ReleaseState| may_release(&target, state);
        self.releases
            .change_online_version(&target, ReleaseKind::Release, &caller.actor, now, &decide)
            .await?
    }

    pub async fn roll_back(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
        mnp_version_id: i64,
        mnp_version: Option<&str>,
    ) -> Result<ReleaseRecord, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        if self
            .mini_programs
            .get_mini_program(platform_id, mnp_id)
            .await?
            .is_none()
        {
            return Err(DomainError::InvalidMnpId(mnp_id.to_string()));
        }
        let target = platform_version(self.versions.as_ref(), platform_id, mnp_version_id).await?;
        if target.new.mnp_id != mnp_id {
            return Err(DomainError::InvalidMnpVersionId(mnp_version_id));
        }
        if let Some(v) = mnp_version.map(str::trim).filter(|v| !v.is_empty()) {
            if v != target.new.version {
                return Err(DomainError::InvalidMnpVersion(format!(
                    "MNPVersion `{v}` does not match MNPVersionId {mnp_version_id}, which is version {}; send the pair listed by DescribeMNPReleasedVersionHistory",
                    target.new.version
                )));
            }
        }
        let history = self.releases.release_history(mnp_id).await?;
        let now = self.clock.now().unix_timestamp();
        let decide = |state: &ReleaseState| may_roll_back(&target, &history, state);
        self.releases
            .change_online_version(&target, ReleaseKind::Rollback, &caller.actor, now, &decide)
            .await?
    }

    /// Versions that were released, newest release first.
    pub async fn history(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<Vec<ReleaseRecord>, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        if self
            .mini_programs
            .get_mini_program(platform_id, mnp_id)
            .await?
            .is_none()
        {
            return Err(DomainError::InvalidMnpId(mnp_id.to_string()));
        }
        Ok(self
            .releases
            .release_history(mnp_id)
            .await?
            .into_iter()
            .filter(|r| r.kind == ReleaseKind::Release)
            .collect())
    }

    pub async fn online(
        &self,
        caller: &Caller,
        platform_id: &str,
        mnp_id: &str,
    ) -> Result<Option<ReleaseRecord>, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        if self
            .mini_programs
            .get_mini_program(platform_id, mnp_id)
            .await?
            .is_none()
        {
            return Err(DomainError::InvalidMnpId(mnp_id.to_string()));
        }
        Ok(self.releases.online_version(mnp_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: i64, v: &str) -> Version {
        Version {
            mnp_version_id: id,
            new: NewVersion {
                mnp_id: "mpaaaaaaaaaaaaaa".into(),
                platform_id: "T".into(),
                version: v.into(),
                intro: "i".into(),
                sha256: "0".repeat(64),
                size: 1,
                manifest: serde_json::from_value(serde_json::json!({
                    "kind": "mini_program", "root": "", "pages": ["p/i/i"], "subpackages": [],
                    "entry_page": "p/i/i", "file_count": 2, "uncompressed_bytes": 2
                }))
                .unwrap(),
                task_id: format!("task{id}"),
                create_user: tester(),
                created_at: 0,
            },
        }
    }

    fn tester() -> Actor {
        Actor::ApiKey {
            secret_id: "AKIDtester".into(),
        }
    }

    fn record(v: Version, kind: ReleaseKind) -> ReleaseRecord {
        ReleaseRecord {
            release_id: v.mnp_version_id,
            version: v,
            kind,
            release_user: tester(),
            released_at: 0,
        }
    }

    fn state(online: Option<ReleaseRecord>, released: bool, approval: Option<i64>) -> ReleaseState {
        ReleaseState {
            online,
            target_released: released,
            target_approval: approval,
            live_rollout: None,
        }
    }

    #[test]
    fn release_rules() {
        let v2 = version(2, "1.0.2");
        assert!(may_release(&v2, &state(None, false, Some(APPROVED))).is_ok());
        assert!(matches!(
            may_release(&v2, &state(None, false, None)),
            Err(DomainError::NotApproved(_))
        ));
        assert!(matches!(
            may_release(&v2, &state(None, false, Some(1))),
            Err(DomainError::NotApproved(_))
        ));
        assert!(matches!(
            may_release(&v2, &state(None, true, Some(APPROVED))),
            Err(DomainError::AlreadyReleased(_))
        ));
        let online = record(version(3, "1.0.10"), ReleaseKind::Release);
        assert!(matches!(
            may_release(&v2, &state(Some(online), false, Some(APPROVED))),
            Err(DomainError::NotGreaterThanOnline(_))
        ));
    }

    #[test]
    fn rollback_rules() {
        let v1 = version(1, "1.0.1");
        let v2 = version(2, "1.0.2");
        let history = vec![
            record(v2.clone(), ReleaseKind::Release),
            record(v1.clone(), ReleaseKind::Release),
        ];
        let online = record(v2.clone(), ReleaseKind::Release);
        assert!(may_roll_back(&v1, &history, &state(Some(online.clone()), true, None)).is_ok());
        assert!(matches!(
            may_roll_back(&v1, &history, &state(None, true, None)),
            Err(DomainError::NothingOnline(_))
        ));
        let rolled = record(v1.clone(), ReleaseKind::Rollback);
        assert!(matches!(
            may_roll_back(&v1, &history, &state(Some(rolled), true, None)),
            Err(DomainError::RollbackRefused(_))
        ));
        assert!(
            matches!(
                may_roll_back(&v2, &history, &state(Some(online.clone()), true, None)),
                Err(DomainError::RollbackRefused(_))
            ),
            "not earlier than online"
        );
        let v0 = version(9, "0.9.0");
        assert!(
            matches!(
                may_roll_back(&v0, &history, &state(Some(online), false, None)),
                Err(DomainError::RollbackRefused(_))
            ),
            "never released"
        );
    }
}
