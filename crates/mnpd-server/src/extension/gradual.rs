//! The gradual release actions and the install report.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::fields;
use crate::errors::ApiError;
use crate::AppState;
use mnpd_domain::entity::Caller;
use mnpd_domain::rollout::model::*;
use mnpd_domain::rollout::{ModifyRequest, RolloutReport, StartRequest};
use mnpd_domain::DomainError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    #[serde(rename = "PlatformId")]
    platform_id: String,
    #[serde(rename = "MNPVersionId")]
    mnp_version_id: i64,
    #[serde(rename = "Percentage", default)]
    percentage: f64,
    #[serde(rename = "DeviceIds", default)]
    device_ids: Vec<String>,
    #[serde(rename = "FailureThreshold")]
    failure_threshold: Option<f64>,
    #[serde(rename = "MinSample")]
    min_sample: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifyParams {
    #[serde(rename = "PlatformId")]
    platform_id: String,
    #[serde(rename = "MNPId")]
    mnp_id: String,
    #[serde(rename = "Percentage")]
    percentage: Option<f64>,
    #[serde(rename = "AddDeviceIds", default)]
    add_device_ids: Vec<String>,
    #[serde(rename = "RemoveDeviceIds", default)]
    remove_device_ids: Vec<String>,
    #[serde(rename = "FailureThreshold")]
    failure_threshold: Option<f64>,
    #[serde(rename = "MinSample")]
    min_sample: Option<i64>,
}

/// The mini program a state change is about.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    #[serde(rename = "PlatformId")]
    platform_id: String,
    #[serde(rename = "MNPId")]
    mnp_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaltParams {
    #[serde(rename = "PlatformId")]
    platform_id: String,
    #[serde(rename = "MNPId")]
    mnp_id: String,
    #[serde(rename = "Reason", default)]
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescribeParams {
    #[serde(rename = "PlatformId")]
    platform_id: String,
    #[serde(rename = "MNPId")]
    mnp_id: String,
    #[serde(rename = "RolloutId")]
    rollout_id: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    #[serde(rename = "PlatformId")]
    platform_id: String,
    #[serde(rename = "MNPId")]
    mnp_id: Option<String>,
    #[serde(rename = "Offset", default)]
    offset: i64,
    #[serde(rename = "Limit", default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    10
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    #[serde(rename = "PlatformId")]
    platform_id: String,
    #[serde(rename = "MNPVersionId")]
    mnp_version_id: i64,
    /// How far back the series goes, in seconds.
    #[serde(rename = "WindowSeconds", default = "default_window")]
    window_secs: i64,
}

fn default_window() -> i64 {
    86_400
}

fn percent(permille: i64) -> f64 {
    permille as f64 / 10.0
}

pub fn rollout_json(r: &Rollout) -> Value {
    json!({
        "RolloutId": r.rollout_id,
        "MNPId": r.mnp_id,
        "MNPVersionId": r.version.mnp_version_id,
        "MNPVersion": r.version.new.version,
        "BaseMNPVersionId": r.base_mnp_version_id,
        "Percentage": percent(r.permille),
        "DeviceIds": r.device_ids,
        "State": r.state.as_str(),
        "FailureThreshold": percent(r.failure_threshold_permille),
        "MinSample": r.min_sample,
        "HaltReason": r.halt_reason,
        "HaltedAutomatically": r.halted_automatically,
        "Revision": r.revision,
        "CreateUser": r.create_user.shown(),
        "CreatedAt": r.created_at,
        "UpdatedAt": r.updated_at,
        "EndedAt": r.ended_at,
    })
}

fn counts_json(c: &InstallCounts) -> Value {
    let attempts = c.installed + c.failed;
    json!({
        "Downloaded": c.downloaded,
        "Installed": c.installed,
        "Launched": c.launched,
        "Failed": c.failed,
        "FailureRate": if attempts == 0 { 0.0 } else { (c.failed as f64 * 1000.0 / attempts as f64).round() / 10.0 },
        "FailureReasons": c.failure_reasons.iter().map(|(r, n)| json!({"Reason": r, "Count": n})).collect::<Vec<_>>(),
    })
}

fn adoption_json(points: &[AdoptionPoint]) -> Value {
    points
        .iter()
        .map(|p| {
            json!({
                "Time": p.bucket_start,
                "MNPVersionId": p.mnp_version_id,
                "Event": p.event.as_str(),
                "Count": p.count,
            })
        })
        .collect()
}

pub fn report_json(report: &RolloutReport) -> Map<String, Value> {
    fields(json!({
        "Rollout": rollout_json(&report.rollout),
        "Counts": counts_json(&report.counts),
        "Events": report.events.iter().map(|e| json!({
            "Time": e.at,
            "Action": e.action,
            "State": e.state.as_str(),
            "Percentage": percent(e.permille),
            "User": e.actor.shown(),
            "Detail": e.detail,
        })).collect::<Vec<_>>(),
        "Adoption": adoption_json(&report.adoption),
    }))
}

fn changed(state: &AppState, r: &Rollout) -> Result<Map<String, Value>, ApiError> {
    state.host_delivery.forget(&r.mnp_id);
    Ok(fields(json!({ "Rollout": rollout_json(r) })))
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    p: CreateRequest,
) -> Result<Map<String, Value>, ApiError> {
    let r = state
        .rollouts
        .start(
            caller,
            &p.platform_id,
            p.mnp_version_id,
            &StartRequest {
                percentage: p.percentage,
                device_ids: p.device_ids,
                failure_threshold: p.failure_threshold,
                min_sample: p.min_sample,
            },
        )
        .await?;
    changed(state, &r)
}

pub async fn modify(
    state: &AppState,
    caller: &Caller,
    p: ModifyParams,
) -> Result<Map<String, Value>, ApiError> {
    let r = state
        .rollouts
        .modify(
            caller,
            &p.platform_id,
            &p.mnp_id,
            &ModifyRequest {
                percentage: p.percentage,
                add_device_ids: p.add_device_ids,
                remove_device_ids: p.remove_device_ids,
                failure_threshold: p.failure_threshold,
                min_sample: p.min_sample,
            },
        )
        .await?;
    changed(state, &r)
}

pub async fn pause(
    state: &AppState,
    caller: &Caller,
    p: Target,
) -> Result<Map<String, Value>, ApiError> {
    let r = state
        .rollouts
        .pause(caller, &p.platform_id, &p.mnp_id)
        .await?;
    changed(state, &r)
}

pub async fn resume(
    state: &AppState,
    caller: &Caller,
    p: Target,
) -> Result<Map<String, Value>, ApiError> {
    let r = state
        .rollouts
        .resume(caller, &p.platform_id, &p.mnp_id)
        .await?;
    changed(state, &r)
}

pub async fn halt(
    state: &AppState,
    caller: &Caller,
    p: HaltParams,
) -> Result<Map<String, Value>, ApiError> {
    let r = state
        .rollouts
        .halt(caller, &p.platform_id, &p.mnp_id, &p.reason)
        .await?;
    state.metrics.gradual_release_halted("manual");
    changed(state, &r)
}

pub async fn promote(
    state: &AppState,
    caller: &Caller,
    p: Target,
) -> Result<Map<String, Value>, ApiError> {
    let r = state
        .rollouts
        .promote(caller, &p.platform_id, &p.mnp_id)
        .await?;
    changed(state, &r)
}

pub async fn describe(
    state: &AppState,
    caller: &Caller,
    p: DescribeParams,
) -> Result<Map<String, Value>, ApiError> {
    let report = state
        .rollouts
        .describe(caller, &p.platform_id, &p.mnp_id, p.rollout_id)
        .await?;
    Ok(report_json(&report))
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    p: ListParams,
) -> Result<Map<String, Value>, ApiError> {
    if p.offset < 0 || !(1..=100).contains(&p.limit) {
        return Err(DomainError::InvalidValue(format!(
            "Offset {} and Limit {} are out of range; send Offset from 0 and Limit from 1 to 100",
            p.offset, p.limit
        ))
        .into());
    }
    let (total, page) = state
        .rollouts
        .list(
            caller,
            &p.platform_id,
            p.mnp_id.as_deref(),
            p.offset,
            p.limit,
        )
        .await?;
    Ok(fields(json!({
        "TotalCount": total,
        "RolloutList": page.iter().map(rollout_json).collect::<Vec<_>>(),
    })))
}

pub async fn install_report(
    state: &AppState,
    caller: &Caller,
    p: ReportParams,
) -> Result<Map<String, Value>, ApiError> {
    if !(300..=SERIES_KEEP_SECS).contains(&p.window_secs) {
        return Err(DomainError::InvalidValue(format!(
            "WindowSeconds {} is out of range; send from 300 to {SERIES_KEEP_SECS} (reports are kept in 5-minute buckets for 30 days)",
            p.window_secs
        ))
        .into());
    }
    let (version, counts, series) = state
        .rollouts
        .install_report(caller, &p.platform_id, p.mnp_version_id, p.window_secs)
        .await?;
    Ok(fields(json!({
        "MNPId": version.new.mnp_id,
        "MNPVersionId": version.mnp_version_id,
        "MNPVersion": version.new.version,
        "Counts": counts_json(&counts),
        "Adoption": adoption_json(&series),
    })))
}
