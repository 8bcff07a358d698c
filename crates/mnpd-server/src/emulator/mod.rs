//! Test-suite controls, on only with `--emulator`: fault rules, task
//! control, reset, fixtures and recording under `/_mnpd/emulator/`, JSON over HTTP.
//!
//! A control request is authenticated with HTTP Basic credentials
//! `SecretId:SecretKey` of an enabled key (`curl -u`, `requests`'
//! `auth=(id, key)`): a test suite already holds the key it signs API calls
//! with, and a control call is not an API call, so it is not TC3-signed.
//! Every control acts on the key's own account only.

pub mod faults;
pub mod recording;
mod state;
mod tasks;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use crate::AppState;
use faults::{FaultBook, NewFault};
use mnpd_domain::fixture::Fixtures;
use mnpd_domain::reset::Resets;
use mnpd_domain::task_pacing::TaskPacing;
use mnpd_domain::DomainError;
use recording::Recorder;

/// Where the controls live, on the API's own listener.
pub const PREFIX: &str = "/_mnpd/emulator";

/// The controls' state: in this process's memory, as a test suite talks
/// to one server.
pub struct Emulator {
    pub faults: FaultBook,
    /// Shared with this node's task workers.
    pub tasks: Arc<TaskPacing>,
    pub resets: Resets,
    pub fixtures: Fixtures,
    pub recorder: Recorder,
}

impl Emulator {
    pub fn new(tasks: Arc<TaskPacing>, resets: Resets, fixtures: Fixtures) -> Self {
        Emulator {
            faults: FaultBook::default(),
            tasks,
            resets,
            fixtures,
            recorder: Recorder::default(),
        }
    }
}

/// A refusal of a control request: an HTTP status and what to send instead.
pub(crate) struct Refusal(StatusCode, &'static str, String);

pub(crate) fn not_found(message: String) -> Refusal {
    Refusal(StatusCode::NOT_FOUND, "ResourceNotFound", message)
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let Refusal(status, code, message) = self;
        (
            status,
            Json(json!({"Error": {"Code": code, "Message": message}})),
        )
            .into_response()
    }
}

pub(crate) fn bad_request(message: String) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, "InvalidParameter", message)
}

/// The routes of the controls when they are on; when they are off, every
/// path under the prefix answers 404 saying how to turn them on.
pub fn routes(on: bool) -> Router<Arc<AppState>> {
    if !on {
        return Router::new()
            .route(PREFIX, any(off))
            .route(&format!("{PREFIX}/"), any(off))
            .route(&format!("{PREFIX}/{{*rest}}"), any(off));
    }
    Router::new()
        .route(
            &format!("{PREFIX}/faults"),
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route(
            &format!("{PREFIX}/faults/{{fault_id}}"),
            delete(remove_fault),
        )
        .route(
            &format!("{PREFIX}/tasks"),
            get(tasks::describe).put(tasks::set_mode),
        )
        .route(&format!("{PREFIX}/tasks/{{task_id}}"), post(tasks::advance))
        .route(&format!("{PREFIX}/reset"), post(reset))
        .route(
            &format!("{PREFIX}/state"),
            get(state::export)
                .put(state::import)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            &format!("{PREFIX}/recording"),
            get(recording::download)
                .put(recording::switch)
                .delete(recording::clear),
        )
        .route(
            &format!("{PREFIX}/recording/status"),
            get(recording::status),
        )
        .route(PREFIX, any(unknown))
        .route(&format!("{PREFIX}/"), any(unknown))
        .route(&format!("{PREFIX}/{{*rest}}"), any(unknown))
}

async fn off() -> Refusal {
    off_refusal()
}

fn off_refusal() -> Refusal {
    not_found(
        "emulator controls are off; start mnpd with --emulator (MNPD_EMULATOR=1) to use them"
            .into(),
    )
}

async fn unknown() -> Refusal {
    not_found(format!(
        "no such emulator control; the controls are {PREFIX}/faults, {PREFIX}/tasks, {PREFIX}/reset, {PREFIX}/state and {PREFIX}/recording (docs/testing-with-mnpd.md)"
    ))
}

/// The account whose key the request carries.
pub(crate) async fn account_of(state: &AppState, headers: &HeaderMap) -> Result<i64, Refusal> {
    let unauthorized =
        |message: &str| Refusal(StatusCode::UNAUTHORIZED, "AuthFailure", message.to_string());
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            unauthorized(
                "send `Authorization: Basic base64(SecretId:SecretKey)` with an enabled key",
            )
        })?;
    let (secret_id, secret_key) = credentials
        .split_once(':')
        .ok_or_else(|| unauthorized("the Basic credentials are not SecretId:SecretKey"))?;
    let internal = |e: String| {
        tracing::error!(error = %e, "emulator control could not check a key");
        Refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "internal error; retry".into(),
        )
    };
    let key = state
        .accounts
        .enabled_key(secret_id)
        .await
        .map_err(|e| internal(e.to_string()))?
        .ok_or_else(|| {
            unauthorized(&format!(
                "SecretId `{secret_id}` does not exist or is disabled"
            ))
        })?;
    let expected =
        mnpd_domain::secret::open(state.secrets.as_ref(), &key.secret_key).map_err(internal)?;
    if !bool::from(expected.as_bytes().ct_eq(secret_key.as_bytes())) {
        return Err(unauthorized(
            "the SecretKey does not belong to this SecretId",
        ));
    }
    Ok(key.account_id)
}

pub(crate) fn emulator(state: &AppState) -> Result<&Emulator, Refusal> {
    state.emulator.as_deref().ok_or_else(off_refusal)
}

/// The JSON object of a control request's body.
pub(crate) fn body_of<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Refusal> {
    serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("the body is not the JSON this control takes: {e}")))
}

async fn list_faults(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, Refusal> {
    let account = account_of(&state, &headers).await?;
    Ok(Json(
        json!({"Faults": emulator(&state)?.faults.list(account)}),
    ))
}

async fn add_fault(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Refusal> {
    let account = account_of(&state, &headers).await?;
    let new: NewFault = body_of(&body)?;
    let fault = emulator(&state)?
        .faults
        .add(account, new)
        .map_err(bad_request)?;
    Ok(Json(json!({ "Fault": fault })))
}

async fn remove_fault(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(fault_id): Path<String>,
) -> Result<Json<Value>, Refusal> {
    let account = account_of(&state, &headers).await?;
    if !emulator(&state)?.faults.remove(account, &fault_id) {
        return Err(Refusal(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "this account has no fault rule `{fault_id}`; list them with GET {PREFIX}/faults"
            ),
        ));
    }
    Ok(Json(json!({ "Removed": fault_id })))
}

async fn clear_faults(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, Refusal> {
    let account = account_of(&state, &headers).await?;
    Ok(Json(
        json!({ "Removed": emulator(&state)?.faults.clear(account) }),
    ))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ResetRequest {
    platform_id: Option<String>,
}

/// The account, or one of its platforms, back to its first-start state.
async fn reset(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Refusal> {
    let account = account_of(&state, &headers).await?;
    // An empty body resets the whole account.
    let request: ResetRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ResetRequest { platform_id: None }
    } else {
        body_of(&body)?
    };
    let emulator = emulator(&state)?;
    let started = std::time::Instant::now();
    let platforms = emulator
        .resets
        .reset(account, request.platform_id.as_deref())
        .await
        .map_err(|e| match e {
            DomainError::InvalidPlatformId(id) => not_found(format!(
                "platform `{id}` is not this account's; name one of its platforms, or send {{}} to reset them all"
            )),
            other => {
                tracing::error!(error = %other, "emulator reset failed");
                Refusal(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "the reset did not finish; retry it".into(),
                )
            }
        })?;
    emulator.tasks.forget_platforms(&platforms);
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        account,
        platforms = platforms.len(),
        elapsed_ms,
        "emulator reset"
    );
    Ok(Json(
        json!({ "PlatformIds": platforms, "ElapsedMs": elapsed_ms }),
    ))
}
