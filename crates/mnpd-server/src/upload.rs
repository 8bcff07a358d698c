//! `PUT /uploads/BUSINESS/FILE`: the upload half of
//! DescribeTempSecret4UploadFile2Cos. The body is streamed into the blob
//! store under the token's key; its URL is then a `FileUrl` that
//! CreateMNPVersion reads from storage. Not a TencentCloud API call, so
//! answers are plain HTTP statuses with a short JSON body.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, BodyDataStream};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde_json::json;

use crate::errors::upload_refusal;
use crate::AppState;

/// Bytes of a refused body read and thrown away, beyond the size limit,
/// so that the client gets to read the refusal: closing a connection with
/// unread data resets it, and the answer is lost with it.
const DRAIN_SLACK: u64 = 1024 * 1024;

/// The token of `Authorization: Bearer TOKEN`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

pub async fn put(
    State(state): State<Arc<AppState>>,
    Path((business, file)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let key = format!("{business}/{file}");
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let started = std::time::Instant::now();
    let mut stream = body.into_data_stream();
    let outcome = async {
        let claims = state.uploads.authorize(bearer(&headers), &key).await?;
        state.uploads.receive(&claims, declared, &mut stream).await
    }
    .await;
    let refusal = match outcome {
        Ok(upload) => {
            // The key and account only: the token never reaches a log.
            tracing::info!(
                upload_key = %upload.key,
                account_id = upload.account_id,
                bytes = upload.size,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "upload stored"
            );
            state.metrics.uploaded(upload.size.max(0) as u64);
            return (
                StatusCode::OK,
                [(header::ETAG, format!("\"{}\"", upload.sha256))],
                Json(json!({
                    "FileUrl": state.uploads.url_of(&upload.key),
                    "Size": upload.size,
                    "Sha256": upload.sha256,
                })),
            )
                .into_response();
        }
        Err(refusal) => refusal,
    };
    let (status, code, message) = upload_refusal(&refusal);
    if status.is_server_error() {
        tracing::error!(upload_key = %key, error = ?refusal, "upload failed");
    } else {
        tracing::info!(upload_key = %key, code, status = status.as_u16(), "upload refused");
    }
    // A client waiting for `100 Continue` has sent nothing: nothing to read.
    let expects_continue = headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let budget = state.uploads.max_bytes().saturating_add(DRAIN_SLACK);
    if !expects_continue && declared.is_none_or(|d| d <= budget) {
        drain(&mut stream, budget).await;
    }
    let mut response = (status, Json(json!({"Code": code, "Message": message}))).into_response();
    let headers = response.headers_mut();
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// How long a refused body is drained at most: enough for a client that
/// sends at a fair rate, while one that trickles (the refusal may be for
/// that) does not hold the connection longer.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Reads and discards what is left of a refused body, up to `budget` bytes,
/// for at most [`DRAIN_TIME`].
async fn drain(stream: &mut BodyDataStream, mut budget: u64) {
    let until = tokio::time::Instant::now() + DRAIN_TIME;
    while budget > 0 {
        match tokio::time::timeout_at(until, stream.next()).await {
            Ok(Some(Ok(piece))) => budget = budget.saturating_sub(piece.len() as u64),
            _ => return,
        }
    }
}
