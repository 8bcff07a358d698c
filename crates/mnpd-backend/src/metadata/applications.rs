//! Host applications of a platform.

use async_trait::async_trait;
use mnpd_domain::entity::*;
use mnpd_domain::store::*;

use super::{conflict, given, like_pattern, on_conflict, SqlStore};
use crate::sql::{sql, Lock, On, Row, Unique};

fn application(r: &Row) -> Application {
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
        android_app_url: r.get("android_app_url"),
        ios_app_url: r.get("ios_app_url"),
        application_type: r.get("application_type"),
        create_user: r.get("create_user"),
        created_at: r.get("created_at"),
        update_user: r.get("update_user"),
        updated_at: r.get("updated_at"),
    }
}

/// Whether an approval item names the application.
async fn in_use(on: On<'_>, application_id: &str) -> StoreResult<bool> {
    Ok(
        sql("SELECT 1 FROM approval_items WHERE application_id = $1 LIMIT 1")
            .bind(application_id)
            .fetch_optional(on)
            .await?
            .is_some(),
    )
}

/// DescribeApplicationList's filter: platform `$1`, keyword pattern `$2`,
/// team `$3`, approved a version of mini program `$4`.
const LISTING_FILTER: &str = "a.platform_id = $1
    AND ($2 IS NULL OR lower(a.name) LIKE $2 ESCAPE '\\' OR lower(a.application_id) LIKE $2 ESCAPE '\\')
    AND ($3 IS NULL OR a.team_id = $3)
    AND ($4 IS NULL OR EXISTS (SELECT 1 FROM approval_items i JOIN approvals p ON p.approval_no = i.approval_no
                               WHERE p.mnp_id = $4 AND i.application_id = a.application_id AND i.status = 3))";

#[async_trait]
impl ApplicationStore for SqlStore {
    async fn insert_application(&self, app: &Application) -> StoreResult<i64> {
        let inserted = sql(
            "INSERT INTO applications (application_id, platform_id, team_id, name, logo, intro, remark, android_app_key, ios_app_key, application_type, create_user, created_at, update_user, updated_at, android_app_url, ios_app_url)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING number",
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
        .bind(&app.android_app_url)
        .bind(&app.ios_app_url)
        .fetch_one(self.db.write())
        .await;
        let row = on_conflict(inserted, |detail| {
            conflict(if self.db.violates(detail, Unique::ApplicationName) {
                "name"
            } else {
                "id"
            })
        })?;
        Ok(row.get("number"))
    }

    async fn get_application(
        &self,
        platform_id: &str,
        application_id: &str,
    ) -> StoreResult<Option<Application>> {
        let row = sql("SELECT * FROM applications WHERE platform_id = $1 AND application_id = $2")
            .bind(platform_id)
            .bind(application_id)
            .fetch_optional(self.db.read())
            .await?;
        Ok(row.as_ref().map(application))
    }

    async fn list_applications(
        &self,
        q: &ApplicationQuery,
    ) -> StoreResult<(i64, Vec<ApplicationListing>)> {
        let keyword = like_pattern(q.keyword.as_deref());
        let team = given(q.team_id.as_deref());
        let mnp = given(q.approved_mnp_id.as_deref());
        let total: i64 = sql(format!(
            "SELECT count(*) AS n FROM applications a WHERE {LISTING_FILTER}"
        ))
        .bind(&q.platform_id)
        .bind(keyword.as_deref())
        .bind(team)
        .bind(mnp)
        .fetch_one(self.db.read())
        .await?
        .get("n");
        let rows = sql(format!(
            "SELECT a.*, t.name AS team_name FROM applications a JOIN teams t ON t.team_id = a.team_id
             WHERE {LISTING_FILTER} ORDER BY a.created_at DESC, a.number DESC LIMIT $5 OFFSET $6"
        ))
        .bind(&q.platform_id)
        .bind(keyword.as_deref())
        .bind(team)
        .bind(mnp)
        .bind(q.limit)
        .bind(q.offset)
        .fetch_all(self.db.read())
        .await?;
        Ok((
            total,
            rows.iter()
                .map(|r| ApplicationListing {
                    application: application(r),
                    team_name: r.get("team_name"),
                })
                .collect(),
        ))
    }

    async fn list_platform_applications(&self, platform_id: &str) -> StoreResult<Vec<Application>> {
        let rows =
            sql("SELECT * FROM applications WHERE platform_id = $1 ORDER BY created_at, number")
                .bind(platform_id)
                .fetch_all(self.db.read())
                .await?;
        Ok(rows.iter().map(application).collect())
    }

    async fn update_application(&self, app: &Application) -> StoreResult<bool> {
        let updated = sql(
            "UPDATE applications SET name = $1, logo = $2, intro = $3, remark = $4, android_app_key = $5, ios_app_key = $6, update_user = $7, updated_at = $8,
             android_app_url = $11, ios_app_url = $12
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
        .bind(&app.android_app_url)
        .bind(&app.ios_app_url)
        .execute(self.db.write())
        .await;
        Ok(on_conflict(updated, |_| conflict("name"))? > 0)
    }

    async fn application_in_use(&self, application_id: &str) -> StoreResult<bool> {
        in_use(self.db.read(), application_id).await
    }

    async fn delete_application(
        &self,
        platform_id: &str,
        application_id: &str,
    ) -> StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        // insert_approval share-locks the applications it names: once this
        // lock is held, no approval naming it is half-way, and the check
        // below sees every one committed.
        let exists = tx
            .locking(
                "SELECT 1 FROM applications WHERE platform_id = $1 AND application_id = $2",
                Lock::Update,
            )
            .bind(platform_id)
            .bind(application_id)
            .fetch_optional(&mut tx)
            .await?;
        if exists.is_none() {
            return Ok(false);
        }
        if in_use((&mut tx).into(), application_id).await? {
            return Err(conflict("in_use"));
        }
        sql("DELETE FROM applications WHERE platform_id = $1 AND application_id = $2")
            .bind(platform_id)
            .bind(application_id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}
