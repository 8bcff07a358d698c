//! CreateTeam, DescribeTeam, DescribeTeamList, DescribeSimpleTeamList,
//! ModifyTeam, DeleteTeam.

use mnpd_api::model::*;
use mnpd_api::params::decode;
use mnpd_domain::organization::{NewTeam, TeamQuery, TeamView};

use super::{encode, ok_result, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

pub fn create(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: CreateTeamRequest = decode(call.action, call.params)?;
        state
            .organization
            .create_team(
                &call.caller,
                NewTeam {
                    platform_id: req.platform_id,
                    name: req.team_name,
                    admin_user_id: req.admin_user_id,
                    role_types: req.team_role_type_list,
                    remark: req.remark,
                    related_team_id: req.related_team_id,
                },
            )
            .await?;
        // The API answers no TeamId: DescribeTeamList shows it.
        encode(&CreateTeamResponse { request_id: None })
    })
}

pub fn describe(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeTeamRequest = decode(call.action, call.params)?;
        let v = state
            .organization
            .team(&call.caller, &req.platform_id, &req.team_id)
            .await?;
        encode(&DescribeTeamResponse {
            data: Some(DescribeTeamDetailResp {
                team_role_type: v.team.role_types.first().copied(),
                admin_user_account: Some(v.admin.map(|a| a.account).unwrap_or_default()),
                create_user: Some(v.team.create_user),
                create_time: Some(v.team.created_at.to_string()),
                member_count: Some(v.member_count),
                bind_mini_team_count: Some(v.bound_team_count),
                bind_team_name: Some(v.related_team_name),
                // Registration links are not offered: teams are made by
                // CreateTeam.
                register_link: Some(String::new()),
                application_name: Some(v.application_name),
                team_name: Some(v.team.name),
            }),
            request_id: None,
        })
    })
}

fn list_item(v: TeamView) -> DescribeTeamListInfoResp {
    let admin = v.admin;
    DescribeTeamListInfoResp {
        admin_user_id: Some(v.team.admin_user_id.unwrap_or_default()),
        admin_user_account: Some(
            admin
                .as_ref()
                .map(|a| a.account.clone())
                .unwrap_or_default(),
        ),
        admin_user_name: Some(admin.map(|a| a.name).unwrap_or_default()),
        member_count: Some(v.member_count),
        register_link: Some(String::new()),
        // TeamIds are digits, and the spec types RelatedTeamId as an
        // integer: 0 when there is none.
        related_team_id: Some(
            v.team
                .related_team_id
                .as_deref()
                .and_then(|r| r.parse().ok())
                .unwrap_or(0),
        ),
        team_role_type_list: Some(v.team.role_types),
        team_id: Some(v.team.team_id),
        team_name: Some(v.team.name),
    }
}

pub fn list(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeTeamListRequest = decode(call.action, call.params)?;
        let (total, page) = state
            .organization
            .list_teams(
                &call.caller,
                TeamQuery {
                    platform_id: req.platform_id,
                    keyword: req.keyword,
                    offset: req.offset,
                    limit: req.limit,
                },
            )
            .await?;
        encode(&DescribeTeamListResponse {
            data: Some(DescribeTeamPageResp {
                total_count: Some(total),
                data_list: Some(page.into_iter().map(list_item).collect()),
            }),
            request_id: None,
        })
    })
}

pub fn simple_list(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeSimpleTeamListRequest = decode(call.action, call.params)?;
        let teams = state
            .organization
            .simple_teams(
                &call.caller,
                &req.platform_id,
                &req.team_role_type_list.unwrap_or_default(),
            )
            .await?;
        encode(&DescribeSimpleTeamListResponse {
            data: Some(DescribeSimpleTeamListResp {
                total_count: Some(teams.len() as i64),
                data_list: Some(
                    teams
                        .into_iter()
                        .map(|t| SimpleStringKeyValue {
                            key: Some(t.team_id),
                            value: Some(t.name),
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
        let req: ModifyTeamRequest = decode(call.action, call.params)?;
        state
            .organization
            .modify_team(
                &call.caller,
                &req.platform_id,
                &req.team_id,
                &req.team_name,
                req.admin_user_id.as_deref(),
            )
            .await?;
        encode(&ModifyTeamResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn delete(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DeleteTeamRequest = decode(call.action, call.params)?;
        state
            .organization
            .delete_team(&call.caller, &req.platform_id, &req.team_id)
            .await?;
        encode(&DeleteTeamResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}
