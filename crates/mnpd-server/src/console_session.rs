//! The console's sign-in endpoints and the session side of the gateway
//! (docs/console.md, "Sign-in and sessions").
//!
//! - `POST /console/session/key`: a key to encrypt one sign-in's password.
//! - `POST /console/session` `{Account, KeyId, Password}`: signs in; sets
//!   the session cookie and answers the user.
//! - `GET /console/session`: the signed-in user, or 401.
//! - `DELETE /console/session`: signs out.
//!
//! Each call here, and each API call made with the cookie, must carry the
//! `X-Mnpd-Console: 1` header: a cross-site form cannot send one, and a
//! cross-site script cannot without a CORS preflight mnpd never grants.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use mnpd_api::Action;
use mnpd_domain::console_session::{grants, SignInError, SignedInUser};
use mnpd_domain::organization::{roles, SealedPassword};
use serde_json::{json, Value};

use crate::errors::ApiError;
use crate::AppState;

pub const COOKIE: &str = "mnpd_console";
pub const CSRF_HEADER: &str = "x-mnpd-console";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/console/session/key", post(key))
        .route("/console/session", post(sign_in))
        .route("/console/session", get(who))
        .route("/console/session", delete(sign_out))
}

/// The session token the request's cookie carries.
pub fn token_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}

/// The console's header is there, and an `Origin`, when sent, is this
/// host's.
fn same_origin_console(headers: &HeaderMap) -> Result<(), String> {
    if headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) != Some("1") {
        return Err(format!(
            "a console session call needs the header `{CSRF_HEADER}: 1` (the console sends it; API clients sign with TC3 instead)"
        ));
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let origin_host = origin.split_once("://").map(|(_, h)| h);
        if origin_host.is_none() || origin_host != host {
            return Err(format!(
                "the request comes from origin `{origin}`, not this console's"
            ));
        }
    }
    Ok(())
}

/// The gateway's session path: the live session's user, or why not.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
) -> Result<SignedInUser, ApiError> {
    same_origin_console(headers).map_err(ApiError::ConsoleSession)?;
    state
        .console_sessions
        .resolve(&state.organization, token)
        .await?
        .ok_or_else(|| {
            ApiError::ConsoleSession(
                "the console session is over (signed out, expired, the password changed or the user was disabled); sign in again".into(),
            )
        })
}

fn answer(status: StatusCode, body: Value) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    answer(status, json!({"Error": {"Code": code, "Message": message}}))
}

/// The actions the gateway would refuse this user, each with the permission
/// it needs: the console greys these out from the server's own table
/// (`grants.rs`), so the page and the check cannot drift apart.
fn denied_actions(u: &SignedInUser) -> serde_json::Map<String, Value> {
    // mnpd's own actions (gradual releases) are greyed out by the same list.
    let ours = crate::extension::Action::ALL.map(|a| a.name());
    Action::ALL
        .iter()
        .map(|a| a.name())
        .chain(ours)
        .filter_map(|name| {
            grants::missing(name, &u.permissions).map(|need| (name.to_string(), Value::from(need)))
        })
        .collect()
}

fn user_json(u: &SignedInUser) -> Value {
    let teams: Vec<Value> = u
        .memberships
        .iter()
        .map(|m| {
            json!({
                "TeamId": m.team_id,
                "TeamName": m.team_name,
                "RoleId": m.role_id,
                "RoleName": roles::role(m.role_id).map(|r| r.name).unwrap_or_default(),
                "IsAdmin": m.is_admin,
            })
        })
        .collect();
    json!({
        "UserId": u.user.user_id,
        "Account": u.user.account,
        "Name": u.user.name,
        "AccountType": u.user.account_type,
        "PlatformId": u.user.platform_id,
        "Roles": u.role_names(),
        "Permissions": u.permissions.iter().collect::<Vec<_>>(),
        "Teams": teams,
        "DeniedActions": denied_actions(u),
    })
}

/// `Secure` when the console is reached over https (directly, or behind a
/// proxy that says so).
fn is_https(state: &AppState, headers: &HeaderMap) -> bool {
    state.https
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

fn cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie characters")
}

async fn key(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(m) = same_origin_console(&headers) {
        return refuse(StatusCode::FORBIDDEN, "AuthFailure", &m);
    }
    match state.organization.create_sign_in_key().await {
        Ok(key_id) => answer(StatusCode::OK, json!({"KeyId": key_id})),
        Err(e) => internal(e),
    }
}

fn internal(e: impl std::fmt::Debug) -> Response {
    tracing::error!(error = ?e, "console session");
    refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        "the server failed; try again",
    )
}

async fn sign_in(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(m) = same_origin_console(&headers) {
        return refuse(StatusCode::FORBIDDEN, "AuthFailure", &m);
    }
    let form: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let field = |name: &str| form.get(name).and_then(Value::as_str).map(str::to_string);
    let (Some(account), Some(key_id), Some(ciphertext)) =
        (field("Account"), field("KeyId"), field("Password"))
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            "send a JSON object with the strings Account, KeyId (from POST /console/session/key) and Password (encrypted with that key)",
        );
    };
    let sealed = SealedPassword { key_id, ciphertext };
    match state
        .console_sessions
        .sign_in(&state.organization, &account, &sealed)
        .await
    {
        Ok((token, user)) => {
            tracing::info!(user_id = %user.user.user_id, "console sign-in");
            let mut r = answer(StatusCode::OK, json!({"User": user_json(&user)}));
            r.headers_mut().insert(
                header::SET_COOKIE,
                cookie(
                    &token,
                    state.console_sessions.lifetime_secs(),
                    is_https(&state, &headers),
                ),
            );
            r
        }
        Err(SignInError::Refused) => {
            tracing::info!("console sign-in refused");
            refuse(
                StatusCode::UNAUTHORIZED,
                "AuthFailure",
                "the account or the password is wrong, or the user is disabled",
            )
        }
        Err(SignInError::Locked { retry_after }) => {
            let mut r = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "RequestLimitExceeded",
                &format!("too many failed sign-ins for this account; try again in {retry_after} s"),
            );
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after.max(1) as u64),
            );
            r
        }
        Err(SignInError::Key(m)) => refuse(StatusCode::BAD_REQUEST, "InvalidParameterValue", &m),
        Err(SignInError::Domain(e)) => internal(e),
    }
}

async fn who(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(token) = token_of(&headers) else {
        return refuse(StatusCode::UNAUTHORIZED, "AuthFailure", "not signed in");
    };
    match authenticate(&state, &headers, &token).await {
        Ok(user) => answer(StatusCode::OK, json!({"User": user_json(&user)})),
        Err(ApiError::ConsoleSession(m)) => refuse(StatusCode::UNAUTHORIZED, "AuthFailure", &m),
        Err(e) => internal(e),
    }
}

async fn sign_out(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(m) = same_origin_console(&headers) {
        return refuse(StatusCode::FORBIDDEN, "AuthFailure", &m);
    }
    if let Some(token) = token_of(&headers) {
        if let Err(e) = state.console_sessions.sign_out(&token).await {
            return internal(e);
        }
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        cookie("", 0, is_https(&state, &headers)),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_on_https() {
        let c = cookie("t", 60, true);
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        assert!(!cookie("t", 60, false).to_str().unwrap().contains("Secure"));
    }

    #[test]
    fn the_token_is_read_among_other_cookies() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; mnpd_console=tok; b=2"),
        );
        assert_eq!(token_of(&h).as_deref(), Some("tok"));
        assert_eq!(token_of(&HeaderMap::new()), None);
    }

    #[test]
    fn a_cross_site_call_is_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("mnpd.example"));
        assert!(same_origin_console(&h).is_err());
        h.insert(CSRF_HEADER, HeaderValue::from_static("1"));
        assert!(same_origin_console(&h).is_ok());
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(same_origin_console(&h).is_err());
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://mnpd.example"),
        );
        assert!(same_origin_console(&h).is_ok());
    }
}
