//! Which addresses a package download may reach. The check applies to the
//! addresses actually connected to: hostnames are resolved here and only
//! allowed addresses are handed to the connector (no DNS-rebinding gap), IP
//! literals are checked before the request, and every redirect is checked
//! again.
//!
//! Loopback and private networks are where a server's neighbours live
//! (databases, admin consoles, other services without authentication). They
//! are refused unless mnpd is reachable from its own machine only, or the
//! operator allows them; and where they are fetched from, failures there are
//! told without detail (see `lib.rs`), so that FileUrl cannot map them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Whether loopback and private addresses may serve packages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PrivateNetworks {
    /// Refused: the default for a server that listens beyond loopback.
    #[default]
    Refused,
    /// Refused because the operator said so (`--fetch-deny-private`),
    /// whatever the server listens on.
    Denied,
    /// Fetched from: the server listens on loopback only (its callers are
    /// on its machine already), or the operator allowed it
    /// (`--fetch-allow-private`).
    Allowed,
}

impl PrivateNetworks {
    /// The setting for a server listening on `listen`: `deny` wins over
    /// `allow`, and without either only a loopback listener fetches from
    /// loopback and private addresses (the laptop flow: mnpd and a file
    /// server side by side).
    pub fn for_listener(listen: IpAddr, allow: bool, deny: bool) -> Self {
        if deny {
            PrivateNetworks::Denied
        } else if allow || listen.is_loopback() {
            PrivateNetworks::Allowed
        } else {
            PrivateNetworks::Refused
        }
    }
}

/// The outbound policy of the downloader.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    /// Loopback and private ranges: refused unless allowed.
    pub private: PrivateNetworks,
    /// When set, only these hosts (exact, case-insensitive names or IP
    /// literals) may be fetched from.
    pub allowed_hosts: Option<Vec<String>>,
}

/// The IPv4 address an IPv6 address carries in the ways that reach IPv4
/// hosts: mapped, compatible, translated, NAT64, 6to4 and Teredo.
fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let seg = v6.segments();
    let low = Ipv4Addr::new(
        (seg[6] >> 8) as u8,
        seg[6] as u8,
        (seg[7] >> 8) as u8,
        seg[7] as u8,
    );
    match seg {
        // ::ffff:a.b.c.d (mapped) and ::ffff:0:a.b.c.d (translated)
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0xffff, 0, _, _] => Some(low),
        // ::a.b.c.d (compatible), but not :: or ::1
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 || lo > 1 => Some(low),
        // 64:ff9b::/96 and 64:ff9b:1::/48 (NAT64)
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] | [0x64, 0xff9b, 1, ..] => Some(low),
        // 2002:AABB:CCDD::/48 (6to4)
        [0x2002, a, b, ..] => Some(Ipv4Addr::new(
            (a >> 8) as u8,
            a as u8,
            (b >> 8) as u8,
            b as u8,
        )),
        // 2001:0::/32 (Teredo): the client address, inverted, in the last 32 bits
        [0x2001, 0, ..] => {
            let o = low.octets();
            Some(Ipv4Addr::new(!o[0], !o[1], !o[2], !o[3]))
        }
        _ => None,
    }
}

fn refusal_v4(v4: Ipv4Addr, policy: &AddressPolicy) -> Option<&'static str> {
    if v4.is_link_local() || v4 == Ipv4Addr::new(100, 100, 100, 200) {
        return Some("link-local and cloud metadata addresses are never fetched from");
    }
    if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() {
        return Some("it is not a unicast address");
    }
    if private_v4(v4) {
        return private_refusal(policy);
    }
    None
}

/// Loopback, RFC 1918 and carrier-grade NAT (100.64.0.0/10) addresses.
fn private_v4(v4: Ipv4Addr) -> bool {
    v4.is_loopback() || v4.is_private() || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xC0) == 64)
}

/// Loopback and unique local (fc00::/7) addresses, and IPv6 forms of
/// private IPv4 ones.
fn private_v6(v6: Ipv6Addr) -> bool {
    v6.is_loopback()
        || (v6.segments()[0] & 0xfe00) == 0xfc00
        || embedded_ipv4(v6).is_some_and(private_v4)
}

/// Whether `ip` is on loopback or a private network: what lies there is not
/// the caller's to learn, so failures to fetch from it are told without
/// detail.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => private_v6(v6),
    }
}

fn private_refusal(policy: &AddressPolicy) -> Option<&'static str> {
    match policy.private {
        PrivateNetworks::Allowed => None,
        PrivateNetworks::Refused => Some(
            "loopback and private addresses are refused by a server that listens beyond \
             loopback; serve the package from a public address, or start mnpd with \
             --fetch-allow-private",
        ),
        PrivateNetworks::Denied => Some(
            "loopback and private addresses are refused by this server (--fetch-deny-private); \
             serve the package from a public address",
        ),
    }
}

/// Why an address is refused, for the caller's message.
fn refusal(ip: IpAddr, policy: &AddressPolicy) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4, policy),
        IpAddr::V6(v6) => {
            if let Some(why) = embedded_ipv4(v6).and_then(|v4| refusal_v4(v4, policy)) {
                return Some(why);
            }
            let seg = v6.segments();
            let metadata = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
            if (seg[0] & 0xffc0) == 0xfe80 || v6 == metadata {
                return Some("link-local and cloud metadata addresses are never fetched from");
            }
            if v6.is_unspecified() || v6.is_multicast() {
                return Some("it is not a unicast address");
            }
            if private_v6(v6) {
                return private_refusal(policy);
            }
            None
        }
    }
}

impl AddressPolicy {
    /// Err with the message for the caller when `ip` may not be reached.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        match refusal(ip, self) {
            None => Ok(()),
            Some(why) => Err(format!("the address {ip} is not allowed: {why}")),
        }
    }

    /// Err when `host` is not on the allow-list (if there is one); for an IP
    /// literal also checks the address.
    pub fn check_host(&self, host: &url::Host<&str>) -> Result<(), String> {
        let name = match host {
            url::Host::Domain(d) => d.to_ascii_lowercase(),
            url::Host::Ipv4(v4) => v4.to_string(),
            url::Host::Ipv6(v6) => v6.to_string(),
        };
        if let Some(allowed) = &self.allowed_hosts {
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(&name)) {
                return Err(format!(
                    "the host {name} is not allowed: this server only fetches packages from {}",
                    allowed.join(", ")
                ));
            }
        }
        match host {
            url::Host::Ipv4(v4) => self.check_ip(IpAddr::V4(*v4)),
            url::Host::Ipv6(v6) => self.check_ip(IpAddr::V6(*v6)),
            url::Host::Domain(_) => Ok(()),
        }
    }
}

/// The resolver handed to the HTTP client: system resolution, then only
/// the allowed addresses.
pub(crate) struct PolicyResolver {
    pub(crate) policy: Arc<AddressPolicy>,
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| match policy.check_ip(a.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        refused.get_or_insert(why);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = refused.unwrap_or_else(|| format!("{host} has no address"));
                return Err(format!("{host}: {why}").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn allowing_private() -> AddressPolicy {
        AddressPolicy {
            private: PrivateNetworks::Allowed,
            allowed_hosts: None,
        }
    }

    #[test]
    fn metadata_and_link_local_are_always_refused() {
        let open = allowing_private();
        for bad in [
            "169.254.169.254",
            "169.254.0.1",
            "100.100.100.200",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::",
        ] {
            assert!(open.check_ip(ip(bad)).is_err(), "{bad}");
        }
        for ok in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "::1",
            "fd12::1",
            "93.184.216.34",
            "2606:2800:220:1::1",
        ] {
            assert!(open.check_ip(ip(ok)).is_ok(), "{ok}");
        }
    }

    #[test]
    fn private_networks_follow_the_listener_unless_told() {
        let loopback = ip("127.0.0.1");
        let everywhere = ip("0.0.0.0");
        let lan = ip("192.168.1.10");
        use PrivateNetworks::*;
        assert_eq!(
            PrivateNetworks::for_listener(loopback, false, false),
            Allowed
        );
        assert_eq!(
            PrivateNetworks::for_listener(ip("::1"), false, false),
            Allowed
        );
        assert_eq!(
            PrivateNetworks::for_listener(everywhere, false, false),
            Refused
        );
        assert_eq!(
            PrivateNetworks::for_listener(ip("::"), false, false),
            Refused
        );
        assert_eq!(PrivateNetworks::for_listener(lan, false, false), Refused);
        assert_eq!(
            PrivateNetworks::for_listener(everywhere, true, false),
            Allowed
        );
        assert_eq!(PrivateNetworks::for_listener(loopback, false, true), Denied);
        assert_eq!(
            PrivateNetworks::for_listener(everywhere, true, true),
            Denied
        );
        // The library's own default is the safe one.
        assert_eq!(AddressPolicy::default().private, Refused);
    }

    #[test]
    fn internal_addresses() {
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "::1",
            "fd12::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(ip(inside)), "{inside}");
        }
        for outside in ["93.184.216.34", "172.32.0.1", "2606:2800:220:1::1"] {
            assert!(!is_internal(ip(outside)), "{outside}");
        }
    }

    #[test]
    fn private_ranges_are_refused_unless_allowed() {
        let default = AddressPolicy::default();
        let err = default.check_ip(ip("10.0.0.1")).unwrap_err();
        assert!(err.contains("--fetch-allow-private"), "{err}");
        let strict = AddressPolicy {
            private: PrivateNetworks::Denied,
            allowed_hosts: None,
        };
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "172.31.255.255",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "::ffff:10.0.0.1",
        ] {
            let err = strict.check_ip(ip(bad)).unwrap_err();
            assert!(err.contains("not allowed"), "{err}");
        }
        for ok in ["93.184.216.34", "172.32.0.1", "2606:2800:220:1::1"] {
            assert!(strict.check_ip(ip(ok)).is_ok(), "{ok}");
        }
    }

    #[test]
    fn allow_list_is_exact() {
        let p = AddressPolicy {
            private: PrivateNetworks::Allowed,
            allowed_hosts: Some(vec!["pkg.example.com".into(), "127.0.0.1".into()]),
        };
        assert!(p.check_host(&url::Host::Domain("PKG.example.com")).is_ok());
        assert!(p
            .check_host(&url::Host::Domain("evil.example.com"))
            .is_err());
        assert!(p.check_host(&url::Host::Ipv4(Ipv4Addr::LOCALHOST)).is_ok());
        assert!(p
            .check_host(&url::Host::Ipv4(Ipv4Addr::new(10, 0, 0, 1)))
            .is_err());
    }
}
