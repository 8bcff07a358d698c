//! The HTTP face of mnpd: the TencentCloud API 3.0 gateway and its action
//! handlers. Handlers are short: decode, call one domain service, encode.

pub mod console;
pub mod download;
pub mod envelope;
pub mod errors;
pub mod gateway;
pub mod handlers;
pub mod metrics;
pub mod qr;
pub mod upload;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use mnpd_domain::application::Applications;
use mnpd_domain::approval::Approvals;
use mnpd_domain::clock::Clock;
use mnpd_domain::mini_program::MiniPrograms;
use mnpd_domain::package::Packages;
use mnpd_domain::preview::Previews;
use mnpd_domain::release::Releases;
use mnpd_domain::stage::Stages;
use mnpd_domain::store::{BlobStore, MetaStore, RateLimiter};
use mnpd_domain::version::Versions;

/// Gateway settings.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// Accepted `X-TC-Region` values; an absent region is accepted.
    pub regions: Vec<String>,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// How far a request's timestamp may be from now, in seconds.
    pub max_clock_skew_secs: i64,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            regions: Vec::new(),
            max_body_bytes: 10 * 1024 * 1024,
            max_clock_skew_secs: 300,
        }
    }
}

/// Everything a request may need; shared by all requests.
pub struct AppState {
    pub store: Arc<dyn MetaStore>,
    pub clock: Arc<dyn Clock>,
    pub limiter: Arc<dyn RateLimiter>,
    pub mini_programs: MiniPrograms,
    pub applications: Applications,
    pub versions: Versions,
    pub approvals: Approvals,
    pub releases: Releases,
    pub stages: Stages,
    pub previews: Previews,
    pub packages: Packages,
    /// Where offline packages are streamed from.
    pub blobs: Arc<dyn BlobStore>,
    /// Credentials for, and receipt of, packages uploaded to mnpd itself.
    pub uploads: Arc<mnpd_domain::upload::Uploads>,
    pub settings: GatewaySettings,
    /// Opens sealed secret keys, when configured.
    pub secrets: Option<mnpd_domain::secret::SecretCipher>,
    /// What `/metrics` reports; the task runner reports to it too.
    pub metrics: Arc<metrics::Metrics>,
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        // Every method reaches the gateway, which answers those the API does
        // not take with an envelope rather than a bare 405.
        .route("/", axum::routing::any(gateway::handle))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(metrics::ready))
        .route("/metrics", get(metrics::scrape))
        .route(
            "/packages/{mnp_id}/{version_id}/{file}",
            get(download::package),
        )
        .route("/qrcode/{kind}/{mnp_id}/{file}", get(qr::png))
        .route("/open/{mnp_id}", get(qr::open))
        .route(
            "/uploads/{business}/{file}",
            axum::routing::put(upload::put),
        )
        .merge(console::routes())
        .with_state(state)
}
