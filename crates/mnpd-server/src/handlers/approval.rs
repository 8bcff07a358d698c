//! CreateMNPApproval, DescribeMNPApprovalList, ProcessMNPApproval and their
//! other names: CreatePlatformAudit, ModifyPlatformAuditStatus,
//! DescribeApplicationMNPVersionAuditList. One machine, several entry points.

use mnpd_api::model::*;
use mnpd_api::params::decode;
use mnpd_domain::approval::ApprovalQuery;
use mnpd_domain::approval::ItemDecision;
use mnpd_domain::entity::{ApprovalItem, ApprovalListing};

use super::{encode, ok_result, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

pub fn create(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: CreateMNPApprovalRequest = decode(call.action, call.params)?;
        state
            .approvals
            .apply(
                &call.caller,
                &req.platform_id,
                req.mnp_version_id,
                &req.apply_action,
            )
            .await?;
        encode(&CreateMNPApprovalResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn create_platform_audit(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: CreatePlatformAuditRequest = decode(call.action, call.params)?;
        state
            .approvals
            .apply(
                &call.caller,
                &req.platform_id,
                req.mnp_version_id,
                &req.apply_action,
            )
            .await?;
        encode(&CreatePlatformAuditResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn process(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ProcessMNPApprovalRequest = decode(call.action, call.params)?;
        let decisions = req
            .approval_items
            .into_iter()
            .map(|i| ItemDecision {
                application_id: i.app_id,
                result: i.approval_result,
                note: i.approval_note.unwrap_or_default(),
            })
            .collect();
        state
            .approvals
            .process(&call.caller, &req.platform_id, &req.approval_no, decisions)
            .await?;
        encode(&ProcessMNPApprovalResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

/// ModifyPlatformAuditStatus: per-application items when given, otherwise
/// AuditResult and AuditNote for every application of the audit.
pub fn modify_platform_audit_status(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ModifyPlatformAuditStatusRequest = decode(call.action, call.params)?;
        let items = req.audit_items.unwrap_or_default();
        if items.is_empty() {
            state
                .approvals
                .process_all(
                    &call.caller,
                    &req.platform_id,
                    &req.audit_no,
                    req.audit_result,
                    req.audit_note.as_deref().unwrap_or_default(),
                )
                .await?;
        } else {
            let decisions = items
                .into_iter()
                .map(|i| ItemDecision {
                    application_id: i.application_id.unwrap_or_default(),
                    result: i.audit_status.unwrap_or(req.audit_result),
                    note: i
                        .audit_note
                        .filter(|n| !n.is_empty())
                        .or_else(|| req.audit_note.clone())
                        .unwrap_or_default(),
                })
                .collect();
            state
                .approvals
                .process(&call.caller, &req.platform_id, &req.audit_no, decisions)
                .await?;
        }
        encode(&ModifyPlatformAuditStatusResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn list(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPApprovalListRequest = decode(call.action, call.params)?;
        let (total, rows) = state
            .approvals
            .list(
                &call.caller,
                ApprovalQuery {
                    platform_id: req.platform_id,
                    statuses: req.approval_status_list.unwrap_or_default(),
                    keyword: req.keyword,
                    application_id: req.application_id,
                    team_id: req.team_id,
                    offset: req.offset,
                    limit: req.limit,
                },
            )
            .await?;
        encode(&DescribeMNPApprovalListResponse {
            data: Some(DescribeMNPApprovalListResp {
                total_count: Some(total),
                data_list: Some(rows.into_iter().map(approval_row).collect()),
            }),
            request_id: None,
        })
    })
}

fn time_or_zero(t: i64) -> String {
    t.to_string()
}

/// Who decided the item, empty while it waits.
fn decider(item: &ApprovalItem) -> String {
    item.approval_user
        .as_ref()
        .map(|a| a.shown().to_string())
        .unwrap_or_default()
}

fn approval_row(r: ApprovalListing) -> DescribeMNPApprovalListData {
    let decided_by = decider(&r.item);
    DescribeMNPApprovalListData {
        approval_no: Some(r.approval.approval_no),
        application_id: Some(r.item.application_id),
        approval_status: Some(r.item.status),
        mnp_id: Some(r.mini_program.mnp_id),
        mnp_version: Some(r.mnp_version),
        mnp_version_id: Some(r.approval.mnp_version_id),
        apply_user: Some(r.approval.apply_user.shown().to_string()),
        apply_time: Some(time_or_zero(r.approval.apply_time)),
        mnp_name: Some(r.mini_program.name),
        mnp_icon: Some(r.mini_program.icon),
        application_name: Some(r.application_name),
        application_logo: Some(r.application_logo),
        team_id: Some(r.mini_program.team_id),
        team_name: Some(r.team_name),
        mnp_qr_code_url: Some(String::new()),
        mnp_type: Some(r.mini_program.mnp_type),
        approval_user: Some(decided_by),
        approval_time: Some(time_or_zero(r.item.approval_time)),
        approval_note: Some(r.item.note),
    }
}

pub fn audit_list(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeApplicationMNPVersionAuditListRequest = decode(call.action, call.params)?;
        let (total, rows) = state
            .approvals
            .list(
                &call.caller,
                ApprovalQuery {
                    platform_id: req.platform_id,
                    statuses: req.audit_status_list.unwrap_or_default(),
                    keyword: req.keyword,
                    application_id: req.application_id,
                    team_id: req.team_id,
                    offset: req.offset,
                    limit: req.limit,
                },
            )
            .await?;
        encode(&DescribeApplicationMNPVersionAuditListResponse {
            data: Some(DescribeApplicationMNPVersionAuditListPageResp {
                total_count: Some(total),
                data_list: Some(rows.into_iter().map(audit_row).collect()),
            }),
            request_id: None,
        })
    })
}

fn audit_row(r: ApprovalListing) -> DescribeApplicationMNPVersionAuditListInfoResp {
    let decided_by = decider(&r.item);
    DescribeApplicationMNPVersionAuditListInfoResp {
        audit_no: Some(r.approval.approval_no),
        application_id: Some(r.item.application_id),
        audit_status: Some(r.item.status),
        mnp_id: Some(r.mini_program.mnp_id),
        mnp_version: Some(r.mnp_version),
        mnp_version_id: Some(r.approval.mnp_version_id),
        apply_user: Some(r.approval.apply_user.shown().to_string()),
        apply_time: Some(time_or_zero(r.approval.apply_time)),
        mnp_name: Some(r.mini_program.name),
        mnp_icon: Some(r.mini_program.icon),
        application_name: Some(r.application_name),
        application_logo: Some(r.application_logo),
        team_id: Some(r.mini_program.team_id),
        team_name: Some(r.team_name),
        application_and_url: Some(String::new()),
        application_ios_url: Some(String::new()),
        mnp_qr_code_url: Some(String::new()),
        mnp_type: Some(r.mini_program.mnp_type),
        audit_user: Some(decided_by),
        audit_time: Some(time_or_zero(r.item.approval_time)),
        audit_note: Some(r.item.note),
        scan_status: Some(0),
        scan_score: Some(0),
        scan_html_path: Some(String::new()),
    }
}
