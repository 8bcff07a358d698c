//! CreateConsoleMNPVersionCompileTask and DescribeConsoleMNPVersionCompileTask:
//! the console's compile task (crates/mnpd-domain/src/compile.rs) and the
//! WebSocket that streams its progress (`crate::compile_socket`).

use mnpd_api::model::*;
use mnpd_api::params::decode;
use mnpd_domain::compile::{PackageSizes, MAIN_PACKAGE};
use mnpd_domain::entity::TaskStatus;
use mnpd_domain::version::NewVersionRequest;

use super::{encode, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

pub fn create(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: CreateConsoleMNPVersionCompileTaskRequest = decode(call.action, call.params)?;
        // The console sends the same text as both; either serves as the
        // version's intro. FileInnerUrl names the same file inside TCMPP's
        // own network: mnpd downloads FileUrl, as CreateMNPVersion does.
        let intro = req
            .mnp_version_intro
            .filter(|i| !i.trim().is_empty())
            .or(req.mnp_version_desc)
            .unwrap_or_default();
        let task_id = state
            .versions
            .create_compile(
                &call.caller,
                NewVersionRequest {
                    platform_id: req.platform_id,
                    mnp_id: req.mnp_id,
                    version: req.mnp_version,
                    file_url: req.file_url,
                    intro,
                },
            )
            .await?;
        let (ws_url, room_id) = state.compile_sockets.issue(&call.caller, &task_id).await?;
        encode(&CreateConsoleMNPVersionCompileTaskResponse {
            data: Some(CreateMNPVersionCompileTaskResp {
                task_id: Some(task_id),
                ws_url: Some(ws_url),
                room_id: Some(room_id),
            }),
            request_id: None,
        })
    })
}

pub fn describe(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeConsoleMNPVersionCompileTaskRequest = decode(call.action, call.params)?;
        let task = state
            .versions
            .compile_task(&call.caller, &req.platform_id, &req.business_id)
            .await?;
        let sizes = task.compile.as_ref().and_then(|c| c.sizes.clone());
        let succeeded = task.status == TaskStatus::Succeeded;
        let sockets = &state.compile_sockets;
        let (qr_code_url, qr_code_content) = match sockets.qr_content(&task) {
            Some(content) if succeeded => (sockets.qr_code_url(&task.task_id), content),
            _ => (String::new(), String::new()),
        };
        let failed = task.status == TaskStatus::Failed;
        encode(&DescribeConsoleMNPVersionCompileTaskResponse {
            data: Some(DescribeMNPVersionCompileTaskResp {
                mnp_id: Some(task.mnp_id.clone()),
                task_id: Some(task.task_id.clone()),
                task_status: Some(task.status.code()),
                task_msg: Some(task.msg.clone()),
                qr_code_url: Some(qr_code_url),
                pkg_size: Some(sizes.as_ref().map_or(0, |s| s.total as i64)),
                sub_pkg_infos: Some(sizes.as_ref().map(sub_pkg_infos).unwrap_or_default()),
                qr_code_content: Some(qr_code_content),
                ext_info: Some(DescribeMNPVersionCompileTaskExtInfo {
                    tcmpp_err_msg: Some(if failed {
                        task.msg.clone()
                    } else {
                        String::new()
                    }),
                    wx_err_msg: Some(String::new()),
                    wx_qr_code: Some(String::new()),
                    size_info: Some(sizes.as_ref().map(size_info).unwrap_or_default()),
                }),
            }),
            request_id: None,
        })
    })
}

/// The main package first, then each subpackage under its root.
fn sub_pkg_infos(sizes: &PackageSizes) -> Vec<DescribeMNPVersionCompileTaskSubSimpleInfo> {
    let main = DescribeMNPVersionCompileTaskSubSimpleInfo {
        pkg_name: Some(MAIN_PACKAGE.to_string()),
        path_prefix: Some(MAIN_PACKAGE.to_string()),
        pkg_size: Some(sizes.main as i64),
    };
    let subs = sizes
        .subpackages
        .iter()
        .map(|s| DescribeMNPVersionCompileTaskSubSimpleInfo {
            pkg_name: Some(s.root.clone()),
            path_prefix: Some(format!("/{}/", s.root)),
            pkg_size: Some(s.bytes as i64),
        });
    std::iter::once(main).chain(subs).collect()
}

/// `SizeInfo`: the same sizes as one JSON text, in bytes.
fn size_info(sizes: &PackageSizes) -> String {
    let subs: Vec<_> = sizes
        .subpackages
        .iter()
        .map(|s| serde_json::json!({"root": s.root, "size": s.bytes}))
        .collect();
    serde_json::json!({"total": sizes.total, "main": sizes.main, "subPackages": subs}).to_string()
}
