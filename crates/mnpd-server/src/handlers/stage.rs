//! DescribeMNPAllStageVersions and DescribeMNPBoard: the same stage views
//! under two shapes.

use mnpd_api::model::*;
use mnpd_api::params::decode;
use mnpd_domain::entity::MiniProgram;
use mnpd_domain::stage::StageView;

use super::{encode, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

fn approval_status(v: &StageView) -> i64 {
    v.approval.as_ref().map(|a| a.status).unwrap_or(0)
}

fn approval_no(v: &StageView) -> String {
    v.approval
        .as_ref()
        .map(|a| a.approval_no.clone())
        .unwrap_or_default()
}

fn all_stages_row(m: &MiniProgram, v: StageView) -> DescribeMPAllStageVersionsResp {
    DescribeMPAllStageVersionsResp {
        mnp_id: Some(m.mnp_id.clone()),
        mnp_version_id: Some(v.version.mnp_version_id),
        mnp_name: Some(m.name.clone()),
        mnp_icon: Some(m.icon.clone()),
        mnp_type: Some(m.mnp_type.clone()),
        mnp_intro: Some(m.intro.clone()),
        mnp_desc: Some(m.desc.clone()),
        create_user: Some(v.version.new.create_user.shown().to_string()),
        create_time: Some(v.version.new.created_at.to_string()),
        mnp_version: Some(v.version.new.version.clone()),
        mnp_version_intro: Some(v.version.new.intro.clone()),
        phase: Some(v.phase.as_str().to_string()),
        approval_status: Some(approval_status(&v)),
        approval_no: Some(approval_no(&v)),
        show_case: Some(v.show_case as i64),
        rollback_version: Some(v.rolled_back as i64),
        status: Some(m.status),
        version_current_status: Some(approval_status(&v)),
    }
}

fn board_row(m: &MiniProgram, v: StageView) -> VersionBoardResp {
    VersionBoardResp {
        mnp_id: Some(m.mnp_id.clone()),
        mnp_version_id: Some(v.version.mnp_version_id),
        mnp_name: Some(m.name.clone()),
        mnp_icon: Some(m.icon.clone()),
        mnp_type: Some(m.mnp_type.clone()),
        mnp_intro: Some(m.intro.clone()),
        mnp_desc: Some(m.desc.clone()),
        create_user: Some(v.version.new.create_user.shown().to_string()),
        create_time: Some(v.version.new.created_at.to_string()),
        mnp_version: Some(v.version.new.version.clone()),
        mnp_version_intro: Some(v.version.new.intro.clone()),
        phase: Some(v.phase.as_str().to_string()),
        audit_status: Some(approval_status(&v)),
        audit_no: Some(approval_no(&v)),
        show_case: Some(v.show_case as i64),
        // mnpd runs no code scanner.
        scan_status: Some(0),
        scan_score: Some(0),
        rollback_version: Some(v.rolled_back as i64),
        status: Some(m.status),
        scan_html_path: Some(String::new()),
        version_current_status: Some(approval_status(&v)),
    }
}

pub fn all_stage_versions(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPAllStageVersionsRequest = decode(call.action, call.params)?;
        let (listing, views) = state
            .stages
            .of(&call.caller, &req.platform_id, &req.mnp_id)
            .await?;
        let m = listing.mini_program;
        encode(&DescribeMNPAllStageVersionsResponse {
            data: Some(views.into_iter().map(|v| all_stages_row(&m, v)).collect()),
            request_id: None,
        })
    })
}

pub fn board(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPBoardRequest = decode(call.action, call.params)?;
        let (listing, views) = state
            .stages
            .of(&call.caller, &req.platform_id, &req.mnp_id)
            .await?;
        let m = listing.mini_program;
        encode(&DescribeMNPBoardResponse {
            data: Some(views.into_iter().map(|v| board_row(&m, v)).collect()),
            request_id: None,
        })
    })
}
