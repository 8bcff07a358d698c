//! Task control: how the account's CreateMNPVersion tasks end (at once,
//! after a delay, or when the test advances each one).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use mnpd_domain::entity::Task;
use mnpd_domain::task_pacing::{Advance, TaskMode, MAX_DELAY};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{account_of, bad_request, body_of, emulator, not_found, Refusal, PREFIX};
use crate::AppState;

/// How long an advance waits for a worker to claim a task that is still
/// pending (a test may advance a task it created an instant ago).
const CLAIM_WAIT: Duration = Duration::from_secs(10);
/// How long an advance waits for the task's end to be recorded.
const END_WAIT: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ModeRequest {
    mode: String,
    delay_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AdvanceRequest {
    task_status: i64,
    task_msg: Option<String>,
}

fn task_mode(request: ModeRequest) -> Result<TaskMode, String> {
    match (request.mode.as_str(), request.delay_ms) {
        ("immediate", None) => Ok(TaskMode::Immediate),
        ("manual", None) => Ok(TaskMode::Manual),
        ("delay", Some(ms)) if Duration::from_millis(ms) <= MAX_DELAY => {
            Ok(TaskMode::Delay(Duration::from_millis(ms)))
        }
        ("delay", Some(ms)) => Err(format!(
            "DelayMs {ms} is above {}; give a shorter delay",
            MAX_DELAY.as_millis()
        )),
        ("delay", None) => Err("Mode delay needs DelayMs".into()),
        ("immediate" | "manual", Some(_)) => Err("DelayMs goes with Mode delay only".into()),
        (other, _) => Err(format!(
            "Mode `{other}` is not one of immediate, delay, manual"
        )),
    }
}

fn held_view(task: &Task) -> Value {
    json!({
        "TaskId": task.task_id,
        "PlatformId": task.platform_id,
        "MNPId": task.mnp_id,
        "MNPVersion": task.mnp_version,
        "TaskStatus": task.status.code(),
    })
}

fn view(state: &AppState, account: i64) -> Result<Value, Refusal> {
    let pacing = &emulator(state)?.tasks;
    let (mode, delay_ms) = match pacing.mode(account) {
        TaskMode::Immediate => ("immediate", None),
        TaskMode::Delay(d) => ("delay", Some(d.as_millis() as u64)),
        TaskMode::Manual => ("manual", None),
    };
    let held: Vec<Value> = pacing.held(account).iter().map(held_view).collect();
    let mut answer = json!({ "Mode": mode, "Held": held });
    if let Some(ms) = delay_ms {
        answer["DelayMs"] = json!(ms);
    }
    Ok(answer)
}

pub async fn describe(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, Refusal> {
    let account = account_of(&state, &headers).await?;
    Ok(Json(view(&state, account)?))
}

pub async fn set_mode(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Refusal> {
    let account = account_of(&state, &headers).await?;
    let mode = task_mode(body_of(&body)?).map_err(bad_request)?;
    emulator(&state)?.tasks.set_mode(account, mode);
    Ok(Json(view(&state, account)?))
}

pub async fn advance(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(task_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Refusal> {
    let account = account_of(&state, &headers).await?;
    let request: AdvanceRequest = body_of(&body)?;
    let advance = match (request.task_status, request.task_msg) {
        (60, None) => Advance::Run,
        (30, Some(msg)) if !msg.trim().is_empty() => Advance::Fail(msg),
        (30, _) => return Err(bad_request("TaskStatus 30 needs a TaskMsg".into())),
        (60, Some(_)) => {
            return Err(bad_request(
                "TaskMsg goes with TaskStatus 30; 60 runs the real validation".into(),
            ))
        }
        (other, _) => {
            return Err(bad_request(format!(
                "TaskStatus {other}: advance a held task to 60 or 30"
            )))
        }
    };
    let outcome = emulator(&state)?
        .tasks
        .advance(account, &task_id, advance, CLAIM_WAIT)
        .await
        .ok_or_else(|| {
            not_found(format!(
                "no task `{task_id}` of this account is held; set Mode manual (PUT {PREFIX}/tasks) before CreateMNPVersion, and list held tasks with GET {PREFIX}/tasks"
            ))
        })?;
    let (status, msg) = tokio::time::timeout(END_WAIT, outcome)
        .await
        .map_err(|_| {
            Refusal(
                StatusCode::GATEWAY_TIMEOUT,
                "ResourceUnavailable",
                format!("task `{task_id}` was advanced but its end was not recorded within {} s; poll DescribeMNPVersion", END_WAIT.as_secs()),
            )
        })?
        .map_err(|_| {
            Refusal(
                StatusCode::CONFLICT,
                "FailedOperation",
                format!("task `{task_id}` ended or was deleted meanwhile (another worker, DeleteMNP or a reset); see DescribeMNPVersion"),
            )
        })?;
    Ok(Json(json!({
        "TaskId": task_id,
        "TaskStatus": status.code(),
        "TaskMsg": msg,
    })))
}
