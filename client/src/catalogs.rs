//! Framework catalogs (handbook 4.2, 6.1): NIST CSF 2.0, C2M2, CIS Controls v8, the
//! NCSC CAF, METI's CPSF, read from OSCAL catalog JSON (NIST's format), checked whole on
//! import (every problem named, in English and Japanese, and nothing stored), and kept
//! flattened in `catalog_controls` by their official labels. Mappings between catalogs
//! (`catalog_mappings`) let a profile kept in one framework be read in another.
//!
//! NIST CSF 2.0 ships inside the client: it is loaded the first time the register
//! needs it, so profiles work without an import.

use std::collections::{HashMap, HashSet};

use crate::bail;
use crate::error::{Context as _, Result};
use chrono::Utc;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use serde::{Deserialize, Serialize};

use crate::tables::{catalog_controls, catalog_mappings, catalogs};

/// The framework id of NIST CSF 2.0, the catalog the register always has.
pub const CSF: &str = "nist-csf-2.0";

/// The shipped CSF 2.0 catalog (public domain), loaded when the register first needs it.
const CSF_CATALOG: &str = include_str!("../catalogs/nist-csf-2.0.json");

/// The frameworks a catalog may be of (metadata prop `framework`), with their names.
pub const FRAMEWORKS: [(&str, &str); 5] = [
    (CSF, "NIST CSF 2.0"),
    ("c2m2-2.1", "C2M2 2.1"),
    ("cis-v8", "CIS Controls v8"),
    ("ncsc-caf-3.2", "NCSC CAF 3.2"),
    ("meti-cpsf-1.0", "METI CPSF 1.0"),
];

/// A catalog file larger than this is refused before it is read.
pub const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;
/// Groups and controls nested deeper than this are refused (CSF needs 3).
pub const MAX_DEPTH: usize = 8;
/// More groups and controls than this in one catalog are refused.
pub const MAX_CONTROLS: usize = 50_000;

/// The name of a framework id, or the id itself.
pub fn framework_name(framework: &str) -> &str {
    FRAMEWORKS.iter().find(|(id, _)| *id == framework).map_or(framework, |(_, name)| name)
}

// The subset of OSCAL's catalog model renkei reads. Every field is optional so that a
// file missing several is read whole and each missing one named, not the first only.

#[derive(Debug, Deserialize)]
struct OscalFile {
    catalog: Option<OscalCatalog>,
}

#[derive(Debug, Deserialize)]
struct OscalCatalog {
    uuid: Option<String>,
    metadata: Option<OscalMetadata>,
    #[serde(default)]
    groups: Vec<OscalNode>,
    #[serde(default)]
    controls: Vec<OscalNode>,
}

#[derive(Debug, Deserialize)]
struct OscalMetadata {
    title: Option<String>,
    version: Option<String>,
    #[serde(default)]
    props: Vec<OscalProp>,
}

#[derive(Debug, Deserialize)]
struct OscalProp {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
struct OscalPart {
    name: Option<String>,
    prose: Option<String>,
    #[serde(default)]
    parts: Vec<OscalPart>,
}

/// A group or a control: both have an id, a class, a title, props and parts, and may
/// hold groups (a group) or controls.
#[derive(Debug, Deserialize)]
struct OscalNode {
    id: Option<String>,
    class: Option<String>,
    title: Option<String>,
    #[serde(default)]
    props: Vec<OscalProp>,
    #[serde(default)]
    parts: Vec<OscalPart>,
    #[serde(default)]
    groups: Vec<OscalNode>,
    #[serde(default)]
    controls: Vec<OscalNode>,
}

fn prop<'a>(props: &'a [OscalProp], name: &str) -> Option<&'a str> {
    props.iter().find(|p| p.name == name).map(|p| p.value.trim()).filter(|v| !v.is_empty())
}

/// A catalog as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    pub framework: String,
    pub uuid: String,
    pub title: String,
    pub version: String,
    /// What the text's licence allows (ids and titles only, or the whole text).
    pub licence: String,
    pub source: String,
    pub imported_at: String,
    pub controls: usize,
}

/// A group or control of a catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Queryable, Selectable)]
#[diesel(table_name = catalog_controls)]
pub struct Control {
    pub framework: String,
    pub label: String,
    pub parent: Option<String>,
    /// function, category, subcategory, control (or the catalog's own class).
    pub kind: String,
    pub title: String,
    pub title_ja: Option<String>,
    pub text: String,
    pub sort_order: i32,
}

impl Control {
    /// The title in English and, when the catalog has one, Japanese. A control whose
    /// title is only its label (CSF subcategories have none of their own) is named by
    /// the start of its text.
    pub fn name(&self) -> String {
        let title = if self.title == self.label && !self.text.is_empty() {
            let short: String = self.text.chars().take(90).collect();
            if short.len() < self.text.len() {
                format!("{}…", short.trim_end())
            } else {
                short
            }
        } else {
            self.title.clone()
        };
        match &self.title_ja {
            Some(ja) => format!("{title} / {ja}"),
            None => title,
        }
    }
}

/// A catalog read and checked, ready to store.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub catalog: Catalog,
    pub controls: Vec<Control>,
}

/// Reads and checks a catalog file (at most [`MAX_FILE_BYTES`]).
pub fn read_file(path: &std::path::Path) -> Result<Parsed> {
    let size = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    if size > MAX_FILE_BYTES {
        bail!(
            "{}: {size} bytes is more than a catalog may be ({MAX_FILE_BYTES} bytes) / カタログのファイルが大きすぎます(上限 {MAX_FILE_BYTES} バイト)",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).map_err(|e| match e {
        crate::error::Error::Invalid(m) => crate::error::Error::Invalid(format!(
            "{} is not a catalog renkei can import / カタログとして取り込めません:\n{m}",
            path.display()
        )),
        e => e,
    })
}

/// Checks an OSCAL catalog and flattens it; every problem is named at once.
pub fn parse(text: &str) -> Result<Parsed> {
    if text.len() as u64 > MAX_FILE_BYTES {
        bail!(
            "the catalog is larger than {MAX_FILE_BYTES} bytes / カタログが大きすぎます(上限 {MAX_FILE_BYTES} バイト)"
        );
    }
    let file: OscalFile = match serde_json::from_str(text) {
        Ok(f) => f,
        Err(e) if e.is_syntax() || e.is_eof() => {
            bail!("not JSON ({e}) / JSONではありません({e})")
        }
        Err(e) => bail!("not an OSCAL catalog: {e} / OSCALカタログの形式ではありません: {e}"),
    };
    let Some(oscal) = file.catalog else {
        bail!("not an OSCAL catalog: no top-level \"catalog\" object / OSCALカタログではありません(\"catalog\" がありません)");
    };
    let mut problems: Vec<String> = Vec::new();
    let uuid = oscal.uuid.as_deref().map(str::trim).unwrap_or_default().to_string();
    if uuid.is_empty() {
        problems.push("the catalog has no uuid / カタログに uuid がありません".into());
    } else if !is_uuid(&uuid) {
        problems
            .push(format!("the catalog's uuid {uuid:?} is not a UUID / カタログの uuid「{uuid}」はUUIDではありません"));
    }
    let (mut title, mut version, mut framework, mut licence, mut source) =
        (String::new(), String::new(), String::new(), String::new(), String::new());
    match &oscal.metadata {
        None => problems.push("the catalog has no metadata / カタログに metadata がありません".into()),
        Some(m) => {
            title = m.title.as_deref().map(str::trim).unwrap_or_default().to_string();
            if title.is_empty() {
                problems.push("the metadata has no title / metadata に title がありません".into());
            }
            version = m.version.as_deref().map(str::trim).unwrap_or_default().to_string();
            if version.is_empty() {
                problems.push("the metadata has no version / metadata に version がありません".into());
            }
            match prop(&m.props, "framework") {
                None => problems.push(
                    "the metadata has no prop \"framework\" (nist-csf-2.0, cis-v8...) / metadata にフレームワークID(props の framework)がありません"
                        .into(),
                ),
                Some(f) if !FRAMEWORKS.iter().any(|(id, _)| *id == f) => problems.push(format!(
                    "unknown framework id {f:?} (known: {}) / 未知のフレームワークID「{f}」です",
                    FRAMEWORKS.iter().map(|(id, _)| *id).collect::<Vec<_>>().join(", ")
                )),
                Some(f) => framework = f.to_string(),
            }
            match prop(&m.props, "text-licence") {
                Some(l) => licence = l.to_string(),
                None => problems.push(
                    "the metadata does not say what the text's licence allows (prop \"text-licence\") / metadata にテキストのライセンス(text-licence)がありません"
                        .into(),
                ),
            }
            match prop(&m.props, "source") {
                Some(s) => source = s.to_string(),
                None => problems.push(
                    "the metadata does not name its source (prop \"source\") / metadata に出典(source)がありません"
                        .into(),
                ),
            }
        }
    }
    let mut walk = Walk {
        framework: &framework,
        controls: Vec::new(),
        ids: HashSet::new(),
        labels: HashMap::new(),
        problems: Vec::new(),
        too_deep: false,
    };
    for (list, is_group) in [(&oscal.groups, true), (&oscal.controls, false)] {
        for node in list {
            walk.node(node, is_group, None, 0);
        }
    }
    problems.append(&mut walk.problems);
    if walk.controls.is_empty() && problems.is_empty() {
        problems.push("the catalog has no groups or controls / カタログにグループも管理策もありません".into());
    }
    if walk.controls.len() > MAX_CONTROLS {
        problems.push(format!(
            "{} groups and controls is more than a catalog may hold ({MAX_CONTROLS}) / 管理策が多すぎます(上限 {MAX_CONTROLS})",
            walk.controls.len()
        ));
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    let count = walk.controls.len();
    let controls = walk.controls;
    Ok(Parsed {
        catalog: Catalog {
            framework,
            uuid,
            title,
            version,
            licence,
            source,
            imported_at: String::new(),
            controls: count,
        },
        controls,
    })
}

/// OSCAL's UUID form: 8-4-4-4-12 hexadecimal digits.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The tree walked depth-first, each node checked, the labels and ids seen so far.
struct Walk<'a> {
    framework: &'a str,
    controls: Vec<Control>,
    ids: HashSet<String>,
    /// Upper-cased label → the first id that had it.
    labels: HashMap<String, String>,
    problems: Vec<String>,
    too_deep: bool,
}

impl Walk<'_> {
    fn node(&mut self, node: &OscalNode, is_group: bool, parent: Option<&str>, depth: usize) {
        if depth >= MAX_DEPTH {
            if !self.too_deep {
                self.too_deep = true;
                self.problems.push(format!(
                    "groups and controls are nested deeper than {MAX_DEPTH} levels / 入れ子が深すぎます(上限 {MAX_DEPTH} 段)"
                ));
            }
            return;
        }
        let what = if is_group { "group" } else { "control" };
        let id = node.id.as_deref().map(str::trim).unwrap_or_default();
        let label = prop(&node.props, "label").unwrap_or_default().to_string();
        let at = match (id.is_empty(), label.is_empty()) {
            (false, _) => format!("{what} {id:?}"),
            (true, false) => format!("{what} labelled {label:?}"),
            (true, true) => format!("a {what} under {}", parent.unwrap_or("the catalog")),
        };
        if id.is_empty() {
            self.problems.push(format!("{at} has no id / {at} に id がありません"));
        } else if !self.ids.insert(id.to_string()) {
            self.problems.push(format!("the id {id:?} is used more than once / id「{id}」が重複しています"));
        } else if id != id.to_lowercase() {
            self.problems.push(format!("{at}: an id is lower case / id「{id}」は小文字で書いてください"));
        }
        if label.is_empty() {
            self.problems.push(format!(
                "{at} has no label (prop \"label\", the official id such as GV.OC-01) / {at} にラベル(props の label)がありません"
            ));
        } else if let Some(first) = self.labels.insert(label.to_uppercase(), id.to_string()) {
            self.problems.push(format!(
                "the label {label:?} is used more than once ({first:?} and {id:?}) / ラベル「{label}」が重複しています"
            ));
        }
        let title = node.title.as_deref().map(str::trim).unwrap_or_default().to_string();
        if title.is_empty() {
            self.problems.push(format!("{at} has no title / {at} に title がありません"));
        }
        let kind = self.kind(node, is_group, &label);
        let mut text = Vec::new();
        prose(&node.parts, &mut text);
        let sort_order = i32::try_from(self.controls.len()).unwrap_or(i32::MAX);
        self.controls.push(Control {
            framework: self.framework.to_string(),
            label: label.clone(),
            parent: parent.map(str::to_string),
            kind,
            title,
            title_ja: prop(&node.props, "title-ja").map(str::to_string),
            text: text.join("\n"),
            sort_order,
        });
        let here = (!label.is_empty()).then_some(label.as_str());
        for child in &node.groups {
            self.node(child, true, here.or(parent), depth + 1);
        }
        for child in &node.controls {
            self.node(child, false, here.or(parent), depth + 1);
        }
    }

    /// The node's kind: its OSCAL class when it names one; else a group or a control,
    /// except in CSF, whose labels say the level (`GV`, `GV.OC`, `GV.OC-01`).
    fn kind(&self, node: &OscalNode, is_group: bool, label: &str) -> String {
        let class = node.class.as_deref().map(|c| c.trim().to_lowercase()).unwrap_or_default();
        if !class.is_empty()
            && class.len() <= 32
            && class.chars().all(|c| c.is_ascii_lowercase() || c == '-' || c == '_')
        {
            return class;
        }
        if self.framework == CSF {
            return if label.contains('-') {
                "subcategory"
            } else if label.contains('.') {
                "category"
            } else {
                "function"
            }
            .into();
        }
        if is_group { "group" } else { "control" }.into()
    }
}

/// The statement prose of parts (and their sub-parts): guidance and examples are left
/// out, as the profile is about the outcome.
fn prose(parts: &[OscalPart], out: &mut Vec<String>) {
    for part in parts {
        let name = part.name.as_deref().unwrap_or_default();
        if matches!(name, "guidance" | "example" | "examples" | "implementation-example" | "assessment-objective") {
            continue;
        }
        if let Some(p) = part.prose.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            out.push(p.to_string());
        }
        prose(&part.parts, out);
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Imported {
    pub framework: String,
    pub version: String,
    /// The version it replaced, if the framework was loaded.
    pub replaced: Option<String>,
    pub controls: usize,
    /// Mappings dropped because the new version lacks a label they named.
    pub mappings_dropped: usize,
}

/// Stores a checked catalog in one transaction, replacing the framework's catalog if
/// one was loaded (a newer version); mappings naming labels the new one lacks go.
pub fn import(conn: &mut SqliteConnection, parsed: Parsed) -> Result<Imported> {
    crate::register::write_transaction(conn, |c| store(c, parsed))
}

fn store(conn: &mut SqliteConnection, parsed: Parsed) -> Result<Imported> {
    let Parsed { mut catalog, controls } = parsed;
    let framework = catalog.framework.clone();
    let replaced: Option<String> = catalogs::table.find(&framework).select(catalogs::version).first(conn).optional()?;
    diesel::delete(catalog_controls::table.filter(catalog_controls::framework.eq(&framework))).execute(conn)?;
    catalog.imported_at = crate::register::stamp(Utc::now());
    diesel::replace_into(catalogs::table)
        .values((
            catalogs::framework.eq(&framework),
            catalogs::uuid.eq(&catalog.uuid),
            catalogs::title.eq(&catalog.title),
            catalogs::version.eq(&catalog.version),
            catalogs::licence.eq(&catalog.licence),
            catalogs::source.eq(&catalog.source),
            catalogs::imported_at.eq(&catalog.imported_at),
        ))
        .execute(conn)?;
    let rows: Vec<_> = controls
        .iter()
        .map(|k| {
            (
                catalog_controls::framework.eq(&k.framework),
                catalog_controls::label.eq(&k.label),
                catalog_controls::parent.eq(&k.parent),
                catalog_controls::kind.eq(&k.kind),
                catalog_controls::title.eq(&k.title),
                catalog_controls::title_ja.eq(&k.title_ja),
                catalog_controls::text.eq(&k.text),
                catalog_controls::sort_order.eq(k.sort_order),
            )
        })
        .collect();
    // 8 parameters a row: 1,000 rows stay under SQLite's limit of 32,766.
    for chunk in rows.chunks(1000) {
        diesel::insert_into(catalog_controls::table).values(chunk).execute(conn)?;
    }
    let mut mappings_dropped = 0;
    if replaced.is_some() {
        let known: HashSet<String> = controls.iter().map(|k| k.label.clone()).collect();
        let held: Vec<(String, String, String, String)> = catalog_mappings::table
            .filter(
                catalog_mappings::source_framework.eq(&framework).or(catalog_mappings::target_framework.eq(&framework)),
            )
            .select((
                catalog_mappings::source_framework,
                catalog_mappings::source_label,
                catalog_mappings::target_framework,
                catalog_mappings::target_label,
            ))
            .load(conn)?;
        for (sf, sl, tf, tl) in held {
            let gone = (sf == framework && !known.contains(&sl)) || (tf == framework && !known.contains(&tl));
            if gone {
                mappings_dropped += diesel::delete(catalog_mappings::table.find((&sf, &sl, &tf, &tl))).execute(conn)?;
            }
        }
    }
    Ok(Imported { framework, version: catalog.version, replaced, controls: controls.len(), mappings_dropped })
}

/// Loads the shipped CSF 2.0 catalog if the register does not hold one yet.
pub fn ensure_builtin(conn: &mut SqliteConnection) -> Result<()> {
    let held: i64 = catalogs::table.filter(catalogs::framework.eq(CSF)).count().get_result(conn)?;
    if held > 0 {
        return Ok(());
    }
    let parsed = parse(CSF_CATALOG).context("the CSF 2.0 catalog shipped with renkei / 同梱のCSF 2.0カタログ")?;
    crate::register::write_transaction(conn, |c| {
        // Another process may have loaded it meanwhile.
        let held: i64 = catalogs::table.filter(catalogs::framework.eq(CSF)).count().get_result(c)?;
        if held == 0 {
            store(c, parsed)?;
        }
        Ok(())
    })
}

/// The catalogs held (CSF 2.0 always among them).
pub fn list(conn: &mut SqliteConnection) -> Result<Vec<Catalog>> {
    ensure_builtin(conn)?;
    let rows: Vec<(String, String, String, String, String, String, String)> = catalogs::table
        .order(catalogs::framework.asc())
        .select((
            catalogs::framework,
            catalogs::uuid,
            catalogs::title,
            catalogs::version,
            catalogs::licence,
            catalogs::source,
            catalogs::imported_at,
        ))
        .load(conn)?;
    let counts: Vec<(String, i64)> = catalog_controls::table
        .group_by(catalog_controls::framework)
        .select((catalog_controls::framework, diesel::dsl::count_star()))
        .load(conn)?;
    let counts: HashMap<String, i64> = counts.into_iter().collect();
    Ok(rows
        .into_iter()
        .map(|(framework, uuid, title, version, licence, source, imported_at)| Catalog {
            controls: counts.get(&framework).copied().unwrap_or(0) as usize,
            framework,
            uuid,
            title,
            version,
            licence,
            source,
            imported_at,
        })
        .collect())
}

/// One catalog, or an error naming the catalogs held.
pub fn get(conn: &mut SqliteConnection, framework: &str) -> Result<Catalog> {
    let all = list(conn)?;
    let wanted = framework.trim().to_lowercase();
    let held: Vec<String> = all.iter().map(|c| c.framework.clone()).collect();
    match all.into_iter().find(|c| c.framework == wanted) {
        Some(c) => Ok(c),
        None => bail!(
            "no catalog {framework:?} in the register (held: {}); import it with `renkei catalog import FILE` / カタログ「{framework}」は取り込まれていません",
            held.join(", ")
        ),
    }
}

/// The groups and controls of a framework, in the catalog's order.
pub fn controls(conn: &mut SqliteConnection, framework: &str) -> Result<Vec<Control>> {
    let catalog = get(conn, framework)?;
    Ok(catalog_controls::table
        .filter(catalog_controls::framework.eq(&catalog.framework))
        .order(catalog_controls::sort_order.asc())
        .select(Control::as_select())
        .load(conn)?)
}

/// A framework's controls by upper-cased label, for lookups as members type them.
pub struct Index {
    pub framework: String,
    pub controls: Vec<Control>,
    by_label: HashMap<String, usize>,
}

impl Index {
    pub fn load(conn: &mut SqliteConnection, framework: &str) -> Result<Index> {
        let controls = controls(conn, framework)?;
        let by_label = controls.iter().enumerate().map(|(i, c)| (c.label.to_uppercase(), i)).collect();
        Ok(Index { framework: framework.trim().to_lowercase(), controls, by_label })
    }

    /// The control a label names (any case), if the catalog has it.
    pub fn find(&self, label: &str) -> Option<&Control> {
        self.by_label.get(&label.trim().to_uppercase()).map(|i| &self.controls[*i])
    }

    /// The control a label names, or an error in both languages.
    pub fn resolve(&self, label: &str) -> Result<&Control> {
        match self.find(label) {
            Some(c) => Ok(c),
            None => bail!("{}", self.unknown(label)),
        }
    }

    /// The message for a label the catalog lacks.
    pub fn unknown(&self, label: &str) -> String {
        let name = framework_name(&self.framework);
        format!("{label:?} is not a label of {name} ({}) / 「{label}」は{name}のラベルではありません", self.framework)
    }

    /// The labels above a control, nearest first.
    pub fn ancestors(&self, label: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = self.find(label).and_then(|c| c.parent.clone());
        while let Some(p) = at {
            if out.contains(&p) {
                break;
            }
            at = self.find(&p).and_then(|c| c.parent.clone());
            out.push(p);
        }
        out
    }
}

/// A control with the controls of other catalogs mapped to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shown {
    pub control: Control,
    pub children: Vec<String>,
    pub mappings: Vec<Mapping>,
}

/// One control of a framework with its children and mappings.
pub fn show_control(conn: &mut SqliteConnection, framework: &str, label: &str) -> Result<Shown> {
    let index = Index::load(conn, framework)?;
    let control = index.resolve(label)?.clone();
    let children = index
        .controls
        .iter()
        .filter(|c| c.parent.as_deref() == Some(control.label.as_str()))
        .map(|c| c.label.clone())
        .collect();
    let mappings = mappings_of(conn, &index.framework, &control.label)?;
    Ok(Shown { control, children, mappings })
}

/// A mapping between two controls, read from one side (`framework`/`label` are the
/// other side's).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mapping {
    pub framework: String,
    pub label: String,
    pub relationship: String,
}

/// A relationship read the other way round: A subset-of B is B superset-of A; the
/// symmetric ones (equivalent, intersects, related) stay as they are.
fn reversed(relationship: String) -> String {
    match relationship.as_str() {
        "subset-of" => "superset-of".into(),
        "superset-of" => "subset-of".into(),
        _ => relationship,
    }
}

/// One mapping as seen from one side: the label on this side, the other framework, the
/// label there, and the relationship read from this side.
type Oriented = (String, String, String, String);

/// Every mapping with `framework` on either side, oriented from `framework`, whichever
/// way its mapping file was written (a mapping read backwards has its relationship
/// reversed). Shared by `mappings_of` and `pairs`.
fn oriented(conn: &mut SqliteConnection, framework: &str) -> Result<Vec<Oriented>> {
    use catalog_mappings::dsl as m;
    let forward: Vec<Oriented> = catalog_mappings::table
        .filter(m::source_framework.eq(framework))
        .select((m::source_label, m::target_framework, m::target_label, m::relationship))
        .load(conn)?;
    let backward: Vec<Oriented> = catalog_mappings::table
        .filter(m::target_framework.eq(framework))
        .select((m::target_label, m::source_framework, m::source_label, m::relationship))
        .load(conn)?;
    Ok(forward
        .into_iter()
        .chain(backward.into_iter().map(|(ours, f, theirs, r)| (ours, f, theirs, reversed(r))))
        .collect())
}

/// The controls of other catalogs mapped to (or from) one control.
pub fn mappings_of(conn: &mut SqliteConnection, framework: &str, label: &str) -> Result<Vec<Mapping>> {
    let mut all: Vec<Mapping> = oriented(conn, framework)?
        .into_iter()
        .filter(|(ours, ..)| ours == label)
        .map(|(_, framework, label, relationship)| Mapping { framework, label, relationship })
        .collect();
    all.sort_by(|a, b| (&a.framework, &a.label).cmp(&(&b.framework, &b.label)));
    all.dedup_by(|a, b| a.framework == b.framework && a.label == b.label);
    Ok(all)
}

/// The pairs (label in `from`, label in `to`, relationship) mapped between two
/// frameworks, whichever way the mapping file was written.
pub fn pairs(conn: &mut SqliteConnection, from: &str, to: &str) -> Result<Vec<(String, String, String)>> {
    let mut all: Vec<(String, String, String)> = oriented(conn, from)?
        .into_iter()
        .filter(|(_, framework, ..)| framework == to)
        .map(|(ours, _, theirs, relationship)| (ours, theirs, relationship))
        .collect();
    all.sort();
    all.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    Ok(all)
}

/// A mapping file: `{"source": "nist-csf-2.0", "target": "cis-v8", "mappings":
/// [{"source": "GV.OC-01", "target": "3.1", "relationship": "intersects"}]}`.
#[derive(Debug, Clone, Deserialize)]
pub struct MappingFile {
    pub source: String,
    pub target: String,
    pub mappings: Vec<MappingRow>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MappingRow {
    pub source: String,
    pub target: String,
    #[serde(default)]
    pub relationship: Option<String>,
}

/// The relationships a mapping may state: NIST IR 8477's set-theory relationships
/// (read from source to target), and `related` for a reference that says no more.
pub const RELATIONSHIPS: [&str; 5] = ["equivalent", "subset-of", "superset-of", "intersects", "related"];

/// What a mapping import did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MappingsImported {
    pub source: String,
    pub target: String,
    pub mappings: usize,
    /// The mappings between the two frameworks held before, now replaced.
    pub replaced: usize,
}

/// Reads and imports a mapping file (at most [`MAX_FILE_BYTES`]).
pub fn import_mappings_file(conn: &mut SqliteConnection, path: &std::path::Path) -> Result<MappingsImported> {
    let size = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    if size > MAX_FILE_BYTES {
        bail!("{}: {size} bytes is too large for a mapping file / マッピングのファイルが大きすぎます", path.display());
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: MappingFile = serde_json::from_str(&text).map_err(|e| {
        crate::error::Error::Invalid(format!(
            "{}: not a mapping file ({{\"source\", \"target\", \"mappings\": [...]}}): {e} / マッピングファイルの形式ではありません",
            path.display()
        ))
    })?;
    import_mappings(conn, file)
}

/// Checks a mapping file whole (both catalogs loaded, every label in its catalog, a
/// known relationship) and stores it in one transaction, replacing the mappings held
/// between the same two frameworks.
pub fn import_mappings(conn: &mut SqliteConnection, file: MappingFile) -> Result<MappingsImported> {
    let source_fw = file.source.trim().to_lowercase();
    let target_fw = file.target.trim().to_lowercase();
    let mut problems = Vec::new();
    let mut index = |fw: &str, problems: &mut Vec<String>| -> Result<Option<Index>> {
        match Index::load(conn, fw) {
            Ok(i) => Ok(Some(i)),
            Err(crate::error::Error::Invalid(m)) => {
                problems.push(m);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    };
    let source = index(&source_fw, &mut problems)?;
    let target = index(&target_fw, &mut problems)?;
    if source_fw == target_fw {
        problems
            .push("a mapping relates two different catalogs / マッピングは異なる2つのカタログ間で定義します".into());
    }
    if file.mappings.is_empty() {
        problems.push("the file has no mappings / マッピングが1件もありません".into());
    }
    let mut rows: Vec<(String, String, String)> = Vec::new();
    for (i, m) in file.mappings.iter().enumerate() {
        let n = i + 1;
        let mut side = |index: &Option<Index>, label: &str| -> Option<String> {
            let index = index.as_ref()?;
            match index.find(label) {
                Some(c) => Some(c.label.clone()),
                None => {
                    problems.push(format!("mapping {n}: {} / マッピング{n}", index.unknown(label)));
                    None
                }
            }
        };
        let s = side(&source, &m.source);
        let t = side(&target, &m.target);
        let relationship =
            m.relationship.as_deref().map(|r| r.trim().to_lowercase()).unwrap_or_else(|| "related".into());
        if !RELATIONSHIPS.contains(&relationship.as_str()) {
            problems.push(format!(
                "mapping {n}: relationship {relationship:?} is not one of {} / マッピング{n}: 関係「{relationship}」は使えません",
                RELATIONSHIPS.join(", ")
            ));
        }
        if let (Some(s), Some(t)) = (s, t) {
            rows.push((s, t, relationship));
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    rows.sort();
    rows.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    crate::register::write_transaction(conn, |c| {
        let mut replaced = 0;
        for (a, b) in [(&source_fw, &target_fw), (&target_fw, &source_fw)] {
            replaced += diesel::delete(
                catalog_mappings::table
                    .filter(catalog_mappings::source_framework.eq(a))
                    .filter(catalog_mappings::target_framework.eq(b)),
            )
            .execute(c)?;
        }
        let values: Vec<_> = rows
            .iter()
            .map(|(s, t, r)| {
                (
                    catalog_mappings::source_framework.eq(&source_fw),
                    catalog_mappings::source_label.eq(s),
                    catalog_mappings::target_framework.eq(&target_fw),
                    catalog_mappings::target_label.eq(t),
                    catalog_mappings::relationship.eq(r),
                )
            })
            .collect();
        for chunk in values.chunks(1000) {
            diesel::insert_into(catalog_mappings::table).values(chunk).execute(c)?;
        }
        Ok(MappingsImported { source: source_fw.clone(), target: target_fw.clone(), mappings: rows.len(), replaced })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_read_backwards_reverses_subset_and_superset() {
        assert_eq!(reversed("subset-of".into()), "superset-of");
        assert_eq!(reversed("superset-of".into()), "subset-of");
        assert_eq!(reversed("intersects".into()), "intersects");
    }

    #[test]
    fn the_shipped_csf_catalog_parses_with_labels_and_kinds() {
        let parsed = parse(CSF_CATALOG).expect("the shipped CSF catalog");
        assert_eq!(parsed.catalog.framework, CSF);
        let kind = |label: &str| parsed.controls.iter().find(|c| c.label == label).map(|c| c.kind.clone());
        assert_eq!(kind("GV").as_deref(), Some("function"));
        assert_eq!(kind("GV.SC").as_deref(), Some("category"));
        assert_eq!(kind("GV.OC-01").as_deref(), Some("subcategory"));
        let sub = parsed.controls.iter().find(|c| c.label == "GV.OC-01").expect("GV.OC-01");
        assert_eq!(sub.parent.as_deref(), Some("GV.OC"));
        assert!(!sub.text.is_empty(), "the statement prose is kept");
    }

    #[test]
    fn every_problem_of_a_catalog_is_named() {
        let bad = r#"{"catalog": {"uuid": "x", "metadata": {"props": [{"name": "framework", "value": "iso-27001"}]},
            "groups": [{"id": "A", "title": "A", "props": [{"name": "label", "value": "A"}],
              "controls": [{"id": "a-1", "props": [{"name": "label", "value": "A-1"}]},
                           {"id": "a-1", "title": "again", "props": [{"name": "label", "value": "a-1"}]},
                           {"id": "a-2", "title": "no label"}]}]}}"#;
        let err = parse(bad).expect_err("refused").to_string();
        for needle in [
            "is not a UUID",
            "no title",
            "no version",
            "unknown framework id \"iso-27001\"",
            "text-licence",
            "prop \"source\"",
            "an id is lower case",
            "control \"a-1\" has no title",
            "the id \"a-1\" is used more than once",
            "the label \"a-1\" is used more than once",
            "control \"a-2\" has no label",
        ] {
            assert!(err.contains(needle), "{needle} missing from:\n{err}");
        }
        assert!(parse("not json").expect_err("refused").to_string().starts_with("not JSON"));
        assert!(parse(r#"{"profile": {}}"#).expect_err("refused").to_string().contains("not an OSCAL catalog"));
        let mut deep = String::from(r#"{"id":"c0","title":"t","props":[{"name":"label","value":"L0"}]}"#);
        for i in 1..=MAX_DEPTH + 2 {
            deep = format!(
                r#"{{"id":"c{i}","title":"t","props":[{{"name":"label","value":"L{i}"}}],"controls":[{deep}]}}"#
            );
        }
        let doc = format!(
            r#"{{"catalog":{{"uuid":"8f3c1a52-3c1e-4d7e-9a4e-2d6f0c1b9e01","metadata":{{"title":"t","version":"1","props":[{{"name":"framework","value":"cis-v8"}},{{"name":"text-licence","value":"ids"}},{{"name":"source","value":"s"}}]}},"controls":[{deep}]}}}}"#
        );
        assert!(parse(&doc).expect_err("too deep").to_string().contains("nested deeper than"));
    }
}
