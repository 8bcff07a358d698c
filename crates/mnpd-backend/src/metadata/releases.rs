//! Releases and rollbacks: every change of a mini program's online version
//! (`releases`), and the version online now (`online_versions`).

use async_trait::async_trait;
use mnpd_domain::entity::*;
use mnpd_domain::store::*;
use mnpd_domain::DomainError;

use super::tasks::lock_mini_program;
use super::versions::version_row;
use super::{actor, SqlStore};
use crate::sql::{sql, On, Row, Tx};

/// A release joined with its version (`v.*` and `r_` aliases).
const RELEASE_SELECT: &str = "SELECT v.*, r.release_id AS r_release_id, r.kind AS r_kind, r.release_user AS r_user, r.release_actor AS r_actor,
            r.released_at AS r_at
     FROM releases r JOIN versions v ON v.mnp_version_id = r.mnp_version_id";

fn release_row(r: &Row) -> StoreResult<ReleaseRecord> {
    let kind: String = r.get("r_kind");
    Ok(ReleaseRecord {
        release_id: r.get("r_release_id"),
        version: version_row(r)?,
        kind: ReleaseKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("release of unknown kind {kind}")))?,
        release_user: actor(r, "r_actor", "r_user")?,
        released_at: r.get("r_at"),
    })
}

async fn online(on: On<'_>, mnp_id: &str) -> StoreResult<Option<ReleaseRecord>> {
    let row = sql(format!(
        "{RELEASE_SELECT} JOIN online_versions o ON o.release_id = r.release_id WHERE o.mnp_id = $1"
    ))
    .bind(mnp_id)
    .fetch_optional(on)
    .await?;
    row.as_ref().map(release_row).transpose()
}

/// What a release decision reads, under the mini program's lock.
pub(super) async fn release_state(tx: &mut Tx, version: &Version) -> StoreResult<ReleaseState> {
    let mnp_id = &version.new.mnp_id;
    Ok(ReleaseState {
        online: online((&mut *tx).into(), mnp_id).await?,
        target_released: sql(
            "SELECT 1 FROM releases WHERE mnp_version_id = $1 AND kind = 'release' LIMIT 1",
        )
        .bind(version.mnp_version_id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some(),
        target_approval: sql(
            "SELECT status FROM approvals WHERE mnp_version_id = $1 ORDER BY apply_time DESC, seq DESC LIMIT 1",
        )
        .bind(version.mnp_version_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.get(0)),
        live_rollout: super::rollouts::live((&mut *tx).into(), mnp_id).await?,
    })
}

#[async_trait]
impl ReleaseStore for SqlStore {
    async fn change_online_version(
        &self,
        version: &Version,
        kind: ReleaseKind,
        user: &Actor,
        now: i64,
        decide: &(dyn for<'a> Fn(&'a ReleaseState) -> Result<(), DomainError> + Send + Sync),
    ) -> StoreResult<Result<ReleaseRecord, DomainError>> {
        let mnp_id = &version.new.mnp_id;
        let mut tx = self.db.begin().await?;
        lock_mini_program(&mut tx, mnp_id).await?;
        let state = release_state(&mut tx, version).await?;
        if let Err(refusal) = decide(&state) {
            return Ok(Err(refusal));
        }
        let releaser = user.reference();
        let release_id: i64 = sql(
            "INSERT INTO releases (mnp_id, platform_id, mnp_version_id, kind, release_user, release_actor, released_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING release_id",
        )
        .bind(mnp_id)
        .bind(&version.new.platform_id)
        .bind(version.mnp_version_id)
        .bind(kind.as_str())
        .bind(user.shown())
        .bind(releaser.as_str())
        .bind(now)
        .fetch_one(&mut tx)
        .await?
        .get(0);
        sql("INSERT INTO online_versions (mnp_id, mnp_version_id, release_id, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (mnp_id) DO UPDATE SET mnp_version_id = excluded.mnp_version_id,
                release_id = excluded.release_id, updated_at = excluded.updated_at")
        .bind(mnp_id)
        .bind(version.mnp_version_id)
        .bind(release_id)
        .bind(now)
        .execute(&mut tx)
        .await?;
        super::rollouts::end_live_rollout(
            &mut tx,
            state.live_rollout.as_ref(),
            version,
            kind,
            user,
            now,
        )
        .await?;
        // A new mini program becomes "released"; a removed one stays removed.
        sql("UPDATE mini_programs SET status = 1, update_user = $1, updated_at = $2 WHERE mnp_id = $3 AND status = 0")
            .bind(user.shown())
            .bind(now)
            .bind(mnp_id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(ReleaseRecord {
            release_id,
            version: version.clone(),
            kind,
            release_user: user.clone(),
            released_at: now,
        }))
    }

    async fn online_version(&self, mnp_id: &str) -> StoreResult<Option<ReleaseRecord>> {
        online(self.db.read(), mnp_id).await
    }

    async fn release_history(&self, mnp_id: &str) -> StoreResult<Vec<ReleaseRecord>> {
        let rows = sql(format!(
            "{RELEASE_SELECT} WHERE r.mnp_id = $1 ORDER BY r.release_id DESC"
        ))
        .bind(mnp_id)
        .fetch_all(self.db.read())
        .await?;
        rows.iter().map(release_row).collect()
    }

    async fn clear_online_version(&self, mnp_id: &str) -> StoreResult<bool> {
        let changed = sql("DELETE FROM online_versions WHERE mnp_id = $1")
            .bind(mnp_id)
            .execute(self.db.write())
            .await?;
        Ok(changed > 0)
    }
}
