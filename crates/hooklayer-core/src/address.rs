//! The SSRF address classifier: which IP addresses hooklayer refuses to connect to.
//!
//! SECURITY: this is the single place that decides whether an address is reachable. It is
//! called for literal IPs at registration and for every resolved address at connect time, so a
//! hostname that resolves (or re-resolves, DNS rebinding) to a private address is refused too.
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) and other IPv6 forms that embed an IPv4 address
//! are judged by the IPv4 address they carry.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused; the text appears in `status_reason` and attempt errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockedRange {
    Unspecified,
    Loopback,
    Private,
    SharedCgnat,
    LinkLocal,
    Multicast,
    Documentation,
    Reserved,
}

impl BlockedRange {
    /// A short human name, e.g. `a loopback address`.
    pub fn describe(self) -> &'static str {
        match self {
            BlockedRange::Unspecified => "an unspecified address",
            BlockedRange::Loopback => "a loopback address",
            BlockedRange::Private => "a private address",
            BlockedRange::SharedCgnat => "a carrier-grade NAT address",
            BlockedRange::LinkLocal => "a link-local address",
            BlockedRange::Multicast => "a multicast address",
            BlockedRange::Documentation => "a documentation address",
            BlockedRange::Reserved => "a reserved address",
        }
    }
}

/// The set of addresses that are reachable: the public internet plus an operator allow-list.
#[derive(Clone, Debug, Default)]
pub struct AddressPolicy {
    /// `HOOKLAYER_ALLOW_TARGETS`: networks exempt from the block.
    allow: Vec<IpNet>,
}

impl AddressPolicy {
    /// A policy that exempts the given networks.
    pub fn new(allow: Vec<IpNet>) -> Self {
        Self { allow }
    }

    /// `Ok(())` when hooklayer may connect to `ip`, else the range that blocks it.
    pub fn check(&self, ip: IpAddr) -> Result<(), BlockedRange> {
        let canonical = canonical(ip);
        if self
            .allow
            .iter()
            .any(|net| net.contains(&ip) || net.contains(&canonical))
        {
            return Ok(());
        }
        match classify(canonical) {
            Some(range) => Err(range),
            None => Ok(()),
        }
    }
}

/// The IPv4 address an IPv6 address stands for, when it embeds one (mapped, NAT64, 6to4,
/// IPv4-compatible); otherwise the address itself.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
    }
}

fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let o = v6.octets();
    let tail = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    // 64:ff9b::/96 (NAT64 well-known prefix)
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail);
    }
    // 2002::/16 (6to4): the IPv4 address is in segments 1 and 2.
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    // ::a.b.c.d (IPv4-compatible, deprecated); `::` and `::1` are not IPv4 addresses.
    if s[..6] == [0; 6] && s[6] != 0 {
        return Some(tail);
    }
    None
}

/// The blocked range `ip` falls in, if any. IPv6 addresses that embed IPv4 should be passed
/// through [`canonical`] first ([`AddressPolicy::check`] does).
pub fn classify(ip: IpAddr) -> Option<BlockedRange> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<BlockedRange> {
    let [a, b, c, _] = ip.octets();
    let range = match (a, b, c) {
        (0, _, _) => BlockedRange::Unspecified,
        (127, _, _) => BlockedRange::Loopback,
        (10, _, _) | (192, 168, _) => BlockedRange::Private,
        (172, 16..=31, _) => BlockedRange::Private,
        (100, 64..=127, _) => BlockedRange::SharedCgnat,
        (169, 254, _) => BlockedRange::LinkLocal,
        (224..=239, _, _) => BlockedRange::Multicast,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => BlockedRange::Documentation,
        // IETF protocol assignments, benchmarking, and 240/4 (reserved, incl. broadcast).
        (192, 0, 0) | (198, 18..=19, _) | (240..=255, _, _) => BlockedRange::Reserved,
        _ => return None,
    };
    Some(range)
}

fn classify_v6(ip: Ipv6Addr) -> Option<BlockedRange> {
    let s = ip.segments();
    let range = if ip.is_unspecified() {
        BlockedRange::Unspecified
    } else if ip.is_loopback() {
        BlockedRange::Loopback
    } else if s[0] & 0xfe00 == 0xfc00 {
        // fc00::/7, unique local addresses
        BlockedRange::Private
    } else if s[0] & 0xffc0 == 0xfe80 || s[0] & 0xffc0 == 0xfec0 {
        // fe80::/10 link-local, fec0::/10 deprecated site-local
        BlockedRange::LinkLocal
    } else if s[0] & 0xff00 == 0xff00 {
        BlockedRange::Multicast
    } else if (s[0] == 0x2001 && s[1] == 0x0db8) || s[0] & 0xfff0 == 0x3ff0 {
        // 2001:db8::/32 and 3fff::/20
        BlockedRange::Documentation
    } else if s[..4] == [0x0100, 0, 0, 0] {
        // 100::/64 discard-only
        BlockedRange::Reserved
    } else {
        return None;
    };
    Some(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(s: &str) -> Option<BlockedRange> {
        AddressPolicy::default().check(s.parse().unwrap()).err()
    }

    #[test]
    fn ipv4_ranges_are_classified_range_by_range() {
        use BlockedRange::*;
        let cases = [
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(Unspecified)),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.255.254", Some(Loopback)),
            ("10.0.0.1", Some(Private)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.32.0.1", None),
            ("192.168.1.1", Some(Private)),
            ("100.64.0.1", Some(SharedCgnat)),
            ("100.127.255.255", Some(SharedCgnat)),
            ("100.128.0.1", None),
            ("169.254.169.254", Some(LinkLocal)),
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.255", Some(Multicast)),
            ("192.0.2.10", Some(Documentation)),
            ("198.51.100.7", Some(Documentation)),
            ("203.0.113.9", Some(Documentation)),
            ("198.18.0.1", Some(Reserved)),
            ("255.255.255.255", Some(Reserved)),
            ("8.8.8.8", None),
            ("93.184.216.34", None),
        ];
        for (ip, want) in cases {
            assert_eq!(blocked(ip), want, "{ip}");
        }
    }

    #[test]
    fn ipv6_ranges_are_classified_range_by_range() {
        use BlockedRange::*;
        let cases = [
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            ("fc00::1", Some(Private)),
            ("fd12:3456::1", Some(Private)),
            ("fe80::1", Some(LinkLocal)),
            ("ff02::1", Some(Multicast)),
            ("2001:db8::1", Some(Documentation)),
            ("100::1", Some(Reserved)),
            ("2606:4700:4700::1111", None),
        ];
        for (ip, want) in cases {
            assert_eq!(blocked(ip), want, "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_that_embed_ipv4_are_judged_as_ipv4() {
        use BlockedRange::*;
        assert_eq!(blocked("::ffff:127.0.0.1"), Some(Loopback));
        assert_eq!(blocked("::ffff:10.1.2.3"), Some(Private));
        assert_eq!(blocked("64:ff9b::a9fe:a9fe"), Some(LinkLocal));
        assert_eq!(blocked("2002:c0a8:0101::1"), Some(Private));
        assert_eq!(blocked("::127.0.0.1"), Some(Loopback));
        assert_eq!(blocked("::ffff:8.8.8.8"), None);
    }

    #[test]
    fn the_allow_list_exempts_its_networks_only() {
        let policy = AddressPolicy::new(vec![
            "127.0.0.0/8".parse().unwrap(),
            "::1/128".parse().unwrap(),
        ]);
        assert!(policy.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(policy.check("::ffff:127.0.0.1".parse().unwrap()).is_ok());
        assert!(policy.check("::1".parse().unwrap()).is_ok());
        assert_eq!(
            policy.check("10.0.0.1".parse().unwrap()),
            Err(BlockedRange::Private)
        );
    }
}
