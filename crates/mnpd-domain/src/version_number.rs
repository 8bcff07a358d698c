//! `MNPVersion` numbers: MAJOR.MINOR.PATCH of non-negative integers written
//! without leading zeros. Components may be longer than any machine integer,
//! so they are compared as digit strings (shorter is smaller, then by text).

use std::cmp::Ordering;
use std::fmt;

pub const MAX_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionNumber {
    parts: [String; 3],
}

impl VersionNumber {
    /// Parses a version number; the error says what is wrong with it.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("MNPVersion is empty".into());
        }
        if s.len() > MAX_LEN {
            return Err(format!(
                "MNPVersion has {} characters, more than the {MAX_LEN} allowed",
                s.len()
            ));
        }
        let pieces: Vec<&str> = s.split('.').collect();
        if pieces.len() != 3 {
            return Err(format!(
                "MNPVersion `{s}` has {} part(s); it must have three, MAJOR.MINOR.PATCH",
                pieces.len()
            ));
        }
        for p in &pieces {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "MNPVersion `{s}` has the part `{p}`, which is not a non-negative integer"
                ));
            }
            if p.len() > 1 && p.starts_with('0') {
                return Err(format!(
                    "MNPVersion `{s}` has the part `{p}` with a leading zero"
                ));
            }
        }
        Ok(VersionNumber {
            parts: [
                pieces[0].to_string(),
                pieces[1].to_string(),
                pieces[2].to_string(),
            ],
        })
    }
}

fn cmp_digits(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl Ord for VersionNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts
            .iter()
            .zip(other.parts.iter())
            .map(|(a, b)| cmp_digits(a, b))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for VersionNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for VersionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.parts[0], self.parts[1], self.parts[2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> VersionNumber {
        VersionNumber::parse(s).unwrap()
    }

    #[test]
    fn accepts_and_orders() {
        assert!(v("1.0.10") > v("1.0.9"));
        assert!(v("2.0.0") > v("1.99.99"));
        assert!(v("0.0.1") > v("0.0.0"));
        assert!(v("1.0.123456789012345678901234567890") > v("1.0.99999999999999999999"));
        assert_eq!(v("1.2.3").to_string(), "1.2.3");
    }

    #[test]
    fn refuses_bad_shapes() {
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "1.02.3",
            "01.2.3",
            "a.b.c",
            "1.2.-3",
            "1..3",
            " 1.2.3",
            "1.2.3 ",
            "+1.2.3",
            "1.2.3-beta",
        ] {
            assert!(
                VersionNumber::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        let long = format!("1.2.{}", "9".repeat(61));
        assert!(VersionNumber::parse(&long).is_err());
        let ok = format!("1.2.{}", "9".repeat(60));
        assert!(VersionNumber::parse(&ok).is_ok());
    }
}
