//! Fixtures over HTTP: `GET state` streams the account's state as a
//! fixture file, `PUT state` replaces the account's state with the file in
//! the body. Both go through a scratch file, so neither holds a package in
//! memory.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use mnpd_domain::fixture::FixtureError;
use mnpd_domain::store::ImportRefusal;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::{account_of, bad_request, emulator, Refusal};
use crate::AppState;

/// The largest fixture a PUT takes: far above a test suite's state.
pub const MAX_FIXTURE_BYTES: u64 = 8 << 30;

fn failed(what: &str, e: impl std::fmt::Display) -> Refusal {
    tracing::error!(error = %e, "emulator {what} failed");
    Refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        format!("the {what} did not finish; retry it"),
    )
}

/// A scratch file, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub(super) async fn export(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let account = account_of(&state, &headers).await?;
    let emulator = emulator(&state)?;
    let scratch = Scratch(emulator.fixtures.scratch_path());
    let summary = emulator
        .fixtures
        .export(account, &scratch.0)
        .await
        .map_err(|e| failed("export", e))?;
    let file = tokio::fs::File::open(&scratch.0)
        .await
        .map_err(|e| failed("export", e))?;
    let size = file
        .metadata()
        .await
        .map_err(|e| failed("export", e))?
        .len();
    // Open, the file can go: the stream reads it to the end.
    drop(scratch);
    tracing::info!(
        account,
        packages = summary.packages,
        size,
        "emulator state exported"
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_LENGTH, size.to_string()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"mnpd-fixture.zip\"".to_string(),
            ),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::new(file)),
    )
        .into_response())
}

pub(super) async fn import(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, Refusal> {
    let account = account_of(&state, &headers).await?;
    let emulator = emulator(&state)?;
    let scratch = Scratch(emulator.fixtures.scratch_path());
    let mut out = tokio::fs::File::create(&scratch.0)
        .await
        .map_err(|e| failed("import", e))?;
    let mut stream = body.into_data_stream();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| bad_request(format!("the body did not arrive whole: {e}")))?;
        size += chunk.len() as u64;
        if size > MAX_FIXTURE_BYTES {
            return Err(Refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                "InvalidParameter",
                format!("a fixture is at most {MAX_FIXTURE_BYTES} bytes"),
            ));
        }
        out.write_all(&chunk)
            .await
            .map_err(|e| failed("import", e))?;
    }
    out.flush().await.map_err(|e| failed("import", e))?;
    drop(out);
    let started = std::time::Instant::now();
    let summary = emulator
        .fixtures
        .import(account, &scratch.0)
        .await
        .map_err(|e| match e {
            FixtureError::Refused(ImportRefusal::Invalid(m)) => bad_request(m),
            FixtureError::Refused(ImportRefusal::Collision(m)) => {
                Refusal(StatusCode::CONFLICT, "ResourceInUse", m)
            }
            FixtureError::Domain(e) => failed("import", e),
        })?;
    emulator.tasks.forget_platforms(&summary.platforms);
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        account,
        packages = summary.packages,
        elapsed_ms,
        "emulator state imported"
    );
    Ok(Json(json!({
        "Records": summary.records.iter().map(|(t, n)| json!({"Table": t, "Rows": n})).collect::<Vec<_>>(),
        "Packages": summary.packages,
        "ElapsedMs": elapsed_ms,
    })))
}
