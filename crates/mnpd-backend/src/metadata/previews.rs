//! The preview (ConfigureMNPPreview) and trial (ModifyMNPVersionPreview)
//! version of each mini program, at most one of each.

use async_trait::async_trait;
use mnpd_domain::entity::*;
use mnpd_domain::store::*;
use mnpd_domain::DomainError;

use super::tasks::lock_mini_program;
use super::SqlStore;
use crate::sql::{sql, Row};

fn preview_row(r: &Row) -> StoreResult<Preview> {
    let kind: String = r.get("kind");
    Ok(Preview {
        mnp_id: r.get("mnp_id"),
        kind: PreviewKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("preview of unknown kind {kind}")))?,
        mnp_version_id: r.get("mnp_version_id"),
        entrance_path: r.get("entrance_path"),
        updated_at: r.get("updated_at"),
    })
}

#[async_trait]
impl PreviewStore for SqlStore {
    async fn set_preview(
        &self,
        p: &Preview,
        decide: &(dyn for<'a> Fn(Option<&'a Preview>) -> Result<(), DomainError> + Send + Sync),
    ) -> StoreResult<Result<(), DomainError>> {
        let mut tx = self.db.begin().await?;
        lock_mini_program(&mut tx, &p.mnp_id).await?;
        let current = sql("SELECT * FROM previews WHERE mnp_id = $1 AND kind = $2")
            .bind(&p.mnp_id)
            .bind(p.kind.as_str())
            .fetch_optional(&mut tx)
            .await?
            .as_ref()
            .map(preview_row)
            .transpose()?;
        if let Err(refusal) = decide(current.as_ref()) {
            return Ok(Err(refusal));
        }
        sql("INSERT INTO previews (mnp_id, kind, mnp_version_id, entrance_path, updated_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (mnp_id, kind) DO UPDATE SET mnp_version_id = excluded.mnp_version_id,
                entrance_path = excluded.entrance_path, updated_at = excluded.updated_at")
        .bind(&p.mnp_id)
        .bind(p.kind.as_str())
        .bind(p.mnp_version_id)
        .bind(&p.entrance_path)
        .bind(p.updated_at)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    async fn clear_preview(
        &self,
        mnp_id: &str,
        kind: PreviewKind,
        mnp_version_id: i64,
    ) -> StoreResult<bool> {
        let changed =
            sql("DELETE FROM previews WHERE mnp_id = $1 AND kind = $2 AND mnp_version_id = $3")
                .bind(mnp_id)
                .bind(kind.as_str())
                .bind(mnp_version_id)
                .execute(self.db.write())
                .await?;
        Ok(changed > 0)
    }

    async fn previews(&self, mnp_id: &str) -> StoreResult<Vec<Preview>> {
        let rows = sql("SELECT * FROM previews WHERE mnp_id = $1 ORDER BY kind")
            .bind(mnp_id)
            .fetch_all(self.db.read())
            .await?;
        rows.iter().map(preview_row).collect()
    }
}
