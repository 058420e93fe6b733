//! The profile (handbook 4.2 and 6.1): the current and the target tier (1 partial,
//! 2 risk-informed, 3 repeatable, 4 adaptive) per function, category or subcategory of
//! NIST CSF 2.0, or per control of any catalog loaded (`catalogs`), with its evidence,
//! owner, the member's motive and the cost of closing the gap; the profile read in
//! another framework through the catalogs' mappings; and the gap analysis of 6.2,
//! ordered by motive, then cost-effectiveness (the gap's width times the weight of the
//! risks citing the area, over its cost), each part of the score shown.

use std::collections::{BTreeMap, HashMap};

use crate::bail;
use crate::error::Result;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use serde::{Deserialize, Serialize};

use crate::catalogs::{self, Index, CSF};
use crate::tables::profile_entries;

/// The cost levels of closing a gap and the factor each divides the score by.
pub const COSTS: [(&str, f64); 3] = [("low", 1.0), ("medium", 2.0), ("high", 3.0)];

/// A profile entry as a member gives it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EntryInput {
    /// The catalog (default `nist-csf-2.0`).
    pub framework: Option<String>,
    /// Any function, category, subcategory or control label of that catalog.
    pub label: String,
    pub current: i32,
    pub target: i32,
    /// The member's motive for closing the gap: 1 (high) to 3 (low); default 2.
    pub priority: Option<i32>,
    /// Why (a regulation, an incident, a customer's demand…).
    pub motive: String,
    pub evidence: String,
    pub owner: Option<String>,
    /// low, medium or high (default medium) …
    pub cost: Option<String>,
    /// … or an estimate in the member's own unit (money, person-days).
    pub cost_estimate: Option<f64>,
    pub note: String,
}

/// A profile entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub framework: String,
    pub label: String,
    pub kind: String,
    pub name: String,
    pub current: i32,
    pub target: i32,
    pub priority: i32,
    pub motive: String,
    pub evidence: String,
    pub owner: Option<String>,
    pub cost: String,
    pub cost_estimate: Option<f64>,
    pub note: String,
    pub updated_at: String,
}

/// Sets a CSF function's or category's tiers (a subcategory is read as its category),
/// as the profile did before it was kept per subcategory; `profile set` uses [`put`].
pub fn set(
    conn: &mut SqliteConnection,
    raw_area: &str,
    current: i32,
    target: i32,
    priority: i32,
    note: &str,
) -> Result<()> {
    let area = crate::csf::area(raw_area)?;
    put(
        conn,
        EntryInput {
            label: area.into(),
            current,
            target,
            priority: Some(priority),
            note: note.into(),
            ..Default::default()
        },
    )?;
    Ok(())
}

/// The display name of a control: English and Japanese (CSF functions and categories
/// fall back on `csf`'s Japanese names when the catalog has none).
fn display_name(framework: &str, control: &catalogs::Control) -> String {
    if control.title_ja.is_none() && framework == CSF {
        let known = crate::csf::area_name(&control.label);
        if !known.is_empty() {
            return known;
        }
    }
    control.name()
}

/// Sets the tiers of a control of a loaded catalog; every problem is named at once.
pub fn put(conn: &mut SqliteConnection, input: EntryInput) -> Result<Entry> {
    let framework = input.framework.as_deref().map(|f| f.trim().to_lowercase()).unwrap_or_else(|| CSF.into());
    let mut problems: Vec<String> = Vec::new();
    let index = match Index::load(conn, &framework) {
        Ok(i) => Some(i),
        Err(crate::error::Error::Invalid(m)) => {
            problems.push(m);
            None
        }
        Err(e) => return Err(e),
    };
    let control = index.as_ref().and_then(|i| match i.resolve(&input.label) {
        Ok(c) => Some(c.clone()),
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    });
    for (what, tier) in [("current", input.current), ("target", input.target)] {
        if !(1..=4).contains(&tier) {
            problems.push(format!("the {what} tier must be 1 to 4 / ティアは1〜4で指定してください({what})"));
        }
    }
    let priority = input.priority.unwrap_or(2);
    if !(1..=3).contains(&priority) {
        problems.push("priority must be 1 (high) to 3 (low) / 優先度は1(高)〜3(低)です".into());
    }
    let cost = input.cost.as_deref().map(|c| c.trim().to_lowercase());
    if let Some(c) = &cost {
        if !COSTS.iter().any(|(name, _)| name == c) {
            problems.push(format!(
                "cost {c:?}: expected low, medium or high / コスト「{c}」は low, medium, high のいずれかです"
            ));
        }
    }
    if let Some(e) = input.cost_estimate {
        if cost.is_some() {
            problems.push(
                "give a cost level or a cost estimate, not both / コストは水準か見積額のどちらか一方を指定してください"
                    .into(),
            );
        }
        if !e.is_finite() || e <= 0.0 {
            problems.push("a cost estimate is a positive number / コスト見積は正の数です".into());
        }
    }
    let (Some(control), true) = (control, problems.is_empty()) else {
        bail!("{}", problems.join("\n"));
    };
    let now = crate::register::stamp(chrono::Utc::now());
    let owner = input.owner.map(|o| o.trim().to_string()).filter(|o| !o.is_empty());
    let entry = Entry {
        name: display_name(&framework, &control),
        framework,
        label: control.label.clone(),
        kind: control.kind.clone(),
        current: input.current,
        target: input.target,
        priority,
        motive: input.motive.trim().to_string(),
        evidence: input.evidence.trim().to_string(),
        owner,
        cost: cost.unwrap_or_else(|| if input.cost_estimate.is_some() { "estimate".into() } else { "medium".into() }),
        cost_estimate: input.cost_estimate,
        note: input.note.trim().to_string(),
        updated_at: now,
    };
    crate::register::write_transaction(conn, |c| {
        diesel::replace_into(profile_entries::table)
            .values((
                profile_entries::framework.eq(&entry.framework),
                profile_entries::label.eq(&entry.label),
                profile_entries::current_tier.eq(entry.current),
                profile_entries::target_tier.eq(entry.target),
                profile_entries::priority.eq(entry.priority),
                profile_entries::motive.eq(&entry.motive),
                profile_entries::evidence.eq(&entry.evidence),
                profile_entries::owner.eq(&entry.owner),
                profile_entries::cost.eq(&entry.cost),
                profile_entries::cost_estimate.eq(entry.cost_estimate),
                profile_entries::note.eq(&entry.note),
                profile_entries::updated_at.eq(&entry.updated_at),
            ))
            .execute(c)?;
        Ok(())
    })?;
    Ok(entry)
}

type EntryRow = (String, String, i32, i32, i32, String, String, Option<String>, String, Option<f64>, String, String);

/// The profile's entries (of one framework, or all), in each catalog's order.
pub fn entries(conn: &mut SqliteConnection, framework: Option<&str>) -> Result<Vec<Entry>> {
    catalogs::ensure_builtin(conn)?;
    let mut query = profile_entries::table
        .select((
            profile_entries::framework,
            profile_entries::label,
            profile_entries::current_tier,
            profile_entries::target_tier,
            profile_entries::priority,
            profile_entries::motive,
            profile_entries::evidence,
            profile_entries::owner,
            profile_entries::cost,
            profile_entries::cost_estimate,
            profile_entries::note,
            profile_entries::updated_at,
        ))
        .into_boxed();
    if let Some(f) = framework {
        query = query.filter(profile_entries::framework.eq(f.trim().to_lowercase()));
    }
    let rows: Vec<EntryRow> = query.load(conn)?;
    let mut indexes: HashMap<String, Option<Index>> = HashMap::new();
    let mut out = Vec::new();
    for (fw, label, current, target, priority, motive, evidence, owner, cost, cost_estimate, note, updated_at) in rows {
        if !indexes.contains_key(&fw) {
            let index = Index::load(conn, &fw).ok();
            indexes.insert(fw.clone(), index);
        }
        let control = indexes.get(&fw).and_then(|i| i.as_ref()).and_then(|i| i.find(&label));
        let (kind, name, order) = match control {
            Some(c) => (c.kind.clone(), display_name(&fw, c), c.sort_order),
            // A label a newer catalog dropped: kept, shown as such.
            None => ("unknown".into(), "(not in the catalog held / 保持中のカタログにありません)".into(), i32::MAX),
        };
        out.push((
            (fw.clone(), order, label.clone()),
            Entry {
                framework: fw,
                label,
                kind,
                name,
                current,
                target,
                priority,
                motive,
                evidence,
                owner,
                cost,
                cost_estimate,
                note,
                updated_at,
            },
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out.into_iter().map(|(_, e)| e).collect())
}

/// One profile entry that counts for a control of the other framework: a mapped
/// control and the tiers that hold for it (its own entry, or its nearest parent's).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MappedTier {
    pub label: String,
    pub relationship: String,
    /// The label whose entry gave the tiers (the mapped label or a parent of it);
    /// `None` when neither is in the profile.
    pub assessed_at: Option<String>,
    pub current: Option<i32>,
    pub target: Option<i32>,
}

/// A control of the other framework with the profile read into it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reading {
    pub label: String,
    pub name: String,
    pub mapped: Vec<MappedTier>,
    pub current_min: Option<i32>,
    pub current_max: Option<i32>,
    pub target_min: Option<i32>,
    pub target_max: Option<i32>,
}

/// A profile kept in one framework read in another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrossReading {
    pub framework: String,
    #[serde(rename = "as")]
    pub as_framework: String,
    /// The other framework's controls that some mapping reaches, in its order.
    pub controls: Vec<Reading>,
    /// The other framework's controls no mapping reaches.
    pub unmapped: Vec<String>,
}

/// Reads the profile of `framework` as `other`: for each control of `other`, the
/// controls of `framework` mapped to it and their tiers, the lowest and highest.
pub fn read_as(conn: &mut SqliteConnection, framework: &str, other: &str) -> Result<CrossReading> {
    let from = Index::load(conn, framework)?;
    let to = Index::load(conn, other)?;
    if from.framework == to.framework {
        bail!("read the profile as another framework than its own / 別のフレームワークを指定してください");
    }
    let tiers: HashMap<String, (i32, i32)> = entries(conn, Some(&from.framework))?
        .into_iter()
        .map(|e| (e.label.to_uppercase(), (e.current, e.target)))
        .collect();
    let mut mapped_to: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (ours, theirs, relationship) in catalogs::pairs(conn, &from.framework, &to.framework)? {
        mapped_to.entry(theirs.to_uppercase()).or_default().push((ours, relationship));
    }
    let mut controls = Vec::new();
    let mut unmapped = Vec::new();
    for control in &to.controls {
        let Some(ours) = mapped_to.get(&control.label.to_uppercase()) else {
            unmapped.push(control.label.clone());
            continue;
        };
        let mapped: Vec<MappedTier> = ours
            .iter()
            .map(|(label, relationship)| {
                let assessed_at = std::iter::once(label.clone())
                    .chain(from.ancestors(label))
                    .find(|l| tiers.contains_key(&l.to_uppercase()));
                let tier = assessed_at.as_ref().and_then(|l| tiers.get(&l.to_uppercase()));
                MappedTier {
                    label: label.clone(),
                    relationship: relationship.clone(),
                    assessed_at,
                    current: tier.map(|t| t.0),
                    target: tier.map(|t| t.1),
                }
            })
            .collect();
        let currents: Vec<i32> = mapped.iter().filter_map(|m| m.current).collect();
        let targets: Vec<i32> = mapped.iter().filter_map(|m| m.target).collect();
        controls.push(Reading {
            label: control.label.clone(),
            name: control.name(),
            current_min: currents.iter().min().copied(),
            current_max: currents.iter().max().copied(),
            target_min: targets.iter().min().copied(),
            target_max: targets.iter().max().copied(),
            mapped,
        });
    }
    Ok(CrossReading { framework: from.framework.clone(), as_framework: to.framework.clone(), controls, unmapped })
}

/// A gap with the parts of its score (handbook 6.2: motive, risk, cost-effectiveness).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    pub framework: String,
    /// The label (a CSF function, category or subcategory, or a control).
    pub area: String,
    pub name: String,
    pub current: i32,
    pub target: i32,
    /// The member's motive: 1 (high) … 3 (low), ordered on first.
    pub priority: i32,
    pub motive: String,
    /// How many risks cite the area, a part of it or what it is part of.
    pub risks: usize,
    /// Those risks' ids.
    pub cited_by: Vec<String>,
    /// 1 + the sum over those risks of their level (1 for the lowest level; an
    /// unrated risk counts 1).
    pub risk_weight: f64,
    pub width: i32,
    /// low, medium, high or estimate.
    pub cost: String,
    pub cost_estimate: Option<f64>,
    /// What the score is divided by: 1, 2, 3 for a level; an estimate counts 2 times
    /// its ratio to the median estimate, so estimates and levels sit on one scale.
    pub cost_factor: f64,
    /// Cost-effectiveness: width × risk_weight ÷ cost_factor, ordered on second.
    pub score: f64,
    pub owner: Option<String>,
    pub evidence: String,
    pub note: String,
}

/// Whether two CSF labels are the same area or one is part of the other
/// (`GV` ⊃ `GV.SC` ⊃ `GV.SC-07`).
fn related(a: &str, b: &str) -> bool {
    let within =
        |x: &str, y: &str| x.len() > y.len() && x.starts_with(y) && matches!(x.as_bytes()[y.len()], b'.' | b'-');
    a == b || within(a, b) || within(b, a)
}

/// The areas below their target (every framework), the most urgent first.
pub fn gaps(conn: &mut SqliteConnection) -> Result<Vec<Gap>> {
    gaps_in(conn, None)
}

/// The areas below their target (of one framework, or all), ordered by the member's
/// motive (priority), then cost-effectiveness (width × risk weight ÷ cost), then the
/// risk weight, then the width. Risks cite CSF labels (`risk add --csf`); for another
/// framework's control, they count through the mappings from CSF to it or a part of it.
pub fn gaps_in(conn: &mut SqliteConnection, framework: Option<&str>) -> Result<Vec<Gap>> {
    let open: Vec<Entry> = entries(conn, framework)?.into_iter().filter(|e| e.target > e.current).collect();
    // (risk id, weight, its CSF references).
    let risks: Vec<(String, f64, Vec<String>)> = crate::risks::list(conn)?
        .into_iter()
        .filter(|r| !r.csf.is_empty())
        .map(|r| {
            let weight = r.effective().map_or(1.0, |x| x.level as f64 + 1.0);
            (r.id, weight, r.csf.iter().map(|c| c.to_uppercase()).collect())
        })
        .collect();
    let mut estimates: Vec<f64> = open.iter().filter_map(|e| e.cost_estimate).collect();
    estimates.sort_by(f64::total_cmp);
    let median = estimates.get(estimates.len() / 2).copied();
    // Per other framework: its label → the CSF labels mapped to it or to a part of it.
    let mut through: HashMap<String, HashMap<String, Vec<String>>> = HashMap::new();
    for fw in open.iter().map(|e| e.framework.clone()).filter(|f| f != CSF) {
        if through.contains_key(&fw) {
            continue;
        }
        let index = Index::load(conn, &fw).ok();
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (csf, theirs, _) in catalogs::pairs(conn, &fw, CSF)?.into_iter().map(|(t, c, r)| (c, t, r)) {
            let above = index.as_ref().map(|i| i.ancestors(&theirs)).unwrap_or_default();
            for label in std::iter::once(theirs).chain(above) {
                map.entry(label.to_uppercase()).or_default().push(csf.to_uppercase());
            }
        }
        through.insert(fw, map);
    }
    let mut gaps: Vec<Gap> = open
        .into_iter()
        .map(|e| {
            let label = e.label.to_uppercase();
            let csf_areas: Vec<String> = if e.framework == CSF {
                vec![label]
            } else {
                through.get(&e.framework).and_then(|m| m.get(&label)).cloned().unwrap_or_default()
            };
            let citing: Vec<&(String, f64, Vec<String>)> = risks
                .iter()
                .filter(|(_, _, refs)| refs.iter().any(|r| csf_areas.iter().any(|a| related(r, a))))
                .collect();
            let risk_weight = 1.0 + citing.iter().map(|(_, w, _)| w).sum::<f64>();
            let cost_factor = match (e.cost_estimate, median) {
                (Some(x), Some(m)) if m > 0.0 => 2.0 * x / m,
                _ => COSTS.iter().find(|(n, _)| *n == e.cost).map_or(2.0, |(_, f)| *f),
            };
            let width = e.target - e.current;
            Gap {
                score: f64::from(width) * risk_weight / cost_factor,
                risks: citing.len(),
                cited_by: citing.iter().map(|(id, _, _)| id.clone()).collect(),
                risk_weight,
                width,
                cost_factor,
                framework: e.framework,
                area: e.label,
                name: e.name,
                current: e.current,
                target: e.target,
                priority: e.priority,
                motive: e.motive,
                cost: e.cost,
                cost_estimate: e.cost_estimate,
                owner: e.owner,
                evidence: e.evidence,
                note: e.note,
            }
        })
        .collect();
    gaps.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then(b.score.total_cmp(&a.score))
            .then(b.risk_weight.total_cmp(&a.risk_weight))
            .then(b.width.cmp(&a.width))
            .then(a.framework.cmp(&b.framework))
            .then(a.area.cmp(&b.area))
    });
    Ok(gaps)
}

#[cfg(test)]
mod tests {
    use super::related;

    #[test]
    fn csf_areas_relate_along_the_tree_only() {
        assert!(related("GV.SC-07", "GV.SC") && related("GV", "GV.SC-07") && related("ID.RA", "ID.RA"));
        assert!(!related("GV.SC", "GV.OC") && !related("PR.AA-01", "PR.AA-1") && !related("ID", "IDX"));
    }
}
