//! Where the service may send a request of its own (webhook deliveries): a public address, or
//! one in a network the operator allowed (`MENTORAT_WEBHOOK_ALLOWED_NETWORKS`). Everything
//! else — loopback, link-local (cloud metadata at 169.254.169.254), private, shared (CGNAT),
//! multicast, broadcast, unspecified, documentation, benchmarking and the other special-use
//! ranges of the IANA registries, IPv4 and IPv6, including IPv4 addresses embedded in IPv6
//! ones — is off-limits, so that an admin's webhook cannot be turned against the hospital's
//! own network (OWASP API7, server-side request forgery).
//!
//! Pure: what an address is. Resolving names and connecting are the caller's; the caller
//! connects only to addresses this module permitted.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    str::FromStr,
};

/// An IP network in CIDR notation (`10.20.0.0/16`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    base: IpAddr,
    prefix: u8,
}

/// Why a network could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    #[error("`{0}` is not a network in CIDR notation, such as 10.20.0.0/16 or fd00::/8")]
    Malformed(String),
    #[error("`{given}` has bits set after its prefix; the network is {network}")]
    HostBits { given: String, network: Network },
}

impl Network {
    pub const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Self {
        Self {
            base: IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
            prefix,
        }
    }

    const fn v6(segments: [u16; 8], prefix: u8) -> Self {
        let [a, b, c, d, e, f, g, h] = segments;
        Self {
            base: IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h)),
            prefix,
        }
    }

    /// Whether `ip` lies in this network (an IPv4 network never holds an IPv6 address: the
    /// caller unwraps IPv4-mapped addresses first).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, ip) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                let mask = mask32(self.prefix);
                u32::from(base) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                let mask = mask128(self.prefix);
                u128::from(base) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    }
}

fn mask128(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix.min(128)))
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

impl FromStr for Network {
    type Err = NetworkError;

    /// `address/prefix`, the address in its plain dotted or RFC 5952 form (no numeric
    /// shorthand such as `127.1`: an operator's list says exactly what it means).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let given = s.trim();
        let malformed = || NetworkError::Malformed(given.to_owned());
        let (address, prefix) = given.split_once('/').ok_or_else(malformed)?;
        let base: IpAddr = address.parse().map_err(|_| malformed())?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 3 {
            return Err(malformed());
        }
        let prefix: u8 = prefix.parse().map_err(|_| malformed())?;
        let network = match base {
            IpAddr::V4(v4) if prefix <= 32 => Network {
                base: IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask32(prefix))),
                prefix,
            },
            IpAddr::V6(v6) if prefix <= 128 => Network {
                base: IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask128(prefix))),
                prefix,
            },
            _ => return Err(malformed()),
        };
        if network.base != base {
            return Err(NetworkError::HostBits {
                given: given.to_owned(),
                network,
            });
        }
        Ok(network)
    }
}

/// IPv4 ranges that are not the public Internet (IANA IPv4 Special-Purpose Address Registry,
/// RFC 6890 and successors, plus multicast and the reserved class E).
const SPECIAL_V4: [Network; 16] = [
    Network::v4(0, 0, 0, 0, 8), // "this network", incl. the unspecified 0.0.0.0
    Network::v4(10, 0, 0, 0, 8), // private (RFC 1918)
    Network::v4(100, 64, 0, 0, 10), // shared address space, carrier-grade NAT (RFC 6598)
    Network::v4(127, 0, 0, 0, 8), // loopback
    Network::v4(169, 254, 0, 0, 16), // link-local, cloud metadata services
    Network::v4(172, 16, 0, 0, 12), // private (RFC 1918)
    Network::v4(192, 0, 0, 0, 24), // IETF protocol assignments
    Network::v4(192, 0, 2, 0, 24), // documentation (TEST-NET-1)
    Network::v4(192, 88, 99, 0, 24), // 6to4 relay anycast (deprecated)
    Network::v4(192, 168, 0, 0, 16), // private (RFC 1918)
    Network::v4(198, 18, 0, 0, 15), // benchmarking
    Network::v4(198, 51, 100, 0, 24), // documentation (TEST-NET-2)
    Network::v4(203, 0, 113, 0, 24), // documentation (TEST-NET-3)
    Network::v4(224, 0, 0, 0, 4), // multicast
    Network::v4(240, 0, 0, 0, 4), // reserved, incl. the broadcast 255.255.255.255
    Network::v4(255, 255, 255, 255, 32), // limited broadcast (inside the above; named)
];

/// IPv6 ranges that are not the public Internet (IANA IPv6 Special-Purpose Address Registry).
/// The ranges that embed an IPv4 address (mapped, NAT64, 6to4) are judged by that address.
const SPECIAL_V6: [Network; 11] = [
    Network::v6([0, 0, 0, 0, 0, 0, 0, 0], 96), // unspecified, loopback, IPv4-compatible
    Network::v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), // local-use NAT64
    Network::v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), // discard-only
    Network::v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), // IETF protocol assignments, Teredo
    Network::v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), // documentation
    Network::v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), // documentation (RFC 9637)
    Network::v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16), // segment routing (SRv6) SIDs
    Network::v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), // unique local
    Network::v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), // link-local
    Network::v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), // site-local (deprecated)
    Network::v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), // multicast
];

/// The IPv4 address an IPv6 address carries, for the ranges where it decides where packets
/// go: IPv4-mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let bits = u128::from(ip);
    let low32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if Network::v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96).contains(IpAddr::V6(ip)) {
        return Some(low32);
    }
    if Network::v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16).contains(IpAddr::V6(ip)) {
        return Some(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    None
}

/// Whether an address is anything but a public Internet address.
pub fn is_special(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => SPECIAL_V4.iter().any(|n| n.contains(IpAddr::V4(v4))),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_special(IpAddr::V4(v4)),
            None => SPECIAL_V6.iter().any(|n| n.contains(IpAddr::V6(v6))),
        },
    }
}

/// The networks an operator allowed besides the public Internet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    allowed: Vec<Network>,
}

impl TargetPolicy {
    /// Nothing but public addresses.
    pub fn public_only() -> Self {
        Self::default()
    }

    pub fn allowing(allowed: Vec<Network>) -> Self {
        Self { allowed }
    }

    /// A comma-separated list of CIDRs (`MENTORAT_WEBHOOK_ALLOWED_NETWORKS`); empty items are
    /// skipped.
    pub fn parse(list: &str) -> Result<Self, NetworkError> {
        let allowed = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<Network>, _>>()?;
        Ok(Self { allowed })
    }

    pub fn allowed(&self) -> &[Network] {
        &self.allowed
    }

    /// Whether the service may connect to `ip`: a public address, or one in an allowed
    /// network (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn permits(&self, ip: IpAddr) -> bool {
        let unwrapped = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let listed = self
            .allowed
            .iter()
            .any(|n| n.contains(ip) || n.contains(unwrapped));
        listed || !is_special(ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn special_use_addresses_are_not_public() {
        for s in [
            "0.0.0.0",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.255",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:db8::1",
            "3fff::1",
            "5f00::1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(is_special(ip(s)), "{s}");
            assert!(!TargetPolicy::public_only().permits(ip(s)), "{s}");
        }
    }

    #[test]
    fn public_addresses_are_permitted() {
        for s in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.3.1",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700::1111",
            "2a00:1450:4007::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!is_special(ip(s)), "{s}");
            assert!(TargetPolicy::public_only().permits(ip(s)), "{s}");
        }
    }

    #[test]
    fn an_allowed_network_opens_its_range_only() {
        let policy = TargetPolicy::parse(" 10.20.0.0/16, fd00::/8 ,").unwrap();
        assert_eq!(policy.allowed().len(), 2);
        assert!(policy.permits(ip("10.20.3.4")));
        assert!(policy.permits(ip("::ffff:10.20.3.4")));
        assert!(policy.permits(ip("fd00::5")));
        assert!(!policy.permits(ip("10.21.0.1")));
        assert!(!policy.permits(ip("127.0.0.1")));
        assert!(!policy.permits(ip("fe80::1")));
        let loopback = TargetPolicy::parse("127.0.0.0/8,::1/128").unwrap();
        assert!(loopback.permits(ip("127.0.0.1")) && loopback.permits(ip("::1")));
        assert!(!loopback.permits(ip("169.254.169.254")));
    }

    #[test]
    fn networks_are_plain_cidrs() {
        assert_eq!(
            "192.168.0.0/16".parse::<Network>().unwrap().to_string(),
            "192.168.0.0/16"
        );
        assert_eq!("::1/128".parse::<Network>().unwrap().to_string(), "::1/128");
        assert!(
            "0.0.0.0/0"
                .parse::<Network>()
                .unwrap()
                .contains(ip("8.8.8.8"))
        );
        for bad in [
            "10.0.0.0",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/+8",
            "10.1/16",
            "example.org/24",
            "10.0.0.0/8/8",
        ] {
            assert!(
                matches!(bad.parse::<Network>(), Err(NetworkError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            "10.1.2.3/8".parse::<Network>(),
            Err(NetworkError::HostBits { .. })
        ));
    }
}
