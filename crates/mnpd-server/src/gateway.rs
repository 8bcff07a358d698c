//! The request path: body -> wire decode -> authenticate -> route -> rate
//! limit -> parameters -> handler -> envelope.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::Response;
use futures::FutureExt;
use mnpd_api::Action;
use mnpd_domain::console_session::scope::Resource;
use mnpd_domain::console_session::{grants, SignedInUser};
use mnpd_domain::entity::Caller;
use mnpd_wire::{IncomingRequest, Params};
use serde_json::{Map, Value};
use tracing::Instrument;

use crate::console_session;
use crate::emulator::recording::{raw_params, Pending};
use crate::envelope;
use crate::errors::ApiError;
use crate::extension;
use crate::handlers;
use crate::AppState;

pub const API_VERSION: &str = "2024-08-01";

/// How long a request body may take to arrive.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The parameter that holds a NUL character, if any: no identifier or text
/// of the API has one, and storage engines cannot keep them. A `Keyword`
/// may (it then matches nothing). When several do, the one checked first
/// by the action (the platform, then the resource) is named.
fn nul_field(params: &Map<String, Value>) -> Option<String> {
    fn walk(value: &Value, path: &str, found: &mut Vec<String>) {
        match value {
            Value::String(s) if s.contains('\0') => found.push(path.to_string()),
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{path}.{i}"), found);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    walk(v, &format!("{path}.{k}"), found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    for (k, v) in params {
        if k != "Keyword" {
            walk(v, k, &mut found);
        }
    }
    const FIRST: [&str; 5] = ["PlatformId", "MNPId", "BusinessId", "ApprovalNo", "AuditNo"];
    found.sort_by_key(|path| FIRST.iter().position(|f| f == path).unwrap_or(FIRST.len()));
    found.into_iter().next()
}

/// A request that passed the gateway, as handlers see it.
pub struct Call {
    pub action: Action,
    pub caller: Caller,
    pub params: Map<String, Value>,
}

pub async fn handle(State(state): State<Arc<AppState>>, request: Request<Body>) -> Response {
    let request_id = envelope::new_request_id();
    let span =
        tracing::info_span!("request", request_id = %request_id, action = tracing::field::Empty);
    let started = std::time::Instant::now();
    let mut action = crate::metrics::UNKNOWN_ACTION;
    let mut recording = None;
    let outcome = AssertUnwindSafe(
        process(&state, request, &mut action, &mut recording).instrument(span.clone()),
    )
    .catch_unwind()
    .await
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(ApiError::Internal(format!("panic: {what}")))
    });
    let _enter = span.enter();
    if let (Some(pending), Some(emulator)) = (recording, &state.emulator) {
        emulator.recorder.record(
            pending,
            recorded_answer(&outcome, &request_id),
            state.clock.now(),
        );
    }
    match outcome {
        Ok(fields) => {
            tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "ok");
            state.metrics.request(action, "Success", started.elapsed());
            envelope::success(fields, &request_id)
        }
        Err(e) => {
            let (code, message) = e.to_wire();
            let message = envelope::bounded_message(message);
            if e.is_internal() {
                tracing::error!(code = code.as_str(), error = ?e, "request failed");
            } else {
                tracing::info!(
                    code = code.as_str(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "refused"
                );
            }
            state
                .metrics
                .request(action, code.as_str(), started.elapsed());
            envelope::error(code, &message, &request_id)
        }
    }
}

/// The `Response` object the envelope carries, for a recording.
fn recorded_answer(outcome: &Result<Map<String, Value>, ApiError>, request_id: &str) -> Value {
    match outcome {
        Ok(fields) => {
            let mut fields = fields.clone();
            fields.insert("RequestId".into(), Value::String(request_id.into()));
            Value::Object(fields)
        }
        Err(e) => {
            let (code, message) = e.to_wire();
            serde_json::json!({
                "Error": {"Code": code.as_str(), "Message": envelope::bounded_message(message)},
                "RequestId": request_id,
            })
        }
    }
}

/// `action_seen` is set to the action's name once it is known (for the
/// metrics of refused requests too); `recording` is filled in once the
/// caller is known, when its account is being recorded.
async fn process(
    state: &AppState,
    request: Request<Body>,
    action_seen: &mut &'static str,
    recording: &mut Option<Pending>,
) -> Result<Map<String, Value>, ApiError> {
    let (mut parts, body) = request.into_parts();
    // HTTP/2 carries the host as :authority; signatures cover it as `host`.
    if !parts.headers.contains_key(axum::http::header::HOST) {
        if let Some(authority) = parts.uri.authority() {
            if let Ok(value) = axum::http::HeaderValue::from_str(authority.as_str()) {
                parts.headers.insert(axum::http::header::HOST, value);
            }
        }
    }
    let limit = state.settings.max_body_bytes;
    if let Some(len) = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit as u64 {
            return Err(ApiError::BodyTooLarge { limit });
        }
    }
    // A client that stops sending its body does not hold the request open.
    let body = tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, limit))
        .await
        .map_err(|_| {
            ApiError::BodyUnreadable(format!(
                "the body did not arrive within {} s",
                BODY_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| {
            if is_length_limit(&e) {
                ApiError::BodyTooLarge { limit }
            } else {
                ApiError::BodyUnreadable(e.to_string())
            }
        })?;
    let signed = match console_session::token_of(&parts.headers) {
        Some(token)
            if !parts
                .headers
                .contains_key(axum::http::header::AUTHORIZATION) =>
        {
            by_session(state, &parts.headers, &token, &body).await?
        }
        _ => by_signature(state, &parts, &body).await?,
    };
    tracing::Span::current().record("action", signed.action.as_str());
    if let Some(emulator) = state.emulator.as_ref() {
        if emulator.recorder.is_on(signed.caller.account_id) {
            *recording = Some(Pending {
                account: signed.caller.account_id,
                action: signed.action.clone(),
                version: signed.version.clone(),
                region: signed.region.clone(),
                request: raw_params(&signed.params),
                secret: signed.secret.clone().unwrap_or_default(),
            });
        }
    }
    if signed.version == extension::VERSION {
        return extension_call(state, signed, action_seen).await;
    }
    if signed.version != API_VERSION {
        return Err(ApiError::NoSuchVersion(signed.version));
    }
    let action = Action::from_name(&signed.action)
        .ok_or_else(|| ApiError::InvalidAction(signed.action.clone()))?;
    *action_seen = action.name();
    admit_role_and_region(state, &signed, action.name())?;
    let caller = signed.caller;
    if let Some(emulator) = &state.emulator {
        let strike = emulator.faults.strike(caller.account_id, action);
        if !strike.latency.is_zero() {
            tokio::time::sleep(strike.latency).await;
        }
        if let Some((code, message)) = strike.error {
            return Err(ApiError::Injected { code, message });
        }
    }
    let handler = handlers::handler_of(action);
    let operation = handlers::operation_of(action);
    if !state
        .limiter
        .admit(&format!("{}:{}", caller.account_id, operation.name()))
    {
        return Err(ApiError::RequestLimitExceeded {
            action: if operation == action {
                action.name().to_string()
            } else {
                format!("{} and {}", action.name(), operation.name())
            },
        });
    }
    let params = match signed.params {
        Params::Json(map) => map,
        Params::Flat(flat) => mnpd_api::params::from_flat(action, &flat)?,
    };
    if let Some(pending) = recording.as_mut() {
        pending.request = Value::Object(params.clone());
    }
    mnpd_api::params::validate(action, &params)?;
    if let Some(field) = nul_field(&params) {
        return Err(ApiError::NulCharacter(field));
    }
    if let Some(user) = &signed.user {
        check_team_role(state, user, action.name(), &params).await?;
    }
    let call = Call {
        action,
        caller,
        params,
    };
    handler(state, call).await
}

/// A console user's change is checked against their roles in the team that
/// owns what it names (the mini program, the application or the team); an
/// action that names none of them was checked against all their teams.
async fn check_team_role(
    state: &AppState,
    user: &SignedInUser,
    action: &str,
    params: &Map<String, Value>,
) -> Result<(), ApiError> {
    let Some(permission) = grants::required(action) else {
        return Ok(());
    };
    let named = |field: &str| {
        params
            .get(field)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let (resource, shown) = if let Some(id) = named("MNPId") {
        (Resource::MiniProgram(id), format!("mini program {id}"))
    } else if let Some(id) = named("ApplicationId") {
        (Resource::Application(id), format!("application {id}"))
    } else if let Some(id) = named("TeamId") {
        (Resource::Team(id), format!("team {id}"))
    } else {
        return Ok(());
    };
    if state
        .console_sessions
        .may_act_on(user, permission, resource)
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::RoleLacksPermissionInTeam {
            action: action.to_string(),
            permission,
            resource: shown,
        })
    }
}

/// The checks every action passes before its parameters are read: the
/// console user's roles grant what it needs, and the region is served.
fn admit_role_and_region(
    state: &AppState,
    signed: &Authenticated,
    action: &str,
) -> Result<(), ApiError> {
    if let Some(user) = &signed.user {
        if let Some(permission) = grants::missing(action, &user.permissions) {
            return Err(ApiError::RoleLacksPermission {
                action: action.to_string(),
                permission,
            });
        }
    }
    if let Some(region) = signed.region.as_deref().filter(|r| !r.is_empty()) {
        if !state.settings.regions.iter().any(|r| r == region) {
            return Err(ApiError::UnsupportedRegion(region.to_string()));
        }
    }
    Ok(())
}

/// mnpd's own actions (`extension::VERSION`): the same checks as the
/// catalog's (permission, region, rate limit, team), parameters from a JSON
/// body.
async fn extension_call(
    state: &AppState,
    signed: Authenticated,
    action_seen: &mut &'static str,
) -> Result<Map<String, Value>, ApiError> {
    let action = extension::Action::from_name(&signed.action)
        .ok_or_else(|| ApiError::InvalidAction(signed.action.clone()))?;
    *action_seen = action.name();
    admit_role_and_region(state, &signed, action.name())?;
    let caller = signed.caller;
    if !state
        .limiter
        .admit(&format!("{}:{}", caller.account_id, action.name()))
    {
        return Err(ApiError::RequestLimitExceeded {
            action: action.name().to_string(),
        });
    }
    let params = match signed.params {
        Params::Json(map) => map,
        Params::Flat(_) => {
            return Err(ApiError::BodyUnreadable(format!(
                "{} takes its parameters as a JSON body (Content-Type: application/json, TC3-HMAC-SHA256), as the SDKs' CommonClient sends them",
                action.name()
            )))
        }
    };
    if let Some(field) = nul_field(&params) {
        return Err(ApiError::NulCharacter(field));
    }
    if let Some(user) = &signed.user {
        check_team_role(state, user, action.name(), &params).await?;
    }
    extension::run(state, action, &caller, params).await
}

/// Who a request comes from and what it asks, before the action is known.
struct Authenticated {
    action: String,
    version: String,
    region: Option<String>,
    params: Params,
    caller: Caller,
    /// A console user (their roles are checked); None for an API key.
    user: Option<SignedInUser>,
    /// The API key's SecretKey, redacted from a recording wherever it
    /// appears; None for a console session.
    secret: Option<String>,
}

/// A TC3-signed request: its key must be enabled and its signature good.
async fn by_signature(
    state: &AppState,
    parts: &axum::http::request::Parts,
    body: &[u8],
) -> Result<Authenticated, ApiError> {
    let query = parts.uri.query().unwrap_or("");
    let wire = mnpd_wire::decode(&IncomingRequest {
        method: parts.method.as_str(),
        headers: &parts.headers,
        query,
        body,
    })
    .map_err(ApiError::Wire)?;
    tracing::Span::current().record("action", wire.action.as_str());
    let now = state.clock.now().unix_timestamp();
    let skew = state.settings.max_clock_skew_secs;
    if (now - wire.timestamp).abs() > skew {
        return Err(ApiError::SignatureExpire {
            timestamp: wire.timestamp,
            now,
            skew,
        });
    }
    if let Some((date, service)) = wire.proof.credential_scope() {
        let expected = mnpd_wire::utc_date(wire.timestamp);
        // An SDK pointed at a custom endpoint may sign with the service it
        // reads off that endpoint (the Node SDK does); the key is still
        // derived from the scope, so the signature proves the same scope.
        let host = parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok());
        let endpoint_service = host.map(mnpd_wire::endpoint_service);
        if date != expected || (service != mnpd_api::SERVICE && Some(service) != endpoint_service) {
            return Err(ApiError::CredentialScope {
                date: date.to_string(),
                service: service.to_string(),
                expected_date: expected,
            });
        }
    }
    let key = state
        .accounts
        .enabled_key(&wire.secret_id)
        .await?
        .ok_or_else(|| ApiError::SecretIdNotFound(wire.secret_id.clone()))?;
    let secret_key = mnpd_domain::secret::open(state.secrets.as_ref(), &key.secret_key)
        .map_err(ApiError::Internal)?;
    if !wire.proof.verify(&secret_key) {
        return Err(ApiError::SignatureFailure);
    }
    Ok(Authenticated {
        action: wire.action,
        version: wire.version,
        region: wire.region,
        params: wire.params,
        caller: state.accounts.caller(&key),
        user: None,
        secret: Some(secret_key.to_string()),
    })
}

/// A console call: the session cookie, the console's header, and the
/// action in `X-TC-Action` with a JSON body, as the SDKs send it.
async fn by_session(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    token: &str,
    body: &[u8],
) -> Result<Authenticated, ApiError> {
    let user = console_session::authenticate(state, headers, token).await?;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let action = header("x-tc-action").ok_or_else(|| {
        ApiError::Wire(mnpd_wire::WireError::MissingParameter(
            "X-TC-Action (the header naming the action)".into(),
        ))
    })?;
    let params = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map,
        _ if body.is_empty() => Map::new(),
        _ => {
            return Err(ApiError::Wire(mnpd_wire::WireError::InvalidParameter(
                "the body of a console call is a JSON object of the action's parameters".into(),
            )))
        }
    };
    Ok(Authenticated {
        action,
        version: header("x-tc-version").unwrap_or_default(),
        region: header("x-tc-region"),
        params: Params::Json(params),
        caller: user.caller(),
        user: Some(user),
        secret: None,
    })
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}
