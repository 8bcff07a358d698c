//! What only SQLite has; the behaviour every engine shares is tested by the
//! store suite (`crate::suite`, run on each engine by tests/engines.rs).

use super::*;

async fn seed(s: &SqliteStore) -> (Account, Platform, Team) {
    let a = s.create_account("alice", 1).await.unwrap();
    let p = Platform {
        platform_id: "TPLATFORM0000000001".into(),
        account_id: a.id,
        name: "p".into(),
        expires_at: None,
        created_at: 1,
    };
    s.insert_platform(&p).await.unwrap();
    let t = Team {
        team_id: "1000000001".into(),
        platform_id: p.platform_id.clone(),
        name: "default".into(),
        created_at: 1,
    };
    s.insert_team(&t).await.unwrap();
    (a, p, t)
}

#[tokio::test]
async fn reopening_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    {
        let s = SqliteStore::open(&path).await.unwrap();
        seed(&s).await;
        s.close().await;
    }
    let s = SqliteStore::open(&path).await.unwrap();
    assert!(s
        .get_platform("TPLATFORM0000000001")
        .await
        .unwrap()
        .is_some());
}
