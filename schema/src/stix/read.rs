//! Reading renkei's STIX objects back: what a member's client needs of an item it
//! synced (the matching and the exports), through the same property names `to_stix`
//! writes ([`super::prop`]). Missing or mistyped properties read as absent, never as a
//! panic: the objects come from a hub, and older hubs wrote fewer of them.

use serde_json::Value;

use super::prop;
use crate::model::vuln::AffectedProduct;

/// A STIX object of renkei's, read.
#[derive(Debug, Clone, Copy)]
pub struct StixRead<'a>(pub &'a Value);

fn strings(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_string)).collect()
}

impl<'a> StixRead<'a> {
    /// One of renkei's properties: in renkei's extension, at the top of the object (an
    /// assessment, a new SDO), or under its older `x_renkei_` name.
    pub fn prop(self, name: &str) -> &'a Value {
        let in_extension = &self.0["extensions"][super::EXTENSION_ID][name];
        if !in_extension.is_null() {
            return in_extension;
        }
        if self.0["extensions"][super::EXTENSION_ID]["extension_type"] == "new-sdo" && !self.0[name].is_null() {
            return &self.0[name];
        }
        self.0.get(format!("x_renkei_{name}")).unwrap_or(&Value::Null)
    }

    /// `name` ("" when absent).
    pub fn name(self) -> &'a str {
        self.0["name"].as_str().unwrap_or_default()
    }

    /// The first `external_references` id: the ATT&CK id of a technique, the CVE id of
    /// an advisory.
    pub fn external_id(self) -> Option<&'a str> {
        self.0["external_references"].as_array()?.iter().find_map(|r| r["external_id"].as_str())
    }

    /// A technique's ATT&CK for ICS asset types.
    pub fn ics_asset_types(self) -> Vec<String> {
        strings(self.prop(prop::ICS_ASSET_TYPES))
    }

    /// The techniques an incident used.
    pub fn technique_ids(self) -> Vec<String> {
        strings(self.prop(prop::TECHNIQUE_IDS))
    }

    /// The suppliers an incident names.
    pub fn supplier_refs(self) -> Vec<String> {
        strings(self.prop(prop::SUPPLIER_REFS))
    }

    /// An advisory's exploitation status (`unknown` when absent).
    pub fn exploitation(self) -> &'a str {
        self.prop(prop::EXPLOITATION).as_str().unwrap_or("unknown")
    }

    /// An advisory's CVSS base score.
    pub fn cvss_base_score(self) -> Option<f64> {
        self.prop(prop::CVSS_BASE_SCORE).as_f64()
    }

    /// The products an advisory affects (none when unreadable).
    pub fn affected(self) -> Vec<AffectedProduct> {
        serde_json::from_value(self.prop(prop::AFFECTED).clone()).unwrap_or_default()
    }

    /// An indicator's type and normalised value.
    pub fn indicator(self) -> Option<(&'a str, &'a str)> {
        Some((self.prop(prop::INDICATOR_TYPE).as_str()?, self.prop(prop::VALUE).as_str()?))
    }

    /// `valid_until`, as written.
    pub fn valid_until(self) -> Option<&'a str> {
        self.0["valid_until"].as_str()
    }

    /// Whether the object says it is revoked.
    pub fn revoked(self) -> bool {
        self.0["revoked"] == Value::Bool(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AdvisoryBody, Body, Envelope, IncidentBody, Kind, TechniqueBody};
    use crate::tlp::{Status, Tlp};
    use serde_json::json;

    fn envelope(kind: Kind) -> Envelope {
        let t = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").expect("time").with_timezone(&chrono::Utc);
        Envelope {
            id: kind.new_id(),
            kind,
            revision: 1,
            created: t,
            modified: t,
            origin_hub: "hub-a".into(),
            created_by: "org-a".into(),
            anonymous: false,
            tlp: Tlp::Green,
            recipients: vec![],
            status: Status::Published,
            status_reason: None,
            confidence: None,
            valid_from: t,
            valid_until: Some(t + chrono::Duration::days(30)),
            labels: vec![],
        }
    }

    fn read_back(kind: Kind, body: Body) -> Value {
        super::super::to_stix(&envelope(kind), &body)
    }

    #[test]
    fn what_to_stix_writes_reads_back() {
        let indicator: crate::model::IndicatorBody =
            serde_json::from_value(json!({"indicator_type": "domain", "value": "evil.example", "description": null}))
                .expect("indicator");
        let stix = read_back(Kind::Indicator, Body::Indicator(indicator));
        let read = StixRead(&stix);
        assert_eq!(read.indicator(), Some(("domain", "evil.example")));
        assert_eq!(read.valid_until(), Some("2026-02-01T03:04:05.000Z"));
        assert!(!read.revoked());

        let technique: TechniqueBody = serde_json::from_value(json!({
            "attack_id": "T0866", "name": "Exploitation of Remote Services", "tactics": [], "platforms": [],
            "narrative": "seen at a substation", "ics_asset_types": ["A0002"]
        }))
        .expect("technique");
        let stix = read_back(Kind::Technique, Body::Technique(technique));
        let read = StixRead(&stix);
        assert_eq!((read.external_id(), read.name()), (Some("T0866"), "Exploitation of Remote Services"));
        assert_eq!(read.ics_asset_types(), vec!["A0002".to_string()]);

        let incident: IncidentBody = serde_json::from_value(json!({
            "title": "outage", "summary": "s", "sector": "energy", "occurred_at": null, "service_impact": "outage",
            "impact_description": null, "technique_ids": ["T1566"], "indicator_refs": [], "supplier_refs": ["supplier--1"]
        }))
        .expect("incident");
        let stix = read_back(Kind::Incident, Body::Incident(incident));
        let read = StixRead(&stix);
        assert_eq!((read.technique_ids(), read.supplier_refs()), (vec!["T1566".into()], vec!["supplier--1".into()]));

        let advisory: AdvisoryBody = serde_json::from_value(json!({
            "cve_id": "CVE-2021-44228", "title": "Log4Shell", "description": null,
            "affected": [{"cpe": "cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*", "version_start_including": "2.0",
                          "version_start_excluding": null, "version_end_including": null, "version_end_excluding": "2.15.0"}],
            "cvss_vector": null, "cvss_base_score": 10.0, "exploitation": "known_exploited", "fixes": [], "workarounds": []
        }))
        .expect("advisory");
        let stix = read_back(Kind::Advisory, Body::Advisory(advisory.clone()));
        let read = StixRead(&stix);
        assert_eq!(read.external_id(), Some("CVE-2021-44228"));
        assert_eq!((read.exploitation(), read.cvss_base_score()), ("known_exploited", Some(10.0)));
        assert_eq!(read.affected(), advisory.affected);

        // What an object does not carry reads as absent.
        let empty = json!({});
        let read = StixRead(&empty);
        assert_eq!((read.name(), read.external_id(), read.indicator()), ("", None, None));
        assert_eq!((read.exploitation(), read.affected()), ("unknown", vec![]));
    }
}
