//! Recorded versions (written by `tasks.rs` when a task completes), and
//! which packages are still needed.

use async_trait::async_trait;
use mnpd_domain::entity::*;
use mnpd_domain::store::*;

use super::{actor, SqlStore};
use crate::sql::{sql, Row};

/// A `versions` row (selected as `v.*` or `*`).
pub(super) fn version_row(r: &Row) -> StoreResult<Version> {
    let manifest: String = r.get("manifest");
    Ok(Version {
        mnp_version_id: r.get("mnp_version_id"),
        new: NewVersion {
            mnp_id: r.get("mnp_id"),
            platform_id: r.get("platform_id"),
            version: r.get("version"),
            intro: r.get("intro"),
            sha256: r.get("sha256"),
            size: r.get("size"),
            manifest: serde_json::from_str(&manifest)
                .map_err(|e| StoreError::Other(format!("stored manifest unreadable: {e}")))?,
            task_id: r.get("task_id"),
            create_user: actor(r, "create_actor", "create_user")?,
            created_at: r.get("created_at"),
        },
    })
}

#[async_trait]
impl VersionStore for SqlStore {
    async fn get_version(&self, mnp_version_id: i64) -> StoreResult<Option<Version>> {
        let row = sql("SELECT * FROM versions WHERE mnp_version_id = $1")
            .bind(mnp_version_id)
            .fetch_optional(self.db.read())
            .await?;
        row.as_ref().map(version_row).transpose()
    }

    async fn latest_version(&self, mnp_id: &str) -> StoreResult<Option<Version>> {
        let row =
            sql("SELECT * FROM versions WHERE mnp_id = $1 ORDER BY mnp_version_id DESC LIMIT 1")
                .bind(mnp_id)
                .fetch_optional(self.db.read())
                .await?;
        row.as_ref().map(version_row).transpose()
    }

    async fn latest_version_of_each_creator(&self, mnp_id: &str) -> StoreResult<Vec<Version>> {
        let rows = sql("SELECT v.* FROM versions v
                        WHERE v.mnp_id = $1 AND v.mnp_version_id = (
                            SELECT max(w.mnp_version_id) FROM versions w
                            WHERE w.mnp_id = v.mnp_id AND w.create_actor = v.create_actor)")
        .bind(mnp_id)
        .fetch_all(self.db.read())
        .await?;
        rows.iter().map(version_row).collect()
    }

    async fn referenced_blobs(&self) -> StoreResult<Vec<String>> {
        let rows = sql(
            "SELECT sha256 FROM versions UNION SELECT sha256 FROM tasks WHERE status <> 30
                        UNION SELECT sha256 FROM uploads ORDER BY 1",
        )
        .fetch_all(self.db.read())
        .await?;
        Ok(rows.iter().map(|r| r.get("sha256")).collect())
    }
}
