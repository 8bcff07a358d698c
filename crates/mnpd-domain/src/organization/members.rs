//! Members: AddTeamMember, CreateTeamMember, DescribeTeamMember(List|s),
//! ModifyTeamMember, DeleteTeamMember.

use crate::entity::*;
use crate::error::DomainError;
use crate::mini_program::{check_keyword, check_page, matches_nothing, owned_platform};

use super::*;

impl Organization {
    // -- members ---------------------------------------------------------------

    /// AddTeamMember: existing users join, or get the role if members.
    pub async fn add_members(
        &self,
        caller: &Caller,
        platform_id: &str,
        team_id: &str,
        members: Vec<(Option<String>, Option<i64>)>,
    ) -> Result<(), DomainError> {
        let team = self.owned_team(caller, platform_id, team_id).await?;
        if members.is_empty() {
            return Err(DomainError::InvalidValue(
                "MemberList is empty; send one {UserId, UserRoleId} per user to add".into(),
            ));
        }
        let mut checked = Vec::with_capacity(members.len());
        for (user_id, role_id) in members {
            let user_id = user_id.unwrap_or_default();
            let user = self.owned_user(caller, platform_id, user_id.trim()).await?;
            if team.admin_user_id.as_deref() == Some(user.user_id.as_str()) {
                return Err(admin_of(&team));
            }
            let Some(role_id) = role_id else {
                return Err(DomainError::InvalidRoleId(format!(
                    "UserRoleId is missing for user `{}`; send a RoleId DescribeRoleList lists for this team",
                    user.user_id
                )));
            };
            roles::assignable(&team, role_id)?;
            checked.push((user.user_id, role_id));
        }
        Ok(self
            .org
            .put_members(&team.team_id, &checked, self.now())
            .await?)
    }

    /// CreateTeamMember: a new member (AccountType 3) straight into a team.
    pub async fn create_member(
        &self,
        caller: &Caller,
        new: NewMember,
    ) -> Result<String, DomainError> {
        let team = self
            .owned_team(caller, &new.platform_id, &new.team_id)
            .await?;
        let account = check_account(&new.account)?;
        let name = check_user_name(&new.name)?;
        roles::assignable(&team, new.role_id)?;
        let password = self.open_password(caller, &new.password).await?;
        let user = self
            .insert_user(
                &new.platform_id,
                &account,
                &name,
                MEMBER,
                &password,
                &caller.user(),
            )
            .await?;
        self.org
            .put_members(
                &team.team_id,
                &[(user.user_id.clone(), new.role_id)],
                self.now(),
            )
            .await?;
        Ok(user.user_id)
    }

    /// DescribeTeamMemberList, DescribeTeamMembers.
    pub async fn list_members(
        &self,
        caller: &Caller,
        query: MemberQuery,
    ) -> Result<(i64, Vec<Membership>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, &query.platform_id).await?;
        check_page(query.offset, query.limit)?;
        check_keyword(query.keyword.as_deref())?;
        if let Some(t) = query.team_id.as_deref().filter(|t| !t.is_empty()) {
            self.owned_team(caller, &query.platform_id, t).await?;
        }
        if let Some(bad) = query.role_ids.iter().find(|r| roles::role(**r).is_none()) {
            return Err(DomainError::InvalidRoleId(format!(
                "RoleIds holds {bad}, which is not a role; send RoleIds DescribeRoleList lists"
            )));
        }
        if matches_nothing(query.keyword.as_deref()) {
            return Ok((0, Vec::new()));
        }
        Ok(self.org.list_members(&query).await?)
    }

    /// ModifyTeamMember.
    pub async fn modify_member(
        &self,
        caller: &Caller,
        platform_id: &str,
        team_id: &str,
        user_id: &str,
        role_id: i64,
    ) -> Result<(), DomainError> {
        let (team, user) = self
            .editable_member(caller, platform_id, team_id, user_id)
            .await?;
        roles::assignable(&team, role_id)?;
        if self.org.set_member_role(team_id, user_id, role_id).await? {
            Ok(())
        } else {
            Err(not_member(&team, &user))
        }
    }

    /// DeleteTeamMember.
    pub async fn delete_member(
        &self,
        caller: &Caller,
        platform_id: &str,
        team_id: &str,
        user_id: &str,
    ) -> Result<(), DomainError> {
        let (team, user) = self
            .editable_member(caller, platform_id, team_id, user_id)
            .await?;
        if self.org.delete_membership(team_id, user_id).await? {
            Ok(())
        } else {
            Err(not_member(&team, &user))
        }
    }

    /// The team and user of a membership the member actions may change:
    /// one that exists and is not the team's admin.
    async fn editable_member(
        &self,
        caller: &Caller,
        platform_id: &str,
        team_id: &str,
        user_id: &str,
    ) -> Result<(Team, User), DomainError> {
        let team = self.owned_team(caller, platform_id, team_id).await?;
        let user = self.owned_user(caller, platform_id, user_id).await?;
        self.member_of(&team, &user).await?;
        if team.admin_user_id.as_deref() == Some(user.user_id.as_str()) {
            return Err(admin_of(&team));
        }
        Ok((team, user))
    }

    async fn member_of(&self, team: &Team, user: &User) -> Result<Membership, DomainError> {
        self.org
            .get_membership(&team.team_id, &user.user_id)
            .await?
            .ok_or_else(|| not_member(team, user))
    }
}
