//! Signed packages: each platform signs the versions it offers with an
//! Ed25519 key, and publishes the public keys a host trusts (in the host
//! configuration file and at `/.well-known/mnpd/package-signing-keys/`).
//! docs/host-apps.md ("Package signatures") is the reference for hosts.
//!
//! Key lifecycle:
//! 1. a platform's first key is made at first start for the platforms made
//!    then, and otherwise on first need (signing, publishing); of two nodes
//!    making it at once, the store keeps one (unique generation per
//!    platform) and both use that one;
//! 2. a rotation makes a new key, which signs from then on, and gives the
//!    previous one a `not_after` at the end of the overlap: until then
//!    both are published, so hosts holding a configuration file or a
//!    signature made just before the rotation still verify;
//! 3. past its `not_after` a key is no longer published (nor used).
//!
//! Private keys are stored as API secret keys are: sealed when the operator
//! configured a secret-encryption key, as given otherwise (crate::secret).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::entity::Caller;
use crate::error::DomainError;
use crate::mini_program::owned_platform;
use crate::secret::{self, SecretCipher};
use crate::store::{AccountStore, Has, SigningKeyRecord, SigningKeyStore, StoreError};

pub const ALGORITHM: &str = "Ed25519";
/// The first line of every signed message; a new message layout gets a
/// new tag, so a signature never verifies under another layout.
pub const MESSAGE_FORMAT: &str = "mnpd-package-signature/1";
/// How long a rotated-out key stays published when the operator names no
/// overlap: long enough for hosts to fetch a new configuration file.
pub const DEFAULT_OVERLAP_SECS: i64 = 7 * 86_400;
pub const MAX_OVERLAP_SECS: i64 = 90 * 86_400;
/// How long a node signs with the key it last read before reading the
/// platform's keys again: another node's rotation is seen within this.
pub const REFRESH: Duration = Duration::from_secs(5);

/// What a package's signature is over: the format tag, then the platform,
/// MNPId, version, lowercase hex SHA-256 and decimal size, one a line,
/// with no line break at the end. None of the fields can hold a line
/// break (ids are [A-Za-z0-9_-], versions MAJOR.MINOR.PATCH digits, hashes
/// hex), so the layout is unambiguous; [`PackageSigning::sign`] refuses
/// fields that would break it.
pub fn signed_message(
    platform_id: &str,
    mnp_id: &str,
    version: &str,
    sha256_hex: &str,
    size: i64,
) -> Vec<u8> {
    format!(
        "{MESSAGE_FORMAT}\n{platform_id}\n{mnp_id}\n{version}\n{}\n{size}",
        sha256_hex.to_ascii_lowercase()
    )
    .into_bytes()
}

/// Whether `signature_b64` (base64 of 64 bytes) is the Ed25519 signature
/// of `message` by `public_key_b64` (base64 of 32 bytes). Strict: weak
/// keys and non-canonical signatures do not verify.
pub fn verify(public_key_b64: &str, message: &[u8], signature_b64: &str) -> bool {
    let Some(key) =
        decode_array::<32>(public_key_b64).and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
    else {
        return false;
    };
    let Some(signature) = decode_array::<64>(signature_b64) else {
        return false;
    };
    key.verify_strict(message, &Signature::from_bytes(&signature))
        .is_ok()
}

/// The key id of a public key: the first 16 hex digits of its SHA-256.
pub fn key_id(public_key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(public_key.as_bytes())[..8])
}

fn decode_array<const N: usize>(b64: &str) -> Option<[u8; N]> {
    STANDARD.decode(b64).ok()?.try_into().ok()
}

/// A package's signature, as offered to hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageSignature {
    pub key_id: String,
    pub algorithm: &'static str,
    /// Base64 (standard alphabet) of the 64-byte signature.
    pub signature: String,
}

/// A public key as the well-known URL and the configuration file publish
/// it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedKey {
    pub key_id: String,
    pub algorithm: String,
    /// Base64 (standard alphabet) of the 32-byte public key.
    pub public_key: String,
    pub created_at: i64,
    /// When a rotated-out key stops being published (Unix seconds); null
    /// for the current key.
    pub not_after: Option<i64>,
}

impl PublishedKey {
    fn of(record: &SigningKeyRecord) -> Self {
        PublishedKey {
            key_id: record.key_id.clone(),
            algorithm: ALGORITHM.to_string(),
            public_key: record.public_key.clone(),
            created_at: record.created_at,
            not_after: record.not_after,
        }
    }
}

/// The key a node signs a platform's packages with, and when it read it.
struct Current {
    read_at: Instant,
    key_id: String,
    key: Arc<SigningKey>,
}

/// The signing service. Cloning shares the keys in memory.
#[derive(Clone)]
pub struct PackageSigning {
    inner: Arc<Inner>,
}

struct Inner {
    accounts: Arc<dyn AccountStore>,
    keys: Arc<dyn SigningKeyStore>,
    clock: Arc<dyn Clock>,
    cipher: Option<SecretCipher>,
    refresh: Duration,
    /// Per platform: the key it signs with, so signing reads no storage.
    current: Mutex<HashMap<String, Current>>,
    /// Opened private keys by key id: each is unsealed once.
    opened: Mutex<HashMap<String, Arc<SigningKey>>>,
}

impl PackageSigning {
    pub fn new<S>(store: Arc<S>, clock: Arc<dyn Clock>, cipher: Option<SecretCipher>) -> Self
    where
        S: Has<dyn AccountStore> + Has<dyn SigningKeyStore> + ?Sized,
    {
        PackageSigning {
            inner: Arc::new(Inner {
                accounts: Has::share(&store),
                keys: Has::share(&store),
                clock,
                cipher,
                refresh: REFRESH,
                current: Mutex::new(HashMap::new()),
                opened: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Reads the keys again after `refresh` rather than [`REFRESH`] (tests
    /// of another node's rotation). Only before the service is cloned.
    pub fn with_refresh(mut self, refresh: Duration) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("with_refresh is called before the service is shared")
            .refresh = refresh;
        self
    }

    fn now(&self) -> i64 {
        self.inner.clock.now().unix_timestamp()
    }

    /// Signs a released version with the platform's current key, and
    /// checks the signature with the public key before handing it out.
    pub async fn sign(
        &self,
        platform_id: &str,
        mnp_id: &str,
        version: &str,
        sha256: &str,
        size: i64,
    ) -> Result<PackageSignature, DomainError> {
        check_fields(platform_id, mnp_id, version, sha256, size)?;
        let (key_id, key) = self.current_key(platform_id).await?;
        let message = signed_message(platform_id, mnp_id, version, sha256, size);
        let signature = key.sign(&message);
        // A signature that does not verify would have hosts refuse the
        // package; better to refuse to offer it here.
        key.verifying_key()
            .verify_strict(&message, &signature)
            .map_err(|_| {
                DomainError::Internal(format!(
                    "the signature by package signing key {key_id} does not verify"
                ))
            })?;
        Ok(PackageSignature {
            key_id,
            algorithm: ALGORITHM,
            signature: STANDARD.encode(signature.to_bytes()),
        })
    }

    /// The platform's published keys, newest first: the current one and
    /// those still in their overlap. Public data (the well-known URL).
    pub async fn published_keys(
        &self,
        platform_id: &str,
    ) -> Result<Vec<PublishedKey>, DomainError> {
        let now = self.now();
        Ok(self
            .keys_of(platform_id)
            .await?
            .iter()
            .filter(|k| k.not_after.is_none_or(|end| end > now))
            .map(PublishedKey::of)
            .collect())
    }

    /// Makes sure the platform has a key (first start, new platforms);
    /// the current key.
    pub async fn ensure_key(&self, platform_id: &str) -> Result<PublishedKey, DomainError> {
        let keys = self.keys_of(platform_id).await?;
        Ok(PublishedKey::of(&keys[0]))
    }

    /// A new key signs from now on; the previous one stays published for
    /// `overlap_secs` (0 to 90 days). The new key and the keys published
    /// now.
    pub async fn rotate(
        &self,
        platform_id: &str,
        overlap_secs: i64,
    ) -> Result<(PublishedKey, Vec<PublishedKey>), DomainError> {
        if !(0..=MAX_OVERLAP_SECS).contains(&overlap_secs) {
            return Err(DomainError::InvalidValue(format!(
                "the overlap is {overlap_secs} seconds; send 0 to {MAX_OVERLAP_SECS} (90 days), or leave it out for {DEFAULT_OVERLAP_SECS} (7 days)"
            )));
        }
        self.existing_platform(platform_id).await?;
        // Of concurrent rotations each makes its own generation: one that
        // lost the race reads again and rotates after the winner.
        for _ in 0..5 {
            let keys = self.inner.keys.signing_keys(platform_id).await?;
            let generation = keys.first().map_or(1, |k| k.generation + 1);
            let now = self.now();
            match self
                .insert_new_key(platform_id, generation, now + overlap_secs)
                .await
            {
                Ok(record) => {
                    // This node signs with the new key from the next request.
                    self.forget_current(platform_id);
                    let published = self.published_keys(platform_id).await?;
                    return Ok((PublishedKey::of(&record), published));
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DomainError::Internal(format!(
            "could not rotate the package signing key of platform `{platform_id}`: other rotations kept winning"
        )))
    }

    /// [`Self::published_keys`] of a platform the caller owns
    /// (DescribePackageSigningKeys).
    pub async fn describe_owned(
        &self,
        caller: &Caller,
        platform_id: &str,
    ) -> Result<Vec<PublishedKey>, DomainError> {
        owned_platform(self.inner.accounts.as_ref(), caller, platform_id).await?;
        self.published_keys(platform_id).await
    }

    /// [`Self::rotate`] of a platform the caller owns
    /// (RotatePackageSigningKey); no overlap given means the default.
    pub async fn rotate_owned(
        &self,
        caller: &Caller,
        platform_id: &str,
        overlap_secs: Option<i64>,
    ) -> Result<(PublishedKey, Vec<PublishedKey>), DomainError> {
        owned_platform(self.inner.accounts.as_ref(), caller, platform_id).await?;
        self.rotate(platform_id, overlap_secs.unwrap_or(DEFAULT_OVERLAP_SECS))
            .await
    }

    async fn existing_platform(&self, platform_id: &str) -> Result<(), DomainError> {
        match self.inner.accounts.get_platform(platform_id).await? {
            Some(_) => Ok(()),
            None => Err(DomainError::InvalidPlatformId(platform_id.to_string())),
        }
    }

    /// Every key of the platform, newest first, making its first one when
    /// it has none.
    async fn keys_of(&self, platform_id: &str) -> Result<Vec<SigningKeyRecord>, DomainError> {
        let keys = self.inner.keys.signing_keys(platform_id).await?;
        if !keys.is_empty() {
            return Ok(keys);
        }
        self.existing_platform(platform_id).await?;
        match self.insert_new_key(platform_id, 1, self.now()).await {
            // Another node made it first: use that one.
            Ok(_) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let keys = self.inner.keys.signing_keys(platform_id).await?;
        if keys.is_empty() {
            return Err(DomainError::Internal(format!(
                "platform `{platform_id}` has no package signing key after making one"
            )));
        }
        Ok(keys)
    }

    async fn insert_new_key(
        &self,
        platform_id: &str,
        generation: i64,
        retire_older_at: i64,
    ) -> Result<SigningKeyRecord, StoreError> {
        let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let seed = STANDARD.encode(key.to_bytes());
        let record = SigningKeyRecord {
            key_id: key_id(&key.verifying_key()),
            platform_id: platform_id.to_string(),
            generation,
            private_key: match &self.inner.cipher {
                Some(c) => c.seal(&seed),
                None => seed,
            },
            public_key: STANDARD.encode(key.verifying_key().as_bytes()),
            created_at: self.now(),
            not_after: None,
        };
        self.inner
            .keys
            .insert_signing_key(&record, retire_older_at)
            .await?;
        self.remember_opened(&record.key_id, Arc::new(key));
        Ok(record)
    }

    /// The key to sign with: from memory when read within the refresh
    /// period.
    async fn current_key(
        &self,
        platform_id: &str,
    ) -> Result<(String, Arc<SigningKey>), DomainError> {
        if let Some(c) = self.lock_current().get(platform_id) {
            if c.read_at.elapsed() < self.inner.refresh {
                return Ok((c.key_id.clone(), c.key.clone()));
            }
        }
        let keys = self.keys_of(platform_id).await?;
        let newest = &keys[0];
        let key = self.open(newest)?;
        self.lock_current().insert(
            platform_id.to_string(),
            Current {
                read_at: Instant::now(),
                key_id: newest.key_id.clone(),
                key: key.clone(),
            },
        );
        Ok((newest.key_id.clone(), key))
    }

    /// The private key of a stored record, checked against its public key.
    fn open(&self, record: &SigningKeyRecord) -> Result<Arc<SigningKey>, DomainError> {
        if let Some(key) = self.lock_opened().get(&record.key_id) {
            return Ok(key.clone());
        }
        let broken = |why: &str| {
            DomainError::Internal(format!(
                "package signing key {} of platform `{}`: {why}",
                record.key_id, record.platform_id
            ))
        };
        let seed = secret::open(self.inner.cipher.as_ref(), &record.private_key)
            .map_err(|e| broken(&e))?;
        let seed = decode_array::<32>(&seed)
            .ok_or_else(|| broken("the stored seed is not 32 bytes of base64"))?;
        let key = SigningKey::from_bytes(&seed);
        if STANDARD.encode(key.verifying_key().as_bytes()) != record.public_key
            || key_id(&key.verifying_key()) != record.key_id
        {
            return Err(broken(
                "the private key does not match the stored public key",
            ));
        }
        let key = Arc::new(key);
        self.remember_opened(&record.key_id, key.clone());
        Ok(key)
    }

    fn remember_opened(&self, key_id: &str, key: Arc<SigningKey>) {
        self.lock_opened().insert(key_id.to_string(), key);
    }

    fn forget_current(&self, platform_id: &str) {
        self.lock_current().remove(platform_id);
    }

    fn lock_current(&self) -> std::sync::MutexGuard<'_, HashMap<String, Current>> {
        // The maps hold no invariant a panic could break halfway.
        self.inner
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_opened(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<SigningKey>>> {
        self.inner
            .opened
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Refuses a field that would make the signed message ambiguous or a hash
/// that is not one; the values come from recorded versions, so a refusal
/// is a fault of the server.
fn check_fields(
    platform_id: &str,
    mnp_id: &str,
    version: &str,
    sha256: &str,
    size: i64,
) -> Result<(), DomainError> {
    for (name, value) in [
        ("PlatformId", platform_id),
        ("MNPId", mnp_id),
        ("version", version),
    ] {
        if value.is_empty() || value.contains(['\n', '\r']) {
            return Err(DomainError::Internal(format!(
                "cannot sign a package whose {name} `{}` is empty or holds a line break",
                value.escape_debug()
            )));
        }
    }
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DomainError::Internal(format!(
            "cannot sign a package whose SHA-256 `{}` is not 64 hex digits",
            sha256.escape_debug()
        )));
    }
    if size < 0 {
        return Err(DomainError::Internal(format!(
            "cannot sign a package of {size} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";

    #[test]
    fn the_message_is_the_fields_one_a_line_after_the_format_tag() {
        assert_eq!(
            signed_message("TPLATFORM1", "mpabcdefghijklmn", "1.2.3", SHA, 4096),
            b"mnpd-package-signature/1\nTPLATFORM1\nmpabcdefghijklmn\n1.2.3\n9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n4096"
                .to_vec()
        );
    }

    #[test]
    fn no_field_can_hold_the_separator() {
        // What the fields can be: generated and checked ids, parsed version
        // numbers, hex hashes, decimal sizes; none holds a line break.
        for _ in 0..100 {
            assert!(!crate::ids::mini_program_id().contains('\n'));
            assert!(!crate::ids::platform_id().contains('\n'));
        }
        assert!(crate::version_number::VersionNumber::parse("1.2.3\n").is_err());
        assert!(crate::version_number::VersionNumber::parse("1.2\n.3").is_err());
        assert!(!(-5i64).to_string().contains('\n'));
        // And sign refuses one that does.
        assert!(check_fields("T1\nmp", "x", "1.0.0", SHA, 1).is_err());
        assert!(check_fields("T1", "mp\n", "1.0.0", SHA, 1).is_err());
        assert!(check_fields("T1", "mp", "1.0.0\r", SHA, 1).is_err());
        assert!(check_fields("T1", "mp", "", SHA, 1).is_err());
        assert!(check_fields("T1", "mp", "1.0.0", &SHA[1..], 1).is_err());
        assert!(check_fields("T1", "mp", "1.0.0", &format!("{}\n", &SHA[1..]), 1).is_err());
        assert!(check_fields("T1", "mp", "1.0.0", SHA, -1).is_err());
        assert!(check_fields("T1", "mp", "1.0.0", SHA, 0).is_ok());
    }

    #[test]
    fn distinct_fields_make_distinct_messages() {
        let base = signed_message("T1", "mp1", "1.0.0", SHA, 10);
        assert_ne!(base, signed_message("T2", "mp1", "1.0.0", SHA, 10));
        assert_ne!(base, signed_message("T1", "mp2", "1.0.0", SHA, 10));
        assert_ne!(base, signed_message("T1", "mp1", "1.0.1", SHA, 10));
        assert_ne!(base, signed_message("T1", "mp1", "1.0.0", SHA, 11));
        assert_ne!(
            base,
            signed_message("T1", "mp1", "1.0.0", &SHA.replace('9', "8"), 10)
        );
        // The hash's case does not matter: it is written lowercase.
        assert_eq!(
            base,
            signed_message("T1", "mp1", "1.0.0", &SHA.to_lowercase(), 10)
        );
    }

    #[test]
    fn verify_takes_the_right_key_message_and_signature_only() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let public = STANDARD.encode(key.verifying_key().as_bytes());
        let message = signed_message("T1", "mp1", "1.0.0", SHA, 10);
        let signature = STANDARD.encode(key.sign(&message).to_bytes());
        assert!(verify(&public, &message, &signature));

        let other = STANDARD.encode(
            SigningKey::from_bytes(&[8u8; 32])
                .verifying_key()
                .as_bytes(),
        );
        assert!(!verify(&other, &message, &signature));
        let changed = signed_message("T1", "mp1", "1.0.0", SHA, 11);
        assert!(!verify(&public, &changed, &signature));
        let mut flipped = key.sign(&message).to_bytes();
        flipped[10] ^= 1;
        assert!(!verify(&public, &message, &STANDARD.encode(flipped)));
        // Malformed inputs are a no, not a panic.
        assert!(!verify("not base64!", &message, &signature));
        assert!(!verify(&STANDARD.encode([1u8; 31]), &message, &signature));
        assert!(!verify(&public, &message, &STANDARD.encode([0u8; 63])));
        assert!(!verify(&public, &message, ""));
    }

    /// The vector of docs/host-apps.md, which the conformance suite checks
    /// with Python's `cryptography`: both sides build the same message and
    /// Ed25519 signatures are deterministic.
    #[test]
    fn the_documented_vector() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let message = signed_message(
            "TD58806D04A6B416191",
            "mpg9yjc0qbpkelik",
            "1.0.3",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            48213,
        );
        let public = STANDARD.encode(key.verifying_key().as_bytes());
        assert_eq!(public, "6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=");
        assert_eq!(key_id(&key.verifying_key()), "fe812c12f3ab4ce6");
        let signature = STANDARD.encode(key.sign(&message).to_bytes());
        assert_eq!(
            signature,
            "VvmjXZoNlm6qrN7FkndvNjMQFb8QDUVH79hdiyJlgoM4QpOExrTpBH1RgbWpCsqC0Owud61FmoiAHYLyHGaDDQ=="
        );
        assert!(verify(&public, &message, &signature));
    }

    #[test]
    fn the_key_id_is_the_start_of_the_public_keys_sha256() {
        let key = SigningKey::from_bytes(&[7u8; 32]).verifying_key();
        let id = key_id(&key);
        assert_eq!(id.len(), 16);
        assert_eq!(id, hex::encode(Sha256::digest(key.as_bytes()))[..16]);
        assert_ne!(
            id,
            key_id(&SigningKey::from_bytes(&[8u8; 32]).verifying_key())
        );
    }
}
