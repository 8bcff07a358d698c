//! Approvals, releases, previews and settings on PostgreSQL. A decision and
//! the writes it allows share one transaction that begins by locking the
//! mini program's row, so concurrent requests about one mini program, on
//! any node, are serialised.

use async_trait::async_trait;
use mnpd_domain::entity::*;
use mnpd_domain::store::*;
use mnpd_domain::DomainError;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use super::{db_err, like_pattern, listing, lock_mini_program, version_row, PgStore};

/// An approval with its items in the order they were recorded, read by one
/// statement (one snapshot). `which` selects the approval_no from `$1`.
async fn load_approval_where(
    conn: &mut PgConnection,
    which: &str,
    bind: impl for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
) -> StoreResult<Option<Approval>> {
    let rows = sqlx::query(&format!(
        "SELECT a.*, i.application_id AS i_app, i.status AS i_status, i.note AS i_note,
                i.approval_user AS i_user, i.approval_time AS i_time
         FROM approvals a LEFT JOIN approval_items i ON i.approval_no = a.approval_no
         WHERE a.approval_no = ({which})
         ORDER BY i.seq"
    ))
    .bind(bind)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let Some(application_id) = r.get::<Option<String>, _>("i_app") else {
            continue;
        };
        items.push(ApprovalItem {
            application_id,
            status: r.get("i_status"),
            note: r.get("i_note"),
            approval_user: r.get("i_user"),
            approval_time: r.get("i_time"),
        });
    }
    Ok(Some(Approval {
        approval_no: first.get("approval_no"),
        platform_id: first.get("platform_id"),
        mnp_id: first.get("mnp_id"),
        mnp_version_id: first.get("mnp_version_id"),
        status: first.get("status"),
        apply_user: first.get("apply_user"),
        apply_time: first.get("apply_time"),
        updated_at: first.get("updated_at"),
        items,
    }))
}

async fn load_approval(
    conn: &mut PgConnection,
    approval_no: &str,
) -> StoreResult<Option<Approval>> {
    load_approval_where(conn, "SELECT $1::TEXT", approval_no.to_string()).await
}

/// A release joined with its version (`v.*` and `r_` aliases).
const RELEASE_SELECT: &str = "SELECT v.*, r.release_id AS r_release_id, r.kind AS r_kind, r.release_user AS r_user, r.released_at AS r_at
     FROM releases r JOIN versions v ON v.mnp_version_id = r.mnp_version_id";

fn release_row(r: &PgRow) -> StoreResult<ReleaseRecord> {
    let kind: String = r.get("r_kind");
    Ok(ReleaseRecord {
        release_id: r.get("r_release_id"),
        version: version_row(r)?,
        kind: ReleaseKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("release of unknown kind {kind}")))?,
        release_user: r.get("r_user"),
        released_at: r.get("r_at"),
    })
}

async fn online_in(conn: &mut PgConnection, mnp_id: &str) -> StoreResult<Option<ReleaseRecord>> {
    let row = sqlx::query(&format!(
        "{RELEASE_SELECT} JOIN online_versions o ON o.release_id = r.release_id WHERE o.mnp_id = $1"
    ))
    .bind(mnp_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    row.as_ref().map(release_row).transpose()
}

fn preview_row(r: &PgRow) -> StoreResult<Preview> {
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
impl ApprovalStore for PgStore {
    async fn insert_approval(&self, a: &Approval) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // Share-lock the applications it names, so that a concurrent
        // delete_application either sees these items or has finished first.
        let mut apps: Vec<&str> = a.items.iter().map(|i| i.application_id.as_str()).collect();
        apps.sort_unstable();
        apps.dedup();
        if !apps.is_empty() {
            sqlx::query(
                "SELECT 1 FROM applications WHERE application_id = ANY($1) ORDER BY application_id FOR SHARE",
            )
            .bind(&apps)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        let inserted = sqlx::query(
            "INSERT INTO approvals (approval_no, platform_id, mnp_id, mnp_version_id, status, apply_user, apply_time, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&a.approval_no)
        .bind(&a.platform_id)
        .bind(&a.mnp_id)
        .bind(a.mnp_version_id)
        .bind(a.status)
        .bind(&a.apply_user)
        .bind(a.apply_time)
        .bind(a.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err);
        match inserted {
            Ok(_) => {}
            Err(StoreError::Conflict(c)) if c == "approvals_one_open" => {
                return Err(StoreError::Conflict("open".into()))
            }
            Err(StoreError::Conflict(_)) => return Err(StoreError::Conflict("approval_no".into())),
            Err(e) => return Err(e),
        }
        for item in &a.items {
            sqlx::query(
                "INSERT INTO approval_items (approval_no, application_id, status, note, approval_user, approval_time)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&a.approval_no)
            .bind(&item.application_id)
            .bind(item.status)
            .bind(&item.note)
            .bind(&item.approval_user)
            .bind(item.approval_time)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn get_approval(&self, approval_no: &str) -> StoreResult<Option<Approval>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        load_approval(&mut conn, approval_no).await
    }

    async fn latest_approval_of_version(
        &self,
        mnp_version_id: i64,
    ) -> StoreResult<Option<Approval>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        load_approval_where(
            &mut conn,
            "SELECT approval_no FROM approvals WHERE mnp_version_id = $1 ORDER BY apply_time DESC, seq DESC LIMIT 1",
            mnp_version_id,
        )
        .await
    }

    async fn latest_approval_of_mini_program(&self, mnp_id: &str) -> StoreResult<Option<Approval>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        load_approval_where(
            &mut conn,
            "SELECT approval_no FROM approvals WHERE mnp_id = $1 ORDER BY apply_time DESC, seq DESC LIMIT 1",
            mnp_id.to_string(),
        )
        .await
    }

    async fn update_approval(
        &self,
        approval_no: &str,
        decide: &(dyn for<'a> Fn(&'a Approval) -> Result<Approval, DomainError> + Send + Sync),
    ) -> StoreResult<Result<Approval, DomainError>> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let mnp_id: Option<String> =
            sqlx::query("SELECT mnp_id FROM approvals WHERE approval_no = $1")
                .bind(approval_no)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
                .map(|r| r.get(0));
        let Some(mnp_id) = mnp_id else {
            return Ok(Err(DomainError::InvalidApprovalNo(approval_no.to_string())));
        };
        lock_mini_program(&mut tx, &mnp_id).await?;
        // Read after the lock: what the previous holder wrote is visible.
        let Some(current) = load_approval(&mut tx, approval_no).await? else {
            return Ok(Err(DomainError::InvalidApprovalNo(approval_no.to_string())));
        };
        let next = match decide(&current) {
            Ok(next) => next,
            Err(refusal) => return Ok(Err(refusal)),
        };
        sqlx::query("UPDATE approvals SET status = $1, updated_at = $2 WHERE approval_no = $3")
            .bind(next.status)
            .bind(next.updated_at)
            .bind(approval_no)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        for item in &next.items {
            sqlx::query(
                "UPDATE approval_items SET status = $1, note = $2, approval_user = $3, approval_time = $4
                 WHERE approval_no = $5 AND application_id = $6",
            )
            .bind(item.status)
            .bind(&item.note)
            .bind(&item.approval_user)
            .bind(item.approval_time)
            .bind(approval_no)
            .bind(&item.application_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(Ok(next))
    }

    async fn list_approvals(&self, q: &ApprovalQuery) -> StoreResult<(i64, Vec<ApprovalListing>)> {
        // 0 ("pending") and 1 ("processing") both mean "not decided yet".
        let mut statuses: Vec<i64> = q
            .statuses
            .iter()
            .map(|s| if *s == 0 { 1 } else { *s })
            .collect();
        statuses.sort_unstable();
        statuses.dedup();
        let keyword = like_pattern(q.keyword.as_deref());
        let application = q.application_id.as_deref().filter(|a| !a.is_empty());
        let team = q.team_id.as_deref().filter(|t| !t.is_empty());
        let status_filter = if statuses.is_empty() {
            ""
        } else {
            " AND i.status = ANY($5)"
        };
        let from = format!(
            "FROM approval_items i
             JOIN approvals a ON a.approval_no = i.approval_no
             JOIN versions v ON v.mnp_version_id = a.mnp_version_id
             JOIN mini_programs m ON m.mnp_id = a.mnp_id
             JOIN teams t ON t.team_id = m.team_id
             LEFT JOIN applications ap ON ap.application_id = i.application_id
             WHERE a.platform_id = $1{status_filter}
               AND ($2 IS NULL OR lower(m.name) LIKE $2 OR lower(m.mnp_id) LIKE $2 OR lower(a.approval_no) LIKE $2)
               AND ($3 IS NULL OR i.application_id = $3)
               AND ($4 IS NULL OR m.team_id = $4)"
        );
        let (limit, offset) = if statuses.is_empty() {
            ("$5", "$6")
        } else {
            ("$6", "$7")
        };
        let count_sql = format!("SELECT count(*) {from}");
        let mut count = sqlx::query(&count_sql)
            .bind(&q.platform_id)
            .bind(&keyword)
            .bind(application)
            .bind(team);
        if !statuses.is_empty() {
            count = count.bind(&statuses);
        }
        let total: i64 = count.fetch_one(&self.pool).await.map_err(db_err)?.get(0);
        let sql = format!(
            "SELECT m.*, t.name AS team_name,
                    a.approval_no AS a_no, a.platform_id AS a_platform, a.mnp_version_id AS a_version_id,
                    a.status AS a_status, a.apply_user AS a_user, a.apply_time AS a_time, a.updated_at AS a_updated,
                    i.application_id AS i_app, i.status AS i_status, i.note AS i_note,
                    i.approval_user AS i_user, i.approval_time AS i_time,
                    v.version AS v_version,
                    coalesce(ap.name, '') AS ap_name, coalesce(ap.logo, '') AS ap_logo
             {from}
             ORDER BY a.apply_time DESC, a.approval_no, i.application_id
             LIMIT {limit} OFFSET {offset}"
        );
        let mut page = sqlx::query(&sql)
            .bind(&q.platform_id)
            .bind(&keyword)
            .bind(application)
            .bind(team);
        if !statuses.is_empty() {
            page = page.bind(&statuses);
        }
        let rows = page
            .bind(q.limit)
            .bind(q.offset)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let page = rows
            .iter()
            .map(|r| {
                let l = listing(r);
                let item = ApprovalItem {
                    application_id: r.get("i_app"),
                    status: r.get("i_status"),
                    note: r.get("i_note"),
                    approval_user: r.get("i_user"),
                    approval_time: r.get("i_time"),
                };
                ApprovalListing {
                    approval: Approval {
                        approval_no: r.get("a_no"),
                        platform_id: r.get("a_platform"),
                        mnp_id: l.mini_program.mnp_id.clone(),
                        mnp_version_id: r.get("a_version_id"),
                        status: r.get("a_status"),
                        apply_user: r.get("a_user"),
                        apply_time: r.get("a_time"),
                        updated_at: r.get("a_updated"),
                        items: Vec::new(),
                    },
                    item,
                    mnp_version: r.get("v_version"),
                    team_name: l.team_name,
                    mini_program: l.mini_program,
                    application_name: r.get("ap_name"),
                    application_logo: r.get("ap_logo"),
                }
            })
            .collect();
        Ok((total, page))
    }

}

#[async_trait]
impl ReleaseStore for PgStore {
    async fn change_online_version(
        &self,
        version: &Version,
        kind: ReleaseKind,
        user: &str,
        now: i64,
        decide: &(dyn for<'a> Fn(&'a ReleaseState) -> Result<(), DomainError> + Send + Sync),
    ) -> StoreResult<Result<ReleaseRecord, DomainError>> {
        let mnp_id = &version.new.mnp_id;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        lock_mini_program(&mut tx, mnp_id).await?;
        let online = online_in(&mut tx, mnp_id).await?;
        let target_released = sqlx::query(
            "SELECT 1 FROM releases WHERE mnp_version_id = $1 AND kind = 'release' LIMIT 1",
        )
        .bind(version.mnp_version_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .is_some();
        let target_approval: Option<i64> = sqlx::query(
            "SELECT status FROM approvals WHERE mnp_version_id = $1 ORDER BY apply_time DESC, seq DESC LIMIT 1",
        )
        .bind(version.mnp_version_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .map(|r| r.get(0));
        let state = ReleaseState {
            online,
            target_released,
            target_approval,
        };
        if let Err(refusal) = decide(&state) {
            return Ok(Err(refusal));
        }
        let release_id: i64 = sqlx::query(
            "INSERT INTO releases (mnp_id, platform_id, mnp_version_id, kind, release_user, released_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING release_id",
        )
        .bind(mnp_id)
        .bind(&version.new.platform_id)
        .bind(version.mnp_version_id)
        .bind(kind.as_str())
        .bind(user)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?
        .get(0);
        sqlx::query(
            "INSERT INTO online_versions (mnp_id, mnp_version_id, release_id, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (mnp_id) DO UPDATE SET mnp_version_id = EXCLUDED.mnp_version_id,
                release_id = EXCLUDED.release_id, updated_at = EXCLUDED.updated_at",
        )
        .bind(mnp_id)
        .bind(version.mnp_version_id)
        .bind(release_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // A new mini program becomes "released"; a removed one stays removed.
        sqlx::query("UPDATE mini_programs SET status = 1, update_user = $1, updated_at = $2 WHERE mnp_id = $3 AND status = 0")
            .bind(user)
            .bind(now)
            .bind(mnp_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(Ok(ReleaseRecord {
            release_id,
            version: version.clone(),
            kind,
            release_user: user.to_string(),
            released_at: now,
        }))
    }

    async fn online_version(&self, mnp_id: &str) -> StoreResult<Option<ReleaseRecord>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        online_in(&mut conn, mnp_id).await
    }

    async fn release_history(&self, mnp_id: &str) -> StoreResult<Vec<ReleaseRecord>> {
        let rows = sqlx::query(&format!(
            "{RELEASE_SELECT} WHERE r.mnp_id = $1 ORDER BY r.release_id DESC"
        ))
        .bind(mnp_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(release_row).collect()
    }

    async fn clear_online_version(&self, mnp_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM online_versions WHERE mnp_id = $1")
            .bind(mnp_id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

}

#[async_trait]
impl PreviewStore for PgStore {
    async fn set_preview(
        &self,
        p: &Preview,
        decide: &(dyn for<'a> Fn(Option<&'a Preview>) -> Result<(), DomainError> + Send + Sync),
    ) -> StoreResult<Result<(), DomainError>> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        lock_mini_program(&mut tx, &p.mnp_id).await?;
        let current = sqlx::query("SELECT * FROM previews WHERE mnp_id = $1 AND kind = $2")
            .bind(&p.mnp_id)
            .bind(p.kind.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(preview_row)
            .transpose()?;
        if let Err(refusal) = decide(current.as_ref()) {
            return Ok(Err(refusal));
        }
        sqlx::query(
            "INSERT INTO previews (mnp_id, kind, mnp_version_id, entrance_path, updated_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (mnp_id, kind) DO UPDATE SET mnp_version_id = EXCLUDED.mnp_version_id,
                entrance_path = EXCLUDED.entrance_path, updated_at = EXCLUDED.updated_at",
        )
        .bind(&p.mnp_id)
        .bind(p.kind.as_str())
        .bind(p.mnp_version_id)
        .bind(&p.entrance_path)
        .bind(p.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(Ok(()))
    }

    async fn clear_preview(
        &self,
        mnp_id: &str,
        kind: PreviewKind,
        mnp_version_id: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM previews WHERE mnp_id = $1 AND kind = $2 AND mnp_version_id = $3",
        )
        .bind(mnp_id)
        .bind(kind.as_str())
        .bind(mnp_version_id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn previews(&self, mnp_id: &str) -> StoreResult<Vec<Preview>> {
        let rows = sqlx::query("SELECT * FROM previews WHERE mnp_id = $1 ORDER BY kind")
            .bind(mnp_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(preview_row).collect()
    }

}

#[async_trait]
impl SettingStore for PgStore {
    async fn setting_or_init(&self, name: &str, initial: &str) -> StoreResult<String> {
        // A concurrent insert of the same name makes this one wait for it
        // and then do nothing; the select sees the value that won.
        sqlx::query(
            "INSERT INTO server_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(initial)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        let value: String = sqlx::query("SELECT value FROM server_settings WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?
            .get(0);
        Ok(value)
    }
}
