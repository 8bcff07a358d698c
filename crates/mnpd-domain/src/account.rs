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

    /// Whom a key acts for: its account, and the key itself as the actor
    /// (each key of an account is told apart on what it creates).
    pub fn caller(&self, key: &ApiKey) -> Caller {
        Caller::of_key(key)
    }
}
