//! The NIST CSF 2.0 profile (handbook 4.2 and 6.1): the current and the target tier
//! (1 partial, 2 risk-informed, 3 repeatable, 4 adaptive) per function or category, and
//! the gap analysis of 6.2 in priority order.

use crate::bail;
use crate::error::Result;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use serde::Serialize;

use crate::csf::{area, area_name};
use crate::tables::profile;

/// Sets an area's current and target tiers. `priority` (1 high … 3 low) is the
/// member's motive for closing the gap (handbook 6.2: motive, risk, cost-effectiveness).
pub fn set(
    conn: &mut SqliteConnection,
    raw_area: &str,
    current: i32,
    target: i32,
    priority: i32,
    note: &str,
) -> Result<()> {
    let area = area(raw_area)?;
    for (what, tier) in [("current", current), ("target", target)] {
        if !(1..=4).contains(&tier) {
            bail!("the {what} tier must be 1 to 4 / ティアは1〜4で指定してください");
        }
    }
    if !(1..=3).contains(&priority) {
        bail!("priority must be 1 (high) to 3 (low) / 優先度は1(高)〜3(低)です");
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    diesel::replace_into(profile::table)
        .values((
            profile::area.eq(area),
            profile::current_tier.eq(current),
            profile::target_tier.eq(target),
            profile::priority.eq(priority),
            profile::note.eq(note),
            profile::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    pub area: String,
    pub name: String,
    pub current: i32,
    pub target: i32,
    pub priority: i32,
    /// Open risks that cite this area (their CSF references), at their highest level.
    pub risks: usize,
    pub note: String,
}

/// The areas below their target, the most urgent first: a higher priority, then a
/// wider gap, then more risks citing the area.
pub fn gaps(conn: &mut SqliteConnection) -> Result<Vec<Gap>> {
    let rows: Vec<(String, i32, i32, i32, String)> = profile::table
        .filter(profile::target_tier.gt(profile::current_tier))
        .select((profile::area, profile::current_tier, profile::target_tier, profile::priority, profile::note))
        .load(conn)?;
    let cited = crate::risks::csf_citations(conn)?;
    let mut gaps: Vec<Gap> = rows
        .into_iter()
        .map(|(area, current, target, priority, note)| Gap {
            name: area_name(&area),
            risks: cited.iter().filter(|c| *c == &area || c.starts_with(&format!("{area}."))).count(),
            area,
            current,
            target,
            priority,
            note,
        })
        .collect();
    gaps.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then((b.target - b.current).cmp(&(a.target - a.current)))
            .then(b.risks.cmp(&a.risks))
            .then(a.area.cmp(&b.area))
    });
    Ok(gaps)
}
