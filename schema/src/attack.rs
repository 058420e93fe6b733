//! Reader for MITRE ATT&CK's own STIX 2.1 bundles (Enterprise, ICS, Mobile).
//!
//! [`AttackCatalog::from_bundle_json`] turns one bundle, as a user downloads it from MITRE,
//! into a plain catalog the hub stores: techniques (with sub-techniques), tactics,
//! mitigations, ICS assets, and the `targets` / `mitigates` / `subtechnique-of`
//! relationships between them, expressed with ATT&CK ids (`T0866`, `A0003`, `M0930`)
//! rather than STIX ids.
//!
//! The reader is deliberately tolerant of the content of individual objects: every field
//! is read through a lenient wrapper, so an object with an unexpected field type, an
//! unknown object type, or an object without a MITRE external id is skipped (or the odd
//! field ignored) instead of failing the whole import. Only a document that is not JSON,
//! or not a STIX bundle (`"type": "bundle"` with an `objects` array), or a bundle with no
//! ATT&CK content at all, is an error.
//!
//! Revoked and deprecated techniques, mitigations and assets stay in the catalog with
//! their flags (so the hub can recognise and refuse their ids), but relationships that
//! touch them, relationships that are themselves revoked or deprecated, and relationships
//! whose ends are unknown are dropped.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// An ATT&CK technique or sub-technique (`attack-pattern`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogTechnique {
    /// The STIX id, e.g. `attack-pattern--2e34237d-…`.
    pub stix_id: String,
    /// The ATT&CK id, e.g. `T1566.001` or `T0866`.
    pub attack_id: String,
    pub name: String,
    /// `enterprise-attack`, `ics-attack` or `mobile-attack`.
    pub domain: String,
    /// Tactic shortnames (kill-chain `phase_name`s), e.g. `initial-access`.
    pub tactics: Vec<String>,
    pub platforms: Vec<String>,
    pub is_subtechnique: bool,
    pub revoked: bool,
    pub deprecated: bool,
    pub description: String,
}

/// An ATT&CK tactic (`x-mitre-tactic`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogTactic {
    pub stix_id: String,
    /// e.g. `TA0001`.
    pub attack_id: String,
    /// e.g. `initial-access`; matches [`CatalogTechnique::tactics`].
    pub shortname: String,
    pub name: String,
    pub domain: String,
}

/// An ATT&CK mitigation (`course-of-action`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogMitigation {
    pub stix_id: String,
    /// e.g. `M0930` (old, deprecated Enterprise mitigations carry `T…` ids).
    pub attack_id: String,
    pub name: String,
    pub domain: String,
    pub revoked: bool,
    pub deprecated: bool,
}

/// An ATT&CK for ICS asset (`x-mitre-asset`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogAsset {
    pub stix_id: String,
    /// e.g. `A0003`.
    pub attack_id: String,
    pub name: String,
    pub platforms: Vec<String>,
    pub revoked: bool,
    pub deprecated: bool,
}

/// The kinds of relationship the catalog keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CatalogRelationKind {
    /// technique `targets` asset (ICS).
    Targets,
    /// mitigation `mitigates` technique.
    Mitigates,
    /// sub-technique `subtechnique-of` technique.
    SubtechniqueOf,
}

impl CatalogRelationKind {
    /// The STIX `relationship_type` string.
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogRelationKind::Targets => "targets",
            CatalogRelationKind::Mitigates => "mitigates",
            CatalogRelationKind::SubtechniqueOf => "subtechnique-of",
        }
    }

    /// The inverse of [`as_str`](Self::as_str).
    pub fn parse(s: &str) -> Option<CatalogRelationKind> {
        match s {
            "targets" => Some(CatalogRelationKind::Targets),
            "mitigates" => Some(CatalogRelationKind::Mitigates),
            "subtechnique-of" => Some(CatalogRelationKind::SubtechniqueOf),
            _ => None,
        }
    }
}

impl fmt::Display for CatalogRelationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A relationship between two catalog entries, by ATT&CK id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogRelation {
    pub kind: CatalogRelationKind,
    pub source_attack_id: String,
    pub target_attack_id: String,
}

/// The plain catalog read from one or more ATT&CK bundles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttackCatalog {
    pub techniques: Vec<CatalogTechnique>,
    pub tactics: Vec<CatalogTactic>,
    pub mitigations: Vec<CatalogMitigation>,
    pub assets: Vec<CatalogAsset>,
    pub relations: Vec<CatalogRelation>,
}

/// Why a document could not be read as an ATT&CK bundle.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The bytes are not valid JSON.
    #[error("not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// Valid JSON, but not a STIX bundle.
    #[error("not a STIX 2.1 bundle: expected a JSON object with \"type\": \"bundle\" and an \"objects\" array")]
    NotABundle,
    /// A STIX bundle whose structure could not be read (e.g. an object with a duplicated key).
    #[error("malformed STIX bundle: {0}")]
    Malformed(#[source] serde_json::Error),
    /// A STIX bundle without any ATT&CK technique, tactic, mitigation or asset.
    #[error("the bundle holds no MITRE ATT&CK objects (techniques, tactics, mitigations or assets)")]
    NoAttackObjects,
}

impl CatalogError {
    /// The same message in Japanese, for operators' screens.
    pub fn message_ja(&self) -> String {
        match self {
            CatalogError::NotJson(e) => format!("JSON として読み取れません: {e}"),
            CatalogError::NotABundle => "STIX 2.1 バンドルではありません（最上位に \"type\": \"bundle\" と \"objects\" 配列を持つ JSON オブジェクトが必要です）".to_owned(),
            CatalogError::Malformed(e) => format!("STIX バンドルの構造が不正です: {e}"),
            CatalogError::NoAttackObjects => "バンドルに MITRE ATT&CK のオブジェクト（テクニック、戦術、緩和策、資産）が含まれていません".to_owned(),
        }
    }
}

impl AttackCatalog {
    /// Reads one ATT&CK STIX 2.1 bundle.
    pub fn from_bundle_json(bytes: &[u8]) -> Result<AttackCatalog, CatalogError> {
        let Loose(bundle) = serde_json::from_slice::<Loose<RawBundle>>(bytes).map_err(|e| {
            if e.classify() == serde_json::error::Category::Data {
                CatalogError::Malformed(e)
            } else {
                CatalogError::NotJson(e)
            }
        })?;
        let bundle = bundle.ok_or(CatalogError::NotABundle)?;
        if bundle.kind.0.as_deref() != Some("bundle") {
            return Err(CatalogError::NotABundle);
        }
        let objects = bundle.objects.0.ok_or(CatalogError::NotABundle)?;
        let catalog = build(objects);
        if catalog.techniques.is_empty()
            && catalog.tactics.is_empty()
            && catalog.mitigations.is_empty()
            && catalog.assets.is_empty()
        {
            return Err(CatalogError::NoAttackObjects);
        }
        Ok(catalog)
    }

    /// Combines another catalog (e.g. ICS into Enterprise). Entries with a STIX id already
    /// present are replaced by the incoming version in place; relations are de-duplicated;
    /// relations that now touch a revoked or deprecated entry are dropped.
    pub fn merge(&mut self, other: AttackCatalog) {
        merge_by_stix_id(&mut self.techniques, other.techniques, |t| &t.stix_id);
        merge_by_stix_id(&mut self.tactics, other.tactics, |t| &t.stix_id);
        merge_by_stix_id(&mut self.mitigations, other.mitigations, |m| &m.stix_id);
        merge_by_stix_id(&mut self.assets, other.assets, |a| &a.stix_id);

        let unusable_techniques: HashSet<&str> =
            self.techniques.iter().filter(|t| t.revoked || t.deprecated).map(|t| t.attack_id.as_str()).collect();
        let unusable_mitigations: HashSet<&str> =
            self.mitigations.iter().filter(|m| m.revoked || m.deprecated).map(|m| m.attack_id.as_str()).collect();
        let unusable_assets: HashSet<&str> =
            self.assets.iter().filter(|a| a.revoked || a.deprecated).map(|a| a.attack_id.as_str()).collect();
        let usable = |r: &CatalogRelation| {
            let (source_bad, target_bad) = match r.kind {
                CatalogRelationKind::Targets => (&unusable_techniques, &unusable_assets),
                CatalogRelationKind::Mitigates => (&unusable_mitigations, &unusable_techniques),
                CatalogRelationKind::SubtechniqueOf => (&unusable_techniques, &unusable_techniques),
            };
            !source_bad.contains(r.source_attack_id.as_str()) && !target_bad.contains(r.target_attack_id.as_str())
        };

        let mut seen: HashSet<(CatalogRelationKind, String, String)> = HashSet::new();
        let mut relations = Vec::with_capacity(self.relations.len() + other.relations.len());
        for r in std::mem::take(&mut self.relations).into_iter().chain(other.relations) {
            if usable(&r) && seen.insert((r.kind, r.source_attack_id.clone(), r.target_attack_id.clone())) {
                relations.push(r);
            }
        }
        self.relations = relations;
    }
}

fn merge_by_stix_id<T>(into: &mut Vec<T>, from: Vec<T>, key: fn(&T) -> &String) {
    let mut index: HashMap<String, usize> = into.iter().enumerate().map(|(i, item)| (key(item).clone(), i)).collect();
    for item in from {
        match index.get(key(&item)) {
            Some(&i) => {
                if let Some(slot) = into.get_mut(i) {
                    *slot = item;
                }
            }
            None => {
                index.insert(key(&item).clone(), into.len());
                into.push(item);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Building the catalog from the loosely read objects.
// ---------------------------------------------------------------------------------------

/// `source_name`s of the external reference that carries the ATT&CK id. (Deprecated ICS
/// techniques still use `mitre-ics-attack`.)
const MITRE_SOURCES: [&str; 3] = ["mitre-attack", "mitre-ics-attack", "mitre-mobile-attack"];

/// Maps an ATT&CK kill-chain name or reference source name to its domain.
fn domain_for(name: &str) -> Option<&'static str> {
    match name {
        "mitre-attack" => Some("enterprise-attack"),
        "mitre-ics-attack" => Some("ics-attack"),
        "mitre-mobile-attack" => Some("mobile-attack"),
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    Technique,
    Mitigation,
    Asset,
}

struct Node {
    kind: NodeKind,
    attack_id: String,
    usable: bool,
}

/// The ATT&CK id of an object and the reference source it came from.
fn mitre_id(obj: &RawObject) -> Option<(&str, &str)> {
    obj.external_references.0.as_deref()?.iter().find_map(|r| {
        let source = r.source_name.0.as_deref()?;
        let id = r.external_id.0.as_deref()?.trim();
        (MITRE_SOURCES.contains(&source) && !id.is_empty()).then_some((id, source))
    })
}

fn domain_of(obj: &RawObject, source: &str) -> String {
    let from_domains = obj.x_mitre_domains.0.as_deref().and_then(|d| d.iter().find(|d| !d.is_empty()));
    if let Some(d) = from_domains {
        return d.clone();
    }
    let from_kill_chain = obj
        .kill_chain_phases
        .0
        .as_deref()
        .and_then(|phases| phases.iter().find_map(|p| p.kill_chain_name.0.as_deref().and_then(domain_for)));
    from_kill_chain.or_else(|| domain_for(source)).unwrap_or("enterprise-attack").to_owned()
}

fn tactics_of(obj: &RawObject) -> Vec<String> {
    let mut tactics: Vec<String> = Vec::new();
    for phase in obj.kill_chain_phases.0.as_deref().unwrap_or_default() {
        let mitre_chain = phase.kill_chain_name.0.as_deref().is_some_and(|n| domain_for(n).is_some());
        if let (true, Some(name)) = (mitre_chain, phase.phase_name.0.as_deref()) {
            if !name.is_empty() && !tactics.iter().any(|t| t == name) {
                tactics.push(name.to_owned());
            }
        }
    }
    tactics
}

/// Whether a `modified` timestamp is at least as new as another (RFC 3339 when both
/// parse, text order otherwise; a present timestamp beats a missing one).
fn newer(candidate: Option<&str>, current: Option<&str>) -> bool {
    match (candidate, current) {
        (Some(a), Some(b)) => {
            match (chrono::DateTime::parse_from_rfc3339(a), chrono::DateTime::parse_from_rfc3339(b)) {
                (Ok(ta), Ok(tb)) => ta >= tb,
                _ => a >= b,
            }
        }
        (Some(_), None) => true,
        (None, Some(_)) => false,
        (None, None) => true,
    }
}

/// Which objects to read: when a STIX id occurs more than once (several versions of one
/// object), only the latest `modified` one (the last one on a tie) counts.
fn winners(objects: &[RawObject]) -> Vec<bool> {
    let mut best: HashMap<&str, usize> = HashMap::with_capacity(objects.len());
    let mut keep = vec![true; objects.len()];
    for (i, obj) in objects.iter().enumerate() {
        let Some(id) = obj.id.0.as_deref() else {
            continue;
        };
        match best.get(id).copied() {
            None => {
                best.insert(id, i);
            }
            Some(j) => {
                let current = objects.get(j).and_then(|o| o.modified.0.as_deref());
                if newer(obj.modified.0.as_deref(), current) {
                    if let Some(k) = keep.get_mut(j) {
                        *k = false;
                    }
                    best.insert(id, i);
                } else if let Some(k) = keep.get_mut(i) {
                    *k = false;
                }
            }
        }
    }
    keep
}

fn build(objects: Vec<RawObject>) -> AttackCatalog {
    let keep = winners(&objects);
    let mut catalog = AttackCatalog::default();
    let mut nodes: HashMap<String, Node> = HashMap::new();
    let mut relationships: Vec<RawObject> = Vec::new();

    for (obj, keep) in objects.into_iter().zip(keep) {
        if !keep {
            continue;
        }
        let Some(kind) = obj.kind.0.as_deref() else {
            continue;
        };
        if kind == "relationship" {
            relationships.push(obj);
            continue;
        }
        if !matches!(kind, "attack-pattern" | "x-mitre-tactic" | "course-of-action" | "x-mitre-asset") {
            continue;
        }
        let Some(stix_id) = obj.id.0.clone().filter(|id| !id.is_empty()) else {
            continue;
        };
        let Some((attack_id, source)) = mitre_id(&obj) else {
            continue;
        };
        let attack_id = attack_id.to_owned();
        let domain = domain_of(&obj, source);
        let revoked = obj.revoked.0.unwrap_or(false);
        let deprecated = obj.x_mitre_deprecated.0.unwrap_or(false);
        let usable = !revoked && !deprecated;
        match kind {
            "attack-pattern" => {
                let tactics = tactics_of(&obj);
                let is_subtechnique = obj.x_mitre_is_subtechnique.0.unwrap_or_else(|| attack_id.contains('.'));
                nodes.insert(stix_id.clone(), Node { kind: NodeKind::Technique, attack_id: attack_id.clone(), usable });
                catalog.techniques.push(CatalogTechnique {
                    stix_id,
                    attack_id,
                    name: obj.name.0.unwrap_or_default(),
                    domain,
                    tactics,
                    platforms: obj.x_mitre_platforms.0.unwrap_or_default(),
                    is_subtechnique,
                    revoked,
                    deprecated,
                    description: obj.description.0.unwrap_or_default(),
                });
            }
            "x-mitre-tactic" => {
                let name = obj.name.0.unwrap_or_default();
                let shortname = obj
                    .x_mitre_shortname
                    .0
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| name.to_lowercase().split_whitespace().collect::<Vec<_>>().join("-"));
                catalog.tactics.push(CatalogTactic { stix_id, attack_id, shortname, name, domain });
            }
            "course-of-action" => {
                nodes
                    .insert(stix_id.clone(), Node { kind: NodeKind::Mitigation, attack_id: attack_id.clone(), usable });
                catalog.mitigations.push(CatalogMitigation {
                    stix_id,
                    attack_id,
                    name: obj.name.0.unwrap_or_default(),
                    domain,
                    revoked,
                    deprecated,
                });
            }
            _ => {
                nodes.insert(stix_id.clone(), Node { kind: NodeKind::Asset, attack_id: attack_id.clone(), usable });
                catalog.assets.push(CatalogAsset {
                    stix_id,
                    attack_id,
                    name: obj.name.0.unwrap_or_default(),
                    platforms: obj.x_mitre_platforms.0.unwrap_or_default(),
                    revoked,
                    deprecated,
                });
            }
        }
    }

    let mut seen: HashSet<(CatalogRelationKind, &str, &str)> = HashSet::new();
    for rel in &relationships {
        if rel.revoked.0.unwrap_or(false) || rel.x_mitre_deprecated.0.unwrap_or(false) {
            continue;
        }
        let Some(kind) = rel.relationship_type.0.as_deref().and_then(CatalogRelationKind::parse) else {
            continue;
        };
        let (Some(source), Some(target)) = (
            rel.source_ref.0.as_deref().and_then(|id| nodes.get(id)),
            rel.target_ref.0.as_deref().and_then(|id| nodes.get(id)),
        ) else {
            continue;
        };
        let expected = match kind {
            CatalogRelationKind::Targets => (NodeKind::Technique, NodeKind::Asset),
            CatalogRelationKind::Mitigates => (NodeKind::Mitigation, NodeKind::Technique),
            CatalogRelationKind::SubtechniqueOf => (NodeKind::Technique, NodeKind::Technique),
        };
        if (source.kind, target.kind) != expected || !source.usable || !target.usable {
            continue;
        }
        if seen.insert((kind, &source.attack_id, &target.attack_id)) {
            catalog.relations.push(CatalogRelation {
                kind,
                source_attack_id: source.attack_id.clone(),
                target_attack_id: target.attack_id.clone(),
            });
        }
    }
    catalog
}

// ---------------------------------------------------------------------------------------
// Lenient serde model: every field tolerates any JSON value; what does not fit is `None`.
// ---------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawBundle {
    #[serde(rename = "type")]
    kind: Loose<String>,
    objects: Loose<Vec<RawObject>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawObject {
    #[serde(rename = "type")]
    kind: Loose<String>,
    id: Loose<String>,
    name: Loose<String>,
    description: Loose<String>,
    modified: Loose<String>,
    revoked: Loose<bool>,
    x_mitre_deprecated: Loose<bool>,
    x_mitre_is_subtechnique: Loose<bool>,
    x_mitre_platforms: Loose<Vec<String>>,
    x_mitre_domains: Loose<Vec<String>>,
    x_mitre_shortname: Loose<String>,
    external_references: Loose<Vec<RawExternalReference>>,
    kill_chain_phases: Loose<Vec<RawKillChainPhase>>,
    relationship_type: Loose<String>,
    source_ref: Loose<String>,
    target_ref: Loose<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawExternalReference {
    source_name: Loose<String>,
    external_id: Loose<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawKillChainPhase {
    kill_chain_name: Loose<String>,
    phase_name: Loose<String>,
}

/// A value of shape `T` if the JSON had that shape, `None` otherwise (the value is skipped).
struct Loose<T>(Option<T>);

impl<T> Default for Loose<T> {
    fn default() -> Self {
        Loose(None)
    }
}

/// The JSON shapes a type accepts; every other shape is skipped and yields `None`.
trait Shape: Sized {
    fn from_bool(_: bool) -> Option<Self> {
        None
    }
    fn from_string(_: &str) -> Option<Self> {
        None
    }
    fn from_owned_string(s: String) -> Option<Self> {
        Self::from_string(&s)
    }
    fn from_seq<'de, A: SeqAccess<'de>>(seq: A) -> Result<Option<Self>, A::Error> {
        drain_seq(seq).map(|()| None)
    }
    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Option<Self>, A::Error> {
        drain_map(map).map(|()| None)
    }
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

impl Shape for String {
    fn from_string(s: &str) -> Option<Self> {
        Some(s.to_owned())
    }
    fn from_owned_string(s: String) -> Option<Self> {
        Some(s)
    }
}

impl Shape for bool {
    fn from_bool(b: bool) -> Option<Self> {
        Some(b)
    }
}

/// Arrays: elements of the wrong shape are dropped, the rest kept.
impl<T: Shape> Shape for Vec<T> {
    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(Loose(item)) = seq.next_element::<Loose<T>>()? {
            out.extend(item);
        }
        Ok(Some(out))
    }
}

/// Objects read with their derived (all-lenient) `Deserialize`.
macro_rules! map_shape {
    ($($t:ty),*) => {$(
        impl Shape for $t {
            fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Option<Self>, A::Error> {
                <$t>::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
            }
        }
    )*};
}
map_shape!(RawBundle, RawObject, RawExternalReference, RawKillChainPhase);

impl<'de, T: Shape> Deserialize<'de> for Loose<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor(PhantomData))
    }
}

struct LooseVisitor<T>(PhantomData<T>);

impl<'de, T: Shape> Visitor<'de> for LooseVisitor<T> {
    type Value = Loose<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Loose(T::from_bool(v)))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Loose(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Loose(None))
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
        Ok(Loose(None))
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
        Ok(Loose(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Loose(None))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose(T::from_string(v)))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Loose(T::from_owned_string(v)))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        Ok(Loose(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        Loose::deserialize(deserializer)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        T::from_seq(seq).map(Loose)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::from_map(map).map(Loose)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    const SMALL: &str = r#"{
      "type": "bundle",
      "id": "bundle--00000000-0000-4000-8000-000000000000",
      "objects": [
        {"type": "identity", "id": "identity--1", "name": "The MITRE Corporation"},
        {"type": "x-mitre-tactic", "id": "x-mitre-tactic--1", "name": "Initial Access",
         "x_mitre_shortname": "initial-access", "x_mitre_domains": ["enterprise-attack"],
         "external_references": [{"source_name": "mitre-attack", "external_id": "TA0001"}]},
        {"type": "x-mitre-tactic", "id": "x-mitre-tactic--2", "name": "Lateral Movement",
         "external_references": [{"source_name": "mitre-attack", "external_id": "TA0008"}],
         "x_mitre_domains": ["enterprise-attack"]},
        {"type": "x-mitre-matrix", "id": "x-mitre-matrix--1", "name": "Enterprise ATT&CK",
         "external_references": [{"source_name": "mitre-attack", "external_id": "enterprise-attack"}]},
        {"type": "attack-pattern", "id": "attack-pattern--phish", "name": "Phishing",
         "description": "Adversaries may send phishing messages.",
         "revoked": false, "x_mitre_deprecated": false, "x_mitre_is_subtechnique": false,
         "x_mitre_platforms": ["Linux", "Windows"], "x_mitre_domains": ["enterprise-attack"],
         "kill_chain_phases": [
            {"kill_chain_name": "mitre-attack", "phase_name": "initial-access"},
            {"kill_chain_name": "lockheed", "phase_name": "delivery"},
            {"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}],
         "external_references": [
            {"source_name": "capec", "external_id": "CAPEC-98"},
            {"source_name": "mitre-attack", "external_id": "T1566",
             "url": "https://attack.mitre.org/techniques/T1566"}]},
        {"type": "attack-pattern", "id": "attack-pattern--phish-att", "name": "Spearphishing Attachment",
         "x_mitre_is_subtechnique": true, "x_mitre_platforms": ["Windows"],
         "x_mitre_domains": ["enterprise-attack"],
         "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}],
         "external_references": [{"source_name": "mitre-attack", "external_id": "T1566.001"}]},
        {"type": "attack-pattern", "id": "attack-pattern--old", "name": "Old Technique",
         "revoked": true, "x_mitre_domains": ["enterprise-attack"],
         "external_references": [{"source_name": "mitre-attack", "external_id": "T1215"}]},
        {"type": "attack-pattern", "id": "attack-pattern--ics-dep", "name": "Role Identification",
         "x_mitre_deprecated": true,
         "kill_chain_phases": [{"kill_chain_name": "mitre-ics-attack", "phase_name": "collection"}],
         "external_references": [{"source_name": "mitre-ics-attack", "external_id": "T0850"}]},
        {"type": "attack-pattern", "id": "attack-pattern--odd", "name": 5,
         "x_mitre_platforms": "Windows", "revoked": "no", "x_mitre_domains": ["ics-attack", 7],
         "kill_chain_phases": [3, {"kill_chain_name": "mitre-ics-attack", "phase_name": null}],
         "external_references": [{"source_name": "mitre-attack", "external_id": "T0866"}, "x"]},
        {"type": "attack-pattern", "id": "attack-pattern--noid", "name": "No MITRE id",
         "external_references": [{"source_name": "somebody", "external_id": "X1"}]},
        {"type": "attack-pattern", "id": "attack-pattern--v", "name": "Versioned (old)",
         "modified": "2020-01-01T00:00:00.000Z",
         "external_references": [{"source_name": "mitre-attack", "external_id": "T1999"}]},
        {"type": "attack-pattern", "id": "attack-pattern--v", "name": "Versioned (new)",
         "modified": "2024-01-01T00:00:00.000Z",
         "external_references": [{"source_name": "mitre-attack", "external_id": "T1999"}]},
        {"type": "attack-pattern", "id": "attack-pattern--v", "name": "Versioned (older)",
         "modified": "2019-01-01T00:00:00.000Z",
         "external_references": [{"source_name": "mitre-attack", "external_id": "T1999"}]},
        {"type": "x-mitre-asset", "id": "x-mitre-asset--plc", "name": "Programmable Logic Controller (PLC)",
         "x_mitre_platforms": ["Embedded"], "x_mitre_domains": ["ics-attack"],
         "external_references": [{"source_name": "mitre-attack", "external_id": "A0003"}]},
        {"type": "x-mitre-asset", "id": "x-mitre-asset--noid", "name": "Unnamed"},
        {"type": "course-of-action", "id": "course-of-action--seg", "name": "Network Segmentation",
         "x_mitre_domains": ["ics-attack"],
         "external_references": [{"source_name": "mitre-attack", "external_id": "M0930"}]},
        {"type": "course-of-action", "id": "course-of-action--old", "name": "Audio Capture Mitigation",
         "x_mitre_deprecated": true, "x_mitre_domains": ["enterprise-attack"],
         "external_references": [{"source_name": "mitre-attack", "external_id": "T1123"}]},
        {"type": "malware", "id": "malware--1", "name": "Industroyer",
         "external_references": [{"source_name": "mitre-attack", "external_id": "S0604"}]},
        {"type": "x-something-new", "id": "x-something-new--1", "whatever": {"nested": [1, 2]}},
        42,
        "a string",
        null,
        {"type": "relationship", "id": "relationship--sub", "relationship_type": "subtechnique-of",
         "source_ref": "attack-pattern--phish-att", "target_ref": "attack-pattern--phish"},
        {"type": "relationship", "id": "relationship--sub-dup", "relationship_type": "subtechnique-of",
         "source_ref": "attack-pattern--phish-att", "target_ref": "attack-pattern--phish"},
        {"type": "relationship", "id": "relationship--tgt", "relationship_type": "targets",
         "source_ref": "attack-pattern--odd", "target_ref": "x-mitre-asset--plc"},
        {"type": "relationship", "id": "relationship--mit", "relationship_type": "mitigates",
         "source_ref": "course-of-action--seg", "target_ref": "attack-pattern--odd"},
        {"type": "relationship", "id": "relationship--to-revoked", "relationship_type": "mitigates",
         "source_ref": "course-of-action--seg", "target_ref": "attack-pattern--old"},
        {"type": "relationship", "id": "relationship--from-deprecated-technique", "relationship_type": "targets",
         "source_ref": "attack-pattern--ics-dep", "target_ref": "x-mitre-asset--plc"},
        {"type": "relationship", "id": "relationship--from-deprecated-mitigation", "relationship_type": "mitigates",
         "source_ref": "course-of-action--old", "target_ref": "attack-pattern--phish"},
        {"type": "relationship", "id": "relationship--unknown", "relationship_type": "targets",
         "source_ref": "attack-pattern--phish", "target_ref": "x-mitre-asset--nowhere"},
        {"type": "relationship", "id": "relationship--deprecated", "relationship_type": "mitigates",
         "x_mitre_deprecated": true,
         "source_ref": "course-of-action--seg", "target_ref": "attack-pattern--phish"},
        {"type": "relationship", "id": "relationship--revoked", "relationship_type": "targets",
         "revoked": true, "source_ref": "attack-pattern--phish", "target_ref": "x-mitre-asset--plc"},
        {"type": "relationship", "id": "relationship--wrong-ends", "relationship_type": "mitigates",
         "source_ref": "attack-pattern--phish", "target_ref": "attack-pattern--odd"},
        {"type": "relationship", "id": "relationship--uses", "relationship_type": "uses",
         "source_ref": "malware--1", "target_ref": "attack-pattern--odd"},
        {"type": "relationship", "id": "relationship--noid-end", "relationship_type": "targets",
         "source_ref": "attack-pattern--noid", "target_ref": "x-mitre-asset--plc"},
        {"type": "relationship", "id": "relationship--bad-fields", "relationship_type": 3,
         "source_ref": ["x"], "target_ref": {"a": 1}}
      ]
    }"#;

    fn small() -> AttackCatalog {
        match AttackCatalog::from_bundle_json(SMALL.as_bytes()) {
            Ok(c) => c,
            Err(e) => panic!("small bundle failed: {e}"),
        }
    }

    fn technique<'a>(c: &'a AttackCatalog, id: &str) -> &'a CatalogTechnique {
        c.techniques.iter().find(|t| t.attack_id == id).unwrap_or_else(|| panic!("technique {id} missing"))
    }

    fn rel(kind: CatalogRelationKind, s: &str, t: &str) -> CatalogRelation {
        CatalogRelation { kind, source_attack_id: s.to_owned(), target_attack_id: t.to_owned() }
    }

    #[test]
    fn small_bundle_entities() {
        let c = small();
        let ids: Vec<&str> = c.techniques.iter().map(|t| t.attack_id.as_str()).collect();
        assert_eq!(ids, ["T1566", "T1566.001", "T1215", "T0850", "T0866", "T1999"]);

        let phish = technique(&c, "T1566");
        assert_eq!(phish.stix_id, "attack-pattern--phish");
        assert_eq!(phish.name, "Phishing");
        assert_eq!(phish.domain, "enterprise-attack");
        assert_eq!(phish.tactics, ["initial-access"]);
        assert_eq!(phish.platforms, ["Linux", "Windows"]);
        assert!(!phish.is_subtechnique && !phish.revoked && !phish.deprecated);
        assert_eq!(phish.description, "Adversaries may send phishing messages.");

        assert!(technique(&c, "T1566.001").is_subtechnique);
        assert!(technique(&c, "T1215").revoked);

        let dep = technique(&c, "T0850");
        assert!(dep.deprecated && !dep.revoked);
        assert_eq!(dep.domain, "ics-attack", "domain from the kill chain");
        assert_eq!(dep.tactics, ["collection"]);

        // Odd field types are ignored, not fatal.
        let odd = technique(&c, "T0866");
        assert_eq!(odd.name, "");
        assert!(odd.platforms.is_empty());
        assert!(!odd.revoked);
        assert_eq!(odd.domain, "ics-attack");
        assert!(odd.tactics.is_empty());

        // The latest version of a repeated STIX id wins, once.
        assert_eq!(technique(&c, "T1999").name, "Versioned (new)");

        assert_eq!(c.tactics.len(), 2);
        assert_eq!(c.tactics[0].shortname, "initial-access");
        assert_eq!(c.tactics[0].attack_id, "TA0001");
        assert_eq!(c.tactics[1].shortname, "lateral-movement", "derived from name");

        assert_eq!(c.assets.len(), 1);
        assert_eq!(c.assets[0].attack_id, "A0003");
        assert_eq!(c.assets[0].platforms, ["Embedded"]);

        assert_eq!(c.mitigations.len(), 2);
        assert_eq!(c.mitigations[0].attack_id, "M0930");
        assert_eq!(c.mitigations[0].domain, "ics-attack");
        assert!(c.mitigations[1].deprecated);
    }

    #[test]
    fn small_bundle_relations() {
        let c = small();
        assert_eq!(
            c.relations,
            [
                rel(CatalogRelationKind::SubtechniqueOf, "T1566.001", "T1566"),
                rel(CatalogRelationKind::Targets, "T0866", "A0003"),
                rel(CatalogRelationKind::Mitigates, "M0930", "T0866"),
            ]
        );
    }

    #[test]
    fn relation_kind_strings() {
        for kind in [CatalogRelationKind::Targets, CatalogRelationKind::Mitigates, CatalogRelationKind::SubtechniqueOf]
        {
            assert_eq!(CatalogRelationKind::parse(kind.as_str()), Some(kind));
            assert_eq!(kind.to_string(), kind.as_str());
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(CatalogRelationKind::parse("uses"), None);
    }

    #[test]
    fn catalog_serde_round_trip() {
        let c = small();
        let json = serde_json::to_vec(&c).unwrap_or_default();
        let back: AttackCatalog = serde_json::from_slice(&json).unwrap_or_default();
        assert_eq!(back, c);
    }

    fn err(input: &str) -> CatalogError {
        match AttackCatalog::from_bundle_json(input.as_bytes()) {
            Ok(c) => panic!("expected an error for {input:?}, got {c:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn not_json() {
        for input in ["", "not json", "{\"type\": \"bundle\", ", "{} trailing"] {
            let e = err(input);
            assert!(matches!(e, CatalogError::NotJson(_)), "{input:?}: {e:?}");
            assert!(e.to_string().starts_with("not valid JSON"));
            assert!(e.message_ja().contains("JSON として読み取れません"));
        }
    }

    #[test]
    fn not_a_bundle() {
        for input in [
            "[]",
            "42",
            "\"bundle\"",
            "null",
            "{}",
            r#"{"type": "bundle"}"#,
            r#"{"type": "bundle", "objects": {}}"#,
            r#"{"type": "bundle", "objects": null}"#,
            r#"{"type": "report", "objects": []}"#,
            r#"{"type": 1, "objects": []}"#,
            r#"{"objects": []}"#,
        ] {
            let e = err(input);
            assert!(matches!(e, CatalogError::NotABundle), "{input:?}: {e:?}");
            assert!(e.to_string().contains("not a STIX 2.1 bundle"));
            assert!(e.message_ja().contains("バンドルではありません"));
        }
    }

    #[test]
    fn bundle_without_attack_content() {
        let e = err(r#"{"type": "bundle", "objects": []}"#);
        assert!(matches!(e, CatalogError::NoAttackObjects));
        let e = err(r#"{"type": "bundle", "objects": [{"type": "indicator", "id": "indicator--1",
                "pattern": "[ipv4-addr:value = '192.0.2.1']"}]}"#);
        assert!(matches!(e, CatalogError::NoAttackObjects));
        assert!(e.message_ja().contains("ATT&CK"));
    }

    #[test]
    fn duplicate_key_is_malformed() {
        let e = err(r#"{"type": "bundle", "objects": [{"type": "attack-pattern", "type": "attack-pattern"}]}"#);
        assert!(matches!(e, CatalogError::Malformed(_)), "{e:?}");
        assert!(!e.message_ja().is_empty());
    }

    #[test]
    fn merge_dedups_and_prunes() {
        let mut a = small();
        let before = a.clone();
        a.merge(before.clone());
        assert_eq!(a, before, "merging a catalog into itself changes nothing");

        // A later catalog deprecates T0866: its relations go, the entry stays flagged.
        let mut newer = AttackCatalog::default();
        let mut t = technique(&before, "T0866").clone();
        t.deprecated = true;
        newer.techniques.push(t);
        newer.assets.push(CatalogAsset {
            stix_id: "x-mitre-asset--hmi".into(),
            attack_id: "A0002".into(),
            name: "Human-Machine Interface (HMI)".into(),
            platforms: vec!["Windows".into()],
            revoked: false,
            deprecated: false,
        });
        newer.relations.push(rel(CatalogRelationKind::Targets, "T1566", "A0002"));
        a.merge(newer);
        assert_eq!(a.techniques.len(), before.techniques.len());
        assert!(technique(&a, "T0866").deprecated);
        assert_eq!(a.assets.len(), 2);
        assert_eq!(
            a.relations,
            [
                rel(CatalogRelationKind::SubtechniqueOf, "T1566.001", "T1566"),
                rel(CatalogRelationKind::Targets, "T1566", "A0002"),
            ]
        );
    }

    // ---- the real MITRE files -----------------------------------------------------------

    fn data_file(name: &str) -> Option<PathBuf> {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/attack"));
        let path = dir.join(name);
        if path.is_file() {
            Some(path)
        } else {
            eprintln!("skipping: {} not found", path.display());
            None
        }
    }

    fn load(name: &str) -> Option<AttackCatalog> {
        let path = data_file(name)?;
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        match AttackCatalog::from_bundle_json(&bytes) {
            Ok(c) => Some(c),
            Err(e) => panic!("{} failed: {e}", path.display()),
        }
    }

    fn count(c: &AttackCatalog, kind: CatalogRelationKind) -> usize {
        c.relations.iter().filter(|r| r.kind == kind).count()
    }

    fn has(c: &AttackCatalog, kind: CatalogRelationKind, s: &str, t: &str) -> bool {
        c.relations.contains(&rel(kind, s, t))
    }

    #[test]
    fn real_ics_bundle() {
        let Some(c) = load("ics-attack.json") else {
            return;
        };
        assert_eq!(c.techniques.len(), 95);
        assert_eq!(c.assets.len(), 18);
        assert_eq!(c.mitigations.len(), 52);
        assert_eq!(c.tactics.len(), 12);
        assert!(c.techniques.iter().all(|t| t.domain == "ics-attack"));
        assert!(c.techniques.iter().all(|t| !t.tactics.is_empty()));
        assert_eq!(c.techniques.iter().filter(|t| t.deprecated).count(), 12);
        assert_eq!(c.techniques.iter().filter(|t| t.revoked).count(), 0);
        assert!(c.techniques.iter().all(|t| !t.is_subtechnique));

        // All 685 `targets` and 331 `mitigates` relationships in v18.1 are live.
        assert_eq!(count(&c, CatalogRelationKind::Targets), 685);
        assert_eq!(count(&c, CatalogRelationKind::Mitigates), 331);
        assert_eq!(count(&c, CatalogRelationKind::SubtechniqueOf), 0);

        let t0866 = technique(&c, "T0866");
        assert_eq!(t0866.name, "Exploitation of Remote Services");
        assert!(has(&c, CatalogRelationKind::Targets, "T0866", "A0003"));
        assert!(has(&c, CatalogRelationKind::Targets, "T0803", "A0005"));
        assert!(has(&c, CatalogRelationKind::Mitigates, "M0930", "T0866"));
        assert!(!has(&c, CatalogRelationKind::Targets, "T0803", "A0001"));

        let plc = c.assets.iter().find(|a| a.attack_id == "A0003").unwrap_or_else(|| panic!("A0003 missing"));
        assert_eq!(plc.name, "Programmable Logic Controller (PLC)");
        assert_eq!(plc.platforms, ["Embedded"]);

        // Deprecated ICS technique carried under the old `mitre-ics-attack` source name.
        let t0850 = technique(&c, "T0850");
        assert!(t0850.deprecated);
        assert_eq!(t0850.tactics, ["collection"]);
        // T0895 has no x_mitre_platforms at all.
        assert!(technique(&c, "T0895").platforms.is_empty());

        let tactic = c.tactics.iter().find(|t| t.attack_id == "TA0106").unwrap_or_else(|| panic!("TA0106 missing"));
        assert_eq!(tactic.shortname, "impair-process-control");
        assert_eq!(tactic.domain, "ics-attack");
    }

    #[test]
    fn real_enterprise_bundle() {
        let Some(c) = load("enterprise-attack-techniques.json") else {
            return;
        };
        assert_eq!(c.techniques.len(), 835);
        assert_eq!(c.techniques.iter().filter(|t| t.revoked).count(), 132);
        assert_eq!(c.techniques.iter().filter(|t| t.deprecated).count(), 12);
        assert_eq!(c.techniques.iter().filter(|t| t.is_subtechnique).count(), 479);
        assert_eq!(c.tactics.len(), 14);
        assert_eq!(c.mitigations.len(), 268);
        assert_eq!(c.mitigations.iter().filter(|m| m.deprecated).count(), 224);
        assert!(c.assets.is_empty());

        assert_eq!(count(&c, CatalogRelationKind::Mitigates), 1445);
        // 477 in the file, two of which touch a revoked/deprecated technique.
        assert_eq!(count(&c, CatalogRelationKind::SubtechniqueOf), 475);
        assert_eq!(count(&c, CatalogRelationKind::Targets), 0);
        assert!(!has(&c, CatalogRelationKind::SubtechniqueOf, "T1053.004", "T1053"));

        let t = technique(&c, "T1566.001");
        assert_eq!(t.name, "Spearphishing Attachment");
        assert!(t.is_subtechnique);
        assert_eq!(t.tactics, ["initial-access"]);
        assert_eq!(t.domain, "enterprise-attack");
        assert_eq!(t.platforms, ["Linux", "macOS", "Windows"]);
        assert!(has(&c, CatalogRelationKind::SubtechniqueOf, "T1566.001", "T1566"));
        assert!(technique(&c, "T1215").revoked);

        let tactic = c.tactics.iter().find(|t| t.attack_id == "TA0001").unwrap_or_else(|| panic!("TA0001 missing"));
        assert_eq!(tactic.shortname, "initial-access");
        assert_eq!(tactic.name, "Initial Access");
    }

    #[test]
    fn real_bundles_merge() {
        let (Some(mut enterprise), Some(ics)) = (load("enterprise-attack-techniques.json"), load("ics-attack.json"))
        else {
            return;
        };
        let relations = enterprise.relations.len() + ics.relations.len();
        enterprise.merge(ics.clone());
        assert_eq!(enterprise.techniques.len(), 835 + 95);
        assert_eq!(enterprise.mitigations.len(), 268 + 52);
        assert_eq!(enterprise.tactics.len(), 14 + 12);
        assert_eq!(enterprise.assets.len(), 18);
        assert_eq!(enterprise.relations.len(), relations);
        let once = enterprise.clone();
        enterprise.merge(ics);
        assert_eq!(enterprise, once, "merging ICS twice is idempotent");
    }
}
