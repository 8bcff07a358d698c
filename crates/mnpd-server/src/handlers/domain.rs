//! Server domains: CreateDomain, ModifyDomain, DescribeDomainInfo (and
//! their ...MNPDomainACL names); DescribeDomainTeamList,
//! DescribeTeamDomainList, DisableTeamDomain; CreateGlobalDomain(ACL),
//! ModifyGlobalDomain, DeleteGlobalDomain, DescribeGlobalDomainList (and
//! DescribeGlobalDomainACL), CheckGlobalDomain.

use mnpd_api::model::*;
use mnpd_api::params::decode;
use mnpd_domain::domains::{DomainParam, GlobalQuery};
use mnpd_domain::store::{GlobalDomain, MnpDomain};

use super::{encode, ok_result, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

fn params(domain: Vec<CreateDomainParam>) -> Vec<DomainParam> {
    domain
        .into_iter()
        .map(|d| DomainParam {
            domain_type: d.domain_type,
            urls: d.domain_url_list.unwrap_or_default(),
        })
        .collect()
}

fn info(domains: Vec<MnpDomain>) -> Vec<DescribeDomainInfoParam> {
    domains
        .into_iter()
        .map(|d| DescribeDomainInfoParam {
            domain_url: Some(d.url),
            domain_type: Some(d.domain_type),
        })
        .collect()
}

pub fn create(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: CreateDomainRequest = decode(call.action, call.params)?;
        let domain = params(req.domain);
        state
            .domains
            .add(&call.caller, &req.platform_id, &req.mnp_id, domain)
            .await?;
        encode(&CreateDomainResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn create_acl(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: CreateMNPDomainACLRequest = decode(call.action, call.params)?;
        let domain = params(req.domain);
        state
            .domains
            .add(&call.caller, &req.platform_id, &req.mnp_id, domain)
            .await?;
        encode(&CreateMNPDomainACLResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn modify(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ModifyDomainRequest = decode(call.action, call.params)?;
        let domain = params(req.domain.unwrap_or_default());
        state
            .domains
            .replace(&call.caller, &req.platform_id, &req.mnp_id, domain)
            .await?;
        encode(&ModifyDomainResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn modify_acl(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ModifyMNPDomainRequest = decode(call.action, call.params)?;
        let domain = params(req.domain.unwrap_or_default());
        state
            .domains
            .replace(&call.caller, &req.platform_id, &req.mnp_id, domain)
            .await?;
        encode(&ModifyMNPDomainResponse {
            data: Some(ok_result()),
            request_id: None,
        })
    })
}

pub fn describe(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeDomainInfoRequest = decode(call.action, call.params)?;
        let domains = state
            .domains
            .of_mini_program(&call.caller, &req.platform_id, &req.mnp_id)
            .await?;
        encode(&DescribeDomainInfoResponse {
            data: Some(info(domains)),
            request_id: None,
        })
    })
}

pub fn describe_acl(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPDomainACLRequest = decode(call.action, call.params)?;
        let domains = state
            .domains
            .of_mini_program(&call.caller, &req.platform_id, &req.mnp_id)
            .await?;
        encode(&DescribeMNPDomainACLResponse {
            data: Some(info(domains)),
            request_id: None,
        })
    })
}

pub fn teams(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeDomainTeamListRequest = decode(call.action, call.params)?;
        let (total, teams) = state
            .domains
            .teams(
                &call.caller,
                &req.platform_id,
                req.keyword.as_deref(),
                req.offset,
                req.limit,
            )
            .await?;
        encode(&DescribeDomainTeamListResponse {
            data: Some(DescribeDomainTeamListPageResp {
                total_count: Some(total),
                data_list: Some(
                    teams
                        .into_iter()
                        .map(|t| DescribeDomainTeamListInfoResp {
                            team_id: Some(t.team_id),
                            team_name: Some(t.name),
                            create_user: Some(t.create_user),
                            create_time: Some(t.created_at.to_string()),
                        })
                        .collect(),
                ),
            }),
            request_id: None,
        })
    })
}

pub fn team_domains(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeTeamDomainListRequest = decode(call.action, call.params)?;
        let (total, page) = state
            .domains
            .of_team(
                &call.caller,
                &req.platform_id,
                &req.team_id,
                req.offset,
                req.limit,
            )
            .await?;
        encode(&DescribeTeamDomainListResponse {
            data: Some(DescribeTeamDomainListPageResp {
                total_count: Some(total),
                data_list: Some(
                    page.into_iter()
                        .map(|t| DescribeTeamDomainListInfoResp {
                            domain_id: Some(t.domain.domain_id),
                            mnp_id: Some(t.domain.mnp_id),
                            mnp_name: Some(t.mnp_name),
                            domain_url: Some(t.domain.url),
                            domain_type: Some(t.domain.domain_type),
                            status: Some(t.domain.status),
                            create_user: Some(t.domain.create_user),
                            create_time: Some(t.domain.created_at.to_string()),
                        })
                        .collect(),
                ),
            }),
            request_id: None,
        })
    })
}

pub fn disable_team_domain(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DisableTeamDomainRequest = decode(call.action, call.params)?;
        state
            .domains
            .disable(&call.caller, &req.platform_id, req.domain_id)
            .await?;
        encode(&DisableTeamDomainResponse {
            data: Some(DisableEnterpriseDomainResp { result: Some(true) }),
            request_id: None,
        })
    })
}

fn created_global() -> CreateGlobalDomainResp {
    CreateGlobalDomainResp {
        result: Some(true),
        repeat_urls: Some(Vec::new()),
        exists_white_urls: Some(Vec::new()),
        exists_black_urls: Some(Vec::new()),
    }
}

pub fn create_global(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: CreateGlobalDomainRequest = decode(call.action, call.params)?;
        state
            .domains
            .add_global(
                &call.caller,
                &req.platform_id,
                req.domain_type,
                &req.domain_url_list,
            )
            .await?;
        encode(&CreateGlobalDomainResponse {
            data: Some(created_global()),
            request_id: None,
        })
    })
}

pub fn create_global_acl(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: CreateGlobalDomainACLRequest = decode(call.action, call.params)?;
        state
            .domains
            .add_global(
                &call.caller,
                &req.platform_id,
                req.domain_type,
                &req.domain_url_list,
            )
            .await?;
        encode(&CreateGlobalDomainACLResponse {
            data: Some(created_global()),
            request_id: None,
        })
    })
}

pub fn modify_global(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: ModifyGlobalDomainRequest = decode(call.action, call.params)?;
        state
            .domains
            .rename_global(
                &call.caller,
                &req.platform_id,
                req.domain_id,
                &req.domain_url,
            )
            .await?;
        encode(&ModifyGlobalDomainResponse {
            // 0 is success, as in the spec's example.
            data: Some(GlobalDomainModifyRespResp { result: Some(0) }),
            request_id: None,
        })
    })
}

pub fn delete_global(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DeleteGlobalDomainRequest = decode(call.action, call.params)?;
        state
            .domains
            .delete_global(&call.caller, &req.platform_id, req.domain_id)
            .await?;
        encode(&DeleteGlobalDomainResponse {
            data: Some(GlobalDomainDeleteResp { result: Some(true) }),
            request_id: None,
        })
    })
}

fn global_query(
    platform_id: String,
    domain_types: Option<Vec<i64>>,
    keyword: Option<String>,
    offset: i64,
    limit: i64,
) -> GlobalQuery {
    GlobalQuery {
        platform_id,
        list_types: domain_types.unwrap_or_default(),
        keyword,
        offset,
        limit,
    }
}

pub fn list_global(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeGlobalDomainListRequest = decode(call.action, call.params)?;
        let query = global_query(
            req.platform_id,
            req.domain_types,
            req.keyword,
            req.offset,
            req.limit,
        );
        let (total, page) = state.domains.list_global(&call.caller, query).await?;
        encode(&DescribeGlobalDomainListResponse {
            data: Some(GlobalDomainDescribeListPageResp {
                total_count: Some(total),
                data_list: Some(
                    page.into_iter()
                        .map(|g: GlobalDomain| GlobalDomainDescribeListInfoResp {
                            domain_id: Some(g.domain_id),
                            // The platform stands for the customer here.
                            customer_id: Some(g.platform_id),
                            domain_url: Some(g.host),
                            domain_type: Some(g.list_type),
                            create_user: Some(g.create_user),
                            create_time: Some(g.created_at.to_string()),
                            update_user: Some(g.update_user),
                            update_time: Some(g.updated_at.to_string()),
                        })
                        .collect(),
                ),
            }),
            request_id: None,
        })
    })
}

pub fn list_global_acl(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeGlobalDomainACLRequest = decode(call.action, call.params)?;
        let query = global_query(
            req.platform_id,
            req.domain_types,
            req.keyword,
            req.offset,
            req.limit,
        );
        let (total, page) = state.domains.list_global(&call.caller, query).await?;
        encode(&DescribeGlobalDomainACLResponse {
            data: Some(DescribeGlobalDomainsResp {
                total_count: Some(total),
                data_list: Some(
                    page.into_iter()
                        .map(|g: GlobalDomain| DescribeGlobalDomainsListData {
                            domain_id: Some(g.domain_id),
                            domain_url: Some(g.host),
                            domain_type: Some(g.list_type),
                            create_user: Some(g.create_user),
                            create_time: Some(g.created_at.to_string()),
                            update_user: Some(g.update_user),
                            update_time: Some(g.updated_at.to_string()),
                        })
                        .collect(),
                ),
            }),
            request_id: None,
        })
    })
}

pub fn check_global(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: CheckGlobalDomainRequest = decode(call.action, call.params)?;
        let check = state
            .domains
            .check_global(&call.caller, &req.platform_id, &req.domain_url_list)
            .await?;
        encode(&CheckGlobalDomainResponse {
            data: Some(GlobalDomainCheckResp {
                repeat_urls: Some(check.repeated),
                exists_white_urls: Some(check.white),
                exists_black_urls: Some(check.black),
            }),
            request_id: None,
        })
    })
}
