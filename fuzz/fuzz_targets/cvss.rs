//! CVSS vectors: `parse_cvss`.
//!
//! Invariants: no panic; the canonical vector parses back to the same vector (and
//! score); a 3.x base score is within 0.0..=10.0 with one decimal; 4.0 has no score.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renkei_schema::model::vuln::{parse_cvss, CvssVersion};

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else { return };
    let Ok(v) = parse_cvss(raw) else { return };
    let back = parse_cvss(&v.vector).unwrap_or_else(|e| panic!("{raw:?} -> {:?} does not parse: {e}", v.vector));
    assert_eq!(back, v, "{raw:?}");
    match (v.version, v.base_score) {
        (CvssVersion::V4_0, score) => assert_eq!(score, None),
        (_, Some(score)) => {
            assert!((0.0..=10.0).contains(&score), "{raw:?}: {score}");
            assert!(((score * 10.0).round() - score * 10.0).abs() < 1e-9, "{raw:?}: {score}");
        }
        (_, None) => panic!("{raw:?}: a 3.x vector without a score"),
    }
});
