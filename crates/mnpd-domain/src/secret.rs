//! API secret keys at rest. With a key from configuration, secret keys are
//! stored as AES-256-GCM ciphertext (`enc1:` + base64 of nonce and
//! ciphertext); without one, as given. Keys stored before a key was
//! configured stay readable.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

const PREFIX: &str = "enc1:";

#[derive(Clone)]
pub struct SecretCipher {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretCipher(..)")
    }
}

impl SecretCipher {
    /// From 32 bytes given as 64 hex digits or as base64.
    pub fn from_config(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let bytes = hex::decode(value)
            .ok()
            .or_else(|| STANDARD.decode(value).ok())
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                "the secret encryption key must be 32 bytes, as 64 hex digits or base64 (e.g. `openssl rand -hex 32`)".to_string()
            })?;
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|e| e.to_string())?;
        Ok(SecretCipher { cipher })
    }

    pub fn seal(&self, plain: &str) -> String {
        let nonce_bytes: [u8; 12] = rand::random();
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce_bytes), plain.as_bytes())
            .expect("AES-GCM encryption of a short secret cannot fail");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }
}

/// Whether a stored secret is sealed.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// The secret key as the signature check needs it.
pub fn open(cipher: Option<&SecretCipher>, stored: &str) -> Result<String, String> {
    let Some(body) = stored.strip_prefix(PREFIX) else {
        return Ok(stored.to_string());
    };
    let cipher = cipher.ok_or_else(|| {
        "a stored secret key is encrypted but no MNPD_SECRET_ENCRYPTION_KEY is configured"
            .to_string()
    })?;
    let raw = STANDARD
        .decode(body)
        .map_err(|_| "a stored secret key is not valid base64".to_string())?;
    if raw.len() < 12 {
        return Err("a stored secret key is too short".into());
    }
    let (nonce, sealed) = raw.split_at(12);
    let plain = cipher
        .cipher
        .decrypt(Nonce::from_slice(nonce), sealed)
        .map_err(|_| {
            "a stored secret key does not open with the configured encryption key".to_string()
        })?;
    String::from_utf8(plain).map_err(|_| "a stored secret key is not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn seals_and_opens() {
        let c = SecretCipher::from_config(KEY).unwrap();
        let sealed = c.seal("my-secret-key-123");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("my-secret"));
        assert_ne!(sealed, c.seal("my-secret-key-123"), "fresh nonce each time");
        assert_eq!(open(Some(&c), &sealed).unwrap(), "my-secret-key-123");
        assert_eq!(open(Some(&c), "plain-old-key").unwrap(), "plain-old-key");
        assert_eq!(open(None, "plain-old-key").unwrap(), "plain-old-key");
        assert!(open(None, &sealed).is_err());
        let other = SecretCipher::from_config(&"11".repeat(32)).unwrap();
        assert!(open(Some(&other), &sealed).is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(open(Some(&c), &tampered).is_err());
    }

    #[test]
    fn key_formats() {
        assert!(SecretCipher::from_config(KEY).is_ok());
        assert!(SecretCipher::from_config(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(SecretCipher::from_config("short").is_err());
        assert!(SecretCipher::from_config(&"00".repeat(16)).is_err());
        assert_eq!(
            format!("{:?}", SecretCipher::from_config(KEY).unwrap()),
            "SecretCipher(..)"
        );
    }
}
