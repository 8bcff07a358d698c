//! Passwords: the strength rule, argon2id at rest, and verification.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::DomainError;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 64;

/// A password worth storing: 8 to 64 characters, no control characters,
/// at least three of lower case, upper case, digits and other characters,
/// and not the account itself.
pub fn check_strength(password: &str, account: &str) -> Result<(), DomainError> {
    let n = password.chars().count();
    let rule = "send 8 to 64 characters with at least three of: lower case, upper case, digits, other characters; not the account";
    if !(MIN_CHARS..=MAX_CHARS).contains(&n) {
        return Err(DomainError::WeakPassword(format!(
            "the password has {n} characters; {rule}"
        )));
    }
    if password.chars().any(char::is_control) {
        return Err(DomainError::WeakPassword(format!(
            "the password contains control characters; {rule}"
        )));
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|&&c| c).count() < 3 {
        return Err(DomainError::WeakPassword(format!(
            "the password is too simple; {rule}"
        )));
    }
    if password.eq_ignore_ascii_case(account) {
        return Err(DomainError::WeakPassword(format!(
            "the password is the account; {rule}"
        )));
    }
    Ok(())
}

/// argon2id with the crate's defaults (19 MiB, 2 passes), in PHC form.
/// Slow on purpose: call it off the async threads.
pub fn hash(password: &str) -> Result<String, DomainError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| DomainError::Internal(format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DomainError::Internal(format!("password hash: {e}")))
}

/// Whether `password` matches the stored hash.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// `hash` on a blocking thread.
pub async fn hash_blocking(password: String) -> Result<String, DomainError> {
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|e| DomainError::Internal(format!("password hash task: {e}")))?
}

/// `verify` on a blocking thread.
pub async fn verify_blocking(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || verify(&password, &stored))
        .await
        .unwrap_or(false)
}

/// A random password that passes `check_strength`: the bootstrap admin's
/// and `mnpd admin user reset-password`'s.
pub fn generate() -> String {
    use rand::Rng;
    const SETS: [&[u8]; 4] = [
        b"abcdefghijkmnpqrstuvwxyz",
        b"ABCDEFGHJKLMNPQRSTUVWXYZ",
        b"23456789",
        b"-_.!",
    ];
    let mut rng = rand::rng();
    let mut out: Vec<u8> = SETS
        .iter()
        .map(|s| s[rng.random_range(0..s.len())])
        .collect();
    let all: Vec<u8> = SETS.concat();
    out.extend((0..16).map(|_| all[rng.random_range(0..all.len())]));
    // Shuffle so the classes are not in a fixed order.
    for i in (1..out.len()).rev() {
        out.swap(i, rng.random_range(0..=i));
    }
    String::from_utf8(out).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength() {
        assert!(check_strength("Abcdef12", "alice").is_ok());
        assert!(check_strength("abc-def-12", "alice").is_ok());
        for weak in ["Ab1", "abcdefgh", "abcdefg1", "ABCDEFG1", &"Aa1".repeat(30)] {
            assert!(
                matches!(check_strength(weak, "x"), Err(DomainError::WeakPassword(_))),
                "{weak}"
            );
        }
        assert!(check_strength("Alice.2024", "alice.2024").is_err());
        for _ in 0..20 {
            assert!(check_strength(&generate(), "admin").is_ok());
        }
    }

    #[test]
    fn hash_and_verify() {
        let h = hash("Abcdef12").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("Abcdef12", &h));
        assert!(!verify("Abcdef13", &h));
        assert!(!verify("Abcdef12", "not a hash"));
    }
}
