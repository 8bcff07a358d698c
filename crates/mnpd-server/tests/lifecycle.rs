//! A version's way from development to users: approval, release, rollback,
//! stages, preview QR codes and the offline package download.

mod common;

use common::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

async fn application(h: &Harness, name: &str) -> String {
    let team = h.meta.default_team(PLATFORM).await.unwrap().unwrap();
    let r = h
        .ok(
            "CreateApplication",
            json!({"ApplicationName": name, "Logo": "https://h/logo.png", "PlatformId": PLATFORM,
                   "TeamId": team.team_id, "ApplicationType": 2, "Intro": "a superapp"}),
        )
        .await;
    r["Data"]["ResourceId"].as_str().unwrap().to_string()
}

async fn submit(h: &Harness, version_id: i64) -> String {
    h.ok(
        "CreateMNPApproval",
        json!({"MNPVersionId": version_id, "ApplyAction": "submit", "PlatformId": PLATFORM}),
    )
    .await;
    let list = h
        .ok(
            "DescribeMNPApprovalList",
            json!({"Offset": 0, "Limit": 50, "PlatformId": PLATFORM, "ApprovalStatusList": [1]}),
        )
        .await;
    list["Data"]["DataList"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["MNPVersionId"] == version_id)
        .map(|r| r["ApprovalNo"].as_str().unwrap().to_string())
        .expect("the submitted approval is listed")
}

async fn approve_all(h: &Harness, approval_no: &str, apps: &[String]) {
    let items: Vec<Value> = apps
        .iter()
        .map(|a| json!({"AppId": a, "ApprovalResult": 3, "ApprovalNote": "fine"}))
        .collect();
    h.ok(
        "ProcessMNPApproval",
        json!({"ApprovalNo": approval_no, "PlatformId": PLATFORM, "ApprovalItems": items}),
    )
    .await;
}

async fn approved_version(h: &Harness, mnp: &str, number: &str, apps: &[String]) -> i64 {
    let id = h.version(mnp, number).await;
    let no = submit(h, id).await;
    approve_all(h, &no, apps).await;
    id
}

fn release(id: i64) -> Value {
    json!({"MNPVersionId": id, "PlatformId": PLATFORM})
}

async fn stage(h: &Harness, mnp: &str, phase: &str) -> Option<Value> {
    let r = h
        .ok(
            "DescribeMNPAllStageVersions",
            json!({"MNPId": mnp, "PlatformId": PLATFORM}),
        )
        .await;
    r["Data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Phase"] == phase)
        .cloned()
}

#[tokio::test]
async fn approval_release_and_rollback() {
    let h = start(1000).await;
    let mnp = h.mini_program("shop").await;
    let v1 = h.version(&mnp, "1.0.0").await;

    let submit_v1 = json!({"MNPVersionId": v1, "ApplyAction": "submit", "PlatformId": PLATFORM});
    h.fails("CreateMNPApproval", submit_v1.clone(), "FailedOperation")
        .await;
    let apps = vec![
        application(&h, "superapp-a").await,
        application(&h, "superapp-b").await,
    ];

    h.fails(
        "ReleaseMNPVersion",
        release(v1),
        "FailedOperation.OnlyReleasePlatformApprovedMNPVersion",
    )
    .await;
    h.fails(
        "CreateMNPApproval",
        json!({"MNPVersionId": v1, "ApplyAction": "approve", "PlatformId": PLATFORM}),
        "InvalidParameterValue.InvalidApplyAction",
    )
    .await;
    h.fails(
        "CreateMNPApproval",
        json!({"MNPVersionId": 987654, "ApplyAction": "submit", "PlatformId": PLATFORM}),
        "InvalidParameterValue.InvalidMNPVersionId",
    )
    .await;
    let no = submit(&h, v1).await;
    assert!(no.starts_with("aud") && no.len() == 18, "{no}");
    h.fails(
        "CreateMNPApproval",
        submit_v1.clone(),
        "FailedOperation.ExistMNPApprovalRecord",
    )
    .await;

    let process =
        |items: Value| json!({"ApprovalNo": no, "PlatformId": PLATFORM, "ApprovalItems": items});
    h.fails(
        "ProcessMNPApproval",
        process(json!([])),
        "InvalidParameterValue.ProcessApprovalItemIsEmpty",
    )
    .await;
    h.fails(
        "ProcessMNPApproval",
        json!({"ApprovalNo": "audnothing000000000", "PlatformId": PLATFORM, "ApprovalItems": [{"AppId": apps[0], "ApprovalResult": 3}]}),
        "InvalidParameterValue.InvalidApprovalNo",
    )
    .await;
    h.fails(
        "ProcessMNPApproval",
        process(json!([{"AppId": "app-unknown000", "ApprovalResult": 3}])),
        "InvalidParameterValue.ProcessApplicationAndApprovalApplicationMismatch",
    )
    .await;
    let msg = h
        .fails(
            "ProcessMNPApproval",
            process(json!([{"AppId": apps[0], "ApprovalResult": 2}])),
            "InvalidParameterValue.InvalidApprovalNote",
        )
        .await;
    assert!(msg.contains("note"), "{msg}");

    // One application approves: still in progress, listed per application.
    h.ok(
        "ProcessMNPApproval",
        process(json!([{"AppId": apps[0], "ApprovalResult": 3}])),
    )
    .await;
    let list = h
        .ok(
            "DescribeMNPApprovalList",
            json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(list["Data"]["TotalCount"], 2);
    let rows = list["Data"]["DataList"].as_array().unwrap();
    let row_a = rows
        .iter()
        .find(|r| r["ApplicationId"] == apps[0].as_str())
        .unwrap();
    assert_eq!(row_a["ApprovalStatus"], 3);
    assert_eq!(row_a["ApplicationName"], "superapp-a");
    assert_eq!(row_a["MNPVersion"], "1.0.0");
    assert!(row_a["ApplyTime"].is_string() && row_a["ApprovalTime"].is_string());
    h.fails(
        "ReleaseMNPVersion",
        release(v1),
        "FailedOperation.OnlyReleasePlatformApprovedMNPVersion",
    )
    .await;
    h.ok(
        "ProcessMNPApproval",
        process(json!([{"AppId": apps[1], "ApprovalResult": 3}])),
    )
    .await;
    h.fails(
        "ProcessMNPApproval",
        process(json!([{"AppId": apps[1], "ApprovalResult": 2, "ApprovalNote": "late"}])),
        "InvalidParameterValue.ProcessMNPApprovalStatusError",
    )
    .await;
    let platform_stage = stage(&h, &mnp, "Platform").await.unwrap();
    assert_eq!(platform_stage["ApprovalStatus"], 3);
    assert_eq!(platform_stage["ApprovalNo"], no.as_str());

    // Release, then the rules of a second release.
    h.ok("ReleaseMNPVersion", release(v1)).await;
    h.fails(
        "ReleaseMNPVersion",
        release(v1),
        "FailedOperation.MNPVersionReleased",
    )
    .await;
    let online = h
        .ok(
            "DescribeOnlineVersion",
            json!({"MNPId": mnp, "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(online["Data"]["DataList"][0]["MNPVersionId"], v1);
    assert_eq!(
        stage(&h, &mnp, "Online").await.unwrap()["MNPVersion"],
        "1.0.0"
    );
    let detail = h
        .ok(
            "DescribeMNPDetail",
            json!({"MNPId": mnp, "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(detail["Data"]["Status"], 1, "released");
    assert_eq!(detail["Data"]["OnlineStatus"], 1);
    let list = h
        .ok(
            "DescribeMNPList",
            json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM}),
        )
        .await;
    let row = &list["Data"]["DataList"][0];
    assert_eq!(
        (
            row["EffectStatus"].as_i64(),
            row["EffectMNPVersionId"].as_i64()
        ),
        (Some(2), Some(v1))
    );
    assert_eq!(row["EffectMNPVersion"], "1.0.0");
    let managed = h
        .ok("DescribeMNP", json!({"MNPId": mnp, "PlatformId": PLATFORM}))
        .await;
    assert_eq!(managed["Data"]["AccessStatus"], 2);

    // The other names of the same machine: CreatePlatformAudit +
    // ModifyPlatformAuditStatus with one result for all, CreateOnlineApply.
    let v2 = h.version(&mnp, "1.0.1").await;
    h.ok(
        "CreatePlatformAudit",
        json!({"MNPVersionId": v2, "ApplyAction": "submit", "PlatformId": PLATFORM}),
    )
    .await;
    let audits = h
        .ok(
            "DescribeApplicationMNPVersionAuditList",
            json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM, "AuditStatusList": [1]}),
        )
        .await;
    assert_eq!(audits["Data"]["TotalCount"], 2);
    let audit_no = audits["Data"]["DataList"][0]["AuditNo"]
        .as_str()
        .unwrap()
        .to_string();
    h.ok(
        "ModifyPlatformAuditStatus",
        json!({"AuditNo": audit_no, "AuditResult": 3, "PlatformId": PLATFORM}),
    )
    .await;
    h.ok("CreateOnlineApply", release(v2)).await;

    // Rollback to 1.0.0, but not twice in a row.
    h.fails(
        "RollbackMNPVersion",
        json!({"MNPId": mnp, "MNPVersionId": v1, "MNPVersion": "9.9.9", "PlatformId": PLATFORM}),
        "InvalidParameterValue.InvalidMNPVersion",
    )
    .await;
    h.ok(
        "RollbackMNPVersion",
        json!({"MNPId": mnp, "MNPVersionId": v1, "MNPVersion": "1.0.0", "PlatformId": PLATFORM}),
    )
    .await;
    let online = stage(&h, &mnp, "Online").await.unwrap();
    assert_eq!(
        (
            online["MNPVersionId"].as_i64(),
            online["RollbackVersion"].as_i64()
        ),
        (Some(v1), Some(1))
    );
    h.fails(
        "ModifyOnlineVersion",
        json!({"MNPId": mnp, "MNPVersionId": v1, "PlatformId": PLATFORM}),
        "FailedOperation",
    )
    .await;
    let history = h
        .ok(
            "DescribeMNPReleasedVersionHistory",
            json!({"MNPId": mnp, "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(history["Data"]["TotalCount"], 2);
    assert_eq!(
        history["Data"]["DataList"][0]["MNPVersion"], "1.0.1",
        "newest first"
    );
    assert_eq!(
        history["Data"]["DataList"][1]["MNPVersionNote"],
        "version 1.0.0"
    );

    // Greater than online: 1.0.3 goes online, then the approved 1.0.2 cannot.
    let v3 = approved_version(&h, &mnp, "1.0.2", &apps).await;
    let v4 = h.version(&mnp, "1.0.3").await;
    h.fails(
        "ReleaseMNPVersion",
        release(v4),
        "FailedOperation.OnlyReleasePlatformApprovedMNPVersion",
    )
    .await;
    let no4 = submit(&h, v4).await;
    approve_all(&h, &no4, &apps).await;
    h.ok("ReleaseMNPVersion", release(v4)).await;
    h.fails(
        "ReleaseMNPVersion",
        release(v3),
        "FailedOperation.ReleaseMNPVersionNeedGreaterThanOnlineVersion",
    )
    .await;

    // Cancel an approval.
    let v5 = h.version(&mnp, "1.0.4").await;
    submit(&h, v5).await;
    h.ok(
        "CreateMNPApproval",
        json!({"MNPVersionId": v5, "ApplyAction": "cancel", "PlatformId": PLATFORM}),
    )
    .await;
    h.fails(
        "CreateMNPApproval",
        json!({"MNPVersionId": v5, "ApplyAction": "cancel", "PlatformId": PLATFORM}),
        "InvalidParameterValue.MNPApprovalStatusError",
    )
    .await;
    let cancelled = h
        .ok(
            "DescribeMNPApprovalList",
            json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM, "ApprovalStatusList": [4]}),
        )
        .await;
    assert_eq!(cancelled["Data"]["TotalCount"], 2);
}

#[tokio::test]
async fn nothing_online_cannot_roll_back_or_be_served() {
    let h = start(1000).await;
    let mnp = h.mini_program("empty").await;
    let v1 = h.version(&mnp, "1.0.0").await;
    h.fails(
        "RollbackMNPVersion",
        json!({"MNPId": mnp, "MNPVersionId": v1, "MNPVersion": "1.0.0", "PlatformId": PLATFORM}),
        "FailedOperation.MNPOnlineVersionNotExist",
    )
    .await;
    h.fails(
        "DescribeMNPOfflinePackageURL",
        json!({"MNPId": mnp, "PlatformId": PLATFORM}),
        "FailedOperation.MNPOnlineVersionNotExist",
    )
    .await;
}

#[tokio::test]
async fn concurrent_releases_and_submits_have_one_winner() {
    let h = start(1000).await;
    let apps = vec![application(&h, "superapp").await];
    let mnp = h.mini_program("race").await;
    let v1 = h.version(&mnp, "1.0.0").await;
    let submit_v1 = json!({"MNPVersionId": v1, "ApplyAction": "submit", "PlatformId": PLATFORM});
    let results =
        futures::future::join_all((0..6).map(|_| h.call("CreateMNPApproval", submit_v1.clone())))
            .await;
    let won = results.iter().filter(|r| code(r).is_empty()).count();
    assert_eq!(won, 1, "{results:?}");
    assert!(results
        .iter()
        .all(|r| code(r).is_empty() || code(r) == "FailedOperation.ExistMNPApprovalRecord"));
    let list = h
        .ok(
            "DescribeMNPApprovalList",
            json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM}),
        )
        .await;
    let no = list["Data"]["DataList"][0]["ApprovalNo"]
        .as_str()
        .unwrap()
        .to_string();
    approve_all(&h, &no, &apps).await;
    let results =
        futures::future::join_all((0..6).map(|_| h.call("ReleaseMNPVersion", release(v1)))).await;
    assert_eq!(
        results.iter().filter(|r| code(r).is_empty()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .all(|r| code(r).is_empty() || code(r) == "FailedOperation.MNPVersionReleased"));
    let history = h
        .ok(
            "DescribeMNPReleasedVersionHistory",
            json!({"MNPId": mnp, "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(history["Data"]["TotalCount"], 1);
}

#[tokio::test]
async fn offline_package_is_signed_streamed_and_cached() {
    let h = start(1000).await;
    let apps = vec![application(&h, "superapp").await];
    let mnp = h.mini_program("served").await;
    let v1 = approved_version(&h, &mnp, "1.0.0", &apps).await;
    h.ok("ReleaseMNPVersion", release(v1)).await;
    let r = h
        .ok(
            "DescribeMNPOfflinePackageURL",
            json!({"MNPId": mnp, "PlatformId": PLATFORM}),
        )
        .await;
    let url = r["Data"]["Data"].as_str().unwrap().to_string();
    let same = h
        .ok(
            "DescribeOfflineMNPPackage",
            json!({"MNPId": mnp, "PlatformId": PLATFORM}),
        )
        .await;
    assert!(same["Data"]["Data"]
        .as_str()
        .unwrap()
        .contains("/packages/"));

    let client = reqwest::Client::new();
    let package = good_package();
    let etag = format!("\"{}\"", hex::encode(Sha256::digest(&package)));
    let whole = client.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["etag"], etag.as_str());
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(
        whole.bytes().await.unwrap().to_vec(),
        package,
        "bytes served = bytes ingested"
    );

    let cached = client
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    let part = client
        .get(&url)
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 10-19/{}", package.len()).as_str()
    );
    assert_eq!(
        part.bytes().await.unwrap().to_vec(),
        package[10..20].to_vec()
    );
    let beyond = client
        .get(&url)
        .header("Range", format!("bytes={}-", package.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), 416);

    let tampered = url.replace("signature=", "signature=00");
    assert_eq!(client.get(&tampered).send().await.unwrap().status(), 403);
    let expired = {
        let (base, _) = url.split_once("?expires=").unwrap();
        let sig = url.split("signature=").nth(1).unwrap();
        format!("{base}?expires=1&signature={sig}")
    };
    assert_eq!(client.get(&expired).send().await.unwrap().status(), 403);
    let unsigned = url.split('?').next().unwrap().to_string();
    assert_eq!(client.get(&unsigned).send().await.unwrap().status(), 403);

    // Removed: nothing of it is served any more.
    h.ok("RemoveMNP", json!({"MNPId": mnp, "PlatformId": PLATFORM}))
        .await;
    assert_eq!(client.get(&url).send().await.unwrap().status(), 404);
    let list = h
        .ok(
            "DescribeMNPList",
            json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(
        list["Data"]["DataList"][0]["EffectStatus"], 1,
        "online but out of service"
    );
    h.fails(
        "DescribeMNPOfflinePackageURL",
        json!({"MNPId": mnp, "PlatformId": PLATFORM}),
        "FailedOperation.MNPOnlineVersionNotExist",
    )
    .await;
}

fn decode_qr(png: &[u8]) -> String {
    let img = image::load_from_memory(png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the PNG");
    grids[0].decode().unwrap().1
}

#[tokio::test]
async fn preview_qr_code_opens_the_version_at_its_path() {
    let h = start(1000).await;
    let mnp = h.mini_program("preview").await;
    let v1 = h.version(&mnp, "1.0.0").await;
    let v2 = h.version(&mnp, "1.0.1").await;
    let configure = |id: i64, action: i64, path: &str| json!({"MNPId": mnp, "ActionType": action, "MNPVersionId": id, "PlatformId": PLATFORM, "PreivewEntrancePath": path});
    let msg = h
        .fails(
            "ConfigureMNPPreview",
            configure(v1, 1, "pages/nope/nope"),
            "InvalidParameterValue",
        )
        .await;
    assert!(msg.contains("pages/logs/logs"), "lists the pages: {msg}");
    h.fails(
        "ConfigureMNPPreview",
        configure(v1, 3, "pages/logs/logs"),
        "InvalidParameterValue",
    )
    .await;
    h.ok(
        "ConfigureMNPPreview",
        configure(v1, 1, "pages/logs/logs?from=qr"),
    )
    .await;
    h.fails(
        "ConfigureMNPPreview",
        configure(v2, 1, "pages/index/index"),
        "FailedOperation.ShowcaseVersionAlreadyExist",
    )
    .await;
    let described = h
        .ok(
            "DescribeMNPPreview",
            json!({"MNPId": mnp, "MNPVersionId": v1, "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(
        described["Data"]["PreviewEntrancePath"],
        "pages/logs/logs?from=qr"
    );
    assert_eq!(described["Data"]["MNPVersion"], "1.0.0");
    let qr_url = described["Data"]["QRCodeUrl"].as_str().unwrap().to_string();
    let png = reqwest::get(&qr_url).await.unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    let content = decode_qr(&png.bytes().await.unwrap());
    assert!(
        content.starts_with(&format!("http://{}/open/{mnp}?", h.host)),
        "{content}"
    );
    assert!(content.contains(&format!("version_id={v1}")), "{content}");
    assert!(
        content.contains("path=pages%2Flogs%2Flogs%3Ffrom%3Dqr"),
        "{content}"
    );
    let landing: Value = reqwest::get(&content).await.unwrap().json().await.unwrap();
    assert_eq!(landing["Path"], "pages/logs/logs?from=qr");

    assert_eq!(
        stage(&h, &mnp, "Develop").await.unwrap()["ShowCase"],
        0,
        "1.0.1 is not the preview"
    );

    // The trial version is the same machine with its own slot.
    h.ok(
        "ModifyMNPVersionPreview",
        json!({"MNPId": mnp, "ActionType": 1, "MNPVersionId": v2, "PlatformId": PLATFORM, "TestEntrancePath": "pages/index/index"}),
    )
    .await;
    let trial = h
        .ok(
            "DescribeMNPVersionPreview",
            json!({"MNPId": mnp, "MNPVersionId": v2, "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(trial["Data"]["TestEntrancePath"], "pages/index/index");
    assert!(trial["Data"]["AppList"].is_array());
    assert_eq!(stage(&h, &mnp, "Develop").await.unwrap()["ShowCase"], 1);

    h.ok("ConfigureMNPPreview", configure(v1, 2, "")).await;
    h.fails(
        "DescribeMNPPreview",
        json!({"MNPId": mnp, "MNPVersionId": v1, "PlatformId": PLATFORM}),
        "InvalidParameterValue",
    )
    .await;
    assert_eq!(reqwest::get(&qr_url).await.unwrap().status(), 404);
    h.ok("ConfigureMNPPreview", configure(v2, 1, "pages/index/index"))
        .await;
}
