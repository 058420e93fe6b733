//! Version ranges: `AffectedProduct::validate`, `AffectedProduct::covers` and
//! `compare_versions`.
//!
//! The input is split on newlines: a CPE name, four optional bounds (an empty line is
//! no bound) and the versions to ask about. Invariants: no panic, whether or not the
//! product validates (clients match products read from the network without validating
//! them); `compare_versions` is a consistent order (reflexive, antisymmetric, and
//! transitive over the versions of one input); a validated range with both bounds
//! inclusive covers its bounds when the CPE version is `*`.
#![no_main]

use std::cmp::Ordering;

use libfuzzer_sys::fuzz_target;
use renkei_schema::model::vuln::{compare_versions, AffectedProduct, Cpe23};

const FALLBACK_CPE: &str = "cpe:2.3:a:vendor:product:*:*:*:*:*:*:*:*";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let cpe_line = lines.next().unwrap_or("");
    let cpe = Cpe23::parse(cpe_line).unwrap_or_else(|_| Cpe23::parse(FALLBACK_CPE).expect("the fallback CPE parses"));
    let mut bound = || lines.next().filter(|l| !l.is_empty()).map(str::to_owned);
    let product = AffectedProduct {
        cpe,
        version_start_including: bound(),
        version_start_excluding: bound(),
        version_end_including: bound(),
        version_end_excluding: bound(),
    };
    let versions: Vec<&str> = lines.collect();
    let valid = product.validate().is_ok();
    for v in &versions {
        let _ = product.covers(v);
    }
    if valid && product.cpe.version == "*" {
        if let (Some(start), Some(end)) = (&product.version_start_including, &product.version_end_including) {
            assert!(product.covers(start) || start.trim().is_empty(), "{product:?} does not cover its start");
            assert!(product.covers(end) || end.trim().is_empty(), "{product:?} does not cover its end");
        }
    }
    let mut all: Vec<&str> = versions.clone();
    all.extend(
        [
            &product.version_start_including,
            &product.version_start_excluding,
            &product.version_end_including,
            &product.version_end_excluding,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str),
    );
    // Five versions: 125 triples, three comparisons each, per input.
    all.truncate(5);
    for a in &all {
        assert_eq!(compare_versions(a, a), Ordering::Equal, "{a:?} is not equal to itself");
        for b in &all {
            let ab = compare_versions(a, b);
            assert_eq!(ab, compare_versions(b, a).reverse(), "{a:?} vs {b:?} is not antisymmetric");
            for c in &all {
                let bc = compare_versions(b, c);
                if ab != Ordering::Greater && bc != Ordering::Greater {
                    let ac = compare_versions(a, c);
                    assert_ne!(ac, Ordering::Greater, "{a:?} <= {b:?} <= {c:?} but {a:?} > {c:?}");
                    if ab == Ordering::Equal && bc == Ordering::Equal {
                        assert_eq!(ac, Ordering::Equal, "{a:?} = {b:?} = {c:?} but not {a:?} = {c:?}");
                    }
                }
            }
        }
    }
});
