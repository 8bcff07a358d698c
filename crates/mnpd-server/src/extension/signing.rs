//! DescribePackageSigningKeys and RotatePackageSigningKey: the platform's
//! package signing keys (docs/host-apps.md section 5).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::fields;
use crate::errors::ApiError;
use crate::AppState;
use mnpd_domain::entity::Caller;
use mnpd_domain::signing::PublishedKey;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescribeParams {
    #[serde(rename = "PlatformId")]
    platform_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateParams {
    #[serde(rename = "PlatformId")]
    platform_id: String,
    /// Seconds the previous key stays published.
    #[serde(rename = "OverlapSeconds")]
    overlap_secs: Option<i64>,
}

fn key_json(k: &PublishedKey) -> Value {
    json!({
        "KeyId": k.key_id,
        "Algorithm": k.algorithm,
        "PublicKey": k.public_key,
        "CreatedAt": k.created_at,
        "NotAfter": k.not_after,
    })
}

pub async fn describe(
    state: &AppState,
    caller: &Caller,
    p: DescribeParams,
) -> Result<Map<String, Value>, ApiError> {
    let keys = state
        .package_signing
        .describe_owned(caller, &p.platform_id)
        .await?;
    Ok(fields(
        json!({ "KeyList": keys.iter().map(key_json).collect::<Vec<_>>() }),
    ))
}

pub async fn rotate(
    state: &AppState,
    caller: &Caller,
    p: RotateParams,
) -> Result<Map<String, Value>, ApiError> {
    let (new, published) = state
        .package_signing
        .rotate_owned(caller, &p.platform_id, p.overlap_secs)
        .await?;
    state.host_delivery.forget_platform(&p.platform_id);
    Ok(fields(json!({
        "Key": key_json(&new),
        "KeyList": published.iter().map(key_json).collect::<Vec<_>>(),
    })))
}
