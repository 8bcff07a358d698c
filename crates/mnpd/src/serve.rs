//! `mnpd serve`: wiring and lifetime of the server process.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use mnpd_domain::admin::{Admin, Bootstrap};
use mnpd_domain::clock::{Clock, SystemClock};
use mnpd_domain::collect::FailedPackages;
use mnpd_domain::fixture::{FixtureError, Fixtures};
use mnpd_domain::organization::{password, Organization};
use mnpd_domain::reset::Resets;
use mnpd_domain::signing::PackageSigning;
use mnpd_domain::store::{BlobStore, MetaStore};
use mnpd_domain::task::{RunnerSettings, TaskRunner};
use mnpd_domain::task_pacing::TaskPacing;
use mnpd_domain::upload::Uploads;
use mnpd_server::{AppState, GatewaySettings, StateParts};
use tokio::sync::{watch, Notify};

use crate::backends::{open_blobs, open_limiter, open_metadata, NamespacedLimiter};
use crate::cli::{cipher_of, LogFormat, ServeArgs};
use crate::connections::{self, ConnectionGuard};
use crate::delivery::{package_delivery, DeliverySettings};

pub const CREDENTIALS_FILE: &str = "bootstrap-credentials";

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MNPD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Colour codes only for a person at a terminal: a log file or a
    // collector would store them as noise. NO_COLOR (no-color.org) wins.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub async fn run(args: ServeArgs) -> Result<()> {
    init_logging(args.log_format);
    let started = std::time::Instant::now();
    if args.workers == 0 {
        anyhow::bail!("--workers must be at least 1");
    }
    if args.max_connections == 0 || args.idle_timeout == 0 {
        anyhow::bail!("--max-connections and --idle-timeout must be at least 1");
    }
    let open_files = connections::raise_open_file_limit().context("reading the open-file limit")?;
    let max_connections = connections::connection_cap(args.max_connections, open_files);
    if max_connections < args.max_connections {
        tracing::warn!(
            wanted = args.max_connections,
            max_connections,
            open_files,
            "the open-file limit leaves room for fewer connections; raise `ulimit -n` for more"
        );
    }
    let secrets = cipher_of(args.secret_encryption_key.as_deref())?;
    let package_delivery = package_delivery(&DeliverySettings {
        mode: args.package_delivery,
        storage_url: args.storage_url.as_deref(),
        package_url_ttl: args.package_url_ttl,
        cdn_base_url: args.cdn_base_url.as_deref(),
        cdn_token_key: args.cdn_token_key.as_deref(),
    })?;
    let metadata = open_metadata(
        &args.data_dir,
        args.database_url.as_deref(),
        Duration::from_millis(args.key_cache_ms),
    )
    .await?;
    let single_node = metadata.single_node();
    let _lock = if single_node {
        Some(lock_data_dir(&args.data_dir)?)
    } else {
        None
    };
    let meta: Arc<dyn MetaStore> = metadata.store();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let blobs = open_blobs(&args.data_dir, args.storage_url.as_deref())?;
    // Every node of a deployment shares its database, hence this id.
    let deployment = meta
        .setting_or_init("deployment_id", &hex::encode(rand::random::<[u8; 8]>()))
        .await?;
    let limiter: Arc<dyn mnpd_domain::store::RateLimiter> = Arc::new(NamespacedLimiter::new(
        open_limiter(args.redis_url.as_deref(), args.rate_limit).await?,
        &deployment,
    ));

    bootstrap(&args, meta.clone(), clock.clone()).await?;

    // One node owns an embedded store: tasks left running by a previous
    // process are free to be claimed now. With several nodes, leases expire
    // on their own and another node takes the task over.
    if single_node {
        let released = meta.expire_all_leases().await?;
        if released > 0 {
            tracing::warn!(
                tasks = released,
                "resuming tasks interrupted by the previous run"
            );
        }
    }
    // Another node's download may be under way in shared staging.
    let cleaned = blobs
        .clean_staging(if single_node { 0 } else { 3600 })
        .await?;
    if cleaned > 0 {
        tracing::info!(
            files = cleaned,
            "removed partial downloads of the previous run"
        );
    }
    // Another node may be between storing a package and recording its task,
    // so only a single node collects at start-up.
    let collected = if single_node {
        collect_unreferenced(meta.as_ref(), blobs.as_ref()).await?
    } else {
        0
    };
    if collected > 0 {
        tracing::info!(
            blobs = collected,
            "removed packages no version or task refers to"
        );
    }

    let fetcher = mnpd_fetch::Fetcher::new(mnpd_fetch::FetchLimits {
        max_bytes: args.max_package_bytes,
        connect_timeout: Duration::from_secs(args.download_timeout.clamp(1, 10)),
        total_timeout: Duration::from_secs(args.download_timeout.max(1)),
        max_redirects: 5,
        policy: mnpd_fetch::AddressPolicy {
            private: mnpd_fetch::PrivateNetworks::for_listener(
                args.listen.ip(),
                args.fetch_allow_private,
                args.fetch_deny_private,
            ),
            allowed_hosts: (!args.fetch_allow_hosts.is_empty())
                .then(|| args.fetch_allow_hosts.clone()),
        },
    })?;
    let scheme = if args.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let listener = std::net::TcpListener::bind(args.listen)
        .with_context(|| format!("listening on {}", args.listen))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{local}"));

    let work = Arc::new(Notify::new());
    let emulator = args.emulator.then(|| {
        tracing::warn!("emulator controls are on (/_mnpd/emulator/): a test-suite server, not a production one");
        Arc::new(mnpd_server::emulator::Emulator::new(
            Arc::new(TaskPacing::new(meta.clone(), work.clone())),
            Resets::new(meta.clone(), blobs.clone(), clock.clone()),
            Fixtures::new(meta.clone(), blobs.clone(), clock.clone()),
        ))
    });
    if let (Some(path), Some(emulator)) = (&args.fixture, &emulator) {
        load_fixture(meta.as_ref(), &emulator.fixtures, path).await?;
    }
    let state = Arc::new(AppState::new(StateParts {
        store: meta.clone(),
        blobs: blobs.clone(),
        clock: clock.clone(),
        limiter,
        fetcher,
        work: work.clone(),
        public_url,
        package_url_ttl_secs: args.package_url_ttl.max(1),
        package_delivery,
        upload_ttl_secs: args.upload_ttl.max(1),
        max_upload_bytes: args.max_package_bytes,
        upload_time_limit: Duration::from_secs(args.upload_timeout.max(1)),
        upload_min_rate: args.upload_min_rate,
        gateway: GatewaySettings {
            regions: args.regions.clone(),
            console_idle_secs: args.console_idle_timeout.max(1),
            console_lifetime_secs: args.console_session_lifetime.max(1),
            compile_socket_token_secs: args.compile_socket_token_ttl.max(1),
            host_state_ttl: Duration::from_millis(args.host_state_ttl_ms),
            ..GatewaySettings::default()
        },
        secrets,
        emulator: emulator.clone(),
    }));

    let (stop_workers, stopped) = watch::channel(false);
    // Every node sweeps the packages of failed tasks: at once when one of
    // its workers fails a task, and on a timer for failures whose node died
    // before its sweep.
    let failures = Arc::new(Notify::new());
    let collector = tokio::spawn(
        Arc::new(FailedPackages::new(
            meta.clone(),
            blobs.clone(),
            clock.clone(),
        ))
        .run(failures.clone(), FAILED_PACKAGE_SWEEP, stopped.clone()),
    );
    let mut runner = TaskRunner::new(
        meta.clone(),
        blobs.clone(),
        clock.clone(),
        RunnerSettings {
            owner: format!("mnpd-{}", uuid_like()),
            lease_secs: args.task_lease_secs.max(5),
            max_attempts: 3,
            package_limits: mnpd_package::Limits {
                max_directory_bytes: args.max_zip_directory_bytes,
                ..mnpd_package::Limits::default()
            },
            poll: Duration::from_secs(2),
        },
    )
    .with_telemetry(state.metrics.clone())
    .with_failures(failures.clone());
    if let Some(emulator) = &emulator {
        runner = runner.with_pacing(emulator.tasks.clone());
    }
    let runner = Arc::new(runner);
    let workers: Vec<_> = (0..args.workers)
        .map(|_| tokio::spawn(runner.clone().run(work.clone(), stopped.clone())))
        .collect();
    let sweeper = tokio::spawn(sweep_uploads(
        state.uploads.clone(),
        Duration::from_secs(args.upload_ttl.clamp(1, 60) as u64),
        stopped.clone(),
    ));

    let app = mnpd_server::router(state);
    tracing::info!(
        address = %format!("{scheme}://{local}"),
        data_dir = %args.data_dir.display(),
        workers = args.workers,
        max_connections,
        ready_ms = started.elapsed().as_millis() as u64,
        "mnpd ready"
    );
    println!("mnpd listening on {scheme}://{local}");
    let _ = std::io::stdout().flush();

    // SIGTERM/SIGINT: stop accepting, let requests in flight finish.
    let handle = axum_server::Handle::new();
    let on_signal = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        on_signal.graceful_shutdown(Some(Duration::from_secs(30)));
    });
    let service = app.into_make_service();
    let idle_timeout = Duration::from_secs(args.idle_timeout);
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .context("loading --tls-cert / --tls-key")?;
            let guard = ConnectionGuard::new(
                axum_server::accept::DefaultAcceptor,
                max_connections,
                idle_timeout,
            );
            let mut server = axum_server::from_tcp(listener)
                .acceptor(axum_server::tls_rustls::RustlsAcceptor::new(config).acceptor(guard))
                .handle(handle);
            bound_request_heads(server.http_builder(), idle_timeout);
            server.serve(service).await?;
        }
        _ => {
            let mut server = axum_server::from_tcp(listener)
                .acceptor(ConnectionGuard::new(
                    axum_server::accept::DefaultAcceptor,
                    max_connections,
                    idle_timeout,
                ))
                .handle(handle);
            bound_request_heads(server.http_builder(), idle_timeout);
            server.serve(service).await?;
        }
    }

    tracing::info!("no more requests; letting workers finish their tasks");
    let _ = stop_workers.send(true);
    for w in workers {
        let _ = w.await;
    }
    let _ = sweeper.await;
    let _ = collector.await;
    metadata.close().await;
    tracing::info!("mnpd stopped");
    Ok(())
}

/// Deletes stored packages that no version or live task names: those of
/// failed tasks, and those of requests interrupted between storing the
/// package and recording the task. Safe only before requests are served.
async fn collect_unreferenced(meta: &dyn MetaStore, blobs: &dyn BlobStore) -> Result<u64> {
    let referenced: std::collections::HashSet<String> =
        meta.referenced_blobs().await?.into_iter().collect();
    let mut removed = 0;
    for sha256 in blobs.list().await? {
        if !referenced.contains(&sha256) {
            blobs.delete(&sha256).await?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// How often every node looks for failed tasks whose package nobody has
/// collected (one indexed query when there are none).
const FAILED_PACKAGE_SWEEP: Duration = Duration::from_secs(5);

/// Removes expired uploads that no version took, every `every`. Every node
/// sweeps; a sweep is safe to repeat and to run concurrently.
async fn sweep_uploads(uploads: Arc<Uploads>, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        match uploads.sweep().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(blobs = n, "removed expired uploads that no version took"),
            Err(e) => tracing::warn!(error = %e, "could not sweep expired uploads; retrying later"),
        }
    }
}

/// One server per data directory: a second one would take over the first
/// one's running tasks at start-up. Held until the process exits.
fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File> {
    let path = dir.join("serve.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another `mnpd serve` is using {}; stop it or choose another --data-dir",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

fn uuid_like() -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

/// A client that never finishes its request head is cut off instead of
/// holding a connection forever. HTTP/2 has no such timer: a connection
/// that has sent its preface and then nothing is pinged every
/// `idle_timeout` and closed when a ping goes unanswered as long.
fn bound_request_heads(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    idle_timeout: Duration,
) {
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(20));
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(Some(idle_timeout))
        .keep_alive_timeout(idle_timeout);
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutdown requested");
}

/// `--fixture`: the file replaces the state of the bootstrap key's account
/// (`MNPD_BOOTSTRAP_SECRET_ID`), or of the only account there is.
async fn load_fixture(
    meta: &dyn MetaStore,
    fixtures: &Fixtures,
    path: &std::path::Path,
) -> Result<()> {
    let keys = meta.list_api_keys(None).await?;
    let account = match std::env::var("MNPD_BOOTSTRAP_SECRET_ID")
        .ok()
        .filter(|v| !v.is_empty())
    {
        Some(id) => keys
            .iter()
            .find(|k| k.secret_id == id)
            .map(|k| k.account_id)
            .with_context(|| {
                format!("--fixture: no key `{id}` (MNPD_BOOTSTRAP_SECRET_ID) on this server")
            })?,
        None => {
            let mut accounts: Vec<i64> = keys.iter().map(|k| k.account_id).collect();
            accounts.sort();
            accounts.dedup();
            match accounts[..] {
                [only] => only,
                _ => anyhow::bail!(
                    "--fixture: the server has {} accounts; set MNPD_BOOTSTRAP_SECRET_ID to the key whose account gets the fixture",
                    accounts.len()
                ),
            }
        }
    };
    let summary = fixtures.import(account, path).await.map_err(|e| match e {
        FixtureError::Refused(refusal) => {
            anyhow::anyhow!("--fixture {}: refused: {refusal}", path.display())
        }
        FixtureError::Domain(e) => anyhow::anyhow!("--fixture {}: {e}", path.display()),
    })?;
    tracing::info!(fixture = %path.display(), account, packages = summary.packages, "fixture loaded");
    Ok(())
}

/// First start on an empty store: the account, key, platform and team a
/// user needs to make the first call.
async fn bootstrap(
    args: &ServeArgs,
    meta: Arc<dyn MetaStore>,
    clock: Arc<dyn Clock>,
) -> Result<()> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let cipher = cipher_of(args.secret_encryption_key.as_deref())?;
    let organization = Organization::new(meta.clone(), clock.clone()).with_cipher(cipher.clone());
    // The console's first user, checked before anything is created so a
    // refused start can be retried with better settings.
    let admin_account = env("MNPD_BOOTSTRAP_ADMIN_ACCOUNT").unwrap_or_else(|| "admin".to_string());
    let given_password = env("MNPD_BOOTSTRAP_ADMIN_PASSWORD");
    if let Some(p) = &given_password {
        password::check_strength(p, &admin_account)
            .context("MNPD_BOOTSTRAP_ADMIN_PASSWORD is refused")?;
    }
    let admin = Admin::new(meta.clone(), clock.clone()).with_cipher(cipher.clone());
    let created = admin
        .bootstrap(
            env("MNPD_BOOTSTRAP_SECRET_ID").as_deref(),
            env("MNPD_BOOTSTRAP_SECRET_KEY").as_deref(),
            env("MNPD_BOOTSTRAP_PLATFORM_ID").as_deref(),
        )
        .await?;
    let Some(Bootstrap {
        key,
        platform,
        team,
        ..
    }) = created
    else {
        let given = env("MNPD_BOOTSTRAP_SECRET_ID");
        if let Some(note) = ignored_bootstrap_note(&admin, given.as_deref(), &args.data_dir).await?
        {
            eprintln!("{note}");
            tracing::warn!("{note}");
        }
        return Ok(());
    };
    println!("mnpd: first start, created an account");
    println!("  SecretId   {}", key.key.secret_id);
    if key.generated {
        // Generated here: shown this once and kept in a file only the
        // operator can read; a key given by the operator is never echoed.
        println!("  SecretKey  {}   (shown once)", key.key.secret_key);
        let path = args.data_dir.join(CREDENTIALS_FILE);
        write_private(
            &path,
            &format!(
                "TENCENTCLOUD_SECRET_ID={}\nTENCENTCLOUD_SECRET_KEY={}\nMNPD_PLATFORM_ID={}\nMNPD_TEAM_ID={}\n",
                key.key.secret_id, key.key.secret_key, platform.platform_id, team.team_id
            ),
        )
        .with_context(|| format!("writing {}", path.display()))?;
        println!("  (also written to {})", path.display());
    }
    println!("  PlatformId {}", platform.platform_id);
    println!("  TeamId     {}", team.team_id);
    let password_text = given_password.clone().unwrap_or_else(password::generate);
    let user = organization
        .bootstrap_admin(&team, &admin_account, &password_text)
        .await
        .context("creating the console's admin user")?;
    println!("  Admin      {} (UserId {})", user.account, user.user_id);
    if given_password.is_none() {
        // Generated here: shown this once; only its argon2id hash is kept.
        println!("  Password   {password_text}   (shown once; change it with ModifyUserPassword or `mnpd admin user reset-password`)");
    }
    // The platform's package signing key, made now (a platform made later gets
    // one on first need) so that the first
    // configuration file and the well-known URL already publish it.
    let signing_key = PackageSigning::new(meta, clock, cipher)
        .ensure_key(&platform.platform_id)
        .await
        .context("creating the platform's package signing key")?;
    println!("  SigningKey {}", signing_key.key_id);
    Ok(())
}

/// What to tell an operator whose `MNPD_BOOTSTRAP_*` settings were not
/// used because the store already had keys; nothing when the given key is
/// already there (a restart with the same settings).
async fn ignored_bootstrap_note(
    admin: &Admin,
    given_secret_id: Option<&str>,
    data_dir: &std::path::Path,
) -> Result<Option<String>> {
    let names = [
        "MNPD_BOOTSTRAP_SECRET_ID",
        "MNPD_BOOTSTRAP_SECRET_KEY",
        "MNPD_BOOTSTRAP_PLATFORM_ID",
    ];
    let set: Vec<&str> = names
        .into_iter()
        .filter(|n| std::env::var_os(n).is_some_and(|v| !v.is_empty()))
        .collect();
    if set.is_empty() {
        return Ok(None);
    }
    if let Some(id) = given_secret_id {
        if admin.list_keys().await?.iter().any(|k| k.secret_id == id) {
            return Ok(None);
        }
    }
    Ok(Some(format!(
        "mnpd: {} ignored: the store already has an account, and these apply only to the \
         first start of an empty one. Use the credentials made then (see {}), add a key \
         with `mnpd admin key create --of EXISTING_SECRET_ID --secret-id ID --secret-key KEY`, \
         or start on an empty --data-dir (or database)",
        set.join(", "),
        data_dir.join(CREDENTIALS_FILE).display()
    )))
}

fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()
}
