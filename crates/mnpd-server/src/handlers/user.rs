//! CreateUser, DescribeUser, DescribeUserDetail, DescribeUserList,
//! ModifyUser, ModifyUserPassword, DeleteUser, and CreatePresetKey (the
//! key their passwords travel under).

use mnpd_api::model::*;
use mnpd_api::params::decode;
use mnpd_domain::entity::User;
use mnpd_domain::organization::{NewUser, SealedPassword, UserChanges, UserQuery};

use super::{encode, ok_result, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

pub fn create_preset_key(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let _: CreatePresetKeyRequest = decode(call.action, call.params)?;
        let key = state.organization.create_preset_key(&call.caller).await?;
        encode(&CreatePresetKeyResponse {
            data: Some(PresetResp { key: Some(key) }),
            request_id: None,
        })
    })
}

pub fn create(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: CreateUserRequest = decode(call.action, call.params)?;
        let user_id = state
            .organization
            .create_user(
                &call.caller,
                NewUser {
                    platform_id: req.platform_id,
                    account: req.user_account,
                    name: req.user_name,
                    account_type: req.account_type,
                    password: SealedPassword {
                        key_id: req.key_id,
                        ciphertext: req.password,
                    },
                },
            )
            .await?;
        encode(&CreateUserResponse {
            data: Some(ResourceIdStringInfo {
                resource_id: Some(user_id),
            }),
            request_id: None,
        })
    })
}

fn detail(u: User) -> DescribeUserDetailResp {
    DescribeUserDetailResp {
        user_id: Some(u.user_id),
        user_account: Some(u.account),
        account_type: Some(u.account_type),
        user_name: Some(u.name),
    }
}

pub fn describe(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeUserRequest = decode(call.action, call.params)?;
        let user = state
            .organization
            .user(&call.caller, Some(&req.platform_id), &req.user_id)
            .await?;
        encode(&DescribeUserResponse {
            data: Some(detail(user)),
            request_id: None,
        })
    })
}

pub fn describe_detail(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeUserDetailRequest = decode(call.action, call.params)?;
        let user = state
            .organization
            .user(&call.caller, req.platform_id.as_deref(), &req.user_id)
            .await?;
        encode(&DescribeUserDetailResponse {
            data: Some(detail(user)),
            request_id: None,
        })
    })
}

pub fn list(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeUserListRequest = decode(call.action, call.params)?;
        let (total, page) = state
            .organization
            .list_users(
                &call.caller,
                UserQuery {
                    platform_id: req.platform_id,
                    keyword: req.keyword,
                    account_type: req.account_type,
                    team_id: req.team_id,
                    offset: req.offset,
                    limit: req.limit,
                },
            )
            .await?;
        encode(&DescribeUserListResponse {
            data: Some(DescribeUserListResp {
                total_count: Some(total),
                data_list: Some(
                    page.into_iter()
                        .map(|l| DescribeUserListData {
                            teams: Some(l.team_ids.join(",")),
                            team_name: Some(l.team_names.join(",")),
                            user_id: Some(l.user.user_id),
                            user_account: Some(l.user.account),
                            account_type: Some(l.user.account_type),
                            user_name: Some(l.user.name),
                            // Decimal strings, as in the public example.
                            create_time: Some(l.user.created_at.to_string()),
                            status: Some(l.user.status),
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
        let req: ModifyUserRequest = decode(call.action, call.params)?;
        state
            .organization
            .modify_user(
                &call.caller,
                UserChanges {
                    platform_id: req.platform_id,
                    user_id: req.user_id,
                    name: req.user_name,
                    account_type: req.account_type,
                    account: req.user_account,
                },
            )
            .await?;
        encode(&ModifyUserResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn modify_password(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ModifyUserPasswordRequest = decode(call.action, call.params)?;
        state
            .organization
            .modify_password(
                &call.caller,
                &req.platform_id,
                &req.user_id,
                &SealedPassword {
                    key_id: req.key_id,
                    ciphertext: req.password,
                },
            )
            .await?;
        encode(&ModifyUserPasswordResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn delete(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DeleteUserRequest = decode(call.action, call.params)?;
        state
            .organization
            .delete_user(&call.caller, &req.platform_id, &req.user_id)
            .await?;
        encode(&DeleteUserResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}
