//! The pure rules of gradual releases: which cohort a device is in, which
//! version it is offered, how a release may change, and when failures halt
//! it. No storage and no clock: everything here is a function of its
//! arguments, so a host, a test or another node computes the same.

use sha2::{Digest, Sha256};

use super::model::*;
use crate::entity::Version;
use crate::error::DomainError;

/// Cohorts a mini program's devices are spread over: a percentage maps to
/// a prefix of them, so 0.1 % is the finest step.
pub const COHORTS: u32 = 1000;
/// Devices a gradual release may list on top of its cohorts.
pub const MAX_DEVICE_IDS: usize = 1000;
/// Longest device id, in bytes.
pub const MAX_DEVICE_ID_LEN: usize = 128;
pub const DEFAULT_FAILURE_THRESHOLD_PERMILLE: i64 = 50;
pub const DEFAULT_MIN_SAMPLE: i64 = 100;
pub const MAX_MIN_SAMPLE: i64 = 1_000_000;

/// The device's cohort for this mini program, 0..=999: the first four
/// bytes of SHA-256(MNPId ":" deviceId), big-endian, modulo 1,000. Salted
/// by the mini program so that the first 10 % of one program are not the
/// first 10 % of every program.
pub fn cohort(mnp_id: &str, device_id: &str) -> u32 {
    let digest = Sha256::new()
        .chain_update(mnp_id.as_bytes())
        .chain_update(b":")
        .chain_update(device_id.as_bytes())
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % COHORTS
}

/// Whether the release covers the device (its cohort is below the
/// percentage, or it is listed).
pub fn covers(rollout: &Rollout, device_id: &str) -> bool {
    (cohort(&rollout.mnp_id, device_id) as i64) < rollout.permille
        || rollout.device_ids.iter().any(|d| d == device_id)
}

/// Which channel a device's version comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Online,
    Gradual,
}

/// The version meant for a device, given the online version, the live
/// gradual release (if any) and the version the device runs now.
pub fn version_for<'a>(
    online: Option<&'a Version>,
    live: Option<&'a Rollout>,
    device_id: &str,
    current_version_id: Option<i64>,
) -> Option<(&'a Version, Channel)> {
    if let Some(r) = live.filter(|r| covers(r, device_id)) {
        let keeps = current_version_id == Some(r.version.mnp_version_id);
        match r.state {
            RolloutState::Active => return Some((&r.version, Channel::Gradual)),
            // A pause stops the version spreading without taking it away.
            RolloutState::Paused if keeps => return Some((&r.version, Channel::Gradual)),
            _ => {}
        }
    }
    online.map(|v| (v, Channel::Online))
}

/// A percentage (0 to 100, at most one decimal) as cohorts out of 1,000.
pub fn permille_of(field: &str, percentage: f64) -> Result<i64, DomainError> {
    let scaled = percentage * 10.0;
    if !percentage.is_finite()
        || !(0.0..=100.0).contains(&percentage)
        || (scaled - scaled.round()).abs() > 1e-6
    {
        return Err(DomainError::InvalidValue(format!(
            "{field} {percentage} is not a percentage from 0 to 100 with at most one decimal; send e.g. 10 or 12.5"
        )));
    }
    Ok(scaled.round() as i64)
}

/// Checks device ids as a host sends them: 1 to 128 visible ASCII
/// characters.
pub fn check_device_id(device_id: &str) -> Result<(), String> {
    if device_id.is_empty() || device_id.len() > MAX_DEVICE_ID_LEN {
        return Err(format!(
            "a device id is 1 to {MAX_DEVICE_ID_LEN} characters; `{}` has {}",
            device_id.chars().take(40).collect::<String>(),
            device_id.len()
        ));
    }
    if !device_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "device id `{}` holds a character other than visible ASCII; send it as the host knows it, e.g. hex or a UUID",
            device_id.escape_default()
        ));
    }
    Ok(())
}

/// The listed devices after adding and removing: unique, in order, within
/// the limit.
pub fn device_list(
    current: &[String],
    add: &[String],
    remove: &[String],
) -> Result<Vec<String>, DomainError> {
    for d in add.iter().chain(remove) {
        check_device_id(d).map_err(DomainError::InvalidValue)?;
    }
    let mut list: Vec<String> = Vec::with_capacity(current.len() + add.len());
    for d in current.iter().chain(add) {
        if !remove.contains(d) && !list.contains(d) {
            list.push(d.clone());
        }
    }
    if list.len() > MAX_DEVICE_IDS {
        return Err(DomainError::InvalidValue(format!(
            "a gradual release lists at most {MAX_DEVICE_IDS} devices; this change would list {}. Grow the percentage instead",
            list.len()
        )));
    }
    Ok(list)
}

/// The failure threshold (a percentage above 0, at most 100, one decimal)
/// and the minimum sample (1 to 1,000,000 installs).
pub fn halt_settings(
    threshold: Option<f64>,
    min_sample: Option<i64>,
) -> Result<(Option<i64>, Option<i64>), DomainError> {
    let threshold = threshold
        .map(|t| permille_of("FailureThreshold", t))
        .transpose()?;
    if threshold == Some(0) {
        return Err(DomainError::InvalidValue(
            "FailureThreshold 0 would halt at the first failure report of any sample; send a percentage above 0, e.g. 5".into(),
        ));
    }
    if let Some(n) = min_sample.filter(|n| !(1..=MAX_MIN_SAMPLE).contains(n)) {
        return Err(DomainError::InvalidValue(format!(
            "MinSample {n} is out of range; send from 1 to {MAX_MIN_SAMPLE} installs"
        )));
    }
    Ok((threshold, min_sample))
}

fn refuse_unless_live(r: &Rollout, what: &str) -> Result<(), DomainError> {
    if r.state.is_live() {
        Ok(())
    } else {
        Err(DomainError::RolloutState(format!(
            "gradual release {} is {}, so it cannot be {what}; start a new one with CreateGradualRelease",
            r.rollout_id,
            r.state.as_str()
        )))
    }
}

/// Growing (never shrinking: a device once in stays in) and changing the
/// list and the halt settings.
pub fn modify(
    r: &Rollout,
    permille: Option<i64>,
    device_ids: Option<Vec<String>>,
    threshold: Option<i64>,
    min_sample: Option<i64>,
) -> Result<RolloutUpdate, DomainError> {
    refuse_unless_live(r, "modified")?;
    let mut u = RolloutUpdate::from(r, "modified");
    if let Some(p) = permille {
        if p < r.permille {
            return Err(DomainError::InvalidValue(format!(
                "Percentage can only grow ({:.1} % now): devices already given the version would lose it; halt the release (HaltGradualRelease) to take it back from everyone",
                r.permille as f64 / 10.0
            )));
        }
        u.permille = p;
    }
    if let Some(list) = device_ids {
        u.device_ids = list;
    }
    u.failure_threshold_permille = threshold.unwrap_or(r.failure_threshold_permille);
    u.min_sample = min_sample.unwrap_or(r.min_sample);
    u.detail = format!(
        "{:.1} %, {} listed devices, halt above {:.1} % failed of at least {} installs",
        u.permille as f64 / 10.0,
        u.device_ids.len(),
        u.failure_threshold_permille as f64 / 10.0,
        u.min_sample
    );
    Ok(u)
}

pub fn pause(r: &Rollout) -> Result<RolloutUpdate, DomainError> {
    refuse_unless_live(r, "paused")?;
    if r.state == RolloutState::Paused {
        return Err(DomainError::RolloutState(format!(
            "gradual release {} is already paused; resume it with ResumeGradualRelease",
            r.rollout_id
        )));
    }
    let mut u = RolloutUpdate::from(r, "paused");
    u.state = RolloutState::Paused;
    Ok(u)
}

pub fn resume(r: &Rollout) -> Result<RolloutUpdate, DomainError> {
    refuse_unless_live(r, "resumed")?;
    if r.state == RolloutState::Active {
        return Err(DomainError::RolloutState(format!(
            "gradual release {} is not paused; pause it first with PauseGradualRelease",
            r.rollout_id
        )));
    }
    let mut u = RolloutUpdate::from(r, "resumed");
    u.state = RolloutState::Active;
    Ok(u)
}

pub fn halt(r: &Rollout, reason: &str, automatic: bool) -> Result<RolloutUpdate, DomainError> {
    refuse_unless_live(r, "halted")?;
    let mut u = RolloutUpdate::from(r, "halted");
    u.state = RolloutState::Halted;
    u.halt_reason = reason.to_string();
    u.halted_automatically = automatic;
    u.detail = reason.to_string();
    Ok(u)
}

/// Why failures halt the release, if they do: failed / (installed +
/// failed) above the threshold, once installed + failed reaches the
/// minimum sample.
pub fn failure_halt(r: &Rollout, counts: &InstallCounts) -> Option<String> {
    let attempts = counts.installed + counts.failed;
    if !r.state.is_live() || attempts < r.min_sample || attempts == 0 {
        return None;
    }
    // failed / attempts > threshold / 1000, in integers.
    if counts.failed * 1000 <= r.failure_threshold_permille * attempts {
        return None;
    }
    Some(format!(
        "halted automatically: {} of {} installs failed ({:.1} %), above the threshold of {:.1} % (minimum sample {})",
        counts.failed,
        attempts,
        counts.failed as f64 * 100.0 / attempts as f64,
        r.failure_threshold_permille as f64 / 10.0,
        r.min_sample
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::{Actor, NewVersion};

    fn version(id: i64) -> Version {
        Version {
            mnp_version_id: id,
            new: NewVersion {
                mnp_id: "mpaaaaaaaaaaaaaa".into(),
                platform_id: "T".into(),
                version: format!("1.0.{id}"),
                intro: "i".into(),
                sha256: "0".repeat(64),
                size: 1,
                manifest: serde_json::from_value(serde_json::json!({
                    "kind": "mini_program", "root": "", "pages": ["p/i/i"], "subpackages": [],
                    "entry_page": "p/i/i", "file_count": 2, "uncompressed_bytes": 2
                }))
                .unwrap(),
                task_id: format!("task{id}"),
                create_user: Actor::ApiKey {
                    secret_id: "AKID".into(),
                },
                created_at: 0,
            },
        }
    }

    fn rollout(permille: i64, state: RolloutState) -> Rollout {
        Rollout {
            rollout_id: 1,
            platform_id: "T".into(),
            mnp_id: "mpaaaaaaaaaaaaaa".into(),
            version: version(2),
            base_mnp_version_id: Some(1),
            permille,
            device_ids: vec!["listed-device".into()],
            state,
            failure_threshold_permille: 100,
            min_sample: 10,
            halt_reason: String::new(),
            halted_automatically: false,
            revision: 1,
            create_user: Actor::ApiKey {
                secret_id: "AKID".into(),
            },
            created_at: 0,
            updated_at: 0,
            ended_at: None,
        }
    }

    #[test]
    fn cohorts_are_stable_spread_and_salted_by_mini_program() {
        // Fixed values: hosts reimplement this function and must agree.
        assert_eq!(
            cohort("mp0123456789abcd", "device-1"),
            cohort("mp0123456789abcd", "device-1")
        );
        let n = 20_000;
        let below_100 = (0..n)
            .filter(|i| cohort("mp0123456789abcd", &format!("device-{i}")) < 100)
            .count();
        let share = below_100 as f64 / n as f64;
        assert!((0.09..0.11).contains(&share), "share {share}");
        let same = (0..1000)
            .filter(|i| {
                let d = format!("device-{i}");
                cohort("mp0123456789abcd", &d) == cohort("mpzzzzzzzzzzzzzz", &d)
            })
            .count();
        assert!(
            same < 20,
            "cohorts of two programs agree for {same} of 1000"
        );
    }

    #[test]
    fn a_growing_release_keeps_its_devices() {
        let online = version(1);
        let small = rollout(100, RolloutState::Active);
        let big = rollout(500, RolloutState::Active);
        for i in 0..2000 {
            let d = format!("d{i}");
            let first = version_for(Some(&online), Some(&small), &d, None)
                .unwrap()
                .1;
            let later = version_for(Some(&online), Some(&big), &d, None).unwrap().1;
            assert!(
                first == Channel::Online || later == Channel::Gradual,
                "{d} flipped back"
            );
        }
    }

    #[test]
    fn listed_devices_get_it_at_zero_and_pause_keeps_only_those_on_it() {
        let online = version(1);
        let r = rollout(0, RolloutState::Active);
        assert_eq!(
            version_for(Some(&online), Some(&r), "listed-device", None)
                .unwrap()
                .0
                .mnp_version_id,
            2
        );
        assert_eq!(
            version_for(Some(&online), Some(&r), "other", None)
                .unwrap()
                .0
                .mnp_version_id,
            1
        );
        let paused = rollout(0, RolloutState::Paused);
        assert_eq!(
            version_for(Some(&online), Some(&paused), "listed-device", Some(1))
                .unwrap()
                .0
                .mnp_version_id,
            1
        );
        assert_eq!(
            version_for(Some(&online), Some(&paused), "listed-device", Some(2))
                .unwrap()
                .0
                .mnp_version_id,
            2
        );
        assert!(version_for(None, Some(&paused), "other", None).is_none());
    }

    #[test]
    fn percentages_and_settings() {
        assert_eq!(permille_of("P", 12.5).unwrap(), 125);
        assert_eq!(permille_of("P", 100.0).unwrap(), 1000);
        assert_eq!(permille_of("P", 0.0).unwrap(), 0);
        for bad in [-1.0, 100.1, 12.55, f64::NAN] {
            assert!(permille_of("P", bad).is_err(), "{bad}");
        }
        assert!(halt_settings(Some(0.0), None).is_err());
        assert!(halt_settings(None, Some(0)).is_err());
        assert_eq!(
            halt_settings(Some(5.0), Some(100)).unwrap(),
            (Some(50), Some(100))
        );
    }

    #[test]
    fn transitions() {
        let active = rollout(100, RolloutState::Active);
        assert!(matches!(
            modify(&active, Some(50), None, None, None),
            Err(DomainError::InvalidValue(_))
        ));
        assert_eq!(
            modify(&active, Some(500), None, None, None)
                .unwrap()
                .permille,
            500
        );
        assert!(matches!(resume(&active), Err(DomainError::RolloutState(_))));
        assert_eq!(pause(&active).unwrap().state, RolloutState::Paused);
        let paused = rollout(100, RolloutState::Paused);
        assert!(matches!(pause(&paused), Err(DomainError::RolloutState(_))));
        assert_eq!(resume(&paused).unwrap().state, RolloutState::Active);
        let halted = rollout(100, RolloutState::Halted);
        for r in [
            modify(&halted, None, None, None, None),
            pause(&halted),
            resume(&halted),
            halt(&halted, "x", false),
        ] {
            assert!(matches!(r, Err(DomainError::RolloutState(_))));
        }
        assert!(device_list(&[], &["a b".into()], &[]).is_err());
        assert_eq!(
            device_list(&["a".into()], &["b".into(), "a".into()], &["c".into()]).unwrap(),
            vec!["a", "b"]
        );
        let many: Vec<String> = (0..=MAX_DEVICE_IDS).map(|i| format!("d{i}")).collect();
        assert!(device_list(&[], &many, &[]).is_err());
    }

    #[test]
    fn failures_halt_past_the_threshold_over_the_sample_only() {
        let r = rollout(100, RolloutState::Active); // 10 %, min sample 10
        let counts = |installed, failed| InstallCounts {
            installed,
            failed,
            ..Default::default()
        };
        assert!(
            failure_halt(&r, &counts(5, 4)).is_none(),
            "below the sample"
        );
        assert!(
            failure_halt(&r, &counts(9, 1)).is_none(),
            "at the threshold"
        );
        assert!(failure_halt(&r, &counts(8, 2))
            .unwrap()
            .contains("2 of 10 installs failed (20.0 %)"));
        assert!(failure_halt(&rollout(100, RolloutState::Halted), &counts(0, 10)).is_none());
    }
}
