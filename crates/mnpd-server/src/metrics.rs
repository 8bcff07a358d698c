//! `/metrics` in the Prometheus text format, and `/readyz`.
//!
//! Counters live in this process; the task backlog is read from the
//! metadata store at scrape time, so every node reports the shared queue.
//! Like `/healthz`, both paths answer without a signature: they reveal
//! counts, never identifiers or parameters. Operators who expose mnpd to
//! the internet keep them behind their proxy (docs/deploy.md).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mnpd_domain::telemetry::{TaskOutcome, Telemetry};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    action: String,
    /// `Success`, or the TencentCloud error code answered.
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabel {
    action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AnswerLabel {
    answer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabel {
    event: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabel {
    cause: String,
}

/// The action label of a request whose action could not be read.
pub const UNKNOWN_ACTION: &str = "unknown";

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<ActionLabel, Histogram>,
    rate_limited: Family<ActionLabel, Counter>,
    tasks: Family<OutcomeLabel, Counter>,
    task_seconds: Family<OutcomeLabel, Histogram>,
    ingested_bytes: Counter,
    served_bytes: Counter,
    uploaded_bytes: Counter,
    backlog: Family<StateLabel, Gauge>,
    storage_up: Gauge,
    host_checks: Family<AnswerLabel, Counter>,
    install_reports: Family<EventLabel, Counter>,
    halts: Family<CauseLabel, Counter>,
    gradual_releases: Family<StateLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mnpd");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "API requests answered, by action and TencentCloud error code (Success when none)",
            requests.clone(),
        );
        // 0.5 ms to about 16 s.
        let latency = Family::<ActionLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register_with_unit(
            "request_duration",
            "Time from a request's arrival to its answer, by action",
            Unit::Seconds,
            latency.clone(),
        );
        let rate_limited = Family::<ActionLabel, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests refused with RequestLimitExceeded, by action",
            rate_limited.clone(),
        );
        let tasks = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "tasks",
            "CreateMNPVersion tasks finished by this node, by outcome",
            tasks.clone(),
        );
        // 1 ms to about 65 s.
        let task_seconds = Family::<OutcomeLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 17))
        });
        registry.register_with_unit(
            "task_duration",
            "Time a task spent in a worker (validation and recording), by outcome",
            Unit::Seconds,
            task_seconds.clone(),
        );
        let ingested_bytes = Counter::default();
        registry.register_with_unit(
            "ingested",
            "Package bytes taken in by finished tasks",
            Unit::Bytes,
            ingested_bytes.clone(),
        );
        let served_bytes = Counter::default();
        registry.register_with_unit(
            "served",
            "Offline package bytes sent to host apps",
            Unit::Bytes,
            served_bytes.clone(),
        );
        let uploaded_bytes = Counter::default();
        registry.register_with_unit(
            "uploaded",
            "Package bytes received by the upload endpoint",
            Unit::Bytes,
            uploaded_bytes.clone(),
        );
        let backlog = Family::<StateLabel, Gauge>::default();
        registry.register(
            "task_queue_depth",
            "Tasks pending or running on any node, read from the metadata store at scrape time",
            backlog.clone(),
        );
        let storage_up = Gauge::default();
        registry.register(
            "storage_up",
            "1 when the metadata store answered the last scrape's query, else 0",
            storage_up.clone(),
        );
        let host_checks = Family::<AnswerLabel, Counter>::default();
        registry.register(
            "host_update_checks",
            "Update checks of host applications answered by this node, by answer (update, current, none, not_modified, refused)",
            host_checks.clone(),
        );
        let install_reports = Family::<EventLabel, Counter>::default();
        registry.register(
            "install_reports",
            "Install reports of host applications taken by this node, by event",
            install_reports.clone(),
        );
        let halts = Family::<CauseLabel, Counter>::default();
        registry.register(
            "gradual_release_halts",
            "Gradual releases halted through this node, by cause (manual, failures)",
            halts.clone(),
        );
        let gradual_releases = Family::<StateLabel, Gauge>::default();
        registry.register(
            "gradual_releases",
            "Gradual releases in progress on any node, by state, read from the metadata store at scrape time",
            gradual_releases.clone(),
        );
        Metrics {
            registry,
            host_checks,
            install_reports,
            halts,
            gradual_releases,
            requests,
            latency,
            rate_limited,
            tasks,
            task_seconds,
            ingested_bytes,
            served_bytes,
            uploaded_bytes,
            backlog,
            storage_up,
        }
    }

    /// One answered API request.
    pub fn request(&self, action: &str, code: &str, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                action: action.to_string(),
                code: code.to_string(),
            })
            .inc();
        let action = ActionLabel {
            action: action.to_string(),
        };
        self.latency
            .get_or_create(&action)
            .observe(elapsed.as_secs_f64());
        if code == mnpd_api::ErrorCode::RequestLimitExceeded.as_str() {
            self.rate_limited.get_or_create(&action).inc();
        }
    }

    pub fn host_check(&self, answer: &str) {
        self.host_checks
            .get_or_create(&AnswerLabel {
                answer: answer.to_string(),
            })
            .inc();
    }

    pub fn install_reported(&self, event: &str, n: u64) {
        self.install_reports
            .get_or_create(&EventLabel {
                event: event.to_string(),
            })
            .inc_by(n);
    }

    pub fn gradual_release_halted(&self, cause: &str) {
        self.halts
            .get_or_create(&CauseLabel {
                cause: cause.to_string(),
            })
            .inc();
    }

    pub fn served(&self, bytes: u64) {
        self.served_bytes.inc_by(bytes);
    }

    pub fn uploaded(&self, bytes: u64) {
        self.uploaded_bytes.inc_by(bytes);
    }

    fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

impl Telemetry for Metrics {
    fn task_finished(&self, outcome: TaskOutcome, seconds: f64, package_bytes: u64) {
        let label = OutcomeLabel {
            outcome: outcome.as_str().to_string(),
        };
        self.tasks.get_or_create(&label).inc();
        self.task_seconds.get_or_create(&label).observe(seconds);
        self.ingested_bytes.inc_by(package_bytes);
    }
}

/// GET /metrics.
pub async fn scrape(State(state): State<Arc<AppState>>) -> Response {
    let metrics = &state.metrics;
    match state.versions.backlog().await {
        Ok(backlog) => {
            for (name, value) in [("pending", backlog.pending), ("running", backlog.running)] {
                metrics
                    .backlog
                    .get_or_create(&StateLabel {
                        state: name.to_string(),
                    })
                    .set(value);
            }
            metrics.storage_up.set(1);
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the task backlog could not be read");
            metrics.storage_up.set(0);
        }
    }
    if let Ok(live) = state.rollouts.live_counts().await {
        for s in ["active", "paused"] {
            let n = live
                .iter()
                .find(|(state, _)| state.as_str() == s)
                .map_or(0, |(_, n)| *n);
            metrics
                .gradual_releases
                .get_or_create(&StateLabel {
                    state: s.to_string(),
                })
                .set(n);
        }
    }
    let mut response = metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// GET /readyz: 200 when the metadata store and the blob store both
/// answer, 503 naming the one that did not. Load balancers take a node
/// out of rotation on 503; `/healthz` only says the process is alive.
pub async fn ready(State(state): State<Arc<AppState>>) -> Response {
    // A store that hangs must not hang the probe.
    const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
    let metadata = tokio::time::timeout(PROBE_TIMEOUT, state.versions.backlog()).await;
    let blobs = tokio::time::timeout(PROBE_TIMEOUT, state.packages.storage_answers()).await;
    let mut failures = Vec::new();
    match metadata {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => failures.push(format!("metadata store: {e}")),
        Err(_) => failures.push("metadata store: no answer within 3 s".into()),
    }
    match blobs {
        Ok(Ok(())) => {}
        Ok(Err(e)) => failures.push(format!("blob store: {e}")),
        Err(_) => failures.push("blob store: no answer within 3 s".into()),
    }
    if failures.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        tracing::warn!(failures = ?failures, "not ready");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", failures.join("; ")),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_tasks_appear_in_the_exposition() {
        let m = Metrics::new();
        m.request("DescribeMNPList", "Success", Duration::from_millis(3));
        m.request(
            "DescribeMNPList",
            "RequestLimitExceeded",
            Duration::from_millis(1),
        );
        m.task_finished(TaskOutcome::Succeeded, 0.2, 1000);
        m.served(42);
        let text = m.render();
        for line in [
            "mnpd_requests_total{action=\"DescribeMNPList\",code=\"Success\"} 1",
            "mnpd_requests_total{action=\"DescribeMNPList\",code=\"RequestLimitExceeded\"} 1",
            "mnpd_rate_limited_total{action=\"DescribeMNPList\"} 1",
            "mnpd_request_duration_seconds_count{action=\"DescribeMNPList\"} 2",
            "mnpd_tasks_total{outcome=\"succeeded\"} 1",
            "mnpd_ingested_bytes_total 1000",
            "mnpd_served_bytes_total 42",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
