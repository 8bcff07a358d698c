//! Errors reported while decoding a request. Their `Display` text is meant to
//! be shown to API clients as-is: each says what was wrong and what to send.

/// The expected shape of a TC3 `Authorization` header, quoted in messages.
pub(crate) const TC3_AUTH_FORM: &str = "`TC3-HMAC-SHA256 Credential=SECRETID/DATE/SERVICE/tc3_request, SignedHeaders=content-type;host, Signature=HEX`";

/// Why a request could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A required common parameter is absent. Holds its name as the client
    /// knows it: a TC3 header name (`X-TC-Action`, `X-TC-Version`,
    /// `X-TC-Timestamp`), `Authorization`, `Host`, or a v1 parameter name
    /// (`Action`, `Version`, `SecretId`, `Timestamp`, `Nonce`, `Signature`).
    #[error("{}", missing_message(.0))]
    MissingParameter(String),
    /// The `Authorization` header is malformed; the message says what is wrong
    /// and shows the expected form.
    #[error("{0}")]
    InvalidAuthorization(String),
    /// The request is otherwise malformed (body encoding, content type,
    /// timestamp, method, ...); the message says what is wrong and what to send.
    #[error("{0}")]
    InvalidParameter(String),
}

impl WireError {
    /// The TencentCloud API 3.0 error code that matches this error.
    pub fn code(&self) -> &'static str {
        match self {
            WireError::MissingParameter(_) => "MissingParameter",
            WireError::InvalidAuthorization(_) => "AuthFailure.InvalidAuthorization",
            WireError::InvalidParameter(_) => "InvalidParameter",
        }
    }
}

fn missing_message(name: &str) -> String {
    match name {
        "Authorization" => format!(
            "the request has no Authorization header; send `Authorization: {}` \
             (TC3-HMAC-SHA256), or sign with HmacSHA1/HmacSHA256 and send Action, Version, \
             Timestamp, Nonce, SecretId, SignatureMethod and Signature as query parameters (GET) \
             or as an application/x-www-form-urlencoded body (POST)",
            TC3_AUTH_FORM.trim_matches('`')
        ),
        "Host" => "the request has no Host header; send the Host header whose value was used \
                   when the request was signed"
            .to_string(),
        "X-TC-Action" => header_message(
            name,
            "the API action name, e.g. `X-TC-Action: DescribeMNPList`",
        ),
        "X-TC-Version" => header_message(name, "the API version, e.g. `X-TC-Version: 2024-08-01`"),
        "X-TC-Timestamp" => header_message(
            name,
            "the current Unix time in seconds, e.g. `X-TC-Timestamp: 1735689599`",
        ),
        other if other.starts_with("X-TC-") => header_message(other, "it"),
        other => {
            let what = match other {
                "Action" => "the API action name, e.g. `Action=DescribeMNPList`",
                "Version" => "the API version, e.g. `Version=2024-08-01`",
                "Timestamp" => "the current Unix time in seconds, e.g. `Timestamp=1735689599`",
                "Nonce" => "a random positive integer, e.g. `Nonce=11886`",
                "SecretId" => "the SecretId of your API key, e.g. `SecretId=AKID...`",
                "Signature" => {
                    "the base64 HmacSHA1/HmacSHA256 signature of the request, e.g. `Signature=...`"
                }
                _ => "it",
            };
            format!(
                "the request has no `{other}` parameter; HmacSHA1/HmacSHA256-signed requests must \
                 send {what} in the query string (GET) or in the \
                 application/x-www-form-urlencoded body (POST)"
            )
        }
    }
}

fn header_message(name: &str, what: &str) -> String {
    format!("the request has no {name} header; TC3-HMAC-SHA256-signed requests must send {what}")
}
