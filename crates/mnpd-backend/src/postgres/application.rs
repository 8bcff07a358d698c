//! Host applications and mini program management on PostgreSQL.

use async_trait::async_trait;
use mnpd_domain::entity::*;
use mnpd_domain::store::*;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use super::{db_err, like_pattern, PgStore};

fn application(r: &PgRow) -> Application {
    Application {
        application_id: r.get("application_id"),
        number: r.get("number"),
        platform_id: r.get("platform_id"),
        team_id: r.get("team_id"),
        name: r.get("name"),
        logo: r.get("logo"),
        intro: r.get("intro"),
        remark: r.get("remark"),
        android_app_key: r.get("android_app_key"),
        ios_app_key: r.get("ios_app_key"),
        application_type: r.get("application_type"),
        create_user: r.get("create_user"),
        created_at: r.get("created_at"),
        update_user: r.get("update_user"),
        updated_at: r.get("updated_at"),
    }
}

fn application_listing(r: &PgRow) -> ApplicationListing {
    ApplicationListing {
        application: application(r),
        team_name: r.get("team_name"),
    }
}

async fn in_use(conn: &mut PgConnection, application_id: &str) -> StoreResult<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM approval_items WHERE application_id = $1 LIMIT 1")
            .bind(application_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?
            .is_some(),
    )
}

const APPLICATION_SELECT: &str =
    "SELECT a.*, t.name AS team_name FROM applications a JOIN teams t ON t.team_id = a.team_id";

#[async_trait]
impl ApplicationStore for PgStore {
    async fn insert_application(&self, app: &Application) -> StoreResult<i64> {
        let result = sqlx::query(
            "INSERT INTO applications (application_id, platform_id, team_id, name, logo, intro, remark, android_app_key, ios_app_key, application_type, create_user, created_at, update_user, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING number",
        )
        .bind(&app.application_id)
        .bind(&app.platform_id)
        .bind(&app.team_id)
        .bind(&app.name)
        .bind(&app.logo)
        .bind(&app.intro)
        .bind(&app.remark)
        .bind(&app.android_app_key)
        .bind(&app.ios_app_key)
        .bind(app.application_type)
        .bind(&app.create_user)
        .bind(app.created_at)
        .bind(&app.update_user)
        .bind(app.updated_at)
        .fetch_one(&self.pool)
        .await;
        match result.map_err(db_err) {
            Ok(row) => Ok(row.get("number")),
            Err(StoreError::Conflict(c)) if c == "applications_name_unique" => {
                Err(StoreError::Conflict("name".into()))
            }
            Err(StoreError::Conflict(_)) => Err(StoreError::Conflict("id".into())),
            Err(e) => Err(e),
        }
    }

    async fn get_application(
        &self,
        platform_id: &str,
        application_id: &str,
    ) -> StoreResult<Option<Application>> {
        let row = sqlx::query(
            "SELECT * FROM applications WHERE platform_id = $1 AND application_id = $2",
        )
        .bind(platform_id)
        .bind(application_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.as_ref().map(application))
    }

    async fn list_applications(
        &self,
        q: &ApplicationQuery,
    ) -> StoreResult<(i64, Vec<ApplicationListing>)> {
        let keyword = like_pattern(q.keyword.as_deref());
        let team = q.team_id.as_deref().filter(|t| !t.is_empty());
        let filter = "a.platform_id = $1 AND ($2 IS NULL OR lower(a.name) LIKE $2 OR lower(a.application_id) LIKE $2) AND ($3 IS NULL OR a.team_id = $3)";
        let total: i64 = sqlx::query(&format!(
            "SELECT count(*) AS n FROM applications a WHERE {filter}"
        ))
        .bind(&q.platform_id)
        .bind(&keyword)
        .bind(team)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?
        .get("n");
        let rows = sqlx::query(&format!(
            "{APPLICATION_SELECT} WHERE {filter} ORDER BY a.created_at DESC, a.number DESC LIMIT $4 OFFSET $5"
        ))
        .bind(&q.platform_id)
        .bind(&keyword)
        .bind(team)
        .bind(q.limit)
        .bind(q.offset)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok((total, rows.iter().map(application_listing).collect()))
    }

    async fn list_platform_applications(&self, platform_id: &str) -> StoreResult<Vec<Application>> {
        let rows = sqlx::query(
            "SELECT * FROM applications WHERE platform_id = $1 ORDER BY created_at, number",
        )
        .bind(platform_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows.iter().map(application).collect())
    }

    async fn update_application(&self, app: &Application) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE applications SET name = $1, logo = $2, intro = $3, remark = $4, android_app_key = $5, ios_app_key = $6, update_user = $7, updated_at = $8
             WHERE platform_id = $9 AND application_id = $10",
        )
        .bind(&app.name)
        .bind(&app.logo)
        .bind(&app.intro)
        .bind(&app.remark)
        .bind(&app.android_app_key)
        .bind(&app.ios_app_key)
        .bind(&app.update_user)
        .bind(app.updated_at)
        .bind(&app.platform_id)
        .bind(&app.application_id)
        .execute(&self.pool)
        .await;
        match result.map_err(db_err) {
            Ok(done) => Ok(done.rows_affected() > 0),
            Err(StoreError::Conflict(_)) => Err(StoreError::Conflict("name".into())),
            Err(e) => Err(e),
        }
    }

    async fn application_in_use(&self, application_id: &str) -> StoreResult<bool> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        in_use(&mut conn, application_id).await
    }

    async fn delete_application(
        &self,
        platform_id: &str,
        application_id: &str,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // insert_approval share-locks the applications it names: once this
        // lock is held, no approval naming it is half-way, and the check
        // below sees every one committed.
        let exists = sqlx::query(
            "SELECT 1 FROM applications WHERE platform_id = $1 AND application_id = $2 FOR UPDATE",
        )
        .bind(platform_id)
        .bind(application_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if in_use(&mut tx, application_id).await? {
            return Err(StoreError::Conflict("in_use".into()));
        }
        if exists.is_none() {
            return Ok(false);
        }
        let done =
            sqlx::query("DELETE FROM applications WHERE platform_id = $1 AND application_id = $2")
                .bind(platform_id)
                .bind(application_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }
}

/// The statements deleting the records of a mini program, in an order that
/// satisfies the foreign keys. A new table with records of a mini program
/// belongs in this list.
const RECORDS_OF_MINI_PROGRAM: &[&str] = &[
    "DELETE FROM approval_items WHERE approval_no IN (SELECT approval_no FROM approvals WHERE mnp_id = $1)",
    "DELETE FROM approvals WHERE mnp_id = $1",
    "DELETE FROM previews WHERE mnp_id = $1",
    "DELETE FROM online_versions WHERE mnp_id = $1",
    "DELETE FROM releases WHERE mnp_id = $1",
    "DELETE FROM versions WHERE mnp_id = $1",
    "DELETE FROM tasks WHERE mnp_id = $1",
    "DELETE FROM mini_program_numbers WHERE mnp_id = $1",
];

#[async_trait]
impl MiniProgramManagementStore for PgStore {
    async fn update_mini_program(&self, mp: &MiniProgram) -> StoreResult<Option<i64>> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let result = sqlx::query(
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
        .execute(&mut *tx)
        .await;
        let done = match result.map_err(db_err) {
            Ok(done) => done,
            Err(StoreError::Conflict(_)) => return Err(StoreError::Conflict("name".into())),
            Err(e) => return Err(e),
        };
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let number: i64 = sqlx::query("SELECT number FROM mini_program_numbers WHERE mnp_id = $1")
            .bind(&mp.mnp_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .ok_or_else(|| StoreError::Other(format!("mini program {} has no number", mp.mnp_id)))?
            .get("number");
        tx.commit().await.map_err(db_err)?;
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
        let done = sqlx::query(
            "UPDATE mini_programs SET status = $1, update_user = $2, updated_at = $3 WHERE platform_id = $4 AND mnp_id = $5",
        )
        .bind(status)
        .bind(user)
        .bind(now)
        .bind(platform_id)
        .bind(mnp_id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_mini_program(&self, platform_id: &str, mnp_id: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let exists = sqlx::query(
            "SELECT 1 FROM mini_programs WHERE platform_id = $1 AND mnp_id = $2 FOR UPDATE",
        )
        .bind(platform_id)
        .bind(mnp_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if exists.is_none() {
            return Ok(false);
        }
        for delete in RECORDS_OF_MINI_PROGRAM {
            sqlx::query(delete)
                .bind(mnp_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        sqlx::query("DELETE FROM mini_programs WHERE mnp_id = $1")
            .bind(mnp_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        self.lookups.forget_tasks_of(mnp_id);
        Ok(true)
    }
}
