//! The MITRE ATT&CK catalog: imported from MITRE's own STIX bundles, used to check
//! and fill in shared techniques, and readable by clients (technique → ICS asset
//! `targets`, mitigations).

use diesel::prelude::*;
use serde_json::json;
use std::collections::HashMap;

use renkei_schema::attack::AttackCatalog;
use renkei_schema::model::attack_id::validate_technique_id;

use super::audit::{self, AuditEvent};
use crate::error::{AppError, AppResult};
use crate::store::models::{AssetRow, MitigationRow, RelationRow, TacticRow, TechniqueRow};
use crate::store::schema::{attack_assets, attack_mitigations, attack_relations, attack_tactics, attack_techniques};
use crate::store::DbConn;
use renkei_schema::errors::Code;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportCounts {
    pub techniques: usize,
    pub tactics: usize,
    pub mitigations: usize,
    pub assets: usize,
    pub relations: usize,
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// Keeps one entry per ATT&CK id, preferring one that is neither revoked nor
/// deprecated (MITRE keeps revoked objects under their old ids).
fn dedupe<T>(items: Vec<T>, id: impl Fn(&T) -> &str, usable: impl Fn(&T) -> bool) -> Vec<T> {
    let mut by_id: HashMap<String, T> = HashMap::new();
    for item in items {
        let key = id(&item).to_string();
        match by_id.get(&key) {
            Some(existing) if usable(existing) && !usable(&item) => {}
            _ => {
                by_id.insert(key, item);
            }
        }
    }
    let mut out: Vec<T> = by_id.into_values().collect();
    out.sort_by(|a, b| id(a).cmp(id(b)));
    out
}

/// Loads a catalog in one transaction, replacing the entries with the same ids.
pub fn import(conn: &mut DbConn, keys: &crate::crypto::HubKeys, catalog: AttackCatalog) -> AppResult<ImportCounts> {
    let techniques: Vec<TechniqueRow> = dedupe(catalog.techniques, |t| &t.attack_id, |t| !t.revoked && !t.deprecated)
        .into_iter()
        .map(|t| TechniqueRow {
            tactics: json_list(&t.tactics),
            platforms: json_list(&t.platforms),
            attack_id: t.attack_id,
            stix_id: t.stix_id,
            name: t.name,
            domain: t.domain,
            is_subtechnique: t.is_subtechnique,
            revoked: t.revoked,
            deprecated: t.deprecated,
            description: t.description,
        })
        .collect();
    let tactics: Vec<TacticRow> = dedupe(catalog.tactics, |t| &t.attack_id, |_| true)
        .into_iter()
        .map(|t| TacticRow {
            attack_id: t.attack_id,
            stix_id: t.stix_id,
            shortname: t.shortname,
            name: t.name,
            domain: t.domain,
        })
        .collect();
    let mitigations: Vec<MitigationRow> =
        dedupe(catalog.mitigations, |m| &m.attack_id, |m| !m.revoked && !m.deprecated)
            .into_iter()
            .map(|m| MitigationRow {
                attack_id: m.attack_id,
                stix_id: m.stix_id,
                name: m.name,
                domain: m.domain,
                revoked: m.revoked,
                deprecated: m.deprecated,
            })
            .collect();
    let assets: Vec<AssetRow> = dedupe(catalog.assets, |a| &a.attack_id, |a| !a.revoked && !a.deprecated)
        .into_iter()
        .map(|a| AssetRow {
            platforms: json_list(&a.platforms),
            attack_id: a.attack_id,
            stix_id: a.stix_id,
            name: a.name,
            revoked: a.revoked,
            deprecated: a.deprecated,
        })
        .collect();
    let mut relations: Vec<RelationRow> = catalog
        .relations
        .into_iter()
        .map(|r| RelationRow {
            kind: r.kind.as_str().into(),
            source_id: r.source_attack_id,
            target_id: r.target_attack_id,
        })
        .collect();
    relations.sort_by(|a, b| (&a.kind, &a.source_id, &a.target_id).cmp(&(&b.kind, &b.source_id, &b.target_id)));
    relations.dedup_by(|a, b| a.kind == b.kind && a.source_id == b.source_id && a.target_id == b.target_id);

    let counts = ImportCounts {
        techniques: techniques.len(),
        tactics: tactics.len(),
        mitigations: mitigations.len(),
        assets: assets.len(),
        relations: relations.len(),
    };
    conn.transaction(|c| {
        crate::store::acquire_write_lock(c)?;
        for chunk in techniques.chunks(400) {
            let ids: Vec<&str> = chunk.iter().map(|t| t.attack_id.as_str()).collect();
            diesel::delete(attack_techniques::table.filter(attack_techniques::attack_id.eq_any(&ids))).execute(c)?;
            diesel::delete(attack_relations::table.filter(attack_relations::source_id.eq_any(&ids))).execute(c)?;
            crate::insert_rows!(c, attack_techniques::table, chunk)?;
        }
        for chunk in tactics.chunks(400) {
            let ids: Vec<&str> = chunk.iter().map(|t| t.attack_id.as_str()).collect();
            diesel::delete(attack_tactics::table.filter(attack_tactics::attack_id.eq_any(&ids))).execute(c)?;
            crate::insert_rows!(c, attack_tactics::table, chunk)?;
        }
        for chunk in mitigations.chunks(400) {
            let ids: Vec<&str> = chunk.iter().map(|t| t.attack_id.as_str()).collect();
            diesel::delete(attack_mitigations::table.filter(attack_mitigations::attack_id.eq_any(&ids))).execute(c)?;
            diesel::delete(attack_relations::table.filter(attack_relations::source_id.eq_any(&ids))).execute(c)?;
            crate::insert_rows!(c, attack_mitigations::table, chunk)?;
        }
        for chunk in assets.chunks(400) {
            let ids: Vec<&str> = chunk.iter().map(|t| t.attack_id.as_str()).collect();
            diesel::delete(attack_assets::table.filter(attack_assets::attack_id.eq_any(&ids))).execute(c)?;
            crate::insert_rows!(c, attack_assets::table, chunk)?;
        }
        for chunk in relations.chunks(400) {
            crate::insert_rows!(c, attack_relations::table, chunk)?;
        }
        audit::append(
            c,
            keys,
            AuditEvent {
                action: "attack.import".into(),
                detail: json!({
                    "techniques": counts.techniques, "tactics": counts.tactics,
                    "mitigations": counts.mitigations, "assets": counts.assets, "relations": counts.relations,
                }),
                ..Default::default()
            },
        )?;
        Ok::<_, AppError>(())
    })?;
    Ok(counts)
}

pub fn catalog_loaded(conn: &mut DbConn) -> AppResult<bool> {
    let n: i64 = attack_techniques::table.count().get_result(conn)?;
    Ok(n > 0)
}

/// Checks a technique id's form and, once a catalog is loaded, that it is a current
/// ATT&CK technique. Returns the canonical id and the catalog entry if any.
pub fn resolve_technique(
    conn: &mut DbConn,
    raw: &str,
    catalog_loaded: bool,
) -> AppResult<(String, Option<TechniqueRow>)> {
    let id = validate_technique_id(raw).map_err(|e| AppError::new(Code::InvalidTechniqueId, e.reason, e.reason_ja))?;
    if !catalog_loaded {
        return Ok((id, None));
    }
    let row: Option<TechniqueRow> =
        attack_techniques::table.find(&id).select(TechniqueRow::as_select()).first(conn).optional()?;
    match row {
        Some(row) if !row.revoked => Ok((id, Some(row))),
        Some(_) => Err(AppError::new(
            Code::UnknownTechnique,
            format!("{id} is revoked in the loaded ATT&CK catalog"),
            format!("{id} は読み込まれたATT&CKカタログで廃止（revoked）されています"),
        )),
        None => Err(AppError::new(
            Code::UnknownTechnique,
            format!("{id} is not in the loaded ATT&CK catalog"),
            format!("{id} は読み込まれたATT&CKカタログにありません"),
        )),
    }
}

pub fn technique(conn: &mut DbConn, id: &str) -> AppResult<Option<TechniqueRow>> {
    Ok(attack_techniques::table.find(id).select(TechniqueRow::as_select()).first(conn).optional()?)
}

pub fn techniques(conn: &mut DbConn, domain: Option<&str>) -> AppResult<Vec<TechniqueRow>> {
    let mut q = attack_techniques::table.select(TechniqueRow::as_select()).into_boxed();
    if let Some(d) = domain {
        q = q.filter(attack_techniques::domain.eq(d.to_string()));
    }
    Ok(q.order(attack_techniques::attack_id.asc()).load(conn)?)
}

pub fn assets(conn: &mut DbConn) -> AppResult<Vec<AssetRow>> {
    Ok(attack_assets::table.select(AssetRow::as_select()).order(attack_assets::attack_id.asc()).load(conn)?)
}

pub fn tactics(conn: &mut DbConn) -> AppResult<Vec<TacticRow>> {
    Ok(attack_tactics::table.select(TacticRow::as_select()).order(attack_tactics::attack_id.asc()).load(conn)?)
}

pub fn mitigations(conn: &mut DbConn) -> AppResult<Vec<MitigationRow>> {
    Ok(attack_mitigations::table
        .select(MitigationRow::as_select())
        .order(attack_mitigations::attack_id.asc())
        .load(conn)?)
}

pub fn relations(conn: &mut DbConn, kind: Option<&str>, source: Option<&str>) -> AppResult<Vec<RelationRow>> {
    let mut q = attack_relations::table.select(RelationRow::as_select()).into_boxed();
    if let Some(k) = kind {
        q = q.filter(attack_relations::kind.eq(k.to_string()));
    }
    if let Some(s) = source {
        q = q.filter(attack_relations::source_id.eq(s.to_string()));
    }
    Ok(q.order((attack_relations::kind.asc(), attack_relations::source_id.asc(), attack_relations::target_id.asc()))
        .load(conn)?)
}
