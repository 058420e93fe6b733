//! For the member's CSIRT: the active indicators held, exported for firewalls, DNS
//! block lists, SIEMs and IDS (`plain`, `csv`, `stix`, and `suricata`: a rules file with
//! the hash lists it names), and `match`, which reports the lines of a log or list that
//! contain a held indicator. Plain, CSV and Suricata lines are written by
//! `renkei_schema::detect`, as the hub's `/export/indicators` writes them.

use renkei_schema::detect::{self, HashList, Item, Rules};
use renkei_schema::model::indicator::IndicatorType;
use renkei_schema::stix::StixRead;
use renkei_schema::tlp::Tlp;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use crate::bail;
use crate::error::{Context as _, Result};
use diesel::sqlite::SqliteConnection;
use serde_json::Value;

use crate::register::ItemRow;

/// One active indicator held.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub id: String,
    pub kind: String,
    pub value: String,
    pub tlp: String,
    pub valid_until: Option<String>,
    /// The score now (`renkei_schema::score`) from the indicator's confidence and age,
    /// with the default half-lives; the register holds no sightings, so a sighting
    /// that refreshed it on the hub is not counted here.
    pub score: u8,
    pub stix: Value,
}

impl Held {
    /// The item as the detection exports take it (`None` for a type or label this
    /// client does not know).
    fn item(&self) -> Option<Item<'_>> {
        Some(Item {
            id: &self.id,
            kind: IndicatorType::parse(&self.kind)?,
            value: &self.value,
            tlp: self.tlp.parse::<Tlp>().ok()?,
            valid_until: self.valid_until.as_deref(),
            score: self.score,
        })
    }
}

fn parse_time(t: Option<&str>) -> Option<chrono::DateTime<chrono::Utc>> {
    t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&chrono::Utc))
}

/// The indicators held that are live now (not revoked, not past `valid_until`, scoring
/// at least `min_score`), in value order.
pub fn active_indicators(conn: &mut SqliteConnection, min_score: u8) -> Result<Vec<Held>> {
    let rows: Vec<ItemRow> = crate::register::held_items(conn, Some("indicator"))?;
    let now = chrono::Utc::now();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let stix: Value = serde_json::from_str(&row.stix).with_context(|| format!("stored item {}", row.id))?;
        let read = StixRead(&stix);
        let valid_until = read.valid_until().map(str::to_string);
        let Some((kind, value)) = read.indicator().map(|(k, v)| (k.to_string(), v.to_string())) else {
            continue;
        };
        let score = match (IndicatorType::parse(&kind), parse_time(stix["valid_from"].as_str())) {
            (Some(t), Some(published)) => renkei_schema::score::score(
                &renkei_schema::score::ScoreInput {
                    confidence: stix["confidence"].as_u64().map(|c| c.min(100) as u8),
                    published,
                    last_seen: None,
                    false_positive_organizations: 0,
                    valid_until: parse_time(valid_until.as_deref()),
                    half_life_days: f64::from(renkei_schema::score::default_half_life_days(t)),
                },
                now,
            ),
            _ => 0,
        };
        if !detect::live(read.revoked(), parse_time(valid_until.as_deref()), score, min_score, now) {
            continue;
        }
        out.push(Held { id: row.id, kind, value, tlp: row.tlp, valid_until, score, stix });
    }
    out.sort_by(|a, b| (&a.value, &a.id).cmp(&(&b.value, &b.id)));
    Ok(out)
}

/// Writes the export in `format`: plain, csv or stix (`suricata` writes several files:
/// [`export_suricata`]).
pub fn export(held: &[Held], format: &str, out: &mut dyn Write) -> Result<()> {
    let items = || held.iter().filter_map(Held::item);
    let mut text = String::new();
    match format {
        "plain" => items().for_each(|i| detect::plain_line(&i, &mut text)),
        "csv" => {
            text.push_str(detect::CSV_HEADER);
            items().for_each(|i| detect::csv_row(&i, &mut text));
        }
        "stix" => {
            // The bundle holds exactly the markings, identities and extension definition
            // its objects reference (renkei_schema::stix::bundle). The register keeps no
            // directory of organisations: a submitter is named by its id.
            let objects: Vec<serde_json::Value> = held.iter().map(|h| h.stix.clone()).collect();
            let identity_of = |id: &str| {
                let org = id.strip_prefix("identity--")?;
                Some(renkei_schema::stix::org_identity(org, &format!("organisation {org}"), None))
            };
            let bundle = renkei_schema::stix::bundle(objects, &identity_of);
            serde_json::to_writer_pretty(&mut *out, &bundle)?;
            writeln!(out)?;
        }
        "suricata" => bail!(
            "the suricata export is a rules file and the hash lists it names: give a folder with --out DIR / \
             suricataの出力はルールファイルと参照するハッシュリストです。--out DIRでフォルダーを指定してください"
        ),
        other => bail!("format {other:?}: use plain, csv, stix or suricata / 形式「{other}」は使えません（plain、csv、stixまたはsuricata）"),
    }
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// The Suricata export as files: the rules ([`detect::RULES_FILE`]) first, then each
/// hash list the rules name, with its contents.
pub fn suricata_files(held: &[Held]) -> Vec<(String, String)> {
    let mut rules = Rules::new();
    let mut text = Rules::header();
    let mut lists: BTreeMap<HashList, String> = BTreeMap::new();
    for item in held.iter().filter_map(Held::item) {
        rules.push(&item, &mut text);
        if let Some(list) = HashList::of(&item) {
            HashList::line(&item, lists.entry(list).or_default());
        }
    }
    rules.finish(&mut text);
    let mut files = vec![(detect::RULES_FILE.to_string(), text)];
    files.extend(lists.into_iter().map(|(list, text)| (list.file_name(), text)));
    files
}

/// Writes the Suricata export into `dir` (created if missing): the rules file and the
/// hash lists beside it, where Suricata looks for them. Returns the paths written.
pub fn export_suricata(held: &[Held], dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for (name, text) in suricata_files(held) {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// A line that contains held indicators.
#[derive(Debug, Clone, PartialEq)]
pub struct LineMatch {
    /// 1-based.
    pub line: usize,
    /// (value as held, indicator id).
    pub hits: Vec<(String, String)>,
}

/// The lines of `input` containing a held value: each line is split into tokens at
/// characters no indicator holds (spaces, quotes, brackets, commas, `=`, `;`, `|`), and
/// each token, normalised as the hub normalises values (case, defanging such as
/// `[.]` and `hxxp`), is looked up;
/// a URL token is also looked up by its host.
pub fn match_lines(held: &[Held], input: &mut dyn BufRead) -> Result<Vec<LineMatch>> {
    let mut by_value: HashMap<&str, Vec<&str>> = HashMap::new();
    for h in held {
        by_value.entry(h.value.as_str()).or_default().push(h.id.as_str());
    }
    let mut out = Vec::new();
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(out);
        }
        number += 1;
        let mut hits: Vec<(String, String)> = Vec::new();
        // Defanged dots and colons would be split apart below: join them first.
        let refanged = line.replace("[.]", ".").replace("(.)", ".").replace("{.}", ".").replace("[:]", ":");
        let tokens =
            refanged.split(|c: char| c.is_whitespace() || "\"'<>()[]{},;|=".contains(c)).filter(|t| !t.is_empty());
        for token in tokens {
            let mut candidates: Vec<String> =
                renkei_schema::model::indicator::normalize_any(token).into_iter().map(|(_, v)| v).collect();
            if let Some((_, rest)) = token.split_once("://") {
                let host = rest.split(['/', ':', '?', '#']).next().unwrap_or_default();
                candidates.extend(renkei_schema::model::indicator::normalize_any(host).into_iter().map(|(_, v)| v));
            }
            for value in candidates {
                for id in by_value.get(value.as_str()).into_iter().flatten() {
                    let hit = (value.clone(), (*id).to_string());
                    if !hits.contains(&hit) {
                        hits.push(hit);
                    }
                }
            }
        }
        if !hits.is_empty() {
            out.push(LineMatch { line: number, hits });
        }
    }
}
