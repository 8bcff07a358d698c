//! Recording: while it is on for an account, every API request of the
//! account and its answer are kept as one JSON line each, secrets and
//! signatures redacted, for a test to download (and replay, `mnpd admin
//! emulator replay`).
//!
//! A line: `{"Time", "Action", "Version", "Region", "Request", "Response",
//! "HttpStatus"}`: `Request` is the action's parameters as JSON (a form or
//! query-string request after its conversion), `Response` the answer's
//! `Response` object. Lines are kept in memory, at most `MAX_BYTES` per
//! account; past that, requests are no longer kept and counted as
//! `Dropped` (the status and the download's `X-Mnpd-Recording-Dropped`
//! header say so), so a replay of a cut recording is known to be partial.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::{account_of, emulator, Refusal};
use crate::AppState;

/// The most a recording of one account keeps, in bytes of JSON lines.
pub const MAX_BYTES: usize = 32 << 20;
/// What stands in for a redacted value.
pub const REDACTED: &str = "***";

#[derive(Default)]
struct Tape {
    on: bool,
    lines: Vec<Arc<str>>,
    bytes: usize,
    dropped: u64,
}

#[derive(Default)]
pub struct Recorder {
    tapes: Mutex<HashMap<i64, Tape>>,
}

/// A request being recorded, filled in as the gateway learns about it.
pub struct Pending {
    pub account: i64,
    pub action: String,
    pub version: String,
    pub region: Option<String>,
    pub request: Value,
    /// The caller's SecretKey: redacted wherever it appears.
    pub secret: String,
}

impl Recorder {
    pub fn is_on(&self, account: i64) -> bool {
        self.tapes
            .lock()
            .unwrap()
            .get(&account)
            .is_some_and(|t| t.on)
    }

    fn set(&self, account: i64, on: bool) {
        self.tapes.lock().unwrap().entry(account).or_default().on = on;
    }

    fn clear(&self, account: i64) -> usize {
        let mut tapes = self.tapes.lock().unwrap();
        let tape = tapes.entry(account).or_default();
        let removed = tape.lines.len();
        tape.lines.clear();
        tape.bytes = 0;
        tape.dropped = 0;
        removed
    }

    fn status(&self, account: i64) -> Value {
        let tapes = self.tapes.lock().unwrap();
        let (on, entries, bytes, dropped) = tapes.get(&account).map_or((false, 0, 0, 0), |t| {
            (t.on, t.lines.len(), t.bytes, t.dropped)
        });
        json!({
            "Recording": on,
            "Entries": entries,
            "Bytes": bytes,
            "Dropped": dropped,
            "MaxBytes": MAX_BYTES,
        })
    }

    fn lines(&self, account: i64) -> (Vec<Arc<str>>, u64) {
        let tapes = self.tapes.lock().unwrap();
        tapes
            .get(&account)
            .map_or((Vec::new(), 0), |t| (t.lines.clone(), t.dropped))
    }

    /// Keeps the finished request, redacted, if the account still records.
    pub fn record(&self, pending: Pending, response: Value, now: time::OffsetDateTime) {
        let mut line = json!({
            "Time": now
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            "Action": pending.action,
            "Version": pending.version,
            "Region": pending.region,
            "Request": pending.request,
            "Response": response,
            "HttpStatus": 200,
        });
        redact(&mut line, &pending.secret);
        let mut text = line.to_string();
        text.push('\n');
        let mut tapes = self.tapes.lock().unwrap();
        let Some(tape) = tapes.get_mut(&pending.account).filter(|t| t.on) else {
            return;
        };
        if tape.bytes + text.len() > MAX_BYTES {
            tape.dropped += 1;
            return;
        }
        tape.bytes += text.len();
        tape.lines.push(text.into());
    }
}

/// Whether a member of this name holds a secret: keys, passwords, tokens,
/// signatures (the Authorization header is never recorded at all).
fn secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "secretkey",
        "password",
        "token",
        "signature",
        "authorization",
        "credential",
    ]
    .iter()
    .any(|s| name.contains(s))
}

/// Replaces secrets in `value`: members named like one, the caller's
/// SecretKey wherever it appears, and the signature of a presigned URL.
pub fn redact(value: &mut Value, secret: &str) {
    match value {
        Value::Object(map) => {
            for (name, member) in map.iter_mut() {
                if secret_name(name) && !member.is_null() {
                    *member = Value::String(REDACTED.into());
                } else {
                    redact(member, secret);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact(v, secret)),
        Value::String(s) => {
            if !secret.is_empty() && s.contains(secret) {
                *s = s.replace(secret, REDACTED);
            }
            if let Some(at) = s.find("signature=") {
                let start = at + "signature=".len();
                let end = s[start..].find('&').map_or(s.len(), |e| start + e);
                s.replace_range(start..end, REDACTED);
            }
        }
        _ => {}
    }
}

/// The wire parameters as a JSON object, for a request refused before they
/// were converted: form and query values stay strings.
pub fn raw_params(params: &mnpd_wire::Params) -> Value {
    match params {
        mnpd_wire::Params::Json(map) => Value::Object(map.clone()),
        mnpd_wire::Params::Flat(flat) => Value::Object(
            flat.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect::<Map<String, Value>>(),
        ),
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Switch {
    recording: bool,
}

/// `PUT recording {"Recording": true|false}`: starts or stops.
pub(super) async fn switch(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Refusal> {
    let account = account_of(&state, &headers).await?;
    let switch: Switch = super::body_of(&body)?;
    let recorder = &emulator(&state)?.recorder;
    recorder.set(account, switch.recording);
    Ok(Json(recorder.status(account)))
}

pub(super) async fn status(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, Refusal> {
    let account = account_of(&state, &headers).await?;
    Ok(Json(emulator(&state)?.recorder.status(account)))
}

/// `DELETE recording`: forgets what was kept (on or off stays as it was).
pub(super) async fn clear(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, Refusal> {
    let account = account_of(&state, &headers).await?;
    let removed = emulator(&state)?.recorder.clear(account);
    Ok(Json(json!({ "Removed": removed })))
}

/// `GET recording`: the JSON lines, streamed.
pub(super) async fn download(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let account = account_of(&state, &headers).await?;
    let (lines, dropped) = emulator(&state)?.recorder.lines(account);
    let body = Body::from_stream(futures::stream::iter(lines.into_iter().map(|line| {
        Ok::<_, std::convert::Infallible>(Bytes::from(line.as_bytes().to_vec()))
    })));
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_string()),
            (
                header::HeaderName::from_static("x-mnpd-recording-dropped"),
                dropped.to_string(),
            ),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_wherever_they_are() {
        let mut v = json!({
            "Password": "hunter2",
            "Data": {"Credentials": {"TmpSecretId": "AKIDx", "TmpSecretKey": "k", "Token": "t"},
                     "Url": "http://h/p?expires=1&signature=abcd&x=1",
                     "Note": "my key is s3cr3t-key!"},
            "List": [{"SecretKey": "z"}],
        });
        redact(&mut v, "s3cr3t-key");
        let text = v.to_string();
        for secret in ["hunter2", "\"k\"", "\"t\"", "abcd", "s3cr3t-key", "\"z\""] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(v["Data"]["Url"], "http://h/p?expires=1&signature=***&x=1");
    }
}
