//! CreateMNP, DescribeMNPList, DescribeMNPDetail.

use mnpd_api::model::*;
use mnpd_api::params::decode;
use mnpd_domain::entity::MiniProgramListing;
use mnpd_domain::mini_program::MiniProgramQuery;
use mnpd_domain::mini_program::NewMiniProgram;

use super::{encode, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

pub fn create(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: CreateMNPRequest = decode(call.action, call.params)?;
        let mnp_id = state
            .mini_programs
            .create(
                &call.caller,
                NewMiniProgram {
                    platform_id: req.platform_id,
                    team_id: req.team_id,
                    name: req.mnp_name,
                    mnp_type: req.mnp_type,
                    icon: req.mnp_icon,
                    intro: req.mnp_intro,
                    desc: req.mnp_desc,
                },
            )
            .await?;
        encode(&CreateMNPResponse {
            data: Some(ResourceIdStringInfo {
                resource_id: Some(mnp_id),
            }),
            request_id: None,
        })
    })
}

pub fn list(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPListRequest = decode(call.action, call.params)?;
        let (total, page) = state
            .mini_programs
            .list(
                &call.caller,
                MiniProgramQuery {
                    platform_id: req.platform_id,
                    keyword: req.keyword,
                    team_id: req.team_id,
                    application_id: req.application_id,
                    offset: req.offset,
                    limit: req.limit,
                },
            )
            .await?;
        encode(&DescribeMNPListResponse {
            data: Some(DescribeMNPListResp {
                total_count: Some(total),
                data_list: Some(page.into_iter().map(list_item).collect()),
            }),
            request_id: None,
        })
    })
}

/// `EffectStatus`: 2 when users get a version, 1 when one is online but
/// the mini program is out of service, 0 when nothing was ever released.
fn effect_status(l: &MiniProgramListing) -> i64 {
    match (&l.online, l.is_served()) {
        (_, true) => 2,
        (Some(_), false) => 1,
        (None, _) => 0,
    }
}

fn list_item(l: MiniProgramListing) -> DescribeMNPListData {
    let effect = effect_status(&l);
    let (online_id, online_version) = l.online.clone().unwrap_or((0, String::new()));
    let m = l.mini_program;
    DescribeMNPListData {
        mnp_id: Some(m.mnp_id),
        mnp_icon: Some(m.icon),
        mnp_name: Some(m.name),
        team_name: Some(l.team_name),
        mnp_type: Some(m.mnp_type),
        status: Some(m.status),
        mnp_intro: Some(m.intro),
        create_user: Some(m.create_user),
        // This listing carries times as decimal strings (see the spec's example).
        create_time: Some(m.created_at.to_string()),
        update_user: Some(m.update_user),
        update_time: Some(m.updated_at.to_string()),
        application_name: Some(String::new()),
        effect_status: Some(effect),
        effect_mnp_version_id: Some(online_id),
        effect_mnp_version: Some(online_version),
    }
}

pub fn detail(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPDetailRequest = decode(call.action, call.params)?;
        let l = state
            .mini_programs
            .detail(&call.caller, &req.platform_id, &req.mnp_id)
            .await?;
        // OnlineStatus: 1 while users get a version of it.
        let online_status = l.is_served() as i64;
        let m = l.mini_program;
        encode(&DescribeMNPDetailResponse {
            data: Some(MNPDetail {
                mnp_type: Some(m.mnp_type),
                mnp_id: Some(m.mnp_id),
                mnp_name: Some(m.name),
                mnp_icon: Some(m.icon),
                mnp_intro: Some(m.intro),
                mnp_desc: Some(m.desc),
                create_user: Some(m.create_user),
                create_time: Some(m.created_at),
                online_status: Some(online_status),
                applications: None,
                tags: None,
                status: Some(m.status),
            }),
            request_id: None,
        })
    })
}
