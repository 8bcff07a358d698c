//! The rules a server domain must meet before a mini program may talk to
//! it, and the platform-wide white and black lists' host names. Pure: no
//! storage, so every rule is tested here (docs/domains.md says where the
//! rules come from).

use std::fmt;

/// `DomainType` of a mini program's domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DomainKind {
    Request,
    Upload,
    Download,
    Socket,
    WebView,
}

impl DomainKind {
    pub const ALL: [DomainKind; 5] = [
        DomainKind::Request,
        DomainKind::Upload,
        DomainKind::Download,
        DomainKind::Socket,
        DomainKind::WebView,
    ];

    pub fn from_code(code: i64) -> Option<DomainKind> {
        DomainKind::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn code(self) -> i64 {
        match self {
            DomainKind::Request => 1,
            DomainKind::Upload => 2,
            DomainKind::Download => 3,
            DomainKind::Socket => 4,
            DomainKind::WebView => 5,
        }
    }

    /// The one scheme a domain of this kind is written with.
    pub fn scheme(self) -> &'static str {
        match self {
            DomainKind::Socket => "wss",
            _ => "https",
        }
    }

    /// How many domains of this kind one mini program may have.
    pub fn limit(self) -> usize {
        match self {
            DomainKind::WebView => 100,
            _ => 200,
        }
    }

    /// The name the manifest and messages use.
    pub fn name(self) -> &'static str {
        match self {
            DomainKind::Request => "request",
            DomainKind::Upload => "uploadFile",
            DomainKind::Download => "downloadFile",
            DomainKind::Socket => "socket",
            DomainKind::WebView => "webView",
        }
    }
}

/// `DomainType` of a platform-wide list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    White,
    Black,
}

impl ListKind {
    pub fn from_code(code: i64) -> Option<ListKind> {
        match code {
            1 => Some(ListKind::White),
            2 => Some(ListKind::Black),
            _ => None,
        }
    }

    pub fn code(self) -> i64 {
        match self {
            ListKind::White => 1,
            ListKind::Black => 2,
        }
    }
}

/// Entries each platform-wide list may hold.
pub const GLOBAL_LIST_LIMIT: usize = 1000;
/// Characters of a domain as sent, before normalisation.
pub const MAX_URL_CHARS: usize = 300;

/// Why a domain was refused; the message tells what to send instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Empty,
    TooLong,
    Whitespace,
    MissingScheme {
        expected: &'static str,
    },
    WrongScheme {
        found: String,
        expected: &'static str,
    },
    Userinfo,
    Port,
    Path,
    IpLiteral,
    Localhost,
    SingleLabel,
    MixedScript(String),
    BadName(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Empty => write!(f, "is empty; send a domain such as https://api.example.com"),
            Refusal::TooLong => write!(f, "is longer than {MAX_URL_CHARS} characters; send a shorter domain"),
            Refusal::Whitespace => write!(f, "contains a space, control character or backslash; send the bare domain"),
            Refusal::MissingScheme { expected } => write!(f, "has no scheme; write it as {expected}://host"),
            Refusal::WrongScheme { found, expected } => {
                write!(f, "has the scheme `{found}`, but this DomainType takes {expected}://; write it as {expected}://host")
            }
            Refusal::Userinfo => write!(f, "carries a user name or password (`@`); send only scheme and host"),
            Refusal::Port => write!(f, "names a port; domains are configured without one (requests may still use any port of an allowed domain)"),
            Refusal::Path => write!(f, "has a path, query or fragment; send only scheme and host, such as https://api.example.com"),
            Refusal::IpLiteral => write!(f, "is an IP address; mini programs reach servers by domain name only, send a registered domain name"),
            Refusal::Localhost => write!(f, "names localhost; send a public domain name"),
            Refusal::SingleLabel => write!(f, "is a single-label name; send a fully qualified domain such as api.example.com"),
            Refusal::MixedScript(label) => write!(f, "has the label `{label}`, which mixes Latin letters with look-alike letters of another script; spell the name in one script"),
            Refusal::BadName(why) => write!(f, "is not a valid domain name ({why}); send letters, digits and hyphens in dot-separated labels"),
        }
    }
}

/// A mini program domain of `kind`, normalised to `scheme://host`
/// (internationalised names in their ASCII form, lower case, no trailing
/// slash or dot).
pub fn normalise_url(kind: DomainKind, raw: &str) -> Result<String, Refusal> {
    let text = precheck(raw)?;
    let expected = kind.scheme();
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(Refusal::MissingScheme { expected });
    };
    if !scheme.eq_ignore_ascii_case(expected) {
        return Err(Refusal::WrongScheme {
            found: scheme.to_string(),
            expected,
        });
    }
    let host = host_of_authority(rest)?;
    Ok(format!("{expected}://{host}"))
}

/// An entry of a platform-wide list: a host name, sent bare or as an
/// origin of any scheme a mini program domain uses; normalised to the
/// host alone.
pub fn normalise_host(raw: &str) -> Result<String, Refusal> {
    let text = precheck(raw)?;
    let rest = match text.split_once("://") {
        Some((scheme, rest)) => {
            let known = ["https", "wss"]
                .iter()
                .any(|s| s.eq_ignore_ascii_case(scheme));
            if !known {
                return Err(Refusal::WrongScheme {
                    found: scheme.to_string(),
                    expected: "https",
                });
            }
            rest
        }
        None => text,
    };
    host_of_authority(rest)
}

/// The host of a normalised `scheme://host`.
pub fn host_of(origin: &str) -> &str {
    origin.split_once("://").map_or(origin, |(_, host)| host)
}

/// Whether `host` is on a list of hosts: the same name or a subdomain of
/// one (a black-listed name covers everything beneath it).
pub fn covered_by<'a>(host: &str, list: impl IntoIterator<Item = &'a str>) -> bool {
    list.into_iter().any(|entry| {
        host == entry
            || host
                .strip_suffix(entry)
                .is_some_and(|head| head.ends_with('.'))
    })
}

fn precheck(raw: &str) -> Result<&str, Refusal> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(Refusal::Empty);
    }
    if text.chars().count() > MAX_URL_CHARS {
        return Err(Refusal::TooLong);
    }
    if text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return Err(Refusal::Whitespace);
    }
    Ok(text)
}

/// The normalised host of `authority[/]`, refusing everything that is not
/// a bare domain name.
fn host_of_authority(rest: &str) -> Result<String, Refusal> {
    // One trailing slash is the root path, which is the origin itself.
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#']) {
        return Err(Refusal::Path);
    }
    if rest.contains('@') {
        return Err(Refusal::Userinfo);
    }
    if rest.starts_with('[') {
        return Err(Refusal::IpLiteral);
    }
    if rest.contains(':') {
        // A bare IPv6 address without brackets is still an address.
        if rest.parse::<std::net::Ipv6Addr>().is_ok() {
            return Err(Refusal::IpLiteral);
        }
        return Err(Refusal::Port);
    }
    if rest.is_empty() {
        return Err(Refusal::Empty);
    }
    mixed_script(rest)?;
    // The root's trailing dot names the same host.
    let rest = rest
        .strip_suffix(['.', '\u{3002}', '\u{ff0e}', '\u{ff61}'])
        .unwrap_or(rest);
    let ascii = idna::domain_to_ascii_strict(rest).map_err(|_| {
        Refusal::BadName(
            "a label is empty, longer than 63 characters, starts or ends with a hyphen, or holds a character that is not a letter, digit or hyphen".into(),
        )
    })?;
    // A look-alike may also arrive already in its ASCII (punycode) form.
    let (unicode, _) = idna::domain_to_unicode(&ascii);
    mixed_script(&unicode)?;
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return Err(Refusal::BadName("an empty label".into()));
    }
    if looks_like_ipv4(&labels) {
        return Err(Refusal::IpLiteral);
    }
    if labels.last() == Some(&"localhost") {
        return Err(Refusal::Localhost);
    }
    if labels.len() < 2 {
        return Err(Refusal::SingleLabel);
    }
    Ok(ascii)
}

/// What a URL parser would read as an IPv4 address: a last label that is
/// a number in decimal, octal (leading 0) or hexadecimal (0x), which covers
/// dotted, shortened and single-number forms such as 2130706433.
fn looks_like_ipv4(labels: &[&str]) -> bool {
    let Some(last) = labels.last() else {
        return false;
    };
    let hex = last
        .strip_prefix("0x")
        .is_some_and(|h| h.chars().all(|c| c.is_ascii_hexdigit()));
    hex || last.chars().all(|c| c.is_ascii_digit())
}

/// Refuses a label mixing Latin letters with letters of the scripts whose
/// letters pass for Latin ones (Cyrillic, Greek, Armenian, Cherokee), the
/// usual spoofing trick; a label in one script is an honest IDN.
fn mixed_script(host: &str) -> Result<(), Refusal> {
    for label in host.split(['.', '\u{3002}', '\u{ff0e}', '\u{ff61}']) {
        let latin = label.chars().any(|c| c.is_ascii_alphabetic());
        let lookalike = label.chars().any(|c| {
            matches!(c as u32,
                0x0370..=0x03FF | 0x0400..=0x052F | 0x0530..=0x058F | 0x13A0..=0x13FF)
        });
        if latin && lookalike {
            return Err(Refusal::MixedScript(label.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use DomainKind::*;

    fn ok(kind: DomainKind, raw: &str) -> String {
        normalise_url(kind, raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn refused(kind: DomainKind, raw: &str) -> Refusal {
        match normalise_url(kind, raw) {
            Ok(v) => panic!("{raw} accepted as {v}"),
            Err(e) => e,
        }
    }

    #[test]
    fn codes_round_trip() {
        for k in DomainKind::ALL {
            assert_eq!(DomainKind::from_code(k.code()), Some(k));
        }
        assert_eq!(DomainKind::from_code(0), None);
        assert_eq!(DomainKind::from_code(6), None);
        assert_eq!(ListKind::from_code(2), Some(ListKind::Black));
        assert_eq!(ListKind::from_code(3), None);
    }

    #[test]
    fn normalises_case_slash_dot_and_idna() {
        assert_eq!(
            ok(Request, "HTTPS://API.Example.COM/"),
            "https://api.example.com"
        );
        assert_eq!(
            ok(Socket, "wss://chat.example.com."),
            "wss://chat.example.com"
        );
        assert_eq!(
            ok(WebView, "  https://shop.example.org  "),
            "https://shop.example.org"
        );
        assert_eq!(
            ok(Download, "https://bücher.example"),
            "https://xn--bcher-kva.example"
        );
        // Full-width letters and the ideographic full stop fold to ASCII.
        assert_eq!(
            ok(Upload, "https://ｅｘａｍｐｌｅ。com"),
            "https://example.com"
        );
    }

    #[test]
    fn scheme_per_type() {
        assert_eq!(
            refused(Request, "http://api.example.com"),
            Refusal::WrongScheme {
                found: "http".into(),
                expected: "https"
            }
        );
        assert!(matches!(
            refused(Socket, "https://a.example.com"),
            Refusal::WrongScheme { .. }
        ));
        assert!(matches!(
            refused(Upload, "wss://a.example.com"),
            Refusal::WrongScheme { .. }
        ));
        assert!(matches!(
            refused(Download, "ftp://a.example.com"),
            Refusal::WrongScheme { .. }
        ));
        assert!(matches!(
            refused(Request, "api.example.com"),
            Refusal::MissingScheme { .. }
        ));
    }

    #[test]
    fn ip_literals_in_every_form() {
        for raw in [
            "https://127.0.0.1",
            "https://10.0.0.1",
            "https://2130706433",
            "https://0x7f000001",
            "https://0x7f.0.0.1",
            "https://0177.0.0.1",
            "https://127.1",
            "https://[::1]",
            "https://[2001:db8::1]",
            "https://::1",
            "https://１２７.0.0.1",
        ] {
            assert_eq!(refused(Request, raw), Refusal::IpLiteral, "{raw}");
        }
    }

    #[test]
    fn origin_only() {
        assert_eq!(
            refused(Request, "https://a.example.com:8443"),
            Refusal::Port
        );
        assert_eq!(refused(Socket, "wss://a.example.com:443"), Refusal::Port);
        assert_eq!(refused(Request, "https://a.example.com/api"), Refusal::Path);
        assert_eq!(refused(Request, "https://a.example.com?x=1"), Refusal::Path);
        assert_eq!(refused(Request, "https://a.example.com#top"), Refusal::Path);
        assert_eq!(
            refused(Request, "https://user@a.example.com"),
            Refusal::Userinfo
        );
        assert_eq!(
            refused(Request, "https://u:p@a.example.com"),
            Refusal::Userinfo
        );
        assert_eq!(
            refused(Request, "https://a.exa mple.com"),
            Refusal::Whitespace
        );
        assert_eq!(
            refused(Request, "https://a.example.com\\x"),
            Refusal::Whitespace
        );
    }

    #[test]
    fn names_that_are_not_public() {
        assert_eq!(refused(Request, "https://localhost"), Refusal::Localhost);
        assert_eq!(refused(Request, "https://LOCALHOST."), Refusal::Localhost);
        assert_eq!(
            refused(Request, "https://app.localhost"),
            Refusal::Localhost
        );
        assert_eq!(refused(Request, "https://intranet"), Refusal::SingleLabel);
        assert!(matches!(
            refused(Request, "https://a..example.com"),
            Refusal::BadName(_)
        ));
        assert!(matches!(
            refused(Request, "https://-a.example.com"),
            Refusal::BadName(_)
        ));
        assert!(matches!(
            refused(Request, "https://a_b.example.com"),
            Refusal::BadName(_)
        ));
        assert_eq!(refused(Request, ""), Refusal::Empty);
        assert_eq!(refused(Request, "https://"), Refusal::Empty);
        let long = format!("https://{}.com", "a".repeat(400));
        assert_eq!(refused(Request, &long), Refusal::TooLong);
    }

    #[test]
    fn look_alikes_in_unicode_or_punycode() {
        // Cyrillic а (U+0430) inside a Latin name.
        assert!(matches!(
            refused(Request, "https://ex\u{430}mple.com"),
            Refusal::MixedScript(_)
        ));
        // The same name already in its ASCII form.
        let puny = idna::domain_to_ascii("ex\u{430}mple.com").unwrap();
        assert!(matches!(
            refused(Request, &format!("https://{puny}")),
            Refusal::MixedScript(_)
        ));
        // Greek ο among Latin letters.
        assert!(matches!(
            refused(Request, "https://g\u{3bf}\u{3bf}gle.com"),
            Refusal::MixedScript(_)
        ));
        // A name wholly in one script is an honest IDN.
        assert_eq!(
            ok(Request, "https://пример.рф"),
            "https://xn--e1afmkfd.xn--p1ai"
        );
    }

    #[test]
    fn global_hosts() {
        assert_eq!(
            normalise_host("Evil.Example.com").unwrap(),
            "evil.example.com"
        );
        assert_eq!(
            normalise_host("https://evil.example.com/").unwrap(),
            "evil.example.com"
        );
        assert_eq!(
            normalise_host("wss://evil.example.com").unwrap(),
            "evil.example.com"
        );
        assert!(normalise_host("ftp://evil.example.com").is_err());
        assert_eq!(normalise_host("1.2.3.4"), Err(Refusal::IpLiteral));
        assert_eq!(normalise_host("evil.example.com:80"), Err(Refusal::Port));
    }

    #[test]
    fn black_list_covers_subdomains_only() {
        let black = ["evil.com"];
        assert!(covered_by("evil.com", black));
        assert!(covered_by("a.b.evil.com", black));
        assert!(!covered_by("notevil.com", black));
        assert!(!covered_by("evil.com.example", black));
        assert_eq!(host_of("https://a.evil.com"), "a.evil.com");
    }
}
