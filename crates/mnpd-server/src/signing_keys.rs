//! `GET /.well-known/mnpd/package-signing-keys/{PlatformId}`: the public
//! keys a platform signs packages with, for hosts that fetch them rather
//! than read them from their configuration file. Public data: no
//! signature, cacheable for a minute (a rotation keeps the previous key
//! published for its overlap, far longer than that).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use mnpd_domain::signing::PublishedKey;
use serde::Serialize;

use crate::errors::signing_keys_refusal;
use crate::AppState;

pub const PATH: &str = "/.well-known/mnpd/package-signing-keys/{platform_id}";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Published {
    platform_id: String,
    keys: Vec<PublishedKey>,
}

pub async fn published(
    State(state): State<Arc<AppState>>,
    Path(platform_id): Path<String>,
) -> Response {
    match state.package_signing.published_keys(&platform_id).await {
        Ok(keys) => {
            let mut response = Json(Published { platform_id, keys }).into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=60"),
            );
            response
        }
        Err(e) => {
            let (status, message) = signing_keys_refusal(&e);
            if status.is_server_error() {
                tracing::warn!(error = %e, platform_id, "package signing keys unavailable");
            }
            (status, Json(serde_json::json!({ "error": message }))).into_response()
        }
    }
}
