//! HmacSHA1 / HmacSHA256 (signature v1).
//!
//! All parameters, common ones included, travel in the query string (GET) or
//! in an `application/x-www-form-urlencoded` body (POST). The string to sign
//! is, as the official SDK builds it:
//!
//! ```text
//! METHOD + Host + "/" + "?" + join("&", sorted("k=v" for every parameter but Signature))
//! ```
//!
//! with decoded (not URL-encoded) values, and with every `_` in a parameter
//! name replaced by `.` before sorting and joining (the SDK does this in the
//! string to sign only; the names on the wire keep their underscores).

use crate::tc3::clip;
use crate::{
    form, hmac_sha1, hmac_sha256, media_type, parse_timestamp, IncomingRequest, Params, ProofInner,
    Scheme, SignatureProof, WireError, WireRequest,
};

/// Parameters that are not business parameters.
const COMMON: [&str; 11] = [
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

pub(crate) fn decode(req: &IncomingRequest<'_>) -> Result<WireRequest, WireError> {
    let pairs = if req.method == "GET" {
        form::parse(req.query.as_bytes(), "query string")?
    } else {
        let content_type = req
            .headers
            .get(http::header::CONTENT_TYPE)
            .map(|v| media_type(v.as_bytes()))
            .unwrap_or_default();
        if !content_type.is_empty() && content_type != "application/x-www-form-urlencoded" {
            return Err(WireError::InvalidParameter(format!(
                "Content-Type `{}` cannot carry an HmacSHA1/HmacSHA256-signed request; send the \
                 parameters as an application/x-www-form-urlencoded body, or sign with \
                 TC3-HMAC-SHA256 and send an Authorization header",
                clip(&content_type)
            )));
        }
        form::parse(req.body, "request body")?
    };

    let one = |name: &str| -> Result<Option<&str>, WireError> {
        let mut found = pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let first = found.next();
        if found.next().is_some() {
            return Err(WireError::InvalidParameter(format!(
                "the `{name}` parameter was sent more than once; send it exactly once"
            )));
        }
        Ok(first.filter(|v| !v.is_empty()))
    };
    let required = |name: &str| -> Result<String, WireError> {
        one(name)?
            .map(str::to_string)
            .ok_or_else(|| WireError::MissingParameter(name.to_string()))
    };

    let action = required("Action")?;
    let version = required("Version")?;
    let secret_id = required("SecretId")?;
    let timestamp = parse_timestamp(&required("Timestamp")?, "Timestamp")?;
    required("Nonce")?;
    let signature_b64 = required("Signature")?;
    let region = one("Region")?.map(str::to_string);
    let token = one("Token")?.map(str::to_string);
    let language = one("Language")?.map(str::to_string);
    let scheme = match one("SignatureMethod")? {
        None | Some("HmacSHA1") => Scheme::HmacSha1,
        Some("HmacSHA256") => Scheme::HmacSha256,
        Some(other) => {
            return Err(WireError::InvalidParameter(format!(
                "SignatureMethod `{}` is not supported; send SignatureMethod=HmacSHA1 or \
                 SignatureMethod=HmacSHA256 (or sign with TC3-HMAC-SHA256 in an Authorization \
                 header)",
                clip(other)
            )))
        }
    };
    // Base64 never contains a space: a space here is a '+' that the client did
    // not percent-encode, which form decoding turned into a space.
    use base64::Engine as _;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.replace(' ', "+"))
        .map_err(|_| {
            WireError::InvalidParameter(format!(
                "the Signature parameter `{}` is not valid base64; send \
                 base64(HMAC(SecretKey, string to sign)), percent-encoded ('+' as %2B, '/' as \
                 %2F, '=' as %3D)",
                clip(&signature_b64)
            ))
        })?;

    let host = {
        let mut all = req.headers.get_all(http::header::HOST).iter();
        let value = all
            .next()
            .ok_or_else(|| WireError::MissingParameter("Host".into()))?;
        if all.next().is_some() {
            return Err(WireError::InvalidParameter(
                "the Host header was sent more than once; send it exactly once".into(),
            ));
        }
        std::str::from_utf8(value.as_bytes())
            .map_err(|_| {
                WireError::InvalidParameter(
                    "the Host header is not valid text; send the host name (and port) that \
                     the request was signed for"
                        .into(),
                )
            })?
            .trim()
            .to_string()
    };

    let string_to_sign = string_to_sign(req.method, &host, "/", &pairs);
    let params = pairs
        .into_iter()
        .filter(|(k, _)| !COMMON.contains(&k.as_str()))
        .collect();

    Ok(WireRequest {
        action,
        version,
        region,
        timestamp,
        language,
        token,
        secret_id,
        params: Params::Flat(params),
        proof: SignatureProof {
            inner: ProofInner::V1 {
                scheme,
                string_to_sign,
                signature,
            },
        },
    })
}

pub(crate) fn string_to_sign(
    method: &str,
    host: &str,
    path: &str,
    params: &[(String, String)],
) -> Vec<u8> {
    let mut items: Vec<(String, &str)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (k.replace('_', "."), v.as_str()))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::with_capacity(64 + items.len() * 24);
    out.push_str(method);
    out.push_str(host);
    out.push_str(path);
    out.push('?');
    for (i, (k, v)) in items.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out.into_bytes()
}

/// The raw HMAC of a v1 string to sign. `scheme` is HmacSha1 or HmacSha256
/// (callers never pass Tc3HmacSha256).
pub(crate) fn raw_signature(scheme: Scheme, secret_key: &str, string_to_sign: &[u8]) -> Vec<u8> {
    match scheme {
        Scheme::HmacSha1 => hmac_sha1(secret_key.as_bytes(), string_to_sign).to_vec(),
        Scheme::HmacSha256 | Scheme::Tc3HmacSha256 => {
            hmac_sha256(secret_key.as_bytes(), string_to_sign).to_vec()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_to_sign_sorts_replaces_underscores_and_skips_signature() {
        let params: Vec<(String, String)> = [
            ("Nonce", "1"),
            ("Signature", "zzz"),
            ("A_b", "x y&z"),
            ("Action", "Go"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            String::from_utf8(string_to_sign("GET", "h:1", "/", &params)).unwrap(),
            "GETh:1/?A.b=x y&z&Action=Go&Nonce=1"
        );
    }
}
