//! ModifyMNP, DeleteMNP, RemoveMNP, ModifyMNPStatusOffline, DescribeMNP,
//! DescribeMNPManagerDetail, DescribeMNPManagerList.

use mnpd_api::model::*;
use mnpd_api::params::decode;
use mnpd_domain::entity::MiniProgramListing;
use mnpd_domain::mini_program::MiniProgramChanges;
use mnpd_domain::mini_program::MiniProgramQuery;

use super::{encode, ok_result, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

/// `AccessStatus`: 1 not connected, 2 connected (users get a version of it).
fn access_status(l: &MiniProgramListing) -> i64 {
    if l.is_served() {
        2
    } else {
        1
    }
}

pub fn modify(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ModifyMNPRequest = decode(call.action, call.params)?;
        let number = state
            .mini_programs
            .modify(
                &call.caller,
                MiniProgramChanges {
                    platform_id: req.platform_id,
                    mnp_id: req.mnp_id,
                    name: req.mnp_name,
                    mnp_type: req.mnp_type,
                    icon: req.mnp_icon,
                    intro: req.mnp_intro,
                    desc: req.mnp_desc,
                },
            )
            .await?;
        encode(&ModifyMNPResponse {
            data: Some(ResourceIdInfo {
                resource_id: Some(number),
            }),
            request_id: None,
        })
    })
}

pub fn delete(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DeleteMNPRequest = decode(call.action, call.params)?;
        state
            .mini_programs
            .delete(&call.caller, &req.platform_id, &req.mnp_id)
            .await?;
        encode(&DeleteMNPResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn remove(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: RemoveMNPRequest = decode(call.action, call.params)?;
        state
            .mini_programs
            .remove(&call.caller, &req.platform_id, &req.mnp_id)
            .await?;
        encode(&RemoveMNPResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn offline(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ModifyMNPStatusOfflineRequest = decode(call.action, call.params)?;
        state
            .mini_programs
            .set_offline(&call.caller, &req.platform_id, &req.mnp_id)
            .await?;
        encode(&ModifyMNPStatusOfflineResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

fn manager_detail(l: MiniProgramListing) -> DescribeMNPManagerDetailData {
    let access = access_status(&l);
    let m = l.mini_program;
    DescribeMNPManagerDetailData {
        mnp_type: Some(m.mnp_type),
        mnp_id: Some(m.mnp_id),
        mnp_name: Some(m.name),
        mnp_icon: Some(m.icon),
        mnp_intro: Some(m.intro),
        mnp_desc: Some(m.desc),
        // A decimal string here, as the spec's type and example say.
        create_time: Some(m.created_at.to_string()),
        create_user: Some(m.create_user),
        access_status: Some(access),
        team_name: Some(l.team_name),
        team_id: Some(m.team_id),
        status: Some(m.status),
    }
}

pub fn describe(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPRequest = decode(call.action, call.params)?;
        let l = state
            .mini_programs
            .detail(&call.caller, &req.platform_id, &req.mnp_id)
            .await?;
        encode(&DescribeMNPResponse {
            data: Some(manager_detail(l)),
            request_id: None,
        })
    })
}

pub fn manager_detail_of(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPManagerDetailRequest = decode(call.action, call.params)?;
        let l = state
            .mini_programs
            .detail(&call.caller, &req.platform_id, &req.mnp_id)
            .await?;
        encode(&DescribeMNPManagerDetailResponse {
            data: Some(manager_detail(l)),
            request_id: None,
        })
    })
}

pub fn manager_list(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPManagerListRequest = decode(call.action, call.params)?;
        let (total, page) = state
            .mini_programs
            .list(
                &call.caller,
                MiniProgramQuery {
                    platform_id: req.platform_id,
                    keyword: req.keyword,
                    team_id: req.team_id,
                    application_id: None,
                    offset: req.offset,
                    limit: req.limit,
                },
            )
            .await?;
        encode(&DescribeMNPManagerListResponse {
            data: Some(DescribeMNPManagerListResp {
                total_count: Some(total),
                data_list: Some(
                    page.into_iter()
                        .map(|l| DescribeMNPManagerListData {
                            access_status: Some(access_status(&l)),
                            mnp_id: Some(l.mini_program.mnp_id),
                            mnp_icon: Some(l.mini_program.icon),
                            mnp_name: Some(l.mini_program.name),
                            team_name: Some(l.team_name),
                            status: Some(l.mini_program.status),
                        })
                        .collect(),
                ),
            }),
            request_id: None,
        })
    })
}
