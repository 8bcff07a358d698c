//! The team a console user's change acts in. A role is held in a team, so
//! a developer of one team may not upload to another team's mini program
//! though the gateway's first check (any team grants the permission) passes.

use super::{ConsoleSessions, SignedInUser};
use crate::error::DomainError;
use crate::organization::roles::permission as p;
use crate::organization::{PLATFORM_ADMIN, SUPER_ADMIN};

/// What an action's parameters name, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    MiniProgram(&'a str),
    Application(&'a str),
    Team(&'a str),
}

/// Whether `permission` is held per team; the platform-wide ones (teams,
/// users, the operations of the whole platform) are not.
pub fn team_scoped(permission: &str) -> bool {
    ![p::PLATFORM_TEAMS, p::PLATFORM_USERS, p::OPERATIONS].contains(&permission)
}

impl ConsoleSessions {
    /// Whether `user` holds `permission` in the team that owns `resource`.
    /// Super and platform admins act in every team. A resource that is not
    /// on the user's platform passes here: the action itself answers that
    /// it does not exist, as it would to anyone.
    pub async fn may_act_on(
        &self,
        user: &SignedInUser,
        permission: &str,
        resource: Resource<'_>,
    ) -> Result<bool, DomainError> {
        if !team_scoped(permission)
            || user.user.account_type == SUPER_ADMIN
            || user.user.account_type == PLATFORM_ADMIN
        {
            return Ok(true);
        }
        let platform_id = user.user.platform_id.as_str();
        let owner = match resource {
            Resource::MiniProgram(mnp_id) => self
                .mini_programs
                .get_mini_program(platform_id, mnp_id)
                .await?
                .map(|m| m.mini_program.team_id),
            Resource::Application(application_id) => self
                .applications
                .get_application(platform_id, application_id)
                .await?
                .map(|a| a.team_id),
            Resource::Team(team_id) => self
                .accounts
                .get_team(team_id)
                .await?
                .filter(|t| t.platform_id == platform_id)
                .map(|t| t.team_id),
        };
        let Some(owner) = owner else {
            return Ok(true);
        };
        Ok(user
            .team_permissions
            .get(&owner)
            .is_some_and(|held| held.contains(permission)))
    }
}
