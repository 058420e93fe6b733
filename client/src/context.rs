//! What matching needs from the hub besides the change feed, refreshed at the start of
//! every sync: the ATT&CK for ICS `targets` relation from the hub's catalog (technique
//! → ICS asset type) and, for the suppliers the register depends on, their registry
//! entries and the subcontractors their offerings rely on (for fourth-party matching),
//! with the supplier of every offering the register names on its own.

use std::collections::BTreeSet;

use crate::error::{Context as _, Result};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use serde_json::json;

use crate::hub_api::HubApi;
use crate::tables::{attack_targets, offering_suppliers, supplier_chain, suppliers};

/// What a refresh found.
#[derive(Debug, Default, Clone)]
pub struct Refreshed {
    pub targets: usize,
    pub suppliers: usize,
    pub chain_links: usize,
}

/// The suppliers (`kind` "supplier") or offerings ("offering") named by the register's
/// assets and risks.
fn dependencies(conn: &mut SqliteConnection, kind: &str) -> Result<BTreeSet<String>> {
    use crate::tables::asset_links;
    use crate::tables::risk_links;
    let mut ids: BTreeSet<String> = asset_links::table
        .filter(asset_links::kind.eq(kind))
        .select(asset_links::value)
        .load(conn)?
        .into_iter()
        .collect();
    ids.extend(risk_links::table.filter(risk_links::kind.eq(kind)).select(risk_links::value).load::<String>(conn)?);
    Ok(ids)
}

/// Asks the hub which supplier offers each offering the register names, stores the
/// answers (replacing the last ones) and returns those suppliers. An offering the hub
/// does not show (unknown, or not approved) is left out.
fn resolve_offerings(conn: &mut SqliteConnection, api: &HubApi) -> Result<BTreeSet<String>> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for id in dependencies(conn, "offering")? {
        let data = api.query("query($id: ID!) { offering(id: $id) { id supplierId } }", json!({"id": id}))?;
        if let Some(supplier) = data["offering"]["supplierId"].as_str() {
            pairs.push((id, supplier.to_string()));
        }
    }
    conn.transaction(|c| -> Result<()> {
        diesel::delete(offering_suppliers::table).execute(c)?;
        for (offering, supplier) in &pairs {
            diesel::insert_into(offering_suppliers::table)
                .values((offering_suppliers::offering.eq(offering), offering_suppliers::supplier.eq(supplier)))
                .execute(c)?;
        }
        Ok(())
    })?;
    Ok(pairs.into_iter().map(|(_, supplier)| supplier).collect())
}

/// Replaces the stored `targets` relation with the catalog's.
pub fn store_targets(conn: &mut SqliteConnection, pairs: &[(String, String)]) -> Result<()> {
    conn.transaction(|c| -> Result<()> {
        diesel::delete(attack_targets::table).execute(c)?;
        let rows: Vec<_> =
            pairs.iter().map(|(t, a)| (attack_targets::technique.eq(t), attack_targets::asset_type.eq(a))).collect();
        for chunk in rows.chunks(400) {
            diesel::insert_or_ignore_into(attack_targets::table).values(chunk).execute(c)?;
        }
        Ok(())
    })
}

/// Refreshes the catalog relation and the supplier chain from the hub.
pub fn refresh(conn: &mut SqliteConnection, api: &HubApi) -> Result<Refreshed> {
    let mut out = Refreshed::default();
    let data = api.query("{ attack { relations(kind: \"targets\") { sourceId targetId } } }", json!({}))?;
    let pairs: Vec<(String, String)> = data["attack"]["relations"]
        .as_array()
        .context("the hub sent no catalog relations")?
        .iter()
        .filter_map(|r| Some((r["sourceId"].as_str()?.to_string(), r["targetId"].as_str()?.to_string())))
        .collect();
    out.targets = pairs.len();
    store_targets(conn, &pairs)?;

    let now = crate::register::stamp(chrono::Utc::now());
    let mut wanted = dependencies(conn, "supplier")?;
    wanted.extend(resolve_offerings(conn, api)?);
    for id in wanted {
        let data = api.query(
            "query($id: ID!) { supplier(id: $id) { id legalName rating { score tier } offerings { id subcontractors } } }",
            json!({"id": id}),
        )?;
        let s = &data["supplier"];
        if s.is_null() {
            continue;
        }
        let mut chain: Vec<(String, String)> = Vec::new();
        for o in s["offerings"].as_array().into_iter().flatten() {
            let Some(offering) = o["id"].as_str() else { continue };
            for sub in o["subcontractors"].as_array().into_iter().flatten().filter_map(|v| v.as_str()) {
                // A subcontractor of an offering is also one of its supplier.
                chain.push((offering.to_string(), sub.to_string()));
                chain.push((id.clone(), sub.to_string()));
            }
        }
        chain.sort();
        chain.dedup();
        out.suppliers += 1;
        out.chain_links += chain.len();
        conn.transaction(|c| -> Result<()> {
            diesel::replace_into(suppliers::table)
                .values((
                    suppliers::id.eq(&id),
                    suppliers::name.eq(s["legalName"].as_str().unwrap_or_default()),
                    suppliers::score.eq(s["rating"]["score"].as_f64().map(|f| f.round() as i32)),
                    suppliers::tier.eq(s["rating"]["tier"].as_str()),
                    suppliers::fetched_at.eq(&now),
                ))
                .execute(c)?;
            let offerings: Vec<&str> = chain.iter().map(|(p, _)| p.as_str()).collect();
            diesel::delete(supplier_chain::table.filter(supplier_chain::parent.eq(&id))).execute(c)?;
            diesel::delete(supplier_chain::table.filter(supplier_chain::parent.eq_any(&offerings))).execute(c)?;
            for (parent, sub) in &chain {
                diesel::insert_or_ignore_into(supplier_chain::table)
                    .values((supplier_chain::parent.eq(parent), supplier_chain::subcontractor.eq(sub)))
                    .execute(c)?;
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// A rating event's current score and tier, kept for reports.
pub fn note_rating(conn: &mut SqliteConnection, supplier: &str, score: Option<i64>, tier: Option<&str>) -> Result<()> {
    diesel::update(suppliers::table.find(supplier))
        .set((suppliers::score.eq(score.map(|s| s as i32)), suppliers::tier.eq(tier)))
        .execute(conn)?;
    Ok(())
}

/// Offering → the supplier offering it, as the hub last said.
pub fn offering_suppliers(conn: &mut SqliteConnection) -> Result<std::collections::HashMap<String, String>> {
    Ok(offering_suppliers::table
        .select((offering_suppliers::offering, offering_suppliers::supplier))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// A supplier the register depends on, as last heard of.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct KnownSupplier {
    pub id: String,
    pub name: String,
    pub score: Option<i32>,
    pub tier: Option<String>,
}

/// Every supplier known to the register, by name.
pub fn known_suppliers(conn: &mut SqliteConnection) -> Result<Vec<KnownSupplier>> {
    Ok(suppliers::table
        .order(suppliers::name.asc())
        .select((suppliers::id, suppliers::name, suppliers::score, suppliers::tier))
        .load(conn)?)
}
