//! ReleaseMNPVersion / CreateOnlineApply, RollbackMNPVersion /
//! ModifyOnlineVersion, DescribeMNPReleasedVersionHistory,
//! DescribeOnlineVersion.

use mnpd_api::model::*;
use mnpd_api::params::decode;
use mnpd_domain::entity::ReleaseRecord;

use super::{encode, ok_result, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

pub fn release(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ReleaseMNPVersionRequest = decode(call.action, call.params)?;
        state
            .releases
            .release(&call.caller, &req.platform_id, req.mnp_version_id)
            .await
            .inspect(|r| state.host_delivery.forget(&r.version.new.mnp_id))?;
        encode(&ReleaseMNPVersionResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn create_online_apply(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: CreateOnlineApplyRequest = decode(call.action, call.params)?;
        state
            .releases
            .release(&call.caller, &req.platform_id, req.mnp_version_id)
            .await
            .inspect(|r| state.host_delivery.forget(&r.version.new.mnp_id))?;
        encode(&CreateOnlineApplyResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn rollback(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: RollbackMNPVersionRequest = decode(call.action, call.params)?;
        state
            .releases
            .roll_back(
                &call.caller,
                &req.platform_id,
                &req.mnp_id,
                req.mnp_version_id,
                Some(&req.mnp_version),
            )
            .await?;
        state.host_delivery.forget(&req.mnp_id);
        encode(&RollbackMNPVersionResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn modify_online_version(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ModifyOnlineVersionRequest = decode(call.action, call.params)?;
        state
            .releases
            .roll_back(
                &call.caller,
                &req.platform_id,
                &req.mnp_id,
                req.mnp_version_id,
                req.mnp_version.as_deref(),
            )
            .await?;
        state.host_delivery.forget(&req.mnp_id);
        encode(&ModifyOnlineVersionResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

fn page(records: Vec<ReleaseRecord>) -> DescribeRevertOnlineVersionPageResp {
    DescribeRevertOnlineVersionPageResp {
        total_count: Some(records.len() as i64),
        data_list: Some(
            records
                .into_iter()
                .map(|r| QueryOnlineVersionResp {
                    mnp_id: Some(r.version.new.mnp_id),
                    mnp_version: Some(r.version.new.version),
                    mnp_version_id: Some(r.version.mnp_version_id),
                    mnp_version_note: Some(r.version.new.intro),
                    update_time: Some(r.released_at.to_string()),
                })
                .collect(),
        ),
    }
}

pub fn history(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPReleasedVersionHistoryRequest = decode(call.action, call.params)?;
        let records = state
            .releases
            .history(&call.caller, &req.platform_id, &req.mnp_id)
            .await?;
        encode(&DescribeMNPReleasedVersionHistoryResponse {
            data: Some(page(records)),
            request_id: None,
        })
    })
}

pub fn online(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeOnlineVersionRequest = decode(call.action, call.params)?;
        let online = state
            .releases
            .online(&call.caller, &req.platform_id, &req.mnp_id)
            .await?;
        encode(&DescribeOnlineVersionResponse {
            data: Some(page(online.into_iter().collect())),
            request_id: None,
        })
    })
}
