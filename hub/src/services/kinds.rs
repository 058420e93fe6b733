//! Validation of technique, incident and advisory submissions into canonical bodies.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use renkei_schema::model::attack_id::validate_tactic;
use renkei_schema::model::vuln::{
    parse_cvss, validate_cve_id, AffectedProduct, Cpe23, ExploitationStatus, InvalidValue,
};
use renkei_schema::model::{limits, AdvisoryBody, Body, IncidentBody, ServiceImpact, TechniqueBody};
use renkei_schema::tlp::{Status, Tlp, Viewer, Visibility};

use super::attack::{catalog_loaded, resolve_technique};
use super::stored::Access;
use crate::error::{AppError, AppResult};
use crate::store::models::ObjectRow;
use crate::store::schema::objects;
use crate::store::DbConn;
use renkei_schema::errors::Code;

use super::text;

fn texts(field: &'static str, raw: Vec<String>, max: usize) -> AppResult<Vec<String>> {
    raw.iter().map(|s| text(field, s, max)).collect()
}

fn invalid_value(e: InvalidValue) -> AppError {
    AppError::invalid(format!("{}: {}", e.field, e.reason), format!("{}: {}", e.field, e.reason_ja))
}

pub struct TechniqueInput {
    pub attack_id: String,
    pub name: Option<String>,
    pub tactics: Vec<String>,
    pub narrative: String,
    pub platforms: Vec<String>,
    pub ics_asset_types: Vec<String>,
}

/// Checks the ATT&CK id (against the catalog once one is loaded) and fills in the
/// catalog's name and tactics.
pub fn technique_body(conn: &mut DbConn, input: TechniqueInput) -> AppResult<Body> {
    let loaded = catalog_loaded(conn)?;
    let (attack_id, entry) = resolve_technique(conn, &input.attack_id, loaded)?;
    let narrative = text("narrative", &input.narrative, limits::NARRATIVE)?;
    let mut tactics = Vec::new();
    for t in &input.tactics {
        tactics.push(validate_tactic(t).map_err(|e| AppError::invalid(e.reason, e.reason_ja))?);
    }
    let (name, tactics) = match entry {
        Some(row) => {
            let catalog_tactics: Vec<String> = serde_json::from_str(&row.tactics).unwrap_or_default();
            (row.name, if tactics.is_empty() { catalog_tactics } else { tactics })
        }
        None => match input.name {
            Some(n) => (text("name", &n, limits::NAME)?, tactics),
            None => {
                return Err(AppError::invalid(
                    "name is required while no ATT&CK catalog is loaded",
                    "ATT&CKカタログが読み込まれていないため、名称を指定してください",
                ))
            }
        },
    };
    Ok(Body::Technique(TechniqueBody {
        attack_id,
        name,
        tactics,
        narrative,
        platforms: texts("platforms", input.platforms, limits::LIST_ENTRY)?,
        ics_asset_types: texts("icsAssetTypes", input.ics_asset_types, limits::LIST_ENTRY)?,
    }))
}

pub struct IncidentInput {
    pub title: String,
    pub summary: String,
    pub sector: String,
    pub occurred_at: Option<String>,
    pub service_impact: ServiceImpact,
    pub impact_description: Option<String>,
    pub technique_ids: Vec<String>,
    pub indicator_ids: Vec<String>,
    pub supplier_ids: Vec<String>,
}

/// Validates an incident. Linked indicators must exist, be visible to the submitter
/// and be shared at least as widely as the incident, so the incident never reveals an
/// item its readers may not see (no leak through a derived field).
pub fn incident_body(conn: &mut DbConn, submitter: &Viewer<'_>, tlp: Tlp, input: IncidentInput) -> AppResult<Body> {
    let occurred_at: Option<DateTime<Utc>> = match &input.occurred_at {
        Some(s) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    AppError::invalid(
                        "occurredAt is not an RFC 3339 time",
                        "occurredAtがRFC 3339形式の日時ではありません",
                    )
                })?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    let loaded = catalog_loaded(conn)?;
    let mut technique_ids = Vec::new();
    for raw in &input.technique_ids {
        technique_ids.push(resolve_technique(conn, raw, loaded)?.0);
    }
    technique_ids.dedup();
    let mut indicator_refs: Vec<String> = input.indicator_ids.clone();
    indicator_refs.sort();
    indicator_refs.dedup();
    if !indicator_refs.is_empty() {
        let rows: Vec<ObjectRow> = objects::table
            .filter(objects::id.eq_any(&indicator_refs))
            .filter(objects::kind.eq("indicator"))
            .select(ObjectRow::as_select())
            .load(conn)?;
        for id in &indicator_refs {
            let row = rows.iter().find(|r| &r.id == id);
            let access = row.map(Access::of_object).transpose()?;
            let usable = access.as_ref().is_some_and(|a| {
                renkei_schema::tlp::visibility(submitter, &a.item()) == Visibility::Full
                    && a.status == Status::Published
            });
            if !usable {
                return Err(AppError::new(
                    Code::UnknownReference,
                    format!("no shared indicator {id}"),
                    format!("共有された指標 {id} はありません"),
                ));
            }
            let linked = access.map(|a| a.tlp).unwrap_or(Tlp::Red);
            renkei_schema::tlp::check_link(linked, tlp).map_err(|refusal| {
                let e = AppError::from(refusal);
                AppError::new(e.code, format!("indicator {id}: {}", e.message), format!("指標 {id}: {}", e.message_ja))
            })?;
        }
    }
    Ok(Body::Incident(IncidentBody {
        title: text("title", &input.title, limits::TITLE)?,
        summary: text("summary", &input.summary, limits::SUMMARY)?,
        sector: text("sector", &input.sector, limits::SECTOR)?,
        occurred_at,
        service_impact: input.service_impact,
        impact_description: input
            .impact_description
            .map(|d| text("impactDescription", &d, limits::IMPACT_DESCRIPTION))
            .transpose()?,
        technique_ids,
        indicator_refs,
        supplier_refs: registry_suppliers(conn, submitter, input.supplier_ids)?,
    }))
}

/// The named suppliers (sorted, without repeats), each an active registry entry. One
/// the submitter may not see (another member's proposal) is answered exactly like one
/// that does not exist; its own proposal is refused too, since the incident's readers
/// could not see it.
fn registry_suppliers(conn: &mut DbConn, submitter: &Viewer<'_>, mut ids: Vec<String>) -> AppResult<Vec<String>> {
    use crate::store::schema::suppliers;
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(ids);
    }
    let known: Vec<(String, String, Option<String>)> = suppliers::table
        .filter(suppliers::id.eq_any(&ids))
        .select((suppliers::id, suppliers::status, suppliers::proposed_by))
        .load(conn)?;
    for id in &ids {
        let entry = known.iter().find(|(k, status, proposer)| {
            k == id && super::suppliers::visible_to(submitter, status, proposer.as_deref())
        });
        match entry {
            None => {
                return Err(AppError::new(
                    Code::UnknownReference,
                    format!("no supplier {id} in the registry"),
                    format!("サプライヤー {id} は登録されていません"),
                ))
            }
            Some((_, status, _)) if status != super::suppliers::ACTIVE => {
                return Err(AppError::new(
                    Code::SupplierNotActive,
                    format!("supplier {id} is still a proposal; shared items name registered suppliers"),
                    format!("サプライヤー {id} は提案中です。共有する情報には登録済みのサプライヤーのみ指定できます"),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(ids)
}

pub struct AffectedInput {
    pub cpe: String,
    pub version_start_including: Option<String>,
    pub version_start_excluding: Option<String>,
    pub version_end_including: Option<String>,
    pub version_end_excluding: Option<String>,
}

/// A stored affected product as input again (an import re-validates what it read).
impl From<renkei_schema::model::vuln::AffectedProduct> for AffectedInput {
    fn from(a: renkei_schema::model::vuln::AffectedProduct) -> Self {
        AffectedInput {
            cpe: a.cpe.to_string(),
            version_start_including: a.version_start_including,
            version_start_excluding: a.version_start_excluding,
            version_end_including: a.version_end_including,
            version_end_excluding: a.version_end_excluding,
        }
    }
}

pub struct AdvisoryInput {
    pub cve_id: String,
    pub title: String,
    pub description: Option<String>,
    pub affected: Vec<AffectedInput>,
    pub cvss_vector: Option<String>,
    pub exploitation: ExploitationStatus,
    pub fixes: Vec<String>,
    pub workarounds: Vec<String>,
}

pub fn advisory_body(input: AdvisoryInput) -> AppResult<Body> {
    let cve_id = validate_cve_id(&input.cve_id).map_err(invalid_value)?;
    let mut affected = Vec::with_capacity(input.affected.len());
    for a in input.affected {
        let product = AffectedProduct {
            cpe: Cpe23::parse(&a.cpe).map_err(invalid_value)?,
            version_start_including: a.version_start_including,
            version_start_excluding: a.version_start_excluding,
            version_end_including: a.version_end_including,
            version_end_excluding: a.version_end_excluding,
        };
        product.validate().map_err(invalid_value)?;
        affected.push(product);
    }
    let cvss = input.cvss_vector.as_deref().map(parse_cvss).transpose().map_err(invalid_value)?;
    Ok(Body::Advisory(AdvisoryBody {
        cve_id,
        title: text("title", &input.title, limits::TITLE)?,
        description: input.description.map(|d| text("description", &d, limits::ADVISORY_DESCRIPTION)).transpose()?,
        affected,
        cvss_base_score: cvss.as_ref().and_then(|c| c.base_score),
        cvss_vector: cvss.map(|c| c.vector),
        exploitation: input.exploitation,
        fixes: texts("fixes", input.fixes, limits::REMEDY)?,
        workarounds: texts("workarounds", input.workarounds, limits::REMEDY)?,
    }))
}
