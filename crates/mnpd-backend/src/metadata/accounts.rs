//! Accounts, their API keys, platforms and teams.

use async_trait::async_trait;
use mnpd_domain::entity::*;
use mnpd_domain::store::*;

use super::{conflict, on_conflict, SqlStore};
use crate::sql::{sql, Db, Row, Tx, Unique};

fn account(r: &Row) -> Account {
    Account {
        id: r.get("id"),
        name: r.get("name"),
        created_at: r.get("created_at"),
    }
}

fn api_key(r: &Row) -> ApiKey {
    ApiKey {
        secret_id: r.get("secret_id"),
        secret_key: r.get("secret_key"),
        account_id: r.get("account_id"),
        enabled: r.get("enabled"),
        created_at: r.get("created_at"),
    }
}

fn platform(r: &Row) -> Platform {
    Platform {
        platform_id: r.get("platform_id"),
        account_id: r.get("account_id"),
        name: r.get("name"),
        expires_at: r.get("expires_at"),
        created_at: r.get("created_at"),
    }
}

pub(super) fn team(r: &Row) -> Team {
    let types: String = r.get("role_types");
    Team {
        team_id: r.get("team_id"),
        platform_id: r.get("platform_id"),
        name: r.get("name"),
        created_at: r.get("created_at"),
        role_types: types
            .split(',')
            .filter_map(|t| t.trim().parse().ok())
            .collect(),
        related_team_id: r.get("related_team_id"),
        admin_user_id: r.get("admin_user_id"),
        remark: r.get("remark"),
        create_user: r.get("create_user"),
    }
}

/// `TeamRoleTypeList` as the `role_types` column keeps it: "1,2".
pub(super) fn role_types_text(types: &[i64]) -> String {
    types
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A team's row, in the caller's transaction; the platform's first team
/// becomes its default. Conflict("name") when the platform has a team of
/// that name, Conflict("id") when the TeamId is taken.
pub(super) async fn insert_team_row(db: &Db, tx: &mut Tx, t: &Team) -> StoreResult<()> {
    let inserted = sql("INSERT INTO teams (team_id, platform_id, name, created_at, role_types, related_team_id, admin_user_id, remark, create_user)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(&t.team_id)
        .bind(&t.platform_id)
        .bind(&t.name)
        .bind(t.created_at)
        .bind(&role_types_text(&t.role_types))
        .bind(t.related_team_id.as_deref())
        .bind(t.admin_user_id.as_deref())
        .bind(&t.remark)
        .bind(&t.create_user)
        .execute(&mut *tx)
        .await;
    on_conflict(inserted, |detail| {
        conflict(if db.violates(detail, Unique::TeamName) {
            "name"
        } else {
            "id"
        })
    })?;
    sql("UPDATE platforms SET default_team_id = $1 WHERE platform_id = $2 AND default_team_id IS NULL")
        .bind(&t.team_id)
        .bind(&t.platform_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[async_trait]
impl AccountStore for SqlStore {
    async fn create_account(&self, name: &str, now: i64) -> StoreResult<Account> {
        let row = sql("INSERT INTO accounts (name, created_at) VALUES ($1, $2) RETURNING *")
            .bind(name)
            .bind(now)
            .fetch_one(self.db.write())
            .await?;
        Ok(account(&row))
    }

    async fn get_account(&self, id: i64) -> StoreResult<Option<Account>> {
        self.lookups
            .account(id, async {
                let row = sql("SELECT * FROM accounts WHERE id = $1")
                    .bind(id)
                    .fetch_optional(self.db.read())
                    .await?;
                Ok(row.as_ref().map(account))
            })
            .await
    }

    async fn insert_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        sql("INSERT INTO api_keys (secret_id, secret_key, account_id, enabled, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&key.secret_id)
            .bind(&key.secret_key)
            .bind(key.account_id)
            .bind(key.enabled)
            .bind(key.created_at)
            .execute(self.db.write())
            .await?;
        Ok(())
    }

    async fn find_api_key(&self, secret_id: &str) -> StoreResult<Option<ApiKey>> {
        self.lookups
            .api_key(secret_id, async {
                let row = sql("SELECT * FROM api_keys WHERE secret_id = $1")
                    .bind(secret_id)
                    .fetch_optional(self.db.read())
                    .await?;
                Ok(row.as_ref().map(api_key))
            })
            .await
    }

    async fn list_api_keys(&self, account_id: Option<i64>) -> StoreResult<Vec<ApiKey>> {
        let rows = sql("SELECT * FROM api_keys WHERE ($1 IS NULL OR account_id = $1) ORDER BY created_at, secret_id")
            .bind(account_id)
            .fetch_all(self.db.read())
            .await?;
        Ok(rows.iter().map(api_key).collect())
    }

    async fn set_api_key_enabled(&self, secret_id: &str, enabled: bool) -> StoreResult<bool> {
        let changed = sql("UPDATE api_keys SET enabled = $1 WHERE secret_id = $2")
            .bind(enabled)
            .bind(secret_id)
            .execute(self.db.write())
            .await?;
        self.lookups.forget_key(secret_id);
        Ok(changed > 0)
    }

    async fn insert_platform(&self, p: &Platform) -> StoreResult<()> {
        sql("INSERT INTO platforms (platform_id, account_id, name, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&p.platform_id)
            .bind(p.account_id)
            .bind(&p.name)
            .bind(p.expires_at)
            .bind(p.created_at)
            .execute(self.db.write())
            .await?;
        Ok(())
    }

    async fn get_platform(&self, platform_id: &str) -> StoreResult<Option<Platform>> {
        self.lookups
            .platform(platform_id, async {
                let row = sql("SELECT * FROM platforms WHERE platform_id = $1")
                    .bind(platform_id)
                    .fetch_optional(self.db.read())
                    .await?;
                Ok(row.as_ref().map(platform))
            })
            .await
    }

    async fn list_platforms(&self, account_id: Option<i64>) -> StoreResult<Vec<Platform>> {
        let rows = sql("SELECT * FROM platforms WHERE ($1 IS NULL OR account_id = $1) ORDER BY created_at, platform_id")
            .bind(account_id)
            .fetch_all(self.db.read())
            .await?;
        Ok(rows.iter().map(platform).collect())
    }

    async fn insert_team(&self, t: &Team) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        insert_team_row(&self.db, &mut tx, t).await?;
        tx.commit().await
    }

    async fn get_team(&self, team_id: &str) -> StoreResult<Option<Team>> {
        let row = sql("SELECT * FROM teams WHERE team_id = $1")
            .bind(team_id)
            .fetch_optional(self.db.read())
            .await?;
        Ok(row.as_ref().map(team))
    }

    async fn default_team(&self, platform_id: &str) -> StoreResult<Option<Team>> {
        let row = sql(concat!(
            "SELECT * FROM teams WHERE team_id = ",
            default_team!()
        ))
        .bind(platform_id)
        .fetch_optional(self.db.read())
        .await?;
        Ok(row.as_ref().map(team))
    }
}
