//! The preset keys of CreatePresetKey, which carry passwords encrypted.
//!
//! `Key` is an X25519 public key, base64 (standard alphabet, padded, 44
//! characters); requests name it in `KeyId` (the same string). A client
//! encrypts a password thus (clients/python/mnpd_preset.py):
//! 1. a fresh X25519 key pair `e`; `shared = X25519(e.private, Key)`;
//! 2. `k = HKDF-SHA256(ikm = shared, salt = e.public || Key, info =
//!    "mnpd preset key v1", length 32)`;
//! 3. a random 12-byte nonce; `c = AES-256-GCM(k, nonce, UTF-8 password)`;
//! 4. `Password = base64(e.public || nonce || c)`.
//!
//! A key lives `LIFETIME_SECS` and serves one request: the server deletes
//! it when a request names it, whatever the outcome.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};

use crate::error::DomainError;

pub const LIFETIME_SECS: i64 = 600;
pub const INFO: &[u8] = b"mnpd preset key v1";
/// How a caller is told to encrypt, in refusals.
pub const HOW: &str = "call CreatePresetKey, encrypt the password with the returned Key (X25519 + HKDF-SHA256 + AES-256-GCM, docs/organization.md; clients/python/mnpd_preset.py does it) and send the ciphertext with KeyId set to that Key";

/// A new key pair: (KeyId, the private key as base64).
pub fn generate() -> (String, String) {
    let secret = StaticSecret::random();
    let public = PublicKey::from(&secret);
    (
        STANDARD.encode(public.as_bytes()),
        STANDARD.encode(secret.to_bytes()),
    )
}

/// Decrypts `password` (see the module comment) with the private key
/// `private_b64` of the public key `key_id`.
pub fn decrypt(key_id: &str, private_b64: &str, password: &str) -> Result<String, DomainError> {
    let refuse =
        |why: &str| DomainError::PasswordNotEncrypted(format!("the password {why}; {HOW}"));
    let secret: [u8; 32] = STANDARD
        .decode(private_b64)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| DomainError::Internal("a stored preset key is not 32 bytes".into()))?;
    let server_public = STANDARD
        .decode(key_id)
        .map_err(|_| DomainError::Internal("a preset KeyId is not base64".into()))?;
    let blob = STANDARD
        .decode(password.trim())
        .map_err(|_| refuse("is not base64: it looks sent in clear"))?;
    if blob.len() < 32 + 12 + 16 {
        return Err(refuse(
            "is too short to be a ciphertext: it looks sent in clear",
        ));
    }
    let (client_public, rest) = blob.split_at(32);
    let (nonce, sealed) = rest.split_at(12);
    let client_public: [u8; 32] = client_public.try_into().expect("32 bytes");
    let shared = StaticSecret::from(secret).diffie_hellman(&PublicKey::from(client_public));
    let mut salt = client_public.to_vec();
    salt.extend_from_slice(&server_public);
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&salt), shared.as_bytes())
        .expand(INFO, &mut key)
        .map_err(|_| DomainError::Internal("HKDF output length".into()))?;
    let plain = Aes256Gcm::new_from_slice(&key)
        .map_err(|e| DomainError::Internal(e.to_string()))?
        .decrypt(Nonce::from_slice(nonce), sealed)
        .map_err(|_| refuse("does not decrypt with this KeyId's key"))?;
    String::from_utf8(plain).map_err(|_| refuse("decrypts to bytes that are not UTF-8"))
}

/// The client's half (see the module comment): what mnpd's own tests and
/// Rust clients send.
pub fn encrypt(key_id: &str, password: &str) -> String {
    let server: [u8; 32] = STANDARD
        .decode(key_id)
        .ok()
        .and_then(|b| b.try_into().ok())
        .unwrap_or([0; 32]);
    let e = StaticSecret::random();
    let e_pub = PublicKey::from(&e);
    let shared = e.diffie_hellman(&PublicKey::from(server));
    let mut salt = e_pub.as_bytes().to_vec();
    salt.extend_from_slice(&server);
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&salt), shared.as_bytes())
        .expand(INFO, &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    let nonce: [u8; 12] = rand::random();
    let c = Aes256Gcm::new_from_slice(&key)
        .expect("a 32-byte key")
        .encrypt(Nonce::from_slice(&nonce), password.as_bytes())
        .expect("AES-GCM encryption of a short password cannot fail");
    let mut out = e_pub.as_bytes().to_vec();
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&c);
    STANDARD.encode(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let (id, private) = generate();
        assert_eq!(id.len(), 44);
        let sealed = encrypt(&id, "Abcdef12!");
        assert_eq!(decrypt(&id, &private, &sealed).unwrap(), "Abcdef12!");
        let (other_id, other_private) = generate();
        assert!(matches!(
            decrypt(&other_id, &other_private, &sealed),
            Err(DomainError::PasswordNotEncrypted(_))
        ));
        for clear in ["Abcdef12!", "QWJjZGVmMTIh"] {
            let e = decrypt(&id, &private, clear).unwrap_err();
            assert!(e.to_string().contains("CreatePresetKey"), "{e}");
        }
    }
}
