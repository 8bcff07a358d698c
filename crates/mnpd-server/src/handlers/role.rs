//! DescribeRoleList, DescribeRoleDetail: the preset roles.

use mnpd_api::model::*;
use mnpd_api::params::decode;
use mnpd_domain::organization::roles::{PRESET_ROLE_TIME, PRESET_ROLE_TYPE};

use super::{encode, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

pub fn list(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeRoleListRequest = decode(call.action, call.params)?;
        let (total, page) = state
            .organization
            .list_roles(
                &call.caller,
                &req.platform_id,
                req.keyword.as_deref(),
                req.team_id.as_deref(),
                req.offset,
                req.limit,
            )
            .await?;
        encode(&DescribeRoleListResponse {
            data: Some(DescribeRoleListResp {
                total_count: Some(total),
                data_list: Some(
                    page.into_iter()
                        .map(|r| DescribeRoleListData {
                            role_id: Some(r.role_id),
                            role_name: Some(r.name.to_string()),
                            // Preset roles belong to no one team.
                            team_name: Some(String::new()),
                            create_time: Some(PRESET_ROLE_TIME.to_string()),
                            role_type: Some(PRESET_ROLE_TYPE),
                        })
                        .collect(),
                ),
            }),
            request_id: None,
        })
    })
}

pub fn detail(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeRoleDetailRequest = decode(call.action, call.params)?;
        let r = state
            .organization
            .role(&call.caller, &req.platform_id, req.role_id)
            .await?;
        encode(&DescribeRoleDetailResponse {
            data: Some(DescribeRoleDetailResp {
                role_id: Some(r.role_id),
                role_name: Some(r.name.to_string()),
                team_id: Some(String::new()),
                team_name: Some(String::new()),
                resource_ids: Some(r.permissions.iter().map(|p| p.to_string()).collect()),
            }),
            request_id: None,
        })
    })
}
