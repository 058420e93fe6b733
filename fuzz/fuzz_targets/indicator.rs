//! Indicator values: `normalize` under every type and `normalize_any`.
//!
//! Invariants: no panic; `normalize_any` lists exactly the types `normalize` accepts,
//! with the same values; a normalised value normalises to itself (idempotence); its
//! STIX pattern is one bracketed comparison.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renkei_schema::model::indicator::{normalize, normalize_any, stix_pattern, IndicatorType};

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else { return };
    let any = normalize_any(raw);
    let each: Vec<(IndicatorType, String)> =
        IndicatorType::ALL.into_iter().filter_map(|k| normalize(k, raw).ok().map(|v| (k, v))).collect();
    assert_eq!(any, each, "normalize_any disagrees with normalize on {raw:?}");
    for (kind, value) in each {
        let again = normalize(kind, &value);
        assert_eq!(again.as_deref(), Ok(value.as_str()), "{kind} not idempotent: {raw:?} -> {value:?} -> {again:?}");
        let pattern = stix_pattern(kind, &value);
        assert!(pattern.starts_with('[') && pattern.ends_with("']"), "{pattern}");
    }
});
