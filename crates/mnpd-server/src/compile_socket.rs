//! The WebSocket of compile tasks (`GET /ws/compile?room=<TaskId>&token=..`,
//! the WSUrl CreateConsoleMNPVersionCompileTask answers) and the PNG of a
//! compile task's preview QR code.
//!
//! The socket streams the task's progress events, as the worker holding
//! the task records them in the database, then one last message with how
//! the task ended, and closes. It reads the task's row every
//! [`POLL`], so it works on any node, whichever node runs the task.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mnpd_domain::compile::SocketRefusal;
use mnpd_domain::entity::Task;
use serde_json::json;

use crate::AppState;

/// How often an open socket reads its task.
const POLL: Duration = Duration::from_millis(200);
/// Longest a socket stays open: a task held by the emulator, or one whose
/// workers are all away, does not keep connections forever.
const MAX_OPEN: Duration = Duration::from_secs(3600);

pub async fn watch(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let field = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
    let (room, token) = (field("room"), field("token"));
    let task = match state.compile_sockets.open(room, token).await {
        Ok(task) => task,
        Err(SocketRefusal::BadToken) => {
            return refuse(
                StatusCode::FORBIDDEN,
                "this token does not open this room; use the WSUrl CreateConsoleMNPVersionCompileTask answered for that task",
            )
        }
        Err(SocketRefusal::Expired) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "the token has expired; connect sooner after CreateConsoleMNPVersionCompileTask, or follow the task with DescribeConsoleMNPVersionCompileTask",
            )
        }
        Err(SocketRefusal::Unavailable(e)) => {
            tracing::warn!(error = %e, "compile socket: storage unavailable");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "storage is unavailable; retry");
        }
    };
    upgrade.on_upgrade(move |socket| stream(socket, state, task))
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (status, format!("{why}\n")).into_response()
}

/// Sends each progress event once, then the end, then closes.
async fn stream(mut socket: WebSocket, state: Arc<AppState>, mut task: Task) {
    let give_up = tokio::time::Instant::now() + MAX_OPEN;
    let mut sent = 0;
    loop {
        let events = task.compile.as_ref().map(|c| &c.events[..]).unwrap_or(&[]);
        for (seq, event) in events.iter().enumerate().skip(sent) {
            let message = json!({
                "Type": "progress",
                "TaskId": task.task_id,
                "Seq": seq + 1,
                "Stage": event.stage,
                "Message": event.message,
                "Time": event.at,
            });
            if send(&mut socket, message).await.is_err() {
                return;
            }
        }
        sent = sent.max(events.len());
        if task.status.is_terminal() {
            let _ = send(&mut socket, end(&state, &task)).await;
            close(socket, 1000, "the task has ended").await;
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            incoming = socket.recv() => match incoming {
                // The client went away.
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                // Nothing a client sends changes what it is sent.
                Some(Ok(_)) => {}
            },
        }
        if tokio::time::Instant::now() >= give_up {
            close(
                socket,
                1001,
                "open too long; follow the task with DescribeConsoleMNPVersionCompileTask",
            )
            .await;
            return;
        }
        match state.compile_sockets.poll(&task.task_id).await {
            Ok(Some(now)) => task = now,
            Ok(None) => {
                close(
                    socket,
                    1000,
                    "the task no longer exists (its mini program was deleted)",
                )
                .await;
                return;
            }
            // Storage away for a moment: try again at the next poll.
            Err(e) => {
                tracing::warn!(error = %e, task_id = %task.task_id, "compile socket: could not read the task")
            }
        }
    }
}

/// The last message: how the task ended, with what Describe shows.
fn end(state: &AppState, task: &Task) -> serde_json::Value {
    let sizes = task.compile.as_ref().and_then(|c| c.sizes.as_ref());
    let sockets = &state.compile_sockets;
    let (qr_url, qr_content) = match sockets.qr_content(task) {
        Some(content) => (sockets.qr_code_url(&task.task_id), content),
        None => (String::new(), String::new()),
    };
    json!({
        "Type": "end",
        "TaskId": task.task_id,
        "TaskStatus": task.status.code(),
        "TaskMsg": task.msg,
        "PkgSize": sizes.map_or(0, |s| s.total),
        "QrCodeUrl": qr_url,
        "QrCodeContent": qr_content,
    })
}

async fn send(socket: &mut WebSocket, message: serde_json::Value) -> Result<(), axum::Error> {
    socket.send(Message::Text(message.to_string().into())).await
}

async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// `GET /qrcode/compile/<TaskId>.png`: the preview QR code of a succeeded
/// compile task.
pub async fn qr_png(State(state): State<Arc<AppState>>, Path(file): Path<String>) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such compile task QR code\n").into_response();
    let Some(task_id) = file.strip_suffix(".png") else {
        return not_found();
    };
    let task = match state.compile_sockets.succeeded(task_id).await {
        Ok(Some(task)) => task,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::warn!(error = %e, "compile QR code: storage unavailable");
            return (StatusCode::SERVICE_UNAVAILABLE, "retry\n").into_response();
        }
    };
    let Some(content) = state.compile_sockets.qr_content(&task) else {
        return not_found();
    };
    match crate::qr::render_png(&content) {
        Ok(png) => {
            let mut r = png.into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
            r
        }
        Err(e) => {
            tracing::warn!(error = %e, %task_id, "compile QR code cannot be drawn");
            not_found()
        }
    }
}
