//! What travels with renkei's STIX objects: renkei's extension definition, the
//! identities objects name (organisations, a hub standing for its anonymous submitters,
//! renkei itself as the extension's author), the TLP 2.0 marking definitions, and the
//! bundle that holds exactly the ones its objects reference.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::tlp::Tlp;

/// renkei's extension definition: the property extension every shared item carries and
/// the new SDO a supplier assessment is.
pub const EXTENSION_ID: &str = "extension-definition--7f3c1a52-4e2b-4d8a-9c61-2b5e8d0f4a13";

/// renkei itself, the author of [`EXTENSION_ID`].
pub const RENKEI_IDENTITY: &str = "identity--1d0f6a3e-9b72-4c85-8e14-6a2f0c9d7b35";

/// The TLP 2.0 extension that defines the OASIS TLP 2.0 marking definitions.
pub const TLP2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// Version of renkei's extension (its JSON Schema is `schema/stix/renkei-extension.schema.json`).
pub const EXTENSION_VERSION: &str = "1.0.0";

/// The JSON Schema of renkei's extension, shipped with the hub and served with it.
pub const EXTENSION_SCHEMA: &str = include_str!("../../stix/renkei-extension.schema.json");

/// A UUID of version 4's form derived from `text`: stable across hubs and runs, and of
/// the form STIX asks SDO ids to have.
pub fn stable_uuid(namespace: &str, text: &str) -> uuid::Uuid {
    let digest = ring::digest::digest(&ring::digest::SHA256, format!("renkei:{namespace}:{text}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The identity a hub publishes anonymous items under.
pub fn hub_identity_ref(hub_id: &str) -> String {
    format!("identity--{}", stable_uuid("hub", hub_id))
}

const EPOCH: &str = "2026-01-01T00:00:00.000Z";

/// renkei's extension definition object.
pub fn extension_definition() -> Value {
    json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION_ID,
        "created": EPOCH,
        "modified": EPOCH,
        "created_by_ref": RENKEI_IDENTITY,
        "name": "renkei",
        "description": "Properties of items shared through a renkei hub (origin hub, revision, typed details of indicators, techniques, incidents and advisories) and the supplier assessment object of renkei's supply-chain registry.",
        "schema": "The JSON Schema of this extension ships with renkei (schema/stix/renkei-extension.schema.json) and each hub serves it at /stix/renkei-extension.schema.json.",
        "version": EXTENSION_VERSION,
        "extension_types": ["property-extension", "new-sdo"],
    })
}

/// renkei as an identity (the author of its extension definition).
pub fn renkei_identity() -> Value {
    identity(RENKEI_IDENTITY, "renkei", "system", None)
}

/// A hub's identity: the author of its anonymous items.
pub fn hub_identity(hub_id: &str) -> Value {
    identity(&hub_identity_ref(hub_id), &format!("renkei hub {hub_id}"), "organization", None)
}

/// A member organisation's identity.
pub fn org_identity(org_id: &str, name: &str, sector: Option<&str>) -> Value {
    identity(&super::identity_ref(org_id), name, "organization", sector)
}

fn identity(id: &str, name: &str, class: &str, sector: Option<&str>) -> Value {
    let mut o = json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": id,
        "created": EPOCH,
        "modified": EPOCH,
        "name": name,
        "identity_class": class,
    });
    if let Some(sector) = sector.and_then(stix_sector) {
        o["sectors"] = json!([sector]);
    }
    o
}

/// STIX's industry-sector-ov value for a renkei sector name, when there is one.
fn stix_sector(sector: &str) -> Option<&'static str> {
    Some(match sector.to_ascii_lowercase().as_str() {
        "energy" | "electricity" | "gas" => "energy",
        "finance" | "financial" | "banking" => "financial-services",
        "healthcare" | "medical" => "healthcare",
        "telecommunications" | "telecom" | "information_communication" => "telecommunications",
        "transportation" | "aviation" | "railway" | "logistics" => "transportation",
        "water" => "utilities",
        "government" | "administration" => "government",
        "chemical" => "chemical",
        "manufacturing" => "manufacturing",
        _ => return None,
    })
}

/// The references an object makes to identities, markings and extension definitions.
#[derive(Debug, Default)]
pub struct References {
    pub identities: BTreeSet<String>,
    pub markings: BTreeSet<String>,
    pub extensions: BTreeSet<String>,
    /// The origin hubs of renkei's objects (a hub's identity stands for its anonymous
    /// submitters).
    pub hubs: BTreeSet<String>,
}

impl References {
    /// Adds what `object` references.
    pub fn note(&mut self, object: &Value) {
        if let Some(r) = object["created_by_ref"].as_str() {
            self.identities.insert(r.to_string());
        }
        for key in ["where_sighted_refs"] {
            for r in object[key].as_array().into_iter().flatten().filter_map(Value::as_str) {
                self.identities.insert(r.to_string());
            }
        }
        for r in object["object_marking_refs"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            self.markings.insert(r.to_string());
        }
        for g in object["granular_markings"].as_array().into_iter().flatten() {
            if let Some(r) = g["marking_ref"].as_str() {
                self.markings.insert(r.to_string());
            }
        }
        if let Some(extensions) = object["extensions"].as_object() {
            self.extensions.extend(extensions.keys().cloned());
        }
        if let Some(hub) = super::StixRead(object).prop(super::prop::ORIGIN_HUB).as_str() {
            self.hubs.insert(hub.to_string());
        }
    }

    /// The objects these references need beside the ones already present: the TLP 2.0
    /// marking definitions, renkei's extension definition and its author, and the
    /// identities `identity_of` knows (organisations; hubs are derived from their refs).
    /// The TLP 2.0 extension is OASIS's: referenced by id, never shipped.
    pub fn context(&self, identity_of: &dyn Fn(&str) -> Option<Value>) -> Vec<Value> {
        let mut out = Vec::new();
        let mut identities = self.identities.clone();
        for id in &self.extensions {
            if id == EXTENSION_ID {
                out.push(extension_definition());
                identities.insert(RENKEI_IDENTITY.to_string());
            }
        }
        let hubs: std::collections::BTreeMap<String, &String> =
            self.hubs.iter().map(|h| (hub_identity_ref(h), h)).collect();
        for id in &identities {
            if id == RENKEI_IDENTITY {
                out.push(renkei_identity());
            } else if let Some(hub) = hubs.get(id) {
                out.push(hub_identity(hub));
            } else if let Some(identity) = identity_of(id) {
                out.push(identity);
            }
        }
        for id in &self.markings {
            if let Some(tlp) = Tlp::ALL.into_iter().find(|t| t.marking_definition_id() == id) {
                out.push(super::tlp_marking_definition(tlp));
            }
        }
        out
    }
}

/// A STIX bundle of `objects` with exactly the marking definitions, identities and
/// extension definitions they reference. `identity_of` names an identity id's object
/// (the caller's directory); a reference it does not know is left out, never invented.
pub fn bundle(objects: Vec<Value>, identity_of: &dyn Fn(&str) -> Option<Value>) -> Value {
    let mut refs = References::default();
    for o in &objects {
        refs.note(o);
    }
    let present: BTreeSet<String> = objects.iter().filter_map(|o| o["id"].as_str().map(str::to_string)).collect();
    let mut all: Vec<Value> = refs
        .context(identity_of)
        .into_iter()
        .filter(|o| o["id"].as_str().is_none_or(|id| !present.contains(id)))
        .collect();
    let ids: Vec<&str> = objects.iter().filter_map(|o| o["id"].as_str()).collect();
    let bundle_id = format!("bundle--{}", stable_uuid("bundle", &ids.join(",")));
    let links = relationships(&objects, &present);
    all.extend(objects);
    all.extend(links);
    json!({"type": "bundle", "id": bundle_id, "objects": all})
}

/// The relationships between objects of one bundle: an incident is `related-to` each
/// indicator it names that the bundle also holds (so a relationship never points at an
/// object its reader was not given), under the incident's markings.
pub fn relationships(objects: &[Value], present: &BTreeSet<String>) -> Vec<Value> {
    let mut out = Vec::new();
    for incident in objects.iter().filter(|o| o["type"] == "incident") {
        let Some(source) = incident["id"].as_str() else { continue };
        let targets = super::StixRead(incident).prop(super::prop::INDICATOR_REFS).clone();
        for target in targets.as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !present.contains(target) {
                continue;
            }
            let mut r = json!({
                "type": "relationship",
                "spec_version": "2.1",
                "id": format!("relationship--{}", stable_uuid("related-to", &format!("{source} {target}"))),
                "created": incident["created"],
                "modified": incident["modified"],
                "relationship_type": "related-to",
                "source_ref": source,
                "target_ref": target,
            });
            for key in ["created_by_ref", "object_marking_refs"] {
                if !incident[key].is_null() {
                    r[key] = incident[key].clone();
                }
            }
            out.push(r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_holds_exactly_what_its_objects_reference() {
        let green = Tlp::Green.marking_definition_id();
        let objects = vec![json!({
            "type": "indicator", "id": "indicator--0c1b3e1a-3c8f-4b8f-9d8e-1f2a3b4c5d6e",
            "created_by_ref": "identity--5b8c7e5a-1111-4222-8333-944455556666",
            "object_marking_refs": [green],
            "extensions": {EXTENSION_ID: {"extension_type": "property-extension"}},
        })];
        let known = |id: &str| {
            (id == "identity--5b8c7e5a-1111-4222-8333-944455556666")
                .then(|| org_identity(&id[10..], "Org A", Some("energy")))
        };
        let b = bundle(objects, &known);
        let ids: Vec<&str> =
            b["objects"].as_array().expect("objects").iter().filter_map(|o| o["id"].as_str()).collect();
        assert!(ids.contains(&green));
        assert!(ids.contains(&EXTENSION_ID) && ids.contains(&RENKEI_IDENTITY));
        assert!(ids.contains(&"identity--5b8c7e5a-1111-4222-8333-944455556666"));
        // No unreferenced marking (misp-stix would tag the event with it).
        for tlp in [Tlp::Clear, Tlp::Amber, Tlp::AmberStrict, Tlp::Red] {
            assert!(!ids.contains(&tlp.marking_definition_id()), "{tlp:?} is not referenced");
        }
        assert_eq!(ids.len(), 5);
    }

    #[test]
    fn an_incident_is_related_to_the_indicators_of_the_bundle_only() {
        let shown = "indicator--0c1b3e1a-3c8f-4b8f-9d8e-1f2a3b4c5d6e";
        let withheld = "indicator--1c1b3e1a-3c8f-4b8f-9d8e-1f2a3b4c5d6e";
        let incident = json!({
            "type": "incident", "id": "incident--2c1b3e1a-3c8f-4b8f-9d8e-1f2a3b4c5d6e",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-02T00:00:00.000Z",
            "object_marking_refs": [Tlp::Amber.marking_definition_id()],
            "extensions": {EXTENSION_ID: {"extension_type": "property-extension", "indicator_refs": [shown, withheld]}},
        });
        let b = bundle(vec![incident, json!({"type": "indicator", "id": shown})], &|_| None);
        let links: Vec<&Value> =
            b["objects"].as_array().expect("objects").iter().filter(|o| o["type"] == "relationship").collect();
        assert_eq!(links.len(), 1, "{links:?}");
        assert_eq!(
            (links[0]["target_ref"].as_str(), links[0]["relationship_type"].as_str()),
            (Some(shown), Some("related-to"))
        );
        assert_eq!(links[0]["object_marking_refs"][0], Tlp::Amber.marking_definition_id());
    }

    #[test]
    fn stable_ids_have_version_4_form() {
        let id = hub_identity_ref("hub-a");
        assert_eq!(id, hub_identity_ref("hub-a"));
        let uuid = uuid::Uuid::parse_str(&id["identity--".len()..]).expect("uuid");
        assert_eq!(uuid.get_version_num(), 4);
        assert_ne!(id, hub_identity_ref("hub-b"));
    }
}
