//! Detection exports of indicators: plain lists (one value a line, for block lists and
//! firewalls), CSV for SIEMs and spreadsheets, and Suricata 7 rules with the hash-list
//! files they name. The hub's `/export/indicators` and the client's `renkei export` both
//! write through this module, item by item, so an export streams and both sides write
//! the same bytes for the same items.
//!
//! The Suricata rules are built to load and to match what they say:
//! - a domain matches itself and its subdomains, never a longer label
//!   (`dns.query; dotprefix; content:".evil.example"; endswith;` matches `evil.example`
//!   and `a.evil.example`, not `notevil.example`), in DNS queries, TLS SNI and HTTP Host;
//! - an address or CIDR block matches traffic in either direction (`<>`);
//! - a URL matches its host exactly (`http.host`, without the port) and its path with
//!   query, percent-decoded as Suricata normalises `http.uri`, as the start of the URI
//!   (so `?` and further parameters after it still match);
//! - file hashes go in hash-list files, one per hash type and TLP label
//!   (`renkei-sha256-amber.list`, one hash a line), each named by one `filesha256:` rule
//!   ([`HashList`]); Suricata refuses an empty list, so a list gets a rule only when it
//!   holds a hash, and resolves the name relative to the rules file: the lists go
//!   beside it. Suricata 7.0.10 computes only one hash type when rules ask for several
//!   (a filesha1 and a filesha256 rule: only SHA-1 is computed, the SHA-256 rule never
//!   fires), so the file's header tells the operator to set
//!   `force-hash: [md5, sha1, sha256]`, as `tests/tests/detect.rs` does;
//! - types Suricata cannot match on the wire (e-mail addresses, file names, URLs of other
//!   schemes) get a comment line, not a rule;
//! - each rule's message names the TLP label, the type, the value and the indicator id;
//! - sids are stable: derived from the indicator id and the rule's variant, in
//!   1,000,000,000–1,999,999,999 (above the ranges public rule sets use); the rare
//!   collision within one export moves the later item to the next free derived sid.
//!
//! Which items to export (published, unexpired, above a score threshold) is decided by
//! the caller with [`live`]; what a caller may read is decided by the TLP policy before
//! anything reaches here.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Utc};

use crate::model::indicator::IndicatorType;
use crate::tlp::Tlp;

/// One indicator to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item<'a> {
    pub id: &'a str,
    pub kind: IndicatorType,
    /// The normalised value (`model::indicator::normalize`).
    pub value: &'a str,
    pub tlp: Tlp,
    /// RFC 3339, if the indicator expires.
    pub valid_until: Option<&'a str>,
    /// The current score (`score::score`).
    pub score: u8,
}

/// Whether an item belongs in an export by default: not revoked, not past
/// `valid_until`, scoring at least `min_score`.
pub fn live(revoked: bool, valid_until: Option<DateTime<Utc>>, score: u8, min_score: u8, now: DateTime<Utc>) -> bool {
    !revoked && valid_until.is_none_or(|t| t > now) && score >= min_score
}

/// The formats of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One value a line.
    Plain,
    /// [`CSV_HEADER`], then one [`csv_row`] per item.
    Csv,
    /// Suricata 7 rules ([`Rules`]) and their [`HashList`] files.
    Suricata,
}

impl Format {
    /// `plain` (or `text`), `csv` or `suricata`, ignoring ASCII case.
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "plain" | "text" => Some(Format::Plain),
            "csv" => Some(Format::Csv),
            "suricata" => Some(Format::Suricata),
            _ => None,
        }
    }

    /// The media type of the export.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Plain | Format::Suricata => "text/plain; charset=utf-8",
        }
    }
}

/// A plain list's line: the value.
pub fn plain_line(item: &Item<'_>, out: &mut String) {
    out.push_str(item.value);
    out.push('\n');
}

/// The first line of a CSV export.
pub const CSV_HEADER: &str = "value,type,tlp,score,valid_until,id\n";

/// One CSV row; cells a spreadsheet would take as formulas are neutralised
/// ([`crate::csv`]).
pub fn csv_row(item: &Item<'_>, out: &mut String) {
    let score = item.score.to_string();
    out.push_str(&crate::csv::row(&[
        item.value,
        item.kind.as_str(),
        item.tlp.as_str(),
        &score,
        item.valid_until.unwrap_or(""),
        item.id,
    ]));
}

/// The name of the rules file the client writes (the hub serves the same text at
/// `/export/indicators?format=suricata`).
pub const RULES_FILE: &str = "renkei.rules";

/// One hash-list file: the hashes of one type under one TLP label, one a line, named by
/// one `filemd5:`/`filesha1:`/`filesha256:` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HashList {
    /// `Md5`, `Sha1` or `Sha256`.
    pub kind: IndicatorType,
    pub tlp: Tlp,
}

const HASH_KINDS: [IndicatorType; 3] = [IndicatorType::Md5, IndicatorType::Sha1, IndicatorType::Sha256];

fn tlp_slug(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "clear",
        Tlp::Green => "green",
        Tlp::Amber => "amber",
        Tlp::AmberStrict => "amber-strict",
        Tlp::Red => "red",
    }
}

impl HashList {
    /// Every list a rules file may name, in a fixed order.
    pub fn all() -> impl Iterator<Item = HashList> {
        HASH_KINDS.into_iter().flat_map(|kind| Tlp::ALL.into_iter().map(move |tlp| HashList { kind, tlp }))
    }

    /// The list an item's value goes in, if it is a hash.
    pub fn of(item: &Item<'_>) -> Option<HashList> {
        HASH_KINDS.contains(&item.kind).then_some(HashList { kind: item.kind, tlp: item.tlp })
    }

    /// The file name, e.g. `renkei-sha256-amber-strict.list`.
    pub fn file_name(self) -> String {
        format!("renkei-{}-{}.list", self.kind.as_str(), tlp_slug(self.tlp))
    }

    /// The list a file name names (exactly as [`file_name`](Self::file_name) writes it).
    pub fn parse_file_name(name: &str) -> Option<HashList> {
        HashList::all().find(|l| l.file_name() == name)
    }

    /// The Suricata keyword that reads this list.
    pub fn keyword(self) -> &'static str {
        match self.kind {
            IndicatorType::Md5 => "filemd5",
            IndicatorType::Sha1 => "filesha1",
            _ => "filesha256",
        }
    }

    /// Whether an item belongs in this list.
    pub fn holds(self, item: &Item<'_>) -> bool {
        HashList::of(item) == Some(self)
    }

    /// The list's line for an item of it: the hash (normalised lower-case hex).
    pub fn line(item: &Item<'_>, out: &mut String) {
        out.push_str(item.value);
        out.push('\n');
    }

    /// The rule that matches files whose hash is in this list.
    fn rule(self, sid: u32) -> String {
        let name = self.file_name();
        format!(
            "alert ip any any -> any any (msg:\"renkei {} {} file hash listed in {name}\"; {}:{name}; sid:{sid}; rev:1;)\n",
            self.tlp,
            self.kind,
            self.keyword()
        )
    }
}

/// The lowest sid renkei writes; sids are below `SID_BASE + SID_SPAN`.
pub const SID_BASE: u32 = 1_000_000_000;
const SID_SPAN: u32 = 1_000_000_000;

fn derived_sid(key: &str, attempt: u32) -> u32 {
    let text = if attempt == 0 { key.to_string() } else { format!("{key}#{attempt}") };
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let mut n = [0u8; 4];
    n.copy_from_slice(&digest.as_ref()[..4]);
    SID_BASE + u32::from_be_bytes(n) % SID_SPAN
}

/// Writes a Suricata 7 rules file item by item: [`Rules::header`], then
/// [`Rules::push`] for each item, then [`Rules::finish`] for the hash-list rules. The
/// hash lists it names ([`Rules::lists`] after the last push) are written beside it.
#[derive(Debug)]
pub struct Rules {
    used: HashSet<u32>,
    lists: BTreeSet<HashList>,
    list_sids: Vec<(HashList, u32)>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules::new()
    }
}

impl Rules {
    pub fn new() -> Rules {
        let mut rules = Rules { used: HashSet::new(), lists: BTreeSet::new(), list_sids: Vec::new() };
        // The lists' sids are taken first, so they never depend on the items.
        for list in HashList::all() {
            let sid = rules.sid(&format!("list/{}", list.file_name()));
            rules.list_sids.push((list, sid));
        }
        rules
    }

    /// The comment lines that open the file.
    pub fn header() -> String {
        "# Suricata 7 rules written by renkei from the indicators you may hold.\n\
         # The renkei-*.list files named by filemd5/filesha1/filesha256 rules must lie beside this file.\n\
         # Suricata 7 computes only one hash type for rules of several: set\n\
         # `force-hash: [md5, sha1, sha256]` (eve-log files output) so that every list rule can match.\n"
            .to_string()
    }

    fn sid(&mut self, key: &str) -> u32 {
        let mut attempt = 0;
        loop {
            let sid = derived_sid(key, attempt);
            if self.used.insert(sid) {
                return sid;
            }
            attempt += 1;
        }
    }

    /// Appends the rules for one item (none for a hash, which goes in its list; a
    /// comment for a type Suricata cannot match).
    pub fn push(&mut self, item: &Item<'_>, out: &mut String) {
        if let Some(list) = HashList::of(item) {
            self.lists.insert(list);
            return;
        }
        let msg = |variant: &str| {
            format!("renkei {} {} {} {}{variant}", item.tlp, item.kind, msg_safe(item.value), msg_safe(item.id))
        };
        match item.kind {
            IndicatorType::Ipv4 | IndicatorType::Ipv6 | IndicatorType::Cidr => {
                let sid = self.sid(&format!("{}/ip", item.id));
                out.push_str(&format!(
                    "alert ip [{}] any <> any any (msg:\"{}\"; sid:{sid}; rev:1;)\n",
                    item.value,
                    msg("")
                ));
            }
            IndicatorType::Domain => {
                let content = content(&format!(".{}", item.value));
                for (variant, proto, buffer, nocase) in [
                    ("dns", "dns", "dns.query", "nocase; "),
                    ("tls", "tls", "tls.sni", "nocase; "),
                    ("http", "http", "http.host", ""),
                ] {
                    let sid = self.sid(&format!("{}/{variant}", item.id));
                    out.push_str(&format!(
                        "alert {proto} any any -> any any (msg:\"{}\"; {buffer}; dotprefix; content:\"{content}\"; {nocase}endswith; sid:{sid}; rev:1;)\n",
                        msg(&format!(" ({buffer})"))
                    ));
                }
            }
            IndicatorType::Url => match http_parts(item.value) {
                Some((host, uri)) => {
                    let sid = self.sid(&format!("{}/url", item.id));
                    out.push_str(&format!(
                        "alert http any any -> any any (msg:\"{}\"; http.host; content:\"{}\"; startswith; endswith; http.uri; content:\"{}\"; startswith; sid:{sid}; rev:1;)\n",
                        msg(""),
                        content(&host),
                        content_bytes(&percent_decoded(&uri))
                    ));
                }
                None => no_rule(item, "Suricata matches only http and https URLs", out),
            },
            IndicatorType::Email
            | IndicatorType::Filename
            | IndicatorType::Md5
            | IndicatorType::Sha1
            | IndicatorType::Sha256 => no_rule(item, "no Suricata rule for this type", out),
        }
    }

    /// The hash lists that received an item so far.
    pub fn lists(&self) -> impl Iterator<Item = HashList> + '_ {
        self.lists.iter().copied()
    }

    /// Appends one rule per hash list that received an item.
    pub fn finish(&self, out: &mut String) {
        for (list, sid) in &self.list_sids {
            if self.lists.contains(list) {
                out.push_str(&list.rule(*sid));
            }
        }
    }
}

fn no_rule(item: &Item<'_>, why: &str, out: &mut String) {
    out.push_str(&format!("# {} {} ({}, {}): {why}\n", item.kind, item.value, item.id, item.tlp));
}

/// A rule message's text: characters a message may hold unescaped, others as `?`.
fn msg_safe(s: &str) -> String {
    s.chars().take(200).map(|c| if c.is_ascii_alphanumeric() || ".:/_-@[]".contains(c) { c } else { '?' }).collect()
}

/// A content string: plain for characters with no meaning to Suricata, `|xx|` hex for
/// every other byte (quotes, `;`, `\`, `|`, spaces, non-ASCII).
fn content(s: &str) -> String {
    content_bytes(s.as_bytes())
}

fn content_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b".-_/~%?=&+,!*'()@$[]#:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("|{b:02x}|"));
        }
    }
    out
}

/// `%xx` escapes decoded: Suricata's `http.uri` holds the URI as libhtp normalises it,
/// with the path and query percent-decoded (measured with Suricata 7.0.10: a request for
/// `/a%20b?x=%41` matches `content:"/a|20|b?x=A"`, not the escaped form).
fn percent_decoded(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'%'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The host (without port) and the URI (path and query, as sent) of an http or https
/// URL.
fn http_parts(value: &str) -> Option<(String, String)> {
    let url = url::Url::parse(value).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    let mut uri = url.path().to_string();
    if let Some(q) = url.query() {
        uri.push('?');
        uri.push_str(q);
    }
    Some((host, uri))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item<'a>(id: &'a str, kind: IndicatorType, value: &'a str, tlp: Tlp) -> Item<'a> {
        Item { id, kind, value, tlp, valid_until: None, score: 50 }
    }

    fn rules_for(items: &[Item<'_>]) -> (String, Vec<HashList>) {
        let mut rules = Rules::new();
        let mut out = Rules::header();
        for i in items {
            rules.push(i, &mut out);
        }
        rules.finish(&mut out);
        (out, rules.lists().collect())
    }

    fn sids(text: &str) -> Vec<u32> {
        text.lines()
            .filter(|l| l.starts_with("alert "))
            .map(|l| l.split("sid:").nth(1).and_then(|s| s.split(';').next()).expect("sid").parse().expect("number"))
            .collect()
    }

    #[test]
    fn domain_rules_are_anchored_on_a_label_boundary_in_dns_tls_and_http() {
        let (text, _) = rules_for(&[item("indicator--1", IndicatorType::Domain, "evil.example", Tlp::Amber)]);
        let alerts: Vec<&str> = text.lines().filter(|l| l.starts_with("alert ")).collect();
        assert_eq!(alerts.len(), 3, "{text}");
        assert!(alerts[0].starts_with("alert dns any any -> any any (msg:\"renkei TLP:AMBER domain evil.example indicator--1 (dns.query)\"; dns.query; dotprefix; content:\".evil.example\"; nocase; endswith;"), "{}", alerts[0]);
        assert!(alerts[1].contains("tls.sni; dotprefix; content:\".evil.example\"; nocase; endswith;"));
        assert!(
            alerts[2].contains("http.host; dotprefix; content:\".evil.example\"; endswith;"),
            "http.host is lower-case already"
        );
        assert!(!text.contains("content:\"evil.example\""), "never the bare value, which notevil.example ends with");
    }

    #[test]
    fn ip_and_cidr_rules_match_both_directions() {
        let (text, _) = rules_for(&[
            item("indicator--1", IndicatorType::Ipv4, "198.51.100.7", Tlp::Green),
            item("indicator--2", IndicatorType::Ipv6, "2001:db8::7", Tlp::Green),
            item("indicator--3", IndicatorType::Cidr, "203.0.113.0/24", Tlp::Clear),
        ]);
        assert!(text.contains(
            "alert ip [198.51.100.7] any <> any any (msg:\"renkei TLP:GREEN ipv4 198.51.100.7 indicator--1\";"
        ));
        assert!(text.contains("alert ip [2001:db8::7] any <> any any"));
        assert!(text.contains("alert ip [203.0.113.0/24] any <> any any (msg:\"renkei TLP:CLEAR cidr"));
    }

    #[test]
    fn hashes_go_in_lists_named_by_one_rule_per_list() {
        let sha = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
        let items = [
            item("indicator--1", IndicatorType::Sha256, sha, Tlp::Amber),
            item("indicator--2", IndicatorType::Sha256, "aa", Tlp::Amber),
            item("indicator--3", IndicatorType::Md5, "d41d8cd98f00b204e9800998ecf8427e", Tlp::AmberStrict),
        ];
        let (text, lists) = rules_for(&items);
        assert_eq!(
            lists,
            vec![
                HashList { kind: IndicatorType::Md5, tlp: Tlp::AmberStrict },
                HashList { kind: IndicatorType::Sha256, tlp: Tlp::Amber }
            ]
        );
        assert_eq!(lists[0].file_name(), "renkei-md5-amber-strict.list");
        assert_eq!(HashList::parse_file_name("renkei-sha256-amber.list"), Some(lists[1]));
        assert_eq!(HashList::parse_file_name("../etc/passwd"), None);
        assert_eq!(HashList::parse_file_name("renkei-sha512-amber.list"), None);
        let alerts: Vec<&str> = text.lines().filter(|l| l.starts_with("alert ")).collect();
        assert_eq!(alerts.len(), 2, "{text}");
        assert!(alerts[0].contains("msg:\"renkei TLP:AMBER+STRICT md5 file hash listed in renkei-md5-amber-strict.list\"; filemd5:renkei-md5-amber-strict.list;"), "{}", alerts[0]);
        assert!(alerts[1].contains("filesha256:renkei-sha256-amber.list;"));
        assert!(!text.contains(sha), "a hash is never written into a rule");
        let mut list = String::new();
        for i in items.iter().filter(|i| lists[1].holds(i)) {
            HashList::line(i, &mut list);
        }
        assert_eq!(list, format!("{sha}\naa\n"));
        // No list, no rule: Suricata refuses an empty list.
        let (text, lists) = rules_for(&[item("indicator--1", IndicatorType::Ipv4, "198.51.100.7", Tlp::Green)]);
        assert!(lists.is_empty() && !text.lines().any(|l| l.starts_with("alert ") && l.contains("file")), "{text}");
    }

    #[test]
    fn urls_match_host_exactly_and_uri_as_prefix_and_other_schemes_get_a_comment() {
        let (text, _) = rules_for(&[
            item("indicator--1", IndicatorType::Url, "http://dl.evil.example:8080/a b;\"|?q=1", Tlp::Red),
            item("indicator--2", IndicatorType::Url, "ftp://dl.evil.example/x", Tlp::Red),
            item("indicator--3", IndicatorType::Email, "a@evil.example", Tlp::Red),
            item("indicator--4", IndicatorType::Filename, "dropper.exe", Tlp::Red),
        ]);
        let alerts: Vec<&str> = text.lines().filter(|l| l.starts_with("alert ")).collect();
        assert_eq!(alerts.len(), 1, "{text}");
        assert!(alerts[0].contains("http.host; content:\"dl.evil.example\"; startswith; endswith; http.uri; content:\"/a|20|b|3b||22||7c|?q=1\"; startswith;"), "{}", alerts[0]);
        assert!(
            alerts[0].contains("msg:\"renkei TLP:RED url http://dl.evil.example:8080/a?b????q?1 indicator--1\""),
            "{}",
            alerts[0]
        );
        let (escaped, _) =
            rules_for(&[item("indicator--5", IndicatorType::Url, "https://x.example/p%41th?q=%2541", Tlp::Red)]);
        assert!(
            escaped
                .contains("http.host; content:\"x.example\"; startswith; endswith; http.uri; content:\"/pAth?q=%41\";"),
            "{escaped}"
        );
        assert!(text.contains(
            "# url ftp://dl.evil.example/x (indicator--2, TLP:RED): Suricata matches only http and https URLs\n"
        ));
        assert!(text.contains("# email a@evil.example (indicator--3, TLP:RED): no Suricata rule for this type\n"));
        assert!(text.contains("# filename dropper.exe (indicator--4, TLP:RED)"));
    }

    #[test]
    fn sids_are_stable_distinct_and_in_range() {
        let items: Vec<(String, String)> =
            (0..3000).map(|i| (format!("indicator--{i}"), format!("h{i}.evil.example"))).collect();
        let items: Vec<Item<'_>> = items.iter().map(|(id, v)| item(id, IndicatorType::Domain, v, Tlp::Green)).collect();
        let (a, _) = rules_for(&items);
        let (b, _) = rules_for(&items);
        let sa = sids(&a);
        assert_eq!(sa, sids(&b), "the same items get the same sids");
        assert_eq!(sa.len(), 9000);
        assert_eq!(sa.iter().collect::<HashSet<_>>().len(), 9000, "distinct");
        assert!(sa.iter().all(|s| (SID_BASE..SID_BASE + SID_SPAN).contains(s)));
        // An item's sids do not depend on the others.
        let (alone, _) = rules_for(&items[1234..1235]);
        assert_eq!(sids(&alone), sa[3702..3705].to_vec());
    }

    #[test]
    fn a_sid_collision_moves_the_later_item() {
        let mut rules = Rules::new();
        let first = rules.sid("k");
        let second = rules.sid("k");
        assert_ne!(first, second);
        assert_eq!(second, derived_sid("k", 1));
    }

    #[test]
    fn csv_and_plain_lines() {
        let i = Item {
            id: "indicator--1",
            kind: IndicatorType::Domain,
            value: "=cmd|' /C calc'!A0",
            tlp: Tlp::Green,
            valid_until: Some("2027-01-01T00:00:00Z"),
            score: 42,
        };
        let mut csv = String::from(CSV_HEADER);
        csv_row(&i, &mut csv);
        assert_eq!(
            csv,
            "value,type,tlp,score,valid_until,id\n\"'=cmd|' /C calc'!A0\",domain,TLP:GREEN,42,2027-01-01T00:00:00Z,indicator--1\n"
        );
        let mut plain = String::new();
        plain_line(&i, &mut plain);
        assert_eq!(plain, "=cmd|' /C calc'!A0\n");
    }

    #[test]
    fn formats_and_liveness() {
        assert_eq!(Format::parse("TEXT"), Some(Format::Plain));
        assert_eq!(Format::parse("plain"), Some(Format::Plain));
        assert_eq!(Format::parse("suricata"), Some(Format::Suricata));
        assert_eq!(Format::parse("stix"), None);
        let now = Utc::now();
        assert!(live(false, None, 20, 20, now));
        assert!(!live(false, None, 19, 20, now));
        assert!(!live(true, None, 90, 20, now));
        assert!(!live(false, Some(now), 90, 20, now));
        assert!(live(false, Some(now + chrono::Duration::seconds(1)), 90, 20, now));
    }
}
