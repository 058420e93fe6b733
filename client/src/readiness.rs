//! Contingency and continuity readiness (handbook 7 and the annex): the plan's answer
//! to each of the seven traits of cyber-attack risk, with evidence, an owner, links to
//! risks and attack trees (both must exist), and a review date. A trait is
//! `unanswered`, `current`, `due` (its review date passed) or `due_intelligence`:
//! shared intelligence bearing on it arrived since its last review, noted while a sync
//! applies a page (in the page's transaction, through `appetite::after_page`):
//! - any technique: trait 2 (evolving techniques);
//! - any sector incident: traits 1 (damage scenarios) and 5 (simultaneous attacks);
//! - by ATT&CK tactic: lateral movement → 3 (fast spread), persistence → 4, defense
//!   evasion (ICS: evasion) → 6 (hard to detect), ICS impair process control and
//!   inhibit response function, and the view techniques T0815, T0829, T0832 → 7
//!   (misleading operators).
//!
//! A technique item carries its tactics as STIX `kill_chain_phases` (the hub fills them
//! from its ATT&CK catalog, or takes the sharer's); an incident names only technique
//! ids, and a technique may be shared without tactics while the hub has no catalog. So
//! the tactics of the techniques that matter here are also built in
//! ([`BUILT_IN_TACTICS`], from ATT&CK v17 Enterprise and ICS; a sub-technique takes its
//! parent's) and used besides those an item carries.
//!
//! An item the member no longer holds (a tombstone took it away) stops counting.
//! Writing an answer (`set`) counts as a review; `review` records one without changing
//! the answer. Either clears what was due; the intelligence answered is kept (and named
//! in the review), so the same revision of an item does not make the trait due again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use serde::Serialize;
use serde_json::Value;

use renkei_schema::stix::StixRead;

use crate::bail;
use crate::error::Result;
use crate::register::{stamp, ItemRow};
use crate::tables::{items, readiness, readiness_intel, readiness_reviews};

/// One of the annex's seven traits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Trait {
    pub id: i32,
    pub slug: &'static str,
    pub name: &'static str,
    pub name_ja: &'static str,
    /// What the handbook asks of the plan.
    pub guidance: &'static str,
    pub guidance_ja: &'static str,
}

pub const TRAITS: [Trait; 7] = [
    Trait {
        id: 1,
        slug: "damage-scenarios",
        name: "Attackers with purposes: damage scenarios",
        name_ja: "目的を持つ攻撃者: 被害シナリオ",
        guidance: "build damage scenarios (e.g. an infected USB stick brought in by maintenance staff spreads and alters a critical system)",
        guidance_ja: "被害シナリオを作成する(例: 保守要員が持ち込んだ感染USBから拡散し、重要システムが改ざんされる)",
    },
    Trait {
        id: 2,
        slug: "evolving-techniques",
        name: "Evolving techniques",
        name_ja: "進化する攻撃手法",
        guidance: "collect technique information daily (JPCERT/CC and others) and review the plans",
        guidance_ja: "攻撃手法の情報を日々収集し(JPCERT/CC等)、計画を見直す",
    },
    Trait {
        id: 3,
        slug: "fast-spread",
        name: "Fast spread",
        name_ja: "急速な拡散",
        guidance: "know where to cut networks; share the status with contractors",
        guidance_ja: "ネットワークの遮断箇所を把握し、委託先と状況を共有する",
    },
    Trait {
        id: 4,
        slug: "persistence",
        name: "Persistent attacks",
        name_ja: "執拗な攻撃(潜伏・持続)",
        guidance: "fix the root cause before restoring; watch longer afterwards",
        guidance_ja: "復旧前に根本原因を取り除き、復旧後も長期間監視する",
    },
    Trait {
        id: 5,
        slug: "simultaneous-attacks",
        name: "Simultaneous attacks",
        name_ja: "同時多発攻撃",
        guidance: "share the techniques, sources and characteristic traces seen through sector bodies, CEPTOARs and security organisations, so others avoid the damage",
        guidance_ja: "確認した攻撃手法・攻撃元・特徴的な痕跡を業界団体、セプター、セキュリティ機関を通じて共有し、他組織の被害を防ぐ",
    },
    Trait {
        id: 6,
        slug: "hard-to-detect",
        name: "Hard to detect",
        name_ja: "検知の困難さ",
        guidance: "decide in advance who may disclose logs and evidence to outside responders, to whom, how they travel safely and what must never be disclosed; keep logs long and tamper-proof",
        guidance_ja: "ログや証拠を外部の対応者に開示できる者、開示先、安全な受け渡し方法、開示してはならない情報(機密・個人情報)を事前に決め、ログを改ざんできない形で長期間保存する",
    },
    Trait {
        id: 7,
        slug: "misleading-operators",
        name: "Attacks that mislead operators",
        name_ja: "運用者を欺く攻撃",
        guidance: "cross-check independent monitoring sources",
        guidance_ja: "独立した複数の監視手段で相互に確認する",
    },
];

/// The trait a tactic bears on (beyond trait 2, which every technique does).
fn trait_of_tactic(tactic: &str) -> Option<i32> {
    match tactic {
        "lateral-movement" => Some(3),
        "persistence" => Some(4),
        "defense-evasion" | "evasion" => Some(6),
        "impair-process-control" | "inhibit-response-function" | "misleading-view" => Some(7),
        _ => None,
    }
}

/// The tactics (of those above) of ATT&CK techniques, built in for items that carry
/// none: Enterprise and ICS v17 parents; `misleading-view` is ours, for the ICS impact
/// techniques that feed operators a false picture (Denial, Loss, Manipulation of View).
pub const BUILT_IN_TACTICS: [(&str, &str); 7] = [
    (
        "lateral-movement",
        "T0812 T0843 T0859 T0866 T0867 T0886 T0891 T1021 T1072 T1080 T1091 T1210 T1534 T1550 T1563 T1570",
    ),
    (
        "persistence",
        "T0839 T0857 T0859 T0873 T0889 T0891 T1037 T1053 T1078 T1098 T1112 T1133 T1136 T1137 T1176 T1197 T1205 T1505 \
         T1525 T1542 T1543 T1546 T1547 T1554 T1556 T1574 T1653 T1668 T1671",
    ),
    ("evasion", "T0820 T0849 T0851 T0856 T0858 T0872 T0894"),
    (
        "defense-evasion",
        "T1006 T1014 T1027 T1036 T1055 T1070 T1078 T1112 T1127 T1134 T1140 T1197 T1202 T1205 T1207 T1211 T1216 T1218 \
         T1220 T1221 T1222 T1480 T1484 T1497 T1535 T1542 T1548 T1550 T1553 T1556 T1562 T1564 T1574 T1578 T1599 T1600 \
         T1601 T1610 T1612 T1620 T1622 T1647 T1656 T1666 T1672 T1678 T1679",
    ),
    ("impair-process-control", "T0806 T0836 T0839 T0855 T0856"),
    (
        "inhibit-response-function",
        "T0800 T0803 T0804 T0805 T0809 T0814 T0816 T0835 T0838 T0851 T0857 T0878 T0881 T0892",
    ),
    ("misleading-view", "T0815 T0829 T0832"),
];

/// The built-in tactics of a technique id (a sub-technique's are its parent's).
fn built_in_tactics(id: &str) -> Vec<&'static str> {
    let parent = renkei_schema::model::attack_id::parent_technique(id).unwrap_or(id);
    BUILT_IN_TACTICS
        .iter()
        .filter(|(_, ids)| ids.split_whitespace().any(|t| t == parent))
        .map(|(tactic, _)| *tactic)
        .collect()
}

/// A trait by its number (1-7) or slug (`evolving-techniques`).
pub fn find(raw: &str) -> Result<&'static Trait> {
    let raw = raw.trim().to_lowercase();
    match TRAITS.iter().find(|t| t.id.to_string() == raw || t.slug == raw) {
        Some(t) => Ok(t),
        None => {
            let known: Vec<String> = TRAITS.iter().map(|t| format!("{} {}", t.id, t.slug)).collect();
            bail!("no trait {raw:?}; the traits are {} / 特性「{raw}」はありません(1〜7)", known.join(", "))
        }
    }
}

/// The plan's answer to a trait, as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnswerInput {
    pub answer: String,
    pub evidence: Vec<String>,
    pub review_days: i64,
    /// Risk ids (they must exist).
    pub risks: Vec<String>,
    /// Attack tree ids (they must exist).
    pub trees: Vec<String>,
    pub owner: Option<String>,
}

fn trimmed(list: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = list.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    out.sort();
    out.dedup();
    out
}

/// Marks the pending intelligence of a trait reviewed and records the review.
fn record_review(conn: &mut SqliteConnection, id: i32, note: &str, now: &str) -> Result<Vec<String>> {
    let pending =
        readiness_intel::table.filter(readiness_intel::trait_id.eq(id)).filter(readiness_intel::reviewed_at.is_null());
    let answered: Vec<String> =
        pending.select(readiness_intel::item_id).order(readiness_intel::item_id.asc()).load(conn)?;
    diesel::update(pending).set(readiness_intel::reviewed_at.eq(now)).execute(conn)?;
    diesel::insert_into(readiness_reviews::table)
        .values((
            readiness_reviews::trait_id.eq(id),
            readiness_reviews::at.eq(now),
            readiness_reviews::note.eq(note),
            readiness_reviews::answered.eq(serde_json::to_string(&answered)?),
        ))
        .execute(conn)?;
    Ok(answered)
}

/// Writes the plan's answer to a trait (which counts as a review); every problem is
/// named (English and Japanese), nothing is stored unless all is well.
pub fn set(conn: &mut SqliteConnection, raw_trait: &str, input: AnswerInput, now: DateTime<Utc>) -> Result<()> {
    let mut problems = Vec::new();
    let found = find(raw_trait);
    if let Err(e) = &found {
        problems.push(e.to_string());
    }
    let answer = input.answer.trim().to_string();
    if answer.is_empty() {
        problems.push("the answer is empty (--answer) / 回答(--answer)が空です".to_string());
    }
    let max = crate::matrix::MAX_REVIEW_DAYS;
    if !(1..=max).contains(&input.review_days) {
        problems.push(format!("review_days must be 1 to {max} / 見直し間隔は1〜{max}日で指定してください"));
    }
    let risks = trimmed(input.risks);
    let trees = trimmed(input.trees);
    conn.immediate_transaction(|c| {
        let known: Vec<String> = crate::tables::risks::table
            .filter(crate::tables::risks::id.eq_any(&risks))
            .select(crate::tables::risks::id)
            .load(c)?;
        for r in risks.iter().filter(|r| !known.contains(r)) {
            problems.push(format!("no risk {r} / リスク {r} はありません"));
        }
        let known_trees: Vec<String> = crate::tables::attack_trees::table
            .filter(crate::tables::attack_trees::id.eq_any(&trees))
            .select(crate::tables::attack_trees::id)
            .load(c)?;
        for t in trees.iter().filter(|t| !known_trees.contains(t)) {
            problems.push(format!("no attack tree {t} / 攻撃ツリー {t} はありません"));
        }
        let id = match (&found, problems.is_empty()) {
            (Ok(t), true) => t.id,
            _ => bail!("{}", problems.join("\n")),
        };
        let now = stamp(now);
        diesel::replace_into(readiness::table)
            .values((
                readiness::trait_id.eq(id),
                readiness::answer.eq(&answer),
                readiness::evidence.eq(serde_json::to_string(&trimmed(input.evidence))?),
                readiness::review_days.eq(input.review_days as i32),
                readiness::risks.eq(serde_json::to_string(&risks)?),
                readiness::trees.eq(serde_json::to_string(&trees)?),
                readiness::owner.eq(input.owner.map(|o| o.trim().to_string()).filter(|o| !o.is_empty())),
                readiness::reviewed_at.eq(&now),
                readiness::updated_at.eq(&now),
            ))
            .execute(c)?;
        record_review(c, id, "answer set / 回答を設定", &now)?;
        Ok(())
    })
}

/// Records a review of an answered trait (a note is required): it is current again.
/// Returns the ids of the shared items the review answered.
pub fn review(conn: &mut SqliteConnection, raw_trait: &str, note: &str, now: DateTime<Utc>) -> Result<Vec<String>> {
    let t = find(raw_trait)?;
    if note.trim().is_empty() {
        bail!("say what the review found (--note) / 見直しの所見(--note)を記入してください");
    }
    conn.immediate_transaction(|c| {
        let now = stamp(now);
        let n = diesel::update(readiness::table.find(t.id)).set(readiness::reviewed_at.eq(&now)).execute(c)?;
        if n == 0 {
            bail!(
                "trait {} is not answered yet: use `readiness set` first / 特性{}はまだ回答されていません(先に readiness set を実行してください)",
                t.id,
                t.id
            );
        }
        record_review(c, t.id, note.trim(), &now)
    })
}

/// Where a trait stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Unanswered,
    Current,
    /// The review date passed.
    Due,
    /// Shared intelligence bearing on it arrived since the last review.
    DueIntelligence,
}

impl State {
    pub fn label(self) -> &'static str {
        match self {
            State::Unanswered => "unanswered / 未回答",
            State::Current => "current / 最新",
            State::Due => "due / 見直し期限",
            State::DueIntelligence => "due: new intelligence / 新たな脅威情報により見直し要",
        }
    }
}

/// A shared item that bears on a trait.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Intelligence {
    pub item_id: String,
    pub kind: String,
    pub revision: i64,
    pub reason: String,
    pub reason_ja: String,
    pub noted_at: String,
}

/// A review kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    pub at: String,
    pub note: String,
    pub answered: Vec<String>,
}

/// A trait with the plan's answer and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraitStatus {
    #[serde(rename = "trait")]
    pub info: Trait,
    pub state: State,
    pub answer: Option<String>,
    pub evidence: Vec<String>,
    pub review_days: Option<i32>,
    pub reviewed_at: Option<String>,
    pub next_review: Option<String>,
    pub risks: Vec<String>,
    pub trees: Vec<String>,
    pub owner: Option<String>,
    /// The intelligence not reviewed yet.
    pub intelligence: Vec<Intelligence>,
    /// Every review, the latest first (in `show`; empty in `list`).
    pub reviews: Vec<Review>,
}

type AnswerRow = (i32, String, String, i32, String, String, Option<String>, String);
type IntelRow = (i32, String, String, i64, String, String, String);

/// Every trait at `now`.
pub fn list(conn: &mut SqliteConnection, now: DateTime<Utc>) -> Result<Vec<TraitStatus>> {
    let answers: Vec<AnswerRow> = readiness::table
        .select((
            readiness::trait_id,
            readiness::answer,
            readiness::evidence,
            readiness::review_days,
            readiness::risks,
            readiness::trees,
            readiness::owner,
            readiness::reviewed_at,
        ))
        .load(conn)?;
    let answers: HashMap<i32, AnswerRow> = answers.into_iter().map(|a| (a.0, a)).collect();
    let pending: Vec<IntelRow> = readiness_intel::table
        .filter(readiness_intel::reviewed_at.is_null())
        .order((readiness_intel::noted_at.asc(), readiness_intel::item_id.asc()))
        .select((
            readiness_intel::trait_id,
            readiness_intel::item_id,
            readiness_intel::item_kind,
            readiness_intel::item_revision,
            readiness_intel::reason,
            readiness_intel::reason_ja,
            readiness_intel::noted_at,
        ))
        .load(conn)?;
    // An item the member no longer holds (revoked, or its label tightened: a tombstone
    // took it away) no longer makes a trait due.
    let mut held: BTreeSet<String> = BTreeSet::new();
    let ids: BTreeSet<&str> = pending.iter().map(|r| r.1.as_str()).collect();
    for chunk in ids.into_iter().collect::<Vec<_>>().chunks(500) {
        held.extend(items::table.filter(items::id.eq_any(chunk)).select(items::id).load::<String>(conn)?);
    }
    let mut intel: BTreeMap<i32, Vec<Intelligence>> = BTreeMap::new();
    for r in pending.into_iter().filter(|r| held.contains(&r.1)) {
        intel.entry(r.0).or_default().push(Intelligence {
            item_id: r.1,
            kind: r.2,
            revision: r.3,
            reason: r.4,
            reason_ja: r.5,
            noted_at: r.6,
        });
    }
    let list = |json: &str| serde_json::from_str::<Vec<String>>(json).unwrap_or_default();
    Ok(TRAITS
        .iter()
        .map(|t| {
            let intelligence = intel.remove(&t.id).unwrap_or_default();
            let Some(a) = answers.get(&t.id) else {
                return TraitStatus {
                    info: *t,
                    state: State::Unanswered,
                    answer: None,
                    evidence: vec![],
                    review_days: None,
                    reviewed_at: None,
                    next_review: None,
                    risks: vec![],
                    trees: vec![],
                    owner: None,
                    intelligence,
                    reviews: vec![],
                };
            };
            let next = DateTime::parse_from_rfc3339(&a.7)
                .ok()
                .and_then(|r| r.with_timezone(&Utc).checked_add_signed(TimeDelta::days(i64::from(a.3))));
            let state = if !intelligence.is_empty() {
                State::DueIntelligence
            } else if next.is_none_or(|n| n <= now) {
                State::Due
            } else {
                State::Current
            };
            TraitStatus {
                info: *t,
                state,
                answer: Some(a.1.clone()),
                evidence: list(&a.2),
                review_days: Some(a.3),
                reviewed_at: Some(a.7.clone()),
                next_review: next.map(stamp),
                risks: list(&a.4),
                trees: list(&a.5),
                owner: a.6.clone(),
                intelligence,
                reviews: vec![],
            }
        })
        .collect())
}

/// One trait at `now`, with every review.
pub fn show(conn: &mut SqliteConnection, raw_trait: &str, now: DateTime<Utc>) -> Result<TraitStatus> {
    let t = find(raw_trait)?;
    let mut status = list(conn, now)?
        .into_iter()
        .find(|s| s.info.id == t.id)
        .ok_or_else(|| crate::error::Error::Invalid(format!("no trait {} / 特性{}はありません", t.id, t.id)))?;
    let rows: Vec<(String, String, String)> = readiness_reviews::table
        .filter(readiness_reviews::trait_id.eq(t.id))
        .order(readiness_reviews::id.desc())
        .select((readiness_reviews::at, readiness_reviews::note, readiness_reviews::answered))
        .load(conn)?;
    status.reviews = rows
        .into_iter()
        .map(|(at, note, answered)| Review { at, note, answered: serde_json::from_str(&answered).unwrap_or_default() })
        .collect();
    Ok(status)
}

/// Why an item bears on traits: (trait, reason, reason in Japanese).
fn bearings(item: &ItemRow) -> Vec<(i32, String, String)> {
    let Ok(stix) = serde_json::from_str::<Value>(&item.stix) else { return Vec::new() };
    let read = StixRead(&stix);
    if read.revoked() {
        return Vec::new();
    }
    let mut out: Vec<(i32, String, String)> = Vec::new();
    // (technique, tactic, where the tactic came from): the item's own first.
    const CARRIED: &str = "the item's kill chain";
    const BUILT_IN: &str = "built-in table";
    let mut tactics: BTreeSet<(String, String, u8)> = BTreeSet::new();
    match item.kind.as_str() {
        "technique" => {
            let id = read.external_id().unwrap_or_default().to_string();
            let name = read.name();
            out.push((2, format!("technique {id} {name} shared"), format!("攻撃手法 {id} {name} が共有されました")));
            let carried = stix["kill_chain_phases"].as_array().into_iter().flatten();
            for phase in carried.filter_map(|p| p["phase_name"].as_str()) {
                tactics.insert((id.clone(), phase.to_string(), 0));
            }
            for tactic in built_in_tactics(&id) {
                tactics.insert((id.clone(), tactic.to_string(), 1));
            }
        }
        "incident" => {
            let name = read.name();
            out.push((
                1,
                format!("sector incident \"{name}\": check the damage scenarios against it"),
                format!("業界内インシデント「{name}」: 被害シナリオと照合してください"),
            ));
            out.push((
                5,
                format!("sector incident \"{name}\": others in the sector are attacked"),
                format!("業界内インシデント「{name}」: 同業他社が攻撃を受けています"),
            ));
            for id in read.technique_ids() {
                for tactic in built_in_tactics(&id) {
                    tactics.insert((id.clone(), tactic.to_string(), 1));
                }
            }
        }
        _ => {}
    }
    let mut by_trait: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for (id, tactic, from) in &tactics {
        if let Some(t) = trait_of_tactic(tactic) {
            let line = format!("{id} ({tactic}, {})", if *from == 0 { CARRIED } else { BUILT_IN });
            let lines = by_trait.entry(t).or_default();
            if !lines.iter().any(|l| l.starts_with(&format!("{id} ({tactic},"))) {
                lines.push(line);
            }
        }
    }
    for (t, lines) in by_trait {
        let joined = lines.join(", ");
        out.push((t, format!("{} {}: {joined}", item.kind, item.id), format!("{} {}: {joined}", item.kind, item.id)));
    }
    out
}

/// Notes the shared items of a sync page that bear on a trait (in the page's
/// transaction): a trait's review becomes due, unless the same or a later revision
/// of the item was noted already.
pub fn note_items(conn: &mut SqliteConnection, items: &[ItemRow], now: DateTime<Utc>) -> Result<usize> {
    let relevant: Vec<&ItemRow> = items.iter().filter(|i| i.kind == "technique" || i.kind == "incident").collect();
    if relevant.is_empty() {
        return Ok(0);
    }
    let mut held: HashMap<(i32, String), i64> = HashMap::new();
    for chunk in relevant.chunks(500) {
        let ids: Vec<&str> = chunk.iter().map(|i| i.id.as_str()).collect();
        let rows: Vec<(i32, String, i64)> = readiness_intel::table
            .filter(readiness_intel::item_id.eq_any(ids))
            .select((readiness_intel::trait_id, readiness_intel::item_id, readiness_intel::item_revision))
            .load(conn)?;
        held.extend(rows.into_iter().map(|(t, id, rev)| ((t, id), rev)));
    }
    let now = stamp(now);
    let mut rows = Vec::new();
    for item in relevant {
        let mut reasons: BTreeMap<i32, (String, String)> = BTreeMap::new();
        for (t, en, ja) in bearings(item) {
            let entry = reasons.entry(t).or_default();
            let sep = if entry.0.is_empty() { "" } else { "; " };
            entry.0 = format!("{}{sep}{en}", entry.0);
            entry.1 = format!("{}{}{ja}", entry.1, if sep.is_empty() { "" } else { "。" });
        }
        for (t, (en, ja)) in reasons {
            if held.get(&(t, item.id.clone())).is_some_and(|rev| *rev >= item.revision) {
                continue;
            }
            rows.push((
                readiness_intel::trait_id.eq(t),
                readiness_intel::item_id.eq(item.id.clone()),
                readiness_intel::item_kind.eq(item.kind.clone()),
                readiness_intel::item_revision.eq(item.revision),
                readiness_intel::reason.eq(en),
                readiness_intel::reason_ja.eq(ja),
                readiness_intel::noted_at.eq(now.clone()),
                readiness_intel::reviewed_at.eq(None::<String>),
            ));
        }
    }
    // 8 parameters a row, well under SQLite's limit.
    for chunk in rows.chunks(1000) {
        diesel::replace_into(readiness_intel::table).values(chunk).execute(conn)?;
    }
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(kind: &str, stix: Value) -> ItemRow {
        ItemRow {
            id: format!("{kind}--1"),
            kind: kind.into(),
            revision: 1,
            tlp: "GREEN".into(),
            seq: 1,
            stix: stix.to_string(),
            signature: String::new(),
            received_at: String::new(),
        }
    }

    fn traits(item: &ItemRow) -> Vec<i32> {
        let mut t: Vec<i32> = bearings(item).into_iter().map(|b| b.0).collect();
        t.dedup();
        t
    }

    #[test]
    fn items_bear_on_traits_by_kind_and_tactic() {
        // Tactics carried by the item.
        let t = item(
            "technique",
            serde_json::json!({"name": "x", "external_references": [{"external_id": "T9999"}],
                "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "persistence"}]}),
        );
        assert_eq!(traits(&t), [2, 4]);
        // None carried: the built-in table (a sub-technique takes its parent's).
        let t =
            item("technique", serde_json::json!({"name": "x", "external_references": [{"external_id": "T1021.001"}]}));
        assert_eq!(traits(&t), [2, 3]);
        let t = item("technique", serde_json::json!({"name": "x", "external_references": [{"external_id": "T0856"}]}));
        assert_eq!(traits(&t), [2, 6, 7]);
        // An incident: damage scenarios and simultaneous attacks, and its techniques.
        let i = item("incident", serde_json::json!({"name": "x", "x_renkei_technique_ids": ["T0832"]}));
        assert_eq!(traits(&i), [1, 5, 7]);
        assert!(bearings(&i)[2].1.contains("T0832 (misleading-view, built-in table)"), "{:?}", bearings(&i));
        assert!(traits(&item("indicator", serde_json::json!({}))).is_empty());
        assert!(TRAITS.iter().enumerate().all(|(i, t)| t.id == i as i32 + 1));
        assert_eq!(find("evolving-techniques").expect("slug").id, 2);
        assert!(find("8").is_err());
    }
}
