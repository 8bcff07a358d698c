//! Server-wide settings shared by every node (e.g. the key that signs
//! package download URLs).

use async_trait::async_trait;
use mnpd_domain::store::*;

use super::SqlStore;
use crate::sql::sql;

#[async_trait]
impl SettingStore for SqlStore {
    async fn setting_or_init(&self, name: &str, initial: &str) -> StoreResult<String> {
        // Of concurrent first calls, one inserts and the others do nothing
        // (on PostgreSQL after waiting for it); all then read the winner.
        sql("INSERT INTO server_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(initial)
            .execute(self.db.write())
            .await?;
        Ok(sql("SELECT value FROM server_settings WHERE name = $1")
            .bind(name)
            .fetch_one(self.db.write())
            .await?
            .get(0))
    }
}
