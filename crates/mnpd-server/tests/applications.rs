//! Host applications, mini program management and categories over HTTP:
//! every action's happy path and each refusal by its real trigger.

mod common;

use std::sync::Arc;

use common::*;
use mnpd_domain::admin::Admin;
use mnpd_domain::clock::SystemClock;
use serde_json::{json, Value};

const OTHER_PLATFORM: &str = "TAPPSOTHERPLATFORM";

async fn default_team(h: &Harness) -> String {
    h.meta
        .default_team(PLATFORM)
        .await
        .unwrap()
        .unwrap()
        .team_id
}

/// A second platform of the same account; returns its default team.
async fn other_platform(h: &Harness) -> String {
    let (_, team) = Admin::new(h.meta.clone(), Arc::new(SystemClock))
        .create_platform(SID, Some(OTHER_PLATFORM), None, None)
        .await
        .unwrap();
    team.team_id
}

fn new_app(name: &str, team: &str) -> Value {
    json!({"ApplicationName": name, "Logo": "https://cdn.example.com/logo.png",
           "PlatformId": PLATFORM, "TeamId": team, "ApplicationType": 1,
           "Intro": "a superapp", "AndroidAppKey": "com.example.app",
           "IosAppKey": "com.example.ios", "Remark": "first"})
}

fn with(mut v: Value, field: &str, value: Value) -> Value {
    v[field] = value;
    v
}

async fn application(h: &Harness, name: &str) -> String {
    let team = default_team(h).await;
    let r = h.ok("CreateApplication", new_app(name, &team)).await;
    r["Data"]["ResourceId"].as_str().unwrap().to_string()
}

fn app_ref(id: &str) -> Value {
    json!({"ApplicationId": id, "PlatformId": PLATFORM})
}

fn mnp_ref(id: &str) -> Value {
    json!({"MNPId": id, "PlatformId": PLATFORM})
}

#[tokio::test]
async fn application_from_creation_to_deletion() {
    let h = start(100).await;
    let team = default_team(&h).await;
    let second_team = Admin::new(h.meta.clone(), Arc::new(SystemClock))
        .create_team(PLATFORM, Some("second"))
        .await
        .unwrap();

    let r = h
        .ok("CreateApplication", new_app("  Super App  ", &team))
        .await;
    let id = r["Data"]["ResourceId"].as_str().unwrap().to_string();
    assert!(
        id.len() == 14
            && id.starts_with("app-")
            && id[4..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{id}"
    );
    let other = h
        .ok(
            "CreateApplication",
            with(
                new_app("Other", &second_team.team_id),
                "ApplicationType",
                json!(2),
            ),
        )
        .await["Data"]["ResourceId"]
        .as_str()
        .unwrap()
        .to_string();

    let list = h
        .ok(
            "DescribeApplicationList",
            json!({"Offset": 0, "Limit": 20, "PlatformId": PLATFORM, "Keyword": "", "TeamId": ""}),
        )
        .await;
    assert_eq!(list["Data"]["TotalCount"], 2);
    let rows = list["Data"]["DataList"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let row = rows
        .iter()
        .find(|r| r["ApplicationID"] == id.as_str())
        .unwrap();
    assert_eq!(row["ApplicationName"], "Super App", "trimmed");
    assert_eq!(row["Logo"], "https://cdn.example.com/logo.png");
    assert_eq!(row["Intro"], "a superapp");
    assert_eq!(row["Remark"], "first");
    assert_eq!(row["AndroidAppKey"], "com.example.app");
    assert_eq!(row["IosAppKey"], "com.example.ios");
    assert_eq!(row["ApplicationType"], 1);
    assert_eq!(row["TeamId"], team.as_str());
    assert_eq!(row["TeamName"], "default");
    // The key that created it, by SecretId (docs/architecture.md).
    assert_eq!(row["CreateUser"], SID);
    assert!(row["AppIdentityID"].is_i64());
    let created: i64 = row["CreateTime"].as_str().unwrap().parse().unwrap();
    assert!(created > 1_600_000_000);
    assert_eq!(row["UpdateTime"], row["CreateTime"]);

    let by_keyword = h
        .ok(
            "DescribeApplicationList",
            json!({"Offset": 0, "Limit": 20, "PlatformId": PLATFORM, "Keyword": "super"}),
        )
        .await;
    assert_eq!(by_keyword["Data"]["TotalCount"], 1);
    let by_team = h
        .ok(
            "DescribeApplicationList",
            json!({"Offset": 0, "Limit": 20, "PlatformId": PLATFORM, "TeamId": second_team.team_id}),
        )
        .await;
    assert_eq!(
        by_team["Data"]["DataList"][0]["ApplicationID"],
        other.as_str()
    );
    assert_eq!(by_team["Data"]["DataList"][0]["TeamName"], "second");
    let page = h
        .ok(
            "DescribeApplicationList",
            json!({"Offset": 1, "Limit": 1, "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(page["Data"]["TotalCount"], 2);
    assert_eq!(page["Data"]["DataList"].as_array().unwrap().len(), 1);

    let detail = h.ok("DescribeApplication", app_ref(&id)).await["Data"].clone();
    assert_eq!(detail["ApplicationID"], id.as_str());
    assert_eq!(detail["ApplicationName"], "Super App");
    assert_eq!(detail["ApplicationType"], 1);
    assert_eq!(detail["TeamName"], "default");
    assert_eq!(detail["BindMNPCount"], 0);
    assert_eq!(detail["BindMNPList"], json!([]));
    assert!(detail["CreateTime"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .is_ok());

    // Optional fields left out keep their value; sent empty they clear it.
    let r = h
        .ok(
            "ModifyApplication",
            json!({"ApplicationId": id, "ApplicationName": "Renamed", "Intro": "new intro",
                   "Logo": "http://cdn.example.com/new.png", "PlatformId": PLATFORM,
                   "Remark": ""}),
        )
        .await;
    assert_eq!(r["Data"], json!({"Result": true}));
    let detail = h.ok("DescribeApplication", app_ref(&id)).await["Data"].clone();
    assert_eq!(detail["ApplicationName"], "Renamed");
    assert_eq!(detail["Intro"], "new intro");
    assert_eq!(detail["Logo"], "http://cdn.example.com/new.png");
    assert_eq!(detail["Remark"], "");
    assert_eq!(detail["AndroidAppKey"], "com.example.app");
    assert_eq!(detail["IosAppKey"], "com.example.ios");
    assert_eq!(
        detail["ApplicationType"], 1,
        "ModifyApplication does not change the type"
    );
    // Renaming to its own name is no clash.
    h.ok(
        "ModifyApplication",
        json!({"ApplicationId": id, "ApplicationName": "Renamed", "Intro": "new intro",
               "Logo": "http://cdn.example.com/new.png", "PlatformId": PLATFORM,
               "AndroidAppKey": ""}),
    )
    .await;
    assert_eq!(
        h.ok("DescribeApplication", app_ref(&id)).await["Data"]["AndroidAppKey"],
        ""
    );

    let r = h.ok("DeleteApplication", app_ref(&id)).await;
    assert_eq!(r["Data"], json!({"Result": true}));
    h.fails(
        "DescribeApplication",
        app_ref(&id),
        "InvalidParameterValue.InvalidApplicationId",
    )
    .await;
    h.fails(
        "DeleteApplication",
        app_ref(&id),
        "InvalidParameterValue.InvalidApplicationId",
    )
    .await;
    // The name is free again.
    h.ok("CreateApplication", new_app("Renamed", &team)).await;
}

#[tokio::test]
async fn application_refusals() {
    let h = start(100).await;
    let team = default_team(&h).await;
    let other_team = other_platform(&h).await;
    let existing = application(&h, "Existing").await;
    application(&h, "Taken").await;
    let create = |field: &str, value: Value| with(new_app("Fresh", &team), field, value);
    let modify = |field: &str, value: Value| {
        with(
            json!({"ApplicationId": existing, "ApplicationName": "Existing", "Intro": "i",
                   "Logo": "https://h/l.png", "PlatformId": PLATFORM}),
            field,
            value,
        )
    };

    for name in [json!(""), json!("   "), json!("a".repeat(31))] {
        let m = h
            .fails(
                "CreateApplication",
                create("ApplicationName", name.clone()),
                "InvalidParameterValue.InvalidApplicationName",
            )
            .await;
        assert!(m.contains("ApplicationName"), "{m}");
        h.fails(
            "ModifyApplication",
            modify("ApplicationName", name),
            "InvalidParameterValue.InvalidApplicationName",
        )
        .await;
    }
    h.ok(
        "CreateApplication",
        create("ApplicationName", json!("应".repeat(30))),
    )
    .await;

    for intro in [json!(""), json!("i".repeat(201))] {
        h.fails(
            "CreateApplication",
            create("Intro", intro.clone()),
            "InvalidParameterValue.InvalidApplicationIntro",
        )
        .await;
        h.fails(
            "ModifyApplication",
            modify("Intro", intro),
            "InvalidParameterValue.InvalidApplicationIntro",
        )
        .await;
    }
    h.fails(
        "CreateApplication",
        create("Remark", json!("r".repeat(201))),
        "InvalidParameterValue.InvalidApplicationRemark",
    )
    .await;
    h.fails(
        "ModifyApplication",
        modify("Remark", json!("r".repeat(201))),
        "InvalidParameterValue.InvalidApplicationRemark",
    )
    .await;

    let m = h
        .fails(
            "CreateApplication",
            create("ApplicationName", json!("Taken")),
            "FailedOperation.ApplicationNameAlreadyExisted",
        )
        .await;
    assert!(m.contains("Taken"), "{m}");
    h.fails(
        "ModifyApplication",
        modify("ApplicationName", json!("Taken")),
        "FailedOperation.ApplicationNameAlreadyExisted",
    )
    .await;

    for t in [json!(""), json!("9999999999"), json!(other_team)] {
        let m = h
            .fails(
                "CreateApplication",
                create("TeamId", t),
                "InvalidParameterValue.InvalidTeamId",
            )
            .await;
        assert!(m.contains("TeamId"), "{m}");
    }
    // TeamId is required by the schema.
    let mut no_team = new_app("Fresh", &team);
    no_team.as_object_mut().unwrap().remove("TeamId");
    h.fails(
        "CreateApplication",
        no_team,
        "InvalidParameterValue.ExistMismatchParameterType",
    )
    .await;

    for (field, key) in [
        ("AndroidAppKey", "not a package"),
        ("IosAppKey", "com."),
        ("AndroidAppKey", "example"),
    ] {
        let m = h
            .fails(
                "CreateApplication",
                create(field, json!(key)),
                "InvalidParameterValue.InvalidAppPackageNameLayout",
            )
            .await;
        assert!(m.contains(field) && m.contains("com.example.app"), "{m}");
        h.fails(
            "ModifyApplication",
            modify(field, json!(key)),
            "InvalidParameterValue.InvalidAppPackageNameLayout",
        )
        .await;
    }

    for t in [0, 3] {
        let m = h
            .fails(
                "CreateApplication",
                create("ApplicationType", json!(t)),
                "InvalidParameterValue",
            )
            .await;
        assert!(m.contains("1 (test) or 2 (formal)"), "{m}");
    }
    for logo in ["", "ftp://h/l.png", "logo.png", "https://"] {
        let m = h
            .fails(
                "CreateApplication",
                create("Logo", json!(logo)),
                "InvalidParameterValue",
            )
            .await;
        assert!(m.contains("Logo"), "{m}");
        h.fails(
            "ModifyApplication",
            modify("Logo", json!(logo)),
            "InvalidParameterValue",
        )
        .await;
    }

    // Unknown, and another platform's, applications.
    let mut theirs = new_app("Theirs", &other_team);
    theirs["PlatformId"] = json!(OTHER_PLATFORM);
    let theirs = h.ok("CreateApplication", theirs).await["Data"]["ResourceId"]
        .as_str()
        .unwrap()
        .to_string();
    for id in ["app-0000000000", theirs.as_str()] {
        for action in ["DescribeApplication", "DeleteApplication"] {
            let m = h
                .fails(
                    action,
                    app_ref(id),
                    "InvalidParameterValue.InvalidApplicationId",
                )
                .await;
            assert!(m.contains(id), "{m}");
        }
        h.fails(
            "ModifyApplication",
            modify("ApplicationId", json!(id)),
            "InvalidParameterValue.InvalidApplicationId",
        )
        .await;
    }

    // Platforms of nobody.
    h.fails(
        "CreateApplication",
        create("PlatformId", json!("TNOTMINE")),
        "InvalidParameterValue.InvalidPlatformId",
    )
    .await;
    for action in ["DescribeApplication", "DeleteApplication"] {
        h.fails(
            action,
            json!({"ApplicationId": existing, "PlatformId": "TNOTMINE"}),
            "InvalidParameterValue.InvalidPlatformId",
        )
        .await;
    }
    h.fails(
        "DescribeApplicationList",
        json!({"Offset": 0, "Limit": 10, "PlatformId": "TNOTMINE"}),
        "InvalidParameterValue.InvalidPlatformId",
    )
    .await;
    h.fails(
        "DescribeApplicationList",
        json!({"Offset": 0, "Limit": 0, "PlatformId": PLATFORM}),
        "InvalidParameterValue",
    )
    .await;
}

#[tokio::test]
async fn an_application_in_an_approval_is_not_deleted() {
    let h = start(100).await;
    let app = application(&h, "superapp").await;
    let mnp = h.mini_program("approved").await;
    let version_id = h.version(&mnp, "1.0.0").await;
    h.ok(
        "CreateMNPApproval",
        json!({"MNPVersionId": version_id, "ApplyAction": "submit", "PlatformId": PLATFORM}),
    )
    .await;
    let later = application(&h, "later").await;
    let m = h
        .fails(
            "DeleteApplication",
            app_ref(&app),
            "FailedOperation.AppAlreadyBindMiniProgram",
        )
        .await;
    assert!(m.contains(&app), "{m}");
    h.ok("DescribeApplication", app_ref(&app)).await;
    // One created after the approval is not part of it.
    h.ok("DeleteApplication", app_ref(&later)).await;
}

#[tokio::test]
async fn mini_programs_are_modified_described_and_listed() {
    let h = start(100).await;
    let mnp = h.mini_program("shop").await;
    h.mini_program("taken").await;
    let modify = |over: Value| {
        let mut v = json!({"MNPId": mnp, "PlatformId": PLATFORM, "MNPName": "shop 2",
                           "MNPType": "logistics services->Pickup/Delivery, Life Service->144_Lilliputian Services",
                           "MNPIntro": "new intro", "MNPDesc": "new desc"});
        for (k, val) in over.as_object().unwrap() {
            v[k] = val.clone();
        }
        v
    };

    let r = h.ok("ModifyMNP", modify(json!({}))).await;
    let number = r["Data"]["ResourceId"]
        .as_i64()
        .expect("an integer ResourceId");
    let again = h
        .ok(
            "ModifyMNP",
            modify(json!({"MNPIcon": "https://cdn.example.com/new.png"})),
        )
        .await;
    assert_eq!(again["Data"]["ResourceId"], number, "stable");

    for action in ["DescribeMNP", "DescribeMNPManagerDetail"] {
        let d = h.ok(action, mnp_ref(&mnp)).await["Data"].clone();
        assert_eq!(d["MNPId"], mnp.as_str());
        assert_eq!(d["MNPName"], "shop 2");
        assert_eq!(
            d["MNPType"],
            "Logistics Services->1_Pickup/Delivery,Life Service->144_Lilliputian Services",
            "stored in its canonical spelling"
        );
        assert_eq!(d["MNPIcon"], "https://cdn.example.com/new.png");
        assert_eq!(d["MNPIntro"], "new intro");
        assert_eq!(d["MNPDesc"], "new desc");
        assert_eq!(d["CreateUser"], SID);
        assert!(d["CreateTime"].as_str().unwrap().parse::<i64>().unwrap() > 1_600_000_000);
        assert_eq!(d["AccessStatus"], 1);
        assert_eq!(d["Status"], 0);
        assert_eq!(d["TeamName"], "default");
        assert_eq!(d["TeamId"], default_team(&h).await.as_str());
    }
    // Left out, the icon stays.
    h.ok("ModifyMNP", modify(json!({}))).await;
    let d = h.ok("DescribeMNPDetail", mnp_ref(&mnp)).await;
    assert_eq!(d["Data"]["MNPIcon"], "https://cdn.example.com/new.png");

    let list = h
        .ok(
            "DescribeMNPManagerList",
            json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM, "Keyword": "shop", "TeamId": ""}),
        )
        .await;
    assert_eq!(list["Data"]["TotalCount"], 1);
    assert_eq!(
        list["Data"]["DataList"][0],
        json!({"MNPId": mnp, "MNPIcon": "https://cdn.example.com/new.png", "MNPName": "shop 2",
               "TeamName": "default", "AccessStatus": 1, "Status": 0})
    );
    let all = h
        .ok(
            "DescribeMNPManagerList",
            json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(all["Data"]["TotalCount"], 2);

    // Refusals, each by its trigger.
    let cases = [
        (
            json!({"MNPId": "mp0000000000zzzz"}),
            "InvalidParameterValue.InvalidMNPId",
        ),
        (
            json!({"MNPName": "taken"}),
            "InvalidParameterValue.MiniProgramNameAlreadyExist",
        ),
        (
            json!({"MNPName": " "}),
            "InvalidParameterValue.InvalidMNPName",
        ),
        (
            json!({"MNPName": "n".repeat(31)}),
            "InvalidParameterValue.InvalidMNPName",
        ),
        (
            json!({"MNPType": "Tools"}),
            "InvalidParameterValue.InvalidMNPType",
        ),
        (
            json!({"MNPType": ""}),
            "InvalidParameterValue.InvalidMNPType",
        ),
        (
            json!({"MNPIcon": "ftp://h/i.png"}),
            "InvalidParameterValue.InvalidMNPIcon",
        ),
        (
            json!({"MNPIntro": ""}),
            "InvalidParameterValue.InvalidMNPIntro",
        ),
        (
            json!({"MNPDesc": "d".repeat(2001)}),
            "InvalidParameterValue",
        ),
        (
            json!({"PlatformId": "TNOTMINE"}),
            "InvalidParameterValue.InvalidPlatformId",
        ),
        (
            json!({"MNPType": "Tools->90_Information Query,Tools->91_Office and Efficiency,Tools->92_Calendar and Reminders,Tools->93_Weather,Tools->94_Calculators and Converters,Tools->95_File Management"}),
            "InvalidParameterValue.MNPTypeNumberExceedLimit",
        ),
    ];
    for (over, want) in cases {
        h.fails("ModifyMNP", modify(over), want).await;
    }
    for action in ["DescribeMNP", "DescribeMNPManagerDetail"] {
        h.fails(
            action,
            mnp_ref("mp0000000000zzzz"),
            "InvalidParameterValue.InvalidMNPId",
        )
        .await;
    }
    h.fails(
        "DescribeMNPManagerList",
        json!({"Offset": -1, "Limit": 10, "PlatformId": PLATFORM}),
        "InvalidParameterValue",
    )
    .await;
    // Unchanged by the refusals.
    let d = h.ok("DescribeMNP", mnp_ref(&mnp)).await;
    assert_eq!(d["Data"]["MNPName"], "shop 2");
}

#[tokio::test]
async fn mini_programs_are_taken_out_of_service_and_deleted() {
    let h = start(100).await;
    let removed = h.mini_program("removed").await;
    let offline = h.mini_program("offline").await;
    let deleted = h.mini_program("deleted").await;

    for (action, mnp) in [
        ("RemoveMNP", &removed),
        ("ModifyMNPStatusOffline", &offline),
    ] {
        let r = h.ok(action, mnp_ref(mnp)).await;
        assert_eq!(r["Data"], json!({"Result": true}));
        assert_eq!(h.ok("DescribeMNP", mnp_ref(mnp)).await["Data"]["Status"], 2);
        // Again is no error.
        h.ok(action, mnp_ref(mnp)).await;
        h.fails(
            action,
            mnp_ref("mp0000000000zzzz"),
            "InvalidParameterValue.InvalidMNPId",
        )
        .await;
    }
    // A removed mini program still takes versions.
    h.version(&removed, "1.0.0").await;

    let r = h
        .ok(
            "CreateMNPVersion",
            json!({"MNPId": deleted, "MNPVersion": "1.0.0", "FileUrl": format!("{}/good.zip", h.files),
                   "PlatformId": PLATFORM, "MNPVersionIntro": "first"}),
        )
        .await;
    let task = r["Data"]["TaskId"].as_str().unwrap().to_string();
    assert_eq!(h.wait_task(&task).await["TaskStatus"], 60);
    let r = h.ok("DeleteMNP", mnp_ref(&deleted)).await;
    assert_eq!(r["Data"], json!({"Result": true}));
    h.fails(
        "DescribeMNPDetail",
        mnp_ref(&deleted),
        "InvalidParameterValue.InvalidMNPId",
    )
    .await;
    h.fails(
        "DescribeMNPVersion",
        json!({"BusinessId": task, "PlatformId": PLATFORM}),
        "InvalidParameterValue.InvalidMNPVersionTaskId",
    )
    .await;
    h.fails(
        "DeleteMNP",
        mnp_ref(&deleted),
        "InvalidParameterValue.InvalidMNPId",
    )
    .await;
    let list = h
        .ok(
            "DescribeMNPList",
            json!({"Offset": 0, "Limit": 10, "PlatformId": PLATFORM}),
        )
        .await;
    assert_eq!(list["Data"]["TotalCount"], 2);
    // Its name is free again, and the others are untouched.
    h.mini_program("deleted").await;
    assert_eq!(
        h.ok("DescribeMNP", mnp_ref(&removed)).await["Data"]["Status"],
        2
    );
    h.fails(
        "DeleteMNP",
        json!({"MNPId": removed, "PlatformId": "TNOTMINE"}),
        "InvalidParameterValue.InvalidPlatformId",
    )
    .await;
}

#[tokio::test]
async fn categories_and_mnp_type() {
    let h = start(100).await;
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../spec/tcmpp-2024-08-01.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let example = &spec["examples"]["DescribeMNPCategory"][0]["response"]["Response"]["Data"];

    for action in ["DescribeMNPCategory", "DescribeMNPType"] {
        let r = h.ok(action, json!({"PlatformId": PLATFORM})).await;
        let tree = r["Data"].as_array().unwrap();
        assert!((10..=15).contains(&tree.len()), "{}", tree.len());
        for (got, want) in tree.iter().zip(example.as_array().unwrap()) {
            for field in ["TypeName", "TypeValue", "TypeId", "CreateUser", "IsSystem"] {
                assert_eq!(got[field], want[field], "{action} {field}");
            }
        }
        for c in tree {
            assert!(c["CreateTime"].is_i64());
            assert_eq!(c["IsSystem"], true);
        }
        let values_of = |name: &str| -> Vec<Value> {
            tree.iter()
                .find(|c| c["TypeName"] == name)
                .unwrap_or_else(|| panic!("no {name}"))["TypeValue"]
                .as_array()
                .unwrap()
                .clone()
        };
        assert!(values_of("Life Service").contains(&json!("144_Lilliputian Services")));
        assert!(values_of("Medical Service").contains(&json!("26_Public Medical Institutions")));
        h.fails(
            action,
            json!({"PlatformId": "TNOTMINE"}),
            "InvalidParameterValue.InvalidPlatformId",
        )
        .await;
    }

    let create = |name: &str, mnp_type: &str| {
        json!({"MNPType": mnp_type, "MNPName": name, "MNPIcon": "https://h/i.png",
               "MNPIntro": "intro", "MNPDesc": "desc", "PlatformId": PLATFORM})
    };
    for (i, (sent, stored)) in [
        (
            "Logistics Services->1_Pickup/Delivery,Life Service->144_Lilliputian Services",
            "Logistics Services->1_Pickup/Delivery,Life Service->144_Lilliputian Services",
        ),
        (
            "Medical Service -> Public Medical Institutions",
            "Medical Service->26_Public Medical Institutions",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let r = h.ok("CreateMNP", create(&format!("typed {i}"), sent)).await;
        let mnp = r["Data"]["ResourceId"].as_str().unwrap();
        assert_eq!(
            h.ok("DescribeMNPDetail", mnp_ref(mnp)).await["Data"]["MNPType"],
            stored
        );
    }
    for bad in [
        "Tools",
        "Life Service",
        "Life Service->145_Lilliputian Services",
        "Nowhere->1_Pickup/Delivery",
    ] {
        let m = h
            .fails(
                "CreateMNP",
                create("bad type", bad),
                "InvalidParameterValue.InvalidMNPType",
            )
            .await;
        assert!(m.contains("DescribeMNPCategory"), "{m}");
    }
}
