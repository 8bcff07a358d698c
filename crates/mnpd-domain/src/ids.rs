//! Identifiers in the shapes the real service uses, so that clients which
//! validate or display them keep working.

use rand::Rng;
use time::OffsetDateTime;

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn pick(alphabet: &[u8], n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// `MNPId`: "mp" and 14 of [a-z0-9], e.g. `mpg9yjc0qbpkelik`.
pub fn mini_program_id() -> String {
    format!("mp{}", pick(LOWER_ALNUM, 14))
}

/// `TaskId`: 19 digits, UTC yyyyMMddHHmmss and 5 random digits. Uniqueness
/// across nodes is finally guaranteed by the store's primary key; a clash is
/// retried with new digits.
pub fn task_id(now: OffsetDateTime) -> String {
    let n: u32 = rand::rng().random_range(0..100_000);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{:05}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        n
    )
}

/// `ApprovalNo`: "aud" and 15 of [a-z0-9], e.g. `aud7hnb70973ng51ca`.
pub fn approval_no() -> String {
    format!("aud{}", pick(LOWER_ALNUM, 15))
}

/// `APIId` of a sensitive API: "api-" and 16 of [a-z0-9], e.g.
/// `api-rj2b08c8cang07nb`.
pub fn sensitive_api_id() -> String {
    format!("api-{}", pick(LOWER_ALNUM, 16))
}

/// `ApprovalNo` of a sensitive API permission request: the UTC date and 10
/// of [a-z0-9], e.g. `20240821g020zumzgi`.
pub fn permission_request_no(now: OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}{}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        pick(LOWER_ALNUM, 10)
    )
}

/// `PlatformId`: "T" and 18 of [0-9A-Z], e.g. `T04257DS9431720WTAG`.
pub fn platform_id() -> String {
    format!("T{}", pick(UPPER_ALNUM, 18))
}

/// `TeamId`: 10 digits, not starting with 0.
pub fn team_id() -> String {
    let mut rng = rand::rng();
    format!(
        "{}{:09}",
        rng.random_range(1..10),
        rng.random_range(0..1_000_000_000u32)
    )
}

/// API key pair in TencentCloud's shapes: SecretId "AKID" + 32, key 32.
pub fn secret_id() -> String {
    format!("AKID{}", pick(ALNUM, 32))
}

pub fn secret_key() -> String {
    pick(ALNUM, 32)
}

pub fn is_mini_program_id(s: &str) -> bool {
    s.len() == 16 && s.starts_with("mp") && s[2..].bytes().all(|b| LOWER_ALNUM.contains(&b))
}

/// `ApplicationId`: "app-" and 10 of [a-z0-9], e.g. `app-0lcjnpmdpr`.
pub fn application_id() -> String {
    format!("app-{}", pick(LOWER_ALNUM, 10))
}

pub fn is_application_id(s: &str) -> bool {
    s.len() == 14 && s.starts_with("app-") && s[4..].bytes().all(|b| LOWER_ALNUM.contains(&b))
}

#[cfg(test)]
#[test]
fn application_id_shape() {
    let id = application_id();
    assert!(is_application_id(&id), "{id}");
    assert!(is_application_id("app-0lcjnpmdpr"));
    assert!(!is_application_id("app-0LCJNPMDPR"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let id = mini_program_id();
        assert!(is_mini_program_id(&id), "{id}");
        let t = task_id(time::macros::datetime!(2024-08-20 16:30:25 UTC));
        assert_eq!(t.len(), 19);
        assert!(t.starts_with("20240820163025"));
        assert!(t.bytes().all(|b| b.is_ascii_digit()));
        let p = platform_id();
        assert_eq!(p.len(), 19);
        assert!(p.starts_with('T'));
        let team = team_id();
        assert_eq!(team.len(), 10);
        assert!(!team.starts_with('0'));
        assert_eq!(secret_id().len(), 36);
        assert_eq!(secret_key().len(), 32);
        assert!(!is_mini_program_id("mpABC"));
    }
}
