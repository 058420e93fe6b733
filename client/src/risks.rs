//! The risk register (handbook 5.1–5.2, 6.3): risks analysed by either method on the
//! shared matrix, with inherent, current and target ratings, the ATT&CK techniques,
//! CVEs and supplier dependencies a scenario assumes (what reassessment flags are
//! matched on), treatment and controls. Every change of a risk is a new revision; the
//! revisions are kept.

use crate::bail;
use crate::error::{Context as _, Result};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use serde::{Deserialize, Serialize};

use crate::matrix::{Factors, Matrix, Rated, MAX_REVIEW_DAYS};
use crate::register;
use crate::tables::{risk_links, risk_revisions, risks};

/// Settings key of the next risk number.
const NEXT_RISK: &str = "next_risk_number";

pub const METHODS: [&str; 2] = ["asset", "business_damage"];
pub const TREATMENTS: [&str; 5] = ["open", "mitigate", "accept", "avoid", "transfer"];

/// A supplier a risk depends on: the hub registry's supplier (and offering) id, and
/// how much the member depends on it (1 little … 4 entirely).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    pub supplier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offering: Option<String>,
    #[serde(default = "default_dependency")]
    pub dependency: u8,
}

fn default_dependency() -> u8 {
    2
}

/// Factors as given: the impact may be left out of an asset-based rating, which then
/// takes the highest criticality of the risk's assets (the asset's importance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorsInput {
    #[serde(default)]
    pub impact: Option<usize>,
    pub threat: usize,
    pub vulnerability: usize,
}

impl std::str::FromStr for FactorsInput {
    type Err = String;
    /// `IMPACT,THREAT,VULNERABILITY` or `THREAT,VULNERABILITY`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let parts: Vec<usize> =
            s.split(',').map(|p| p.trim().parse::<usize>()).collect::<std::result::Result<_, _>>().map_err(|_| {
                format!("{s:?}: expected IMPACT,THREAT,VULNERABILITY or THREAT,VULNERABILITY (numbers)")
            })?;
        match parts[..] {
            [impact, threat, vulnerability] => Ok(FactorsInput { impact: Some(impact), threat, vulnerability }),
            [threat, vulnerability] => Ok(FactorsInput { impact: None, threat, vulnerability }),
            _ => Err(format!("{s:?}: expected two or three numbers")),
        }
    }
}

/// A risk as a user writes it (command-line options or a JSON file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskInput {
    pub title: String,
    pub description: String,
    /// `asset` or `business_damage`.
    pub method: String,
    pub assets: Vec<String>,
    pub services: Vec<String>,
    pub techniques: Vec<String>,
    pub cves: Vec<String>,
    pub suppliers: Vec<Dependency>,
    pub inherent: Option<FactorsInput>,
    pub current: Option<FactorsInput>,
    pub target: Option<FactorsInput>,
    pub treatment: String,
    pub approver: Option<String>,
    /// YYYY-MM-DD: when an acceptance lapses.
    pub accepted_until: Option<String>,
    pub controls: Vec<String>,
    pub owner: Option<String>,
    /// Overrides the review interval of the risk's level.
    pub review_days: Option<i64>,
    /// NIST CSF 2.0 references (`ID.RA-05`, `GV.SC`).
    pub csf: Vec<String>,
}

/// A risk as stored: checked, rated on the matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Risk {
    pub id: String,
    pub revision: i32,
    pub title: String,
    pub description: String,
    pub method: String,
    pub assets: Vec<String>,
    pub services: Vec<String>,
    pub techniques: Vec<String>,
    pub cves: Vec<String>,
    pub suppliers: Vec<Dependency>,
    pub inherent: Option<Rated>,
    pub current: Option<Rated>,
    pub target: Option<Rated>,
    pub treatment: String,
    pub approver: Option<String>,
    pub accepted_until: Option<NaiveDate>,
    pub controls: Vec<String>,
    pub owner: Option<String>,
    pub review_days: Option<i64>,
    pub csf: Vec<String>,
    pub matrix_version: i64,
    pub last_reviewed_at: DateTime<Utc>,
}

impl Risk {
    /// The rating that counts now: the current one, else the inherent one.
    pub fn effective(&self) -> Option<&Rated> {
        self.current.as_ref().or(self.inherent.as_ref())
    }

    /// When the risk is next due for review: its last review plus the interval of its
    /// level (or its own interval); an unrated risk gets the shortest interval.
    pub fn next_review(&self, matrix: &Matrix) -> DateTime<Utc> {
        let days = self
            .review_days
            .or_else(|| self.effective().and_then(|r| matrix.levels.get(r.level)).map(|l| l.review_days))
            .or_else(|| matrix.levels.iter().map(|l| l.review_days).min())
            .unwrap_or(0);
        // Checked: a risk stored before intervals were bounded may hold a huge one.
        chrono::TimeDelta::try_days(days)
            .and_then(|d| self.last_reviewed_at.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    fn input(&self) -> RiskInput {
        let factors = |r: &Option<Rated>| {
            r.as_ref().map(|r| FactorsInput {
                impact: Some(r.factors.impact),
                threat: r.factors.threat,
                vulnerability: r.factors.vulnerability,
            })
        };
        RiskInput {
            title: self.title.clone(),
            description: self.description.clone(),
            method: self.method.clone(),
            assets: self.assets.clone(),
            services: self.services.clone(),
            techniques: self.techniques.clone(),
            cves: self.cves.clone(),
            suppliers: self.suppliers.clone(),
            inherent: factors(&self.inherent),
            current: factors(&self.current),
            target: factors(&self.target),
            treatment: self.treatment.clone(),
            approver: self.approver.clone(),
            accepted_until: self.accepted_until.map(|d| d.to_string()),
            controls: self.controls.clone(),
            owner: self.owner.clone(),
            review_days: self.review_days,
            csf: self.csf.clone(),
        }
    }
}

fn trimmed(list: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = list.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    out.sort();
    out.dedup();
    out
}

/// Checks a risk and rates it; every problem is listed (English and Japanese).
fn checked(conn: &mut SqliteConnection, input: RiskInput, matrix: &Matrix) -> Result<Risk> {
    let mut problems: Vec<String> = Vec::new();
    let title = input.title.trim().to_string();
    if title.is_empty() {
        problems.push("the title is empty / 件名が空です".into());
    }
    let method = input.method.trim().replace('-', "_");
    if !METHODS.contains(&method.as_str()) {
        problems.push(format!(
            "method {:?}: expected asset or business_damage / 分析手法「{}」は使えません(asset または business_damage)",
            input.method, input.method
        ));
    }
    let assets = trimmed(input.assets);
    let services = trimmed(input.services);
    if method == "asset" && assets.is_empty() {
        problems
            .push("an asset-based risk names at least one asset / 資産ベースのリスクには資産を指定してください".into());
    }
    if method == "business_damage" && services.is_empty() {
        problems.push(
            "a business-damage-based risk names at least one service / 事業被害ベースのリスクにはサービスを指定してください"
                .into(),
        );
    }
    let criticalities = crate::assets::criticalities(conn, &assets)?;
    for a in assets.iter().filter(|a| !criticalities.contains_key(*a)) {
        problems.push(format!("no asset {a:?} in the register / 資産「{a}」は登録されていません"));
    }
    for s in crate::services::unknown(conn, &services)? {
        problems.push(format!("no service {s:?} in the register / サービス「{s}」は登録されていません"));
    }
    let mut techniques = Vec::new();
    for t in &input.techniques {
        match renkei_schema::model::attack_id::validate_technique_id(t) {
            Ok(id) => techniques.push(id),
            Err(e) => problems.push(format!("technique {t:?}: {} / {}", e.reason, e.reason_ja)),
        }
    }
    let mut cves = Vec::new();
    for c in &input.cves {
        match renkei_schema::model::vuln::validate_cve_id(c) {
            Ok(id) => cves.push(id),
            Err(e) => problems.push(format!("CVE {c:?}: {} / {}", e.reason, e.reason_ja)),
        }
    }
    for d in &input.suppliers {
        if !d.supplier.starts_with("supplier--") {
            problems.push(format!(
                "{:?} is not a hub supplier id / 「{}」はサプライヤーIDではありません",
                d.supplier, d.supplier
            ));
        }
        if d.offering.as_ref().is_some_and(|o| !o.starts_with("offering--")) {
            problems.push("an offering id starts with offering-- / 提供物IDは offering-- で始まります".into());
        }
        if !(1..=4).contains(&d.dependency) {
            problems.push("dependency must be 1 to 4 / 依存度は1〜4です".into());
        }
    }
    let asset_importance = assets.iter().filter_map(|a| criticalities.get(a)).copied().max();
    let mut rate = |what: &str, f: Option<FactorsInput>| -> Option<Rated> {
        let f = f?;
        let impact = match (f.impact, method.as_str()) {
            (Some(i), _) => i,
            (None, "asset") => asset_importance.unwrap_or(0),
            (None, _) => {
                problems.push(format!(
                    "{what}: a business-damage rating gives the damage size (IMPACT,THREAT,VULNERABILITY) / {what}: 被害の大きさを指定してください"
                ));
                return None;
            }
        };
        match matrix.rate(Factors { impact, threat: f.threat, vulnerability: f.vulnerability }) {
            Ok(r) => Some(r),
            Err(e) => {
                problems.push(format!("{what}: {e}"));
                None
            }
        }
    };
    let inherent = rate("inherent", input.inherent);
    let current = rate("current", input.current);
    let target = rate("target", input.target);
    let treatment =
        if input.treatment.trim().is_empty() { "open".to_string() } else { input.treatment.trim().to_lowercase() };
    if !TREATMENTS.contains(&treatment.as_str()) {
        problems.push(format!(
            "treatment {treatment:?}: expected one of {} / 対応方針「{treatment}」は使えません",
            TREATMENTS.join(", ")
        ));
    }
    let accepted_until = match input.accepted_until.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                problems.push(format!(
                    "accepted_until {d:?} is not YYYY-MM-DD / 受容期限「{d}」はYYYY-MM-DD形式ではありません"
                ));
                None
            }
        },
    };
    let approver = input.approver.map(|a| a.trim().to_string()).filter(|a| !a.is_empty());
    if treatment == "accept" && (approver.is_none() || accepted_until.is_none()) {
        problems.push(
            "an accepted risk needs an approver and an expiry (accepted_until) / リスク受容には承認者と期限が必要です"
                .into(),
        );
    }
    let controls = trimmed(input.controls);
    // A residual level below the current one must be earned by a control.
    if let (Some(c), Some(t)) = (&current, &target) {
        if t.level < c.level && controls.is_empty() && treatment != "avoid" && treatment != "transfer" {
            problems.push(
                "the target is below the current level but no control is named / 目標レベルを下げるには管理策を指定してください"
                    .into(),
            );
        }
    }
    if input.review_days.is_some_and(|d| !(1..=MAX_REVIEW_DAYS).contains(&d)) {
        problems.push(format!(
            "review_days must be 1 to {MAX_REVIEW_DAYS} days / 見直し間隔は1〜{MAX_REVIEW_DAYS}日で指定してください"
        ));
    }
    let mut csf = Vec::new();
    for c in trimmed(input.csf) {
        match crate::csf::area(&c) {
            Ok(_) => csf.push(c.to_uppercase()),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(Risk {
        id: String::new(),
        revision: 0,
        title,
        description: input.description.trim().to_string(),
        method,
        assets,
        services,
        techniques: trimmed(techniques),
        cves: trimmed(cves),
        suppliers: input.suppliers,
        inherent,
        current,
        target,
        treatment,
        approver,
        accepted_until,
        controls,
        owner: input.owner.map(|o| o.trim().to_string()).filter(|o| !o.is_empty()),
        review_days: input.review_days,
        csf,
        matrix_version: matrix.version,
        last_reviewed_at: Utc::now(),
    })
}

/// What a risk is matched on, for `risk_links`.
fn links(risk: &Risk) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    out.extend(risk.techniques.iter().map(|t| ("technique", t.clone())));
    out.extend(risk.cves.iter().map(|c| ("cve", c.clone())));
    out.extend(risk.assets.iter().map(|a| ("asset", a.clone())));
    out.extend(risk.services.iter().map(|s| ("service", s.clone())));
    for d in &risk.suppliers {
        out.push(("supplier", d.supplier.clone()));
        if let Some(o) = &d.offering {
            out.push(("offering", o.clone()));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Writes a revision: the risk row, the revision kept, the links.
fn write(conn: &mut SqliteConnection, risk: &Risk, note: &str) -> Result<()> {
    let body = serde_json::to_string(risk)?;
    let rated = risk.effective();
    diesel::replace_into(risks::table)
        .values((
            risks::id.eq(&risk.id),
            risks::revision.eq(risk.revision),
            risks::title.eq(&risk.title),
            risks::level.eq(rated.map_or(-1, |r| r.level as i32)),
            risks::score.eq(rated.map_or(0, |r| r.value as i32)),
            risks::matrix_version.eq(risk.matrix_version),
            risks::last_reviewed_at.eq(risk.last_reviewed_at.to_rfc3339()),
            risks::body.eq(&body),
        ))
        .execute(conn)?;
    diesel::insert_into(risk_revisions::table)
        .values((
            risk_revisions::risk_id.eq(&risk.id),
            risk_revisions::revision.eq(risk.revision),
            risk_revisions::at.eq(Utc::now().to_rfc3339()),
            risk_revisions::note.eq(note),
            risk_revisions::body.eq(&body),
        ))
        .execute(conn)?;
    diesel::delete(risk_links::table.filter(risk_links::risk_id.eq(&risk.id))).execute(conn)?;
    let rows: Vec<_> = links(risk)
        .into_iter()
        .map(|(k, v)| (risk_links::risk_id.eq(&risk.id), risk_links::kind.eq(k), risk_links::value.eq(v)))
        .collect();
    for chunk in rows.chunks(300) {
        diesel::insert_into(risk_links::table).values(chunk).execute(conn)?;
    }
    Ok(())
}

/// Adds a risk (revision 1) in one transaction; returns its id (`R-0001`…).
pub fn add(conn: &mut SqliteConnection, input: RiskInput) -> Result<String> {
    conn.transaction(|c| {
        let matrix = crate::matrix::current(c)?;
        let mut risk = checked(c, input, &matrix)?;
        let number: u64 = register::get(c, NEXT_RISK)?.and_then(|n| n.parse().ok()).unwrap_or(1);
        register::set(c, NEXT_RISK, &(number + 1).to_string())?;
        risk.id = format!("R-{number:04}");
        risk.revision = 1;
        write(c, &risk, "created")?;
        Ok(risk.id)
    })
}

/// A re-assessment: what changes (unset fields keep their value) and why.
#[derive(Debug, Clone, Default)]
pub struct Assessment {
    pub inherent: Option<FactorsInput>,
    pub current: Option<FactorsInput>,
    pub target: Option<FactorsInput>,
    pub treatment: Option<String>,
    pub approver: Option<String>,
    pub accepted_until: Option<String>,
    /// Replaces the controls when given.
    pub controls: Option<Vec<String>>,
    pub techniques_added: Vec<String>,
    pub cves_added: Vec<String>,
    pub note: String,
}

/// Re-assesses a risk: a new revision, rated on the matrix now in force (which also
/// counts as a review). Returns the new revision. Resolving the risk's open flags with
/// it is reassessment's part (`flags::assess_risk` does both in one transaction).
pub fn revise(conn: &mut SqliteConnection, id: &str, change: Assessment) -> Result<i32> {
    if change.note.trim().is_empty() {
        bail!("say what the assessment found (--note) / 評価の所見(--note)を記入してください");
    }
    conn.transaction(|c| {
        let old = get(c, id)?;
        let matrix = crate::matrix::current(c)?;
        let mut input = old.input();
        input.inherent = change.inherent.or(input.inherent);
        input.current = change.current.or(input.current);
        input.target = change.target.or(input.target);
        if let Some(t) = change.treatment {
            input.treatment = t;
        }
        input.approver = change.approver.or(input.approver);
        input.accepted_until = change.accepted_until.or(input.accepted_until);
        if let Some(controls) = change.controls {
            input.controls = controls;
        }
        input.techniques.extend(change.techniques_added);
        input.cves.extend(change.cves_added);
        let mut risk = checked(c, input, &matrix)?;
        risk.id = old.id.clone();
        risk.revision = old.revision + 1;
        write(c, &risk, change.note.trim())?;
        Ok(risk.revision)
    })
}

pub fn get(conn: &mut SqliteConnection, id: &str) -> Result<Risk> {
    let body: Option<String> = risks::table.find(id).select(risks::body).first(conn).optional()?;
    let body = body.with_context(|| format!("no risk {id} / リスク {id} はありません"))?;
    Ok(serde_json::from_str(&body)?)
}

/// Every risk, the highest level and value first.
pub fn list(conn: &mut SqliteConnection) -> Result<Vec<Risk>> {
    let bodies: Vec<String> = risks::table
        .order((risks::level.desc(), risks::score.desc(), risks::id.asc()))
        .select(risks::body)
        .load(conn)?;
    bodies.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
}

/// Every revision of a risk: (revision, at, note).
pub fn revisions(conn: &mut SqliteConnection, id: &str) -> Result<Vec<(i32, String, String)>> {
    Ok(risk_revisions::table
        .filter(risk_revisions::risk_id.eq(id))
        .order(risk_revisions::revision.asc())
        .select((risk_revisions::revision, risk_revisions::at, risk_revisions::note))
        .load(conn)?)
}

/// The CSF references of every risk not closed (one entry per risk and reference).
pub fn csf_citations(conn: &mut SqliteConnection) -> Result<Vec<String>> {
    Ok(list(conn)?.into_iter().flat_map(|r| r.csf).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn risk(review_days: Option<i64>) -> Risk {
        Risk {
            id: "R-0001".into(),
            revision: 1,
            title: "t".into(),
            description: String::new(),
            method: "asset".into(),
            assets: vec![],
            services: vec![],
            techniques: vec![],
            cves: vec![],
            suppliers: vec![],
            inherent: None,
            current: None,
            target: None,
            treatment: "open".into(),
            approver: None,
            accepted_until: None,
            controls: vec![],
            owner: None,
            review_days,
            csf: vec![],
            matrix_version: 1,
            last_reviewed_at: DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").expect("time").with_timezone(&Utc),
        }
    }

    /// `--review-days 99999999999` was accepted and `next_review` then panicked in chrono.
    #[test]
    fn review_days_are_bounded_and_next_review_never_panics() {
        let mut conn = register::open(std::path::Path::new(":memory:")).expect("register");
        let matrix = Matrix::default();
        for days in [0, -3, MAX_REVIEW_DAYS + 1, 99_999_999_999, i64::MAX] {
            let input = RiskInput { title: "t".into(), review_days: Some(days), ..Default::default() };
            let err = checked(&mut conn, input, &matrix).expect_err("refused").to_string();
            assert!(err.contains(&format!("review_days must be 1 to {MAX_REVIEW_DAYS}")), "{days}: {err}");
        }
        let r = risk(Some(90));
        assert_eq!(r.next_review(&matrix), r.last_reviewed_at + chrono::TimeDelta::days(90));
        // A row stored before the bound: the furthest date chrono has, not a panic.
        for days in [99_999_999_999, i64::MAX] {
            assert_eq!(risk(Some(days)).next_review(&matrix), DateTime::<Utc>::MAX_UTC);
        }
    }
}
