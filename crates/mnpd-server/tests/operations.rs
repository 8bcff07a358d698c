//! What operators watch: `/metrics` counts what the API and the task
//! workers did, `/readyz` says whether storage answers.

mod common;

use common::*;
use serde_json::json;

async fn get(url: String) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The value of the sample whose line starts with `series`.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {series} in\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn metrics_count_requests_codes_tasks_and_bytes() {
    let h = start(1000).await;
    let mnp = h.mini_program("Metered").await;
    h.version(&mnp, "1.0.0").await;
    h.fails(
        "DescribeMNPVersion",
        json!({"BusinessId": "nope", "PlatformId": PLATFORM}),
        "InvalidParameterValue.InvalidMNPVersionTaskId",
    )
    .await;

    let (status, text) = get(format!("{}metrics", h.base)).await;
    assert_eq!(status, 200);
    assert_eq!(
        sample(
            &text,
            "mnpd_requests_total{action=\"CreateMNP\",code=\"Success\"}"
        ),
        1.0
    );
    assert!(
        sample(
            &text,
            "mnpd_requests_total{action=\"DescribeMNPVersion\",code=\"InvalidParameterValue.InvalidMNPVersionTaskId\"}"
        ) >= 1.0
    );
    assert_eq!(
        sample(&text, "mnpd_tasks_total{outcome=\"succeeded\"}"),
        1.0
    );
    let package = good_package().len() as f64;
    assert_eq!(sample(&text, "mnpd_ingested_bytes_total"), package);
    assert_eq!(
        sample(&text, "mnpd_task_queue_depth{state=\"pending\"}"),
        0.0
    );
    assert_eq!(sample(&text, "mnpd_storage_up"), 1.0);
    assert!(
        sample(
            &text,
            "mnpd_request_duration_seconds_count{action=\"DescribeMNPVersion\"}"
        ) >= 2.0
    );
}

#[tokio::test]
async fn an_unsigned_request_is_counted_without_an_action() {
    let h = start(1000).await;
    let r = h.raw(vec![], b"{}".to_vec()).await;
    let code = code(&r).to_string();
    let (_, text) = get(format!("{}metrics", h.base)).await;
    assert_eq!(
        sample(
            &text,
            &format!("mnpd_requests_total{{action=\"unknown\",code=\"{code}\"}}")
        ),
        1.0
    );
}

#[tokio::test]
async fn readiness_follows_the_blob_store() {
    let h = start(1000).await;
    assert_eq!(
        get(format!("{}readyz", h.base)).await,
        (200, "ready\n".into())
    );
    std::fs::remove_dir_all(h.data_dir().join("blobs")).unwrap();
    let (status, text) = get(format!("{}readyz", h.base)).await;
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("blob store"), "{text}");
    // Alive all the same.
    assert_eq!(get(format!("{}healthz", h.base)).await.0, 200);
}
