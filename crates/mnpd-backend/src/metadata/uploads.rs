//! Packages uploaded to mnpd itself, waiting for the CreateMNPVersion that
//! takes them (or their expiry).

use async_trait::async_trait;
use mnpd_domain::entity::*;
use mnpd_domain::store::*;

use super::{conflict, SqlStore};
use crate::sql::{sql, Row};

fn upload(r: &Row) -> Upload {
    Upload {
        key: r.get("upload_key"),
        account_id: r.get("account_id"),
        sha256: r.get("sha256"),
        size: r.get("size"),
        created_at: r.get("created_at"),
        expires_at: r.get("expires_at"),
    }
}

#[async_trait]
impl UploadStore for SqlStore {
    async fn insert_upload(&self, u: &Upload) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let inserted = sql(
            "INSERT INTO uploads (upload_key, account_id, sha256, size, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (upload_key) DO NOTHING",
        )
        .bind(&u.key)
        .bind(u.account_id)
        .bind(&u.sha256)
        .bind(u.size)
        .bind(u.created_at)
        .bind(u.expires_at)
        .execute(&mut tx)
        .await?;
        if inserted == 0 {
            let existing: String = sql("SELECT sha256 FROM uploads WHERE upload_key = $1")
                .bind(&u.key)
                .fetch_one(&mut tx)
                .await?
                .get(0);
            if existing != u.sha256 {
                return Err(conflict("upload"));
            }
        }
        tx.commit().await
    }

    async fn get_upload(&self, key: &str) -> StoreResult<Option<Upload>> {
        let row = sql("SELECT * FROM uploads WHERE upload_key = $1")
            .bind(key)
            .fetch_optional(self.db.read())
            .await?;
        Ok(row.as_ref().map(upload))
    }

    async fn expired_uploads(&self, before: i64, limit: i64) -> StoreResult<Vec<Upload>> {
        let rows = sql(
            "SELECT * FROM uploads WHERE expires_at < $1 ORDER BY expires_at, upload_key LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(self.db.read())
        .await?;
        Ok(rows.iter().map(upload).collect())
    }

    async fn blob_needed(&self, sha256: &str, before: i64) -> StoreResult<bool> {
        let row = sql("SELECT 1 FROM versions WHERE sha256 = $1
                       UNION ALL SELECT 1 FROM tasks WHERE sha256 = $1 AND status <> 30
                       UNION ALL SELECT 1 FROM uploads WHERE sha256 = $1 AND expires_at >= $2
                       UNION ALL SELECT 1 FROM package_pins WHERE sha256 = $1
                                                             AND pinned_at >= $2 - 3600
                       LIMIT 1")
        .bind(sha256)
        .bind(before)
        .fetch_optional(self.db.read())
        .await?;
        Ok(row.is_some())
    }

    async fn delete_upload(&self, key: &str) -> StoreResult<bool> {
        let changed = sql("DELETE FROM uploads WHERE upload_key = $1")
            .bind(key)
            .execute(self.db.write())
            .await?;
        Ok(changed > 0)
    }
}
