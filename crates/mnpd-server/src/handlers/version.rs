//! CreateMNPVersion and DescribeMNPVersion.

use mnpd_api::model::*;
use mnpd_api::params::decode;
use mnpd_domain::version::NewVersionRequest;

use super::{encode, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

pub fn create(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: CreateMNPVersionRequest = decode(call.action, call.params)?;
        let task_id = state
            .versions
            .create(
                &call.caller,
                NewVersionRequest {
                    platform_id: req.platform_id,
                    mnp_id: req.mnp_id,
                    version: req.mnp_version,
                    file_url: req.file_url,
                    intro: req.mnp_version_intro,
                },
            )
            .await?;
        encode(&CreateMNPVersionResponse {
            data: Some(CreateMNPVersionResp {
                task_id: Some(task_id),
            }),
            request_id: None,
        })
    })
}

pub fn describe(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPVersionRequest = decode(call.action, call.params)?;
        let task = state
            .versions
            .task(&call.caller, &req.platform_id, &req.business_id)
            .await?;
        encode(&DescribeMNPVersionResponse {
            data: Some(DescribeMNPVersionResp {
                mnp_id: Some(task.mnp_id),
                task_id: Some(task.task_id),
                task_status: Some(task.status.code()),
                task_msg: Some(task.msg),
            }),
            request_id: None,
        })
    })
}
