//! A rate limiter whose buckets live in Redis, so that the limit holds across
//! every process sharing that Redis; limits in process while Redis is away.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc as sync_mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use mnpd_domain::store::{RateLimiter, StoreError, StoreResult};
use redis::aio::MultiplexedConnection;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::limiter::InProcessLimiter;

/// GCRA (the token bucket as one timestamp): the key holds the theoretical
/// arrival time `tat` in microseconds of Redis' clock. A request is admitted
/// when, after adding one emission interval, `tat` runs at most `burst`
/// intervals ahead of now. The key expires when the bucket is full again.
///
/// KEYS[1]: the bucket; ARGV[1]: emission interval in µs; ARGV[2]: burst.
const GCRA: &str = r#"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > burst * interval then
  return 0
end
local ttl = math.ceil((new_tat - now) / 1000)
if ttl < 1 then ttl = 1 end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl)
return 1
"#;

/// Keys are `mnpd:rl:<key>`.
pub const KEY_PREFIX: &str = "mnpd:rl:";

/// Timings of a [`RedisLimiter`]; the defaults suit a Redis on the same
/// network.
#[derive(Debug, Clone)]
pub struct RedisLimiterOptions {
    /// How long `admit` waits for Redis before deciding in process.
    pub call_timeout: Duration,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
    /// Pause between connection attempts while Redis is unreachable.
    pub reconnect_interval: Duration,
    /// At most one warning per this period while limiting in process.
    pub warn_interval: Duration,
}

impl Default for RedisLimiterOptions {
    fn default() -> Self {
        RedisLimiterOptions {
            call_timeout: Duration::from_millis(50),
            connect_timeout: Duration::from_secs(1),
            reconnect_interval: Duration::from_secs(1),
            warn_interval: Duration::from_secs(10),
        }
    }
}

/// A token bucket per key (`per_second` tokens a second, burst of the same
/// size, like [`InProcessLimiter`]) kept in Redis by an atomic Lua script
/// (EVALSHA), so several processes sharing one Redis share each key's budget.
///
/// # Why a thread of its own
///
/// [`RateLimiter::admit`] is synchronous while Redis is reached over async
/// I/O. The limiter owns a small thread running a single-threaded Tokio
/// runtime that holds the multiplexed connection, runs the scripts (many at
/// once over the one connection) and reconnects in the background. `admit`
/// hands it the key over a channel and waits for the answer at most
/// `call_timeout` (50 ms by default). Because the Redis I/O never runs on the
/// caller's runtime, `admit` cannot deadlock and works from any context: a
/// multi-threaded runtime (the wait is wrapped in
/// [`tokio::task::block_in_place`] so the worker's other tasks move to
/// another thread meanwhile), a current-thread runtime (where
/// `block_in_place` would panic, so it waits plainly, at most
/// `call_timeout`), or no runtime at all.
///
/// When Redis is unreachable, fails, or does not answer in time, `admit`
/// decides with an embedded [`InProcessLimiter`] of the same rate, warns at
/// most once per `warn_interval`, and the worker reconnects in the
/// background; while disconnected `admit` does not wait at all.
pub struct RedisLimiter {
    jobs: mpsc::UnboundedSender<Job>,
    shared: Arc<Shared>,
    fallback: InProcessLimiter,
    options: RedisLimiterOptions,
}

struct Job {
    key: String,
    reply: sync_mpsc::SyncSender<bool>,
}

struct Shared {
    connected: AtomicBool,
    /// Why Redis was last given up, for the warning.
    last_error: Mutex<String>,
    last_warning: Mutex<Option<Instant>>,
}

impl Shared {
    fn set_error(&self, e: impl std::fmt::Display) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = e.to_string();
        }
    }
}

impl RedisLimiter {
    /// Connects to `url` (`redis://host:port/db`) with default timings. Only
    /// a malformed URL is an error: when Redis cannot be reached the limiter
    /// starts limiting in process and keeps trying to connect.
    pub async fn connect(url: &str, per_second: u32) -> StoreResult<Self> {
        Self::connect_with(url, per_second, RedisLimiterOptions::default()).await
    }

    /// [`RedisLimiter::connect`] with explicit timings. Waits for the first
    /// connection attempt (at most `connect_timeout`).
    pub async fn connect_with(
        url: &str,
        per_second: u32,
        options: RedisLimiterOptions,
    ) -> StoreResult<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::Other(format!("Redis URL {url:?}: {e}")))?;
        let per_second = per_second.max(1);
        let shared = Arc::new(Shared {
            connected: AtomicBool::new(false),
            last_error: Mutex::new("not connected yet".into()),
            last_warning: Mutex::new(None),
        });
        let (jobs, rx) = mpsc::unbounded_channel();
        let (first_tx, first_rx) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Other(format!("rate limiter runtime: {e}")))?;
        let worker = Worker {
            client,
            shared: shared.clone(),
            options: options.clone(),
            interval_us: (1_000_000 / u64::from(per_second)).max(1),
            burst: per_second,
            script: Arc::new(redis::Script::new(GCRA)),
            conn: Arc::new(Mutex::new(None)),
            broken: Arc::new(Notify::new()),
        };
        std::thread::Builder::new()
            .name("mnpd-redis-limiter".into())
            .spawn(move || runtime.block_on(worker.run(rx, first_tx)))
            .map_err(|e| StoreError::Other(format!("rate limiter thread: {e}")))?;
        let _ = tokio::time::timeout(
            options.connect_timeout + Duration::from_millis(200),
            first_rx,
        )
        .await;
        let limiter = RedisLimiter {
            jobs,
            shared,
            fallback: InProcessLimiter::new(per_second),
            options,
        };
        if !limiter.is_connected() {
            limiter.warn_fallback();
        }
        Ok(limiter)
    }

    /// Whether decisions currently go through Redis.
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    fn ask_redis(&self, key: &str) -> Option<bool> {
        if !self.is_connected() {
            return None;
        }
        let (reply, answer) = sync_mpsc::sync_channel(1);
        self.jobs
            .send(Job {
                key: key.to_string(),
                reply,
            })
            .ok()?;
        let timeout = self.options.call_timeout;
        let wait = move || answer.recv_timeout(timeout).ok();
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        }
    }

    fn warn_fallback(&self) {
        let Ok(mut last) = self.shared.last_warning.lock() else {
            return;
        };
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < self.options.warn_interval) {
            return;
        }
        *last = Some(now);
        let reason = self
            .shared
            .last_error
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default();
        tracing::warn!(
            %reason,
            "Redis rate limiter unavailable: limiting in this process only until it is back"
        );
    }
}

impl RateLimiter for RedisLimiter {
    fn admit(&self, key: &str) -> bool {
        match self.ask_redis(key) {
            Some(admitted) => admitted,
            None => {
                self.warn_fallback();
                self.fallback.admit(key)
            }
        }
    }
}

/// The limiter's side of Redis, on its own thread and runtime.
struct Worker {
    client: redis::Client,
    shared: Arc<Shared>,
    options: RedisLimiterOptions,
    interval_us: u64,
    burst: u32,
    script: Arc<redis::Script>,
    /// The live connection and its generation.
    conn: Arc<Mutex<Option<(u64, MultiplexedConnection)>>>,
    /// Woken when a call finds the connection broken.
    broken: Arc<Notify>,
}

fn is_connection_error(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_unrecoverable_error()
}

impl Worker {
    /// Serves jobs until the limiter is dropped.
    async fn run(self, mut jobs: mpsc::UnboundedReceiver<Job>, first: oneshot::Sender<()>) {
        let serve = async {
            while let Some(job) = jobs.recv().await {
                let current = self.conn.lock().ok().and_then(|c| c.clone());
                // Without a connection the reply is dropped: the caller
                // decides in process at once.
                if let Some((generation, conn)) = current {
                    tokio::spawn(self.call(generation, conn, job));
                }
            }
        };
        tokio::select! {
            _ = serve => {}
            _ = self.keep_connected(first) => {}
        }
    }

    fn call(
        &self,
        generation: u64,
        mut conn: MultiplexedConnection,
        job: Job,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let script = self.script.clone();
        let (interval_us, burst) = (self.interval_us, self.burst);
        let timeout = self.options.call_timeout;
        let slot = self.conn.clone();
        let shared = self.shared.clone();
        let broken = self.broken.clone();
        async move {
            let mut invocation = script.prepare_invoke();
            invocation
                .key(format!("{KEY_PREFIX}{}", job.key))
                .arg(interval_us)
                .arg(burst);
            let outcome =
                tokio::time::timeout(timeout, invocation.invoke_async::<i64>(&mut conn)).await;
            let failure = match outcome {
                Ok(Ok(admitted)) => {
                    let _ = job.reply.try_send(admitted == 1);
                    return;
                }
                Ok(Err(e)) if !is_connection_error(&e) => {
                    // Redis answered with an error (not a broken connection):
                    // this call falls back, the connection stays.
                    shared.set_error(format!("rate limit script failed: {e}"));
                    return;
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no answer within {timeout:?}"),
            };
            // Give up this connection (unless already replaced) and let the
            // reconnect loop make a new one.
            if let Ok(mut c) = slot.lock() {
                if c.as_ref().is_some_and(|(g, _)| *g == generation) {
                    *c = None;
                    shared.connected.store(false, Ordering::Release);
                    shared.set_error(failure);
                    broken.notify_one();
                }
            }
        }
    }

    async fn keep_connected(&self, first: oneshot::Sender<()>) {
        let mut first = Some(first);
        let mut generation = 0u64;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(self.options.connect_timeout)
            .set_response_timeout(self.options.connect_timeout);
        loop {
            let attempt = tokio::time::timeout(self.options.connect_timeout, self.connect(&config))
                .await
                .unwrap_or_else(|_| {
                    Err(format!(
                        "no connection within {:?}",
                        self.options.connect_timeout
                    ))
                });
            match attempt {
                Ok(conn) => {
                    generation += 1;
                    if let Ok(mut c) = self.conn.lock() {
                        *c = Some((generation, conn));
                    }
                    self.shared.connected.store(true, Ordering::Release);
                    if generation > 1 {
                        tracing::info!("Redis rate limiter connected again");
                    }
                    if let Some(f) = first.take() {
                        let _ = f.send(());
                    }
                    self.broken.notified().await;
                }
                Err(e) => {
                    self.shared.set_error(e);
                    if let Some(f) = first.take() {
                        let _ = f.send(());
                    }
                    tokio::time::sleep(self.options.reconnect_interval).await;
                }
            }
        }
    }

    /// Opens a connection and loads the script, so that a broken server is
    /// noticed here rather than on the first call.
    async fn connect(
        &self,
        config: &redis::AsyncConnectionConfig,
    ) -> Result<MultiplexedConnection, String> {
        let mut conn = self
            .client
            .get_multiplexed_async_connection_with_config(config)
            .await
            .map_err(|e| e.to_string())?;
        self.script
            .prepare_invoke()
            .load_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(conn)
    }
}
