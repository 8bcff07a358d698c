//! How package bytes reach hosts (`mnpd serve --package-delivery`): through
//! mnpd's own signed `/packages/..` route (the default), straight from the
//! bucket with an S3 presigned GET, or from a CDN in front of the bucket
//! with an expiring token the CDN's edge checks. docs/deploy.md, "Package
//! delivery", is the contract a CDN edge rule implements; keep the two in
//! step.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The fewest key bytes a CDN token key may have: HMAC-SHA256 gains
/// nothing from more than its block, and brute force nothing from fewer
/// than 32.
pub const MIN_CDN_KEY_BYTES: usize = 32;

/// Where the URLs handed to hosts send them for a package's bytes.
#[derive(Clone, Debug, Default)]
pub enum PackageDelivery {
    /// mnpd's signed URL; mnpd streams the bytes.
    #[default]
    Mnpd,
    /// An S3 presigned GET of the package's object; needs S3 storage.
    Presigned,
    /// `<base>/<object key>?expires=..&token=..`, checked by the CDN edge;
    /// the CDN fetches from the bucket.
    Cdn(CdnDelivery),
}

/// The CDN's base URL and the key its edge checks tokens with.
#[derive(Clone)]
pub struct CdnDelivery {
    base: url::Url,
    key: Vec<u8>,
}

impl fmt::Debug for CdnDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CdnDelivery")
            .field("base", &self.base.as_str())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Decodes a token key given as hex or base64 (standard or URL-safe), of at
/// least [`MIN_CDN_KEY_BYTES`] bytes.
pub fn parse_cdn_key(value: &str) -> Result<Vec<u8>, String> {
    let value = value.trim();
    let decoded = hex::decode(value)
        .ok()
        .or_else(|| STANDARD.decode(value).ok())
        .or_else(|| URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')).ok());
    match decoded {
        Some(key) if key.len() >= MIN_CDN_KEY_BYTES => Ok(key),
        Some(key) => Err(format!(
            "the CDN token key has {} bytes; it needs at least {MIN_CDN_KEY_BYTES} (e.g. `openssl rand -hex 32`)",
            key.len()
        )),
        None => Err(
            "the CDN token key must be hex or base64 of at least 32 bytes (e.g. `openssl rand -hex 32`)"
                .to_string(),
        ),
    }
}

impl CdnDelivery {
    /// `base_url`: an absolute http(s) URL without query or fragment,
    /// possibly with a path (`https://cdn.example.com/mnp`); `key`: as
    /// [`parse_cdn_key`] takes it.
    pub fn new(base_url: &str, key: &str) -> Result<Self, String> {
        let trimmed = base_url.trim().trim_end_matches('/');
        let base = url::Url::parse(trimmed)
            .map_err(|e| format!("the CDN base URL {trimmed:?} is not a URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(format!(
                "the CDN base URL {trimmed:?} must be http(s)://HOST[/PATH]"
            ));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(format!(
                "the CDN base URL {trimmed:?} must have no query or fragment"
            ));
        }
        Ok(CdnDelivery {
            base,
            key: parse_cdn_key(key)?,
        })
    }

    /// The URL of the object `object_key` (segments separated by `/`),
    /// valid until `expires` (Unix seconds).
    pub fn url(&self, object_key: &str, expires: i64) -> String {
        let mut url = self.base.clone();
        {
            let mut segments = url.path_segments_mut().expect("an http(s) URL has a path");
            segments.pop_if_empty();
            segments.extend(object_key.split('/').filter(|s| !s.is_empty()));
        }
        // The token covers the path as the edge receives it: percent-encoded,
        // without the query.
        let token = cdn_token(&self.key, url.path(), expires);
        url.set_query(Some(&format!("expires={expires}&token={token}")));
        url.into()
    }
}

/// HMAC-SHA256(key, `<path>` + "\n" + `<expires in decimal>`): what both
/// mnpd's own package URLs and CDN tokens sign.
pub(crate) fn path_mac(key: &[u8], path: &str, expires: i64) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(path.as_bytes());
    mac.update(b"\n");
    mac.update(expires.to_string().as_bytes());
    mac
}

/// The CDN token of a request path valid until `expires`: lowercase hex of
/// [`path_mac`].
pub fn cdn_token(key: &[u8], path: &str, expires: i64) -> String {
    hex::encode(path_mac(key, path, expires).finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn token_is_hmac_sha256_of_path_newline_expires() {
        // Computed apart from this code, as an edge would:
        //   printf '/p/blobs/ab/x\n1700000000' |
        //     openssl dgst -sha256 -mac HMAC -macopt hexkey:$KEY_HEX
        let key = hex::decode(KEY_HEX).unwrap();
        assert_eq!(
            cdn_token(&key, "/p/blobs/ab/x", 1_700_000_000),
            "18c4a920c46ec33cb40d2f7463802e0540e27696fa3f9b9d6e57658e234ae6e9"
        );
        assert_ne!(
            cdn_token(&key, "/p/blobs/ab/x", 1_700_000_001),
            cdn_token(&key, "/p/blobs/ab/x", 1_700_000_000),
            "the expiry is covered"
        );
    }

    #[test]
    fn url_joins_base_path_and_object_key_and_signs_the_path() {
        let sha = "ab".repeat(32);
        let key = format!("packages/blobs/ab/{sha}");
        for base in [
            "https://cdn.example.com/mnp",
            "https://cdn.example.com/mnp/",
        ] {
            let cdn = CdnDelivery::new(base, KEY_HEX).unwrap();
            assert_eq!(
                cdn.url(&key, 1_700_000_000),
                format!(
                    "https://cdn.example.com/mnp/packages/blobs/ab/{sha}?expires=1700000000&token=\
                     2f675a65785d5da5e1b4455662772362a8e4bbbf26420d9bc8a6ea11cd4e7ad7"
                )
            );
        }
        let bare = CdnDelivery::new("http://127.0.0.1:8080", KEY_HEX).unwrap();
        let url = bare.url(&key, 5);
        let path = format!("/packages/blobs/ab/{sha}");
        assert_eq!(
            url,
            format!(
                "http://127.0.0.1:8080{path}?expires=5&token={}",
                cdn_token(&hex::decode(KEY_HEX).unwrap(), &path, 5)
            )
        );
    }

    #[test]
    fn odd_characters_of_a_key_are_percent_encoded_and_signed_so() {
        let cdn = CdnDelivery::new("https://cdn.example.com", KEY_HEX).unwrap();
        let url = cdn.url("team a/blobs/ab/x", 9);
        let path = "/team%20a/blobs/ab/x";
        assert!(
            url.starts_with(&format!("https://cdn.example.com{path}?")),
            "{url}"
        );
        let token = cdn_token(&hex::decode(KEY_HEX).unwrap(), path, 9);
        assert!(url.ends_with(&format!("&token={token}")), "{url}");
    }

    #[test]
    fn keys_in_hex_or_base64_of_32_bytes_or_more() {
        let bytes: Vec<u8> = (0..32).collect();
        assert_eq!(parse_cdn_key(KEY_HEX).unwrap(), bytes);
        assert_eq!(parse_cdn_key(&STANDARD.encode(&bytes)).unwrap(), bytes);
        assert_eq!(
            parse_cdn_key(&URL_SAFE_NO_PAD.encode(&bytes)).unwrap(),
            bytes
        );
        let long: Vec<u8> = (0..48).collect();
        assert_eq!(parse_cdn_key(&hex::encode(&long)).unwrap(), long);
        let short = parse_cdn_key(&hex::encode([7u8; 16])).unwrap_err();
        assert!(short.contains("16 bytes"), "{short}");
        assert!(parse_cdn_key("not a key!")
            .unwrap_err()
            .contains("hex or base64"));
    }

    #[test]
    fn base_urls_are_checked() {
        for bad in [
            "cdn.example.com",
            "ftp://cdn.example.com",
            "https://cdn.example.com/p?x=1",
            "https://cdn.example.com/#f",
        ] {
            assert!(CdnDelivery::new(bad, KEY_HEX).is_err(), "{bad} accepted");
        }
        let debug = format!(
            "{:?}",
            CdnDelivery::new("https://c.example", KEY_HEX).unwrap()
        );
        assert!(
            !debug.contains("0001020304"),
            "Debug hides the key: {debug}"
        );
    }
}
