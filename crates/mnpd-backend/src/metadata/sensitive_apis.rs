//! Sensitive APIs of host applications and the mini programs' permission
//! requests for them.

use async_trait::async_trait;
use mnpd_domain::store::*;

use super::{given, like_pattern, SqlStore};
use crate::sql::{sql, Lock, Row};

const PROCESSING: i64 = 1;
const APPROVED: i64 = 30;
const REVOKED: i64 = 40;
const RESTRICTED: i64 = 1;

fn api(r: &Row) -> SensitiveApi {
    SensitiveApi {
        api_id: r.get("api_id"),
        platform_id: r.get("platform_id"),
        application_id: r.get("application_id"),
        name: r.get("api_name"),
        description: r.get("api_desc"),
        api_type: r.get("api_type"),
        status: r.get("status"),
        create_user: r.get("create_user"),
        created_at: r.get("created_at"),
        update_user: r.get("update_user"),
        updated_at: r.get("updated_at"),
    }
}

fn api_listing(r: &Row) -> SensitiveApiListing {
    SensitiveApiListing {
        api: api(r),
        application_name: r.get("application_name"),
        application_logo: r.get("application_logo"),
        team_id: r.get("team_id"),
        team_name: r.get("team_name"),
    }
}

fn request(r: &Row) -> PermissionRequest {
    PermissionRequest {
        approval_no: r.get("request_no"),
        platform_id: r.get("platform_id"),
        mnp_id: r.get("mnp_id"),
        application_id: r.get("application_id"),
        api_id: r.get("api_id"),
        api_name: r.get("api_name"),
        api_desc: r.get("api_desc"),
        api_type: r.get("api_type"),
        status: r.get("status"),
        apply_reason: r.get("apply_reason"),
        apply_user: r.get("apply_user"),
        apply_time: r.get("apply_time"),
        approval_user: r.get("approval_user"),
        approval_time: r.get("approval_time"),
        approval_note: r.get("approval_note"),
    }
}

fn request_listing(r: &Row) -> PermissionRequestListing {
    PermissionRequestListing {
        request: request(r),
        mnp_name: r.get("mnp_name"),
        application_name: r.get("application_name"),
        application_logo: r.get("application_logo"),
    }
}

/// The catalog with each API's application and team; `$1` the platform,
/// `$2` an application, `$3` a team, `$4` a name pattern (each optional).
const CATALOG: &str = "FROM sensitive_apis s
    JOIN applications a ON a.application_id = s.application_id
    JOIN teams t ON t.team_id = a.team_id
    WHERE s.platform_id = $1
      AND ($2 IS NULL OR s.application_id = $2)
      AND ($3 IS NULL OR a.team_id = $3)
      AND ($4 IS NULL OR lower(s.api_name) LIKE $4 ESCAPE '\\')";
const CATALOG_COLUMNS: &str =
    "s.*, a.name AS application_name, a.logo AS application_logo, a.team_id AS team_id, t.name AS team_name";

/// Requests with their mini program's and application's names.
const REQUESTS: &str = "FROM sensitive_api_requests r
    JOIN mini_programs m ON m.mnp_id = r.mnp_id
    JOIN applications a ON a.application_id = r.application_id";
const REQUEST_COLUMNS: &str =
    "r.*, m.name AS mnp_name, a.name AS application_name, a.logo AS application_logo";

#[async_trait]
impl SensitiveApiStore for SqlStore {
    async fn insert_sensitive_apis(&self, apis: &[SensitiveApi]) -> StoreResult<Vec<String>> {
        let mut tx = self.db.begin().await?;
        // The application's row, held to the commit, orders concurrent
        // additions to its catalog, so the name check below holds.
        let mut applications: Vec<&str> = apis.iter().map(|a| a.application_id.as_str()).collect();
        applications.sort_unstable();
        applications.dedup();
        for application_id in applications {
            let lock = sql("SELECT application_id FROM applications WHERE application_id = $1")
                .bind(application_id);
            tx.lock_rows(lock, Lock::Update).await?;
        }
        let mut taken = Vec::new();
        for a in apis {
            let exists = sql(
                "SELECT 1 AS found FROM sensitive_apis WHERE application_id = $1 AND api_name = $2",
            )
            .bind(&a.application_id)
            .bind(&a.name)
            .fetch_optional(&mut tx)
            .await?;
            if exists.is_some() {
                taken.push(a.name.clone());
            }
        }
        if !taken.is_empty() {
            return Ok(taken);
        }
        for a in apis {
            sql("INSERT INTO sensitive_apis (api_id, platform_id, application_id, api_name, api_desc, api_type, status, create_user, created_at, update_user, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(&a.api_id)
            .bind(&a.platform_id)
            .bind(&a.application_id)
            .bind(&a.name)
            .bind(&a.description)
            .bind(a.api_type)
            .bind(a.status)
            .bind(&a.create_user)
            .bind(a.created_at)
            .bind(&a.update_user)
            .bind(a.updated_at)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Vec::new())
    }

    async fn get_sensitive_api(&self, api_id: &str) -> StoreResult<Option<SensitiveApi>> {
        Ok(sql("SELECT * FROM sensitive_apis WHERE api_id = $1")
            .bind(api_id)
            .fetch_optional(self.db.read())
            .await?
            .as_ref()
            .map(api))
    }

    async fn list_sensitive_apis(
        &self,
        q: &SensitiveApiQuery,
    ) -> StoreResult<(i64, Vec<SensitiveApiListing>)> {
        let keyword = like_pattern(q.keyword.as_deref());
        let total: i64 = sql(format!("SELECT count(*) AS n {CATALOG}"))
            .bind(&q.platform_id)
            .bind(given(q.application_id.as_deref()))
            .bind(given(q.team_id.as_deref()))
            .bind(keyword.as_deref())
            .fetch_one(self.db.read())
            .await?
            .get("n");
        let rows = sql(format!(
            "SELECT {CATALOG_COLUMNS} {CATALOG} ORDER BY s.seq DESC LIMIT $5 OFFSET $6"
        ))
        .bind(&q.platform_id)
        .bind(given(q.application_id.as_deref()))
        .bind(given(q.team_id.as_deref()))
        .bind(keyword.as_deref())
        .bind(q.limit)
        .bind(q.offset)
        .fetch_all(self.db.read())
        .await?;
        Ok((total, rows.iter().map(api_listing).collect()))
    }

    async fn change_sensitive_api(
        &self,
        platform_id: &str,
        api_id: &str,
        change: SensitiveApiChange,
        user: &str,
        note: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        let found = tx
            .locking(
                "SELECT api_id FROM sensitive_apis WHERE platform_id = $1 AND api_id = $2",
                Lock::Update,
            )
            .bind(platform_id)
            .bind(api_id)
            .fetch_optional(&mut tx)
            .await?;
        if found.is_none() {
            return Ok(false);
        }
        match change {
            SensitiveApiChange::Restrict => {
                sql("UPDATE sensitive_apis SET status = $1, update_user = $2, updated_at = $3 WHERE api_id = $4")
                    .bind(RESTRICTED)
                    .bind(user)
                    .bind(now)
                    .bind(api_id)
                    .execute(&mut tx)
                    .await?;
            }
            SensitiveApiChange::Unrestrict | SensitiveApiChange::Delete => {
                if change == SensitiveApiChange::Delete {
                    sql("DELETE FROM sensitive_apis WHERE api_id = $1")
                        .bind(api_id)
                        .execute(&mut tx)
                        .await?;
                } else {
                    sql("UPDATE sensitive_apis SET status = 0, update_user = $1, updated_at = $2 WHERE api_id = $3")
                        .bind(user)
                        .bind(now)
                        .bind(api_id)
                        .execute(&mut tx)
                        .await?;
                }
                sql(format!(
                    "UPDATE sensitive_api_requests SET status = {REVOKED}, approval_user = $1, approval_time = $2, approval_note = $3
                     WHERE api_id = $4 AND status IN ({PROCESSING}, {APPROVED})"
                ))
                .bind(user)
                .bind(now)
                .bind(note)
                .bind(api_id)
                .execute(&mut tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn insert_permission_request(&self, r: &PermissionRequest) -> StoreResult<RequestWrite> {
        let mut tx = self.db.begin().await?;
        let status: Option<i64> = tx
            .locking(
                "SELECT status FROM sensitive_apis WHERE api_id = $1",
                Lock::Update,
            )
            .bind(&r.api_id)
            .fetch_optional(&mut tx)
            .await?
            .map(|row| row.get("status"));
        if status != Some(RESTRICTED) {
            return Ok(RequestWrite::ApiNotRestricted);
        }
        let live = sql(format!(
            "SELECT * FROM sensitive_api_requests WHERE mnp_id = $1 AND api_id = $2 AND status IN ({PROCESSING}, {APPROVED})"
        ))
        .bind(&r.mnp_id)
        .bind(&r.api_id)
        .fetch_optional(&mut tx)
        .await?;
        if let Some(live) = live {
            return Ok(RequestWrite::Live(Box::new(request(&live))));
        }
        sql("INSERT INTO sensitive_api_requests (request_no, platform_id, mnp_id, application_id, api_id, api_name, api_desc, api_type, status, apply_reason, apply_user, apply_time)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
        .bind(&r.approval_no)
        .bind(&r.platform_id)
        .bind(&r.mnp_id)
        .bind(&r.application_id)
        .bind(&r.api_id)
        .bind(&r.api_name)
        .bind(&r.api_desc)
        .bind(r.api_type)
        .bind(r.status)
        .bind(&r.apply_reason)
        .bind(&r.apply_user)
        .bind(r.apply_time)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(RequestWrite::Written)
    }

    async fn get_permission_request(
        &self,
        approval_no: &str,
    ) -> StoreResult<Option<PermissionRequestListing>> {
        Ok(sql(format!(
            "SELECT {REQUEST_COLUMNS} {REQUESTS} WHERE r.request_no = $1"
        ))
        .bind(approval_no)
        .fetch_optional(self.db.read())
        .await?
        .as_ref()
        .map(request_listing))
    }

    async fn decide_permission_request(
        &self,
        approval_no: &str,
        status: i64,
        user: &str,
        note: &str,
        now: i64,
    ) -> StoreResult<Option<PermissionRequest>> {
        // Conditional: a revocation or another decision that came first wins.
        sql(format!(
            "UPDATE sensitive_api_requests SET status = $1, approval_user = $2, approval_time = $3, approval_note = $4
             WHERE request_no = $5 AND status = {PROCESSING}"
        ))
        .bind(status)
        .bind(user)
        .bind(now)
        .bind(note)
        .bind(approval_no)
        .execute(self.db.write())
        .await?;
        Ok(
            sql("SELECT * FROM sensitive_api_requests WHERE request_no = $1")
                .bind(approval_no)
                .fetch_optional(self.db.write())
                .await?
                .as_ref()
                .map(request),
        )
    }

    async fn list_permission_requests(
        &self,
        q: &PermissionRequestQuery,
    ) -> StoreResult<(i64, Vec<PermissionRequestListing>)> {
        let keyword = like_pattern(q.keyword.as_deref());
        // A literal list of integers, checked by the service.
        let statuses = if q.statuses.is_empty() {
            String::new()
        } else {
            format!(
                "AND r.status IN ({})",
                q.statuses
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let filter = format!(
            "{REQUESTS} WHERE r.platform_id = $1 {statuses}
             AND ($2 IS NULL OR lower(r.api_name) LIKE $2 ESCAPE '\\' OR lower(a.name) LIKE $2 ESCAPE '\\')"
        );
        let total: i64 = sql(format!("SELECT count(*) AS n {filter}"))
            .bind(&q.platform_id)
            .bind(keyword.as_deref())
            .fetch_one(self.db.read())
            .await?
            .get("n");
        let rows = sql(format!(
            "SELECT {REQUEST_COLUMNS} {filter} ORDER BY r.seq DESC LIMIT $3 OFFSET $4"
        ))
        .bind(&q.platform_id)
        .bind(keyword.as_deref())
        .bind(q.limit)
        .bind(q.offset)
        .fetch_all(self.db.read())
        .await?;
        Ok((total, rows.iter().map(request_listing).collect()))
    }

    async fn mini_program_permissions(
        &self,
        mnp_id: &str,
        q: &SensitiveApiQuery,
    ) -> StoreResult<(i64, Vec<(SensitiveApiListing, Option<PermissionRequest>)>)> {
        let (total, apis) = self.list_sensitive_apis(q).await?;
        let mut out = Vec::with_capacity(apis.len());
        for listing in apis {
            let latest = sql(
                "SELECT * FROM sensitive_api_requests WHERE mnp_id = $1 AND api_id = $2 ORDER BY seq DESC LIMIT 1",
            )
            .bind(mnp_id)
            .bind(&listing.api.api_id)
            .fetch_optional(self.db.read())
            .await?
            .as_ref()
            .map(request);
            out.push((listing, latest));
        }
        Ok((total, out))
    }

    async fn restricted_and_granted(
        &self,
        platform_id: &str,
        mnp_id: &str,
    ) -> StoreResult<Vec<(SensitiveApi, bool)>> {
        let rows = sql(format!(
            "SELECT s.*, CAST(CASE WHEN EXISTS (SELECT 1 FROM sensitive_api_requests r
                 WHERE r.api_id = s.api_id AND r.mnp_id = $2 AND r.status = {APPROVED}) THEN 1 ELSE 0 END AS BIGINT) AS granted
             FROM sensitive_apis s WHERE s.platform_id = $1 AND s.status = {RESTRICTED}
             ORDER BY s.application_id, s.api_name"
        ))
        .bind(platform_id)
        .bind(mnp_id)
        .fetch_all(self.db.read())
        .await?;
        Ok(rows
            .iter()
            .map(|r| (api(r), r.get::<i64>("granted") == 1))
            .collect())
    }

    async fn granted_requests(&self, mnp_id: &str) -> StoreResult<Vec<PermissionRequestListing>> {
        let rows = sql(format!(
            "SELECT {REQUEST_COLUMNS} {REQUESTS} WHERE r.mnp_id = $1 AND r.status = {APPROVED}
             ORDER BY r.application_id, r.api_name"
        ))
        .bind(mnp_id)
        .fetch_all(self.db.read())
        .await?;
        Ok(rows.iter().map(request_listing).collect())
    }
}
