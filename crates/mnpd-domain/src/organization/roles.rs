//! Team types and the preset roles with their permissions
//! (docs/organization.md has the same table for people).

use crate::entity::Team;
use crate::error::DomainError;

/// `TeamRoleTypeList` values.
pub const MINI_PROGRAM_TEAM: i64 = 1;
pub const APPLICATION_TEAM: i64 = 2;
pub const OPERATIONS_TEAM: i64 = 3;
/// A platform's default team, and every team made before types existed.
pub const COMBINED: [i64; 2] = [MINI_PROGRAM_TEAM, APPLICATION_TEAM];

/// Permissions (`ResourceIds`). The console shows and allows by these.
pub mod permission {
    pub const TEAM_MEMBERS: &str = "team.members";
    pub const TEAM_EDIT: &str = "team.edit";
    pub const MNP_MANAGE: &str = "mnp.manage";
    pub const MNP_DEVELOP: &str = "mnp.develop";
    pub const MNP_RELEASE: &str = "mnp.release";
    pub const MNP_APPROVE: &str = "mnp.approve";
    pub const APP_MANAGE: &str = "app.manage";
    pub const APP_INTEGRATE: &str = "app.integrate";
    pub const SENSITIVE_API_MANAGE: &str = "sensitive_api.manage";
    pub const SENSITIVE_API_APPROVE: &str = "sensitive_api.approve";
    pub const DATA_VIEW: &str = "data.view";
    pub const OPERATIONS: &str = "operations";
    /// Platform-wide, held by super and platform admins (AccountType 1, 2),
    /// not by a team role.
    pub const PLATFORM_TEAMS: &str = "platform.teams";
    pub const PLATFORM_USERS: &str = "platform.users";
}

/// A preset role: the same on every platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    pub role_id: i64,
    pub name: &'static str,
    /// The team type whose members can hold it.
    pub team_type: i64,
    pub is_admin: bool,
    pub permissions: &'static [&'static str],
}

/// `RoleType` of every preset role.
pub const PRESET_ROLE_TYPE: i64 = 1;
/// `CreateTime` of every preset role: when the catalog was first written.
pub const PRESET_ROLE_TIME: i64 = 1_717_575_381;

use permission as p;

pub const ROLES: &[Role] = &[
    Role {
        role_id: 20062,
        name: "Mini Program Administrator",
        team_type: MINI_PROGRAM_TEAM,
        is_admin: true,
        permissions: &[
            p::TEAM_MEMBERS,
            p::TEAM_EDIT,
            p::MNP_MANAGE,
            p::MNP_DEVELOP,
            p::MNP_RELEASE,
            p::DATA_VIEW,
        ],
    },
    Role {
        role_id: 20063,
        name: "Mini Program Member Manager",
        team_type: MINI_PROGRAM_TEAM,
        is_admin: false,
        permissions: &[p::TEAM_MEMBERS, p::TEAM_EDIT],
    },
    Role {
        role_id: 20064,
        name: "Mini Program Senior Developer",
        team_type: MINI_PROGRAM_TEAM,
        is_admin: false,
        permissions: &[p::MNP_MANAGE, p::MNP_DEVELOP, p::MNP_RELEASE, p::DATA_VIEW],
    },
    Role {
        role_id: 20065,
        name: "Mini Program Developer",
        team_type: MINI_PROGRAM_TEAM,
        is_admin: false,
        permissions: &[p::MNP_DEVELOP],
    },
    Role {
        role_id: 20066,
        name: "Mini Program Operator",
        team_type: MINI_PROGRAM_TEAM,
        is_admin: false,
        permissions: &[p::DATA_VIEW],
    },
    Role {
        role_id: 20068,
        name: "Application Administrator",
        team_type: APPLICATION_TEAM,
        is_admin: true,
        permissions: &[
            p::TEAM_MEMBERS,
            p::TEAM_EDIT,
            p::APP_MANAGE,
            p::APP_INTEGRATE,
            p::MNP_APPROVE,
            p::SENSITIVE_API_MANAGE,
            p::SENSITIVE_API_APPROVE,
            p::DATA_VIEW,
        ],
    },
    Role {
        role_id: 20069,
        name: "Application Member Manager",
        team_type: APPLICATION_TEAM,
        is_admin: false,
        permissions: &[p::TEAM_MEMBERS, p::TEAM_EDIT],
    },
    Role {
        role_id: 20070,
        name: "Application Senior Developer",
        team_type: APPLICATION_TEAM,
        is_admin: false,
        permissions: &[
            p::APP_MANAGE,
            p::APP_INTEGRATE,
            p::SENSITIVE_API_MANAGE,
            p::DATA_VIEW,
        ],
    },
    Role {
        role_id: 20071,
        name: "Application Developer",
        team_type: APPLICATION_TEAM,
        is_admin: false,
        permissions: &[p::APP_INTEGRATE],
    },
    Role {
        role_id: 20072,
        name: "Application Operator",
        team_type: APPLICATION_TEAM,
        is_admin: false,
        permissions: &[p::DATA_VIEW],
    },
    Role {
        role_id: 20073,
        name: "Review Staff",
        team_type: APPLICATION_TEAM,
        is_admin: false,
        permissions: &[p::MNP_APPROVE, p::SENSITIVE_API_APPROVE],
    },
    Role {
        role_id: 20074,
        name: "Operations Administrator",
        team_type: OPERATIONS_TEAM,
        is_admin: true,
        permissions: &[p::TEAM_MEMBERS, p::TEAM_EDIT, p::OPERATIONS, p::DATA_VIEW],
    },
    Role {
        role_id: 20075,
        name: "Operations Member Manager",
        team_type: OPERATIONS_TEAM,
        is_admin: false,
        permissions: &[p::TEAM_MEMBERS, p::TEAM_EDIT],
    },
    Role {
        role_id: 20076,
        name: "Operator",
        team_type: OPERATIONS_TEAM,
        is_admin: false,
        permissions: &[p::OPERATIONS, p::DATA_VIEW],
    },
];

pub fn role(role_id: i64) -> Option<&'static Role> {
    ROLES.iter().find(|r| r.role_id == role_id)
}

/// The roles a member of `team` may hold.
pub fn roles_of(team: &Team) -> impl Iterator<Item = &'static Role> + '_ {
    ROLES
        .iter()
        .filter(|r| team.role_types.contains(&r.team_type))
}

/// The admin role of a team: its first type's.
pub fn admin_role(team_types: &[i64]) -> &'static Role {
    let first = team_types.first().copied().unwrap_or(MINI_PROGRAM_TEAM);
    ROLES
        .iter()
        .find(|r| r.is_admin && r.team_type == first)
        .unwrap_or(&ROLES[0])
}

/// What a former admin keeps: the senior developer role of the team's type
/// (the member manager role for operations teams).
pub fn former_admin_role(team_types: &[i64]) -> &'static Role {
    let id = match team_types.first().copied().unwrap_or(MINI_PROGRAM_TEAM) {
        APPLICATION_TEAM => 20070,
        OPERATIONS_TEAM => 20075,
        _ => 20064,
    };
    role(id).unwrap_or(&ROLES[0])
}

/// A role a member of `team` may be given through the member actions: one
/// of the team's types, and not the admin role (the admin is named by
/// CreateTeam and ModifyTeam).
pub fn assignable(team: &Team, role_id: i64) -> Result<&'static Role, DomainError> {
    let choices = || {
        roles_of(team)
            .filter(|r| !r.is_admin)
            .map(|r| format!("{} ({})", r.role_id, r.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match role(role_id) {
        Some(r) if r.is_admin => Err(DomainError::InvalidRoleId(format!(
            "RoleId {role_id} is the admin role; name the team's admin with ModifyTeam's AdminUserId, or send one of {}",
            choices()
        ))),
        Some(r) if team.role_types.contains(&r.team_type) => Ok(r),
        Some(r) => Err(DomainError::InvalidRoleId(format!(
            "RoleId {role_id} ({}) is not a role of team `{}`'s type; send one of {}",
            r.name,
            team.team_id,
            choices()
        ))),
        None => Err(DomainError::InvalidRoleId(format!(
            "RoleId {role_id} is not a role; send one of {} (DescribeRoleList lists them)",
            choices()
        ))),
    }
}

/// CreateMNP's check of the team a mini program goes into.
pub fn check_mini_program_team(team: &Team) -> Result<(), DomainError> {
    if team.role_types.contains(&MINI_PROGRAM_TEAM) {
        if team.role_types.contains(&APPLICATION_TEAM) || team.related_team_id.is_some() {
            return Ok(());
        }
        return Err(DomainError::MnpTeamNotAssociated(team.team_id.clone()));
    }
    if team.role_types.contains(&OPERATIONS_TEAM) {
        return Err(DomainError::OperationsTeamNoMiniProgram(
            team.team_id.clone(),
        ));
    }
    Err(DomainError::TeamTypeMismatch(format!(
        "team `{}` is a host application team; mini programs go into a mini program team (TeamRoleTypeList [1]); DescribeSimpleTeamList with TeamRoleTypeList [1] lists them",
        team.team_id
    )))
}

/// CreateApplication's check of the team an application goes into.
pub fn check_application_team(team: &Team) -> Result<(), DomainError> {
    if team.role_types.contains(&APPLICATION_TEAM) {
        return Ok(());
    }
    if team.role_types.contains(&OPERATIONS_TEAM) {
        return Err(DomainError::OperationsTeamNoApplication(
            team.team_id.clone(),
        ));
    }
    if let Some(related) = &team.related_team_id {
        return Err(DomainError::MnpTeamAssociatedNoApplication(format!(
            "team `{}` is a mini program team bound to application team `{related}`; create the host application in team `{related}`",
            team.team_id
        )));
    }
    Err(DomainError::TeamTypeMismatch(format!(
        "team `{}` is a mini program team; host applications go into an application team (TeamRoleTypeList [2]); DescribeSimpleTeamList with TeamRoleTypeList [2] lists them",
        team.team_id
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(types: &[i64], related: Option<&str>) -> Team {
        Team {
            team_id: "1000000001".into(),
            role_types: types.to_vec(),
            related_team_id: related.map(str::to_string),
            ..Team::default()
        }
    }

    #[test]
    fn role_ids_are_unique_and_each_type_has_one_admin() {
        let mut ids: Vec<i64> = ROLES.iter().map(|r| r.role_id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ROLES.len());
        for t in [MINI_PROGRAM_TEAM, APPLICATION_TEAM, OPERATIONS_TEAM] {
            assert_eq!(
                ROLES
                    .iter()
                    .filter(|r| r.is_admin && r.team_type == t)
                    .count(),
                1
            );
            assert!(admin_role(&[t]).is_admin);
            assert!(!former_admin_role(&[t]).is_admin);
            assert_eq!(former_admin_role(&[t]).team_type, t);
        }
    }

    #[test]
    fn where_mini_programs_and_applications_go() {
        assert!(check_mini_program_team(&team(&COMBINED, None)).is_ok());
        assert!(check_mini_program_team(&team(&[1], Some("2000000002"))).is_ok());
        assert!(matches!(
            check_mini_program_team(&team(&[1], None)),
            Err(DomainError::MnpTeamNotAssociated(_))
        ));
        assert!(matches!(
            check_mini_program_team(&team(&[2], None)),
            Err(DomainError::TeamTypeMismatch(_))
        ));
        assert!(matches!(
            check_mini_program_team(&team(&[3], None)),
            Err(DomainError::OperationsTeamNoMiniProgram(_))
        ));
        assert!(check_application_team(&team(&COMBINED, None)).is_ok());
        assert!(check_application_team(&team(&[2], None)).is_ok());
        assert!(matches!(
            check_application_team(&team(&[1], Some("2000000002"))),
            Err(DomainError::MnpTeamAssociatedNoApplication(_))
        ));
        assert!(matches!(
            check_application_team(&team(&[1], None)),
            Err(DomainError::TeamTypeMismatch(_))
        ));
        assert!(matches!(
            check_application_team(&team(&[3], None)),
            Err(DomainError::OperationsTeamNoApplication(_))
        ));
    }

    #[test]
    fn assignable_roles() {
        let app = team(&[2], None);
        assert_eq!(
            assignable(&app, 20071).unwrap().name,
            "Application Developer"
        );
        assert!(matches!(
            assignable(&app, 20068),
            Err(DomainError::InvalidRoleId(_))
        ));
        assert!(matches!(
            assignable(&app, 20065),
            Err(DomainError::InvalidRoleId(_))
        ));
        assert!(matches!(
            assignable(&app, 7),
            Err(DomainError::InvalidRoleId(_))
        ));
        assert!(assignable(&team(&COMBINED, None), 20065).is_ok());
    }
}
