//! Fault rules: per account, an action answers an error of the spec or
//! answers late, on every Nth call or with a probability drawn from a
//! seedable generator, so a test suite can rehearse its error handling
//! deterministically.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use mnpd_api::{Action, ErrorCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The longest latency a rule may add: beyond it the client's own timeout
/// is what gets tested, not the client.
pub const MAX_LATENCY_MS: u64 = 120_000;

/// A rule as the control API receives it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct NewFault {
    pub action: String,
    pub probability: Option<f64>,
    pub every_nth: Option<u64>,
    pub error_code: Option<String>,
    pub message: Option<String>,
    pub latency_ms: Option<u64>,
    /// Seeds the generator of a probability rule, for a repeatable run.
    pub seed: Option<u64>,
}

/// When a rule fires.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    Probability(f64),
    EveryNth(u64),
}

/// What a rule does when it fires.
#[derive(Debug, Clone)]
enum Effect {
    Error { code: ErrorCode, message: String },
    Latency(Duration),
}

/// A rule as the control API lists it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FaultView {
    pub fault_id: String,
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every_nth: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Calls of the action the rule has seen, and how many it hit.
    pub calls: u64,
    pub fired: u64,
}

struct Rule {
    fault_id: String,
    action: Action,
    trigger: Trigger,
    effect: Effect,
    seed: Option<u64>,
    rng: StdRng,
    calls: u64,
    fired: u64,
}

impl Rule {
    fn fires(&mut self) -> bool {
        self.calls += 1;
        let fires = match self.trigger {
            Trigger::EveryNth(n) => self.calls.is_multiple_of(n),
            Trigger::Probability(p) => self.rng.random::<f64>() < p,
        };
        if fires {
            self.fired += 1;
        }
        fires
    }

    fn view(&self) -> FaultView {
        let (probability, every_nth) = match self.trigger {
            Trigger::Probability(p) => (Some(p), None),
            Trigger::EveryNth(n) => (None, Some(n)),
        };
        let (error_code, message, latency_ms) = match &self.effect {
            Effect::Error { code, message } => (Some(code.as_str()), Some(message.clone()), None),
            Effect::Latency(d) => (None, None, Some(d.as_millis() as u64)),
        };
        FaultView {
            fault_id: self.fault_id.clone(),
            action: self.action.name(),
            probability,
            every_nth,
            error_code,
            message,
            latency_ms,
            seed: self.seed,
            calls: self.calls,
            fired: self.fired,
        }
    }
}

/// What the rules of an account did to one request.
#[derive(Debug, Default)]
pub struct Strike {
    /// Added before the answer, the sum of every latency rule that fired.
    pub latency: Duration,
    /// The first error rule that fired, in the order the rules were added.
    pub error: Option<(ErrorCode, String)>,
}

/// The fault rules of every account, in memory: they belong to the
/// process a test suite talks to, not to the data.
#[derive(Default)]
pub struct FaultBook {
    rules: Mutex<HashMap<i64, Vec<Rule>>>,
    next_id: AtomicU64,
}

impl FaultBook {
    /// Adds a rule for `account_id`; Err says what to send instead.
    pub fn add(&self, account_id: i64, new: NewFault) -> Result<FaultView, String> {
        let action = Action::from_name(&new.action).ok_or_else(|| {
            format!(
                "`{}` is not an action of tcmpp 2024-08-01; name one, with its case",
                new.action
            )
        })?;
        let trigger = match (new.probability, new.every_nth) {
            (Some(p), None) if (0.0..=1.0).contains(&p) => Trigger::Probability(p),
            (Some(p), None) => return Err(format!("Probability {p} is not within 0..1")),
            (None, Some(n)) if n >= 1 => Trigger::EveryNth(n),
            (None, Some(_)) => return Err("EveryNth must be 1 or more".into()),
            _ => {
                return Err(
                    "send exactly one of Probability (0..1) and EveryNth (1 or more)".into(),
                )
            }
        };
        if new.seed.is_some() && new.every_nth.is_some() {
            return Err(
                "Seed applies to a Probability rule; an EveryNth rule is already deterministic"
                    .into(),
            );
        }
        let fault_id = format!("fault-{}", self.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        let effect = match (new.error_code, new.latency_ms) {
            (Some(code), None) => {
                let code = ErrorCode::ALL
                    .into_iter()
                    .find(|c| c.as_str() == code)
                    .ok_or_else(|| {
                        format!("`{code}` is not an error code of tcmpp 2024-08-01; use one the API documents (e.g. InternalError, RequestLimitExceeded, FailedOperation)")
                    })?;
                let message = new
                    .message
                    .unwrap_or_else(|| format!("injected by the mnpd emulator (rule {fault_id})"));
                Effect::Error { code, message }
            }
            (None, Some(ms)) if ms <= MAX_LATENCY_MS => {
                if new.message.is_some() {
                    return Err("Message goes with ErrorCode, not with LatencyMs".into());
                }
                Effect::Latency(Duration::from_millis(ms))
            }
            (None, Some(ms)) => {
                return Err(format!(
                    "LatencyMs {ms} is above {MAX_LATENCY_MS}; add less latency"
                ))
            }
            _ => {
                return Err(
                    "send exactly one of ErrorCode (with an optional Message) and LatencyMs".into(),
                )
            }
        };
        let rng = match new.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let rule = Rule {
            fault_id,
            action,
            trigger,
            effect,
            seed: new.seed,
            rng,
            calls: 0,
            fired: 0,
        };
        let view = rule.view();
        self.lock().entry(account_id).or_default().push(rule);
        Ok(view)
    }

    pub fn list(&self, account_id: i64) -> Vec<FaultView> {
        self.lock()
            .get(&account_id)
            .map(|rules| rules.iter().map(Rule::view).collect())
            .unwrap_or_default()
    }

    /// Removes one rule of the account; false when it has none by that id.
    pub fn remove(&self, account_id: i64, fault_id: &str) -> bool {
        let mut rules = self.lock();
        let Some(own) = rules.get_mut(&account_id) else {
            return false;
        };
        let before = own.len();
        own.retain(|r| r.fault_id != fault_id);
        before != own.len()
    }

    /// Removes every rule of the account; how many there were.
    pub fn clear(&self, account_id: i64) -> usize {
        self.lock().remove(&account_id).map_or(0, |r| r.len())
    }

    /// Counts a call of `action` by the account against its rules.
    pub fn strike(&self, account_id: i64, action: Action) -> Strike {
        let mut strike = Strike::default();
        let mut rules = self.lock();
        let Some(own) = rules.get_mut(&account_id) else {
            return strike;
        };
        for rule in own.iter_mut().filter(|r| r.action == action) {
            if !rule.fires() {
                continue;
            }
            match &rule.effect {
                Effect::Latency(d) => strike.latency += *d,
                Effect::Error { code, message } => {
                    strike.error.get_or_insert_with(|| (*code, message.clone()));
                }
            }
        }
        strike
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Vec<Rule>>> {
        // A panic while holding the lock leaves whole rules behind.
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(action: &str) -> NewFault {
        NewFault {
            action: action.into(),
            probability: None,
            every_nth: None,
            error_code: None,
            message: None,
            latency_ms: None,
            seed: None,
        }
    }

    #[test]
    fn every_third_call_fails_and_only_for_its_account() {
        let book = FaultBook::default();
        let mut new = rule("DescribeMNPList");
        new.every_nth = Some(3);
        new.error_code = Some("InternalError".into());
        book.add(1, new).unwrap();
        let hits: Vec<bool> = (0..6)
            .map(|_| book.strike(1, Action::DescribeMNPList).error.is_some())
            .collect();
        assert_eq!(hits, [false, false, true, false, false, true]);
        assert!(book.strike(2, Action::DescribeMNPList).error.is_none());
        assert!(book.strike(1, Action::DescribeMNPDetail).error.is_none());
    }

    #[test]
    fn a_seed_repeats_the_same_draws() {
        let draws = |seed| {
            let book = FaultBook::default();
            let mut new = rule("DescribeMNPList");
            new.probability = Some(0.5);
            new.seed = Some(seed);
            new.latency_ms = Some(1);
            book.add(1, new).unwrap();
            (0..32)
                .map(|_| book.strike(1, Action::DescribeMNPList).latency.is_zero())
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert!(draws(7).contains(&true) && draws(7).contains(&false));
    }

    #[test]
    fn refuses_codes_and_actions_outside_the_spec() {
        let book = FaultBook::default();
        let mut new = rule("DescribeMNPList");
        new.every_nth = Some(1);
        new.error_code = Some("NoSuchThing".into());
        assert!(book.add(1, new).unwrap_err().contains("NoSuchThing"));
        let mut new = rule("DescribeNothing");
        new.every_nth = Some(1);
        new.error_code = Some("InternalError".into());
        assert!(book.add(1, new).unwrap_err().contains("DescribeNothing"));
    }

    #[test]
    fn removal_is_per_account() {
        let book = FaultBook::default();
        let mut new = rule("DescribeMNPList");
        new.every_nth = Some(1);
        new.latency_ms = Some(5);
        let id = book.add(1, new).unwrap().fault_id;
        assert!(!book.remove(2, &id));
        assert!(book.remove(1, &id));
        assert!(book.list(1).is_empty());
    }
}
