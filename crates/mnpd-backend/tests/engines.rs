//! The store suite (src/suite.rs) on every metadata engine: SQLite in a
//! temporary file, and PostgreSQL at `MNPD_TEST_DATABASE_URL` (by default
//! `postgres://postgres@127.0.0.1:5432/postgres`, the server that
//! `scripts/services` starts), each test in a database of its own, created
//! before it and dropped after it, failed or not, so tests run in
//! parallel. Then what only PostgreSQL has: migrations, the schema against
//! SQLite's, outages, several nodes. An unreachable PostgreSQL fails the
//! tests (never skips them).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use mnpd_backend::suite::Store;
use mnpd_backend::{PgOptions, PgStore, SqliteStore};
use mnpd_domain::entity::*;
use mnpd_domain::store::*;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Row};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

mod sqlite {
    use super::*;

    async fn run<F, Fut>(_name: &'static str, test: F)
    where
        F: FnOnce(Store) -> Fut,
        Fut: Future<Output = ()>,
    {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("meta.db"))
            .await
            .unwrap();
        test(Arc::new(store)).await;
    }

    mnpd_backend::store_suite!(run);
}

mod postgres {
    use super::*;

    async fn run<F, Fut>(_name: &'static str, test: F)
    where
        F: FnOnce(Store) -> Fut,
        Fut: Future<Output = ()>,
    {
        with_database(|options| async move {
            let store = Arc::new(
                PgStore::connect_options(options, PgOptions::default())
                    .await
                    .unwrap(),
            );
            test(store.clone()).await;
            store.close().await;
        })
        .await;
    }

    mnpd_backend::store_suite!(run);
}

fn base_url() -> String {
    std::env::var("MNPD_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// A connection to the server's maintenance database; panics, saying what
/// to do, when the server cannot be reached.
async fn admin_connection() -> (PgConnectOptions, PgConnection) {
    let url = base_url();
    let hint = format!(
        "PostgreSQL is not reachable at {url} (set MNPD_TEST_DATABASE_URL to use another); \
         run scripts/services to start it"
    );
    let options = PgConnectOptions::from_str(&url).unwrap_or_else(|e| panic!("{hint}: {e}"));
    match tokio::time::timeout(Duration::from_secs(5), options.connect()).await {
        Ok(Ok(conn)) => (options, conn),
        Ok(Err(e)) => panic!("{hint}: {e}"),
        Err(_) => panic!("{hint}: no connection within 5 s"),
    }
}

/// Runs `test` with the connection options of a fresh, empty database,
/// then drops the database (closing whatever connections are left), also
/// when the test panicked; the panic is passed on afterwards.
async fn with_database<F, Fut>(test: F)
where
    F: FnOnce(PgConnectOptions) -> Fut,
    Fut: Future<Output = ()>,
{
    let name = format!("mnpd_test_{}", uuid::Uuid::new_v4().simple());
    let (admin, mut conn) = admin_connection().await;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let options = admin.clone().database(&name);
    let outcome = AssertUnwindSafe(test(options)).catch_unwind().await;
    // The test's connection may have timed out meanwhile: a new one.
    let (_, mut conn) = admin_connection().await;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.ok();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// `url` naming the database `name` instead.
fn url_of_database(url: &str, name: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((main, query)) => (main, format!("?{query}")),
        None => (url, String::new()),
    };
    let after_scheme = main.find("://").map(|i| i + 3).unwrap_or(0);
    let main = match main[after_scheme..].find('/') {
        Some(slash) => &main[..after_scheme + slash],
        None => main,
    };
    format!("{main}/{name}{query}")
}

fn no_migration() -> PgOptions {
    PgOptions {
        migrate: false,
        ..PgOptions::default()
    }
}

/// The versions of the files in migrations/postgres, in order.
fn migration_versions() -> Vec<i64> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
    let mut versions: Vec<i64> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .split('_')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    versions.sort_unstable();
    versions
}

async fn applied_migrations(store: &PgStore) -> Vec<i64> {
    sqlx::query("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(store.pg_pool().unwrap())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn postgres_migrates_an_empty_database_and_migrating_again_changes_nothing() {
    with_database(|options| async move {
        let name = options.get_database().unwrap().to_string();
        let store = PgStore::connect_options(options, no_migration())
            .await
            .unwrap();
        assert!(
            matches!(store.get_account(1).await, Err(StoreError::Other(_))),
            "no tables before migrating"
        );
        store.migrate().await.unwrap();
        let expected = migration_versions();
        assert!(expected.len() >= 3, "{expected:?}");
        assert_eq!(applied_migrations(&store).await, expected);
        let a = store.create_account("alice", 1).await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(applied_migrations(&store).await, expected);
        store.close().await;

        // `connect` migrates, and finds nothing to do.
        let url = url_of_database(&base_url(), &name);
        let again = PgStore::connect(&url).await.unwrap();
        assert_eq!(applied_migrations(&again).await, expected);
        assert_eq!(again.get_account(a.id).await.unwrap(), Some(a));
        // Several nodes starting at once.
        let nodes = futures::future::join_all((0..3).map(|_| PgStore::connect(&url))).await;
        for node in nodes {
            let node = node.unwrap();
            assert_eq!(applied_migrations(&node).await, expected);
            node.close().await;
        }
        again.close().await;
    })
    .await;
}

/// The tables, their columns and the named indexes of SQLite's schema are
/// PostgreSQL's too: one query text fits both.
#[tokio::test]
async fn postgres_schema_has_the_tables_columns_and_indexes_of_sqlite() {
    use std::collections::BTreeSet;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    SqliteStore::open(&path).await.unwrap().close().await;
    let sqlite = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .read_only(true),
    )
    .await
    .unwrap();
    let mut sqlite_columns = BTreeSet::new();
    let tables: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&sqlite)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect();
    for table in tables {
        for r in sqlx::query("SELECT name FROM pragma_table_info(?)")
            .bind(&table)
            .fetch_all(&sqlite)
            .await
            .unwrap()
        {
            sqlite_columns.insert((table.clone(), r.get::<String, _>(0)));
        }
    }
    let sqlite_indexes: BTreeSet<String> =
        sqlx::query("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
            .fetch_all(&sqlite)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
    sqlite.close().await;
    assert!(sqlite_columns.len() > 50 && sqlite_indexes.len() > 5);

    with_database(|options| async move {
        let store = PgStore::connect_options(options, PgOptions::default())
            .await
            .unwrap();
        let pg_columns: BTreeSet<(String, String)> = sqlx::query(
            "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
        )
        .fetch_all(store.pg_pool().unwrap())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
        assert_eq!(pg_columns, sqlite_columns);
        let pg_indexes: BTreeSet<String> = sqlx::query(
            "SELECT indexname::TEXT FROM pg_indexes WHERE schemaname = current_schema()",
        )
        .fetch_all(store.pg_pool().unwrap())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
        let missing: Vec<_> = sqlite_indexes.difference(&pg_indexes).collect();
        assert!(
            missing.is_empty(),
            "indexes missing on PostgreSQL: {missing:?}"
        );
        store.close().await;
    })
    .await;
}

/// As on SQLite: mini programs of a database from before 0002 get numbers
/// in creation order, and new ones follow.
#[tokio::test]
async fn postgres_numbers_mini_programs_from_before_the_migration_in_creation_order() {
    with_database(|options| async move {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/migrations/postgres/0001_init.sql"
            ),
            dir.path().join("0001_init.sql"),
        )
        .unwrap();
        {
            let mut conn = options.connect().await.unwrap();
            sqlx::migrate::Migrator::new(dir.path())
                .await
                .unwrap()
                .run(&mut conn)
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
                sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
            }
            conn.close().await.unwrap();
        }
        let store = PgStore::connect_options(options, PgOptions::default())
            .await
            .unwrap();
        let team = store.get_team("1000000001").await.unwrap().unwrap();
        let mut new = MiniProgram {
            mnp_id: "mpcccccccccccccc".into(),
            platform_id: team.platform_id.clone(),
            team_id: team.team_id.clone(),
            name: "new".into(),
            mnp_type: "Tools".into(),
            icon: "https://h/i.png".into(),
            intro: "i".into(),
            desc: "d".into(),
            status: 0,
            create_user: "alice".into(),
            created_at: 30,
            update_user: "alice".into(),
            updated_at: 30,
        };
        store.insert_mini_program(&new).await.unwrap();
        let mut numbers = Vec::new();
        for (id, name) in [
            ("mpaaaaaaaaaaaaaa", "early"),
            ("mpbbbbbbbbbbbbbb", "late"),
            ("mpcccccccccccccc", "new"),
        ] {
            new.mnp_id = id.into();
            new.name = name.into();
            numbers.push(store.update_mini_program(&new).await.unwrap().unwrap());
        }
        assert_eq!(numbers, [1, 2, 3]);
        store.close().await;
    })
    .await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn postgres_outage_answers_unavailable_quickly() {
    // Nothing listens there.
    let started = Instant::now();
    let result = PgStore::connect_with(
        &format!("postgres://postgres@127.0.0.1:{}/postgres", free_port()),
        PgOptions {
            acquire_timeout: Duration::from_secs(1),
            ..PgOptions::default()
        },
    )
    .await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{:?}",
        result.err()
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    with_database(|options| async move {
        let store = PgStore::connect_options(options.clone(), PgOptions::default())
            .await
            .unwrap();
        store.create_account("alice", 1).await.unwrap();
        // The server ends every connection of the store: the pool opens
        // new ones.
        let (_, mut admin) = admin_connection().await;
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(options.get_database().unwrap())
        .execute(&mut admin)
        .await
        .unwrap();
        admin.close().await.ok();
        let mut answered = false;
        for _ in 0..3 {
            // A connection ended while idle in the pool may fail one call.
            match store.get_account(1).await {
                Ok(a) => {
                    assert_eq!(a.unwrap().name, "alice");
                    answered = true;
                    break;
                }
                Err(e) => assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}"),
            }
        }
        assert!(answered, "the store recovers");
        // A closed store is unavailable, not broken (asked something it
        // does not remember: accounts are kept in memory once read).
        store.close().await;
        assert!(matches!(
            store.task_backlog().await,
            Err(StoreError::Unavailable(_))
        ));
    })
    .await;
}

/// Two nodes (two pools) sharing one database hand out each task once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_nodes_share_the_task_queue() {
    with_database(|options| async move {
        let node = |o: PgConnectOptions| async move {
            Arc::new(
                PgStore::connect_options(o, PgOptions::default())
                    .await
                    .unwrap(),
            )
        };
        let a = node(options.clone()).await;
        let b = node(options.clone()).await;
        let account = a.create_account("alice", 1).await.unwrap();
        a.insert_platform(&Platform {
            platform_id: "TPLATFORM0000000001".into(),
            account_id: account.id,
            name: "p".into(),
            expires_at: None,
            created_at: 1,
        })
        .await
        .unwrap();
        a.insert_team(&Team {
            team_id: "1000000001".into(),
            platform_id: "TPLATFORM0000000001".into(),
            name: "t".into(),
            created_at: 1,
            role_types: vec![1, 2],
            ..Team::default()
        })
        .await
        .unwrap();
        a.insert_mini_program(&MiniProgram {
            mnp_id: "mpaaaaaaaaaaaaaa".into(),
            platform_id: "TPLATFORM0000000001".into(),
            team_id: "1000000001".into(),
            name: "Shop".into(),
            mnp_type: "Tools".into(),
            icon: "https://h/i.png".into(),
            intro: "i".into(),
            desc: "d".into(),
            status: 0,
            create_user: "alice".into(),
            created_at: 1,
            update_user: "alice".into(),
            updated_at: 1,
        })
        .await
        .unwrap();
        for i in 0..10i64 {
            let task = Task {
                task_id: format!("2024082016302500{i:03}"),
                platform_id: "TPLATFORM0000000001".into(),
                mnp_id: "mpaaaaaaaaaaaaaa".into(),
                mnp_version: format!("1.0.{i}"),
                file_url: "http://h/p.zip".into(),
                intro: "i".into(),
                sha256: "b".repeat(64),
                size: 1,
                status: TaskStatus::Pending,
                msg: "Pending".into(),
                attempts: 0,
                mnp_version_id: None,
                create_user: Actor::ApiKey {
                    secret_id: "AKIDalice".into(),
                },
                created_at: i,
                updated_at: i,
                compile: None,
            };
            // Half through each node.
            let node = if i % 2 == 0 { &a } else { &b };
            node.insert_task_checked(&task, &|_: &[String]| Ok(()))
                .await
                .unwrap();
        }
        let workers: Vec<_> = (0..6)
            .map(|w| {
                let store = if w % 2 == 0 { a.clone() } else { b.clone() };
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    while let Some(task) =
                        store.claim_task(&format!("w{w}"), 100, 60).await.unwrap()
                    {
                        mine.push(task.task_id);
                    }
                    mine
                })
            })
            .collect();
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.unwrap());
        }
        all.sort();
        let expected: Vec<String> = (0..10).map(|i| format!("2024082016302500{i:03}")).collect();
        assert_eq!(all, expected, "every task once");
        a.close().await;
        b.close().await;
    })
    .await;
}
