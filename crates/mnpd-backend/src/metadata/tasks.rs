//! CreateMNPVersion tasks: recorded with a re-check of the version order,
//! claimed by workers under a lease, and finished exactly once (completion
//! records the version in the same transaction).

use async_trait::async_trait;
use mnpd_domain::entity::*;
use mnpd_domain::store::*;

use mnpd_domain::compile::CompileState;

use super::{actor, conflict, on_conflict, SqlStore};
use crate::sql::{sql, Lock, On, Row};

fn task(r: &Row) -> StoreResult<Task> {
    let code: i64 = r.get("status");
    Ok(Task {
        task_id: r.get("task_id"),
        platform_id: r.get("platform_id"),
        mnp_id: r.get("mnp_id"),
        mnp_version: r.get("mnp_version"),
        file_url: r.get("file_url"),
        intro: r.get("intro"),
        sha256: r.get("sha256"),
        size: r.get("size"),
        status: TaskStatus::from_code(code)
            .ok_or_else(|| StoreError::Other(format!("task with unknown status {code}")))?,
        msg: r.get("msg"),
        attempts: r.get("attempts"),
        mnp_version_id: r.get("mnp_version_id"),
        create_user: actor(r, "create_actor", "create_user")?,
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
        compile: compile_state(r)?,
    })
}

/// A compile task's progress (kind 1), from its JSON.
fn compile_state(r: &Row) -> StoreResult<Option<CompileState>> {
    let kind: i64 = r.get("kind");
    if kind != KIND_COMPILE {
        return Ok(None);
    }
    let text: String = r.get("compile");
    if text.is_empty() {
        return Ok(Some(CompileState::default()));
    }
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| StoreError::Other(format!("a compile task's progress is not readable: {e}")))
}

fn compile_json(state: &CompileState) -> StoreResult<String> {
    serde_json::to_string(state)
        .map_err(|e| StoreError::Other(format!("encoding a compile task's progress: {e}")))
}

const KIND_VERSION: i64 = 0;
const KIND_COMPILE: i64 = 1;

/// Version numbers that count: recorded versions and tasks not failed.
async fn live_versions(on: On<'_>, mnp_id: &str) -> StoreResult<Vec<String>> {
    let rows = sql("SELECT version FROM versions WHERE mnp_id = $1
                    UNION SELECT mnp_version FROM tasks WHERE mnp_id = $1 AND status <> 30")
    .bind(mnp_id)
    .fetch_all(on)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

#[async_trait]
impl TaskStore for SqlStore {
    async fn find_reusable_task(
        &self,
        mnp_id: &str,
        version: &str,
        file_url: &str,
        intro: &str,
    ) -> StoreResult<Option<Task>> {
        let row = sql(
            "SELECT * FROM tasks WHERE mnp_id = $1 AND mnp_version = $2 AND file_url = $3 AND intro = $4 AND status <> 30
             ORDER BY created_at DESC LIMIT 1",
        )
        .bind(mnp_id)
        .bind(version)
        .bind(file_url)
        .bind(intro)
        .fetch_optional(self.db.read())
        .await?;
        row.as_ref().map(task).transpose()
    }

    async fn live_version_numbers(&self, mnp_id: &str) -> StoreResult<Vec<String>> {
        live_versions(self.db.read(), mnp_id).await
    }

    async fn insert_task_checked(
        &self,
        t: &Task,
        must_exceed: &(dyn for<'v> Fn(&'v [String]) -> Result<(), String> + Send + Sync),
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        lock_mini_program(&mut tx, &t.mnp_id).await?;
        let live = live_versions((&mut tx).into(), &t.mnp_id).await?;
        must_exceed(&live).map_err(StoreError::Conflict)?;
        let creator = t.create_user.reference();
        let (kind, compile) = match &t.compile {
            Some(state) => (KIND_COMPILE, compile_json(state)?),
            None => (KIND_VERSION, String::new()),
        };
        let inserted = sql(
            "INSERT INTO tasks (task_id, platform_id, mnp_id, mnp_version, file_url, intro, sha256, size, status, msg, attempts, create_user, create_actor, created_at, updated_at, kind, compile)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $13, $14, $15, $16)",
        )
        .bind(&t.task_id)
        .bind(&t.platform_id)
        .bind(&t.mnp_id)
        .bind(&t.mnp_version)
        .bind(&t.file_url)
        .bind(&t.intro)
        .bind(&t.sha256)
        .bind(t.size)
        .bind(t.status.code())
        .bind(&t.msg)
        .bind(t.create_user.shown())
        .bind(creator.as_str())
        .bind(t.created_at)
        .bind(t.updated_at)
        .bind(kind)
        .bind(compile.as_str())
        .execute(&mut tx)
        .await;
        on_conflict(inserted, |_| conflict("task_id"))?;
        tx.commit().await
    }

    async fn get_task(&self, task_id: &str) -> StoreResult<Option<Task>> {
        self.lookups
            .task(task_id, async {
                let row = sql("SELECT * FROM tasks WHERE task_id = $1")
                    .bind(task_id)
                    .fetch_optional(self.db.read())
                    .await?;
                row.as_ref().map(task).transpose()
            })
            .await
    }

    async fn claim_task(
        &self,
        owner: &str,
        now: i64,
        lease_secs: i64,
    ) -> StoreResult<Option<Task>> {
        // One statement. Where the engine has row locks, a task another
        // node is claiming right now is skipped, not waited for, so each
        // claim gets a different task.
        let claim = format!(
            "UPDATE tasks SET status = 20, msg = 'Running', lease_owner = $1, lease_until = $2 + $3,
                    attempts = attempts + 1, updated_at = $2
             WHERE task_id = (
                SELECT task_id FROM tasks
                WHERE status = 1 OR (status = 20 AND (lease_until IS NULL OR lease_until < $2))
                ORDER BY created_at, task_id LIMIT 1{})
             RETURNING *",
            self.db.lock_clause(Lock::UpdateSkipLocked)
        );
        let row = sql(claim)
            .bind(owner)
            .bind(now)
            .bind(lease_secs)
            .fetch_optional(self.db.write())
            .await?;
        row.as_ref().map(task).transpose()
    }

    async fn complete_task(
        &self,
        task_id: &str,
        owner: &str,
        v: &NewVersion,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        let manifest = serde_json::to_string(&v.manifest)
            .map_err(|e| StoreError::Other(format!("encoding the manifest: {e}")))?;
        let mut tx = self.db.begin().await?;
        // The mini program's row before the task's, in the order
        // delete_mini_program takes them, so the two cannot deadlock. A key
        // share lock is what the version's foreign key takes anyway.
        tx.lock_rows(
            sql("SELECT 1 FROM mini_programs WHERE mnp_id = $1").bind(&v.mnp_id),
            Lock::KeyShare,
        )
        .await?;
        let held = tx
            .locking(
                "SELECT 1 FROM tasks WHERE task_id = $1 AND status = 20 AND lease_owner = $2",
                Lock::Update,
            )
            .bind(task_id)
            .bind(owner)
            .fetch_optional(&mut tx)
            .await?;
        if held.is_none() {
            return Ok(None);
        }
        // A unique violation would abort a PostgreSQL transaction: skip the
        // row instead and see that nothing came back.
        let creator = v.create_user.reference();
        let inserted: Option<i64> = sql(
            "INSERT INTO versions (mnp_id, platform_id, version, intro, sha256, size, manifest, task_id, create_user, create_actor, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT DO NOTHING RETURNING mnp_version_id",
        )
        .bind(&v.mnp_id)
        .bind(&v.platform_id)
        .bind(&v.version)
        .bind(&v.intro)
        .bind(&v.sha256)
        .bind(v.size)
        .bind(manifest.as_str())
        .bind(&v.task_id)
        .bind(v.create_user.shown())
        .bind(creator.as_str())
        .bind(v.created_at)
        .fetch_optional(&mut tx)
        .await?
        .map(|r| r.get(0));
        let Some(id) = inserted else {
            // The number was recorded meanwhile (only possible through
            // direct database edits): the task cannot succeed.
            let msg = format!(
                "version {} is already recorded for this mini program; create a greater version",
                v.version
            );
            sql("UPDATE tasks SET status = 30, msg = $1, lease_owner = NULL, updated_at = $2 WHERE task_id = $3")
                .bind(msg.as_str())
                .bind(now)
                .bind(task_id)
                .execute(&mut tx)
                .await?;
            tx.commit().await?;
            return Ok(None);
        };
        sql("UPDATE tasks SET status = 60, msg = 'Success', mnp_version_id = $1, lease_owner = NULL, lease_until = NULL, updated_at = $2
             WHERE task_id = $3")
        .bind(id)
        .bind(now)
        .bind(task_id)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    async fn record_compile_progress(
        &self,
        task_id: &str,
        owner: &str,
        state: &CompileState,
        now: i64,
    ) -> StoreResult<bool> {
        let json = compile_json(state)?;
        let changed = sql("UPDATE tasks SET compile = $1, updated_at = $2
             WHERE task_id = $3 AND kind = 1 AND status = 20 AND lease_owner = $4")
        .bind(json.as_str())
        .bind(now)
        .bind(task_id)
        .bind(owner)
        .execute(self.db.write())
        .await?;
        Ok(changed > 0)
    }

    async fn fail_task(
        &self,
        task_id: &str,
        owner: &str,
        msg: &str,
        now: i64,
    ) -> StoreResult<bool> {
        // One statement, conditional on the lease: a task finishes once.
        let changed = sql(
            "UPDATE tasks SET status = 30, msg = $1, lease_owner = NULL, lease_until = NULL, updated_at = $2
             WHERE task_id = $3 AND status = 20 AND lease_owner = $4",
        )
        .bind(msg)
        .bind(now)
        .bind(task_id)
        .bind(owner)
        .execute(self.db.write())
        .await?;
        Ok(changed > 0)
    }

    async fn renew_lease(&self, task_id: &str, owner: &str, until: i64) -> StoreResult<bool> {
        let changed = sql(
            "UPDATE tasks SET lease_until = $1 WHERE task_id = $2 AND status = 20 AND lease_owner = $3",
        )
        .bind(until)
        .bind(task_id)
        .bind(owner)
        .execute(self.db.write())
        .await?;
        Ok(changed > 0)
    }

    async fn expire_all_leases(&self) -> StoreResult<u64> {
        sql("UPDATE tasks SET lease_until = NULL WHERE status = 20")
            .execute(self.db.write())
            .await
    }

    async fn failed_tasks_to_collect(&self, limit: i64) -> StoreResult<Vec<Task>> {
        let rows = sql(
            "SELECT * FROM tasks WHERE status = 30 AND package_collected_at IS NULL
                        ORDER BY updated_at, task_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.db.read())
        .await?;
        rows.iter().map(task).collect()
    }

    async fn mark_package_collected(&self, task_id: &str, now: i64) -> StoreResult<bool> {
        let changed = sql("UPDATE tasks SET package_collected_at = $1
                           WHERE task_id = $2 AND status = 30 AND package_collected_at IS NULL")
        .bind(now)
        .bind(task_id)
        .execute(self.db.write())
        .await?;
        Ok(changed > 0)
    }

    async fn begin_package_deletion(&self, sha256: &str, now: i64) -> StoreResult<i64> {
        Ok(sql(
            "INSERT INTO package_deletions (sha256, started_at) VALUES ($1, $2)
             RETURNING deletion_id",
        )
        .bind(sha256)
        .bind(now)
        .fetch_one(self.db.write())
        .await?
        .get(0))
    }

    async fn end_package_deletion(&self, deletion_id: i64, stale_before: i64) -> StoreResult<()> {
        sql("DELETE FROM package_deletions WHERE deletion_id = $1 OR started_at < $2")
            .bind(deletion_id)
            .bind(stale_before)
            .execute(self.db.write())
            .await?;
        Ok(())
    }

    async fn package_deletion_pending(&self, sha256: &str, since: i64) -> StoreResult<bool> {
        let row = sql(
            "SELECT 1 FROM package_deletions WHERE sha256 = $1 AND started_at >= $2
                       LIMIT 1",
        )
        .bind(sha256)
        .bind(since)
        .fetch_optional(self.db.read())
        .await?;
        Ok(row.is_some())
    }

    async fn pin_package(&self, sha256: &str, now: i64) -> StoreResult<i64> {
        Ok(
            sql("INSERT INTO package_pins (sha256, pinned_at) VALUES ($1, $2) RETURNING pin_id")
                .bind(sha256)
                .bind(now)
                .fetch_one(self.db.write())
                .await?
                .get(0),
        )
    }

    async fn unpin_package(&self, pin_id: i64) -> StoreResult<()> {
        sql("DELETE FROM package_pins WHERE pin_id = $1")
            .bind(pin_id)
            .execute(self.db.write())
            .await?;
        Ok(())
    }

    async fn task_backlog(&self) -> StoreResult<TaskBacklog> {
        let row = sql(
            "SELECT COALESCE(SUM(CASE WHEN status = 1 THEN 1 ELSE 0 END), 0) AS pending,
                    COALESCE(SUM(CASE WHEN status = 20 THEN 1 ELSE 0 END), 0) AS running
             FROM tasks WHERE status IN (1, 20)",
        )
        .fetch_one(self.db.read())
        .await?;
        Ok(TaskBacklog {
            pending: row.get("pending"),
            running: row.get("running"),
        })
    }
}

/// Locks the mini program's row for the rest of the transaction, where the
/// engine has row locks: the first statement of every read-decide-write
/// about one mini program. Nothing is locked when there is no such mini
/// program.
pub(super) async fn lock_mini_program(tx: &mut crate::sql::Tx, mnp_id: &str) -> StoreResult<()> {
    tx.lock_rows(
        sql("SELECT 1 FROM mini_programs WHERE mnp_id = $1").bind(mnp_id),
        Lock::Update,
    )
    .await
}
