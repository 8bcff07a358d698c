//! Users: CreateUser, DescribeUser(Detail), DescribeUserList, ModifyUser,
//! ModifyUserPassword, DeleteUser, and what `mnpd admin user` does.

use crate::entity::*;
use crate::error::DomainError;
use crate::mini_program::{check_keyword, check_page, matches_nothing, owned_platform};
use crate::store::StoreError;

use super::*;

impl Organization {
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
}
