//! Reassessment flags (handbook 8.3: "when new threat information arrives, run
//! additional risk assessment"). Raised while a sync applies a page (in the page's
//! transaction), when assets change, and when dates pass; each says what matched what
//! and how strongly. One open flag per risk and source: a later revision of the same
//! source updates it. A flag dismissed (with a reason) or resolved by an assessment is
//! not raised again for the same revision of its source.
//!
//! Matching uses a [`MatchIndex`] built once per sync from the register's link tables:
//! every incoming item is looked up by the values it names (technique id, ICS asset type,
//! CPE vendor:product, CVE id, supplier id), never compared with every risk.

use std::collections::{BTreeMap, HashMap};

use crate::bail;
use crate::error::{Context as _, Result};
use chrono::Utc;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use renkei_schema::stix::StixRead;

use crate::register::ItemRow;
use crate::tables::flags;

/// What raised a flag: the kind of change that calls for reassessing a risk. Stored
/// (`flags.trigger_kind`) and shown by its name; a new trigger is a variant here, the
/// code that raises it, and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A shared ATT&CK technique matched the risk's techniques or assets.
    Technique,
    /// A shared incident named a supplier the risk depends on.
    SupplierIncident,
    /// A shared advisory (CVE) matched a product the risk's assets run.
    Vulnerability,
    /// A supplier the risk depends on was rated worse.
    SupplierRating,
    /// An asset the risk rests on changed.
    AssetChanged,
    /// The periodic review date passed.
    ReviewDue,
    /// A risk acceptance expired.
    AcceptanceExpired,
    /// The risk matrix changed since the risk was rated.
    MatrixChanged,
    /// A shared technique matched a leaf of an attack tree of the risk (handbook 5.2);
    /// the flag carries the path from the leaf to the business damage.
    AttackTree,
    /// A business service's incidents breach, or trend towards breaching, its risk
    /// appetite or tolerance (handbook 5.1).
    AppetiteBreach,
    /// A risk treatment plan's action for the risk passed its due date (handbook 6.3).
    PlanOverdue,
}

impl Trigger {
    pub const ALL: [Trigger; 11] = [
        Trigger::Technique,
        Trigger::SupplierIncident,
        Trigger::Vulnerability,
        Trigger::SupplierRating,
        Trigger::AssetChanged,
        Trigger::ReviewDue,
        Trigger::AcceptanceExpired,
        Trigger::MatrixChanged,
        Trigger::AttackTree,
        Trigger::AppetiteBreach,
        Trigger::PlanOverdue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Technique => "technique",
            Trigger::SupplierIncident => "supplier_incident",
            Trigger::Vulnerability => "vulnerability",
            Trigger::SupplierRating => "supplier_rating",
            Trigger::AssetChanged => "asset_changed",
            Trigger::ReviewDue => "review_due",
            Trigger::AcceptanceExpired => "acceptance_expired",
            Trigger::MatrixChanged => "matrix_changed",
            Trigger::AttackTree => "attack_tree",
            Trigger::AppetiteBreach => "appetite_breach",
            Trigger::PlanOverdue => "plan_overdue",
        }
    }

    pub fn parse(s: &str) -> Option<Trigger> {
        Trigger::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether the flag's source is a shared item (its id in `flags.source`, carrying
    /// that item's TLP label) rather than the member's own register or a date.
    pub fn from_shared_item(self) -> bool {
        matches!(
            self,
            Trigger::Technique
                | Trigger::SupplierIncident
                | Trigger::Vulnerability
                | Trigger::SupplierRating
                | Trigger::AttackTree
        )
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Trigger {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// How strongly a flag's source matched the risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// Through a subcontractor of a supplier the risk depends on (fourth party).
    Transitive,
    /// An ATT&CK technique that targets an ICS asset type an asset of the risk is.
    Inferred,
    /// Vendor and product match, the asset's version unknown or named in free text.
    ProductOnly,
    /// Nothing matched: a date passed or the register changed.
    Scheduled,
    /// The asset's version is in the advisory's affected range.
    VersionInRange,
    /// The risk or its asset names the very technique, CVE or supplier.
    Exact,
}

impl Quality {
    fn weight(self) -> i32 {
        match self {
            Quality::Exact | Quality::VersionInRange => 30,
            Quality::Scheduled => 20,
            Quality::ProductOnly | Quality::Inferred => 15,
            Quality::Transitive => 10,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Quality::Transitive => "transitive",
            Quality::Inferred => "inferred",
            Quality::ProductOnly => "product_only",
            Quality::Scheduled => "scheduled",
            Quality::VersionInRange => "version_in_range",
            Quality::Exact => "exact",
        }
    }
}

/// One thing that matched: their selector and value, ours, and the path from it to
/// the risk.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Evidence {
    pub selector: String,
    pub theirs: String,
    pub ours: String,
    pub via: String,
}

/// A flag's explanation, in English and Japanese.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detail {
    /// What the source is (`advisory CVE-2024-0001 (revision 2)`).
    pub source_title: String,
    pub evidence: Vec<Evidence>,
    pub suggestion: String,
    pub suggestion_ja: String,
    /// For an attack-tree flag: the path from each matched leaf up to the business damage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<crate::trees::TreePath>,
}

/// A flag about to be raised or updated.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub risk_id: String,
    pub source: String,
    pub source_revision: i64,
    pub trigger: Trigger,
    pub quality: Quality,
    pub priority: i32,
    pub detail: Detail,
}

/// A flag as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    pub id: i32,
    pub risk_id: String,
    pub source: String,
    pub source_revision: i64,
    pub trigger: Trigger,
    pub quality: String,
    pub priority: i32,
    pub status: String,
    pub detail: Detail,
    pub created_at: String,
    pub updated_at: String,
    pub resolution: Option<String>,
}

/// The priority's band, in English and Japanese (SSVC-like wording).
pub fn priority_label(priority: i32) -> &'static str {
    match priority {
        60.. => "act / 即時対応",
        40..=59 => "attend / 早期対応",
        _ => "track / 経過観察",
    }
}

/// What a risk contributes to matching.
#[derive(Debug, Clone, Default)]
struct RiskFacts {
    /// The level index of its effective rating (-1: unrated).
    level: i32,
    /// Supplier or offering id → the dependency (1–4).
    dependency: HashMap<String, u8>,
}

/// The register's link tables, in memory for one sync.
#[derive(Debug, Default)]
pub struct MatchIndex {
    /// kind → value → risks (looked up by `&str`, without building keys).
    risks_by_link: HashMap<String, HashMap<String, Vec<String>>>,
    risks: HashMap<String, RiskFacts>,
    /// kind → value → assets.
    assets_by_link: HashMap<String, HashMap<String, Vec<String>>>,
    /// Asset name → (version, exposure).
    assets: HashMap<String, (Option<String>, Option<String>)>,
    targets: HashMap<String, Vec<String>>,
    /// Subcontractor → the suppliers and offerings relying on it.
    relied_on_by: HashMap<String, Vec<String>>,
    /// Supplier → the offerings of it the register names.
    offerings_of: HashMap<String, Vec<String>>,
    /// The suppliers whose registry entries the register keeps (for reports).
    known_suppliers: std::collections::HashSet<String>,
    /// Technique → the attack-tree leaves on it.
    tree_leaves: HashMap<String, Vec<crate::trees::LeafRef>>,
}

fn group<K: std::hash::Hash + Eq>(pairs: Vec<(K, String)>) -> HashMap<K, Vec<String>> {
    let mut out: HashMap<K, Vec<String>> = HashMap::new();
    for (k, v) in pairs {
        out.entry(k).or_default().push(v);
    }
    out
}

/// (kind, value, owner) rows → kind → value → owners.
fn group_links(rows: Vec<(String, String, String)>) -> HashMap<String, HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, HashMap<String, Vec<String>>> = HashMap::new();
    for (kind, value, owner) in rows {
        out.entry(kind).or_default().entry(value).or_default().push(owner);
    }
    out
}

impl MatchIndex {
    pub fn load(conn: &mut SqliteConnection) -> Result<MatchIndex> {
        use crate::tables::{asset_links, assets};
        use crate::tables::{attack_targets, offering_suppliers, supplier_chain};
        use crate::tables::{risk_links, risks};
        let risk_links: Vec<(String, String, String)> =
            risk_links::table.select((risk_links::kind, risk_links::value, risk_links::risk_id)).load(conn)?;
        let mut risk_facts: HashMap<String, RiskFacts> = HashMap::new();
        let rows: Vec<(String, i32, String)> =
            risks::table.select((risks::id, risks::level, risks::body)).load(conn)?;
        for (id, level, body) in rows {
            let mut facts = RiskFacts { level, ..Default::default() };
            // Only the supplier dependencies are read from the body.
            #[derive(Deserialize)]
            struct Deps {
                suppliers: Vec<crate::risks::Dependency>,
            }
            if let Ok(deps) = serde_json::from_str::<Deps>(&body) {
                for d in deps.suppliers {
                    facts.dependency.insert(d.supplier.clone(), d.dependency);
                    if let Some(o) = d.offering {
                        facts.dependency.insert(o, d.dependency);
                    }
                }
            }
            risk_facts.insert(id, facts);
        }
        let asset_links: Vec<(String, String, String)> =
            asset_links::table.select((asset_links::kind, asset_links::value, asset_links::asset)).load(conn)?;
        let assets: Vec<(String, Option<String>, Option<String>)> =
            assets::table.select((assets::name, assets::version, assets::exposure)).load(conn)?;
        let targets: Vec<(String, String)> =
            attack_targets::table.select((attack_targets::technique, attack_targets::asset_type)).load(conn)?;
        let chain: Vec<(String, String)> =
            supplier_chain::table.select((supplier_chain::subcontractor, supplier_chain::parent)).load(conn)?;
        let offered: Vec<(String, String)> = offering_suppliers::table
            .select((offering_suppliers::supplier, offering_suppliers::offering))
            .load(conn)?;
        Ok(MatchIndex {
            risks_by_link: group_links(risk_links),
            risks: risk_facts,
            assets_by_link: group_links(asset_links),
            assets: assets.into_iter().map(|(n, v, e)| (n, (v, e))).collect(),
            targets: group(targets),
            relied_on_by: group(chain),
            offerings_of: group(offered),
            known_suppliers: crate::tables::suppliers::table
                .select(crate::tables::suppliers::id)
                .load::<String>(conn)?
                .into_iter()
                .collect(),
            tree_leaves: crate::trees::leaves_by_technique(conn)?,
        })
    }

    fn risks(&self, kind: &str, value: &str) -> &[String] {
        self.risks_by_link.get(kind).and_then(|m| m.get(value)).map_or(&[], |v| v.as_slice())
    }

    fn assets(&self, kind: &str, value: &str) -> &[String] {
        self.assets_by_link.get(kind).and_then(|m| m.get(value)).map_or(&[], |v| v.as_slice())
    }

    fn level(&self, risk: &str) -> i32 {
        self.risks.get(risk).map_or(-1, |f| f.level)
    }

    fn internet_facing(&self, asset: &str) -> bool {
        self.assets.get(asset).is_some_and(|(_, e)| e.as_deref() == Some("internet"))
    }
}

/// Gathers candidates for one source, merging what matched the same risk.
struct Gather<'a> {
    index: &'a MatchIndex,
    item: &'a ItemRow,
    trigger: Trigger,
    source_title: String,
    suggestion: (String, String),
    /// Added to every candidate's priority (exploitation, an incident…).
    boost: i32,
    out: BTreeMap<String, Candidate>,
}

impl Gather<'_> {
    fn hit(&mut self, risk: &str, quality: Quality, evidence: Evidence, extra: i32) {
        let priority = quality.weight() + self.boost + extra + 10 * self.index.level(risk).max(0);
        let c = self.out.entry(risk.to_string()).or_insert_with(|| Candidate {
            risk_id: risk.to_string(),
            source: self.item.id.clone(),
            source_revision: self.item.revision,
            trigger: self.trigger,
            quality,
            priority,
            detail: Detail {
                source_title: self.source_title.clone(),
                evidence: Vec::new(),
                suggestion: self.suggestion.0.clone(),
                suggestion_ja: self.suggestion.1.clone(),
                paths: Vec::new(),
            },
        });
        c.quality = c.quality.max(quality);
        c.priority = c.priority.max(priority);
        if !c.detail.evidence.contains(&evidence) {
            c.detail.evidence.push(evidence);
        }
    }

    /// The risks resting on an asset.
    fn via_asset(&mut self, asset: &str, quality: Quality, evidence: Evidence) {
        let extra = if self.index.internet_facing(asset) { 10 } else { 0 };
        for risk in self.index.risks("asset", asset).to_vec() {
            self.hit(&risk, quality, evidence.clone(), extra);
        }
    }

    /// A technique: risks assuming it (or its parent), and risks on assets of an ICS
    /// asset type it targets (the catalog's `targets`, and the item's own list).
    fn technique(&mut self, id: &str, item_asset_types: &[String]) {
        let parent = renkei_schema::model::attack_id::parent_technique(id);
        for assumed in std::iter::once(id).chain(parent) {
            for risk in self.index.risks("technique", assumed).to_vec() {
                let ours = format!("risk assumes {assumed}");
                self.hit(
                    &risk,
                    Quality::Exact,
                    Evidence { selector: "technique".into(), theirs: id.into(), ours, via: "risk".into() },
                    0,
                );
            }
        }
        let mut types: Vec<(String, &str)> =
            self.index.targets.get(id).into_iter().flatten().map(|t| (t.clone(), "ATT&CK for ICS targets")).collect();
        types.extend(item_asset_types.iter().map(|t| (t.trim().to_uppercase(), "named by the item")));
        for (asset_type, how) in types {
            for asset in self.index.assets("ics", &asset_type).to_vec() {
                let evidence = Evidence {
                    selector: "ics_asset_type".into(),
                    theirs: format!("{id} targets {asset_type} ({how})"),
                    ours: format!("asset {asset} is {asset_type}"),
                    via: "asset -> risk".into(),
                };
                self.via_asset(&asset, Quality::Inferred, evidence);
            }
        }
        self.tree_leaves(id);
    }

    /// A supplier (or offering): risks depending on it directly, through an asset, or
    /// through a supplier or offering that subcontracts to it.
    fn supplier(&mut self, id: &str) {
        for kind in ["supplier", "offering"] {
            for risk in self.index.risks(kind, id).to_vec() {
                let dep = self.index.risks.get(&risk).and_then(|f| f.dependency.get(id)).copied().unwrap_or(2);
                let evidence = Evidence {
                    selector: kind.into(),
                    theirs: id.into(),
                    ours: format!("risk depends on it (dependency {dep}/4)"),
                    via: "risk".into(),
                };
                self.hit(&risk, Quality::Exact, evidence, 5 * i32::from(dep));
            }
            for asset in self.index.assets(kind, id).to_vec() {
                let evidence = Evidence {
                    selector: kind.into(),
                    theirs: id.into(),
                    ours: format!("asset {asset} comes from it"),
                    via: "asset -> risk".into(),
                };
                self.via_asset(&asset, Quality::Exact, evidence);
            }
        }
        // An asset or risk that names only an offering depends on its supplier as well.
        for offering in self.index.offerings_of.get(id).cloned().unwrap_or_default() {
            for risk in self.index.risks("offering", &offering).to_vec() {
                let dep = self.index.risks.get(&risk).and_then(|f| f.dependency.get(&offering)).copied().unwrap_or(2);
                let evidence = Evidence {
                    selector: "supplier of an offering".into(),
                    theirs: id.into(),
                    ours: format!("risk depends on its offering {offering} (dependency {dep}/4)"),
                    via: "offering -> risk".into(),
                };
                self.hit(&risk, Quality::Exact, evidence, 5 * i32::from(dep));
            }
            for asset in self.index.assets("offering", &offering).to_vec() {
                let evidence = Evidence {
                    selector: "supplier of an offering".into(),
                    theirs: id.into(),
                    ours: format!("asset {asset} is its offering {offering}"),
                    via: "offering -> asset -> risk".into(),
                };
                self.via_asset(&asset, Quality::Exact, evidence);
            }
        }
        for parent in self.index.relied_on_by.get(id).cloned().unwrap_or_default() {
            let kind = if parent.starts_with("offering--") { "offering" } else { "supplier" };
            let theirs = format!("{id}, a subcontractor of {parent}");
            for risk in self.index.risks(kind, &parent).to_vec() {
                let evidence = Evidence {
                    selector: "subcontractor".into(),
                    theirs: theirs.clone(),
                    ours: format!("risk depends on {parent}"),
                    via: "supplier chain -> risk".into(),
                };
                self.hit(&risk, Quality::Transitive, evidence, 0);
            }
            for asset in self.index.assets(kind, &parent).to_vec() {
                let evidence = Evidence {
                    selector: "subcontractor".into(),
                    theirs: theirs.clone(),
                    ours: format!("asset {asset} comes from {parent}"),
                    via: "supplier chain -> asset -> risk".into(),
                };
                self.via_asset(&asset, Quality::Transitive, evidence);
            }
        }
    }
}

// Attack trees (handbook 5.2).
impl Gather<'_> {
    /// A technique on a leaf of an attack tree flags the tree's risk, with the path from
    /// the leaf up to the business damage. A leaf matches as a risk's technique does in
    /// `technique`: the shared id itself, or the parent of a shared sub-technique (a
    /// shared T1059 does not match a leaf on T1059.001). The flag is one per risk and
    /// source: a risk that also assumes the technique gets one flag, an attack-tree one.
    fn tree_leaves(&mut self, id: &str) {
        let index = self.index;
        let parent = renkei_schema::model::attack_id::parent_technique(id);
        for on_leaf in std::iter::once(id).chain(parent) {
            for leaf in index.tree_leaves.get(on_leaf).map_or(&[][..], |v| v.as_slice()) {
                let evidence = Evidence {
                    selector: "attack_tree_leaf".into(),
                    theirs: id.into(),
                    ours: format!(
                        "leaf {} of attack tree {}: {} on asset {}",
                        leaf.node, leaf.tree, on_leaf, leaf.asset
                    ),
                    via: format!("attack tree {} -> risk", leaf.tree),
                };
                let extra = if index.internet_facing(&leaf.asset) { 10 } else { 0 };
                self.hit(&leaf.risk, Quality::Exact, evidence, extra);
                if let Some(c) = self.out.get_mut(&leaf.risk) {
                    if c.trigger != Trigger::AttackTree {
                        c.trigger = Trigger::AttackTree;
                        c.detail.suggestion = format!(
                            "{id} reaches an entry point of attack tree {}: re-compute the tree's likelihood along the path to the damage and re-assess the risk",
                            leaf.tree
                        );
                        c.detail.suggestion_ja = format!(
                            "{id} が攻撃ツリー {} の侵入口に該当します。被害までの経路の発生可能性を再計算し、リスクを再評価してください",
                            leaf.tree
                        );
                    }
                    let path = leaf.path();
                    if !c.detail.paths.contains(&path) {
                        c.detail.paths.push(path);
                    }
                }
            }
        }
    }
}

/// The flags one item raises. Indicators and assessments raise none: indicators go to
/// detection (`export`, `match`), assessments reach risks through rating events.
pub fn candidates(index: &MatchIndex, item: &ItemRow) -> Result<Vec<Candidate>> {
    if !matches!(item.kind.as_str(), "technique" | "incident" | "advisory" | "rating-change") {
        return Ok(Vec::new());
    }
    let stix: Value = serde_json::from_str(&item.stix).with_context(|| format!("item {}", item.id))?;
    let read = StixRead(&stix);
    let name = read.name().to_string();
    let mut g = Gather {
        index,
        item,
        trigger: Trigger::Technique,
        source_title: String::new(),
        suggestion: (String::new(), String::new()),
        boost: 0,
        out: BTreeMap::new(),
    };
    match item.kind.as_str() {
        "technique" => {
            let id = read.external_id().unwrap_or_default().to_string();
            g.source_title = format!("technique {id} {name} (revision {})", item.revision);
            g.suggestion = (
                format!(
                    "{id} is being used: review the threat likelihood and whether the controls against it are in place"
                ),
                format!("{id} の使用が報告されています。脅威の発生可能性と対策の実施状況を見直してください"),
            );
            g.technique(&id, &read.ics_asset_types());
        }
        "incident" => {
            g.source_title = format!("incident \"{name}\" (revision {})", item.revision);
            g.boost = 10;
            g.suggestion = (
                "an incident in the sector used these techniques: review the threat likelihood".into(),
                "業界内のインシデントでこれらのテクニックが使われました。脅威の発生可能性を見直してください".into(),
            );
            for id in read.technique_ids() {
                g.technique(&id, &[]);
            }
            let suppliers = read.supplier_refs();
            if !suppliers.is_empty() {
                g.trigger = Trigger::SupplierIncident;
                g.boost = 30;
                g.suggestion = (
                    "an incident at a supplier this risk depends on: review the likelihood, and whether the incident process should start".into(),
                    "依存するサプライヤーでインシデントが発生しました。発生可能性を見直し、インシデント対応の要否を判断してください".into(),
                );
                for s in suppliers {
                    g.supplier(&s);
                }
            }
        }
        "advisory" => {
            let cve = read.external_id().map_or(name, str::to_string);
            let exploitation = read.exploitation();
            g.trigger = Trigger::Vulnerability;
            g.source_title = format!("advisory {cve} (exploitation: {exploitation}, revision {})", item.revision);
            g.boost = match exploitation {
                "known_exploited" => 30,
                "poc_public" => 15,
                _ => 0,
            } + read.cvss_base_score().map_or(0, |s| if s >= 9.0 { 10 } else { 0 });
            g.suggestion = (
                format!("{cve} affects what this risk rests on (exploitation: {exploitation}): review the vulnerability factor, patch or compensating controls"),
                format!("{cve} がこのリスクの対象に該当します(悪用状況: {exploitation})。脆弱性の評価と、パッチ適用または代替策を見直してください"),
            );
            for risk in index.risks("cve", &cve).to_vec() {
                let evidence = Evidence {
                    selector: "cve".into(),
                    theirs: cve.clone(),
                    ours: format!("risk names {cve}"),
                    via: "risk".into(),
                };
                g.hit(&risk, Quality::Exact, evidence, 0);
            }
            let affected = read.affected();
            for product in &affected {
                let key = crate::assets::product_key(&product.cpe.vendor, &product.cpe.product);
                for (kind, named) in [("cpe", "CPE"), ("product", "vendor and product")] {
                    for asset in index.assets(kind, &key).to_vec() {
                        let version = index.assets.get(&asset).and_then(|(v, _)| v.clone());
                        let quality = match (&version, kind) {
                            (Some(v), "cpe") if product.covers(v) => Quality::VersionInRange,
                            (Some(v), _) if !product.covers(v) => continue,
                            _ => Quality::ProductOnly,
                        };
                        let evidence = Evidence {
                            selector: "cpe".into(),
                            theirs: product.cpe.to_string(),
                            ours: format!(
                                "asset {asset} ({named} {key}, version {})",
                                version.as_deref().unwrap_or("unknown")
                            ),
                            via: "asset -> risk".into(),
                        };
                        g.via_asset(&asset, quality, evidence);
                    }
                }
            }
        }
        _ => {
            let change: renkei_schema::supply::change::RatingChange =
                serde_json::from_value(stix).with_context(|| format!("rating event {}", item.id))?;
            if !change.worsened {
                return Ok(Vec::new());
            }
            let tier = |s: &renkei_schema::supply::change::RatingSummary| {
                format!("{} {}", s.tier.as_deref().unwrap_or("-"), s.score.map_or("-".into(), |s| s.to_string()))
            };
            let reasons: Vec<String> = change.reasons.iter().map(|r| r.en.clone()).collect();
            let reasons_ja: Vec<String> = change.reasons.iter().map(|r| r.ja.clone()).collect();
            g.trigger = Trigger::SupplierRating;
            g.source_title = format!(
                "rating of {} worsened ({} -> {}): {}",
                change.offering_ref.as_deref().unwrap_or(&change.supplier_ref),
                tier(&change.previous),
                tier(&change.current),
                reasons.join("; ")
            );
            g.suggestion = (
                "a supplier this risk depends on is rated worse: consider raising the likelihood where the dependency is 3 or more, or the supplier has remote access".into(),
                format!("依存するサプライヤーの評価が低下しました({})。依存度が3以上またはリモートアクセスがある場合は発生可能性の引き上げを検討してください", reasons_ja.join("、")),
            );
            match &change.offering_ref {
                Some(offering) => g.supplier(offering),
                None => g.supplier(&change.supplier_ref),
            }
        }
    }
    Ok(g.out.into_values().collect())
}

/// What recording candidates did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub raised: usize,
    pub updated: usize,
    /// Dismissed or resolved already for this revision of the source.
    pub suppressed: usize,
}

impl std::ops::AddAssign for Recorded {
    fn add_assign(&mut self, o: Recorded) {
        self.raised += o.raised;
        self.updated += o.updated;
        self.suppressed += o.suppressed;
    }
}

/// A new flag's row.
type NewFlag<'a> = (
    diesel::dsl::Eq<flags::risk_id, &'a str>,
    diesel::dsl::Eq<flags::source, &'a str>,
    diesel::dsl::Eq<flags::source_revision, i64>,
    diesel::dsl::Eq<flags::trigger_kind, &'a str>,
    diesel::dsl::Eq<flags::quality, &'a str>,
    diesel::dsl::Eq<flags::priority, i32>,
    diesel::dsl::Eq<flags::status, &'a str>,
    diesel::dsl::Eq<flags::detail, String>,
    diesel::dsl::Eq<flags::created_at, &'a str>,
    diesel::dsl::Eq<flags::updated_at, &'a str>,
);

/// A flag already held for a (risk, source): its id, status and source revision.
type HeldFlag = (i32, String, i64);

/// Raises or updates flags (in the caller's transaction). The flags already held for
/// these sources are read in a few queries and new ones written many rows a statement:
/// one technique can flag a thousand risks.
pub fn record(conn: &mut SqliteConnection, candidates: Vec<Candidate>) -> Result<Recorded> {
    let mut done = Recorded::default();
    let now = crate::register::stamp(Utc::now());
    let mut sources: Vec<&str> = candidates.iter().map(|c| c.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    let mut held: HashMap<(String, String), Vec<HeldFlag>> = HashMap::new();
    for chunk in sources.chunks(500) {
        let rows: Vec<(String, String, i32, String, i64)> = flags::table
            .filter(flags::source.eq_any(chunk))
            .select((flags::risk_id, flags::source, flags::id, flags::status, flags::source_revision))
            .load(conn)?;
        for (risk, source, id, status, rev) in rows {
            held.entry((risk, source)).or_default().push((id, status, rev));
        }
    }
    let mut new_rows: Vec<NewFlag<'_>> = Vec::new();
    for c in &candidates {
        let existing = held.get(&(c.risk_id.clone(), c.source.clone())).map_or(&[][..], |v| v.as_slice());
        let detail = serde_json::to_string(&c.detail)?;
        if let Some((id, _, _)) = existing.iter().find(|(_, s, _)| s == "open") {
            diesel::update(flags::table.find(id))
                .set((
                    flags::source_revision.eq(c.source_revision),
                    flags::trigger_kind.eq(c.trigger.as_str()),
                    flags::quality.eq(c.quality.as_str()),
                    flags::priority.eq(c.priority),
                    flags::detail.eq(&detail),
                    flags::updated_at.eq(&now),
                ))
                .execute(conn)?;
            done.updated += 1;
        } else if existing.iter().any(|(_, s, rev)| s != "withdrawn" && *rev >= c.source_revision) {
            done.suppressed += 1;
        } else {
            new_rows.push((
                flags::risk_id.eq(c.risk_id.as_str()),
                flags::source.eq(c.source.as_str()),
                flags::source_revision.eq(c.source_revision),
                flags::trigger_kind.eq(c.trigger.as_str()),
                flags::quality.eq(c.quality.as_str()),
                flags::priority.eq(c.priority),
                flags::status.eq("open"),
                flags::detail.eq(detail),
                flags::created_at.eq(now.as_str()),
                flags::updated_at.eq(now.as_str()),
            ));
        }
    }
    // 10 parameters a row: 1,000 rows stay well under SQLite's limit of 32,766.
    for chunk in new_rows.chunks(1000) {
        diesel::insert_into(flags::table).values(chunk).execute(conn)?;
    }
    done.raised += new_rows.len();
    Ok(done)
}

/// Matches a page of items just stored and records the flags they raise.
pub fn match_items(conn: &mut SqliteConnection, index: &MatchIndex, items: &[ItemRow]) -> Result<Recorded> {
    let mut all = Vec::new();
    for item in items {
        all.extend(candidates(index, item)?);
        if item.kind == "rating-change" {
            note_rating(conn, index, item)?;
        }
    }
    all.extend(crate::appetite::after_page(conn, items, Utc::now())?.into_iter().map(Candidate::from));
    record(conn, all)
}

/// Keeps the score and tier of a supplier the register depends on current, for
/// reports (events about other suppliers cost a small parse and no write).
fn note_rating(conn: &mut SqliteConnection, index: &MatchIndex, item: &ItemRow) -> Result<()> {
    #[derive(Deserialize)]
    struct Current {
        score: Option<i64>,
        tier: Option<String>,
    }
    #[derive(Deserialize)]
    struct Note {
        supplier_ref: String,
        offering_ref: Option<String>,
        current: Current,
    }
    let note: Note = serde_json::from_str(&item.stix).with_context(|| format!("rating event {}", item.id))?;
    if note.offering_ref.is_none() && index.known_suppliers.contains(&note.supplier_ref) {
        crate::context::note_rating(conn, &note.supplier_ref, note.current.score, note.current.tier.as_deref())?;
    }
    Ok(())
}

/// An item the member may no longer hold (a tombstone) withdraws its open flags.
pub fn withdraw_source(conn: &mut SqliteConnection, source: &str) -> Result<usize> {
    Ok(diesel::update(flags::table.filter(flags::source.eq(source)).filter(flags::status.eq("open")))
        .set((flags::status.eq("withdrawn"), flags::resolution.eq("the item was withdrawn or its label tightened")))
        .execute(conn)?)
}

/// Imports assets into the register (`assets::import`) and flags the risks resting on
/// those that changed, in one transaction. Returns how many assets were imported.
pub fn import_assets(conn: &mut SqliteConnection, inputs: Vec<(String, crate::assets::AssetInput)>) -> Result<usize> {
    import_assets_with_progress(conn, inputs, &mut |_| {})
}

/// `import_assets`, telling `progress` how many more assets were stored as it goes.
pub fn import_assets_with_progress(
    conn: &mut SqliteConnection,
    inputs: Vec<(String, crate::assets::AssetInput)>,
    progress: &mut dyn FnMut(usize),
) -> Result<usize> {
    conn.transaction(|c| {
        let imported = crate::assets::import_with_progress(c, inputs, progress)?;
        for change in &imported.changed {
            asset_changed(c, &change.asset, &change.changes)?;
        }
        Ok(imported.count)
    })
}

/// Imports attack trees (`trees::import`) and, in the same transaction, matches the
/// techniques and incidents already held against their leaves: a technique shared before
/// the tree was drawn flags the tree's risk as one shared after would. Only flags that
/// came through a leaf are recorded; the rest were raised when the items arrived.
/// Returns the trees' ids and what was flagged.
pub fn import_trees(
    conn: &mut SqliteConnection,
    inputs: Vec<crate::trees::TreeInput>,
) -> Result<(Vec<String>, Recorded)> {
    crate::register::write_transaction(conn, |c| {
        let ids = crate::trees::import(c, inputs)?;
        let index = MatchIndex::load(c)?;
        let mut through_leaves = Vec::new();
        for kind in ["technique", "incident"] {
            for item in crate::register::held_items(c, Some(kind))? {
                through_leaves.extend(
                    candidates(&index, &item)?
                        .into_iter()
                        .filter(|found| found.detail.paths.iter().any(|p| ids.contains(&p.tree))),
                );
            }
        }
        let recorded = record(c, through_leaves)?;
        Ok((ids, recorded))
    })
}

/// Re-assesses a risk (`risks::revise`) and resolves its open flags with the new
/// revision, in one transaction. Returns the new revision and how many flags it resolved.
pub fn assess_risk(conn: &mut SqliteConnection, id: &str, change: crate::risks::Assessment) -> Result<(i32, usize)> {
    let note = change.note.trim().to_string();
    conn.transaction(|c| {
        let revision = crate::risks::revise(c, id, change)?;
        let resolved = resolve_for_risk(c, id, revision, &note)?;
        Ok((revision, resolved))
    })
}

/// An asset changed: the risks resting on it are flagged (source `asset:NAME`).
pub fn asset_changed(conn: &mut SqliteConnection, asset: &str, changes: &[String]) -> Result<Recorded> {
    use crate::tables::risk_links;
    let risks: Vec<String> = risk_links::table
        .filter(risk_links::kind.eq("asset"))
        .filter(risk_links::value.eq(asset))
        .select(risk_links::risk_id)
        .load(conn)?;
    let revision = Utc::now().timestamp();
    let candidates = risks
        .into_iter()
        .map(|risk_id| Candidate {
            risk_id,
            source: format!("asset:{asset}"),
            source_revision: revision,
            trigger: Trigger::AssetChanged,
            quality: Quality::Exact,
            priority: Quality::Scheduled.weight(),
            detail: Detail {
                source_title: format!("asset {asset} changed"),
                evidence: changes
                    .iter()
                    .map(|c| Evidence {
                        selector: "asset".into(),
                        theirs: c.clone(),
                        ours: asset.into(),
                        via: "asset -> risk".into(),
                    })
                    .collect(),
                suggestion: "the asset changed since the risk was rated: re-rate the current risk".into(),
                suggestion_ja: "評価後に資産が変更されました。現在のリスクを再評価してください".into(),
                paths: Vec::new(),
            },
        })
        .collect();
    record(conn, candidates)
}

/// Flags what dates and criteria make due: a review date passed, an acceptance expired,
/// a rating made under an older matrix.
pub fn raise_due(conn: &mut SqliteConnection, now: chrono::DateTime<Utc>) -> Result<Recorded> {
    let matrix = crate::matrix::current(conn)?;
    let mut candidates = Vec::new();
    for risk in crate::risks::list(conn)? {
        let level = risk.effective().map_or(-1, |r| r.level as i32);
        let mut due = |source: &str, rev: i64, trigger: Trigger, title: String, en: String, ja: String| {
            candidates.push(Candidate {
                risk_id: risk.id.clone(),
                source: source.into(),
                source_revision: rev,
                trigger,
                quality: Quality::Scheduled,
                priority: Quality::Scheduled.weight() + 10 * level.max(0),
                detail: Detail {
                    source_title: title,
                    evidence: vec![Evidence {
                        selector: "date".into(),
                        theirs: now.date_naive().to_string(),
                        ours: risk.id.clone(),
                        via: "risk".into(),
                    }],
                    suggestion: en,
                    suggestion_ja: ja,
                    paths: Vec::new(),
                },
            });
        };
        let next = risk.next_review(&matrix);
        if next <= now {
            due(
                "review",
                risk.revision.into(),
                Trigger::ReviewDue,
                format!("review due since {}", next.date_naive()),
                "the periodic review of this risk is due: re-assess it".into(),
                "定期見直しの期限です。リスクを再評価してください".into(),
            );
        }
        if let Some(until) = risk.accepted_until.filter(|u| risk.treatment == "accept" && *u < now.date_naive()) {
            due(
                "acceptance",
                risk.revision.into(),
                Trigger::AcceptanceExpired,
                format!("acceptance expired on {until}"),
                "the acceptance lapsed: treat the risk again or renew the acceptance with its approver".into(),
                "リスク受容の期限が切れました。対応方針を見直すか、承認者の承認を得て受容を更新してください".into(),
            );
        }
        if risk.matrix_version < matrix.version {
            due(
                "matrix",
                matrix.version,
                Trigger::MatrixChanged,
                format!("rated under matrix version {}, now {}", risk.matrix_version, matrix.version),
                "the risk matrix changed: re-rate on the new matrix".into(),
                "リスクマトリクスが変更されました。新しいマトリクスで再評価してください".into(),
            );
        }
    }
    candidates.extend(plan_overdue(conn, now)?);
    candidates.extend(crate::appetite::flags_due(conn, now)?.into_iter().map(Candidate::from));
    record(conn, candidates)
}

/// The risks of overdue treatment actions (handbook 6.3, `plans`): one flag per risk
/// and action (source `plan:P-0001`), its revision the due date, so an action re-planned
/// and overdue again flags again.
fn plan_overdue(conn: &mut SqliteConnection, now: chrono::DateTime<Utc>) -> Result<Vec<Candidate>> {
    use crate::tables::risks;
    let levels: HashMap<String, i32> = risks::table.select((risks::id, risks::level)).load(conn)?.into_iter().collect();
    let overdue = crate::plans::overdue_links(conn, now.date_naive())?;
    Ok(overdue
        .into_iter()
        .map(|o| Candidate {
            priority: Quality::Scheduled.weight() + 10 * levels.get(&o.risk_id).copied().unwrap_or(-1).max(0),
            source: format!("plan:{}", o.action_id),
            source_revision: o.due.format("%Y%m%d").to_string().parse().unwrap_or_default(),
            trigger: Trigger::PlanOverdue,
            quality: Quality::Scheduled,
            detail: Detail {
                source_title: format!("treatment action {} \"{}\" overdue since {}", o.action_id, o.title, o.due),
                evidence: vec![Evidence {
                    selector: "plan".into(),
                    theirs: format!("due {}, {} days overdue", o.due, o.days_overdue),
                    ours: format!("action {} owned by {}", o.action_id, o.owner),
                    via: "plan -> risk".into(),
                }],
                suggestion: format!(
                    "the treatment action {} is overdue: finish it or re-plan its date with {}, and re-assess the risk as it stands without it",
                    o.action_id, o.owner
                ),
                suggestion_ja: format!(
                    "リスク対応策 {} が期限を過ぎています。{} と完了または期限の見直しを行い、対応策が未完了の現状でリスクを再評価してください",
                    o.action_id, o.owner
                ),
                paths: Vec::new(),
            },
            risk_id: o.risk_id,
        })
        .collect())
}

/// A breach of risk appetite or tolerance, or a trend towards one (handbook 5.1), on a
/// risk tied to the service: the risk names the service, so the match is exact.
impl From<crate::appetite::AppetiteFlag> for Candidate {
    fn from(a: crate::appetite::AppetiteFlag) -> Candidate {
        let evidence =
            a.evidence.into_iter().map(|(selector, theirs, ours, via)| Evidence { selector, theirs, ours, via });
        Candidate {
            risk_id: a.risk_id,
            source: a.source,
            source_revision: a.source_revision,
            trigger: Trigger::AppetiteBreach,
            quality: Quality::Exact,
            priority: a.priority,
            detail: Detail {
                source_title: a.title,
                evidence: evidence.collect(),
                suggestion: a.suggestion,
                suggestion_ja: a.suggestion_ja,
                paths: Vec::new(),
            },
        }
    }
}

/// Stores the member's own incidents (`appetite::store`, all or none) and flags the
/// risks of the services whose appetite or tolerance they breach or trend towards, in
/// one transaction.
pub fn record_incidents(
    conn: &mut SqliteConnection,
    rows: crate::appetite::IncidentRows,
    now: chrono::DateTime<Utc>,
) -> Result<(crate::appetite::Stored, Recorded)> {
    conn.immediate_transaction(|c| {
        let stored = crate::appetite::store(c, rows, now)?;
        let due = crate::appetite::flags_due(c, now)?;
        let flagged = record(c, due.into_iter().map(Candidate::from).collect())?;
        Ok((stored, flagged))
    })
}

/// How many open flags each risk has (risks without any are absent).
pub fn open_counts(conn: &mut SqliteConnection) -> Result<HashMap<String, usize>> {
    let rows: Vec<(String, i64)> = flags::table
        .filter(flags::status.eq("open"))
        .group_by(flags::risk_id)
        .select((flags::risk_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().map(|(risk, n)| (risk, n as usize)).collect())
}

/// Resolves the open flags of a risk with the revision that answered them.
pub fn resolve_for_risk(conn: &mut SqliteConnection, risk: &str, revision: i32, note: &str) -> Result<usize> {
    let resolution = serde_json::json!({"revision": revision, "note": note, "at": Utc::now().to_rfc3339()}).to_string();
    Ok(diesel::update(flags::table.filter(flags::risk_id.eq(risk)).filter(flags::status.eq("open")))
        .set((flags::status.eq("resolved"), flags::resolution.eq(resolution)))
        .execute(conn)?)
}

/// Dismisses an open flag; the reason is required and kept.
pub fn dismiss(conn: &mut SqliteConnection, id: i32, reason: &str) -> Result<()> {
    if reason.trim().is_empty() {
        bail!("dismissing a flag needs a reason (--reason) / フラグを却下するには理由(--reason)が必要です");
    }
    let resolution = serde_json::json!({"dismissed": reason.trim(), "at": Utc::now().to_rfc3339()}).to_string();
    let n = diesel::update(flags::table.find(id).filter(flags::status.eq("open")))
        .set((flags::status.eq("dismissed"), flags::resolution.eq(resolution)))
        .execute(conn)?;
    if n == 0 {
        bail!("no open flag {id} / 未対応のフラグ {id} はありません");
    }
    Ok(())
}

type FlagRow = (i32, String, String, i64, String, String, i32, String, String, String, String, Option<String>);

/// Flags with this status (`open`, `resolved`, `dismissed`, `withdrawn`, or `all`),
/// the highest priority first.
pub fn list(conn: &mut SqliteConnection, status: &str) -> Result<Vec<Flag>> {
    let mut query = flags::table
        .order((flags::priority.desc(), flags::created_at.asc(), flags::id.asc()))
        .select((
            flags::id,
            flags::risk_id,
            flags::source,
            flags::source_revision,
            flags::trigger_kind,
            flags::quality,
            flags::priority,
            flags::status,
            flags::detail,
            flags::created_at,
            flags::updated_at,
            flags::resolution,
        ))
        .into_boxed();
    if status != "all" {
        query = query.filter(flags::status.eq(status.to_string()));
    }
    let rows: Vec<FlagRow> = query.load(conn)?;
    rows.into_iter()
        .map(|r| {
            Ok(Flag {
                id: r.0,
                risk_id: r.1,
                source: r.2,
                source_revision: r.3,
                trigger: Trigger::parse(&r.4).with_context(|| format!("unknown trigger {:?} in the register", r.4))?,
                quality: r.5,
                priority: r.6,
                status: r.7,
                detail: serde_json::from_str(&r.8)?,
                created_at: r.9,
                updated_at: r.10,
                resolution: r.11,
            })
        })
        .collect()
}
