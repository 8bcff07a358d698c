//! The offline package download behind the signed URLs: streamed from the
//! blob store, `ETag` = the package's SHA-256, `If-None-Match` answered 304,
//! single `Range` requests answered 206. Not a TencentCloud API call, so
//! refusals are plain HTTP statuses.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mnpd_domain::entity::Version;
use mnpd_domain::package::DownloadRefusal;

use crate::AppState;

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, format!("{message}\n")).into_response()
}

/// A `Range` header that cannot be satisfied (answered 416).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsatisfiable;

/// A single byte range of a `size`-byte body; Err when unsatisfiable.
/// Ranges that are not single `bytes=` ranges are ignored (whole body).
pub fn parse_range(value: &str, size: u64) -> Result<Option<(u64, u64)>, Unsatisfiable> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (start, end) = spec.split_once('-').ok_or(Unsatisfiable)?;
    let (start, end) = (start.trim(), end.trim());
    if size == 0 {
        return Err(Unsatisfiable);
    }
    let range = if start.is_empty() {
        let suffix: u64 = end.parse().map_err(|_| Unsatisfiable)?;
        if suffix == 0 {
            return Err(Unsatisfiable);
        }
        (size.saturating_sub(suffix), size - 1)
    } else {
        let start: u64 = start.parse().map_err(|_| Unsatisfiable)?;
        let end: u64 = if end.is_empty() {
            size - 1
        } else {
            end.parse::<u64>().map_err(|_| Unsatisfiable)?.min(size - 1)
        };
        (start, end)
    };
    if range.0 > range.1 || range.0 >= size {
        return Err(Unsatisfiable);
    }
    Ok(Some(range))
}

fn etag_matches(header_value: &str, etag: &str) -> bool {
    header_value
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
}

/// The file name of a package's policy manifest, after the package's stem.
pub const POLICY_SUFFIX: &str = ".policy.json";

/// The online version a signed URL names, or the answer refusing it.
async fn authorized(
    state: &AppState,
    mnp_id: &str,
    version_id: i64,
    file: &str,
    query: &HashMap<String, String>,
) -> Result<Version, Response> {
    let expires = query.get("expires").and_then(|e| e.parse::<i64>().ok());
    let signature = query.get("signature");
    let (Some(expires), Some(signature)) = (expires, signature) else {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "this URL is not signed; get one from DescribeMNPOfflinePackageURL",
        ));
    };
    state
        .packages
        .authorize(mnp_id, version_id, file, expires, signature)
        .await
        .map_err(|refusal| match refusal {
            DownloadRefusal::BadSignature => refuse(
                StatusCode::FORBIDDEN,
                "the URL signature is not valid; get a new URL from DescribeMNPOfflinePackageURL",
            ),
            DownloadRefusal::Expired => refuse(
                StatusCode::FORBIDDEN,
                "the URL has expired; get a new one from DescribeMNPOfflinePackageURL",
            ),
            DownloadRefusal::NotServed => {
                refuse(StatusCode::NOT_FOUND, "this version is not online any more")
            }
            DownloadRefusal::Unavailable(why) => {
                tracing::warn!(error = %why, "package download: storage unavailable");
                refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage unavailable; retry",
                )
            }
        })
}

fn policy_unavailable(e: &dyn std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "policy manifest: storage unavailable");
    refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage unavailable; retry",
    )
}

/// The policy manifest of an online version: what the package is, the
/// domains its mini program may reach now and the sensitive APIs each host
/// application restricts and grants it, read at each request so that a
/// change of any list or grant shows at the next fetch.
async fn policy(state: &AppState, version: &Version) -> Response {
    let effective = match state
        .domains
        .effective(&version.new.platform_id, &version.new.mnp_id)
        .await
    {
        Ok(e) => e,
        Err(e) => return policy_unavailable(&e),
    };
    let grants = match state
        .sensitive_apis
        .host_grants(&version.new.platform_id, &version.new.mnp_id)
        .await
    {
        Ok(g) => g,
        Err(e) => return policy_unavailable(&e),
    };
    // Per host application: a host enforces its own entry.
    let sensitive_apis: serde_json::Map<String, serde_json::Value> = grants
        .into_iter()
        .map(|g| {
            (
                g.application_id,
                serde_json::json!({"restricted": g.restricted, "granted": g.granted}),
            )
        })
        .collect();
    let body = serde_json::json!({
        "mnpId": version.new.mnp_id,
        "platformId": version.new.platform_id,
        "mnpVersionId": version.mnp_version_id,
        "version": version.new.version,
        "packageSha256": version.new.sha256,
        "packageSize": version.new.size,
        "domains": effective.to_json(),
        "sensitiveApis": sensitive_apis,
    });
    let mut response = Response::new(Body::from(body.to_string()));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // The lists change without a new version: never reuse an old answer.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn package(
    State(state): State<Arc<AppState>>,
    Path((mnp_id, version_id, file)): Path<(String, i64, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    // The policy manifest sits next to the package, under the same
    // signature (docs/host-apps.md).
    if let Some(stem) = file.strip_suffix(POLICY_SUFFIX) {
        let zip = format!("{stem}.zip");
        return match authorized(&state, &mnp_id, version_id, &zip, &query).await {
            Ok(version) => policy(&state, &version).await,
            Err(refusal) => refusal,
        };
    }
    let version = match authorized(&state, &mnp_id, version_id, &file, &query).await {
        Ok(v) => v,
        Err(refusal) => return refusal,
    };
    let etag = format!("\"{}\"", version.new.sha256);
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        if etag_matches(inm, &etag) {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            r.headers_mut().insert(header::ETAG, etag_value);
            return r;
        }
    }
    let size = version.new.size.max(0) as u64;
    // A Range under If-Range applies only while the package is unchanged.
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim() == etag);
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(value) if if_range_ok => match parse_range(value, size) {
            Ok(r) => r,
            Err(Unsatisfiable) => {
                let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    r.headers_mut().insert(header::CONTENT_RANGE, v);
                }
                return r;
            }
        },
        _ => None,
    };
    let stream = match state.packages.content(&version, range).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, sha256 = %version.new.sha256, "package of an online version unreadable");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "package unreadable; retry");
        }
    };
    let (status, length) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, end - start + 1),
        None => (StatusCode::OK, stream.total_size),
    };
    // Counted as the body is sent, so an aborted download counts its part.
    let metrics = state.metrics.clone();
    let body = futures::TryStreamExt::inspect_ok(stream.body, move |chunk| {
        metrics.served(chunk.len() as u64)
    });
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::ETAG, etag_value);
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Some((start, end)) = range {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{}", stream.total_size))
        {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=-1000", 100), Ok(Some((0, 99))));
        assert_eq!(parse_range("bytes=50-1000", 100), Ok(Some((50, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Err(Unsatisfiable));
        assert_eq!(parse_range("bytes=9-3", 100), Err(Unsatisfiable));
        assert_eq!(parse_range("bytes=x-3", 100), Err(Unsatisfiable));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(parse_range("items=0-1", 100), Ok(None));
    }

    #[test]
    fn etags() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("W/\"abc\", \"x\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\"", "\"abc\""));
    }
}
