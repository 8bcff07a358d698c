//! Sensitive APIs: the catalog per host application (CreateSensitiveAPI,
//! CreateApplicationSensitiveAPI, Delete..., Enable/DisableApplication...,
//! the two listings), the permission requests under their two sets of
//! names (...PermissionApproval and ...Apply/...Audit), a mini program's
//! permissions, and DescribeMNPPrivacy.

use mnpd_api::model::*;
use mnpd_api::params::decode;
use mnpd_domain::sensitive_api::{NewApi, Permission, NOT_REQUESTED, REJECTED, REVOKED};
use mnpd_domain::store::{
    PermissionRequest, PermissionRequestListing, PermissionRequestQuery, SensitiveApiChange,
    SensitiveApiListing, SensitiveApiQuery,
};

use super::{encode, ok_result, HandlerFuture};
use crate::errors::ApiError;
use crate::gateway::Call;
use crate::AppState;
use mnpd_domain::entity::Caller;
use mnpd_domain::error::DomainError;

/// A catalog row in any of the two listing shapes (same field names).
macro_rules! catalog_row {
    ($t:ident, $l:expr) => {{
        let l: SensitiveApiListing = $l;
        $t {
            api_id: Some(l.api.api_id),
            api_method: Some(l.api.name.clone()),
            api_name: Some(l.api.name),
            api_desc: Some(l.api.description),
            create_user: Some(l.api.create_user),
            create_time: Some(l.api.created_at.to_string()),
            update_user: Some(l.api.update_user),
            update_time: Some(l.api.updated_at.to_string()),
            application_id: Some(l.api.application_id),
            application_name: Some(l.application_name),
            team_id: Some(l.team_id),
            team_name: Some(l.team_name),
            application_logo: Some(l.application_logo),
            api_type: Some(l.api.api_type),
            status: Some(l.api.status),
        }
    }};
}

/// A mini program's permission line; `$no` names the request field.
macro_rules! permission_row {
    ($t:ident, $no:ident, $p:expr) => {{
        let p: Permission = $p;
        let latest = p.latest.as_ref();
        $t {
            api_id: Some(p.api.api.api_id),
            api_method: Some(p.api.api.name.clone()),
            api_name: Some(p.api.api.name),
            api_status: Some(p.api.api.status),
            api_apply_status: Some(latest.map_or(NOT_REQUESTED, |r| r.status)),
            reject_reason: Some(latest.map(reject_reason).unwrap_or_default()),
            $no: Some(latest.map(|r| r.approval_no.clone()).unwrap_or_default()),
            application_id: Some(p.api.api.application_id),
            application_icon: Some(p.api.application_logo),
            application_name: Some(p.api.application_name),
            api_type: Some(p.api.api.api_type),
            api_desc: Some(p.api.api.description),
        }
    }};
}

/// A request in either listing's shape; the decision's fields are named
/// `Approval...` in one and `Audit...` in the other.
macro_rules! request_row {
    ($t:ident, $l:expr, $no:ident, $status:ident, $user:ident, $time:ident, $note:ident) => {{
        let l: PermissionRequestListing = $l;
        $t {
            $no: Some(l.request.approval_no),
            api_id: Some(l.request.api_id),
            api_method: Some(l.request.api_name.clone()),
            api_name: Some(l.request.api_name),
            mnp_id: Some(l.request.mnp_id),
            mnp_name: Some(l.mnp_name),
            apply_user: Some(l.request.apply_user),
            apply_time: Some(l.request.apply_time.to_string()),
            apply_note: Some(l.request.apply_reason),
            $status: Some(l.request.status),
            $user: Some(l.request.approval_user),
            $time: Some(time_or_empty(l.request.approval_time)),
            $note: Some(l.request.approval_note),
            application_id: Some(l.request.application_id),
            application_name: Some(l.application_name),
            application_logo: Some(l.application_logo),
            api_type: Some(l.request.api_type),
            api_desc: Some(l.request.api_desc),
        }
    }};
}

/// Why a request is not (or no longer) granted: the reviewer's note of a
/// rejection, or what revoked it.
fn reject_reason(r: &PermissionRequest) -> String {
    if r.status == REJECTED || r.status == REVOKED {
        r.approval_note.clone()
    } else {
        String::new()
    }
}

fn time_or_empty(t: i64) -> String {
    if t == 0 {
        String::new()
    } else {
        t.to_string()
    }
}

async fn create_entries(
    state: &AppState,
    caller: &Caller,
    platform_id: &str,
    application_id: &str,
    entries: Vec<NewApi>,
) -> Result<Map, ApiError> {
    state
        .sensitive_apis
        .create(caller, platform_id, application_id, entries)
        .await?;
    Ok(Map::new())
}

type Map = serde_json::Map<String, serde_json::Value>;

/// CreateSensitiveAPI and CreateApplicationSensitiveAPI: one operation
/// under two spellings of the same fields.
macro_rules! create_handler {
    ($name:ident, $request:ident, $response:ident) => {
        pub fn $name(state: &AppState, call: Call) -> HandlerFuture<'_> {
            Box::pin(async move {
                let req: $request = decode(call.action, call.params)?;
                let entries = req
                    .api_list
                    .into_iter()
                    .map(|e| NewApi {
                        name: e.api_name,
                        description: e.api_desc,
                        api_type: e.api_type,
                    })
                    .collect();
                create_entries(
                    state,
                    &call.caller,
                    &req.platform_id,
                    &req.application_id,
                    entries,
                )
                .await?;
                encode(&$response {
                    data: Some(ok_result()),
                    request_id: None,
                })
            })
        }
    };
}

create_handler!(
    create,
    CreateSensitiveAPIRequest,
    CreateSensitiveAPIResponse
);
create_handler!(
    create_for_application,
    CreateApplicationSensitiveAPIRequest,
    CreateApplicationSensitiveAPIResponse
);

async fn change(
    state: &AppState,
    caller: &Caller,
    platform_id: &str,
    api_id: &str,
    change: SensitiveApiChange,
) -> Result<Map, ApiError> {
    state
        .sensitive_apis
        .change(caller, platform_id, api_id, change)
        .await?;
    encode(&DeleteSensitiveAPIResponse {
        data: Some(ok_result()),
        request_id: None,
    })
}

/// The catalog changes that name one API and answer `Result`.
macro_rules! change_handler {
    ($name:ident, $request:ident, $change:expr) => {
        pub fn $name(state: &AppState, call: Call) -> HandlerFuture<'_> {
            Box::pin(async move {
                let req: $request = decode(call.action, call.params)?;
                change(state, &call.caller, &req.platform_id, &req.api_id, $change).await
            })
        }
    };
}

change_handler!(
    delete,
    DeleteSensitiveAPIRequest,
    SensitiveApiChange::Delete
);
change_handler!(
    delete_for_application,
    DeleteApplicationSensitiveAPIRequest,
    SensitiveApiChange::Delete
);
change_handler!(
    enable,
    EnableApplicationSensitiveAPIRequest,
    SensitiveApiChange::Restrict
);
change_handler!(
    disable,
    DisableApplicationSensitiveAPIRequest,
    SensitiveApiChange::Unrestrict
);

pub fn list(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeSensitiveAPIListRequest = decode(call.action, call.params)?;
        let (total, rows) = state
            .sensitive_apis
            .list(
                &call.caller,
                SensitiveApiQuery {
                    platform_id: req.platform_id,
                    application_id: req.application_id,
                    team_id: req.team_id,
                    keyword: req.keyword,
                    offset: req.offset,
                    limit: req.limit,
                },
            )
            .await?;
        encode(&DescribeSensitiveAPIListResponse {
            data: Some(SensitiveApiPageInfo {
                total_count: Some(total),
                data_list: Some(
                    rows.into_iter()
                        .map(|l| catalog_row!(SensitiveApiInfoResp, l))
                        .collect(),
                ),
            }),
            request_id: None,
        })
    })
}

pub fn list_of_application(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeApplicationSensitiveAPIListRequest = decode(call.action, call.params)?;
        // Required here: an empty one would list the whole platform.
        if req.application_id.is_empty() {
            return Err(DomainError::InvalidApplicationId(String::new()).into());
        }
        let (total, rows) = state
            .sensitive_apis
            .list(
                &call.caller,
                SensitiveApiQuery {
                    platform_id: req.platform_id,
                    application_id: Some(req.application_id),
                    team_id: req.team_id,
                    keyword: req.keyword,
                    offset: req.offset,
                    limit: req.limit,
                },
            )
            .await?;
        encode(&DescribeApplicationSensitiveAPIListResponse {
            data: Some(DescribeApplicationSensitiveAPIListResp {
                total_count: Some(total),
                data_list: Some(
                    rows.into_iter()
                        .map(|l| catalog_row!(DescribeApplicationSensitiveAPIListData, l))
                        .collect(),
                ),
            }),
            request_id: None,
        })
    })
}

async fn request(
    state: &AppState,
    caller: &Caller,
    platform_id: &str,
    mnp_id: &str,
    api_id: &str,
    reason: &str,
) -> Result<Map, ApiError> {
    let no = state
        .sensitive_apis
        .request(caller, platform_id, mnp_id, api_id, reason)
        .await?;
    encode(&CreateSensitiveApiApplyResponse {
        data: Some(ResourceIdStringInfo {
            resource_id: Some(no),
        }),
        request_id: None,
    })
}

/// The two names of a new permission request (the same fields).
macro_rules! request_handler {
    ($name:ident, $request:ident) => {
        pub fn $name(state: &AppState, call: Call) -> HandlerFuture<'_> {
            Box::pin(async move {
                let req: $request = decode(call.action, call.params)?;
                let (platform, mnp, api) = (&req.platform_id, &req.mnp_id, &req.api_id);
                request(state, &call.caller, platform, mnp, api, &req.apply_reason).await
            })
        }
    };
}

request_handler!(
    create_approval,
    CreateMNPSensitiveAPIPermissionApprovalRequest
);
request_handler!(create_apply, CreateSensitiveApiApplyRequest);

pub fn describe_approval(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPSensitiveAPIPermissionApprovalRequest =
            decode(call.action, call.params)?;
        let r = state
            .sensitive_apis
            .describe_request(&call.caller, &req.platform_id, &req.approval_no)
            .await?
            .request;
        encode(&DescribeMNPSensitiveAPIPermissionApprovalResponse {
            data: Some(DescribeMNPSensitiveAPIPermissionApprovalData {
                reject_reason: Some(reject_reason(&r)),
                api_id: Some(r.api_id),
                api_method: Some(r.api_name),
                apply_reason: Some(r.apply_reason),
                approval_status: Some(r.status),
                api_desc: Some(r.api_desc),
                api_type: Some(r.api_type),
            }),
            request_id: None,
        })
    })
}

pub fn describe_apply(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeSensitiveApiApplyDetailRequest = decode(call.action, call.params)?;
        let r = state
            .sensitive_apis
            .describe_request(&call.caller, &req.platform_id, &req.audit_no)
            .await?
            .request;
        encode(&DescribeSensitiveApiApplyDetailResponse {
            data: Some(DescribeSensitiveApiApplyDetail {
                reject_reason: Some(reject_reason(&r)),
                api_id: Some(r.api_id),
                api_method: Some(r.api_name),
                apply_reason: Some(r.apply_reason),
                audit_status: Some(r.status),
                api_desc: Some(r.api_desc),
                api_type: Some(r.api_type),
            }),
            request_id: None,
        })
    })
}

pub fn process(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ProcessMNPSensitiveAPIPermissionApprovalRequest =
            decode(call.action, call.params)?;
        state
            .sensitive_apis
            .decide(
                &call.caller,
                &req.platform_id,
                &req.approval_no,
                req.approval_status,
                req.approval_note.as_deref(),
            )
            .await?;
        encode(&ProcessMNPSensitiveAPIPermissionApprovalResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn modify_audit_status(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ModifySensitiveAPIAuditStatusRequest = decode(call.action, call.params)?;
        state
            .sensitive_apis
            .decide(
                &call.caller,
                &req.platform_id,
                &req.audit_no,
                req.audit_status,
                req.audit_note.as_deref(),
            )
            .await?;
        encode(&ModifySensitiveAPIAuditStatusResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

async fn requests(
    state: &AppState,
    caller: &Caller,
    query: PermissionRequestQuery,
) -> Result<(i64, Vec<PermissionRequestListing>), ApiError> {
    Ok(state.sensitive_apis.list_requests(caller, query).await?)
}

pub fn list_approvals(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPSensitiveAPIPermissionApprovalListRequest =
            decode(call.action, call.params)?;
        let query = PermissionRequestQuery {
            platform_id: req.platform_id,
            statuses: req.approval_status_list.unwrap_or_default(),
            keyword: req.keyword,
            offset: req.offset,
            limit: req.limit,
        };
        let (total, rows) = requests(state, &call.caller, query).await?;
        encode(&DescribeMNPSensitiveAPIPermissionApprovalListResponse {
            data: Some(DescribeMNPSensitiveAPIPermissionApprovalListResp {
                total_count: Some(total),
                data_list: Some(
                    rows.into_iter()
                        .map(|l| {
                            request_row!(
                                DescribeMNPSensitiveAPIPermissionApprovalListData,
                                l,
                                approval_no,
                                approval_status,
                                approval_user,
                                approval_time,
                                approval_note
                            )
                        })
                        .collect(),
                ),
            }),
            request_id: None,
        })
    })
}

pub fn list_audits(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeSensitiveAPIAuditListRequest = decode(call.action, call.params)?;
        let query = PermissionRequestQuery {
            platform_id: req.platform_id,
            statuses: req.audit_status_list.unwrap_or_default(),
            keyword: req.keyword,
            offset: req.offset,
            limit: req.limit,
        };
        let (total, rows) = requests(state, &call.caller, query).await?;
        encode(&DescribeSensitiveAPIAuditListResponse {
            data: Some(SensitiveApiAuditInfoPageResp {
                total_count: Some(total),
                data_list: Some(
                    rows.into_iter()
                        .map(|l| {
                            request_row!(
                                SensitiveApiAuditInfoResp,
                                l,
                                audit_no,
                                audit_status,
                                audit_user,
                                audit_time,
                                audit_note
                            )
                        })
                        .collect(),
                ),
            }),
            request_id: None,
        })
    })
}

async fn permissions(
    state: &AppState,
    caller: &Caller,
    mnp_id: &str,
    query: SensitiveApiQuery,
) -> Result<(i64, Vec<Permission>), ApiError> {
    Ok(state
        .sensitive_apis
        .permissions(caller, mnp_id, query)
        .await?)
}

pub fn permission_list(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPSensitiveAPIPermissionListRequest = decode(call.action, call.params)?;
        let query = SensitiveApiQuery {
            platform_id: req.platform_id,
            application_id: req.application_id,
            team_id: None,
            keyword: req.keyword,
            offset: req.offset,
            limit: req.limit,
        };
        let (total, rows) = permissions(state, &call.caller, &req.mnp_id, query).await?;
        encode(&DescribeMNPSensitiveAPIPermissionListResponse {
            data: Some(DescribeMNPSensitiveAPIPermissionListResp {
                total_count: Some(total),
                data_list: Some(
                    rows.into_iter()
                        .map(|p| {
                            permission_row!(
                                DescribeMNPSensitiveAPIPermissionListData,
                                approval_no,
                                p
                            )
                        })
                        .collect(),
                ),
            }),
            request_id: None,
        })
    })
}

pub fn auth_list(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeSensitiveApiAuthListRequest = decode(call.action, call.params)?;
        let query = SensitiveApiQuery {
            platform_id: req.platform_id,
            application_id: req.application_id,
            team_id: None,
            keyword: req.keyword,
            offset: req.offset,
            limit: req.limit,
        };
        let (total, rows) = permissions(state, &call.caller, &req.mnp_id, query).await?;
        encode(&DescribeSensitiveApiAuthListResponse {
            data: Some(DescribeSensitiveApiAuthPageParam {
                total_count: Some(total),
                data_list: Some(
                    rows.into_iter()
                        .map(|p| permission_row!(DescribeSensitiveApiAuthListParam, audit_no, p))
                        .collect(),
                ),
            }),
            request_id: None,
        })
    })
}

pub fn privacy(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPPrivacyRequest = decode(call.action, call.params)?;
        let statement = state
            .sensitive_apis
            .privacy(&call.caller, &req.platform_id, &req.mnp_id)
            .await?;
        encode(&DescribeMNPPrivacyResponse {
            data: Some(statement),
            request_id: None,
        })
    })
}
