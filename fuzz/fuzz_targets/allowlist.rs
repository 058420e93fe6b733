//! Allowlists a coordinator imports: `allowlist::parse_list`, then a `Matcher`.
//!
//! The input is the list text up to the first NUL byte, then the values to check.
//! Invariants: no panic; a list either parses whole or reports bad lines (with their
//! line numbers in range); a matcher built from it answers `check` for every type on
//! any value (raw and normalised) without panicking, and finds every address and
//! domain entry of the list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renkei_schema::allowlist::{parse_list, Entry, Matcher};
use renkei_schema::model::indicator::{normalize_any, IndicatorType};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (list, values) = text.split_once('\0').unwrap_or((text, ""));
    let entries = match parse_list(list) {
        Ok(entries) => entries,
        Err(bad) => {
            let lines = list.lines().count();
            assert!(!bad.is_empty());
            assert!(bad.iter().all(|b| b.line >= 1 && b.line <= lines), "{bad:?}");
            return;
        }
    };
    let mut matcher = Matcher::default();
    matcher.add("fuzz", entries.clone());
    assert_eq!(matcher.len(), entries.len());
    for (entry, _) in &entries {
        let found = match entry {
            Entry::V4 { network, prefix: 32 } => {
                matcher.check(IndicatorType::Ipv4, &std::net::Ipv4Addr::from(*network).to_string())
            }
            Entry::V6 { network, prefix: 128 } => {
                matcher.check(IndicatorType::Ipv6, &std::net::Ipv6Addr::from(*network).to_string())
            }
            Entry::Domain(d) | Entry::Suffix(d) => matcher.check(IndicatorType::Domain, d),
            Entry::Hash(h) => {
                let kind = match h.len() {
                    32 => IndicatorType::Md5,
                    40 => IndicatorType::Sha1,
                    _ => IndicatorType::Sha256,
                };
                matcher.check(kind, h)
            }
            _ => continue,
        };
        assert!(found.is_some(), "entry {entry:?} not found by the matcher built from it");
    }
    for value in values.split('\n') {
        for kind in IndicatorType::ALL {
            let _ = matcher.check(kind, value);
        }
        for (kind, normalized) in normalize_any(value) {
            let _ = matcher.check(kind, &normalized);
        }
    }
});
