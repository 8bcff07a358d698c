//! DescribeMNPOfflinePackageURL and DescribeOfflineMNPPackage: the signed
//! URL of the online package (served by [`crate::download`]).

use mnpd_api::model::*;
use mnpd_api::params::decode;

use super::{encode, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

pub fn offline_package_url(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPOfflinePackageURLRequest = decode(call.action, call.params)?;
        let url = state
            .packages
            .offline_package_url(&call.caller, &req.platform_id, &req.mnp_id)
            .await?;
        encode(&DescribeMNPOfflinePackageURLResponse {
            data: Some(StringData { data: Some(url) }),
            request_id: None,
        })
    })
}

pub fn offline_package(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeOfflineMNPPackageRequest = decode(call.action, call.params)?;
        let url = state
            .packages
            .offline_package_url(&call.caller, &req.platform_id, &req.mnp_id)
            .await?;
        encode(&DescribeOfflineMNPPackageResponse {
            data: Some(StringData { data: Some(url) }),
            request_id: None,
        })
    })
}
