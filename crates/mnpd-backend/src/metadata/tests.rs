//! What only SQLite has: reopening a file, and migrations over data an
//! older release left. The behaviour every engine shares is tested by the
//! store suite (`crate::suite`, run on each engine by tests/engines.rs).

use std::path::Path;
use std::str::FromStr;

use mnpd_domain::entity::*;
use mnpd_domain::store::*;

use super::SqliteStore;
use crate::sql::sql;
use crate::suite::mini;

const PLATFORM: &str = "TPLATFORM0000000001";

/// A database at `db` with the SQLite migrations up to `last` applied, and
/// `rows` inserted, as an older release would have left it.
async fn database_from_before(db: &Path, last: &str, rows: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut names: Vec<_> = std::fs::read_dir(&migrations)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| &n[..4] <= last)
        .collect();
    names.sort();
    for name in names {
        std::fs::copy(migrations.join(&name), dir.path().join(&name)).unwrap();
    }
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str("sqlite://")
        .unwrap()
        .filename(db)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    sqlx::migrate::Migrator::new(dir.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    for statement in [
        "INSERT INTO accounts (id, name, created_at) VALUES (1, 'alice', 1)",
        "INSERT INTO platforms (platform_id, account_id, name, created_at) VALUES ('TPLATFORM0000000001', 1, 'p', 1)",
        "INSERT INTO teams (team_id, platform_id, name, created_at) VALUES ('1000000001', 'TPLATFORM0000000001', 't', 1)",
    ]
    .iter()
    .chain(rows)
    {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
}

fn mini_program_row(mnp_id: &str, name: &str, at: i64) -> String {
    format!(
        "INSERT INTO mini_programs (mnp_id, platform_id, team_id, name, mnp_type, icon, intro, description, create_user, created_at, update_user, updated_at)
         VALUES ('{mnp_id}', '{PLATFORM}', '1000000001', '{name}', 'Tools', 'https://h/i.png', 'i', 'd', 'alice', {at}, 'alice', {at})"
    )
}

#[tokio::test]
async fn reopening_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    database_from_before(&path, "9999", &[]).await;
    let s = SqliteStore::open(&path).await.unwrap();
    assert!(s.get_platform(PLATFORM).await.unwrap().is_some());
    s.close().await;
    let s = SqliteStore::open(&path).await.unwrap();
    assert_eq!(s.get_team("1000000001").await.unwrap().unwrap().name, "t");
}

#[tokio::test]
async fn mini_programs_from_before_the_migration_are_numbered_in_creation_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("meta.db");
    let late = mini_program_row("mpbbbbbbbbbbbbbb", "late", 20);
    let early = mini_program_row("mpaaaaaaaaaaaaaa", "early", 10);
    database_from_before(&db, "0001", &[&late, &early]).await;
    let s = SqliteStore::open(&db).await.unwrap();
    let t1 = s.get_team("1000000001").await.unwrap().unwrap();
    s.insert_mini_program(&mini("mpcccccccccccccc", "new", &t1, 30))
        .await
        .unwrap();
    let numbers: Vec<(String, i64)> =
        sql("SELECT mnp_id, number FROM mini_program_numbers ORDER BY number")
            .fetch_all(s.db.read())
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

/// 0006 gives approvals and items a `seq`: what was recorded before keeps
/// its order (the rowid), and later records follow.
#[tokio::test]
async fn approvals_from_before_the_migration_keep_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("meta.db");
    let mp = mini_program_row("mpaaaaaaaaaaaaaa", "shop", 10);
    let rows = [
        mp.as_str(),
        "INSERT INTO tasks (task_id, platform_id, mnp_id, mnp_version, file_url, intro, sha256, size, status, msg, create_user, created_at, updated_at)
         VALUES ('t1', 'TPLATFORM0000000001', 'mpaaaaaaaaaaaaaa', '1.0.0', 'u', 'i', 's', 1, 60, 'Success', 'alice', 10, 10)",
        "INSERT INTO versions (mnp_version_id, mnp_id, platform_id, version, intro, sha256, size, manifest, task_id, create_user, created_at)
         VALUES (7, 'mpaaaaaaaaaaaaaa', 'TPLATFORM0000000001', '1.0.0', 'i', 's', 1, '{}', 't1', 'alice', 10)",
        // Same apply_time: the one inserted last is the latest. Its items
        // were given z first, then a.
        "INSERT INTO approvals (approval_no, platform_id, mnp_id, mnp_version_id, status, apply_user, apply_time, updated_at)
         VALUES ('B-first', 'TPLATFORM0000000001', 'mpaaaaaaaaaaaaaa', 7, 4, 'alice', 50, 50)",
        "INSERT INTO approvals (approval_no, platform_id, mnp_id, mnp_version_id, status, apply_user, apply_time, updated_at)
         VALUES ('A-second', 'TPLATFORM0000000001', 'mpaaaaaaaaaaaaaa', 7, 1, 'alice', 50, 50)",
        "INSERT INTO approval_items (approval_no, application_id, status) VALUES ('A-second', 'app-z', 1)",
        "INSERT INTO approval_items (approval_no, application_id, status) VALUES ('A-second', 'app-a', 1)",
    ];
    database_from_before(&db, "0005", &rows).await;
    let s = SqliteStore::open(&db).await.unwrap();
    let latest = s
        .latest_approval_of_mini_program("mpaaaaaaaaaaaaaa")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.approval_no, "A-second");
    let items: Vec<_> = latest
        .items
        .iter()
        .map(|i| i.application_id.as_str())
        .collect();
    assert_eq!(items, ["app-z", "app-a"]);
    assert_eq!(
        s.latest_approval_of_version(7)
            .await
            .unwrap()
            .unwrap()
            .approval_no,
        "A-second"
    );
    // The constraints came through the rebuild: one open approval.
    let again = Approval {
        approval_no: "C-third".into(),
        platform_id: PLATFORM.into(),
        mnp_id: "mpaaaaaaaaaaaaaa".into(),
        mnp_version_id: 7,
        status: 1,
        apply_user: Actor::ApiKey {
            secret_id: "AKIDalice".into(),
        },
        apply_time: 50,
        updated_at: 50,
        items: Vec::new(),
    };
    assert_eq!(
        s.insert_approval(&again).await,
        Err(StoreError::Conflict("open".into()))
    );
}

/// 0010 records who acted beside the name shown: what was recorded before
/// names the platform's account, by the name it showed; an item nobody
/// decided names nobody.
#[tokio::test]
async fn records_from_before_attribution_name_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("meta.db");
    let mp = mini_program_row("mpaaaaaaaaaaaaaa", "shop", 10);
    let rows = [
        mp.as_str(),
        "INSERT INTO tasks (task_id, platform_id, mnp_id, mnp_version, file_url, intro, sha256, size, status, msg, create_user, created_at, updated_at)
         VALUES ('t1', 'TPLATFORM0000000001', 'mpaaaaaaaaaaaaaa', '1.0.0', 'u', 'i', 's', 1, 60, 'Success', 'admin', 10, 10)",
        "INSERT INTO versions (mnp_version_id, mnp_id, platform_id, version, intro, sha256, size, manifest, task_id, create_user, created_at)
         VALUES (7, 'mpaaaaaaaaaaaaaa', 'TPLATFORM0000000001', '1.0.0', 'i', 's', 1,
                 '{\"kind\":\"mini_program\",\"root\":\"\",\"pages\":[\"p/i/i\"],\"subpackages\":[],\"entry_page\":\"p/i/i\",\"file_count\":2,\"uncompressed_bytes\":2}',
                 't1', 'admin', 10)",
        "INSERT INTO approvals (approval_no, platform_id, mnp_id, mnp_version_id, status, apply_user, apply_time, updated_at)
         VALUES ('aud1', 'TPLATFORM0000000001', 'mpaaaaaaaaaaaaaa', 7, 1, 'admin', 50, 50)",
        "INSERT INTO approval_items (approval_no, application_id, status, approval_user, approval_time) VALUES ('aud1', 'app-a', 3, 'admin', 60)",
        "INSERT INTO approval_items (approval_no, application_id, status) VALUES ('aud1', 'app-b', 1)",
        "INSERT INTO releases (mnp_id, platform_id, mnp_version_id, kind, release_user, released_at)
         VALUES ('mpaaaaaaaaaaaaaa', 'TPLATFORM0000000001', 7, 'release', 'admin', 70)",
        "INSERT INTO online_versions (mnp_id, mnp_version_id, release_id, updated_at) VALUES ('mpaaaaaaaaaaaaaa', 7, 1, 70)",
    ];
    database_from_before(&db, "0008", &rows).await;
    let s = SqliteStore::open(&db).await.unwrap();
    let account = Actor::Account {
        account_id: 1,
        name: "admin".into(),
    };
    assert_eq!(
        s.get_task("t1").await.unwrap().unwrap().create_user,
        account
    );
    let version = s.get_version(7).await.unwrap().unwrap();
    assert_eq!(version.new.create_user, account);
    let approval = s.get_approval("aud1").await.unwrap().unwrap();
    assert_eq!(approval.apply_user, account);
    let deciders: Vec<_> = approval
        .items
        .iter()
        .map(|i| i.approval_user.clone())
        .collect();
    assert_eq!(deciders, [Some(account.clone()), None]);
    let online = s.online_version("mpaaaaaaaaaaaaaa").await.unwrap().unwrap();
    assert_eq!(online.release_user, account);
    // Each creator's latest version: the account is one creator.
    let develop = s
        .latest_version_of_each_creator("mpaaaaaaaaaaaaaa")
        .await
        .unwrap();
    assert_eq!(develop, [version]);
}
