//! Who is calling: the API key a request is signed with and the account
//! behind it. Every request asks, before its action, so the stores keep
//! both in memory (the backends' lookup cache).

use std::sync::Arc;

use crate::entity::*;
use crate::error::DomainError;
use crate::store::{AccountStore, Has};

pub struct Accounts {
    accounts: Arc<dyn AccountStore>,
}

impl Accounts {
    pub fn new<S>(store: Arc<S>) -> Self
    where
        S: Has<dyn AccountStore> + ?Sized,
    {
        Accounts {
            accounts: Has::share(&store),
        }
    }

    /// The key named by a SecretId, unless there is none or it is disabled.
    pub async fn enabled_key(&self, secret_id: &str) -> Result<Option<ApiKey>, DomainError> {
        Ok(self
            .accounts
            .find_api_key(secret_id)
            .await?
            .filter(|k| k.enabled))
    }

    /// Whom a key acts for: its account, shown by name as the user of what
    /// it creates (by the key's SecretId if the account is gone).
    pub async fn caller(&self, key: &ApiKey) -> Result<Caller, DomainError> {
        let user = self
            .accounts
            .get_account(key.account_id)
            .await?
            .map(|a| a.name)
            .unwrap_or_else(|| key.secret_id.clone());
        Ok(Caller {
            account_id: key.account_id,
            secret_id: key.secret_id.clone(),
            user,
        })
    }
}
