//! What every request shares, and the one place it is assembled, so that
//! the binary and the tests run the same wiring.

use std::sync::Arc;

use mnpd_domain::account::Accounts;
use mnpd_domain::application::Applications;
use mnpd_domain::approval::Approvals;
use mnpd_domain::clock::Clock;
use mnpd_domain::compile::CompileSockets;
use mnpd_domain::console_session::ConsoleSessions;
use mnpd_domain::delivery::PackageDelivery;
use mnpd_domain::domains::Domains;
use mnpd_domain::host_delivery::HostDelivery;
use mnpd_domain::mini_program::MiniPrograms;
use mnpd_domain::organization::Organization;
use mnpd_domain::package::Packages;
use mnpd_domain::preview::Previews;
use mnpd_domain::release::Releases;
use mnpd_domain::rollout::Rollouts;
use mnpd_domain::secret::SecretCipher;
use mnpd_domain::sensitive_api::SensitiveApis;
use mnpd_domain::signing::PackageSigning;
use mnpd_domain::stage::Stages;
use mnpd_domain::store::{BlobStore, MetaStore, RateLimiter};
use mnpd_domain::upload::{UploadSettings, Uploads};
use mnpd_domain::version::Versions;
use mnpd_fetch::Fetcher;
use tokio::sync::Notify;

use crate::emulator::Emulator;
use crate::metrics::Metrics;

/// Gateway settings.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// Accepted `X-TC-Region` values; an absent region is accepted.
    pub regions: Vec<String>,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// How far a request's timestamp may be from now, in seconds.
    pub max_clock_skew_secs: i64,
    /// A console session ends this long after its last request...
    pub console_idle_secs: i64,
    /// ... and this long after sign-in.
    pub console_lifetime_secs: i64,
    /// How long the token of a compile task's WebSocket URL may be used to
    /// connect.
    pub compile_socket_token_secs: i64,
    /// How long a node answers hosts from the delivery state it read of a
    /// mini program before reading it again.
    pub host_state_ttl: std::time::Duration,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            regions: Vec::new(),
            max_body_bytes: 10 * 1024 * 1024,
            max_clock_skew_secs: 300,
            console_idle_secs: mnpd_domain::console_session::IDLE_SECS,
            console_lifetime_secs: mnpd_domain::console_session::ABSOLUTE_SECS,
            compile_socket_token_secs: mnpd_domain::compile::DEFAULT_TOKEN_SECS,
            host_state_ttl: std::time::Duration::from_secs(1),
        }
    }
}

/// Everything a request may need; shared by all requests. Storage is
/// reached only through the services.
pub struct AppState {
    pub clock: Arc<dyn Clock>,
    pub limiter: Arc<dyn RateLimiter>,
    /// The key and account of each request.
    pub accounts: Accounts,
    pub mini_programs: MiniPrograms,
    pub applications: Applications,
    pub organization: Organization,
    pub domains: Domains,
    /// Sensitive API catalogs, permission requests and grants.
    pub sensitive_apis: SensitiveApis,
    /// Console sign-in and sessions.
    pub console_sessions: ConsoleSessions,
    /// The public URL is https: the session cookie is `Secure`.
    pub https: bool,
    pub versions: Versions,
    /// The WebSocket of compile tasks and their QR codes.
    pub compile_sockets: CompileSockets,
    pub approvals: Approvals,
    pub releases: Releases,
    /// Gradual releases and install reports.
    pub rollouts: Rollouts,
    /// What hosts are told when they ask for a mini program.
    pub host_delivery: HostDelivery,
    pub stages: Stages,
    pub previews: Previews,
    pub packages: Packages,
    /// Signs what hosts are offered; publishes the platforms' public keys.
    pub package_signing: PackageSigning,
    /// Credentials for, and receipt of, packages uploaded to mnpd itself.
    pub uploads: Arc<Uploads>,
    pub settings: GatewaySettings,
    /// Opens sealed secret keys, when configured.
    pub secrets: Option<SecretCipher>,
    /// What `/metrics` reports; the task runner reports to it too.
    pub metrics: Arc<Metrics>,
    /// The test-suite controls, with `--emulator` only.
    pub emulator: Option<Arc<Emulator>>,
}

/// What the app is built from: the backends chosen by configuration and
/// the settings of the services over them.
pub struct StateParts {
    pub store: Arc<dyn MetaStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub clock: Arc<dyn Clock>,
    pub limiter: Arc<dyn RateLimiter>,
    /// Downloads each `FileUrl`.
    pub fetcher: Fetcher,
    /// Woken when a task is recorded; the task workers wait on it.
    pub work: Arc<Notify>,
    /// The base URL clients reach this server at: QR codes, package and
    /// upload URLs start with it.
    pub public_url: String,
    /// How long a signed offline package URL stays valid.
    pub package_url_ttl_secs: i64,
    /// Whose URLs hand packages out: mnpd's, the bucket's or a CDN's.
    pub package_delivery: PackageDelivery,
    /// How long upload credentials, and then the uploaded package, stay
    /// valid.
    pub upload_ttl_secs: i64,
    /// Largest package accepted by the upload endpoint.
    pub max_upload_bytes: u64,
    /// Longest one upload may take.
    pub upload_time_limit: std::time::Duration,
    /// Slowest average upload rate, bytes per second.
    pub upload_min_rate: u64,
    pub gateway: GatewaySettings,
    pub secrets: Option<SecretCipher>,
    /// The test-suite controls, with `--emulator` only.
    pub emulator: Option<Arc<Emulator>>,
}

impl AppState {
    pub fn new(parts: StateParts) -> Self {
        let StateParts {
            store,
            blobs,
            clock,
            limiter,
            fetcher,
            work,
            public_url,
            package_url_ttl_secs,
            package_delivery,
            upload_ttl_secs,
            max_upload_bytes,
            upload_time_limit,
            upload_min_rate,
            gateway,
            secrets,
            emulator,
        } = parts;
        let uploads = Arc::new(Uploads::new(
            store.clone(),
            blobs.clone(),
            clock.clone(),
            UploadSettings {
                public_url: public_url.clone(),
                ttl_secs: upload_ttl_secs,
                max_bytes: max_upload_bytes,
                max_duration: upload_time_limit,
                min_bytes_per_sec: upload_min_rate,
                // Uploads answer as if stored in the first region served.
                region: gateway.regions.first().cloned().unwrap_or_default(),
            },
        ));
        let package_signing = PackageSigning::new(store.clone(), clock.clone(), secrets.clone());
        AppState {
            accounts: Accounts::new(store.clone()),
            mini_programs: MiniPrograms::new(store.clone(), clock.clone()),
            applications: Applications::new(store.clone(), clock.clone())
                .with_public_url(&public_url)
                .with_package_signing(package_signing.clone()),
            organization: Organization::new(store.clone(), clock.clone())
                .with_cipher(secrets.clone()),
            domains: Domains::new(store.clone(), clock.clone()),
            sensitive_apis: SensitiveApis::new(store.clone(), clock.clone()),
            console_sessions: ConsoleSessions::new(store.clone(), clock.clone())
                .with_lifetimes(gateway.console_idle_secs, gateway.console_lifetime_secs),
            https: public_url.starts_with("https://"),
            versions: Versions::new(store.clone(), blobs.clone(), fetcher, clock.clone(), work)
                .with_uploads(uploads.clone()),
            compile_sockets: CompileSockets::new(
                store.clone(),
                clock.clone(),
                &public_url,
                gateway.compile_socket_token_secs,
            ),
            approvals: Approvals::new(store.clone(), clock.clone()),
            releases: Releases::new(store.clone(), clock.clone()),
            rollouts: Rollouts::new(store.clone(), clock.clone()),
            host_delivery: HostDelivery::new(
                store.clone(),
                clock.clone(),
                package_signing.clone(),
                gateway.host_state_ttl,
            ),
            stages: Stages::new(store.clone()),
            previews: Previews::new(store.clone(), clock.clone(), &public_url),
            packages: Packages::new(
                store,
                blobs,
                clock.clone(),
                &public_url,
                package_url_ttl_secs,
            )
            .with_delivery(package_delivery),
            package_signing,
            clock,
            limiter,
            uploads,
            settings: gateway,
            secrets,
            metrics: Arc::new(Metrics::new()),
            emulator,
        }
    }
}
