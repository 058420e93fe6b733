//! The NIST CSF 2.0 profile (handbook 4.2 and 6.1): the current and the target tier
//! (1 partial, 2 risk-informed, 3 repeatable, 4 adaptive) per function or category, and
//! the gap analysis of 6.2 in priority order.

use anyhow::{bail, Result};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use serde::Serialize;

diesel::table! {
    profile (area) {
        area -> Text,
        current_tier -> Integer,
        target_tier -> Integer,
        priority -> Integer,
        note -> Text,
        updated_at -> Text,
    }
}

/// CSF 2.0 functions and their categories, with names in English and Japanese.
pub const CSF: [(&str, &str, &str); 28] = [
    ("GV", "Govern", "統治"),
    ("GV.OC", "Organizational Context", "組織の状況"),
    ("GV.RM", "Risk Management Strategy", "リスクマネジメント戦略"),
    ("GV.RR", "Roles, Responsibilities, and Authorities", "役割、責任、権限"),
    ("GV.PO", "Policy", "ポリシー"),
    ("GV.OV", "Oversight", "監督"),
    ("GV.SC", "Cybersecurity Supply Chain Risk Management", "サプライチェーンリスク管理"),
    ("ID", "Identify", "識別"),
    ("ID.AM", "Asset Management", "資産管理"),
    ("ID.RA", "Risk Assessment", "リスクアセスメント"),
    ("ID.IM", "Improvement", "改善"),
    ("PR", "Protect", "防御"),
    ("PR.AA", "Identity Management, Authentication, and Access Control", "ID管理、認証、アクセス制御"),
    ("PR.AT", "Awareness and Training", "意識向上とトレーニング"),
    ("PR.DS", "Data Security", "データセキュリティ"),
    ("PR.PS", "Platform Security", "プラットフォームセキュリティ"),
    ("PR.IR", "Technology Infrastructure Resilience", "技術インフラのレジリエンス"),
    ("DE", "Detect", "検知"),
    ("DE.CM", "Continuous Monitoring", "継続的モニタリング"),
    ("DE.AE", "Adverse Event Analysis", "有害事象の分析"),
    ("RS", "Respond", "対応"),
    ("RS.MA", "Incident Management", "インシデント管理"),
    ("RS.AN", "Incident Analysis", "インシデント分析"),
    ("RS.CO", "Incident Response Reporting and Communication", "インシデント対応の報告とコミュニケーション"),
    ("RS.MI", "Incident Mitigation", "インシデントの低減"),
    ("RC", "Recover", "復旧"),
    ("RC.RP", "Incident Recovery Plan Execution", "インシデント復旧計画の実行"),
    ("RC.CO", "Incident Recovery Communication", "インシデント復旧のコミュニケーション"),
];

/// The CSF function or category an id names (`ID.RA`, or a subcategory `ID.RA-05`
/// read as its category), canonical, or an error in both languages.
pub fn area(raw: &str) -> Result<&'static str> {
    let upper = raw.trim().to_uppercase();
    let category = upper.split('-').next().unwrap_or_default();
    match CSF.iter().find(|(id, _, _)| *id == category) {
        Some((id, _, _)) => Ok(id),
        None => bail!(
            "{raw:?} is not a NIST CSF 2.0 function or category (GV, ID.RA, PR.AA…) / 「{raw}」はCSF 2.0の機能・カテゴリではありません"
        ),
    }
}

pub fn area_name(id: &str) -> String {
    CSF.iter().find(|(a, _, _)| *a == id).map_or_else(String::new, |(_, en, ja)| format!("{en} / {ja}"))
}

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
