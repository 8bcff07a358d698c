//! CreateApplication, DescribeApplicationList, DescribeApplication,
//! ModifyApplication, DeleteApplication, ModifyApplicationAppKey,
//! ModifyApplicationAppUrl, DescribeSimpleApplicationInfoList, and the
//! configuration file (DescribeApplicationConfig, ...ConfigFile).

use mnpd_api::model::*;
use mnpd_api::params::decode;
use mnpd_domain::application::ApplicationQuery;
use mnpd_domain::application::{ApplicationChanges, NewApplication};
use mnpd_domain::entity::ApplicationListing;

use super::{encode, ok_result, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

pub fn create(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: CreateApplicationRequest = decode(call.action, call.params)?;
        let application_id = state
            .applications
            .create(
                &call.caller,
                NewApplication {
                    platform_id: req.platform_id,
                    team_id: req.team_id,
                    name: req.application_name,
                    logo: req.logo,
                    intro: req.intro,
                    remark: req.remark,
                    android_app_key: req.android_app_key,
                    ios_app_key: req.ios_app_key,
                    application_type: req.application_type,
                },
            )
            .await?;
        encode(&CreateApplicationResponse {
            data: Some(ResourceIdStringInfo {
                resource_id: Some(application_id),
            }),
            request_id: None,
        })
    })
}

pub fn list(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeApplicationListRequest = decode(call.action, call.params)?;
        let (total, page) = state
            .applications
            .list(
                &call.caller,
                ApplicationQuery {
                    platform_id: req.platform_id,
                    keyword: req.keyword,
                    team_id: req.team_id,
                    approved_mnp_id: None,
                    offset: req.offset,
                    limit: req.limit,
                },
            )
            .await?;
        encode(&DescribeApplicationListResponse {
            data: Some(ApplicationPageInfo {
                total_count: Some(total),
                data_list: Some(page.into_iter().map(list_item).collect()),
            }),
            request_id: None,
        })
    })
}

fn list_item(l: ApplicationListing) -> ApplicationInfo {
    let a = l.application;
    ApplicationInfo {
        // Not tracked: there is no customer above the account.
        customer_id: Some(String::new()),
        application_id: Some(a.application_id),
        app_identity_id: Some(a.number),
        application_name: Some(a.name),
        application_english_name: Some(String::new()),
        logo: Some(a.logo),
        remark: Some(a.remark),
        android_app_key: Some(a.android_app_key),
        ios_app_key: Some(a.ios_app_key),
        create_user: Some(a.create_user),
        // Times as decimal strings, as in the spec's examples.
        create_time: Some(a.created_at.to_string()),
        update_user: Some(a.update_user),
        update_time: Some(a.updated_at.to_string()),
        intro: Some(a.intro),
        ios_app_url: Some(a.ios_app_url),
        android_app_url: Some(a.android_app_url),
        team_id: Some(a.team_id),
        team_name: Some(l.team_name),
        sensitive_api_count: Some(0),
        application_type: Some(a.application_type as u64),
    }
}

pub fn detail(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeApplicationRequest = decode(call.action, call.params)?;
        let l = state
            .applications
            .detail(&call.caller, &req.platform_id, &req.application_id)
            .await?;
        let a = l.application;
        encode(&DescribeApplicationResponse {
            data: Some(ApplicationDetail {
                application_id: Some(a.application_id),
                app_identity_id: Some(a.number),
                application_name: Some(a.name),
                application_english_name: Some(String::new()),
                logo: Some(a.logo),
                remark: Some(a.remark),
                android_app_key: Some(a.android_app_key),
                ios_app_key: Some(a.ios_app_key),
                create_user: Some(a.create_user),
                create_time: Some(a.created_at.to_string()),
                update_user: Some(a.update_user),
                update_time: Some(a.updated_at.to_string()),
                // Binding mini programs to an application is not modelled
                // yet: none are bound.
                bind_mnp_count: Some(0),
                bind_mnp_list: Some(Vec::new()),
                intro: Some(a.intro),
                android_app_url: Some(a.android_app_url),
                ios_app_url: Some(a.ios_app_url),
                team_id: Some(a.team_id),
                team_name: Some(l.team_name),
                sensitive_api_count: Some(0),
                application_type: Some(a.application_type),
            }),
            request_id: None,
        })
    })
}

pub fn modify(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ModifyApplicationRequest = decode(call.action, call.params)?;
        state
            .applications
            .modify(
                &call.caller,
                ApplicationChanges {
                    platform_id: req.platform_id,
                    application_id: req.application_id,
                    name: req.application_name,
                    logo: req.logo,
                    intro: req.intro,
                    remark: req.remark,
                    android_app_key: req.android_app_key,
                    ios_app_key: req.ios_app_key,
                },
            )
            .await?;
        encode(&ModifyApplicationResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn delete(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DeleteApplicationRequest = decode(call.action, call.params)?;
        state
            .applications
            .delete(&call.caller, &req.platform_id, &req.application_id)
            .await?;
        encode(&DeleteApplicationResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn modify_app_key(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ModifyApplicationAppKeyRequest = decode(call.action, call.params)?;
        state
            .applications
            .modify_app_keys(
                &call.caller,
                &req.platform_id,
                &req.application_id,
                req.android_app_key.as_deref(),
                req.ios_app_key.as_deref(),
            )
            .await?;
        encode(&ModifyApplicationAppKeyResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn simple_list(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeSimpleApplicationInfoListRequest = decode(call.action, call.params)?;
        // mnpd has no assistant application, so LoadAssistantApp adds none.
        let (total, page) = state
            .applications
            .simple_list(
                &call.caller,
                ApplicationQuery {
                    platform_id: req.platform_id,
                    keyword: req.keyword,
                    team_id: None,
                    approved_mnp_id: req.mnp_id,
                    offset: req.offset,
                    limit: req.limit,
                },
            )
            .await?;
        encode(&DescribeSimpleApplicationInfoListResponse {
            data: Some(ApplicationSimpleListInfoResp {
                total_count: Some(total),
                data_list: Some(
                    page.into_iter()
                        .map(|l| ApplicationSimpleInfoResp {
                            application_id: Some(l.application.application_id),
                            app_identity_id: Some(l.application.number),
                            application_name: Some(l.application.name),
                        })
                        .collect(),
                ),
            }),
            request_id: None,
        })
    })
}

pub fn modify_app_url(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ModifyApplicationAppUrlRequest = decode(call.action, call.params)?;
        state
            .applications
            .modify_app_urls(
                &call.caller,
                &req.platform_id,
                &req.application_id,
                req.android_app_url.as_deref(),
                req.ios_app_url.as_deref(),
            )
            .await?;
        encode(&ModifyApplicationAppUrlResponse {
            data: Some(BooleanInfo { result: Some(true) }),
            request_id: None,
        })
    })
}

async fn file_of(
    state: &AppState,
    caller: &mnpd_domain::entity::Caller,
    platform_id: &str,
    application_id: &str,
    app_type: i64,
) -> Result<DownloadApplicationConfigResp, crate::errors::ApiError> {
    let file = state
        .applications
        .config_file(caller, platform_id, application_id, app_type)
        .await?;
    Ok(DownloadApplicationConfigResp {
        file: Some(file.to_base64()),
    })
}

pub fn config(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeApplicationConfigRequest = decode(call.action, call.params)?;
        let data = file_of(
            state,
            &call.caller,
            &req.platform_id,
            &req.application_id,
            req.app_type,
        )
        .await?;
        encode(&DescribeApplicationConfigResponse {
            data: Some(data),
            request_id: None,
        })
    })
}

pub fn config_file(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeApplicationConfigFileRequest = decode(call.action, call.params)?;
        let data = file_of(
            state,
            &call.caller,
            &req.platform_id,
            &req.application_id,
            req.app_type,
        )
        .await?;
        encode(&DescribeApplicationConfigFileResponse {
            data: Some(data),
            request_id: None,
        })
    })
}
