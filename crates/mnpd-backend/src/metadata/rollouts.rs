//! Gradual releases (`rollouts`, their history in `rollout_events`) and
//! the counts of install reports (`install_counts`,
//! `install_failure_reasons`, `install_series`).

use async_trait::async_trait;
use mnpd_domain::entity::*;
use mnpd_domain::rollout::model::*;
use mnpd_domain::store::*;
use mnpd_domain::DomainError;

use super::tasks::lock_mini_program;
use super::versions::version_row;
use super::{actor, SqlStore};
use crate::sql::{sql, On, Row, Tx};

/// A gradual release joined with its version (`v.*` and `g_` aliases).
const ROLLOUT_SELECT: &str = "SELECT v.*, g.rollout_id AS g_id, g.platform_id AS g_platform,
            g.base_mnp_version_id AS g_base, g.permille AS g_permille, g.device_ids AS g_devices,
            g.state AS g_state, g.failure_threshold_permille AS g_threshold, g.min_sample AS g_sample,
            g.halt_reason AS g_reason, g.halted_automatically AS g_automatic, g.revision AS g_revision,
            g.create_user AS g_user, g.create_actor AS g_actor, g.created_at AS g_created,
            g.updated_at AS g_updated, g.ended_at AS g_ended
     FROM rollouts g JOIN versions v ON v.mnp_version_id = g.mnp_version_id";

fn rollout_row(r: &Row) -> StoreResult<Rollout> {
    let state: String = r.get("g_state");
    let devices: String = r.get("g_devices");
    let version = version_row(r)?;
    Ok(Rollout {
        rollout_id: r.get("g_id"),
        platform_id: r.get("g_platform"),
        mnp_id: version.new.mnp_id.clone(),
        version,
        base_mnp_version_id: r.get("g_base"),
        permille: r.get("g_permille"),
        device_ids: serde_json::from_str(&devices)
            .map_err(|e| StoreError::Other(format!("stored device list: {e}")))?,
        state: RolloutState::parse(&state).ok_or_else(|| {
            StoreError::Other(format!("gradual release in unknown state {state}"))
        })?,
        failure_threshold_permille: r.get("g_threshold"),
        min_sample: r.get("g_sample"),
        halt_reason: r.get("g_reason"),
        halted_automatically: r.get("g_automatic"),
        revision: r.get("g_revision"),
        create_user: actor(r, "g_actor", "g_user")?,
        created_at: r.get("g_created"),
        updated_at: r.get("g_updated"),
        ended_at: r.get("g_ended"),
    })
}

pub(super) async fn live(on: On<'_>, mnp_id: &str) -> StoreResult<Option<Rollout>> {
    let row = sql(format!(
        "{ROLLOUT_SELECT} WHERE g.mnp_id = $1 AND g.state IN ('active', 'paused')"
    ))
    .bind(mnp_id)
    .fetch_optional(on)
    .await?;
    row.as_ref().map(rollout_row).transpose()
}

async fn add_event(tx: &mut Tx, rollout_id: i64, e: &RolloutEvent) -> StoreResult<()> {
    sql("INSERT INTO rollout_events (rollout_id, at, action, state, permille, actor_user, actor, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
    .bind(rollout_id)
    .bind(e.at)
    .bind(&e.action)
    .bind(e.state.as_str())
    .bind(e.permille)
    .bind(e.actor.shown())
    .bind(e.actor.reference().as_str())
    .bind(&e.detail)
    .execute(tx)
    .await?;
    Ok(())
}

fn event(
    at: i64,
    action: &str,
    state: RolloutState,
    permille: i64,
    actor: &Actor,
    detail: String,
) -> RolloutEvent {
    RolloutEvent {
        at,
        action: action.to_string(),
        state,
        permille,
        actor: actor.clone(),
        detail,
    }
}

/// Ends the mini program's live gradual release, if any, because `version`
/// became the online version: promoted when it is the released one, ended
/// otherwise. Part of every change of the online version.
pub(super) async fn end_live_rollout(
    tx: &mut Tx,
    live: Option<&Rollout>,
    version: &Version,
    kind: ReleaseKind,
    user: &Actor,
    now: i64,
) -> StoreResult<()> {
    let Some(r) = live else { return Ok(()) };
    let (state, detail) = if r.version.mnp_version_id == version.mnp_version_id {
        (
            RolloutState::Promoted,
            format!("version {} is online for everyone", version.new.version),
        )
    } else {
        (
            RolloutState::Ended,
            format!(
                "ended by the {} of version {}",
                kind.as_str(),
                version.new.version
            ),
        )
    };
    sql("UPDATE rollouts SET state = $1, revision = revision + 1, updated_at = $2, ended_at = $2 WHERE rollout_id = $3")
        .bind(state.as_str())
        .bind(now)
        .bind(r.rollout_id)
        .execute(&mut *tx)
        .await?;
    let action = if state == RolloutState::Promoted {
        "promoted"
    } else {
        "ended"
    };
    let line = event(now, action, state, r.permille, user, detail);
    add_event(tx, r.rollout_id, &line).await
}

fn counts_of(rows: &[Row], reasons: &[Row]) -> InstallCounts {
    let mut counts = InstallCounts::default();
    for r in rows {
        let event: String = r.get("event");
        if let Some(e) = InstallEvent::parse(&event) {
            counts.add(e, r.get("n"));
        }
    }
    counts.failure_reasons = reasons
        .iter()
        .map(|r| (r.get("reason"), r.get("n")))
        .collect();
    counts
}

#[async_trait]
impl RolloutStore for SqlStore {
    async fn start_rollout(
        &self,
        version: &Version,
        new: &NewRollout,
        user: &Actor,
        now: i64,
        decide: &(dyn for<'a> Fn(&'a ReleaseState) -> Result<(), DomainError> + Send + Sync),
    ) -> StoreResult<Result<Rollout, DomainError>> {
        let mnp_id = &version.new.mnp_id;
        let mut tx = self.db.begin().await?;
        lock_mini_program(&mut tx, mnp_id).await?;
        let state = super::releases::release_state(&mut tx, version).await?;
        if let Err(refusal) = decide(&state) {
            return Ok(Err(refusal));
        }
        let devices =
            serde_json::to_string(&new.device_ids).map_err(|e| StoreError::Other(e.to_string()))?;
        let base = state.online.as_ref().map(|o| o.version.mnp_version_id);
        let rollout_id: i64 = sql(
            "INSERT INTO rollouts (platform_id, mnp_id, mnp_version_id, base_mnp_version_id, permille, device_ids, state,
                failure_threshold_permille, min_sample, create_user, create_actor, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, $10, $11, $11) RETURNING rollout_id",
        )
        .bind(&version.new.platform_id)
        .bind(mnp_id)
        .bind(version.mnp_version_id)
        .bind(base)
        .bind(new.permille)
        .bind(&devices)
        .bind(new.failure_threshold_permille)
        .bind(new.min_sample)
        .bind(user.shown())
        .bind(user.reference().as_str())
        .bind(now)
        .fetch_one(&mut tx)
        .await?
        .get(0);
        let detail = format!(
            "version {} to {:.1} % and {} listed devices",
            version.new.version,
            new.permille as f64 / 10.0,
            new.device_ids.len()
        );
        add_event(
            &mut tx,
            rollout_id,
            &event(
                now,
                "started",
                RolloutState::Active,
                new.permille,
                user,
                detail,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(Rollout {
            rollout_id,
            platform_id: version.new.platform_id.clone(),
            mnp_id: mnp_id.clone(),
            version: version.clone(),
            base_mnp_version_id: base,
            permille: new.permille,
            device_ids: new.device_ids.clone(),
            state: RolloutState::Active,
            failure_threshold_permille: new.failure_threshold_permille,
            min_sample: new.min_sample,
            halt_reason: String::new(),
            halted_automatically: false,
            revision: 1,
            create_user: user.clone(),
            created_at: now,
            updated_at: now,
            ended_at: None,
        }))
    }

    async fn change_rollout(
        &self,
        mnp_id: &str,
        user: &Actor,
        now: i64,
        change: &(dyn for<'a> Fn(&'a Rollout) -> Result<RolloutUpdate, DomainError> + Send + Sync),
    ) -> StoreResult<Result<Rollout, DomainError>> {
        let mut tx = self.db.begin().await?;
        lock_mini_program(&mut tx, mnp_id).await?;
        let Some(current) = live((&mut tx).into(), mnp_id).await? else {
            return Ok(Err(DomainError::NoLiveRollout(format!(
                "mini program {mnp_id} has no gradual release in progress; start one with CreateGradualRelease"
            ))));
        };
        let u = match change(&current) {
            Ok(u) => u,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let devices =
            serde_json::to_string(&u.device_ids).map_err(|e| StoreError::Other(e.to_string()))?;
        let ended = (!u.state.is_live()).then_some(now);
        sql("UPDATE rollouts SET permille = $1, device_ids = $2, state = $3, failure_threshold_permille = $4,
                min_sample = $5, halt_reason = $6, halted_automatically = $7, revision = revision + 1,
                updated_at = $8, ended_at = $9
             WHERE rollout_id = $10")
        .bind(u.permille)
        .bind(&devices)
        .bind(u.state.as_str())
        .bind(u.failure_threshold_permille)
        .bind(u.min_sample)
        .bind(&u.halt_reason)
        .bind(u.halted_automatically)
        .bind(now)
        .bind(ended)
        .bind(current.rollout_id)
        .execute(&mut tx)
        .await?;
        add_event(
            &mut tx,
            current.rollout_id,
            &event(now, u.event, u.state, u.permille, user, u.detail.clone()),
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(Rollout {
            permille: u.permille,
            device_ids: u.device_ids,
            state: u.state,
            failure_threshold_permille: u.failure_threshold_permille,
            min_sample: u.min_sample,
            halt_reason: u.halt_reason,
            halted_automatically: u.halted_automatically,
            revision: current.revision + 1,
            updated_at: now,
            ended_at: ended,
            ..current
        }))
    }

    async fn live_rollout(&self, mnp_id: &str) -> StoreResult<Option<Rollout>> {
        live(self.db.read(), mnp_id).await
    }

    async fn latest_rollout(&self, mnp_id: &str) -> StoreResult<Option<Rollout>> {
        let row = sql(format!(
            "{ROLLOUT_SELECT} WHERE g.mnp_id = $1 ORDER BY g.rollout_id DESC LIMIT 1"
        ))
        .bind(mnp_id)
        .fetch_optional(self.db.read())
        .await?;
        row.as_ref().map(rollout_row).transpose()
    }

    async fn get_rollout(&self, rollout_id: i64) -> StoreResult<Option<Rollout>> {
        let row = sql(format!("{ROLLOUT_SELECT} WHERE g.rollout_id = $1"))
            .bind(rollout_id)
            .fetch_optional(self.db.read())
            .await?;
        row.as_ref().map(rollout_row).transpose()
    }

    async fn list_rollouts(
        &self,
        platform_id: &str,
        mnp_id: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(i64, Vec<Rollout>)> {
        let filter = "g.platform_id = $1 AND ($2 = '' OR g.mnp_id = $2)";
        let mnp = mnp_id.unwrap_or("");
        let total: i64 = sql(format!("SELECT COUNT(*) FROM rollouts g WHERE {filter}"))
            .bind(platform_id)
            .bind(mnp)
            .fetch_one(self.db.read())
            .await?
            .get(0);
        let rows = sql(format!(
            "{ROLLOUT_SELECT} WHERE {filter} ORDER BY g.rollout_id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(platform_id)
        .bind(mnp)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.db.read())
        .await?;
        Ok((
            total,
            rows.iter().map(rollout_row).collect::<StoreResult<_>>()?,
        ))
    }

    async fn rollout_events(&self, rollout_id: i64) -> StoreResult<Vec<RolloutEvent>> {
        let rows = sql("SELECT * FROM rollout_events WHERE rollout_id = $1 ORDER BY seq")
            .bind(rollout_id)
            .fetch_all(self.db.read())
            .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.get("state");
                Ok(RolloutEvent {
                    at: r.get("at"),
                    action: r.get("action"),
                    state: RolloutState::parse(&state).ok_or_else(|| {
                        StoreError::Other(format!("gradual release event in unknown state {state}"))
                    })?,
                    permille: r.get("permille"),
                    actor: actor(r, "actor", "actor_user")?,
                    detail: r.get("detail"),
                })
            })
            .collect()
    }

    async fn live_rollout_counts(&self) -> StoreResult<Vec<(RolloutState, i64)>> {
        let rows = sql("SELECT state, COUNT(*) AS n FROM rollouts WHERE state IN ('active', 'paused') GROUP BY state")
            .fetch_all(self.db.read())
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let state: String = r.get("state");
                Some((RolloutState::parse(&state)?, r.get("n")))
            })
            .collect())
    }

    async fn record_installs(&self, tallies: &[InstallTally], now: i64) -> StoreResult<()> {
        if tallies.is_empty() {
            return Ok(());
        }
        let bucket = now - now.rem_euclid(SERIES_BUCKET_SECS);
        let mut tx = self.db.begin().await?;
        for t in tallies {
            sql("INSERT INTO install_counts (mnp_version_id, rollout_id, event, count) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (mnp_version_id, rollout_id, event) DO UPDATE SET count = install_counts.count + excluded.count")
            .bind(t.mnp_version_id)
            .bind(t.rollout_id)
            .bind(t.event.as_str())
            .bind(t.count)
            .execute(&mut tx)
            .await?;
            sql("INSERT INTO install_series (mnp_id, mnp_version_id, bucket_start, event, count) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (mnp_version_id, bucket_start, event) DO UPDATE SET count = install_series.count + excluded.count")
            .bind(&t.mnp_id)
            .bind(t.mnp_version_id)
            .bind(bucket)
            .bind(t.event.as_str())
            .bind(t.count)
            .execute(&mut tx)
            .await?;
            if let Some(reason) = &t.reason {
                // A new reason takes a place while there is one; after that
                // it counts as "other", so a host cannot grow the table.
                let known = sql("SELECT 1 FROM install_failure_reasons WHERE mnp_version_id = $1 AND rollout_id = $2 AND reason = $3")
                    .bind(t.mnp_version_id)
                    .bind(t.rollout_id)
                    .bind(reason)
                    .fetch_optional(&mut tx)
                    .await?
                    .is_some();
                let kept: i64 = if known {
                    0
                } else {
                    sql("SELECT COUNT(*) FROM install_failure_reasons WHERE mnp_version_id = $1 AND rollout_id = $2 AND reason <> $3")
                        .bind(t.mnp_version_id)
                        .bind(t.rollout_id)
                        .bind(OTHER_REASON)
                        .fetch_one(&mut tx)
                        .await?
                        .get(0)
                };
                let reason = if known || kept < MAX_FAILURE_REASONS {
                    reason.as_str()
                } else {
                    OTHER_REASON
                };
                sql("INSERT INTO install_failure_reasons (mnp_version_id, rollout_id, reason, count) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (mnp_version_id, rollout_id, reason) DO UPDATE SET count = install_failure_reasons.count + excluded.count")
                .bind(t.mnp_version_id)
                .bind(t.rollout_id)
                .bind(reason)
                .bind(t.count)
                .execute(&mut tx)
                .await?;
            }
        }
        let mut versions: Vec<i64> = tallies.iter().map(|t| t.mnp_version_id).collect();
        versions.sort_unstable();
        versions.dedup();
        for v in versions {
            sql("DELETE FROM install_series WHERE mnp_version_id = $1 AND bucket_start < $2")
                .bind(v)
                .bind(now - SERIES_KEEP_SECS)
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await
    }

    async fn install_counts(
        &self,
        mnp_version_id: i64,
        rollout_id: Option<i64>,
    ) -> StoreResult<InstallCounts> {
        let filter = "mnp_version_id = $1 AND ($2 < 0 OR rollout_id = $2)";
        let scope = rollout_id.unwrap_or(-1);
        let rows = sql(format!(
            "SELECT event, CAST(SUM(count) AS BIGINT) AS n FROM install_counts WHERE {filter} GROUP BY event"
        ))
        .bind(mnp_version_id)
        .bind(scope)
        .fetch_all(self.db.read())
        .await?;
        let reasons = sql(format!(
            "SELECT reason, CAST(SUM(count) AS BIGINT) AS n FROM install_failure_reasons WHERE {filter}
             GROUP BY reason ORDER BY n DESC, reason"
        ))
        .bind(mnp_version_id)
        .bind(scope)
        .fetch_all(self.db.read())
        .await?;
        Ok(counts_of(&rows, &reasons))
    }

    async fn adoption(&self, mnp_id: &str, since: i64) -> StoreResult<Vec<AdoptionPoint>> {
        let rows = sql("SELECT bucket_start, mnp_version_id, event, count FROM install_series
                        WHERE mnp_id = $1 AND bucket_start >= $2 ORDER BY bucket_start, mnp_version_id, event")
            .bind(mnp_id)
            .bind(since)
            .fetch_all(self.db.read())
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let event: String = r.get("event");
                Some(AdoptionPoint {
                    bucket_start: r.get("bucket_start"),
                    mnp_version_id: r.get("mnp_version_id"),
                    event: InstallEvent::parse(&event)?,
                    count: r.get("count"),
                })
            })
            .collect())
    }
}
