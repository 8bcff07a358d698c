//! The HTTP face of mnpd: the TencentCloud API 3.0 gateway and its action
//! handlers. Handlers are short: decode, call one domain service, encode.

pub mod compile_socket;
pub mod console;
pub mod console_session;
pub mod download;
pub mod emulator;
pub mod envelope;
pub mod errors;
pub mod extension;
pub mod gateway;
pub mod handlers;
pub mod host_api;
pub mod metrics;
pub mod qr;
pub mod signing_keys;
pub mod state;
pub mod upload;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

pub use state::{AppState, GatewaySettings, StateParts};

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
        .route(
            "/host/v1/{platform_id}/{application_id}/reports",
            axum::routing::post(host_api::reports),
        )
        .route(
            "/host/v1/{platform_id}/{application_id}/{mnp_id}",
            get(host_api::update),
        )
        .route(signing_keys::PATH, get(signing_keys::published))
        .route("/qrcode/{kind}/{mnp_id}/{file}", get(qr::png))
        .route("/open/{mnp_id}", get(qr::open))
        .route("/qrcode/compile/{file}", get(compile_socket::qr_png))
        .route("/ws/compile", get(compile_socket::watch))
        .route(
            "/uploads/{business}/{file}",
            axum::routing::put(upload::put),
        )
        .merge(console::routes())
        .merge(console_session::routes())
        .merge(emulator::routes(state.emulator.is_some()))
        .with_state(state)
}
