//! ConfigureMNPPreview, DescribeMNPPreview (preview version) and
//! ModifyMNPVersionPreview, DescribeMNPVersionPreview (trial version).

use mnpd_api::model::*;
use mnpd_api::params::decode;
use mnpd_domain::entity::PreviewKind;

use super::{encode, ok_result, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

pub fn configure(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ConfigureMNPPreviewRequest = decode(call.action, call.params)?;
        state
            .previews
            .configure(
                &call.caller,
                &req.platform_id,
                &req.mnp_id,
                PreviewKind::Preview,
                req.action_type,
                req.mnp_version_id,
                req.preivew_entrance_path.as_deref(),
            )
            .await?;
        encode(&ConfigureMNPPreviewResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn describe(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPPreviewRequest = decode(call.action, call.params)?;
        let view = state
            .previews
            .describe(
                &call.caller,
                &req.platform_id,
                &req.mnp_id,
                PreviewKind::Preview,
                req.mnp_version_id,
            )
            .await?;
        encode(&DescribeMNPPreviewResponse {
            data: Some(DescribeMNPPreviewResp {
                mnp_id: Some(view.mini_program.mnp_id),
                mnp_name: Some(view.mini_program.name),
                mnp_desc: Some(view.mini_program.desc),
                mnp_version: Some(view.version.new.version),
                mnp_version_intro: Some(view.version.new.intro),
                qr_code_url: Some(view.qr_code_url),
                preview_entrance_path: Some(view.preview.entrance_path),
            }),
            request_id: None,
        })
    })
}

pub fn modify_trial(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ModifyMNPVersionPreviewRequest = decode(call.action, call.params)?;
        state
            .previews
            .configure(
                &call.caller,
                &req.platform_id,
                &req.mnp_id,
                PreviewKind::Trial,
                req.action_type,
                req.mnp_version_id,
                req.test_entrance_path.as_deref(),
            )
            .await?;
        encode(&ModifyMNPVersionPreviewResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn describe_trial(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPVersionPreviewRequest = decode(call.action, call.params)?;
        let view = state
            .previews
            .describe(
                &call.caller,
                &req.platform_id,
                &req.mnp_id,
                PreviewKind::Trial,
                req.mnp_version_id,
            )
            .await?;
        let applications = state
            .applications
            .of_platform(&call.caller, &req.platform_id)
            .await?;
        encode(&DescribeMNPVersionPreviewResponse {
            data: Some(DescribeShowCaseResp {
                mnp_id: Some(view.mini_program.mnp_id),
                mnp_name: Some(view.mini_program.name),
                mnp_desc: Some(view.mini_program.desc),
                mnp_version: Some(view.version.new.version),
                mnp_version_intro: Some(view.version.new.intro),
                qr_code_url: Some(view.qr_code_url),
                app_list: Some(
                    applications
                        .into_iter()
                        .map(|a| ShowCaseRelAppInfo {
                            application_id: Some(a.application_id),
                            application_name: Some(a.name),
                            application_and_url: Some(String::new()),
                            application_ios_url: Some(String::new()),
                            application_icon: Some(a.logo),
                        })
                        .collect(),
                ),
                test_entrance_path: Some(view.preview.entrance_path),
            }),
            request_id: None,
        })
    })
}
