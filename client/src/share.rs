//! Back to the hub: `renkei share …` and `renkei sighting` wrap the hub's mutations, so a
//! member shares from the same tool (and token) it syncs with. The hub checks
//! everything; its refusals come back as errors naming its code.

use crate::bail;
use crate::error::{Context as _, Result};
use serde_json::{json, Value};

use crate::hub_api::HubApi;

/// How an item is shared (the hub's `SharingInput`).
#[derive(Debug, Clone, Default)]
pub struct Sharing {
    /// CLEAR, GREEN, AMBER, AMBER_STRICT (or AMBER+STRICT) or RED.
    pub tlp: String,
    pub recipients: Vec<String>,
    pub anonymous: bool,
    pub confidence: Option<i64>,
    pub valid_until: Option<String>,
}

impl Sharing {
    fn input(&self) -> Value {
        let tlp = self.tlp.trim().trim_start_matches("TLP:").to_uppercase().replace('+', "_");
        json!({
            "tlp": tlp,
            "recipients": self.recipients,
            "anonymous": self.anonymous,
            "confidence": self.confidence,
            "validUntil": self.valid_until,
        })
    }
}

/// What the hub made of a shared item: (id, status).
fn receipt(v: &Value) -> Result<(String, String)> {
    let id = v["id"].as_str().context("the hub's answer has no id")?;
    Ok((id.to_string(), v["status"].as_str().unwrap_or("?").to_string()))
}

/// Shares indicators, each `(TYPE, value)`; all or nothing (the hub names bad entries).
pub fn indicators(api: &HubApi, entries: &[(String, String)], sharing: &Sharing) -> Result<Vec<(String, String)>> {
    if entries.is_empty() {
        bail!("no indicators to share / 共有する指標がありません");
    }
    let input: Vec<Value> =
        entries.iter().map(|(t, v)| json!({"type": t.trim().to_uppercase(), "value": v.trim()})).collect();
    let data = api.query(
        "mutation($i: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $i, sharing: $s) { id status } }",
        json!({"i": input, "s": sharing.input()}),
    )?;
    data["shareIndicators"].as_array().context("the hub's answer has no indicators")?.iter().map(receipt).collect()
}

/// Shares a technique; `name` is needed only while the hub has no ATT&CK catalog.
pub fn technique(
    api: &HubApi,
    attack_id: &str,
    name: Option<&str>,
    narrative: &str,
    ics_asset_types: &[String],
    sharing: &Sharing,
) -> Result<(String, String)> {
    let data = api.query(
        "mutation($i: TechniqueInput!, $s: SharingInput!) { shareTechnique(input: $i, sharing: $s) { id status } }",
        json!({"i": {"attackId": attack_id, "name": name, "narrative": narrative, "icsAssetTypes": ics_asset_types}, "s": sharing.input()}),
    )?;
    receipt(&data["shareTechnique"])
}

pub struct IncidentShare {
    pub title: String,
    pub summary: String,
    pub sector: String,
    /// NONE, DEGRADED, DISRUPTED or OUTAGE.
    pub impact: String,
    pub techniques: Vec<String>,
    pub indicators: Vec<String>,
    pub suppliers: Vec<String>,
}

pub fn incident(api: &HubApi, i: &IncidentShare, sharing: &Sharing) -> Result<(String, String)> {
    let data = api.query(
        "mutation($i: IncidentInput!, $s: SharingInput!) { reportIncident(input: $i, sharing: $s) { id status } }",
        json!({"i": {
            "title": i.title, "summary": i.summary, "sector": i.sector,
            "serviceImpact": i.impact.trim().to_uppercase(),
            "techniqueIds": i.techniques, "indicatorIds": i.indicators, "supplierIds": i.suppliers,
        }, "s": sharing.input()}),
    )?;
    receipt(&data["reportIncident"])
}

pub struct AdvisoryShare {
    pub cve: String,
    pub title: String,
    pub cpes: Vec<String>,
    /// Versions from this one on are fixed (`versionEndExcluding` of every CPE).
    pub fixed_in: Option<String>,
    /// UNKNOWN, NOT_KNOWN, POC_PUBLIC or KNOWN_EXPLOITED.
    pub exploitation: String,
}

pub fn advisory(api: &HubApi, a: &AdvisoryShare, sharing: &Sharing) -> Result<(String, String)> {
    let affected: Vec<Value> = a.cpes.iter().map(|c| json!({"cpe": c, "versionEndExcluding": a.fixed_in})).collect();
    let data = api.query(
        "mutation($i: AdvisoryInput!, $s: SharingInput!) { shareAdvisory(input: $i, sharing: $s) { id status } }",
        json!({"i": {
            "cveId": a.cve, "title": a.title, "affected": affected,
            "exploitation": a.exploitation.trim().to_uppercase().replace('-', "_"),
        }, "s": sharing.input()}),
    )?;
    receipt(&data["shareAdvisory"])
}

/// Reports a sighting of a shared indicator (or a false positive): the receipt's id.
pub fn sighting(api: &HubApi, indicator: &str, count: i64, false_positive: bool, anonymous: bool) -> Result<String> {
    let data = api.query(
        "mutation($i: ID!, $c: Int, $k: SightingKind, $a: Boolean) { reportSighting(indicator: $i, count: $c, kind: $k, anonymous: $a) { id } }",
        json!({"i": indicator, "c": count, "k": if false_positive { "FALSE_POSITIVE" } else { "SEEN" }, "a": anonymous}),
    )?;
    Ok(data["reportSighting"]["id"].as_str().context("the hub's answer has no receipt")?.to_string())
}

/// The contents of sealed items, built here as the hub builds plaintext ones (the hub
/// cannot read a sealed item, so it cannot do it): values normalised, ids checked,
/// texts trimmed. `renkei_schema::seal::seal` checks the result again.
pub mod bodies {
    use renkei_schema::model::attack_id::validate_technique_id;
    use renkei_schema::model::indicator::{normalize, IndicatorType};
    use renkei_schema::model::limits;
    use renkei_schema::model::vuln::{validate_cve_id, AffectedProduct, Cpe23, ExploitationStatus, InvalidValue};
    use renkei_schema::model::{
        clean_text, AdvisoryBody, Body, IncidentBody, IndicatorBody, ServiceImpact, TechniqueBody,
    };

    use crate::error::{Error, Result};

    fn invalid(e: InvalidValue) -> Error {
        Error::Invalid(format!("{}: {}\n{}: {}", e.field, e.reason, e.field, e.reason_ja))
    }

    fn text(field: &'static str, raw: &str, max: usize) -> Result<String> {
        clean_text(field, raw, max).map_err(|e| Error::Invalid(format!("{e}\n{}", e.message_ja())))
    }

    /// Indicators `(TYPE, value)`; every bad one is named, none is taken.
    pub fn indicators(entries: &[(String, String)]) -> Result<Vec<Body>> {
        let mut out = Vec::with_capacity(entries.len());
        let mut bad = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, (kind, value)) in entries.iter().enumerate() {
            let Some(kind) = IndicatorType::parse(kind.trim()) else {
                bad.push(format!("#{}: unknown type {kind} / 不明な種別です", i + 1));
                continue;
            };
            match normalize(kind, value) {
                Ok(value) if seen.insert((kind, value.clone())) => {
                    out.push(Body::Indicator(IndicatorBody { indicator_type: kind, value, description: None }))
                }
                Ok(value) => bad.push(format!("#{}: {value} appears twice / 重複しています", i + 1)),
                Err(e) => bad.push(format!("#{}: {} / {}", i + 1, e.reason, e.reason_ja)),
            }
        }
        if !bad.is_empty() {
            return Err(Error::Invalid(format!("nothing shared / 何も共有していません:\n{}", bad.join("\n"))));
        }
        Ok(out)
    }

    /// A technique: without the hub's catalog here, its name is required.
    pub fn technique(attack_id: &str, name: Option<&str>, narrative: &str, ics_asset_types: &[String]) -> Result<Body> {
        let attack_id =
            validate_technique_id(attack_id).map_err(|e| Error::Invalid(format!("{}\n{}", e.reason, e.reason_ja)))?;
        let name = name.ok_or_else(|| {
            Error::Invalid(
                "a sealed technique needs --name (the hub cannot fill it in from its catalog)\n\
                 封緘する技術には--nameが必要です（ハブがカタログから補完できないため）"
                    .into(),
            )
        })?;
        Ok(Body::Technique(TechniqueBody {
            attack_id,
            name: text("name", name, limits::NAME)?,
            tactics: Vec::new(),
            narrative: text("narrative", narrative, limits::NARRATIVE)?,
            platforms: Vec::new(),
            ics_asset_types: ics_asset_types
                .iter()
                .map(|t| text("icsAssetTypes", t, limits::LIST_ENTRY))
                .collect::<Result<_>>()?,
        }))
    }

    pub fn incident(i: &super::IncidentShare) -> Result<Body> {
        let service_impact = match i.impact.trim().to_ascii_uppercase().as_str() {
            "NONE" => ServiceImpact::None,
            "DEGRADED" => ServiceImpact::Degraded,
            "DISRUPTED" => ServiceImpact::Disrupted,
            "OUTAGE" => ServiceImpact::Outage,
            other => {
                return Err(Error::Invalid(format!(
                    "impact {other} is not NONE, DEGRADED, DISRUPTED or OUTAGE\n影響{other}は不正です"
                )))
            }
        };
        let mut technique_ids = Vec::new();
        for t in &i.techniques {
            technique_ids
                .push(validate_technique_id(t).map_err(|e| Error::Invalid(format!("{}\n{}", e.reason, e.reason_ja)))?);
        }
        technique_ids.dedup();
        let mut indicator_refs = i.indicators.clone();
        indicator_refs.sort();
        indicator_refs.dedup();
        Ok(Body::Incident(IncidentBody {
            title: text("title", &i.title, limits::TITLE)?,
            summary: text("summary", &i.summary, limits::SUMMARY)?,
            sector: text("sector", &i.sector, limits::SECTOR)?,
            occurred_at: None,
            service_impact,
            impact_description: None,
            technique_ids,
            indicator_refs,
            supplier_refs: i.suppliers.clone(),
        }))
    }

    pub fn advisory(a: &super::AdvisoryShare) -> Result<Body> {
        let mut affected = Vec::new();
        for cpe in &a.cpes {
            let product = AffectedProduct {
                cpe: Cpe23::parse(cpe).map_err(invalid)?,
                version_start_including: None,
                version_start_excluding: None,
                version_end_including: None,
                version_end_excluding: a.fixed_in.clone(),
            };
            product.validate().map_err(invalid)?;
            affected.push(product);
        }
        Ok(Body::Advisory(AdvisoryBody {
            cve_id: validate_cve_id(&a.cve).map_err(invalid)?,
            title: text("title", &a.title, limits::TITLE)?,
            description: None,
            affected,
            cvss_vector: None,
            cvss_base_score: None,
            exploitation: ExploitationStatus::parse(&a.exploitation).map_err(invalid)?,
            fixes: Vec::new(),
            workarounds: Vec::new(),
        }))
    }
}
