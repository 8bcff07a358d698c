//! Command line and settings. Precedence: built-in defaults < `MNPD_*`
//! environment variables < flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mnpd_domain::secret::SecretCipher;

/// The cipher for secret keys at rest, when a key is configured.
pub fn cipher_of(value: Option<&str>) -> anyhow::Result<Option<SecretCipher>> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            SecretCipher::from_config(v)
                .map_err(|e| anyhow::anyhow!("--secret-encryption-key: {e}"))
        })
        .transpose()
}

/// The public TencentCloud region names accepted by default.
pub const DEFAULT_REGIONS: &str = "ap-guangzhou,ap-shanghai,ap-nanjing,ap-beijing,ap-chengdu,ap-chongqing,ap-hongkong,ap-singapore,ap-jakarta,ap-seoul,ap-tokyo,ap-mumbai,ap-bangkok,na-siliconvalley,na-ashburn,na-toronto,sa-saopaulo,eu-frankfurt,eu-moscow";

#[derive(Parser, Debug)]
#[command(
    name = "mnpd",
    version,
    about = "A self-hosted mini program platform server speaking the TCMPP API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the API server.
    Serve(ServeArgs),
    /// Operator commands on a data directory (safe while the server runs).
    Admin(AdminArgs),
    /// Upload a package (.zip) or a project folder and create a version
    /// from it, through the API of a running server.
    Upload(UploadArgs),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeliveryMode {
    Mnpd,
    Presigned,
    Cdn,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "MNPD_LISTEN", default_value = "127.0.0.1:9080")]
    pub listen: SocketAddr,
    /// Where metadata (SQLite) and packages live.
    #[arg(long, env = "MNPD_DATA_DIR", default_value = "./mnpd-data")]
    pub data_dir: PathBuf,
    /// Metadata: sqlite://PATH (default DATA_DIR/mnpd.db) or postgres://...
    #[arg(long, env = "MNPD_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Packages: file://PATH (default DATA_DIR) or s3://BUCKET/PREFIX
    /// (endpoint, region, credentials: MNPD_S3_* or AWS_* variables).
    #[arg(long, env = "MNPD_STORAGE_URL")]
    pub storage_url: Option<String>,
    /// Rate limits shared by all nodes: redis://HOST:PORT (default: per process).
    #[arg(long, env = "MNPD_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Seal API secret keys at rest with this 32-byte key (64 hex digits or
    /// base64); keys stored before it was set stay readable.
    #[arg(long, env = "MNPD_SECRET_ENCRYPTION_KEY", hide_env_values = true)]
    pub secret_encryption_key: Option<String>,
    /// PEM certificate chain; with --tls-key, serve HTTPS.
    #[arg(long, env = "MNPD_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "MNPD_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Requests per second per account and action (token bucket, burst equal).
    #[arg(long, env = "MNPD_RATE_LIMIT", default_value_t = 20)]
    pub rate_limit: u32,
    /// Largest package CreateMNPVersion accepts, in bytes.
    #[arg(long, env = "MNPD_MAX_PACKAGE_BYTES", default_value_t = 20 * 1024 * 1024)]
    pub max_package_bytes: u64,
    /// Largest central directory (the list of a package's entries with their
    /// names) a package may declare, in bytes; it bounds the memory one
    /// validation takes, however many or long the names are.
    #[arg(
        long,
        env = "MNPD_MAX_ZIP_DIRECTORY_BYTES",
        default_value_t = mnpd_package::DEFAULT_MAX_DIRECTORY_BYTES
    )]
    pub max_zip_directory_bytes: u64,
    /// Seconds a package download may take in all.
    #[arg(long, env = "MNPD_DOWNLOAD_TIMEOUT", default_value_t = 60)]
    pub download_timeout: u64,
    /// Refuse FileUrl addresses on loopback and private networks, whatever
    /// the listen address (link-local and cloud metadata addresses are always
    /// refused).
    #[arg(
        long,
        env = "MNPD_FETCH_DENY_PRIVATE",
        conflicts_with = "fetch_allow_private"
    )]
    pub fetch_deny_private: bool,
    /// Fetch FileUrl from loopback and private networks although mnpd listens
    /// beyond loopback (without it only a loopback listener does); failures
    /// there are told without detail.
    #[arg(long, env = "MNPD_FETCH_ALLOW_PRIVATE")]
    pub fetch_allow_private: bool,
    /// Only fetch packages from these hosts (comma-separated names or IPs).
    #[arg(long, env = "MNPD_FETCH_ALLOW_HOSTS", value_delimiter = ',')]
    pub fetch_allow_hosts: Vec<String>,
    /// Task workers validating packages.
    #[arg(long, env = "MNPD_WORKERS", default_value_t = 4)]
    pub workers: usize,
    /// Seconds a worker holds a task before another node may take it over
    /// (a node that dies mid-task loses its tasks after this long).
    #[arg(long, env = "MNPD_TASK_LEASE_SECS", default_value_t = 60)]
    pub task_lease_secs: i64,
    /// Milliseconds an enabled API key is trusted without reading it again:
    /// a key disabled elsewhere (another node, `mnpd admin`) is refused
    /// after at most this long. 0 reads the key on every request.
    #[arg(long, env = "MNPD_KEY_CACHE_MS", default_value_t = 1000)]
    pub key_cache_ms: u64,
    /// Accepted X-TC-Region values, comma-separated.
    #[arg(long, env = "MNPD_REGIONS", default_value = DEFAULT_REGIONS, value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Seconds a new connection may stay silent before its first byte
    /// (before TLS or HTTP starts); then it is closed.
    #[arg(long, env = "MNPD_IDLE_TIMEOUT", default_value_t = 10)]
    pub idle_timeout: u64,
    /// Client connections open at once. At the cap the oldest one that has
    /// sent nothing yet is closed for the new one; when all have spoken, the
    /// new one is closed. Lowered at start to leave 256 of the open-file
    /// limit (raised to its hard limit) to the database, files and fetches.
    #[arg(long, env = "MNPD_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Base URL under which clients reach this server (package download and
    /// QR code links); default: the listen address with http(s).
    #[arg(long, env = "MNPD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seconds an offline package URL stays valid.
    #[arg(long, env = "MNPD_PACKAGE_URL_TTL", default_value_t = 3600)]
    pub package_url_ttl: i64,
    /// Where package URLs send hosts for the bytes: `mnpd` (mnpd's signed
    /// URLs; mnpd streams the package), `presigned` (S3 presigned GETs,
    /// straight from the bucket; needs s3:// storage) or `cdn` (a CDN in
    /// front of the bucket; needs s3:// storage, --cdn-base-url and
    /// --cdn-token-key). docs/deploy.md, "Package delivery".
    #[arg(long, env = "MNPD_PACKAGE_DELIVERY", value_enum, default_value_t = DeliveryMode::Mnpd)]
    pub package_delivery: DeliveryMode,
    /// With --package-delivery cdn: the CDN's base URL; package URLs are
    /// `<URL>/<object key>?expires=<unix>&token=<hex>`.
    #[arg(long, env = "MNPD_CDN_BASE_URL")]
    pub cdn_base_url: Option<String>,
    /// With --package-delivery cdn: the key of the tokens the CDN's edge
    /// checks, 32 bytes or more as hex or base64 (`openssl rand -hex 32`).
    #[arg(long, env = "MNPD_CDN_TOKEN_KEY", hide_env_values = true)]
    pub cdn_token_key: Option<String>,
    /// Seconds the credentials of DescribeTempSecret4UploadFile2Cos stay
    /// valid, and then an uploaded package waits for CreateMNPVersion.
    #[arg(long, env = "MNPD_UPLOAD_TTL", default_value_t = 3600)]
    pub upload_ttl: i64,
    /// Seconds a console session lives without a request.
    #[arg(long, env = "MNPD_CONSOLE_IDLE_TIMEOUT", default_value_t = 1800)]
    pub console_idle_timeout: i64,
    /// Seconds a console session lives after sign-in, however used.
    #[arg(long, env = "MNPD_CONSOLE_SESSION_LIFETIME", default_value_t = 43200)]
    pub console_session_lifetime: i64,
    /// Seconds the token in a compile task's WebSocket URL (WSUrl) may be
    /// used to connect; a connection made in time lasts until the task ends.
    #[arg(long, env = "MNPD_COMPILE_SOCKET_TOKEN_TTL", default_value_t = 300)]
    pub compile_socket_token_ttl: i64,
    /// Milliseconds a node answers host update checks from the delivery
    /// state it read of a mini program (online version, gradual release,
    /// policy) before reading it again: a change made on another node
    /// reaches hosts within this time; one made on this node at once.
    #[arg(long, env = "MNPD_HOST_STATE_TTL_MS", default_value_t = 1000)]
    pub host_state_ttl_ms: u64,
    /// Seconds one upload (`PUT /uploads/...`) may take from start to end;
    /// it must also end before its credentials expire.
    #[arg(long, env = "MNPD_UPLOAD_TIMEOUT", default_value_t = 600)]
    pub upload_timeout: u64,
    /// Slowest average rate of an upload, in bytes per second, judged
    /// after its first 10 seconds; a slower one is cut off. 0: no minimum.
    #[arg(long, env = "MNPD_UPLOAD_MIN_RATE", default_value_t = 1024)]
    pub upload_min_rate: u64,
    /// Turn on the test-suite controls under /_mnpd/emulator/ (fault
    /// rules, task control, reset, fixtures, recording): for test suites, never in production.
    #[arg(long, env = "MNPD_EMULATOR")]
    pub emulator: bool,
    /// With --emulator: at start, replace the state of the bootstrap key's
    /// account with this fixture file (written by `mnpd admin emulator
    /// state export`), every ID kept.
    #[arg(long, env = "MNPD_FIXTURE", requires = "emulator")]
    pub fixture: Option<PathBuf>,
    /// Log line format.
    #[arg(long, env = "MNPD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Args, Debug)]
pub struct AdminArgs {
    #[arg(
        long,
        env = "MNPD_DATA_DIR",
        default_value = "./mnpd-data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// The same --database-url as the server's.
    #[arg(long, env = "MNPD_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// The same --secret-encryption-key as the server's.
    #[arg(
        long,
        env = "MNPD_SECRET_ENCRYPTION_KEY",
        hide_env_values = true,
        global = true
    )]
    pub secret_encryption_key: Option<String>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    #[command(flatten)]
    Data(DataCommand),
    /// Drive the test-suite controls of a server started with --emulator.
    Emulator(EmulatorArgs),
}

/// The commands on a data directory or database.
#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Accounts (a tenant with API keys and platforms).
    #[command(subcommand)]
    Account(AccountCommand),
    /// API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Platforms.
    #[command(subcommand)]
    Platform(PlatformCommand),
    /// Teams.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Console users of a platform (docs/organization.md).
    #[command(subcommand)]
    User(UserCommand),
    /// Gradual releases of a mini program (docs/host-apps.md), acting as
    /// the account that owns the platform.
    #[command(subcommand)]
    Rollout(RolloutCommand),
    /// Apply the database migrations (the server also does at start).
    Migrate,
}

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// A new account and its first API key (random unless given).
    Create {
        #[arg(long, default_value = "admin")]
        name: String,
        #[arg(long, requires = "secret_key")]
        secret_id: Option<String>,
        #[arg(long, requires = "secret_id")]
        secret_key: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Another key for the account that owns --of.
    Create {
        /// An existing SecretId of the account.
        #[arg(long = "of")]
        of: String,
        #[arg(long, requires = "secret_key")]
        secret_id: Option<String>,
        #[arg(long, requires = "secret_id")]
        secret_key: Option<String>,
    },
    /// Every key (never the secret).
    List,
    /// Refuse requests signed with this key from now on.
    Disable { secret_id: String },
    /// Accept this key again.
    Enable { secret_id: String },
}

#[derive(Subcommand, Debug)]
pub enum PlatformCommand {
    /// A platform of the account owning --secret-id, with a default team.
    Create {
        #[arg(long)]
        secret_id: String,
        #[arg(long)]
        platform_id: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// End of the plan (RFC 3339); no new versions after it.
        #[arg(long)]
        expires_at: Option<String>,
    },
    List,
    /// The platform's host SDK key: build it into the platform's host SDK,
    /// which opens the `material` of configuration files with it
    /// (docs/host-apps.md). Secret: give it to host SDK builders only.
    HostKey {
        #[arg(long)]
        platform_id: String,
    },
    /// The platform's package signing keys (docs/host-apps.md, "Package
    /// signatures").
    #[command(subcommand)]
    SigningKey(SigningKeyCommand),
}

#[derive(Subcommand, Debug)]
pub enum SigningKeyCommand {
    /// The published public keys, newest first: the current one and those
    /// rotated out whose overlap has not ended.
    List {
        #[arg(long)]
        platform_id: String,
    },
    /// A new key signs from now on; the current one stays published for
    /// the overlap, so hosts can pick up the new key meanwhile.
    Rotate {
        #[arg(long)]
        platform_id: String,
        /// How long the key rotated out stays published, in seconds (0 to
        /// 7776000, i.e. 90 days; default 604800, i.e. 7 days).
        #[arg(long, default_value_t = mnpd_domain::signing::DEFAULT_OVERLAP_SECS)]
        overlap_secs: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum TeamCommand {
    Create {
        #[arg(long)]
        platform_id: String,
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// A user with a random password shown once (or one read from stdin).
    Create {
        #[arg(long)]
        platform_id: String,
        #[arg(long)]
        account: String,
        #[arg(long)]
        name: Option<String>,
        /// 2 platform admin, 3 member; 1 (super admin) only on a platform
        /// that has none yet, who then becomes the admin of every team
        /// without one.
        #[arg(long, default_value_t = 3)]
        account_type: i64,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// The platform's users (never a password or its hash).
    List {
        #[arg(long)]
        platform_id: String,
    },
    /// A new password (random and shown once, or read from stdin); the
    /// user's console sessions end.
    ResetPassword {
        #[arg(long)]
        platform_id: String,
        #[arg(long)]
        account: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// The user can no longer sign in; their console sessions end.
    Disable {
        #[arg(long)]
        platform_id: String,
        #[arg(long)]
        account: String,
    },
    /// Undo `disable`.
    Enable {
        #[arg(long)]
        platform_id: String,
        #[arg(long)]
        account: String,
    },
}

/// The mini program whose gradual release a command is about.
#[derive(Args, Debug)]
pub struct RolloutTarget {
    #[arg(long)]
    pub platform_id: String,
    #[arg(long)]
    pub mnp_id: String,
}

#[derive(Subcommand, Debug)]
pub enum RolloutCommand {
    /// The live gradual release of a mini program (or its latest): state,
    /// share, listed devices, install counts and history.
    Show(RolloutTarget),
    /// Offer an approved, never released version to a share of devices.
    Start {
        #[arg(long)]
        platform_id: String,
        #[arg(long)]
        mnp_version_id: i64,
        /// The share of devices, 0 to 100 (steps of 0.1).
        #[arg(long)]
        percentage: f64,
        /// A device that gets the version whatever its cohort; repeatable.
        #[arg(long = "device-id", value_name = "DEVICE_ID")]
        device_ids: Vec<String>,
        /// Halt by itself when this percentage of installs fails.
        #[arg(long)]
        failure_threshold: Option<f64>,
        /// Installs reported before the failure threshold applies.
        #[arg(long)]
        min_sample: Option<i64>,
    },
    /// Change the share of devices of the live gradual release.
    Grow {
        #[command(flatten)]
        target: RolloutTarget,
        #[arg(long)]
        percentage: f64,
    },
    /// No more devices get the version; those that have it keep it.
    Pause(RolloutTarget),
    /// Undo `pause`.
    Resume(RolloutTarget),
    /// Every device returns to the online version.
    Halt {
        #[command(flatten)]
        target: RolloutTarget,
        /// Shown with the release; "halted by operator" when not given.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Release the version to everyone: it becomes the online version.
    Promote(RolloutTarget),
}

/// How a client command reaches a running server and signs its calls.
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// The server's API address, e.g. https://mnpd.example.com or
    /// http://127.0.0.1:9080 (https:// when no scheme is given).
    #[arg(long, env = "MNPD_ENDPOINT")]
    pub endpoint: String,
    #[arg(long, env = "TENCENTCLOUD_SECRET_ID", hide_env_values = true)]
    pub secret_id: String,
    #[arg(long, env = "TENCENTCLOUD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: String,
    /// Sent as X-TC-Region when given.
    #[arg(long, env = "TENCENTCLOUD_REGION")]
    pub region: Option<String>,
    /// PEM certificates to trust besides the usual roots, e.g. the
    /// self-signed certificate of a test server.
    #[arg(long, env = "MNPD_CA_CERT", value_name = "PEM_FILE")]
    pub ca_cert: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct UploadArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[arg(long, env = "MNPD_PLATFORM_ID")]
    pub platform_id: String,
    #[arg(long)]
    pub mnp_id: String,
    /// The new version number, MAJOR.MINOR.PATCH.
    #[arg(long = "version", id = "mnp_version", value_name = "VERSION")]
    pub mnp_version: String,
    /// MNPVersionIntro: what changed.
    #[arg(long)]
    pub intro: String,
    /// Seconds to wait for the version's task to finish.
    #[arg(long, default_value_t = 600)]
    pub wait_timeout: u64,
    /// No progress bar or status lines; only the summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// The summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// A package .zip, or a project folder to zip (honouring .mnpdignore).
    pub path: PathBuf,
}

#[derive(Args, Debug)]
pub struct EmulatorArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(subcommand)]
    pub command: EmulatorCommand,
}

#[derive(Subcommand, Debug)]
pub enum EmulatorCommand {
    /// Fault rules of the key's account.
    #[command(subcommand)]
    Faults(FaultsCommand),
    /// How the account's CreateMNPVersion tasks end.
    #[command(subcommand)]
    Tasks(TasksCommand),
    /// The key's account back to its first-start state: its mini programs,
    /// versions, tasks, approvals, releases, applications, previews and
    /// uploads deleted; the account, keys, platforms and default teams kept.
    Reset {
        /// Only this platform of the account (its uploads are kept).
        #[arg(long)]
        platform_id: Option<String>,
    },
    /// The account's state as a fixture file, and back.
    #[command(subcommand)]
    State(StateCommand),
    /// Recording of the account's API requests and answers.
    #[command(subcommand)]
    Recording(RecordingCommand),
    /// Send each request of a recording (JSON lines) again, signed with
    /// this key, and report every difference from the recorded answers;
    /// exits 1 when there is one.
    Replay {
        file: PathBuf,
        /// How long to poll a task whose recorded status was final.
        #[arg(long, default_value_t = 60)]
        task_wait_secs: u64,
    },
}

#[derive(Subcommand, Debug)]
pub enum RecordingCommand {
    Start,
    Stop,
    /// Forget what was recorded.
    Clear,
    Status,
    /// Write the recording's JSON lines to FILE.
    Download {
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum StateCommand {
    /// Write the account's state (records and packages) to FILE.
    Export { file: PathBuf },
    /// Replace the account's state with FILE's, every ID kept.
    Import { file: PathBuf },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum TaskModeArg {
    /// Tasks run as soon as a worker claims them (the default).
    Immediate,
    /// A worker waits --delay-ms after claiming a task, then runs it.
    Delay,
    /// Tasks stay at TaskStatus 20 until advanced.
    Manual,
}

#[derive(Subcommand, Debug)]
pub enum TasksCommand {
    /// The mode and the held tasks.
    Show,
    /// Set the mode.
    Mode {
        #[arg(value_enum)]
        mode: TaskModeArg,
        #[arg(long, required_if_eq("mode", "delay"))]
        delay_ms: Option<u64>,
    },
    /// End a held task: 60 runs the real validation and records the
    /// version; 30 fails it with --msg.
    Advance {
        task_id: String,
        #[arg(long, value_parser = ["60", "30"])]
        status: String,
        #[arg(long, required_if_eq("status", "30"))]
        msg: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum FaultsCommand {
    List,
    /// Make an action fail with an error code of the API, or answer late.
    Add {
        /// The action the rule applies to, e.g. DescribeMNPList.
        #[arg(long)]
        action: String,
        /// Fire with this probability, 0..1.
        #[arg(
            long,
            conflicts_with = "every_nth",
            required_unless_present = "every_nth"
        )]
        probability: Option<f64>,
        /// Fire on every Nth call of the action.
        #[arg(long)]
        every_nth: Option<u64>,
        /// Seed of a probability rule's generator, for a repeatable run.
        #[arg(long, requires = "probability")]
        seed: Option<u64>,
        /// Answer this error code (one of the API's).
        #[arg(
            long,
            conflicts_with = "latency_ms",
            required_unless_present = "latency_ms"
        )]
        error_code: Option<String>,
        /// The error's message.
        #[arg(long, requires = "error_code")]
        message: Option<String>,
        /// Delay the real answer by this many milliseconds.
        #[arg(long)]
        latency_ms: Option<u64>,
    },
    Remove {
        fault_id: String,
    },
    /// Remove every rule of the account.
    Clear,
}
