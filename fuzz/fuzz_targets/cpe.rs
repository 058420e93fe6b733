//! CPE 2.3 names: `Cpe23::parse`.
//!
//! Invariants: no panic; a parsed name prints to a string that parses back to the same
//! name (and prints the same again); serde goes through the same string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renkei_schema::model::vuln::Cpe23;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else { return };
    let Ok(cpe) = Cpe23::parse(raw) else { return };
    let text = cpe.to_string();
    let back = Cpe23::parse(&text).unwrap_or_else(|e| panic!("{raw:?} -> {text:?} does not parse: {e}"));
    assert_eq!(back, cpe, "{raw:?} -> {text:?}");
    assert_eq!(back.to_string(), text);
    let json = serde_json::to_string(&cpe).expect("a parsed CPE serialises");
    assert_eq!(serde_json::from_str::<Cpe23>(&json).expect("a serialised CPE reads back"), cpe);
    // Matching never panics, whatever is asked.
    let _ = cpe.matches_product(&cpe.vendor, &cpe.product);
    let _ = cpe.matches_product(raw, raw);
});
