//! Helpers shared by the fuzz targets in `fuzz_targets/`: the input formats
//! (see `fuzz/README.md`) and the checks run on what the crates return.
//!
//! Every check here either returns or panics; a panic is what libFuzzer reports
//! as a crash, so each `assert!` states a property of the crates under test.

use std::io::Cursor;

use mnpd_api::params::{decode, from_flat, validate, ParamError};
use mnpd_api::{Action, ActionVisitor, ApiRequest};
use mnpd_package::{Limits, Manifest, PackageError, PackageKind};
use serde_json::{Map, Value};

// ---------------------------------------------------------------------------
// package_validate

/// Three limit sets stricter than the default, so that every limit is reached by
/// small inputs too, and one laxer.
pub fn small_limits(selector: usize) -> Limits {
    match selector % 4 {
        0 => Limits {
            max_entries: 8,
            max_directory_bytes: 4 * 1024,
            max_total_uncompressed: 16 * 1024,
            max_entry_uncompressed: 4 * 1024,
            max_ratio: 4,
            max_manifest_bytes: 512,
            max_json_depth: 3,
        },
        1 => Limits {
            max_entries: 1,
            max_directory_bytes: 256,
            max_total_uncompressed: 64,
            max_entry_uncompressed: 64,
            max_ratio: 1,
            max_manifest_bytes: 64,
            max_json_depth: 1,
        },
        2 => Limits {
            max_entries: 0,
            max_directory_bytes: 0,
            max_total_uncompressed: 0,
            max_entry_uncompressed: 0,
            max_ratio: 0,
            max_manifest_bytes: 0,
            max_json_depth: 0,
        },
        // Laxer than the default in every way.
        _ => Limits {
            max_entries: 20_000,
            max_directory_bytes: 16 * 1024 * 1024,
            max_total_uncompressed: 512 * 1024 * 1024,
            max_entry_uncompressed: 128 * 1024 * 1024,
            max_ratio: 2000,
            max_manifest_bytes: 2 * 1024 * 1024,
            max_json_depth: 64,
        },
    }
}

/// Validates `data` as a package under `limits` and checks what comes back.
pub fn check_package(data: &[u8], limits: &Limits) -> Option<Manifest> {
    match mnpd_package::validate(Cursor::new(data), limits) {
        Ok(manifest) => {
            check_manifest(&manifest, limits);
            Some(manifest)
        }
        Err(error) => {
            check_package_error(&error);
            None
        }
    }
}

/// Whether every limit of `strict` is at most the same limit of `lax`.
pub fn stricter(strict: &Limits, lax: &Limits) -> bool {
    strict.max_entries <= lax.max_entries
        && strict.max_total_uncompressed <= lax.max_total_uncompressed
        && strict.max_entry_uncompressed <= lax.max_entry_uncompressed
        && strict.max_ratio <= lax.max_ratio
        && strict.max_manifest_bytes <= lax.max_manifest_bytes
        && strict.max_json_depth <= lax.max_json_depth
}

/// Validates `data` under the default limits and under a small set: what the
/// stricter set accepts, the laxer one accepts too, with the same manifest.
pub fn check_package_limits(data: &[u8], small: &Limits) {
    let default = Limits::default();
    let with_default = check_package(data, &default);
    let with_small = check_package(data, small);
    if let Some(accepted) = &with_small {
        if stricter(small, &default) {
            assert_eq!(
                with_default.as_ref(),
                Some(accepted),
                "accepted under {small:?} but not in the same way under the default limits"
            );
        }
    }
    if let Some(accepted) = &with_default {
        if stricter(&default, small) {
            assert_eq!(
                with_small.as_ref(),
                Some(accepted),
                "accepted under the default limits but not in the same way under {small:?}"
            );
        }
    }
}

fn check_manifest(m: &Manifest, limits: &Limits) {
    assert!(
        m.file_count <= limits.max_entries as u64,
        "{} files accepted with max_entries {}",
        m.file_count,
        limits.max_entries
    );
    assert!(
        m.uncompressed_bytes <= limits.max_total_uncompressed,
        "{} bytes accepted with max_total_uncompressed {}",
        m.uncompressed_bytes,
        limits.max_total_uncompressed
    );
    assert!(
        m.root.is_empty() || (m.root.ends_with('/') && m.root.matches('/').count() == 1),
        "root {:?} is neither empty nor one folder",
        m.root
    );
    match m.kind {
        PackageKind::MiniProgram => {
            assert!(!m.pages.is_empty(), "a mini program without pages");
            assert!(
                m.entry_page.is_some(),
                "a mini program without an entry page"
            );
        }
        PackageKind::MiniGame => {
            assert!(m.pages.is_empty() && m.subpackages.is_empty() && m.entry_page.is_none());
        }
    }
}

fn check_package_error(e: &PackageError) {
    assert!(!e.to_string().is_empty(), "an empty message for {e:?}");
}

// ---------------------------------------------------------------------------
// wire_decode

/// A request as the `wire_decode` target reads it from its input:
///
/// ```text
/// METHOD\n
/// QUERY\n
/// Header-Name: value\n      (any number of lines)
/// \n
/// BODY                      (the rest, any bytes)
/// ```
///
/// Lines may end in `\r\n`. A header line without `:` or whose name or value
/// `http` refuses is skipped (a real server never passes such a header on).
pub struct WireInput<'a> {
    pub method: String,
    pub query: String,
    pub headers: http::HeaderMap,
    pub body: &'a [u8],
}

/// Splits a `wire_decode` input into its parts (see [`WireInput`]).
pub fn parse_wire_input(data: &[u8]) -> WireInput<'_> {
    let mut rest = data;
    let mut line = || -> Option<&[u8]> {
        if rest.is_empty() {
            return None;
        }
        let (l, r) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = r;
        Some(l.strip_suffix(b"\r").unwrap_or(l))
    };
    let method = String::from_utf8_lossy(line().unwrap_or_default()).into_owned();
    let query = String::from_utf8_lossy(line().unwrap_or_default()).into_owned();
    let mut headers = http::HeaderMap::new();
    while let Some(l) = line() {
        if l.is_empty() {
            break;
        }
        let Some(colon) = l.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&l[..colon], l[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name),
            http::HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    WireInput {
        method,
        query,
        headers,
        body: rest,
    }
}

/// The secret key of the requests recorded from the Python SDK
/// (`crates/mnpd-wire/tests/vectors/vectors.json`), so that seeds made from them
/// also take the path of a matching signature.
pub const SDK_VECTOR_KEY: &str = "mnpdTestSecretKey0123456789abcdefGHIJ";

/// Decodes a `wire_decode` input, verifies its proof and, as the gateway does,
/// turns its parameters into the action's JSON object.
pub fn check_wire(data: &[u8]) {
    let input = parse_wire_input(data);
    let decoded = mnpd_wire::decode(&mnpd_wire::IncomingRequest {
        method: &input.method,
        headers: &input.headers,
        query: &input.query,
        body: input.body,
    });
    let request = match decoded {
        Ok(request) => request,
        Err(error) => {
            assert!(!error.to_string().is_empty());
            assert!(!error.code().is_empty());
            return;
        }
    };
    let proof = &request.proof;
    let _ = proof.verify("key");
    let _ = proof.verify(SDK_VECTOR_KEY);
    let _ = proof.verify("");
    assert_eq!(
        proof.scheme() == mnpd_wire::Scheme::Tc3HmacSha256,
        proof.credential_scope().is_some()
    );
    let _ = format!("{request:?}");
    if let Some(action) = Action::from_name(&request.action) {
        match request.params {
            mnpd_wire::Params::Json(map) => check_json(action, map),
            mnpd_wire::Params::Flat(pairs) => check_flat(action, &pairs),
        }
    }
}

// ---------------------------------------------------------------------------
// api_params

/// The action chosen by a byte.
pub fn action_of(byte: u8) -> Action {
    Action::ALL[usize::from(byte) % Action::ALL.len()]
}

/// `name=value&...` pairs, `+` as a space and `%XX` escapes decoded, invalid
/// UTF-8 replaced; empty segments skipped (as `mnpd-wire` does for forms).
pub fn form_pairs(data: &[u8]) -> Vec<(String, String)> {
    data.split(|&b| b == b'&')
        .filter(|s| !s.is_empty())
        .map(|segment| match segment.iter().position(|&b| b == b'=') {
            Some(i) => (unescape(&segment[..i]), unescape(&segment[i + 1..])),
            None => (unescape(segment), String::new()),
        })
        .collect()
}

fn unescape(raw: &[u8]) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < raw.len() => match (hex(raw[i + 1]), hex(raw[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Deserialises validated parameters into the request struct of the visited action.
struct DecodeAs(Map<String, Value>);

impl ActionVisitor for DecodeAs {
    type Output = Result<(), ParamError>;

    fn visit<R: ApiRequest>(self) -> Result<(), ParamError> {
        decode::<R>(R::ACTION, self.0).map(|_| ())
    }
}

/// `validate`, then `decode` into the action's own request struct: both agree,
/// and JSON that validates is also accepted in its flat form/query spelling.
pub fn check_json(action: Action, params: Map<String, Value>) {
    let validated = validate(action, &params);
    if let Err(e) = &validated {
        assert!(!e.to_string().is_empty());
    }
    let flat = (validated.is_ok() && !has_empty_container(&params)).then(|| flatten(&params));
    let decoded = action.visit(DecodeAs(params));
    assert_eq!(
        validated.is_ok(),
        decoded.is_ok(),
        "{action}: validate says {validated:?} but decode says {decoded:?}"
    );
    if let Some(flat) = flat {
        match from_flat(action, &flat) {
            Ok(map) => {
                if let Err(e) = validate(action, &map) {
                    panic!("{action}: the flat form {flat:?} of valid JSON does not validate: {e}")
                }
            }
            Err(e) => {
                panic!("{action}: from_flat refuses the flat form {flat:?} of valid JSON: {e}")
            }
        }
    }
}

/// `from_flat`, then `validate` and `decode`: what `from_flat` builds follows the
/// schema, so validating it can only find a missing required field.
pub fn check_flat(action: Action, pairs: &[(String, String)]) {
    let map = match from_flat(action, pairs) {
        Ok(map) => map,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    match validate(action, &map) {
        Ok(()) => {
            if let Err(e) = action.visit(DecodeAs(map)) {
                panic!("{action}: from_flat output validates but does not decode: {e}");
            }
        }
        Err(ParamError::Missing { .. }) => {}
        Err(e) => panic!("{action}: from_flat built {map:?} from {pairs:?}, which fails: {e}"),
    }
}

/// Whether a list or object has nothing to spell in the flat form (it is empty,
/// or an object whose members are all `null`): such values have no flat form.
fn has_empty_container(value: &Map<String, Value>) -> bool {
    fn walk(v: &Value) -> bool {
        match v {
            Value::Array(a) => a.is_empty() || a.iter().any(walk),
            Value::Object(m) => m.values().all(Value::is_null) || m.values().any(walk),
            _ => false,
        }
    }
    value.values().any(walk)
}

/// The form/query spelling of a JSON object, as the SDKs send it:
/// `Name=v`, `List.0=v`, `Obj.Field=v`; `null` members left out.
pub fn flatten(params: &Map<String, Value>) -> Vec<(String, String)> {
    fn walk(prefix: String, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Null => {}
            Value::Bool(b) => out.push((prefix, b.to_string())),
            Value::Number(n) => out.push((prefix, n.to_string())),
            Value::String(s) => out.push((prefix, s.clone())),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(format!("{prefix}.{i}"), item, out);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    walk(format!("{prefix}.{k}"), item, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (k, v) in params {
        walk(k.clone(), v, &mut out);
    }
    out
}
