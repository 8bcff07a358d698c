//! `RedisLimiter` against the Redis at 127.0.0.1:6379 (started by
//! `scripts/services`), plus Redis servers of the tests' own on free ports
//! for outages. Keys carry a fresh id per test so runs never share a bucket.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mnpd_backend::{RedisLimiter, RedisLimiterOptions};
use mnpd_domain::store::RateLimiter;

const URL: &str = "redis://127.0.0.1:6379/";

/// Fails (never skips) when the shared Redis is not there.
async fn shared_redis() -> redis::aio::MultiplexedConnection {
    let hint = "Redis is not reachable at 127.0.0.1:6379; start it with \
                `redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no` \
                (or run scripts/services)";
    let client = redis::Client::open(URL).unwrap();
    match tokio::time::timeout(
        Duration::from_secs(3),
        client.get_multiplexed_async_connection(),
    )
    .await
    {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => panic!("{hint}: {e}"),
        Err(_) => panic!("{hint}: no connection within 3 s"),
    }
}

async fn limiter(per_second: u32) -> RedisLimiter {
    let l = RedisLimiter::connect(URL, per_second).await.unwrap();
    assert!(l.is_connected(), "connected to the shared Redis");
    l
}

fn unique(name: &str) -> String {
    format!("test:{}:{name}", uuid::Uuid::new_v4().simple())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn quick_options() -> RedisLimiterOptions {
    RedisLimiterOptions {
        connect_timeout: Duration::from_millis(300),
        reconnect_interval: Duration::from_millis(100),
        ..RedisLimiterOptions::default()
    }
}

/// A Redis server of this test's own; killed when dropped.
struct OwnRedis(Child);

impl OwnRedis {
    fn start(port: u16) -> OwnRedis {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server (is Redis installed?): {e}"));
        OwnRedis(child)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_limiters_share_one_budget() {
    shared_redis().await;
    let (a, b) = (limiter(10).await, limiter(10).await);
    let key = unique("shared");
    let started = Instant::now();
    let admitted = (0..40)
        .filter(|i| {
            if i % 2 == 0 {
                a.admit(&key)
            } else {
                b.admit(&key)
            }
        })
        .count();
    let elapsed = started.elapsed().as_secs_f64();
    // The burst of 10, plus what refilled meanwhile (10 a second).
    let most = 10 + (elapsed * 10.0).ceil() as usize;
    assert!(
        (10..=most).contains(&admitted),
        "{admitted} admitted in {elapsed:.3} s; one budget of 10 expected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_independent_and_buckets_refill() {
    let mut conn = shared_redis().await;
    let l = limiter(10).await;
    let (k1, k2) = (unique("one"), unique("two"));
    // The burst of 10, plus what refills (10 a second) while calling.
    let within = |started: Instant, base: usize| {
        base + (started.elapsed().as_secs_f64() * 10.0).ceil() as usize
    };
    let started = Instant::now();
    let first = (0..15).filter(|_| l.admit(&k1)).count();
    assert!((10..=within(started, 10)).contains(&first), "{first}");
    let started = Instant::now();
    let second = (0..15).filter(|_| l.admit(&k2)).count();
    assert!(
        (10..=within(started, 10)).contains(&second),
        "another key has its own budget: {second}"
    );

    // The bucket key expires once the bucket would be full again.
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("mnpd:rl:{k1}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=1100).contains(&ttl), "PTTL {ttl}");

    // Used up; 10 a second: about 3 more after 300 ms.
    let started = Instant::now();
    while l.admit(&k1) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "k1 is never used up"
        );
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refilled = (0..10).filter(|_| l.admit(&k1)).count();
    assert!(
        (2..=within(started, 1)).contains(&refilled),
        "{refilled} after {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_it_limits_in_process() {
    let url = format!("redis://127.0.0.1:{}/", free_port());
    let l = RedisLimiter::connect_with(&url, 5, quick_options())
        .await
        .unwrap();
    assert!(!l.is_connected());
    let key = unique("fallback");
    let started = Instant::now();
    let admitted = (0..20).filter(|_| l.admit(&key)).count();
    assert_eq!(admitted, 5, "still 5 a second with a burst of 5");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "no waiting while Redis is away: {:?}",
        started.elapsed()
    );
    assert!(l.admit(&unique("other")), "per key, in process too");
    assert!(RedisLimiter::connect("not a url", 5).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_when_redis_comes_and_falls_back_when_it_goes() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/");
    let a = RedisLimiter::connect_with(&url, 3, quick_options())
        .await
        .unwrap();
    assert!(!a.is_connected());

    let server = OwnRedis::start(port);
    wait_until("the limiter reconnects", || a.is_connected()).await;
    let b = RedisLimiter::connect_with(&url, 3, quick_options())
        .await
        .unwrap();
    assert!(b.is_connected());
    let key = unique("back");
    assert_eq!((0..6).filter(|_| a.admit(&key)).count(), 3);
    let by_b = (0..6).filter(|_| b.admit(&key)).count();
    assert!(
        by_b <= 1,
        "decided in Redis again: the budget is shared ({by_b})"
    );

    drop(server);
    let key = unique("gone");
    let started = Instant::now();
    let admitted = (0..20).filter(|_| a.admit(&key)).count();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "admit never blocks long: {:?}",
        started.elapsed()
    );
    assert!(admitted <= 3 + 3, "still limited without Redis: {admitted}");
    wait_until("the limiter notices", || !a.is_connected()).await;
    let key = unique("alone");
    assert_eq!((0..10).filter(|_| a.admit(&key)).count(), 3);
}

#[test]
fn admits_from_any_context() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let l = runtime.block_on(async {
        shared_redis().await;
        limiter(2).await
    });
    let key = unique("contexts");
    // No runtime at all.
    assert!(l.admit(&key));
    // A current-thread runtime, where block_in_place is not allowed.
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert!(current.block_on(async { l.admit(&key) }));
    // A multi-thread runtime.
    assert!(
        !runtime.block_on(async { l.admit(&key) }),
        "budget of 2 used up"
    );
    assert!(
        l.is_connected(),
        "all three went through Redis without timing out"
    );
    drop(current);
    runtime.block_on(async { drop(l) });
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// Run by `the_budget_holds_across_processes` in child processes of this
/// test binary; does nothing in a normal run.
#[test]
fn cross_process_child() {
    let (Ok(key), Ok(start_at)) = (
        std::env::var("MNPD_RL_CHILD_KEY"),
        std::env::var("MNPD_RL_CHILD_START_MS"),
    ) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let l = limiter(5).await;
        let start_at = std::time::UNIX_EPOCH + Duration::from_millis(start_at.parse().unwrap());
        if let Ok(wait) = start_at.duration_since(std::time::SystemTime::now()) {
            tokio::time::sleep(wait).await;
        }
        let from = now_ms();
        let admitted = (0..20).filter(|_| l.admit(&key)).count();
        println!("admitted={admitted} from={from} to={}", now_ms());
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_holds_across_processes() {
    shared_redis().await;
    let key = unique("processes");
    let start_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        + Duration::from_secs(3);
    let children: Vec<_> = (0..3)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "cross_process_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("MNPD_RL_CHILD_KEY", &key)
                .env("MNPD_RL_CHILD_START_MS", start_at.as_millis().to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let (mut total, mut first, mut last) = (0, u128::MAX, 0);
    for child in children {
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "child failed: {stdout}");
        let field = |name: &str| -> u128 {
            stdout
                .lines()
                .find_map(|l| {
                    let value = l.split(&format!("{name}=")).nth(1)?;
                    value.split_whitespace().next()?.parse().ok()
                })
                .unwrap_or_else(|| panic!("no {name} from a child: {stdout}"))
        };
        total += field("admitted");
        first = first.min(field("from"));
        last = last.max(field("to"));
    }
    // One budget of 5 for the three processes, plus what refilled (5 a
    // second) while they ran; separate buckets would admit 15.
    let span = (last - first) as f64 / 1000.0;
    let most = 5 + (span * 5.0).ceil() as u128;
    assert!(
        (5..=most).contains(&total),
        "{total} admitted across 3 processes in {span:.3} s"
    );
    assert!(
        most < 15,
        "the processes overlapped too little to tell: {span:.3} s"
    );
}
