//! `mnpd admin emulator replay FILE`: sends each request of a recording
//! (`GET /_mnpd/emulator/recording`) again, signed with the given key, and
//! reports every way the answers differ from the recorded ones.
//!
//! What is compared (docs/testing-with-mnpd.md, "What a replay compares"):
//! every member of each `Response` object, recursively, arrays element by
//! element, except
//! - `RequestId`, and members whose name says they are a time (`…Time…`,
//!   `…Date…`, `…Expire…`): generated anew on every run;
//! - identifiers (members named `…Id`, `…ID`, `…No`): a value seen for the
//!   first time in a recorded answer is a new ID; the one answered now is
//!   taken as its counterpart and put in its place in every later request
//!   and expected in every later answer (two recorded IDs may not map to
//!   one, nor one to two);
//! - URLs: only the path is compared, with the IDs mapped; the host (a
//!   replay runs against another server) and the query (expiry and
//!   signature) are not;
//! - the status of a task (`DescribeMNPVersion`): a recorded final status
//!   (30 or 60) is waited for, polling, up to `--task-wait-secs`; a recorded
//!   status on the way (1 or 20) only asks that the task exists, its
//!   `TaskStatus` and `TaskMsg` are not compared.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::upload::api::ApiClient;

/// One way an answer differs.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Difference {
    /// The request's line in the recording, from 1.
    pub line: usize,
    pub action: String,
    /// Where in the answer, e.g. `Response.Data.DataList[0].MNPName`.
    pub path: String,
    pub recorded: Value,
    pub now: Value,
}

/// The IDs of the recording and their counterparts now.
#[derive(Default)]
pub struct IdMap {
    forward: HashMap<String, Value>,
    backward: HashMap<String, String>,
}

fn key_of(v: &Value) -> String {
    v.to_string()
}

impl IdMap {
    /// The request with every recorded ID replaced by its counterpart.
    pub fn substitute(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.substitute(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.substitute(v)).collect()),
            Value::String(_) | Value::Number(_) => {
                if let Some(now) = self.forward.get(&key_of(value)) {
                    return now.clone();
                }
                match value {
                    Value::String(s) => Value::String(self.in_text(s)),
                    _ => value.clone(),
                }
            }
            _ => value.clone(),
        }
    }

    /// `text` with the recorded string IDs it contains replaced.
    fn in_text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (recorded, now) in &self.forward {
            if let (Ok(Value::String(r)), Value::String(n)) =
                (serde_json::from_str::<Value>(recorded), now)
            {
                // Short values (digits) would match by chance inside others.
                if r.len() >= 6 && out.contains(&r) {
                    out = out.replace(&r, n);
                }
            }
        }
        out
    }

    /// Whether `now` is `recorded`'s counterpart, learning it when
    /// `recorded` is new.
    fn matches(&mut self, recorded: &Value, now: &Value) -> bool {
        let (r, n) = (key_of(recorded), key_of(now));
        if let Some(known) = self.forward.get(&r) {
            return known == now;
        }
        if let Some(other) = self.backward.get(&n) {
            return *other == r;
        }
        self.forward.insert(r.clone(), now.clone());
        self.backward.insert(n, r);
        true
    }
}

fn is_time(name: &str) -> bool {
    ["Time", "Date", "Expire"].iter().any(|w| name.contains(w))
}

fn is_id(name: &str) -> bool {
    name.ends_with("Id") || name.ends_with("ID") || name.ends_with("No")
}

/// The path of an http(s) URL, or None for any other text.
fn url_path(text: &str) -> Option<String> {
    let url = url::Url::parse(text).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.path().to_string())
}

/// Compares a recorded answer with the one got now.
pub struct Comparison<'a> {
    pub ids: &'a mut IdMap,
    pub line: usize,
    pub action: &'a str,
    pub differences: Vec<Difference>,
    /// Members not compared in this answer (a task on its way).
    pub skip: &'a [&'a str],
}

impl Comparison<'_> {
    pub fn compare(&mut self, path: &str, recorded: &Value, now: &Value) {
        match (recorded, now) {
            (Value::Object(r), Value::Object(n)) => {
                for name in r.keys().chain(n.keys().filter(|k| !r.contains_key(*k))) {
                    if name == "RequestId" || is_time(name) || self.skip.contains(&name.as_str()) {
                        continue;
                    }
                    let here = format!("{path}.{name}");
                    match (r.get(name), n.get(name)) {
                        (Some(rv), Some(nv))
                            if is_id(name) && !rv.is_object() && !rv.is_array() =>
                        {
                            if rv != nv && !self.ids.matches(rv, nv) {
                                self.differ(here, rv, nv);
                            }
                        }
                        (Some(rv), Some(nv)) => self.compare(&here, rv, nv),
                        (rv, nv) => self.differ(
                            here,
                            rv.unwrap_or(&Value::Null),
                            nv.unwrap_or(&Value::Null),
                        ),
                    }
                }
            }
            (Value::Array(r), Value::Array(n)) => {
                if r.len() != n.len() {
                    self.differ(format!("{path}.length"), &json!(r.len()), &json!(n.len()));
                }
                for (i, (rv, nv)) in r.iter().zip(n).enumerate() {
                    self.compare(&format!("{path}[{i}]"), rv, nv);
                }
            }
            (Value::String(r), Value::String(n)) => {
                let expected = self.ids.in_text(r);
                let same = match (url_path(&expected), url_path(n)) {
                    (Some(rp), Some(np)) => rp == np,
                    _ => &expected == n,
                };
                if !same {
                    self.differ(path.to_string(), recorded, now);
                }
            }
            _ => {
                if recorded != now {
                    self.differ(path.to_string(), recorded, now);
                }
            }
        }
    }

    fn differ(&mut self, path: String, recorded: &Value, now: &Value) {
        self.differences.push(Difference {
            line: self.line,
            action: self.action.to_string(),
            path,
            recorded: recorded.clone(),
            now: now.clone(),
        });
    }
}

fn task_status(response: &Value) -> Option<i64> {
    response["Data"]["TaskStatus"].as_i64()
}

fn finished(status: Option<i64>) -> bool {
    matches!(status, Some(30) | Some(60))
}

/// What a replay found.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Report {
    pub requests: usize,
    pub differences: Vec<Difference>,
}

pub async fn replay(
    client: &ApiClient,
    file: &std::path::Path,
    task_wait: Duration,
) -> Result<Report> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut ids = IdMap::default();
    let mut differences = Vec::new();
    let mut requests = 0;
    for (index, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let entry: Map<String, Value> = serde_json::from_str(line).with_context(|| {
            format!(
                "{} line {}: not a recorded request",
                file.display(),
                index + 1
            )
        })?;
        let field = |name: &str| {
            entry
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let action = field("Action");
        let recorded = entry.get("Response").cloned().unwrap_or(Value::Null);
        let request = ids.substitute(entry.get("Request").unwrap_or(&json!({})));
        let region = entry.get("Region").and_then(Value::as_str);
        let version = field("Version");
        let send = || client.send(&action, &version, region, &request);
        let mut now = send()
            .await
            .map_err(|e| anyhow::anyhow!("line {}: {e}", index + 1))?;
        requests += 1;
        let waiting = action == "DescribeMNPVersion" && finished(task_status(&recorded));
        let started = Instant::now();
        while waiting && !finished(task_status(&now)) && started.elapsed() < task_wait {
            tokio::time::sleep(Duration::from_millis(200)).await;
            now = send()
                .await
                .map_err(|e| anyhow::anyhow!("line {}: {e}", index + 1))?;
        }
        let on_its_way = action == "DescribeMNPVersion" && !finished(task_status(&recorded));
        let skip: &[&str] = if on_its_way {
            &["TaskStatus", "TaskMsg"]
        } else {
            &[]
        };
        let mut comparison = Comparison {
            ids: &mut ids,
            line: index + 1,
            action: &action,
            differences: Vec::new(),
            skip,
        };
        comparison.compare("Response", &recorded, &now);
        differences.extend(comparison.differences);
    }
    Ok(Report {
        requests,
        differences,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compare(ids: &mut IdMap, recorded: Value, now: Value) -> Vec<Difference> {
        let mut c = Comparison {
            ids,
            line: 1,
            action: "X",
            differences: Vec::new(),
            skip: &[],
        };
        c.compare("Response", &recorded, &now);
        c.differences
    }

    #[test]
    fn new_ids_are_mapped_and_then_held_to() {
        let mut ids = IdMap::default();
        let d = compare(
            &mut ids,
            json!({"Data": {"ResourceId": "mpaaaaaaaaaaaaaa"}, "RequestId": "r1"}),
            json!({"Data": {"ResourceId": "mpbbbbbbbbbbbbbb"}, "RequestId": "r2"}),
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            ids.substitute(&json!({"MNPId": "mpaaaaaaaaaaaaaa"})),
            json!({"MNPId": "mpbbbbbbbbbbbbbb"})
        );
        let d = compare(
            &mut ids,
            json!({"MNPId": "mpaaaaaaaaaaaaaa"}),
            json!({"MNPId": "mpcccccccccccccc"}),
        );
        assert_eq!(d.len(), 1);
        // Another recorded ID may not take the same counterpart.
        let d = compare(
            &mut ids,
            json!({"MNPId": "mpdddddddddddddd"}),
            json!({"MNPId": "mpbbbbbbbbbbbbbb"}),
        );
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn times_urls_and_plain_values() {
        let mut ids = IdMap::default();
        compare(
            &mut ids,
            json!({"MNPId": "mpaaaaaaaaaaaaaa"}),
            json!({"MNPId": "mpbbbbbbbbbbbbbb"}),
        );
        let d = compare(
            &mut ids,
            json!({"CreateTime": "1", "Url": "http://a:1/packages/mpaaaaaaaaaaaaaa/x.zip?expires=1&signature=***",
                   "Name": "n", "List": [1, 2]}),
            json!({"CreateTime": "2", "Url": "http://b:2/packages/mpbbbbbbbbbbbbbb/x.zip?expires=9&signature=ff",
                   "Name": "m", "List": [1]}),
        );
        let mut paths: Vec<_> = d.iter().map(|d| d.path.as_str()).collect();
        paths.sort();
        assert_eq!(paths, ["Response.List.length", "Response.Name"]);
    }
}
