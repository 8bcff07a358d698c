use mnpd_domain::DomainError;

use super::super::SqliteStore;
use super::*;

const PLATFORM: &str = "TPLATFORM0000000001";

async fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    (dir, s)
}

/// An account with two platforms; the first has two teams.
async fn seed(s: &SqliteStore) -> (Team, Team, Team) {
    let a = s.create_account("alice", 1).await.unwrap();
    let mut team_of = Vec::new();
    for (platform_id, team_id, name) in [
        (PLATFORM, "1000000001", "default"),
        (PLATFORM, "1000000002", "second"),
        ("TPLATFORM0000000002", "1000000003", "other"),
    ] {
        if s.get_platform(platform_id).await.unwrap().is_none() {
            s.insert_platform(&Platform {
                platform_id: platform_id.into(),
                account_id: a.id,
                name: "p".into(),
                expires_at: None,
                created_at: 1,
            })
            .await
            .unwrap();
        }
        let t = Team {
            team_id: team_id.into(),
            platform_id: platform_id.into(),
            name: name.into(),
            created_at: 1,
        };
        s.insert_team(&t).await.unwrap();
        team_of.push(t);
    }
    (team_of[0].clone(), team_of[1].clone(), team_of[2].clone())
}

fn app(id: &str, name: &str, team: &Team, at: i64) -> Application {
    Application {
        application_id: id.into(),
        number: 0,
        platform_id: team.platform_id.clone(),
        team_id: team.team_id.clone(),
        name: name.into(),
        logo: "https://h/logo.png".into(),
        intro: "intro".into(),
        remark: String::new(),
        android_app_key: "com.example.app".into(),
        ios_app_key: String::new(),
        application_type: 1,
        create_user: "alice".into(),
        created_at: at,
        update_user: "alice".into(),
        updated_at: at,
    }
}

fn mini(id: &str, name: &str, team: &Team, at: i64) -> MiniProgram {
    MiniProgram {
        mnp_id: id.into(),
        platform_id: team.platform_id.clone(),
        team_id: team.team_id.clone(),
        name: name.into(),
        mnp_type: "Tools->93_Weather".into(),
        icon: "https://h/i.png".into(),
        intro: "i".into(),
        desc: "d".into(),
        status: 0,
        create_user: "alice".into(),
        created_at: at,
        update_user: "alice".into(),
        updated_at: at,
    }
}

#[tokio::test]
async fn applications_are_unique_per_platform_listed_and_updated() {
    let (_d, s) = store().await;
    let (t1, t2, other) = seed(&s).await;
    let n1 = s
        .insert_application(&app("app-aaaaaaaaaa", "Shop", &t1, 10))
        .await
        .unwrap();
    let n2 = s
        .insert_application(&app("app-bbbbbbbbbb", "Pay_100%", &t2, 20))
        .await
        .unwrap();
    assert!(n2 > n1, "numbers grow");
    assert_eq!(
        s.insert_application(&app("app-cccccccccc", "Shop", &t2, 30))
            .await,
        Err(StoreError::Conflict("name".into()))
    );
    assert_eq!(
        s.insert_application(&app("app-aaaaaaaaaa", "Else", &t1, 30))
            .await,
        Err(StoreError::Conflict("id".into()))
    );
    // The same name on another platform is fine.
    s.insert_application(&app("app-dddddddddd", "Shop", &other, 30))
        .await
        .unwrap();

    let got = s
        .get_application(PLATFORM, "app-aaaaaaaaaa")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got,
        Application {
            number: n1,
            ..app("app-aaaaaaaaaa", "Shop", &t1, 10)
        }
    );
    assert_eq!(
        s.get_application("TPLATFORM0000000002", "app-aaaaaaaaaa")
            .await
            .unwrap(),
        None,
        "another platform's application is not found"
    );

    let mut q = ApplicationQuery {
        platform_id: PLATFORM.into(),
        limit: 10,
        ..Default::default()
    };
    let (n, page) = s.list_applications(&q).await.unwrap();
    assert_eq!(n, 2);
    assert_eq!(page[0].application.name, "Pay_100%", "newest first");
    assert_eq!(page[0].team_name, "second");
    q.keyword = Some("_100%".into());
    assert_eq!(
        s.list_applications(&q).await.unwrap().0,
        1,
        "LIKE wildcards are literal"
    );
    q.keyword = Some("APP-AAAA".into());
    assert_eq!(
        s.list_applications(&q).await.unwrap().0,
        1,
        "by id, any case"
    );
    q.keyword = Some(String::new());
    q.team_id = Some(t1.team_id.clone());
    let (n, page) = s.list_applications(&q).await.unwrap();
    assert_eq!(
        (n, page[0].application.application_id.as_str()),
        (1, "app-aaaaaaaaaa")
    );
    q.team_id = None;
    q.offset = 1;
    q.limit = 1;
    let (n, page) = s.list_applications(&q).await.unwrap();
    assert_eq!((n, page.len()), (2, 1));
    assert_eq!(page[0].application.name, "Shop");

    let all = s.list_platform_applications(PLATFORM).await.unwrap();
    let ids: Vec<_> = all.iter().map(|a| a.application_id.as_str()).collect();
    assert_eq!(ids, ["app-aaaaaaaaaa", "app-bbbbbbbbbb"], "oldest first");

    let mut changed = got.clone();
    changed.name = "Pay_100%".into();
    assert_eq!(
        s.update_application(&changed).await,
        Err(StoreError::Conflict("name".into()))
    );
    changed.name = "Shop 2".into();
    changed.ios_app_key = "com.example.ios".into();
    changed.updated_at = 99;
    assert!(s.update_application(&changed).await.unwrap());
    assert_eq!(
        s.get_application(PLATFORM, "app-aaaaaaaaaa").await.unwrap(),
        Some(changed.clone())
    );
    changed.platform_id = "TPLATFORM0000000002".into();
    assert!(
        !s.update_application(&changed).await.unwrap(),
        "not across platforms"
    );
}

#[tokio::test]
async fn deleting_an_application_is_refused_while_an_approval_refers_to_it() {
    let (_d, s) = store().await;
    let (t1, _, _) = seed(&s).await;
    s.insert_application(&app("app-aaaaaaaaaa", "Shop", &t1, 10))
        .await
        .unwrap();
    s.insert_application(&app("app-bbbbbbbbbb", "Pay", &t1, 10))
        .await
        .unwrap();
    assert!(!s.application_in_use("app-aaaaaaaaaa").await.unwrap());
    // An approval item naming the first application (the approval itself
    // is beside the point here).
    sqlx::query("PRAGMA foreign_keys = OFF")
        .execute(&s.write)
        .await
        .unwrap();
    sqlx::query("INSERT INTO approval_items (approval_no, application_id, status) VALUES ('audaaaaaaaaaaaaaaa', 'app-aaaaaaaaaa', 1)")
        .execute(&s.write)
        .await
        .unwrap();
    sqlx::query("PRAGMA foreign_keys = ON")
        .execute(&s.write)
        .await
        .unwrap();
    assert!(s.application_in_use("app-aaaaaaaaaa").await.unwrap());
    assert_eq!(
        s.delete_application(PLATFORM, "app-aaaaaaaaaa").await,
        Err(StoreError::Conflict("in_use".into()))
    );
    assert!(s
        .get_application(PLATFORM, "app-aaaaaaaaaa")
        .await
        .unwrap()
        .is_some());
    assert!(!s
        .delete_application("TPLATFORM0000000002", "app-bbbbbbbbbb")
        .await
        .unwrap());
    assert!(s
        .delete_application(PLATFORM, "app-bbbbbbbbbb")
        .await
        .unwrap());
    assert!(!s
        .delete_application(PLATFORM, "app-bbbbbbbbbb")
        .await
        .unwrap());
    assert_eq!(
        s.list_platform_applications(PLATFORM).await.unwrap().len(),
        1
    );
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

fn pending(id: &str, mnp: &str, version: &str) -> Task {
    Task {
        task_id: id.into(),
        platform_id: PLATFORM.into(),
        mnp_id: mnp.into(),
        mnp_version: version.into(),
        file_url: "http://h/p.zip".into(),
        intro: "first".into(),
        sha256: "b".repeat(64),
        size: 10,
        status: TaskStatus::Pending,
        msg: "Pending".into(),
        attempts: 0,
        mnp_version_id: None,
        create_user: "alice".into(),
        created_at: 1,
        updated_at: 1,
    }
}

/// A recorded version of `mnp`, through the task path.
async fn version(s: &SqliteStore, mnp: &str, task_id: &str, number: &str) -> Version {
    let task = pending(task_id, mnp, number);
    s.insert_task_checked(&task, &|_: &[String]| Ok(()))
        .await
        .unwrap();
    s.claim_task("w", 2, 60).await.unwrap().unwrap();
    let new = NewVersion {
        mnp_id: mnp.into(),
        platform_id: PLATFORM.into(),
        version: number.into(),
        intro: "first".into(),
        sha256: task.sha256.clone(),
        size: 10,
        manifest: serde_json::from_value(serde_json::json!({
            "kind": "mini_program", "root": "", "pages": ["pages/index/index"],
            "subpackages": [], "entry_page": "pages/index/index",
            "file_count": 4, "uncompressed_bytes": 100
        }))
        .unwrap(),
        task_id: task_id.into(),
        create_user: "alice".into(),
        created_at: 3,
    };
    let id = s
        .complete_task(task_id, "w", &new, 3)
        .await
        .unwrap()
        .unwrap();
    s.get_version(id).await.unwrap().unwrap()
}

async fn count(s: &SqliteStore, table: &str, mnp: &str) -> i64 {
    sqlx::query(&format!("SELECT count(*) FROM {table} WHERE mnp_id = ?"))
        .bind(mnp)
        .fetch_one(&s.read)
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn mini_programs_are_modified_taken_out_of_service_and_deleted_with_all_their_records() {
    let (_d, s) = store().await;
    let (t1, _, other) = seed(&s).await;
    let (a, b) = ("mpaaaaaaaaaaaaaa", "mpbbbbbbbbbbbbbb");
    s.insert_mini_program(&mini(a, "Shop", &t1, 1))
        .await
        .unwrap();
    s.insert_mini_program(&mini(b, "Pay", &t1, 2))
        .await
        .unwrap();

    let mut mp = s
        .get_mini_program(PLATFORM, a)
        .await
        .unwrap()
        .unwrap()
        .mini_program;
    mp.name = "Pay".into();
    assert_eq!(
        s.update_mini_program(&mp).await,
        Err(StoreError::Conflict("name".into()))
    );
    mp.name = "Shop 2".into();
    mp.mnp_type = "Life Service->144_Lilliputian Services".into();
    mp.updated_at = 50;
    let number = s.update_mini_program(&mp).await.unwrap().unwrap();
    assert_eq!(
        s.update_mini_program(&mp).await.unwrap(),
        Some(number),
        "stable"
    );
    assert_eq!(
        s.get_mini_program(PLATFORM, a)
            .await
            .unwrap()
            .unwrap()
            .mini_program,
        mp
    );
    let mut theirs = mp.clone();
    theirs.platform_id = other.platform_id.clone();
    assert_eq!(s.update_mini_program(&theirs).await.unwrap(), None);

    assert!(s
        .set_mini_program_status(PLATFORM, a, 2, "bob", 60)
        .await
        .unwrap());
    let removed = s
        .get_mini_program(PLATFORM, a)
        .await
        .unwrap()
        .unwrap()
        .mini_program;
    assert_eq!(
        (
            removed.status,
            removed.update_user.as_str(),
            removed.updated_at
        ),
        (2, "bob", 60)
    );
    assert!(!s
        .set_mini_program_status(&other.platform_id, a, 2, "bob", 60)
        .await
        .unwrap());

    // Records of every kind for `a`, one version for `b`.
    let v1 = version(&s, a, "2024082016302500001", "1.0.0").await;
    let v2 = version(&s, a, "2024082016302500002", "1.1.0").await;
    let vb = version(&s, b, "2024082016302500004", "1.0.0").await;
    // And a task still pending.
    s.insert_task_checked(
        &pending("2024082016302500003", a, "2.0.0"),
        &|_: &[String]| Ok(()),
    )
    .await
    .unwrap();
    s.insert_approval(&Approval {
        approval_no: "audaaaaaaaaaaaaaaa".into(),
        platform_id: PLATFORM.into(),
        mnp_id: a.into(),
        mnp_version_id: v2.mnp_version_id,
        status: 1,
        apply_user: "alice".into(),
        apply_time: 4,
        updated_at: 4,
        items: vec![ApprovalItem {
            application_id: "app-aaaaaaaaaa".into(),
            status: 1,
            note: String::new(),
            approval_user: String::new(),
            approval_time: 0,
        }],
    })
    .await
    .unwrap();
    let allow = |_: &ReleaseState| -> Result<(), DomainError> { Ok(()) };
    s.change_online_version(&v1, ReleaseKind::Release, "alice", 5, &allow)
        .await
        .unwrap()
        .unwrap();
    let allow_preview = |_: Option<&Preview>| -> Result<(), DomainError> { Ok(()) };
    s.set_preview(
        &Preview {
            mnp_id: a.into(),
            kind: PreviewKind::Trial,
            mnp_version_id: v2.mnp_version_id,
            entrance_path: "pages/index/index".into(),
            updated_at: 6,
        },
        &allow_preview,
    )
    .await
    .unwrap()
    .unwrap();

    assert!(
        !s.delete_mini_program(&other.platform_id, a).await.unwrap(),
        "not across platforms"
    );
    assert!(s.delete_mini_program(PLATFORM, a).await.unwrap());
    assert!(!s.delete_mini_program(PLATFORM, a).await.unwrap(), "gone");
    assert!(s.get_mini_program(PLATFORM, a).await.unwrap().is_none());
    for table in [
        "tasks",
        "versions",
        "approvals",
        "releases",
        "online_versions",
        "previews",
        "mini_program_numbers",
    ] {
        assert_eq!(count(&s, table, a).await, 0, "{table}");
    }
    let items: i64 = sqlx::query("SELECT count(*) FROM approval_items")
        .fetch_one(&s.read)
        .await
        .unwrap()
        .get(0);
    assert_eq!(items, 0);
    assert!(s.get_version(v1.mnp_version_id).await.unwrap().is_none());
    // The other mini program keeps everything.
    assert_eq!(s.get_version(vb.mnp_version_id).await.unwrap(), Some(vb));
    assert_eq!(count(&s, "tasks", b).await, 1);

    // A number is never handed out again.
    s.insert_mini_program(&mini("mpcccccccccccccc", "New", &t1, 9))
        .await
        .unwrap();
    let mut c = s
        .get_mini_program(PLATFORM, "mpcccccccccccccc")
        .await
        .unwrap()
        .unwrap()
        .mini_program;
    c.updated_at = 10;
    assert!(s.update_mini_program(&c).await.unwrap().unwrap() > number);
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
