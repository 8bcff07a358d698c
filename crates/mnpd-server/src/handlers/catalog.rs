//! DescribeMNPCategory, DescribeMNPType: the platform's category tree.

use mnpd_api::model::*;
use mnpd_api::params::decode;
use mnpd_domain::category::CategoryDefinition;

use super::{encode, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

fn type_define(c: CategoryDefinition) -> MNPTypeDefine {
    MNPTypeDefine {
        type_name: Some(c.name),
        type_value: Some(c.values),
        type_id: Some(c.type_id),
        create_time: Some(c.created_at),
        create_user: Some(c.create_user),
        is_system: Some(c.is_system),
    }
}

pub fn category(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPCategoryRequest = decode(call.action, call.params)?;
        let tree = state
            .mini_programs
            .categories(&call.caller, &req.platform_id)
            .await?;
        encode(&DescribeMNPCategoryResponse {
            data: Some(tree.into_iter().map(type_define).collect()),
            request_id: None,
        })
    })
}

/// The same tree as DescribeMNPCategory.
pub fn mnp_type(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeMNPTypeRequest = decode(call.action, call.params)?;
        let tree = state
            .mini_programs
            .categories(&call.caller, &req.platform_id)
            .await?;
        encode(&DescribeMNPTypeResponse {
            data: Some(tree.into_iter().map(type_define).collect()),
            request_id: None,
        })
    })
}
