//! Checking and decoding the parameters of a request against the schema of its action.
//!
//! A request reaches the server either as a JSON object (`Content-Type: application/json`,
//! TC3-HMAC-SHA256) or as flat form/query parameters (`HmacSHA1` / `HmacSHA256`, where nested
//! values are spelled `Name.0`, `Filters.0.Name`, ...). [`from_flat`] turns the latter into the
//! former, [`validate`] checks a JSON object against the request schema, and [`decode`] validates
//! and deserialises it into the request struct of [`crate::model`].
//!
//! The common parameters of TencentCloud API 3.0 (`Action`, `Version`, `Region`, `Timestamp`,
//! `Nonce`, `SecretId`, `Signature`, `SignatureMethod`, `Token`, `Language`, ...) are not part of
//! any request schema: strip them before calling these functions, or they are reported as
//! unknown.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use crate::{object_schema, Action, FieldSchema, FieldType};

/// How many objects and lists may be nested inside the request object.
pub const MAX_DEPTH: usize = 8;

/// Why the parameters of a request do not fit the action's schema. The `Display` text is meant
/// for API clients: it names the offending field (as a dotted path such as `Filters.0.Name`),
/// what was expected and what to send instead.
#[derive(Debug, thiserror::Error)]
pub enum ParamError {
    /// A required field is absent or `null`.
    #[error(
        "The required parameter `{field}` is missing. Send `{field}` as {expected}{}.",
        hint(.field, .expected)
    )]
    Missing {
        field: String,
        expected: &'static str,
    },
    /// A field's value has the wrong JSON type (or, for form parameters, cannot be converted).
    #[error(
        "The parameter `{field}` must be {expected}, but {got} was sent. Send `{field}` as {expected}{}.",
        hint(.field, .expected)
    )]
    WrongType {
        field: String,
        expected: &'static str,
        got: &'static str,
    },
    /// The object has no field of this name.
    #[error(
        "The parameter `{field}` is not known to this action. Check its spelling (parameter names are case-sensitive) or leave it out."
    )]
    Unknown { field: String },
    /// Objects and lists are nested more than [`MAX_DEPTH`] levels deep.
    #[error(
        "The parameter `{field}` is nested too deeply (at most {} levels of objects and lists are accepted). Send a flatter value.",
        MAX_DEPTH
    )]
    TooDeep { field: String },
}

impl ParamError {
    /// The dotted path of the offending field.
    pub fn field(&self) -> &str {
        match self {
            ParamError::Missing { field, .. }
            | ParamError::WrongType { field, .. }
            | ParamError::Unknown { field }
            | ParamError::TooDeep { field } => field,
        }
    }
}

/// An example (and, for containers, the form-parameter spelling) of a value of the expected kind.
fn hint(field: &str, expected: &str) -> String {
    match expected {
        "a string" => " (for example \"abc\")".to_string(),
        "an integer" => " (for example 10, without quotes or a decimal point)".to_string(),
        "a non-negative integer" => {
            " (for example 10, without quotes or a decimal point)".to_string()
        }
        "a number" => " (for example 1.5, without quotes)".to_string(),
        "a boolean" => " (true or false, without quotes)".to_string(),
        "an object" => {
            format!(" (a JSON object; as form parameters, `{field}.<Name>=<value>`)")
        }
        e if e.starts_with("a list") => {
            format!(" (a JSON array; as form parameters, `{field}.0=<value>`, `{field}.1=<value>`, ...)")
        }
        _ => String::new(),
    }
}

/// How a value of this type is described in error messages.
pub fn describe(ty: &FieldType) -> &'static str {
    match ty {
        FieldType::String => "a string",
        FieldType::Int => "an integer",
        FieldType::UInt => "a non-negative integer",
        FieldType::Bool => "a boolean",
        FieldType::Float => "a number",
        FieldType::Object(_) => "an object",
        FieldType::List(element) => match element {
            FieldType::String => "a list of strings",
            FieldType::Int => "a list of integers",
            FieldType::UInt => "a list of non-negative integers",
            FieldType::Bool => "a list of booleans",
            FieldType::Float => "a list of numbers",
            FieldType::Object(_) => "a list of objects",
            FieldType::List(_) => "a list of lists",
        },
    }
}

/// How a JSON value that does not fit is described in error messages.
fn got(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() => {
            if n.as_i64().is_some_and(|i| i < 0) {
                "a negative integer"
            } else {
                "an integer"
            }
        }
        Value::Number(n) if n.is_u64() => "an integer too large for 64 signed bits",
        Value::Number(_) => "a number with a fraction or exponent",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Looks object schemas up by name.
type Resolver<'a> = &'a dyn Fn(&str) -> Option<&'static [FieldSchema]>;

/// Checks `params` against the request schema of `action`.
pub fn validate(action: Action, params: &Map<String, Value>) -> Result<(), ParamError> {
    validate_object(action.input(), params)
}

/// Checks `value` against the schema of the object named `object` (see
/// [`crate::object_schema`]). An object name that is not in the spec is reported as
/// [`ParamError::Unknown`].
pub fn validate_object(object: &str, value: &Map<String, Value>) -> Result<(), ParamError> {
    let fields = object_schema(object).ok_or_else(|| ParamError::Unknown {
        field: object.to_string(),
    })?;
    check_object(&object_schema, fields, value, "", 0)
}

fn check_object(
    resolve: Resolver<'_>,
    fields: &[FieldSchema],
    value: &Map<String, Value>,
    prefix: &str,
    depth: usize,
) -> Result<(), ParamError> {
    // Unknown names first: a misspelt name explains a missing required field better than the
    // missing field does.
    for name in value.keys() {
        if !fields.iter().any(|f| f.name == name) {
            return Err(ParamError::Unknown {
                field: join(prefix, name),
            });
        }
    }
    for f in fields {
        let path = join(prefix, f.name);
        match value.get(f.name) {
            None | Some(Value::Null) => {
                if f.required {
                    return Err(ParamError::Missing {
                        field: path,
                        expected: describe(&f.ty),
                    });
                }
            }
            Some(v) => check_value(resolve, &f.ty, v, path, depth)?,
        }
    }
    Ok(())
}

fn check_value(
    resolve: Resolver<'_>,
    ty: &FieldType,
    value: &Value,
    path: String,
    depth: usize,
) -> Result<(), ParamError> {
    let fits = match ty {
        FieldType::String => value.is_string(),
        FieldType::Int => value.as_i64().is_some(),
        FieldType::UInt => value.as_u64().is_some(),
        FieldType::Bool => value.is_boolean(),
        FieldType::Float => value.is_number(),
        FieldType::Object(name) => {
            if let Value::Object(map) = value {
                if depth + 1 > MAX_DEPTH {
                    return Err(ParamError::TooDeep { field: path });
                }
                let fields = resolve(name).ok_or_else(|| ParamError::Unknown {
                    field: path.clone(),
                })?;
                return check_object(resolve, fields, map, &path, depth + 1);
            }
            false
        }
        FieldType::List(element) => {
            if let Value::Array(items) = value {
                if depth + 1 > MAX_DEPTH {
                    return Err(ParamError::TooDeep { field: path });
                }
                for (i, item) in items.iter().enumerate() {
                    check_value(resolve, element, item, format!("{path}.{i}"), depth + 1)?;
                }
                return Ok(());
            }
            false
        }
    };
    if fits {
        Ok(())
    } else {
        Err(ParamError::WrongType {
            field: path,
            expected: describe(ty),
            got: got(value),
        })
    }
}

/// Validates `params` against the request schema of `action`, then deserialises them into `T`,
/// which must be the request struct of `action` (`<T as ApiRequest>::ACTION == action`).
pub fn decode<T: serde::de::DeserializeOwned>(
    action: Action,
    params: Map<String, Value>,
) -> Result<T, ParamError> {
    validate(action, &params)?;
    // After a successful validation this only fails when `T` is not the action's request struct.
    serde_json::from_value(Value::Object(params)).map_err(|_| ParamError::WrongType {
        field: action.input().to_string(),
        expected: "the request object of this action",
        got: "an object that does not match the request type",
    })
}

/// A partly built value while flat parameters are collected.
enum Node {
    Leaf(Value),
    Object(BTreeMap<String, Option<Node>>),
    List(&'static FieldType, BTreeMap<usize, Option<Node>>),
}

/// Turns flat form/query parameters (`Name=v`, `Names.0=v`, `Filters.0.Values.1=v`; every value
/// a string) into the JSON object that the request schema of `action` describes: integers and
/// numbers are parsed, booleans are read from `true`/`false` (also `True`/`False`, as sent by
/// the Python SDK), strings are kept. List indices start at 0 and must have no gaps.
///
/// Required fields are not checked here; [`validate`] (or [`decode`]) does that.
pub fn from_flat(
    action: Action,
    flat: &[(String, String)],
) -> Result<Map<String, Value>, ParamError> {
    let fields = object_schema(action.input()).ok_or_else(|| ParamError::Unknown {
        field: action.input().to_string(),
    })?;
    flat_to_object(&object_schema, fields, flat)
}

fn flat_to_object(
    resolve: Resolver<'_>,
    fields: &'static [FieldSchema],
    flat: &[(String, String)],
) -> Result<Map<String, Value>, ParamError> {
    let mut root: BTreeMap<String, Option<Node>> = BTreeMap::new();
    for (key, raw) in flat {
        let segments: Vec<&str> = key.split('.').collect();
        if segments.len() > MAX_DEPTH + 1 {
            return Err(ParamError::TooDeep {
                field: segments[..=MAX_DEPTH].join("."),
            });
        }
        insert_field(resolve, fields, &mut root, &segments, raw, "")?;
    }
    let mut out = Map::new();
    for (name, node) in root {
        if let Some(node) = node {
            let value = finish(node, &name)?;
            out.insert(name, value);
        }
    }
    Ok(out)
}

fn insert_field(
    resolve: Resolver<'_>,
    fields: &'static [FieldSchema],
    map: &mut BTreeMap<String, Option<Node>>,
    segments: &[&str],
    raw: &str,
    prefix: &str,
) -> Result<(), ParamError> {
    let (name, rest) = segments
        .split_first()
        .expect("str::split yields at least one segment");
    let path = join(prefix, name);
    let Some(field) = fields.iter().find(|f| f.name == *name) else {
        return Err(ParamError::Unknown { field: path });
    };
    let slot = map.entry(name.to_string()).or_insert(None);
    insert_value(resolve, &field.ty, slot, rest, raw, path)
}

fn insert_value(
    resolve: Resolver<'_>,
    ty: &'static FieldType,
    slot: &mut Option<Node>,
    rest: &[&str],
    raw: &str,
    path: String,
) -> Result<(), ParamError> {
    match ty {
        FieldType::Object(object) => {
            if rest.is_empty() {
                return Err(ParamError::WrongType {
                    field: path,
                    expected: describe(ty),
                    got: "a single value",
                });
            }
            let fields = resolve(object).ok_or_else(|| ParamError::Unknown {
                field: path.clone(),
            })?;
            match slot.get_or_insert_with(|| Node::Object(BTreeMap::new())) {
                Node::Object(map) => insert_field(resolve, fields, map, rest, raw, &path),
                _ => Err(conflict(ty, path)),
            }
        }
        FieldType::List(element) => {
            let Some((index, rest)) = rest.split_first() else {
                return Err(ParamError::WrongType {
                    field: path,
                    expected: describe(ty),
                    got: "a single value",
                });
            };
            let item_path = join(&path, index);
            let Some(i) = parse_index(index) else {
                return Err(ParamError::Unknown { field: item_path });
            };
            match slot.get_or_insert_with(|| Node::List(element, BTreeMap::new())) {
                Node::List(_, items) => {
                    let item = items.entry(i).or_insert(None);
                    insert_value(resolve, element, item, rest, raw, item_path)
                }
                _ => Err(conflict(ty, path)),
            }
        }
        _ => {
            if !rest.is_empty() {
                return Err(ParamError::WrongType {
                    field: path,
                    expected: describe(ty),
                    got: "a list or an object",
                });
            }
            if slot.is_some() {
                return Err(ParamError::WrongType {
                    field: path,
                    expected: describe(ty),
                    got: "more than one value",
                });
            }
            *slot = Some(Node::Leaf(convert(ty, raw, &path)?));
            Ok(())
        }
    }
}

/// A slot already holds a value of another shape. The schema fixes the shape of every path, so
/// this cannot happen; it is reported rather than panicking.
fn conflict(ty: &FieldType, path: String) -> ParamError {
    ParamError::WrongType {
        field: path,
        expected: describe(ty),
        got: "conflicting values",
    }
}

/// A list index: decimal digits without leading zeros.
fn parse_index(s: &str) -> Option<usize> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical {
        s.parse().ok()
    } else {
        None
    }
}

fn convert(ty: &FieldType, raw: &str, path: &str) -> Result<Value, ParamError> {
    let wrong = |got: &'static str| ParamError::WrongType {
        field: path.to_string(),
        expected: describe(ty),
        got,
    };
    match ty {
        FieldType::String => Ok(Value::String(raw.to_string())),
        FieldType::Int => match raw.parse::<i64>() {
            Ok(i) => Ok(Value::from(i)),
            Err(_) if raw.parse::<u64>().is_ok() => {
                Err(wrong("an integer too large for 64 signed bits"))
            }
            Err(_) => Err(wrong("a value that is not an integer")),
        },
        FieldType::UInt => match raw.parse::<u64>() {
            Ok(u) => Ok(Value::from(u)),
            Err(_) if raw.parse::<i64>().is_ok() => Err(wrong("a negative integer")),
            Err(_) => Err(wrong("a value that is not a non-negative integer")),
        },
        FieldType::Float => raw
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| wrong("a value that is not a finite number")),
        FieldType::Bool => match raw {
            "true" | "True" => Ok(Value::Bool(true)),
            "false" | "False" => Ok(Value::Bool(false)),
            _ => Err(wrong("a value other than true or false")),
        },
        FieldType::Object(_) | FieldType::List(_) => Err(wrong("a single value")),
    }
}

/// Turns a collected node into JSON, checking that list indices have no gaps.
fn finish(node: Node, path: &str) -> Result<Value, ParamError> {
    match node {
        Node::Leaf(v) => Ok(v),
        Node::Object(map) => {
            let mut out = Map::new();
            for (name, child) in map {
                if let Some(child) = child {
                    let value = finish(child, &join(path, &name))?;
                    out.insert(name, value);
                }
            }
            Ok(Value::Object(out))
        }
        Node::List(element, items) => {
            let mut out = Vec::with_capacity(items.len());
            for (expected, (i, child)) in items.into_iter().enumerate() {
                if i != expected {
                    return Err(ParamError::Missing {
                        field: format!("{path}.{expected}"),
                        expected: describe(element),
                    });
                }
                if let Some(child) = child {
                    out.push(finish(child, &format!("{path}.{i}"))?);
                }
            }
            Ok(Value::Array(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    fn flat(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn create_domain() -> Value {
        json!({
            "MNPId": "mp1",
            "PlatformId": "P1",
            "Domain": [
                {"DomainType": 1, "DomainUrlList": ["https://a.example", "https://b.example"]},
                {"DomainType": 2, "DomainUrlList": []}
            ]
        })
    }

    #[track_caller]
    fn assert_missing(err: ParamError, field: &str, expected: &str) {
        match err {
            ParamError::Missing {
                field: f,
                expected: e,
            } => {
                assert_eq!(f, field);
                assert_eq!(e, expected);
            }
            other => panic!("expected Missing, got {other:?}"),
        }
    }

    #[track_caller]
    fn assert_wrong(err: ParamError, field: &str, expected: &str, got_: &str) {
        match err {
            ParamError::WrongType {
                field: f,
                expected: e,
                got: g,
            } => {
                assert_eq!((f.as_str(), e, g), (field, expected, got_));
            }
            other => panic!("expected WrongType, got {other:?}"),
        }
    }

    #[track_caller]
    fn assert_unknown(err: ParamError, field: &str) {
        match err {
            ParamError::Unknown { field: f } => assert_eq!(f, field),
            other => panic!("expected Unknown, got {other:?}"),
        }
    }

    #[test]
    fn valid_request_passes_and_decodes() {
        let params = obj(create_domain());
        validate(Action::CreateDomain, &params).unwrap();
        let req: model::CreateDomainRequest = decode(Action::CreateDomain, params).unwrap();
        assert_eq!(req.mnp_id, "mp1");
        assert_eq!(req.domain.len(), 2);
        assert_eq!(
            req.domain[0].domain_url_list.as_deref().unwrap()[1],
            "https://b.example"
        );
        assert_eq!(req.domain[1].domain_type, 2);
    }

    #[test]
    fn missing_required_field() {
        let mut params = obj(create_domain());
        params.remove("MNPId");
        let err = validate(Action::CreateDomain, &params).unwrap_err();
        assert_missing(err, "MNPId", "a string");
    }

    #[test]
    fn null_required_field_is_missing() {
        let mut params = obj(create_domain());
        params.insert("Domain".into(), Value::Null);
        let err = validate(Action::CreateDomain, &params).unwrap_err();
        assert_missing(err, "Domain", "a list of objects");
    }

    #[test]
    fn null_optional_field_is_accepted() {
        let params = obj(json!({"PlatformId": "P", "MNPId": "m", "Domain": null}));
        validate(Action::ModifyMNPDomain, &params).unwrap();
        let req: model::ModifyMNPDomainRequest = decode(Action::ModifyMNPDomain, params).unwrap();
        assert_eq!(req.domain, None);
    }

    #[test]
    fn missing_nested_required_field() {
        let mut params = obj(create_domain());
        params["Domain"][1]
            .as_object_mut()
            .unwrap()
            .remove("DomainType");
        let err = validate(Action::CreateDomain, &params).unwrap_err();
        assert_missing(err, "Domain.1.DomainType", "an integer");
    }

    #[test]
    fn wrong_types() {
        let cases = [
            // (field, value, expected, got)
            ("MNPId", json!(5), "a string", "an integer"),
            ("MNPId", json!(["a"]), "a string", "a list"),
            ("Domain", json!("x"), "a list of objects", "a string"),
            (
                "Domain",
                json!({"DomainType": 1}),
                "a list of objects",
                "an object",
            ),
        ];
        for (field, value, expected, got_) in cases {
            let mut params = obj(create_domain());
            params.insert(field.into(), value);
            let err = validate(Action::CreateDomain, &params).unwrap_err();
            assert_wrong(err, field, expected, got_);
        }
    }

    #[test]
    fn integers_are_strict() {
        for (value, got_) in [
            (json!(1.5), "a number with a fraction or exponent"),
            (json!(1.0), "a number with a fraction or exponent"),
            (json!("1"), "a string"),
            (json!(true), "a boolean"),
            (json!(u64::MAX), "an integer too large for 64 signed bits"),
        ] {
            let mut params = obj(create_domain());
            params["Domain"][0]["DomainType"] = value;
            let err = validate(Action::CreateDomain, &params).unwrap_err();
            assert_wrong(err, "Domain.0.DomainType", "an integer", got_);
        }
        let mut params = obj(create_domain());
        params["Domain"][0]["DomainType"] = json!(i64::MIN);
        validate(Action::CreateDomain, &params).unwrap();
    }

    #[test]
    fn list_elements_are_checked() {
        let mut params = obj(create_domain());
        params["Domain"][0]["DomainUrlList"] = json!(["ok", 7]);
        let err = validate(Action::CreateDomain, &params).unwrap_err();
        assert_wrong(err, "Domain.0.DomainUrlList.1", "a string", "an integer");

        let mut params = obj(create_domain());
        params["Domain"][0]["DomainUrlList"] = json!([null]);
        let err = validate(Action::CreateDomain, &params).unwrap_err();
        assert_wrong(err, "Domain.0.DomainUrlList.0", "a string", "null");

        let params = obj(
            json!({"AdminUserId": "u", "PlatformId": "p", "TeamName": "t",
            "TeamRoleTypeList": [1, "2"]}),
        );
        let err = validate(Action::CreateTeam, &params).unwrap_err();
        assert_wrong(err, "TeamRoleTypeList.1", "an integer", "a string");
    }

    #[test]
    fn booleans() {
        let params = obj(json!({"Offset": 0, "Limit": 10, "PlatformId": "p",
            "LoadAssistantApp": true}));
        validate(Action::DescribeSimpleApplicationInfoList, &params).unwrap();
        let params = obj(json!({"Offset": 0, "Limit": 10, "PlatformId": "p",
            "LoadAssistantApp": "true"}));
        let err = validate(Action::DescribeSimpleApplicationInfoList, &params).unwrap_err();
        assert_wrong(err, "LoadAssistantApp", "a boolean", "a string");
    }

    #[test]
    fn unsigned_integers() {
        // `ApplicationInfo.ApplicationType` is the spec's only uint64 field.
        validate_object(
            "ApplicationInfo",
            &obj(json!({"ApplicationType": u64::MAX})),
        )
        .unwrap();
        let err =
            validate_object("ApplicationInfo", &obj(json!({"ApplicationType": -1}))).unwrap_err();
        assert_wrong(
            err,
            "ApplicationType",
            "a non-negative integer",
            "a negative integer",
        );
        let err =
            validate_object("ApplicationInfo", &obj(json!({"ApplicationType": 2.5}))).unwrap_err();
        assert_wrong(
            err,
            "ApplicationType",
            "a non-negative integer",
            "a number with a fraction or exponent",
        );
    }

    #[test]
    fn objects() {
        validate_object(
            "AddTeamMemberResponse",
            &obj(json!({"Data": {"Result": true}})),
        )
        .unwrap();
        let err =
            validate_object("AddTeamMemberResponse", &obj(json!({"Data": "yes"}))).unwrap_err();
        assert_wrong(err, "Data", "an object", "a string");
        let err = validate_object(
            "AddTeamMemberResponse",
            &obj(json!({"Data": {"Result": 1}})),
        )
        .unwrap_err();
        assert_wrong(err, "Data.Result", "a boolean", "an integer");
        let err = validate_object(
            "AddTeamMemberResponse",
            &obj(json!({"Data": {"Res": true}})),
        )
        .unwrap_err();
        assert_unknown(err, "Data.Res");
        let err = validate_object("NoSuchObject", &Map::new()).unwrap_err();
        assert_unknown(err, "NoSuchObject");
    }

    #[test]
    fn unknown_fields() {
        let mut params = obj(create_domain());
        params.insert("MnpId".into(), json!("x"));
        let err = validate(Action::CreateDomain, &params).unwrap_err();
        assert_unknown(err, "MnpId");

        let mut params = obj(create_domain());
        params["Domain"][1]["Extra"] = json!(1);
        let err = validate(Action::CreateDomain, &params).unwrap_err();
        assert_unknown(err, "Domain.1.Extra");

        // Names are case-sensitive.
        let mut params = obj(create_domain());
        let v = params.remove("PlatformId").unwrap();
        params.insert("platformId".into(), v);
        let err = validate(Action::CreateDomain, &params).unwrap_err();
        assert_unknown(err, "platformId");
    }

    /// A self-referencing schema (the spec has none this deep) to exercise the depth limit.
    static NODE: [FieldSchema; 2] = [
        FieldSchema {
            name: "Child",
            ty: FieldType::Object("Node"),
            required: false,
        },
        FieldSchema {
            name: "Children",
            ty: FieldType::List(&FieldType::Object("Node")),
            required: false,
        },
    ];

    fn node_schema(name: &str) -> Option<&'static [FieldSchema]> {
        (name == "Node").then_some(&NODE[..])
    }

    fn nested(levels: usize) -> Value {
        (0..levels).fold(json!({}), |inner, _| json!({ "Child": inner }))
    }

    #[test]
    fn too_deep_json() {
        let ok = obj(nested(MAX_DEPTH));
        check_object(&node_schema, &NODE, &ok, "", 0).unwrap();
        let deep = obj(nested(MAX_DEPTH + 1));
        let err = check_object(&node_schema, &NODE, &deep, "", 0).unwrap_err();
        match err {
            ParamError::TooDeep { field } => {
                assert_eq!(field, ["Child"; MAX_DEPTH + 1].join("."));
            }
            other => panic!("expected TooDeep, got {other:?}"),
        }
        // A list counts as a level of its own.
        let mut v = json!({});
        for _ in 0..MAX_DEPTH / 2 {
            v = json!({ "Children": [v] });
        }
        check_object(&node_schema, &NODE, &obj(v.clone()), "", 0).unwrap();
        let v = json!({ "Child": v });
        let err = check_object(&node_schema, &NODE, &obj(v), "", 0).unwrap_err();
        assert!(matches!(err, ParamError::TooDeep { .. }), "{err:?}");
    }

    #[test]
    fn too_deep_flat() {
        // MAX_DEPTH objects deep, the last one given a value: deep enough, but not too deep.
        let key = ["Child"; MAX_DEPTH + 1].join(".");
        let err = flat_to_object(&node_schema, &NODE, &flat(&[(&key, "x")])).unwrap_err();
        assert_wrong(err, &key, "an object", "a single value");
        // One level more is too deep.
        let deeper = format!("{key}.Child");
        let err = flat_to_object(&node_schema, &NODE, &flat(&[(&deeper, "x")])).unwrap_err();
        match err {
            ParamError::TooDeep { field } => assert_eq!(field, key),
            other => panic!("expected TooDeep, got {other:?}"),
        }
        // Even for names the action does not know, very long keys are cut short.
        let key = ["A"; 100].join(".");
        let err = from_flat(Action::CreateDomain, &flat(&[(&key, "x")])).unwrap_err();
        assert!(matches!(err, ParamError::TooDeep { .. }), "{err:?}");
        assert_eq!(err.field().split('.').count(), MAX_DEPTH + 1);
    }

    #[test]
    fn from_flat_nested_lists() {
        let pairs = flat(&[
            ("MNPId", "mp1"),
            ("PlatformId", "P1"),
            ("Domain.0.DomainType", "1"),
            ("Domain.0.DomainUrlList.0", "https://a.example"),
            ("Domain.0.DomainUrlList.1", "https://b.example"),
            ("Domain.1.DomainType", "2"),
            ("Domain.1.DomainUrlList.0", "https://c.example"),
        ]);
        let params = from_flat(Action::CreateDomain, &pairs).unwrap();
        assert_eq!(
            Value::Object(params.clone()),
            json!({
                "MNPId": "mp1",
                "PlatformId": "P1",
                "Domain": [
                    {"DomainType": 1, "DomainUrlList": ["https://a.example", "https://b.example"]},
                    {"DomainType": 2, "DomainUrlList": ["https://c.example"]}
                ]
            })
        );
        let req: model::CreateDomainRequest = decode(Action::CreateDomain, params).unwrap();
        assert_eq!(
            req.domain[1].domain_url_list.as_deref().unwrap(),
            ["https://c.example"]
        );
    }

    #[test]
    fn from_flat_order_does_not_matter() {
        let pairs = flat(&[
            ("TeamRoleTypeList.1", "3"),
            ("TeamName", "t"),
            ("TeamRoleTypeList.0", "-2"),
            ("AdminUserId", "u"),
            ("PlatformId", "p"),
        ]);
        let params = from_flat(Action::CreateTeam, &pairs).unwrap();
        assert_eq!(params["TeamRoleTypeList"], json!([-2, 3]));
        validate(Action::CreateTeam, &params).unwrap();
    }

    #[test]
    fn from_flat_ints_and_strings() {
        let pairs = flat(&[
            ("Offset", "0"),
            ("Limit", "20"),
            ("PlatformId", "123"),
            ("Keyword", ""),
        ]);
        let params = from_flat(Action::DescribeMNPList, &pairs).unwrap();
        assert_eq!(
            Value::Object(params.clone()),
            json!({"Offset": 0, "Limit": 20, "PlatformId": "123", "Keyword": ""})
        );
        let req: model::DescribeMNPListRequest = decode(Action::DescribeMNPList, params).unwrap();
        assert_eq!((req.offset, req.limit), (0, 20));
        assert_eq!(req.keyword.as_deref(), Some(""));
    }

    #[test]
    fn from_flat_bools() {
        for (raw, expected) in [
            ("true", true),
            ("false", false),
            ("True", true),
            ("False", false),
        ] {
            let pairs = flat(&[
                ("Offset", "0"),
                ("Limit", "10"),
                ("PlatformId", "p"),
                ("LoadAssistantApp", raw),
            ]);
            let params = from_flat(Action::DescribeSimpleApplicationInfoList, &pairs).unwrap();
            assert_eq!(params["LoadAssistantApp"], json!(expected));
            validate(Action::DescribeSimpleApplicationInfoList, &params).unwrap();
        }
        for raw in ["1", "yes", "TRUE", ""] {
            let pairs = flat(&[("PlatformId", "p"), ("LoadAssistantApp", raw)]);
            let err = from_flat(Action::DescribeSimpleApplicationInfoList, &pairs).unwrap_err();
            assert_wrong(
                err,
                "LoadAssistantApp",
                "a boolean",
                "a value other than true or false",
            );
        }
    }

    #[test]
    fn from_flat_bad_int() {
        for raw in ["1.5", "abc", "", "1e3", " 1"] {
            let pairs = flat(&[("Offset", raw), ("Limit", "1"), ("PlatformId", "p")]);
            let err = from_flat(Action::DescribeMNPList, &pairs).unwrap_err();
            assert_wrong(
                err,
                "Offset",
                "an integer",
                "a value that is not an integer",
            );
        }
        let pairs = flat(&[("Offset", "9223372036854775808")]);
        let err = from_flat(Action::DescribeMNPList, &pairs).unwrap_err();
        assert_wrong(
            err,
            "Offset",
            "an integer",
            "an integer too large for 64 signed bits",
        );
        let pairs = flat(&[("Domain.0.DomainType", "x")]);
        let err = from_flat(Action::CreateDomain, &pairs).unwrap_err();
        assert_wrong(
            err,
            "Domain.0.DomainType",
            "an integer",
            "a value that is not an integer",
        );
    }

    #[test]
    fn convert_uint_and_float() {
        assert_eq!(
            convert(&FieldType::UInt, "18446744073709551615", "F").unwrap(),
            json!(u64::MAX)
        );
        assert_wrong(
            convert(&FieldType::UInt, "-1", "F").unwrap_err(),
            "F",
            "a non-negative integer",
            "a negative integer",
        );
        assert_eq!(convert(&FieldType::Float, "1.5", "F").unwrap(), json!(1.5));
        assert_eq!(convert(&FieldType::Float, "2", "F").unwrap(), json!(2.0));
        for raw in ["NaN", "inf", "x"] {
            assert_wrong(
                convert(&FieldType::Float, raw, "F").unwrap_err(),
                "F",
                "a number",
                "a value that is not a finite number",
            );
        }
    }

    #[test]
    fn from_flat_unknown() {
        let err = from_flat(Action::CreateDomain, &flat(&[("Bogus", "1")])).unwrap_err();
        assert_unknown(err, "Bogus");
        let err = from_flat(Action::CreateDomain, &flat(&[("Domain.0.Bogus", "1")])).unwrap_err();
        assert_unknown(err, "Domain.0.Bogus");
        // List indices must be canonical decimal numbers.
        for index in ["x", "-1", "01", "", "+1", "1e1"] {
            let key = format!("Domain.{index}.DomainType");
            let err = from_flat(Action::CreateDomain, &flat(&[(&key, "1")])).unwrap_err();
            assert_unknown(err, &format!("Domain.{index}"));
        }
        let err = from_flat(Action::CreateDomain, &flat(&[("", "1")])).unwrap_err();
        assert_unknown(err, "");
    }

    #[test]
    fn from_flat_shape_errors() {
        // A list sent as a single value.
        let err =
            from_flat(Action::CheckGlobalDomain, &flat(&[("DomainUrlList", "a")])).unwrap_err();
        assert_wrong(err, "DomainUrlList", "a list of strings", "a single value");
        // An object sent as a single value.
        let err = from_flat(Action::CreateDomain, &flat(&[("Domain.0", "a")])).unwrap_err();
        assert_wrong(err, "Domain.0", "an object", "a single value");
        // A scalar sent with sub-keys.
        let err = from_flat(Action::CreateDomain, &flat(&[("MNPId.0", "a")])).unwrap_err();
        assert_wrong(err, "MNPId", "a string", "a list or an object");
        // The same name twice.
        let err = from_flat(
            Action::CreateDomain,
            &flat(&[("MNPId", "a"), ("MNPId", "b")]),
        )
        .unwrap_err();
        assert_wrong(err, "MNPId", "a string", "more than one value");
        // A gap in the list indices.
        let pairs = flat(&[
            ("PlatformId", "p"),
            ("DomainUrlList.0", "a"),
            ("DomainUrlList.2", "c"),
        ]);
        let err = from_flat(Action::CheckGlobalDomain, &pairs).unwrap_err();
        assert_missing(err, "DomainUrlList.1", "a string");
        let pairs = flat(&[("Domain.1.DomainType", "1")]);
        let err = from_flat(Action::CreateDomain, &pairs).unwrap_err();
        assert_missing(err, "Domain.0", "an object");
    }

    #[test]
    fn from_flat_then_validate_reports_missing() {
        let pairs = flat(&[
            ("PlatformId", "p"),
            ("Domain.0.DomainUrlList.0", "https://a.example"),
        ]);
        let params = from_flat(Action::CreateDomain, &pairs).unwrap();
        let err = validate(Action::CreateDomain, &params).unwrap_err();
        assert_missing(err, "MNPId", "a string");
        let mut with_id = params.clone();
        with_id.insert("MNPId".into(), json!("m"));
        let err = validate(Action::CreateDomain, &with_id).unwrap_err();
        assert_missing(err, "Domain.0.DomainType", "an integer");
    }

    #[test]
    fn messages_name_field_expectation_and_remedy() {
        let cases: Vec<(ParamError, &[&str])> = vec![
            (
                ParamError::Missing {
                    field: "MNPId".into(),
                    expected: "a string",
                },
                &["`MNPId`", "missing", "a string", "\"abc\""],
            ),
            (
                ParamError::WrongType {
                    field: "Filters.0.Values".into(),
                    expected: "a list of strings",
                    got: "a string",
                },
                &[
                    "`Filters.0.Values`",
                    "must be a list of strings",
                    "but a string was sent",
                    "`Filters.0.Values.0=<value>`",
                ],
            ),
            (
                ParamError::WrongType {
                    field: "Limit".into(),
                    expected: "an integer",
                    got: "a string",
                },
                &[
                    "`Limit`",
                    "an integer",
                    "a string was sent",
                    "for example 10",
                ],
            ),
            (
                ParamError::Unknown {
                    field: "MnpId".into(),
                },
                &["`MnpId`", "not known", "case-sensitive"],
            ),
            (
                ParamError::TooDeep {
                    field: "A.0.B".into(),
                },
                &["`A.0.B`", "too deeply", "8 levels"],
            ),
        ];
        for (err, needles) in cases {
            let text = err.to_string();
            for needle in needles {
                assert!(text.contains(needle), "{text:?} lacks {needle:?}");
            }
        }
    }

    #[test]
    fn field_names_the_culprit() {
        let deep = ParamError::TooDeep { field: "A".into() };
        assert_eq!(deep.field(), "A");
    }

    #[test]
    fn decode_into_the_wrong_struct_is_an_error() {
        let params = obj(create_domain());
        let err =
            decode::<model::DescribeMNPListRequest>(Action::CreateDomain, params).unwrap_err();
        assert!(matches!(err, ParamError::WrongType { .. }), "{err:?}");
    }
}
