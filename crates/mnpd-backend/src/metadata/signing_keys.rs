//! Platforms' package signing keys.

use async_trait::async_trait;
use mnpd_domain::store::*;

use super::SqlStore;
use crate::sql::{sql, Row};

fn signing_key(r: &Row) -> SigningKeyRecord {
    SigningKeyRecord {
        key_id: r.get("key_id"),
        platform_id: r.get("platform_id"),
        generation: r.get("generation"),
        private_key: r.get("private_key"),
        public_key: r.get("public_key"),
        created_at: r.get("created_at"),
        not_after: r.get("not_after"),
    }
}

#[async_trait]
impl SigningKeyStore for SqlStore {
    async fn signing_keys(&self, platform_id: &str) -> StoreResult<Vec<SigningKeyRecord>> {
        // From the primary: a key another node just made or rotated in is
        // there.
        let rows = sql(
            "SELECT * FROM package_signing_keys WHERE platform_id = $1 ORDER BY generation DESC",
        )
        .bind(platform_id)
        .fetch_all(self.db.write())
        .await?;
        Ok(rows.iter().map(signing_key).collect())
    }

    async fn insert_signing_key(
        &self,
        key: &SigningKeyRecord,
        retire_older_at: i64,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        // The unique generation per platform refuses a second key of the
        // same generation (Conflict), before any older key is retired.
        sql("INSERT INTO package_signing_keys (key_id, platform_id, generation, private_key, public_key, created_at, not_after)
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&key.key_id)
            .bind(&key.platform_id)
            .bind(key.generation)
            .bind(&key.private_key)
            .bind(&key.public_key)
            .bind(key.created_at)
            .bind(key.not_after)
            .execute(&mut tx)
            .await?;
        sql("UPDATE package_signing_keys SET not_after = $3
             WHERE platform_id = $1 AND generation < $2 AND not_after IS NULL")
        .bind(&key.platform_id)
        .bind(key.generation)
        .bind(retire_older_at)
        .execute(&mut tx)
        .await?;
        tx.commit().await
    }
}
