//! Every example of the spec must fit the spec's own types: the request validates against its
//! action and decodes into the request struct, and the response (minus `RequestId`) validates
//! against the output object and deserialises into the response struct (and so its `Data`
//! into the `Data` type). Examples that contradict the spec are listed below by name; the test
//! also checks that they still fail, so the list cannot go stale.

use std::path::Path;

use mnpd_api::params::validate_object;
use mnpd_api::{decode, validate, Action, ActionVisitor, ApiRequest};
use serde_json::{Map, Value};

/// Request examples that do not fit the request schema, and why.
const BAD_REQUEST_EXAMPLES: &[(&str, &str)] = &[
    (
        "DescribeTempSecret4UploadFile2Cos",
        "the example request is a JSON string holding malformed JSON (`\"Suffix\": png`), not an object",
    ),
];

/// Response examples that do not fit the response schema, and why.
const BAD_RESPONSE_EXAMPLES: &[(&str, &str)] = &[(
    "CreateDomain",
    "`Data` is the integer 0, but `CreateDomainResponse.Data` is a `BooleanInfo` object",
)];

fn spec() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/tcmpp-2024-08-01.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// `value` without `null` members (the structs write every absent optional field as `null`).
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

struct CheckRequest<'a>(&'a Value);

impl ActionVisitor for CheckRequest<'_> {
    type Output = Result<(), String>;

    fn visit<R: ApiRequest>(self) -> Result<(), String> {
        let Value::Object(params) = self.0 else {
            return Err(format!("the request is not a JSON object: {}", self.0));
        };
        validate(R::ACTION, params).map_err(|e| format!("validate: {e}"))?;
        let request: R = decode(R::ACTION, params.clone()).map_err(|e| format!("decode: {e}"))?;
        let back = serde_json::to_value(&request).map_err(|e| format!("serialise: {e}"))?;
        if without_nulls(&back) != without_nulls(self.0) {
            return Err(format!("does not round-trip: {back}"));
        }
        Ok(())
    }
}

struct CheckResponse<'a>(&'a Map<String, Value>);

impl ActionVisitor for CheckResponse<'_> {
    type Output = Result<(), String>;

    fn visit<R: ApiRequest>(self) -> Result<(), String> {
        validate_object(R::ACTION.output(), self.0).map_err(|e| format!("validate: {e}"))?;
        let value = Value::Object(self.0.clone());
        let response: R::Response =
            serde_json::from_value(value.clone()).map_err(|e| format!("deserialise: {e}"))?;
        let back = serde_json::to_value(&response).map_err(|e| format!("serialise: {e}"))?;
        if without_nulls(&back) != without_nulls(&value) {
            return Err(format!("does not round-trip: {back}"));
        }
        if self.0.contains_key("Data") && back["Data"].is_null() != value["Data"].is_null() {
            return Err("`Data` was lost".to_string());
        }
        Ok(())
    }
}

#[test]
fn examples_fit_the_spec_types() {
    let spec = spec();
    let examples = spec["examples"].as_object().unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, list) in examples {
        let action = Action::from_name(name).unwrap_or_else(|| panic!("unknown action {name}"));
        let list = list.as_array().unwrap();
        assert!(!list.is_empty(), "{name} has no example");
        for (i, example) in list.iter().enumerate() {
            checked += 1;
            let request = action.visit(CheckRequest(&example["request"]));
            let known = BAD_REQUEST_EXAMPLES.iter().any(|(a, _)| a == name);
            match (request, known) {
                (Ok(()), false) | (Err(_), true) => {}
                (Err(e), false) => failures.push(format!("{name} example {i} request: {e}")),
                (Ok(()), true) => failures.push(format!(
                    "{name} example {i} request now fits; drop it from BAD_REQUEST_EXAMPLES"
                )),
            }

            let mut response = example["response"]["Response"]
                .as_object()
                .unwrap_or_else(|| panic!("{name} example {i} has no Response object"))
                .clone();
            assert!(
                response.remove("RequestId").is_some(),
                "{name}: no RequestId"
            );
            if response.contains_key("Error") {
                continue;
            }
            let result = action.visit(CheckResponse(&response));
            let known = BAD_RESPONSE_EXAMPLES.iter().any(|(a, _)| a == name);
            match (result, known) {
                (Ok(()), false) | (Err(_), true) => {}
                (Err(e), false) => failures.push(format!("{name} example {i} response: {e}")),
                (Ok(()), true) => failures.push(format!(
                    "{name} example {i} response now fits; drop it from BAD_RESPONSE_EXAMPLES"
                )),
            }
        }
    }
    assert_eq!(checked, 104, "every action has one example");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn known_bad_examples_fail_for_the_stated_reason() {
    let spec = spec();
    let example = |name: &str| spec["examples"][name][0].clone();

    let request = example("DescribeTempSecret4UploadFile2Cos")["request"].clone();
    assert!(request.is_string(), "{request}");
    assert!(serde_json::from_str::<Value>(request.as_str().unwrap()).is_err());

    // The codegen makes `CreateDomainParam.DomainUrlList` optional
    // (OPTIONAL_IN_EXAMPLES), so the public ModifyMNPDomain example decodes.
    let request = example("ModifyMNPDomain")["request"].clone();
    validate(Action::ModifyMNPDomain, request.as_object().unwrap()).unwrap();

    let mut response = example("CreateDomain")["response"]["Response"].clone();
    response.as_object_mut().unwrap().remove("RequestId");
    assert_eq!(response["Data"], 0);
    let err = validate_object("CreateDomainResponse", response.as_object().unwrap()).unwrap_err();
    assert_eq!(err.field(), "Data");
    assert!(
        matches!(err, mnpd_api::ParamError::WrongType { .. }),
        "{err:?}"
    );
}

/// Flattens a JSON request the way the Python SDK does for form-encoded requests.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        Value::Null => {}
        Value::Object(m) => m.iter().for_each(|(k, v)| flatten(&key(k), v, out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| flatten(&key(&i.to_string()), v, out)),
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

#[test]
fn flattened_examples_come_back_unchanged() {
    let spec = spec();
    for (name, list) in spec["examples"].as_object().unwrap() {
        let action = Action::from_name(name).unwrap();
        for example in list.as_array().unwrap() {
            let request = &example["request"];
            if !request.is_object() || BAD_REQUEST_EXAMPLES.iter().any(|(a, _)| a == name) {
                continue;
            }
            let mut flat = Vec::new();
            flatten("", request, &mut flat);
            // Empty lists vanish when flattened, as they do with the SDKs.
            let params = mnpd_api::from_flat(action, &flat)
                .unwrap_or_else(|e| panic!("{name}: from_flat: {e}"));
            let mut expected = without_nulls(request);
            expected
                .as_object_mut()
                .unwrap()
                .retain(|_, v| v.as_array().is_none_or(|a| !a.is_empty()));
            assert_eq!(Value::Object(params.clone()), expected, "{name}");
            validate(action, &params).unwrap_or_else(|e| panic!("{name}: validate: {e}"));
        }
    }
}
