//! Reports fitted to each stakeholder (handbook 10.2; 8.4: business terms for
//! management), every heading and label in English and Japanese.
//!
//! A report is data: [`Report`] is a list of [`Section`]s (a title in English and
//! Japanese), each a list of [`Block`]s (a paragraph, key figures, a table, a chart from
//! [`crate::charts`]). Section builders ([`Builder`]) read the register and make one
//! section each; [`builders`] lists them per [`Audience`]. One renderer per [`Format`]
//! turns any report into Markdown, HTML or PDF, so a new part of the register (attack
//! trees, appetite, readiness, treatment plans, catalog gaps) adds a builder to the
//! audiences' lists and never touches a renderer.
//!
//! - management: key figures, risk appetite and tolerance per business service (first:
//!   is it within appetite?), the top risks by the business service they would hurt, the
//!   business damages analysed with attack trees, the treatment plan in brief, the heat
//!   map and the trend of risk levels by month;
//! - operations: open flags with their evidence, open attack-tree flags with their
//!   paths, the treatment plan action by action, every risk with its next review, the
//!   readiness reviews due, the heat map, the prioritised CSF gaps with their score's
//!   parts, supplier dependencies, flags raised and resolved by week;
//! - regulator: the profile by function and by subcategory, the catalogs loaded with
//!   their licence, readiness against the seven traits, the register's coverage, reviews
//!   done and overdue, treatment actions overdue, flags raised against resolved.
//!
//! A section whose part of the register is empty stays, with one line saying so.
//!
//! Charts: inline `<svg>` in HTML; in Markdown, SVG files written beside the report
//! (`NAME-chart-N.svg`, linked as images) when it goes to a file, inline `<svg>` (raw
//! HTML, which Markdown allows) when it goes to standard output; in PDF, vector paths.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

use crate::charts::{self, Chart, Series};
use crate::error::Result;
use crate::flags::Flag;
use crate::matrix::Matrix;
use crate::risks::Risk;
use crate::{bail, pdf};

/// Who the report is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Management,
    Operations,
    Regulator,
}

impl Audience {
    pub const ALL: [Audience; 3] = [Audience::Management, Audience::Operations, Audience::Regulator];

    pub fn parse(s: &str) -> Result<Audience> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "management" => Audience::Management,
            "operations" => Audience::Operations,
            "regulator" => Audience::Regulator,
            other => bail!(
                "audience {other:?}: use management, operations or regulator / 対象「{other}」は使えません(management、operations、regulator のいずれか)"
            ),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Management => "management",
            Audience::Operations => "operations",
            Audience::Regulator => "regulator",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Audience::Management => "for management / 経営層向け",
            Audience::Operations => "for operations / 運用担当者向け",
            Audience::Regulator => "for the regulator / 規制当局向け",
        }
    }
}

/// How the report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Html,
    Pdf,
}

impl Format {
    /// `markdown` (or `md`, the name before issue 21), `html` or `pdf`.
    pub fn parse(s: &str) -> Result<Format> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "markdown" | "md" => Format::Markdown,
            "html" => Format::Html,
            "pdf" => Format::Pdf,
            other => bail!(
                "report format {other:?}: use markdown (md), html or pdf / 形式「{other}」は使えません(markdown(md)、html、pdf のいずれか)"
            ),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub audience: Audience,
    /// In English and Japanese.
    pub title: String,
    /// When it was made (UTC, to the minute).
    pub generated: String,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub title_en: String,
    pub title_ja: String,
    pub blocks: Vec<Block>,
}

impl Section {
    pub fn new(title_en: &str, title_ja: &str) -> Section {
        Section { title_en: title_en.into(), title_ja: title_ja.into(), blocks: Vec::new() }
    }

    pub fn heading(&self) -> String {
        format!("{} / {}", self.title_en, self.title_ja)
    }

    fn push(mut self, block: Block) -> Section {
        self.blocks.push(block);
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Paragraph(String),
    /// Key figures: (label, value).
    Figures(Vec<(String, String)>),
    Table(Table),
    Chart(Chart),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub headings: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    fn block(headings: &[&str], rows: Vec<Vec<String>>) -> Block {
        Block::Table(Table { headings: headings.iter().map(|h| h.to_string()).collect(), rows })
    }
}

fn figure(label: &str, value: impl ToString) -> (String, String) {
    (label.to_string(), value.to_string())
}

/// What the builders read, loaded once per report.
pub struct Facts {
    pub now: DateTime<Utc>,
    pub matrix: Matrix,
    /// Highest level first.
    pub risks: Vec<Risk>,
    /// Every flag, whatever its status.
    pub flags: Vec<Flag>,
    pub services: Vec<crate::services::Service>,
    /// Asset name -> the services it serves.
    pub asset_services: HashMap<String, Vec<String>>,
    pub asset_count: usize,
}

impl Facts {
    pub fn load(conn: &mut SqliteConnection, now: DateTime<Utc>) -> Result<Facts> {
        let asset_services: HashMap<String, Vec<String>> = crate::tables::assets::table
            .select((crate::tables::assets::name, crate::tables::assets::services))
            .load::<(String, String)>(conn)?
            .into_iter()
            .map(|(name, services)| (name, serde_json::from_str(&services).unwrap_or_default()))
            .collect();
        Ok(Facts {
            now,
            matrix: crate::matrix::current(conn)?,
            risks: crate::risks::list(conn)?,
            flags: crate::flags::list(conn, "all")?,
            services: crate::services::list(conn)?,
            asset_count: asset_services.len(),
            asset_services,
        })
    }

    fn level_name(&self, risk: &Risk) -> String {
        risk.effective().map_or("unrated / 未評価".into(), |r| self.matrix.level_name(r.level))
    }

    /// The services a risk would hurt: named by it, or served by its assets.
    fn services_of(&self, risk: &Risk) -> Vec<String> {
        let mut names: Vec<String> = risk.services.clone();
        for asset in &risk.assets {
            for s in self.asset_services.get(asset).into_iter().flatten() {
                if !names.contains(s) {
                    names.push(s.clone());
                }
            }
        }
        names
    }

    fn open_flags(&self) -> impl Iterator<Item = &Flag> {
        self.flags.iter().filter(|f| f.status == "open")
    }

    fn overdue(&self) -> Vec<&Risk> {
        self.risks.iter().filter(|r| r.next_review(&self.matrix) < self.now).collect()
    }

    /// Risks at the matrix's two highest levels.
    fn high_risks(&self) -> usize {
        let high = self.matrix.levels.len().saturating_sub(2);
        self.risks.iter().filter(|r| r.effective().is_some_and(|x| x.level >= high)).count()
    }
}

/// Makes one section from the register (`None`: nothing to say for this register).
pub type Builder = fn(&mut SqliteConnection, &Facts) -> Result<Option<Section>>;

/// The sections of each audience's report, in order.
pub fn builders(audience: Audience) -> Vec<Builder> {
    match audience {
        Audience::Management => {
            vec![management_summary, appetite, top_risks_by_service, attack_trees, plan_brief, heat_map, trend]
        }
        Audience::Operations => vec![
            operations_summary,
            open_flags,
            tree_flags,
            treatment_plan,
            risks_to_review,
            readiness_due,
            heat_map,
            csf_gaps,
            suppliers,
            flag_activity,
        ],
        Audience::Regulator => vec![
            profile,
            profile_entries,
            catalogs_loaded,
            readiness_all,
            coverage,
            reviews,
            plan_overdue,
            flag_activity_outside,
        ],
    }
}

/// Builds the report for `audience` as of `now`.
pub fn build(conn: &mut SqliteConnection, audience: Audience, now: DateTime<Utc>) -> Result<Report> {
    let facts = Facts::load(conn, now)?;
    let mut sections = Vec::new();
    for builder in builders(audience) {
        if let Some(section) = builder(conn, &facts)? {
            sections.push(section);
        }
    }
    Ok(Report {
        audience,
        title: format!("Cyber risk report / サイバーリスク報告 ({})", audience.label()),
        generated: now.format("%Y-%m-%d %H:%M UTC").to_string(),
        sections,
    })
}

// ---- Management ----

fn management_summary(_: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    let top_level = f.risks.first().map_or("-".into(), |r| f.level_name(r));
    Ok(Some(Section::new("Summary", "概要").push(Block::Figures(vec![
        figure("Risks in the register / 登録リスク数", f.risks.len()),
        figure("High or above / 高以上のリスク", f.high_risks()),
        figure("Business services / 事業サービス数", f.services.len()),
        figure("Open reassessment flags / 未対応の再評価フラグ", f.open_flags().count()),
        figure("Reviews overdue / 見直し期限超過", f.overdue().len()),
        figure("Highest level / 最高レベル", top_level),
    ]))))
}

fn top_risks_by_service(_: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    // Service -> its risks, the worst first (risks are listed highest first).
    let mut by_service: BTreeMap<String, Vec<&Risk>> = BTreeMap::new();
    let mut unplaced = Vec::new();
    for risk in &f.risks {
        let services = f.services_of(risk);
        if services.is_empty() {
            unplaced.push(risk);
        }
        for s in services {
            by_service.entry(s).or_default().push(risk);
        }
    }
    let rank = |risks: &[&Risk]| risks.first().and_then(|r| r.effective()).map_or((0, 0), |x| (x.level + 1, x.value));
    let mut ordered: Vec<(String, Vec<&Risk>)> = by_service.into_iter().collect();
    ordered.sort_by(|a, b| rank(&b.1).cmp(&rank(&a.1)).then(b.1.len().cmp(&a.1.len())).then(a.0.cmp(&b.0)));
    let mission = |name: &str| {
        f.services.iter().find(|s| s.name == name).map_or("-".to_string(), |s| match s.mission.as_str() {
            "essential" => "essential / 必須".into(),
            "support" => "support / 支援".into(),
            "minimal" => "minimal / 最小限".into(),
            other => other.to_string(),
        })
    };
    let top = |risks: &[&Risk]| {
        risks
            .iter()
            .take(3)
            .map(|r| format!("{} {} ({})", r.id, r.title, f.level_name(r)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut rows: Vec<Vec<String>> = ordered
        .iter()
        .map(|(service, risks)| {
            vec![
                service.clone(),
                mission(service),
                risks.len().to_string(),
                risks.first().map_or("-".into(), |r| f.level_name(r)),
                top(risks),
            ]
        })
        .collect();
    if !unplaced.is_empty() {
        rows.push(vec![
            "(no service named) / (サービス未指定)".into(),
            "-".into(),
            unplaced.len().to_string(),
            f.level_name(unplaced[0]),
            top(&unplaced),
        ]);
    }
    let top_rows: Vec<Vec<String>> = f
        .risks
        .iter()
        .take(10)
        .map(|r| {
            vec![
                format!("{} {}", r.id, r.title),
                f.services_of(r).join(", "),
                f.level_name(r),
                treatment_label(&r.treatment),
                r.owner.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    Ok(Some(
        Section::new("Top risks by service damage", "事業サービスへの被害から見た主要リスク")
            .push(Block::Paragraph(
                "Each business service with the risks that would hurt it (named by the risk, or through the assets it rests on), the worst first. / \
                 事業サービスごとに、そのサービスに被害を及ぼしうるリスク(リスクが直接指定したもの、または資産を通じたもの)を深刻な順に示します。"
                    .into(),
            ))
            .push(Table::block(
                &[
                    "Service / サービス",
                    "Mission / 重要度",
                    "Risks / リスク数",
                    "Highest level / 最高レベル",
                    "Top risks / 主なリスク",
                ],
                rows,
            ))
            .push(Table::block(
                &["Risk / リスク", "Services hurt / 影響するサービス", "Level / レベル", "Treatment / 対応", "Owner / 責任者"],
                top_rows,
            )),
    ))
}

fn treatment_label(t: &str) -> String {
    match t {
        "mitigate" => "mitigate / 低減".into(),
        "accept" => "accept / 受容".into(),
        "avoid" => "avoid / 回避".into(),
        "transfer" => "transfer / 移転".into(),
        "open" => "open / 未決定".into(),
        other => other.to_string(),
    }
}

fn heat_map(_: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    let scale = f.matrix.scale;
    let mut counts = vec![vec![0usize; scale]; scale];
    let mut unrated = 0;
    for r in &f.risks {
        match r.effective() {
            Some(x)
                if x.likelihood >= 1 && x.likelihood <= scale && x.factors.impact >= 1 && x.factors.impact <= scale =>
            {
                counts[x.likelihood - 1][x.factors.impact - 1] += 1
            }
            _ => unrated += 1,
        }
    }
    let chart = charts::heat_map(
        "Risk heat map: risks per likelihood and impact / リスクヒートマップ(発生可能性×影響度ごとのリスク数)",
        "Impact / 影響度",
        "Likelihood / 発生可能性",
        &counts,
        &f.matrix.grid,
        f.matrix.levels.len(),
    );
    let levels: Vec<String> = f.matrix.levels.iter().map(|l| format!("{} / {}", l.name, l.name_ja)).collect();
    Ok(Some(Section::new("Risk heat map", "リスクヒートマップ").push(Block::Chart(chart)).push(Block::Paragraph(format!(
        "Matrix version {}; levels from green to red: {}. Unrated risks: {unrated}. / マトリクス版 {}。レベル(緑→赤): {}。未評価のリスク: {unrated}件。",
        f.matrix.version,
        levels.join(", "),
        f.matrix.version,
        levels.join("、")
    )))))
}

/// The first day of the month `back` months before `date`'s.
fn month_start(date: NaiveDate, back: u32) -> NaiveDate {
    let index = date.year() * 12 + date.month0() as i32 - back as i32;
    NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1).unwrap_or(date)
}

/// A revision's time and its level (`None`: unrated).
type LevelAt = (DateTime<Utc>, Option<usize>);

fn trend(conn: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    use crate::tables::risk_revisions;
    // Every revision's time and level, per risk, oldest first.
    let rows: Vec<(String, String, String)> = risk_revisions::table
        .order((risk_revisions::risk_id.asc(), risk_revisions::revision.asc()))
        .select((risk_revisions::risk_id, risk_revisions::at, risk_revisions::body))
        .load(conn)?;
    // Risk -> (when, the level then) for each revision.
    let mut history: HashMap<String, Vec<LevelAt>> = HashMap::new();
    for (risk, at, body) in rows {
        let Ok(at) = DateTime::parse_from_rfc3339(&at) else { continue };
        let level = serde_json::from_str::<Risk>(&body).ok().and_then(|r| r.effective().map(|x| x.level));
        history.entry(risk).or_default().push((at.with_timezone(&Utc), level));
    }
    let today = f.now.date_naive();
    let first = history.values().filter_map(|h| h.first()).map(|(at, _)| at.date_naive()).min().unwrap_or(today);
    // Up to twelve months, from the first revision's month to this one.
    let months: Vec<NaiveDate> =
        (0..12u32).rev().map(|back| month_start(today, back)).filter(|m| *m >= month_start(first, 0)).collect();
    let mut series: Vec<Series> = f
        .matrix
        .levels
        .iter()
        .map(|l| Series { name: format!("{} / {}", l.name, l.name_ja), values: vec![0.0; months.len()] })
        .collect();
    for (k, month) in months.iter().enumerate() {
        // The level each risk had at the end of the month (or now, for this month).
        let end = month_start(*month, 0).checked_add_months(chrono::Months::new(1)).unwrap_or(*month);
        let end = end.and_hms_opt(0, 0, 0).map_or(f.now, |d| d.and_utc()).min(f.now + Duration::seconds(1));
        for revisions in history.values() {
            if let Some((_, Some(level))) = revisions.iter().rev().find(|(at, _)| *at < end) {
                if let Some(s) = series.get_mut(*level) {
                    s.values[k] += 1.0;
                }
            }
        }
    }
    let categories: Vec<String> = months.iter().map(|m| m.format("%Y-%m").to_string()).collect();
    let chart = charts::lines("Risks per level by month / 月ごとのレベル別リスク数", &categories, &series);
    let mut rows = Vec::new();
    for (k, month) in categories.iter().enumerate() {
        let mut row = vec![month.clone()];
        row.extend(series.iter().map(|s| s.values[k].to_string()));
        rows.push(row);
    }
    let mut headings = vec!["Month / 月".to_string()];
    headings.extend(series.iter().map(|s| s.name.clone()));
    Ok(Some(
        Section::new("Trend of risk levels", "リスクレベルの推移")
            .push(Block::Chart(chart))
            .push(Block::Table(Table { headings, rows })),
    ))
}

// ---- Operations ----

fn operations_summary(_: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    let open: Vec<&Flag> = f.open_flags().collect();
    let soon = f.risks.iter().filter(|r| {
        let due = r.next_review(&f.matrix);
        due >= f.now && due < f.now + Duration::days(30)
    });
    Ok(Some(Section::new("Summary", "概要").push(Block::Figures(vec![
        figure("Open flags / 未対応フラグ", open.len()),
        figure("To act on now / 即時対応", open.iter().filter(|x| x.priority >= 60).count()),
        figure("Reviews overdue / 見直し期限超過", f.overdue().len()),
        figure("Reviews due in 30 days / 30日以内に見直し", soon.count()),
        figure("Risks / リスク数", f.risks.len()),
        figure("Assets / 資産数", f.asset_count),
    ]))))
}

/// At most this many flags are listed in full; the rest are counted.
const FLAG_ROWS: usize = 300;

fn open_flags(_: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    let titles: HashMap<&str, &str> = f.risks.iter().map(|r| (r.id.as_str(), r.title.as_str())).collect();
    let open: Vec<&Flag> = f.open_flags().collect();
    let rows = open
        .iter()
        .take(FLAG_ROWS)
        .map(|x| {
            let evidence: Vec<String> = x
                .detail
                .evidence
                .iter()
                .map(|e| {
                    let via = if e.via.is_empty() { String::new() } else { format!(" ({})", e.via) };
                    format!("{}: {} ↔ {}{via}", e.selector, e.theirs, e.ours)
                })
                .collect();
            vec![
                x.id.to_string(),
                crate::flags::priority_label(x.priority).to_string(),
                format!("{} {}", x.risk_id, titles.get(x.risk_id.as_str()).copied().unwrap_or("")),
                format!("{} [{}, {}]", x.detail.source_title, x.trigger.as_str(), x.quality),
                evidence.join("\n"),
                format!("{} / {}", x.detail.suggestion, x.detail.suggestion_ja),
            ]
        })
        .collect();
    let mut section = Section::new("Open reassessment flags", "未対応の再評価フラグ").push(Table::block(
        &[
            "Flag / フラグ",
            "Priority / 優先度",
            "Risk / リスク",
            "Source / 契機",
            "Evidence / 根拠",
            "Suggestion / 推奨",
        ],
        rows,
    ));
    if open.len() > FLAG_ROWS {
        section = section.push(Block::Paragraph(format!(
            "{} more open flags: see `renkei flags`. / ほか {} 件の未対応フラグは `renkei flags` で確認してください。",
            open.len() - FLAG_ROWS,
            open.len() - FLAG_ROWS
        )));
    }
    Ok(Some(section))
}

fn risks_to_review(_: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    let mut open_counts: HashMap<&str, usize> = HashMap::new();
    for x in f.open_flags() {
        *open_counts.entry(x.risk_id.as_str()).or_default() += 1;
    }
    let mut risks: Vec<(&Risk, DateTime<Utc>)> = f.risks.iter().map(|r| (r, r.next_review(&f.matrix))).collect();
    risks.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.id.cmp(&b.0.id)));
    let rows = risks
        .iter()
        .map(|(r, due)| {
            let days = (due.date_naive() - f.now.date_naive()).num_days();
            let status = if *due < f.now {
                format!("overdue {} d / {}日超過", -days, -days)
            } else {
                format!("in {days} d / {days}日後")
            };
            vec![
                format!("{} {}", r.id, r.title),
                f.level_name(r),
                r.owner.clone().unwrap_or_else(|| "-".into()),
                treatment_label(&r.treatment),
                due.date_naive().to_string(),
                status,
                open_counts.get(r.id.as_str()).copied().unwrap_or(0).to_string(),
            ]
        })
        .collect();
    Ok(Some(Section::new("Risks and their next review", "リスクと次回見直し").push(Table::block(
        &[
            "Risk / リスク",
            "Level / レベル",
            "Owner / 責任者",
            "Treatment / 対応",
            "Next review / 次回見直し",
            "Status / 状況",
            "Open flags / 未対応フラグ",
        ],
        rows,
    ))))
}

fn csf_gaps(conn: &mut SqliteConnection, _: &Facts) -> Result<Option<Section>> {
    // Ordered as 6.2 says: the member's motive, then cost-effectiveness.
    let rows = crate::profiles::gaps_in(conn, Some(crate::catalogs::CSF))?
        .into_iter()
        .map(|g| {
            let motive =
                if g.motive.is_empty() { g.priority.to_string() } else { format!("{} {}", g.priority, g.motive) };
            let cost = match g.cost_estimate {
                Some(estimate) => format!("{estimate} (÷{:.2})", g.cost_factor),
                None => format!("{} (÷{:.2})", g.cost, g.cost_factor),
            };
            vec![
                format!("{} {}", g.area, g.name),
                format!("{} → {}", g.current, g.target),
                motive,
                g.width.to_string(),
                format!("{:.1} ({})", g.risk_weight, g.risks),
                cost,
                format!("{:.2}", g.score),
                g.owner.unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    Ok(Some(
        Section::new("CSF profile gaps, prioritised", "CSFプロファイルのギャップ(優先順位付き)")
            .push(Block::Paragraph(
                "Ordered by motive (priority 1 high … 3 low), then score = width × risk weight ÷ cost. / \
                 動機(優先度 1 高〜3 低)、次にスコア(幅 × リスク重み ÷ 費用)の順です。"
                    .into(),
            ))
            .push(Table::block(
                &[
                    "Area / 領域",
                    "Current → target / 現在 → 目標",
                    "Motive / 動機",
                    "Width / 幅",
                    "Risk weight (risks) / リスク重み(リスク数)",
                    "Cost / 費用",
                    "Score / スコア",
                    "Owner / 責任者",
                ],
                rows,
            )),
    ))
}

fn suppliers(conn: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    // Asset name -> the suppliers it comes from, named or through the offerings it names.
    let offered_by = crate::context::offering_suppliers(conn)?;
    let asset_suppliers: HashMap<String, Vec<String>> = crate::assets::list_all(conn)?
        .into_iter()
        .map(|a| {
            let mut suppliers: Vec<String> = serde_json::from_str(&a.supplier_ids).unwrap_or_default();
            let offerings: Vec<String> = serde_json::from_str(&a.offering_ids).unwrap_or_default();
            suppliers.extend(offerings.iter().filter_map(|o| offered_by.get(o).cloned()));
            (a.name, suppliers)
        })
        .collect();
    let depends = |r: &Risk, supplier: &str| {
        r.suppliers.iter().any(|d| d.supplier == supplier)
            || r.assets.iter().any(|a| asset_suppliers.get(a).is_some_and(|s| s.iter().any(|s| s == supplier)))
    };
    let rows = crate::context::known_suppliers(conn)?
        .into_iter()
        .map(|s| {
            let dependent: Vec<String> = f.risks.iter().filter(|r| depends(r, &s.id)).map(|r| r.id.clone()).collect();
            vec![
                format!("{} ({})", s.name, s.id),
                s.tier.unwrap_or_else(|| "-".into()),
                s.score.map_or("-".into(), |s| s.to_string()),
                dependent.join(", "),
            ]
        })
        .collect();
    Ok(Some(
        Section::new("Supplier dependencies", "サプライヤー依存").push(Table::block(
            &["Supplier / サプライヤー", "Tier / ランク", "Score / スコア", "Risks / リスク"],
            rows,
        )),
    ))
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// Weeks shown in the flags chart.
const WEEKS: i64 = 12;

fn flag_activity(_: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    Ok(Some(activity_of(&f.flags, f.now)))
}

/// For the regulator, outside the member's organisation: flags raised by shared items
/// are counted only when the item's label lets it reach the sector's community
/// (`outside_labels`); counts of the others would tell what AMBER or RED intelligence
/// the member received.
fn flag_activity_outside(conn: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    let releasable = outside_labels(conn, renkei_schema::tlp::Outside::Community)?;
    let counted: Vec<Flag> =
        f.flags.iter().filter(|x| !x.trigger.from_shared_item() || releasable.contains(&x.source)).cloned().collect();
    Ok(Some(activity_of(&counted, f.now).push(Block::Paragraph(
        "Flags raised by shared intelligence whose TLP label keeps it inside the organisation are not counted here. / 組織外に開示できないTLPの共有情報による再評価フラグは、ここでは数えていません。".into(),
    ))))
}

fn activity_of(flags: &[Flag], now: DateTime<Utc>) -> Section {
    let today = now.date_naive();
    let this_monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let weeks: Vec<NaiveDate> = (0..WEEKS).rev().map(|k| this_monday - Duration::weeks(k)).collect();
    let week_of = |t: DateTime<Utc>| {
        let d = t.date_naive();
        weeks.iter().rposition(|w| d >= *w && d < *w + Duration::weeks(1))
    };
    let mut raised = vec![0.0; weeks.len()];
    let mut closed = vec![0.0; weeks.len()];
    for x in flags {
        if let Some(k) = parse_time(&x.created_at).and_then(week_of) {
            raised[k] += 1.0;
        }
        if x.status == "resolved" || x.status == "dismissed" {
            if let Some(k) = parse_time(&x.updated_at).and_then(week_of) {
                closed[k] += 1.0;
            }
        }
    }
    let categories: Vec<String> = weeks.iter().map(|w| w.format("%m-%d").to_string()).collect();
    let chart = charts::bars(
        "Flags raised and resolved per week (week starting) / 週ごとの再評価フラグの発生と解決(週の初日)",
        &categories,
        &[
            Series { name: "Raised / 発生".into(), values: raised },
            Series { name: "Resolved or dismissed / 解決・却下".into(), values: closed },
        ],
        None,
    );
    let count = |status: &str| flags.iter().filter(|x| x.status == status).count();
    // Per trigger: raised, open, resolved, dismissed.
    let mut by_trigger: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for x in flags {
        let row = by_trigger.entry(x.trigger.as_str()).or_default();
        row[0] += 1;
        match x.status.as_str() {
            "open" => row[1] += 1,
            "resolved" => row[2] += 1,
            "dismissed" => row[3] += 1,
            _ => {}
        }
    }
    let rows = by_trigger
        .into_iter()
        .map(|(t, c)| vec![t.to_string(), c[0].to_string(), c[1].to_string(), c[2].to_string(), c[3].to_string()])
        .collect();
    Section::new("Flags raised and resolved", "再評価フラグの発生と解決")
        .push(Block::Figures(vec![
            figure("Raised / 発生", flags.len()),
            figure("Open / 未対応", count("open")),
            figure("Resolved / 解決", count("resolved")),
            figure("Dismissed / 却下", count("dismissed")),
            figure("Withdrawn / 取り下げ", count("withdrawn")),
        ]))
        .push(Block::Chart(chart))
        .push(Table::block(
            &["Trigger / 契機", "Raised / 発生", "Open / 未対応", "Resolved / 解決", "Dismissed / 却下"],
            rows,
        ))
}

// ---- Regulator ----

fn profile(conn: &mut SqliteConnection, _: &Facts) -> Result<Option<Section>> {
    use crate::tables::profile;
    let rows: Vec<(String, i32, i32, i32)> = profile::table
        .order(profile::area.asc())
        .select((profile::area, profile::current_tier, profile::target_tier, profile::priority))
        .load(conn)?;
    let functions: Vec<&str> = crate::csf::CSF.iter().map(|(id, _, _)| *id).filter(|id| !id.contains('.')).collect();
    // A function's tiers: its own row, else the mean of its categories'.
    let tiers = |function: &str| -> (f64, f64) {
        if let Some((_, c, t, _)) = rows.iter().find(|r| r.0 == function) {
            return (*c as f64, *t as f64);
        }
        let cats: Vec<_> = rows.iter().filter(|r| r.0.starts_with(&format!("{function}."))).collect();
        if cats.is_empty() {
            return (0.0, 0.0);
        }
        let n = cats.len() as f64;
        let mean = |v: f64| (v / n * 10.0).round() / 10.0;
        (mean(cats.iter().map(|r| r.1 as f64).sum()), mean(cats.iter().map(|r| r.2 as f64).sum()))
    };
    let (current, target): (Vec<f64>, Vec<f64>) = functions.iter().map(|f| tiers(f)).unzip();
    let chart = charts::bars(
        "CSF 2.0 tiers by function, current and target / CSF 2.0 機能別ティア(現在と目標)",
        &functions.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
        &[
            Series { name: "Current / 現在".into(), values: current },
            Series { name: "Target / 目標".into(), values: target },
        ],
        Some(4.0),
    );
    let table_rows = rows
        .iter()
        .map(|(area, c, t, p)| {
            vec![
                format!("{area} {}", crate::csf::area_name(area)),
                c.to_string(),
                t.to_string(),
                if t > c { format!("{}", t - c) } else { "-".into() },
                p.to_string(),
            ]
        })
        .collect();
    Ok(Some(
        Section::new("Cybersecurity profile (NIST CSF 2.0)", "サイバーセキュリティプロファイル(NIST CSF 2.0)")
            .push(Block::Paragraph(
                "Tiers: 1 partial, 2 risk-informed, 3 repeatable, 4 adaptive. / ティア: 1 部分的、2 リスク情報に基づく、3 反復可能、4 適応。"
                    .into(),
            ))
            .push(Block::Chart(chart))
            .push(Table::block(
                &["Area / 領域", "Current / 現在", "Target / 目標", "Gap / ギャップ", "Priority / 優先度"],
                table_rows,
            )),
    ))
}

fn coverage(_: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    let assets_named: HashSet<&str> = f.risks.iter().flat_map(|r| r.assets.iter().map(String::as_str)).collect();
    let services_hurt: HashSet<String> = f.risks.iter().flat_map(|r| f.services_of(r)).collect();
    let services_covered = f.services.iter().filter(|s| services_hurt.contains(&s.name)).count();
    let functions: HashSet<&str> =
        f.risks.iter().flat_map(|r| r.csf.iter().map(|c| c.split('.').next().unwrap_or(c.as_str()))).collect();
    let rated = f.risks.iter().filter(|r| r.effective().is_some()).count();
    let uncovered: Vec<String> =
        f.services.iter().filter(|s| !services_hurt.contains(&s.name)).map(|s| s.name.clone()).collect();
    // Risks per level and method.
    let mut rows: Vec<Vec<String>> = Vec::new();
    let levels = f.matrix.levels.len();
    for level in (0..=levels).rev() {
        let at = |r: &&Risk| {
            if level == levels {
                r.effective().is_none()
            } else {
                r.effective().is_some_and(|x| x.level == level)
            }
        };
        let asset = f.risks.iter().filter(at).filter(|r| r.method == "asset").count();
        let business = f.risks.iter().filter(at).filter(|r| r.method != "asset").count();
        let name = if level == levels { "unrated / 未評価".to_string() } else { f.matrix.level_name(level) };
        rows.push(vec![name, asset.to_string(), business.to_string(), (asset + business).to_string()]);
    }
    let mut section = Section::new("Coverage of the risk register", "リスク登録簿の網羅性")
        .push(Block::Figures(vec![
            figure("Risks / リスク数", f.risks.len()),
            figure("Rated / 評価済み", rated),
            figure("Assets with a risk / リスクのある資産", format!("{} / {}", assets_named.len(), f.asset_count)),
            figure("Services with a risk / リスクのあるサービス", format!("{services_covered} / {}", f.services.len())),
            figure("CSF functions cited / 参照されるCSF機能", format!("{} / 6", functions.len())),
        ]))
        .push(Table::block(
            &["Level / レベル", "Asset-based / 資産ベース", "Business damage / 事業被害ベース", "Total / 計"],
            rows,
        ));
    if !uncovered.is_empty() {
        section = section.push(Block::Paragraph(format!(
            "Services no risk names yet: {}. / まだリスクのないサービス: {}。",
            uncovered.join(", "),
            uncovered.join("、")
        )));
    }
    Ok(Some(section))
}

fn reviews(conn: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    use crate::tables::risk_revisions;
    let year_ago = f.now - Duration::days(365);
    // A revision after the first is a review (an assessment with its note).
    let times: Vec<String> =
        risk_revisions::table.filter(risk_revisions::revision.gt(1)).select(risk_revisions::at).load(conn)?;
    let done = times.iter().filter_map(|t| parse_time(t)).filter(|t| *t >= year_ago).count();
    let reviewed = f.risks.iter().filter(|r| r.last_reviewed_at >= year_ago).count();
    let overdue = f.overdue();
    let rows = overdue
        .iter()
        .map(|r| {
            let due = r.next_review(&f.matrix);
            vec![
                format!("{} {}", r.id, r.title),
                f.level_name(r),
                r.last_reviewed_at.date_naive().to_string(),
                due.date_naive().to_string(),
                (f.now.date_naive() - due.date_naive()).num_days().to_string(),
                r.owner.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    Ok(Some(
        Section::new("Reviews done and overdue", "見直しの実施状況と期限超過")
            .push(Block::Figures(vec![
                figure("Reviews in the last 12 months / 過去12か月の見直し", done),
                figure(
                    "Risks reviewed in 12 months / 12か月以内に見直したリスク",
                    format!("{reviewed} / {}", f.risks.len()),
                ),
                figure("Reviews overdue / 見直し期限超過", overdue.len()),
            ]))
            .push(Table::block(
                &[
                    "Risk / リスク",
                    "Level / レベル",
                    "Last review / 前回見直し",
                    "Due / 期限",
                    "Days overdue / 超過日数",
                    "Owner / 責任者",
                ],
                rows,
            )),
    ))
}

// ---- Appetite, attack trees, the treatment plan, readiness, catalogs ----

/// A section with nothing to show yet says so in one line, in both languages (the
/// section stays, so every reader sees the question was asked).
fn none_yet(section: Section, en: &str, ja: &str) -> Result<Option<Section>> {
    Ok(Some(section.push(Block::Paragraph(format!("{en} / {ja}")))))
}

fn yes_no(present: bool) -> String {
    if present { "yes / あり" } else { "no / なし" }.into()
}

/// An RFC 3339 time as its date (or "-").
fn date_of(at: Option<&str>) -> String {
    at.map_or("-".into(), |t| parse_time(t).map_or(t.to_string(), |t| t.date_naive().to_string()))
}

fn appetite(conn: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    let section = Section::new("Risk appetite and tolerance", "リスク選好と許容度");
    let statuses = crate::appetite::status(conn, f.now)?;
    if statuses.is_empty() {
        return none_yet(section, "No appetite statements yet", "リスク選好の記述はまだありません");
    }
    let count = |state: crate::appetite::State| statuses.iter().filter(|s| s.state == state).count();
    let rows = statuses
        .iter()
        .map(|s| {
            let st = &s.statement;
            let limit = format!("{} / {} d({}日)", st.max_incidents, st.period_days, st.period_days);
            let reasons: Vec<String> = s.reasons.iter().map(|r| format!("{} / {}", r.en, r.ja)).collect();
            vec![
                s.statement.service.clone(),
                format!("{}\n{}", st.statement, st.statement_ja),
                s.state.label().to_string(),
                format!("{} (limit / 上限 {limit})", s.own.count),
                format!("{:.0} % (max / 上限 {:.0} %)", s.own.worst_degradation, st.max_degradation),
                format!("{} (related / 関連 {})", s.sector.count, s.sector.related.len()),
                if reasons.is_empty() { "-".into() } else { reasons.join("\n") },
            ]
        })
        .collect();
    Ok(Some(
        section
            .push(Block::Figures(vec![
                figure("Statements / 記述数", statuses.len()),
                figure("Within appetite / 範囲内", count(crate::appetite::State::Within)),
                figure("Trending towards a breach / 超過傾向", count(crate::appetite::State::Trending)),
                figure("Breached / 超過", count(crate::appetite::State::Breached)),
            ]))
            .push(Table::block(
                &[
                    "Service / サービス",
                    "Statement / 記述",
                    "Status / 状況",
                    "Own incidents / 自組織のインシデント",
                    "Worst degradation / 最大機能低下",
                    "Sector incidents / セクターのインシデント",
                    "Why / 理由",
                ],
                rows,
            )),
    ))
}

/// At most this many attack trees are listed for management; the rest are counted.
const TREE_ROWS: usize = 20;

fn attack_trees(conn: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    let section = Section::new("Business damages analysed with attack trees", "攻撃ツリーで分析した事業被害");
    let trees = crate::trees::list(conn)?;
    if trees.is_empty() {
        return none_yet(section, "No attack trees yet", "攻撃ツリーはまだありません");
    }
    let mut tree_flags: HashMap<&str, usize> = HashMap::new();
    for x in f.open_flags().filter(|x| x.trigger == crate::flags::Trigger::AttackTree) {
        *tree_flags.entry(x.risk_id.as_str()).or_default() += 1;
    }
    let risks: HashMap<&str, &Risk> = f.risks.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut computed = Vec::with_capacity(trees.len());
    for tree in &trees {
        let defaults = risks
            .get(tree.risk.as_str())
            .and_then(|r| r.effective())
            .map(|r| (r.factors.threat, r.factors.vulnerability));
        computed.push(crate::trees::compute(tree, &f.matrix, defaults)?);
    }
    // The worst damage first.
    computed.sort_by(|a, b| b.value.cmp(&a.value).then(a.id.cmp(&b.id)));
    let rows = computed
        .iter()
        .take(TREE_ROWS)
        .map(|t| {
            let damage = match &t.damage_ja {
                Some(ja) => format!("{} {}\n{ja}", t.id, t.damage),
                None => format!("{} {}", t.id, t.damage),
            };
            vec![
                damage,
                t.services.join(", "),
                t.value.to_string(),
                t.level_name.clone(),
                t.risk.clone(),
                tree_flags.get(t.risk.as_str()).copied().unwrap_or(0).to_string(),
            ]
        })
        .collect();
    let flagged = computed.iter().filter(|t| tree_flags.contains_key(t.risk.as_str())).count();
    let mut section = section
        .push(Block::Figures(vec![
            figure("Attack trees / 攻撃ツリー数", computed.len()),
            figure("Trees whose risk is flagged / フラグのあるツリー", flagged),
        ]))
        .push(Table::block(
            &[
                "Business damage / 事業被害",
                "Services / サービス",
                "Value / 値",
                "Level / レベル",
                "Risk / リスク",
                "Open attack-tree flags / 未対応の攻撃ツリーフラグ",
            ],
            rows,
        ));
    if computed.len() > TREE_ROWS {
        section = section.push(Block::Paragraph(format!(
            "{} more trees: see `renkei tree list`. / ほか {} 件のツリーは `renkei tree list` で確認してください。",
            computed.len() - TREE_ROWS,
            computed.len() - TREE_ROWS
        )));
    }
    Ok(Some(section))
}

fn action_status(a: &crate::plans::Action) -> String {
    let status = match a.status.as_str() {
        "planned" => "planned / 計画中".to_string(),
        "in_progress" => "in progress / 実施中".into(),
        "done" => "done / 完了".into(),
        "cancelled" => "cancelled / 中止".into(),
        other => other.to_string(),
    };
    if a.overdue {
        format!("{status}\nOVERDUE {} d / {}日超過", a.days_overdue, a.days_overdue)
    } else {
        status
    }
}

fn plan_brief(conn: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    let section = Section::new("Risk treatment plan in brief", "リスク対応計画の概要");
    let actions = crate::plans::list(conn, false, f.now.date_naive())?;
    if actions.is_empty() {
        return none_yet(section, "No treatment actions yet", "リスク対応策はまだありません");
    }
    let with = |status: &str| actions.iter().filter(|a| a.status == status).count();
    let overdue: Vec<&crate::plans::Action> = actions.iter().filter(|a| a.overdue).collect();
    let rows = overdue
        .iter()
        .map(|a| vec![format!("{} {}", a.id, a.title), a.owner.clone(), a.due.to_string(), a.days_overdue.to_string()])
        .collect();
    Ok(Some(
        section
            .push(Block::Figures(vec![
                figure("Actions / 対応策数", actions.len()),
                figure("Overdue / 期限超過", overdue.len()),
                figure("In progress / 実施中", with("in_progress")),
                figure("Planned / 計画中", with("planned")),
                figure("Done / 完了", with("done")),
            ]))
            .push(Table::block(
                &["Overdue action / 期限超過の対応策", "Owner / 責任者", "Due / 期限", "Days overdue / 超過日数"],
                rows,
            )),
    ))
}

fn treatment_plan(conn: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    let section = Section::new("Risk treatment plan", "リスク対応計画");
    let actions = crate::plans::list(conn, false, f.now.date_naive())?;
    if actions.is_empty() {
        return none_yet(section, "No treatment actions yet", "リスク対応策はまだありません");
    }
    let rows = actions
        .iter()
        .map(|a| {
            let gaps: Vec<String> = a.gaps.iter().map(|g| format!("{} {}", g.framework, g.label)).collect();
            vec![
                format!("{} {}", a.id, a.title),
                a.owner.clone(),
                a.due.to_string(),
                action_status(a),
                a.cost.map_or("-".into(), |c| format!("{c}")),
                if gaps.is_empty() { "-".into() } else { gaps.join("\n") },
                if a.risks.is_empty() { "-".into() } else { a.risks.join(", ") },
            ]
        })
        .collect();
    Ok(Some(section.push(Table::block(
        &[
            "Action / 対応策",
            "Owner / 責任者",
            "Due / 期限",
            "Status / 状況",
            "Cost / 費用",
            "Gaps / ギャップ",
            "Risks / リスク",
        ],
        rows,
    ))))
}

fn tree_flags(_: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    let section = Section::new("Open attack-tree flags and their paths", "未対応の攻撃ツリーフラグと経路");
    let open: Vec<&Flag> = f.open_flags().filter(|x| x.trigger == crate::flags::Trigger::AttackTree).collect();
    if open.is_empty() {
        return none_yet(section, "No open attack-tree flags", "未対応の攻撃ツリーフラグはありません");
    }
    let rows = open
        .iter()
        .take(FLAG_ROWS)
        .map(|x| {
            let paths: Vec<String> = x
                .detail
                .paths
                .iter()
                .map(|p| format!("{} [{} @ {}]: {}", p.tree, p.technique, p.asset, p.steps.join(" → ")))
                .collect();
            vec![
                x.id.to_string(),
                x.risk_id.clone(),
                x.detail.source_title.clone(),
                if paths.is_empty() { "-".into() } else { paths.join("\n") },
            ]
        })
        .collect();
    Ok(Some(section.push(Table::block(
        &["Flag / フラグ", "Risk / リスク", "Source / 契機", "Path, leaf to damage / 経路(葉から被害まで)"],
        rows,
    ))))
}

/// Why a trait's review is due, in both languages. `shown` says which shared items may
/// be named in this report (all of them in the member's own reports; for a party
/// outside the organisation only those whose label lets them pass, `outside_labels`);
/// the others are mentioned without their names.
fn due_because(t: &crate::readiness::TraitStatus, shown: &dyn Fn(&str) -> bool) -> String {
    use crate::readiness::State;
    let (named, withheld): (Vec<_>, Vec<_>) = t.intelligence.iter().partition(|i| shown(&i.item_id));
    let mut why: Vec<String> =
        named.iter().map(|i| format!("{} ({}) / {}", i.reason, i.item_id, i.reason_ja)).collect();
    if !withheld.is_empty() {
        why.push(
            "shared intelligence whose label keeps it inside the organisation / 組織外に開示できないTLPの共有情報"
                .into(),
        );
    }
    if t.state == State::Due || (t.state == State::DueIntelligence && why.is_empty()) {
        let next = date_of(t.next_review.as_deref());
        why.push(format!("review date {next} passed / 見直し期限 {next} を経過"));
    }
    if why.is_empty() {
        "-".into()
    } else {
        why.join("\n")
    }
}

fn readiness_due(conn: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    use crate::readiness::State;
    let section = Section::new("Readiness reviews due", "見直しが必要な緊急時対応の準備状況");
    let traits = crate::readiness::list(conn, f.now)?;
    let unanswered = traits.iter().filter(|t| t.state == State::Unanswered).count();
    let due: Vec<_> = traits.iter().filter(|t| matches!(t.state, State::Due | State::DueIntelligence)).collect();
    let unanswered_line = format!(
        "Traits not answered yet: {unanswered} of 7 (`renkei readiness set`). / 未回答の特性: 7件中{unanswered}件。"
    );
    if due.is_empty() {
        return Ok(Some(section.push(Block::Paragraph(format!(
            "No readiness review is due / 見直しが必要な特性はありません。 {unanswered_line}"
        )))));
    }
    let rows = due
        .iter()
        .map(|t| {
            vec![
                format!("{} {} / {}", t.info.id, t.info.name, t.info.name_ja),
                t.state.label().to_string(),
                date_of(t.next_review.as_deref()),
                due_because(t, &|_| true),
                t.owner.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    Ok(Some(
        section
            .push(Table::block(
                &["Trait / 特性", "Status / 状況", "Next review / 次回見直し", "Why / 理由", "Owner / 責任者"],
                rows,
            ))
            .push(Block::Paragraph(unanswered_line)),
    ))
}

/// The held items whose label lets them be named in a document for `party` (the one
/// TLP policy, `renkei_schema::tlp::may_pass_outside`).
fn outside_labels(conn: &mut SqliteConnection, party: renkei_schema::tlp::Outside) -> Result<HashSet<String>> {
    use crate::tables::items;
    let labels: Vec<(String, String)> = items::table.select((items::id, items::tlp)).load(conn)?;
    let passes = |tlp: &str| {
        tlp.parse::<renkei_schema::tlp::Tlp>().is_ok_and(|tlp| renkei_schema::tlp::may_pass_outside(tlp, party))
    };
    // Every version held must pass: an item relabelled tighter is held back.
    let held_back: HashSet<&str> = labels.iter().filter(|(_, tlp)| !passes(tlp)).map(|(id, _)| id.as_str()).collect();
    Ok(labels.iter().filter(|(id, _)| !held_back.contains(id.as_str())).map(|(id, _)| id.clone()).collect())
}

/// For the regulator, outside the member's organisation: the shared items behind a due
/// review are named only when their label lets them reach the sector's community.
fn readiness_all(conn: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    let releasable = outside_labels(conn, renkei_schema::tlp::Outside::Community)?;
    let traits = crate::readiness::list(conn, f.now)?;
    let answered = traits.iter().filter(|t| t.answer.is_some()).count();
    let due = traits
        .iter()
        .filter(|t| matches!(t.state, crate::readiness::State::Due | crate::readiness::State::DueIntelligence))
        .count();
    let rows = traits
        .iter()
        .map(|t| {
            vec![
                format!("{} {} / {}", t.info.id, t.info.name, t.info.name_ja),
                t.state.label().to_string(),
                yes_no(t.answer.is_some()),
                t.evidence.len().to_string(),
                date_of(t.reviewed_at.as_deref()),
                date_of(t.next_review.as_deref()),
                due_because(t, &|id| releasable.contains(id)),
            ]
        })
        .collect();
    Ok(Some(
        Section::new(
            "Contingency readiness against the seven traits",
            "サイバー攻撃リスクの7つの特性に対する緊急時対応の準備状況",
        )
        .push(Block::Figures(vec![
            figure("Traits answered / 回答済みの特性", format!("{answered} / 7")),
            figure("Reviews due / 見直し要", due),
        ]))
        .push(Table::block(
            &[
                "Trait / 特性",
                "Status / 状況",
                "Answer / 回答",
                "Evidence / 証跡",
                "Last review / 前回見直し",
                "Next review / 次回見直し",
                "Due because of / 見直しの理由",
            ],
            rows,
        )),
    ))
}

fn profile_entries(conn: &mut SqliteConnection, _: &Facts) -> Result<Option<Section>> {
    let section = Section::new("Profile by subcategory and control", "サブカテゴリ・管理策ごとのプロファイル");
    // CSF functions and categories are in the profile section above.
    let entries: Vec<crate::profiles::Entry> = crate::profiles::entries(conn, None)?
        .into_iter()
        .filter(|e| !(e.framework == crate::catalogs::CSF && matches!(e.kind.as_str(), "function" | "category")))
        .collect();
    if entries.is_empty() {
        return none_yet(
            section,
            "No profile entries below the CSF categories yet",
            "CSFカテゴリより細かいプロファイルの記入はまだありません",
        );
    }
    let rows = entries
        .iter()
        .map(|e| {
            vec![
                crate::catalogs::framework_name(&e.framework).to_string(),
                format!("{} {}", e.label, e.name),
                format!("{} → {}", e.current, e.target),
                e.owner.clone().unwrap_or_else(|| "-".into()),
                if e.evidence.is_empty() { "-".into() } else { e.evidence.clone() },
            ]
        })
        .collect();
    Ok(Some(section.push(Table::block(
        &[
            "Framework / フレームワーク",
            "Subcategory or control / サブカテゴリ・管理策",
            "Current → target / 現在 → 目標",
            "Owner / 責任者",
            "Evidence / 証跡",
        ],
        rows,
    ))))
}

fn catalogs_loaded(conn: &mut SqliteConnection, _: &Facts) -> Result<Option<Section>> {
    let section = Section::new("Framework catalogs loaded", "読み込み済みのフレームワークカタログ");
    let catalogs = crate::catalogs::list(conn)?;
    if catalogs.is_empty() {
        return none_yet(section, "No catalogs loaded yet", "カタログはまだ読み込まれていません");
    }
    let rows = catalogs
        .iter()
        .map(|c| {
            vec![
                format!("{} ({})", c.title, c.framework),
                c.version.clone(),
                c.controls.to_string(),
                c.licence.clone(),
                date_of(Some(&c.imported_at)),
            ]
        })
        .collect();
    Ok(Some(section.push(Table::block(
        &["Catalog / カタログ", "Version / 版", "Controls / 項目数", "Licence / ライセンス", "Imported / 読込日"],
        rows,
    ))))
}

fn plan_overdue(conn: &mut SqliteConnection, f: &Facts) -> Result<Option<Section>> {
    let section = Section::new("Treatment actions overdue", "期限を超過したリスク対応策");
    let overdue = crate::plans::list(conn, true, f.now.date_naive())?;
    if overdue.is_empty() {
        return none_yet(section, "No treatment action is overdue", "期限を超過した対応策はありません");
    }
    let rows = overdue
        .iter()
        .map(|a| {
            vec![
                format!("{} {}", a.id, a.title),
                a.owner.clone(),
                a.due.to_string(),
                a.days_overdue.to_string(),
                if a.risks.is_empty() { "-".into() } else { a.risks.join(", ") },
            ]
        })
        .collect();
    Ok(Some(section.push(Table::block(
        &["Action / 対応策", "Owner / 責任者", "Due / 期限", "Days overdue / 超過日数", "Risks / リスク"],
        rows,
    ))))
}

// ---- Renderers ----

/// A rendered report: the document, and for Markdown written to a file the chart files
/// to write beside it (file name, SVG).
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub body: Vec<u8>,
    pub files: Vec<(String, String)>,
}

/// Renders a report. `chart_stem`: for Markdown, the file name stem the chart files
/// take (`STEM-chart-N.svg`, beside the report); `None` puts the SVG inline. `font`:
/// for PDF, `FILE[#INDEX]` (else the known paths).
pub fn render_as(report: &Report, format: Format, chart_stem: Option<&str>, font: Option<&str>) -> Result<Rendered> {
    Ok(match format {
        Format::Markdown => markdown(report, chart_stem),
        Format::Html => Rendered { body: html(report).into_bytes(), files: Vec::new() },
        Format::Pdf => Rendered { body: pdf_document(report, font)?, files: Vec::new() },
    })
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

fn markdown(report: &Report, chart_stem: Option<&str>) -> Rendered {
    let mut out = format!("# {}\n\n{} / 作成: {}\n", report.title, report.generated, report.generated);
    let mut files = Vec::new();
    for section in &report.sections {
        out.push_str(&format!("\n## {}\n", section.heading()));
        for block in &section.blocks {
            out.push('\n');
            match block {
                Block::Paragraph(text) => out.push_str(&format!("{text}\n")),
                Block::Figures(items) => {
                    out.push_str("| Figure / 指標 | Value / 値 |\n|---|---|\n");
                    for (label, value) in items {
                        out.push_str(&format!("| {} | {} |\n", md_cell(label), md_cell(value)));
                    }
                }
                Block::Table(t) if t.rows.is_empty() => out.push_str("None / なし\n"),
                Block::Table(t) => {
                    out.push_str(&format!(
                        "| {} |\n",
                        t.headings.iter().map(|h| md_cell(h)).collect::<Vec<_>>().join(" | ")
                    ));
                    out.push_str(&format!("|{}\n", "---|".repeat(t.headings.len())));
                    for r in &t.rows {
                        out.push_str(&format!(
                            "| {} |\n",
                            r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
                        ));
                    }
                }
                Block::Chart(chart) => match chart_stem {
                    Some(stem) => {
                        let name = format!("{stem}-chart-{}.svg", files.len() + 1);
                        out.push_str(&format!("![{}]({name})\n", chart.title.replace(['[', ']'], "")));
                        files.push((name, chart.to_svg()));
                    }
                    None => out.push_str(&format!("{}\n", chart.to_svg())),
                },
            }
        }
    }
    Rendered { body: out.into_bytes(), files }
}

fn html(report: &Report) -> String {
    let e = charts::escape;
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:'Noto Sans CJK JP','Noto Sans JP',sans-serif;max-width:60em;margin:2em auto}}\
         table{{border-collapse:collapse;margin:0.5em 0}}td,th{{border:1px solid #999;padding:4px;vertical-align:top}}\
         th{{background:#e8ecf2}}.figures{{display:flex;flex-wrap:wrap;gap:8px}}\
         .figure{{border:1px solid #ddd;background:#f3f5f8;padding:6px 10px;min-width:10em}}\
         .figure b{{display:block;font-size:1.4em;color:#1f3f68}}figcaption{{color:#666;font-size:0.85em}}</style>\
         </head><body>\n<h1>{t}</h1>\n<p>{g}</p>\n",
        t = e(&report.title),
        g = e(&report.generated)
    );
    for section in &report.sections {
        out.push_str(&format!("<section>\n<h2>{}</h2>\n", e(&section.heading())));
        for block in &section.blocks {
            match block {
                Block::Paragraph(text) => out.push_str(&format!("<p>{}</p>\n", e(text))),
                Block::Figures(items) => {
                    out.push_str("<div class=\"figures\">");
                    for (label, value) in items {
                        out.push_str(&format!("<div class=\"figure\"><b>{}</b>{}</div>", e(value), e(label)));
                    }
                    out.push_str("</div>\n");
                }
                Block::Table(t) if t.rows.is_empty() => out.push_str("<p>None / なし</p>\n"),
                Block::Table(t) => {
                    out.push_str("<table>\n<tr>");
                    for h in &t.headings {
                        out.push_str(&format!("<th>{}</th>", e(h)));
                    }
                    out.push_str("</tr>\n");
                    for r in &t.rows {
                        out.push_str("<tr>");
                        for c in r {
                            out.push_str(&format!("<td>{}</td>", e(c).replace('\n', "<br>")));
                        }
                        out.push_str("</tr>\n");
                    }
                    out.push_str("</table>\n");
                }
                Block::Chart(chart) => out.push_str(&format!(
                    "<figure>\n{}<figcaption>{}</figcaption></figure>\n",
                    chart.to_svg(),
                    e(&chart.title)
                )),
            }
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn pdf_document(report: &Report, font: Option<&str>) -> Result<Vec<u8>> {
    let font = pdf::find_font(font)?;
    let mut t = pdf::Typesetter::new(&font, &report.title)?;
    t.paragraph(&format!("{} / 作成: {}", report.generated, report.generated));
    for section in &report.sections {
        t.heading(2, &section.heading());
        for block in &section.blocks {
            match block {
                Block::Paragraph(text) => t.paragraph(text),
                Block::Figures(items) => t.figures(items),
                Block::Table(table) if table.rows.is_empty() => t.paragraph("None / なし"),
                Block::Table(table) => t.table(&table.headings, &table.rows),
                Block::Chart(chart) => t.chart(chart),
            }
        }
    }
    t.finish()
}

/// The operations report as Markdown (`md`) or HTML: what `renkei report` wrote before
/// there were audiences (top risks, open flags, CSF gaps, supplier dependencies).
pub fn render(conn: &mut SqliteConnection, format: &str) -> Result<String> {
    let format = Format::parse(format)?;
    if format == Format::Pdf {
        bail!("a PDF is not text: use report::render_as / PDFはテキストではありません(report::render_as を使ってください)");
    }
    let report = build(conn, Audience::Operations, Utc::now())?;
    let rendered = render_as(&report, format, None, None)?;
    Ok(String::from_utf8(rendered.body)?)
}
