//! MISP interop, both ways, as pure functions over JSON values.
//!
//! **Reading** ([`candidates`]): a MISP event as MISP and PyMISP export it
//! (`{"Event": {…}}` or the bare event) becomes a list of [`Candidate`]s, one per
//! attribute (top-level or inside an object) and one per ATT&CK technique its galaxies
//! name. Each body is validated by the rules the typed GraphQL mutations use
//! (`model::indicator::normalize`, `vuln::validate_cve_id`, `attack_id`, `clean_text`
//! with the same bounds); what renkei cannot hold is refused with a code.
//!
//! | MISP attribute type | renkei item |
//! | --- | --- |
//! | `ip-src`, `ip-dst` (and `…\|port`, the port kept in the description) | indicator `ipv4`, `ipv6` or `cidr` |
//! | `domain`, `hostname` | indicator `domain` |
//! | `url` | indicator `url` |
//! | `md5`, `sha1`, `sha256` (and `filename\|md5` …, the file name in the description) | indicator of that hash |
//! | `filename` | indicator `filename` |
//! | `email`, `email-src`, `email-dst` | indicator `email` |
//! | `vulnerability` (a CVE id) | a minimal advisory: the CVE id as title, the comment as description, exploitation unknown |
//! | anything else | refused, `MISP_UNSUPPORTED_TYPE` |
//!
//! ATT&CK galaxy clusters (event or attribute `Galaxy`, or `misp-galaxy:mitre-…="Name -
//! T1234"` tags) become **techniques** (renkei holds them): one per technique id per
//! event, named by the cluster, with its kill-chain tactics, the narrative naming the
//! event, labelled like the most restrictive of the places that named it, with an id
//! derived from the event's uuid and the technique id. The hub must still check the id
//! against a loaded ATT&CK catalog (`services::attack::resolve_technique`), as the typed
//! mutation does. Other tags become labels; deleted attributes are skipped.
//!
//! **Labels, never wider than the source said.** Tags `tlp:clear` (or `tlp:white`),
//! `tlp:green`, `tlp:amber`, `tlp:amber+strict`, `tlp:red` on the event and on the
//! attribute: the most restrictive wins. Two different labels on the same event or
//! attribute, or any other `tlp:` tag (`tlp:ex:chr`, `tlp:unclear`), are refused
//! (`MISP_CONFLICTING_TLP`, `MISP_UNKNOWN_TLP`): never guessed. A MISP distribution
//! (event, object, attribute; `5` inherits) bounds the label from below:
//!
//! | distribution | widest label |
//! | --- | --- |
//! | 0 your organisation only | AMBER+STRICT (TLP's "within their organisation") |
//! | 1 this community only | AMBER |
//! | 2 connected communities | GREEN |
//! | 3 all communities | CLEAR |
//! | 4 sharing group | RED (a closed audience: the importer names the recipients) |
//!
//! An attribute with no `tlp:` tag on it or its event takes the caller's default label,
//! tightened by the distributions. A RED result takes the recipients the importer named
//! and is refused (`TLP_RED_NEEDS_RECIPIENTS`) without them.
//!
//! **Writing** (the MISP feed, [`feed_event`], [`manifest_entry`], [`hash_lines`]): one
//! event per shared item, its uuid the item's (so a MISP instance updates it in place
//! when the item changes, and importing it back into renkei finds the item itself), the
//! item's label as its `tlp:` tag, an ATT&CK technique as its galaxy tag, the hub as the
//! creating organisation (a submitter is never named), and a distribution no wider than
//! the label ([`distribution_for`]).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::errors::Code;
use crate::import::{audience, Candidate, Refusal};
use crate::model::indicator::{normalize, IndicatorType};
use crate::model::vuln::{validate_cve_id, ExploitationStatus};
use crate::model::{clean_text, AdvisoryBody, Body, Envelope, IndicatorBody, Kind, TechniqueBody};
use crate::tlp::Tlp;

/// Most attributes (top-level and in objects together) one event may hold.
pub const MAX_ATTRIBUTES: usize = 50_000;

/// A MISP distribution level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distribution {
    OrganisationOnly,
    Community,
    ConnectedCommunities,
    AllCommunities,
    SharingGroup,
    /// `5`, attributes and objects only: the event's.
    Inherit,
}

impl Distribution {
    /// Reads a `distribution` field (a number or a numeric string); `None` when absent.
    pub fn read(value: Option<&Value>, inherit_allowed: bool) -> Result<Option<Distribution>, Refusal> {
        let level = match value {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
            Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
            Some(_) => None,
        };
        let distribution = match level {
            Some(0) => Distribution::OrganisationOnly,
            Some(1) => Distribution::Community,
            Some(2) => Distribution::ConnectedCommunities,
            Some(3) => Distribution::AllCommunities,
            Some(4) => Distribution::SharingGroup,
            Some(5) if inherit_allowed => Distribution::Inherit,
            _ => {
                let shown = value.map(Value::to_string).unwrap_or_default();
                return Err(Refusal::new(
                    Code::MispUnknownDistribution,
                    format!("distribution {shown} is not a MISP distribution level (0–4, or 5 to inherit)"),
                    format!("distribution {shown} はMISPの配布レベル（0〜4、継承は5）ではありません"),
                ));
            }
        };
        Ok(Some(distribution))
    }

    /// The widest label an item of this distribution may take; `None` to inherit.
    pub fn widest(self) -> Option<Tlp> {
        match self {
            Distribution::OrganisationOnly => Some(Tlp::AmberStrict),
            Distribution::SharingGroup => Some(Tlp::Red),
            Distribution::Community => Some(Tlp::Amber),
            Distribution::ConnectedCommunities => Some(Tlp::Green),
            Distribution::AllCommunities => Some(Tlp::Clear),
            Distribution::Inherit => None,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Distribution::OrganisationOnly => "distribution 0, your organisation only",
            Distribution::Community => "distribution 1, this community only",
            Distribution::ConnectedCommunities => "distribution 2, connected communities",
            Distribution::AllCommunities => "distribution 3, all communities",
            Distribution::SharingGroup => "distribution 4, a sharing group",
            Distribution::Inherit => "distribution 5, inherited",
        }
    }
}

/// The label a `tlp:` tag gives: `Ok(None)` for a tag that is not a TLP tag, a
/// refusal for a `tlp:` tag that is not one of TLP 2.0's labels (or TLP 1.0's white).
pub fn tlp_of_tag(name: &str) -> Result<Option<Tlp>, Refusal> {
    let lower = name.trim().to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("tlp:") else {
        return Ok(None);
    };
    let tlp = match rest.trim() {
        "clear" | "white" => Tlp::Clear,
        "green" => Tlp::Green,
        "amber" => Tlp::Amber,
        "amber+strict" => Tlp::AmberStrict,
        "red" => Tlp::Red,
        _ => {
            let shown: String = name.chars().take(60).collect();
            return Err(Refusal::new(
                Code::MispUnknownTlp,
                format!("tag {shown:?} is not a TLP 2.0 label (tlp:clear, tlp:green, tlp:amber, tlp:amber+strict, tlp:red)"),
                format!("タグ「{shown}」はTLP 2.0のラベル（tlp:clear、tlp:green、tlp:amber、tlp:amber+strict、tlp:red）ではありません"),
            ));
        }
    };
    Ok(Some(tlp))
}

/// The label and other labels of one event's or attribute's `Tag` list.
fn read_tags(holder: &Map<String, Value>, what: &str) -> Result<(Option<Tlp>, Vec<String>), Refusal> {
    let mut tlps: Vec<Tlp> = Vec::new();
    let mut labels = Vec::new();
    for name in tag_names(holder)? {
        match tlp_of_tag(&name)? {
            Some(tlp) => {
                if !tlps.contains(&tlp) {
                    tlps.push(tlp);
                }
            }
            None => labels.push(name),
        }
    }
    if tlps.len() > 1 {
        let named: Vec<&str> = tlps.iter().map(|t| t.as_str()).collect();
        return Err(Refusal::new(
            Code::MispConflictingTlp,
            format!("the {what} carries more than one TLP label ({}); nothing is guessed", named.join(", ")),
            format!("{what}に複数のTLPラベル（{}）が付いています。推測はしません", named.join("、")),
        ));
    }
    Ok((tlps.first().copied(), labels))
}

fn tag_names(holder: &Map<String, Value>) -> Result<Vec<String>, Refusal> {
    let Some(tags) = holder.get("Tag") else {
        return Ok(Vec::new());
    };
    let Some(tags) = tags.as_array() else {
        return Err(not_an_event("Tag is not a list"));
    };
    tags.iter()
        .map(|t| match t.get("name").and_then(Value::as_str) {
            Some(name) => Ok(name.to_string()),
            None => Err(not_an_event("a Tag has no name")),
        })
        .collect()
}

fn not_an_event(why: &str) -> Refusal {
    Refusal::new(
        Code::MispNotAnEvent,
        format!("not a MISP event: {why}"),
        format!("MISPのイベントとして読めません: {why}"),
    )
}

/// The label an item takes: the most restrictive `tlp:` tag (or, with none, the
/// default), tightened by the distributions' bounds.
pub fn label(tagged: Option<Tlp>, distribution_bound: Option<Tlp>, default: Tlp) -> Tlp {
    let base = tagged.unwrap_or(default);
    distribution_bound.map_or(base, |bound| base.max(bound))
}

/// What one level (event, object, attribute) says about the label.
#[derive(Debug, Clone, Copy, Default)]
struct Said {
    tag: Option<Tlp>,
    distribution: Option<Distribution>,
}

/// Combines what the levels say: the label and, for a RED one, where RED came from.
fn settle(levels: &[Said], default: Tlp) -> (Tlp, String) {
    let tagged = levels.iter().filter_map(|l| l.tag).max();
    let bounds = levels.iter().filter_map(|l| l.distribution.and_then(|d| d.widest().map(|b| (b, d))));
    let bound = bounds.max_by_key(|(b, _)| *b);
    let tlp = label(tagged, bound.map(|(b, _)| b), default);
    let why = if tagged == Some(Tlp::Red) {
        "tagged tlp:red".to_string()
    } else if let Some((Tlp::Red, d)) = bound {
        d.describe().to_string()
    } else if tagged.is_none() && default == Tlp::Red {
        "the default label is TLP:RED".to_string()
    } else {
        String::new()
    };
    (tlp, why)
}

fn as_object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, Refusal> {
    value.as_object().ok_or_else(|| not_an_event(&format!("{what} is not an object")))
}

fn list<'a>(holder: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], Refusal> {
    match holder.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(not_an_event(&format!("{key} is not a list"))),
    }
}

fn text<'a>(holder: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    holder.get(key).and_then(Value::as_str)
}

fn uuid_of(holder: &Map<String, Value>) -> Option<uuid::Uuid> {
    text(holder, "uuid").and_then(|u| uuid::Uuid::parse_str(u.trim()).ok())
}

fn is_true(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        Some(Value::String(s)) => matches!(s.trim(), "1" | "true"),
        _ => false,
    }
}

/// A short excerpt of a value for the report.
fn excerpt(value: &str) -> String {
    const MAX: usize = 80;
    let mut out: String = value.chars().take(MAX).filter(|c| !c.is_control()).collect();
    if value.chars().count() > MAX {
        out.push('…');
    }
    out
}

fn invalid(field: &str, reason: &str, reason_ja: &str) -> Refusal {
    Refusal::new(Code::InvalidInput, format!("{field}: {reason}"), format!("{field}: {reason_ja}"))
}

fn description(parts: Vec<String>) -> Result<Option<String>, Refusal> {
    let joined = parts.into_iter().filter(|p| !p.trim().is_empty()).collect::<Vec<_>>().join("; ");
    if joined.is_empty() {
        return Ok(None);
    }
    clean_text("description", &joined, 10_000).map(Some).map_err(|e| invalid("description", e.reason, e.reason_ja))
}

fn indicator(kind: IndicatorType, raw: &str, notes: Vec<String>) -> Result<Body, Refusal> {
    let value = normalize(kind, raw).map_err(|e| Refusal::new(Code::InvalidIndicator, e.reason, e.reason_ja))?;
    Ok(Body::Indicator(IndicatorBody { indicator_type: kind, value, description: description(notes)? }))
}

/// An IP attribute's value: an address (v4 or v6) or a CIDR block.
fn ip(raw: &str, notes: Vec<String>) -> Result<Body, Refusal> {
    let v = raw.trim();
    let kind = if v.contains('/') {
        IndicatorType::Cidr
    } else if v.contains(':') {
        IndicatorType::Ipv6
    } else {
        IndicatorType::Ipv4
    };
    indicator(kind, v, notes)
}

/// The body a MISP attribute becomes, validated as the typed mutations validate.
pub fn attribute_body(kind: &str, value: &str, comment: &str) -> Result<Body, Refusal> {
    let comment = comment.to_string();
    let split = |v: &str| -> Result<(String, String), Refusal> {
        match v.split_once('|') {
            Some((a, b)) => Ok((a.to_string(), b.to_string())),
            None => Err(invalid(
                "value",
                &format!("a {kind} attribute holds two values joined by '|'"),
                &format!("{kind}属性の値は「|」で区切った2つの値です"),
            )),
        }
    };
    match kind {
        "ip-src" | "ip-dst" => ip(value, vec![comment]),
        "ip-src|port" | "ip-dst|port" => {
            let (address, port) = split(value)?;
            ip(&address, vec![comment, format!("port {}", port.trim())])
        }
        "domain" | "hostname" => indicator(IndicatorType::Domain, value, vec![comment]),
        "url" => indicator(IndicatorType::Url, value, vec![comment]),
        "md5" => indicator(IndicatorType::Md5, value, vec![comment]),
        "sha1" => indicator(IndicatorType::Sha1, value, vec![comment]),
        "sha256" => indicator(IndicatorType::Sha256, value, vec![comment]),
        "filename|md5" | "filename|sha1" | "filename|sha256" => {
            let (file, hash) = split(value)?;
            let hash_kind = match kind {
                "filename|md5" => IndicatorType::Md5,
                "filename|sha1" => IndicatorType::Sha1,
                _ => IndicatorType::Sha256,
            };
            indicator(hash_kind, &hash, vec![comment, format!("file name {}", file.trim())])
        }
        "filename" => indicator(IndicatorType::Filename, value, vec![comment]),
        "email" | "email-src" | "email-dst" => indicator(IndicatorType::Email, value, vec![comment]),
        "vulnerability" => {
            let cve_id = validate_cve_id(value).map_err(|e| invalid(e.field, &e.reason, &e.reason_ja))?;
            let description = match comment.trim() {
                "" => None,
                c => Some(
                    clean_text("description", c, 50_000).map_err(|e| invalid("description", e.reason, e.reason_ja))?,
                ),
            };
            Ok(Body::Advisory(AdvisoryBody {
                title: cve_id.clone(),
                cve_id,
                description,
                affected: Vec::new(),
                cvss_vector: None,
                cvss_base_score: None,
                exploitation: ExploitationStatus::Unknown,
                fixes: Vec::new(),
                workarounds: Vec::new(),
            }))
        }
        other => {
            let shown = excerpt(other);
            Err(Refusal::new(
                Code::MispUnsupportedType,
                format!("unsupported MISP attribute type {shown:?}: renkei holds IP, domain, URL, hash, file name and e-mail indicators and CVE advisories"),
                format!("MISPの属性タイプ「{shown}」には対応していません（IP、ドメイン、URL、ハッシュ、ファイル名、メールアドレスの指標とCVEのアドバイザリーに対応）"),
            ))
        }
    }
}

/// A technique named by ATT&CK galaxies, gathered over the event.
struct Named {
    name: String,
    tactics: Vec<String>,
    tlp: Tlp,
    why: String,
    sources: Vec<String>,
}

/// The technique id at the end of a cluster value (`Spearphishing Attachment - T1566.001`).
fn id_in_value(value: &str) -> Option<(String, String)> {
    let (name, id) = value.rsplit_once(" - ")?;
    let id = crate::model::attack_id::validate_technique_id(id).ok()?;
    Some((id, name.trim().to_string()))
}

/// The ATT&CK techniques of one `Galaxy` list and one `Tag` list: (id, name, tactics).
fn techniques_of(holder: &Map<String, Value>) -> Result<Vec<(String, String, Vec<String>)>, Refusal> {
    let mut found = Vec::new();
    for galaxy in list(holder, "Galaxy")? {
        let galaxy = as_object(galaxy, "a Galaxy")?;
        let galaxy_type = text(galaxy, "type").unwrap_or("");
        for cluster in list(galaxy, "GalaxyCluster")? {
            let cluster = as_object(cluster, "a GalaxyCluster")?;
            let cluster_type = text(cluster, "type").unwrap_or(galaxy_type);
            if !cluster_type.starts_with("mitre-") {
                continue;
            }
            let value = text(cluster, "value").unwrap_or("");
            let meta = cluster.get("meta").and_then(Value::as_object);
            let external = meta.and_then(|m| m.get("external_id"));
            let listed: Vec<&str> = match external {
                Some(Value::Array(ids)) => ids.iter().filter_map(Value::as_str).collect(),
                Some(Value::String(id)) => vec![id.as_str()],
                _ => Vec::new(),
            };
            let from_meta = listed
                .iter()
                .filter(|id| id.trim().starts_with(['T', 't']))
                .find_map(|id| crate::model::attack_id::validate_technique_id(id).ok());
            let (id, name) = match (from_meta, id_in_value(value)) {
                (Some(id), Some((_, name))) => (id, name),
                (Some(id), None) => (id, value.trim().to_string()),
                (None, Some(found)) => found,
                (None, None) => continue,
            };
            let tactics = match meta.and_then(|m| m.get("kill_chain")) {
                Some(Value::Array(phases)) => phases
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|p| p.rsplit(':').next().unwrap_or(p).to_string())
                    .collect(),
                _ => Vec::new(),
            };
            found.push((id, name, tactics));
        }
    }
    for name in tag_names(holder)? {
        let Some(rest) = name.strip_prefix("misp-galaxy:") else {
            continue;
        };
        let Some((galaxy_type, value)) = rest.split_once('=') else {
            continue;
        };
        if !galaxy_type.starts_with("mitre-") {
            continue;
        }
        if let Some((id, name)) = id_in_value(value.trim().trim_matches('"')) {
            found.push((id, name, Vec::new()));
        }
    }
    Ok(found)
}

fn note_techniques(
    named: &mut BTreeMap<String, Named>,
    found: Vec<(String, String, Vec<String>)>,
    tlp: Tlp,
    why: &str,
    source: &str,
) {
    for (id, name, tactics) in found {
        let entry = named.entry(id).or_insert_with(|| Named {
            name: name.clone(),
            tactics: Vec::new(),
            tlp,
            why: why.to_string(),
            sources: Vec::new(),
        });
        if entry.name.is_empty() {
            entry.name = name;
        }
        for t in tactics {
            if !entry.tactics.contains(&t) {
                entry.tactics.push(t);
            }
        }
        if tlp > entry.tlp {
            entry.tlp = tlp;
            entry.why = why.to_string();
        }
        if !entry.sources.iter().any(|s| s == source) {
            entry.sources.push(source.to_string());
        }
    }
}

/// Keeps the labels that are short, printable text; others are dropped (a label
/// never widens an audience).
fn clean_labels(labels: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in labels {
        if let Ok(l) = clean_text("label", &l, 200) {
            if !out.contains(&l) {
                out.push(l);
            }
        }
    }
    out
}

/// The event itself: `{"Event": {…}}` or the bare event.
fn event_object(value: &Value) -> Result<&Map<String, Value>, Refusal> {
    let outer = value.as_object().ok_or_else(|| not_an_event("the document is not a JSON object"))?;
    let event = match outer.get("Event") {
        Some(inner) => as_object(inner, "Event")?,
        None => outer,
    };
    let looks_like_one = ["Attribute", "Object", "info", "uuid"].iter().any(|k| event.contains_key(*k));
    if !looks_like_one {
        return Err(not_an_event("it has no Attribute, Object, info or uuid"));
    }
    Ok(event)
}

/// The candidates of a MISP event (see the module's documentation). `default_tlp` is
/// the label of attributes no `tlp:` tag labels; `red_recipients` are the organisations
/// RED candidates are shared with. An event-level problem (not an event, refused tags
/// or distribution on the event, too many attributes) refuses the whole event; an
/// attribute's problem refuses that candidate only.
pub fn candidates(event: &Value, default_tlp: Tlp, red_recipients: &[String]) -> Result<Vec<Candidate>, Refusal> {
    let event = event_object(event)?;
    let (event_tag, event_labels) = read_tags(event, "event")?;
    let event_said = Said { tag: event_tag, distribution: Distribution::read(event.get("distribution"), false)? };
    let event_uuid = uuid_of(event);
    let info = text(event, "info").map(str::trim).unwrap_or("");
    let attributes = list(event, "Attribute")?;
    let objects = list(event, "Object")?;
    let mut total = attributes.len();
    for o in objects {
        total += o.get("Attribute").and_then(Value::as_array).map_or(0, Vec::len);
    }
    if total > MAX_ATTRIBUTES {
        return Err(Refusal::new(
            Code::BatchTooLarge,
            format!("the event holds {total} attributes; at most {MAX_ATTRIBUTES} are imported at once"),
            format!("イベントの属性が{total}件あります。一度に取り込めるのは{MAX_ATTRIBUTES}件までです"),
        ));
    }
    let mut out = Vec::with_capacity(total);
    let mut seen: HashSet<(Kind, String)> = HashSet::new();
    let mut named: BTreeMap<String, Named> = BTreeMap::new();

    // Techniques the event itself names take the event's label.
    let (event_label, event_why) = settle(&[event_said], default_tlp);
    note_techniques(&mut named, techniques_of(event)?, event_label, &event_why, "event galaxies");

    let mut read_attribute = |attribute: &Value, source: String, object: Said| {
        attribute_candidate(
            attribute,
            &source,
            &[event_said, object],
            &event_labels,
            default_tlp,
            red_recipients,
            &mut seen,
            &mut named,
        )
    };
    for (i, attribute) in attributes.iter().enumerate() {
        out.extend(read_attribute(attribute, format!("Attribute[{i}]"), Said::default()));
    }
    for (j, object) in objects.iter().enumerate() {
        let Some(object) = object.as_object() else {
            return Err(not_an_event(&format!("Object[{j}] is not an object")));
        };
        let name = text(object, "name").map(excerpt).unwrap_or_default();
        let object_said = match Distribution::read(object.get("distribution"), true) {
            Ok(d) => Said { tag: None, distribution: d },
            Err(refusal) => {
                out.push(refused(format!("Object[{j}] {name}"), refusal, default_tlp));
                continue;
            }
        };
        for (i, attribute) in list(object, "Attribute")?.iter().enumerate() {
            out.extend(read_attribute(attribute, format!("Object[{j}] {name} / Attribute[{i}]"), object_said));
        }
    }

    for (attack_id, technique) in named {
        let source = format!("Galaxy {attack_id} ({})", technique.sources.join(", "));
        let id = event_uuid
            .map(|u| format!("{}--{}", Kind::Technique.stix_type(), uuid::Uuid::new_v5(&u, attack_id.as_bytes())));
        let body = technique_body(&attack_id, &technique, info);
        let (body, recipients) = match (body, audience(technique.tlp, red_recipients, &technique.why)) {
            (Ok(body), Ok(recipients)) => (Ok(body), recipients),
            (Err(e), _) | (_, Err(e)) => (Err(e), Vec::new()),
        };
        out.push(Candidate::of_body(
            source,
            id,
            body,
            technique.tlp,
            recipients,
            clean_labels(event_labels.iter().cloned()),
        ));
    }
    Ok(out)
}

fn technique_body(attack_id: &str, technique: &Named, info: &str) -> Result<Body, Refusal> {
    let name = if technique.name.trim().is_empty() { attack_id } else { technique.name.as_str() };
    let name = clean_text("name", name, 300).map_err(|e| invalid("name", e.reason, e.reason_ja))?;
    let mut tactics = Vec::with_capacity(technique.tactics.len());
    for t in &technique.tactics {
        let t = crate::model::attack_id::validate_tactic(t)
            .map_err(|e| Refusal::new(Code::InvalidInput, e.reason, e.reason_ja))?;
        if !tactics.contains(&t) {
            tactics.push(t);
        }
    }
    let info: String = info.chars().take(1000).filter(|c| !c.is_control()).collect();
    let narrative = if info.trim().is_empty() {
        "Reported in a MISP event".to_string()
    } else {
        format!("Reported in the MISP event \"{}\"", info.trim())
    };
    Ok(Body::Technique(TechniqueBody {
        attack_id: attack_id.to_string(),
        name,
        tactics,
        narrative,
        platforms: Vec::new(),
        ics_asset_types: Vec::new(),
    }))
}

fn refused(source: String, refusal: Refusal, tlp: Tlp) -> Candidate {
    Candidate::of_body(source, None, Err(refusal), tlp, Vec::new(), Vec::new())
}

/// One attribute's candidate; `None` for a deleted attribute.
#[allow(clippy::too_many_arguments)]
fn attribute_candidate(
    attribute: &Value,
    source: &str,
    above: &[Said; 2],
    event_labels: &[String],
    default_tlp: Tlp,
    red_recipients: &[String],
    seen: &mut HashSet<(Kind, String)>,
    named: &mut BTreeMap<String, Named>,
) -> Option<Candidate> {
    let Some(attribute) = attribute.as_object() else {
        return Some(refused(source.to_string(), not_an_event("an attribute is not an object"), default_tlp));
    };
    if is_true(attribute.get("deleted")) {
        return None;
    }
    let kind = text(attribute, "type").unwrap_or("");
    let value = text(attribute, "value").unwrap_or("");
    let uuid = uuid_of(attribute);
    let source =
        format!("{source} {} {}{}", excerpt(kind), excerpt(value), uuid.map(|u| format!(" ({u})")).unwrap_or_default());
    let said = read_tags(attribute, "attribute").and_then(|(tag, labels)| {
        Ok((Said { tag, distribution: Distribution::read(attribute.get("distribution"), true)? }, labels))
    });
    let (said, own_labels) = match said {
        Ok(read) => read,
        Err(refusal) => return Some(refused(source, refusal, default_tlp)),
    };
    let (tlp, why) = settle(&[above[0], above[1], said], default_tlp);
    let labels = clean_labels(event_labels.iter().cloned().chain(own_labels));
    match techniques_of(attribute) {
        Ok(found) => note_techniques(named, found, tlp, &why, &source),
        Err(refusal) => return Some(refused(source, refusal, tlp)),
    }
    let comment = text(attribute, "comment").unwrap_or("");
    let body = attribute_body(kind, value, comment).and_then(|body| {
        let key = match &body {
            Body::Indicator(b) => (Kind::Indicator, format!("{}:{}", b.indicator_type, b.value)),
            other => (
                other.kind(),
                match other {
                    Body::Advisory(a) => a.cve_id.clone(),
                    _ => String::new(),
                },
            ),
        };
        if !seen.insert(key.clone()) {
            return Err(Refusal::new(
                Code::DuplicateInBatch,
                format!("{} appears twice in this event; the first one is imported", key.1),
                format!("{} がこのイベントに重複しています（最初のものを取り込みます）", key.1),
            ));
        }
        Ok(body)
    });
    let (body, recipients) = match (body, audience(tlp, red_recipients, &why)) {
        (Ok(body), Ok(recipients)) => (Ok(body), recipients),
        (Err(e), _) | (_, Err(e)) => (Err(e), Vec::new()),
    };
    let id = match (&body, uuid) {
        (Ok(body), Some(u)) => Some(format!("{}--{u}", body.kind().stix_type())),
        _ => None,
    };
    Some(Candidate::of_body(source, id, body, tlp, recipients, labels))
}

// ---------------------------------------------------------------------------------
// Writing: the MISP feed.
// ---------------------------------------------------------------------------------

/// The organisation a feed names as the creator of every event: the hub itself, so a
/// submitter (anonymous or not) is never named.
#[derive(Debug, Clone)]
pub struct Orgc {
    pub name: String,
    pub uuid: String,
}

impl Orgc {
    /// The hub as a MISP organisation: its name, and a uuid derived from its id (stable).
    pub fn hub(hub_id: &str, name: &str) -> Orgc {
        Orgc {
            name: name.to_string(),
            uuid: uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, format!("renkei-hub:{hub_id}").as_bytes()).to_string(),
        }
    }

    fn json(&self) -> Value {
        json!({"name": self.name, "uuid": self.uuid})
    }
}

/// The `tlp:` tag of a label.
pub fn tlp_tag(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "tlp:clear",
        Tlp::Green => "tlp:green",
        Tlp::Amber => "tlp:amber",
        Tlp::AmberStrict => "tlp:amber+strict",
        Tlp::Red => "tlp:red",
    }
}

/// The MISP distribution a feed event of this label carries (what the subscribing
/// instance keeps when its feed setting inherits the events' distribution): the level
/// that [`Distribution::widest`] reads back as this label, so an event imported back
/// keeps its label. CLEAR → 3 all communities, GREEN → 2 connected communities, AMBER
/// → 1 this community only, AMBER+STRICT and RED → 0 your organisation only (a
/// sharing group of the recipients does not exist on the subscriber).
pub fn distribution_for(tlp: Tlp) -> u8 {
    match tlp {
        Tlp::Clear => 3,
        Tlp::Green => 2,
        Tlp::Amber => 1,
        Tlp::AmberStrict | Tlp::Red => 0,
    }
}

/// The kinds the feed serves, in the order the manifest lists them.
pub const FEED_KINDS: [Kind; 3] = [Kind::Indicator, Kind::Advisory, Kind::Technique];

/// The uuid part of an item id (`indicator--<uuid>`): the feed event's uuid.
pub fn event_uuid(item_id: &str) -> Option<&str> {
    let (_, uuid) = item_id.split_once("--")?;
    uuid::Uuid::parse_str(uuid).ok().map(|_| uuid)
}

/// The item ids a feed event uuid may stand for, one per kind served.
pub fn item_ids(event_uuid: &str) -> Option<Vec<String>> {
    let parsed = uuid::Uuid::parse_str(event_uuid).ok()?;
    // Only the canonical lowercase hyphenated form names an event.
    if parsed.hyphenated().to_string() != event_uuid {
        return None;
    }
    Some(FEED_KINDS.iter().map(|k| format!("{}--{event_uuid}", k.stix_type())).collect())
}

/// MISP's attribute type and category for an indicator type.
fn misp_type(kind: IndicatorType) -> (&'static str, &'static str) {
    match kind {
        IndicatorType::Ipv4 | IndicatorType::Ipv6 | IndicatorType::Cidr => ("ip-dst", "Network activity"),
        IndicatorType::Domain => ("domain", "Network activity"),
        IndicatorType::Url => ("url", "Network activity"),
        IndicatorType::Email => ("email-src", "Payload delivery"),
        IndicatorType::Md5 => ("md5", "Payload delivery"),
        IndicatorType::Sha1 => ("sha1", "Payload delivery"),
        IndicatorType::Sha256 => ("sha256", "Payload delivery"),
        IndicatorType::Filename => ("filename", "Payload delivery"),
    }
}

fn galaxy_tag(attack_id: &str, name: &str) -> String {
    format!("misp-galaxy:mitre-attack-pattern=\"{} - {attack_id}\"", name.replace('"', "'"))
}

fn epoch(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// The event head a manifest lists and the event repeats: `None` for kinds the feed
/// does not serve.
fn head(env: &Envelope, body: &Body, orgc: &Orgc) -> Option<(String, Map<String, Value>)> {
    let uuid = event_uuid(&env.id)?.to_string();
    let info = match body {
        Body::Indicator(b) => format!("renkei indicator: {} {}", b.indicator_type, b.value),
        Body::Advisory(a) => format!("renkei advisory: {} {}", a.cve_id, a.title),
        Body::Technique(t) => format!("renkei technique: {} {}", t.attack_id, t.name),
        Body::Incident(_) | Body::Assessment(_) | Body::Sealed(_) => return None,
    };
    let mut tags = vec![json!({"name": tlp_tag(env.tlp)})];
    if let Body::Technique(t) = body {
        tags.push(json!({"name": galaxy_tag(&t.attack_id, &t.name)}));
    }
    for label in &env.labels {
        // A label that reads as a TLP tag would contradict the item's own.
        if !label.trim().to_ascii_lowercase().starts_with("tlp:") {
            tags.push(json!({"name": label}));
        }
    }
    let mut head = Map::new();
    head.insert("info".into(), json!(info));
    head.insert("date".into(), json!(env.created.format("%Y-%m-%d").to_string()));
    head.insert("timestamp".into(), json!(epoch(env.modified)));
    head.insert("analysis".into(), json!(2));
    head.insert("threat_level_id".into(), json!(4));
    head.insert("Orgc".into(), orgc.json());
    head.insert("Tag".into(), Value::Array(tags));
    Some((uuid, head))
}

/// One manifest entry (`uuid`, `{info, date, timestamp, analysis, threat_level_id,
/// Orgc, Tag}`) for an item the feed serves.
pub fn manifest_entry(env: &Envelope, body: &Body, orgc: &Orgc) -> Option<(String, Value)> {
    head(env, body, orgc).map(|(uuid, head)| (uuid, Value::Object(head)))
}

/// The feed event (`{"Event": {…}}`) of an item the feed serves.
pub fn feed_event(env: &Envelope, body: &Body, orgc: &Orgc) -> Option<Value> {
    let (uuid, mut event) = head(env, body, orgc)?;
    let timestamp = epoch(env.modified).to_string();
    let attribute = |kind: &str, category: &str, value: &str, to_ids: bool, comment: &str| {
        json!({
            "uuid": uuid,
            "type": kind,
            "category": category,
            "value": value,
            "to_ids": to_ids,
            "comment": comment,
            "timestamp": timestamp,
            "distribution": "5",
            "sharing_group_id": "0",
            "disable_correlation": false,
            "deleted": false,
        })
    };
    let attributes = match body {
        Body::Indicator(b) => {
            let (kind, category) = misp_type(b.indicator_type);
            vec![attribute(kind, category, &b.value, true, b.description.as_deref().unwrap_or(""))]
        }
        Body::Advisory(a) => {
            vec![attribute(
                "vulnerability",
                "External analysis",
                &a.cve_id,
                false,
                a.description.as_deref().unwrap_or(""),
            )]
        }
        _ => Vec::new(),
    };
    event.insert("uuid".into(), json!(uuid));
    event.insert("timestamp".into(), json!(timestamp));
    event.insert("publish_timestamp".into(), json!(timestamp));
    event.insert("published".into(), json!(true));
    event.insert("analysis".into(), json!("2"));
    event.insert("threat_level_id".into(), json!("4"));
    event.insert("distribution".into(), json!(distribution_for(env.tlp).to_string()));
    event.insert("sharing_group_id".into(), json!("0"));
    event.insert("Attribute".into(), Value::Array(attributes));
    event.insert("Object".into(), json!([]));
    Some(json!({ "Event": Value::Object(event) }))
}

/// The `hashes.csv` lines of an item (`md5 of the value,event uuid`), which MISP's
/// feed cache reads to correlate without downloading every event.
pub fn hash_lines(env: &Envelope, body: &Body) -> Vec<String> {
    let Some(uuid) = event_uuid(&env.id) else {
        return Vec::new();
    };
    let value = match body {
        Body::Indicator(b) => b.value.as_str(),
        Body::Advisory(a) => a.cve_id.as_str(),
        _ => return Vec::new(),
    };
    vec![format!("{},{uuid}", crate::md5::hex(value.as_bytes()))]
}

#[cfg(test)]
mod tests;
