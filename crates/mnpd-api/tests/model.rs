//! The generated tables agree with the spec.

use std::collections::BTreeSet;
use std::path::Path;

use mnpd_api::{model, object_schema, Action, ErrorCode, FieldType, ALL_ERROR_CODES, OBJECT_NAMES};
use serde_json::{json, Value};

fn spec() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/tcmpp-2024-08-01.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn actions_match_the_spec() {
    let spec = spec();
    let actions = spec["actions"].as_object().unwrap();
    assert_eq!(Action::ALL.len(), 104);
    assert_eq!(actions.len(), Action::ALL.len());
    for (i, action) in Action::ALL.iter().enumerate() {
        assert_eq!(*action as usize, i);
        let entry = &actions[action.name()];
        assert_eq!(action.input(), entry["input"], "{action}");
        assert_eq!(action.output(), entry["output"], "{action}");
        assert_eq!(Action::from_name(action.name()), Some(*action));
        assert_eq!(format!("{action:?}"), action.name());
        assert_eq!(action.to_string(), action.name());
    }
    assert_eq!(
        Action::from_name("DescribeMNPList"),
        Some(Action::DescribeMNPList)
    );
    assert_eq!(Action::from_name("describemnplist"), None);
    assert_eq!(Action::from_name("DescribeMnpList"), None);
    assert_eq!(Action::from_name(""), None);
    assert_eq!(Action::from_name("DescribeMNPList "), None);
}

#[test]
fn visit_dispatches_to_the_request_type_of_the_action() {
    struct ActionOf;
    impl mnpd_api::ActionVisitor for ActionOf {
        type Output = Action;
        fn visit<R: mnpd_api::ApiRequest>(self) -> Action {
            R::ACTION
        }
    }
    for action in Action::ALL {
        assert_eq!(action.visit(ActionOf), action);
    }
}

/// `ty` in the spec's terms: `(type, member)`.
fn spec_terms(ty: &FieldType) -> (String, String) {
    let member = |ty: &FieldType| match ty {
        FieldType::String => "string".to_string(),
        FieldType::Int => "int64".to_string(),
        FieldType::UInt => "uint64".to_string(),
        FieldType::Bool => "bool".to_string(),
        FieldType::Float => "float".to_string(),
        FieldType::Object(name) => name.to_string(),
        FieldType::List(_) => panic!("lists of lists are not in the spec"),
    };
    match ty {
        FieldType::String => ("string".into(), member(ty)),
        FieldType::Int | FieldType::UInt => ("int".into(), member(ty)),
        FieldType::Bool => ("bool".into(), member(ty)),
        FieldType::Float => ("float".into(), member(ty)),
        FieldType::Object(_) => ("object".into(), member(ty)),
        FieldType::List(element) => ("list".into(), member(element)),
    }
}

#[test]
fn object_schemas_match_the_spec() {
    let spec = spec();
    let objects = spec["objects"].as_object().unwrap();
    assert_eq!(OBJECT_NAMES.len(), 296);
    assert_eq!(objects.len(), OBJECT_NAMES.len());
    for (name, fields) in objects {
        let schema = object_schema(name).unwrap_or_else(|| panic!("no schema for {name}"));
        let fields = fields.as_array().unwrap();
        assert_eq!(schema.len(), fields.len(), "{name}");
        for (s, f) in schema.iter().zip(fields) {
            assert_eq!(s.name, f["name"], "{name}");
            // The one field the spec requires but its own ModifyMNPDomain
            // example leaves out is optional (the codegen's OPTIONAL_IN_EXAMPLES).
            let relaxed = (name.as_str(), s.name) == ("CreateDomainParam", "DomainUrlList");
            assert_eq!(
                s.required,
                f["required"].as_bool().unwrap_or(false) && !relaxed,
                "{name}.{}",
                s.name
            );
            let (ty, member) = spec_terms(&s.ty);
            assert_eq!(
                (f["type"].as_str(), f["member"].as_str()),
                (Some(&*ty), Some(&*member))
            );
        }
    }
    assert!(object_schema("addteammemberrequest").is_none());
    assert!(object_schema("").is_none());
}

#[test]
fn error_codes_cover_the_spec_and_the_common_codes() {
    let spec = spec();
    let mut expected: BTreeSet<&str> = spec["errorCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    expected.extend(mnpd_codegen::COMMON_ERROR_CODES.iter().copied());
    let actual: BTreeSet<&str> = ALL_ERROR_CODES.iter().map(|c| c.as_str()).collect();
    assert_eq!(actual, expected);
    assert_eq!(ALL_ERROR_CODES.len(), actual.len(), "no duplicates");
    assert_eq!(ErrorCode::ALL, ALL_ERROR_CODES);
    for code in ALL_ERROR_CODES {
        assert_eq!(ErrorCode::from_code(code.as_str()), Some(code));
        assert_eq!(format!("{code:?}"), code.as_str().replace('.', ""));
        assert_eq!(code.to_string(), code.as_str());
    }
    assert_eq!(
        ErrorCode::InvalidParameterValueInvalidMNPId.as_str(),
        "InvalidParameterValue.InvalidMNPId"
    );
    assert_eq!(
        ErrorCode::from_code("AuthFailure.SignatureFailure"),
        Some(ErrorCode::AuthFailureSignatureFailure)
    );
    assert_eq!(ErrorCode::from_code("authfailure"), None);
    assert_eq!(ErrorCode::from_code("InvalidParameterValue."), None);
}

#[test]
fn absent_optional_fields_serialise_as_null() {
    let response = model::CreateTeamResponse::default();
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"RequestId": null})
    );
    let info = model::BooleanInfo { result: Some(true) };
    let response = model::AddTeamMemberResponse {
        data: Some(info),
        request_id: Some("r".into()),
    };
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"Data": {"Result": true}, "RequestId": "r"})
    );
    // Missing optional fields deserialise as None.
    let response: model::AddTeamMemberResponse = serde_json::from_value(json!({})).unwrap();
    assert_eq!(response, model::AddTeamMemberResponse::default());
}

#[test]
fn required_fields_are_plain_and_others_optional() {
    let request = model::CreateTeamRequest {
        platform_id: Some("p".into()),
        team_name: "t".into(),
        admin_user_id: "u".into(),
        team_role_type_list: vec![1, 2],
        ..Default::default()
    };
    let value = serde_json::to_value(&request).unwrap();
    assert_eq!(value["TeamRoleTypeList"], json!([1, 2]));
    let info = model::ApplicationInfo {
        application_type: Some(u64::MAX),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&info).unwrap()["ApplicationType"],
        json!(u64::MAX)
    );
}
