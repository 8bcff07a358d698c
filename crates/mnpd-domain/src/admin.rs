//! Operator actions behind `mnpd admin` and the first-start bootstrap:
//! accounts, API keys, platforms and teams.

use std::sync::Arc;

use crate::clock::Clock;
use crate::entity::*;
use crate::error::DomainError;
use crate::ids;
use crate::secret::SecretCipher;
use crate::store::{AccountStore, Has, SettingStore, StoreError};

pub struct Admin {
    accounts: Arc<dyn AccountStore>,
    /// Where the bootstrap claim is kept.
    server_settings: Arc<dyn SettingStore>,
    clock: Arc<dyn Clock>,
    /// Seals secret keys before they are stored, when configured.
    cipher: Option<SecretCipher>,
}

/// A key pair as created; `secret_key` is shown once and only when it was
/// generated here.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub key: ApiKey,
    pub generated: bool,
}

#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub account: Account,
    pub key: CreatedKey,
    pub platform: Platform,
    pub team: Team,
}

fn check_secret_id(id: &str) -> Result<(), DomainError> {
    if id.is_empty()
        || id.len() > 128
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(DomainError::InvalidValue(format!(
            "SecretId `{id}` is not usable; send 1 to 128 of [A-Za-z0-9_-]"
        )));
    }
    Ok(())
}

fn check_secret_key(key: &str) -> Result<(), DomainError> {
    if key.len() < 16 || key.len() > 128 || key.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(DomainError::InvalidValue(
            "the SecretKey must be 16 to 128 characters without spaces".into(),
        ));
    }
    Ok(())
}

fn check_platform_id(id: &str) -> Result<(), DomainError> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(DomainError::InvalidValue(format!(
            "PlatformId `{id}` is not usable; send 1 to 64 of [A-Za-z0-9_-]"
        )));
    }
    Ok(())
}

impl Admin {
    pub fn new<S>(store: Arc<S>, clock: Arc<dyn Clock>) -> Self
    where
        S: Has<dyn AccountStore> + Has<dyn SettingStore> + ?Sized,
    {
        Admin {
            accounts: Has::share(&store),
            server_settings: Has::share(&store),
            clock,
            cipher: None,
        }
    }

    /// Store secret keys sealed with `cipher`.
    pub fn with_cipher(mut self, cipher: Option<SecretCipher>) -> Self {
        self.cipher = cipher;
        self
    }

    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// A new account and its first key (random unless given).
    pub async fn create_account(
        &self,
        name: &str,
        secret_id: Option<&str>,
        secret_key: Option<&str>,
    ) -> Result<(Account, CreatedKey), DomainError> {
        if let Some(id) = secret_id {
            check_secret_id(id)?;
            if self.accounts.find_api_key(id).await?.is_some() {
                return Err(DomainError::InvalidValue(format!(
                    "SecretId `{id}` already exists; choose another or leave it out"
                )));
            }
        }
        if let Some(k) = secret_key {
            check_secret_key(k)?;
        }
        let account = self.accounts.create_account(name, self.now()).await?;
        let key = self.insert_key(account.id, secret_id, secret_key).await?;
        Ok((account, key))
    }

    async fn insert_key(
        &self,
        account_id: i64,
        secret_id: Option<&str>,
        secret_key: Option<&str>,
    ) -> Result<CreatedKey, DomainError> {
        let generated = secret_key.is_none();
        let key = ApiKey {
            secret_id: secret_id.map(str::to_string).unwrap_or_else(ids::secret_id),
            secret_key: secret_key
                .map(str::to_string)
                .unwrap_or_else(ids::secret_key),
            account_id,
            enabled: true,
            created_at: self.now(),
        };
        let stored = ApiKey {
            secret_key: match &self.cipher {
                Some(c) => c.seal(&key.secret_key),
                None => key.secret_key.clone(),
            },
            ..key.clone()
        };
        match self.accounts.insert_api_key(&stored).await {
            Ok(()) => Ok(CreatedKey { key, generated }),
            Err(StoreError::Conflict(_)) => Err(DomainError::InvalidValue(format!(
                "SecretId `{}` already exists; choose another",
                key.secret_id
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Another key for the account that owns `of_secret_id`.
    pub async fn create_key(
        &self,
        of_secret_id: &str,
        secret_id: Option<&str>,
        secret_key: Option<&str>,
    ) -> Result<CreatedKey, DomainError> {
        let owner = self.key_owner(of_secret_id).await?;
        if let Some(id) = secret_id {
            check_secret_id(id)?;
        }
        if let Some(k) = secret_key {
            check_secret_key(k)?;
        }
        self.insert_key(owner, secret_id, secret_key).await
    }

    async fn key_owner(&self, secret_id: &str) -> Result<i64, DomainError> {
        self.accounts
            .find_api_key(secret_id)
            .await?
            .map(|k| k.account_id)
            .ok_or_else(|| {
                DomainError::InvalidValue(format!(
                    "no API key `{secret_id}`; list them with `mnpd admin key list`"
                ))
            })
    }

    pub async fn list_keys(&self) -> Result<Vec<ApiKey>, DomainError> {
        Ok(self.accounts.list_api_keys(None).await?)
    }

    pub async fn set_key_enabled(&self, secret_id: &str, enabled: bool) -> Result<(), DomainError> {
        if self
            .accounts
            .set_api_key_enabled(secret_id, enabled)
            .await?
        {
            Ok(())
        } else {
            Err(DomainError::InvalidValue(format!(
                "no API key `{secret_id}`; list them with `mnpd admin key list`"
            )))
        }
    }

    /// A platform of the account owning `secret_id`, with its default team.
    pub async fn create_platform(
        &self,
        secret_id: &str,
        platform_id: Option<&str>,
        name: Option<&str>,
        expires_at: Option<i64>,
    ) -> Result<(Platform, Team), DomainError> {
        let account_id = self.key_owner(secret_id).await?;
        if let Some(id) = platform_id {
            check_platform_id(id)?;
        }
        let platform = Platform {
            platform_id: platform_id
                .map(str::to_string)
                .unwrap_or_else(ids::platform_id),
            account_id,
            name: name.unwrap_or("default").to_string(),
            expires_at,
            created_at: self.now(),
        };
        match self.accounts.insert_platform(&platform).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(DomainError::InvalidValue(format!(
                    "PlatformId `{}` already exists; choose another or leave it out",
                    platform.platform_id
                )))
            }
            Err(e) => return Err(e.into()),
        }
        let team = self
            .create_team(&platform.platform_id, Some("default"))
            .await?;
        Ok((platform, team))
    }

    pub async fn create_team(
        &self,
        platform_id: &str,
        name: Option<&str>,
    ) -> Result<Team, DomainError> {
        if self.accounts.get_platform(platform_id).await?.is_none() {
            return Err(DomainError::InvalidPlatformId(platform_id.to_string()));
        }
        for _ in 0..5 {
            let team_id = ids::team_id();
            let team = Team {
                // Team names are unique on a platform: an unnamed team is
                // named after its id.
                name: name.map_or_else(|| format!("team {team_id}"), str::to_string),
                team_id,
                platform_id: platform_id.to_string(),
                created_at: self.now(),
                role_types: crate::organization::roles::COMBINED.to_vec(),
                create_user: "admin".into(),
                ..Team::default()
            };
            match self.accounts.insert_team(&team).await {
                Ok(()) => return Ok(team),
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

    pub async fn list_platforms(&self) -> Result<Vec<Platform>, DomainError> {
        Ok(self.accounts.list_platforms(None).await?)
    }

    /// On a store with no API key at all: an account, its key (given or
    /// random), a platform and its default team. None when keys exist.
    pub async fn bootstrap(
        &self,
        secret_id: Option<&str>,
        secret_key: Option<&str>,
        platform_id: Option<&str>,
    ) -> Result<Option<Bootstrap>, DomainError> {
        if !self.accounts.list_api_keys(None).await?.is_empty() {
            return Ok(None);
        }
        if secret_id.is_some() != secret_key.is_some() {
            return Err(DomainError::InvalidValue(
                "set both MNPD_BOOTSTRAP_SECRET_ID and MNPD_BOOTSTRAP_SECRET_KEY, or neither"
                    .into(),
            ));
        }
        // Checked before claiming, so a refused start can be retried.
        if let Some(id) = secret_id {
            check_secret_id(id)?;
        }
        if let Some(k) = secret_key {
            check_secret_key(k)?;
        }
        if let Some(id) = platform_id {
            check_platform_id(id)?;
        }
        // Nodes starting together on an empty shared database: the one whose
        // claim is stored bootstraps, the others start without.
        let claim = hex::encode(rand::random::<[u8; 16]>());
        if self
            .server_settings
            .setting_or_init("bootstrap_claim", &claim)
            .await?
            != claim
        {
            return Ok(None);
        }
        let (account, key) = self.create_account("admin", secret_id, secret_key).await?;
        let (platform, team) = self
            .create_platform(&key.key.secret_id, platform_id, Some("default"), None)
            .await?;
        Ok(Some(Bootstrap {
            account,
            key,
            platform,
            team,
        }))
    }
}
