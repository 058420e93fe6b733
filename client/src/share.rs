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
