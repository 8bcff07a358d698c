//! The organization (docs/organization.md): users, teams with types and an
//! admin, memberships with preset roles, and the preset keys that carry
//! passwords encrypted.
//!
//! For the console's sign-in (its own module uses these, nothing else):
//! - [`Organization::verify`]`(account, password)`: the enabled user with
//!   that account and password, with their memberships and the union of
//!   their permissions (`roles::permission`); `None` for a wrong account or
//!   password and for a disabled user, alike. The password is the clear
//!   one the console decrypted with [`Organization::open_sign_in_password`].
//! - [`Organization::create_sign_in_key`] and
//!   [`Organization::open_sign_in_password`]: the sign-in page's preset
//!   key (no account yet) and the password it carried.
//! - [`Organization::password_epoch`]`(platform_id, user_id)`: the value a
//!   session stores at sign-in; when it differs later (or is `None`: the
//!   user was deleted or disabled), the session is over.

pub mod password;
pub mod preset_key;
pub mod roles;

use std::collections::BTreeSet;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::application::text;
use crate::clock::Clock;
use crate::entity::*;
use crate::error::DomainError;
use crate::mini_program::{check_keyword, check_page, matches_nothing, owned_platform};
use crate::secret::{self, SecretCipher};
use crate::store::{AccountStore, Has, OrganizationStore, StoreError};
use roles::{Role, APPLICATION_TEAM, MINI_PROGRAM_TEAM, OPERATIONS_TEAM};

pub use crate::store::{MemberQuery, TeamQuery, UserQuery};

/// `AccountType`.
pub const SUPER_ADMIN: i64 = 1;
pub const PLATFORM_ADMIN: i64 = 2;
pub const MEMBER: i64 = 3;
/// `Status` of a user.
pub const ENABLED: i64 = 1;
pub const DISABLED: i64 = 2;

pub const MAX_ACCOUNT_CHARS: usize = 32;
pub const MAX_USER_NAME_CHARS: usize = 32;
pub const MAX_TEAM_NAME_CHARS: usize = 30;
pub const MAX_REMARK_CHARS: usize = 200;

/// A password as a request carries it: encrypted with a preset key.
#[derive(Clone)]
pub struct SealedPassword {
    pub key_id: String,
    pub ciphertext: String,
}

impl std::fmt::Debug for SealedPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedPassword(..)")
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub platform_id: String,
    pub account: String,
    pub name: String,
    pub account_type: i64,
    pub password: SealedPassword,
}

#[derive(Debug, Clone)]
pub struct UserChanges {
    pub platform_id: String,
    pub user_id: String,
    pub name: String,
    pub account_type: i64,
    pub account: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewTeam {
    pub platform_id: Option<String>,
    pub name: String,
    pub admin_user_id: String,
    pub role_types: Vec<i64>,
    pub remark: Option<String>,
    pub related_team_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewMember {
    pub platform_id: String,
    pub team_id: String,
    pub account: String,
    pub name: String,
    pub role_id: i64,
    pub password: SealedPassword,
}

/// A team with what its listings show.
#[derive(Debug, Clone)]
pub struct TeamView {
    pub team: Team,
    pub admin: Option<User>,
    pub member_count: i64,
    /// For an application team: the mini program teams bound to it.
    pub bound_team_count: i64,
    /// For a mini program team: its application team's name.
    pub related_team_name: String,
}

/// Who signed in, and what they may do.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub memberships: Vec<Membership>,
    pub permissions: BTreeSet<&'static str>,
}

pub struct Organization {
    accounts: Arc<dyn AccountStore>,
    org: Arc<dyn OrganizationStore>,
    clock: Arc<dyn Clock>,
    /// Seals preset keys' private halves, when configured.
    cipher: Option<SecretCipher>,
}

impl Organization {
    pub fn new<S>(store: Arc<S>, clock: Arc<dyn Clock>) -> Self
    where
        S: Has<dyn AccountStore> + Has<dyn OrganizationStore> + ?Sized,
    {
        Organization {
            accounts: Has::share(&store),
            org: Has::share(&store),
            clock,
            cipher: None,
        }
    }

    pub fn with_cipher(mut self, cipher: Option<SecretCipher>) -> Self {
        self.cipher = cipher;
        self
    }

    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    // -- preset keys ------------------------------------------------------

    /// CreatePresetKey: a key of the caller's account, live
    /// `preset_key::LIFETIME_SECS`, good for one request.
    pub async fn create_preset_key(&self, caller: &Caller) -> Result<String, DomainError> {
        self.new_preset_key(Some(caller.account_id)).await
    }

    /// A key for the console's sign-in page, which has no account yet:
    /// the same scheme, lifetime and single use.
    pub async fn create_sign_in_key(&self) -> Result<String, DomainError> {
        self.new_preset_key(None).await
    }

    async fn new_preset_key(&self, account_id: Option<i64>) -> Result<String, DomainError> {
        let (key_id, private) = preset_key::generate();
        let stored = match &self.cipher {
            Some(c) => c.seal(&private),
            None => private,
        };
        self.org
            .insert_preset_key(&PresetKey {
                key_id: key_id.clone(),
                account_id,
                private_key: stored,
                expires_at: self.now() + preset_key::LIFETIME_SECS,
            })
            .await?;
        Ok(key_id)
    }

    /// The clear password a request carried; the key is used up.
    pub async fn open_password(
        &self,
        caller: &Caller,
        sealed: &SealedPassword,
    ) -> Result<String, DomainError> {
        self.open_with(Some(caller.account_id), sealed).await
    }

    /// The clear password the sign-in page sent under `create_sign_in_key`'s key.
    pub async fn open_sign_in_password(
        &self,
        sealed: &SealedPassword,
    ) -> Result<String, DomainError> {
        self.open_with(None, sealed).await
    }

    async fn open_with(
        &self,
        account_id: Option<i64>,
        sealed: &SealedPassword,
    ) -> Result<String, DomainError> {
        let key_id = sealed.key_id.trim();
        let Some(key) = self
            .org
            .take_preset_key(account_id, key_id, self.now())
            .await?
        else {
            return Err(DomainError::InvalidPresetKey(format!(
                "KeyId `{key_id}` is not a live preset key of this account (a key lives {} seconds and serves one request); {}",
                preset_key::LIFETIME_SECS,
                preset_key::HOW
            )));
        };
        let private =
            secret::open(self.cipher.as_ref(), &key.private_key).map_err(DomainError::Internal)?;
        preset_key::decrypt(&key.key_id, &private, &sealed.ciphertext)
    }

    // -- users --------------------------------------------------------------

    /// CreateUser; returns the UserId.
    pub async fn create_user(&self, caller: &Caller, new: NewUser) -> Result<String, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, &new.platform_id).await?;
        let account = check_account(&new.account)?;
        let name = check_user_name(&new.name)?;
        if new.account_type != PLATFORM_ADMIN && new.account_type != MEMBER {
            return Err(invalid_account_type(new.account_type));
        }
        let password = self.open_password(caller, &new.password).await?;
        self.insert_user(
            &new.platform_id,
            &account,
            &name,
            new.account_type,
            &password,
            &caller.user(),
        )
        .await
        .map(|u| u.user_id)
    }

    /// Records a user whose password is given in clear (checked here): the
    /// API's users after decryption, the bootstrap admin, `mnpd admin`.
    pub async fn insert_user(
        &self,
        platform_id: &str,
        account: &str,
        name: &str,
        account_type: i64,
        password: &str,
        create_user: &str,
    ) -> Result<User, DomainError> {
        password::check_strength(password, account)?;
        let hash = password::hash_blocking(password.to_string()).await?;
        let now = self.clock.now();
        for _ in 0..5 {
            let user = User {
                user_id: user_id(now),
                platform_id: platform_id.to_string(),
                account: account.to_string(),
                name: name.to_string(),
                account_type,
                password_hash: hash.clone(),
                status: ENABLED,
                password_epoch: 0,
                create_user: create_user.to_string(),
                created_at: now.unix_timestamp(),
                updated_at: now.unix_timestamp(),
            };
            match self.org.insert_user(&user).await {
                Ok(()) => return Ok(user),
                Err(StoreError::Conflict(what)) if what == "account" => {
                    return Err(DomainError::UserAccountTaken(account.to_string()))
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DomainError::Internal(
            "could not allocate a unique UserId".into(),
        ))
    }

    /// DescribeUser, DescribeUserDetail (whose PlatformId may be left out:
    /// then the user is looked for on every platform of the account).
    pub async fn user(
        &self,
        caller: &Caller,
        platform_id: Option<&str>,
        user_id: &str,
    ) -> Result<User, DomainError> {
        match platform_id.filter(|p| !p.is_empty()) {
            Some(p) => self.owned_user(caller, p, user_id).await,
            None => {
                for p in self
                    .accounts
                    .list_platforms(Some(caller.account_id))
                    .await?
                {
                    if let Some(u) = self.org.get_user(&p.platform_id, user_id).await? {
                        return Ok(u);
                    }
                }
                Err(invalid_user(user_id))
            }
        }
    }

    /// DescribeUserList.
    pub async fn list_users(
        &self,
        caller: &Caller,
        mut query: UserQuery,
    ) -> Result<(i64, Vec<UserListing>), DomainError> {
        owned_platform(self.accounts.as_ref(), caller, &query.platform_id).await?;
        check_page(query.offset, query.limit)?;
        check_keyword(query.keyword.as_deref())?;
        // The public example sends 0 and "0" for "any".
        query.account_type = query.account_type.filter(|t| *t != 0);
        if let Some(t) = query.account_type {
            if !(SUPER_ADMIN..=MEMBER).contains(&t) {
                return Err(invalid_account_type(t));
            }
        }
        query.team_id = query.team_id.filter(|t| !t.is_empty() && t != "0");
        if let Some(t) = &query.team_id {
            self.owned_team(caller, &query.platform_id, t).await?;
        }
        if matches_nothing(query.keyword.as_deref()) {
            return Ok((0, Vec::new()));
        }
        Ok(self.org.list_users(&query).await?)
    }

    /// ModifyUser.
    pub async fn modify_user(&self, caller: &Caller, c: UserChanges) -> Result<(), DomainError> {
        let mut user = self.owned_user(caller, &c.platform_id, &c.user_id).await?;
        user.name = check_user_name(&c.name)?;
        if c.account_type != user.account_type {
            if user.account_type == SUPER_ADMIN {
                return Err(DomainError::UnableOperateAdmin(format!(
                    "user `{}` is the platform's super admin; their AccountType stays {SUPER_ADMIN}",
                    user.user_id
                )));
            }
            if c.account_type != PLATFORM_ADMIN && c.account_type != MEMBER {
                return Err(invalid_account_type(c.account_type));
            }
            user.account_type = c.account_type;
        }
        if let Some(account) = c.account.as_deref().filter(|a| !a.trim().is_empty()) {
            user.account = check_account(account)?;
        }
        user.updated_at = self.now();
        match self.org.update_user(&user).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(invalid_user(&user.user_id)),
            Err(StoreError::Conflict(_)) => Err(DomainError::UserAccountTaken(user.account)),
            Err(e) => Err(e.into()),
        }
    }

    /// ModifyUserPassword: console sessions of the user end (the epoch moves).
    pub async fn modify_password(
        &self,
        caller: &Caller,
        platform_id: &str,
        user_id: &str,
        sealed: &SealedPassword,
    ) -> Result<(), DomainError> {
        let user = self.owned_user(caller, platform_id, user_id).await?;
        let password = self.open_password(caller, sealed).await?;
        self.set_password(&user, &password).await
    }

    /// A new password given in clear (checked here).
    pub async fn set_password(&self, user: &User, password: &str) -> Result<(), DomainError> {
        password::check_strength(password, &user.account)?;
        let hash = password::hash_blocking(password.to_string()).await?;
        if self
            .org
            .set_password(&user.platform_id, &user.user_id, &hash, self.now())
            .await?
        {
            Ok(())
        } else {
            Err(invalid_user(&user.user_id))
        }
    }

    /// Enables or disables a user (`mnpd admin user disable`).
    pub async fn set_status(&self, user: &User, status: i64) -> Result<(), DomainError> {
        let mut changed = user.clone();
        changed.status = status;
        changed.updated_at = self.now();
        if self.org.update_user(&changed).await? {
            Ok(())
        } else {
            Err(invalid_user(&user.user_id))
        }
    }

    /// DeleteUser: not the super admin, not a team's admin.
    pub async fn delete_user(
        &self,
        caller: &Caller,
        platform_id: &str,
        user_id: &str,
    ) -> Result<(), DomainError> {
        let user = self.owned_user(caller, platform_id, user_id).await?;
        if user.account_type == SUPER_ADMIN {
            return Err(DomainError::UnableOperateAdmin(format!(
                "user `{user_id}` is the platform's super admin and cannot be deleted"
            )));
        }
        match self.org.delete_user(platform_id, user_id).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(invalid_user(user_id)),
            Err(StoreError::Conflict(_)) => Err(DomainError::UnableOperateAdmin(format!(
                "user `{user_id}` is a team's admin; name another admin with ModifyTeam (AdminUserId) first"
            ))),
            Err(e) => Err(e.into()),
        }
    }

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
        self.view(team).await
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
        if self.org.update_team(&team, admin_role, former).await? {
            Ok(())
        } else {
            Err(DomainError::InvalidTeamId(team_id.to_string()))
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
        let team = self.owned_team(caller, platform_id, team_id).await?;
        let user = self.owned_user(caller, platform_id, user_id).await?;
        self.member_of(&team, &user).await?;
        if team.admin_user_id.as_deref() == Some(user_id) {
            return Err(admin_of(&team));
        }
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
        let team = self.owned_team(caller, platform_id, team_id).await?;
        let user = self.owned_user(caller, platform_id, user_id).await?;
        self.member_of(&team, &user).await?;
        if team.admin_user_id.as_deref() == Some(user_id) {
            return Err(admin_of(&team));
        }
        if self.org.delete_membership(team_id, user_id).await? {
            Ok(())
        } else {
            Err(not_member(&team, &user))
        }
    }

    async fn member_of(&self, team: &Team, user: &User) -> Result<Membership, DomainError> {
        self.org
            .get_membership(&team.team_id, &user.user_id)
            .await?
            .ok_or_else(|| not_member(team, user))
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

    // -- the console ----------------------------------------------------------------

    /// The enabled user with this account and password, with what they may
    /// do; None otherwise (wrong account, wrong password, disabled alike).
    pub async fn verify(
        &self,
        account: &str,
        password: &str,
    ) -> Result<Option<SignedIn>, DomainError> {
        for user in self.org.users_with_account(account).await? {
            if !password::verify_blocking(password.to_string(), user.password_hash.clone()).await {
                continue;
            }
            if user.status != ENABLED {
                return Ok(None);
            }
            return self.signed_in(user).await.map(Some);
        }
        Ok(None)
    }

    /// `user` with their memberships and what those let them do, now (a
    /// console session asks at each request, so role changes apply at once).
    pub async fn signed_in(&self, user: User) -> Result<SignedIn, DomainError> {
        let memberships = self.org.memberships_of(&user.user_id).await?;
        let mut permissions: BTreeSet<&'static str> = memberships
            .iter()
            .filter_map(|m| roles::role(m.role_id))
            .flat_map(|r| r.permissions.iter().copied())
            .collect();
        // The admin of a combined team is the admin of each of its types.
        for m in memberships.iter().filter(|m| m.is_admin) {
            if let Some(team) = self.accounts.get_team(&m.team_id).await? {
                for r in roles::ROLES
                    .iter()
                    .filter(|r| r.is_admin && team.role_types.contains(&r.team_type))
                {
                    permissions.extend(r.permissions.iter().copied());
                }
            }
        }
        if user.account_type == SUPER_ADMIN || user.account_type == PLATFORM_ADMIN {
            permissions.insert(roles::permission::PLATFORM_TEAMS);
            permissions.insert(roles::permission::PLATFORM_USERS);
        }
        Ok(SignedIn {
            user,
            memberships,
            permissions,
        })
    }

    /// The user's password epoch; None when the user is gone or disabled.
    pub async fn password_epoch(
        &self,
        platform_id: &str,
        user_id: &str,
    ) -> Result<Option<i64>, DomainError> {
        Ok(self
            .org
            .get_user(platform_id, user_id)
            .await?
            .filter(|u| u.status == ENABLED)
            .map(|u| u.password_epoch))
    }

    // -- operators ------------------------------------------------------------------

    /// `mnpd admin user create`: any type but a second super admin; a
    /// first one (a platform made before users existed) becomes the admin
    /// of every team that has none.
    pub async fn create_user_as_operator(
        &self,
        platform_id: &str,
        account: &str,
        name: &str,
        account_type: i64,
        password: &str,
    ) -> Result<User, DomainError> {
        if self.accounts.get_platform(platform_id).await?.is_none() {
            return Err(DomainError::InvalidPlatformId(platform_id.to_string()));
        }
        let account = check_account(account)?;
        let name = check_user_name(name)?;
        if !(SUPER_ADMIN..=MEMBER).contains(&account_type) {
            return Err(invalid_account_type(account_type));
        }
        if account_type == SUPER_ADMIN
            && self
                .platform_users(platform_id)
                .await?
                .iter()
                .any(|u| u.account_type == SUPER_ADMIN)
        {
            return Err(DomainError::InvalidAccountType(format!(
                "platform `{platform_id}` has its super admin already; send --account-type 2 or 3"
            )));
        }
        let user = self
            .insert_user(
                platform_id,
                &account,
                &name,
                account_type,
                password,
                "operator",
            )
            .await?;
        if account_type == SUPER_ADMIN {
            for team in self.org.platform_teams(platform_id).await? {
                if team.admin_user_id.is_none() {
                    self.set_team_admin(&team, &user).await?;
                }
            }
        }
        Ok(user)
    }

    /// Every user of the platform, for `mnpd admin user list`.
    pub async fn platform_users(&self, platform_id: &str) -> Result<Vec<User>, DomainError> {
        let (_, page) = self
            .org
            .list_users(&UserQuery {
                platform_id: platform_id.to_string(),
                offset: 0,
                limit: i64::MAX / 2,
                ..UserQuery::default()
            })
            .await?;
        Ok(page.into_iter().map(|l| l.user).collect())
    }

    /// The user with this account on the platform.
    pub async fn user_by_account(
        &self,
        platform_id: &str,
        account: &str,
    ) -> Result<User, DomainError> {
        self.org
            .users_with_account(account)
            .await?
            .into_iter()
            .find(|u| u.platform_id == platform_id)
            .ok_or_else(|| {
                DomainError::InvalidValue(format!(
                    "no user `{account}` on platform `{platform_id}`; list them with `mnpd admin user list`"
                ))
            })
    }

    /// The platform's super admin, made at first start and made admin of
    /// `team` (the platform's default team).
    pub async fn bootstrap_admin(
        &self,
        team: &Team,
        account: &str,
        password: &str,
    ) -> Result<User, DomainError> {
        let account = check_account(account)?;
        let user = self
            .insert_user(
                &team.platform_id,
                &account,
                "Administrator",
                SUPER_ADMIN,
                password,
                "admin",
            )
            .await?;
        self.set_team_admin(team, &user).await?;
        Ok(user)
    }

    /// Makes `user` the admin of `team` (the first-start bootstrap and teams
    /// made before users existed).
    pub async fn set_team_admin(&self, team: &Team, user: &User) -> Result<(), DomainError> {
        let mut changed = team.clone();
        changed.admin_user_id = Some(user.user_id.clone());
        let admin_role = roles::admin_role(&team.role_types).role_id;
        let former = roles::former_admin_role(&team.role_types).role_id;
        self.org.update_team(&changed, admin_role, former).await?;
        Ok(())
    }

    // -- lookups ----------------------------------------------------------------------

    async fn owned_user(
        &self,
        caller: &Caller,
        platform_id: &str,
        user_id: &str,
    ) -> Result<User, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        self.org
            .get_user(platform_id, user_id.trim())
            .await?
            .ok_or_else(|| invalid_user(user_id))
    }

    async fn owned_team(
        &self,
        caller: &Caller,
        platform_id: &str,
        team_id: &str,
    ) -> Result<Team, DomainError> {
        owned_platform(self.accounts.as_ref(), caller, platform_id).await?;
        match self.accounts.get_team(team_id.trim()).await? {
            Some(t) if t.platform_id == platform_id => Ok(t),
            _ => Err(DomainError::InvalidTeamId(team_id.to_string())),
        }
    }

    async fn platform_or_only(
        &self,
        caller: &Caller,
        platform_id: Option<&str>,
    ) -> Result<String, DomainError> {
        if let Some(p) = platform_id.map(str::trim).filter(|p| !p.is_empty()) {
            return Ok(owned_platform(self.accounts.as_ref(), caller, p)
                .await?
                .platform_id);
        }
        match self
            .accounts
            .list_platforms(Some(caller.account_id))
            .await?
            .as_slice()
        {
            [only] => Ok(only.platform_id.clone()),
            _ => Err(DomainError::InvalidPlatformId(
                "(none given, and the account has several platforms)".into(),
            )),
        }
    }

    async fn check_team_name_free(
        &self,
        platform_id: &str,
        name: &str,
        except: Option<&str>,
    ) -> Result<(), DomainError> {
        let taken = self
            .org
            .platform_teams(platform_id)
            .await?
            .into_iter()
            .any(|t| t.name == name && Some(t.team_id.as_str()) != except);
        if taken {
            return Err(DomainError::TeamNameTaken(name.to_string()));
        }
        Ok(())
    }
}

/// `UserId`: "U", UTC yyyyMMddHHmmss and 6 of [A-Z], e.g.
/// `U20240819174742HGXHXT`.
pub fn user_id(now: OffsetDateTime) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let letters: String = (0..6)
        .map(|_| char::from(b'A' + rng.random_range(0..26u8)))
        .collect();
    format!(
        "U{:04}{:02}{:02}{:02}{:02}{:02}{letters}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// A login account: 2 to 32 of letters, digits, `_`, `-`, `.`, `@`.
fn check_account(value: &str) -> Result<String, DomainError> {
    let account = value.trim();
    let n = account.chars().count();
    if !(2..=MAX_ACCOUNT_CHARS).contains(&n)
        || !account
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.@".contains(c))
    {
        return Err(DomainError::InvalidValue(format!(
            "UserAccount `{account}` is not usable; send 2 to {MAX_ACCOUNT_CHARS} of letters, digits, `_`, `-`, `.`, `@`"
        )));
    }
    Ok(account.to_string())
}

fn check_user_name(value: &str) -> Result<String, DomainError> {
    text(
        "UserName",
        value,
        true,
        MAX_USER_NAME_CHARS,
        DomainError::InvalidUserName,
    )
}

fn check_team_name(value: &str) -> Result<String, DomainError> {
    text(
        "TeamName",
        value,
        true,
        MAX_TEAM_NAME_CHARS,
        DomainError::InvalidValue,
    )
}

fn invalid_account_type(t: i64) -> DomainError {
    DomainError::InvalidAccountType(format!(
        "AccountType is {t}; send {PLATFORM_ADMIN} (platform admin) or {MEMBER} (member): the platform has one super admin ({SUPER_ADMIN}), made at first start"
    ))
}

fn invalid_user(user_id: &str) -> DomainError {
    DomainError::InvalidUserId(format!(
        "UserId `{user_id}` is not a user of this platform; send a UserId returned by CreateUser or listed by DescribeUserList"
    ))
}

fn not_member(team: &Team, user: &User) -> DomainError {
    DomainError::UserNotInTeam(format!(
        "user `{}` is not a member of team `{}`; add them with AddTeamMember first",
        user.user_id, team.team_id
    ))
}

fn admin_of(team: &Team) -> DomainError {
    DomainError::UnableOperateAdmin(format!(
        "that user is the admin of team `{}`; name another admin with ModifyTeam (AdminUserId) first",
        team.team_id
    ))
}
