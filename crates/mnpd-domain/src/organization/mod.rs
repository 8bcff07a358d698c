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

mod members;
pub mod password;
pub mod preset_key;
pub mod roles;
mod teams;
mod users;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use time::OffsetDateTime;

use crate::application::text;
use crate::clock::Clock;
use crate::entity::*;
use crate::error::DomainError;
use crate::mini_program::owned_platform;
use crate::secret::{self, SecretCipher};
use crate::store::{AccountStore, ApplicationStore, Has, OrganizationStore};
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
    /// DescribeTeam only: the host application the team works for.
    pub application_name: String,
}

/// Who signed in, and what they may do.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub memberships: Vec<Membership>,
    /// Everything the user may do somewhere: what the console shows.
    pub permissions: BTreeSet<&'static str>,
    /// What the user may do in each of their teams: what a change to a
    /// team's mini program, application or members is checked against.
    pub team_permissions: BTreeMap<String, BTreeSet<&'static str>>,
}

pub struct Organization {
    accounts: Arc<dyn AccountStore>,
    org: Arc<dyn OrganizationStore>,
    applications: Arc<dyn ApplicationStore>,
    clock: Arc<dyn Clock>,
    /// Seals preset keys' private halves, when configured.
    cipher: Option<SecretCipher>,
}

impl Organization {
    pub fn new<S>(store: Arc<S>, clock: Arc<dyn Clock>) -> Self
    where
        S: Has<dyn AccountStore> + Has<dyn OrganizationStore> + Has<dyn ApplicationStore> + ?Sized,
    {
        Organization {
            accounts: Has::share(&store),
            org: Has::share(&store),
            applications: Has::share(&store),
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
        let mut team_permissions: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
        for m in &memberships {
            let held = team_permissions.entry(m.team_id.clone()).or_default();
            if let Some(r) = roles::role(m.role_id) {
                held.extend(r.permissions.iter().copied());
            }
            // The admin of a combined team is the admin of each of its types.
            if m.is_admin {
                if let Some(team) = self.accounts.get_team(&m.team_id).await? {
                    for r in roles::ROLES
                        .iter()
                        .filter(|r| r.is_admin && team.role_types.contains(&r.team_type))
                    {
                        held.extend(r.permissions.iter().copied());
                    }
                }
            }
        }
        let mut permissions: BTreeSet<&'static str> =
            team_permissions.values().flatten().copied().collect();
        if user.account_type == SUPER_ADMIN || user.account_type == PLATFORM_ADMIN {
            permissions.insert(roles::permission::PLATFORM_TEAMS);
            permissions.insert(roles::permission::PLATFORM_USERS);
        }
        Ok(SignedIn {
            user,
            memberships,
            permissions,
            team_permissions,
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
