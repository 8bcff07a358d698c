//! AddTeamMember, CreateTeamMember, DescribeTeamMemberList,
//! DescribeTeamMembers, ModifyTeamMember, DeleteTeamMember.

use mnpd_api::model::*;
use mnpd_api::params::decode;
use mnpd_domain::organization::roles;
use mnpd_domain::organization::{MemberQuery, NewMember, SealedPassword};

use super::{encode, ok_result, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

fn role_name(role_id: i64) -> String {
    roles::role(role_id)
        .map(|r| r.name.to_string())
        .unwrap_or_default()
}

pub fn add(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: AddTeamMemberRequest = decode(call.action, call.params)?;
        state
            .organization
            .add_members(
                &call.caller,
                &req.platform_id,
                &req.team_id,
                req.member_list
                    .into_iter()
                    .map(|m| (m.user_id, m.user_role_id))
                    .collect(),
            )
            .await?;
        encode(&AddTeamMemberResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn create(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: CreateTeamMemberRequest = decode(call.action, call.params)?;
        let user_id = state
            .organization
            .create_member(
                &call.caller,
                NewMember {
                    platform_id: req.platform_id,
                    team_id: req.team_id,
                    account: req.user_account,
                    name: req.user_name,
                    role_id: req.role_id,
                    password: SealedPassword {
                        key_id: req.key_id,
                        ciphertext: req.user_password,
                    },
                },
            )
            .await?;
        encode(&CreateTeamMemberResponse {
            data: Some(CreateTeamMemberInfoResp {
                user_id: Some(user_id),
            }),
            request_id: None,
        })
    })
}

pub fn list(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeTeamMemberListRequest = decode(call.action, call.params)?;
        let (total, page) = state
            .organization
            .list_members(
                &call.caller,
                MemberQuery {
                    platform_id: req.platform_id,
                    team_id: req.team_id,
                    keyword: req.keyword,
                    role_ids: req.role_ids.unwrap_or_default(),
                    offset: req.offset,
                    limit: req.limit,
                },
            )
            .await?;
        encode(&DescribeTeamMemberListResponse {
            data: Some(DescribeTeamMemberListPageResp {
                total_count: Some(total),
                data_list: Some(
                    page.into_iter()
                        .map(|m| DescribeTeamMemberInfoResp {
                            team_role_name: Some(role_name(m.role_id)),
                            team_role_id: Some(m.role_id),
                            // The admin changes only through ModifyTeam.
                            can_edit: Some(!m.is_admin),
                            user_id: Some(m.user_id),
                            user_account: Some(m.user_account),
                            user_name: Some(m.user_name),
                            team_id: Some(m.team_id),
                            team_name: Some(m.team_name),
                        })
                        .collect(),
                ),
            }),
            request_id: None,
        })
    })
}

pub fn members(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeTeamMembersRequest = decode(call.action, call.params)?;
        let (total, page) = state
            .organization
            .list_members(
                &call.caller,
                MemberQuery {
                    platform_id: req.platform_id,
                    team_id: Some(req.team_id),
                    offset: req.offset,
                    limit: req.limit,
                    ..MemberQuery::default()
                },
            )
            .await?;
        encode(&DescribeTeamMembersResponse {
            data: Some(DescribeTeamMembersInfoPageResp {
                total_count: Some(total),
                data_list: Some(
                    page.into_iter()
                        .map(|m| DescribeTeamMembersInfoResp {
                            user_roles: Some(role_name(m.role_id)),
                            user_id: Some(m.user_id),
                            user_account: Some(m.user_account),
                            user_name: Some(m.user_name),
                        })
                        .collect(),
                ),
            }),
            request_id: None,
        })
    })
}

pub fn modify(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ModifyTeamMemberRequest = decode(call.action, call.params)?;
        state
            .organization
            .modify_member(
                &call.caller,
                &req.platform_id,
                &req.team_id,
                &req.user_id,
                req.role_id,
            )
            .await?;
        encode(&ModifyTeamMemberResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn delete(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DeleteTeamMemberRequest = decode(call.action, call.params)?;
        state
            .organization
            .delete_member(&call.caller, &req.platform_id, &req.team_id, &req.user_id)
            .await?;
        encode(&DeleteTeamMemberResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}
