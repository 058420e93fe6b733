//! Business-damage analysis with attack trees (handbook 5.2: "for each business damage
//! to avoid, its size × attack likelihood × vulnerability along the attack tree").
//!
//! An attack tree belongs to one business damage to avoid: it names the damage (in
//! English, and in Japanese if given), the business services it hurts, the
//! business-damage-based risk it analyses and the damage's size (the impact, on the
//! matrix's scale, `matrix`). Its nodes run from the entry points (the leaves) up to the
//! damage (the root): an AND step needs all of its children, an OR step any one. Each
//! leaf is an ATT&CK technique (Enterprise `T1xxx(.xxx)` or ICS `T0xxx`) used against an
//! asset of the register, with a threat likelihood and a vulnerability on the matrix's
//! scale; a leaf that gives neither takes the risk's current factors (its current
//! rating, else its inherent one).
//!
//! **The rule along the tree.** Each node gets a (threat, vulnerability) pair:
//! - a leaf: its own (or the risk's) pair;
//! - an OR step: the pair of its easiest child, the one with the highest threat
//!   likelihood, and of those the highest vulnerability (the attacker takes the easiest
//!   way, and one way is enough);
//! - an AND step: the lowest threat likelihood and the lowest vulnerability of its
//!   children, each taken on its own (every step must succeed, so the hardest bounds it).
//!
//! Every node is then placed on the matrix with the damage size as impact
//! (`Matrix::rate`): the root's rating is the tree's value (size × threat ×
//! vulnerability) and level.
//!
//! A file is checked whole: every problem of every tree is named (in English and
//! Japanese) and nothing is stored unless all are good. Trees are kept as JSON
//! (`attack_trees`, as exported) with one row per leaf (`attack_tree_leaves`, indexed by
//! technique, with the path of titles from the leaf to the damage) that reassessment
//! (`flags`) looks shared techniques up in.

use std::collections::{HashMap, HashSet};

use crate::error::{Context as _, Error, Result};
use crate::matrix::{Factors, Matrix};
use crate::register;
use crate::tables::{attack_tree_leaves, attack_trees};
use chrono::Utc;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use serde::{Deserialize, Serialize};

/// The most nodes a tree may have.
pub const MAX_NODES: usize = 2_000;
/// The deepest a tree may be (the root is at depth 0).
pub const MAX_DEPTH: usize = 40;
/// The longest title or damage text, in characters.
const MAX_TEXT: usize = 500;
/// Settings key of the next tree number (`AT-0001`…).
const NEXT_TREE: &str = "next_attack_tree_number";

/// A node's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Every child must succeed.
    And,
    /// Any one child is enough.
    Or,
    /// An entry point: a technique used against an asset.
    Leaf,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::And => "and",
            Kind::Or => "or",
            Kind::Leaf => "leaf",
        }
    }
}

/// A tree as written in a file (import); every field is checked by [`import`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TreeInput {
    /// The tree's id; a new one (`AT-0001`…) when absent. An id the register holds
    /// replaces that tree.
    pub id: Option<String>,
    /// The business damage to avoid.
    pub damage: String,
    pub damage_ja: Option<String>,
    /// The business services the damage hurts (as `renkei service add` named them).
    pub services: Vec<String>,
    /// The business-damage-based risk the tree analyses (`R-0001`).
    pub risk: String,
    /// The damage's size: the impact, on the matrix's scale.
    pub damage_size: usize,
    pub nodes: Vec<NodeInput>,
}

/// A node as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeInput {
    /// Unique within the tree.
    pub id: String,
    /// `and`, `or` or `leaf`.
    pub kind: String,
    pub title: String,
    pub title_ja: Option<String>,
    /// Of an AND or OR step: the ids of its children.
    pub children: Vec<String>,
    /// Of a leaf: its ATT&CK technique id.
    pub technique: Option<String>,
    /// Of a leaf: the asset (of the register) the technique is used against.
    pub asset: Option<String>,
    /// Of a leaf: the threat likelihood (1..=scale); the risk's when absent.
    pub threat: Option<usize>,
    /// Of a leaf: the vulnerability (1..=scale); the risk's when absent.
    pub vulnerability: Option<usize>,
}

/// A node as stored (and exported: an exported tree imports as it is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: String,
    pub kind: Kind,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_ja: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technique: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threat: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerability: Option<usize>,
}

/// A tree as stored: checked, its nodes in the order given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackTree {
    pub id: String,
    pub damage: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damage_ja: Option<String>,
    pub services: Vec<String>,
    pub risk: String,
    pub damage_size: usize,
    pub nodes: Vec<Node>,
}

impl AttackTree {
    /// The index of the root: the one node that is no node's child (checked on import).
    fn root(&self) -> Option<usize> {
        let children: HashSet<&str> = self.nodes.iter().flat_map(|n| n.children.iter().map(String::as_str)).collect();
        self.nodes.iter().position(|n| !children.contains(n.id.as_str()))
    }

    /// The damage, in both languages when both are given.
    pub fn damage_text(&self) -> String {
        match &self.damage_ja {
            Some(ja) => format!("{} / {ja}", self.damage),
            None => self.damage.clone(),
        }
    }

    /// The titles from each leaf up to the damage (the root's title, then the damage
    /// itself when the root says something else), by leaf id.
    fn leaf_paths(&self) -> HashMap<&str, Vec<String>> {
        let index: HashMap<&str, &Node> = self.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
        let parent: HashMap<&str, &str> =
            self.nodes.iter().flat_map(|n| n.children.iter().map(move |c| (c.as_str(), n.id.as_str()))).collect();
        let damage = self.damage_text();
        let mut out = HashMap::new();
        for leaf in self.nodes.iter().filter(|n| n.kind == Kind::Leaf) {
            let mut steps = Vec::new();
            let mut at = Some(leaf.id.as_str());
            // Bounded: a checked tree has no cycle and is at most MAX_DEPTH deep.
            while let Some(id) = at.filter(|_| steps.len() <= MAX_DEPTH) {
                if let Some(node) = index.get(id) {
                    steps.push(node.title.clone());
                }
                at = parent.get(id).copied();
            }
            if steps.last() != Some(&self.damage) {
                steps.push(damage.clone());
            }
            out.insert(leaf.id.as_str(), steps);
        }
        out
    }
}

/// Where a shared technique met an attack tree: the tree, the leaf, and the titles
/// from the leaf up to the damage. Carried by the flag it raises (`flags::Detail`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TreePath {
    pub tree: String,
    /// The leaf's node id.
    pub leaf: String,
    pub technique: String,
    pub asset: String,
    /// The titles, the leaf first and the business damage last.
    pub steps: Vec<String>,
}

/// A leaf as reassessment looks it up (by technique).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafRef {
    pub tree: String,
    pub risk: String,
    pub node: String,
    pub technique: String,
    pub asset: String,
    /// The titles from the leaf to the damage, as JSON (read only when matched).
    pub path: String,
}

impl LeafRef {
    pub fn path(&self) -> TreePath {
        TreePath {
            tree: self.tree.clone(),
            leaf: self.node.clone(),
            technique: self.technique.clone(),
            asset: self.asset.clone(),
            steps: serde_json::from_str(&self.path).unwrap_or_default(),
        }
    }
}

/// Every leaf of every tree, by technique: what `flags::MatchIndex` holds.
pub fn leaves_by_technique(conn: &mut SqliteConnection) -> Result<HashMap<String, Vec<LeafRef>>> {
    let risk_of: HashMap<String, String> =
        attack_trees::table.select((attack_trees::id, attack_trees::risk_id)).load(conn)?.into_iter().collect();
    let rows: Vec<(String, String, String, String, String)> = attack_tree_leaves::table
        .select((
            attack_tree_leaves::technique,
            attack_tree_leaves::tree_id,
            attack_tree_leaves::node,
            attack_tree_leaves::asset,
            attack_tree_leaves::path,
        ))
        .load(conn)?;
    let mut out: HashMap<String, Vec<LeafRef>> = HashMap::new();
    for (technique, tree, node, asset, path) in rows {
        let Some(risk) = risk_of.get(&tree) else { continue };
        out.entry(technique.clone()).or_default().push(LeafRef {
            tree,
            risk: risk.clone(),
            node,
            technique,
            asset,
            path,
        });
    }
    Ok(out)
}

fn text_problem(what: &str, text: &str, problems: &mut Vec<String>) {
    if text.chars().count() > MAX_TEXT {
        problems.push(format!("{what} is longer than {MAX_TEXT} characters / {what}は{MAX_TEXT}文字以内です"));
    }
}

fn optional_text(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

/// Whether an id is short and plain (letters, digits, `-`, `_`, `.`).
fn plain_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// What checking a tree needs from the register, read once for a whole file.
struct Known {
    matrix: Matrix,
    assets: HashSet<String>,
    services: HashSet<String>,
    /// Risk id → (method, the current factors (threat, vulnerability) if rated).
    risks: HashMap<String, (String, Option<(usize, usize)>)>,
}

impl Known {
    fn load(conn: &mut SqliteConnection, inputs: &[TreeInput]) -> Result<Known> {
        let mut assets: Vec<String> = inputs
            .iter()
            .flat_map(|t| t.nodes.iter().filter_map(|n| n.asset.as_ref().map(|a| a.trim().to_string())))
            .collect();
        assets.sort();
        assets.dedup();
        let mut known_assets = HashSet::new();
        for chunk in assets.chunks(500) {
            known_assets.extend(crate::assets::criticalities(conn, chunk)?.into_keys());
        }
        let mut services: Vec<String> =
            inputs.iter().flat_map(|t| t.services.iter().map(|s| s.trim().to_string())).collect();
        services.sort();
        services.dedup();
        let unknown: HashSet<String> = crate::services::unknown(conn, &services)?.into_iter().collect();
        let mut risks = HashMap::new();
        for id in inputs.iter().map(|t| t.risk.trim()).filter(|r| !r.is_empty()) {
            if risks.contains_key(id) {
                continue;
            }
            match crate::risks::get(conn, id) {
                Ok(risk) => {
                    let factors = risk.effective().map(|r| (r.factors.threat, r.factors.vulnerability));
                    risks.insert(id.to_string(), (risk.method, factors));
                }
                // No such risk: named as a problem of the tree.
                Err(Error::Invalid(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Known {
            matrix: crate::matrix::current(conn)?,
            assets: known_assets,
            services: services.into_iter().filter(|s| !unknown.contains(s)).collect(),
            risks,
        })
    }
}

/// Checks one tree; every problem is listed.
fn checked(input: TreeInput, known: &Known) -> std::result::Result<AttackTree, Vec<String>> {
    let mut problems = Vec::new();
    let scale = known.matrix.scale;
    let id = optional_text(input.id).unwrap_or_default();
    if !id.is_empty() && !plain_id(&id) {
        problems.push(format!(
            "tree id {id:?}: use up to 64 letters, digits, '-', '_' or '.' / 木のID「{id}」は英数字と - _ . の64文字以内です"
        ));
    }
    let damage = input.damage.trim().to_string();
    if damage.is_empty() {
        problems.push("the business damage (damage) is empty / 事業被害(damage)が空です".into());
    }
    text_problem("damage", &damage, &mut problems);
    let damage_ja = optional_text(input.damage_ja);
    text_problem("damage_ja", damage_ja.as_deref().unwrap_or_default(), &mut problems);
    let mut services: Vec<String> =
        input.services.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    services.sort();
    services.dedup();
    if services.is_empty() {
        problems.push(
            "the tree names no business service (services) / 被害を受ける事業サービス(services)を指定してください"
                .into(),
        );
    }
    for s in services.iter().filter(|s| !known.services.contains(*s)) {
        problems.push(format!("no service {s:?} in the register / サービス「{s}」は登録されていません"));
    }
    let risk = input.risk.trim().to_string();
    let mut defaults = None;
    match known.risks.get(&risk) {
        _ if risk.is_empty() => problems.push("the tree names no risk (risk) / 分析対象のリスク(risk)を指定してください".into()),
        None => problems.push(format!("no risk {risk:?} in the register / リスク「{risk}」は登録されていません")),
        Some((method, _)) if method != "business_damage" => problems.push(format!(
            "risk {risk} is {method}-based; an attack tree analyses a business-damage-based risk / リスク {risk} は事業被害ベースではありません"
        )),
        Some((_, factors)) => defaults = *factors,
    }
    if !(1..=scale).contains(&input.damage_size) {
        problems.push(format!(
            "damage_size {} is outside 1..{scale} / 被害の大きさ(damage_size)は1〜{scale}です",
            input.damage_size
        ));
    }
    if input.nodes.is_empty() {
        problems.push("the tree has no nodes / ノードがありません".into());
    }
    if input.nodes.len() > MAX_NODES {
        problems.push(format!(
            "the tree has {} nodes, more than {MAX_NODES} / ノード数 {} は上限 {MAX_NODES} を超えています",
            input.nodes.len(),
            input.nodes.len()
        ));
        // Too big to check further at a reasonable cost.
        return Err(problems);
    }
    let mut nodes = Vec::with_capacity(input.nodes.len());
    let mut seen: HashSet<String> = HashSet::new();
    for (i, n) in input.nodes.into_iter().enumerate() {
        let nid = n.id.trim().to_string();
        let at = if nid.is_empty() { format!("node {}", i + 1) } else { format!("node {nid}") };
        let at_ja = if nid.is_empty() { format!("ノード{}", i + 1) } else { format!("ノード {nid}") };
        if nid.is_empty() {
            problems.push(format!("{at} has no id / {at_ja} にIDがありません"));
        } else if !plain_id(&nid) {
            problems.push(format!("{at}: use up to 64 letters, digits, '-', '_' or '.' in an id / {at_ja}: IDは英数字と - _ . の64文字以内です"));
        } else if !seen.insert(nid.clone()) {
            problems.push(format!("duplicate node id {nid:?} / ノードID「{nid}」が重複しています"));
        }
        let title = n.title.trim().to_string();
        if title.is_empty() {
            problems.push(format!("{at} has no title / {at_ja} に題名(title)がありません"));
        }
        text_problem(&format!("{at}: title"), &title, &mut problems);
        let title_ja = optional_text(n.title_ja);
        text_problem(&format!("{at}: title_ja"), title_ja.as_deref().unwrap_or_default(), &mut problems);
        let children: Vec<String> = n.children.iter().map(|c| c.trim().to_string()).collect();
        let kind = match n.kind.trim().to_lowercase().as_str() {
            "and" => Kind::And,
            "or" => Kind::Or,
            "leaf" => Kind::Leaf,
            other => {
                problems.push(format!(
                    "{at}: kind {other:?}, expected and, or or leaf / {at_ja}: 種別(kind)は and、or、leaf のいずれかです"
                ));
                Kind::Leaf
            }
        };
        let mut technique = None;
        let mut asset = None;
        if kind == Kind::Leaf {
            if !children.is_empty() {
                problems.push(format!("{at} is a leaf but has children / {at_ja} は葉ですが子ノードがあります"));
            }
            match n.technique.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                None => problems.push(format!(
                    "{at}: a leaf names its ATT&CK technique (technique) / {at_ja}: 葉にはATT&CKテクニック(technique)を指定してください"
                )),
                Some(t) => match renkei_schema::model::attack_id::validate_technique_id(t) {
                    // Enterprise (T1xxx, T1xxx.xxx) or ICS (T0xxx): the matrices a
                    // member's trees are drawn from.
                    Ok(t) if !(t.starts_with("T1") || t.starts_with("T0")) => problems.push(format!(
                        "{at}: technique {t}: a leaf takes an ATT&CK Enterprise (T1xxx, T1xxx.xxx) or ICS (T0xxx) technique / {at_ja}: テクニック {t}: 葉にはATT&CK EnterpriseまたはICSのテクニックを指定してください"
                    )),
                    Ok(t) => technique = Some(t),
                    Err(e) => problems.push(format!("{at}: technique {t:?}: {} / {at_ja}: {}", e.reason, e.reason_ja)),
                },
            }
            match n.asset.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
                None => problems.push(format!(
                    "{at}: a leaf names the asset it enters by (asset) / {at_ja}: 葉には侵入口となる資産(asset)を指定してください"
                )),
                Some(a) if !known.assets.contains(a) => {
                    problems.push(format!("{at}: no asset {a:?} in the register / {at_ja}: 資産「{a}」は登録されていません"))
                }
                Some(a) => asset = Some(a.to_string()),
            }
            for (name, value) in [("threat", n.threat), ("vulnerability", n.vulnerability)] {
                if value.is_some_and(|v| !(1..=scale).contains(&v)) {
                    problems.push(format!("{at}: {name} is outside 1..{scale} / {at_ja}: {name}は1〜{scale}です"));
                }
            }
            if (n.threat.is_none() || n.vulnerability.is_none())
                && defaults.is_none()
                && known.risks.contains_key(&risk)
            {
                problems.push(format!(
                    "{at}: no threat or vulnerability given and risk {risk} has no rating to take them from / {at_ja}: threat・vulnerabilityの指定がなく、リスク {risk} にも評価がありません"
                ));
            }
        } else {
            if children.is_empty() {
                problems.push(format!(
                    "{at} is an {} step with no children / {at_ja} は子ノードのない{}ノードです",
                    kind.as_str().to_uppercase(),
                    kind.as_str().to_uppercase()
                ));
            }
            if n.technique.is_some() || n.asset.is_some() || n.threat.is_some() || n.vulnerability.is_some() {
                problems.push(format!(
                    "{at}: technique, asset, threat and vulnerability belong to leaves / {at_ja}: technique・asset・threat・vulnerabilityは葉にのみ指定できます"
                ));
            }
        }
        nodes.push(Node {
            id: nid,
            kind,
            title,
            title_ja,
            children,
            technique,
            asset,
            threat: n.threat,
            vulnerability: n.vulnerability,
        });
    }
    shape_problems(&nodes, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(AttackTree { id, damage, damage_ja, services, risk, damage_size: input.damage_size, nodes })
}

/// The shape: children that exist, no node under two parents, no cycle, one root (an
/// AND or OR step) from which every node is reached, no deeper than [`MAX_DEPTH`].
fn shape_problems(nodes: &[Node], problems: &mut Vec<String>) {
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
    let mut parents: Vec<Vec<&str>> = vec![Vec::new(); nodes.len()];
    for n in nodes {
        for c in &n.children {
            match index.get(c.as_str()) {
                Some(&ci) => parents[ci].push(n.id.as_str()),
                None => problems.push(format!(
                    "node {}: no child node {c:?} in the tree / ノード {}: 子ノード「{c}」がありません",
                    n.id, n.id
                )),
            }
        }
    }
    for (i, ps) in parents.iter().enumerate() {
        if ps.len() > 1 {
            let id = &nodes[i].id;
            problems.push(format!(
                "node {id} is shared by {} (a tree gives each node one parent) / ノード {id} は複数の親({})に共有されています",
                ps.join(", "),
                ps.join("、")
            ));
        }
    }
    // Cycles: a depth-first walk over the children (iterative: a tree may be deep).
    let mut state = vec![0u8; nodes.len()]; // 0 unseen, 1 on the walk, 2 done
    let mut cycles: Vec<String> = Vec::new();
    for start in 0..nodes.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (at, ref mut next)) = stack.last_mut() {
            let child = nodes[at].children.get(*next).and_then(|c| index.get(c.as_str()).copied());
            if *next >= nodes[at].children.len() {
                state[at] = 2;
                stack.pop();
                continue;
            }
            *next += 1;
            let Some(ci) = child else { continue };
            match state[ci] {
                0 => {
                    state[ci] = 1;
                    stack.push((ci, 0));
                }
                1 => {
                    let from = stack.iter().position(|(n, _)| *n == ci).unwrap_or(0);
                    let ring: Vec<&str> = stack[from..].iter().map(|(n, _)| nodes[*n].id.as_str()).collect();
                    cycles.push(format!("{} -> {}", ring.join(" -> "), nodes[ci].id));
                }
                _ => {}
            }
        }
    }
    for c in &cycles {
        problems.push(format!("a cycle: {c} / 循環しています: {c}"));
    }
    let roots: Vec<usize> = (0..nodes.len()).filter(|&i| parents[i].is_empty()).collect();
    match roots[..] {
        [] if !nodes.is_empty() && cycles.is_empty() => {
            problems.push("no root: every node is another's child / 根(被害)のノードがありません".into())
        }
        [] => {}
        [root] => {
            if nodes[root].kind == Kind::Leaf {
                problems.push(format!(
                    "the root {} is a leaf; the damage is reached by AND or OR steps / 根 {} が葉です。被害はANDまたはORのノードです",
                    nodes[root].id, nodes[root].id
                ));
            }
            if !cycles.is_empty() {
                return;
            }
            // Depth, and nodes the root never reaches (only in a cycle, reported above).
            let mut depth = vec![usize::MAX; nodes.len()];
            depth[root] = 0;
            let mut stack = vec![root];
            let mut deepest = 0;
            while let Some(at) = stack.pop() {
                for c in &nodes[at].children {
                    if let Some(&ci) = index.get(c.as_str()) {
                        if depth[ci] == usize::MAX {
                            depth[ci] = depth[at] + 1;
                            deepest = deepest.max(depth[ci]);
                            stack.push(ci);
                        }
                    }
                }
            }
            if deepest > MAX_DEPTH {
                problems.push(format!(
                    "the tree is {deepest} levels deep, more than {MAX_DEPTH} / 木の深さ {deepest} は上限 {MAX_DEPTH} を超えています"
                ));
            }
        }
        _ => {
            let ids: Vec<&str> = roots.iter().map(|&i| nodes[i].id.as_str()).collect();
            problems.push(format!(
                "several roots: {} (a tree has one damage at its root; link them under one AND or OR step) / 根が複数あります: {}",
                ids.join(", "),
                ids.join("、")
            ));
        }
    }
}

/// Imports trees, all or none (one transaction): every problem of every tree is named,
/// and nothing is stored unless all are good. Returns the ids stored.
pub fn import(conn: &mut SqliteConnection, inputs: Vec<TreeInput>) -> Result<Vec<String>> {
    if inputs.is_empty() {
        crate::bail!("the file holds no attack tree / 攻撃ツリーがありません");
    }
    crate::register::write_transaction(conn, |c| {
        let known = Known::load(c, &inputs)?;
        let many = inputs.len() > 1;
        let mut problems = Vec::new();
        let mut trees = Vec::new();
        let mut ids = HashSet::new();
        for (i, input) in inputs.into_iter().enumerate() {
            let prefix = if many { format!("tree {} / 木{}: ", i + 1, i + 1) } else { String::new() };
            match checked(input, &known) {
                Ok(tree) => {
                    if !tree.id.is_empty() && !ids.insert(tree.id.clone()) {
                        problems.push(format!(
                            "{prefix}tree id {} given twice / 木のID {} が重複しています",
                            tree.id, tree.id
                        ));
                    }
                    trees.push(tree);
                }
                Err(ps) => problems.extend(ps.into_iter().map(|p| format!("{prefix}{p}"))),
            }
        }
        if !problems.is_empty() {
            crate::bail!("{}", problems.join("\n"));
        }
        let mut stored = Vec::new();
        for mut tree in trees {
            if tree.id.is_empty() {
                tree.id = next_id(c)?;
            }
            write(c, &tree)?;
            stored.push(tree.id);
        }
        Ok(stored)
    })
}

/// The next free `AT-NNNN`.
fn next_id(conn: &mut SqliteConnection) -> Result<String> {
    let mut number: u64 = register::get(conn, NEXT_TREE)?.and_then(|n| n.parse().ok()).unwrap_or(1);
    loop {
        let id = format!("AT-{number:04}");
        number += 1;
        let taken: i64 = attack_trees::table.filter(attack_trees::id.eq(&id)).count().get_result(conn)?;
        if taken == 0 {
            register::set(conn, NEXT_TREE, &number.to_string())?;
            return Ok(id);
        }
    }
}

/// Stores a tree (replacing one of the same id) and its leaves.
fn write(conn: &mut SqliteConnection, tree: &AttackTree) -> Result<()> {
    diesel::replace_into(attack_trees::table)
        .values((
            attack_trees::id.eq(&tree.id),
            attack_trees::risk_id.eq(&tree.risk),
            attack_trees::damage.eq(&tree.damage),
            attack_trees::body.eq(serde_json::to_string(tree)?),
            attack_trees::updated_at.eq(crate::register::stamp(Utc::now())),
        ))
        .execute(conn)?;
    diesel::delete(attack_tree_leaves::table.filter(attack_tree_leaves::tree_id.eq(&tree.id))).execute(conn)?;
    let paths = tree.leaf_paths();
    let mut rows = Vec::new();
    for leaf in tree.nodes.iter().filter(|n| n.kind == Kind::Leaf) {
        let path = serde_json::to_string(paths.get(leaf.id.as_str()).map_or(&[][..], |p| p.as_slice()))?;
        rows.push((
            attack_tree_leaves::tree_id.eq(&tree.id),
            attack_tree_leaves::node.eq(&leaf.id),
            attack_tree_leaves::technique.eq(leaf.technique.clone().unwrap_or_default()),
            attack_tree_leaves::asset.eq(leaf.asset.clone().unwrap_or_default()),
            attack_tree_leaves::path.eq(path),
        ));
    }
    // 5 parameters a row.
    for chunk in rows.chunks(1000) {
        diesel::insert_into(attack_tree_leaves::table).values(chunk).execute(conn)?;
    }
    Ok(())
}

pub fn get(conn: &mut SqliteConnection, id: &str) -> Result<AttackTree> {
    let body: Option<String> = attack_trees::table.find(id).select(attack_trees::body).first(conn).optional()?;
    let body = body.with_context(|| format!("no attack tree {id} / 攻撃ツリー {id} はありません"))?;
    Ok(serde_json::from_str(&body)?)
}

/// Every tree, by id.
pub fn list(conn: &mut SqliteConnection) -> Result<Vec<AttackTree>> {
    let bodies: Vec<String> =
        attack_trees::table.order(attack_trees::id.asc()).select(attack_trees::body).load(conn)?;
    bodies.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
}

/// A tree as JSON that `import` reads back as the same tree.
pub fn export(conn: &mut SqliteConnection, id: &str) -> Result<String> {
    Ok(serde_json::to_string_pretty(&get(conn, id)?)?)
}

/// A node with its values worked out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeValue {
    pub id: String,
    pub kind: Kind,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_ja: Option<String>,
    /// 0 at the root.
    pub depth: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub technique: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    pub threat: usize,
    pub vulnerability: usize,
    /// The matrix's likelihood for (threat, vulnerability).
    pub likelihood: usize,
    /// damage size × threat × vulnerability: the tree's value were this node the root.
    pub value: usize,
    pub level: usize,
    pub level_name: String,
    /// A leaf that took the risk's factors.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub from_risk: bool,
}

/// A tree with its values: the root's rating and every node's, the root first and
/// each node before its children (children in the order given).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Computed {
    pub id: String,
    pub damage: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage_ja: Option<String>,
    pub services: Vec<String>,
    pub risk: String,
    pub damage_size: usize,
    pub threat: usize,
    pub vulnerability: usize,
    pub likelihood: usize,
    pub value: usize,
    pub level: usize,
    pub level_name: String,
    pub nodes: Vec<NodeValue>,
}

/// Works a stored tree out on the matrix in force, leaves without factors taking the
/// risk's current ones.
pub fn compute_stored(conn: &mut SqliteConnection, tree: &AttackTree) -> Result<Computed> {
    let matrix = crate::matrix::current(conn)?;
    let risk = crate::risks::get(conn, &tree.risk)?;
    let defaults = risk.effective().map(|r| (r.factors.threat, r.factors.vulnerability));
    compute(tree, &matrix, defaults)
}

/// Works a tree out (the rule is in the module's doc). `defaults`: the risk's current
/// (threat, vulnerability), for leaves that give none.
pub fn compute(tree: &AttackTree, matrix: &Matrix, defaults: Option<(usize, usize)>) -> Result<Computed> {
    let root = tree.root().with_context(|| format!("attack tree {} has no root / 根がありません", tree.id))?;
    let index: HashMap<&str, usize> = tree.nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
    // Pre-order from the root (iterative), children in the order given.
    let mut order: Vec<(usize, usize, Option<usize>)> = Vec::with_capacity(tree.nodes.len());
    let mut stack = vec![(root, 0, None)];
    while let Some((at, depth, parent)) = stack.pop() {
        crate::ensure!(
            order.len() < tree.nodes.len() && depth <= MAX_DEPTH,
            "attack tree {} is not a tree / 攻撃ツリー {} の形が不正です",
            tree.id,
            tree.id
        );
        order.push((at, depth, parent));
        for c in tree.nodes[at].children.iter().rev() {
            let ci =
                index.get(c.as_str()).copied().with_context(|| format!("no node {c} / ノード {c} がありません"))?;
            stack.push((ci, depth + 1, Some(at)));
        }
    }
    let mut pair: Vec<Option<(usize, usize, bool)>> = vec![None; tree.nodes.len()];
    // Children before parents: the pre-order reversed.
    for &(at, _, _) in order.iter().rev() {
        let node = &tree.nodes[at];
        let children = || node.children.iter().filter_map(|c| index.get(c.as_str()).and_then(|&ci| pair[ci]));
        pair[at] = match node.kind {
            Kind::Leaf => {
                let (dt, dv) = defaults.unzip();
                let threat = node.threat.or(dt);
                let vulnerability = node.vulnerability.or(dv);
                let from_risk = node.threat.is_none() || node.vulnerability.is_none();
                match (threat, vulnerability) {
                    (Some(t), Some(v)) => Some((t, v, from_risk)),
                    _ => crate::bail!(
                        "leaf {} has no threat or vulnerability and the risk {} is not rated / 葉 {} の値がなく、リスク {} も未評価です",
                        node.id,
                        tree.risk,
                        node.id,
                        tree.risk
                    ),
                }
            }
            // The easiest child: the highest threat, then the highest vulnerability.
            Kind::Or => children().max_by_key(|&(t, v, _)| (t, v)).map(|(t, v, _)| (t, v, false)),
            // Each factor at its hardest.
            Kind::And => children().reduce(|a, b| (a.0.min(b.0), a.1.min(b.1), false)).map(|(t, v, _)| (t, v, false)),
        };
    }
    let mut nodes = Vec::with_capacity(order.len());
    for &(at, depth, parent) in &order {
        let node = &tree.nodes[at];
        let (threat, vulnerability, from_risk) =
            pair[at].with_context(|| format!("node {} has no value / ノード {} の値がありません", node.id, node.id))?;
        let rated = matrix.rate(Factors { impact: tree.damage_size, threat, vulnerability })?;
        nodes.push(NodeValue {
            id: node.id.clone(),
            kind: node.kind,
            title: node.title.clone(),
            title_ja: node.title_ja.clone(),
            depth,
            parent: parent.map(|p| tree.nodes[p].id.clone()),
            technique: node.technique.clone(),
            asset: node.asset.clone(),
            threat,
            vulnerability,
            likelihood: rated.likelihood,
            value: rated.value,
            level: rated.level,
            level_name: matrix.level_name(rated.level),
            from_risk,
        });
    }
    let top = nodes.first().cloned().context("the tree has no nodes / ノードがありません")?;
    Ok(Computed {
        id: tree.id.clone(),
        damage: tree.damage.clone(),
        damage_ja: tree.damage_ja.clone(),
        services: tree.services.clone(),
        risk: tree.risk.clone(),
        damage_size: tree.damage_size,
        threat: top.threat,
        vulnerability: top.vulnerability,
        likelihood: top.likelihood,
        value: top.value,
        level: top.level,
        level_name: top.level_name,
        nodes,
    })
}

/// Text for XML (content and attribute values): the five markup characters escaped,
/// and the control characters XML 1.0 does not allow replaced by a space.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters, an ellipsis marking a cut.
fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

const BOX_W: usize = 230;
const BOX_H: usize = 74;
const SLOT_W: usize = 250;
const LAYER_H: usize = 130;
const MARGIN: usize = 20;

/// The tree drawn as an SVG document: layered, the damage (root) at the top; AND steps
/// as boxes with a flat base, OR steps as ellipses, leaves as rounded boxes labelled with
/// their technique and asset; each node with its threat (T), vulnerability (V),
/// likelihood (L) and level. The leaves in `flagged` (an open attack-tree flag named
/// them) and the steps from them to the damage are drawn in red.
pub fn svg(tree: &Computed, flagged: &HashSet<String>) -> String {
    let n = tree.nodes.len();
    let position: HashMap<&str, usize> = tree.nodes.iter().enumerate().map(|(i, v)| (v.id.as_str(), i)).collect();
    let parent: Vec<Option<usize>> =
        tree.nodes.iter().map(|v| v.parent.as_deref().and_then(|p| position.get(p).copied())).collect();
    // Leaves side by side in pre-order; a step centred over its children.
    let mut x = vec![0f64; n];
    let mut span: Vec<Option<(f64, f64)>> = vec![None; n];
    let mut next_leaf = 0usize;
    for (i, v) in tree.nodes.iter().enumerate() {
        if v.kind == Kind::Leaf {
            x[i] = (next_leaf * SLOT_W) as f64;
            next_leaf += 1;
        }
    }
    for i in (0..n).rev() {
        if tree.nodes[i].kind != Kind::Leaf {
            x[i] = span[i].map_or(0.0, |(lo, hi)| (lo + hi) / 2.0);
        }
        if let Some(p) = parent[i] {
            span[p] = Some(span[p].map_or((x[i], x[i]), |(lo, hi)| (lo.min(x[i]), hi.max(x[i]))));
        }
    }
    // The flagged leaves and every step above them.
    let mut hot = vec![false; n];
    for (i, v) in tree.nodes.iter().enumerate() {
        if v.kind == Kind::Leaf && flagged.contains(&v.id) {
            let mut at = Some(i);
            while let Some(a) = at.filter(|&a| !hot[a]) {
                hot[a] = true;
                at = parent[a];
            }
        }
    }
    let depth = tree.nodes.iter().map(|v| v.depth).max().unwrap_or(0);
    let width = next_leaf.max(1) * SLOT_W + 2 * MARGIN;
    let height = (depth + 1) * LAYER_H + 2 * MARGIN;
    let left = |i: usize| x[i] + MARGIN as f64 + (SLOT_W - BOX_W) as f64 / 2.0;
    let top = |i: usize| (MARGIN + tree.nodes[i].depth * LAYER_H) as f64;
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"'Noto Sans CJK JP', 'Noto Sans', sans-serif\" font-size=\"12\">\n"
    ));
    out.push_str(&format!("<title>{}</title>\n", xml(&format!("attack tree {}: {}", tree.id, tree.damage))));
    out.push_str(
        "<style>.edge{stroke:#666;stroke-width:1.5;fill:none}.node{fill:#fff;stroke:#333;stroke-width:1.5}\
.and{fill:#eef3fb}.or{fill:#fdf6e3}.leaf{fill:#f2f2f2}.root{stroke-width:2.5}\
.flagged{stroke:#c00;stroke-width:3}.edge.flagged{stroke:#c00;stroke-width:3}\
.gate{font-weight:bold;font-size:11px}.value{fill:#333}</style>\n",
    );
    for i in 0..n {
        if let Some(p) = parent[i] {
            let class = if hot[i] { "edge flagged" } else { "edge" };
            out.push_str(&format!(
                "<line class=\"{class}\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>\n",
                left(p) + BOX_W as f64 / 2.0,
                top(p) + BOX_H as f64,
                left(i) + BOX_W as f64 / 2.0,
                top(i)
            ));
        }
    }
    for (i, v) in tree.nodes.iter().enumerate() {
        let (lx, ty) = (left(i), top(i));
        let (w, h) = (BOX_W as f64, BOX_H as f64);
        let mut class = format!("node {}", v.kind.as_str());
        if i == 0 {
            class.push_str(" root");
        }
        if hot[i] {
            class.push_str(" flagged");
        }
        out.push_str(&format!("<g id=\"{}\">\n", xml(&format!("node-{}", v.id))));
        let full = match &v.title_ja {
            Some(ja) => format!("{} / {ja}", v.title),
            None => v.title.clone(),
        };
        out.push_str(&format!("<title>{}</title>\n", xml(&full)));
        match v.kind {
            // A gate: a flat base and a rounded top.
            Kind::And => out.push_str(&format!(
                "<path class=\"{class}\" d=\"M{lx:.1},{:.1} L{lx:.1},{:.1} Q{lx:.1},{ty:.1} {:.1},{ty:.1} L{:.1},{ty:.1} Q{:.1},{ty:.1} {:.1},{:.1} L{:.1},{:.1} Z\"/>\n",
                ty + h,
                ty + 18.0,
                lx + 18.0,
                lx + w - 18.0,
                lx + w,
                lx + w,
                ty + 18.0,
                lx + w,
                ty + h
            )),
            Kind::Or => out.push_str(&format!(
                "<ellipse class=\"{class}\" cx=\"{:.1}\" cy=\"{:.1}\" rx=\"{:.1}\" ry=\"{:.1}\"/>\n",
                lx + w / 2.0,
                ty + h / 2.0,
                w / 2.0 + 6.0,
                h / 2.0 + 4.0
            )),
            Kind::Leaf => out.push_str(&format!(
                "<rect class=\"{class}\" x=\"{lx:.1}\" y=\"{ty:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"10\"/>\n"
            )),
        }
        let cx = lx + w / 2.0;
        let mut lines: Vec<(String, &str)> = Vec::new();
        match v.kind {
            Kind::Leaf => {
                lines.push((short(&v.title, 36), ""));
                lines.push((
                    short(
                        &format!(
                            "{} @ {}",
                            v.technique.as_deref().unwrap_or_default(),
                            v.asset.as_deref().unwrap_or_default()
                        ),
                        34,
                    ),
                    "",
                ));
            }
            kind => {
                lines.push((kind.as_str().to_uppercase(), "gate"));
                lines.push((short(&v.title, 36), ""));
            }
        }
        let from_risk = if v.from_risk { " (risk's)" } else { "" };
        lines.push((format!("T{} V{} L{}{from_risk}", v.threat, v.vulnerability, v.likelihood), "value"));
        if i == 0 {
            lines.push((short(&format!("value {} · {}", v.value, v.level_name), 36), "value"));
        } else {
            lines.push((short(&v.level_name, 36), "value"));
        }
        let line_h = 15.0;
        let first = ty + h / 2.0 - line_h * (lines.len() as f64 - 1.0) / 2.0 + 4.0;
        for (k, (text, class)) in lines.iter().enumerate() {
            let class_attr = if class.is_empty() { String::new() } else { format!(" class=\"{class}\"") };
            out.push_str(&format!(
                "<text{class_attr} x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
                first + k as f64 * line_h,
                xml(text)
            ));
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, kind: Kind, children: &[&str], tv: Option<(usize, usize)>) -> Node {
        Node {
            id: id.into(),
            kind,
            title: format!("step {id}"),
            title_ja: None,
            children: children.iter().map(|c| c.to_string()).collect(),
            technique: (kind == Kind::Leaf).then(|| "T1190".to_string()),
            asset: (kind == Kind::Leaf).then(|| "HMI".to_string()),
            threat: tv.map(|p| p.0),
            vulnerability: tv.map(|p| p.1),
        }
    }

    fn tree(nodes: Vec<Node>) -> AttackTree {
        AttackTree {
            id: "AT-0001".into(),
            damage: "outage".into(),
            damage_ja: None,
            services: vec!["Power".into()],
            risk: "R-0001".into(),
            damage_size: 4,
            nodes,
        }
    }

    #[test]
    fn or_takes_the_easiest_child_and_and_the_hardest_factors() {
        // root OR { a AND {x (4,2), y (2,5)}, b (3,3), c (4,1) }
        let t = tree(vec![
            node("root", Kind::Or, &["a", "b", "c"], None),
            node("a", Kind::And, &["x", "y"], None),
            node("x", Kind::Leaf, &[], Some((4, 2))),
            node("y", Kind::Leaf, &[], Some((2, 5))),
            node("b", Kind::Leaf, &[], Some((3, 3))),
            node("c", Kind::Leaf, &[], Some((4, 1))),
        ]);
        let m = Matrix::default();
        let c = compute(&t, &m, None).expect("computed");
        let at = |id: &str| c.nodes.iter().find(|n| n.id == id).expect("node");
        assert_eq!((at("a").threat, at("a").vulnerability), (2, 2));
        // OR: c has the highest threat (4), b has 3: c wins though its vulnerability is lower.
        assert_eq!((c.threat, c.vulnerability), (4, 1));
        assert_eq!(c.value, 4 * 4);
        assert_eq!(c.likelihood, m.likelihood[3][0]);
        assert_eq!(c.level, m.grid[c.likelihood - 1][3]);
        assert_eq!(c.nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["root", "a", "x", "y", "b", "c"]);
        // A tie on threat goes to the higher vulnerability; leaves without values take the risk's.
        let t = tree(vec![
            node("root", Kind::Or, &["p", "q"], None),
            node("p", Kind::Leaf, &[], Some((3, 2))),
            node("q", Kind::Leaf, &[], None),
        ]);
        let c = compute(&t, &m, Some((3, 4))).expect("computed");
        assert_eq!((c.threat, c.vulnerability), (3, 4));
        assert!(c.nodes[2].from_risk && !c.nodes[1].from_risk);
        assert!(compute(&t, &m, None).is_err(), "no values and no rated risk");
    }

    #[test]
    fn shapes_are_checked() {
        let mut problems = Vec::new();
        shape_problems(
            &[
                node("r", Kind::And, &["a", "b"], None),
                node("a", Kind::Or, &["b", "c"], None),
                node("b", Kind::Leaf, &[], None),
                node("c", Kind::Or, &["a"], None),
            ],
            &mut problems,
        );
        let text = problems.join("\n");
        assert!(text.contains("node b is shared by r, a"), "{text}");
        assert!(text.contains("node a is shared by r, c"), "{text}");
        assert!(text.contains("a cycle: a -> c -> a"), "{text}");
        let mut problems = Vec::new();
        shape_problems(&[node("r", Kind::Or, &["x"], None), node("s", Kind::Or, &["y"], None)], &mut problems);
        let text = problems.join("\n");
        assert!(text.contains("several roots: r, s"), "{text}");
        assert!(text.contains("no child node \"x\""), "{text}");
    }

    #[test]
    fn svg_text_is_escaped() {
        let mut t = tree(vec![node("root", Kind::Or, &["l"], None), node("l", Kind::Leaf, &[], Some((2, 2)))]);
        t.nodes[1].title = "<script>&\"'\u{1}".into();
        let c = compute(&t, &Matrix::default(), None).expect("computed");
        let svg = svg(&c, &HashSet::from(["l".to_string()]));
        assert!(svg.contains("&lt;script&gt;&amp;&quot;&apos; "), "{svg}");
        assert!(!svg.contains("<script>") && !svg.contains('\u{1}'));
        for drawn in ["class=\"node leaf flagged\"", "class=\"node or root flagged\"", "class=\"edge flagged\""] {
            assert!(svg.contains(drawn), "{drawn}: {svg}");
        }
    }
}
