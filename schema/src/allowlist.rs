//! False-positive allowlists: address ranges, domains (exact or with every subdomain)
//! and file hashes that must not be shared as indicators (private ranges, public
//! resolvers, hashes of well-known files). Matching is by hash probes per prefix
//! length present and per domain suffix, never a scan of the entries, so 100,000
//! ranges and 100,000 domains cost a few probes per indicator.
//!
//! The list text format, one entry per line (`#` starts a comment):
//! `192.0.2.0/24`, `198.51.100.7` (one address), `2001:db8::/32`, `example.com`
//! (that name only), `.example.com` or `*.example.com` (the name and every
//! subdomain), or an MD5/SHA-1/SHA-256 in hex.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::model::indicator::{normalize, IndicatorType};

/// Where a match came from: the list's name and the entry as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub list: Arc<str>,
    pub entry: Arc<str>,
}

/// A line of a list that is not an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub line: usize,
    pub text: String,
    pub reason: &'static str,
    pub reason_ja: &'static str,
}

/// One parsed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    V4 {
        network: u32,
        prefix: u8,
    },
    V6 {
        network: u128,
        prefix: u8,
    },
    Domain(String),
    /// The name and all its subdomains.
    Suffix(String),
    Hash(String),
}

impl Entry {
    /// Parses one entry; `None` for a blank or comment line.
    pub fn parse(line: &str) -> Result<Option<Entry>, (&'static str, &'static str)> {
        let text = line.split('#').next().unwrap_or("").trim();
        if text.is_empty() {
            return Ok(None);
        }
        let bad = ("not an address, range, domain or hash", "アドレス、範囲、ドメイン、ハッシュのいずれでもありません");
        if text.contains('/') {
            let (addr, len) = text.split_once('/').ok_or(bad)?;
            let prefix: u8 = len
                .parse()
                .map_err(|_| ("the prefix length is not a number", "プレフィックス長が数値ではありません"))?;
            return Entry::range(addr, prefix).map(Some);
        }
        if let Ok(a) = text.parse::<Ipv4Addr>() {
            return Ok(Some(Entry::V4 { network: u32::from(a), prefix: 32 }));
        }
        if let Ok(a) = text.parse::<Ipv6Addr>() {
            return Ok(Some(Entry::V6 { network: u128::from(a), prefix: 128 }));
        }
        if matches!(text.len(), 32 | 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Some(Entry::Hash(text.to_ascii_lowercase())));
        }
        let (suffix, name) = match text.strip_prefix("*.").or_else(|| text.strip_prefix('.')) {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let name = normalize(IndicatorType::Domain, name).map_err(|_| bad)?;
        Ok(Some(if suffix { Entry::Suffix(name) } else { Entry::Domain(name) }))
    }

    fn range(addr: &str, prefix: u8) -> Result<Entry, (&'static str, &'static str)> {
        let too_long =
            ("the prefix length is too long for the address", "プレフィックス長がアドレスに対して長すぎます");
        let host_bits = ("the range has host bits set", "範囲のホスト部にビットが立っています");
        if let Ok(a) = addr.parse::<Ipv4Addr>() {
            if prefix > 32 {
                return Err(too_long);
            }
            let network = u32::from(a);
            if network & !mask_v4(prefix) != 0 {
                return Err(host_bits);
            }
            return Ok(Entry::V4 { network, prefix });
        }
        if let Ok(a) = addr.parse::<Ipv6Addr>() {
            if prefix > 128 {
                return Err(too_long);
            }
            let network = u128::from(a);
            if network & !mask_v6(prefix) != 0 {
                return Err(host_bits);
            }
            return Ok(Entry::V6 { network, prefix });
        }
        Err(("not an IPv4 or IPv6 range", "IPv4またはIPv6の範囲ではありません"))
    }
}

fn mask_v4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask_v6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// Parses a whole list; every bad line is reported (and nothing is taken from a list
/// with bad lines, so an import is all or nothing).
pub fn parse_list(text: &str) -> Result<Vec<(Entry, String)>, Vec<BadLine>> {
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match Entry::parse(line) {
            Ok(Some(e)) => entries.push((e, line.split('#').next().unwrap_or("").trim().to_string())),
            Ok(None) => {}
            Err((reason, reason_ja)) => {
                bad.push(BadLine { line: i + 1, text: line.chars().take(80).collect(), reason, reason_ja })
            }
        }
    }
    if bad.is_empty() {
        Ok(entries)
    } else {
        Err(bad)
    }
}

/// The list shipped with renkei: ranges and names no real indicator lives in, public
/// resolvers and root servers, and hashes of the empty file. Documentation ranges
/// (192.0.2.0/24 and the like) and example domains are left out on purpose: exercises
/// and training material share them as stand-ins for real indicators.
pub const BUILTIN_NAME: &str = "renkei-builtin";
pub const BUILTIN: &str = include_str!("allowlist_builtin.txt");

/// The map of one prefix length, made (and the lengths kept longest first) if new.
fn level<K>(levels: &mut Vec<(u8, HashMap<K, u32>)>, prefix: u8) -> &mut HashMap<K, u32> {
    let at = match levels.iter().position(|(p, _)| *p == prefix) {
        Some(at) => at,
        None => {
            let at = levels.iter().position(|(p, _)| *p < prefix).unwrap_or(levels.len());
            levels.insert(at, (prefix, HashMap::new()));
            at
        }
    };
    &mut levels[at].1
}

/// Every allowlist in force, ready to match.
#[derive(Debug, Default)]
pub struct Matcher {
    /// Per IPv4 prefix length present (longest first), network → entry.
    v4: Vec<(u8, HashMap<u32, u32>)>,
    v6: Vec<(u8, HashMap<u128, u32>)>,
    domains: HashMap<Box<str>, u32>,
    suffixes: HashMap<Box<str>, u32>,
    hashes: HashMap<Box<str>, u32>,
    hits: Vec<Hit>,
}

impl Matcher {
    /// Adds a list's entries; a later duplicate keeps the first entry's origin.
    pub fn add(&mut self, list: &str, entries: impl IntoIterator<Item = (Entry, String)>) {
        let list: Arc<str> = Arc::from(list);
        for (entry, text) in entries {
            let index = self.hits.len() as u32;
            self.hits.push(Hit { list: Arc::clone(&list), entry: Arc::from(text) });
            match entry {
                Entry::V4 { network, prefix } => {
                    level(&mut self.v4, prefix).entry(network).or_insert(index);
                }
                Entry::V6 { network, prefix } => {
                    level(&mut self.v6, prefix).entry(network).or_insert(index);
                }
                Entry::Domain(d) => {
                    self.domains.entry(d.into_boxed_str()).or_insert(index);
                }
                Entry::Suffix(d) => {
                    self.suffixes.entry(d.into_boxed_str()).or_insert(index);
                }
                Entry::Hash(h) => {
                    self.hashes.entry(h.into_boxed_str()).or_insert(index);
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.hits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hits.is_empty()
    }

    fn hit(&self, index: Option<&u32>) -> Option<&Hit> {
        index.and_then(|i| self.hits.get(*i as usize))
    }

    fn v4(&self, addr: u32, at_most: u8) -> Option<&Hit> {
        self.v4.iter().filter(|(p, _)| *p <= at_most).find_map(|(p, m)| self.hit(m.get(&(addr & mask_v4(*p)))))
    }

    fn v6(&self, addr: u128, at_most: u8) -> Option<&Hit> {
        self.v6.iter().filter(|(p, _)| *p <= at_most).find_map(|(p, m)| self.hit(m.get(&(addr & mask_v6(*p)))))
    }

    fn domain(&self, name: &str) -> Option<&Hit> {
        if let Some(hit) = self.hit(self.domains.get(name)) {
            return Some(hit);
        }
        // The name itself, then each parent: a.b.example.com, b.example.com, ...
        let mut rest = name;
        loop {
            if let Some(hit) = self.hit(self.suffixes.get(rest)) {
                return Some(hit);
            }
            rest = rest.split_once('.')?.1;
        }
    }

    fn host(&self, host: &str) -> Option<&Hit> {
        if let Ok(a) = host.parse::<Ipv4Addr>() {
            return self.v4(u32::from(a), 32);
        }
        let bracketed = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        if let Some(a) = bracketed.and_then(|h| h.parse::<Ipv6Addr>().ok()) {
            return self.v6(u128::from(a), 128);
        }
        self.domain(host)
    }

    /// The allowlist entry a normalised indicator falls under, if any. A CIDR matches
    /// when it lies inside an allowlisted range; a URL by its host; e-mail addresses
    /// and file names are never allowlisted (a benign domain still sends phishing).
    pub fn check(&self, kind: IndicatorType, value: &str) -> Option<&Hit> {
        match kind {
            IndicatorType::Ipv4 => value.parse::<Ipv4Addr>().ok().and_then(|a| self.v4(u32::from(a), 32)),
            IndicatorType::Ipv6 => value.parse::<Ipv6Addr>().ok().and_then(|a| self.v6(u128::from(a), 128)),
            IndicatorType::Cidr => {
                let (addr, len) = value.split_once('/')?;
                let prefix: u8 = len.parse().ok()?;
                match addr.parse::<Ipv4Addr>() {
                    Ok(a) => self.v4(u32::from(a), prefix),
                    Err(_) => self.v6(u128::from(addr.parse::<Ipv6Addr>().ok()?), prefix),
                }
            }
            IndicatorType::Domain => self.domain(value),
            IndicatorType::Url => url::Url::parse(value).ok().and_then(|u| u.host_str().and_then(|h| self.host(h))),
            IndicatorType::Md5 | IndicatorType::Sha1 | IndicatorType::Sha256 => self.hit(self.hashes.get(value)),
            IndicatorType::Email | IndicatorType::Filename => None,
        }
    }
}

/// The built-in list, parsed (it is tested to parse cleanly).
pub fn builtin_entries() -> Vec<(Entry, String)> {
    parse_list(BUILTIN).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(text: &str) -> Matcher {
        let mut m = Matcher::default();
        m.add("test", parse_list(text).expect("list parses"));
        m
    }

    fn hit(m: &Matcher, kind: IndicatorType, raw: &str) -> Option<String> {
        let value = normalize(kind, raw).expect("valid indicator");
        m.check(kind, &value).map(|h| h.entry.to_string())
    }

    #[test]
    fn ranges_match_addresses_and_narrower_ranges_inside_them() {
        let m = matcher("10.0.0.0/8\n203.0.113.7\n2001:db8:1::/48 # docs\n0.0.0.0/0 # not used below\n");
        let m2 = matcher("10.0.0.0/8\n203.0.113.7\n2001:db8:1::/48\n");
        assert_eq!(hit(&m2, IndicatorType::Ipv4, "10.200.3.4").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(hit(&m2, IndicatorType::Ipv4, "203.0.113.7").as_deref(), Some("203.0.113.7"));
        assert_eq!(hit(&m2, IndicatorType::Ipv4, "203.0.113.8"), None);
        assert_eq!(hit(&m2, IndicatorType::Cidr, "10.1.0.0/16").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(hit(&m2, IndicatorType::Cidr, "10.0.0.0/7"), None, "wider than the entry");
        assert_eq!(hit(&m2, IndicatorType::Ipv6, "2001:db8:1::99").as_deref(), Some("2001:db8:1::/48"));
        assert_eq!(hit(&m2, IndicatorType::Ipv6, "2001:db8:2::1"), None);
        assert_eq!(hit(&m2, IndicatorType::Url, "http://10.9.9.9/x").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(hit(&m2, IndicatorType::Url, "http://[2001:db8:1::5]/").as_deref(), Some("2001:db8:1::/48"));
        assert!(hit(&m, IndicatorType::Ipv4, "8.8.8.8").is_some(), "0.0.0.0/0 holds everything");
    }

    #[test]
    fn domains_are_exact_or_cover_every_subdomain() {
        let m = matcher("windowsupdate.com\n.microsoft.com\n*.akamaiedge.net\n");
        assert!(hit(&m, IndicatorType::Domain, "windowsupdate.com").is_some());
        assert!(hit(&m, IndicatorType::Domain, "evil.windowsupdate.com").is_none(), "exact entries are exact");
        assert!(hit(&m, IndicatorType::Domain, "microsoft.com").is_some());
        assert!(hit(&m, IndicatorType::Domain, "a.b.MICROSOFT.com").is_some());
        assert!(hit(&m, IndicatorType::Domain, "notmicrosoft.com").is_none(), "suffixes end at a label");
        assert!(hit(&m, IndicatorType::Url, "https://e1.akamaiedge.net/p").is_some());
        assert!(hit(&m, IndicatorType::Email, "a@microsoft.com").is_none());
    }

    #[test]
    fn hashes_match_in_any_case() {
        let m = matcher("D41D8CD98F00B204E9800998ECF8427E\n");
        assert!(hit(&m, IndicatorType::Md5, "d41d8cd98f00b204e9800998ecf8427e").is_some());
        assert!(hit(&m, IndicatorType::Md5, "d41d8cd98f00b204e9800998ecf8427f").is_none());
    }

    #[test]
    fn bad_lines_are_all_reported_with_their_numbers() {
        let err = parse_list("10.0.0.0/8\n10.0.0.1/8\nnot a domain!\n1.2.3.4/40\n# fine\n\n").expect_err("bad lines");
        let lines: Vec<usize> = err.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![2, 3, 4]);
        assert_eq!(err[0].reason, "the range has host bits set");
    }

    #[test]
    fn the_builtin_list_parses_and_covers_the_obvious_cases() {
        let parsed = parse_list(BUILTIN).expect("the built-in list parses");
        assert!(parsed.len() > 40);
        let mut m = Matcher::default();
        m.add(BUILTIN_NAME, parsed);
        for (kind, value) in [
            (IndicatorType::Ipv4, "192.168.1.10"),
            (IndicatorType::Ipv4, "10.1.2.3"),
            (IndicatorType::Ipv4, "127.0.0.1"),
            (IndicatorType::Ipv4, "8.8.8.8"),
            (IndicatorType::Ipv4, "198.41.0.4"),
            (IndicatorType::Ipv6, "fe80::1"),
            (IndicatorType::Ipv6, "2001:4860:4860::8888"),
            (IndicatorType::Domain, "a.root-servers.net"),
            (IndicatorType::Sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ] {
            assert!(hit(&m, kind, value).is_some(), "{value} should be on the built-in list");
        }
        for (kind, value) in [
            (IndicatorType::Ipv4, "198.51.100.7"),
            (IndicatorType::Domain, "evil.example"),
            (IndicatorType::Ipv4, "45.1.2.3"),
        ] {
            assert!(hit(&m, kind, value).is_none(), "{value} should not be on the built-in list");
        }
    }
}
