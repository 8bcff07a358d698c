//! Which permission (`roles::permission`) a console user needs for each
//! action. Reading is open to every signed-in user of the account; each
//! change needs the permission of the role that makes it. API keys are not
//! checked here: they act with the whole account's rights.

use std::collections::BTreeSet;

use crate::organization::roles::permission as p;

/// The permission `action` needs that `held` lacks, if any: the gateway's
/// check on each console call, and the session's `DeniedActions` the
/// console greys out by — one predicate for both.
pub fn missing(action: &str, held: &BTreeSet<&'static str>) -> Option<&'static str> {
    required(action).filter(|need| !held.contains(need))
}

/// The permission `action` needs from a console user; None when any
/// signed-in user may call it.
pub fn required(action: &str) -> Option<&'static str> {
    Some(match action {
        "CreateMNPVersion"
        | "CreateConsoleMNPVersionCompileTask"
        | "ConfigureMNPPreview"
        | "ModifyMNPVersionPreview"
        | "CreateMNPApproval" => p::MNP_DEVELOP,
        "ReleaseMNPVersion"
        | "RollbackMNPVersion"
        | "ModifyOnlineVersion"
        | "CreateOnlineApply"
        // mnpd's gradual releases are releases.
        | "CreateGradualRelease"
        | "ModifyGradualRelease"
        | "PauseGradualRelease"
        | "ResumeGradualRelease"
        | "HaltGradualRelease"
        | "PromoteGradualRelease" => p::MNP_RELEASE,
        "CreateMNP"
        | "ModifyMNP"
        | "DeleteMNP"
        | "RemoveMNP"
        | "ModifyMNPStatusOffline"
        | "CreateMNPDomainACL"
        | "ModifyMNPDomain"
        | "CreateMNPSensitiveAPIPermissionApproval" => p::MNP_MANAGE,
        "ProcessMNPApproval" => p::MNP_APPROVE,
        "ProcessMNPSensitiveAPIPermissionApproval" | "ModifySensitiveAPIAuditStatus" => {
            p::SENSITIVE_API_APPROVE
        }
        "CreateApplication"
        | "ModifyApplication"
        | "DeleteApplication"
        | "ModifyApplicationAppKey"
        | "ModifyApplicationAppUrl" => p::APP_MANAGE,
        // The file carries what the host SDK needs: integrators only.
        "DescribeApplicationConfig" | "DescribeApplicationConfigFile" => p::APP_INTEGRATE,
        "CreateApplicationSensitiveAPI"
        | "DeleteApplicationSensitiveAPI"
        | "EnableApplicationSensitiveAPI"
        | "DisableApplicationSensitiveAPI"
        | "CreateSensitiveAPI"
        | "DeleteSensitiveAPI"
        | "CreateSensitiveApiApply" => p::SENSITIVE_API_MANAGE,
        "AddTeamMember" | "CreateTeamMember" | "ModifyTeamMember" | "DeleteTeamMember" => {
            p::TEAM_MEMBERS
        }
        "ModifyTeam" => p::TEAM_EDIT,
        "CreateTeam" | "DeleteTeam" => p::PLATFORM_TEAMS,
        "CreateUser" | "ModifyUser" | "DeleteUser" | "ModifyUserPassword" => p::PLATFORM_USERS,
        "CreateDomain"
        | "ModifyDomain"
        | "CreateGlobalDomain"
        | "ModifyGlobalDomain"
        | "DeleteGlobalDomain"
        | "CreateGlobalDomainACL"
        | "DisableTeamDomain"
        | "CreatePlatformAudit"
        | "ModifyPlatformAuditStatus" => p::OPERATIONS,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organization::roles::{role, ROLES};

    fn may(role_id: i64, action: &str) -> bool {
        required(action).is_none_or(|need| role(role_id).unwrap().permissions.contains(&need))
    }

    #[test]
    fn developers_submit_and_approvers_approve() {
        // Mini Program Developer.
        assert!(may(20065, "CreateMNPVersion"));
        assert!(may(20065, "CreateMNPApproval"));
        assert!(!may(20065, "ProcessMNPApproval"));
        assert!(!may(20065, "ReleaseMNPVersion"));
        // Review Staff.
        assert!(may(20073, "ProcessMNPApproval"));
        assert!(!may(20073, "CreateMNPVersion"));
        // Reading is open.
        assert!(may(20066, "DescribeMNPList"));
    }

    #[test]
    fn missing_names_the_permission_a_role_lacks() {
        let developer: BTreeSet<&'static str> =
            role(20065).unwrap().permissions.iter().copied().collect();
        assert_eq!(
            missing("ProcessMNPApproval", &developer),
            Some(p::MNP_APPROVE)
        );
        assert_eq!(missing("CreateMNPVersion", &developer), None);
        assert_eq!(missing("DescribeMNPList", &BTreeSet::new()), None);
    }

    #[test]
    fn every_permission_named_is_one_some_role_has() {
        for action in ["CreateMNPVersion", "CreateTeam", "CreateUser", "ModifyTeam"] {
            let need = required(action).unwrap();
            let held = ROLES.iter().any(|r| r.permissions.contains(&need))
                || need == p::PLATFORM_TEAMS
                || need == p::PLATFORM_USERS;
            assert!(held, "{action}");
        }
    }
}
