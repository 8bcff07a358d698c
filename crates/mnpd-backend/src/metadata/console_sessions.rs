//! Console sessions and failed sign-ins.

use async_trait::async_trait;
use mnpd_domain::console_session::{Failures, Session};
use mnpd_domain::store::*;

use super::SqlStore;
use crate::sql::sql;

#[async_trait]
impl ConsoleSessionStore for SqlStore {
    async fn insert_session(&self, s: &Session) -> StoreResult<()> {
        sql("INSERT INTO console_sessions (token_hash, user_id, platform_id, password_epoch, created_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&s.token_hash)
            .bind(&s.user_id)
            .bind(&s.platform_id)
            .bind(s.password_epoch)
            .bind(s.created_at)
            .bind(s.last_seen_at)
            .execute(self.db.write())
            .await?;
        Ok(())
    }

    async fn get_session(&self, token_hash: &str) -> StoreResult<Option<Session>> {
        // From the primary: a session just opened on another node is there.
        let row = sql("SELECT * FROM console_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(self.db.write())
            .await?;
        Ok(row.map(|r| Session {
            token_hash: r.get("token_hash"),
            user_id: r.get("user_id"),
            platform_id: r.get("platform_id"),
            password_epoch: r.get("password_epoch"),
            created_at: r.get("created_at"),
            last_seen_at: r.get("last_seen_at"),
        }))
    }

    async fn touch_session(&self, token_hash: &str, now: i64) -> StoreResult<()> {
        sql("UPDATE console_sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(now)
            .execute(self.db.write())
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sql("DELETE FROM console_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.db.write())
            .await?;
        Ok(())
    }

    async fn delete_stale_sessions(&self, idle_before: i64, opened_before: i64) -> StoreResult<()> {
        sql("DELETE FROM console_sessions WHERE last_seen_at < $1 OR created_at < $2")
            .bind(idle_before)
            .bind(opened_before)
            .execute(self.db.write())
            .await?;
        Ok(())
    }

    async fn sign_in_failures(&self, subject: &str) -> StoreResult<Option<Failures>> {
        let row = sql("SELECT * FROM console_sign_in_failures WHERE subject = $1")
            .bind(subject)
            .fetch_optional(self.db.write())
            .await?;
        Ok(row.map(|r| Failures {
            failures: r.get("failures"),
            first_at: r.get("first_at"),
            locked_until: r.get("locked_until"),
        }))
    }

    async fn put_sign_in_failures(&self, subject: &str, f: &Failures) -> StoreResult<()> {
        sql("INSERT INTO console_sign_in_failures (subject, failures, first_at, locked_until) VALUES ($1, $2, $3, $4)
             ON CONFLICT (subject) DO UPDATE SET failures = excluded.failures, first_at = excluded.first_at,
                 locked_until = excluded.locked_until")
            .bind(subject)
            .bind(f.failures)
            .bind(f.first_at)
            .bind(f.locked_until)
            .execute(self.db.write())
            .await?;
        Ok(())
    }

    async fn clear_sign_in_failures(&self, subject: &str) -> StoreResult<()> {
        sql("DELETE FROM console_sign_in_failures WHERE subject = $1")
            .bind(subject)
            .execute(self.db.write())
            .await?;
        Ok(())
    }
}
