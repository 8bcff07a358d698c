//! `mnpd admin rollout ...`: gradual releases from the operator's shell,
//! on the data directory or database like the other data commands. They
//! go through the same `Rollouts` service as the API's actions, acting as
//! the account that owns the platform, so the same rules apply and the
//! history names the operator.
//!
//! A node answers host update checks from a delivery state it keeps for
//! --host-state-ttl-ms: a change made here reaches hosts within that time,
//! where one made through the API reaches the node that took it at once.

use std::sync::Arc;

use anyhow::{Context, Result};
use mnpd_domain::clock::SystemClock;
use mnpd_domain::entity::{Actor, Caller};
use mnpd_domain::rollout::model::Rollout;
use mnpd_domain::rollout::{ModifyRequest, RolloutReport, Rollouts, StartRequest};
use mnpd_domain::store::MetaStore;
use mnpd_server::extension::gradual::{report_json, rollout_json};
use serde_json::json;

use crate::admin::emit;
use crate::cli::{RolloutCommand, RolloutTarget};

/// The name the history shows for changes made with these commands, as
/// `mnpd admin user create` records its users as made by "operator".
const OPERATOR: &str = "operator";

pub async fn run(store: Arc<dyn MetaStore>, command: RolloutCommand, j: bool) -> Result<()> {
    let rollouts = Rollouts::new(store.clone(), Arc::new(SystemClock));
    let platform_id = match &command {
        RolloutCommand::Start { platform_id, .. } => platform_id,
        RolloutCommand::Show(t)
        | RolloutCommand::Pause(t)
        | RolloutCommand::Resume(t)
        | RolloutCommand::Promote(t)
        | RolloutCommand::Grow { target: t, .. }
        | RolloutCommand::Halt { target: t, .. } => &t.platform_id,
    };
    let caller = operator_of(store.as_ref(), platform_id).await?;
    let changed = match command {
        RolloutCommand::Show(RolloutTarget {
            platform_id,
            mnp_id,
        }) => {
            let report = rollouts
                .describe(&caller, &platform_id, &mnp_id, None)
                .await?;
            emit(j, json!(report_json(&report)), report_text(&report));
            return Ok(());
        }
        RolloutCommand::Start {
            platform_id,
            mnp_version_id,
            percentage,
            device_ids,
            failure_threshold,
            min_sample,
        } => {
            let request = StartRequest {
                percentage,
                device_ids,
                failure_threshold,
                min_sample,
            };
            rollouts
                .start(&caller, &platform_id, mnp_version_id, &request)
                .await?
        }
        RolloutCommand::Grow { target, percentage } => {
            let request = ModifyRequest {
                percentage: Some(percentage),
                ..ModifyRequest::default()
            };
            rollouts
                .modify(&caller, &target.platform_id, &target.mnp_id, &request)
                .await?
        }
        RolloutCommand::Pause(t) => rollouts.pause(&caller, &t.platform_id, &t.mnp_id).await?,
        RolloutCommand::Resume(t) => rollouts.resume(&caller, &t.platform_id, &t.mnp_id).await?,
        RolloutCommand::Halt { target, reason } => {
            // The service words an empty reason after the actor.
            let reason = reason.unwrap_or_default();
            rollouts
                .halt(&caller, &target.platform_id, &target.mnp_id, &reason)
                .await?
        }
        RolloutCommand::Promote(t) => rollouts.promote(&caller, &t.platform_id, &t.mnp_id).await?,
    };
    emit(
        j,
        json!({ "Rollout": rollout_json(&changed) }),
        summary(&changed),
    );
    Ok(())
}

/// The caller the commands act as: the platform's owning account, with
/// the operator as the actor.
async fn operator_of(store: &dyn MetaStore, platform_id: &str) -> Result<Caller> {
    let platform = store
        .get_platform(platform_id)
        .await
        .context("reading the platform")?
        .with_context(|| {
            format!("no platform `{platform_id}`; `mnpd admin platform list` shows them")
        })?;
    Ok(Caller {
        account_id: platform.account_id,
        secret_id: String::new(),
        actor: Actor::Earlier {
            name: OPERATOR.into(),
        },
    })
}

fn percent(permille: i64) -> String {
    format!("{:.1} %", permille as f64 / 10.0)
}

fn time_of(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// One line: which release, of which version, in which state.
fn summary(r: &Rollout) -> String {
    format!(
        "gradual release {} of {}: {} (id {}) {} at {}",
        r.rollout_id,
        r.mnp_id,
        r.version.new.version,
        r.version.mnp_version_id,
        r.state.as_str(),
        percent(r.permille)
    )
}

fn report_text(report: &RolloutReport) -> String {
    let r = &report.rollout;
    let c = &report.counts;
    let attempts = c.installed + c.failed;
    let rate = if attempts == 0 {
        0.0
    } else {
        c.failed as f64 * 100.0 / attempts as f64
    };
    let mut lines = vec![
        format!("RolloutId   {}", r.rollout_id),
        format!(
            "Version     {} (id {}){}",
            r.version.new.version,
            r.version.mnp_version_id,
            r.base_mnp_version_id
                .map(|b| format!(", over id {b}"))
                .unwrap_or_default()
        ),
        format!("State       {}", r.state.as_str()),
        format!("Percentage  {}", percent(r.permille)),
        format!(
            "Devices     {}",
            if r.device_ids.is_empty() {
                "none listed".to_string()
            } else {
                r.device_ids.join(", ")
            }
        ),
        format!(
            "Halts at    {} failed, after {} installs",
            percent(r.failure_threshold_permille),
            r.min_sample
        ),
    ];
    if !r.halt_reason.is_empty() {
        lines.push(format!(
            "HaltReason  {}{}",
            r.halt_reason,
            if r.halted_automatically {
                " (by mnpd)"
            } else {
                ""
            }
        ));
    }
    lines.push(format!(
        "Installs    downloaded {}, installed {}, launched {}, failed {} ({rate:.1} %)",
        c.downloaded, c.installed, c.launched, c.failed
    ));
    for (reason, n) in &c.failure_reasons {
        lines.push(format!("  {n:>6}  {reason}"));
    }
    lines.push("History".into());
    for e in &report.events {
        lines.push(format!(
            "  {}  {:<9} {:<8} {:>7}  by {}{}",
            time_of(e.at),
            e.action,
            e.state.as_str(),
            percent(e.permille),
            e.actor.shown(),
            if e.detail.is_empty() {
                String::new()
            } else {
                format!("  {}", e.detail)
            }
        ));
    }
    lines.join("\n")
}
