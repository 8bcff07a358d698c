//! The HTTP app in process, on a loopback port, driven with requests signed
//! by our own signer: the whole request path from socket to storage.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn version_from_url_to_success_and_failure() {
    let h = start(100).await;
    let mnp = h.mini_program("demo").await;
    let create = |version: &str, file: &str| {
        json!({"MNPId": mnp, "MNPVersion": version, "FileUrl": format!("{}/{file}", h.files),
               "PlatformId": PLATFORM, "MNPVersionIntro": "first cut"})
    };
    let r = h.ok("CreateMNPVersion", create("1.0.0", "good.zip")).await;
    let task = r["Data"]["TaskId"].as_str().unwrap().to_string();
    assert_eq!(task.len(), 19);
    let again = h.ok("CreateMNPVersion", create("1.0.0", "good.zip")).await;
    assert_eq!(
        again["Data"]["TaskId"],
        task.as_str(),
        "same request, same task"
    );
    let done = h.wait_task(&task).await;
    assert_eq!(done["TaskStatus"], 60);
    assert_eq!(done["TaskMsg"], "Success");
    assert_eq!(done["MNPId"], mnp.as_str());

    let r = h
        .call("CreateMNPVersion", create("1.0.0", "missing-page.zip"))
        .await;
    assert_eq!(code(&r), "InvalidParameterValue.InvalidMNPVersion");

    let r = h
        .ok("CreateMNPVersion", create("1.1.0", "missing-page.zip"))
        .await;
    let failed = h.wait_task(r["Data"]["TaskId"].as_str().unwrap()).await;
    assert_eq!(failed["TaskStatus"], 30);
    assert!(
        failed["TaskMsg"]
            .as_str()
            .unwrap()
            .contains("pages/gone/gone"),
        "{failed}"
    );
    // The failed number is free again.
    let r = h.ok("CreateMNPVersion", create("1.1.0", "good.zip")).await;
    assert_eq!(
        h.wait_task(r["Data"]["TaskId"].as_str().unwrap()).await["TaskStatus"],
        60
    );

    let r = h.call("CreateMNPVersion", create("2.0.0", "big.zip")).await;
    assert_eq!(code(&r), "InvalidParameterValue.MNPFileSizExceedLimit");
    let r = h
        .call("CreateMNPVersion", create("2.0.0", "nothing-here.zip"))
        .await;
    assert_eq!(code(&r), "FailedOperation.FileDownloadFailed");
    let r = h
        .call(
            "DescribeMNPVersion",
            json!({"BusinessId": "2024010100000000000", "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(code(&r), "InvalidParameterValue.InvalidMNPVersionTaskId");
}

#[tokio::test]
async fn mini_programs_are_listed_and_names_unique() {
    let h = start(100).await;
    let a = h.mini_program("alpha").await;
    h.mini_program("beta").await;
    let r = h
        .call(
            "CreateMNP",
            json!({"MNPType": MNP_TYPE, "MNPName": "alpha", "MNPIcon": "https://h/i.png",
                   "MNPIntro": "i", "MNPDesc": "d", "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(
        code(&r),
        "InvalidParameterValue.MiniProgramNameAlreadyExist"
    );
    let list = h
        .ok(
            "DescribeMNPList",
            json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM, "Keyword": "alp"}),
        )
        .await;
    assert_eq!(list["Data"]["TotalCount"], 1);
    assert_eq!(list["Data"]["DataList"][0]["MNPId"], a.as_str());
    assert!(list["Data"]["DataList"][0]["CreateTime"].is_string());
    let detail = h
        .ok(
            "DescribeMNPDetail",
            json!({"MNPId": a, "PlatformId": PLATFORM}),
        )
        .await;
    assert!(detail["Data"]["CreateTime"].is_i64());
    assert!(detail["Data"]["Tags"].is_null());
}

#[tokio::test]
async fn common_errors() {
    let h = start(100).await;
    let list = json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM});
    let cases = [
        (
            h.call_as(
                "wrong-key-wrong-key",
                "DescribeMNPList",
                "2024-08-01",
                now(),
                list.clone(),
            )
            .await,
            "AuthFailure.SignatureFailure",
        ),
        (
            h.call_as(
                SKEY,
                "DescribeMNPList",
                "2024-08-01",
                now() - 301,
                list.clone(),
            )
            .await,
            "AuthFailure.SignatureExpire",
        ),
        (
            h.call_as(SKEY, "DescribeMNPList", "2020-01-01", now(), list.clone())
                .await,
            "NoSuchVersion",
        ),
        (
            h.call_as(SKEY, "DescribeNothing", "2024-08-01", now(), list.clone())
                .await,
            "InvalidAction",
        ),
        (
            h.call(
                "DescribeMNPList",
                json!({"Offset": "0", "Limit": 10, "PlatformId": PLATFORM}),
            )
            .await,
            "InvalidParameterValue.ExistMismatchParameterType",
        ),
        (
            h.call(
                "DescribeMNPList",
                json!({"Limit": 10, "PlatformId": PLATFORM}),
            )
            .await,
            "InvalidParameterValue.ExistMismatchParameterType",
        ),
        (
            h.call(
                "DescribeMNPList",
                json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM, "Extra": 1}),
            )
            .await,
            "UnknownParameter",
        ),
        (
            h.call(
                "DescribeMNPList",
                json!({"Offset": 0, "Limit": 10, "PlatformId": "TNOTMINE"}),
            )
            .await,
            "InvalidParameterValue.InvalidPlatformId",
        ),
    ];
    for (r, want) in cases {
        assert_eq!(code(&r), want, "{r}");
        assert!(!r["Response"]["Error"]["Message"]
            .as_str()
            .unwrap()
            .is_empty());
        let rid = r["Response"]["RequestId"].as_str().unwrap();
        assert_eq!(rid.len(), 36, "RequestId is a UUID: {rid}");
    }

    // Unknown SecretId.
    let body = serde_json::to_vec(&list).unwrap();
    let headers = mnpd_wire::sign_tc3_post(
        "AKIDnobody",
        SKEY,
        &h.host,
        "DescribeMNPList",
        "2024-08-01",
        None,
        now(),
        &body,
    );
    assert_eq!(
        code(&h.raw(headers, body).await),
        "AuthFailure.SecretIdNotFound"
    );

    // A region not served.
    let body = serde_json::to_vec(&list).unwrap();
    let headers = mnpd_wire::sign_tc3_post(
        SID,
        SKEY,
        &h.host,
        "DescribeMNPList",
        "2024-08-01",
        Some("mars-north-1"),
        now(),
        &body,
    );
    assert_eq!(code(&h.raw(headers, body).await), "UnsupportedRegion");

    // A signed body that is not JSON.
    let body = b"{not json".to_vec();
    let headers = mnpd_wire::sign_tc3_post(
        SID,
        SKEY,
        &h.host,
        "DescribeMNPList",
        "2024-08-01",
        None,
        now(),
        &body,
    );
    assert_eq!(code(&h.raw(headers, body).await), "InvalidParameter");

    // Over the body limit (64 KiB in this harness).
    let body = vec![b' '; 65 * 1024];
    let headers = mnpd_wire::sign_tc3_post(
        SID,
        SKEY,
        &h.host,
        "DescribeMNPList",
        "2024-08-01",
        None,
        now(),
        &body,
    );
    assert_eq!(
        code(&h.raw(headers, body).await),
        "RequestSizeLimitExceeded"
    );

    // No action at all; a malformed Authorization.
    let r = h
        .raw(
            vec![("Content-Type".into(), "application/json".into())],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(code(&r), "MissingParameter");
    let r = h
        .raw(
            vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-TC-Action".into(), "DescribeMNPList".into()),
                ("X-TC-Version".into(), "2024-08-01".into()),
                ("X-TC-Timestamp".into(), now().to_string()),
                ("Authorization".into(), "TC3-HMAC-SHA256 garbage".into()),
            ],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(code(&r), "AuthFailure.InvalidAuthorization");
}

#[tokio::test]
async fn rate_limit_per_account_and_action() {
    let h = start(5).await;
    let list = json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM});
    let mut refused = 0;
    for _ in 0..12 {
        if code(&h.call("DescribeMNPList", list.clone()).await) == "RequestLimitExceeded" {
            refused += 1;
        }
    }
    assert!(refused >= 5, "only {refused} of 12 refused at 5/s");
    let other = h
        .call(
            "DescribeMNPDetail",
            json!({"MNPId": "mpaaaaaaaaaaaaaa", "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(
        code(&other),
        "InvalidParameterValue.InvalidMNPId",
        "another action has its own bucket"
    );
}

#[tokio::test]
async fn sealed_secret_keys_still_authenticate() {
    let cipher = mnpd_domain::secret::SecretCipher::from_config(&"ab".repeat(32)).unwrap();
    let h = start_with(100, Some(cipher)).await;
    let stored = h.meta.find_api_key(SID).await.unwrap().unwrap();
    assert!(
        mnpd_domain::secret::is_sealed(&stored.secret_key),
        "stored sealed"
    );
    assert!(!stored.secret_key.contains(SKEY));
    h.ok(
        "DescribeMNPList",
        json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM}),
    )
    .await;
    let wrong = h
        .call_as(
            "wrong-key-wrong-key",
            "DescribeMNPList",
            "2024-08-01",
            now(),
            json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(code(&wrong), "AuthFailure.SignatureFailure");
}
