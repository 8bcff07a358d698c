//! Console sign-in (docs/console.md): a user's account and password (sent
//! encrypted with a sign-in key, as the API's preset keys), a session kept
//! in the metadata store by the SHA-256 of a random token, idle and
//! absolute expiry, lock-out after repeated failures, and the end of every
//! session of a user whose password changed or who was disabled or deleted.

pub mod grants;
pub mod scope;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::entity::{Actor, Caller, Membership, User};
use crate::error::DomainError;
use crate::organization::{password, roles, Organization, SealedPassword, SignedIn};
use crate::store::{
    AccountStore, ApplicationStore, ConsoleSessionStore, Has, MiniProgramStore, OrganizationStore,
};

/// By default, a session ends this long after its last request...
pub const IDLE_SECS: i64 = 30 * 60;
/// ... and this long after sign-in, whatever its use.
pub const ABSOLUTE_SECS: i64 = 12 * 60 * 60;
/// A session's last use is recorded at most this often.
const TOUCH_EVERY_SECS: i64 = 60;
/// Failed sign-ins within `FAILURE_WINDOW_SECS` that lock an account name
/// out (whether or not a user has it, so a lock-out tells nothing).
pub const MAX_FAILURES: i64 = 5;
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;
/// How long a lock-out lasts.
pub const LOCK_SECS: i64 = 15 * 60;

/// A stored session.
#[derive(Clone)]
pub struct Session {
    pub token_hash: String,
    pub user_id: String,
    pub platform_id: String,
    pub password_epoch: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
}

/// Failed sign-ins of one subject (`account:<account, lower case>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub failures: i64,
    pub first_at: i64,
    pub locked_until: i64,
}

/// Why a sign-in was refused. The account's existence is never told.
#[derive(Debug)]
pub enum SignInError {
    /// Wrong account or password, or a disabled user: alike.
    Refused,
    /// Too many failures for this account name or from this address.
    Locked {
        retry_after: i64,
    },
    /// The sign-in key is unknown, used or expired, or the password does
    /// not decrypt with it.
    Key(String),
    Domain(DomainError),
}

impl From<DomainError> for SignInError {
    fn from(e: DomainError) -> Self {
        SignInError::Domain(e)
    }
}

impl From<crate::store::StoreError> for SignInError {
    fn from(e: crate::store::StoreError) -> Self {
        SignInError::Domain(e.into())
    }
}

/// A live session's user, as each request sees them.
#[derive(Debug, Clone)]
pub struct SignedInUser {
    pub user: User,
    /// The account that owns the user's platform.
    pub account_id: i64,
    pub memberships: Vec<Membership>,
    pub permissions: BTreeSet<&'static str>,
    /// Per team: what `scope` checks a change against.
    pub team_permissions: BTreeMap<String, BTreeSet<&'static str>>,
}

impl SignedInUser {
    fn new(signed: SignedIn, account_id: i64) -> Self {
        SignedInUser {
            user: signed.user,
            account_id,
            memberships: signed.memberships,
            permissions: signed.permissions,
            team_permissions: signed.team_permissions,
        }
    }

    /// The caller of the API calls the user makes: the account's, acting
    /// as the user.
    pub fn caller(&self) -> Caller {
        Caller {
            account_id: self.account_id,
            secret_id: String::new(),
            actor: Actor::User {
                user_id: self.user.user_id.clone(),
                account: self.user.account.clone(),
            },
        }
    }

    /// The role names shown beside the user.
    pub fn role_names(&self) -> Vec<String> {
        self.memberships
            .iter()
            .filter_map(|m| roles::role(m.role_id).map(|r| format!("{}: {}", m.team_name, r.name)))
            .collect()
    }
}

pub struct ConsoleSessions {
    sessions: Arc<dyn ConsoleSessionStore>,
    org: Arc<dyn OrganizationStore>,
    accounts: Arc<dyn AccountStore>,
    mini_programs: Arc<dyn MiniProgramStore>,
    applications: Arc<dyn ApplicationStore>,
    clock: Arc<dyn Clock>,
    idle_secs: i64,
    lifetime_secs: i64,
}

impl ConsoleSessions {
    pub fn new<S>(store: Arc<S>, clock: Arc<dyn Clock>) -> Self
    where
        S: Has<dyn ConsoleSessionStore>
            + Has<dyn OrganizationStore>
            + Has<dyn AccountStore>
            + Has<dyn MiniProgramStore>
            + Has<dyn ApplicationStore>
            + ?Sized,
    {
        ConsoleSessions {
            sessions: Has::share(&store),
            org: Has::share(&store),
            accounts: Has::share(&store),
            mini_programs: Has::share(&store),
            applications: Has::share(&store),
            clock,
            idle_secs: IDLE_SECS,
            lifetime_secs: ABSOLUTE_SECS,
        }
    }

    /// Other idle and absolute lifetimes than the defaults.
    pub fn with_lifetimes(mut self, idle_secs: i64, lifetime_secs: i64) -> Self {
        self.idle_secs = idle_secs;
        self.lifetime_secs = lifetime_secs;
        self
    }

    /// Seconds a session lives at most: the cookie's `Max-Age`.
    pub fn lifetime_secs(&self) -> i64 {
        self.lifetime_secs
    }

    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// Signs in; returns the session token (for the cookie) and the user.
    pub async fn sign_in(
        &self,
        organization: &Organization,
        account: &str,
        sealed: &SealedPassword,
    ) -> Result<(String, SignedInUser), SignInError> {
        let now = self.now();
        let account = account.trim();
        let subject = format!("account:{}", account.to_lowercase());
        if let Some(f) = self.sessions.sign_in_failures(&subject).await? {
            if f.locked_until > now {
                return Err(SignInError::Locked {
                    retry_after: f.locked_until - now,
                });
            }
        }
        let clear = self.open_password(organization, sealed).await?;
        let signed = if self.org.users_with_account(account).await?.is_empty() {
            // As slow as a wrong password, so timing does not tell either.
            let _ = password::verify_blocking(clear, DECOY_HASH.to_string()).await;
            None
        } else {
            organization.verify(account, &clear).await?
        };
        let Some(signed) = signed else {
            self.fail(&subject, now).await?;
            return Err(SignInError::Refused);
        };
        self.sessions.clear_sign_in_failures(&subject).await?;
        let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        self.sessions
            .insert_session(&Session {
                token_hash: token_hash(&token),
                user_id: signed.user.user_id.clone(),
                platform_id: signed.user.platform_id.clone(),
                password_epoch: signed.user.password_epoch,
                created_at: now,
                last_seen_at: now,
            })
            .await?;
        let account_id = self.account_of(&signed.user.platform_id).await?;
        Ok((token, SignedInUser::new(signed, account_id)))
    }

    /// The user of a live session; None when the token names none, the
    /// session expired, or the user's password changed or the user was
    /// disabled or deleted since (the session is then deleted).
    pub async fn resolve(
        &self,
        organization: &Organization,
        token: &str,
    ) -> Result<Option<SignedInUser>, DomainError> {
        let now = self.now();
        let hash = token_hash(token);
        let Some(session) = self.sessions.get_session(&hash).await? else {
            return Ok(None);
        };
        let user = self
            .org
            .get_user(&session.platform_id, &session.user_id)
            .await?
            .filter(|u| u.status == crate::organization::ENABLED);
        let live = now - session.last_seen_at < self.idle_secs
            && now - session.created_at < self.lifetime_secs
            && user
                .as_ref()
                .is_some_and(|u| u.password_epoch == session.password_epoch);
        let Some(user) = user.filter(|_| live) else {
            self.sessions.delete_session(&hash).await?;
            self.sessions
                .delete_stale_sessions(now - self.idle_secs, now - self.lifetime_secs)
                .await?;
            return Ok(None);
        };
        if now - session.last_seen_at >= TOUCH_EVERY_SECS.min(self.idle_secs / 2) {
            self.sessions.touch_session(&hash, now).await?;
        }
        let account_id = self.account_of(&user.platform_id).await?;
        let signed = organization.signed_in(user).await?;
        Ok(Some(SignedInUser::new(signed, account_id)))
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), DomainError> {
        self.sessions.delete_session(&token_hash(token)).await?;
        Ok(())
    }

    async fn open_password(
        &self,
        organization: &Organization,
        sealed: &SealedPassword,
    ) -> Result<String, SignInError> {
        organization
            .open_sign_in_password(sealed)
            .await
            .map_err(|e| match e {
                DomainError::InvalidPresetKey(m) | DomainError::PasswordNotEncrypted(m) => {
                    SignInError::Key(m)
                }
                other => SignInError::Domain(other),
            })
    }

    /// Counts a failure of `subject`; the `MAX_FAILURES`th within the
    /// window locks it out.
    async fn fail(&self, subject: &str, now: i64) -> Result<(), DomainError> {
        let mut f = match self.sessions.sign_in_failures(subject).await? {
            Some(f) if now - f.first_at < FAILURE_WINDOW_SECS => f,
            _ => Failures {
                failures: 0,
                first_at: now,
                locked_until: 0,
            },
        };
        f.failures += 1;
        if f.failures >= MAX_FAILURES {
            f.locked_until = now + LOCK_SECS;
            // The count starts over once the lock ends.
            f.failures = 0;
            f.first_at = now;
        }
        self.sessions.put_sign_in_failures(subject, &f).await?;
        Ok(())
    }

    async fn account_of(&self, platform_id: &str) -> Result<i64, DomainError> {
        self.accounts
            .get_platform(platform_id)
            .await?
            .map(|p| p.account_id)
            .ok_or_else(|| DomainError::Internal(format!("user of unknown platform {platform_id}")))
    }
}

/// The form a token is stored in.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An argon2id hash of a random password nobody knows.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$bW5wZGRlY295c2FsdA$3b6nq0oVvIB2m2HU0FtLSp4h4n7s0mB1T4nN1P0aZ2E";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoy_is_a_hash_that_takes_as_long_as_a_real_one() {
        assert!(argon2::password_hash::PasswordHash::new(DECOY_HASH).is_ok());
        assert!(!password::verify("anything", DECOY_HASH));
    }

    #[test]
    fn tokens_are_stored_hashed() {
        assert_eq!(token_hash("abc").len(), 64);
        assert_ne!(token_hash("abc"), token_hash("abd"));
    }
}
