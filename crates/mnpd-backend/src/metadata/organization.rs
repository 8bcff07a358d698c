//! The organization: users, teams' organization data, memberships and
//! preset keys.

use async_trait::async_trait;
use mnpd_domain::entity::*;
use mnpd_domain::store::*;

use super::accounts::{insert_team_row, team};
use super::{conflict, given, like_pattern, on_conflict, SqlStore};
use crate::sql::{sql, Lock, On, Row, Tx, Unique};

fn user(r: &Row) -> User {
    User {
        user_id: r.get("user_id"),
        platform_id: r.get("platform_id"),
        account: r.get("account"),
        name: r.get("name"),
        account_type: r.get("account_type"),
        password_hash: r.get("password_hash"),
        status: r.get("status"),
        password_epoch: r.get("password_epoch"),
        create_user: r.get("create_user"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}

/// A row of `MEMBERSHIP_SELECT`.
fn membership(r: &Row) -> Membership {
    let admin: Option<String> = r.get("admin_user_id");
    let user_id: String = r.get("user_id");
    Membership {
        team_id: r.get("team_id"),
        team_name: r.get("team_name"),
        is_admin: admin.as_deref() == Some(user_id.as_str()),
        user_id,
        user_account: r.get("account"),
        user_name: r.get("name"),
        role_id: r.get("role_id"),
    }
}

const MEMBERSHIP_SELECT: &str = "SELECT m.team_id, t.name AS team_name, t.admin_user_id, m.user_id, u.account, u.name, m.role_id
     FROM team_members m JOIN teams t ON t.team_id = m.team_id JOIN users u ON u.user_id = m.user_id";

/// DescribeUserList's filter: platform `$1`, keyword `$2`, type `$3`, team `$4`.
const USER_FILTER: &str = "u.platform_id = $1
    AND ($2 IS NULL OR lower(u.account) LIKE $2 ESCAPE '\\' OR lower(u.name) LIKE $2 ESCAPE '\\')
    AND ($3 IS NULL OR u.account_type = $3)
    AND ($4 IS NULL OR EXISTS (SELECT 1 FROM team_members m WHERE m.user_id = u.user_id AND m.team_id = $4))";

/// DescribeTeamList's filter: platform `$1`, keyword `$2`.
const TEAM_FILTER: &str = "platform_id = $1
    AND ($2 IS NULL OR lower(name) LIKE $2 ESCAPE '\\' OR team_id LIKE $2 ESCAPE '\\')";

/// Whether the user is some team's admin.
async fn is_team_admin(on: On<'_>, user_id: &str) -> StoreResult<bool> {
    Ok(sql("SELECT 1 FROM teams WHERE admin_user_id = $1 LIMIT 1")
        .bind(user_id)
        .fetch_optional(on)
        .await?
        .is_some())
}

/// Adds the member or sets their role.
async fn put_member(
    tx: &mut Tx,
    team_id: &str,
    user_id: &str,
    role_id: i64,
    now: i64,
) -> StoreResult<()> {
    sql(
        "INSERT INTO team_members (team_id, user_id, role_id, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (team_id, user_id) DO UPDATE SET role_id = excluded.role_id",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(role_id)
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
}

#[async_trait]
impl OrganizationStore for SqlStore {
    async fn insert_user(&self, u: &User) -> StoreResult<()> {
        let inserted = sql(
            "INSERT INTO users (user_id, platform_id, account, name, account_type, password_hash, status, password_epoch, create_user, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&u.user_id)
        .bind(&u.platform_id)
        .bind(&u.account)
        .bind(&u.name)
        .bind(u.account_type)
        .bind(&u.password_hash)
        .bind(u.status)
        .bind(u.password_epoch)
        .bind(&u.create_user)
        .bind(u.created_at)
        .bind(u.updated_at)
        .execute(self.db.write())
        .await;
        on_conflict(inserted, |detail| {
            conflict(if self.db.violates(detail, Unique::UserAccount) {
                "account"
            } else {
                "id"
            })
        })?;
        Ok(())
    }

    async fn get_user(&self, platform_id: &str, user_id: &str) -> StoreResult<Option<User>> {
        let row = sql("SELECT * FROM users WHERE platform_id = $1 AND user_id = $2")
            .bind(platform_id)
            .bind(user_id)
            .fetch_optional(self.db.read())
            .await?;
        Ok(row.as_ref().map(user))
    }

    async fn users_with_account(&self, account: &str) -> StoreResult<Vec<User>> {
        let rows = sql("SELECT * FROM users WHERE account = $1 ORDER BY created_at, user_id")
            .bind(account)
            .fetch_all(self.db.read())
            .await?;
        Ok(rows.iter().map(user).collect())
    }

    async fn list_users(&self, q: &UserQuery) -> StoreResult<(i64, Vec<UserListing>)> {
        let keyword = like_pattern(q.keyword.as_deref());
        let team = given(q.team_id.as_deref());
        let total: i64 = sql(format!(
            "SELECT count(*) AS n FROM users u WHERE {USER_FILTER}"
        ))
        .bind(&q.platform_id)
        .bind(keyword.as_deref())
        .bind(q.account_type)
        .bind(team)
        .fetch_one(self.db.read())
        .await?
        .get("n");
        let rows = sql(format!(
            "SELECT u.* FROM users u WHERE {USER_FILTER}
             ORDER BY u.created_at DESC, u.user_id DESC LIMIT $5 OFFSET $6"
        ))
        .bind(&q.platform_id)
        .bind(keyword.as_deref())
        .bind(q.account_type)
        .bind(team)
        .bind(q.limit)
        .bind(q.offset)
        .fetch_all(self.db.read())
        .await?;
        let mut page = Vec::with_capacity(rows.len());
        for r in &rows {
            let u = user(r);
            let teams = self.memberships_of(&u.user_id).await?;
            page.push(UserListing {
                team_ids: teams.iter().map(|m| m.team_id.clone()).collect(),
                team_names: teams.into_iter().map(|m| m.team_name).collect(),
                user: u,
            });
        }
        Ok((total, page))
    }

    async fn update_user(&self, u: &User) -> StoreResult<bool> {
        let updated = sql(
            "UPDATE users SET account = $1, name = $2, account_type = $3, status = $4, updated_at = $5
             WHERE platform_id = $6 AND user_id = $7",
        )
        .bind(&u.account)
        .bind(&u.name)
        .bind(u.account_type)
        .bind(u.status)
        .bind(u.updated_at)
        .bind(&u.platform_id)
        .bind(&u.user_id)
        .execute(self.db.write())
        .await;
        Ok(on_conflict(updated, |_| conflict("account"))? > 0)
    }

    async fn set_password(
        &self,
        platform_id: &str,
        user_id: &str,
        hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let changed = sql(
            "UPDATE users SET password_hash = $1, password_epoch = password_epoch + 1, updated_at = $2
             WHERE platform_id = $3 AND user_id = $4",
        )
        .bind(hash)
        .bind(now)
        .bind(platform_id)
        .bind(user_id)
        .execute(self.db.write())
        .await?;
        Ok(changed > 0)
    }

    async fn delete_user(&self, platform_id: &str, user_id: &str) -> StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        let exists = tx
            .locking(
                "SELECT 1 FROM users WHERE platform_id = $1 AND user_id = $2",
                Lock::Update,
            )
            .bind(platform_id)
            .bind(user_id)
            .fetch_optional(&mut tx)
            .await?;
        if exists.is_none() {
            return Ok(false);
        }
        if is_team_admin((&mut tx).into(), user_id).await? {
            return Err(conflict("admin"));
        }
        sql("DELETE FROM team_members WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut tx)
            .await?;
        sql("DELETE FROM users WHERE platform_id = $1 AND user_id = $2")
            .bind(platform_id)
            .bind(user_id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn create_team(&self, t: &Team, admin_role: i64) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        insert_team_row(&self.db, &mut tx, t).await?;
        if let Some(admin) = &t.admin_user_id {
            put_member(&mut tx, &t.team_id, admin, admin_role, t.created_at).await?;
        }
        tx.commit().await
    }

    async fn list_teams(&self, q: &TeamQuery) -> StoreResult<(i64, Vec<Team>)> {
        let keyword = like_pattern(q.keyword.as_deref());
        let total: i64 = sql(format!(
            "SELECT count(*) AS n FROM teams WHERE {TEAM_FILTER}"
        ))
        .bind(&q.platform_id)
        .bind(keyword.as_deref())
        .fetch_one(self.db.read())
        .await?
        .get("n");
        let rows = sql(format!(
            "SELECT * FROM teams WHERE {TEAM_FILTER} ORDER BY created_at, team_id LIMIT $3 OFFSET $4"
        ))
        .bind(&q.platform_id)
        .bind(keyword.as_deref())
        .bind(q.limit)
        .bind(q.offset)
        .fetch_all(self.db.read())
        .await?;
        Ok((total, rows.iter().map(team).collect()))
    }

    async fn platform_teams(&self, platform_id: &str) -> StoreResult<Vec<Team>> {
        let rows = sql("SELECT * FROM teams WHERE platform_id = $1 ORDER BY created_at, team_id")
            .bind(platform_id)
            .fetch_all(self.db.read())
            .await?;
        Ok(rows.iter().map(team).collect())
    }

    async fn update_team(
        &self,
        t: &Team,
        admin_role: i64,
        former_admin_role: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        let before = tx
            .locking(
                "SELECT * FROM teams WHERE platform_id = $1 AND team_id = $2",
                Lock::Update,
            )
            .bind(&t.platform_id)
            .bind(&t.team_id)
            .fetch_optional(&mut tx)
            .await?;
        let Some(before) = before.as_ref().map(team) else {
            return Ok(false);
        };
        let renamed = sql("UPDATE teams SET name = $1, admin_user_id = $2 WHERE team_id = $3")
            .bind(&t.name)
            .bind(t.admin_user_id.as_deref())
            .bind(&t.team_id)
            .execute(&mut tx)
            .await;
        on_conflict(renamed, |_| conflict("name"))?;
        if before.admin_user_id != t.admin_user_id {
            let now = before.created_at.max(0);
            if let Some(former) = &before.admin_user_id {
                sql("UPDATE team_members SET role_id = $1 WHERE team_id = $2 AND user_id = $3")
                    .bind(former_admin_role)
                    .bind(&t.team_id)
                    .bind(former)
                    .execute(&mut tx)
                    .await?;
            }
            if let Some(admin) = &t.admin_user_id {
                put_member(&mut tx, &t.team_id, admin, admin_role, now).await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn delete_team(&self, platform_id: &str, team_id: &str) -> StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        let row = tx
            .locking(
                "SELECT * FROM teams WHERE platform_id = $1 AND team_id = $2",
                Lock::Update,
            )
            .bind(platform_id)
            .bind(team_id)
            .fetch_optional(&mut tx)
            .await?;
        let Some(t) = row.as_ref().map(team) else {
            return Ok(false);
        };
        // What still needs the team, in the order a caller would clear it.
        let checks = [
            (
                "mini_programs",
                "SELECT 1 FROM mini_programs WHERE team_id = $1 LIMIT 1",
            ),
            (
                "applications",
                "SELECT 1 FROM applications WHERE team_id = $1 LIMIT 1",
            ),
            (
                "related",
                "SELECT 1 FROM teams WHERE related_team_id = $1 LIMIT 1",
            ),
        ];
        for (what, query) in checks {
            if sql(query)
                .bind(team_id)
                .fetch_optional(&mut tx)
                .await?
                .is_some()
            {
                return Err(conflict(what));
            }
        }
        let others = sql("SELECT 1 FROM team_members WHERE team_id = $1 AND ($2 IS NULL OR user_id <> $2) LIMIT 1")
            .bind(team_id)
            .bind(t.admin_user_id.as_deref())
            .fetch_optional(&mut tx)
            .await?;
        if others.is_some() {
            return Err(conflict("members"));
        }
        sql("DELETE FROM team_members WHERE team_id = $1")
            .bind(team_id)
            .execute(&mut tx)
            .await?;
        sql("DELETE FROM teams WHERE team_id = $1")
            .bind(team_id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn member_count(&self, team_id: &str) -> StoreResult<i64> {
        Ok(
            sql("SELECT count(*) AS n FROM team_members WHERE team_id = $1")
                .bind(team_id)
                .fetch_one(self.db.read())
                .await?
                .get("n"),
        )
    }

    async fn related_team_count(&self, team_id: &str) -> StoreResult<i64> {
        Ok(
            sql("SELECT count(*) AS n FROM teams WHERE related_team_id = $1")
                .bind(team_id)
                .fetch_one(self.db.read())
                .await?
                .get("n"),
        )
    }

    async fn put_members(
        &self,
        team_id: &str,
        members: &[(String, i64)],
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        for (user_id, role_id) in members {
            put_member(&mut tx, team_id, user_id, *role_id, now).await?;
        }
        tx.commit().await
    }

    async fn get_membership(
        &self,
        team_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<Membership>> {
        let row = sql(format!(
            "{MEMBERSHIP_SELECT} WHERE m.team_id = $1 AND m.user_id = $2"
        ))
        .bind(team_id)
        .bind(user_id)
        .fetch_optional(self.db.read())
        .await?;
        Ok(row.as_ref().map(membership))
    }

    async fn set_member_role(
        &self,
        team_id: &str,
        user_id: &str,
        role_id: i64,
    ) -> StoreResult<bool> {
        let changed =
            sql("UPDATE team_members SET role_id = $1 WHERE team_id = $2 AND user_id = $3")
                .bind(role_id)
                .bind(team_id)
                .bind(user_id)
                .execute(self.db.write())
                .await?;
        Ok(changed > 0)
    }

    async fn delete_membership(&self, team_id: &str, user_id: &str) -> StoreResult<bool> {
        let deleted = sql("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
            .bind(team_id)
            .bind(user_id)
            .execute(self.db.write())
            .await?;
        Ok(deleted > 0)
    }

    async fn list_members(&self, q: &MemberQuery) -> StoreResult<(i64, Vec<Membership>)> {
        let keyword = like_pattern(q.keyword.as_deref());
        let team = given(q.team_id.as_deref());
        // Role ids are integers the domain checked: listed inline.
        let roles = if q.role_ids.is_empty() {
            String::new()
        } else {
            let ids: Vec<String> = q.role_ids.iter().map(i64::to_string).collect();
            format!(" AND m.role_id IN ({})", ids.join(", "))
        };
        let filter = format!(
            "t.platform_id = $1 AND ($2 IS NULL OR m.team_id = $2)
             AND ($3 IS NULL OR lower(u.account) LIKE $3 ESCAPE '\\' OR lower(u.name) LIKE $3 ESCAPE '\\'){roles}"
        );
        let total: i64 = sql(format!(
            "SELECT count(*) AS n FROM team_members m JOIN teams t ON t.team_id = m.team_id JOIN users u ON u.user_id = m.user_id WHERE {filter}"
        ))
        .bind(&q.platform_id)
        .bind(team)
        .bind(keyword.as_deref())
        .fetch_one(self.db.read())
        .await?
        .get("n");
        let rows = sql(format!(
            "{MEMBERSHIP_SELECT} WHERE {filter} ORDER BY m.created_at DESC, m.team_id, m.user_id DESC LIMIT $4 OFFSET $5"
        ))
        .bind(&q.platform_id)
        .bind(team)
        .bind(keyword.as_deref())
        .bind(q.limit)
        .bind(q.offset)
        .fetch_all(self.db.read())
        .await?;
        Ok((total, rows.iter().map(membership).collect()))
    }

    async fn memberships_of(&self, user_id: &str) -> StoreResult<Vec<Membership>> {
        let rows = sql(format!(
            "{MEMBERSHIP_SELECT} WHERE m.user_id = $1 ORDER BY t.created_at, t.team_id"
        ))
        .bind(user_id)
        .fetch_all(self.db.read())
        .await?;
        Ok(rows.iter().map(membership).collect())
    }

    async fn insert_preset_key(&self, k: &PresetKey) -> StoreResult<()> {
        sql("INSERT INTO preset_keys (key_id, account_id, private_key, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(&k.key_id)
            .bind(k.account_id)
            .bind(&k.private_key)
            .bind(k.expires_at)
            .execute(self.db.write())
            .await?;
        Ok(())
    }

    async fn take_preset_key(
        &self,
        account_id: Option<i64>,
        key_id: &str,
        now: i64,
    ) -> StoreResult<Option<PresetKey>> {
        sql("DELETE FROM preset_keys WHERE expires_at <= $1")
            .bind(now)
            .execute(self.db.write())
            .await?;
        // One statement: two requests naming the same key, one gets it.
        let row = sql(
            "DELETE FROM preset_keys WHERE key_id = $1 AND ((account_id IS NULL AND $2 IS NULL) OR account_id = $2) AND expires_at > $3 RETURNING *",
        )
        .bind(key_id)
        .bind(account_id)
        .bind(now)
        .fetch_optional(self.db.write())
        .await?;
        Ok(row.map(|r| PresetKey {
            key_id: r.get("key_id"),
            account_id: r.get("account_id"),
            private_key: r.get("private_key"),
            expires_at: r.get("expires_at"),
        }))
    }
}
