//! The host application's configuration file (DescribeApplicationConfig,
//! DescribeApplicationConfigFile): what a host app's SDK loads to reach this
//! deployment, with the part only the platform's host SDK may read sealed
//! in `material` (docs/host-apps.md is the reference for integrators).
//!
//! Keys:
//! 1. the deployment keeps one random 32-byte secret (server setting
//!    `host_sdk_master`), shared by every node;
//! 2. each platform's **host SDK key** is
//!    `HKDF-SHA256(ikm = master, salt = "mnpd host sdk key v1", info =
//!    PlatformId, 32 bytes)`: the operator builds it into the platform's
//!    host SDK (`mnpd admin platform host-key`); one platform's SDK cannot
//!    open another platform's files;
//! 3. each file's key is `HKDF-SHA256(ikm = host SDK key, salt =
//!    "mnpd-host-config/1", info = ApplicationId "\n" AppType, 32 bytes)`,
//!    so an Android file's key is not an iOS file's, nor another app's.
//!
//! `material` is `base64(nonce (12) || AES-256-GCM(file key, nonce,
//! secret JSON, aad))` followed by the 16 hex digits of the key id
//! (`HMAC-SHA256(host SDK key, "mnpd host sdk key id")`, first 8 bytes):
//! the shape of the public example, whose material ends in 16 hex digits.
//! The associated data binds every clear field of the file (see [`aad`]),
//! so changing any of them, or any byte of `material`, fails the open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::entity::Application;
use crate::error::DomainError;

/// `format` of the file, also the salt of each file's key.
pub const FORMAT: &str = "mnpd-host-config/1";
/// The server setting holding the deployment's secret.
pub const MASTER_SETTING: &str = "host_sdk_master";
const PLATFORM_SALT: &[u8] = b"mnpd host sdk key v1";
const KEY_ID_LABEL: &[u8] = b"mnpd host sdk key id";
/// `AppType`.
pub const ANDROID: i64 = 2;
pub const IOS: i64 = 3;

/// The file as the host gets it (before base64). Field names follow the
/// public example; the ones it does not have are mnpd's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ConfigFile {
    /// The PlatformId.
    pub custom_id: String,
    /// The application's AppIdentityId, as a string.
    pub product_id: String,
    /// The Android package name (Android files; empty in iOS files).
    pub package_name: String,
    /// The iOS bundle id (iOS files; empty in Android files).
    pub bundle_id: String,
    pub material: String,
    /// The ApplicationId (the example's `shark.appKey`).
    pub app_key: String,
    pub app_type: i64,
    pub format: String,
}

impl ConfigFile {
    /// `File` of the API: the JSON document, base64 (standard alphabet).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(serde_json::to_vec(self).expect("strings and integers serialise"))
    }
}

/// What `material` seals.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Material {
    pub platform_id: String,
    pub application_id: String,
    pub app_type: i64,
    /// Both package names of the application, as configured.
    pub android_app_key: String,
    pub ios_app_key: String,
    /// Where the TencentCloud API 3.0 endpoint of this deployment is.
    pub api_endpoint: String,
    /// Where package URLs (and their `.policy.json`) start.
    pub package_endpoint: String,
    /// Public keys the platform signs packages with, newest first, as
    /// `/.well-known/mnpd/package-signing-keys/` publishes them: the
    /// current one and those rotated out whose overlap has not ended. A
    /// host trusts only these.
    pub package_signing_keys: Vec<crate::signing::PublishedKey>,
    /// When the file was made (Unix seconds).
    pub issued_at: i64,
}

/// The platform's host SDK key, from the deployment's secret.
pub fn platform_key(master: &[u8], platform_id: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(PLATFORM_SALT), master)
        .expand(platform_id.as_bytes(), &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    key
}

/// The 16 hex digits naming a host SDK key, so a host holding several
/// (after a rotation) picks the right one.
pub fn key_id(host_key: &[u8; 32]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(host_key).expect("any key length");
    mac.update(KEY_ID_LABEL);
    hex::encode(&mac.finalize().into_bytes()[..8])
}

fn file_key(host_key: &[u8; 32], application_id: &str, app_type: i64) -> [u8; 32] {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(FORMAT.as_bytes()), host_key)
        .expand(format!("{application_id}\n{app_type}").as_bytes(), &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    key
}

/// The associated data: the file's clear fields, one a line, in this
/// order. None of them can hold a line break (ids and package names).
pub fn aad(file: &ConfigFile) -> Vec<u8> {
    [
        file.format.as_str(),
        &file.custom_id,
        &file.product_id,
        &file.package_name,
        &file.bundle_id,
        &file.app_key,
        &file.app_type.to_string(),
    ]
    .join("\n")
    .into_bytes()
}

/// The package name a file of `app_type` names, or why none can be made.
pub fn package_name_for(app: &Application, app_type: i64) -> Result<&str, DomainError> {
    let (name, field, platform) = match app_type {
        ANDROID => (&app.android_app_key, "AndroidAppKey", "Android"),
        IOS => (&app.ios_app_key, "IOSAppKey", "iOS"),
        other => {
            return Err(DomainError::InvalidValue(format!(
                "AppType is {other}; send {ANDROID} (Android) or {IOS} (iOS)"
            )))
        }
    };
    if name.is_empty() {
        return Err(DomainError::AppPackageNameNotConfig(format!(
            "host application `{}` has no {platform} package name, so there is no {platform} configuration file; set {field} with ModifyApplicationAppKey (or ModifyApplication) first",
            app.application_id
        )));
    }
    Ok(name)
}

/// Builds and seals the file.
pub fn seal(
    host_key: &[u8; 32],
    app_type: i64,
    material: &Material,
    package_name: &str,
    product_id: &str,
) -> ConfigFile {
    let mut file = ConfigFile {
        custom_id: material.platform_id.clone(),
        product_id: product_id.to_string(),
        package_name: if app_type == ANDROID {
            package_name.to_string()
        } else {
            String::new()
        },
        bundle_id: if app_type == IOS {
            package_name.to_string()
        } else {
            String::new()
        },
        material: String::new(),
        app_key: material.application_id.clone(),
        app_type,
        format: FORMAT.to_string(),
    };
    let key = file_key(host_key, &material.application_id, app_type);
    let nonce: [u8; 12] = rand::random();
    let plain = serde_json::to_vec(material).expect("the material serialises");
    let sealed = Aes256Gcm::new_from_slice(&key)
        .expect("a 32-byte key")
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &plain,
                aad: &aad(&file),
            },
        )
        .expect("AES-GCM encryption of a small document cannot fail");
    let mut blob = nonce.to_vec();
    blob.extend_from_slice(&sealed);
    file.material = format!("{}{}", STANDARD.encode(blob), key_id(host_key));
    file
}

/// Why a file does not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    Malformed(&'static str),
    /// Sealed under another host SDK key.
    OtherKey(String),
    /// Changed since it was sealed (or sealed for another application).
    Tampered,
}

/// The host SDK's side: checks and opens a file with the platform's host
/// SDK key. mnpd's tests use it; docs/host-apps.md shows the same in Python.
pub fn open(host_key: &[u8; 32], file: &ConfigFile) -> Result<Material, OpenError> {
    if file.format != FORMAT {
        return Err(OpenError::Malformed("unknown format"));
    }
    let m = &file.material;
    if m.len() < 16 || !m.is_char_boundary(m.len() - 16) {
        return Err(OpenError::Malformed("material too short"));
    }
    let (b64, kid) = m.split_at(m.len() - 16);
    if kid != key_id(host_key) {
        return Err(OpenError::OtherKey(kid.to_string()));
    }
    let blob = STANDARD
        .decode(b64)
        .map_err(|_| OpenError::Malformed("material is not base64"))?;
    if blob.len() < 12 + 16 {
        return Err(OpenError::Malformed("material too short"));
    }
    let (nonce, sealed) = blob.split_at(12);
    let key = file_key(host_key, &file.app_key, file.app_type);
    let plain = Aes256Gcm::new_from_slice(&key)
        .expect("a 32-byte key")
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &aad(file),
            },
        )
        .map_err(|_| OpenError::Tampered)?;
    let material: Material =
        serde_json::from_slice(&plain).map_err(|_| OpenError::Malformed("material is not JSON"))?;
    // The sealed copy is authoritative; the clear fields must agree with it.
    if material.platform_id != file.custom_id
        || material.application_id != file.app_key
        || material.app_type != file.app_type
    {
        return Err(OpenError::Tampered);
    }
    Ok(material)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn material() -> Material {
        Material {
            platform_id: "T0123456789ABCDEFGHI".into(),
            application_id: "app-abcdefghij".into(),
            app_type: ANDROID,
            android_app_key: "com.example.host".into(),
            ios_app_key: String::new(),
            api_endpoint: "https://mnp.example.com/".into(),
            package_endpoint: "https://mnp.example.com/packages/".into(),
            package_signing_keys: vec![crate::signing::PublishedKey {
                key_id: "fe812c12f3ab4ce6".into(),
                algorithm: "Ed25519".into(),
                public_key: "6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=".into(),
                created_at: 1_699_000_000,
                not_after: None,
            }],
            issued_at: 1_700_000_000,
        }
    }

    #[test]
    fn seals_opens_and_detects_changes() {
        let key = platform_key(b"master secret of the deployment", "T0123456789ABCDEFGHI");
        let file = seal(&key, ANDROID, &material(), "com.example.host", "7");
        assert_eq!(file.package_name, "com.example.host");
        assert_eq!(file.bundle_id, "");
        assert!(file.material.ends_with(&key_id(&key)));
        assert_eq!(open(&key, &file).unwrap(), material());

        let mut changed = file.clone();
        changed.package_name = "com.evil.host".into();
        assert_eq!(open(&key, &changed), Err(OpenError::Tampered));
        let mut changed = file.clone();
        changed.product_id = "8".into();
        assert_eq!(open(&key, &changed), Err(OpenError::Tampered));
        let mut changed = file.clone();
        let mut bytes = STANDARD
            .decode(&file.material[..file.material.len() - 16])
            .unwrap();
        bytes[20] ^= 1;
        changed.material = format!("{}{}", STANDARD.encode(bytes), key_id(&key));
        assert_eq!(open(&key, &changed), Err(OpenError::Tampered));

        let other = platform_key(b"master secret of the deployment", "T0000000000000000000");
        assert!(matches!(open(&other, &file), Err(OpenError::OtherKey(_))));
    }

    #[test]
    fn package_name_must_be_configured() {
        let app = Application {
            application_id: "app-abcdefghij".into(),
            android_app_key: "com.example.host".into(),
            ..Application::default()
        };
        assert_eq!(package_name_for(&app, ANDROID).unwrap(), "com.example.host");
        assert!(matches!(
            package_name_for(&app, IOS),
            Err(DomainError::AppPackageNameNotConfig(m)) if m.contains("IOSAppKey")
        ));
        assert!(matches!(
            package_name_for(&app, 1),
            Err(DomainError::InvalidValue(_))
        ));
    }
}
