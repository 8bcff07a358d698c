//! Requests recorded from the official TencentCloud Python SDK
//! (tests/vectors/vectors.json, made by tests/vectors/generate.py).

use http::{HeaderMap, HeaderName, HeaderValue};
use mnpd_wire::{decode, sign_tc3_post, sign_v1, IncomingRequest, Params, Scheme, WireRequest};
use serde_json::Value;

const VECTORS: &str = include_str!("vectors/vectors.json");

struct Vector {
    name: String,
    sign_method: String,
    action: String,
    version: String,
    region: Option<String>,
    token: Option<String>,
    language: Option<String>,
    timestamp: i64,
    unsigned_payload: bool,
    method: String,
    query: String,
    headers: Vec<(String, String)>,
    body: String,
}

struct Suite {
    sdk_version: String,
    secret_id: String,
    secret_key: String,
    wrong_key: String,
    vectors: Vec<Vector>,
}

fn opt_str(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn load() -> Suite {
    let root: Value = serde_json::from_str(VECTORS).expect("vectors.json is JSON");
    let s = |v: &Value| v.as_str().expect("string").to_string();
    let vectors = root["vectors"]
        .as_array()
        .expect("vectors array")
        .iter()
        .map(|v| {
            let r = &v["request"];
            Vector {
                name: s(&v["name"]),
                sign_method: s(&v["sign_method"]),
                action: s(&v["action"]),
                version: s(&v["version"]),
                region: opt_str(&v["region"]),
                token: opt_str(&v["token"]),
                language: opt_str(&v["language"]),
                timestamp: v["timestamp"].as_i64().expect("timestamp"),
                unsigned_payload: v["unsigned_payload"].as_bool().expect("bool"),
                method: s(&r["method"]),
                query: s(&r["query"]),
                headers: r["headers"]
                    .as_array()
                    .expect("headers")
                    .iter()
                    .map(|h| (s(&h[0]), s(&h[1])))
                    .collect(),
                body: s(&r["body"]),
            }
        })
        .collect();
    Suite {
        sdk_version: s(&root["sdk"]["version"]),
        secret_id: s(&root["secret_id"]),
        secret_key: s(&root["secret_key"]),
        wrong_key: s(&root["wrong_key"]),
        vectors,
    }
}

fn header_map(headers: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    map
}

/// A request whose parts can be tampered with before decoding.
#[derive(Clone)]
struct Req {
    method: String,
    headers: HeaderMap,
    query: String,
    body: Vec<u8>,
}

impl Req {
    fn of(v: &Vector) -> Req {
        Req {
            method: v.method.clone(),
            headers: header_map(&v.headers),
            query: v.query.clone(),
            body: v.body.as_bytes().to_vec(),
        }
    }

    fn decode(&self) -> Result<WireRequest, mnpd_wire::WireError> {
        decode(&IncomingRequest {
            method: &self.method,
            headers: &self.headers,
            query: &self.query,
            body: &self.body,
        })
    }

    fn set_header(&mut self, name: &'static str, value: &str) {
        self.headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).unwrap(),
        );
    }

    /// Decodes and verifies with `key`.
    fn verifies(&self, key: &str) -> bool {
        self.decode()
            .expect("tampered request still decodes")
            .proof
            .verify(key)
    }
}

/// Form decoding for the test's own use (names and values of v1 requests).
fn form_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|s| !s.is_empty())
        .map(|seg| {
            let (k, v) = seg.split_once('=').unwrap_or((seg, ""));
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8()
                    .unwrap()
                    .into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

/// Replace the value of `name` in a raw `k=v&...` string by `new_raw`.
fn replace_form_value(raw: &str, name: &str, new_raw: &str) -> String {
    let mut hit = false;
    let out: Vec<String> = raw
        .split('&')
        .map(|seg| match seg.split_once('=') {
            Some((k, _)) if k == name => {
                hit = true;
                format!("{k}={new_raw}")
            }
            _ => seg.to_string(),
        })
        .collect();
    assert!(hit, "parameter {name} not found in {raw}");
    out.join("&")
}

const COMMON_V1: [&str; 11] = [
    "Action",
    "Version",
    "Region",
    "Timestamp",
    "Nonce",
    "SecretId",
    "Signature",
    "SignatureMethod",
    "Token",
    "Language",
    "RequestClient",
];

#[test]
fn vectors_cover_every_required_case() {
    let suite = load();
    assert!(!suite.sdk_version.is_empty());
    let has = |f: &dyn Fn(&Vector) -> bool| suite.vectors.iter().any(f);
    for sm in ["TC3-HMAC-SHA256", "HmacSHA1", "HmacSHA256"] {
        for m in ["GET", "POST"] {
            assert!(has(&|v| v.sign_method == sm && v.method == m), "{sm} {m}");
        }
        assert!(
            has(&|v| v.sign_method == sm && v.token.is_some()),
            "{sm} token"
        );
        assert!(
            has(&|v| v.sign_method == sm && v.region.is_none()),
            "{sm} no region"
        );
    }
    assert!(has(&|v| v.unsigned_payload && v.method == "POST"));
    assert!(has(&|v| v.unsigned_payload && v.method == "GET"));
    assert!(has(&|v| v.language.is_none()));
    assert!(suite.vectors.len() >= 20);
}

#[test]
fn every_vector_decodes_and_verifies_only_with_the_right_key() {
    let suite = load();
    for v in &suite.vectors {
        let req = Req::of(v)
            .decode()
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(req.action, v.action, "{}", v.name);
        assert_eq!(req.version, v.version, "{}", v.name);
        assert_eq!(req.region, v.region, "{}", v.name);
        assert_eq!(req.token, v.token, "{}", v.name);
        assert_eq!(req.language, v.language, "{}", v.name);
        assert_eq!(req.timestamp, v.timestamp, "{}", v.name);
        assert_eq!(req.secret_id, suite.secret_id, "{}", v.name);
        let scheme = match v.sign_method.as_str() {
            "TC3-HMAC-SHA256" => Scheme::Tc3HmacSha256,
            "HmacSHA1" => Scheme::HmacSha1,
            "HmacSHA256" => Scheme::HmacSha256,
            other => panic!("unknown sign method {other}"),
        };
        assert_eq!(req.proof.scheme(), scheme, "{}", v.name);
        if scheme == Scheme::Tc3HmacSha256 {
            let (date, service) = req.proof.credential_scope().unwrap();
            assert_eq!(date, mnpd_wire::utc_date(v.timestamp), "{}", v.name);
            assert_eq!(service, "tcmpp", "{}", v.name);
        } else {
            assert!(req.proof.credential_scope().is_none());
        }
        assert!(
            req.proof.verify(&suite.secret_key),
            "{}: right key rejected",
            v.name
        );
        assert!(
            !req.proof.verify(&suite.wrong_key),
            "{}: wrong key accepted",
            v.name
        );
        assert!(!req.proof.verify(""), "{}: empty key accepted", v.name);
    }
}

#[test]
fn business_params_are_extracted_without_common_params() {
    let suite = load();
    for v in &suite.vectors {
        let req = Req::of(v).decode().unwrap();
        match (&req.params, v.sign_method.as_str(), v.method.as_str()) {
            (Params::Json(map), "TC3-HMAC-SHA256", "POST") => {
                let body: Value = serde_json::from_str(&v.body).unwrap();
                assert_eq!(&Value::Object(map.clone()), &body, "{}", v.name);
            }
            (Params::Flat(pairs), "TC3-HMAC-SHA256", "GET") => {
                assert_eq!(pairs, &form_pairs(&v.query), "{}", v.name);
            }
            (Params::Flat(pairs), _, m) => {
                let raw = if m == "GET" { &v.query } else { &v.body };
                let want: Vec<(String, String)> = form_pairs(raw)
                    .into_iter()
                    .filter(|(k, _)| !COMMON_V1.contains(&k.as_str()))
                    .collect();
                assert_eq!(pairs, &want, "{}", v.name);
                assert!(!want.is_empty() || v.name.contains("empty"), "{}", v.name);
            }
            (p, sm, m) => panic!("{}: unexpected params {p:?} for {sm} {m}", v.name),
        }
    }
    // Nested values stay flat, unicode is decoded.
    let v = suite
        .vectors
        .iter()
        .find(|v| v.name == "hmacsha256_post_nested_token_no_region")
        .unwrap();
    let Params::Flat(pairs) = Req::of(v).decode().unwrap().params else {
        panic!("flat expected")
    };
    assert!(pairs.contains(&("MemberList.1.UserId".to_string(), "ü2".to_string())));
}

#[test]
fn tampering_with_a_tc3_request_breaks_the_signature() {
    let suite = load();
    let key = &suite.secret_key;
    for v in suite
        .vectors
        .iter()
        .filter(|v| v.sign_method == "TC3-HMAC-SHA256")
    {
        let base = Req::of(v);
        assert!(base.verifies(key), "{}", v.name);

        // Signed headers.
        let mut r = base.clone();
        r.set_header("host", "127.0.0.1:9081");
        assert!(!r.verifies(key), "{}: host", v.name);
        let mut r = base.clone();
        let ct = r.headers["content-type"].to_str().unwrap().to_string();
        r.set_header("content-type", &format!("{ct}; charset=utf-8"));
        assert!(!r.verifies(key), "{}: content-type", v.name);

        // The timestamp is part of the string to sign.
        let mut r = base.clone();
        r.set_header("x-tc-timestamp", &(v.timestamp + 1).to_string());
        assert!(!r.verifies(key), "{}: timestamp", v.name);

        // The credential scope.
        let auth = base.headers["authorization"].to_str().unwrap().to_string();
        for (from, to) in [("/tcmpp/", "/tcmpq/"), ("/20", "/19")] {
            let mut r = base.clone();
            r.set_header("authorization", &auth.replacen(from, to, 1));
            assert!(!r.verifies(key), "{}: scope {from}", v.name);
        }

        // Unsigned payload flag: removing or adding it changes the hash.
        let mut r = base.clone();
        if v.unsigned_payload {
            r.headers.remove("x-tc-content-sha256");
        } else {
            r.set_header("x-tc-content-sha256", "UNSIGNED-PAYLOAD");
        }
        assert!(!r.verifies(key), "{}: unsigned-payload flag", v.name);

        if v.method == "GET" {
            // Any change to the query string, even a re-encoding.
            let mut r = base.clone();
            r.query = replace_form_value(&v.query, "PlatformId", "plat-2");
            assert!(!r.verifies(key), "{}: query value", v.name);
            let mut r = base.clone();
            r.query = v.query.replacen("&", "&&", 1);
            assert!(!r.verifies(key), "{}: query layout", v.name);
        } else {
            // Body: covered unless the client sent UNSIGNED-PAYLOAD.
            let mut r = base.clone();
            let text = if v.body == "{}" {
                r#"{"Offset": 1}"#.to_string()
            } else {
                v.body.replacen("\"plat-1\"", "\"plat-2\"", 1)
            };
            assert_ne!(text, v.body, "{}", v.name);
            r.body = text.into_bytes();
            assert_eq!(r.verifies(key), v.unsigned_payload, "{}: body", v.name);
        }
    }
}

#[test]
fn tampering_with_a_v1_request_breaks_the_signature() {
    let suite = load();
    let key = &suite.secret_key;
    for v in suite
        .vectors
        .iter()
        .filter(|v| v.sign_method != "TC3-HMAC-SHA256")
    {
        let base = Req::of(v);
        assert!(base.verifies(key), "{}", v.name);
        let raw = if v.method == "GET" { &v.query } else { &v.body };
        let with = |raw2: String| {
            let mut r = base.clone();
            if v.method == "GET" {
                r.query = raw2;
            } else {
                r.body = raw2.into_bytes();
            }
            r
        };
        for (name, value) in [
            ("PlatformId", "plat-2"),
            ("Action", "DeleteMNP"),
            ("Timestamp", "1700000000"),
            ("Nonce", "8"),
            ("SecretId", "AKIDother"),
            ("Version", "2024-08-02"),
        ] {
            let r = with(replace_form_value(raw, name, value));
            assert!(!r.verifies(key), "{}: {name}", v.name);
        }
        // An extra parameter is covered too.
        let r = with(format!("{raw}&Extra=1"));
        assert!(!r.verifies(key), "{}: extra param", v.name);
        // Host and method are part of the string to sign.
        let mut r = base.clone();
        r.set_header("host", "localhost:9080");
        assert!(!r.verifies(key), "{}: host", v.name);
        // Switching the scheme makes the HMAC differ.
        let other = if v.sign_method == "HmacSHA1" {
            "HmacSHA256"
        } else {
            "HmacSHA1"
        };
        let r = with(replace_form_value(raw, "SignatureMethod", other));
        assert!(!r.verifies(key), "{}: scheme", v.name);
    }
}

#[test]
fn sign_tc3_post_reproduces_the_sdk() {
    let suite = load();
    let mut checked = 0;
    for v in suite
        .vectors
        .iter()
        .filter(|v| v.sign_method == "TC3-HMAC-SHA256" && v.method == "POST" && !v.unsigned_payload)
    {
        let recorded = header_map(&v.headers);
        let host = recorded["host"].to_str().unwrap();
        let ours = sign_tc3_post(
            &suite.secret_id,
            &suite.secret_key,
            host,
            &v.action,
            &v.version,
            v.region.as_deref(),
            v.timestamp,
            v.body.as_bytes(),
        );
        let names: Vec<&str> = ours.iter().map(|(k, _)| k.as_str()).collect();
        let mut want_names = vec![
            "Content-Type",
            "Host",
            "X-TC-Action",
            "X-TC-Timestamp",
            "X-TC-Version",
        ];
        if v.region.is_some() {
            want_names.push("X-TC-Region");
        }
        want_names.push("Authorization");
        assert_eq!(names, want_names, "{}", v.name);
        for (k, val) in &ours {
            assert_eq!(
                recorded[k.as_str()].to_str().unwrap(),
                val,
                "{}: header {k}",
                v.name
            );
        }

        // Our own request round-trips through decode/verify.
        let mut req = Req {
            method: "POST".into(),
            headers: header_map(&ours),
            query: String::new(),
            body: v.body.as_bytes().to_vec(),
        };
        assert!(req.verifies(&suite.secret_key), "{}", v.name);
        req.body.push(b' ');
        assert!(!req.verifies(&suite.secret_key), "{}", v.name);
        checked += 1;
    }
    assert!(checked >= 4);
}

#[test]
fn sign_v1_reproduces_the_sdk() {
    let suite = load();
    let mut checked = 0;
    for v in suite
        .vectors
        .iter()
        .filter(|v| v.sign_method != "TC3-HMAC-SHA256")
    {
        let raw = if v.method == "GET" { &v.query } else { &v.body };
        let pairs = form_pairs(raw);
        let recorded_sig = pairs
            .iter()
            .find(|(k, _)| k == "Signature")
            .map(|(_, s)| s.clone())
            .unwrap();
        let unsigned: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(k, _)| k != "Signature")
            .collect();
        let scheme = if v.sign_method == "HmacSHA1" {
            Scheme::HmacSha1
        } else {
            Scheme::HmacSha256
        };
        let host = header_map(&v.headers)["host"].to_str().unwrap().to_string();
        let ours = sign_v1(&v.method, &host, "/", &suite.secret_key, &unsigned, scheme);
        assert_eq!(ours, recorded_sig, "{}", v.name);
        // A Signature in the input is ignored.
        let mut with_sig = unsigned.clone();
        with_sig.push(("Signature".into(), "x".into()));
        assert_eq!(
            sign_v1(&v.method, &host, "/", &suite.secret_key, &with_sig, scheme),
            recorded_sig
        );
        // Wrong key, method or path give another signature.
        assert_ne!(
            sign_v1(&v.method, &host, "/", &suite.wrong_key, &unsigned, scheme),
            ours
        );
        let other_method = if v.method == "GET" { "POST" } else { "GET" };
        assert_ne!(
            sign_v1(
                other_method,
                &host,
                "/",
                &suite.secret_key,
                &unsigned,
                scheme
            ),
            ours
        );
        assert_ne!(
            sign_v1(&v.method, &host, "/x", &suite.secret_key, &unsigned, scheme),
            ours
        );
        checked += 1;
    }
    assert!(checked >= 8);
}
