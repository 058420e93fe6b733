//! STIX and JSON input a member reaches: ATT&CK bundles (`AttackCatalog::from_bundle_json`),
//! the shared model types read from the network (`Envelope`, `Body`, `AffectedProduct`,
//! `RatingChange`, `CvssVector`) and canonical JSON (`stix::canonical_json`).
//!
//! Invariants: no panic; the canonical JSON of any parsed value parses back to an equal
//! value and is its own canonical form; a catalog read from a bundle survives a serde
//! round trip and merging into itself; a model value that parses serialises and parses
//! back to itself; an envelope and body that parse map to STIX whose canonical JSON
//! parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renkei_schema::attack::AttackCatalog;
use renkei_schema::model::vuln::{AffectedProduct, CvssVector};
use renkei_schema::model::{Body, Envelope};
use renkei_schema::stix::{canonical_json, to_stix};
use renkei_schema::supply::change::RatingChange;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A version as a feed carries it: the envelope and the body side by side.
#[derive(Deserialize)]
struct Version {
    envelope: Envelope,
    body: Body,
}

fn canonical_round_trip(value: &Value) {
    let canonical = canonical_json(value);
    let back: Value = serde_json::from_str(&canonical).unwrap_or_else(|e| panic!("{canonical:?} does not parse: {e}"));
    assert_eq!(&back, value, "canonical JSON {canonical:?} reads back as another value");
    assert_eq!(canonical_json(&back), canonical, "canonical JSON is not its own canonical form");
}

fn serde_round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &Value) {
    let Ok(parsed) = serde_json::from_value::<T>(value.clone()) else { return };
    let json = serde_json::to_value(&parsed).expect("a parsed value serialises");
    let back: T = serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("{parsed:?} serialises to {json} which does not parse: {e}"));
    assert_eq!(back, parsed, "serde round trip through {json}");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(catalog) = AttackCatalog::from_bundle_json(data) {
        let json = serde_json::to_vec(&catalog).expect("a catalog serialises");
        let back: AttackCatalog = serde_json::from_slice(&json).expect("a serialised catalog reads back");
        assert_eq!(back, catalog);
        let mut merged = catalog.clone();
        merged.merge(catalog);
    }
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    canonical_round_trip(&value);
    serde_round_trip::<Envelope>(&value);
    serde_round_trip::<Body>(&value);
    serde_round_trip::<AffectedProduct>(&value);
    serde_round_trip::<Vec<AffectedProduct>>(&value);
    serde_round_trip::<RatingChange>(&value);
    serde_round_trip::<CvssVector>(&value);
    if let Ok(version) = serde_json::from_value::<Version>(value) {
        let stix = to_stix(&version.envelope, &version.body);
        canonical_round_trip(&stix);
    }
});
