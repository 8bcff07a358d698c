//! `--package-delivery` and its settings, checked before anything starts so
//! that a deployment never hands out URLs nothing can answer.

use anyhow::{bail, Result};
use mnpd_domain::delivery::{CdnDelivery, PackageDelivery};

use crate::cli::DeliveryMode;

/// The longest a presigned URL may live: S3 refuses SigV4 query signatures
/// of more than seven days.
pub const MAX_PRESIGNED_TTL_SECS: i64 = 7 * 24 * 3600;

/// The settings that choose a delivery, as given.
pub struct DeliverySettings<'a> {
    pub mode: DeliveryMode,
    pub storage_url: Option<&'a str>,
    pub package_url_ttl: i64,
    pub cdn_base_url: Option<&'a str>,
    pub cdn_token_key: Option<&'a str>,
}

fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// The delivery the settings ask for, or why they cannot be served.
pub fn package_delivery(settings: &DeliverySettings) -> Result<PackageDelivery> {
    let on_s3 = given(settings.storage_url).is_some_and(|u| u.starts_with("s3://"));
    let base_url = given(settings.cdn_base_url);
    let key = given(settings.cdn_token_key);
    let needs_s3 = |mode: &str| {
        anyhow::anyhow!(
            "--package-delivery {mode} sends hosts to the bucket, and packages are in a folder: \
             set --storage-url s3://BUCKET/PREFIX (MNPD_STORAGE_URL), or use --package-delivery mnpd"
        )
    };
    match settings.mode {
        DeliveryMode::Mnpd | DeliveryMode::Presigned if base_url.is_some() || key.is_some() => {
            bail!(
                "--cdn-base-url and --cdn-token-key (MNPD_CDN_BASE_URL, MNPD_CDN_TOKEN_KEY) are \
                 used only with --package-delivery cdn; set MNPD_PACKAGE_DELIVERY=cdn or remove them"
            )
        }
        DeliveryMode::Mnpd => Ok(PackageDelivery::Mnpd),
        DeliveryMode::Presigned => {
            if !on_s3 {
                return Err(needs_s3("presigned"));
            }
            if settings.package_url_ttl > MAX_PRESIGNED_TTL_SECS {
                bail!(
                    "--package-url-ttl {} is longer than S3 lets a presigned URL live \
                     ({MAX_PRESIGNED_TTL_SECS} s, 7 days); set it to {MAX_PRESIGNED_TTL_SECS} or less",
                    settings.package_url_ttl
                );
            }
            Ok(PackageDelivery::Presigned)
        }
        DeliveryMode::Cdn => {
            if !on_s3 {
                return Err(needs_s3("cdn"));
            }
            let (Some(base_url), Some(key)) = (base_url, key) else {
                bail!(
                    "--package-delivery cdn needs --cdn-base-url URL (MNPD_CDN_BASE_URL) and \
                     --cdn-token-key KEY (MNPD_CDN_TOKEN_KEY: 32 bytes or more as hex or base64, \
                     e.g. `openssl rand -hex 32`)"
                );
            };
            let cdn = CdnDelivery::new(base_url, key)
                .map_err(|e| anyhow::anyhow!("--cdn-base-url / --cdn-token-key: {e}"))?;
            Ok(PackageDelivery::Cdn(cdn))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn settings(mode: DeliveryMode) -> DeliverySettings<'static> {
        DeliverySettings {
            mode,
            storage_url: Some("s3://bucket/packages"),
            package_url_ttl: 3600,
            cdn_base_url: None,
            cdn_token_key: None,
        }
    }

    fn refusal(s: &DeliverySettings) -> String {
        format!("{:#}", package_delivery(s).unwrap_err())
    }

    #[test]
    fn mnpd_is_the_default_on_any_storage() {
        let folder = DeliverySettings {
            storage_url: None,
            ..settings(DeliveryMode::Mnpd)
        };
        assert!(matches!(
            package_delivery(&folder).unwrap(),
            PackageDelivery::Mnpd
        ));
    }

    #[test]
    fn presigned_needs_s3_and_a_ttl_s3_accepts() {
        assert!(matches!(
            package_delivery(&settings(DeliveryMode::Presigned)).unwrap(),
            PackageDelivery::Presigned
        ));
        for storage in [None, Some("file:///srv/mnpd"), Some("  ")] {
            let s = DeliverySettings {
                storage_url: storage,
                ..settings(DeliveryMode::Presigned)
            };
            assert!(refusal(&s).contains("--storage-url s3://"), "{storage:?}");
        }
        let long = DeliverySettings {
            package_url_ttl: MAX_PRESIGNED_TTL_SECS + 1,
            ..settings(DeliveryMode::Presigned)
        };
        assert!(refusal(&long).contains("--package-url-ttl"));
    }

    #[test]
    fn cdn_needs_s3_a_base_url_and_a_key() {
        let full = DeliverySettings {
            cdn_base_url: Some("https://cdn.example.com/mnp"),
            cdn_token_key: Some(KEY),
            ..settings(DeliveryMode::Cdn)
        };
        assert!(matches!(
            package_delivery(&full).unwrap(),
            PackageDelivery::Cdn(_)
        ));
        let no_key = DeliverySettings {
            cdn_token_key: None,
            ..full
        };
        let why = refusal(&no_key);
        assert!(
            why.contains("--cdn-token-key") && why.contains("MNPD_CDN_TOKEN_KEY"),
            "{why}"
        );
        let no_url = DeliverySettings {
            cdn_base_url: Some(""),
            cdn_token_key: Some(KEY),
            ..settings(DeliveryMode::Cdn)
        };
        assert!(refusal(&no_url).contains("--cdn-base-url"));
        let short_key = DeliverySettings {
            cdn_base_url: Some("https://cdn.example.com"),
            cdn_token_key: Some("00112233"),
            ..settings(DeliveryMode::Cdn)
        };
        assert!(refusal(&short_key).contains("at least 32"));
        let folder = DeliverySettings {
            storage_url: None,
            cdn_base_url: Some("https://cdn.example.com"),
            cdn_token_key: Some(KEY),
            ..settings(DeliveryMode::Cdn)
        };
        assert!(refusal(&folder).contains("--storage-url s3://"));
    }

    #[test]
    fn cdn_settings_without_cdn_delivery_are_refused() {
        for mode in [DeliveryMode::Mnpd, DeliveryMode::Presigned] {
            let s = DeliverySettings {
                cdn_base_url: Some("https://cdn.example.com"),
                ..settings(mode)
            };
            assert!(refusal(&s).contains("only with --package-delivery cdn"));
        }
    }
}
