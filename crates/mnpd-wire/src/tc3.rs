//! TC3-HMAC-SHA256 (signature v3).
//!
//! Canonical request, as the official SDKs build it:
//!
//! ```text
//! METHOD \n / \n QUERY \n name:value\n ... \n SIGNED_HEADERS \n hex(sha256(payload))
//! ```
//!
//! * QUERY is the raw query string of a GET exactly as sent (the SDKs sign the
//!   very string they put in the URL: no re-sorting, no re-encoding), and `""`
//!   for a POST.
//! * payload is the body of a POST, `""` for a GET, and the 16 bytes
//!   `UNSIGNED-PAYLOAD` when the client sends `X-TC-Content-SHA256:
//!   UNSIGNED-PAYLOAD` (the SDK hashes that literal; it does not put the
//!   literal itself in the canonical request).
//! * Header values: the API documentation says trimmed and lowercased (the
//!   hand-written examples sign `x-tc-action:describeinstances`); the Python
//!   SDK signs `content-type` and `host` verbatim. Both forms are accepted: the
//!   lowercased form always, the verbatim form as well when it differs.
//! * The `host` value: the Node SDK signs the URL's host name without its
//!   port while sending `Host` with it, so at an address with a port (every
//!   local mnpd) its signature covers `127.0.0.1` for a `Host:
//!   127.0.0.1:9080`. Each form above is also tried with the port taken
//!   off; the host name itself must still be the one the request was sent
//!   to (docs/security.md).

use sha2::{Digest, Sha256};

use crate::error::TC3_AUTH_FORM;
use crate::{
    form, hmac_sha256, media_type, parse_timestamp, IncomingRequest, Params, ProofInner,
    SignatureProof, WireError, WireRequest,
};

const ALGORITHM: &str = "TC3-HMAC-SHA256";
const TERMINATOR: &str = "tc3_request";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Headers every TC3 signature must cover (as the API documentation requires).
const REQUIRED_SIGNED: [&str; 2] = ["content-type", "host"];

struct Authorization {
    secret_id: String,
    date: String,
    service: String,
    signed_headers: String,
    header_names: Vec<String>,
    signature: [u8; 32],
}

pub(crate) fn decode(req: &IncomingRequest<'_>) -> Result<WireRequest, WireError> {
    let auth = authorization_header(req.headers)?;
    let auth = parse_authorization(auth)?;

    let action = required_header(req.headers, "X-TC-Action")?;
    let version = required_header(req.headers, "X-TC-Version")?;
    let timestamp_raw = required_header(req.headers, "X-TC-Timestamp")?;
    let timestamp = parse_timestamp(&timestamp_raw, "X-TC-Timestamp")?;
    let region = optional_header(req.headers, "X-TC-Region")?;
    let token = optional_header(req.headers, "X-TC-Token")?;
    let language = optional_header(req.headers, "X-TC-Language")?;

    // Values of the signed headers, trimmed; repeated headers joined by ','.
    let mut signed_values: Vec<Vec<u8>> = Vec::with_capacity(auth.header_names.len());
    for name in &auth.header_names {
        let mut joined: Option<Vec<u8>> = None;
        for value in req.headers.get_all(name.as_str()) {
            let v = value.as_bytes().trim_ascii();
            match joined.as_mut() {
                None => joined = Some(v.to_vec()),
                Some(j) => {
                    j.push(b',');
                    j.extend_from_slice(v);
                }
            }
        }
        let Some(value) = joined else {
            return Err(WireError::InvalidAuthorization(format!(
                "SignedHeaders in the Authorization header names `{name}`, but the request has \
                 no {name} header; sign only headers that you send, e.g. \
                 SignedHeaders=content-type;host, as in {TC3_AUTH_FORM}"
            )));
        };
        signed_values.push(value);
    }

    let is_get = req.method == "GET";
    let params = if is_get {
        Params::Flat(form::parse(req.query.as_bytes(), "query string")?)
    } else {
        post_params(req)?
    };

    let unsigned = req
        .headers
        .get("x-tc-content-sha256")
        .is_some_and(|v| v.as_bytes() == UNSIGNED_PAYLOAD.as_bytes());
    let payload: &[u8] = if unsigned {
        UNSIGNED_PAYLOAD.as_bytes()
    } else if is_get {
        b""
    } else {
        req.body
    };
    let payload_hash = hex::encode(Sha256::digest(payload));
    let query: &[u8] = if is_get { req.query.as_bytes() } else { b"" };

    let lowered: Vec<Vec<u8>> = signed_values.iter().map(|v| lowercase(v)).collect();
    let mut variants = vec![lowered];
    if variants[0] != signed_values {
        variants.push(signed_values);
    }
    if let Some(host) = auth.header_names.iter().position(|n| n == "host") {
        let portless: Vec<Vec<Vec<u8>>> = variants
            .iter()
            .filter_map(|values| {
                let name = host_without_port(&values[host])?;
                let mut values = values.clone();
                values[host] = name.to_vec();
                Some(values)
            })
            .collect();
        variants.extend(portless);
    }
    let strings_to_sign = variants
        .iter()
        .map(|values| {
            let headers: Vec<(&[u8], &[u8])> = auth
                .header_names
                .iter()
                .map(|n| n.as_bytes())
                .zip(values.iter().map(|v| v.as_slice()))
                .collect();
            let canonical = canonical_request(
                req.method.as_bytes(),
                query,
                &headers,
                auth.signed_headers.as_bytes(),
                &payload_hash,
            );
            string_to_sign(
                timestamp_raw.as_bytes(),
                &auth.date,
                &auth.service,
                &canonical,
            )
        })
        .collect();

    Ok(WireRequest {
        action,
        version,
        region,
        timestamp,
        language,
        token,
        secret_id: auth.secret_id,
        params,
        proof: SignatureProof {
            inner: ProofInner::Tc3 {
                date: auth.date,
                service: auth.service,
                strings_to_sign,
                signature: auth.signature,
            },
        },
    })
}

/// `host[:port]` without its port, or `None` when there is no port.
/// Bracketed IPv6 literals keep their brackets, as a URL's host name does.
fn host_without_port(host: &[u8]) -> Option<&[u8]> {
    let colon = host.iter().rposition(|&b| b == b':')?;
    let (name, port) = (&host[..colon], &host[colon + 1..]);
    let bracketed_v6 = name.first() == Some(&b'[') && name.last() == Some(&b']');
    let unbracketed_v6 = !bracketed_v6 && name.contains(&b':');
    if name.is_empty() || port.is_empty() || unbracketed_v6 || !port.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    Some(name)
}

/// The service an SDK signs with when it derives it from the endpoint, as
/// the Node SDK does: the endpoint (the `Host` value, port included) up to
/// its first dot. `tcmpp.example.test:9080` gives `tcmpp`, `127.0.0.1:9080`
/// gives `127`, `localhost:9080` gives itself.
pub fn endpoint_service(host: &str) -> &str {
    host.split('.').next().unwrap_or(host)
}

pub(crate) fn canonical_request(
    method: &[u8],
    query: &[u8],
    headers: &[(&[u8], &[u8])],
    signed_headers: &[u8],
    payload_hash: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + query.len());
    out.extend_from_slice(method);
    out.extend_from_slice(b"\n/\n");
    out.extend_from_slice(query);
    out.push(b'\n');
    for (name, value) in headers {
        out.extend_from_slice(name);
        out.push(b':');
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers);
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

pub(crate) fn string_to_sign(
    timestamp: &[u8],
    date: &str,
    service: &str,
    canonical_request: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(ALGORITHM.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(timestamp);
    out.push(b'\n');
    out.extend_from_slice(format!("{date}/{service}/{TERMINATOR}\n").as_bytes());
    out.extend_from_slice(hex::encode(Sha256::digest(canonical_request)).as_bytes());
    out
}

pub(crate) fn signing_key(secret_key: &str, date: &str, service: &str) -> [u8; 32] {
    let mut k_secret = Vec::with_capacity(3 + secret_key.len());
    k_secret.extend_from_slice(b"TC3");
    k_secret.extend_from_slice(secret_key.as_bytes());
    let k_date = hmac_sha256(&k_secret, date.as_bytes());
    let k_service = hmac_sha256(&k_date, service.as_bytes());
    hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

fn lowercase(value: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(value) {
        Ok(s) => s.to_lowercase().into_bytes(),
        Err(_) => value.to_ascii_lowercase(),
    }
}

fn post_params(req: &IncomingRequest<'_>) -> Result<Params, WireError> {
    let content_type = req
        .headers
        .get(http::header::CONTENT_TYPE)
        .map(|v| media_type(v.as_bytes()))
        .unwrap_or_default();
    match content_type.as_str() {
        "application/json" => json_params(req.body).map(Params::Json),
        "application/x-www-form-urlencoded" => {
            Ok(Params::Flat(form::parse(req.body, "request body")?))
        }
        "" => Err(WireError::InvalidParameter(
            "the POST request has no Content-Type header; send `Content-Type: application/json` \
             with a JSON object body"
                .into(),
        )),
        other => Err(WireError::InvalidParameter(format!(
            "Content-Type `{}` is not supported; send `Content-Type: application/json` with a \
             JSON object body (or application/x-www-form-urlencoded)",
            clip(other)
        ))),
    }
}

fn json_params(body: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, WireError> {
    let text = std::str::from_utf8(body).map_err(|_| {
        WireError::InvalidParameter(
            "the request body is not valid UTF-8; send a UTF-8 encoded JSON object".into(),
        )
    })?;
    if text.trim().is_empty() {
        return Ok(serde_json::Map::new());
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        WireError::InvalidParameter(format!(
            "the request body is not valid JSON ({e}); send the parameters as a JSON object, \
             e.g. {{\"Offset\": 0, \"Limit\": 10}}"
        ))
    })?;
    match value {
        serde_json::Value::Object(map) => Ok(map),
        other => {
            let kind = match other {
                serde_json::Value::Null => "null",
                serde_json::Value::Bool(_) => "a boolean",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Array(_) => "an array",
                serde_json::Value::Object(_) => unreachable!(),
            };
            Err(WireError::InvalidParameter(format!(
                "the request body is {kind}, not a JSON object; send the parameters as a JSON \
                 object, e.g. {{\"Offset\": 0, \"Limit\": 10}} (or {{}} for none)"
            )))
        }
    }
}

fn authorization_header(headers: &http::HeaderMap) -> Result<&str, WireError> {
    let mut all = headers.get_all(http::header::AUTHORIZATION).iter();
    let value = all.next().expect("caller checked the header is present");
    if all.next().is_some() {
        return Err(WireError::InvalidAuthorization(format!(
            "the request has more than one Authorization header; send exactly one: \
             {TC3_AUTH_FORM}"
        )));
    }
    std::str::from_utf8(value.as_bytes()).map_err(|_| {
        WireError::InvalidAuthorization(format!(
            "the Authorization header is not valid text; send {TC3_AUTH_FORM}"
        ))
    })
}

fn parse_authorization(value: &str) -> Result<Authorization, WireError> {
    let invalid =
        |what: String| WireError::InvalidAuthorization(format!("{what}; send {TC3_AUTH_FORM}"));
    let value = value.trim();
    let (algorithm, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        return Err(WireError::InvalidAuthorization(format!(
            "the Authorization header uses the algorithm `{}`, but only TC3-HMAC-SHA256 is \
             accepted there; send {TC3_AUTH_FORM} (HmacSHA1/HmacSHA256 signatures go in the \
             Signature request parameter, with no Authorization header)",
            clip(algorithm)
        )));
    }

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((key, val)) = part.split_once('=') else {
            return Err(invalid(format!(
                "the Authorization header part `{}` is not of the form NAME=VALUE",
                clip(part)
            )));
        };
        let key = key.trim();
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.is_some() {
            return Err(invalid(format!(
                "the Authorization header has more than one {key} part"
            )));
        }
        *slot = Some(val.trim());
    }
    let missing = |name: &str| invalid(format!("the Authorization header has no {name} part"));
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed_headers = signed_headers.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;

    // Credential = SECRETID/DATE/SERVICE/tc3_request
    let bad_scope = || {
        invalid(format!(
            "the Credential `{}` in the Authorization header is not \
             SECRETID/DATE/SERVICE/tc3_request (DATE is the UTC date of X-TC-Timestamp as \
             yyyy-mm-dd, SERVICE is e.g. tcmpp)",
            clip(credential)
        ))
    };
    let mut pieces = credential.rsplitn(4, '/');
    let terminator = pieces.next().unwrap_or_default();
    let service = pieces.next().ok_or_else(bad_scope)?;
    let date = pieces.next().ok_or_else(bad_scope)?;
    let secret_id = pieces.next().ok_or_else(bad_scope)?;
    if terminator != TERMINATOR
        || secret_id.is_empty()
        || service.is_empty()
        || service.contains(char::is_whitespace)
        || !is_date(date)
    {
        return Err(bad_scope());
    }

    let mut header_names = Vec::new();
    for name in signed_headers.split(';') {
        let lower = name.to_ascii_lowercase();
        if http::HeaderName::from_bytes(lower.as_bytes()).is_err() {
            return Err(invalid(format!(
                "SignedHeaders `{}` in the Authorization header is not a `;`-separated list of \
                 header names",
                clip(signed_headers)
            )));
        }
        header_names.push(lower);
    }
    for required in REQUIRED_SIGNED {
        if !header_names.iter().any(|n| n == required) {
            return Err(invalid(format!(
                "SignedHeaders `{}` in the Authorization header does not include {required}; \
                 the signature must cover at least content-type and host",
                clip(signed_headers)
            )));
        }
    }

    let mut sig = [0u8; 32];
    if signature.len() != 64 || hex::decode_to_slice(signature, &mut sig).is_err() {
        return Err(invalid(format!(
            "the Signature `{}` in the Authorization header is not 64 hexadecimal characters \
             (the hex-encoded HMAC-SHA256 of the string to sign)",
            clip(signature)
        )));
    }

    Ok(Authorization {
        secret_id: secret_id.to_string(),
        date: date.to_string(),
        service: service.to_string(),
        signed_headers: signed_headers.to_string(),
        header_names,
        signature: sig,
    })
}

/// `yyyy-mm-dd` with a plausible month and day.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    matches!(
        (digits(0..4), digits(5..7), digits(8..10)),
        (Some(_), Some(1..=12), Some(1..=31))
    )
}

fn single_header<'h>(
    headers: &'h http::HeaderMap,
    name: &str,
) -> Result<Option<&'h str>, WireError> {
    let mut all = headers.get_all(name).iter();
    let Some(value) = all.next() else {
        return Ok(None);
    };
    if all.next().is_some() {
        return Err(WireError::InvalidParameter(format!(
            "the {name} header was sent more than once; send it exactly once"
        )));
    }
    let text = std::str::from_utf8(value.as_bytes()).map_err(|_| {
        WireError::InvalidParameter(format!(
            "the {name} header is not valid UTF-8 text; send it as UTF-8"
        ))
    })?;
    Ok(Some(text.trim()))
}

fn required_header(headers: &http::HeaderMap, name: &str) -> Result<String, WireError> {
    match single_header(headers, name)? {
        Some(v) if !v.is_empty() => Ok(v.to_string()),
        _ => Err(WireError::MissingParameter(name.to_string())),
    }
}

fn optional_header(headers: &http::HeaderMap, name: &str) -> Result<Option<String>, WireError> {
    Ok(single_header(headers, name)?
        .filter(|v| !v.is_empty())
        .map(str::to_string))
}

/// Quote at most 80 characters of client input in an error message.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_shapes() {
        assert!(is_date("2024-02-29"));
        for bad in [
            "2024-2-29",
            "2024-13-01",
            "2024-00-10",
            "2024-01-32",
            "20240101xx",
            "２０２4-01-01",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }

    #[test]
    fn clip_limits_length() {
        assert_eq!(clip("abc"), "abc");
        let long = "é".repeat(100);
        assert_eq!(clip(&long).chars().count(), 83);
    }

    #[test]
    fn canonical_request_layout() {
        let c = canonical_request(
            b"POST",
            b"",
            &[
                (b"content-type".as_slice(), b"application/json".as_slice()),
                (b"host".as_slice(), b"h:1".as_slice()),
            ],
            b"content-type;host",
            "abc",
        );
        assert_eq!(
            c,
            b"POST\n/\n\ncontent-type:application/json\nhost:h:1\n\ncontent-type;host\nabc"
        );
    }

    #[test]
    fn host_names_without_their_port() {
        let cases: [(&str, Option<&str>); 8] = [
            ("127.0.0.1:9080", Some("127.0.0.1")),
            ("tcmpp.example.test:443", Some("tcmpp.example.test")),
            ("[::1]:9080", Some("[::1]")),
            ("localhost", None),
            ("[::1]", None),
            ("::1", None),
            ("host:", None),
            ("host:80a", None),
        ];
        for (host, want) in cases {
            let got = host_without_port(host.as_bytes()).map(|h| std::str::from_utf8(h).unwrap());
            assert_eq!(got, want, "{host}");
        }
    }

    #[test]
    fn service_read_off_an_endpoint() {
        assert_eq!(endpoint_service("tcmpp.example.test:9080"), "tcmpp");
        assert_eq!(endpoint_service("127.0.0.1:9080"), "127");
        assert_eq!(endpoint_service("localhost:9080"), "localhost:9080");
        assert_eq!(endpoint_service("[::1]:9080"), "[::1]:9080");
    }
}
