use super::*;

async fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    (dir, s)
}

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

fn mini(id: &str, name: &str, p: &Platform, t: &Team, at: i64) -> MiniProgram {
    MiniProgram {
        mnp_id: id.into(),
        platform_id: p.platform_id.clone(),
        team_id: t.team_id.clone(),
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

fn pending(id: &str, mnp: &str, version: &str, at: i64) -> Task {
    Task {
        task_id: id.into(),
        platform_id: "TPLATFORM0000000001".into(),
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
        created_at: at,
        updated_at: at,
    }
}

fn manifest() -> mnpd_package::Manifest {
    serde_json::from_value(serde_json::json!({
        "kind": "mini_program", "root": "", "pages": ["pages/index/index"],
        "subpackages": [], "entry_page": "pages/index/index",
        "file_count": 4, "uncompressed_bytes": 100
    }))
    .unwrap()
}

fn version_of(t: &Task) -> NewVersion {
    NewVersion {
        mnp_id: t.mnp_id.clone(),
        platform_id: t.platform_id.clone(),
        version: t.mnp_version.clone(),
        intro: t.intro.clone(),
        sha256: t.sha256.clone(),
        size: t.size,
        manifest: manifest(),
        task_id: t.task_id.clone(),
        create_user: t.create_user.clone(),
        created_at: 5,
    }
}

fn accept_all(_: &[String]) -> Result<(), String> {
    Ok(())
}

#[tokio::test]
async fn keys_platforms_teams() {
    let (_d, s) = store().await;
    let (a, p, t) = seed(&s).await;
    let key = ApiKey {
        secret_id: "AKIDx".into(),
        secret_key: "k".into(),
        account_id: a.id,
        enabled: true,
        created_at: 1,
    };
    s.insert_api_key(&key).await.unwrap();
    assert!(matches!(
        s.insert_api_key(&key).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.find_api_key("AKIDx").await.unwrap(), Some(key.clone()));
    assert!(s.set_api_key_enabled("AKIDx", false).await.unwrap());
    assert!(!s.find_api_key("AKIDx").await.unwrap().unwrap().enabled);
    assert!(!s.set_api_key_enabled("nope", false).await.unwrap());
    assert_eq!(
        s.get_platform(&p.platform_id).await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(s.default_team(&p.platform_id).await.unwrap(), Some(t));
    assert_eq!(s.list_platforms(Some(a.id)).await.unwrap().len(), 1);
    assert_eq!(s.list_platforms(Some(a.id + 1)).await.unwrap().len(), 0);
}

#[tokio::test]
async fn mini_program_names_are_unique_per_platform_and_listing_filters() {
    let (_d, s) = store().await;
    let (_a, p, t) = seed(&s).await;
    s.insert_mini_program(&mini("mpaaaaaaaaaaaaaa", "Shop", &p, &t, 1))
        .await
        .unwrap();
    s.insert_mini_program(&mini("mpbbbbbbbbbbbbbb", "Pay_100%", &p, &t, 2))
        .await
        .unwrap();
    assert_eq!(
        s.insert_mini_program(&mini("mpcccccccccccccc", "Shop", &p, &t, 3))
            .await,
        Err(StoreError::Conflict("name".into()))
    );
    assert_eq!(
        s.insert_mini_program(&mini("mpaaaaaaaaaaaaaa", "Other", &p, &t, 3))
            .await,
        Err(StoreError::Conflict("id".into()))
    );
    let mut q = MiniProgramQuery {
        platform_id: p.platform_id.clone(),
        limit: 10,
        ..Default::default()
    };
    let (n, page) = s.list_mini_programs(&q).await.unwrap();
    assert_eq!(n, 2);
    assert_eq!(page[0].mini_program.name, "Pay_100%", "newest first");
    assert_eq!(page[0].team_name, "default");
    q.keyword = Some("shop".into());
    assert_eq!(s.list_mini_programs(&q).await.unwrap().0, 1);
    q.keyword = Some("_100%".into());
    assert_eq!(
        s.list_mini_programs(&q).await.unwrap().0,
        1,
        "LIKE wildcards are literal"
    );
    q.keyword = Some("y_1".into());
    assert_eq!(s.list_mini_programs(&q).await.unwrap().0, 1);
    q.keyword = Some("zzz".into());
    assert_eq!(s.list_mini_programs(&q).await.unwrap().0, 0);
    q.keyword = None;
    q.offset = 1;
    q.limit = 1;
    let (n, page) = s.list_mini_programs(&q).await.unwrap();
    assert_eq!((n, page.len()), (2, 1));
    assert_eq!(page[0].mini_program.name, "Shop");
}

#[tokio::test]
async fn task_lifecycle_records_version_once() {
    let (_d, s) = store().await;
    let (_a, p, t) = seed(&s).await;
    s.insert_mini_program(&mini("mpaaaaaaaaaaaaaa", "Shop", &p, &t, 1))
        .await
        .unwrap();
    let task = pending("2024082016302500001", "mpaaaaaaaaaaaaaa", "1.0.0", 1);
    s.insert_task_checked(&task, &accept_all).await.unwrap();
    assert_eq!(
        s.insert_task_checked(&task, &accept_all).await,
        Err(StoreError::Conflict("task_id".into()))
    );
    let refuse = |live: &[String]| {
        if live.contains(&"1.0.0".to_string()) {
            Err("not greater".to_string())
        } else {
            Ok(())
        }
    };
    let mut second = pending("2024082016302500002", "mpaaaaaaaaaaaaaa", "1.0.0", 2);
    assert_eq!(
        s.insert_task_checked(&second, &refuse).await,
        Err(StoreError::Conflict("not greater".into()))
    );
    assert!(s
        .find_reusable_task("mpaaaaaaaaaaaaaa", "1.0.0", "http://h/p.zip", "first")
        .await
        .unwrap()
        .is_some());

    let claimed = s.claim_task("w1", 10, 60).await.unwrap().unwrap();
    assert_eq!(claimed.status, TaskStatus::Running);
    assert_eq!(claimed.attempts, 1);
    assert!(
        s.claim_task("w2", 11, 60).await.unwrap().is_none(),
        "leased"
    );
    assert_eq!(
        s.complete_task(&task.task_id, "w2", &version_of(&task), 12)
            .await
            .unwrap(),
        None,
        "not the owner"
    );
    let id = s
        .complete_task(&task.task_id, "w1", &version_of(&task), 12)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        s.complete_task(&task.task_id, "w1", &version_of(&task), 13)
            .await
            .unwrap(),
        None,
        "finished once"
    );
    let done = s.get_task(&task.task_id).await.unwrap().unwrap();
    assert_eq!(
        (done.status, done.mnp_version_id),
        (TaskStatus::Succeeded, Some(id))
    );
    let v = s.get_version(id).await.unwrap().unwrap();
    assert_eq!(v.new.version, "1.0.0");
    assert_eq!(v.new.manifest, manifest());
    assert_eq!(s.referenced_blobs().await.unwrap(), vec!["b".repeat(64)]);

    second.task_id = "2024082016302500003".into();
    second.mnp_version = "1.0.1".into();
    s.insert_task_checked(&second, &accept_all).await.unwrap();
    s.claim_task("w1", 20, 60).await.unwrap().unwrap();
    assert!(s
        .fail_task(&second.task_id, "w1", "bad page", 21)
        .await
        .unwrap());
    let failed = s.get_task(&second.task_id).await.unwrap().unwrap();
    assert_eq!(
        (failed.status, failed.msg.as_str()),
        (TaskStatus::Failed, "bad page")
    );
    let mut live = s.live_version_numbers("mpaaaaaaaaaaaaaa").await.unwrap();
    live.sort();
    assert_eq!(
        live,
        vec!["1.0.0".to_string()],
        "a failed version number is free again"
    );
}

#[tokio::test]
async fn expired_lease_is_claimed_again() {
    let (_d, s) = store().await;
    let (_a, p, t) = seed(&s).await;
    s.insert_mini_program(&mini("mpaaaaaaaaaaaaaa", "Shop", &p, &t, 1))
        .await
        .unwrap();
    let task = pending("2024082016302500001", "mpaaaaaaaaaaaaaa", "1.0.0", 1);
    s.insert_task_checked(&task, &accept_all).await.unwrap();
    s.claim_task("dead", 10, 60).await.unwrap().unwrap();
    assert!(s.claim_task("w2", 69, 60).await.unwrap().is_none());
    let again = s.claim_task("w2", 71, 60).await.unwrap().unwrap();
    assert_eq!(again.attempts, 2);
    assert!(
        !s.fail_task(&task.task_id, "dead", "late", 72)
            .await
            .unwrap(),
        "the dead owner lost it"
    );
    // Start-up recovery on a single node frees leases at once.
    assert_eq!(s.expire_all_leases().await.unwrap(), 1);
    assert!(s.claim_task("w3", 72, 60).await.unwrap().is_some());
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
