//! The HTTP face of mnpd: the TencentCloud API 3.0 gateway and its action
//! handlers. Handlers are short: decode, call one domain service, encode.

pub mod envelope;
pub mod errors;
pub mod gateway;
pub mod handlers;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use mnpd_domain::clock::Clock;
use mnpd_domain::mini_program::MiniPrograms;
use mnpd_domain::store::{MetaStore, RateLimiter};
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
    pub versions: Versions,
    pub settings: GatewaySettings,
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(gateway::handle).post(gateway::handle))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}
