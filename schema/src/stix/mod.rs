//! STIX 2.1 mapping of shared objects, and canonical JSON.
//!
//! The STIX JSON of a version is what the change feed carries and what the origin hub
//! signs. It never names an anonymous submitter nor a RED item's recipients: those stay
//! in the envelope, which each read path filters through `tlp`.

use serde_json::{json, Map, Value};

use crate::model::indicator::stix_pattern;
use crate::model::{Body, Envelope};
use crate::tlp::Tlp;

mod bundle;
pub mod import;
mod read;
pub use bundle::*;
pub use read::StixRead;

/// The names of renkei's own properties, written by [`to_stix`] into renkei's extension
/// ([`EXTENSION_ID`]; at the top of an assessment, a new SDO) and read by [`StixRead`]
/// (one place, so writing and reading cannot drift apart). The JSON Schema that declares
/// them ships with the hub (`schema/stix/renkei-extension.schema.json`).
pub mod prop {
    pub const ORIGIN_HUB: &str = "origin_hub";
    pub const REVISION: &str = "revision";
    pub const STATUS: &str = "status";
    pub const STATUS_REASON: &str = "status_reason";
    pub const INDICATOR_TYPE: &str = "indicator_type";
    pub const VALUE: &str = "value";
    pub const PLATFORMS: &str = "platforms";
    pub const ICS_ASSET_TYPES: &str = "ics_asset_types";
    pub const SECTOR: &str = "sector";
    pub const OCCURRED_AT: &str = "occurred_at";
    pub const SERVICE_IMPACT: &str = "service_impact";
    pub const IMPACT_DESCRIPTION: &str = "impact_description";
    pub const TECHNIQUE_IDS: &str = "technique_ids";
    pub const INDICATOR_REFS: &str = "indicator_refs";
    pub const SUPPLIER_REFS: &str = "supplier_refs";
    pub const TITLE: &str = "title";
    pub const AFFECTED: &str = "affected";
    pub const CVSS_VECTOR: &str = "cvss_vector";
    pub const CVSS_BASE_SCORE: &str = "cvss_base_score";
    pub const EXPLOITATION: &str = "exploitation";
    pub const FIXES: &str = "fixes";
    pub const WORKAROUNDS: &str = "workarounds";
    pub const SUPPLIER_ID: &str = "supplier_id";
    pub const OFFERING_IDS: &str = "offering_ids";
    pub const SCHEME: &str = "scheme";
    pub const ASSESSOR: &str = "assessor";
    pub const ASSESSOR_NAME: &str = "assessor_name";
    pub const ASSURANCE: &str = "assurance";
    pub const OBSERVED: &str = "observed";
    pub const VALID_UNTIL: &str = "valid_until";
    pub const RESULTS: &str = "results";
    pub const FINDINGS: &str = "findings";
    pub const CONCLUSION: &str = "conclusion";
    pub const POSTURE: &str = "posture";
    /// A sealed item's envelope (`crate::seal::SealedBody`, without the wraps' keys).
    pub const SEALED: &str = "sealed";
    pub const VALID_FROM: &str = "valid_from";
}

/// STIX timestamps: RFC 3339, UTC, millisecond precision.
pub fn timestamp(t: &chrono::DateTime<chrono::Utc>) -> String {
    // to_rfc3339_opts, unlike format("…"), does not parse a format string on every call.
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The STIX identity id of an organisation (organisation ids are UUIDs).
pub fn identity_ref(org_id: &str) -> String {
    format!("identity--{org_id}")
}

/// Canonical JSON in the manner of RFC 8785 (JCS): object members sorted by their
/// UTF-16 code units, no insignificant whitespace, strings escaped minimally.
/// renkei's objects hold integers and short decimals, which serde_json prints the
/// way JCS does.
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::with_capacity(512);
    write_canonical(value, &mut out);
    // Only whole UTF-8 strings and ASCII punctuation were written.
    String::from_utf8(out).unwrap_or_default()
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write_canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        Value::String(s) => write_string(s, out),
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    // serde_json's string escaping is JCS's: \" \\ \b \f \n \r \t and \u00XX for the
    // other control characters, everything else literal. Writing to a Vec never fails.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// The STIX 2.1 object of one version of a shared item.
///
/// renkei's own properties (origin hub, revision, what the typed kinds carry beyond STIX)
/// live in renkei's property extension ([`EXTENSION_ID`], declared by
/// [`extension_definition`]); a supplier assessment, which STIX has no object for, is a
/// new SDO declared by the same extension definition, with its properties at the top.
pub fn to_stix(env: &Envelope, body: &Body) -> Value {
    let (o, ext) = common_properties(env);
    with_body(o, ext, &env.valid_from, env.valid_until.as_ref(), body)
}

/// The properties every kind has, at the top and in renkei's extension.
fn common_properties(env: &Envelope) -> (Map<String, Value>, Map<String, Value>) {
    let mut o = Map::new();
    let mut ext = Map::new();
    o.insert("type".into(), json!(env.kind.stix_type()));
    o.insert("spec_version".into(), json!("2.1"));
    o.insert("id".into(), json!(env.id));
    o.insert("created".into(), json!(timestamp(&env.created)));
    o.insert("modified".into(), json!(timestamp(&env.modified)));
    // An anonymous item is the origin hub's: its identity stands for the submitter.
    let creator = if env.anonymous { hub_identity_ref(&env.origin_hub) } else { identity_ref(&env.created_by) };
    o.insert("created_by_ref".into(), json!(creator));
    if let Some(c) = env.confidence {
        o.insert("confidence".into(), json!(c));
    }
    if !env.labels.is_empty() {
        o.insert("labels".into(), json!(env.labels));
    }
    if env.status == crate::tlp::Status::Revoked {
        o.insert("revoked".into(), json!(true));
    }
    // Pending and rejected versions only ever reach the submitter and the coordinators;
    // published ones carry no status, so their objects are plain STIX (and a revoked one
    // says so in STIX's own `revoked`).
    if matches!(env.status, crate::tlp::Status::Pending | crate::tlp::Status::Rejected) {
        ext.insert(prop::STATUS.into(), json!(env.status.as_str()));
    }
    if let Some(reason) = &env.status_reason {
        ext.insert(prop::STATUS_REASON.into(), json!(reason));
    }
    o.insert("object_marking_refs".into(), json!([env.tlp.marking_definition_id()]));
    ext.insert(prop::ORIGIN_HUB.into(), json!(env.origin_hub));
    ext.insert(prop::REVISION.into(), json!(env.revision));
    (o, ext)
}

/// The object of an opened sealed item: the sealed object the hub signed (its common
/// properties), with the content's properties in place of the sealed ones. What a
/// recipient's register holds, so it matches, exports and flags the item like any other.
pub fn open_sealed(sealed: &Value, body: &Body) -> Option<Value> {
    let mut o = sealed.as_object()?.clone();
    let mut ext = match o.remove("extensions")? {
        Value::Object(mut e) => match e.remove(EXTENSION_ID)? {
            Value::Object(x) => x,
            _ => return None,
        },
        _ => return None,
    };
    ext.remove(prop::SEALED)?;
    ext.remove("extension_type");
    let parse = |v: Option<Value>| -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::parse_from_rfc3339(v?.as_str()?).ok().map(|t| t.with_timezone(&chrono::Utc))
    };
    let valid_from = parse(ext.remove(prop::VALID_FROM))?;
    let valid_until = parse(ext.remove(prop::VALID_UNTIL));
    Some(with_body(o, ext, &valid_from, valid_until.as_ref(), body))
}

fn with_body(
    mut o: Map<String, Value>,
    mut ext: Map<String, Value>,
    valid_from: &chrono::DateTime<chrono::Utc>,
    valid_until: Option<&chrono::DateTime<chrono::Utc>>,
    body: &Body,
) -> Value {
    match body {
        Body::Indicator(b) => {
            o.insert("name".into(), json!(b.value));
            let description = b
                .description
                .clone()
                .unwrap_or_else(|| format!("{} {} shared through renkei", b.indicator_type.as_str(), b.value));
            o.insert("description".into(), json!(description));
            o.insert("indicator_types".into(), json!(["malicious-activity"]));
            o.insert("pattern".into(), json!(stix_pattern(b.indicator_type, &b.value)));
            o.insert("pattern_type".into(), json!("stix"));
            o.insert("pattern_version".into(), json!("2.1"));
            o.insert("valid_from".into(), json!(timestamp(valid_from)));
            if let Some(until) = valid_until {
                o.insert("valid_until".into(), json!(timestamp(until)));
            }
            ext.insert(prop::INDICATOR_TYPE.into(), json!(b.indicator_type.as_str()));
            ext.insert(prop::VALUE.into(), json!(b.value));
        }
        Body::Technique(b) => {
            o.insert("name".into(), json!(b.name));
            o.insert("description".into(), json!(b.narrative));
            let chain = if crate::model::attack_id::is_ics_technique(&b.attack_id) {
                "mitre-ics-attack"
            } else {
                "mitre-attack"
            };
            let phases: Vec<Value> =
                b.tactics.iter().map(|t| json!({"kill_chain_name": chain, "phase_name": t})).collect();
            if !phases.is_empty() {
                o.insert("kill_chain_phases".into(), Value::Array(phases));
            }
            o.insert(
                "external_references".into(),
                // No url: STIX asks an external reference with a url for its hashes
                // (stix2-validator warns), and the ATT&CK id names the page.
                json!([{"source_name": "mitre-attack", "external_id": b.attack_id}]),
            );
            if !b.platforms.is_empty() {
                ext.insert(prop::PLATFORMS.into(), json!(b.platforms));
            }
            if !b.ics_asset_types.is_empty() {
                ext.insert(prop::ICS_ASSET_TYPES.into(), json!(b.ics_asset_types));
            }
        }
        Body::Incident(b) => {
            o.insert("name".into(), json!(b.title));
            o.insert("description".into(), json!(b.summary));
            ext.insert(prop::SECTOR.into(), json!(b.sector));
            if let Some(t) = &b.occurred_at {
                ext.insert(prop::OCCURRED_AT.into(), json!(timestamp(t)));
            }
            ext.insert(prop::SERVICE_IMPACT.into(), json!(b.service_impact.as_str()));
            if let Some(d) = &b.impact_description {
                ext.insert(prop::IMPACT_DESCRIPTION.into(), json!(d));
            }
            if !b.technique_ids.is_empty() {
                ext.insert(prop::TECHNIQUE_IDS.into(), json!(b.technique_ids));
            }
            if !b.indicator_refs.is_empty() {
                ext.insert(prop::INDICATOR_REFS.into(), json!(b.indicator_refs));
            }
            if !b.supplier_refs.is_empty() {
                ext.insert(prop::SUPPLIER_REFS.into(), json!(b.supplier_refs));
            }
        }
        Body::Advisory(b) => {
            o.insert("name".into(), json!(b.cve_id));
            let description = match &b.description {
                Some(d) => format!("{}\n\n{}", b.title, d),
                None => b.title.clone(),
            };
            o.insert("description".into(), json!(description));
            o.insert("external_references".into(), json!([{"source_name": "cve", "external_id": b.cve_id}]));
            ext.insert(prop::TITLE.into(), json!(b.title));
            // STIX allows no empty lists.
            if !b.affected.is_empty() {
                ext.insert(prop::AFFECTED.into(), json!(b.affected));
            }
            if let Some(v) = &b.cvss_vector {
                ext.insert(prop::CVSS_VECTOR.into(), json!(v));
            }
            if let Some(s) = b.cvss_base_score {
                ext.insert(prop::CVSS_BASE_SCORE.into(), json!(s));
            }
            ext.insert(prop::EXPLOITATION.into(), json!(b.exploitation.as_str()));
            if !b.fixes.is_empty() {
                ext.insert(prop::FIXES.into(), json!(b.fixes));
            }
            if !b.workarounds.is_empty() {
                ext.insert(prop::WORKAROUNDS.into(), json!(b.workarounds));
            }
        }
        Body::Assessment(b) => {
            o.insert("name".into(), json!(format!("assessment of {}", b.supplier_id)));
            ext.insert(prop::SUPPLIER_ID.into(), json!(b.supplier_id));
            if !b.offering_ids.is_empty() {
                ext.insert(prop::OFFERING_IDS.into(), json!(b.offering_ids));
            }
            ext.insert(prop::SCHEME.into(), json!({"id": b.scheme_id, "version": b.scheme_version}));
            ext.insert(prop::ASSESSOR.into(), json!(b.assessor));
            if let Some(n) = &b.assessor_name {
                ext.insert(prop::ASSESSOR_NAME.into(), json!(n));
            }
            ext.insert(prop::ASSURANCE.into(), json!(b.assurance));
            ext.insert(prop::OBSERVED.into(), json!(timestamp(&b.observed)));
            if let Some(until) = valid_until {
                ext.insert(prop::VALID_UNTIL.into(), json!(timestamp(until)));
            }
            ext.insert(prop::RESULTS.into(), json!(b.results));
            if !b.findings.is_empty() {
                ext.insert(prop::FINDINGS.into(), json!(b.findings));
            }
            ext.insert(prop::CONCLUSION.into(), json!(b.conclusion));
            if let Some(p) = b.posture {
                ext.insert(prop::POSTURE.into(), json!(p));
            }
            // A new SDO: its own properties sit at the top; the extension only names it.
            // STIX allows no empty lists, nested ones (a criterion without evidence) included.
            o.extend(ext.into_iter().map(|(k, v)| (k, without_empty_lists(v))));
            o.insert("extensions".into(), json!({ EXTENSION_ID: {"extension_type": "new-sdo"} }));
            return Value::Object(o);
        }
        Body::Sealed(b) => {
            // What the hub can sign and every recipient reads: the envelope, the
            // validity (an indicator's, kept for its opened object) and the sealed body
            // without the keys its wraps are for.
            ext.insert(prop::SEALED.into(), json!(b.for_readers()));
            ext.insert(prop::VALID_FROM.into(), json!(timestamp(valid_from)));
            if let Some(until) = valid_until {
                ext.insert(prop::VALID_UNTIL.into(), json!(timestamp(until)));
            }
        }
    }
    ext.insert("extension_type".into(), json!("property-extension"));
    o.insert("extensions".into(), json!({ EXTENSION_ID: Value::Object(ext) }));
    Value::Object(o)
}

/// `v` with every empty list inside an object left out (STIX 2.1 forbids empty lists).
fn without_empty_lists(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !matches!(v, Value::Array(a) if a.is_empty()))
                .map(|(k, v)| (k, without_empty_lists(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_empty_lists).collect()),
        other => other,
    }
}

/// The STIX marking-definition object of a TLP 2.0 label (for bundles and TAXII).
pub fn tlp_marking_definition(tlp: Tlp) -> Value {
    let value = tlp.as_str().trim_start_matches("TLP:").to_ascii_lowercase();
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": tlp.marking_definition_id(),
        "created": "2022-10-01T00:00:00.000Z",
        "name": tlp.as_str(),
        "extensions": {
            "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                "extension_type": "property-extension",
                "tlp_2_0": value,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::indicator::IndicatorType;
    use crate::model::{IndicatorBody, Kind};
    use crate::tlp::Status;

    #[test]
    fn canonical_json_sorts_keys_and_strips_whitespace() {
        let v: Value = serde_json::from_str(r#"{ "b": [1, {"z": 1, "a": "é\n"}], "a": null, "€": 2, "\u00e9": 3 }"#)
            .expect("json");
        assert_eq!(canonical_json(&v), r#"{"a":null,"b":[1,{"a":"é\n","z":1}],"é":3,"€":2}"#);
    }

    fn envelope(anonymous: bool) -> Envelope {
        let t =
            chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05.678Z").expect("time").with_timezone(&chrono::Utc);
        Envelope {
            id: "indicator--3fa85f64-5717-4562-b3fc-2c963f66afa6".into(),
            kind: Kind::Indicator,
            revision: 1,
            created: t,
            modified: t,
            origin_hub: "hub-a".into(),
            created_by: "0b8a6a8e-8a9c-4b7e-9c1e-000000000001".into(),
            anonymous,
            tlp: Tlp::AmberStrict,
            recipients: vec![],
            status: Status::Published,
            status_reason: None,
            confidence: Some(80),
            valid_from: t,
            valid_until: None,
            labels: vec![],
        }
    }

    #[test]
    fn indicator_maps_to_stix_with_tlp2_marking_and_hides_anonymous_submitter() {
        let body = Body::Indicator(IndicatorBody {
            indicator_type: IndicatorType::Ipv4,
            value: "198.51.100.7".into(),
            description: None,
        });
        let named = to_stix(&envelope(false), &body);
        assert_eq!(named["type"], "indicator");
        assert_eq!(named["pattern"], "[ipv4-addr:value = '198.51.100.7']");
        assert_eq!(named["modified"], "2026-01-02T03:04:05.678Z");
        assert_eq!(named["object_marking_refs"][0], "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003");
        assert_eq!(named["created_by_ref"], "identity--0b8a6a8e-8a9c-4b7e-9c1e-000000000001");
        let anonymous = to_stix(&envelope(true), &body);
        assert_eq!(
            anonymous["created_by_ref"],
            json!(hub_identity_ref("hub-a")),
            "the hub stands for its anonymous submitter"
        );
        assert!(!canonical_json(&anonymous).contains("0b8a6a8e"));
    }
}
