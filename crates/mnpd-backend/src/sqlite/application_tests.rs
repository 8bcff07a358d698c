//! What only SQLite has; the behaviour every engine shares is tested by the
//! store suite (`crate::suite`, run on each engine by tests/engines.rs).

use std::sync::Arc;

use super::super::SqliteStore;
use super::*;
use crate::suite::{app, mini, seed_teams, Store, PLATFORM};

async fn store() -> (tempfile::TempDir, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    (dir, Arc::new(s))
}

/// The suite's seed: an account with two platforms; the first has two teams.
async fn seed(s: &Arc<SqliteStore>) -> (Team, Team, Team) {
    let store: Store = s.clone();
    seed_teams(&store).await
}

#[tokio::test]
async fn without_approval_items_nothing_is_in_use() {
    let (_d, s) = store().await;
    let (t1, _, _) = seed(&s).await;
    s.insert_application(&app("app-aaaaaaaaaa", "Shop", &t1, 10))
        .await
        .unwrap();
    // As on a database from before the approval tables existed.
    sqlx::query("DROP TABLE IF EXISTS approval_items")
        .execute(&s.write)
        .await
        .unwrap();
    assert!(!s.application_in_use("app-aaaaaaaaaa").await.unwrap());
    assert!(s
        .delete_application(PLATFORM, "app-aaaaaaaaaa")
        .await
        .unwrap());
}

#[tokio::test]
async fn mini_programs_from_before_the_migration_are_numbered_in_creation_order() {
    use std::str::FromStr;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("meta.db");
    // A database as the first release left it: only the first migration.
    let first = dir.path().join("first");
    std::fs::create_dir(&first).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/migrations/sqlite/0001_init.sql"
        ),
        first.join("0001_init.sql"),
    )
    .unwrap();
    {
        let opts = sqlx::sqlite::SqliteConnectOptions::from_str("sqlite://")
            .unwrap()
            .filename(&db)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
        sqlx::migrate::Migrator::new(first.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        for sql in [
            "INSERT INTO accounts (id, name, created_at) VALUES (1, 'alice', 1)",
            "INSERT INTO platforms (platform_id, account_id, name, created_at) VALUES ('TPLATFORM0000000001', 1, 'p', 1)",
            "INSERT INTO teams (team_id, platform_id, name, created_at) VALUES ('1000000001', 'TPLATFORM0000000001', 't', 1)",
            "INSERT INTO mini_programs (mnp_id, platform_id, team_id, name, mnp_type, icon, intro, description, create_user, created_at, update_user, updated_at)
             VALUES ('mpbbbbbbbbbbbbbb', 'TPLATFORM0000000001', '1000000001', 'late', 'Tools', 'https://h/i.png', 'i', 'd', 'alice', 20, 'alice', 20),
                    ('mpaaaaaaaaaaaaaa', 'TPLATFORM0000000001', '1000000001', 'early', 'Tools', 'https://h/i.png', 'i', 'd', 'alice', 10, 'alice', 10)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    let s = SqliteStore::open(&db).await.unwrap();
    let t1 = s.get_team("1000000001").await.unwrap().unwrap();
    s.insert_mini_program(&mini("mpcccccccccccccc", "new", &t1, 30))
        .await
        .unwrap();
    let numbers: Vec<(String, i64)> =
        sqlx::query("SELECT mnp_id, number FROM mini_program_numbers ORDER BY number")
            .fetch_all(&s.read)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    assert_eq!(
        numbers,
        vec![
            ("mpaaaaaaaaaaaaaa".to_string(), 1),
            ("mpbbbbbbbbbbbbbb".to_string(), 2),
            ("mpcccccccccccccc".to_string(), 3),
        ]
    );
}
