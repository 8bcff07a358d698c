//! mnpd-wire: the server side of the TencentCloud API 3.0 wire protocol.
//!
//! [`decode`] turns a raw HTTP request (method, headers, query, body) into a
//! [`WireRequest`]: the common parameters, the business parameters and a
//! [`SignatureProof`] that the caller checks against the secret key it looks
//! up for [`WireRequest::secret_id`]. Three signature schemes are accepted:
//!
//! * `TC3-HMAC-SHA256` (an `Authorization` header, common parameters in
//!   `X-TC-*` headers, POST JSON / POST form / GET query);
//! * `HmacSHA1` and `HmacSHA256` ("v1": everything, including `Signature`, in
//!   the query string of a GET or the form body of a POST).
//!
//! The crate is pure: no I/O and no clock. Checking the timestamp window, the
//! credential scope's date and service, and nonce replay is up to the caller.
//!
//! The client half ([`sign_tc3_post`], [`sign_v1`]) produces byte-for-byte the
//! signatures of the official SDKs.

mod error;
mod form;
mod tc3;
mod v1;

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

pub use error::WireError;
pub use tc3::endpoint_service;

/// The service name this server signs for in [`sign_tc3_post`]'s credential
/// scope (`SECRETID/DATE/tcmpp/tc3_request`).
pub const SERVICE: &str = "tcmpp";

/// A request as received by the HTTP server, before any interpretation.
#[derive(Debug, Clone, Copy)]
pub struct IncomingRequest<'a> {
    /// `"GET"` or `"POST"`; anything else is rejected.
    pub method: &'a str,
    /// All request headers. Must include `Host` (with HTTP/2, the server
    /// should copy the `:authority` into a `Host` header).
    pub headers: &'a http::HeaderMap,
    /// The raw query string without `?`, exactly as received (not decoded,
    /// not reordered); may be `""`.
    pub query: &'a str,
    /// The raw request body.
    pub body: &'a [u8],
}

/// A decoded API request.
#[derive(Debug, Clone)]
pub struct WireRequest {
    pub action: String,
    pub version: String,
    pub region: Option<String>,
    /// Seconds since the Unix epoch, as sent by the client.
    pub timestamp: i64,
    pub language: Option<String>,
    pub token: Option<String>,
    pub secret_id: String,
    /// Business parameters only; common parameters are removed.
    pub params: Params,
    /// What must be checked against the secret key of `secret_id`.
    pub proof: SignatureProof,
}

/// Business parameters of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Params {
    /// The JSON object body of a TC3 `application/json` POST.
    Json(serde_json::Map<String, serde_json::Value>),
    /// Name/value pairs, in the order received, from a query string or a form
    /// body. Nested values arrive flattened (`Filters.0.Name=x`) and are left
    /// that way.
    Flat(Vec<(String, String)>),
}

/// A signature scheme of the TencentCloud API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `TC3-HMAC-SHA256` (signature v3, `Authorization` header).
    Tc3HmacSha256,
    /// `SignatureMethod=HmacSHA1` (signature v1; also the v1 default).
    HmacSha1,
    /// `SignatureMethod=HmacSHA256` (signature v1).
    HmacSha256,
}

impl Scheme {
    /// The name used on the wire: `TC3-HMAC-SHA256`, `HmacSHA1` or `HmacSHA256`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Tc3HmacSha256 => "TC3-HMAC-SHA256",
            Scheme::HmacSha1 => "HmacSHA1",
            Scheme::HmacSha256 => "HmacSHA256",
        }
    }
}

/// Everything needed to check a request's signature once the secret key is
/// known. Produced by [`decode`].
#[derive(Clone)]
pub struct SignatureProof {
    inner: ProofInner,
}

#[derive(Clone)]
enum ProofInner {
    Tc3 {
        date: String,
        service: String,
        /// One string to sign per accepted canonical form (see `tc3.rs`).
        strings_to_sign: Vec<Vec<u8>>,
        signature: [u8; 32],
    },
    V1 {
        scheme: Scheme,
        string_to_sign: Vec<u8>,
        signature: Vec<u8>,
    },
}

impl std::fmt::Debug for SignatureProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("SignatureProof");
        d.field("scheme", &self.scheme());
        if let ProofInner::Tc3 { date, service, .. } = &self.inner {
            d.field("date", date).field("service", service);
        }
        d.finish_non_exhaustive()
    }
}

impl SignatureProof {
    /// The scheme the client signed with.
    pub fn scheme(&self) -> Scheme {
        match &self.inner {
            ProofInner::Tc3 { .. } => Scheme::Tc3HmacSha256,
            ProofInner::V1 { scheme, .. } => *scheme,
        }
    }

    /// For TC3: the `(date, service)` of the Credential scope, as sent by the
    /// client (`date` is `yyyy-mm-dd`). `None` for v1 signatures.
    pub fn credential_scope(&self) -> Option<(&str, &str)> {
        match &self.inner {
            ProofInner::Tc3 { date, service, .. } => Some((date, service)),
            ProofInner::V1 { .. } => None,
        }
    }

    /// Whether the request was signed with `secret_key`. The signature
    /// comparison runs in constant time.
    pub fn verify(&self, secret_key: &str) -> bool {
        match &self.inner {
            ProofInner::Tc3 {
                date,
                service,
                strings_to_sign,
                signature,
            } => {
                let key = tc3::signing_key(secret_key, date, service);
                let mut ok = Choice::from(0u8);
                for s in strings_to_sign {
                    let expected = hmac_sha256(&key, s);
                    ok |= expected.as_slice().ct_eq(signature.as_slice());
                }
                ok.into()
            }
            ProofInner::V1 {
                scheme,
                string_to_sign,
                signature,
            } => {
                let expected = v1::raw_signature(*scheme, secret_key, string_to_sign);
                expected.as_slice().ct_eq(signature.as_slice()).into()
            }
        }
    }
}

/// Decode a request: common parameters, business parameters and the
/// signature proof. The signature itself is checked later with
/// [`SignatureProof::verify`].
///
/// A request with an `Authorization` header is TC3-HMAC-SHA256; one without is
/// a v1 (HmacSHA1/HmacSHA256) request whose parameters are in the query string
/// (GET) or the form body (POST).
pub fn decode(req: &IncomingRequest<'_>) -> Result<WireRequest, WireError> {
    match req.method {
        "GET" | "POST" => {}
        other => {
            return Err(WireError::InvalidParameter(format!(
                "HTTP method `{other}` is not supported; send the request with GET or POST"
            )))
        }
    }
    if req.headers.contains_key(http::header::AUTHORIZATION) {
        return tc3::decode(req);
    }
    // No Authorization header. A request that is plainly TC3-shaped would only
    // get a confusing "missing Action" from the v1 path.
    if req.headers.contains_key("x-tc-action") || (req.method == "POST" && is_json_post(req)) {
        return Err(WireError::MissingParameter("Authorization".into()));
    }
    v1::decode(req)
}

fn is_json_post(req: &IncomingRequest<'_>) -> bool {
    req.headers
        .get(http::header::CONTENT_TYPE)
        .map(|v| media_type(v.as_bytes()) == "application/json")
        .unwrap_or(false)
}

/// The media type of a Content-Type value, lowercased, parameters dropped.
pub(crate) fn media_type(value: &[u8]) -> String {
    let s = String::from_utf8_lossy(value);
    s.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Client side of TC3-HMAC-SHA256 for a POST with a JSON body, signed exactly
/// as the official SDKs do (`SignedHeaders=content-type;host`,
/// `Content-Type: application/json`). Returns every header to send, in order:
/// `Content-Type`, `Host`, `X-TC-Action`, `X-TC-Timestamp`, `X-TC-Version`,
/// `X-TC-Region` (when given) and `Authorization`. Add `X-TC-Token` /
/// `X-TC-Language` yourself if needed; they are not signed.
#[allow(clippy::too_many_arguments)]
pub fn sign_tc3_post(
    secret_id: &str,
    secret_key: &str,
    host: &str,
    action: &str,
    version: &str,
    region: Option<&str>,
    timestamp: i64,
    body: &[u8],
) -> Vec<(String, String)> {
    const CONTENT_TYPE: &str = "application/json";
    let date = utc_date(timestamp);
    let timestamp_str = timestamp.to_string();
    let canonical = tc3::canonical_request(
        b"POST",
        b"",
        &[
            (b"content-type".as_slice(), CONTENT_TYPE.as_bytes()),
            (b"host".as_slice(), host.as_bytes()),
        ],
        b"content-type;host",
        &hex::encode(Sha256::digest(body)),
    );
    let to_sign = tc3::string_to_sign(timestamp_str.as_bytes(), &date, SERVICE, &canonical);
    let signature = hex::encode(hmac_sha256(
        &tc3::signing_key(secret_key, &date, SERVICE),
        &to_sign,
    ));
    let mut headers = vec![
        ("Content-Type".to_string(), CONTENT_TYPE.to_string()),
        ("Host".to_string(), host.to_string()),
        ("X-TC-Action".to_string(), action.to_string()),
        ("X-TC-Timestamp".to_string(), timestamp_str),
        ("X-TC-Version".to_string(), version.to_string()),
    ];
    if let Some(region) = region.filter(|r| !r.is_empty()) {
        headers.push(("X-TC-Region".to_string(), region.to_string()));
    }
    headers.push((
        "Authorization".to_string(),
        format!(
            "TC3-HMAC-SHA256 Credential={secret_id}/{date}/{SERVICE}/tc3_request, \
             SignedHeaders=content-type;host, Signature={signature}"
        ),
    ));
    headers
}

/// Client side of the v1 signature: base64(HMAC(secret_key, string to sign))
/// where the string to sign is `METHOD + host + path + "?" + k=v&...`, over
/// all `params` except `Signature`, sorted by name, values not URL-encoded,
/// with `_` in names replaced by `.` (as the official SDK does). `params` are
/// the decoded parameter values, including `Action`, `Nonce`, `SecretId`,
/// `SignatureMethod` and so on.
///
/// # Panics
/// If `scheme` is [`Scheme::Tc3HmacSha256`], which is not a v1 scheme.
pub fn sign_v1(
    method: &str,
    host: &str,
    path: &str,
    secret_key: &str,
    params: &[(String, String)],
    scheme: Scheme,
) -> String {
    assert!(
        scheme != Scheme::Tc3HmacSha256,
        "sign_v1 signs HmacSHA1 or HmacSHA256; TC3-HMAC-SHA256 requests use sign_tc3_post"
    );
    let to_sign = v1::string_to_sign(method, host, path, params);
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .encode(v1::raw_signature(scheme, secret_key, &to_sign))
}

/// The UTC calendar date (`yyyy-mm-dd`) of a Unix timestamp, as used in the
/// TC3 credential scope.
pub fn utc_date(timestamp: i64) -> String {
    let (y, m, d) = civil_from_unix_days(timestamp.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Proleptic Gregorian (year, month, day) of a count of days since 1970-01-01.
fn civil_from_unix_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a year,
    // then split into 400-year eras of 146097 days.
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub(crate) fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

pub(crate) fn hmac_sha1(key: &[u8], msg: &[u8]) -> [u8; 20] {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// Parse a timestamp sent by a client: decimal digits only.
pub(crate) fn parse_timestamp(raw: &str, name: &str) -> Result<i64, WireError> {
    let bad = || {
        let example = if name.starts_with("X-TC-") {
            format!("`{name}: 1735689599`")
        } else {
            format!("`{name}=1735689599`")
        };
        WireError::InvalidParameter(format!(
            "{name} must be the current Unix time in seconds as a decimal integer, but got \
             `{}`; send e.g. {example}",
            tc3::clip(raw)
        ))
    };
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    raw.parse::<i64>().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(1_735_689_599), "2024-12-31");
        assert_eq!(utc_date(1_735_689_600), "2025-01-01");
        assert_eq!(utc_date(1_709_208_000), "2024-02-29");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(4_107_542_400), "2100-03-01");
        assert_eq!(utc_date(-1), "1969-12-31");
        assert_eq!(utc_date(253_402_300_799), "9999-12-31");
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1735689599", "X").unwrap(), 1_735_689_599);
        for bad in ["", "-1", "+1", "1.5", "12a", "99999999999999999999"] {
            assert!(
                matches!(
                    parse_timestamp(bad, "X"),
                    Err(WireError::InvalidParameter(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn scheme_names() {
        assert_eq!(Scheme::Tc3HmacSha256.as_str(), "TC3-HMAC-SHA256");
        assert_eq!(Scheme::HmacSha1.as_str(), "HmacSHA1");
        assert_eq!(Scheme::HmacSha256.as_str(), "HmacSHA256");
    }

    #[test]
    #[should_panic(expected = "sign_v1 signs HmacSHA1 or HmacSHA256")]
    fn sign_v1_rejects_tc3() {
        sign_v1("GET", "h", "/", "k", &[], Scheme::Tc3HmacSha256);
    }

    #[test]
    fn error_codes() {
        assert_eq!(
            WireError::MissingParameter("X".into()).code(),
            "MissingParameter"
        );
        assert_eq!(
            WireError::InvalidAuthorization("x".into()).code(),
            "AuthFailure.InvalidAuthorization"
        );
        assert_eq!(
            WireError::InvalidParameter("x".into()).code(),
            "InvalidParameter"
        );
    }
}
