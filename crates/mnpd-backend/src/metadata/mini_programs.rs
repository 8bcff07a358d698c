//! Mini programs: created, listed, modified, taken out of service and
//! deleted with every record of them; their stable numbers
//! (`mini_program_numbers`) and per-platform counts
//! (`mini_program_counts`) are kept by triggers.

use async_trait::async_trait;
use mnpd_domain::entity::*;
use mnpd_domain::store::*;

use super::{conflict, given, like_pattern, on_conflict, SqlStore};
use crate::sql::{sql, Lock, Row, Unique};

/// A `mini_programs` row (as `m.*`) with its team's name (`team_name`) and,
/// where the query joins it, its online version (`online_version_id`,
/// `online_version`).
pub(super) fn listing(r: &Row) -> MiniProgramListing {
    MiniProgramListing {
        mini_program: MiniProgram {
            mnp_id: r.get("mnp_id"),
            platform_id: r.get("platform_id"),
            team_id: r.get("team_id"),
            name: r.get("name"),
            mnp_type: r.get("mnp_type"),
            icon: r.get("icon"),
            intro: r.get("intro"),
            desc: r.get("description"),
            status: r.get("status"),
            create_user: r.get("create_user"),
            created_at: r.get("created_at"),
            update_user: r.get("update_user"),
            updated_at: r.get("updated_at"),
        },
        team_name: r.get("team_name"),
        online: match (
            r.try_get::<Option<i64>>("online_version_id").ok().flatten(),
            r.try_get::<Option<String>>("online_version").ok().flatten(),
        ) {
            (Some(id), Some(version)) => Some((id, version)),
            _ => None,
        },
    }
}

const LISTING_SELECT: &str = "SELECT m.*, t.name AS team_name,
        o.mnp_version_id AS online_version_id, ov.version AS online_version
    FROM mini_programs m JOIN teams t ON t.team_id = m.team_id
    LEFT JOIN online_versions o ON o.mnp_id = m.mnp_id
    LEFT JOIN versions ov ON ov.mnp_version_id = o.mnp_version_id";

/// DescribeMNPList's filter: platform `$1`, keyword pattern `$2`, team
/// `$3`, approved for host application `$4`.
const LISTING_FILTER: &str = "m.platform_id = $1
    AND ($2 IS NULL OR lower(m.name) LIKE $2 ESCAPE '\\' OR lower(m.mnp_id) LIKE $2 ESCAPE '\\')
    AND ($3 IS NULL OR m.team_id = $3)
    AND ($4 IS NULL OR EXISTS (SELECT 1 FROM approval_items i JOIN approvals a ON a.approval_no = i.approval_no
                               WHERE a.mnp_id = m.mnp_id AND i.application_id = $4 AND i.status = 3))";

/// The statements deleting the records of a mini program (`$1`), in an
/// order that satisfies the foreign keys. A new table with records of a
/// mini program belongs in this list.
pub(super) const RECORDS_OF_MINI_PROGRAM: &[&str] = &[
    "DELETE FROM approval_items WHERE approval_no IN (SELECT approval_no FROM approvals WHERE mnp_id = $1)",
    "DELETE FROM approvals WHERE mnp_id = $1",
    "DELETE FROM previews WHERE mnp_id = $1",
    "DELETE FROM online_versions WHERE mnp_id = $1",
    "DELETE FROM releases WHERE mnp_id = $1",
    "DELETE FROM rollout_events WHERE rollout_id IN (SELECT rollout_id FROM rollouts WHERE mnp_id = $1)",
    "DELETE FROM rollouts WHERE mnp_id = $1",
    "DELETE FROM install_counts WHERE mnp_version_id IN (SELECT mnp_version_id FROM versions WHERE mnp_id = $1)",
    "DELETE FROM install_failure_reasons WHERE mnp_version_id IN (SELECT mnp_version_id FROM versions WHERE mnp_id = $1)",
    "DELETE FROM install_series WHERE mnp_id = $1",
    "DELETE FROM versions WHERE mnp_id = $1",
    "DELETE FROM tasks WHERE mnp_id = $1",
    "DELETE FROM mini_program_numbers WHERE mnp_id = $1",
    "DELETE FROM mnp_domains WHERE mnp_id = $1",
    "DELETE FROM sensitive_api_requests WHERE mnp_id = $1",
];

#[async_trait]
impl MiniProgramStore for SqlStore {
    async fn insert_mini_program(&self, mp: &MiniProgram) -> StoreResult<()> {
        // The triggers number and count it in the same statement.
        let inserted = sql(
            "INSERT INTO mini_programs (mnp_id, platform_id, team_id, name, mnp_type, icon, intro, description, status, create_user, created_at, update_user, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&mp.mnp_id)
        .bind(&mp.platform_id)
        .bind(&mp.team_id)
        .bind(&mp.name)
        .bind(&mp.mnp_type)
        .bind(&mp.icon)
        .bind(&mp.intro)
        .bind(&mp.desc)
        .bind(mp.status)
        .bind(&mp.create_user)
        .bind(mp.created_at)
        .bind(&mp.update_user)
        .bind(mp.updated_at)
        .execute(self.db.write())
        .await;
        on_conflict(inserted, |detail| {
            conflict(if self.db.violates(detail, Unique::MiniProgramName) {
                "name"
            } else {
                "id"
            })
        })?;
        Ok(())
    }

    async fn get_mini_program(
        &self,
        platform_id: &str,
        mnp_id: &str,
    ) -> StoreResult<Option<MiniProgramListing>> {
        let row = sql(format!(
            "{LISTING_SELECT} WHERE m.platform_id = $1 AND m.mnp_id = $2"
        ))
        .bind(platform_id)
        .bind(mnp_id)
        .fetch_optional(self.db.read())
        .await?;
        Ok(row.as_ref().map(listing))
    }

    async fn list_mini_programs(
        &self,
        q: &MiniProgramQuery,
    ) -> StoreResult<(i64, Vec<MiniProgramListing>)> {
        let keyword = like_pattern(q.keyword.as_deref());
        let team = given(q.team_id.as_deref());
        let application = given(q.application_id.as_deref());
        let total: i64 = if keyword.is_none() && team.is_none() && application.is_none() {
            // Kept by triggers (migrations/*/0005_scale.sql).
            sql("SELECT coalesce((SELECT n FROM mini_program_counts WHERE platform_id = $1), 0) AS n")
                .bind(&q.platform_id)
                .fetch_one(self.db.read())
                .await?
        } else {
            sql(format!(
                "SELECT count(*) AS n FROM mini_programs m WHERE {LISTING_FILTER}"
            ))
            .bind(&q.platform_id)
            .bind(keyword.as_deref())
            .bind(team)
            .bind(application)
            .fetch_one(self.db.read())
            .await?
        }
        .get("n");
        let rows = sql(format!(
            // Within a second, newest first by the mini program's number: the
            // order of creation, the same after a fixture import.
            "{LISTING_SELECT} JOIN mini_program_numbers n ON n.mnp_id = m.mnp_id
                WHERE {LISTING_FILTER} ORDER BY m.created_at DESC, n.number DESC LIMIT $5 OFFSET $6"
        ))
        .bind(&q.platform_id)
        .bind(keyword.as_deref())
        .bind(team)
        .bind(application)
        .bind(q.limit)
        .bind(q.offset)
        .fetch_all(self.db.read())
        .await?;
        Ok((total, rows.iter().map(listing).collect()))
    }
}

#[async_trait]
impl MiniProgramManagementStore for SqlStore {
    async fn update_mini_program(&self, mp: &MiniProgram) -> StoreResult<Option<i64>> {
        let mut tx = self.db.begin().await?;
        let updated = sql(
            "UPDATE mini_programs SET name = $1, mnp_type = $2, icon = $3, intro = $4, description = $5, update_user = $6, updated_at = $7
             WHERE platform_id = $8 AND mnp_id = $9",
        )
        .bind(&mp.name)
        .bind(&mp.mnp_type)
        .bind(&mp.icon)
        .bind(&mp.intro)
        .bind(&mp.desc)
        .bind(&mp.update_user)
        .bind(mp.updated_at)
        .bind(&mp.platform_id)
        .bind(&mp.mnp_id)
        .execute(&mut tx)
        .await;
        if on_conflict(updated, |_| conflict("name"))? == 0 {
            return Ok(None);
        }
        let number: i64 = sql("SELECT number FROM mini_program_numbers WHERE mnp_id = $1")
            .bind(&mp.mnp_id)
            .fetch_optional(&mut tx)
            .await?
            .ok_or_else(|| StoreError::Other(format!("mini program {} has no number", mp.mnp_id)))?
            .get("number");
        tx.commit().await?;
        Ok(Some(number))
    }

    async fn set_mini_program_status(
        &self,
        platform_id: &str,
        mnp_id: &str,
        status: i64,
        user: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let changed = sql(
            "UPDATE mini_programs SET status = $1, update_user = $2, updated_at = $3 WHERE platform_id = $4 AND mnp_id = $5",
        )
        .bind(status)
        .bind(user)
        .bind(now)
        .bind(platform_id)
        .bind(mnp_id)
        .execute(self.db.write())
        .await?;
        Ok(changed > 0)
    }

    async fn delete_mini_program(&self, platform_id: &str, mnp_id: &str) -> StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        let exists = tx
            .locking(
                "SELECT 1 FROM mini_programs WHERE platform_id = $1 AND mnp_id = $2",
                Lock::Update,
            )
            .bind(platform_id)
            .bind(mnp_id)
            .fetch_optional(&mut tx)
            .await?;
        if exists.is_none() {
            return Ok(false);
        }
        for delete in RECORDS_OF_MINI_PROGRAM {
            sql(*delete).bind(mnp_id).execute(&mut tx).await?;
        }
        sql("DELETE FROM mini_programs WHERE mnp_id = $1")
            .bind(mnp_id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        self.lookups.forget_tasks_of(mnp_id);
        Ok(true)
    }
}
