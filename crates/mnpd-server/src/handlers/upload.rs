//! DescribeTempSecret4UploadFile2Cos: credentials for one upload to this
//! server itself (the route that takes it is `crate::upload`).

use mnpd_api::model::*;
use mnpd_api::params::decode;

use super::{encode, HandlerFuture};
use crate::gateway::Call;
use crate::AppState;

pub fn temp_secret(state: &AppState, call: Call) -> HandlerFuture<'_> {
    Box::pin(async move {
        let req: DescribeTempSecret4UploadFile2CosRequest = decode(call.action, call.params)?;
        let grant = state
            .uploads
            .grant(&call.caller, &req.business_name, &req.suffix)
            .await?;
        encode(&DescribeTempSecret4UploadFile2CosResponse {
            data: Some(UploadFileTempSecret {
                bucket: Some(grant.bucket),
                region: Some(grant.region),
                path: Some(grant.path),
                temp_secret_id: Some(grant.temp_secret_id),
                temp_secret_key: Some(grant.temp_secret_key),
                token: Some(grant.token),
            }),
            request_id: None,
        })
    })
}
