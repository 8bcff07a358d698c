//! Platforms back to their first-start state (the emulator's reset): the
//! same deletions as DeleteMNP's, for every mini program of the platform
//! at once, then its applications and extra teams.

use async_trait::async_trait;
use mnpd_domain::store::*;

use super::mini_programs::RECORDS_OF_MINI_PROGRAM;
use super::SqlStore;
use crate::sql::{sql, Lock, Tx};

/// What stands for one mini program (`mnp_id = $1`) in
/// `RECORDS_OF_MINI_PROGRAM`, and what stands for every mini program of
/// the platform `$1`: one list of a mini program's records serves both.
const ONE_MINI_PROGRAM: &str = "mnp_id = $1";
const MINI_PROGRAMS_OF_PLATFORM: &str =
    "mnp_id IN (SELECT mnp_id FROM mini_programs WHERE platform_id = $1)";

/// After the mini programs: what else a platform gathers through the API.
/// Not its package signing keys: they are the platform's identity to
/// hosts, as its host SDK key is, and stay as the first start made them.
const RECORDS_OF_PLATFORM: &[&str] = &[
    "DELETE FROM mini_programs WHERE platform_id = $1",
    "DELETE FROM sensitive_apis WHERE platform_id = $1",
    "DELETE FROM applications WHERE platform_id = $1",
    // Memberships of the teams about to go, then users that are nobody's
    // admin and not the platform's super admin.
    concat!(
        "DELETE FROM team_members WHERE team_id IN (SELECT team_id FROM teams WHERE platform_id = $1 AND team_id <> ",
        default_team!(),
        ")"
    ),
    "DELETE FROM team_members WHERE user_id IN (SELECT user_id FROM users WHERE platform_id = $1 AND account_type <> 1
        AND user_id NOT IN (SELECT admin_user_id FROM teams WHERE platform_id = $1 AND admin_user_id IS NOT NULL))",
    "DELETE FROM users WHERE platform_id = $1 AND account_type <> 1
        AND user_id NOT IN (SELECT admin_user_id FROM teams WHERE platform_id = $1 AND admin_user_id IS NOT NULL)",
    "DELETE FROM global_domains WHERE platform_id = $1",
    concat!(
        "DELETE FROM teams WHERE platform_id = $1 AND team_id <> ",
        default_team!()
    ),
];

/// Deletes, in `tx`, what the API gathered on the platform (its mini
/// programs with all their records, its applications, its teams but the
/// default one); the content hashes its tasks named. The caller forgets
/// the platform's cached tasks after the commit.
pub(super) async fn clear_platform(tx: &mut Tx, platform_id: &str) -> StoreResult<Vec<String>> {
    // The mini programs' rows first, as delete_mini_program takes them,
    // so a task completing meanwhile cannot deadlock with the reset.
    tx.lock_rows(
        sql("SELECT 1 FROM mini_programs WHERE platform_id = $1").bind(platform_id),
        Lock::Update,
    )
    .await?;
    let hashes = sql(format!(
        "SELECT DISTINCT sha256 FROM tasks WHERE {MINI_PROGRAMS_OF_PLATFORM}"
    ))
    .bind(platform_id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| r.get("sha256"))
    .collect();
    for delete in RECORDS_OF_MINI_PROGRAM {
        debug_assert!(delete.contains(ONE_MINI_PROGRAM), "{delete}");
        sql(delete.replace(ONE_MINI_PROGRAM, MINI_PROGRAMS_OF_PLATFORM))
            .bind(platform_id)
            .execute(&mut *tx)
            .await?;
    }
    for delete in RECORDS_OF_PLATFORM {
        sql(*delete).bind(platform_id).execute(&mut *tx).await?;
    }
    Ok(hashes)
}

#[async_trait]
impl ResetStore for SqlStore {
    async fn reset_platform(&self, platform_id: &str) -> StoreResult<Vec<String>> {
        let mut tx = self.db.begin().await?;
        let hashes = clear_platform(&mut tx, platform_id).await?;
        tx.commit().await?;
        self.lookups.forget_tasks_of_platform(platform_id);
        Ok(hashes)
    }

    async fn delete_uploads_of(&self, account_id: i64) -> StoreResult<Vec<String>> {
        let rows = sql("DELETE FROM uploads WHERE account_id = $1 RETURNING sha256")
            .bind(account_id)
            .fetch_all(self.db.write())
            .await?;
        Ok(rows.iter().map(|r| r.get("sha256")).collect())
    }
}
