//! The upload token handed out by DescribeTempSecret4UploadFile2Cos and
//! checked by `PUT /uploads/KEY`. It is stateless, so any node checks it
//! without a lookup:
//!
//! ```text
//! TempSecretId  = base64url("ACCOUNT:EXPIRES:KEY:SECRET_ID")
//! TempSecretKey = base64url(HMAC-SHA256(server key, "mnpd-upload-v2\n" + TempSecretId))
//! Token         = TempSecretId + "." + TempSecretKey
//! ```
//!
//! The MAC binds the upload key, the account, the expiry and the SecretId
//! of the API key that asked for it together (so that disabling that key
//! voids its tokens); it
//! is verified (in constant time) before anything in the claims is
//! believed. The prefix of the MAC input keeps these MACs apart from any
//! other use of an HMAC key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const DOMAIN: &[u8] = b"mnpd-upload-v2\n";
/// The first format, without the SecretId: recognised only to tell its
/// holder to get new credentials.
const DOMAIN_V1: &[u8] = b"mnpd-upload-v1\n";

/// What a token allows: one upload to `key` for `account_id` until
/// `expires` (Unix seconds), while the API key `secret_id` that asked for
/// it stays enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub account_id: i64,
    pub expires: i64,
    pub key: String,
    pub secret_id: String,
}

/// A token and its two halves, as the API answers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub secret_id: String,
    pub secret_key: String,
    pub token: String,
}

/// Why a token is refused. The first three mean "not authenticated", the
/// last "authenticated, but not for this".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    BadSignature,
    /// Genuine, but of the first format, which names no API key.
    OldFormat,
    Expired,
    WrongKey,
}

fn mac(server_key: &[u8], secret_id: &str) -> Hmac<Sha256> {
    mac_of(DOMAIN, server_key, secret_id)
}

fn mac_of(domain: &[u8], server_key: &[u8], secret_id: &str) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(server_key).expect("HMAC takes any key length");
    mac.update(domain);
    mac.update(secret_id.as_bytes());
    mac
}

pub fn issue(server_key: &[u8], claims: &Claims) -> Issued {
    // The upload key holds no `:` (see `is_upload_key`), so the SecretId,
    // which may, goes last.
    let secret_id = URL_SAFE_NO_PAD.encode(format!(
        "{}:{}:{}:{}",
        claims.account_id, claims.expires, claims.key, claims.secret_id
    ));
    let secret_key = URL_SAFE_NO_PAD.encode(mac(server_key, &secret_id).finalize().into_bytes());
    let token = format!("{secret_id}.{secret_key}");
    Issued {
        secret_id,
        secret_key,
        token,
    }
}

/// The claims of `token` when it is genuine, unexpired at `now` and for
/// `key`.
pub fn check(server_key: &[u8], token: &str, key: &str, now: i64) -> Result<Claims, TokenError> {
    let (secret_id, given) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let given = URL_SAFE_NO_PAD
        .decode(given)
        .map_err(|_| TokenError::Malformed)?;
    if mac(server_key, secret_id).verify_slice(&given).is_err() {
        return Err(
            if mac_of(DOMAIN_V1, server_key, secret_id)
                .verify_slice(&given)
                .is_ok()
            {
                TokenError::OldFormat
            } else {
                TokenError::BadSignature
            },
        );
    }
    // Genuine from here on: only this server could have written the claims.
    let claims = URL_SAFE_NO_PAD
        .decode(secret_id)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|text| {
            let mut parts = text.splitn(4, ':');
            Some(Claims {
                account_id: parts.next()?.parse().ok()?,
                expires: parts.next()?.parse().ok()?,
                key: parts.next()?.to_string(),
                secret_id: parts.next().filter(|s| !s.is_empty())?.to_string(),
            })
        })
        .ok_or(TokenError::Malformed)?;
    if claims.expires < now {
        return Err(TokenError::Expired);
    }
    if claims.key != key {
        return Err(TokenError::WrongKey);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const KEY: &str = "tcmpp/00112233445566778899aabbccddeeff.zip";

    fn claims() -> Claims {
        Claims {
            account_id: 7,
            expires: 1_000,
            key: KEY.into(),
            secret_id: "AKID:with:colons".into(),
        }
    }

    #[test]
    fn a_fresh_token_is_accepted_for_its_key_until_it_expires() {
        let issued = issue(SERVER_KEY, &claims());
        assert_eq!(
            issued.token,
            format!("{}.{}", issued.secret_id, issued.secret_key)
        );
        assert_eq!(check(SERVER_KEY, &issued.token, KEY, 999), Ok(claims()));
        assert_eq!(check(SERVER_KEY, &issued.token, KEY, 1_000), Ok(claims()));
        assert_eq!(
            check(SERVER_KEY, &issued.token, KEY, 1_001),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_token_is_bound_to_its_key() {
        let issued = issue(SERVER_KEY, &claims());
        let other = "tcmpp/ffffffffffffffffffffffffffffffff.zip";
        assert_eq!(
            check(SERVER_KEY, &issued.token, other, 0),
            Err(TokenError::WrongKey)
        );
    }

    #[test]
    fn another_server_key_does_not_verify() {
        let issued = issue(SERVER_KEY, &claims());
        assert_eq!(
            check(b"another key", &issued.token, KEY, 0),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn changed_claims_do_not_verify() {
        // Same MAC, claims rewritten for another account, a later expiry or
        // another key: each is a forgery.
        let issued = issue(SERVER_KEY, &claims());
        for forged in [
            Claims {
                account_id: 8,
                ..claims()
            },
            Claims {
                expires: 9_999_999_999,
                ..claims()
            },
            Claims {
                key: "tcmpp/ffffffffffffffffffffffffffffffff.zip".into(),
                ..claims()
            },
            Claims {
                secret_id: "AKIDother".into(),
                ..claims()
            },
        ] {
            let id = URL_SAFE_NO_PAD.encode(format!(
                "{}:{}:{}:{}",
                forged.account_id, forged.expires, forged.key, forged.secret_id
            ));
            let token = format!("{id}.{}", issued.secret_key);
            assert_eq!(
                check(SERVER_KEY, &token, &forged.key, 0),
                Err(TokenError::BadSignature),
                "{forged:?}"
            );
        }
    }

    #[test]
    fn a_changed_or_truncated_mac_does_not_verify() {
        let issued = issue(SERVER_KEY, &claims());
        let mut mac = URL_SAFE_NO_PAD.decode(&issued.secret_key).unwrap();
        mac[0] ^= 1;
        let flipped = format!("{}.{}", issued.secret_id, URL_SAFE_NO_PAD.encode(&mac));
        assert_eq!(
            check(SERVER_KEY, &flipped, KEY, 0),
            Err(TokenError::BadSignature)
        );
        let short = format!(
            "{}.{}",
            issued.secret_id,
            URL_SAFE_NO_PAD.encode(&mac[..16])
        );
        assert_eq!(
            check(SERVER_KEY, &short, KEY, 0),
            Err(TokenError::BadSignature)
        );
        let empty = format!("{}.", issued.secret_id);
        assert_eq!(
            check(SERVER_KEY, &empty, KEY, 0),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let issued = issue(SERVER_KEY, &claims());
        for token in [
            "",
            "no-dot-at-all",
            &issued.secret_id,
            &format!("{}.not base64!", issued.secret_id),
            &format!("{}.{}", issued.secret_id, "=="),
        ] {
            assert_eq!(
                check(SERVER_KEY, token, KEY, 0),
                Err(TokenError::Malformed),
                "{token:?}"
            );
        }
    }

    #[test]
    fn genuine_but_unreadable_claims_are_malformed() {
        // Only a bug could sign such claims; they are still not believed.
        let id = URL_SAFE_NO_PAD.encode("seven:1000:key");
        let secret = URL_SAFE_NO_PAD.encode(mac(SERVER_KEY, &id).finalize().into_bytes());
        assert_eq!(
            check(SERVER_KEY, &format!("{id}.{secret}"), "key", 0),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn a_token_of_the_first_format_is_told_apart() {
        let id = URL_SAFE_NO_PAD.encode(format!("7:1000:{KEY}"));
        let secret =
            URL_SAFE_NO_PAD.encode(mac_of(DOMAIN_V1, SERVER_KEY, &id).finalize().into_bytes());
        assert_eq!(
            check(SERVER_KEY, &format!("{id}.{secret}"), KEY, 0),
            Err(TokenError::OldFormat)
        );
    }

    #[test]
    fn the_halves_are_url_safe_and_reveal_no_server_key() {
        let issued = issue(SERVER_KEY, &claims());
        for half in [&issued.secret_id, &issued.secret_key] {
            assert!(half
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
        assert!(!issued.token.contains("0123456789abcdef"));
        assert_eq!(issued.secret_key.len(), 43);
    }
}
