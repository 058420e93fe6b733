//! Reading STIX 2.1 objects from elsewhere (a bundle, a TAXII envelope) as candidates for
//! an import: each object is mapped to one of renkei's kinds or refused with a code, and
//! its markings are mapped onto the five TLP 2.0 labels (TLP 2.0, TLP 1.0 and OpenCTI's
//! ids); a marking that maps to none refuses the object, never guessed wider.
//!
//! Only the mapping lives here; the hub validates each body with the typed mutations'
//! rules.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{prop, StixRead, EXTENSION_ID};
use crate::errors::Code;
use crate::import::{Candidate, Proposal, Refusal};
use crate::model::indicator::IndicatorType;
use crate::model::vuln::{AffectedProduct, ExploitationStatus};
use crate::model::{
    AdvisoryBody, AssessmentBody, AssessorKind, Body, CriterionResult, Evidence, Finding, IncidentBody, IndicatorBody,
    ServiceImpact, TechniqueBody,
};
use crate::supply::rating::{Answer, Assurance};
use crate::tlp::Tlp;

fn invalid(en: impl Into<String>, ja: impl Into<String>) -> Refusal {
    Refusal::new(Code::StixInvalid, en, ja)
}

fn unsupported(en: impl Into<String>, ja: impl Into<String>) -> Refusal {
    Refusal::new(Code::StixUnsupported, en, ja)
}

/// The objects of a bundle (`{"type": "bundle", "objects": [...]}`) or a TAXII envelope
/// (`{"objects": [...]}`), each as a candidate. At most `max_objects`.
pub fn candidates(document: &Value, max_objects: usize) -> Result<Vec<Candidate>, Refusal> {
    let Some(doc) = document.as_object() else {
        return Err(invalid(
            "a STIX bundle or TAXII envelope is a JSON object",
            "STIXバンドルまたはTAXIIエンベロープはJSONオブジェクトです",
        ));
    };
    if let Some(t) = doc.get("type") {
        if t != "bundle" {
            return Err(invalid(
                format!("a document of type {t} is not a bundle"),
                format!("型 {t} の文書はバンドルではありません"),
            ));
        }
    }
    let objects = match doc.get("objects") {
        None => return Ok(Vec::new()),
        Some(Value::Array(objects)) => objects,
        Some(_) => return Err(invalid("'objects' must be a list", "'objects' はリストでなければなりません")),
    };
    if objects.len() > max_objects {
        return Err(Refusal::new(
            Code::BatchTooLarge,
            format!("at most {max_objects} objects in one import; got {}", objects.len()),
            format!("1回に取り込めるオブジェクトは{max_objects}件までです（{}件ありました）", objects.len()),
        ));
    }
    Ok(objects.iter().enumerate().map(|(i, o)| candidate(i, o)).collect())
}

fn timestamp(v: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v.as_str()?).ok().map(|t| t.with_timezone(&Utc))
}

/// The label an object's markings give: the most restrictive of its object and
/// granular markings; `Ok(None)` when it has none.
pub fn marking_label(object: &Value) -> Result<Option<Tlp>, Refusal> {
    let mut refs: Vec<&str> = Vec::new();
    match &object["object_marking_refs"] {
        Value::Null => {}
        Value::Array(list) => {
            for r in list {
                refs.push(
                    r.as_str().ok_or_else(|| {
                        invalid("a marking ref is not a string", "マーキング参照が文字列ではありません")
                    })?,
                );
            }
        }
        _ => {
            return Err(invalid(
                "object_marking_refs must be a list",
                "object_marking_refs はリストでなければなりません",
            ))
        }
    }
    for g in object["granular_markings"].as_array().into_iter().flatten() {
        if let Some(r) = g["marking_ref"].as_str() {
            refs.push(r);
        }
    }
    let mut label: Option<Tlp> = None;
    for r in refs {
        let Some(tlp) = Tlp::from_marking_definition_id(r) else {
            return Err(Refusal::new(
                Code::UnknownMarking,
                format!("marking {r} maps to no TLP 2.0 label; the object is refused rather than shared wider than its source meant"),
                format!("マーキング {r} はTLP 2.0ラベルに対応しません。出典の意図より広く共有しないよう拒否しました"),
            ));
        };
        label = Some(label.map_or(tlp, |l| l.max(tlp)));
    }
    Ok(label)
}

fn candidate(index: usize, object: &Value) -> Candidate {
    let stix_type = object["type"].as_str().unwrap_or_default();
    let id = object["id"].as_str().unwrap_or_default();
    let source = format!("objects[{index}] {id}");
    let mut c = Candidate::new(source, Proposal::Context);
    if !object.is_object() || stix_type.is_empty() || !id.starts_with(&format!("{stix_type}--")) {
        c.proposal = Proposal::Refused(invalid(
            "each object needs a type and an id of the form type--UUID",
            "各オブジェクトには型と「型--UUID」形式のIDが必要です",
        ));
        return c;
    }
    if uuid::Uuid::parse_str(&id[stix_type.len() + 2..]).is_err() {
        c.proposal = Proposal::Refused(invalid(
            format!("{id}: the id is not type--UUID"),
            format!("{id}: IDが「型--UUID」形式ではありません"),
        ));
        return c;
    }
    c.id = Some(id.to_string());
    // What other objects refer to: accepted, not stored as items.
    if matches!(stix_type, "marking-definition" | "identity" | "extension-definition" | "language-content") {
        return c;
    }
    c.created = timestamp(&object["created"]);
    c.modified = timestamp(&object["modified"]).or(c.created);
    match marking_label(object) {
        Ok(tlp) => c.tlp = tlp,
        Err(refusal) => {
            c.proposal = Proposal::Refused(refusal);
            return c;
        }
    }
    c.confidence = object["confidence"].as_u64().and_then(|n| u8::try_from(n).ok()).filter(|n| *n <= 100);
    c.labels =
        object["labels"].as_array().into_iter().flatten().filter_map(|l| l.as_str().map(str::to_string)).collect();
    let body = match stix_type {
        "indicator" => {
            c.valid_from = timestamp(&object["valid_from"]);
            c.valid_until = timestamp(&object["valid_until"]);
            indicator(object)
        }
        "attack-pattern" => technique(object),
        "vulnerability" => advisory(object),
        "incident" => incident(object),
        "x-renkei-supplier-assessment" => {
            c.valid_until = timestamp(StixRead(object).prop(prop::VALID_UNTIL));
            assessment(object)
        }
        other => Err(unsupported(
            format!("renkei stores no {other} objects (it stores indicator, attack-pattern, vulnerability, incident and x-renkei-supplier-assessment)"),
            format!("renkeiは {other} を保存しません（保存するのは indicator, attack-pattern, vulnerability, incident, x-renkei-supplier-assessment です）"),
        )),
    };
    c.proposal = match body {
        Ok(body) => Proposal::Item(Box::new(body)),
        Err(refusal) => Proposal::Refused(refusal),
    };
    c
}

fn text(object: &Value, key: &str) -> Option<String> {
    object[key].as_str().map(str::to_string).filter(|s| !s.trim().is_empty())
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_string)).collect()
}

/// The one comparison of a simple STIX pattern, `[path = 'value']`, as renkei's
/// indicator type and the value (unescaped, not yet normalised).
pub fn simple_pattern(pattern: &str) -> Option<(IndicatorType, String)> {
    let inner = pattern.trim().strip_prefix('[')?.strip_suffix(']')?.trim();
    let (path, rest) = inner.split_once('=')?;
    let path = path.trim();
    let rest = rest.trim();
    let quoted = rest.strip_prefix('\'')?.strip_suffix('\'')?;
    // One quoted string: every quote inside is escaped.
    let mut value = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => value.push(chars.next()?),
            '\'' => return None,
            other => value.push(other),
        }
    }
    let kind = match path.replace(' ', "").as_str() {
        "ipv4-addr:value" if value.contains('/') => IndicatorType::Cidr,
        "ipv4-addr:value" => IndicatorType::Ipv4,
        "ipv6-addr:value" if value.contains('/') => IndicatorType::Cidr,
        "ipv6-addr:value" => IndicatorType::Ipv6,
        "domain-name:value" => IndicatorType::Domain,
        "url:value" => IndicatorType::Url,
        "email-addr:value" => IndicatorType::Email,
        "file:name" => IndicatorType::Filename,
        "file:hashes.MD5" | "file:hashes.'MD5'" => IndicatorType::Md5,
        "file:hashes.'SHA-1'" | "file:hashes.SHA1" | "file:hashes.'SHA1'" => IndicatorType::Sha1,
        "file:hashes.'SHA-256'" | "file:hashes.SHA256" | "file:hashes.'SHA256'" => IndicatorType::Sha256,
        _ => return None,
    };
    Some((kind, value))
}

fn indicator(object: &Value) -> Result<Body, Refusal> {
    let pattern_type = object["pattern_type"].as_str().unwrap_or_default();
    if pattern_type != "stix" {
        return Err(unsupported(
            format!("pattern_type {pattern_type:?}: renkei reads STIX patterns"),
            format!("pattern_type {pattern_type:?}: renkeiが読めるのはSTIXパターンです"),
        ));
    }
    let pattern = object["pattern"].as_str().unwrap_or_default();
    let Some((indicator_type, value)) = simple_pattern(pattern) else {
        return Err(unsupported(
            format!("pattern {pattern:?}: renkei stores indicators of one comparison of a value it knows (addresses, domains, URLs, e-mail addresses, file names and hashes)"),
            format!("パターン {pattern:?}: renkeiが保存できるのは既知の値（アドレス、ドメイン、URL、メールアドレス、ファイル名、ハッシュ）の単一比較の指標です"),
        ));
    };
    let description = text(object, "description").filter(|d| {
        // renkei's own default description says nothing the value does not.
        !d.ends_with(" shared through renkei")
    });
    Ok(Body::Indicator(IndicatorBody { indicator_type, value, description }))
}

/// The ATT&CK id and its domain's kill chain name of an attack-pattern.
fn attack_reference(object: &Value) -> Option<String> {
    object["external_references"].as_array()?.iter().find_map(|r| {
        let source = r["source_name"].as_str()?;
        matches!(source, "mitre-attack" | "mitre-ics-attack" | "mitre-mobile-attack")
            .then(|| r["external_id"].as_str().map(str::to_string))
            .flatten()
    })
}

fn technique(object: &Value) -> Result<Body, Refusal> {
    let read = StixRead(object);
    let Some(attack_id) = attack_reference(object) else {
        return Err(unsupported(
            "an attack-pattern without an ATT&CK id (an external reference from mitre-attack)",
            "ATT&CKのID（mitre-attackの外部参照）がないattack-patternです",
        ));
    };
    let name = text(object, "name")
        .ok_or_else(|| invalid("an attack-pattern needs a name", "attack-patternには名前が必要です"))?;
    let tactics = object["kill_chain_phases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["kill_chain_name"].as_str().is_some_and(|n| n.starts_with("mitre-")))
        .filter_map(|p| p["phase_name"].as_str().map(str::to_string))
        .collect();
    let mut platforms = strings(read.prop(prop::PLATFORMS));
    if platforms.is_empty() {
        platforms = strings(&object["x_mitre_platforms"]);
    }
    Ok(Body::Technique(TechniqueBody {
        attack_id,
        narrative: text(object, "description").unwrap_or_else(|| name.clone()),
        name,
        tactics,
        platforms,
        ics_asset_types: read.ics_asset_types(),
    }))
}

/// A supplier assessment (renkei's own SDO) as written by `to_stix`. The hub checks it
/// against its scheme and registered supplier exactly as `submitAssessment` does, and
/// computes the posture itself: a posture in the object is never taken.
fn assessment(object: &Value) -> Result<Body, Refusal> {
    let read = StixRead(object);
    let bad = |what: &str| {
        invalid(format!("a supplier assessment needs {what}"), format!("サプライヤー評価には{what}が必要です"))
    };
    let string = |name: &str| read.prop(name).as_str().map(str::to_string);
    // STIX forbids empty lists, so a criterion without evidence comes without the key.
    #[derive(serde::Deserialize)]
    struct WrittenResult {
        criterion: String,
        answer: Answer,
        comment: Option<String>,
        #[serde(default)]
        evidence: Vec<Evidence>,
    }
    let supplier_id = string(prop::SUPPLIER_ID).ok_or_else(|| bad("supplier_id"))?;
    let scheme = read.prop(prop::SCHEME);
    let (Some(scheme_id), Some(scheme_version)) = (scheme["id"].as_str(), scheme["version"].as_str()) else {
        return Err(bad("scheme (id and version)"));
    };
    let assessor: AssessorKind = serde_json::from_value(read.prop(prop::ASSESSOR).clone())
        .map_err(|_| bad("assessor (member, supplier, third_party or automated)"))?;
    let assurance: Assurance =
        serde_json::from_value(read.prop(prop::ASSURANCE).clone()).map_err(|_| bad("assurance"))?;
    let observed = timestamp(read.prop(prop::OBSERVED)).ok_or_else(|| bad("observed (a timestamp)"))?;
    let results: Vec<WrittenResult> = match read.prop(prop::RESULTS) {
        Value::Null => Vec::new(),
        v => serde_json::from_value(v.clone()).map_err(|e| bad(&format!("readable results ({e})")))?,
    };
    let findings: Vec<Finding> = match read.prop(prop::FINDINGS) {
        Value::Null => Vec::new(),
        v => serde_json::from_value(v.clone()).map_err(|e| bad(&format!("readable findings ({e})")))?,
    };
    Ok(Body::Assessment(AssessmentBody {
        supplier_id,
        offering_ids: strings(read.prop(prop::OFFERING_IDS)),
        scheme_id: scheme_id.to_string(),
        scheme_version: scheme_version.to_string(),
        assessor,
        assessor_name: string(prop::ASSESSOR_NAME),
        assurance,
        observed,
        results: results
            .into_iter()
            .map(|r| CriterionResult {
                criterion: r.criterion,
                answer: r.answer,
                comment: r.comment,
                evidence: r.evidence,
            })
            .collect(),
        findings,
        conclusion: string(prop::CONCLUSION).ok_or_else(|| bad("conclusion"))?,
        posture: None,
    }))
}

fn advisory(object: &Value) -> Result<Body, Refusal> {
    let read = StixRead(object);
    let cve_id = object["external_references"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["source_name"] == "cve")
        .and_then(|r| r["external_id"].as_str())
        .map(str::to_string)
        .ok_or_else(|| {
            unsupported(
                "a vulnerability without a CVE id (an external reference with source_name cve)",
                "CVE ID（source_nameがcveの外部参照）がないvulnerabilityです",
            )
        })?;
    let description = text(object, "description");
    let (title, description) = match read.prop(prop::TITLE).as_str() {
        // renkei writes "title\n\ndescription" (or the title alone).
        Some(title) => {
            let rest = description.as_deref().and_then(|d| d.strip_prefix(title)).map(|r| r.trim_start_matches('\n'));
            (title.to_string(), rest.filter(|r| !r.is_empty()).map(str::to_string))
        }
        None => (text(object, "name").unwrap_or_else(|| cve_id.clone()), description),
    };
    let affected: Vec<AffectedProduct> = read.affected();
    Ok(Body::Advisory(AdvisoryBody {
        cve_id,
        title,
        description,
        affected,
        cvss_vector: read.prop(prop::CVSS_VECTOR).as_str().map(str::to_string),
        cvss_base_score: read.cvss_base_score(),
        exploitation: ExploitationStatus::parse(read.exploitation()).unwrap_or_default(),
        fixes: strings(read.prop(prop::FIXES)),
        workarounds: strings(read.prop(prop::WORKAROUNDS)),
    }))
}

fn incident(object: &Value) -> Result<Body, Refusal> {
    let read = StixRead(object);
    let title =
        text(object, "name").ok_or_else(|| invalid("an incident needs a name", "incidentには名前が必要です"))?;
    let impact = match read.prop(prop::SERVICE_IMPACT).as_str() {
        Some("degraded") => ServiceImpact::Degraded,
        Some("disrupted") => ServiceImpact::Disrupted,
        Some("outage") => ServiceImpact::Outage,
        _ => ServiceImpact::None,
    };
    Ok(Body::Incident(IncidentBody {
        summary: text(object, "description").unwrap_or_else(|| title.clone()),
        title,
        sector: read.prop(prop::SECTOR).as_str().unwrap_or_default().to_string(),
        occurred_at: timestamp(read.prop(prop::OCCURRED_AT)),
        service_impact: impact,
        impact_description: read.prop(prop::IMPACT_DESCRIPTION).as_str().map(str::to_string),
        technique_ids: read.technique_ids(),
        indicator_refs: strings(read.prop(prop::INDICATOR_REFS)),
        supplier_refs: read.supplier_refs(),
    }))
}

/// Whether an object carries renkei's extension (it was written by a renkei hub).
pub fn is_renkeis(object: &Value) -> bool {
    object["extensions"].get(EXTENSION_ID).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn simple_patterns_map_to_indicator_types_and_others_do_not() {
        assert_eq!(
            simple_pattern("[ipv4-addr:value = '198.51.100.7']"),
            Some((IndicatorType::Ipv4, "198.51.100.7".into()))
        );
        assert_eq!(
            simple_pattern("[ipv4-addr:value = '10.0.0.0/8']"),
            Some((IndicatorType::Cidr, "10.0.0.0/8".into()))
        );
        assert_eq!(
            simple_pattern(
                "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']"
            )
            .map(|p| p.0),
            Some(IndicatorType::Sha256)
        );
        assert_eq!(
            simple_pattern("[url:value = 'http://x.example/a\\'b']"),
            Some((IndicatorType::Url, "http://x.example/a'b".into()))
        );
        assert_eq!(simple_pattern("[domain-name:value = 'a.example' OR domain-name:value = 'b.example']"), None);
        assert_eq!(simple_pattern("[process:name = 'evil.exe']"), None);
        assert_eq!(simple_pattern("[domain-name:value = 'a.example'] AND [domain-name:value = 'b.example']"), None);
    }

    #[test]
    fn markings_map_conservatively_and_unknown_ones_refuse() {
        let tlp1_amber = json!({"object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]});
        assert_eq!(marking_label(&tlp1_amber), Ok(Some(Tlp::Amber)));
        let octi_strict = json!({"object_marking_refs": ["marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"]});
        assert_eq!(marking_label(&octi_strict), Ok(Some(Tlp::AmberStrict)));
        let both = json!({"object_marking_refs": [Tlp::Green.marking_definition_id()],
                          "granular_markings": [{"marking_ref": Tlp::Red.marking_definition_id(), "selectors": ["name"]}]});
        assert_eq!(marking_label(&both), Ok(Some(Tlp::Red)), "the most restrictive wins");
        assert_eq!(marking_label(&json!({})), Ok(None));
        let statement = json!({"object_marking_refs": ["marking-definition--0b5c3f4e-1d2a-4b6c-8e9f-a0b1c2d3e4f5"]});
        assert_eq!(marking_label(&statement).map_err(|r| r.code), Err(Code::UnknownMarking));
    }

    #[test]
    fn renkeis_own_objects_read_back_to_the_same_bodies() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").expect("time").with_timezone(&Utc);
        let env = crate::model::Envelope {
            id: crate::model::Kind::Advisory.new_id(),
            kind: crate::model::Kind::Advisory,
            revision: 1,
            created: t,
            modified: t,
            origin_hub: "hub-a".into(),
            created_by: "0b8a6a8e-8a9c-4b7e-9c1e-000000000001".into(),
            anonymous: false,
            tlp: Tlp::Amber,
            recipients: vec![],
            status: crate::tlp::Status::Published,
            status_reason: None,
            confidence: Some(60),
            valid_from: t,
            valid_until: None,
            labels: vec!["ot".into()],
        };
        let advisory: AdvisoryBody = serde_json::from_value(json!({
            "cve_id": "CVE-2021-44228", "title": "Log4Shell", "description": "JNDI lookups",
            "affected": [{"cpe": "cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*", "version_start_including": "2.0",
                          "version_start_excluding": null, "version_end_including": null, "version_end_excluding": "2.15.0"}],
            "cvss_vector": null, "cvss_base_score": 10.0, "exploitation": "known_exploited", "fixes": ["2.15.0"], "workarounds": []
        }))
        .expect("advisory");
        let bodies = [
            Body::Advisory(advisory),
            Body::Indicator(IndicatorBody {
                indicator_type: IndicatorType::Domain,
                value: "evil.example".into(),
                description: None,
            }),
            Body::Technique(TechniqueBody {
                attack_id: "T0866".into(),
                name: "Exploitation of Remote Services".into(),
                tactics: vec!["lateral-movement".into()],
                narrative: "seen at a substation".into(),
                platforms: vec!["Windows".into()],
                ics_asset_types: vec!["A0002".into()],
            }),
            Body::Incident(IncidentBody {
                title: "outage".into(),
                summary: "s".into(),
                sector: "energy".into(),
                occurred_at: Some(t),
                service_impact: ServiceImpact::Outage,
                impact_description: Some("two hours".into()),
                technique_ids: vec!["T1566".into()],
                indicator_refs: vec![],
                supplier_refs: vec![],
            }),
            Body::Assessment(AssessmentBody {
                supplier_id: "sup-1".into(),
                offering_ids: vec!["off-1".into()],
                scheme_id: "meti-ot-supply".into(),
                scheme_version: "1.0".into(),
                assessor: AssessorKind::ThirdParty,
                assessor_name: Some("監査法人".into()),
                assurance: Assurance::IndependentCertification,
                observed: t,
                results: vec![
                    CriterionResult {
                        criterion: "c1".into(),
                        answer: Answer::Scale(3),
                        comment: Some("patched monthly".into()),
                        evidence: vec![Evidence {
                            sha256: "a".repeat(64),
                            kind: "audit_report".into(),
                            issued: Some(t),
                            expires: None,
                        }],
                    },
                    // No evidence: written without the (empty) list, read back as empty.
                    CriterionResult {
                        criterion: "c2".into(),
                        answer: Answer::NotApplicable,
                        comment: None,
                        evidence: vec![],
                    },
                ],
                findings: vec![Finding {
                    severity: crate::supply::rating::Severity::High,
                    description: "no SBOM".into(),
                    open: true,
                }],
                conclusion: "warning".into(),
                // Written out, never read back: the importing hub computes its own.
                posture: Some(72.5),
            }),
        ];
        for body in bodies {
            let mut env = env.clone();
            env.kind = body.kind();
            env.id = env.kind.new_id();
            let is_assessment = matches!(body, Body::Assessment(_));
            if is_assessment {
                env.valid_until = Some(t + chrono::Duration::days(365));
            }
            let object = super::super::to_stix(&env, &body);
            let body = match body {
                Body::Assessment(a) => Body::Assessment(AssessmentBody { posture: None, ..a }),
                other => other,
            };
            let got = candidates(
                &json!({"type": "bundle", "id": "bundle--0c1b3e1a-3c8f-4b8f-9d8e-1f2a3b4c5d6e", "objects": [object]}),
                10,
            )
            .expect("bundle");
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].proposal, Proposal::Item(Box::new(body.clone())), "{body:?}");
            assert_eq!((got[0].tlp, got[0].confidence), (Some(Tlp::Amber), Some(60)));
            assert_eq!(got[0].id.as_deref(), Some(env.id.as_str()));
            if is_assessment {
                assert_eq!(got[0].valid_until, env.valid_until);
            }
        }
    }

    #[test]
    fn what_renkei_does_not_store_is_refused_or_taken_as_context_with_a_code() {
        let bundle = json!({"type": "bundle", "objects": [
            {"type": "identity", "id": "identity--0c1b3e1a-3c8f-4b8f-9d8e-1f2a3b4c5d6e", "name": "x"},
            {"type": "malware", "id": "malware--0c1b3e1a-3c8f-4b8f-9d8e-1f2a3b4c5d6e", "is_family": true, "name": "x"},
            {"type": "indicator", "id": "indicator--0c1b3e1a-3c8f-4b8f-9d8e-1f2a3b4c5d6e", "pattern_type": "yara", "pattern": "rule x {}"},
            {"type": "indicator", "id": "not-an-id"},
        ]});
        let got = candidates(&bundle, 10).expect("bundle");
        assert_eq!(got[0].proposal, Proposal::Context);
        let codes: Vec<Option<Code>> = got[1..]
            .iter()
            .map(|c| match &c.proposal {
                Proposal::Refused(r) => Some(r.code),
                _ => None,
            })
            .collect();
        assert_eq!(codes, vec![Some(Code::StixUnsupported), Some(Code::StixUnsupported), Some(Code::StixInvalid)]);
        assert_eq!(candidates(&json!({"objects": [{}, {}]}), 1).map_err(|r| r.code), Err(Code::BatchTooLarge));
        assert_eq!(candidates(&json!([]), 1).map_err(|r| r.code), Err(Code::StixInvalid));
    }
}
