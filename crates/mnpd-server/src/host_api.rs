//! The host-facing update API (`/host/v1/`, docs/host-apps.md): a host
//! application asks which version of a mini program its device should run,
//! and reports what happened to the versions it installed. A host proves
//! who it is with the application's id in the path and one of its package
//! names (`X-Mnpd-App-Key`); answers are JSON, errors `{"error": ...}`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mnpd_domain::host_delivery::{DeliveryView, HostRefusal, OfferStatus};
use mnpd_domain::rollout::model::{InstallEvent, InstallTally};
use mnpd_domain::rollout::rules::{check_device_id, Channel};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;

/// The header carrying the application's Android package name or iOS
/// bundle id.
pub const APP_KEY_HEADER: &str = "x-mnpd-app-key";
/// The answer format, named in every answer.
pub const PROTOCOL: &str = "mnpd-host-update/1";
/// Reports one request may carry.
pub const MAX_REPORTS: usize = 500;
/// Longest failure reason kept, in characters.
pub const MAX_REASON_CHARS: usize = 200;

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json!({ "error": message.into() }).to_string(),
    )
        .into_response()
}

fn refusal(state: &AppState, r: HostRefusal) -> Response {
    state.metrics.host_check("refused");
    match r {
        HostRefusal::Unauthorized(m) => refuse(StatusCode::UNAUTHORIZED, m),
        HostRefusal::UnknownMiniProgram(m) => refuse(StatusCode::NOT_FOUND, m),
        HostRefusal::Unavailable(m) => {
            tracing::warn!(error = %m, "host API: storage unavailable");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage unavailable; retry",
            )
        }
    }
}

fn app_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(APP_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

fn no_app_key() -> Response {
    refuse(
        StatusCode::UNAUTHORIZED,
        "send the header X-Mnpd-App-Key with the application's Android package name or iOS bundle id",
    )
}

fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// GET /host/v1/{PlatformId}/{ApplicationId}/{MNPId}?deviceId=..&currentVersionId=..
pub async fn update(
    State(state): State<Arc<AppState>>,
    Path((platform_id, application_id, mnp_id)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(key) = app_key(&headers) else {
        return no_app_key();
    };
    let Some(device_id) = query.get("deviceId") else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "send deviceId: the device's stable id (1 to 128 visible ASCII characters)",
        );
    };
    if let Err(why) = check_device_id(device_id) {
        return refuse(StatusCode::BAD_REQUEST, why);
    }
    let current = match query.get("currentVersionId").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    format!("currentVersionId `{v}` is not a number; send the mnpVersionId of the version the device runs, or leave it out"),
                )
            }
        },
    };
    let view = match state
        .host_delivery
        .view(&platform_id, &application_id, &mnp_id, key)
        .await
    {
        Ok(v) => v,
        Err(r) => return refusal(&state, r),
    };
    let decision = view.decide(device_id, current);
    let etag_text = decision.etag_within(state.packages.url_window());
    let etag = HeaderValue::from_str(&etag_text).expect("hex in quotes is a header value");
    if etag_matches(&headers, &etag_text) {
        state.metrics.host_check("not_modified");
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-cache"),
                ),
            ],
        )
            .into_response();
    }
    let package = match decision.version {
        None => serde_json::Value::Null,
        Some(v) => {
            let url = if decision.status == OfferStatus::Update {
                match state.packages.download_url(v).await {
                    Ok(url) => json!(url),
                    Err(e) => return refusal(&state, HostRefusal::Unavailable(e.to_string())),
                }
            } else {
                serde_json::Value::Null
            };
            let signature = view.signatures.get(&v.mnp_version_id).map(
                |s| json!({"keyId": s.key_id, "algorithm": s.algorithm, "signature": s.signature}),
            );
            json!({
                "mnpVersionId": v.mnp_version_id,
                "version": v.new.version,
                "size": v.new.size,
                "sha256": v.new.sha256,
                "url": url,
                "signature": signature,
            })
        }
    };
    let body = json!({
        "protocol": PROTOCOL,
        "platformId": view.platform_id,
        "applicationId": view.application_id,
        "mnpId": view.mnp_id,
        "deviceId": device_id,
        "cohort": decision.cohort,
        "status": decision.status.as_str(),
        "channel": decision.channel.map(|c| match c { Channel::Online => "online", Channel::Gradual => "gradual" }),
        "rolloutId": view.rollout.as_ref().filter(|_| decision.channel == Some(Channel::Gradual)).map(|r| r.rollout_id),
        "package": package,
        "policy": if decision.version.is_some() { view.policy.clone() } else { serde_json::Value::Null },
    });
    state.metrics.host_check(decision.status.as_str());
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportBatch {
    reports: Vec<Report>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Report {
    device_id: String,
    mnp_id: String,
    mnp_version_id: i64,
    event: String,
    #[serde(default)]
    reason: Option<String>,
}

/// A report's mini program: its state, or None when the platform has no
/// such mini program (its reports are set apart, not refused).
fn known(
    view: Result<Arc<DeliveryView>, HostRefusal>,
) -> Result<Option<Arc<DeliveryView>>, HostRefusal> {
    match view {
        Ok(v) => Ok(Some(v)),
        Err(HostRefusal::UnknownMiniProgram(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

/// POST /host/v1/{PlatformId}/{ApplicationId}/reports
pub async fn reports(
    State(state): State<Arc<AppState>>,
    Path((platform_id, application_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(key) = app_key(&headers) else {
        return no_app_key();
    };
    let batch: ReportBatch = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("the body is not a report batch ({e}); send {{\"reports\": [{{\"deviceId\", \"mnpId\", \"mnpVersionId\", \"event\", \"reason\"}}]}}"),
            )
        }
    };
    if batch.reports.len() > MAX_REPORTS {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} reports in one request; send at most {MAX_REPORTS}",
                batch.reports.len()
            ),
        );
    }
    // Per mini program: its state (None: not on the platform) and whether
    // it was read from the database for this request.
    let mut views: BTreeMap<&str, (Option<Arc<DeliveryView>>, bool)> = BTreeMap::new();
    let mut tallies: BTreeMap<(String, i64, i64, InstallEvent, Option<String>), i64> =
        BTreeMap::new();
    let mut ignored = 0;
    for (i, r) in batch.reports.iter().enumerate() {
        let Some(event) = InstallEvent::parse(&r.event) else {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!(
                    "reports[{i}].event `{}` is not one of downloaded, installed, launched, failed",
                    r.event
                ),
            );
        };
        if let Err(why) = check_device_id(&r.device_id) {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("reports[{i}].deviceId: {why}"),
            );
        }
        let reason = match (event, r.reason.as_deref().map(str::trim)) {
            (InstallEvent::Failed, Some(why)) if !why.is_empty() => {
                Some(why.chars().take(MAX_REASON_CHARS).collect::<String>())
            }
            (InstallEvent::Failed, _) => Some("unspecified".to_string()),
            _ => None,
        };
        if !views.contains_key(r.mnp_id.as_str()) {
            let view = match known(
                state
                    .host_delivery
                    .view(&platform_id, &application_id, &r.mnp_id, key)
                    .await,
            ) {
                Ok(v) => v,
                Err(other) => return refusal(&state, other),
            };
            views.insert(r.mnp_id.as_str(), (view, false));
        }
        let mut scope = views[r.mnp_id.as_str()]
            .0
            .as_ref()
            .and_then(|v| v.report_scope(r.mnp_version_id));
        if scope.is_none() && !views[r.mnp_id.as_str()].1 {
            // The remembered state may predate a release started on
            // another node, whose devices already report on its version:
            // read it again (once per request and mini program) before
            // setting the report apart.
            let view = match known(
                state
                    .host_delivery
                    .reread(&platform_id, &application_id, &r.mnp_id, key)
                    .await,
            ) {
                Ok(v) => v,
                Err(other) => return refusal(&state, other),
            };
            scope = view.as_ref().and_then(|v| v.report_scope(r.mnp_version_id));
            views.insert(r.mnp_id.as_str(), (view, true));
        }
        match scope {
            Some(rollout_id) => {
                *tallies
                    .entry((
                        r.mnp_id.clone(),
                        r.mnp_version_id,
                        rollout_id,
                        event,
                        reason,
                    ))
                    .or_default() += 1;
            }
            None => ignored += 1,
        }
    }
    let tallies: Vec<InstallTally> = tallies
        .into_iter()
        .map(
            |((mnp_id, mnp_version_id, rollout_id, event, reason), count)| InstallTally {
                mnp_id,
                mnp_version_id,
                rollout_id,
                event,
                reason,
                count,
            },
        )
        .collect();
    let halted = match state.rollouts.record(&tallies).await {
        Ok(h) => h,
        Err(e) => return refusal(&state, HostRefusal::Unavailable(e.to_string())),
    };
    for t in &tallies {
        state
            .metrics
            .install_reported(t.event.as_str(), t.count as u64);
    }
    for r in &halted {
        state.metrics.gradual_release_halted("failures");
        state.host_delivery.forget(&r.mnp_id);
    }
    let accepted = batch.reports.len() - ignored;
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json!({"accepted": accepted, "ignored": ignored}).to_string(),
    )
        .into_response()
}
