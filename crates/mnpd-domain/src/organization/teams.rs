//! Teams: CreateTeam, DescribeTeam, DescribeTeamList,
//! DescribeSimpleTeamList, ModifyTeam, DeleteTeam; and the preset roles'
//! listing.

use crate::entity::*;
use crate::error::DomainError;
use crate::mini_program::{check_keyword, check_page, matches_nothing, owned_platform};
use crate::store::{ApplicationQuery, StoreError};

use super::*;

impl Organization {
    // -- teams ----------------------------------------------------------------

    /// CreateTeam; returns the team (the API answers no TeamId:
    /// DescribeTeamList shows it).
    pub async fn create_team(&self, caller: &Caller, new: NewTeam) -> Result<Team, DomainError> {
        let platform_id = self
            .platform_or_only(caller, new.platform_id.as_deref())
            .await?;
        let name = check_team_name(&new.name)?;
        let remark = text(
            "Remark",
            new.remark.as_deref().unwrap_or(""),
            false,
            MAX_REMARK_CHARS,
            DomainError::InvalidValue,
        )?;
        let team_type = match new.role_types.as_slice() {
            [t @ (MINI_PROGRAM_TEAM | APPLICATION_TEAM | OPERATIONS_TEAM)] => *t,
            other => {
                return Err(DomainError::InvalidValue(format!(
                    "TeamRoleTypeList is {other:?}; send exactly one of [1] (mini program team), [2] (host application team), [3] (operations team)"
                )))
            }
        };
        let admin = self
            .owned_user(caller, &platform_id, &new.admin_user_id)
            .await?;
        let related_team_id = match new.related_team_id.as_deref().map(str::trim) {
            None | Some("") | Some("0") => None,
            Some(related) => {
                let related_team = self.owned_team(caller, &platform_id, related).await?;
                if team_type != MINI_PROGRAM_TEAM {
                    return Err(DomainError::TeamTypeMismatch(format!(
                        "RelatedTeamId binds a mini program team to an application team; this team's type is {team_type}: leave RelatedTeamId out, or send TeamRoleTypeList [1]"
                    )));
                }
                if related_team.role_types != [APPLICATION_TEAM] {
                    return Err(DomainError::TeamTypeMismatch(format!(
                        "RelatedTeamId `{related}` is not a host application team (TeamRoleTypeList [2]); send one DescribeSimpleTeamList lists with TeamRoleTypeList [2]"
                    )));
                }
                Some(related.to_string())
            }
        };
        self.check_team_name_free(&platform_id, &name, None).await?;
        let types = vec![team_type];
        let admin_role = roles::admin_role(&types).role_id;
        for _ in 0..5 {
            let team = Team {
                team_id: crate::ids::team_id(),
                platform_id: platform_id.clone(),
                name: name.clone(),
                created_at: self.now(),
                role_types: types.clone(),
                related_team_id: related_team_id.clone(),
                admin_user_id: Some(admin.user_id.clone()),
                remark: remark.clone(),
                create_user: caller.user(),
            };
            match self.org.create_team(&team, admin_role).await {
                Ok(()) => return Ok(team),
                // Another team took the name since the check above.
                Err(StoreError::Conflict(what)) if what == "name" => {
                    return Err(DomainError::TeamNameTaken(team.name))
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DomainError::Internal(
            "could not allocate a unique TeamId".into(),
        ))
    }

    /// DescribeTeam.
    pub async fn team(
        &self,
        caller: &Caller,
        platform_id: &str,
        team_id: &str,
    ) -> Result<TeamView, DomainError> {
        let team = self.owned_team(caller, platform_id, team_id).await?;
        let mut view = self.view(team).await?;
        view.application_name = self.application_name(&view.team).await?;
        Ok(view)
    }

    /// The host application a team works for: an application team's own,
    /// or, for a mini program team, that of the application team it is
    /// bound to; the newest when it has several, empty when none.
    async fn application_name(&self, team: &Team) -> Result<String, DomainError> {
        let app_team = if team.role_types.contains(&APPLICATION_TEAM) {
            Some(team.team_id.clone())
        } else {
            team.related_team_id.clone()
        };
        let Some(app_team) = app_team else {
            return Ok(String::new());
        };
        let (_, first) = self
            .applications
            .list_applications(&ApplicationQuery {
                platform_id: team.platform_id.clone(),
                team_id: Some(app_team),
                offset: 0,
                limit: 1,
                ..ApplicationQuery::default()
            })
            .await?;
        Ok(first
            .into_iter()
            .next()
            .map(|a| a.application.name)
            .unwrap_or_default())
    }

    async fn view(&self, team: Team) -> Result<TeamView, DomainError> {
        let admin = match &team.admin_user_id {
            Some(a) => self.org.get_user(&team.platform_id, a).await?,
            None => None,
        };
        let related_team_name = match &team.related_team_id {
            Some(r) => self
                .accounts
                .get_team(r)
                .await?
                .map(|t| t.name)
                .unwrap_or_default(),
            None => String::new(),
        };
        Ok(TeamView {
            application_name: String::new(),
            member_count: self.org.member_count(&team.team_id).await?,
            bound_team_count: self.org.related_team_count(&team.team_id).await?,
            admin,
            related_team_name,
            team,
        })
    }

    /// DescribeTeamList.
    pub async fn list_teams(
        &self,
        caller: &Caller,
        query: TeamQuery,
    ) -> Result<(i64, Vec<TeamView>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, &query.platform_id).await?;
        check_page(query.offset, query.limit)?;
        check_keyword(query.keyword.as_deref())?;
        if matches_nothing(query.keyword.as_deref()) {
            return Ok((0, Vec::new()));
        }
        let (total, teams) = self.org.list_teams(&query).await?;
        let mut page = Vec::with_capacity(teams.len());
        for t in teams {
            page.push(self.view(t).await?);
        }
        Ok((total, page))
    }

    /// DescribeSimpleTeamList: the teams having any of `types` (all for
    /// none, or for `[0]` as the public example sends).
    pub async fn simple_teams(
        &self,
        caller: &Caller,
        platform_id: &str,
        types: &[i64],
    ) -> Result<Vec<Team>, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        let wanted: Vec<i64> = types.iter().copied().filter(|t| *t != 0).collect();
        if let Some(bad) = wanted
            .iter()
            .find(|t| ![MINI_PROGRAM_TEAM, APPLICATION_TEAM, OPERATIONS_TEAM].contains(t))
        {
            return Err(DomainError::InvalidValue(format!(
                "TeamRoleTypeList holds {bad}; send 1 (mini program), 2 (host application) or 3 (operations), or leave it out for every team"
            )));
        }
        Ok(self
            .org
            .platform_teams(platform_id)
            .await?
            .into_iter()
            .filter(|t| wanted.is_empty() || t.role_types.iter().any(|x| wanted.contains(x)))
            .collect())
    }

    /// ModifyTeam: the name, and the admin when AdminUserId is given.
    pub async fn modify_team(
        &self,
        caller: &Caller,
        platform_id: &str,
        team_id: &str,
        name: &str,
        admin_user_id: Option<&str>,
    ) -> Result<(), DomainError> {
        let mut team = self.owned_team(caller, platform_id, team_id).await?;
        team.name = check_team_name(name)?;
        self.check_team_name_free(platform_id, &team.name, Some(team_id))
            .await?;
        if let Some(admin) = admin_user_id.map(str::trim).filter(|a| !a.is_empty()) {
            let admin = self.owned_user(caller, platform_id, admin).await?;
            team.admin_user_id = Some(admin.user_id);
        }
        let admin_role = roles::admin_role(&team.role_types).role_id;
        let former = roles::former_admin_role(&team.role_types).role_id;
        match self.org.update_team(&team, admin_role, former).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(DomainError::InvalidTeamId(team_id.to_string())),
            // Another team took the name since the check above.
            Err(StoreError::Conflict(what)) if what == "name" => {
                Err(DomainError::TeamNameTaken(team.name))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// DeleteTeam: only an empty team (its admin aside).
    pub async fn delete_team(
        &self,
        caller: &Caller,
        platform_id: &str,
        team_id: &str,
    ) -> Result<(), DomainError> {
        self.owned_team(caller, platform_id, team_id).await?;
        match self.org.delete_team(platform_id, team_id).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(DomainError::InvalidTeamId(team_id.to_string())),
            Err(StoreError::Conflict(what)) => Err(DomainError::TeamInUse(format!(
                "team `{team_id}` still has {}; {} first",
                match what.as_str() {
                    "mini_programs" => "mini programs",
                    "applications" => "host applications",
                    "related" => "mini program teams bound to it",
                    _ => "members besides its admin",
                },
                match what.as_str() {
                    "mini_programs" => "delete them (DeleteMNP)",
                    "applications" => "delete them (DeleteApplication)",
                    "related" => "delete those teams",
                    _ => "remove them (DeleteTeamMember)",
                }
            ))),
            Err(e) => Err(e.into()),
        }
    }

    // -- roles -------------------------------------------------------------------

    /// DescribeRoleList: the preset roles, those a member of `team_id` may
    /// hold when it is given.
    pub async fn list_roles(
        &self,
        caller: &Caller,
        platform_id: &str,
        keyword: Option<&str>,
        team_id: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<(i64, Vec<&'static Role>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        check_page(offset, limit)?;
        check_keyword(keyword)?;
        let team = match team_id.filter(|t| !t.is_empty() && *t != "0") {
            Some(t) => Some(self.owned_team(caller, platform_id, t).await?),
            None => None,
        };
        let needle = keyword.unwrap_or("").to_lowercase();
        let matching: Vec<&'static Role> = roles::ROLES
            .iter()
            .filter(|r| {
                team.as_ref()
                    .is_none_or(|t| t.role_types.contains(&r.team_type))
            })
            .filter(|r| needle.is_empty() || r.name.to_lowercase().contains(&needle))
            .collect();
        let total = matching.len() as i64;
        let page = matching
            .into_iter()
            .skip(offset.try_into().unwrap_or(usize::MAX))
            .take(limit as usize)
            .collect();
        Ok((total, page))
    }

    /// DescribeRoleDetail.
    pub async fn role(
        &self,
        caller: &Caller,
        platform_id: &str,
        role_id: i64,
    ) -> Result<&'static Role, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        roles::role(role_id).ok_or_else(|| {
            DomainError::InvalidRoleId(format!(
                "RoleId {role_id} is not a role; send one DescribeRoleList lists"
            ))
        })
    }
}
