//! Which address a request comes from. Behind a TLS proxy or a load balancer every
//! connection comes from the proxy, so lockouts and per-address limits would hit every
//! member at once; the client's address is then taken from `Forwarded` (RFC 7239) or
//! `X-Forwarded-For`, but only when the connection comes from a configured trusted
//! proxy: anyone else could write any address there and dodge the limits.

use std::net::IpAddr;

/// One address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    network: IpAddr,
    prefix: u8,
}

impl Range {
    fn parse(text: &str) -> Result<Range, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr =
            addr.trim().parse().map_err(|_| format!("trusted_proxies: {text:?} is not an address or CIDR range"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("trusted_proxies: {text:?} has a prefix length outside 0–{max}"))?,
        };
        Ok(Range { network, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        fn bits(ip: IpAddr) -> (u128, u8) {
            match ip {
                IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
                IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                    Some(v4) => (u128::from(u32::from(v4)), 32),
                    None => (u128::from(v6), 128),
                },
            }
        }
        let (net, width) = bits(self.network);
        let (addr, addr_width) = bits(ip);
        if width != addr_width {
            return false;
        }
        let host_bits = u32::from(width - self.prefix);
        let mask = if host_bits >= 128 { 0 } else { !0u128 << host_bits };
        (net & mask) == (addr & mask)
    }
}

/// The configured trusted proxies.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Range>);

impl TrustedProxies {
    /// Parses `trusted_proxies` from the configuration; names the first bad entry.
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        entries.iter().map(|e| Range::parse(e)).collect::<Result<_, _>>().map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|r| r.contains(ip))
    }

    /// The client's address: the connection's own, unless it comes from a trusted
    /// proxy, in which case the nearest address in the forwarding headers that is not a
    /// trusted proxy itself (walking from the right: entries further left were written
    /// by whoever sent the request and may be forged).
    pub fn client(&self, peer: Option<IpAddr>, forwarded: Option<&str>, x_forwarded_for: Option<&str>) -> String {
        let Some(peer) = peer else { return "unknown".into() };
        if !self.trusts(peer) {
            return peer.to_string();
        }
        let chain: Vec<IpAddr> = match (forwarded, x_forwarded_for) {
            (Some(f), _) => forwarded_for(f),
            (None, Some(x)) => x.split(',').filter_map(|a| parse_node(a.trim())).collect(),
            (None, None) => Vec::new(),
        };
        chain.iter().rev().find(|ip| !self.trusts(**ip)).or(chain.first()).copied().unwrap_or(peer).to_string()
    }
}

/// The `for=` addresses of a `Forwarded` header, in order.
fn forwarded_for(header: &str) -> Vec<IpAddr> {
    header
        .split(',')
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim().eq_ignore_ascii_case("for").then(|| parse_node(value.trim().trim_matches('"'))).flatten()
            })
        })
        .collect()
}

/// An address as the headers write it: `192.0.2.1`, `192.0.2.1:443`, `[2001:db8::1]`,
/// `[2001:db8::1]:443` or a bare IPv6 address. Obfuscated names (`_hidden`, `unknown`)
/// name no address.
fn parse_node(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    text.rsplit_once(':').and_then(|(ip, port)| port.parse::<u16>().ok().and_then(|_| ip.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("ip"))
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("198.51.100.9"), None, Some("203.0.113.5")), "198.51.100.9");
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into(), "192.0.2.1".into()]).expect("parse");
        // From an untrusted peer the header is ignored.
        assert_eq!(proxies.client(ip("198.51.100.9"), None, Some("203.0.113.5")), "198.51.100.9");
        // From a trusted one the nearest untrusted address counts; forged entries on the
        // left do not.
        assert_eq!(proxies.client(ip("10.1.2.3"), None, Some("1.1.1.1, 203.0.113.5")), "203.0.113.5");
        assert_eq!(proxies.client(ip("10.1.2.3"), None, Some("203.0.113.5, 10.9.9.9")), "203.0.113.5");
        assert_eq!(
            proxies.client(ip("192.0.2.1"), Some("for=198.51.100.17;proto=https, for=\"[2001:db8::1]:4711\""), None),
            "2001:db8::1"
        );
        assert_eq!(proxies.client(ip("10.1.2.3"), Some("for=_hidden"), None), "10.1.2.3");
        assert_eq!(proxies.client(ip("10.1.2.3"), None, None), "10.1.2.3");
        assert_eq!(proxies.client(ip("::ffff:10.1.2.3"), None, Some("203.0.113.7:8080")), "203.0.113.7");
        assert_eq!(proxies.client(None, None, Some("203.0.113.7")), "unknown");
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["proxy.example".into()]).is_err());
        let v6 = TrustedProxies::parse(&["2001:db8::/32".into(), "0.0.0.0/0".into()]).expect("parse");
        assert!(v6.trusts("2001:db8:1::5".parse().expect("ip")));
        assert!(!v6.trusts("2001:db9::5".parse().expect("ip")));
        assert!(v6.trusts("8.8.8.8".parse().expect("ip")));
    }
}
